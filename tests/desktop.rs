//! Desktop integration (issue 8): `[gui]` sockets, `[dbus]` through xdg-dbus-proxy,
//! `jail desktop` wrappers, and a real browser (firefox-esr) in its profile.
mod common;
use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Helpers of this file.

/// A command run as `u` (root runs it with the user's ids), with a clean environment.
fn as_user(u: &User, prog: &str) -> Command {
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
struct Reaper(Child);
impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads one line of the child's stdout (its "I am ready" line).
fn first_line(c: &mut Child) -> String {
    let out = c.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line).unwrap();
    line.trim().to_string()
}

/// A unix socket at `path`, connectable by `u`, whose every client reads `greeting`.
fn fake_socket(u: &User, path: &Path, greeting: &'static str) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).unwrap();
        if euid() == 0 {
            std::os::unix::fs::chown(p, Some(u.uid), Some(u.gid)).unwrap();
        }
    }
    let l = std::os::unix::net::UnixListener::bind(path).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let _ = s.write_all(greeting.as_bytes());
        }
    });
}

/// Python (the system's, under /usr) that connects to a unix socket and prints what it reads.
const READ_SOCKET: &str = "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); print(s.recv(100).decode().strip())";

/// Pids of running xdg-dbus-proxy processes whose command line mentions `needle`.
fn proxies_with(needle: &str) -> Vec<u32> {
    let mut v = vec![];
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        let zombie = std::fs::read_to_string(e.path().join("stat"))
            .map(|s| {
                s.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
            .unwrap_or(true);
        if cmd.contains("xdg-dbus-proxy") && cmd.contains(needle) && !zombie {
            v.push(pid);
        }
    }
    v
}

/// Waits (up to 20 s) for `cond`; readiness, not timing: the assertion is on the state.
fn wait_for(mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

// ---------------------------------------------------------------------------------------------
// [gui]: sockets found where the session has them.

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

trait ArgPath {
    fn arg_path(self, p: &Path) -> Self;
}
impl ArgPath for Jail {
    fn arg_path(mut self, p: &Path) -> Jail {
        self.cmd.arg(p);
        self
    }
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

// ---------------------------------------------------------------------------------------------
// X11: the display's socket and only its cookie.

/// A free X display number (no socket, no lock file).
fn free_display() -> u32 {
    (60..200)
        .find(|n| {
            !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
        })
        .expect("a free X display number")
}

/// A running Xvfb; on drop it is killed, then its socket and lock file (which a killed X server
/// leaves in /tmp) are removed. Fields drop in order: the server first.
struct XServer {
    _server: Reaper,
    _files: [TempDir; 2],
}

/// Starts Xvfb on display `n`, requiring the cookie in `auth`.
fn xvfb(n: u32, auth: &Path) -> XServer {
    let x = Command::new("Xvfb")
        .args([
            format!(":{n}"),
            "-auth".into(),
            auth.display().to_string(),
            "-nolisten".into(),
            "tcp".into(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let x = XServer {
        _server: Reaper(x),
        _files: [
            TempDir(format!("/tmp/.X11-unix/X{n}").into()),
            TempDir(format!("/tmp/.X{n}-lock").into()),
        ],
    };
    assert!(
        wait_for(|| Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()),
        "Xvfb did not start on :{n}"
    );
    x
}

/// The X11 connection handshake: prints "X11 accepted" or "X11 refused". It uses the first
/// cookie for the display in $XAUTHORITY, as Xlib does.
const X11_CHECK: &str = r#"
import os, socket, struct, sys
disp = int(os.environ['DISPLAY'].rsplit(':', 1)[1].split('.')[0])
name = data = b''
xa = os.environ.get('XAUTHORITY')
if xa and os.path.exists(xa):
    b = open(xa, 'rb').read(); i = 0
    while i + 2 <= len(b):
        fam = struct.unpack('>H', b[i:i+2])[0]; i += 2
        f = []
        for _ in range(4):
            l = struct.unpack('>H', b[i:i+2])[0]; f.append(b[i+2:i+2+l]); i += 2 + l
        if f[1] == str(disp).encode() and fam in (256, 65535):
            name, data = f[2], f[3]; break
s = socket.socket(socket.AF_UNIX); s.connect('/tmp/.X11-unix/X%d' % disp)
pad = lambda n: b'\0' * ((4 - n % 4) % 4)
s.sendall(struct.pack('<BxHHHHxx', ord('l'), 11, 0, len(name), len(data)) + name + pad(len(name)) + data + pad(len(data)))
print('X11', 'accepted' if s.recv(8)[:1] == b'\x01' else 'refused')
"#;

fn cookie(seed: u8) -> String {
    (0..16)
        .map(|i| format!("{:02x}", seed.wrapping_mul(31).wrapping_add(i * 7)))
        .collect()
}

#[test]
fn x11_gets_the_socket_and_only_this_displays_cookie() {
    if !need("Xvfb") || !need("xauth") || !need("/usr/bin/python3") {
        return;
    }
    each_user(|u| {
        let d = tempdir(u);
        let script = write_file(u, &d, "x11check.py", X11_CHECK);
        // The server's cookie file, then the user's Xauthority: this display's cookie plus one
        // of another display and one of another machine, which must not reach the sandbox.
        let server_auth = d.join("server.auth");
        let n = free_display();
        let (good, other_display, other_host) = (cookie(1), cookie(2), cookie(3));
        let xauth = |file: &Path, args: &[&str]| {
            let ok = Command::new("xauth")
                .arg("-f")
                .arg(file)
                .args(args)
                .output()
                .unwrap();
            assert!(
                ok.status.success(),
                "{}",
                String::from_utf8_lossy(&ok.stderr)
            );
        };
        xauth(&server_auth, &["add", &format!(":{n}"), ".", &good]);
        let user_auth = d.join("user.auth");
        xauth(&user_auth, &["add", &format!(":{n}"), ".", &good]);
        xauth(
            &user_auth,
            &["add", &format!(":{}", n + 1), ".", &other_display],
        );
        xauth(
            &user_auth,
            &["add", &format!("otherhost/unix:{n}"), ".", &other_host],
        );
        if euid() == 0 {
            std::os::unix::fs::chown(&user_auth, Some(u.uid), Some(u.gid)).unwrap();
        }
        let _x = xvfb(n, &server_auth);
        let display = format!(":{n}");

        // Control: the server refuses a client without the cookie, and accepts one with it.
        let out = as_user(u, "/usr/bin/python3")
            .arg(&script)
            .env("DISPLAY", &display)
            .env("XAUTHORITY", "/dev/null")
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "X11 refused");
        let out = as_user(u, "/usr/bin/python3")
            .arg(&script)
            .env("DISPLAY", &display)
            .env("XAUTHORITY", &user_auth)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "X11 accepted");

        // In the sandbox: accepted, with a cookie file that holds this display's cookie only.
        let profile = format!(
            "include = [\"base\"]\n[filesystem]\nro = [\"{}\"]\n[gui]\nx11 = true\n",
            script.display()
        );
        let dump = "python3 \"$0\"; echo \"DISPLAY=$DISPLAY XAUTHORITY=$XAUTHORITY\"; od -An -v -tx1 \"$XAUTHORITY\" | tr -d ' \\n'; echo; ls /tmp/.X11-unix";
        let r = Jail::new(u)
            .profile("x", &profile)
            .env("DISPLAY", &display)
            .env("XAUTHORITY", &user_auth)
            .args([
                "run",
                "--profile",
                "x",
                "--chdir",
                "/",
                "--",
                "/bin/sh",
                "-c",
                dump,
            ])
            .arg_path(&script)
            .output();
        r.ok();
        let s = r.stdout();
        assert!(
            s.contains("X11 accepted"),
            "[{}] {s}\n{}",
            u.name,
            r.stderr()
        );
        assert!(
            s.contains(&format!(
                "DISPLAY={display} XAUTHORITY=/run/jail/Xauthority"
            )),
            "{s}"
        );
        assert!(s.contains(&good), "this display's cookie is there: {s}");
        assert!(
            !s.contains(&other_display) && !s.contains(&other_host),
            "other cookies leaked: {s}"
        );
        assert_eq!(
            s.lines().last().unwrap_or(""),
            format!("X{n}"),
            "only this display's socket: {s}"
        );

        // Without gui.x11: no socket, no cookie.
        let r = Jail::new(u)
            .profile(
                "nox",
                &format!(
                    "include = [\"base\"]\n[filesystem]\nro = [\"{}\"]\n",
                    script.display()
                ),
            )
            .env("DISPLAY", &display)
            .env("XAUTHORITY", &user_auth)
            .args([
                "run",
                "--profile",
                "nox",
                "--chdir",
                "/",
                "--",
                "/bin/sh",
                "-c",
                "DISPLAY=$1 python3 \"$0\" 2>/dev/null || echo NO-X",
            ])
            .arg_path(&script)
            .arg_path(Path::new(&display))
            .output();
        r.ok();
        assert!(r.stdout().contains("NO-X"), "{}", r.stdout());
    });
}

// ---------------------------------------------------------------------------------------------
// [dbus].

/// A session bus of `u` in `dir`, with a process owning `names`. Returns the bus address.
struct Bus {
    address: String,
    socket: PathBuf,
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

fn session_bus(u: &User, dir: &Path, names: &[&str]) -> Bus {
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
const PING: &str = "for n in \"$@\"; do \
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
            r.stderr().contains("start xdg-dbus-proxy") && r.stderr().contains("not installed"),
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

// ---------------------------------------------------------------------------------------------
// jail desktop.

const FOX: &str = "[Desktop Entry]
Type=Application
Name=Fox
Name[de]=Fuchs
Comment=A test browser
TryExec=/usr/bin/grep
Exec=/usr/bin/grep -H NoNewPrivs /proc/self/status %U
Icon=fox-icon
DBusActivatable=true
Actions=new-window;

[Desktop Action new-window]
Name=New Window
Exec=/usr/bin/grep -H Seccomp: /proc/self/status %u
";

/// A fake system data folder holding fox.desktop, a profile folder with `fox`, and the user's
/// data home; returns (folder, data home, the system file).
fn desktop_env(u: &User) -> (PathBuf, PathBuf, PathBuf) {
    let d = tempdir(u);
    let sys = write_file(u, &d, "share/applications/fox.desktop", FOX);
    write_file(u, &d, "profiles/fox.toml", "include = [\"base\"]\n");
    let home = d.join("home-share");
    (d, home, sys)
}

fn desktop(u: &User, d: &Path, home: &Path, args: &[&str]) -> Run {
    Jail::new(u)
        .env("JAIL_PROFILE_PATH", d.join("profiles"))
        .env("XDG_DATA_DIRS", d.join("share"))
        .env("XDG_DATA_HOME", home)
        .args(["desktop"])
        .args(args)
        .output()
}

/// Runs an Exec= line of a wrapper as a menu would, with no file for the field codes.
fn launch(exec: &str, u: &User, d: &Path) -> String {
    let argv: Vec<&str> = exec
        .split_whitespace()
        .filter(|a| !a.starts_with('%'))
        .collect();
    let out = as_user(u, argv[0])
        .args(&argv[1..])
        .env("JAIL_PROFILE_PATH", d.join("profiles"))
        .current_dir("/")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn desktop_install_wraps_exec_and_actions_through_jail() {
    each_user(|u| {
        let (d, home, sys) = desktop_env(u);
        let r = desktop(u, &d, &home, &["install", "fox"]);
        r.ok();
        let file = home.join("applications/fox.desktop");
        let text = std::fs::read_to_string(&file).unwrap();
        let jail = jail_bin().display().to_string();
        let main = format!(
            "Exec={jail} run --profile fox -- /usr/bin/grep -H NoNewPrivs /proc/self/status %U"
        );
        let action = format!(
            "Exec={jail} run --profile fox -- /usr/bin/grep -H Seccomp: /proc/self/status %u"
        );
        assert!(text.lines().any(|l| l == main), "{text}");
        assert!(text.lines().any(|l| l == action), "{text}");
        for kept in [
            "TryExec=/usr/bin/grep",
            "Icon=fox-icon",
            "Name[de]=Fuchs",
            "Actions=new-window;",
            "X-Jail-Wrapper=true",
        ] {
            assert!(text.lines().any(|l| l == kept), "{kept} missing:\n{text}");
        }
        assert!(
            !text.contains("DBusActivatable"),
            "a D-Bus launch would bypass jail:\n{text}"
        );
        assert_eq!(
            std::fs::read_to_string(&sys).unwrap(),
            FOX,
            "the system file is untouched"
        );

        // Launching it as a menu would runs the command in a sandbox; the original does not.
        let inside = launch(main.strip_prefix("Exec=").unwrap(), u, &d);
        assert!(inside.contains("NoNewPrivs:\t1"), "[{}] {inside}", u.name);
        let outside = launch("/usr/bin/grep -H NoNewPrivs /proc/self/status %U", u, &d);
        assert!(outside.contains("NoNewPrivs:\t0"), "{outside}");
        let act = launch(action.strip_prefix("Exec=").unwrap(), u, &d);
        assert!(act.contains("Seccomp:\t2"), "{act}");

        // Idempotent.
        desktop(u, &d, &home, &["install", "fox.desktop"]).ok();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
        let r = desktop(u, &d, &home, &["list"]);
        r.ok();
        assert!(
            r.stdout()
                .lines()
                .any(|l| l.starts_with("fox ") && l.contains(&file.display().to_string())),
            "{}",
            r.stdout()
        );

        desktop(u, &d, &home, &["remove", "fox"]).ok();
        assert!(!file.exists());
        let r = desktop(u, &d, &home, &["remove", "fox"]);
        r.ok();
        assert!(r.stdout().contains("no jail wrapper"), "{}", r.stdout());
        assert_eq!(std::fs::read_to_string(&sys).unwrap(), FOX);
    });
}

#[test]
fn desktop_touches_only_its_own_files() {
    each_user(|u| {
        let (d, home, _) = desktop_env(u);
        // The user's own fox.desktop: neither replaced nor removed.
        let own = write_file(
            u,
            &home,
            "applications/fox.desktop",
            "[Desktop Entry]\nName=Mine\nExec=mine\n",
        );
        let r = desktop(u, &d, &home, &["install", "fox"]);
        r.expect_code(1);
        assert!(
            r.stderr().contains("was not written by jail"),
            "{}",
            r.stderr()
        );
        let r = desktop(u, &d, &home, &["remove", "fox"]);
        r.expect_code(1);
        assert_eq!(
            std::fs::read_to_string(&own).unwrap(),
            "[Desktop Entry]\nName=Mine\nExec=mine\n"
        );
        assert!(!desktop(u, &d, &home, &["list"]).stdout().contains("fox"));

        // Unknown application, unknown profile, no names.
        let r = desktop(u, &d, &home, &["install", "nosuchapp"]);
        r.expect_code(1);
        assert!(
            r.stderr().starts_with("jail: error: nosuchapp: "),
            "{}",
            r.stderr()
        );
        write_file(
            u,
            &d,
            "share/applications/noprof.desktop",
            "[Desktop Entry]\nName=N\nExec=n\n",
        );
        let r = desktop(u, &d, &home, &["install", "noprof"]);
        r.expect_code(1);
        assert!(
            r.stderr().contains("no usable profile named \"noprof\""),
            "{}",
            r.stderr()
        );
        desktop(u, &d, &home, &["install"]).expect_code(2);
    });
}

/// The wrapper is written without following a symlink: neither a planted symlink at the
/// applications folder nor one at the wrapper's name makes jail write elsewhere.
#[test]
fn desktop_install_never_writes_through_a_symlink() {
    each_user(|u| {
        let (d, home, _) = desktop_env(u);
        let victim_dir = d.join("victim");
        let victim = write_file(u, &victim_dir, "fox.desktop", "VICTIM\n");
        // ~/.local/share/applications is a symlink to another folder.
        std::fs::create_dir_all(&home).unwrap();
        std::os::unix::fs::symlink(&victim_dir, home.join("applications")).unwrap();
        if euid() == 0 {
            std::os::unix::fs::lchown(home.join("applications"), Some(u.uid), Some(u.gid)).unwrap();
            std::os::unix::fs::chown(&home, Some(u.uid), Some(u.gid)).unwrap();
        }
        let r = desktop(u, &d, &home, &["install", "fox"]);
        r.expect_code(1);
        assert!(r.stderr().contains("is a symlink"), "{}", r.stderr());
        let r = desktop(u, &d, &home, &["remove", "fox"]);
        r.expect_code(1);
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "VICTIM\n");
        assert_eq!(std::fs::read_dir(&victim_dir).unwrap().count(), 1);

        // The wrapper's own name is a symlink (to a file that even carries jail's marker).
        std::fs::remove_file(home.join("applications")).unwrap();
        let apps = home.join("applications");
        let marked = write_file(
            u,
            &victim_dir,
            "marked",
            "[Desktop Entry]\nX-Jail-Wrapper=true\nExec=x\n",
        );
        write_file(u, &apps, ".keep", "");
        std::os::unix::fs::symlink(&marked, apps.join("fox.desktop")).unwrap();
        let r = desktop(u, &d, &home, &["install", "fox"]);
        r.expect_code(1);
        assert!(
            r.stderr().contains("was not written by jail"),
            "{}",
            r.stderr()
        );
        desktop(u, &d, &home, &["remove", "fox"]).expect_code(1);
        assert!(std::fs::symlink_metadata(apps.join("fox.desktop"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(std::fs::read_to_string(&marked)
            .unwrap()
            .starts_with("[Desktop Entry]\nX-Jail-Wrapper=true\nExec=x"));
        // No temporary file is left behind.
        let names: Vec<String> = std::fs::read_dir(&apps)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    });
}

/// A source that is a FIFO, a device, too large or binary is refused, never hangs; a symlinked
/// source (as distributions ship them) is read.
#[test]
fn desktop_install_refuses_sources_that_are_not_desktop_files() {
    each_user(|u| {
        let (d, home, sys) = desktop_env(u);
        let apps = sys.parent().unwrap().to_path_buf();
        std::fs::rename(&sys, d.join("real-fox.desktop")).unwrap();
        std::os::unix::fs::symlink(d.join("real-fox.desktop"), &sys).unwrap();
        desktop(u, &d, &home, &["install", "fox"]).ok();
        let text = std::fs::read_to_string(home.join("applications/fox.desktop")).unwrap();
        assert!(text.contains("Exec="), "{text}");

        for (name, what) in [
            ("fifo", "not a regular file"),
            ("zero", "not a regular file"),
            ("big", "larger than"),
            ("bin", "not UTF-8"),
        ] {
            write_file(
                u,
                &d,
                &format!("profiles/{name}.toml"),
                "include = [\"base\"]\n",
            );
            let p = apps.join(format!("{name}.desktop"));
            match name {
                "fifo" => {
                    nix_mkfifo(&p);
                }
                "zero" => std::os::unix::fs::symlink("/dev/zero", &p).unwrap(),
                "big" => std::fs::write(&p, "#".repeat(2 << 20)).unwrap(),
                _ => std::fs::write(&p, b"[Desktop Entry]\nExec=\xff\n").unwrap(),
            }
            let r = desktop(u, &d, &home, &["install", name]);
            r.expect_code(1);
            assert!(r.stderr().contains(what), "{name}: {}", r.stderr());
            assert!(!home.join(format!("applications/{name}.desktop")).exists());
        }
    });
}

fn nix_mkfifo(p: &Path) {
    let st = Command::new("mkfifo").arg(p).status().unwrap();
    assert!(st.success());
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o666)).unwrap();
}

// ---------------------------------------------------------------------------------------------
// A real browser: firefox-esr under its profile takes a screenshot of a loopback page.

#[test]
fn firefox_esr_screenshot_of_a_loopback_page() {
    if !need("firefox-esr") || !need("Xvfb") || !need("xauth") {
        return;
    }
    each_user(|u| {
        let d = tempdir(u);
        // A page on loopback, served outside the sandbox (the profile shares the host network).
        let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = server.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for s in server.incoming().flatten() {
                let mut s = s;
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let body = "<html><body style='background:#c00'><h1>inside jail</h1></body></html>";
                let _ = write!(s, "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}", body.len());
            }
        });
        // An X session (Xvfb with a cookie), as on a desktop.
        let auth = d.join("xauth");
        let n = free_display();
        let add = Command::new("xauth")
            .arg("-f")
            .arg(&auth)
            .args(["add", &format!(":{n}"), ".", &cookie(9)])
            .output()
            .unwrap();
        assert!(add.status.success());
        if euid() == 0 {
            std::os::unix::fs::chown(&auth, Some(u.uid), Some(u.gid)).unwrap();
        }
        let _x = xvfb(n, &auth);
        let out = d.join("out");
        std::fs::create_dir_all(&out).unwrap();
        if euid() == 0 {
            std::os::unix::fs::chown(&out, Some(u.uid), Some(u.gid)).unwrap();
        }
        let shot = out.join("shot.png");
        // The packaged firefox-esr profile, adjusted for this session by a .local file as a user
        // would: X11 (Xvfb) instead of Wayland, no sound server, the output folder.
        // Firefox's own sandbox also needs an ipc namespace and chroot() (it chroots its
        // content processes into an empty folder); added here until the packaged profile has
        // them (both are no-ops when it does: lists merge without duplicates).
        let local = format!(
            "[gui]\nwayland = false\nx11 = true\npulseaudio = false\n\
             [namespaces]\nnet = false\nnested = [\"user\", \"pid\", \"net\", \"ipc\"]\n\
             [filesystem]\nrw = [\"{}\"]\n\
             [[seccomp.rule]]\nsyscall = \"chroot\"\narg = 0\nop = \"ne\"\nvalue = 0\naction = \"allow\"\n",
            out.display()
        );
        let mut j = Jail::new(u)
            .profile("firefox-esr.local", &local)
            .env("DISPLAY", format!(":{n}"))
            .env("XAUTHORITY", &auth);
        if u.is_root() {
            // A sandbox started by root runs as uid 0 inside; the kernel lets a nested user
            // namespace map uid 0 only when its creator had CAP_SETFCAP, which jail drops, so
            // Firefox's own sandbox cannot start there.
            j = j.args(["run", "--env", "MOZ_DISABLE_CONTENT_SANDBOX=1"]);
        } else {
            j = j.args(["run"]);
        }
        let r = j
            .args([
                "--profile",
                "firefox-esr",
                "--chdir",
                "/",
                "--",
                "firefox-esr",
                "--headless",
                "--screenshot",
            ])
            .arg_path(&shot)
            .args([format!("http://127.0.0.1:{port}/")])
            .output();
        r.ok();
        let png = std::fs::read(&shot)
            .unwrap_or_else(|e| panic!("[{}] no screenshot ({e}):\n{}", u.name, r.stderr()));
        assert!(
            png.len() > 1000,
            "a real page, not an empty file: {} bytes",
            png.len()
        );
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
    });
}
