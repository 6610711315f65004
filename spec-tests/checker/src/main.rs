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

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let r = match args.first().map(String::as_str) {
        Some("syscall") => syscall(&args[1..]),
        Some("fds") => fds(),
        Some("rlimits") => Ok(rlimits()),
        Some("ids") => Ok(ids()),
        Some("open") if args.len() == 2 => open_path(&args[1], None),
        Some("write") if args.len() == 3 => open_path(&args[1], Some(&args[2])),
        _ => Err("usage: checker syscall|fds|rlimits|ids|open|write ...".into()),
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
