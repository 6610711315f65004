//! docs/security.md: each of runc's published container escapes, replayed against hull.
//!
//! Every test is a real attack from inside (or against) a hull container, and asserts on the
//! *host-side* effect the attack is after (a host file overwritten, a host directory written
//! through, the host's procfs changed), not only on what hull reports. Each doc comment says
//! what a naive runtime does and why the test would catch it; where that is cheap, the test
//! first runs the same attack against a naive, path-based operation (the host's `mount`,
//! `mkdir`, `mknod` in a private mount namespace) to show that the attack is real.

use std::fs;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use spec_tests::{hull_bin, run_cmd, wait_child, Container, Out};

// ---------------------------------------------------------------------------------------
// helpers

/// A private copy of the hull binary under test, so that an attack that works overwrites the
/// copy and not the binary the rest of the suite runs.
fn hull_copy(c: &Container) -> PathBuf {
    let p = c.scratch("bin").join("hull");
    fs::copy(hull_bin(), &p).expect("copy hull");
    p
}

/// `BIN --root <root> ARGS...` for `c`.
fn hull_at(bin: &Path, c: &Container, args: &[&str]) -> Command {
    let mut cmd = Command::new(bin);
    cmd.arg("--root").arg(&c.root).args(args);
    cmd
}

/// Copies the shared libraries `bin` links against (per `ldd`) into `rootfs`, so that the
/// image can run the host's binary (the dynamic loader needs them, as a real image has them).
fn copy_libs(rootfs: &Path, bin: &Path) {
    let o = Command::new("ldd").arg(bin).output().expect("ldd");
    for line in String::from_utf8_lossy(&o.stdout).lines() {
        let lib = line
            .split_whitespace()
            .find(|w| w.starts_with('/'))
            .map(PathBuf::from);
        if let Some(lib) = lib {
            let dst = rootfs.join(lib.strip_prefix("/").unwrap_or(&lib));
            fs::create_dir_all(dst.parent().unwrap_or(rootfs)).expect("mkdir lib dir");
            fs::copy(&lib, &dst).expect("copy lib");
        }
    }
}

/// A pipe whose buffer (one page) is already full, so the first write to it blocks until the
/// read end is drained: it holds a process that prints something for as long as we like.
fn stuck_pipe() -> (fs::File, fs::File) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two fds pipe2 returns.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both fds were just returned by pipe2 and are owned here from now on.
    let (r, w) = unsafe { (fs::File::from_raw_fd(fds[0]), fs::File::from_raw_fd(fds[1])) };
    // SAFETY: fcntl on our own fds with integer arguments.
    unsafe {
        libc::fcntl(w.as_raw_fd(), libc::F_SETPIPE_SZ, 4096);
        libc::fcntl(w.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK);
    }
    let junk = [b'.'; 512];
    // SAFETY: `junk` is a valid buffer of the given length.
    while unsafe { libc::write(w.as_raw_fd(), junk.as_ptr().cast(), junk.len()) } > 0 {}
    // SAFETY: as above.
    unsafe { libc::fcntl(w.as_raw_fd(), libc::F_SETFL, 0) };
    (r, w)
}

/// Removes the `mounts[]` entry for `dest`.
fn drop_mount(c: &mut Container, dest: &str) {
    if let Some(m) = c.config["mounts"].as_array_mut() {
        m.retain(|m| m["destination"] != dest);
    }
}

fn add_mount(c: &mut Container, m: Value) {
    c.config["mounts"].as_array_mut().expect("mounts").push(m);
}

/// Replaces the rootfs entry `name` (a directory of the test rootfs) with a symlink.
fn make_link(c: &Container, name: &str, target: &str) {
    let p = c.rootfs().join(name);
    let _ = fs::remove_dir_all(&p);
    let _ = fs::remove_file(&p);
    symlink(target, &p).expect("symlink in rootfs");
}

/// `target` as a relative link from `/<depth dirs>/` that climbs far above any root first.
fn climbing(target: &Path) -> String {
    format!(
        "{}{}",
        "../".repeat(16),
        target.display().to_string().trim_start_matches('/')
    )
}

/// The names in a host directory, sorted.
fn listing(d: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(d)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Mount points of the test process's (the host's) mount namespace.
fn host_mount_points() -> Vec<String> {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
        .collect()
}

