//! The part of systemd's `org.freedesktop.systemd1.Manager` API a cgroup driver needs, as
//! runc's systemd driver uses it through go-systemd: transient scopes and slices, their jobs,
//! stopping, killing, properties.
//!
//! Jobs are asynchronous: `StartTransientUnit` returns a job path at once and the outcome
//! arrives later as a `JobRemoved` signal. To never miss that signal, the subscription (a
//! match rule on a bus, `Subscribe` for the Manager) must be in place *before* the job is
//! created; the `*_and_wait` methods do it in that order, and signals that arrive while we
//! still wait for the method's reply are queued by the [`Connection`]. They also send the
//! subscription and the job's call in one write (with the handshake of a new connection),
//! so a start or a stop costs one round trip before its job's signal.

use std::time::Duration;

use crate::conn::Connection;
use crate::error::{Error, Result};
use crate::message::{Message, MessageType};
use crate::value::Value;

/// systemd's bus name.
pub const DESTINATION: &str = "org.freedesktop.systemd1";
/// The Manager object.
pub const MANAGER_PATH: &str = "/org/freedesktop/systemd1";
/// The Manager interface.
pub const MANAGER_INTERFACE: &str = "org.freedesktop.systemd1.Manager";
/// The interface every unit has (ActiveState, ...).
pub const UNIT_INTERFACE: &str = "org.freedesktop.systemd1.Unit";
/// The scope-specific interface (ControlGroup, ...).
pub const SCOPE_INTERFACE: &str = "org.freedesktop.systemd1.Scope";
/// The slice-specific interface.
pub const SLICE_INTERFACE: &str = "org.freedesktop.systemd1.Slice";
const PROPERTIES_INTERFACE: &str = "org.freedesktop.DBus.Properties";
const BUS_NAME: &str = "org.freedesktop.DBus";
const BUS_PATH: &str = "/org/freedesktop/DBus";
/// The match rule for the Manager's JobRemoved signals.
const JOB_REMOVED_RULE: &str = "type='signal',sender='org.freedesktop.systemd1',\
path='/org/freedesktop/systemd1',interface='org.freedesktop.systemd1.Manager',\
member='JobRemoved'";

/// A systemd Manager client over one connection (system bus, user bus or the private
/// socket).
pub struct Systemd {
    conn: Connection,
    subscribed: bool,
}

impl Systemd {
    /// Wraps a connection; nothing is sent until the first call.
    pub fn new(conn: Connection) -> Self {
        Systemd {
            conn,
            subscribed: false,
        }
    }

    /// The underlying connection (timeouts, raw calls).
    pub fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Gives the connection back.
    pub fn into_connection(self) -> Connection {
        self.conn
    }

    fn manager_call(&mut self, member: &str, body: Vec<Value>) -> Result<Vec<Value>> {
        Ok(self.conn.call(manager_message(member, body))?.body)
    }

    /// Makes sure JobRemoved signals reach us: a match rule on a bus (a peer-to-peer
    /// connection gets the signals of a subscribed client directly), then
    /// `Manager.Subscribe`, without which older systemd versions send no job signals.
    /// Idempotent; call it before creating the jobs you will wait for.
    pub fn subscribe(&mut self) -> Result<()> {
        let serials = self.queue_subscribe()?;
        self.subscribed_by(&serials)
    }

    /// Queues the calls of [`Systemd::subscribe`] (none once subscribed) and returns their
    /// serials for [`Systemd::subscribed_by`].
    fn queue_subscribe(&mut self) -> Result<Vec<u32>> {
        let mut serials = Vec::new();
        if self.subscribed {
            return Ok(serials);
        }
        if self.conn.is_bus() {
            let m = Message::method_call(BUS_NAME, BUS_PATH, BUS_NAME, "AddMatch")
                .with_body(vec![JOB_REMOVED_RULE.into()]);
            serials.push(self.conn.queue(m)?);
        }
        serials.push(self.conn.queue(manager_message("Subscribe", vec![]))?);
        Ok(serials)
    }

