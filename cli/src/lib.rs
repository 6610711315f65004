//! hull's command line as a library, so that two programs share one definition of it: the
//! `hull` binary (`main.rs`) parses with it, and the man-page and completion generator
//! (`examples/gen-docs.rs`, run by `hack/package.sh`) renders it. Man pages and completions
//! therefore cannot drift from `hull --help`, and the generator's dependencies (clap_mangen,
//! clap_complete) stay out of the shipped binary.

#![forbid(unsafe_code)]

pub mod args;
mod flags;

#[cfg(test)]
mod tests {
    /// Every subcommand and every visible argument has a help text: the man pages and the
    /// completions are rendered from them, and an empty OPTIONS entry is a documentation bug.
    #[test]
    fn every_command_and_argument_is_described() {
        let cmd = crate::args::command();
        cmd.clone().debug_assert();
        let mut missing = Vec::new();
        let mut check = |c: &clap::Command, name: &str| {
            if c.get_about().is_none() {
                missing.push(format!("{name}: about"));
            }
            for a in c.get_arguments().filter(|a| !a.is_hide_set()) {
                if a.get_help().is_none() && a.get_long_help().is_none() {
                    missing.push(format!("{name}: {}", a.get_id()));
                }
            }
        };
        check(&cmd, "hull");
        for s in cmd.get_subcommands() {
            check(s, &format!("hull {}", s.get_name()));
        }
        assert!(missing.is_empty(), "without help text: {missing:#?}");
    }
}