/// Waits (up to the suite's command timeout) until `p` exists.
fn wait_for_file(p: &Path) {
    let t = Instant::now();
    while !p.exists() {
        assert!(
            t.elapsed() < spec_tests::COMMAND_TIMEOUT,
            "{} never appeared",
            p.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// fds at 3 and above in a `checker fds` listing, other than the directory it lists.
fn leaked_fds(listing: &str) -> Vec<String> {
    listing
        .lines()
        .filter(|l| {
            let (n, target) = l.split_once(' ').unwrap_or((l, ""));
            let n: i32 = n.parse().unwrap_or(0);
            n >= 3 && !(target.starts_with("/proc/") && target.ends_with("/fd"))
        })
        .map(str::to_string)
        .collect()
}

/// Restores the host's core_pattern if an attack managed to change it.
struct CorePattern(String);

impl CorePattern {
    fn save() -> CorePattern {
        CorePattern(fs::read_to_string("/proc/sys/kernel/core_pattern").expect("core_pattern"))
    }
    fn changed(&self) -> bool {
        fs::read_to_string("/proc/sys/kernel/core_pattern").unwrap_or_default() != self.0
    }
}

impl Drop for CorePattern {
    fn drop(&mut self) {
        if self.changed() {
            let _ = fs::write("/proc/sys/kernel/core_pattern", &self.0);
        }
    }
}

// ---------------------------------------------------------------------------------------
// CVE-2019-5736: overwriting the runtime binary through /proc/<pid>/exe

/// The container's "program" is a script whose interpreter is `/proc/self/exe`: when the
/// runtime execve()s it, the kernel runs *the runtime's own binary* inside the container
/// (that is what /proc/self/exe of the exec'ing process is), as a container process that is
/// dumpable and visible there. `--help` makes it print, and its stdout is a full pipe, so it
/// stays alive while the attacker (`checker exe-attack`) grabs `/proc/<pid>/exe` with O_PATH;
/// once every process running that binary has exited, the attacker reopens the handle
/// O_WRONLY through /proc/self/fd (no more ETXTBSY) and writes to it.
fn evil_script(c: &Container) {
    let p = c.rootfs().join("evil");
    fs::write(&p, "#!/proc/self/exe --help\n").expect("write /evil");
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).expect("chmod /evil");
}

const ATTACKER: &str = "checker exe-attack /tmp/stop 60 > /tmp/attack.out 2>&1; touch /tmp/done; \
                        trap 'exit 0' TERM; sleep 1000 & wait";

/// Runs `cmd` with its stdout a stuck pipe for `hold`, then drains the pipe and waits.
fn run_held(mut cmd: Command, hold: Duration) -> i32 {
    let (mut r, w) = stuck_pipe();
    cmd.stdin(Stdio::null()).stdout(w).stderr(Stdio::null());
    // A successful attack has already broken the copy (ENOEXEC): the assertions say so.
    let Ok(mut child) = cmd.spawn() else {
        return -1;
    };
    // The Command keeps its copy of the write end: drop it, or the drain never sees EOF.
    drop(cmd);
    std::thread::sleep(hold);
    let drain = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = r.read_to_end(&mut b);
    });
    let code = wait_child(&mut child);
    let _ = drain.join();
    code
}

