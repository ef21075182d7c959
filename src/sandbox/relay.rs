//! While the sandbox runs: the supervisor's one loop. It relays COMMAND's private terminal
//! (caller's input to the pty master without ever blocking, output back), forwards the signals
//! jail receives, takes init's status report, and returns COMMAND's exit status once the child
//! is gone. `jail run` ([`super::spawn`]) and `jail enter` ([`super::enter`]) both use it.

use super::init::status_code;
use super::pty::Pty;
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{self, Signal};
use nix::sys::signalfd::SignalFd;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::os::fd::{AsFd, OwnedFd};

/// Relays the pty, forwards signals, and returns when the child is gone.
pub(crate) fn wait_loop(
    child: Pid,
    sfd: &SignalFd,
    pty: Option<&Pty>,
    status_pipe: Option<&OwnedFd>,
    mut refusals: Option<&mut super::notify::Refusals>,
) -> i32 {
    let mut stdin_open = pty.is_some();
    let mut master_open = pty.is_some();
    let mut status: Option<i32> = None;
    let mut status_open = status_pipe.is_some();
    let mut buf = [0u8; 16384];
    // The caller's input not yet taken by the pty. The master is non-blocking and written only
    // when poll says it has room, so a COMMAND that does not read (raw mode, a paste of many
    // KiB) never blocks jail: signals keep being handled. At most PENDING_MAX bytes wait here;
    // meanwhile stdin is not read (the caller's terminal holds the rest).
    const PENDING_MAX: usize = 64 * 1024;
    let mut pending: Vec<u8> = Vec::new();
    let mut eof_pending = false;
    if let Some(p) = pty {
        let _ = nix::fcntl::fcntl(
            &p.master,
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        );
    }
    loop {
        if let Some(code) = status {
            if !master_open {
                return code;
            }
        }
        let mut fds = vec![PollFd::new(sfd.as_fd(), PollFlags::POLLIN)];
        let (mut i_stdin, mut i_master, mut i_status, mut i_refused) = (None, None, None, None);
        // Refused calls wait in the kernel for this answer: always polled, answered first.
        if let Some(l) = refusals.as_ref().and_then(|r| r.fd()) {
            i_refused = Some(fds.len());
            fds.push(PollFd::new(l, PollFlags::POLLIN));
        }
        if let (Some(sp), true, None) = (status_pipe, status_open, status) {
            i_status = Some(fds.len());
            fds.push(PollFd::new(sp.as_fd(), PollFlags::POLLIN));
        }
        if let Some(p) = pty {
            if stdin_open && status.is_none() && pending.len() < PENDING_MAX {
                // SAFETY: fd 0 stays open for the life of the process.
                i_stdin = Some(fds.len());
                fds.push(PollFd::new(
                    unsafe { std::os::fd::BorrowedFd::borrow_raw(0) },
                    PollFlags::POLLIN,
                ));
            }
            if master_open {
                i_master = Some(fds.len());
                let mut ev = PollFlags::POLLIN;
                if !pending.is_empty() && status.is_none() {
                    ev |= PollFlags::POLLOUT;
                }
                fds.push(PollFd::new(p.master(), ev));
            }
        }
        // Once the child is gone, drain the pty without waiting for more.
        let timeout = if status.is_some() {
            PollTimeout::from(100u16)
        } else {
            PollTimeout::NONE
        };
        match poll(&mut fds, timeout) {
            Ok(0) if status.is_some() => master_open = false,
            Ok(_) | Err(Errno::EINTR) => {}
            Err(_) => return status.unwrap_or(crate::EXIT_JAIL),
        }
        let ready = |i: Option<usize>| {
            i.and_then(|i| fds.get(i))
                .and_then(|f| f.revents())
                .map(|r| !r.is_empty())
                .unwrap_or(false)
        };
        let sig_ready = fds[0].revents().map(|r| !r.is_empty()).unwrap_or(false);
        let stdin_ready = ready(i_stdin);
        let master_ready = i_master
            .and_then(|i| fds.get(i))
            .and_then(|f| f.revents())
            .is_some_and(|r| r.intersects(!PollFlags::POLLOUT));
        let master_writable = i_master
            .and_then(|i| fds.get(i))
            .and_then(|f| f.revents())
            .is_some_and(|r| r.contains(PollFlags::POLLOUT));
        let status_ready = ready(i_status);
        let refused_ev = i_refused
            .and_then(|i| fds.get(i))
            .and_then(|f| f.revents())
            .unwrap_or(PollFlags::empty());
        drop(fds);
        if let Some(r) = refusals.as_deref_mut() {
            if refused_ev.contains(PollFlags::POLLIN) {
                r.answer();
            } else if !refused_ev.is_empty() {
                r.close(); // hung up: no process runs the filter any more
            }
        }
        if let (true, Some(sp)) = (status_ready, status_pipe) {
            // init's report: COMMAND's status, sent once the rest of the sandbox is dead.
            let mut b = [0u8; 4];
            match nix::unistd::read(sp, &mut b) {
                Ok(4) => status = Some(i32::from_le_bytes(b)),
                _ => status_open = false, // init died without a report: SIGCHLD tells
            }
        }
        if sig_ready {
            while let Ok(Some(si)) = sfd.read_signal() {
                let Ok(sig) = Signal::try_from(si.ssi_signo as i32) else {
                    continue;
                };
                match sig {
                    Signal::SIGCHLD => loop {
                        match waitpid(child, Some(WaitPidFlag::WNOHANG)) {
                            Ok(WaitStatus::StillAlive) | Err(_) => break,
                            Ok(st) => {
                                if let Some(c) = status_code(st) {
                                    status = Some(c);
                                }
                            }
                        }
                    },
                    Signal::SIGWINCH if pty.is_some() => {
                        if let Some(p) = pty {
                            p.resize();
                        }
                    }
                    s => {
                        let _ = signal::kill(child, s);
                    }
                }
            }
        }
        if let Some(p) = pty {
            if stdin_ready {
                let room = PENDING_MAX.saturating_sub(pending.len()).min(buf.len());
                match nix::unistd::read(unsafe_stdin(), &mut buf[..room]) {
                    Err(Errno::EINTR) | Err(Errno::EAGAIN) => {}
                    Ok(0) | Err(_) => {
                        // The caller's input ended: pass EOF on as the terminal would (^D),
                        // after what is still pending.
                        stdin_open = false;
                        eof_pending = true;
                    }
                    Ok(n) => pending.extend_from_slice(&buf[..n]),
                }
            }
            if eof_pending && pending.is_empty() {
                eof_pending = false;
                pending.push(4);
            }
            if !pending.is_empty() && (master_writable || stdin_ready) && master_open {
                match nix::unistd::write(p.master(), &pending) {
                    Ok(n) => {
                        pending.drain(..n);
                    }
                    Err(Errno::EINTR) | Err(Errno::EAGAIN) => {}
                    Err(_) => pending.clear(),
                }
            }
            if master_ready {
                match nix::unistd::read(&p.master, &mut buf) {
                    Err(Errno::EINTR) | Err(Errno::EAGAIN) => {}
                    Ok(0) | Err(_) => master_open = false,
                    // SAFETY: fd 1 stays open for the life of the process.
                    Ok(n) => write_all(
                        unsafe { std::os::fd::BorrowedFd::borrow_raw(p.term.out) },
                        &buf[..n],
                    ),
                }
            }
        }
        if pty.is_none() && status.is_some() {
            return status.unwrap_or(crate::EXIT_JAIL);
        }
    }
}

pub(crate) fn write_all(fd: std::os::fd::BorrowedFd, mut b: &[u8]) {
    while !b.is_empty() {
        match nix::unistd::write(fd, b) {
            Ok(0) => return,
            Ok(n) => b = &b[n..],
            Err(Errno::EINTR) | Err(Errno::EAGAIN) => continue,
            Err(_) => return,
        }
    }
}

fn unsafe_stdin() -> std::os::fd::BorrowedFd<'static> {
    // SAFETY: fd 0 stays open for the life of the process.
    unsafe { std::os::fd::BorrowedFd::borrow_raw(0) }
}
