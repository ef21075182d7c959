//! A private terminal for COMMAND when jail runs in one and `new_session` is on.
//!
//! `setsid()` alone would leave an interactive shell without a controlling terminal (no job
//! control, no Ctrl-C to the foreground job). Sharing the caller's terminal would let COMMAND
//! push keystrokes into it (TIOCSTI). So COMMAND gets a new pty as its controlling terminal and
//! the supervisor relays bytes between it and the caller's terminal, which is put in raw mode
//! meanwhile: Ctrl-C then reaches the pty, whose line discipline signals the sandbox's own
//! foreground job.
//!
//! The pty is made from the sandbox's own devpts (its `/dev/ptmx`, after the pivot), so inside
//! `tty` names a device that exists there; the master is handed to the supervisor over a
//! socket (SCM_RIGHTS).

use nix::errno::Errno;
use nix::pty::Winsize;
use nix::sys::socket::{self, ControlMessage, ControlMessageOwned, MsgFlags};
use nix::sys::termios::{self, SetArg, Termios};
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

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

/// The caller's terminal (jail's stdin), whose settings are restored on drop.
pub struct Terminal {
    saved: Termios,
    /// The fd the relay writes the sandbox's output to.
    pub out: i32,
}

impl Terminal {
    /// None when stdin is not a terminal.
    pub fn of_stdin() -> Option<Terminal> {
        if !nix::unistd::isatty(stdfd(0)).unwrap_or(false) {
            return None;
        }
        let saved = termios::tcgetattr(stdfd(0)).ok()?;
        let t = tty_std();
        let out = if t[1] {
            1
        } else if t[2] {
            2
        } else {
            1
        };
        Some(Terminal { saved, out })
    }

    /// Puts the caller's terminal in raw mode: every key goes to the pty as typed.
    pub fn raw(&self) {
        let mut raw = self.saved.clone();
        termios::cfmakeraw(&mut raw);
        let _ = termios::tcsetattr(stdfd(0), SetArg::TCSADRAIN, &raw);
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        // Input not yet read is dropped first: the terminal's answers to queries the sandbox
        // sent (ESC[6n and the like) would otherwise be read by the next program on it.
        let _ = termios::tcflush(stdfd(0), termios::FlushArg::TCIFLUSH);
        let _ = termios::tcsetattr(stdfd(0), SetArg::TCSADRAIN, &self.saved);
    }
}

/// The supervisor's side: the pty master and the caller's terminal.
pub struct Pty {
    pub master: OwnedFd,
    pub term: Terminal,
}

impl Pty {
    /// Copies the caller's window size to the pty (the kernel then signals SIGWINCH inside).
    pub fn resize(&self) {
        if let Some(ws) = winsize(0) {
            set_winsize(self.master.as_raw_fd(), &ws);
        }
    }

    pub fn master(&self) -> BorrowedFd<'_> {
        self.master.as_fd()
    }
}

/// Opens a new pty pair from `ptmx` with the caller's terminal settings and window size (read
/// from fd 0): (master, slave).
pub fn new_pair(ptmx: &str) -> Result<(OwnedFd, OwnedFd), Errno> {
    let master = super::sys::openat2(libc::AT_FDCWD, ptmx, libc::O_RDWR | libc::O_NOCTTY, 0)?;
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads an int; TIOCGPTPEER returns a new descriptor of the slave.
    let slave = unsafe {
        if libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) < 0 {
            return Err(Errno::last());
        }
        let fd = libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        if fd < 0 {
            return Err(Errno::last());
        }
        OwnedFd::from_raw_fd(fd)
    };
    if let Ok(t) = termios::tcgetattr(stdfd(0)) {
        let _ = termios::tcsetattr(&slave, SetArg::TCSANOW, &t);
    }
    if let Some(ws) = winsize(0) {
        set_winsize(slave.as_raw_fd(), &ws);
    }
    Ok((master, slave))
}

/// Sends one descriptor over a unix socket.
pub fn send_fd(sock: &OwnedFd, fd: RawFd) -> Result<(), Errno> {
    let fds = [fd];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    socket::sendmsg::<()>(
        sock.as_raw_fd(),
        &[IoSlice::new(b"p")],
        &cmsg,
        MsgFlags::empty(),
        None,
    )
    .map(drop)
}

/// Receives one descriptor without blocking; None when none was sent.
pub fn recv_fd(sock: &OwnedFd) -> Option<OwnedFd> {
    let mut byte = [0u8; 1];
    let mut iov = [IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = socket::recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .ok()?;
    for c in msg.cmsgs().ok()? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            // SAFETY: the kernel installed these descriptors for us; nothing else owns them.
            return fds.first().map(|&fd| unsafe { OwnedFd::from_raw_fd(fd) });
        }
    }
    None
}
