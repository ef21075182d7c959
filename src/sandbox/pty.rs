//! A private terminal for COMMAND when jail runs in one and `new_session` is on.
//!
//! `setsid()` alone would leave an interactive shell without a controlling terminal (no job
//! control, no Ctrl-C to the foreground job). Sharing the caller's terminal would let COMMAND
//! push keystrokes into it (TIOCSTI). So COMMAND gets a new pty as its controlling terminal and
//! the supervisor relays bytes between it and the caller's terminal, which is put in raw mode
//! meanwhile: Ctrl-C then reaches the pty, whose line discipline signals the sandbox's own
//! foreground job.

use nix::pty::{openpty, Winsize};
use nix::sys::termios::{self, SetArg, Termios};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

pub struct Pty {
    pub master: OwnedFd,
    pub slave: Option<OwnedFd>,
    /// The caller's terminal settings, restored on drop.
    saved: Option<Termios>,
    /// The caller's terminal (one of 0, 1, 2).
    pub host: i32,
}

fn stdfd(fd: i32) -> BorrowedFd<'static> {
    // SAFETY: 0, 1 and 2 stay open for the life of the process.
    unsafe { BorrowedFd::borrow_raw(fd) }
}

pub fn winsize(fd: i32) -> Option<Winsize> {
    let mut ws: Winsize = Winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes a winsize into the struct we pass.
    (unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } == 0).then_some(ws)
}

pub fn set_winsize(fd: i32, ws: &Winsize) {
    // SAFETY: TIOCSWINSZ reads the struct we pass.
    unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, ws as *const Winsize) };
}

/// Which of 0, 1, 2 are terminals.
pub fn tty_std() -> [bool; 3] {
    [0, 1, 2].map(|fd| nix::unistd::isatty(stdfd(fd)).unwrap_or(false))
}

impl Pty {
    /// A pty with the caller's terminal settings and size, or None when stdin is no terminal.
    pub fn open() -> Option<Pty> {
        let ttys = tty_std();
        if !ttys[0] {
            return None;
        }
        let host = 0;
        let saved = termios::tcgetattr(stdfd(host)).ok()?;
        let ws = winsize(host);
        let pair = openpty(ws.as_ref(), Some(&saved)).ok()?;
        let _ = nix::fcntl::fcntl(
            &pair.master,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        );
        let _ = nix::fcntl::fcntl(
            &pair.slave,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        );
        Some(Pty {
            master: pair.master,
            slave: Some(pair.slave),
            saved: Some(saved),
            host,
        })
    }

    /// Puts the caller's terminal in raw mode: every key goes to the pty as typed.
    pub fn raw(&self) {
        if let Some(saved) = &self.saved {
            let mut raw = saved.clone();
            termios::cfmakeraw(&mut raw);
            let _ = termios::tcsetattr(stdfd(self.host), SetArg::TCSADRAIN, &raw);
        }
    }

    /// Copies the caller's window size to the pty (the kernel then signals SIGWINCH inside).
    pub fn resize(&self) {
        if let Some(ws) = winsize(self.host) {
            set_winsize(self.master.as_raw_fd(), &ws);
        }
    }

    pub fn master(&self) -> BorrowedFd<'_> {
        self.master.as_fd()
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let _ = termios::tcsetattr(stdfd(self.host), SetArg::TCSADRAIN, saved);
        }
    }
}
