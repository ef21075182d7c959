//! The refusal report (issue 15): a call the sandbox refuses gets the same errno as without the
//! report, and jail's note names the call, how often, what refused it, and the profile lines
//! that allow it; with those lines added the call works. Each sandbox runs python3 from the
//! host's /usr (`include = ["base"]`), as root and as the unprivileged test user.
mod common;
use common::*;

use std::path::Path;
use std::process::{Command, Stdio};

/// `jail run [EXTRA…] --chdir / -p p -- python3 -c CODE` with profile `p` = `toml`.
fn py(u: &User, toml: &str, extra: &[&str], code: &str) -> Run {
    let mut args: Vec<String> = vec!["run".into()];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(["--chdir", "/", "-p", "p", "--", "python3", "-c", code].map(String::from));
    Jail::new(u).profile("p", toml).args(args).output()
}

/// A user namespace of its own (so that chroot is the kernel's to allow), then chroot("/")
/// `n` times; prints `chroot 0` or `chroot ERRNO`, exits 0 when it worked, 3 when not.
const CHROOT: &str = r#"
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(0x10000000) != 0:
    print("unshare", ctypes.get_errno()); sys.exit(4)
for _ in range(int(sys.argv[1]) if len(sys.argv) > 1 else 3):
    ctypes.set_errno(0)
    r = libc.chroot(b"/")
e = ctypes.get_errno() if r else 0
print("chroot", e, flush=True)
sys.exit(0 if e == 0 else 3)
"#;

const NESTED_USER: &str = "include = [\"base\"]\n[namespaces]\nnested = [\"user\"]\n";

/// The TOML the note tells the user to add: the indented lines after "add to the profile:".
fn lines_to_add(stderr: &str) -> String {
    let at = stderr
        .find("to allow it add to the profile:\n")
        .unwrap_or_else(|| panic!("no profile lines in the note:\n{stderr}"));
    stderr[at..]
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("    "))
        .map(|l| format!("{}\n", l.trim_start()))
        .collect()
}

#[test]
fn refused_chroot_is_named_with_the_lines_that_allow_it() {
    each_user(|u| {
        // Outside any sandbox the same program's chroot works.
        let host = Command::new("python3")
            .args(["-c", CHROOT])
            .current_dir("/")
            .stdin(Stdio::null())
            .uid_gid(u)
            .output()
            .expect("python3 on the host");
        assert_eq!(
            String::from_utf8_lossy(&host.stdout),
            "chroot 0\n",
            "[{}] chroot on the host: {host:?}",
            u.name
        );
        // Inside, @default-deny refuses it with EPERM, as without the report, and jail says so.
        let r = py(u, NESTED_USER, &[], CHROOT);
        r.expect_code(3);
        assert_eq!(r.stdout(), "chroot 1\n", "[{}]", u.name);
        let err = r.stderr();
        assert!(
            err.contains(
                "jail: note: refused chroot \u{d7}3 (@mount in @default-deny; it got EPERM)"
            ),
            "[{}] {err}",
            u.name
        );
        assert_eq!(err.matches("jail: note:").count(), 1, "[{}] {err}", u.name);
        // The lines it names, added to the profile, let the call through.
        let lines = lines_to_add(&err);
        assert!(
            lines.starts_with("[[seccomp.rule]]\nsyscall = \"chroot\"\n"),
            "{lines}"
        );
        let r = py(u, &format!("{NESTED_USER}{lines}"), &[], CHROOT);
        r.ok();
        assert_eq!(r.stdout(), "chroot 0\n", "[{}]", u.name);
        assert!(!r.stderr().contains("note:"), "[{}] {}", u.name, r.stderr());
    });
}

