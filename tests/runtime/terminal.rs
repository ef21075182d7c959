//! Interactive use through a terminal.
use super::*;

pub(super) struct Term {
    master: std::fs::File,
    /// Output not yet consumed by `expect`.
    seen: Vec<u8>,
    /// Everything the terminal showed.
    pub(super) all: Vec<u8>,
}

impl Term {
    pub(super) fn send(&mut self, b: &[u8]) {
        self.master.write_all(b).unwrap();
    }
    /// Reads until `want` appears after what was already consumed; returns what came before it.
    pub(super) fn expect(&mut self, want: &str) -> String {
        let end = Instant::now() + Duration::from_secs(20);
        let mut buf = [0u8; 4096];
        loop {
            if let Some(i) = String::from_utf8_lossy(&self.seen).find(want) {
                let s = String::from_utf8_lossy(&self.seen).into_owned();
                self.seen = s.as_bytes()[i + want.len()..].to_vec();
                return s[..i].to_string();
            }
            assert!(
                Instant::now() < end,
                "terminal never showed {want:?}; got {:?}",
                String::from_utf8_lossy(&self.seen)
            );
            let mut pfd = libc::pollfd {
                fd: self.master.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd, for the duration of the call.
            let n = unsafe { libc::poll(&mut pfd, 1, 200) };
            if n > 0 {
                match self.master.read(&mut buf) {
                    Ok(0) | Err(_) => std::thread::sleep(Duration::from_millis(50)),
                    Ok(k) => {
                        self.seen.extend_from_slice(&buf[..k]);
                        self.all.extend_from_slice(&buf[..k]);
                    }
                }
            }
        }
    }
}

/// Starts `j` with a new pseudo-terminal as its stdin, stdout, stderr and controlling
/// terminal, as a user's terminal emulator would.
pub(super) fn in_terminal(mut j: Jail) -> (Child, Term) {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two descriptors; no name, termios or size given.
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(r, 0);
    // SAFETY: openpty returned two fresh descriptors we now own.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    if euid() == 0 && !j.user.is_root() {
        nix::unistd::fchown(&slave, Some(nix::unistd::Uid::from_raw(j.user.uid)), None).unwrap();
    }
    j.cmd
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave.try_clone().unwrap()));
    // SAFETY: setsid and ioctl are async-signal-safe; fd 0 is the pty slave by then.
    unsafe {
        j.cmd.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = j.cmd.spawn().unwrap();
    drop(slave);
    let t = Term {
        master: std::fs::File::from(master),
        seen: vec![],
        all: vec![],
    };
    (child, t)
}

#[test]
fn interactive_shell_through_a_terminal() {
    each_user(|u| {
        let (mut child, mut t) = in_terminal(
            Jail::new(u)
                .env("TERM", "dumb")
                .args(["run", "--env", "PS1=$ ", "--", "/bin/sh", "-i"]),
        );
        t.expect("$ ");
        t.send(b"echo $((6*7))\n");
        t.expect("42\r\n");
        t.expect("$ ");
        // Ctrl-C stops the foreground job, not the shell.
        let m = marker();
        t.send(format!("sleep {m}; echo after-sleep\n").as_bytes());
        assert!(
            appears(&format!("sleep {m}")),
            "the sleep never started: {:?}",
            String::from_utf8_lossy(&t.seen)
        );
        t.send(b"\x03");
        t.expect("$ ");
        t.send(b"echo alive$((1+1))\n");
        t.expect("alive2\r\n");
        // COMMAND's terminal is a private pty, and its controlling terminal.
        t.send(b"test -t 0 && test -t 1 && echo term-ok; echo via-dev-tty > /dev/tty\n");
        t.expect("term-ok\r\n");
        t.expect("via-dev-tty\r\n");
        t.send(b"exit 5\n");
        let code = wait_deadline(&mut child, "interactive");
        assert_eq!(
            code,
            5,
            "[{}] {:?}",
            u.name,
            String::from_utf8_lossy(&t.seen)
        );
        // "after-sleep" shows once, as the echo of the typed line: the list was interrupted.
        let all = String::from_utf8_lossy(&t.all);
        assert_eq!(
            all.matches("after-sleep").count(),
            1,
            "[{}] {all:?}",
            u.name
        );
        assert!(
            pgrep(&format!("sleep {m}")).is_empty(),
            "Ctrl-C did not stop the sleep"
        );
    });
}