/// The attacker's verdict (after stopping it) and the number of exe handles it got.
fn attack_result(attacker: &Container) -> (String, usize) {
    let tmp = attacker.rootfs().join("tmp");
    fs::write(tmp.join("stop"), "").expect("stop the attacker");
    if std::env::var_os("SEC_DEBUG").is_some() {
        std::thread::sleep(Duration::from_secs(1));
        eprintln!(
            "attack.out: {:?}",
            fs::read_to_string(tmp.join("attack.out"))
        );
        eprintln!("{}", attacker.hull(&["ps", &attacker.id]).stdout);
        let _ = Command::new("sh").arg("-c").arg(format!("ps -ef | grep -v grep | grep -e checker -e hull | head; cat /proc/{}/stack /proc/{}/task/*/children", attacker.pid(), attacker.pid())).status();
    }
    wait_for_file(&tmp.join("done"));
    let out = fs::read_to_string(tmp.join("attack.out")).unwrap_or_default();
    let handles = out
        .split_whitespace()
        .find_map(|w| w.strip_prefix("handles="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    (out, handles)
}

/// CVE-2019-5736 during `exec`: the container's root runs the attack loop while the host runs
/// `hull exec ID /evil` three times (with a copy of hull). A runtime whose processes run from
/// the host binary's own, writable mount (runc before 1.0-rc7, or any fork-without-reexec
/// design like hull's without a sealed binary) lets the attacker's O_WRONLY reopen succeed as
/// soon as the last `hull exec` exits: the copy's first bytes become `HULL-PWNED`. The test
/// also checks that the attacker did get a handle to the binary, so it really exercised the
/// vector (hull must make the write fail, not just hide the process).
#[test]
fn cve_2019_5736_exec_cannot_overwrite_hull() {
    let mut c = Container::new("sec-exe-exec");
    let hull = hull_copy(&c);
    copy_libs(&c.rootfs(), &hull);
    evil_script(&c);
    c.config["root"]["readonly"] = json!(false);
    c.sh(ATTACKER);
    c.write_config();
    let b = c.bundle.display().to_string();
    let o = run_cmd(hull_at(&hull, &c, &["create", "--bundle", &b, &c.id]), None);
    o.ok();
    run_cmd(hull_at(&hull, &c, &["start", &c.id]), None).ok();
    let before = fs::read(&hull).expect("read hull copy");
    for _ in 0..3 {
        run_held(
            hull_at(&hull, &c, &["exec", &c.id, "/evil"]),
            Duration::from_millis(400),
        );
        // Every process running the copy has exited: no ETXTBSY protects it any more.
        std::thread::sleep(Duration::from_millis(300));
    }
    let (out, handles) = attack_result(&c);
    assert!(
        fs::read(&hull).expect("read hull copy") == before,
        "the host's hull binary was overwritten from inside the container: {out}"
    );
    assert!(out.starts_with("safe"), "attack: {out}");
    assert!(
        handles >= 1,
        "the attacker never got hold of the runtime binary, so the test proved nothing: {out}"
    );
}

/// CVE-2019-5736 during `create`/`start`: the victim container joins the attacker
/// container's pid namespace, so the attacker sees the victim's init from the moment it is
/// cloned (while it still is hull, before its execve) and after it execs `/evil` (hull
/// again, via /proc/self/exe). A naive runtime leaks the binary either way: a dumpable init
/// before execve, or the binary's writable mount after it.
#[test]
fn cve_2019_5736_create_cannot_overwrite_hull() {
    let mut a = Container::new("sec-exe-attacker");
    a.config["root"]["readonly"] = json!(false);
    a.sh(ATTACKER);
    a.create().ok();
    a.start().ok();
    let mut v = Container::new("sec-exe-victim");
    let hull = hull_copy(&v);
    copy_libs(&v.rootfs(), &hull);
    evil_script(&v);
    v.args(&["/evil"]);
    let pidns = format!("/proc/{}/ns/pid", a.pid());
    for ns in v.config["linux"]["namespaces"]
        .as_array_mut()
        .expect("namespaces")
    {
        if ns["type"] == "pid" {
            ns["path"] = json!(pidns);
        }
    }
    v.write_config();
    let before = fs::read(&hull).expect("read hull copy");
    let b = v.bundle.display().to_string();
    // create's stdout is the init's: the stuck pipe holds the exec'd `hull --help`.
    let (mut r, w) = stuck_pipe();
    let mut create = hull_at(&hull, &v, &["create", "--bundle", &b, &v.id]);
    // A file, not a pipe, for stderr: the init keeps create's stderr open.
    let errf = v.scratch("out").join("create.err");
    create
        .stdin(Stdio::null())
        .stdout(w)
        .stderr(fs::File::create(&errf).expect("stderr file"));
    let mut child = create.spawn().expect("spawn create");
    drop(create);
    let code = wait_child(&mut child);
    let err = fs::read_to_string(&errf).unwrap_or_default();
    assert_eq!(code, 0, "create failed: {err}");
    run_cmd(hull_at(&hull, &v, &["start", &v.id]), None).ok();
    std::thread::sleep(Duration::from_millis(400));
    let drain = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = r.read_to_end(&mut b);
    });
    v.wait_status("stopped");
    let _ = drain.join();
    std::thread::sleep(Duration::from_millis(300));
    let (out, handles) = attack_result(&a);
    assert!(
        fs::read(&hull).expect("read hull copy") == before,
        "the host's hull binary was overwritten from a container sharing the pid namespace: {out}"
    );
    assert!(out.starts_with("safe"), "attack: {out}");
    assert!(handles >= 1, "the attacker never got a handle: {out}");
}

// ---------------------------------------------------------------------------------------
// CVE-2024-21626: leaked host fds, and process.cwd = /proc/self/fd/N

