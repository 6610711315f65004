//! Renders hull's man pages and shell completions from the clap definitions `hull --help`
//! prints (`hull::args::command()`), so the two cannot drift:
//!
//! ```text
//! cargo run -p hull --example gen-docs -- OUT_DIR [DATE]
//!   OUT_DIR/man/hull.8, OUT_DIR/man/hull-<command>.8 (one per subcommand, like runc-create.8)
//!   OUT_DIR/completions/hull.bash, _hull (zsh), hull.fish
//! ```
//!
//! A separate program rather than a `hull` subcommand: clap_mangen and clap_complete would add
//! their code to the shipped binary, whose size (and so start-up cost, paid once per engine
//! call) is a product feature. As dev-dependencies of an example they never reach it;
//! `hack/package.sh` runs this at packaging time. DATE (the `.TH` date) comes from the caller
//! so that the pages are reproducible.

use std::fs;
use std::io::Write;
use std::path::Path;

use clap::Command;
use clap_complete::Shell;
use clap_mangen::Man;

fn main() -> std::io::Result<()> {
    let mut argv = std::env::args().skip(1);
    let Some(out) = argv.next() else {
        eprintln!("usage: gen-docs OUT_DIR [DATE]");
        std::process::exit(2);
    };
    let date = argv.next().unwrap_or_default();
    let out = Path::new(&out);
    man_pages(&out.join("man"), &date)?;
    completions(&out.join("completions"))
}

/// `.TH` fields shared by every page; section 8 as runc's pages (system administration).
fn man(cmd: Command, date: &str) -> Man {
    let title = cmd
        .get_display_name()
        .unwrap_or(cmd.get_name())
        .to_uppercase();
    Man::new(cmd)
        .title(title)
        .section("8")
        .date(date)
        .source(format!("hull {}", env!("CARGO_PKG_VERSION")))
        .manual("hull Manual")
}

fn man_pages(dir: &Path, date: &str) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    let mut cmd = hull::args::command();
    // Builds the tree: subcommands get their display names (`hull-create`), usage lines
    // (`hull create ...`) and the global options.
    cmd.build();

    let page = man(cmd.clone(), date);
    let mut f = fs::File::create(dir.join("hull.8"))?;
    page.render_title(&mut f)?;
    page.render_name_section(&mut f)?;
    page.render_synopsis_section(&mut f)?;
    f.write_all(HULL_DESCRIPTION.as_bytes())?;
    page.render_options_section(&mut f)?;
    page.render_subcommands_section(&mut f)?;
    f.write_all(HULL_SECTIONS.as_bytes())?;
    f.write_all(see_also(&cmd, None).as_bytes())?;
    // Not clap's VERSION section: this generator is not the shipped build, so its commit
    // and build line would be the generator's. `hull --version` tells the binary's own.
    writeln!(
        f,
        ".SH VERSION\nhull {}; \\fBhull \\-\\-version\\fR prints the commit and the build \
         (static or dynamic, profile, target, compiler).",
        env!("CARGO_PKG_VERSION")
    )?;

    for sub in cmd.get_subcommands() {
        // The global options are hull(8)'s; each page lists only its own (as runc's do).
        let sub = sub
            .clone()
            .mut_args(|a| if a.is_global_set() { a.hide(true) } else { a });
        let name = sub.get_name().to_owned();
        let page = man(sub.clone(), date);
        let mut f = fs::File::create(dir.join(page.get_filename()))?;
        page.render(&mut f)?;
        let extra = match name.as_str() {
            "features" => FEATURES_OUTPUT,
            "state" | "list" => STATE_SEE_HULL,
            _ => "",
        };
        f.write_all(extra.as_bytes())?;
        f.write_all(see_also(&cmd, Some(&name)).as_bytes())?;
    }
    Ok(())
}

/// SEE ALSO: hull(8) and the other commands' pages.
fn see_also(cmd: &Command, this: Option<&str>) -> String {
    let mut refs: Vec<String> = Vec::new();
    if this.is_some() {
        refs.push("\\fBhull\\fR(8)".into());
    }
    for s in cmd.get_subcommands() {
        if Some(s.get_name()) != this {
            refs.push(format!("\\fBhull\\-{}\\fR(8)", s.get_name()));
        }
    }
    refs.push("\\fBrunc\\fR(8)".into());
    format!(".SH \"SEE ALSO\"\n{}\n", refs.join(",\n"))
}

fn completions(dir: &Path) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    for (shell, file) in [
        (Shell::Bash, "hull.bash"),
        (Shell::Zsh, "_hull"),
        (Shell::Fish, "hull.fish"),
    ] {
        let mut f = fs::File::create(dir.join(file))?;
        clap_complete::generate(shell, &mut hull::args::command(), "hull", &mut f);
    }
    Ok(())
}

// The prose below is man-only: `--help` stays one screen, as runc's. Plain roff.

