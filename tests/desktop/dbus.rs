//! [dbus].
use super::*;

/// A session bus of `u` in `dir`, with a process owning `names`. Returns the bus address.
pub(super) struct Bus {
    pub(super) address: String,
    pub(super) socket: PathBuf,
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

pub(super) fn session_bus(u: &User, dir: &Path, names: &[&str]) -> Bus {
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
pub(super) const PING: &str = "for n in \"$@\"; do \
    if out=$(gdbus call --session --dest \"$n\" --object-path / --method org.freedesktop.DBus.Peer.Ping 2>&1); \
    then echo \"$n reachable\"; else echo \"$n unreachable: $out\"; fi; done";

#[test]
fn dbus_filtered_lets_through_only_the_talk_list() {
    if !need("dbus-daemon")
        || !need("xdg-dbus-proxy")
        || !need("gdbus")
        || !need("/usr/bin/python3")
    {
        return;
    }
    each_user(|u| {
        let d = tempdir(u);
        let bus = session_bus(u, &d, &["com.example.Allowed", "com.example.Hidden"]);
        let names = ["com.example.Allowed", "com.example.Hidden"];

        // Outside, both names answer: the filter is what hides one.
        let out = as_user(u, "/bin/sh")
            .args(["-c", PING, "sh"])
            .args(names)
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .output()
            .unwrap();
        let s = String::from_utf8_lossy(&out.stdout);
        assert!(
            s.contains("com.example.Allowed reachable")
                && s.contains("com.example.Hidden reachable"),
            "{s}"
        );

        let run = |profile: &str| {
            Jail::new(u)
                .profile("bus", profile)
                .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
                .args([
                    "run",
                    "--profile",
                    "bus",
                    "--chdir",
                    "/",
                    "--",
                    "/bin/sh",
                    "-c",
                    &format!("echo ADDR=$DBUS_SESSION_BUS_ADDRESS; {PING}"),
                    "sh",
                ])
                .args(names)
                .output()
        };
        let r = run("include = [\"base\"]\n[dbus]\nsession = \"filtered\"\ntalk = [\"com.example.Allowed\"]\n");
        r.ok();
        let s = r.stdout();
        assert!(
            s.contains("com.example.Allowed reachable"),
            "[{}] {s}\n{}",
            u.name,
            r.stderr()
        );
        assert!(
            s.contains("com.example.Hidden unreachable") && s.contains("ServiceUnknown"),
            "[{}] {s}",
            u.name
        );
        // Only the proxy's socket is inside, not the real bus.
        assert!(!s.contains(&bus.socket.display().to_string()), "{s}");

        // "host": the real bus, both names.
        let r = run("include = [\"base\"]\n[dbus]\nsession = \"host\"\n");
        r.ok();
        assert!(
            r.stdout().contains("com.example.Hidden reachable"),
            "{}",
            r.stdout()
        );
        // "none" (the default): no bus at all.
        let r = run("include = [\"base\"]\n");
        r.ok();
        assert!(
            r.stdout().contains("ADDR=\n")
                && r.stdout().contains("com.example.Allowed unreachable"),
            "{}",
            r.stdout()
        );

        // The proxy ended with the sandbox.
        assert!(
            proxies_with(&bus.socket.display().to_string()).is_empty(),
            "an xdg-dbus-proxy outlived its sandbox"
        );
    });
}

#[test]
fn dbus_filtered_fails_closed() {
    each_user(|u| {
        let d = tempdir(u);
        let profile = "include = [\"base\"]\n[filesystem]\nrw = [\"${PWD}\"]\n[dbus]\nsession = \"filtered\"\ntalk = [\"org.example.A\"]\n";
        // No bus where the address points.
        let r = Jail::new(u)
            .profile("bus", profile)
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                format!("unix:path={}/nobus", d.display()),
            )
            .args([
                "run",
                "--profile",
                "bus",
                "--",
                "/bin/sh",
                "-c",
                "touch ran",
            ])
            .output();
        r.expect_code(125);
        assert!(
            r.stderr()
                .contains("dbus.session = \"filtered\": no session bus socket at"),
            "{}",
            r.stderr()
        );
        assert!(r.stderr().contains("bus.toml:5:11"), "{}", r.stderr());
        // A bus, but no xdg-dbus-proxy to filter it: jail refuses rather than run unfiltered.
        let sock = d.join("fakebus");
        let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o777)).unwrap();
        let j = Jail::new(u).profile("bus", profile);
        let cwd = j.cwd.clone();
        let r = j
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                format!("unix:path={}", sock.display()),
            )
            .env("PATH", "/nonexistent")
            .args([
                "run",
                "--profile",
                "bus",
                "--",
                "/bin/sh",
                "-c",
                "/usr/bin/touch ran",
            ])
            .output();
        r.expect_code(125);
        assert!(
            r.stderr()
                .contains("dbus.session = \"filtered\": xdg-dbus-proxy is not installed"),
            "{}",
            r.stderr()
        );
        assert!(!cwd.join("ran").exists(), "COMMAND ran without its proxy");
        // The same run with the proxy's filter off would have run COMMAND (the test can fail).
        let r = Jail::new(u)
            .profile(
                "plain",
                "include = [\"base\"]\n[filesystem]\nrw = [\"${PWD}\"]\n",
            )
            .args([
                "run",
                "--profile",
                "plain",
                "--",
                "/bin/sh",
                "-c",
                "/usr/bin/touch ran && echo ok",
            ])
            .output();
        r.ok();
        assert!(r.stdout().contains("ok"));
    });
}

#[test]
fn the_proxy_dies_with_a_killed_jail() {
    if !need("dbus-daemon") || !need("xdg-dbus-proxy") || !need("/usr/bin/python3") {
        return;
    }
    each_user(|u| {
        let d = tempdir(u);
        let bus = session_bus(u, &d, &["com.example.Allowed"]);
        let needle = bus.socket.display().to_string();
        let mut j = Jail::new(u)
            .profile(
                "bus",
                "include = [\"base\"]\n[dbus]\nsession = \"filtered\"\n",
            )
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .args([
                "run",
                "--profile",
                "bus",
                "--chdir",
                "/",
                "--",
                "/bin/sh",
                "-c",
                "echo started; exec sleep 600",
            ])
            .spawn();
        assert_eq!(first_line(&mut j), "started");
        assert_eq!(
            proxies_with(&needle).len(),
            1,
            "one proxy while the sandbox runs"
        );
        j.kill().unwrap(); // SIGKILL: jail gets no chance to clean up
        j.wait().unwrap();
        assert!(
            wait_for(|| proxies_with(&needle).is_empty()),
            "xdg-dbus-proxy outlived a killed jail"
        );
    });
}
