//! The conformance suite's harness: builds busybox bundles, drives the real `hull` binary, and
//! checks after every container that nothing was left behind.
//!
//! Each test makes a [`Container`]: a unique id (`hull-<test>-<pid>-<n>`), its own `--root`, and
//! a bundle whose rootfs holds busybox plus the static `checker` (spec-tests/checker) at
//! `/bin/checker`, with `hull spec`'s default config (terminal off, `args: ["true"]`). Dropping
//! it force-deletes the container, removes its files, and panics if a mount, cgroup directory or
//! process of it survived, so a leak fails the test that caused it.
//!
//! Binaries come from the environment (`hack/test.sh` sets both):
//! - `HULL`: the runtime under test (default: `target/release/hull` of this workspace);
//! - `HULL_CHECKER`: the static checker (default: the path `hack/test.sh` builds it to).
//!
//! `HULL_SPEC_ROOTLESS=1` is the rootless mode (run as an unprivileged user, in the systemd
//! guest: spec-tests/rootless-suite.sh): every bundle starts from `hull spec --rootless`
//! (a user namespace mapping the caller to root, no network namespace, sysfs bound
//! read-only, no resources), and [`needs_root`] skips, with its reason, what only root may do.

use std::io::{Read, Write};
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Where every test's files live; the leak check at the end of `hack/test.sh` looks here too.
pub const BASE: &str = "/tmp/hull-spec";

/// Longest any single hull command may take before the test fails (and the command is killed),
/// and the bound of every wait for a condition: a bound for a loaded machine, never a delay.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The hull binary under test.
pub fn hull_bin() -> PathBuf {
    std::env::var_os("HULL")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/release/hull"))
}

/// The static checker binary put into every rootfs.
pub fn checker_bin() -> PathBuf {
    std::env::var_os("HULL_CHECKER")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            workspace().join("target/checker/x86_64-unknown-linux-gnu/release/checker")
        })
}

/// The host's busybox (must be the static one from busybox-static).
pub fn busybox_bin() -> PathBuf {
    for p in ["/bin/busybox", "/usr/bin/busybox"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!("busybox not found: run hack/deps.sh (busybox-static)");
}

/// What a finished command printed and how it ended.
#[derive(Debug, Clone)]
pub struct Out {
    /// Exit code, or 128 + signal when killed by one.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The command line, for failure messages.
    pub cmd: String,
}

impl Out {
    /// Asserts exit 0 and returns self.
    #[track_caller]
    pub fn ok(&self) -> &Self {
        assert_eq!(
            self.code, 0,
            "`{}` failed (exit {}):\nstdout: {}\nstderr: {}",
            self.cmd, self.code, self.stdout, self.stderr
        );
        self
    }
    /// Asserts a non-zero exit and returns self.
    #[track_caller]
    pub fn fails(&self) -> &Self {
        assert_ne!(
            self.code, 0,
            "`{}` unexpectedly succeeded:\nstdout: {}\nstderr: {}",
            self.cmd, self.stdout, self.stderr
        );
        self
    }
    /// Asserts that stderr contains `s`, as printed or as the message of a log line
    /// (`time="..." level=error msg="..."`: a failing command's stderr without `--log`).
    #[track_caller]
    pub fn stderr_has(&self, s: &str) -> &Self {
        assert!(
            self.stderr.contains(s) || self.stderr_msgs().iter().any(|m| m.contains(s)),
            "`{}`: stderr lacks {s:?}:\nstderr: {}\nstdout: {}",
            self.cmd,
            self.stderr,
            self.stdout
        );
        self
    }
    /// The messages of stderr's log lines, unquoted (`msg="a \"b\""` is `a "b"`).
    pub fn stderr_msgs(&self) -> Vec<String> {
        self.stderr
            .lines()
            .filter_map(|l| {
                let m = l.split_once(" msg=")?.1;
                Some(if m.starts_with('"') {
                    serde_json::from_str::<String>(m).ok()?
                } else {
                    m.to_string()
                })
            })
            .collect()
    }
    /// stdout without the trailing newline.
    pub fn out(&self) -> &str {
        self.stdout.trim_end_matches('\n')
    }
}

/// Runs `cmd` with `stdin` fed to it, its stdout and stderr going to fresh files (not pipes:
/// a container created by the command inherits them and may keep them open for its life),
/// killing it after the timeout.
pub fn run_cmd(cmd: Command, stdin: Option<&[u8]>) -> Out {
    let d = tempdir("out");
    let o = run_cmd_to(cmd, stdin, &d.join("stdout"), &d.join("stderr"));
    let _ = std::fs::remove_dir_all(&d);
    o
}

/// [`run_cmd`] with stdout and stderr written to the given files (truncated first).
pub fn run_cmd_to(mut cmd: Command, stdin: Option<&[u8]>, stdout: &Path, stderr: &Path) -> Out {
    let desc = format!("{cmd:?}");
    let file =
        |p: &Path| std::fs::File::create(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(file(stdout))
    .stderr(file(stderr));
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {desc}: {e}"));
    if let Some(mut w) = child.stdin.take() {
        let data = stdin.unwrap_or_default().to_vec();
        std::thread::spawn(move || {
            let _ = w.write_all(&data);
        });
    }
    let t = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if t.elapsed() < COMMAND_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(2))
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("`{desc}` did not finish within {COMMAND_TIMEOUT:?}");
            }
            Err(e) => panic!("wait {desc}: {e}"),
        }
    };
    use std::os::unix::process::ExitStatusExt;
    let code = status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    let read =
        |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    Out {
        code,
        stdout: read(stdout),
        stderr: read(stderr),
        cmd: desc,
    }
}