/// No fd of hull's (state dir, lock, cgroup dir, exec fifo, `--log` file, host procfs) is open
/// in the container's init or in an exec'd process, with `--log` set, and also when
/// `--preserve-fds` asks for a range with holes (the caller passes only 0-2 here, so every fd
/// in 3..10 would be one of hull's own). runc leaked a host cgroup directory fd this way; a
/// runtime that clears FD_CLOEXEC on every open fd of the preserved range hands its own
/// internal fds over (hull did, with its `--log` file). Refusing the holey range is fine too.
#[test]
fn cve_2024_21626_no_host_fd_leaks() {
    for preserve in [None, Some("7")] {
        let mut c = Container::new("sec-fds");
        let log = c.scratch("log").join("hull.log").display().to_string();
        c.config["root"]["readonly"] = json!(false);
        c.sh("checker fds > /tmp/init-fds; trap 'exit 0' TERM; sleep 1000 & wait");
        let mut a = vec!["--log", &log];
        if let Some(n) = preserve {
            a.extend_from_slice(&["--preserve-fds", n]);
        }
        let o = c.create_with(&a);
        if o.code != 0 {
            assert!(preserve.is_some(), "create failed: {}", o.stderr);
            o.stderr_has("fd");
            continue;
        }
        c.hull(&["--log", &log, "start", &c.id]).ok();
        wait_for_file(&c.rootfs().join("tmp/init-fds"));
        std::thread::sleep(Duration::from_millis(100));
        let init = fs::read_to_string(c.rootfs().join("tmp/init-fds")).unwrap_or_default();
        assert!(
            leaked_fds(&init).is_empty(),
            "fds leaked into the init ({preserve:?}):\n{init}"
        );
        let mut a = vec!["--log", &log, "exec"];
        if let Some(n) = preserve {
            a.extend_from_slice(&["--preserve-fds", n]);
        }
        a.extend_from_slice(&[&c.id, "checker", "fds"]);
        let o = c.hull(&a);
        if o.code != 0 {
            assert!(preserve.is_some(), "exec failed: {}", o.stderr);
            o.stderr_has("fd");
            continue;
        }
        assert!(
            leaked_fds(&o.stdout).is_empty(),
            "fds leaked into an exec'd process ({preserve:?}):\n{}",
            o.stdout
        );
    }
}

/// Climbs with `cd -P ..` far more often than any path is deep and reports whether it ended
/// at the container's root: a cwd on a host directory ends at the host's root instead.
const CWD_PROBE: &str = "for i in $(seq 40); do cd -P .. 2>/dev/null; done; \
                         [ \"$(stat -c %d:%i .)\" = \"$(stat -c %d:%i /)\" ] && echo inside || echo escaped";

#[track_caller]
fn cwd_verdict(o: &Out, what: &str) {
    if o.code == 0 {
        assert_eq!(
            o.out(),
            "inside",
            "{what}: the process's cwd reached the host"
        );
    } else {
        o.stderr_has("cwd");
    }
}

/// `process.cwd` (and `exec --cwd`) of `/proc/self/fd/N` for every N in 3..10. runc chdir'ed
/// there while it still held a host fd (its cgroup directory at 7 or 8), leaving the
/// container with a working directory on the host: `cd ..` then walks the host's tree. The
/// cwd must be refused (create/exec fails naming the cwd) or lie inside the container.
#[test]
fn cve_2024_21626_cwd_cannot_reach_the_host() {
    for n in 3..10 {
        let mut c = Container::new("sec-cwd");
        c.config["process"]["cwd"] = json!(format!("/proc/self/fd/{n}"));
        c.sh(CWD_PROBE);
        let o = c.run();
        cwd_verdict(&o, &format!("process.cwd /proc/self/fd/{n}"));
    }
    let mut c = Container::new("sec-cwd-exec");
    c.sh("trap 'exit 0' TERM; sleep 1000 & wait");
    c.create().ok();
    c.start().ok();
    for n in 3..10 {
        let cwd = format!("/proc/self/fd/{n}");
        let o = c.hull(&["exec", "--cwd", &cwd, &c.id, "sh", "-c", CWD_PROBE]);
        cwd_verdict(&o, &format!("exec --cwd {cwd}"));
    }
}

// ---------------------------------------------------------------------------------------
// CVE-2021-30465: mount destinations that are (or race into) symlinks

