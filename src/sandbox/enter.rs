//! `jail enter`: run a command inside a running sandbox, with exactly its restrictions.
//!
//! Order and why:
//! 1. Open a pidfd of the sandbox's init *first*, then verify the record against the live
//!    process (owner, start time, namespace inodes): if the pid was recycled after the pidfd was
//!    opened, the checks fail; if it dies after them, the pidfd-based setns fails. A forged or
//!    stale record never leads into somebody else's namespaces.
//! 2. Join its cgroups (so its limits count this command too), then all its namespaces at once
//!    through the pidfd.
//! 3. Fork (the child is born in the sandbox's pid namespace), and in the child drop
//!    capabilities to the plan's, set no_new_privs, apply the plan's Landlock rules and seccomp
//!    filters, exec. The plan was compiled again from the sandbox's own arguments and checked to
//!    be the same policy: entering never gives more than the sandbox has.
//!
//! The joiner is not dumpable from step 0, before anything is joined, until its `execve`:
//! from the fork on, the child is a process of the sandbox's pid namespace, user namespace and
//! uid, and until its policy is in place it holds what the sandbox must not reach (capabilities
//! in the sandbox's user namespace, no Landlock, no seccomp, jail's memory with the caller's
//! environment). A non-dumpable process can be neither ptrace-attached nor read or written
//! through `/proc/PID/mem` (and its `/proc/PID` files belong to the host's root) except with
//! CAP_SYS_PTRACE in the user namespace jail was started in, which no sandbox holds; fork
//! keeps the flag, joining namespaces and dropping capabilities never set it again. `execve`
//! makes the command dumpable again as usual, with the whole policy already in force. (The
//! parent never becomes reachable: it keeps its pid in the host's pid namespace only.)

use super::error::{Step, StepError};
use super::init::blocked_set;
use super::pty::Pty;
use super::relay::wait_loop;
use super::state::Record;
use super::sys;
use crate::plan::{Plan, NS_FLAGS};
use nix::errno::Errno;
use nix::sys::signal;
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::Pid;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;

/// The namespace names of /proc/PID/ns mapped to setns flags.
fn ns_flag(name: &str) -> Option<i32> {
    let plan_name = if name == "mnt" { "mount" } else { name };
    NS_FLAGS
        .iter()
        .find(|(n, _)| *n == plan_name)
        .map(|(_, f)| *f)
}

fn pidfd_open(pid: i32) -> Result<OwnedFd, Errno> {
    // SAFETY: plain syscall without pointers.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if r < 0 {
        return Err(Errno::last());
    }
    // SAFETY: a new descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(r as i32) })
}

