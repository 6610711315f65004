//! `update`, `pause`, `resume`, `events` and `ps`: the commands that act on a container's
//! cgroup, with runc's behaviour and output.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use crate::cgroups::{load_manager, CgroupManager};
use crate::container::open_container;
use crate::error::{Error, Result};
use crate::options::{RuntimeOptions, UpdateOptions};
use crate::state::{self, ContainerDir, Persisted, Status};
use crate::update;

fn manager(st: &Persisted) -> Result<Box<dyn CgroupManager>> {
    let c = st
        .cgroup
        .as_ref()
        .ok_or_else(|| Error::container(format!("container {} has no cgroup", st.id)))?;
    Ok(load_manager(c)?)
}

fn open(
    g: &RuntimeOptions,
    id: &str,
) -> Result<(ContainerDir, Persisted, Status, Box<dyn CgroupManager>)> {
    let (dir, st, status) = open_container(g, id)?;
    let m = manager(&st)?;
    Ok((dir, st, status, m))
}

/// `hull update`: applies the requested limits live and records them in the saved config,
/// so that later updates (and their derived values, like v2 swap) build on them.
pub fn update(g: &RuntimeOptions, o: &UpdateOptions) -> Result<i32> {
    let (mut dir, _st, status, m) = open(g, &o.id)?;
    if status == Status::Stopped {
        return Err(Error::container("cannot update a stopped container"));
    }
    let req = update::requested(o, || {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map(|_| s)
    })?;
    let mut config = dir.load_config()?;
    let mut linux = config.linux().clone().unwrap_or_default();
    if o.l3_cache_schema.is_some() || o.mem_bw_schema.is_some() {
        let rdt = crate::intelrdt::update(
            &o.id,
            &config,
            o.l3_cache_schema.as_deref(),
            o.mem_bw_schema.as_deref(),
        )?;
        linux.set_intel_rdt(Some(rdt));
    }
    let merged = update::merge(linux.resources().as_ref(), &req)?;
    m.update(&req, &merged)?;
    linux.set_resources(Some(merged));
    config.set_linux(Some(linux));
    let raw = serde_json::to_vec(&config)
        .map_err(|e| Error::container(format!("update: serialise config: {e}")))?;
    dir.save_config(&raw)?;
    Ok(0)
}

/// `hull pause`: freezes every process and waits until the kernel reports it frozen.
pub fn pause(g: &RuntimeOptions, id: &str) -> Result<i32> {
    let (_dir, _st, status, m) = open(g, id)?;
    match status {
        Status::Running | Status::Created => Ok(m.set_frozen(true).map(|_| 0)?),
        _ => Err(Error::container("container not running")),
    }
}

/// `hull resume`.
pub fn resume(g: &RuntimeOptions, id: &str) -> Result<i32> {
    let (_dir, _st, status, m) = open(g, id)?;
    match status {
        Status::Paused => Ok(m.set_frozen(false).map(|_| 0)?),
        _ => Err(Error::container("container not paused")),
    }
}

/// Parses a Go duration (`5s`, `100ms`, `1m30s`, `1.5h`) as runc's `--interval` takes it.
pub fn parse_duration(s: &str) -> Result<Duration> {
    let bad = || Error::container(format!("--interval {s:?}: invalid duration"));
    let mut total = 0f64;
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let n_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let n: f64 = rest[..n_end].parse().map_err(|_| bad())?;
        rest = &rest[n_end..];
        let u_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..u_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += n * mult;
        rest = &rest[u_end..];
    }
    if total <= 0.0 {
        return Err(Error::container(format!(
            "--interval {s:?}: duration must be greater than 0"
        )));
    }
    Ok(Duration::from_secs_f64(total))
}

/// One `events` line, in runc's field order (`type`, `id`, `data`): consumers that match
/// the text, not the JSON, exist.
#[derive(serde::Serialize)]
struct Event<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<serde_json::Value>,
}

fn emit(out: &mut impl Write, ev: &Event<'_>) -> Result<()> {
    let line = serde_json::to_string(ev)
        .map_err(|e| Error::container(format!("events: serialise: {e}")))?;
    writeln!(out, "{line}")
        .and_then(|_| out.flush())
        .map_err(|e| Error::container(format!("events: write: {e}")))
}

