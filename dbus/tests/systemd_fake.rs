//! The systemd API against a scripted fake systemd on a peer-to-peer socket, the way hull
//! talks to `/run/systemd/private`. Real systemd is exercised in the QEMU guest; this checks
//! our side of the conversation: what is sent, in which order (Subscribe before the job is
//! created), and that a JobRemoved arriving before the method's reply is not lost.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use hull_dbus::message::frame_len;
use hull_dbus::systemd::{MANAGER_INTERFACE, MANAGER_PATH, SCOPE_INTERFACE};
use hull_dbus::{Connection, Message, Systemd, Value};

const T: Duration = Duration::from_secs(10);

/// Removes the socket's directory however the test ends.
struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The fake's side of one connection.
struct Peer {
    s: UnixStream,
    buf: Vec<u8>,
    serial: u32,
}

impl Peer {
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        match self.s.read(&mut chunk) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    fn handshake(&mut self) {
        // The client pipelines: its first messages may follow BEGIN in the same read.
        let end = loop {
            if let Some(i) = self.buf.windows(7).position(|w| w == b"BEGIN\r\n") {
                break i + 7;
            }
            assert!(self.fill(), "client closed during auth");
        };
        let text = String::from_utf8(self.buf[..end].to_vec()).unwrap();
        let uid = nix::unistd::geteuid().as_raw();
        let hex: String = uid
            .to_string()
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(
            text.starts_with(&format!("\0AUTH EXTERNAL {hex}\r\n")),
            "{text:?}"
        );
        self.buf.drain(..end);
        self.s
            .write_all(b"OK 0123456789abcdef0123456789abcdef\r\n")
            .unwrap();
    }

    fn read(&mut self) -> Option<Message> {
        loop {
            if self.buf.len() >= 16 {
                let len = frame_len(&self.buf).unwrap();
                if self.buf.len() >= len {
                    let frame: Vec<u8> = self.buf.drain(..len).collect();
                    return Some(Message::decode(&frame).unwrap());
                }
            }
            if !self.fill() {
                return None;
            }
        }
    }

    fn send(&mut self, mut m: Message) {
        self.serial += 1;
        m.serial = self.serial;
        self.s.write_all(&m.encode().unwrap()).unwrap();
    }
}

/// Starts a fake systemd that answers each call with what `handler` returns, and a client
/// connected to it peer-to-peer. The thread returns the members called, in order.
fn fake(
    handler: impl FnMut(&Message) -> Vec<Message> + Send + 'static,
) -> (Systemd, JoinHandle<Vec<String>>, TempDir) {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "hull-dbus-fake-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let guard = TempDir(dir.clone());
    let listener = UnixListener::bind(dir.join("private")).unwrap();
    let mut handler = handler;
    let server = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(T)).unwrap();
        let mut p = Peer {
            s,
            buf: Vec::new(),
            serial: 0,
        };
        p.handshake();
        let mut calls = Vec::new();
        while let Some(m) = p.read() {
            calls.push(m.member.clone().unwrap_or_default());
            for out in handler(&m) {
                p.send(out);
            }
        }
        calls
    });
    let address = format!("unix:path={}/private", dir.display());
    let conn = Connection::open_peer(&address, T).unwrap();
    (Systemd::new(conn), server, guard)
}

fn job_removed(id: u32, unit: &str, result: &str) -> Message {
    Message::signal(MANAGER_PATH, MANAGER_INTERFACE, "JobRemoved").with_body(vec![
        Value::UInt32(id),
        Value::object_path(format!("/org/freedesktop/systemd1/job/{id}")),
        Value::from(unit),
        Value::from(result),
    ])
}