    /// Collects the replies to the calls [`Systemd::queue_subscribe`] queued.
    fn subscribed_by(&mut self, serials: &[u32]) -> Result<()> {
        let mut first_err = None;
        for &s in serials {
            match self.conn.reply(s, "the JobRemoved subscription") {
                Ok(_) => {}
                // "Already subscribed" (another Systemd on this connection did it) is fine.
                Err(e) if e.dbus_name() == Some("org.freedesktop.systemd1.AlreadySubscribed") => {}
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => {
                self.subscribed = true;
                Ok(())
            }
        }
    }

    /// Calls the Manager method `member` that creates a job, with the subscription queued
    /// before it in the same write, and returns the job's path.
    fn job_call(&mut self, member: &str, body: Vec<Value>) -> Result<String> {
        let subs = self.queue_subscribe()?;
        let serial = self.conn.queue(manager_message(member, body))?;
        // A failed subscription is not the call's outcome: the job may exist all the same.
        // `wait_job` subscribes again, and a job whose signal is missed times out (which a
        // caller treats as "the unit may exist").
        let _ = self.subscribed_by(&subs);
        let reply = self.conn.reply(serial, member)?;
        job_path(member, &reply.body)
    }

    /// `StartTransientUnit(name, mode, properties, aux=[])`; returns the job's object path.
    /// Property values are wrapped in a variant unless they already are one. Use
    /// [`Systemd::start_transient_unit_and_wait`] to learn the outcome.
    pub fn start_transient_unit(
        &mut self,
        name: &str,
        mode: &str,
        properties: &[(String, Value)],
    ) -> Result<String> {
        let body = start_transient_unit_body(name, mode, properties);
        let reply = self.manager_call("StartTransientUnit", body)?;
        job_path("StartTransientUnit", &reply)
    }

    /// Subscribes, starts the transient unit and waits up to `timeout` for its job to
    /// finish; returns the job result (`done`, `failed`, `timeout`, `canceled`,
    /// `dependency`, `skipped`). A result other than `done` is not turned into an error:
    /// the caller decides (runc, for one, tolerates some).
    pub fn start_transient_unit_and_wait(
        &mut self,
        name: &str,
        mode: &str,
        properties: &[(String, Value)],
        timeout: Duration,
    ) -> Result<String> {
        let body = start_transient_unit_body(name, mode, properties);
        let job = self.job_call("StartTransientUnit", body)?;
        self.wait_job(&job, timeout)
    }

    /// Waits up to `timeout` for the JobRemoved signal of `job` and returns its result.
    ///
    /// Race-free only if [`Systemd::subscribe`] ran before the job was created; if it did
    /// not, this subscribes now, and a job that already finished times out.
    pub fn wait_job(&mut self, job: &str, timeout: Duration) -> Result<String> {
        self.subscribe()?;
        let what = format!("systemd's JobRemoved signal for {job}");
        let m = self.conn.wait_signal(timeout, &what, |m| {
            job_removed(m).is_some_and(|j| j.job == job)
        })?;
        // Other jobs' JobRemoved stay queued for their waiters; the rest is noise.
        self.conn.retain_signals(|m| job_removed(m).is_some());
        match job_removed(&m) {
            Some(j) => Ok(j.result),
            None => Err(Error::UnexpectedReply {
                method: "JobRemoved".into(),
                detail: format!("signal body {:?}", m.signature()),
            }),
        }
    }

    /// `StopUnit(name, mode)`; returns the job path.
    pub fn stop_unit(&mut self, name: &str, mode: &str) -> Result<String> {
        let reply = self.manager_call("StopUnit", vec![name.into(), mode.into()])?;
        job_path("StopUnit", &reply)
    }

    /// Subscribes, stops the unit and waits for its job; returns the job result. A unit that
    /// is not loaded gives an error for which [`Error::is_no_such_unit`] is true.
    pub fn stop_unit_and_wait(
        &mut self,
        name: &str,
        mode: &str,
        timeout: Duration,
    ) -> Result<String> {
        let job = self.job_call("StopUnit", vec![name.into(), mode.into()])?;
        self.wait_job(&job, timeout)
    }

    /// What a runtime's `delete` does with its unit: stops it (mode `replace`), waits up to
    /// `timeout` for the job, then resets the unit in case it ended failed, so that nothing
    /// stays loaded and the name is free. Returns the stop job's result, or `None` when the
    /// unit was not loaded (a scope is unloaded by systemd once its processes are gone):
    /// then that one round trip was all.
    pub fn stop_and_reset_unit(&mut self, name: &str, timeout: Duration) -> Result<Option<String>> {
        let res = match self.stop_unit_and_wait(name, "replace", timeout) {
            Ok(res) => res,
            // Not loaded, so not failed either: there is nothing to reset.
            Err(e) if e.is_no_such_unit() => return Ok(None),
            Err(e) => return Err(e),
        };
        // A failed unit stays loaded until reset. Any other outcome (the unit was unloaded
        // meanwhile: NoSuchUnit) leaves nothing to do.
        let _ = self.reset_failed_unit(name);
        Ok(Some(res))
    }
    /// `ResetFailedUnit(name)`: forget a failed unit so its name can be reused.
    pub fn reset_failed_unit(&mut self, name: &str) -> Result<()> {
        self.manager_call("ResetFailedUnit", vec![name.into()])
            .map(drop)
    }

    /// `SetUnitProperties(name, runtime, properties)`; `runtime` true means the change does
    /// not survive a reboot (what runc uses). Values are wrapped in variants as for
    /// [`Systemd::start_transient_unit`].
    pub fn set_unit_properties(
        &mut self,
        name: &str,
        runtime: bool,
        properties: &[(String, Value)],
    ) -> Result<()> {
        let body = vec![
            name.into(),
            Value::Bool(runtime),
            properties_value(properties),
        ];
        self.manager_call("SetUnitProperties", body).map(drop)
    }

    /// `KillUnit(name, who, signal)`; `who` is `main`, `control` or `all`.
    pub fn kill_unit(&mut self, name: &str, who: &str, signal: i32) -> Result<()> {
        self.manager_call(
            "KillUnit",
            vec![name.into(), who.into(), Value::Int32(signal)],
        )
        .map(drop)
    }

    /// `GetUnit(name)`: the object path of a loaded unit, or an error for which
    /// [`Error::is_no_such_unit`] is true.
    pub fn get_unit(&mut self, name: &str) -> Result<String> {
        let reply = self.manager_call("GetUnit", vec![name.into()])?;
        match reply.first() {
            Some(Value::ObjectPath(p)) => Ok(p.clone()),
            _ => Err(unexpected("GetUnit", &reply)),
        }
    }

    /// `org.freedesktop.DBus.Properties.Get(interface, property)` on `path`, with the
    /// variant unwrapped.
    pub fn get_property(&mut self, path: &str, interface: &str, property: &str) -> Result<Value> {
        let reply = self.conn.call_method(
            DESTINATION,
            path,
            PROPERTIES_INTERFACE,
            "Get",
            vec![interface.into(), property.into()],
        )?;
        match reply.into_iter().next() {
            Some(Value::Variant(v)) => Ok(*v),
            other => Err(Error::UnexpectedReply {
                method: format!("Properties.Get {interface}.{property}"),
                detail: format!("reply {other:?}"),
            }),
        }
    }

    /// A property of a unit by name, e.g. (`x.scope`, [`SCOPE_INTERFACE`], `ControlGroup`)
    /// or ([`UNIT_INTERFACE`], `ActiveState`). The unit's path is computed (no GetUnit
    /// round trip); systemd loads the unit on access, so a missing unit reads as inactive
    /// rather than failing — use [`Systemd::get_unit`] to test existence.
    pub fn get_unit_property(
        &mut self,
        unit: &str,
        interface: &str,
        property: &str,
    ) -> Result<Value> {
        self.get_property(&unit_object_path(unit), interface, property)
    }

    /// A Manager property, e.g. `Version` (a string such as `"252.22-1~deb12u1"`).
    pub fn get_manager_property(&mut self, property: &str) -> Result<Value> {
        self.get_property(MANAGER_PATH, MANAGER_INTERFACE, property)
    }
}

fn manager_message(member: &str, body: Vec<Value>) -> Message {
    Message::method_call(DESTINATION, MANAGER_PATH, MANAGER_INTERFACE, member).with_body(body)
}

fn unexpected(method: &str, reply: &[Value]) -> Error {
    let sig: String = reply.iter().map(Value::signature).collect();
    Error::UnexpectedReply {
        method: method.into(),
        detail: format!("reply of type {sig:?}"),
    }
}

fn job_path(method: &str, reply: &[Value]) -> Result<String> {
    match reply.first() {
        Some(Value::ObjectPath(p)) => Ok(p.clone()),
        _ => Err(unexpected(method, reply)),
    }
}

/// `a(sv)` from name/value pairs, wrapping each value in a variant unless it is one.
fn properties_value(properties: &[(String, Value)]) -> Value {
    let items = properties
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Value::Variant(_) => v.clone(),
                other => Value::variant(other.clone()),
            };
            Value::Struct(vec![Value::Str(k.clone()), v])
        })
        .collect();
    Value::Array("(sv)".into(), items)
}