/// Mount destinations that are symlinks out of the rootfs (absolute `/link -> HOST`, and
/// relative `/rel -> ../../../..HOST`), with missing components below them. A path-based
/// runtime (`mkdir -p ROOTFS/link/sub/a; mount ... ROOTFS/link/sub/a`) follows the link on the
/// host: it creates `HOST/sub/a` on the host and mounts over host directories. The test first
/// shows exactly that with the host's mkdir and mount in a private mount namespace, then runs
/// the same config with hull: HOST must stay as it was, and the mounts must appear inside the
/// container at the link's target *within the rootfs*.
#[test]
fn cve_2021_30465_symlinked_destinations_stay_in_the_rootfs() {
    let mut c = Container::new("sec-mnt-link");
    let host = c.scratch("host-target");
    fs::write(host.join("host-file"), "host").expect("marker");
    let src = c.scratch("src");
    fs::write(src.join("f"), "from-src").expect("src file");
    make_link(&c, "link", &host.display().to_string());
    make_link(&c, "rel", &climbing(&host));

    // The naive variant: path-based mkdir + mount writes through the link to the host.
    let naive = format!(
        "mkdir -p {r}/link/sub/a && mount -t tmpfs naive {r}/link/sub/a",
        r = c.rootfs().display()
    );
    let o = Command::new("unshare")
        .args(["-m", "sh", "-c", &naive])
        .output()
        .expect("unshare");
    assert!(o.status.success(), "naive mount: {o:?}");
    assert!(
        host.join("sub/a").is_dir(),
        "the path-based variant should have created HOST/sub/a on the host"
    );
    fs::remove_dir_all(host.join("sub")).expect("undo the naive variant");

    add_mount(
        &mut c,
        json!({"destination": "/link/sub/a", "type": "tmpfs", "source": "tmpfs"}),
    );
    add_mount(
        &mut c,
        json!({"destination": "/rel/newfile", "type": "bind", "source": src.join("f"), "options": ["bind"]}),
    );
    add_mount(
        &mut c,
        json!({"destination": "/link/d", "type": "bind", "source": src, "options": ["rbind"]}),
    );
    let h = host.display().to_string();
    c.sh(&format!(
        "cat {h}/newfile; echo; cat {h}/d/f; echo; \
         cut -d' ' -f5 /proc/self/mountinfo | grep -c '^{h}/'"
    ));
    let o = c.run();
    o.ok();
    assert_eq!(
        o.out(),
        "from-src\nfrom-src\n3",
        "mounts inside the container"
    );
    assert_eq!(
        listing(&host),
        ["host-file"],
        "hull wrote through the link to the host"
    );
    assert!(
        !host_mount_points().iter().any(|m| m.starts_with(&h)),
        "a mount landed on the host directory"
    );
}

/// The runc PoC pattern: an attacker container keeps swapping (RENAME_EXCHANGE) directories of
/// a volume it shares with the victim with symlinks to a host directory HOST, while the victim
/// is created again and again with tmpfs (and cgroup) mounts onto those directories and then
/// a read-only bind of HOST at /seen. A runtime that resolves the destination and then mounts
/// on the resulting *path* loses the race now and then: its mount lands on HOST in the
/// victim's mount namespace (so /seen shows that mount instead of HOST's marker file), or it
/// creates directories on the host through the link. 50 attempts, bounded to ~15 s.
/// (The links point at HOST rather than at `/` as in runc's PoC: the victim's mount namespace
/// is a slave of the host's, so a mount that lands on its `/` is invisible from the host and
/// only makes create fail; a mount over HOST is visible through the later bind of HOST.)
/// Against hull's former cgroup mount (resolve by fd, then mount on the readlink'd path) this
/// failed in 2 of 3 runs.
#[test]
fn cve_2021_30465_racing_symlink_swaps() {
    let mut a = Container::new("sec-race-attacker");
    let shared = a.scratch("shared");
    let host = a.scratch("host-target");
    // Mostly cgroup mounts: their setup is the most path-heavy (a v1 tree is a tmpfs plus a
    // mount and a directory per hierarchy), so the widest window for a path-based runtime.
    let names: Vec<String> = (0..2)
        .map(|i| format!("m{i}"))
        .chain((0..6).map(|i| format!("cg{i}")))
        .collect();
    for n in &names {
        fs::create_dir_all(host.join(n)).expect("mkdir");
        fs::write(host.join(n).join("marker"), "host\n").expect("marker");
    }
    let expected = "host\n".repeat(names.len());
    let mut names_sorted = names.clone();
    names_sorted.sort();
    add_mount(
        &mut a,
        json!({"destination": "/shared", "type": "bind", "source": shared, "options": ["rbind"]}),
    );
    let mut args = vec![
        "checker".to_string(),
        "swap".into(),
        host.display().to_string(),
        "/shared/stop".into(),
    ];
    args.extend(names.iter().map(|n| format!("/shared/{n}")));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    a.args(&args);
    a.create().ok();
    a.start().ok();
    wait_for_file(&shared.join("cg5~"));
    let mounts_before = host_mount_points();

    // One victim bundle, run again and again (`run` deletes the container when it exits).
    let mut v = Container::new("sec-race-victim");
    add_mount(
        &mut v,
        json!({"destination": "/vol", "type": "bind", "source": shared, "options": ["rbind"]}),
    );
    for n in &names {
        let m = if n.starts_with("cg") {
            json!({"destination": format!("/vol/{n}"), "type": "cgroup", "source": "cgroup", "options": ["ro"]})
        } else {
            json!({"destination": format!("/vol/{n}"), "type": "tmpfs", "source": "tmpfs"})
        };
        add_mount(&mut v, m);
    }
    add_mount(
        &mut v,
        json!({"destination": "/seen", "type": "bind", "source": host, "options": ["rbind", "ro"]}),
    );
    // cat's error (HOST covered by a mount) is output too, and fails the comparison.
    v.sh("cat /seen/*/marker 2>&1; true");
    let t = Instant::now();
    let (mut ok, mut failed, mut attempts) = (0, Vec::new(), 0);
    while attempts < 50 && t.elapsed() < Duration::from_secs(15) {
        attempts += 1;
        let o = v.run();
        if o.code == 0 {
            assert_eq!(
                o.stdout, expected,
                "attempt {attempts}: a mount landed on HOST"
            );
            ok += 1;
        } else {
            failed.push(o.stderr.clone());
        }
        assert_eq!(
            listing(&host),
            names_sorted,
            "attempt {attempts}: wrote to the host"
        );
        for n in &names {
            assert_eq!(
                listing(&host.join(n)),
                ["marker"],
                "attempt {attempts}: wrote to HOST/{n}"
            );
        }
    }
    drop(v);
    eprintln!(
        "{attempts} attempts, {ok} ran, {} failed: {failed:?}",
        failed.len()
    );
    fs::write(shared.join("stop"), "").expect("stop the racer");
    a.wait_status("stopped");
    // Other tests share the host's mount table: only what this attack could have hit counts.
    let roots = |v: &[String]| v.iter().filter(|m| *m == "/").count();
    let after = host_mount_points();
    assert_eq!(
        roots(&after),
        roots(&mounts_before),
        "a mount landed on the host's /"
    );
    for d in [&host, &shared] {
        let d = d.display().to_string();
        assert!(
            !after.iter().any(|m| m.starts_with(&d)),
            "a mount landed on {d} in the host's mount namespace"
        );
    }
    assert!(
        ok > 0,
        "no attempt succeeded ({attempts} tried): {failed:?}"
    );
}