#[test]
fn start_transient_unit_and_wait_is_race_free() {
    let (mut sd, server, _dir) = fake(|m| match m.member.as_deref() {
        Some("Subscribe") => vec![Message::method_return(m)],
        Some("StartTransientUnit") => {
            assert_eq!(m.signature(), "ssa(sv)a(sa(sv))");
            assert_eq!(m.destination.as_deref(), Some("org.freedesktop.systemd1"));
            assert_eq!(m.body[0], Value::from("hull-x.scope"));
            assert_eq!(m.body[1], Value::from("replace"));
            // Another job finishes, then ours, and only then the reply: both signals
            // overtake it and must be queued.
            vec![
                job_removed(6, "other.service", "failed"),
                job_removed(7, "hull-x.scope", "done"),
                Message::method_return(m)
                    .with_body(vec![Value::object_path("/org/freedesktop/systemd1/job/7")]),
            ]
        }
        _ => vec![Message::error(
            m,
            "org.freedesktop.DBus.Error.UnknownMethod",
            "no",
        )],
    });
    let props = vec![
        (
            "PIDs".to_string(),
            Value::array("u", vec![Value::UInt32(1)]),
        ),
        ("Delegate".to_string(), Value::Bool(true)),
    ];
    let result = sd
        .start_transient_unit_and_wait("hull-x.scope", "replace", &props, T)
        .unwrap();
    assert_eq!(result, "done");
    drop(sd);
    // No Hello and no AddMatch on a peer-to-peer connection; Subscribe came first.
    assert_eq!(server.join().unwrap(), ["Subscribe", "StartTransientUnit"]);
}

#[test]
fn errors_are_recognisable() {
    let (mut sd, server, _dir) = fake(|m| match m.member.as_deref() {
        Some("Subscribe") => vec![Message::method_return(m)],
        Some("StartTransientUnit") => vec![Message::error(
            m,
            "org.freedesktop.systemd1.UnitExists",
            "Unit hull-x.scope was already loaded or has a fragment file.",
        )],
        Some("GetUnit") | Some("StopUnit") => vec![Message::error(
            m,
            "org.freedesktop.systemd1.NoSuchUnit",
            "Unit gone.scope not loaded.",
        )],
        _ => vec![Message::error(
            m,
            "org.freedesktop.DBus.Error.UnknownMethod",
            "no",
        )],
    });
    let e = sd
        .start_transient_unit_and_wait("hull-x.scope", "replace", &[], T)
        .unwrap_err();
    assert!(e.is_unit_exists(), "{e}");
    assert_eq!(
        e.to_string(),
        "org.freedesktop.systemd1.UnitExists: Unit hull-x.scope was already loaded or has a fragment file."
    );
    let e = sd.get_unit("gone.scope").unwrap_err();
    assert!(e.is_no_such_unit(), "{e}");
    let e = sd
        .stop_unit_and_wait("gone.scope", "replace", T)
        .unwrap_err();
    assert!(e.is_no_such_unit(), "{e}");
    // A unit that is not loaded is not failed either: no ResetFailedUnit follows.
    assert_eq!(sd.stop_and_reset_unit("gone.scope", T).unwrap(), None);
    drop(sd);
    assert_eq!(
        server.join().unwrap(),
        [
            "Subscribe",
            "StartTransientUnit",
            "GetUnit",
            "StopUnit",
            "StopUnit"
        ]
    );
}

