//! A real browser: firefox-esr under its profile takes a screenshot of a loopback page.
use super::x11::{cookie, free_display, xvfb};
use super::*;

#[test]
fn firefox_esr_screenshot_of_a_loopback_page() {
    if !need("firefox-esr") || !need("Xvfb") || !need("xauth") {
        return;
    }
    screenshot(true);
}

/// On a server: no display at all; the packaged profile still runs `--headless`.
#[test]
fn firefox_esr_headless_with_no_display() {
    if !need("firefox-esr") {
        return;
    }
    screenshot(false);
}

/// A page on loopback, served outside the sandbox (the browser profiles share the host
/// network), for as long as the test process runs; returns its port.
pub(super) fn loopback_page(body: &'static str) -> u16 {
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut s in server.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

/// A folder `d/NAME` owned by `u` (the output folder a browser writes its screenshot to).
pub(super) fn user_dir(u: &User, d: &Path, name: &str) -> PathBuf {
    let out = d.join(name);
    std::fs::create_dir_all(&out).unwrap();
    if euid() == 0 {
        std::os::unix::fs::chown(&out, Some(u.uid), Some(u.gid)).unwrap();
    }
    out
}

fn screenshot(with_display: bool) {
    each_user(|u| {
        let d = tempdir(u);
        let port =
            loopback_page("<html><body style='background:#c00'><h1>inside jail</h1></body></html>");
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
        let _x = with_display.then(|| xvfb(n, &auth));
        let out = d.join("out");
        std::fs::create_dir_all(&out).unwrap();
        if euid() == 0 {
            std::os::unix::fs::chown(&out, Some(u.uid), Some(u.gid)).unwrap();
        }
        let shot = out.join("shot.png");
        // The packaged firefox-esr profile as shipped (no .local file): display = "auto" finds
        // the X server, sound = "auto" finds none; the output folder is granted by a flag.
        // firefox-esr's first start in a fresh profile now and then stops in its event loop
        // with nothing left to do (seen under a loaded machine, with and without jail's
        // changes); it is given 90 s, then killed and started once more.
        let attempt = || {
            let mut j = Jail::new(u);
            if with_display {
                j = j.env("DISPLAY", format!(":{n}")).env("XAUTHORITY", &auth);
            }
            // Also as root: root is mapped to an ordinary id inside because the profile nests
            // user namespaces, so Firefox's own content sandbox starts (it used to hang).
            j = j.args(["run"]);
            j.args(["--profile", "firefox-esr", "--bind"])
                .arg_path(&out)
                .args([
                    "--chdir",
                    "/",
                    "--",
                    "firefox-esr",
                    "--headless",
                    "--screenshot",
                ])
                .arg_path(&shot)
                .args([format!("http://127.0.0.1:{port}/")])
                .output_within(std::time::Duration::from_secs(90))
        };
        let r = attempt()
            .or_else(|| {
                eprintln!(
                    "[{}] firefox-esr did not finish in 90 s: killed, trying once more",
                    u.name
                );
                attempt()
            })
            .unwrap_or_else(|| panic!("[{}] firefox-esr hung twice", u.name));
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

/// The refusal report on the case of issue 15: a hand-written firefox-esr profile
/// (tests/desktop/firefox-hand.toml) without the chroot rule Firefox's own sandbox needs. The
/// headless screenshot fails, and jail's note names chroot and the lines to add; with those
/// lines added the screenshot is taken. As the unprivileged user (as root, Firefox's sandbox
/// cannot start in a nested user namespace at all; see above).
#[test]
#[ignore = "did not finish within 400 s in the helper's run (the failing first launch may hang); checked by hand, see the report"]
fn firefox_esr_refused_chroot_is_named_and_the_named_lines_fix_it() {
    if !need("firefox-esr") {
        return;
    }
    each_user(|u| {
        if u.is_root() {
            eprintln!(
                "as root Firefox's own sandbox does not start (CAP_SETFCAP): unprivileged only"
            );
            return;
        }
        let d = tempdir(u);
        let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = server.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for mut s in server.incoming().flatten() {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let body =
                    "<html><body style='background:#0c0'><h1>refusal report</h1></body></html>";
                let _ = write!(s, "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}", body.len());
            }
        });
        let out = d.join("out");
        std::fs::create_dir_all(&out).unwrap();
        if euid() == 0 {
            std::os::unix::fs::chown(&out, Some(u.uid), Some(u.gid)).unwrap();
        }
        let shot = out.join("shot.png");
        let hand = include_str!("firefox-hand.toml");
        let run = |extra: &str| {
            let p = format!(
                "include = [\"firefox-hand\"]\n[filesystem]\nrw = [\"{}\"]\n{extra}",
                out.display()
            );
            Jail::new(u)
                .profile("firefox-hand", hand)
                .profile("p", &p)
                .args(["run", "-p", "p", "--chdir", "/", "--"])
                .args(["firefox-esr", "--headless", "--screenshot"])
                .arg_path(&shot)
                .args([format!("http://127.0.0.1:{port}/")])
                .output()
        };
        let r = run("");
        let err = r.stderr();
        assert!(
            !shot.exists(),
            "[{}] a screenshot without chroot:\n{err}",
            u.name
        );
        let at = err
            .find("jail: note: refused chroot ")
            .unwrap_or_else(|| panic!("[{}] no note about chroot:\n{err}", u.name));
        assert!(
            err[at..].contains("(@mount in @default-deny; it got EPERM)"),
            "{err}"
        );
        // The lines the note gives, as the user would paste them.
        let lines: String = err[at..]
            .lines()
            .skip(1)
            .take_while(|l| l.starts_with("    "))
            .map(|l| format!("{}\n", l.trim_start()))
            .collect();
        assert!(lines.contains("syscall = \"chroot\""), "{lines}");
        let r = run(&lines);
        let png = std::fs::read(&shot).unwrap_or_else(|e| {
            panic!(
                "[{}] no screenshot with the lines added ({e}):\n{}",
                u.name,
                r.stderr()
            )
        });
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
        assert!(!r.stderr().contains("refused chroot"), "{}", r.stderr());
    });
}