/// Makes a rootfs with busybox (every applet linked in /bin), `/bin/checker`, and minimal
/// `/etc/passwd` and `/etc/group`.
pub fn make_rootfs(rootfs: &Path) {
    for d in [
        "bin",
        "etc",
        "dev",
        "proc",
        "sys",
        "tmp",
        "root",
        "home/user",
    ] {
        std::fs::create_dir_all(rootfs.join(d)).expect("mkdir in rootfs");
    }
    let bb = busybox_bin();
    std::fs::copy(&bb, rootfs.join("bin/busybox")).expect("copy busybox");
    let list = Command::new(&bb)
        .arg("--list")
        .output()
        .expect("busybox --list");
    for applet in String::from_utf8_lossy(&list.stdout).lines() {
        if applet != "busybox" {
            let _ = symlink("busybox", rootfs.join("bin").join(applet));
        }
    }
    let checker = checker_bin();
    std::fs::copy(&checker, rootfs.join("bin/checker")).unwrap_or_else(|e| {
        panic!(
            "copy {}: {e} (build it with hack/test.sh, or set HULL_CHECKER)",
            checker.display()
        )
    });
    std::fs::write(
        rootfs.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
    )
    .expect("passwd");
    std::fs::write(
        rootfs.join("etc/group"),
        "root:x:0:\ntty:x:5:\nuser:x:1000:\nextra:x:2000:user\nnogroup:x:65534:\n",
    )
    .expect("group");
}

/// The suite runs rootless (`HULL_SPEC_ROOTLESS=1`, as an unprivileged user).
pub fn rootless() -> bool {
    std::env::var_os("HULL_SPEC_ROOTLESS").is_some_and(|v| v == "1")
}

/// In rootless mode, prints why the calling test is skipped and returns true: the test
/// asks for what only root may do (`reason`).
pub fn needs_root(reason: &str) -> bool {
    if rootless() {
        eprintln!("skipped (rootless): {reason}");
    }
    rootless()
}

/// The user-namespace variants a test runs: without one and with one. In rootless mode
/// every container already has one (`hull spec --rootless`), so only the second.
pub fn userns_variants() -> &'static [bool] {
    match rootless() {
        true => &[true],
        false => &[false, true],
    }
}

/// Gives `config` a user namespace mapping container ids 0..65536 onto host ids 100000..
/// (in rootless mode: keeps the one it has, which maps root onto the caller); returns the
/// host uid of the container's root.
pub fn add_userns(config: &mut Value) -> u32 {
    if rootless() {
        return euid();
    }
    if let Some(ns) = config["linux"]["namespaces"].as_array_mut() {
        ns.push(serde_json::json!({"type": "user"}));
    }
    let map = serde_json::json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    config["linux"]["uidMappings"] = map.clone();
    config["linux"]["gidMappings"] = map;
    100000
}

/// The caller's effective uid.
pub fn euid() -> u32 {
    // SAFETY: geteuid(2) has no arguments and cannot fail.
    unsafe { libc::geteuid() }
}