/// The errno the profile names is the one the app gets, and the one the note names.
#[test]
fn the_profile_errno_is_answered_and_named() {
    each_user(|u| {
        let code = "import os, sys\ntry:\n    os.uname(); print('uname ok')\nexcept OSError as e:\n    print('errno', e.errno); sys.exit(5)\n";
        let base = "include = [\"base\"]\n";
        let r = py(u, base, &[], code);
        r.ok();
        assert_eq!(r.stdout(), "uname ok\n");
        let p = format!(
            "{base}[seccomp]\ndeny = [\"@default-deny\", \"uname\"]\naction = \"errno:EACCES\"\n"
        );
        let r = py(u, &p, &[], code);
        r.expect_code(5);
        assert_eq!(
            r.stdout(),
            format!("errno {}\n", libc::EACCES),
            "[{}]",
            u.name
        );
        assert!(
            r.stderr()
                .contains("refused uname \u{d7}1 (seccomp.deny; it got EACCES)"),
            "[{}] {}",
            u.name,
            r.stderr()
        );
        // An argument rule: named as the rule.
        let p = format!("{base}[[seccomp.rule]]\nsyscall = \"uname\"\narg = 0\nop = \"ne\"\nvalue = 0\naction = \"errno:EOPNOTSUPP\"\n");
        let r = py(u, &p, &[], code);
        r.expect_code(5);
        assert_eq!(r.stdout(), format!("errno {}\n", libc::EOPNOTSUPP));
        assert!(
            r.stderr()
                .contains("refused uname \u{d7}1 (a [[seccomp.rule]] on uname; it got"),
            "[{}] {}",
            u.name,
            r.stderr()
        );
    });
}

/// Printed when COMMAND fails or with -v; never when it succeeds quietly, never with -q; and
/// with `report = false` the app sees the same errno and jail says nothing.
#[test]
fn when_the_note_is_printed() {
    each_user(|u| {
        let ok_after = CHROOT.replace("sys.exit(0 if e == 0 else 3)", "sys.exit(0)");
        let r = py(u, NESTED_USER, &[], &ok_after);
        r.ok();
        assert_eq!(r.stdout(), "chroot 1\n");
        assert!(!r.stderr().contains("note:"), "[{}] {}", u.name, r.stderr());
        let r = py(u, NESTED_USER, &["-v"], &ok_after);
        r.ok();
        assert!(
            r.stderr().contains("note: refused chroot"),
            "[{}] {}",
            u.name,
            r.stderr()
        );
        let r = py(u, NESTED_USER, &["-q"], CHROOT);
        r.expect_code(3);
        assert!(!r.stderr().contains("note:"), "[{}] {}", u.name, r.stderr());
        let off = format!("{NESTED_USER}[seccomp]\nreport = false\n");
        let r = py(u, &off, &[], CHROOT);
        r.expect_code(3);
        assert_eq!(r.stdout(), "chroot 1\n", "[{}]", u.name);
        assert!(!r.stderr().contains("note:"), "[{}] {}", u.name, r.stderr());
    });
}

/// Allowed calls never reach jail: a loop of getpid shows no note even with -v.
#[test]
fn allowed_calls_are_not_reported() {
    each_user(|u| {
        let code = "import os\nfor _ in range(100000): os.getpid()\nos.uname()\nprint('done')\n";
        let r = py(u, "include = [\"base\"]\n", &["-v"], code);
        r.ok();
        assert_eq!(r.stdout(), "done\n");
        assert!(!r.stderr().contains("note:"), "[{}] {}", u.name, r.stderr());
    });
}

/// COMMAND (and what it starts) holds no seccomp listener: none of its descriptors is one, and
/// a refused call after a fork is still answered by jail (so the listener is not in the child
/// either, and the filter still notifies).
#[test]
fn command_does_not_hold_the_listener() {
    each_user(|u| {
        let code = r#"
import os, sys, ctypes
def listeners():
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if "seccomp" in os.readlink(f"/proc/self/fd/{fd}"):
                n += 1
        except OSError:
            pass
    return n
print("here", listeners(), flush=True)
pid = os.fork()
if pid == 0:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.chroot(b"/")
    print("child", listeners(), ctypes.get_errno(), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
sys.exit(7)
"#;
        let r = py(u, "include = [\"base\"]\n", &[], code);
        r.expect_code(7);
        assert_eq!(r.stdout(), "here 0\nchild 0 1\n", "[{}]", u.name);
        assert!(
            r.stderr().contains("refused chroot \u{d7}1"),
            "[{}] {}",
            u.name,
            r.stderr()
        );
    });
}

/// Host processes as the test user (uid/gid switch when the tests run as root).
trait AsUser {
    fn uid_gid(&mut self, u: &User) -> &mut Self;
}
impl AsUser for Command {
    fn uid_gid(&mut self, u: &User) -> &mut Self {
        use std::os::unix::process::CommandExt;
        if euid() == 0 && !u.is_root() {
            self.uid(u.uid).gid(u.gid);
        }
        self
    }
}

/// A loopback web page for the rest of the test process; returns its URL.
fn serve_page() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut s in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let body = "<html><body style=\"background:#c00\"><h1>jail</h1></body></html>";
            let _ = write!(
                s,
                "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://127.0.0.1:{port}/")
}

