//! Integration tests against a private `dbus-daemon` started for each test.
//!
//! Each test gets its own daemon with a minimal config (no service directories, so nothing
//! is ever auto-started) listening in its own temporary directory; a guard kills the daemon
//! and removes the directory even when the test fails. Readiness is a bounded loop that
//! connects until the daemon accepts, never a fixed sleep.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hull_dbus::{Connection, Value};

const T: Duration = Duration::from_secs(10);

/// A running private bus; killed and cleaned up on drop.
struct Daemon {
    child: Child,
    dir: PathBuf,
    address: String,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

enum Listen {
    Path,
    Abstract,
}

/// Starts a daemon, or returns None (after saying why) if dbus-daemon is not installed.
fn daemon(listen: Listen) -> Option<Daemon> {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let tag = format!("hull-dbus-test-{}-{n}", std::process::id());
    let dir = std::env::temp_dir().join(&tag);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let address = match listen {
        Listen::Path => format!("unix:path={}/bus", dir.display()),
        Listen::Abstract => format!("unix:abstract={tag}"),
    };
    let config = format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>{address}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#
    );
    let conf = dir.join("bus.conf");
    std::fs::write(&conf, config).unwrap();
    // The daemon's complaints (e.g. about the fd limit) go to a file, shown only if it fails.
    let log_path = dir.join("daemon.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let child = match Command::new("dbus-daemon")
        .arg(format!("--config-file={}", conf.display()))
        .arg("--nofork")
        .arg("--nopidfile")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("SKIP: dbus-daemon is not installed (apt-get install dbus-daemon)");
            let _ = std::fs::remove_dir_all(&dir);
            return None;
        }
        Err(e) => panic!("starting dbus-daemon: {e}"),
    };
    let mut d = Daemon {
        child,
        dir,
        address,
    };
    // Ready when a plain connect succeeds (the socket exists *and* is listening).
    let start = Instant::now();
    loop {
        let ok = match listen {
            Listen::Path => UnixStream::connect(d.dir.join("bus")).is_ok(),
            Listen::Abstract => SocketAddr::from_abstract_name(tag.as_bytes())
                .and_then(|a| UnixStream::connect_addr(&a))
                .is_ok(),
        };
        if ok {
            return Some(d);
        }
        if let Ok(Some(status)) = d.child.try_wait() {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("dbus-daemon exited before listening: {status}\n{log}");
        }
        assert!(
            start.elapsed() < T,
            "dbus-daemon did not listen within {T:?}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn hello_list_names_and_get_id() {
    let Some(d) = daemon(Listen::Path) else {
        return;
    };
    let mut c = Connection::open_bus(&d.address, T).unwrap();
    // The handshake is pipelined: its answer is read with the first reply, or here.
    assert_eq!(c.unique_name(), None);
    c.finish_handshake().unwrap();
    let me = c.unique_name().unwrap().to_string();
    assert!(me.starts_with(':'), "{me}");
    assert!(c.is_bus());

    let names = c.bus_call("ListNames", vec![]).unwrap();
    assert_eq!(names.len(), 1);
    let names = strings(&names[0]);
    assert!(
        names.contains(&"org.freedesktop.DBus".to_string()),
        "{names:?}"
    );
    assert!(names.contains(&me), "{names:?}");

    // Both the bus id and the listener's GUID from the SASL OK line are 32 hex digits
    // (dbus-daemon gives each listening address its own GUID, so they differ).
    let id = c.bus_call("GetId", vec![]).unwrap();
    for guid in [id[0].as_str().unwrap(), c.server_guid()] {
        assert_eq!(guid.len(), 32, "{guid:?}");
        assert!(guid.bytes().all(|b| b.is_ascii_hexdigit()), "{guid:?}");
    }
}

#[test]
fn error_replies_carry_the_dbus_name() {
    let Some(d) = daemon(Listen::Path) else {
        return;
    };
    let mut c = Connection::open_bus(&d.address, T).unwrap();
    let e = c.bus_call("NoSuchMethod", vec![]).unwrap_err();
    assert_eq!(
        e.dbus_name(),
        Some("org.freedesktop.DBus.Error.UnknownMethod"),
        "{e}"
    );
    assert!(
        e.to_string()
            .starts_with("org.freedesktop.DBus.Error.UnknownMethod: "),
        "{e}"
    );

    let e = c
        .call_method("org.example.Nobody", "/x", "org.example.I", "M", vec![])
        .unwrap_err();
    assert_eq!(
        e.dbus_name(),
        Some("org.freedesktop.DBus.Error.ServiceUnknown"),
        "{e}"
    );
    assert!(!e.is_no_such_unit());

    // Wrong argument types are refused by the daemon, with an error, not a hang.
    let e = c
        .bus_call("GetNameOwner", vec![Value::UInt32(1)])
        .unwrap_err();
    assert!(e.dbus_name().is_some(), "{e}");

    // The connection is still usable after errors.
    let owner = c
        .bus_call("GetNameOwner", vec!["org.freedesktop.DBus".into()])
        .unwrap();
    assert_eq!(owner[0].as_str(), Some("org.freedesktop.DBus"));
}

#[test]
fn signal_from_another_connection() {
    let Some(d) = daemon(Listen::Path) else {
        return;
    };
    let mut rx = Connection::open_bus(&d.address, T).unwrap();
    let mut tx = Connection::open_bus(&d.address, T).unwrap();
    rx.add_match("type='signal',interface='org.example.Test',member='Ping'")
        .unwrap();
    let body = vec![
        Value::UInt32(7),
        Value::object_path("/org/example/job/7"),
        Value::from("x.scope"),
        Value::array(
            "(sv)",
            vec![Value::Struct(vec!["Delegate".into(), Value::variant(true)])],
        ),
    ];
    // A signal the rule does not match, then the one it does.
    tx.emit_signal("/org/example", "org.example.Test", "Other", vec![])
        .unwrap();
    tx.emit_signal("/org/example", "org.example.Test", "Ping", body.clone())
        .unwrap();
    let m = rx
        .wait_signal(T, "Ping", |m| m.member.as_deref() == Some("Ping"))
        .unwrap();
    tx.finish_handshake().unwrap();
    assert_eq!(m.sender.as_deref(), tx.unique_name());
    assert_eq!(m.path.as_deref(), Some("/org/example"));
    assert_eq!(m.body, body);

    // After RemoveMatch, nothing more arrives: the wait times out with a clear error.
    rx.remove_match("type='signal',interface='org.example.Test',member='Ping'")
        .unwrap();
    tx.emit_signal("/org/example", "org.example.Test", "Ping", vec![])
        .unwrap();
    let e = rx
        .wait_signal(Duration::from_millis(200), "a second Ping", |m| {
            m.member.as_deref() == Some("Ping")
        })
        .unwrap_err();
    assert!(e.is_timeout(), "{e}");
    assert!(e.to_string().contains("a second Ping"), "{e}");
}

#[test]
fn signals_arriving_during_a_call_are_queued() {
    let Some(d) = daemon(Listen::Path) else {
        return;
    };
    let mut c = Connection::open_bus(&d.address, T).unwrap();
    c.add_match("type='signal',interface='org.example.Self'")
        .unwrap();
    // The daemon handles one connection's messages in order, so our own signal is routed
    // back to us before the reply to the call that follows it: it must be queued during the
    // call and still be there for the wait.
    c.emit_signal("/a", "org.example.Self", "Echo", vec!["x".into()])
        .unwrap();
    c.bus_call("GetId", vec![]).unwrap();
    let m = c
        .wait_signal(Duration::from_millis(1), "the queued Echo", |m| {
            m.member.as_deref() == Some("Echo")
        })
        .unwrap();
    assert_eq!(m.body, vec![Value::from("x")]);
}

#[test]
fn abstract_address_and_address_lists() {
    let Some(d) = daemon(Listen::Abstract) else {
        return;
    };
    // Unusable entries before the usable one are skipped.
    let list = format!("tcp:host=localhost,port=1;unix:tmpdir=/tmp;{}", d.address);
    let mut c = Connection::open_bus(&list, T).unwrap();
    c.bus_call("GetId", vec![]).unwrap();
    assert!(c.unique_name().is_some());
}

#[test]
fn peer_to_peer_handshake_sends_no_hello() {
    let Some(d) = daemon(Listen::Path) else {
        return;
    };
    // The daemon would answer a Hello, so the absence of a unique name shows none was sent;
    // the SASL part is the same one systemd's private socket speaks.
    let mut c = Connection::open_peer(&d.address, T).unwrap();
    c.finish_handshake().unwrap();
    assert_eq!(c.unique_name(), None);
    assert!(!c.is_bus());
    assert_eq!(c.server_guid().len(), 32);
}

#[test]
fn constructors_read_the_bus_address_variables() {
    let Some(d) = daemon(Listen::Path) else {
        return;
    };
    // Only this test touches these variables, and std serialises environment access.
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &d.address);
    std::env::set_var("DBUS_SYSTEM_BUS_ADDRESS", &d.address);
    let session = Connection::session();
    let user = Connection::user();
    let system = Connection::system();
    std::env::remove_var("DBUS_SESSION_BUS_ADDRESS");
    std::env::remove_var("DBUS_SYSTEM_BUS_ADDRESS");
    for c in [session, user, system] {
        let mut c = c.unwrap();
        c.finish_handshake().unwrap();
        assert!(c.unique_name().is_some());
    }
}

