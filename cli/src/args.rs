//! The command line, flag for flag what runc accepts: engines (containerd's shim, dockerd,
//! podman's conmon) build these argument lists themselves, so any difference is a bug.
//! Each flag set is mapped onto the library's own option type (`hull_runtime::options`);
//! nothing of clap crosses into the library.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use hull_runtime::options::{
    CheckpointOptions, CreateOptions, ExecOptions, LogOptions, RestoreOptions, RunOptions,
    RuntimeOptions, UpdateOptions,
};
use hull_runtime::{cgroup_ops, container, logging};

use crate::flags::{CheckpointOpts, CreateOpts, Flags, RestoreOpts, RunOpts, UpdateOpts};

/// Global flags, accepted before the subcommand (and after it, which runc also tolerates).
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Root directory for the state of containers (default `/run/hull`; for a user
    /// `$XDG_RUNTIME_DIR/hull`, as runc uses `$XDG_RUNTIME_DIR/runc`).
    #[arg(long, global = true)]
    pub root: Option<PathBuf>,
    /// Log file (runc's `--log`); errors and debug lines go here as well as to stderr.
    #[arg(long, global = true)]
    pub log: Option<PathBuf>,
    /// `text` or `json` (one JSON object per line with level, msg, time).
    #[arg(long = "log-format", global = true, default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    /// Log debug information, including how long each phase of create took.
    #[arg(long, global = true)]
    pub debug: bool,
    /// Use systemd for cgroups (accepted; `slice:prefix:name` paths are parsed).
    #[arg(long = "systemd-cgroup", global = true)]
    pub systemd_cgroup: bool,
    /// Rootless cgroups: `true`, `false` or `auto` (default: rootless when not root, or
    /// root in a user namespace).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub rootless: Option<String>,
    /// Path to the criu binary for checkpoint and restore (default: `criu` in PATH).
    #[arg(long)]
    pub criu: Option<PathBuf>,
}

#[derive(Parser, Debug)]
#[command(name = "hull", version = VERSION_STRING, about = "A fast, safe OCI container runtime", disable_help_subcommand = true, disable_version_flag = true)]
struct Cli {
    /// Print the version (runc's `-v, --version`).
    #[arg(short = 'v', long = "version", action = clap::ArgAction::Version)]
    version: (),
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    cmd: Command,
}

