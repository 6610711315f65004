//! runc-compatible logging. containerd reads the `--log` file when a command fails and
//! parses each line as JSON (`{"level":"error","msg":"...","time":"..."}`) when
//! `--log-format json` is set, so the shape of these lines is part of the contract.
//!
//! Where the lines go follows runc (logrus): with `--log` they go to the file and a failing
//! command's error is also printed on stderr as the bare message; without `--log` stderr is
//! the log, so every line there has the log format (`time="..." level=error msg="..."`, or
//! JSON): scripts and test harnesses grep a failure's stderr for `error`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::OnceLock;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::options::LogOptions;

struct Logger {
    file: Option<File>,
    json: bool,
    debug: bool,
    start: Instant,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Sets up logging. The lower crates (cgroups, seccomp) log through the `log` facade,
/// which this module implements. A `--log` file that cannot be opened is an error, as in
/// runc (an engine that reads it after a failure would find nothing); logging still goes to
/// stderr then, so that the caller can report it.
pub fn init(o: &LogOptions) -> Result<(), String> {
    let (file, err) = match &o.file {
        None => (None, None),
        Some(p) => match OpenOptions::new().create(true).append(true).open(p) {
            Ok(f) => (Some(f), None),
            Err(e) => (None, Some(format!("--log {}: {e}", p.display()))),
        },
    };
    let _ = LOGGER.set(Logger {
        file,
        json: o.json,
        debug: o.debug,
        start: Instant::now(),
    });
    if log::set_logger(&Facade).is_ok() {
        log::set_max_level(if o.debug {
            log::LevelFilter::Debug
        } else {
            log::LevelFilter::Warn
        });
    }
    err.map_or(Ok(()), Err)
}

/// The `log` facade's sink: warnings and debug lines of the lower crates end up in the
/// same places as the runtime's own.
struct Facade;

impl log::Log for Facade {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::max_level()
    }
    fn log(&self, r: &log::Record<'_>) {
        match r.level() {
            log::Level::Error => error(&r.args().to_string()),
            log::Level::Warn => warn(&r.args().to_string()),
            _ => debug(|| r.args().to_string()),
        }
    }
    fn flush(&self) {}
}

/// The `--log` file's descriptor: hull's own, never one to pass to a container.
pub fn file_fd() -> Option<std::os::fd::RawFd> {
    use std::os::fd::AsRawFd;
    LOGGER.get()?.file.as_ref().map(|f| f.as_raw_fd())
}

/// True when `--debug` was given.
pub fn debug_enabled() -> bool {
    LOGGER.get().is_some_and(|l| l.debug)
}

/// Logs an error: a log line in the `--log` file plus the bare message on stderr, or
/// without `--log` the log line on stderr (runc's `fatal`).
pub fn error(msg: &str) {
    if has_file() {
        eprintln!("{msg}");
    }
    write_line("error", msg);
}

/// Logs a warning (hooks that fail after the fact, cleanup that could not finish).
pub fn warn(msg: &str) {
    write_line("warning", msg);
}

/// Logs a debug line when `--debug` is set (to the log file, or stderr without one).
pub fn debug(msg: impl FnOnce() -> String) {
    let Some(l) = LOGGER.get() else { return };
    if !l.debug {
        return;
    }
    write_line("debug", &msg());
}

fn has_file() -> bool {
    LOGGER.get().is_some_and(|l| l.file.is_some())
}

/// The steps of one command and how long each took, for `--debug`: where a container start
/// spends its time (parse, cgroup, clone, the init's namespaces, mounts, hooks, pivot, ...).
/// Marks cost one `clock_gettime` (vDSO) when debugging and nothing otherwise.
pub struct Phases {
    on: bool,
    last: Instant,
    /// `(name, µs)` of each phase that ended, in order.
    pub done: Vec<(String, u64)>,
}

impl Phases {
    /// Starts timing now (a no-op recorder without `--debug`).
    pub fn start() -> Phases {
        Phases {
            on: debug_enabled(),
            last: Instant::now(),
            done: Vec::new(),
        }
    }

    /// Ends phase `name` (it began at the previous mark) and records it.
    pub fn mark(&mut self, name: &str) {
        if !self.on {
            return;
        }
        let now = Instant::now();
        let us = now.saturating_duration_since(self.last).as_micros() as u64;
        self.last = now;
        self.done.push((name.to_string(), us));
    }