#[test]
fn connecting_to_nothing_fails_clearly() {
    let e = Connection::open_bus("unix:path=/nonexistent/hull-dbus/bus", T)
        .err()
        .unwrap();
    assert!(e.to_string().contains("/nonexistent/hull-dbus/bus"), "{e}");
    assert!(Connection::open_bus("tcp:host=localhost,port=1", T).is_err());
}

#[test]
fn queued_calls_go_out_together_and_replies_are_kept_for_their_caller() {
    let Some(d) = daemon(Listen::Path) else {
        return;
    };
    // The handshake, three calls and nothing read yet: one write, one round trip.
    let mut c = Connection::open_bus(&d.address, T).unwrap();
    let call = |member: &str, body: Vec<Value>| {
        hull_dbus::Message::method_call(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            member,
        )
        .with_body(body)
    };
    let id = c.queue(call("GetId", vec![])).unwrap();
    let bad = c.queue(call("NoSuchMethod", vec![])).unwrap();
    let owner = c
        .queue(call("NameHasOwner", vec!["org.freedesktop.DBus".into()]))
        .unwrap();
    // Collected last-first: the earlier replies wait for their own `reply`.
    let has = c.reply(owner, "NameHasOwner").unwrap();
    assert_eq!(has.body, vec![Value::Bool(true)]);
    let e = c.reply(bad, "NoSuchMethod").unwrap_err();
    assert_eq!(
        e.dbus_name(),
        Some("org.freedesktop.DBus.Error.UnknownMethod"),
        "{e}"
    );
    let id = c.reply(id, "GetId").unwrap();
    assert_eq!(id.body[0].as_str().map(str::len), Some(32));
    assert!(c.unique_name().is_some());
}
