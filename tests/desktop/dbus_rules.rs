//! The shipped profiles' `[dbus]` rules (issue 16) against a real session bus, through the
//! profile's own xdg-dbus-proxy: each rule family goes through (portals, notifications,
//! screensaver inhibit, MPRIS and the app's own name), systemd and unlisted names are refused.
use super::*;

/// The services a desktop session has, owned on the test bus (each answers Peer.Ping).
const SERVICES: [&str; 5] = [
    "org.freedesktop.portal.Desktop",
    "org.freedesktop.Notifications",
    "org.freedesktop.ScreenSaver",
    "org.freedesktop.systemd1",
    "com.example.Unlisted",
];

/// (profile, the services it reaches, a name it may own).
const CASES: [(&str, &[&str], Option<&str>); 6] = [
    (
        "firefox",
        &[
            "org.freedesktop.portal.Desktop",
            "org.freedesktop.Notifications",
            "org.freedesktop.ScreenSaver",
        ],
        Some("org.mozilla.firefox.ZGVmYXVsdA__"),
    ),
    (
        "vlc",
        &["org.freedesktop.ScreenSaver"],
        Some("org.mpris.MediaPlayer2.vlc"),
    ),
    ("mpv", &["org.freedesktop.ScreenSaver"], None),
    (
        "transmission",
        &["org.freedesktop.Notifications"],
        Some("com.transmissionbt.transmission_4242"),
    ),
    ("inkscape", &["org.freedesktop.portal.Desktop"], None),
    (
        "chromium",
        &[
            "org.freedesktop.portal.Desktop",
            "org.freedesktop.Notifications",
            "org.freedesktop.ScreenSaver",
        ],
        Some("org.mpris.MediaPlayer2.chromium.instance2"),
    ),
];

#[test]
fn shipped_profiles_reach_their_services_and_nothing_else() {
    if !need_bus() {
        return;
    }
    each_user(|u| {
        let d = tempdir(u);
        // A pretend desktop session: Wayland and PulseAudio sockets (the profiles' [gui]) and
        // a real bus at $XDG_RUNTIME_DIR/bus.
        fake_socket(u, &d.join("wayland-0"), "");
        fake_socket(u, &d.join("pulse/native"), "");
        let bus = session_bus(u, &d, &SERVICES);
        let own = write_file(u, &d, "own-inside.py", OWN_INSIDE);
        for (profile, reach, own_name) in CASES {
            let script = format!(
                "{PING}; /usr/bin/python3 {} org.example.NotMine {}",
                own.display(),
                own_name.unwrap_or("")
            );
            let r = Jail::new(u)
                .env("XDG_RUNTIME_DIR", &d)
                .env("WAYLAND_DISPLAY", "wayland-0")
                .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
                .args(["run", "--profile", profile, "--chdir", "/", "--ro-bind"])
                .arg_path(&own)
                .args(["--", "/bin/sh", "-c", &script, "sh"])
                .args(SERVICES)
                .output();
            r.ok();
            let s = r.stdout();
            let ctx = format!("[{} {profile}] {s}\n{}", u.name, r.stderr());
            for n in SERVICES {
                if reach.contains(&n) {
                    assert!(s.contains(&format!("{n} reachable")), "{ctx}");
                } else {
                    // The proxy hides what is not listed: the name does not exist for the app.
                    assert!(
                        s.contains(&format!("{n} unreachable")) && s.contains("ServiceUnknown"),
                        "{ctx}"
                    );
                }
            }
            assert!(s.contains("org.example.NotMine refused"), "{ctx}");
            if let Some(n) = own_name {
                assert!(s.contains(&format!("{n} owned")), "{ctx}");
            }
        }
        assert!(
            proxies_with(&bus.socket.display().to_string()).is_empty(),
            "an xdg-dbus-proxy outlived its sandbox"
        );
    });
}

#[test]
fn shipped_profiles_run_without_a_session_bus() {
    each_user(|u| {
        let d = tempdir(u);
        fake_socket(u, &d.join("wayland-0"), "");
        let jail = |verb: &str, path: &str| {
            let r = Jail::new(u)
                .env("XDG_RUNTIME_DIR", &d)
                .env("WAYLAND_DISPLAY", "wayland-0")
                .env("PATH", path)
                .args([verb, "--profile", "inkscape", "--chdir", "/", "--"])
                .args(["/bin/sh", "-c", "echo ADDR=$DBUS_SESSION_BUS_ADDRESS"])
                .output();
            r.ok();
            (r.stdout(), r.stderr())
        };
        // No bus in the runtime folder: the profile runs, with no bus; `explain` says why.
        let (out, _) = jail("run", "/usr/bin:/bin");
        assert!(out.contains("ADDR=\n"), "{out}");
        let (out, err) = jail("explain", "/usr/bin:/bin");
        let n = out + &err;
        assert!(
            n.contains("no session bus socket")
                && n.contains("dbus.optional: no session bus in the sandbox"),
            "{n}"
        );
        // A bus but no xdg-dbus-proxy: no bus rather than the unfiltered one, and what to
        // install.
        let sock = d.join("bus");
        let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o777)).unwrap();
        let (out, _) = jail("run", "/nonexistent");
        assert!(out.contains("ADDR=\n"), "{out}");
        let (out, err) = jail("explain", "/nonexistent");
        let n = out + &err;
        assert!(
            n.contains(
                "xdg-dbus-proxy is not installed (Debian/Ubuntu: apt install xdg-dbus-proxy"
            ) && n.contains("dbus.optional: no session bus in the sandbox"),
            "{n}"
        );
        // With the proxy on PATH the same session gets the filtered bus.
        let (out, _) = jail("run", "/usr/bin:/bin");
        assert!(out.contains("ADDR=unix:path="), "{out}");
    });
}