/// The body of `StartTransientUnit`: `ssa(sv)a(sa(sv))` with no auxiliary units.
pub fn start_transient_unit_body(
    name: &str,
    mode: &str,
    properties: &[(String, Value)],
) -> Vec<Value> {
    vec![
        name.into(),
        mode.into(),
        properties_value(properties),
        Value::Array("(sa(sv))".into(), Vec::new()),
    ]
}

/// A decoded `JobRemoved(u id, o job, s unit, s result)` signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRemoved {
    /// The numeric job id.
    pub id: u32,
    /// The job's object path (what StartTransientUnit/StopUnit returned).
    pub job: String,
    /// The unit the job was for.
    pub unit: String,
    /// `done`, `canceled`, `timeout`, `failed`, `dependency` or `skipped`.
    pub result: String,
}

/// Decodes `m` if it is the Manager's JobRemoved signal with the documented body.
pub fn job_removed(m: &Message) -> Option<JobRemoved> {
    if m.msg_type != MessageType::Signal
        || m.member.as_deref() != Some("JobRemoved")
        || m.interface.as_deref() != Some(MANAGER_INTERFACE)
        || m.path.as_deref() != Some(MANAGER_PATH)
    {
        return None;
    }
    match m.body.as_slice() {
        [Value::UInt32(id), Value::ObjectPath(job), Value::Str(unit), Value::Str(result)] => {
            Some(JobRemoved {
                id: *id,
                job: job.clone(),
                unit: unit.clone(),
                result: result.clone(),
            })
        }
        _ => None,
    }
}

