//! A private session bus for tests that talk D-Bus: `dbus-daemon` run as the test user, and a
//! process owning the names a test needs (each answers `Peer.Ping`), both killed when the test
//! ends. Needs dbus-daemon and the system's python3 with GObject introspection (python3-gi).
use super::*;
use std::io::{BufRead, BufReader};
use std::process::Child;

/// Whether this machine has what a test of a filtered bus needs: dbus-daemon, xdg-dbus-proxy,
/// gdbus and the system's python3 (see [`need`]).
pub fn need_bus() -> bool {
    need("dbus-daemon") && need("xdg-dbus-proxy") && need("gdbus") && need("/usr/bin/python3")
}

/// A command run as `u` (root runs it with the user's ids), with a clean environment.
pub fn as_user(u: &User, prog: &str) -> Command {
    let mut c = Command::new(prog);
    c.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", &u.home)
        .env("USER", &u.name)
        .stdin(Stdio::null());
    if euid() == 0 && !u.is_root() {
        c.uid(u.uid).gid(u.gid);
    }
    c
}

/// Kills and reaps a helper process when the test ends, even on panic.
pub struct Reaper(pub Child);
impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads one line of the child's stdout (its "I am ready" line).
pub fn first_line(c: &mut Child) -> String {
    let out = c.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line).unwrap();
    line.trim().to_string()
}

/// A session bus of `u` in `dir`, with a process owning `names`. Returns the bus address.
pub struct Bus {
    pub address: String,
    pub socket: PathBuf,
    _daemon: Reaper,
    _owner: Reaper,
}

const OWN_NAMES: &str = r#"
import sys
from gi.repository import Gio, GLib
c = Gio.bus_get_sync(Gio.BusType.SESSION, None)
for n in sys.argv[1:]:
    r = c.call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus',
                    'RequestName', GLib.Variant('(su)', (n, 4)), None, 0, -1, None)
    assert r.unpack()[0] == 1, n
print('owned', flush=True)
GLib.MainLoop().run()
"#;

pub fn session_bus(u: &User, dir: &Path, names: &[&str]) -> Bus {
    let socket = dir.join("bus");
    let mut daemon = as_user(u, "dbus-daemon")
        .args(["--session", "--nofork", "--print-address=1"])
        .arg(format!("--address=unix:path={}", socket.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let address = first_line(&mut daemon);
    assert!(
        address.starts_with("unix:path="),
        "dbus-daemon said {address:?}"
    );
    let daemon = Reaper(daemon);
    let script = write_file(u, dir, "own.py", OWN_NAMES);
    let mut owner = as_user(u, "/usr/bin/python3")
        .arg(&script)
        .args(names)
        .env("DBUS_SESSION_BUS_ADDRESS", &address)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    assert_eq!(first_line(&mut owner), "owned");
    Bus {
        address,
        socket,
        _daemon: daemon,
        _owner: Reaper(owner),
    }
}

/// `gdbus` pings NAME; prints "NAME reachable" or "NAME unreachable: ERROR".
pub const PING: &str = "for n in \"$@\"; do \
    if out=$(gdbus call --session --dest \"$n\" --object-path / --method org.freedesktop.DBus.Peer.Ping 2>&1); \
    then echo \"$n reachable\"; else echo \"$n unreachable: $out\"; fi; done";

/// Asks the bus to give NAME to the caller; prints "NAME owned" or "NAME refused: ERROR".
pub const OWN_INSIDE: &str = r#"
import sys
from gi.repository import Gio, GLib
c = Gio.bus_get_sync(Gio.BusType.SESSION, None)
for n in sys.argv[1:]:
    try:
        r = c.call_sync('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus',
                        'RequestName', GLib.Variant('(su)', (n, 4)), None, 0, -1, None)
        print(n, 'owned' if r.unpack()[0] == 1 else 'refused: %d' % r.unpack()[0])
    except GLib.Error as e:
        print(n, 'refused:', e.message)
"#;