/// `hull spec`'s default config (`hull spec --rootless`'s in rootless mode), made runnable
/// without a terminal: `args: ["true"]`.
pub fn default_config() -> Value {
    let dir = tempdir("spec");
    let o = run_cmd(
        {
            let mut c = Command::new(hull_bin());
            c.arg("spec").current_dir(&dir);
            if rootless() {
                c.arg("--rootless");
            }
            c
        },
        None,
    );
    o.ok();
    let text = std::fs::read_to_string(dir.join("config.json")).expect("read spec");
    let _ = std::fs::remove_dir_all(&dir);
    let mut v: Value = serde_json::from_str(&text).expect("spec json");
    // Rootless with a subordinate range (`HULL_SPEC_SUBIDS=100000:65536`, the guest user's
    // /etc/subuid and /etc/subgid): ids 1.. map onto it (through newuidmap/newgidmap), so
    // tests that switch to uid 1000 in the container have a mapped user.
    if let Some((start, n)) = std::env::var("HULL_SPEC_SUBIDS")
        .ok()
        .and_then(|s| {
            s.split_once(':')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        })
        .filter(|_| rootless())
    {
        let range = serde_json::json!({"containerID": 1, "hostID": start.parse::<u32>().unwrap_or(0), "size": n.parse::<u32>().unwrap_or(0)});
        for k in ["uidMappings", "gidMappings"] {
            if let Some(a) = v["linux"][k].as_array_mut() {
                a.push(range.clone());
            }
        }
    }
    v["process"]["terminal"] = Value::Bool(false);
    v["process"]["args"] = serde_json::json!(["true"]);
    // runc's template has no cgroup namespace; the suite's containers have one, so that a
    // container's view of its cgroup is `/` (the tests of cgroup files inside rely on it).
    if let Some(ns) = v["linux"]["namespaces"].as_array_mut() {
        if !ns.iter().any(|n| n["type"] == "cgroup") {
            ns.push(serde_json::json!({"type": "cgroup"}));
        }
    }
    v
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A fresh, unique directory under [`BASE`].
pub fn tempdir(tag: &str) -> PathBuf {
    let n = SEQ.fetch_add(1, Ordering::SeqCst);
    let d = Path::new(BASE).join(format!("{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("mkdir tempdir");
    d
}

/// One test's container: its id, `--root`, bundle and config. See the module docs.
pub struct Container {
    pub id: String,
    /// The `--root` state directory, private to this container.
    pub root: PathBuf,
    /// The bundle directory (config.json + rootfs/).
    pub bundle: PathBuf,
    /// The config written to the bundle by [`Container::write_config`] (and `create`/`run`).
    pub config: Value,
    /// Global flags given to every hull command of this container (`--systemd-cgroup`).
    pub global: Vec<String>,
    base: PathBuf,
    pids: std::cell::RefCell<Vec<i32>>,
}

impl Container {
    /// A new container named after `test` (letters, digits, `-`).
    pub fn new(test: &str) -> Container {
        let base = tempdir(test);
        let id = base
            .file_name()
            .map(|n| format!("hull-{}", n.to_string_lossy()))
            .unwrap_or_default();
        let bundle = base.join("bundle");
        make_rootfs(&bundle.join("rootfs"));
        Container {
            id,
            root: base.join("root"),
            bundle,
            config: default_config(),
            global: Vec::new(),
            base,
            pids: Default::default(),
        }
    }

    /// The rootfs directory on the host.
    pub fn rootfs(&self) -> PathBuf {
        self.bundle.join("rootfs")
    }

    /// Sets `process.args`.
    pub fn args(&mut self, args: &[&str]) -> &mut Self {
        self.config["process"]["args"] = serde_json::json!(args);
        self
    }

    /// Sets `process.args` to `sh -c SCRIPT`.
    pub fn sh(&mut self, script: &str) -> &mut Self {
        self.args(&["sh", "-c", script])
    }

    /// Writes `self.config` as the bundle's config.json.
    pub fn write_config(&self) {
        let text = serde_json::to_string_pretty(&self.config).expect("encode config");
        std::fs::write(self.bundle.join("config.json"), text).expect("write config.json");
    }

    /// A `hull --root <root>` command, for callers that set up their own stdio.
    pub fn hull_cmd(&self) -> Command {
        let mut c = Command::new(hull_bin());
        c.arg("--root").arg(&self.root).args(&self.global);
        c
    }

    /// Runs `hull --root <root> ARGS...` and captures its output.
    pub fn hull(&self, args: &[&str]) -> Out {
        let mut c = self.hull_cmd();
        c.args(args);
        run_cmd(c, None)
    }

    /// Writes the config, then `hull create --bundle <bundle> <id>` plus `extra` flags.
    pub fn create_with(&self, extra: &[&str]) -> Out {
        self.write_config();
        let b = self.bundle.display().to_string();
        let mut a = vec!["create", "--bundle", &b];
        a.extend_from_slice(extra);
        a.push(&self.id);
        let mut c = self.hull_cmd();
        c.args(&a);
        let o = run_cmd_to(
            c,
            None,
            &self.base.join("stdout"),
            &self.base.join("stderr"),
        );
        if o.code == 0 {
            self.remember_pid();
        }
        o
    }

    /// What the created container has written to its stdout so far (create's stdout is its).
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(self.base.join("stdout")).unwrap_or_default())
            .into_owned()
    }

    /// Writes the config and creates the container.
    pub fn create(&self) -> Out {
        self.create_with(&[])
    }

    /// `hull start <id>`.
    pub fn start(&self) -> Out {
        self.hull(&["start", &self.id])
    }

    /// Writes the config and runs the container in the foreground (`hull run`), returning
    /// what the container printed and its exit status.
    pub fn run(&self) -> Out {
        self.write_config();
        let b = self.bundle.display().to_string();
        self.hull(&["run", "--bundle", &b, &self.id])
    }

    /// Writes the config and starts `hull run` in the background (stdout/stderr to this
    /// container's files, see [`Container::stdout`]); finish it with [`wait_child`].
    pub fn spawn_run(&self, extra: &[&str]) -> std::process::Child {
        self.write_config();
        let f = |n: &str| std::fs::File::create(self.base.join(n)).expect("output file");
        let mut c = self.hull_cmd();
        c.arg("run")
            .arg("--bundle")
            .arg(&self.bundle)
            .args(extra)
            .arg(&self.id);
        c.stdin(Stdio::null())
            .stdout(f("stdout"))
            .stderr(f("stderr"));
        c.spawn().expect("spawn hull run")
    }

    /// Waits until the stdout of a [`Container::spawn_run`] contains `needle`: the way a
    /// test learns that the container's program got somewhere (a shell installed its traps),
    /// which `running` alone does not say. Fails the test after [`COMMAND_TIMEOUT`].
    #[track_caller]
    pub fn wait_stdout(&self, needle: &str) {
        let t = Instant::now();
        while !self.stdout().contains(needle) {
            assert!(
                t.elapsed() < COMMAND_TIMEOUT,
                "stdout never showed {needle:?}: {:?}",
                self.stdout()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `hull state <id>` parsed; panics if it fails.
    pub fn state(&self) -> Value {
        let o = self.hull(&["state", &self.id]);
        o.ok();
        serde_json::from_str(&o.stdout)
            .unwrap_or_else(|e| panic!("state is not JSON ({e}): {}", o.stdout))
    }

    /// The `status` field of `hull state`.
    pub fn status(&self) -> String {
        self.state()["status"].as_str().unwrap_or("").to_string()
    }

    /// Waits until the status is `want`, failing the test after [`COMMAND_TIMEOUT`] (a bound
    /// for a loaded machine, not a delay: it returns as soon as the status is there). A container that does
    /// not exist yet is waited for too.
    #[track_caller]
    pub fn wait_status(&self, want: &str) {
        let t = Instant::now();
        loop {
            // Not existing yet (a background `run` still creating) reads as "".
            let o = self.hull(&["state", &self.id]);
            let s = serde_json::from_str::<Value>(&o.stdout)
                .ok()
                .and_then(|v| v["status"].as_str().map(str::to_string))
                .unwrap_or_default();
            if s == want {
                return;
            }
            assert!(
                t.elapsed() < COMMAND_TIMEOUT,
                "status stayed {s:?}, wanted {want:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The init's host pid (from `hull state`).
    pub fn pid(&self) -> i32 {
        self.state()["pid"].as_i64().unwrap_or(0) as i32
    }

    fn remember_pid(&self) {
        let o = self.hull(&["state", &self.id]);
        if let Ok(v) = serde_json::from_str::<Value>(&o.stdout) {
            if let Some(p) = v["pid"].as_i64().filter(|p| *p > 0) {
                self.pids.borrow_mut().push(p as i32);
            }
        }
    }

    /// Writes a file into the rootfs (parents created).
    pub fn put(&self, path: &str, contents: &str) {
        let p = self.rootfs().join(path.trim_start_matches('/'));
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        std::fs::write(&p, contents).expect("write file in rootfs");
    }

    /// A scratch directory of this test's own (removed with the container).
    pub fn scratch(&self, name: &str) -> PathBuf {
        let d = self.base.join(name);
        std::fs::create_dir_all(&d).expect("mkdir scratch");
        d
    }

    /// What this container left behind after `delete --force`: mounts under its directory,
    /// cgroup directories named after its id, live processes it created.
    pub fn leaks(&self) -> Vec<String> {
        let mut v = Vec::new();
        let base = self.base.display().to_string();
        if let Ok(mi) = std::fs::read_to_string("/proc/self/mountinfo") {
            v.extend(
                mi.lines()
                    .filter(|l| l.contains(&base))
                    .map(|l| format!("mount: {l}")),
            );
        }
        v.extend(
            find_cgroups(&self.id)
                .into_iter()
                .map(|p| format!("cgroup: {}", p.display())),
        );
        for pid in self.pids.borrow().iter() {
            if process_alive(*pid) {
                v.push(format!("process: {pid} still running"));
            }
        }
        v.extend(
            systemd_units(&self.id)
                .into_iter()
                .map(|u| format!("systemd unit: {u}")),
        );
        v
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        if self.root.join(&self.id).exists() {
            self.remember_pid();
            let o = self.hull(&["delete", "--force", &self.id]);
            if o.code != 0 && !std::thread::panicking() {
                panic!("cleanup: delete --force {} failed: {}", self.id, o.stderr);
            }
        }
        // Processes may take a moment to be reaped after SIGKILL (longer on a loaded host).
        let t = Instant::now();
        let mut leaks = self.leaks();
        while !leaks.is_empty() && t.elapsed() < COMMAND_TIMEOUT {
            std::thread::sleep(Duration::from_millis(20));
            leaks = self.leaks();
        }
        if leaks.is_empty() || !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.base);
        }
        if !leaks.is_empty() && !std::thread::panicking() {
            panic!("container {} left behind:\n{}", self.id, leaks.join("\n"));
        }
    }
}

/// A file's contents without surrounding whitespace (cgroup and proc files); panics naming
/// the file if it cannot be read.
pub fn read_trimmed(p: impl AsRef<Path>) -> String {
    std::fs::read_to_string(p.as_ref())
        .unwrap_or_else(|e| panic!("read {}: {e}", p.as_ref().display()))
        .trim()
        .to_string()
}

/// Waits until `f` holds, failing the test (naming `what`) after [`COMMAND_TIMEOUT`]: a bound
/// for a loaded machine, not a delay.
#[track_caller]
pub fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < COMMAND_TIMEOUT,
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether systemd is PID 1 here (the systemd guest, hack/systemd-vm.sh).
pub fn systemd_booted() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

/// systemd units (any state) whose name contains `name`; empty where systemd is not PID 1.
pub fn systemd_units(name: &str) -> Vec<String> {
    if !systemd_booted() {
        return Vec::new();
    }
    let o = Command::new("systemctl")
        .args([
            "list-units",
            "--all",
            "--plain",
            "--no-legend",
            "--no-pager",
        ])
        .arg(format!("*{name}*"))
        .output();
    o.map(|o| {
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().next().map(str::to_string))
            .collect()
    })
    .unwrap_or_default()
}

/// Waits for a child (failing the test after the command timeout); returns its exit code, or
/// 128 + signal.
pub fn wait_child(child: &mut std::process::Child) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    let t = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0)),
            Ok(None) if t.elapsed() < COMMAND_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(5))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("child {} did not finish in time", child.id());
            }
        }
    }
}