    /// Restarts the clock without recording (after a jump of CLOCK_MONOTONIC, as when
    /// entering a time namespace with offsets).
    pub fn rebase(&mut self) {
        if self.on {
            self.last = Instant::now();
        }
    }

    /// Logs and forgets the recorded phases, each named `prefix` + name.
    pub fn log(&mut self, prefix: &str) {
        for (name, us) in self.done.drain(..) {
            phase_line(&format!("{prefix}{name}"), us);
        }
    }

    /// [`Phases::mark`] then [`Phases::log`]: for phases of this process, logged at once.
    /// The end of every phase is also a kill point of the test hook [`test_kill_at`].
    pub fn end(&mut self, name: &str) {
        self.mark(name);
        self.log("");
        if test_kill_at() == Some(name) {
            kill_self();
        }
    }
}

/// Test hook `HULL_TEST_KILL_AT=<phase>`: the command SIGKILLs itself at the end of the
/// phase of that name, as `--debug` names it (`init: <phase>` for the init's phases of
/// `create`: the init then has its parent killed and waits for its own end). The crash
/// tests (spec-tests `crash`) use it to kill `create` at every phase. Read once; unset, it
/// costs one comparison per phase.
pub fn test_kill_at() -> Option<&'static str> {
    static AT: OnceLock<Option<String>> = OnceLock::new();
    AT.get_or_init(|| std::env::var("HULL_TEST_KILL_AT").ok())
        .as_deref()
}

/// SIGKILL to ourselves, for [`test_kill_at`]: no handler, no cleanup, like a crash.
pub fn kill_self() -> ! {
    let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    // SIGKILL is delivered before raise returns; this is never reached.
    std::process::abort()
}

/// Logs `phase NAME: Nus (at Tus)` under `--debug`; `at` is the time since the command started.
pub fn phase_line(name: &str, us: u64) {
    debug(|| {
        let total = LOGGER
            .get()
            .map(|l| l.start.elapsed().as_micros())
            .unwrap_or(0);
        format!("phase {name}: {us}us (at {total}us)")
    });
}

/// Writes one log line to the `--log` file, or to stderr without one (also before
/// [`init`], in text format).
fn write_line(level: &str, msg: &str) {
    let l = LOGGER.get();
    let line = format_line(l.is_some_and(|l| l.json), level, msg, &rfc3339_now());
    let _ = match l.and_then(|l| l.file.as_ref()) {
        Some(mut f) => f.write_all(line.as_bytes()),
        None => std::io::stderr().lock().write_all(line.as_bytes()),
    };
}

/// One log line in logrus's layout: JSON, or `time="..." level=... msg=...` where the
/// message is quoted unless it is one plain word (logrus's `needsQuoting`).
fn format_line(json: bool, level: &str, msg: &str, time: &str) -> String {
    if json {
        let v = serde_json::json!({"level": level, "msg": msg, "time": time});
        return format!("{v}\n");
    }
    let plain = !msg.is_empty()
        && msg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._/@^+".contains(c));
    let m = if plain {
        msg.to_string()
    } else {
        serde_json::Value::from(msg).to_string()
    };
    format!("time=\"{time}\" level={level} msg={m}\n")
}

/// Current UTC time as RFC 3339 with nanoseconds, the format runc's logs and state use.
pub fn rfc3339_now() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    rfc3339(d.as_secs() as i64, d.subsec_nanos())
}

/// Formats a Unix time as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`.
pub fn rfc3339(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm): proleptic Gregorian calendar.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{nanos:09}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::{format_line, rfc3339};

    #[test]
    fn lines_in_logrus_layout() {
        let t = "2026-01-02T03:04:05.000000000Z";
        assert_eq!(
            format_line(false, "error", "container \"x\" does not exist", t),
            format!("time=\"{t}\" level=error msg=\"container \\\"x\\\" does not exist\"\n")
        );
        assert_eq!(
            format_line(false, "warning", "plain", t),
            format!("time=\"{t}\" level=warning msg=plain\n")
        );
        let j: serde_json::Value =
            serde_json::from_str(&format_line(true, "error", "a b", t)).unwrap_or_default();
        assert_eq!(j["level"], "error");
        assert_eq!(j["msg"], "a b");
        assert_eq!(j["time"], t);
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(rfc3339(951_782_400, 5), "2000-02-29T00:00:00.000000005Z");
        assert_eq!(
            rfc3339(1_795_395_723, 123),
            "2026-11-23T01:02:03.000000123Z"
        );
    }
}
