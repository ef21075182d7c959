//! X11: the display's socket and only its cookie.
use super::*;

/// A free X display number (no socket, no lock file).
pub(super) fn free_display() -> u32 {
    // Handed out once per test process: two tests running at once (this one and the browser's)
    // must not both see the same number free before either server has made its socket.
    static TAKEN: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());
    let mut taken = TAKEN.lock().unwrap_or_else(|e| e.into_inner());
    let n = (60..200)
        .find(|n| {
            !taken.contains(n)
                && !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
        })
        .expect("a free X display number");
    taken.push(n);
    n
}

/// A running Xvfb; on drop it is killed, then its socket and lock file (which a killed X server
/// leaves in /tmp) are removed. Fields drop in order: the server first.
pub(super) struct XServer {
    _server: Reaper,
    _files: [TempDir; 2],
}

/// Starts Xvfb on display `n`, requiring the cookie in `auth`.
pub(super) fn xvfb(n: u32, auth: &Path) -> XServer {
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

pub(super) fn cookie(seed: u8) -> String {
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
