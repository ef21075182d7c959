//! The refusal report (issue 15): a call the sandbox refuses gets the same errno as without the
//! report, and jail's note names the call, how often, what refused it, and the profile lines
//! that allow it; with those lines added the call works. Each sandbox runs python3 from the
//! host's /usr (`include = ["base"]`), as root and as the unprivileged test user.
mod common;
use common::*;

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