/// Whether `pid` is alive (a zombie counts as gone).
pub fn process_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s
            .rsplit_once(')')
            .map(|(_, r)| r.trim_start().starts_with('Z'))
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// Cgroup directories (up to four levels under each hierarchy) whose name contains `name`.
pub fn find_cgroups(name: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    fn walk(d: &Path, depth: u32, name: &str, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if !e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                continue;
            }
            if e.file_name().to_string_lossy().contains(name) {
                out.push(p.clone());
            }
            if depth > 0 {
                walk(&p, depth - 1, name, out);
            }
        }
    }
    walk(Path::new("/sys/fs/cgroup"), 4, name, &mut out);
    out
}

/// Reads everything from `r` as a string (for pipes set up by tests).
pub fn read_all(mut r: impl Read) -> String {
    let mut s = String::new();
    let _ = r.read_to_string(&mut s);
    s
}

/// One line of /proc/PID/mountinfo (proc(5)).
#[derive(Debug, Clone, Default)]
pub struct MountInfo {
    pub id: u32,
    pub parent: u32,
    /// The mount's root within its filesystem.
    pub root: String,
    pub mount_point: String,
    /// Per-mount options (`ro,nosuid,relatime`).
    pub options: Vec<String>,
    /// Optional fields: `shared:N`, `master:N`, `propagate_from:N`, `unbindable`.
    pub optional: Vec<String>,
    pub fstype: String,
    pub source: String,
    /// Per-superblock options (`size=1024k,mode=755`).
    pub super_options: Vec<String>,
}