#[test]
fn stop_kill_reset_properties() {
    let (mut sd, server, _dir) = fake(|m| {
        let member = m.member.as_deref().unwrap_or_default();
        let ret = Message::method_return(m);
        match member {
            "Subscribe" | "ResetFailedUnit" | "KillUnit" | "SetUnitProperties" => {
                let sig = match member {
                    "ResetFailedUnit" => "s",
                    "KillUnit" => "ssi",
                    "SetUnitProperties" => "sba(sv)",
                    _ => "",
                };
                assert_eq!(m.signature(), sig, "{member}");
                vec![ret]
            }
            "StopUnit" => vec![
                ret.with_body(vec![Value::object_path("/org/freedesktop/systemd1/job/9")]),
                job_removed(9, "hull-x.scope", "done"),
            ],
            "GetUnit" => vec![ret.with_body(vec![Value::object_path(
                "/org/freedesktop/systemd1/unit/hull_2dx_2escope",
            )])],
            "Get" => {
                let (path, prop) = (
                    m.path.clone().unwrap(),
                    m.body[1].as_str().unwrap().to_string(),
                );
                let v = match (path.as_str(), prop.as_str()) {
                    ("/org/freedesktop/systemd1/unit/hull_2dx_2escope", "ControlGroup") => {
                        Value::from("/system.slice/hull-x.scope")
                    }
                    ("/org/freedesktop/systemd1", "Version") => Value::from("252.22-1~deb12u1"),
                    _ => {
                        return vec![Message::error(
                            m,
                            "org.freedesktop.DBus.Error.UnknownProperty",
                            &prop,
                        )]
                    }
                };
                vec![ret.with_body(vec![Value::variant(v)])]
            }
            _ => vec![Message::error(
                m,
                "org.freedesktop.DBus.Error.UnknownMethod",
                "no",
            )],
        }
    });
    sd.reset_failed_unit("hull-x.scope").unwrap();
    sd.kill_unit("hull-x.scope", "all", 9).unwrap();
    sd.set_unit_properties(
        "hull-x.scope",
        true,
        &[("CPUWeight".into(), Value::UInt64(50))],
    )
    .unwrap();
    assert_eq!(
        sd.get_unit("hull-x.scope").unwrap(),
        "/org/freedesktop/systemd1/unit/hull_2dx_2escope"
    );
    let cg = sd
        .get_unit_property("hull-x.scope", SCOPE_INTERFACE, "ControlGroup")
        .unwrap();
    assert_eq!(cg.as_str(), Some("/system.slice/hull-x.scope"));
    let v = sd.get_manager_property("Version").unwrap();
    assert_eq!(v.as_str(), Some("252.22-1~deb12u1"));
    let e = sd.get_manager_property("Nope").unwrap_err();
    assert_eq!(
        e.dbus_name(),
        Some("org.freedesktop.DBus.Error.UnknownProperty")
    );
    // Here the reply comes before the signal: the ordinary case.
    assert_eq!(
        sd.stop_unit_and_wait("hull-x.scope", "replace", T).unwrap(),
        "done"
    );
    // A unit that was loaded is reset after its stop job, in case it ended failed.
    assert_eq!(
        sd.stop_and_reset_unit("hull-x.scope", T)
            .unwrap()
            .as_deref(),
        Some("done")
    );
    drop(sd);
    let calls = server.join().unwrap();
    assert_eq!(calls.first().map(String::as_str), Some("ResetFailedUnit"));
    assert_eq!(
        &calls[calls.len() - 3..],
        ["StopUnit", "StopUnit", "ResetFailedUnit"]
    );
}

#[test]
fn waiting_for_a_job_that_never_ends_times_out() {
    let (mut sd, server, _dir) = fake(|m| vec![Message::method_return(m)]);
    sd.subscribe().unwrap();
    let e = sd
        .wait_job(
            "/org/freedesktop/systemd1/job/1",
            Duration::from_millis(100),
        )
        .unwrap_err();
    assert!(e.is_timeout(), "{e}");
    assert!(
        e.to_string().contains("/org/freedesktop/systemd1/job/1"),
        "{e}"
    );
    drop(sd);
    assert_eq!(server.join().unwrap(), ["Subscribe"]);
}

#[test]
fn a_reply_that_never_comes_times_out() {
    // The fake answers nothing at all.
    let (mut sd, server, _dir) = fake(|_| vec![]);
    sd.connection().set_timeout(Duration::from_millis(100));
    let e = sd.get_unit("x.scope").unwrap_err();
    assert!(e.is_timeout(), "{e}");
    assert!(
        e.to_string()
            .contains("org.freedesktop.systemd1.Manager.GetUnit"),
        "{e}"
    );
    drop(sd);
    assert_eq!(server.join().unwrap(), ["GetUnit"]);
}

#[test]
fn rejected_authentication_is_an_auth_error() {
    let dir = TempDir(std::env::temp_dir().join(format!("hull-dbus-rej-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).unwrap();
    let listener = UnixListener::bind(dir.0.join("s")).unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(T)).unwrap();
        let mut b = [0u8; 256];
        let _ = s.read(&mut b).unwrap();
        s.write_all(b"REJECTED DBUS_COOKIE_SHA1\r\n").unwrap();
    });
    let address = format!("unix:path={}/s", dir.0.display());
    // The handshake is pipelined: its refusal is the first reply's error.
    let mut c = Connection::open_peer(&address, T).unwrap();
    let e = c.finish_handshake().err().unwrap();
    assert!(matches!(e, hull_dbus::Error::Auth(_)), "{e}");
    assert!(e.to_string().contains("DBUS_COOKIE_SHA1"), "{e}");
    server.join().unwrap();
}