// ---------------------------------------------------------------------------------------
// CVE-2025-31133: maskedPaths and a /dev/null the image controls

/// The stat line of a masked file as the container must see it: the null device.
const NULL_DEV: &str = "character special file 1:3";

/// Masking with the container's `/dev/null` when that is a symlink to
/// /proc/sys/kernel/core_pattern: runc bind-mounted the *symlink's target* over each masked
/// path, so `/proc/timer_list` became a writable host core_pattern and the container could make
/// the host run a program of its choice on the next crash. Here /dev comes from a volume (a
/// host directory bind-mounted at /dev, the image's own /dev in the second case), its `null`
/// is that symlink; the container writes to the masked /proc/timer_list and the host's
/// core_pattern must not change, and the masked path must be the real null device.
#[test]
fn cve_2025_31133_masking_uses_the_real_null_device() {
    let guard = CorePattern::save();
    // (a) /dev bound from a volume.
    let mut c = Container::new("sec-mask-vol");
    let devvol = c.scratch("devvol");
    symlink("/proc/sys/kernel/core_pattern", devvol.join("null")).expect("symlink");
    drop_mount(&mut c, "/dev");
    c.config["mounts"].as_array_mut().expect("mounts").insert(
        1,
        json!({"destination": "/dev", "type": "bind", "source": devvol, "options": ["rbind"]}),
    );
    let probe =
        "stat -c '%F %t:%T' /proc/timer_list; echo '|/bin/hull-pwned' > /proc/timer_list; true";
    c.sh(probe);
    let o = c.run();
    o.ok();
    assert!(
        !guard.changed(),
        "the container rewrote the host's core_pattern"
    );
    assert_eq!(o.out(), NULL_DEV, "masked /proc/timer_list");

    // (b) the image's own /dev (no /dev mount) with the same symlink.
    let mut c = Container::new("sec-mask-img");
    drop_mount(&mut c, "/dev");
    symlink("/proc/sys/kernel/core_pattern", c.rootfs().join("dev/null")).expect("symlink");
    c.sh(&format!("{probe}; stat -c '%F %t:%T' /dev/null"));
    let o = c.run();
    o.ok();
    assert!(
        !guard.changed(),
        "the container rewrote the host's core_pattern"
    );
    assert_eq!(
        o.out(),
        format!("{NULL_DEV}\n{NULL_DEV}"),
        "masked path, /dev/null"
    );
}

// ---------------------------------------------------------------------------------------
// CVE-2025-52565: the /dev/console bind