impl MountInfo {
    /// The per-mount option `o` is set.
    pub fn has(&self, o: &str) -> bool {
        self.options.iter().any(|x| x == o)
    }
    /// The superblock option `o` (`size=1024k`) is set.
    pub fn has_super(&self, o: &str) -> bool {
        self.super_options.iter().any(|x| x == o)
    }
    /// An optional field starting with `prefix` (`shared:`, `master:`) exists.
    pub fn has_field(&self, prefix: &str) -> bool {
        self.optional.iter().any(|x| x.starts_with(prefix))
    }
}

/// Parses mountinfo text; lines that do not parse are skipped.
pub fn parse_mountinfo(text: &str) -> Vec<MountInfo> {
    let mut v = Vec::new();
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let l: Vec<&str> = left.split(' ').collect();
        let r: Vec<&str> = right.split(' ').collect();
        if l.len() < 6 || r.len() < 3 {
            continue;
        }
        let list = |s: &str| s.split(',').map(str::to_string).collect::<Vec<_>>();
        v.push(MountInfo {
            id: l[0].parse().unwrap_or(0),
            parent: l[1].parse().unwrap_or(0),
            root: l[3].to_string(),
            mount_point: l[4].to_string(),
            options: list(l[5]),
            optional: l[6..].iter().map(|s| s.to_string()).collect(),
            fstype: r[0].to_string(),
            source: r[1].to_string(),
            super_options: list(r[2]),
        });
    }
    v
}