/// Joins the sandbox and runs `command` there; returns its exit status.
pub fn enter(
    rec: &Record,
    plan: &Plan,
    command: &[String],
    verbose: bool,
) -> Result<i32, StepError> {
    // Step 0: not dumpable until exec (see the module comment), before any namespace.
    sys::prctl(libc::PR_SET_DUMPABLE, 0, 0).step(|| "make jail enter non-dumpable".into())?;
    rec.verify()
        .map_err(|m| StepError::detail("verify the sandbox", Errno::EPERM, m))?;
    let plan = &entered_plan(plan);
    // Processes to join through: COMMAND as recorded, then init's other children.
    let mut candidates: Vec<i32> = vec![];
    if super::state::alive(rec.member_pid, rec.member_start) {
        candidates.push(rec.member_pid);
    }
    candidates.extend(
        super::state::children(rec.init_pid)
            .into_iter()
            .filter(|p| *p != rec.member_pid),
    );
    let me = nix::unistd::getuid().as_raw();
    let mut pidfd = None;
    for pid in candidates {
        // Open first, check after: a pid reused in between fails the owner check or the
        // namespace check once joined.
        if let Ok(fd) = pidfd_open(pid) {
            // A process that moved into namespaces of its own (a browser's sandbox nests
            // them) is not joined through: only one in the recorded namespaces.
            let in_recorded = rec.namespaces.iter().all(|(n, ino)| {
                std::fs::metadata(format!("/proc/{pid}/ns/{n}")).is_ok_and(|m| m.ino() == *ino)
            });
            if super::state::proc_uid(pid) == Some(me) && in_recorded {
                pidfd = Some(fd);
                break;
            }
        }
    }
    let pidfd = pidfd.ok_or_else(|| {
        StepError::detail(
            "find a process to join",
            Errno::ESRCH,
            format!(
                "sandbox {} has no process of yours left in its own namespaces besides its init (COMMAND may have moved into namespaces of its own)",
                rec.id
            ),
        )
    })?;

    for cg in &rec.cgroups {
        let procs = cg.join("cgroup.procs");
        std::fs::write(&procs, std::process::id().to_string()).map_err(|e| {
            StepError::io(
                format!("join cgroup {}", cg.display()),
                &e,
                "the sandbox's limits must cover what runs in it",
            )
        })?;
    }
    let mut flags = 0i32;
    for name in rec.namespaces.keys() {
        flags |= ns_flag(name).ok_or_else(|| {
            StepError::detail(
                "join namespaces",
                Errno::EINVAL,
                format!("unknown namespace {name}"),
            )
        })?;
    }
    if verbose {
        eprintln!(
            "jail: joining the namespaces of process {} ({flags:#x})",
            rec.init_pid
        );
    }
    if flags == 0 {
        return Err(StepError::detail(
            "join namespaces",
            Errno::EINVAL,
            "the record names no namespace",
        ));
    }
    nix::sched::setns(&pidfd, nix::sched::CloneFlags::from_bits_retain(flags))
        .step(|| "join the sandbox's namespaces".into())?;
    drop(pidfd);

    // A terminal from the sandbox's own devpts (this process now sees the sandbox's /dev).
    let term = if plan.process.new_session {
        super::pty::Terminal::of_stdin()
    } else {
        None
    };
    let pair = match term {
        Some(_) => Some(
            super::pty::new_pair("/dev/ptmx")
                .step(|| "open a terminal in the sandbox's /dev/pts".into())?,
        ),
        None => None,
    };
    let set = blocked_set();
    signal::sigprocmask(signal::SigmaskHow::SIG_BLOCK, Some(&set), None)
        .step(|| "block signals".into())?;
    let sfd = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .step(|| "signalfd".into())?;

    // SAFETY: single-threaded (jail never starts threads).
    let pid = match unsafe { sys::clone_fork(0) }.step(|| "fork inside the sandbox".into())? {
        0 => {
            drop(sfd);
            let slave = pair.map(|(_, s)| s);
            // The terminal is restored by the parent.
            std::mem::forget(term);
            // The namespaces joined are the ones recorded when the sandbox started (checked here:
            // only a process inside the pid namespace sees itself in the sandbox's /proc).
            // Still not dumpable: fork keeps the flag (checked, the window must stay shut).
            if sys::prctl(libc::PR_GET_DUMPABLE, 0, 0) != Ok(0) {
                eprintln!("jail: error: enter: the joining process became dumpable before exec");
                sys::exit_now(crate::EXIT_JAIL);
            }
            if let Err(m) = rec.check_joined() {
                eprintln!("jail: error: verify the sandbox: {m}");
                sys::exit_now(crate::EXIT_JAIL);
            }
            let code = match child(plan, command, slave, verbose) {
                Ok(never) => match never {},
                Err((e, code)) => {
                    eprintln!("jail: {}", e.exec_line());
                    code
                }
            };
            sys::exit_now(code)
        }
        pid => pid,
    };
    let pty = match (term, pair) {
        // The slave is closed here: only the entered command holds it.
        (Some(term), Some((master, _slave))) => Some(Pty { master, term }),
        _ => None,
    };
    if let Some(p) = &pty {
        p.term.raw();
        p.resize();
    }
    let code = wait_loop(Pid::from_raw(pid), &sfd, pty.as_ref(), None, None);
    drop(pty);
    Ok(code)
}

/// The plan the entered command gets. Landlock scopes are per domain, and an entered command
/// is a new domain beside the sandbox's (a domain cannot be joined): scoped, it could neither
/// signal the sandbox's processes nor connect to their abstract sockets. So a scope stays only
/// where the sandbox shares the host's namespace and the scope is what keeps the host out of
/// reach: signals with the host's pid namespace, abstract sockets with the host's network
/// (abstract sockets belong to a network namespace, signals need a pid the namespace shows).
pub fn entered_plan(plan: &Plan) -> Plan {
    use crate::plan::landlock::ScopeKind;
    let mut p = plan.clone();
    let ns = &plan.namespaces;
    p.landlock.scopes.retain(|k| match k {
        ScopeKind::AbstractUnixSocket => !ns.net,
        ScopeKind::Signal => !ns.pid,
    });
    p
}

enum Never {}

fn child(
    plan: &Plan,
    command: &[String],
    tty: Option<OwnedFd>,
    verbose: bool,
) -> Result<Never, (StepError, i32)> {
    let jail = |e: StepError| (e, crate::EXIT_JAIL);
    super::lockdown::reset_signals();
    super::lockdown::take_terminal(
        plan.process.new_session,
        tty.as_ref(),
        super::pty::tty_std(),
    )
    .map_err(jail)?;
    if nix::unistd::chdir(&plan.process.cwd).is_err() {
        let _ = nix::unistd::chdir("/");
    }
    sys::cloexec_from(3)
        .step(|| "close inherited descriptors".into())
        .map_err(jail)?;
    let exec = super::lockdown::Exec::new(command, &plan.env).map_err(jail)?;
    // The same restrictions, in the same order, as the sandbox's own COMMAND.
    // No refusal report here: the listener would be this process's, and nobody reads it.
    super::lockdown::lock_down(plan, verbose, None).map_err(jail)?;
    Err(exec.run())
}