/// `exec` flags (runc's).
#[derive(Args, Debug, Clone)]
pub struct ExecOpts {
    /// Unix socket that receives the pty master when --tty is given.
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// Unix socket that receives a pidfd of the new process.
    #[arg(long = "pidfd-socket")]
    pub pidfd_socket: Option<PathBuf>,
    /// Working directory of the process inside the container.
    #[arg(long)]
    pub cwd: Option<String>,
    /// Set an environment variable (NAME=VALUE; repeatable).
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Allocate a pseudo-terminal for the process.
    #[arg(short = 't', long)]
    pub tty: bool,
    /// User to run as: UID[:GID].
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// An additional group id for the process (repeatable).
    #[arg(short = 'g', long = "additional-gids")]
    pub additional_gids: Vec<u32>,
    /// A runtime-spec process.json to run instead of the command line.
    #[arg(short = 'p', long)]
    pub process: Option<PathBuf>,
    /// Detach from the process: hull exits once it runs.
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// File to write the process's host pid to.
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// SELinux process label for the process.
    #[arg(long = "process-label")]
    pub process_label: Option<String>,
    /// AppArmor profile for the process.
    #[arg(long)]
    pub apparmor: Option<String>,
    /// Set no_new_privs for the process.
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    /// Add a capability to the process's capability sets (repeatable).
    #[arg(short = 'c', long = "cap")]
    pub cap: Vec<String>,
    /// Pass N extra file descriptors (3 .. 3+N-1) to the process.
    #[arg(
        long = "preserve-fds",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub preserve_fds: i64,
    /// Run the process in an existing sub-cgroup: [CONTROLLER:]PATH (repeatable).
    #[arg(long)]
    pub cgroup: Vec<String>,
    /// Allow exec into a paused container.
    #[arg(long = "ignore-paused")]
    pub ignore_paused: bool,
    /// Container id.
    pub id: String,
    /// The command and its arguments (unless --process is given).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

// One value per process, parsed once: its size costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
enum Command {
    /// Create a container from a bundle; its process waits for `start`.
    Create(CreateOpts),
    /// Start a created container's process.
    Start {
        /// Container id.
        id: String,
    },
    /// Create and start a container, wait for it, and exit with its status.
    Run(RunOpts),
    /// Print the state of a container as JSON.
    State {
        /// Container id.
        id: String,
    },
    /// Send a signal (default SIGTERM) to a container's init (or, with --all, all its processes).
    Kill {
        /// Send the signal to every process of the container, not just its init.
        #[arg(short = 'a', long)]
        all: bool,
        /// Container id.
        id: String,
        /// Signal name (KILL, SIGKILL) or number; default TERM.
        signal: Option<String>,
    },
    /// Delete a stopped (or, with --force, any) container and its resources.
    Delete {
        /// Kill a running container first (SIGKILL) and delete it.
        #[arg(short = 'f', long)]
        force: bool,
        /// Container id.
        id: String,
    },
    /// Write a default config.json into the bundle directory.
    Spec {
        /// Bundle directory to write config.json into.
        #[arg(short = 'b', long, default_value = ".")]
        bundle: PathBuf,
        /// Write a config for a rootless container (with a user namespace).
        #[arg(long)]
        rootless: bool,
    },
    /// Print the runtime-spec features.json of what hull supports.
    Features,
    /// List the containers under --root.
    List {
        /// Output format: table or json.
        #[arg(short = 'f', long, default_value = "table")]
        format: String,
        /// Print only the container ids.
        #[arg(short = 'q', long)]
        quiet: bool,
    },
    /// Run a new process inside a running container.
    Exec(ExecOpts),
    /// Change a running container's resource limits.
    Update(UpdateOpts),
    /// Freeze all processes of a container.
    Pause {
        /// Container id.
        id: String,
    },
    /// Thaw a paused container.
    Resume {
        /// Container id.
        id: String,
    },
    /// Print container events and resource statistics as JSON.
    Events {
        /// Time between two stats events while streaming (e.g. 500ms, 5s).
        #[arg(long, default_value = "5s")]
        interval: String,
        /// Print one stats event and exit instead of streaming.
        #[arg(long)]
        stats: bool,
        /// Container id.
        id: String,
    },
    /// Checkpoint a running container with CRIU.
    Checkpoint(CheckpointOpts),
    /// Restore a container from a checkpoint and run it (like `run`).
    Restore(RestoreOpts),
    /// List the processes running inside a container.
    Ps {
        /// Output format: table or json (json: the pids only).
        #[arg(short = 'f', long, default_value = "table")]
        format: String,
        /// Container id.
        id: String,
        /// Options passed to ps(1) for the table format.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        ps_args: Vec<String>,
    },
}

/// `hull --version` output after the program name, in runc's layout: dockerd parses the
/// `<name> version <v>` and `commit:` lines (`docker info`) and ignores lines without the
/// word "version" (runc adds `go:` and `libseccomp:`; hull `build:`). The commit and the
/// build come from cli/build.rs.
pub const VERSION_STRING: &str = concat!(
    "version ",
    env!("CARGO_PKG_VERSION"),
    "\ncommit: ",
    env!("HULL_COMMIT"),
    "\nspec: 1.3.0",
    "\nbuild: ",
    env!("HULL_BUILD")
);

/// The annotations `hull features` adds to the library's document: this build's own facts,
/// as runc names its commit and libseccomp there.
const BUILD_ANNOTATIONS: &[(&str, &str)] = &[
    ("io.github.hull.commit", env!("HULL_COMMIT")),
    ("io.github.hull.build", env!("HULL_BUILD")),
];

impl Global {
    fn runtime_options(&self) -> hull_runtime::error::Result<RuntimeOptions> {
        let mode = hull_runtime::rootless::Mode::parse(self.rootless.as_deref().unwrap_or(""))?;
        Ok(RuntimeOptions {
            root: self
                .root
                .clone()
                .unwrap_or_else(hull_runtime::rootless::default_root),
            systemd_cgroup: self.systemd_cgroup,
            rootless: mode.resolve(self.systemd_cgroup),
        })
    }
    fn log_options(&self) -> LogOptions {
        LogOptions {
            file: self.log.clone(),
            json: self.log_format == "json",
            debug: self.debug,
        }
    }
}

/// `--preserve-fds N` as a count: runc's flag is a signed int and passes no fd for N < 0.
fn fd_count(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

impl Flags {
    /// `create`'s options (also the create half of `run`).
    fn create(&self) -> CreateOptions {
        CreateOptions {
            id: self.id.clone(),
            bundle: self.path("bundle").unwrap_or_else(|| PathBuf::from(".")),
            console_socket: self.path("console-socket"),
            pidfd_socket: self.path("pidfd-socket"),
            pid_file: self.path("pid-file"),
            no_pivot: self.on("no-pivot"),
            no_new_keyring: self.on("no-new-keyring"),
            preserve_fds: fd_count(self.num("preserve-fds").unwrap_or(0)),
        }
    }
}

impl CreateOpts {
    fn options(&self) -> CreateOptions {
        self.0.create()
    }
}

impl RunOpts {
    fn options(&self) -> RunOptions {
        RunOptions {
            create: self.0.create(),
            detach: self.0.on("detach"),
            keep: self.0.on("keep"),
            no_subreaper: self.0.on("no-subreaper"),
        }
    }
}

impl ExecOpts {
    fn options(self) -> ExecOptions {
        ExecOptions {
            id: self.id,
            command: self.command,
            console_socket: self.console_socket,
            pidfd_socket: self.pidfd_socket,
            cwd: self.cwd,
            env: self.env,
            tty: self.tty,
            user: self.user,
            additional_gids: self.additional_gids,
            process: self.process,
            detach: self.detach,
            pid_file: self.pid_file,
            process_label: self.process_label,
            apparmor: self.apparmor,
            no_new_privs: self.no_new_privs,
            cap: self.cap,
            preserve_fds: fd_count(self.preserve_fds),
            cgroup: self.cgroup,
            ignore_paused: self.ignore_paused,
        }
    }
}

impl CheckpointOpts {
    fn options(&self, criu: Option<PathBuf>) -> Result<CheckpointOptions, String> {
        let f = &self.0;
        // runc's default is -1, "none": a negative number given says the same.
        let status_fd = f
            .val("status-fd")
            .map(|v| {
                v.parse::<i32>()
                    .map_err(|_| format!("--status-fd {v:?}: not a number"))
            })
            .transpose()?
            .filter(|fd| *fd >= 0);
        Ok(CheckpointOptions {
            id: f.id.clone(),
            criu: f.criu(criu)?,
            parent_path: f.path("parent-path"),
            leave_running: f.on("leave-running"),
            tcp_skip_in_flight: f.on("tcp-skip-in-flight"),
            page_server: f.val("page-server").map(str::to_string),
            pre_dump: f.on("pre-dump"),
            link_remap: f.on("link-remap"),
            status_fd,
        })
    }
}

impl RestoreOpts {
    fn options(&self, criu: Option<PathBuf>) -> Result<RestoreOptions, String> {
        let f = &self.0;
        Ok(RestoreOptions {
            create: CreateOptions {
                id: f.id.clone(),
                bundle: f.path("bundle").unwrap_or_else(|| PathBuf::from(".")),
                console_socket: f.path("console-socket"),
                pid_file: f.path("pid-file"),
                no_pivot: f.on("no-pivot"),
                ..Default::default()
            },
            criu: f.criu(criu)?,
            detach: f.on("detach"),
            no_subreaper: f.on("no-subreaper"),
            lsm_profile: f.val("lsm-profile").map(str::to_string),
            lsm_mount_context: f.val("lsm-mount-context").map(str::to_string),
        })
    }
}

impl UpdateOpts {
    fn options(&self) -> UpdateOptions {
        let f = &self.0;
        UpdateOptions {
            id: f.id.clone(),
            resources: f.string("resources"),
            blkio_weight: f.num("blkio-weight"),
            cpu_period: f.num("cpu-period"),
            cpu_quota: f.num("cpu-quota"),
            cpu_burst: f.num("cpu-burst"),
            cpu_rt_period: f.num("cpu-rt-period"),
            cpu_rt_runtime: f.num("cpu-rt-runtime"),
            cpu_share: f.num("cpu-share"),
            cpu_idle: f.num("cpu-idle"),
            cpuset_cpus: f.string("cpuset-cpus"),
            cpuset_mems: f.string("cpuset-mems"),
            kernel_memory: f.string("kernel-memory"),
            kernel_memory_tcp: f.string("kernel-memory-tcp"),
            memory: f.string("memory"),
            memory_reservation: f.string("memory-reservation"),
            memory_swap: f.string("memory-swap"),
            pids_limit: f.num("pids-limit"),
            l3_cache_schema: f.string("l3-cache-schema"),
            mem_bw_schema: f.string("mem-bw-schema"),
        }
    }
}

/// Exit code of `exec` when hull itself failed (runc's), so that a caller tells it from
/// the status of the program that ran.
const EXEC_FAILED: i32 = 255;

/// hull's whole command line as clap builds it: what `--help` prints, and what the man pages
/// and shell completions are rendered from (`examples/gen-docs.rs`).
pub fn command() -> clap::Command {
    Cli::command()
}

/// Go's flag parsing (runc's) takes `-name` as `--name`, and go-runc, containerd's shim's
/// client, passes `restore -no-subreaper`: after `checkpoint` or `restore` (commands without
/// trailing program arguments) a single-dash word that is one of the command's long flags is
/// rewritten to it.
fn go_long_flags(mut args: Vec<OsString>, cmd: &clap::Command) -> Vec<OsString> {
    let Some(at) = args
        .iter()
        .position(|a| a == "checkpoint" || a == "restore")
    else {
        return args;
    };
    let Some(sub) = args[at].to_str().and_then(|n| cmd.find_subcommand(n)) else {
        return args;
    };
    let longs: Vec<&str> = sub.get_arguments().filter_map(|a| a.get_long()).collect();
    for a in &mut args[at + 1..] {
        let name = a.to_str().and_then(|s| s.strip_prefix('-'));
        if let Some(n) = name.filter(|n| n.len() > 1 && !n.starts_with('-')) {
            if longs.contains(&n.split('=').next().unwrap_or(n)) {
                *a = OsString::from(format!("-{}", a.to_string_lossy()));
            }
        }
    }
    args
}

/// Parses the arguments, runs the command, and returns the process exit code.
/// Errors are logged as runc does (`logging::error`): a log line on stderr, or with `--log`
/// the line in the file and the bare message on stderr.
pub fn main() -> i32 {
    let args: Vec<OsString> = std::env::args_os().collect();
    // The re-exec comes before clap builds its command tree, which would otherwise be built
    // twice (before and after it). Any word naming such a command is enough here (a
    // container called `run` only costs a needless re-exec); the check after parsing below
    // stays the one that decides, and the one that reports a failure.
    if args
        .iter()
        .skip(1)
        .any(|a| a == "create" || a == "run" || a == "exec")
    {
        let _ = hull_runtime::sealed::ensure();
    }
    let cmd = Cli::command();
    let args = go_long_flags(args, &cmd);
    let parsed = cmd
        .try_get_matches_from(args)
        .and_then(|m| Ok((Cli::from_arg_matches(&m)?, m)));
    let (cli, matches) = match parsed {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let is_exec = matches!(cli.cmd, Command::Exec(_));
    let fail = |msg: String| {
        if is_exec {
            logging::error(&format!("exec failed: {msg}"));
            EXEC_FAILED
        } else {
            logging::error(&msg);
            1
        }
    };
    if let Err(e) = logging::init(&cli.global.log_options()) {
        return fail(e);
    }
    hull_sys::default_sigchld();
    // Commands that run container code first make sure hull's own binary is out of reach.
    if matches!(
        cli.cmd,
        Command::Create(_) | Command::Run(_) | Command::Exec(_)
    ) {
        if let Err(e) = hull_runtime::sealed::ensure() {
            return fail(e.to_string());
        }
    }
    // runc 1.5: a --root that does not exist is an error for `list`, the default one is not.
    let root_given = matches.value_source("root") == Some(ValueSource::CommandLine);
    let g = &match cli.global.runtime_options() {
        Ok(g) => g,
        Err(e) => return fail(e.to_string()),
    };
    let res = match cli.cmd {
        Command::Create(o) => container::create(g, &o.options()),
        Command::Start { id } => container::start(g, &id),
        Command::Run(o) => container::run(g, &o.options()),
        Command::State { id } => container::state(g, &id),
        Command::Kill { all, id, signal } => container::kill(g, &id, signal.as_deref(), all),
        Command::Delete { force, id } => container::delete(g, &id, force),
        Command::Spec { bundle, rootless } => {
            hull_runtime::spec::write_default(&bundle, rootless).map(|_| 0)
        }
        Command::Features => hull_runtime::features::print_with(BUILD_ANNOTATIONS).map(|_| 0),
        Command::List { format, quiet } => container::list(g, &format, quiet, root_given),
        Command::Exec(o) => hull_runtime::exec::exec(g, &o.options()),
        Command::Update(o) => cgroup_ops::update(g, &o.options()),
        Command::Pause { id } => cgroup_ops::pause(g, &id),
        Command::Resume { id } => cgroup_ops::resume(g, &id),
        Command::Events {
            interval,
            stats,
            id,
        } => cgroup_ops::events(g, &id, &interval, stats),
        Command::Ps {
            format,
            id,
            ps_args,
        } => cgroup_ops::ps(g, &id, &format, &ps_args),
        Command::Checkpoint(o) => match o.options(cli.global.criu.clone()) {
            Ok(o) => hull_runtime::checkpoint::checkpoint(g, &o),
            Err(e) => return fail(e),
        },
        Command::Restore(o) => match o.options(cli.global.criu.clone()) {
            Ok(o) => hull_runtime::checkpoint::restore(g, &o),
            Err(e) => return fail(e),
        },
    };
    match res {
        Ok(code) => code,
        Err(e) => fail(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    /// go-runc's `restore -no-subreaper` parses; other words are left alone.
    #[test]
    fn go_single_dash_long_flags() {
        let cmd = command();
        let got = go_long_flags(
            words(&[
                "hull",
                "--root",
                "/r",
                "restore",
                "--detach",
                "-no-subreaper",
                "-nope",
                "id",
            ]),
            &cmd,
        );
        assert_eq!(
            got,
            words(&[
                "hull",
                "--root",
                "/r",
                "restore",
                "--detach",
                "--no-subreaper",
                "-nope",
                "id"
            ])
        );
        let exec = words(&["hull", "exec", "id", "ls", "-no-subreaper"]);
        assert_eq!(go_long_flags(exec.clone(), &cmd), exec);
        let go = words(&["hull", "restore", "-no-subreaper", "-detach", "id"]);
        let m = cmd
            .clone()
            .try_get_matches_from(go_long_flags(go, &cmd))
            .expect("parses");
        let r = m.subcommand_matches("restore").expect("restore");
        assert!(r.get_flag("no-subreaper") && r.get_flag("detach"));
    }
}
