//! The flags of `create`, `run`, `update`, `checkpoint` and `restore`, as tables turned into
//! clap arguments by one loop rather than derived (binary size: see the first comment below),
//! and what was given of them (`Flags`), which `args.rs` maps onto the library's options.

use std::path::PathBuf;

use clap::{Args, FromArgMatches};
use hull_runtime::options::CriuOptions;

/// `update`, `checkpoint` and `restore` flags (runc's spelling), from tables rather than
/// derived: each derived flag costs ~0.7 KB of clap builder code in the static binary, a row
/// of a table looped over a fraction of that (docs/checkpoint.md "Binary size"). Each row:
/// long name, short name, what it takes, help.
type Flag = (&'static str, Option<char>, K, &'static str);

/// What a table's flag takes: nothing, or a value clap checks as it would a derived field's.
#[derive(Clone, Copy, PartialEq)]
enum K {
    Bool,
    Str,
    U16,
    U64,
    I64,
}
use K::{Bool, Str, I64, U16, U64};

/// `update` (runc's); values are applied on top of `--resources`.
const UPDATE_FLAGS: &[Flag] = &[
    (
        "resources",
        Some('r'),
        Str,
        "runtime-spec `linux.resources` JSON file, or `-` for stdin",
    ),
    (
        "blkio-weight",
        None,
        U16,
        "Block IO weight (10-1000; cgroup v2: io.weight)",
    ),
    ("cpu-period", None, U64, "CPU CFS period in microseconds"),
    (
        "cpu-quota",
        None,
        I64,
        "CPU CFS quota in microseconds per period (-1: unlimited)",
    ),
    ("cpu-burst", None, U64, "CPU CFS burst in microseconds"),
    (
        "cpu-rt-period",
        None,
        U64,
        "CPU realtime period in microseconds",
    ),
    (
        "cpu-rt-runtime",
        None,
        I64,
        "CPU realtime runtime in microseconds per period",
    ),
    (
        "cpu-share",
        None,
        U64,
        "CPU shares (relative weight; converted to cpu.weight on cgroup v2)",
    ),
    ("cpu-idle", None, I64, "Set the cgroup's cpu.idle (0 or 1)"),
    (
        "cpuset-cpus",
        None,
        Str,
        "CPUs the container may run on (e.g. 0-3,5)",
    ),
    (
        "cpuset-mems",
        None,
        Str,
        "Memory nodes the container may use (e.g. 0-1)",
    ),
    (
        "kernel-memory",
        None,
        Str,
        "Kernel memory limit (ignored by the kernel since Linux 5.4; accepted like runc)",
    ),
    (
        "kernel-memory-tcp",
        None,
        Str,
        "Kernel TCP buffer memory limit (cgroup v1)",
    ),
    (
        "memory",
        None,
        Str,
        "Memory limit in bytes (suffixes k, m, g; -1: unlimited)",
    ),
    (
        "memory-reservation",
        None,
        Str,
        "Memory soft limit in bytes",
    ),
    (
        "memory-swap",
        None,
        Str,
        "Memory plus swap limit in bytes (-1: unlimited)",
    ),
    (
        "pids-limit",
        None,
        I64,
        "Maximum number of processes (-1 or 0: unlimited)",
    ),
    (
        "l3-cache-schema",
        None,
        Str,
        "Intel RDT L3 cache schema (not supported: an error)",
    ),
    (
        "mem-bw-schema",
        None,
        Str,
        "Intel RDT memory bandwidth schema (not supported: an error)",
    ),
];

/// Flags both commands take.
/// `create`'s, and the create half of `run`.
const CREATE_FLAGS: &[Flag] = &[
    (
        "bundle",
        Some('b'),
        Str,
        "Path to the bundle directory (holds config.json); defaults to the current directory",
    ),
    (
        "console-socket",
        None,
        Str,
        "Unix socket that receives the pty master when process.terminal is true",
    ),
    (
        "pidfd-socket",
        None,
        Str,
        "Unix socket that receives a pidfd of the container's init (runc 1.2)",
    ),
    (
        "pid-file",
        None,
        Str,
        "File to write the init process's host pid to",
    ),
    (
        "no-pivot",
        None,
        Bool,
        "Use MS_MOVE + chroot instead of pivot_root (for ramdisk roots)",
    ),
    (
        "no-new-keyring",
        None,
        Bool,
        "Do not create a new session keyring for the container",
    ),
    (
        "preserve-fds",
        None,
        I64,
        "Pass N extra file descriptors (3 .. 3+N-1) to the container",
    ),
];

