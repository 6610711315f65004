//! The process's scheduling (config.md "process": `scheduler` and `ioPriority`): checked
//! when the config is loaded, with runc's rules, and applied by the init (or `exec`) before
//! the capabilities are dropped, since a realtime class needs CAP_SYS_NICE/CAP_SYS_ADMIN.

use oci_spec::runtime::{
    IOPriorityClass, LinuxIOPriority, LinuxSchedulerFlag as F, LinuxSchedulerPolicy as P, Process,
    Scheduler,
};

use crate::error::{Context, Error, Result};
use crate::sys;

/// Checks `process.scheduler` and `process.ioPriority` (runc's validation).
pub fn validate(p: &Process) -> Result<()> {
    if let Some(io) = p.io_priority() {
        io_value(io)?;
    }
    if let Some(s) = p.scheduler() {
        attr(s)?;
    }
    Ok(())
}

/// The ioprio(2) value: class in the top bits, level below.
fn io_value(io: &LinuxIOPriority) -> Result<i32> {
    const CLASS_SHIFT: i32 = 13;
    let class = match io.class() {
        IOPriorityClass::IoprioClassRt => 1,
        IOPriorityClass::IoprioClassBe => 2,
        IOPriorityClass::IoprioClassIdle => 3,
    };
    let level = io.priority();
    if !(0..=7).contains(&level) {
        return Err(Error::config(
            "process.ioPriority.priority",
            format!("{level} is out of range 0 to 7"),
        ));
    }
    Ok((class << CLASS_SHIFT) | level as i32)
}

fn attr(s: &Scheduler) -> Result<libc::sched_attr> {
    let f = "process.scheduler";
    let policy = match s.policy() {
        P::SchedOther => libc::SCHED_OTHER,
        P::SchedFifo => libc::SCHED_FIFO,
        P::SchedRr => libc::SCHED_RR,
        P::SchedBatch => libc::SCHED_BATCH,
        P::SchedIso => 4,
        P::SchedIdle => libc::SCHED_IDLE,
        P::SchedDeadline => 6,
    };
    let nice = s.nice().unwrap_or(0);
    if !(-20..=19).contains(&nice) {
        return Err(Error::config(
            format!("{f}.nice"),
            format!("{nice} is out of range -20 to 19"),
        ));
    }
    let prio = s.priority().unwrap_or(0);
    let realtime = matches!(s.policy(), P::SchedFifo | P::SchedRr);
    if realtime && !(1..=99).contains(&prio) {
        return Err(Error::config(
            format!("{f}.priority"),
            format!("{prio}: SCHED_FIFO and SCHED_RR need 1 to 99"),
        ));
    }
    if !realtime && prio != 0 {
        return Err(Error::config(
            format!("{f}.priority"),
            "only SCHED_FIFO and SCHED_RR take a priority",
        ));
    }
    let (runtime, deadline, period) = (
        s.runtime().unwrap_or(0),
        s.deadline().unwrap_or(0),
        s.period().unwrap_or(0),
    );
    if *s.policy() != P::SchedDeadline && (runtime, deadline, period) != (0, 0, 0) {
        return Err(Error::config(
            f,
            "runtime, deadline and period are for SCHED_DEADLINE only",
        ));
    }
    let mut flags = 0u64;
    for fl in s.flags().iter().flatten() {
        flags |= match fl {
            F::SchedResetOnFork => 0x01,
            F::SchedFlagReclaim => 0x02,
            F::SchedFlagDLOverrun => 0x04,
            F::SchedFlagKeepPolicy => 0x08,
            F::SchedFlagKeepParams => 0x10,
            F::SchedFlagUtilClampMin => 0x20,
            F::SchedFlagUtilClampMax => 0x40,
        };
    }
    Ok(libc::sched_attr {
        size: std::mem::size_of::<libc::sched_attr>() as u32,
        sched_policy: policy as u32,
        sched_flags: flags,
        sched_nice: nice,
        sched_priority: prio as u32,
        sched_runtime: runtime,
        sched_deadline: deadline,
        sched_period: period,
    })
}

/// Applies `process.scheduler` and `process.ioPriority` to the calling process.
pub fn apply(p: &Process) -> Result<()> {
    if let Some(s) = p.scheduler() {
        sys::sched_setattr_self(&attr(s)?).ctx(|| "process.scheduler: sched_setattr")?;
    }
    if let Some(io) = p.io_priority() {
        sys::ioprio_set_self(io_value(io)?).ctx(|| "process.ioPriority: ioprio_set")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(extra: serde_json::Value) -> Process {
        let mut v = serde_json::json!({"cwd": "/", "user": {"uid": 0, "gid": 0}});
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        serde_json::from_value(v).expect("process")
    }

    #[test]
    fn runc_rules() {
        let ok = process(serde_json::json!({
            "scheduler": {"policy": "SCHED_FIFO", "priority": 10},
            "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 3}}));
        validate(&ok).expect("valid");
        let io = ok.io_priority().as_ref().expect("io");
        assert_eq!(io_value(io).ok(), Some((2 << 13) | 3));
        for (bad, field) in [
            (
                serde_json::json!({"scheduler": {"policy": "SCHED_BATCH", "priority": 3}}),
                "process.scheduler.priority",
            ),
            (
                serde_json::json!({"scheduler": {"policy": "SCHED_RR"}}),
                "process.scheduler.priority",
            ),
            (
                serde_json::json!({"scheduler": {"policy": "SCHED_OTHER", "nice": 20}}),
                "process.scheduler.nice",
            ),
            (
                serde_json::json!({"scheduler": {"policy": "SCHED_OTHER", "runtime": 5}}),
                "process.scheduler",
            ),
            (
                serde_json::json!({"ioPriority": {"class": "IOPRIO_CLASS_IDLE", "priority": 8}}),
                "process.ioPriority.priority",
            ),
        ] {
            let e = validate(&process(bad.clone())).expect_err("invalid");
            assert!(
                e.to_string().starts_with(&format!("{field}:")),
                "{bad}: {e}"
            );
        }
    }
}