/// The topmost (last listed) mount at `point`, panicking with the whole table if none.
#[track_caller]
pub fn mount_at<'a>(mounts: &'a [MountInfo], point: &str) -> &'a MountInfo {
    mounts
        .iter()
        .rev()
        .find(|m| m.mount_point == point)
        .unwrap_or_else(|| panic!("no mount at {point} in:\n{mounts:#?}"))
}

/// A mount made on the host by a test, detached when dropped (declare it after the
/// [`Container`] so it goes first and the leak check does not see it).
pub struct HostMount(pub PathBuf);

impl HostMount {
    /// `mount ARGS... TARGET` on the host.
    #[track_caller]
    pub fn new(args: &[&str], target: &Path) -> HostMount {
        std::fs::create_dir_all(target).expect("mkdir mount target");
        let o = run_cmd(
            {
                let mut c = Command::new("mount");
                c.args(args).arg(target);
                c
            },
            None,
        );
        o.ok();
        HostMount(target.to_path_buf())
    }
}

impl Drop for HostMount {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .stderr(Stdio::null())
            .status();
    }
}

/// Receives one SCM_RIGHTS fd and the message's payload.
pub fn recv_fd(
    sock: std::os::fd::BorrowedFd<'_>,
) -> std::io::Result<(String, std::os::fd::OwnedFd)> {
    let mut buf = [0u8; 4096];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // Room for one cmsghdr carrying one int, 8-aligned.
    let mut space = [0u64; 8];
    use std::os::fd::FromRawFd;
    // SAFETY: msghdr is plain data; every pointer in it refers to a live local buffer of the
    // given length, and the kernel writes at most those lengths.
    let (n, fd) = unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = space.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&space);
        let n = libc::recvmsg(
            std::os::fd::AsRawFd::as_raw_fd(&sock),
            &mut msg,
            libc::MSG_CMSG_CLOEXEC,
        );
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let c = libc::CMSG_FIRSTHDR(&msg);
        if c.is_null() || (*c).cmsg_level != libc::SOL_SOCKET || (*c).cmsg_type != libc::SCM_RIGHTS
        {
            return Err(std::io::Error::other("no SCM_RIGHTS message"));
        }
        let fd = std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const libc::c_int);
        (n as usize, std::os::fd::OwnedFd::from_raw_fd(fd))
    };
    Ok((String::from_utf8_lossy(&buf[..n]).into_owned(), fd))
}
