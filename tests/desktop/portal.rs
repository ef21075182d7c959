//! `[dbus] portal = true` (issue 16): a sandboxed app opens a file the user picks through
//! xdg-desktop-portal's file chooser and a URI in the host's browser, seeing nothing else of the
//! home. The real xdg-desktop-portal and document portal run on a private session bus; only
//! the dialogs are replaced: a fake backend (`fake_portal_backend.py`) "picks" the file and the
//! app to open a URI with, and a fake browser on the host writes down what it was asked to open.
use super::*;

const BACKEND: &str = include_str!("fake_portal_backend.py");
const APP: &str = include_str!("portal_app.py");
const PORTAL: &str = "/usr/libexec/xdg-desktop-portal";
const BACKEND_NAME: &str = "org.freedesktop.impl.portal.JailTest";

/// A desktop session of `u` in `d`: a bus, xdg-desktop-portal with the fake backend, the
/// document portal (started by the bus when first asked). Dropping it stops them all and
/// unmounts the document portal's folder.
struct Session {
    rt: PathBuf,
    address: String,
    env: Vec<(String, String)>,
    procs: Vec<Reaper>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.procs.clear();
        // What the bus started (the document portal, the permission store) has our runtime
        // folder in its environment.
        let marker = format!("XDG_RUNTIME_DIR={}", self.rt.display());
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let env = std::fs::read(e.path().join("environ")).unwrap_or_default();
            if env.split(|b| *b == 0).any(|v| v == marker.as_bytes()) {
                // SAFETY: kill(2) on a pid of a process this test started.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
        }
        let doc = self.rt.join("doc");
        let mounted = || {
            std::fs::read_to_string("/proc/self/mountinfo")
                .unwrap_or_default()
                .contains(&format!(" {} ", doc.display()))
        };
        wait_for(|| !mounted());
        if mounted() {
            let _ = Command::new("fusermount3")
                .arg("-u")
                .arg("-z")
                .arg(&doc)
                .status();
        }
    }
}