/// `jail run -p p -- firefox-esr --headless --screenshot` in `home` (a fresh HOME, granted rw),
/// stopped with SIGTERM after `limit` seconds (Firefox without chroot restarts its content
/// processes for ever) and SIGKILL 10 s later. Returns (exit code or -1, stderr, screenshot).
fn firefox(u: &User, toml: &str, home: &Path, url: &str, limit: u64) -> (i32, String, bool) {
    use std::time::{Duration, Instant};
    let shot = home.join("shot.png");
    let log = home.join("jail.log");
    let prof = format!("{toml}[filesystem]\nrw = [\"{}\"]\n", home.display());
    let mut j = Jail::new(u).profile("p", &prof).args([
        "run",
        "--chdir",
        home.to_str().unwrap(),
        "-p",
        "p",
        "--",
        "env",
    ]);
    j.cmd.args([
        format!("HOME={}", home.display()),
        "firefox-esr".into(),
        "--headless".into(),
        "--no-remote".into(),
        "--screenshot".into(),
        shot.display().to_string(),
        url.into(),
    ]);
    // Firefox writes a lot: to a file, not a pipe that could fill up and stop it.
    let f = std::fs::File::create(&log).unwrap();
    j.cmd.stdout(Stdio::null()).stderr(f);
    let mut child = j.cmd.spawn().expect("start jail");
    let start = Instant::now();
    let mut signalled = 0;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        let t = start.elapsed();
        if signalled == 0 && t > Duration::from_secs(limit) {
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            signalled = 1;
        } else if signalled == 1 && t > Duration::from_secs(limit + 10) {
            unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
            signalled = 2;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let err = std::fs::read_to_string(&log).unwrap_or_default();
    eprintln!("firefox: {:?} after {:?}", status, start.elapsed());
    let taken = std::fs::metadata(&shot)
        .map(|m| m.len() > 0)
        .unwrap_or(false);
    (status.code().unwrap_or(-1), err, taken)
}

/// The issue's case: a hand-written Firefox profile (system folders read-only, a fresh home,
/// host network, the nested namespaces Firefox's own sandbox makes) without the chroot rule.
/// Firefox takes no screenshot; jail, once it is stopped, names chroot and the lines to add;
/// with those lines added the screenshot is taken.
#[test]
fn firefox_without_chroot_is_told_what_to_add() {
    if !need("firefox-esr") {
        return;
    }
    let url = serve_page();
    let toml = "include = [\"base\", \"network\"]\n\
                [namespaces]\nnested = [\"user\", \"pid\", \"net\", \"ipc\"]\n";
    each_user(|u| {
        let home = TempDir::new(u);
        let (code, err, taken) = firefox(u, toml, &home, &url, 20);
        assert!(
            !taken,
            "[{}] a screenshot without chroot ({code}):\n{err}",
            u.name
        );
        assert_ne!(code, 0, "[{}] {err}", u.name);
        assert!(
            err.contains("jail: note: refused chroot \u{d7}"),
            "[{}] no chroot note ({code}):\n{err}",
            u.name
        );
        let at = err.find("jail: note: refused chroot").unwrap();
        let lines = lines_to_add(&err[at..]);
        assert!(
            lines.starts_with("[[seccomp.rule]]\nsyscall = \"chroot\"\n"),
            "{lines}"
        );
        let home = TempDir::new(u);
        let (code, err, taken) = firefox(u, &format!("{toml}{lines}"), &home, &url, 60);
        assert!(
            taken,
            "[{}] no screenshot with the lines added ({code}):\n{err}",
            u.name
        );
        assert_eq!(code, 0, "[{}] {err}", u.name);
    });
}

/// A program that is in the sandbox but whose interpreter is not (an ELF's loader, a script's
/// `#!`): jail names the interpreter and the grant, instead of "not found". A COMMAND that runs
/// and exits 127 (a shell's "not found", the loader's missing library) gets a note.
#[test]
fn a_missing_interpreter_or_program_is_named() {
    each_user(|u| {
        let d = TempDir::new(u);
        let bin = d.join("bin");
        std::fs::create_dir(&bin).unwrap();
        std::fs::copy("/bin/true", bin.join("t")).unwrap();
        write_file(u, &bin, "s.py", "#!/usr/bin/python3\nprint(1)\n");
        for f in ["t", "s.py"] {
            std::fs::set_permissions(
                bin.join(f),
                std::os::unix::fs::PermissionsExt::from_mode(0o755),
            )
            .unwrap();
        }
        std::fs::set_permissions(&*d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&bin, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        // Outside, both run.
        for f in ["t", "s.py"] {
            assert!(Command::new(bin.join(f)).status().unwrap().success(), "{f}");
        }
        let toml = format!("[filesystem]\nro = [\"{}\"]\n", bin.display());
        let run = |prog: &str| {
            Jail::new(u)
                .profile("bare", &toml)
                .args(["run", "--chdir", "/", "-p", "bare", "--", prog])
                .output()
        };
        let r = run(&bin.join("t").to_string_lossy());
        assert_eq!(r.code(), 127, "[{}] {}", u.name, r.stderr());
        assert!(
            r.stderr()
                .contains("/lib64/ld-linux-x86-64.so.2, is not (grant it, e.g. ro = [\"/lib64\"])"),
            "[{}] {}",
            u.name,
            r.stderr()
        );
        let r = run(&bin.join("s.py").to_string_lossy());
        assert_eq!(r.code(), 127);
        assert!(
            r.stderr().contains("/usr/bin/python3, is not"),
            "[{}] {}",
            u.name,
            r.stderr()
        );
        let r = Jail::new(u)
            .args([
                "run",
                "--chdir",
                "/",
                "--",
                "/bin/sh",
                "-c",
                "no-such-program-here",
            ])
            .output();
        assert_eq!(r.code(), 127);
        assert!(
            r.stderr().contains("jail: note: COMMAND exited with 127"),
            "[{}] {}",
            u.name,
            r.stderr()
        );
    });
}

/// `AUDIT_GET`/`AUDIT_SET` of the kernel's audit (`enabled`), through python3: the previous
/// value, or None where this process may not (not root, no audit).
fn kernel_audit(set: Option<u32>) -> Option<u32> {
    let code = format!(
        r#"
import socket, struct, sys
c = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 9); c.bind((0, 0))
c.send(struct.pack("=IHHII", 16, 1000, 1, 1, 0))
d = c.recv(8192)
if struct.unpack("=H", d[4:6])[0] != 1000: sys.exit(1)
print(struct.unpack("=I", d[20:24])[0], flush=True)
v = {}
if v is not None:
    body = struct.pack("=IIIIIIIIIII", 1, v, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    c.send(struct.pack("=IHHII", 16 + len(body), 1001, 1 | 4, 2, 0) + body)
    d = c.recv(8192)
    if struct.unpack("=i", d[16:20])[0] != 0: sys.exit(2)
"#,
        set.map(|v| v.to_string()).unwrap_or_else(|| "None".into())
    );
    let o = Command::new("python3").args(["-c", &code]).output().ok()?;
    if !o.status.success() {
        return None;
    }
    String::from_utf8_lossy(&o.stdout).trim().parse().ok()
}

/// Where the kernel tells (Landlock ABI 7 audit, read by a sandbox started by root), jail names
/// what Landlock refused: here a TCP connection to a port `connect_tcp` does not list.
#[test]
fn a_landlock_refusal_is_named_where_the_kernel_tells() {
    let Some(u) = users().into_iter().find(|u| u.is_root()) else {
        eprintln!("skipped: Landlock's audit records are read by root only");
        return;
    };
    let Some(before) = kernel_audit(Some(1)) else {
        assert!(
            !common::strict(),
            "the kernel's audit cannot be turned on here"
        );
        eprintln!("SKIPPED: the kernel's audit cannot be turned on here");
        return;
    };
    struct Restore(u32);
    impl Drop for Restore {
        fn drop(&mut self) {
            kernel_audit(Some(self.0));
        }
    }
    let _restore = Restore(before);
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let code = format!(
        "import socket, sys\ns = socket.socket()\ntry:\n    s.connect(('127.0.0.1', {port})); print('connected')\nexcept OSError as e:\n    print('refused', e.errno); sys.exit(3)\n"
    );
    // Outside, it connects.
    let o = Command::new("python3")
        .args(["-c", &code])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("connected"));
    let r = py(
        &u,
        "include = [\"base\"]\n[namespaces]\nnet = false\n[landlock]\nconnect_tcp = [1]\n",
        &[],
        &code,
    );
    assert_eq!(r.code(), 3, "{}{}", r.stdout(), r.stderr());
    assert!(r.stdout().contains("refused 13"), "{}", r.stdout());
    assert!(
        r.stderr().contains(&format!(
            "jail: note: Landlock refused net.connect_tcp on port {port} \u{d7}1"
        )),
        "{}",
        r.stderr()
    );
    drop(l);
}
