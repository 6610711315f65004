//! Link-time settings for the `hull` binary.

fn main() {
    // DT_RELR (glibc >= 2.36, binutils >= 2.38): the binary's ~10k relative relocations
    // packed into a bitmap instead of 24-byte RELA entries. Smaller file, fewer pages the
    // dynamic loader reads at every start (hull starts once per engine call).
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu")
    {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