/// With `fake_docs`, the backend also stands in for the document portal (for a user who cannot
/// mount FUSE): `GetMountPoint` answers `rt/doc`, a plain folder holding the app's view.
fn session(u: &User, d: &Path, fake_docs: bool) -> Session {
    let rt = d.join("rt");
    std::fs::create_dir(&rt).unwrap();
    if fake_docs {
        write_file(u, &rt, "doc/by-app/org.jail.portal_test/marker", "");
        for sub in ["doc", "doc/by-app", "doc/by-app/org.jail.portal_test"] {
            if euid() == 0 {
                std::os::unix::fs::chown(rt.join(sub), Some(u.uid), Some(u.gid)).unwrap();
            }
        }
    }
    std::fs::set_permissions(&rt, std::fs::Permissions::from_mode(0o700)).unwrap();
    let portals = d.join("portals");
    write_file(
        u,
        &portals,
        "jailtest.portal",
        &format!("[portal]\nDBusName={BACKEND_NAME}\nInterfaces=org.freedesktop.impl.portal.FileChooser;org.freedesktop.impl.portal.AppChooser;\nUseIn=jailtest\n"),
    );
    // The fake browser and the desktop file and default that make it the https handler.
    let browser = write_file(
        u,
        d,
        "browser.sh",
        &format!("#!/bin/sh\necho \"$@\" >> {}/opened\n", d.display()),
    );
    std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
    write_file(
        u,
        d,
        "data/applications/jailtest-browser.desktop",
        &format!("[Desktop Entry]\nType=Application\nName=Jail test browser\nExec={} %u\nMimeType=x-scheme-handler/http;x-scheme-handler/https;\n", browser.display()),
    );
    write_file(
        u,
        d,
        "config/mimeapps.list",
        "[Default Applications]\nx-scheme-handler/https=jailtest-browser.desktop\n",
    );
    for sub in ["rt", "portals", "data", "data/applications", "config"] {
        if euid() == 0 {
            std::os::unix::fs::chown(d.join(sub), Some(u.uid), Some(u.gid)).unwrap();
        }
    }
    let env: Vec<(String, String)> = [
        ("XDG_RUNTIME_DIR", rt.display().to_string()),
        ("XDG_DATA_HOME", d.join("data").display().to_string()),
        ("XDG_CONFIG_HOME", d.join("config").display().to_string()),
        ("XDG_DATA_DIRS", "/usr/local/share:/usr/share".into()),
        ("XDG_DESKTOP_PORTAL_DIR", portals.display().to_string()),
        ("XDG_CURRENT_DESKTOP", "jailtest".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let cmd = |prog: &str| {
        let mut c = as_user(u, prog);
        c.envs(env.iter().map(|(k, v)| (k, v)));
        c
    };
    let mut procs = vec![];
    // The bus starts the document portal and the permission store with its environment.
    let mut daemon = cmd("dbus-daemon")
        .args(["--session", "--nofork", "--print-address=1"])
        .arg(format!("--address=unix:path={}/bus", rt.display()))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let address = first_line(&mut daemon);
    procs.push(Reaper(daemon));
    let mut s = Session {
        rt,
        address,
        env: env.clone(),
        procs,
    };
    let script = write_file(u, d, "backend.py", BACKEND);
    let mut backend = cmd("/usr/bin/python3")
        .arg(&script)
        .args([BACKEND_NAME, &d.join("picked.txt").display().to_string()])
        .arg(d.join("backend.log"))
        .arg("jailtest-browser")
        .args(fake_docs.then(|| s.rt.join("doc")))
        .env("DBUS_SESSION_BUS_ADDRESS", &s.address)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    assert_eq!(first_line(&mut backend), "ready");
    s.procs.push(Reaper(backend));
    let portal = cmd(PORTAL)
        .env("DBUS_SESSION_BUS_ADDRESS", &s.address)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    s.procs.push(Reaper(portal));
    let owned = wait_for(|| {
        let out = cmd("gdbus")
            .args(["call", "--session", "--dest", "org.freedesktop.DBus"])
            .args(["--object-path", "/org/freedesktop/DBus", "--method"])
            .args([
                "org.freedesktop.DBus.NameHasOwner",
                "org.freedesktop.portal.Desktop",
            ])
            .env("DBUS_SESSION_BUS_ADDRESS", &s.address)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains("true")
    });
    assert!(owned, "xdg-desktop-portal did not take its name");
    s
}

#[test]
fn portal_file_chooser_and_open_uri_from_a_sandbox() {
    if !need("dbus-daemon")
        || !need("xdg-dbus-proxy")
        || !need("gdbus")
        || !need("/usr/bin/python3")
        || !need(PORTAL)
        || !need("/usr/libexec/xdg-document-portal")
        || !need("fusermount3")
        || !need("gio")
    {
        return;
    }
    each_user(|u| {
        // The document portal mounts FUSE through fusermount3, which opens /dev/fuse as the
        // user: Debian's udev makes it 0666, a bare devtmpfs leaves it 0600 (root only).
        let fuse = u.is_root()
            || std::fs::metadata("/dev/fuse")
                .is_ok_and(|m| m.permissions().mode() & 0o006 == 0o006);
        if !fuse {
            if strict() {
                panic!("/dev/fuse is not usable by {} (mode 0600): the document portal cannot mount; .ci/run makes it 0666 as udev does", u.name);
            }
            eprintln!("SKIPPED as {}: the file chooser half (/dev/fuse is mode 0600, so no document portal); the identity and OpenURI are tested with a stand-in document portal", u.name);
        }
        let d = tempdir(u);
        let s = session(u, &d, !fuse);
        // What the user picks lives outside the sandbox's view, as does the rest of the home.
        let picked = write_file(u, &d, "picked.txt", "the picked file\n");
        let other = write_file(u, &u.home, "other.txt", "rest of the home\n");
        assert!(std::fs::read_to_string(&other).is_ok());
        let app = write_file(u, &d, "app.py", APP);
        let run = |portal: bool| {
            let mut j = Jail::new(u).profile(
                "portal-test",
                &format!("include = [\"base\"]\n[dbus]\nsession = \"filtered\"\ntalk = [\"org.freedesktop.portal.Desktop\"]\nportal = {portal}\n"),
            );
            for (k, v) in &s.env {
                j = j.env(k, v);
            }
            let script = format!(
                "/usr/bin/python3 {app} open; cat {picked} {other}; echo docs: $(ls {rt}/doc); /usr/bin/python3 {app} uri https://example.org/from-the-sandbox; gio open https://example.org/through-glib || echo gio failed",
                rt = s.rt.display(),
                app = app.display(),
                picked = picked.display(),
                other = other.display()
            );
            let r = j
                .env("DBUS_SESSION_BUS_ADDRESS", &s.address)
                .args([
                    "run",
                    "--profile",
                    "portal-test",
                    "--chdir",
                    "/",
                    "--ro-bind",
                ])
                .arg_path(&app)
                .args(["--", "/bin/sh", "-c", &script])
                .output();
            r.ok();
            (r.stdout(), r.stderr())
        };

        let (out, err) = run(true);
        let ctx = format!("[{}] {out}\n{err}", u.name);
        // The portal treated the app as the sandboxed app org.jail.portal_test …
        let log = std::fs::read_to_string(d.join("backend.log")).unwrap_or_default();
        assert!(
            log.contains("OpenFile org.jail.portal_test"),
            "{log}\n{ctx}"
        );
        if fuse {
            // … so the picked file came through the document portal, and reads.
            let doc = format!("path {}/rt/doc/", d.display());
            assert!(out.contains(&doc), "{ctx}");
            assert!(out.contains("content the picked file"), "{ctx}");
        } else {
            // The app's view of the (stand-in) document portal is what is bound.
            assert!(out.contains("docs: marker"), "{ctx}");
        }
        // Its real path and the rest of the home stay out of reach.
        assert!(
            err.contains(&format!("{}: No such file", picked.display()))
                && err.contains(&format!("{}: No such file", other.display())),
            "{ctx}"
        );
        // OpenURI: the host's browser got the URI.
        assert!(out.contains("response 0"), "{ctx}");
        // GLib sees /.flatpak-info and goes through the portal by itself (`gio open`).
        assert!(
            wait_for(
                || std::fs::read_to_string(d.join("opened")).is_ok_and(|o| o.lines().count() >= 2)
            ),
            "{ctx}"
        );
        let opened = std::fs::read_to_string(d.join("opened")).unwrap();
        assert_eq!(
            opened.lines().collect::<Vec<_>>(),
            [
                "https://example.org/from-the-sandbox",
                "https://example.org/through-glib"
            ],
            "{ctx}"
        );

        // Without the identity the portal takes the app for a host app: it hands out the real
        // path, which the sandbox cannot open (what `portal = true` adds).
        let (out, err) = run(false);
        assert!(
            out.contains("docs:\n"),
            "no document portal view without the key: {out}"
        );
        assert!(
            out.contains(&format!("path {}", picked.display()))
                && out.contains("unreadable No such file"),
            "[{}] {out}\n{err}",
            u.name
        );
        assert!(
            proxies_with(&s.rt.join("bus").display().to_string()).is_empty(),
            "an xdg-dbus-proxy outlived its sandbox"
        );
        drop(s);
        assert!(
            !std::fs::read_to_string("/proc/self/mountinfo")
                .unwrap()
                .contains(&format!("{}/rt/doc", d.display())),
            "the document portal's folder is still mounted"
        );
    });
}

/// No document portal on the bus (a bus that activates nothing): jail refuses to run, with the
/// step and the fix, and COMMAND does not run; `explain` shows what the key adds.
#[test]
fn portal_without_a_document_portal_refuses_to_run() {
    if !need("dbus-daemon") || !need("xdg-dbus-proxy") {
        return;
    }
    each_user(|u| {
        let d = tempdir(u);
        let socket = d.join("bus");
        let config = write_file(
            u,
            &d,
            "bus.conf",
            &format!("<busconfig><type>session</type><listen>unix:path={}</listen><auth>EXTERNAL</auth><policy context=\"default\"><allow send_destination=\"*\" eavesdrop=\"true\"/><allow eavesdrop=\"true\"/><allow own=\"*\"/></policy></busconfig>", socket.display()),
        );
        let mut daemon = as_user(u, "dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let address = first_line(&mut daemon);
        let _daemon = Reaper(daemon);
        let jail = |verb: &str| {
            let j = Jail::new(u).profile(
                "portal-test",
                "include = [\"base\"]\n[filesystem]\nrw = [\"${PWD}\"]\n[dbus]\nsession = \"filtered\"\nportal = true\n",
            );
            let cwd = j.cwd.clone();
            let r = j
                .env("DBUS_SESSION_BUS_ADDRESS", &address)
                .env("XDG_RUNTIME_DIR", &d)
                .args([
                    verb,
                    "--profile",
                    "portal-test",
                    "--",
                    "/bin/sh",
                    "-c",
                    "touch ran",
                ])
                .output();
            (r, cwd)
        };
        let (r, cwd) = jail("run");
        r.expect_code(125);
        let err = r.stderr();
        assert!(
            err.contains("start the document portal (dbus.portal)")
                && err.contains("apt install xdg-desktop-portal"),
            "[{}] {err}",
            u.name
        );
        assert!(
            !cwd.join("ran").exists(),
            "COMMAND ran without its document portal"
        );
        let (r, _) = jail("explain");
        r.ok();
        let out = r.stdout();
        for want in [
            "/.flatpak-info: file of".to_string(),
            format!(
                "{}/doc: bind read-write of {}/doc/by-app/org.jail.portal_test",
                d.display(),
                d.display()
            ),
            "--talk=org.freedesktop.portal.Desktop --talk=org.freedesktop.portal.Documents".into(),
            "the proxy runs in a root of its own".into(),
        ] {
            assert!(out.contains(&want), "[{}] no {want:?} in\n{out}", u.name);
        }
    });
}