/// `hull events`: with `--stats`, one stats event; otherwise a stats event every
/// `--interval` and an `oom` event whenever the OOM killer strikes in the container,
/// until the container stops.
pub fn events(g: &RuntimeOptions, id: &str, interval: &str, stats: bool) -> Result<i32> {
    let every = parse_duration(interval)?;
    let (dir, st, status, m) = open(g, id)?;
    if status == Status::Stopped {
        return Err(Error::container("container not running"));
    }
    // Do not hold the container's lock while streaming: other commands must go on.
    drop(dir);
    let mut out = std::io::stdout().lock();
    let stats_event = |m: &dyn CgroupManager| -> Result<Event<'_>> {
        Ok(Event {
            kind: "stats",
            id,
            data: Some(m.stats()?),
        })
    };
    if stats {
        emit(&mut out, &stats_event(m.as_ref())?)?;
        return Ok(0);
    }
    let mut ooms = m.oom_kills()?;
    let mut next = Instant::now() + every;
    let poll = Duration::from_millis(50);
    loop {
        // OOM first: the kill may be what just ended the container.
        let n = m.oom_kills().unwrap_or(ooms);
        if n > ooms {
            let oom = Event {
                kind: "oom",
                id,
                data: None,
            };
            emit(&mut out, &oom)?;
            ooms = n;
        }
        let now = Instant::now();
        if now >= next {
            if !state::process_alive(st.pid, st.pid_start) && m.pids()?.is_empty() {
                return Ok(0);
            }
            emit(&mut out, &stats_event(m.as_ref())?)?;
            next = now + every;
        }
        std::thread::sleep(poll.min(next.saturating_duration_since(Instant::now())));
    }
}

/// Index of the PID column in `ps` output's header.
fn pid_index(header: &str) -> Option<usize> {
    header.split_whitespace().position(|f| f == "PID")
}

/// `hull ps`: `json` prints the host pids; `table` runs the host's `ps` (default `-ef`)
/// and keeps the header and the container's lines, as runc does.
pub fn ps(g: &RuntimeOptions, id: &str, format: &str, args: &[String]) -> Result<i32> {
    let (_dir, _st, _status, m) = open(g, id)?;
    let pids = m.pids()?;
    match format {
        "json" => {
            println!(
                "{}",
                serde_json::to_string(&pids).unwrap_or_else(|_| "[]".into())
            );
            Ok(0)
        }
        "table" => {
            let args: Vec<String> = if args.is_empty() {
                vec!["-ef".into()]
            } else {
                args.to_vec()
            };
            let out = std::process::Command::new("ps")
                .args(&args)
                .output()
                .map_err(|e| Error::container(format!("exec ps: {e}")))?;
            if !out.status.success() {
                return Err(Error::container(format!(
                    "ps {}: {}{}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stdout).trim(),
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
            let text = String::from_utf8_lossy(&out.stdout);
            let mut lines = text.lines();
            let header = lines.next().unwrap_or("");
            let idx = pid_index(header).ok_or_else(|| {
                Error::container(format!(
                    "ps {}: no PID column in {header:?}",
                    args.join(" ")
                ))
            })?;
            let mut w = std::io::stdout().lock();
            let _ = writeln!(w, "{header}");
            for l in lines.filter(|l| !l.trim().is_empty()) {
                let pid = l
                    .split_whitespace()
                    .nth(idx)
                    .and_then(|p| p.parse::<i32>().ok());
                if pid.is_some_and(|p| pids.contains(&p)) {
                    let _ = writeln!(w, "{l}");
                }
            }
            Ok(0)
        }
        other => Err(Error::container(format!("invalid format option {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("5s").ok(), Some(Duration::from_secs(5)));
        assert_eq!(
            parse_duration("100ms").ok(),
            Some(Duration::from_millis(100))
        );
        assert_eq!(parse_duration("1m30s").ok(), Some(Duration::from_secs(90)));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("x").is_err());
    }

    #[test]
    fn ps_header() {
        assert_eq!(pid_index("UID   PID  PPID  C STIME TTY TIME CMD"), Some(1));
        assert_eq!(pid_index("  PID TTY      STAT   TIME COMMAND"), Some(0));
        assert_eq!(pid_index("USER COMMAND"), None);
    }
}
