//! What the operations are asked to do: the library's own option types. The binary maps
//! runc's command line onto them (cli/src/args.rs); nothing here knows clap, so the library
//! can be driven and tested without a command line, and a flag's spelling never reaches
//! the setup code.

use std::path::PathBuf;

/// Options every operation shares (runc's global flags that reach the library).
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// The state root: one directory per container (`--root`, default `/run/hull`, or
    /// `$XDG_RUNTIME_DIR/hull` for a user: [`crate::rootless::default_root`]).
    pub root: PathBuf,
    /// Place containers with the systemd cgroup driver (`--systemd-cgroup`).
    pub systemd_cgroup: bool,
    /// Rootless cgroups (`--rootless`, resolved by [`crate::rootless::Mode::resolve`]): the
    /// user's systemd manager, and no cgroup where none can be made and none is needed.
    pub rootless: bool,
}

/// Where and how hull logs (`--log`, `--log-format`, `--debug`).
#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    /// Log file; errors and debug lines go here as well as to stderr.
    pub file: Option<PathBuf>,
    /// One JSON object per line (`--log-format json`) instead of logfmt text.
    pub json: bool,
    /// Log debug lines, including how long each phase took.
    pub debug: bool,
}

/// `create` (and the create half of `run`).
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// Container id.
    pub id: String,
    /// The bundle directory (holds config.json).
    pub bundle: PathBuf,
    /// Unix socket that receives the pty master when `process.terminal` is true.
    pub console_socket: Option<PathBuf>,
    /// Unix socket that receives a pidfd of the container's init.
    pub pidfd_socket: Option<PathBuf>,
    /// File to write the init's host pid to.
    pub pid_file: Option<PathBuf>,
    /// MS_MOVE + chroot instead of pivot_root (ramdisk roots).
    pub no_pivot: bool,
    /// Keep the caller's session keyring instead of a new one.
    pub no_new_keyring: bool,
    /// Pass this many extra file descriptors (3 .. 3+N-1) to the container.
    pub preserve_fds: u32,
}

/// `run`: create, start, wait and delete.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The create half.
    pub create: CreateOptions,
    /// Return once the container's program runs instead of waiting for it.
    pub detach: bool,
    /// Keep the container's state after it exits.
    pub keep: bool,
    /// Do not make hull a child subreaper.
    pub no_subreaper: bool,
}

/// `exec`: a new process in a running container.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// Container id.
    pub id: String,
    /// The program and its arguments (ignored with `process`).
    pub command: Vec<String>,
    /// Unix socket that receives the pty master of a terminal process.
    pub console_socket: Option<PathBuf>,
    /// Unix socket that receives a pidfd of the new process.
    pub pidfd_socket: Option<PathBuf>,
    /// Working directory inside the container.
    pub cwd: Option<String>,
    /// `KEY=value` entries added to the container's environment.
    pub env: Vec<String>,
    /// Allocate a terminal.
    pub tty: bool,
    /// `uid[:gid]`.
    pub user: Option<String>,
    /// Supplementary gids.
    pub additional_gids: Vec<u32>,
    /// A runtime-spec `process` JSON file that describes the whole process.
    pub process: Option<PathBuf>,
    /// Return once the process runs.
    pub detach: bool,
    /// File to write the process's host pid to.
    pub pid_file: Option<PathBuf>,
    /// SELinux label of the process.
    pub process_label: Option<String>,
    /// AppArmor profile of the process.
    pub apparmor: Option<String>,
    /// Set no_new_privs.
    pub no_new_privs: bool,
    /// Capabilities added to the container's sets.
    pub cap: Vec<String>,
    /// Pass this many extra file descriptors (3 .. 3+N-1).
    pub preserve_fds: u32,
    /// `[controller:]path` sub-cgroups of the container's cgroup to join.
    pub cgroup: Vec<String>,
    /// Allow exec into a paused container.
    pub ignore_paused: bool,
}

/// `update`: new limits for a live container. With `resources` (a `linux.resources`
/// JSON file, `-` for stdin) the value fields are ignored, as in runc.
#[derive(Debug, Clone, Default)]
pub struct UpdateOptions {
    /// Container id.
    pub id: String,
    pub resources: Option<String>,
    pub blkio_weight: Option<u16>,
    pub cpu_period: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpu_burst: Option<u64>,
    pub cpu_rt_period: Option<u64>,
    pub cpu_rt_runtime: Option<i64>,
    pub cpu_share: Option<u64>,
    pub cpu_idle: Option<i64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    /// Sizes as runc takes them (`64m`, `-1`).
    pub kernel_memory: Option<String>,
    pub kernel_memory_tcp: Option<String>,
    pub memory: Option<String>,
    pub memory_reservation: Option<String>,
    pub memory_swap: Option<String>,
    pub pids_limit: Option<i64>,
    pub l3_cache_schema: Option<String>,
    pub mem_bw_schema: Option<String>,
}