const HULL_DESCRIPTION: &str = r#".SH DESCRIPTION
\fBhull\fR is an OCI container runtime: it creates and runs containers from an OCI bundle
(a root filesystem and a \fIconfig.json\fR, see \fBhull\-spec\fR(8)) as the runtime-spec
defines. It takes \fBrunc\fR(8)'s command line, exit codes, state JSON, log lines and
console-socket protocol, so engines (containerd's runc shim, Docker, podman, Kubernetes
through containerd) drive it exactly as they drive runc.
.PP
A container's life: \fBhull create\fR sets it up and leaves its process waiting,
\fBhull start\fR runs the process, \fBhull kill\fR signals it, \fBhull delete\fR removes what
is left; \fBhull run\fR does all of it in one call. Every command needs root.
"#;

const HULL_SECTIONS: &str = r#".SH STATE
Each container has a directory \fI<root>/<id>/\fR under \fB\-\-root\fR (default
\fI/run/hull\fR): \fIstate.json\fR (what create recorded: the init's pid and start time,
bundle, cgroup), \fIconfig.json\fR (the bundle's, as create read it) and, from create until
start, \fIexec.fifo\fR. A command that changes a container holds an exclusive lock on its
directory; \fBstate\fR and \fBlist\fR only read.
.PP
\fBhull state\fR prints the runtime-spec state with runc's extra fields, in runc's order:
.PP
.nf
.RS
{
  "ociVersion": "1.2.0",
  "id": "c1",
  "pid": 4242,
  "status": "running",
  "bundle": "/srv/bundles/c1",
  "rootfs": "/srv/bundles/c1/rootfs",
  "created": "2026\-01\-01T00:00:00.000000000Z",
  "owner": "",
  "annotations": { ... }
}
.RE
.fi
.PP
\fBstatus\fR is derived when asked, never stored: \fBcreated\fR (the init waits for start),
\fBrunning\fR, \fBpaused\fR (its cgroup is frozen) or \fBstopped\fR (the init is gone;
\fBpid\fR is then 0). \fBannotations\fR appears when the config has any. \fBhull list
\-\-format json\fR prints an array of these objects (\fBnull\fR when there are none).
.SH "LOG FORMAT"
Errors go to standard error as one line. With \fB\-\-log\fR \fIFILE\fR every error,
warning and (with \fB\-\-debug\fR) debug line is also appended to \fIFILE\fR, one record per
line, as runc writes them. \fB\-\-log\-format text\fR (the default):
.PP
.nf
.RS
time="2026\-01\-01T00:00:00.000000000Z" level=error msg="container does not exist: c1"
.RE
.fi
.PP
\fB\-\-log\-format json\fR, as containerd's shim and conmon parse it:
.PP
.nf
.RS
{"level":"error","msg":"container does not exist: c1","time":"2026\-01\-01T00:00:00.000000000Z"}
.RE
.fi
.PP
\fBlevel\fR is \fBerror\fR, \fBwarning\fR or \fBdebug\fR; \fBtime\fR is UTC, RFC 3339 with
nanoseconds. \fB\-\-debug\fR also logs how long each phase of create took (parse, state dir,
cgroup, clone, the init's namespaces, mounts, hooks, pivot, process).
.SH "EXIT STATUS"
0 on success, 1 on an error (the message names the config field or path at fault).
\fBhull run\fR, and \fBhull exec\fR without \fB\-\-detach\fR, exit with the status of the
container's process (128+N when it was killed by signal N).
.SH FILES
.TP
.I /run/hull
The default \fB\-\-root\fR: containers' state (docker, containerd and podman pass their own).
.TP
.I /usr/share/doc/hull/examples/
Drop-in files that register hull with containerd (and a Kubernetes RuntimeClass), Docker,
podman and buildah; the engine tests run these very files.
"#;

const STATE_SEE_HULL: &str = r#".SH OUTPUT
The state JSON, its fields and the container statuses are described under STATE in
\fBhull\fR(8).
"#;

const FEATURES_OUTPUT: &str = r#".SH OUTPUT
The runtime-spec features document (features.md) of this build, as JSON: the spec versions
it accepts (\fBociVersionMin\fR, \fBociVersionMax\fR), the hooks, mount options, namespaces,
capabilities, cgroup drivers, seccomp actions, operators, architectures and flags, and the
Linux security modules it can apply. Engines read it to learn what they may ask for.
.PP
Its \fBannotations\fR name the build, as runc's name runc's:
.TP
.B org.opencontainers.runtime\-spec.features.version
The runtime-spec version of the document's format.
.TP
.B io.github.hull.version
hull's version (the first line of \fBhull \-\-version\fR).
.TP
.B io.github.hull.commit
The git commit hull was built from (\fBunknown\fR outside a checkout).
.TP
.B io.github.hull.build
How it was built: \fBstatic\fR or \fBdynamic\fR, the profile, the target and the compiler.
"#;
