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

/// How CRIU treats the container's cgroups (`--manage-cgroups-mode`, criu's `criu_cg_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupMode {
    /// Leave cgroups alone entirely.
    Ignore,
    /// Restore properties only where the cgroup was made by CRIU (CRIU's default).
    Soft,
    /// Restore all properties, and make missing cgroups.
    Full,
    /// Like full, but fail when a cgroup is missing.
    Strict,
}

/// What `checkpoint` and `restore` share: where the images are and what CRIU may touch.
#[derive(Debug, Clone, Default)]
pub struct CriuOptions {
    /// The criu binary (`--criu`): a path, or a name looked up in `PATH` (default `criu`).
    pub criu: Option<PathBuf>,
    /// Directory of the checkpoint images (`--image-path`, default `./checkpoint`).
    pub image_path: Option<PathBuf>,
    /// Directory for CRIU's log and work files (`--work-path`, default: the image path).
    pub work_path: Option<PathBuf>,
    /// Allow open TCP connections (`--tcp-established`).
    pub tcp_established: bool,
    /// Allow external unix sockets (`--ext-unix-sk`).
    pub ext_unix_sk: bool,
    /// Allow shell jobs: a terminal from outside the container (`--shell-job`).
    pub shell_job: bool,
    /// Handle file locks (`--file-locks`).
    pub file_locks: bool,
    /// CRIU's cgroup mode; `None` leaves CRIU's default (soft).
    pub manage_cgroups_mode: Option<CgroupMode>,
    /// Namespaces (CLONE_NEW* bits) CRIU creates empty instead of restoring (`--empty-ns`).
    pub empty_ns: u32,
    /// Deduplicate parent images (`--auto-dedup`).
    pub auto_dedup: bool,
    /// Lazy migration: pages served on demand (`--lazy-pages`).
    pub lazy_pages: bool,
}

/// `checkpoint`: dump a running container with CRIU.
#[derive(Debug, Clone, Default)]
pub struct CheckpointOptions {
    /// Container id.
    pub id: String,
    /// Shared CRIU options.
    pub criu: CriuOptions,
    /// Images of a previous (pre-)dump, relative to the image path (`--parent-path`).
    pub parent_path: Option<PathBuf>,
    /// Keep the container running after the dump (`--leave-running`).
    pub leave_running: bool,
    /// Drop in-flight TCP connections (`--tcp-skip-in-flight`).
    pub tcp_skip_in_flight: bool,
    /// `ADDRESS:PORT` of a CRIU page server (`--page-server`).
    pub page_server: Option<String>,
    /// Only dump memory, keep the container running (`--pre-dump`).
    pub pre_dump: bool,
    /// Restore with link remaps for unlinked open files (`--link-remap`).
    pub link_remap: bool,
    /// fd told (one `\0` byte) when the lazy-pages server is ready (`--status-fd`).
    pub status_fd: Option<i32>,
}

/// `restore`: a container made from checkpoint images, run like `run`.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// Id, bundle, console socket, pid file, no-pivot as for `create`.
    pub create: CreateOptions,
    /// Shared CRIU options.
    pub criu: CriuOptions,
    /// Return once the container runs instead of waiting for it (`--detach`).
    pub detach: bool,
    /// Do not make hull a child subreaper (`--no-subreaper`).
    pub no_subreaper: bool,
    /// LSM profile to restore the processes with, `TYPE:NAME` (`--lsm-profile`).
    pub lsm_profile: Option<String>,
    /// SELinux mount context for restored mounts (`--lsm-mount-context`).
    pub lsm_mount_context: Option<String>,
}
