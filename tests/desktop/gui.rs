//! [gui]: sockets found where the session has them.
use super::*;

#[test]
fn gui_sockets_are_bound_with_their_variables() {
    if !need("/usr/bin/python3") {
        return;
    }
    each_user(|u| {
        let rt = tempdir(u).join("run");
        fake_socket(u, &rt.join("wayland-jt"), "hello-wayland\n");
        fake_socket(u, &rt.join("pulse/native"), "hello-pulse\n");
        fake_socket(u, &rt.join("pipewire-0"), "hello-pipewire\n");
        let profile =
            "include = [\"base\"]\n[gui]\nwayland = true\npulseaudio = true\npipewire = true\n";
        let script = "echo \"W=$WAYLAND_DISPLAY R=$XDG_RUNTIME_DIR P=$PULSE_SERVER\"; \
            python3 -c \"$0\" \"$XDG_RUNTIME_DIR/$WAYLAND_DISPLAY\"; \
            python3 -c \"$0\" \"${PULSE_SERVER#unix:}\"; \
            python3 -c \"$0\" \"$XDG_RUNTIME_DIR/pipewire-0\"";
        let r = Jail::new(u)
            .profile("desk", profile)
            .env("XDG_RUNTIME_DIR", &rt)
            .env("WAYLAND_DISPLAY", "wayland-jt")
            .args([
                "run",
                "--profile",
                "desk",
                "--chdir",
                "/",
                "--",
                "/bin/sh",
                "-c",
                script,
                READ_SOCKET,
            ])
            .output();
        r.ok();
        let s = r.stdout();
        let rts = rt.display().to_string();
        assert!(
            s.contains(&format!("W=wayland-jt R={rts} P=unix:{rts}/pulse/native")),
            "[{}] {s}",
            u.name
        );
        for g in ["hello-wayland", "hello-pulse", "hello-pipewire"] {
            assert!(
                s.contains(g),
                "[{}] {g} not reached:\n{s}\n{}",
                u.name,
                r.stderr()
            );
        }

        // Without [gui] the same sockets are not there: the grant is what makes them reachable.
        let r = Jail::new(u)
            .profile("nodesk", "include = [\"base\"]\n")
            .env("XDG_RUNTIME_DIR", &rt)
            .env("WAYLAND_DISPLAY", "wayland-jt")
            .args([
                "run",
                "--profile",
                "nodesk",
                "--chdir",
                "/",
                "--",
                "/bin/sh",
                "-c",
                "python3 -c \"$0\" \"$1\" || echo UNREACHABLE",
                READ_SOCKET,
            ])
            .arg_path(&rt.join("wayland-jt"))
            .output();
        r.ok();
        assert!(
            r.stdout().contains("UNREACHABLE") && !r.stdout().contains("hello"),
            "[{}] {}",
            u.name,
            r.stdout()
        );
    });
}

#[test]
fn a_requested_socket_that_is_missing_is_an_error_naming_the_key() {
    each_user(|u| {
        let rt = tempdir(u);
        // $WAYLAND_DISPLAY unset.
        let r = Jail::new(u)
            .profile("w", "include = [\"base\"]\n[gui]\nwayland = true\n")
            .env("XDG_RUNTIME_DIR", &rt)
            .args(["run", "--profile", "w", "--", "/bin/true"])
            .output();
        r.expect_code(125);
        let e = r.stderr();
        assert!(
            e.starts_with("jail: error: gui.wayland: no Wayland socket ($WAYLAND_DISPLAY is unset"),
            "{e}"
        );
        assert!(
            e.contains("w.toml:3:11"),
            "the error points at the key: {e}"
        );
        // Set, but nothing listens there.
        let r = Jail::new(u)
            .profile("w", "include = [\"base\"]\n[gui]\nwayland = true\n")
            .env("XDG_RUNTIME_DIR", &rt)
            .env("WAYLAND_DISPLAY", "wayland-9")
            .args(["run", "--profile", "w", "--", "/bin/true"])
            .output();
        r.expect_code(125);
        assert!(
            r.stderr()
                .contains(&format!("no Wayland socket at {}/wayland-9", rt.display())),
            "{}",
            r.stderr()
        );
        for (key, msg) in [
            ("x11", "gui.x11: no X server ($DISPLAY is unset)"),
            ("pulseaudio", "gui.pulseaudio: no PulseAudio socket at"),
            ("pipewire", "gui.pipewire: no PipeWire socket at"),
        ] {
            let r = Jail::new(u)
                .profile("g", &format!("include = [\"base\"]\n[gui]\n{key} = true\n"))
                .env("XDG_RUNTIME_DIR", &rt)
                .args(["run", "--profile", "g", "--", "/bin/true"])
                .output();
            r.expect_code(125);
            assert!(r.stderr().contains(msg), "[{key}] {}", r.stderr());
        }
        // gpu: this machine's devices, or the error when it has none.
        let r = Jail::new(u)
            .profile("g", "include = [\"base\"]\n[gui]\ngpu = true\n")
            .args([
                "run",
                "--profile",
                "g",
                "--",
                "/bin/sh",
                "-c",
                "ls /dev/dri",
            ])
            .output();
        if Path::new("/dev/dri").is_dir() {
            r.ok();
        } else {
            r.expect_code(125);
            assert!(
                r.stderr()
                    .contains("gui.gpu: this machine has no GPU device"),
                "{}",
                r.stderr()
            );
        }
    });
}