/// systemd's `bus_label_escape`: every byte that is not an ASCII letter (or a digit after
/// the first position) becomes `_` and two lowercase hex digits; the empty string is `_`.
pub fn bus_label_escape(s: &str) -> String {
    if s.is_empty() {
        return "_".into();
    }
    let mut out = String::with_capacity(s.len() * 3);
    for (i, b) in s.bytes().enumerate() {
        if b.is_ascii_alphabetic() || (i > 0 && b.is_ascii_digit()) {
            out.push(char::from(b));
        } else {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push('_');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
    out
}

/// The object path systemd gives a unit: `/org/freedesktop/systemd1/unit/<escaped name>`.
pub fn unit_object_path(unit: &str) -> String {
    format!("/org/freedesktop/systemd1/unit/{}", bus_label_escape(unit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marshal::{decode_body, encode_body};

    #[test]
    fn start_transient_unit_body_encodes() {
        let props = vec![
            ("Description".to_string(), Value::from("hull container abc")),
            ("Slice".to_string(), Value::from("system.slice")),
            (
                "PIDs".to_string(),
                Value::array("u", vec![Value::UInt32(1234)]),
            ),
            ("Delegate".to_string(), Value::Bool(true)),
            ("MemoryMax".to_string(), Value::UInt64(1 << 30)),
            ("CPUWeight".to_string(), Value::variant(100u64)), // already a variant: kept
        ];
        let body = start_transient_unit_body("hull-abc.scope", "replace", &props);
        let (bytes, sig) = encode_body(&body).unwrap();
        assert_eq!(sig, "ssa(sv)a(sa(sv))");
        assert_eq!(decode_body(&bytes, &sig).unwrap(), body);
        let props_v = body[2].as_array().unwrap();
        assert_eq!(props_v.len(), 6);
        for p in props_v {
            let f = p.as_struct().unwrap();
            assert!(
                matches!(&f[1], Value::Variant(inner) if !matches!(**inner, Value::Variant(_)))
            );
        }
        // The empty aux array at the end: length 0 then padding to 8 for its structs.
        assert_eq!(bytes.len() % 8, 0);
        assert_eq!(&bytes[bytes.len() - 8..bytes.len() - 4], &[0, 0, 0, 0]);
    }

    #[test]
    fn label_escaping() {
        assert_eq!(bus_label_escape("hull-abc.scope"), "hull_2dabc_2escope");
        assert_eq!(bus_label_escape("a_b"), "a_5fb");
        assert_eq!(bus_label_escape("1x2"), "_31x2");
        assert_eq!(bus_label_escape(""), "_");
        assert_eq!(bus_label_escape("é"), "_c3_a9");
        assert_eq!(
            unit_object_path("system.slice"),
            "/org/freedesktop/systemd1/unit/system_2eslice"
        );
        assert!(crate::value::is_valid_object_path(&unit_object_path(
            "a-b_c.1@x.scope"
        )));
    }

    #[test]
    fn job_removed_decoding() {
        let body = vec![
            Value::UInt32(5),
            Value::object_path("/org/freedesktop/systemd1/job/5"),
            Value::from("x.scope"),
            Value::from("done"),
        ];
        let m = Message::signal(MANAGER_PATH, MANAGER_INTERFACE, "JobRemoved").with_body(body);
        let j = job_removed(&m).unwrap();
        assert_eq!((j.id, j.result.as_str()), (5, "done"));
        assert_eq!(j.job, "/org/freedesktop/systemd1/job/5");
        let wrong = Message::signal(MANAGER_PATH, MANAGER_INTERFACE, "JobRemoved")
            .with_body(vec![Value::UInt32(5)]);
        assert_eq!(job_removed(&wrong), None);
        let other = Message::signal(MANAGER_PATH, MANAGER_INTERFACE, "JobNew");
        assert_eq!(job_removed(&other), None);
    }
}