/// Receives one fd over a unix socket (the console-socket protocol), as an engine does.
fn recv_fd(sock: &std::os::unix::net::UnixStream) -> OwnedFd {
    let mut buf = [0u8; 256];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut cbuf = [0u64; 8];
    // SAFETY: a zeroed msghdr is valid; every pointer set below outlives the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&cbuf);
    // SAFETY: `msg` describes valid buffers for the kernel to fill.
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
    assert!(n > 0, "recvmsg on the console socket failed");
    // SAFETY: the control buffer was filled by the kernel; CMSG_* walk it within its length.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        assert!(!c.is_null(), "no SCM_RIGHTS message");
        assert_eq!((*c).cmsg_type, libc::SCM_RIGHTS);
        let fd = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<i32>());
        OwnedFd::from_raw_fd(fd)
    }
}

/// With `process.terminal`, the pty slave is bind-mounted onto /dev/console. The image's /dev
/// (no /dev tmpfs) has `console -> /proc/sys/kernel/core_pattern`: a runtime that mounts onto
/// the path follows the link and puts the pty over a procfs file (and a runtime that binds
/// from the path `/dev/pts/N` can be made to bind a procfs file onto /dev/console instead:
/// writes to the console then reach the host's core_pattern). /dev/console must end up being
/// the pty itself (char major 136), not a link, the procfs file must be untouched, and what
/// the container writes to /dev/console must arrive on the master the engine received.
#[test]
fn cve_2025_52565_console_bind_lands_on_the_pty() {
    let guard = CorePattern::save();
    let mut c = Container::new("sec-console");
    drop_mount(&mut c, "/dev");
    symlink(
        "/proc/sys/kernel/core_pattern",
        c.rootfs().join("dev/console"),
    )
    .expect("symlink");
    c.config["process"]["terminal"] = json!(true);
    c.sh(
        "[ -L /dev/console ] && echo still-a-link; stat -c 'console=%F/%t' /dev/console; \
         stat -c 'proc=%F' /proc/sys/kernel/core_pattern; echo via-console > /dev/console",
    );
    let sock = c.scratch("sock").join("console.sock");
    let l = UnixListener::bind(&sock).expect("bind console socket");
    let rx = std::thread::spawn(move || {
        let (s, _) = l.accept().expect("accept console socket");
        recv_fd(&s)
    });
    c.create_with(&["--console-socket", &sock.display().to_string()])
        .ok();
    let master = rx.join().expect("console receiver");
    c.start().ok();
    let reader = std::thread::spawn(move || {
        let mut f = fs::File::from(master);
        let mut out = Vec::new();
        let mut b = [0u8; 1024];
        // EIO once the container's last slave fd is closed.
        while let Ok(n) = f.read(&mut b) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&b[..n]);
        }
        String::from_utf8_lossy(&out).replace('\r', "")
    });
    c.wait_status("stopped");
    let out = reader.join().expect("pty reader");
    assert!(!guard.changed(), "core_pattern changed");
    assert!(
        !out.contains("still-a-link"),
        "/dev/console is still the image's link:\n{out}"
    );
    assert!(out.contains("console=character special file/88"), "{out}");
    assert!(
        out.contains("proc=regular empty file"),
        "procfs file covered:\n{out}"
    );
    assert!(
        out.contains("via-console"),
        "console output did not reach the pty:\n{out}"
    );
}

// ---------------------------------------------------------------------------------------
// CVE-2025-52881 / CVE-2019-19921: procfs writes redirected