/// `run`'s own.
const RUN_FLAGS: &[Flag] = &[
    (
        "detach",
        Some('d'),
        Bool,
        "Detach from the container's process after starting it",
    ),
    (
        "keep",
        None,
        Bool,
        "Keep the container's state after it exits",
    ),
    (
        "no-subreaper",
        None,
        Bool,
        "Do not make hull a child subreaper (accepted for compatibility)",
    ),
];

const CRIU_FLAGS: &[Flag] = &[
    (
        "image-path",
        None,
        Str,
        "Directory for the checkpoint images (default: ./checkpoint)",
    ),
    (
        "work-path",
        None,
        Str,
        "Directory for CRIU's log and work files (default: the image path)",
    ),
    ("tcp-established", None, Bool, "Allow open TCP connections"),
    ("ext-unix-sk", None, Bool, "Allow external unix sockets"),
    (
        "shell-job",
        None,
        Bool,
        "Allow shell jobs (a terminal from outside the container)",
    ),
    ("file-locks", None, Bool, "Handle file locks"),
    (
        "manage-cgroups-mode",
        None,
        Str,
        "How CRIU handles cgroups: soft, full, strict or ignore",
    ),
    (
        "empty-ns",
        None,
        Str,
        "Create this namespace empty instead of restoring it (network)",
    ),
    (
        "auto-dedup",
        None,
        Bool,
        "Deduplicate the images of a previous dump",
    ),
    (
        "lazy-pages",
        None,
        Bool,
        "Lazy migration: memory pages are served on demand",
    ),
];

const CHECKPOINT_FLAGS: &[Flag] = &[
    (
        "parent-path",
        None,
        Str,
        "Images of a previous (pre-)dump, relative to the image path",
    ),
    (
        "leave-running",
        None,
        Bool,
        "Leave the container running after the checkpoint",
    ),
    (
        "tcp-skip-in-flight",
        None,
        Bool,
        "Drop in-flight TCP connections",
    ),
    (
        "link-remap",
        None,
        Bool,
        "Allow link remaps for unlinked open files",
    ),
    (
        "status-fd",
        None,
        Str,
        "With --lazy-pages: fd told (one byte) when the page server is ready",
    ),
    (
        "page-server",
        None,
        Str,
        "ADDRESS:PORT of a CRIU page server to send the memory to",
    ),
    (
        "pre-dump",
        None,
        Bool,
        "Dump only memory, leave the container running (then dump with --parent-path)",
    ),
];

const RESTORE_FLAGS: &[Flag] = &[
    (
        "bundle",
        Some('b'),
        Str,
        "Path to the bundle directory (default: the current directory)",
    ),
    (
        "console-socket",
        None,
        Str,
        "Unix socket that receives the restored pty master",
    ),
    (
        "detach",
        Some('d'),
        Bool,
        "Detach from the restored container's process",
    ),
    (
        "pid-file",
        None,
        Str,
        "File to write the restored init's host pid to",
    ),
    (
        "no-subreaper",
        None,
        Bool,
        "Do not make hull a child subreaper",
    ),
    (
        "no-pivot",
        None,
        Bool,
        "Accepted as runc does (CRIU sets up the root itself)",
    ),
    (
        "lsm-profile",
        None,
        Str,
        "LSM profile for the restored processes, TYPE:NAME",
    ),
    (
        "lsm-mount-context",
        None,
        Str,
        "SELinux mount context for the restored mounts",
    ),
];

/// What was given of a table's flags.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    on: Vec<&'static str>,
    vals: Vec<(&'static str, String)>,
    /// Container id.
    pub id: String,
}

