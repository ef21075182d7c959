//! Class 1: terminal injection (CVE-2017-5226, CVE-2019-10063, CVE-2023-28100). The command runs
//! with a pty as its controlling terminal (stdin, stdout, stderr); afterwards the "outside shell"
//! reads the terminal's input queue: an injected "id\n" would be there.
use super::*;

/// Runs ARGV on a fresh pty (its controlling terminal), drains the output, then prints
/// `OUTPUT:` with what the command wrote and `RECEIVED:` with what waits in the input queue.
const PTY_HARNESS: &str = r#"
import os, sys, pty, fcntl, termios, select, time
m, s = pty.openpty()
pid = os.fork()
if pid == 0:
    os.setsid()
    fcntl.ioctl(s, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(s, fd)
    os.execv(sys.argv[1], sys.argv[1:])
out = b""
deadline = time.time() + 30
done = False
while time.time() < deadline:
    r, _, _ = select.select([m], [], [], 0.1)
    if r:
        try:
            out += os.read(m, 4096)
        except OSError:
            pass
    if not done:
        p, st = os.waitpid(pid, os.WNOHANG)
        if p:
            done = True
            deadline = min(deadline, time.time() + 0.5)
if not done:
    os.kill(pid, 9)
os.set_blocking(s, False)
got = b""
try:
    got = os.read(s, 4096)
except OSError:
    pass
print("OUTPUT:" + repr(out))
print("RECEIVED:" + repr(got))
"#;

fn on_pty(u: &User, argv: &[String]) -> String {
    assert!(need("/usr/bin/python3"));
    let o = host_cmd(u, "/usr/bin/python3")
        .arg("-c")
        .arg(PTY_HARNESS)
        .args(argv)
        .output()
        .unwrap();
    assert!(o.status.success(), "pty harness failed: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn received(report: &str) -> String {
    report
        .lines()
        .find_map(|l| l.strip_prefix("RECEIVED:"))
        .unwrap_or("")
        .to_string()
}

fn jail_argv(u: &User, profile: Option<&str>, attack: &[&str]) -> Vec<String> {
    let mut v = vec![
        jail_bin().to_string_lossy().into_owned(),
        "run".into(),
        "--ro-bind".into(),
        bin_dir().to_string_lossy().into(),
    ];
    if let Some(p) = profile {
        let dir = tempdir(u);
        v.push("--chdir".into());
        v.push("/".into());
        v.push("--profile".into());
        v.push(profile_file(u, &dir, "tty", p));
    }
    v.push("--".into());
    v.push(attacker());
    v.extend(attack.iter().map(|s| s.to_string()));
    v
}

/// TIOCSTI with the given high bits must not reach the caller's terminal, with the default
/// profile (a private pty) and with `new_session = false` (the caller's terminal shared: only
/// the seccomp rule stands between the sandbox and the shell).
fn tiocsti(high: &str) {
    each_user(|u| {
        let proof = on_pty(u, &[attacker(), "tiocsti".into(), "0".into(), high.into()]);
        assert!(
            received(&proof).contains("id\\n"),
            "proof failed: TIOCSTI {high} does not inject outside:\n{proof}"
        );
        for profile in [
            None,
            Some("include = [\"base\"]\n[process]\nnew_session = false\n"),
        ] {
            let rep = on_pty(u, &jail_argv(u, profile, &["tiocsti", "0", high]));
            assert!(
                !received(&rep).contains("id"),
                "[{}] ESCAPE: TIOCSTI {high} injected into the caller's terminal (profile {profile:?}):\n{rep}",
                u.name
            );
            assert!(
                rep.contains("tiocsti"),
                "[{}] the attacker did not run: {rep}",
                u.name
            );
        }
    });
}

#[test]
fn tiocsti_plain() {
    tiocsti("0");
}

#[test]
fn tiocsti_high_bits() {
    tiocsti("0xffffffff00000000");
}

#[test]
fn tiocsti_some_high_bits() {
    tiocsti("0x100000000");
}

/// TIOCLINUX only acts on virtual consoles; on the pty outside it reaches the tty layer (any
/// answer but EPERM), inside the sandbox it must be refused with EPERM before it gets there.
fn tioclinux(high: &str) {
    each_user(|u| {
        let proof = on_pty(
            u,
            &[attacker(), "tioclinux".into(), "0".into(), high.into()],
        );
        assert!(
            proof.contains("tioclinux") && !proof.contains("tioclinux err EPERM"),
            "proof failed: {proof}"
        );
        let rep = on_pty(
            u,
            &jail_argv(
                u,
                Some("include = [\"base\"]\n[process]\nnew_session = false\n"),
                &["tioclinux", "0", high],
            ),
        );
        assert!(
            rep.contains("tioclinux err EPERM"),
            "[{}] ESCAPE: TIOCLINUX {high} not refused by the filter:\n{rep}",
            u.name
        );
        assert!(!received(&rep).contains("id"), "{rep}");
    });
}

#[test]
fn tioclinux_plain() {
    tioclinux("0");
}

#[test]
fn tioclinux_high_bits() {
    tioclinux("0xdead000000000000");
}
