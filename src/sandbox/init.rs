//! PID 1 of the sandbox (`init = true`): reaps orphans, forwards signals to COMMAND, and exits
//! with COMMAND's status as soon as COMMAND ends — which makes the kernel kill everything left
//! in the pid namespace.
//!
//! It keeps nothing: no capabilities, no descriptors but 0-2, `no_new_privs`, and it is not
//! dumpable, so COMMAND cannot ptrace it or open `/proc/1/exe` (the jail binary) through it.

use super::sys;
use crate::plan::Plan;
use nix::sys::signal::{self, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::os::fd::{AsRawFd, OwnedFd};

/// Signals init passes on to COMMAND.
pub const FORWARDED: [Signal; 8] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGCONT,
];

/// The signal set blocked in the supervisor and init (inherited across clone/fork).
pub fn blocked_set() -> SigSet {
    let mut s = SigSet::empty();
    for sig in FORWARDED {
        s.add(sig);
    }
    s.add(Signal::SIGCHLD);
    s
}

/// `exit` code for a wait status, as a shell reports it.
pub fn status_code(st: WaitStatus) -> Option<i32> {
    match st {
        WaitStatus::Exited(_, c) => Some(c),
        WaitStatus::Signaled(_, s, _) => Some(128 + s as i32),
        _ => None,
    }
}

/// Runs init until COMMAND ends. `status` is where COMMAND's exit status is reported to jail.
pub fn run(command: libc::pid_t, plan: &Plan, status: Option<OwnedFd>) -> ! {
    // Nothing of jail's but the status pipe stays open in init.
    match status.as_ref().map(|f| f.as_raw_fd() as u32) {
        Some(keep) => {
            if keep > 3 {
                let _ = sys::close_range(3, keep - 1);
            }
            let _ = sys::close_range(keep + 1, u32::MAX);
        }
        None => {
            let _ = sys::close_from(3);
        }
    }
    let _ = sys::prctl(libc::PR_SET_DUMPABLE, 0, 0);
    let _ = super::lockdown::drop_caps(&[]);
    let _ = sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0);
    let _ = plan;
    let set = blocked_set();
    let cmd = Pid::from_raw(command);
    loop {
        let Ok(sig) = set.wait() else { continue };
        if sig == Signal::SIGCHLD {
            loop {
                match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                    Ok(WaitStatus::StillAlive) | Err(_) => break,
                    Ok(st) => {
                        if st.pid() == Some(cmd) {
                            if let Some(code) = status_code(st) {
                                end(code, cmd, status.as_ref());
                            }
                        }
                    }
                }
            }
        } else {
            let _ = signal::kill(cmd, sig);
        }
    }
}

/// COMMAND ended: everything else in the sandbox goes now (so that when jail returns, nothing of
/// the sandbox still runs), then jail learns the status at once, without waiting for the kernel
/// to tear the namespaces down after init's own exit.
fn end(code: i32, cmd: Pid, status: Option<&OwnedFd>) -> ! {
    // From PID 1, pid -1 means every other process of this pid namespace. Anywhere else
    // (`namespaces.pid = false`) it would mean every process this uid may signal on the host —
    // the whole session of the user, or every root process — so there only COMMAND's own
    // process group goes.
    if nix::unistd::getpid().as_raw() == 1 {
        let _ = signal::kill(Pid::from_raw(-1), Signal::SIGKILL);
    } else {
        // COMMAND leads its own session (`new_session`), so its group id is its pid; the
        // kernel does not reuse that pid while the group lives. Without a session of its own
        // there is no such group and this does nothing.
        let _ = signal::killpg(cmd, Signal::SIGKILL);
        // Init is the subreaper (see child.rs): whatever is left of the sandbox is its child
        // now, or becomes one as its parents die. Kill them until none is left.
        let me = nix::unistd::getpid();
        for _ in 0..1000 {
            let kids = std::fs::read_to_string(format!("/proc/self/task/{me}/children"))
                .unwrap_or_default();
            let pids: Vec<i32> = kids
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect();
            if pids.is_empty() {
                break;
            }
            for p in pids {
                let _ = signal::kill(Pid::from_raw(p), Signal::SIGKILL);
            }
            while let Ok(st) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                if st == WaitStatus::StillAlive {
                    break;
                }
            }
        }
    }
    while waitpid(None, None).is_ok() {}
    if let Some(fd) = status {
        let _ = nix::unistd::write(fd, &code.to_le_bytes());
    }
    sys::exit_now(code)
}
