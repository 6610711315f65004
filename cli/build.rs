//! Link-time settings for the `hull` binary, and what it reports about its own build
//! (`hull --version`, the annotations of `hull features`): the git commit and how it was built.

use std::path::Path;
use std::process::Command;

fn main() {
    // DT_RELR (glibc >= 2.36, binutils >= 2.38): the binary's ~10k relative relocations
    // packed into a bitmap instead of 24-byte RELA entries. Smaller file, fewer pages the
    // dynamic loader reads at every start (hull starts once per engine call).
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && std::env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu")
    {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-env=HULL_COMMIT={}", commit());
    println!("cargo:rustc-env=HULL_BUILD={}", build());
}

/// `HULL_COMMIT` if set (a build from a source tarball), else the checkout's `git rev-parse
/// HEAD`, else `unknown`. Re-run when HEAD moves: a commit, a checkout, a fetch that packs refs.
fn commit() -> String {
    println!("cargo:rerun-if-env-changed=HULL_COMMIT");
    if let Ok(c) = std::env::var("HULL_COMMIT") {
        return c;
    }
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git").args(args).output().ok()?;
        let s = String::from_utf8(out.stdout).ok()?.trim().to_owned();
        (out.status.success() && !s.is_empty()).then_some(s)
    };
    let Some(sha) = git(&["rev-parse", "HEAD"]) else {
        return "unknown".into();
    };
    // Only files that exist: cargo re-runs a script whose listed file is missing every time.
    let watch = |p: String| {
        if Path::new(&p).exists() {
            println!("cargo:rerun-if-changed={p}");
        }
    };
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        watch(format!("{dir}/HEAD"));
    }
    if let Some(common) = git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]) {
        if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
            watch(format!("{common}/{r}"));
        }
        watch(format!("{common}/packed-refs"));
    }
    sha
}

/// `static, release, x86_64-unknown-linux-gnu, rustc 1.95.0`. hull has no cargo features to
/// list: seccomp (its own BPF compiler, no libseccomp), both cgroup drivers and the systemd
/// client are always built in. No word "version" here: dockerd takes any line of
/// `--version` that contains it for the version line.
fn build() -> String {
    let static_crt = std::env::var("CARGO_CFG_TARGET_FEATURE")
        .is_ok_and(|f| f.split(',').any(|f| f == "crt-static"));
    let profile = std::env::var("PROFILE").unwrap_or_else(|_| "unknown".into());
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rustc = Command::new(rustc)
        .arg("-V")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|v| v.split_whitespace().nth(1).map(str::to_owned))
        .unwrap_or_else(|| "unknown".into());
    let link = if static_crt { "static" } else { "dynamic" };
    format!("{link}, {profile}, {target}, rustc {rustc}")
}
