use super::*;
use crate::host::{Host, HostFs};
use crate::plan::MountStep;
use crate::profile::Profile;

struct FakeFs(Vec<(&'static str, Kind)>);
impl HostFs for FakeFs {
    fn kind(&self, p: &Path) -> Option<Kind> {
        self.0
            .iter()
            .find(|(q, _)| Path::new(q) == p)
            .map(|(_, k)| k.clone())
    }
    fn canonicalize(&self, p: &Path) -> Option<PathBuf> {
        self.kind(p).map(|_| p.to_path_buf())
    }
}

fn host(env: &[(&str, &str)], fs: Vec<(&'static str, Kind)>) -> Host {
    Host {
        uid: 1000,
        gid: 1000,
        user: "u".into(),
        home: "/home/u".into(),
        real_home: "/home/u".into(),
        canonical_homes: vec![],
        cwd: "/home/u".into(),
        runtime_dir: Some("/run/user/1000".into()),
        config_home: "/home/u/.config".into(),
        data_home: "/home/u/.local/share".into(),
        user_dirs: Default::default(),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        landlock_abi: None,
        hard_rlimits: Default::default(),
        fs: Box::new(FakeFs(fs)),
        cgroup: crate::plan::cgroup::no_backend,
        session_optional: false,
        mdwe: true,
        pid: 4242,
    }
}

fn compile_str(h: &Host, toml: &str) -> Result<Desktop, Error> {
    let p: Profile = toml::from_str(toml).unwrap();
    let mut cx = Ctx {
        host: h,
        warnings: vec![],
    };
    compile(&mut cx, &p)
}

#[test]
fn wayland_found_or_a_clear_error() {
    let h = host(
        &[("WAYLAND_DISPLAY", "wayland-1")],
        vec![("/run/user/1000/wayland-1", Kind::Special)],
    );
    let d = compile_str(&h, "[gui]\nwayland = true\n").unwrap();
    assert_eq!(d.ro[0].v, "/run/user/1000/wayland-1");
    assert_eq!(d.env["WAYLAND_DISPLAY"], "wayland-1");
    assert_eq!(d.env["XDG_RUNTIME_DIR"], "/run/user/1000");
    let h = host(&[], vec![]);
    let e = compile_str(&h, "[gui]\nwayland = true\n").unwrap_err();
    assert!(
        e.msg
            .contains("gui.wayland: no Wayland socket ($WAYLAND_DISPLAY is unset"),
        "{}",
        e.msg
    );
    assert!(e.at.is_some());
    let h = host(&[("WAYLAND_DISPLAY", "wayland-0")], vec![]);
    let e = compile_str(&h, "[gui]\nwayland = true\n").unwrap_err();
    assert!(
        e.msg
            .contains("no Wayland socket at /run/user/1000/wayland-0"),
        "{}",
        e.msg
    );
    // Off means nothing is looked at.
    assert!(compile_str(&h, "[gui]\nwayland = false\n")
        .unwrap()
        .ro
        .is_empty());
}

#[test]
fn x11_socket_and_display() {
    assert_eq!(x11_display(":0"), Ok(0));
    assert_eq!(x11_display(":12.1"), Ok(12));
    assert_eq!(x11_display("unix:3"), Ok(3));
    assert!(x11_display("localhost:10.0")
        .unwrap_err()
        .contains("network display"));
    assert!(x11_display("nonsense").is_err());
    let h = host(
        &[("DISPLAY", ":7"), ("XAUTHORITY", "/home/u/.Xauth")],
        vec![
            ("/tmp/.X11-unix/X7", Kind::Special),
            ("/home/u/.Xauth", Kind::File),
        ],
    );
    let d = compile_str(&h, "[gui]\nx11 = true\n").unwrap();
    assert_eq!(d.ro[0].v, "/tmp/.X11-unix/X7");
    assert_eq!(d.env["DISPLAY"], ":7");
    assert_eq!(d.env["XAUTHORITY"], XAUTHORITY_INSIDE);
    let h = host(
        &[("DISPLAY", ":8")],
        vec![("/tmp/.X11-unix/X8", Kind::File)],
    );
    assert!(compile_str(&h, "[gui]\nx11 = true\n")
        .unwrap_err()
        .msg
        .contains("is not a socket"));
}

#[test]
fn gpu_needs_a_device() {
    let h = host(
        &[],
        vec![("/dev/dri", Kind::Dir), ("/dev/nvidiactl", Kind::Device)],
    );
    let d = compile_str(&h, "[gui]\ngpu = true\n").unwrap();
    let dev: Vec<_> = d.dev.iter().map(|x| x.v.as_str()).collect();
    assert_eq!(dev, ["/dev/dri", "/dev/nvidiactl"]);
    let h = host(&[], vec![]);
    assert!(compile_str(&h, "[gui]\ngpu = true\n")
        .unwrap_err()
        .msg
        .contains("gui.gpu"));
}

#[test]
fn dbus_modes() {
    let h = host(
        &[(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/run/user/1000/bus,guid=abc",
        )],
        vec![
            ("/run/user/1000/bus", Kind::Special),
            ("/run/dbus/system_bus_socket", Kind::Special),
            ("/usr/bin/xdg-dbus-proxy", Kind::File),
        ],
    );
    let d = compile_str(&h, "[dbus]\nsession = \"host\"\nsystem = \"host\"\n").unwrap();
    let ro: Vec<_> = d.ro.iter().map(|x| x.v.as_str()).collect();
    assert_eq!(ro, ["/run/user/1000/bus", "/run/dbus/system_bus_socket"]);
    let d = compile_str(&h, "[dbus]\nsession = \"filtered\"\ntalk = [\"org.a.B\"]\n").unwrap();
    assert!(
        d.ro.is_empty(),
        "the proxy socket is bound by the supervisor"
    );
    assert_eq!(
        d.env["DBUS_SESSION_BUS_ADDRESS"],
        "unix:path=/run/user/1000/bus"
    );
    assert_eq!(d.dbus.talk, ["org.a.B"]);
    let e = compile_str(&h, "[dbus]\nsession = \"filtered\"\ntalk = [\"nodots\"]\n").unwrap_err();
    assert!(e.msg.contains("is not a bus name"), "{}", e.msg);
    assert!(compile_str(&h, "[dbus]\ncall = [\"org.a.B=org.a.B.M@/x/*\"]\n").is_ok());
    assert!(compile_str(&h, "[dbus]\ncall = [\"org.a.B\"]\n").is_err());
    let h = host(
        &[("DBUS_SESSION_BUS_ADDRESS", "unix:abstract=/tmp/dbus-x")],
        vec![],
    );
    let e = compile_str(&h, "[dbus]\nsession = \"filtered\"\n").unwrap_err();
    assert!(e.msg.contains("abstract"), "{}", e.msg);
    assert_eq!(
        bus_path("unix:path=/a%20b,guid=1").unwrap(),
        PathBuf::from("/a b")
    );
    assert_eq!(bus_address(Path::new("/a b")), "unix:path=/a%20b");
}

#[test]
fn xauthority_keeps_only_this_display_of_this_machine() {
    fn entry(family: u16, addr: &str, num: &str, cookie: &[u8]) -> Vec<u8> {
        let mut v = family.to_be_bytes().to_vec();
        for f in [
            addr.as_bytes(),
            num.as_bytes(),
            b"MIT-MAGIC-COOKIE-1".as_slice(),
            cookie,
        ] {
            v.extend_from_slice(&(f.len() as u16).to_be_bytes());
            v.extend_from_slice(f);
        }
        v
    }
    let mut file = entry(256, "box", "0", b"cookie-zero-here");
    file.extend(entry(256, "box", "1", b"cookie-one-here!"));
    file.extend(entry(256, "otherhost", "0", b"not-for-us-at-al"));
    file.extend(entry(0, "\x7f\0\0\x01", "0", b"tcp-entry-droppd"));
    let out = filter_xauthority(&file, 0, "box");
    assert_eq!(out, entry(65535, "box", "0", b"cookie-zero-here"));
    assert!(filter_xauthority(&file, 5, "box").is_empty());
    // Truncated input keeps the whole entries before the cut.
    assert_eq!(
        filter_xauthority(&file[..file.len() - 3], 1, "box"),
        entry(65535, "box", "1", b"cookie-one-here!")
    );
}

#[test]
fn helpers_are_planned_in_full() {
    let h = host(
        &[
            ("DISPLAY", ":7"),
            ("XAUTHORITY", "/home/u/.Xauth"),
            ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/run/user/1000/bus"),
        ],
        vec![
            ("/tmp/.X11-unix/X7", Kind::Special),
            ("/home/u/.Xauth", Kind::File),
            ("/run/user/1000/bus", Kind::Special),
            ("/usr/bin/xdg-dbus-proxy", Kind::File),
        ],
    );
    let d = compile_str(
        &h,
        "[gui]\nx11 = true\n[dbus]\nsession = \"filtered\"\ntalk = [\"org.freedesktop.Notifications\"]\n",
    )
    .unwrap();
    let (hp, binds) = helpers::compile(&h, &d.dbus, &d.env).unwrap().unwrap();
    assert_eq!(hp.dir, Path::new("/run/user/1000/jail/session-4242"));
    let x = hp.xauthority.as_ref().unwrap();
    assert_eq!(
        (x.from.as_path(), x.display, x.to.as_path()),
        (
            Path::new("/home/u/.Xauth"),
            7,
            Path::new("/run/user/1000/jail/session-4242/Xauthority")
        )
    );
    let p = hp.proxy.as_ref().unwrap();
    assert_eq!(
        p.args,
        [
            "unix:path=/run/user/1000/bus",
            "/run/user/1000/jail/session-4242/session-bus",
            "--filter",
            "--talk=org.freedesktop.Notifications"
        ]
    );
    let targets: Vec<_> = binds
        .iter()
        .map(|m| m.target().display().to_string())
        .collect();
    assert_eq!(targets, [XAUTHORITY_INSIDE, "/run/user/1000/bus"]);
    // Nothing to prepare: no helpers, no binds.
    let d = compile_str(&h, "[dbus]\nsession = \"host\"\n").unwrap();
    assert!(helpers::compile(&h, &d.dbus, &d.env).unwrap().is_none());
}

#[test]
fn display_and_sound_auto_pick_what_the_session_has() {
    let toml = "[gui]\ndisplay = \"auto\"\nsound = \"auto\"\n";
    // Wayland first.
    let h = host(
        &[("WAYLAND_DISPLAY", "wayland-0"), ("DISPLAY", ":3")],
        vec![
            ("/run/user/1000/wayland-0", Kind::Special),
            ("/tmp/.X11-unix/X3", Kind::Special),
            ("/run/user/1000/pulse/native", Kind::Special),
        ],
    );
    let d = compile_str(&h, toml).unwrap();
    assert!(d.gui["wayland"] && !d.gui["x11"] && d.gui["pulseaudio"]);
    assert!(d.env.contains_key("WAYLAND_DISPLAY") && !d.env.contains_key("DISPLAY"));
    // X11 when there is no compositor; PipeWire when there is no PulseAudio socket.
    let h = host(
        &[("DISPLAY", ":3")],
        vec![
            ("/tmp/.X11-unix/X3", Kind::Special),
            ("/run/user/1000/pipewire-0", Kind::Special),
        ],
    );
    let d = compile_str(&h, toml).unwrap();
    assert!(!d.gui["wayland"] && d.gui["x11"] && d.gui["pipewire"] && !d.gui["pulseaudio"]);
    assert_eq!(d.env["DISPLAY"], ":3");
    // A switch the profile sets is obeyed: wayland = false leaves X11.
    let h2 = host(
        &[("WAYLAND_DISPLAY", "wayland-0"), ("DISPLAY", ":3")],
        vec![
            ("/run/user/1000/wayland-0", Kind::Special),
            ("/tmp/.X11-unix/X3", Kind::Special),
        ],
    );
    let d = compile_str(&h2, "[gui]\ndisplay = \"auto\"\nwayland = false\n").unwrap();
    assert!(!d.gui["wayland"] && d.gui["x11"]);
    // Nothing there: headless, with notes, not an error.
    let h = host(&[], vec![]);
    let p: Profile = toml::from_str(toml).unwrap();
    let mut cx = Ctx {
        host: &h,
        warnings: vec![],
    };
    let d = compile(&mut cx, &p).unwrap();
    assert!(!d.gui["wayland"] && !d.gui["x11"] && !d.gui["pulseaudio"]);
    assert!(d.ro.is_empty());
    assert!(
        cx.warnings.iter().any(|w| w.contains("headless"))
            && cx.warnings.iter().any(|w| w.contains("without sound")),
        "{:?}",
        cx.warnings
    );
}

#[test]
fn every_missing_piece_is_reported_at_once() {
    let h = host(&[], vec![]);
    let e = compile_str(&h, "[gui]\nwayland = true\npulseaudio = true\n").unwrap_err();
    assert!(
        e.msg.starts_with("this session lacks 2 things"),
        "{}",
        e.msg
    );
    assert!(
        e.msg.contains("gui.wayland: no Wayland socket"),
        "{}",
        e.msg
    );
    assert!(e.msg.contains("[gui] wayland = \"optional\""), "{}", e.msg);
    assert!(e.msg.contains("gui.pulseaudio:"), "{}", e.msg);
    assert!(
        e.msg.contains("[gui] pulseaudio = \"optional\""),
        "{}",
        e.msg
    );
    assert!(e.at.is_some());
}

#[test]
fn dbus_optional_leaves_a_missing_bus_or_proxy_out_with_a_note() {
    let filtered = "[dbus]\nsession = \"filtered\"\ntalk = [\"org.a.B\"]\n";
    let optional = "[dbus]\nsession = \"filtered\"\noptional = true\ntalk = [\"org.a.B\"]\n";
    let run = |h: &Host, toml: &str| {
        let p: Profile = toml::from_str(toml).unwrap();
        let mut cx = Ctx {
            host: h,
            warnings: vec![],
        };
        compile(&mut cx, &p).map(|d| (d, cx.warnings))
    };
    // No bus at all.
    let h = host(&[], vec![("/usr/bin/xdg-dbus-proxy", Kind::File)]);
    let e = run(&h, filtered).unwrap_err();
    assert!(e.msg.contains("no session bus socket"), "{}", e.msg);
    let (d, w) = run(&h, optional).unwrap();
    assert_eq!(d.dbus.session, crate::profile::DbusMode::None);
    assert!(!d.env.contains_key("DBUS_SESSION_BUS_ADDRESS"));
    assert!(
        w.iter().any(|w| w.contains("no session bus socket")
            && w.contains("dbus.optional: no session bus in the sandbox")),
        "{w:?}"
    );
    // A bus, no proxy: never the unfiltered bus instead.
    let h = host(&[], vec![("/run/user/1000/bus", Kind::Special)]);
    let e = run(&h, filtered).unwrap_err();
    assert!(
        e.msg
            .contains("xdg-dbus-proxy is not installed (Debian/Ubuntu: apt install"),
        "{}",
        e.msg
    );
    let (d, w) = run(&h, optional).unwrap();
    assert_eq!(d.dbus.session, crate::profile::DbusMode::None);
    assert!(d.ro.is_empty() && !d.env.contains_key("DBUS_SESSION_BUS_ADDRESS"));
    assert!(
        w.iter()
            .any(|w| w.contains("xdg-dbus-proxy is not installed")),
        "{w:?}"
    );
    // Both: filtered.
    let h = host(
        &[],
        vec![
            ("/run/user/1000/bus", Kind::Special),
            ("/usr/bin/xdg-dbus-proxy", Kind::File),
        ],
    );
    let (d, w) = run(&h, optional).unwrap();
    assert_eq!(d.dbus.session, crate::profile::DbusMode::Filtered);
    assert!(w.is_empty(), "{w:?}");
}

#[test]
fn dbus_portal_gives_an_identity_the_names_and_the_documents() {
    let h = host(
        &[(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/run/user/1000/bus,guid=abc",
        )],
        vec![
            ("/run/user/1000/bus", Kind::Special),
            ("/usr/bin/xdg-dbus-proxy", Kind::File),
        ],
    );
    let portal = |toml: &str| {
        let p: Profile = toml::from_str(toml).unwrap();
        let mut cx = Ctx {
            host: &h,
            warnings: vec![],
        };
        let mut d = compile(&mut cx, &p)?;
        let got = portal::compile(&mut cx, &p.dbus, "my-app", &mut d.dbus)?;
        Ok::<_, Error>((got, d.dbus))
    };
    let (p, d) = portal("[dbus]\nsession = \"filtered\"\nportal = true\n").unwrap();
    let p = p.unwrap();
    assert_eq!(p.app_id, "org.jail.my_app");
    assert_eq!(p.documents, PathBuf::from("/run/user/1000/doc"));
    assert!(p.info.contains("name=org.jail.my_app\n") && p.info.contains("instance-id=4242"));
    assert_eq!(d.talk, portal::NAMES);
    // The identity and the view of the documents come last, with the proxy's own root.
    let (helpers, binds) = helpers::compile(
        &h,
        &Dbus {
            portal: Some(p),
            ..d
        },
        &Default::default(),
    )
    .unwrap()
    .unwrap();
    assert!(helpers.proxy.unwrap().root.is_some());
    assert!(binds.iter().any(|b| matches!(b, MountStep::File { target, mode: 0o444, .. } if target == Path::new("/.flatpak-info"))));
    assert!(binds.iter().any(|b| matches!(b, MountStep::Bind { source, target, .. }
        if source == Path::new("/run/user/1000/doc/by-app/org.jail.my_app") && target == Path::new("/run/user/1000/doc"))));
    // Off by default; an unfiltered bus is refused (the portals would see the app itself, with
    // the whole bus).
    assert!(portal("[dbus]\nsession = \"filtered\"\n")
        .unwrap()
        .0
        .is_none());
    for mode in ["host", "none"] {
        let e = portal(&format!("[dbus]\nsession = \"{mode}\"\nportal = true\n")).unwrap_err();
        assert!(
            e.msg.contains("needs dbus.session = \"filtered\""),
            "{}",
            e.msg
        );
    }
}