fn add_flags(mut cmd: clap::Command, tables: &[&[Flag]]) -> clap::Command {
    for (long, short, value, help) in tables.iter().flat_map(|t| t.iter()) {
        let mut a = clap::Arg::new(*long).long(*long).help(*help);
        a = match value {
            Bool => a.action(clap::ArgAction::SetTrue),
            _ => a.action(clap::ArgAction::Set).allow_negative_numbers(true),
        };
        a = match value {
            U16 => a.value_parser(clap::value_parser!(u16)),
            U64 => a.value_parser(clap::value_parser!(u64)),
            I64 => a.value_parser(clap::value_parser!(i64)),
            _ => a,
        };
        if let Some(c) = short {
            a = a.short(*c);
        }
        cmd = cmd.arg(a);
    }
    cmd.arg(clap::Arg::new("id").required(true).help("Container id"))
}

fn read_flags(m: &clap::ArgMatches, tables: &[&[Flag]]) -> Flags {
    let mut f = Flags::default();
    for (long, _, value, _) in tables.iter().flat_map(|t| t.iter()) {
        let v = match value {
            Bool => {
                if m.get_flag(long) {
                    f.on.push(long);
                }
                None
            }
            Str => m.get_one::<String>(long).cloned(),
            U16 => m.get_one::<u16>(long).map(u16::to_string),
            U64 => m.get_one::<u64>(long).map(u64::to_string),
            I64 => m.get_one::<i64>(long).map(i64::to_string),
        };
        if let Some(v) = v {
            f.vals.push((long, v));
        }
    }
    f.id = m.get_one::<String>("id").cloned().unwrap_or_default();
    f
}

impl Flags {
    pub(crate) fn on(&self, name: &str) -> bool {
        self.on.contains(&name)
    }
    pub(crate) fn val(&self, name: &str) -> Option<&str> {
        self.vals
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
    pub(crate) fn string(&self, name: &str) -> Option<String> {
        self.val(name).map(str::to_string)
    }
    /// A value clap has already checked to be a `T`.
    pub(crate) fn num<T: std::str::FromStr>(&self, name: &str) -> Option<T> {
        self.val(name).and_then(|v| v.parse().ok())
    }
    pub(crate) fn path(&self, name: &str) -> Option<PathBuf> {
        self.val(name).map(PathBuf::from)
    }
    pub(crate) fn criu(&self, criu: Option<PathBuf>) -> Result<CriuOptions, String> {
        use hull_runtime::checkpoint::{parse_cg_mode, parse_empty_ns};
        Ok(CriuOptions {
            criu,
            image_path: self.path("image-path"),
            work_path: self.path("work-path"),
            tcp_established: self.on("tcp-established"),
            ext_unix_sk: self.on("ext-unix-sk"),
            shell_job: self.on("shell-job"),
            file_locks: self.on("file-locks"),
            manage_cgroups_mode: parse_cg_mode(self.val("manage-cgroups-mode").unwrap_or(""))
                .map_err(|e| e.to_string())?,
            empty_ns: parse_empty_ns(self.val("empty-ns").unwrap_or(""))
                .map_err(|e| e.to_string())?,
            auto_dedup: self.on("auto-dedup"),
            lazy_pages: self.on("lazy-pages"),
        })
    }
}

macro_rules! flag_args {
    ($name:ident, $($t:ident),+) => {
        /// Flags of one command, parsed from their tables.
        #[derive(Debug, Clone, Default)]
        pub struct $name(pub Flags);
        impl FromArgMatches for $name {
            fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
                Ok($name(read_flags(m, &[$($t),+])))
            }
            fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
                self.0 = read_flags(m, &[$($t),+]);
                Ok(())
            }
        }
        impl Args for $name {
            fn augment_args(cmd: clap::Command) -> clap::Command {
                add_flags(cmd, &[$($t),+])
            }
            fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
                add_flags(cmd, &[$($t),+])
            }
        }
    };
}
flag_args!(CheckpointOpts, CRIU_FLAGS, CHECKPOINT_FLAGS);
flag_args!(RestoreOpts, CRIU_FLAGS, RESTORE_FLAGS);
flag_args!(UpdateOpts, UPDATE_FLAGS);
flag_args!(CreateOpts, CREATE_FLAGS);
flag_args!(RunOpts, CREATE_FLAGS, RUN_FLAGS);