/// `linux.sysctl` and `process.oomScoreAdj` are written by the runtime into procfs. A
/// `mounts[]` entry binds fake files over /proc/sys/net/ipv4/ip_forward and
/// /proc/self/oom_score_adj: a runtime that writes through the container's /proc writes the
/// fake files (which are host files) and leaves the real settings alone. The fake files must
/// be untouched and the container's real procfs (a second procfs at /proc2) must show the
/// values.
#[test]
fn cve_2025_52881_procfs_writes_reach_the_real_procfs() {
    let mut c = Container::new("sec-procfs");
    let fake = c.scratch("fake");
    fs::write(fake.join("ip_forward"), "fake\n").expect("fake");
    fs::write(fake.join("oom"), "fake\n").expect("fake");
    add_mount(
        &mut c,
        json!({"destination": "/proc/sys/net/ipv4/ip_forward", "type": "bind", "source": fake.join("ip_forward"), "options": ["bind"]}),
    );
    add_mount(
        &mut c,
        json!({"destination": "/proc/self/oom_score_adj", "type": "bind", "source": fake.join("oom"), "options": ["bind"]}),
    );
    add_mount(
        &mut c,
        json!({"destination": "/proc2", "type": "proc", "source": "proc"}),
    );
    c.config["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
    c.config["process"]["oomScoreAdj"] = json!(123);
    c.sh("cat /proc2/sys/net/ipv4/ip_forward /proc2/self/oom_score_adj");
    let o = c.run();
    o.ok();
    assert_eq!(o.out(), "1\n123", "the real procfs values");
    assert_eq!(
        fs::read_to_string(fake.join("ip_forward")).unwrap_or_default(),
        "fake\n"
    );
    assert_eq!(
        fs::read_to_string(fake.join("oom")).unwrap_or_default(),
        "fake\n"
    );
}

/// The image ships /proc as a symlink to a host directory HOST that holds a fake
/// sys/net/ipv4/ip_forward. (a) With no proc mount, a runtime writing the sysctl through
/// ROOTFS/proc writes into HOST's file on the host. (b) With the usual proc mount, a runtime
/// mounting on the path mounts procfs over HOST (outside the rootfs); hull, like runc, refuses
/// a proc mount on anything but a directory. Either way HOST must be untouched, and in (a)
/// the sysctl must be set in the container's network namespace (read with nsenter).
#[test]
fn cve_2025_52881_symlinked_proc() {
    for with_proc_mount in [false, true] {
        let mut c = Container::new("sec-proc-link");
        let host = c.scratch("host-proc");
        fs::create_dir_all(host.join("sys/net/ipv4")).expect("mkdir");
        fs::write(host.join("sys/net/ipv4/ip_forward"), "fake\n").expect("fake");
        make_link(&c, "proc", &host.display().to_string());
        if !with_proc_mount {
            drop_mount(&mut c, "/proc");
        }
        c.config["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
        c.sh("trap 'exit 0' TERM; sleep 1000 & wait");
        let h = host.display().to_string();
        if with_proc_mount {
            c.create()
                .fails()
                .stderr_has("\"proc\" must be mounted on an ordinary directory");
            assert_eq!(listing(&host), ["sys"]);
            assert!(!host_mount_points().iter().any(|m| m.starts_with(&h)));
            continue;
        }
        c.create().ok();
        let net = format!("--net=/proc/{}/ns/net", c.pid());
        let o = Command::new("nsenter")
            .args([&net, "cat", "/proc/sys/net/ipv4/ip_forward"])
            .output()
            .expect("nsenter");
        assert_eq!(
            String::from_utf8_lossy(&o.stdout).trim(),
            "1",
            "sysctl in the container's netns (proc mount: {with_proc_mount})"
        );
        assert_eq!(
            fs::read_to_string(host.join("sys/net/ipv4/ip_forward")).unwrap_or_default(),
            "fake\n",
            "the host's file behind the /proc link was written (proc mount: {with_proc_mount})"
        );
        assert_eq!(listing(&host), ["sys"]);
        assert!(!host_mount_points().iter().any(|m| m.starts_with(&h)));
    }
}

// ---------------------------------------------------------------------------------------
// A malicious image /dev symlink

/// The image's /dev is a symlink out of the rootfs (absolute `dev -> HOST`, or relative
/// `dev -> ../../../..HOST`), with and without a /dev tmpfs in the config. A runtime that makes
/// device nodes by path (`mknod ROOTFS/dev/null`) creates them in HOST, on the host: the test
/// shows that with the host's mknod first. With hull HOST must stay empty and the container
/// must still get a real /dev/null.
#[test]
fn dev_symlink_is_never_written_through() {
    for (relative, tmpfs) in [(false, false), (true, false), (false, true)] {
        let mut c = Container::new("sec-devlink");
        let host = c.scratch("host-dev");
        let target = if relative {
            climbing(&host)
        } else {
            host.display().to_string()
        };
        make_link(&c, "dev", &target);
        if !relative && !tmpfs {
            // The naive variant: mknod by path lands in the host directory.
            let o = Command::new("mknod")
                .arg(c.rootfs().join("dev/null"))
                .args(["c", "1", "3"])
                .output()
                .expect("mknod");
            assert!(o.status.success(), "{o:?}");
            assert_eq!(
                listing(&host),
                ["null"],
                "the naive mknod should reach the host"
            );
            fs::remove_file(host.join("null")).expect("undo the naive variant");
        }
        if !tmpfs {
            drop_mount(&mut c, "/dev");
        }
        c.sh(
            "stat -c '%F %t:%T' /dev/null; echo x > /dev/null && ls /dev/fd/ >/dev/null && echo ok",
        );
        let o = c.run();
        o.ok();
        assert_eq!(
            o.out(),
            format!("{NULL_DEV}\nok"),
            "relative {relative}, tmpfs {tmpfs}"
        );
        assert!(
            listing(&host).is_empty(),
            "device setup wrote through the /dev link to the host (relative {relative}, tmpfs \
             {tmpfs}): {:?}",
            listing(&host)
        );
    }
}
