//! [dbus].
use super::*;

#[test]
fn dbus_filtered_lets_through_only_the_talk_list() {
    if !need_bus() {
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
