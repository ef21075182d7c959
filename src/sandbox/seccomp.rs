//! Installs a compiled [`SeccompPlan`] into the calling thread.
//!
//! Call [`install`] in the sandboxed child as the very last step before `execve(COMMAND)`:
//! after `prctl(PR_SET_NO_NEW_PRIVS, 1)` (the caller's job; `install` checks it), and after
//! everything else jail does that the policy may refuse. Jail's child is single-threaded
//! between `clone` and `execve`, so the few allocations here are safe.

use crate::plan::seccomp::{Arch, SeccompPlan, SockFilter, MAX_INSNS};
use std::os::fd::{FromRawFd, OwnedFd};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstallError {
    #[error(
        "no_new_privs is not set: call prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) before installing seccomp filters"
    )]
    NoNewPrivs,
    #[error("prctl(PR_GET_NO_NEW_PRIVS) failed: {errno_name}")]
    Prctl {
        errno: i32,
        errno_name: &'static str,
    },
    #[error("seccomp plan is for {plan}, but this process runs on {native}")]
    WrongArch { plan: Arch, native: &'static str },
    #[error("seccomp filter #{index} has {len} instructions (must be 1..={MAX_INSNS})")]
    BadProgram { index: usize, len: usize },
    /// `index` is the position in `plan.filters` (its `name` says what it was for). Filters
    /// before `index` are installed and cannot be removed.
    #[error("installing seccomp filter #{index} failed: {errno_name}{}", hint(*errno))]
    Install {
        index: usize,
        errno: i32,
        errno_name: &'static str,
    },
}

fn hint(errno: i32) -> &'static str {
    match errno {
        libc::EINVAL => " (kernel lacks seccomp filters or SECCOMP_FILTER_FLAG_LOG, or the program is invalid)",
        libc::EACCES => " (no_new_privs unset and no CAP_SYS_ADMIN)",
        libc::ENOMEM => " (too many stacked filters: the kernel limits all filters of a process to 32768 instructions)",
        libc::ENOSYS => " (kernel built without CONFIG_SECCOMP_FILTER)",
        _ => "",
    }
}

/// Symbolic name of an errno value (no allocation), from [`crate::util::errno_str`]'s table;
/// "unknown errno" for a number Linux does not define.
pub fn errno_name(errno: i32) -> &'static str {
    crate::util::errno_str(errno).unwrap_or("unknown errno")
}

fn last_errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

// `SockFilter` is passed to the kernel in place of `struct sock_filter`.
const _: () = {
    assert!(std::mem::size_of::<SockFilter>() == std::mem::size_of::<libc::sock_filter>());
    assert!(std::mem::align_of::<SockFilter>() == std::mem::align_of::<libc::sock_filter>());
};

/// Installs every filter of `plan`, in order, with `seccomp(SECCOMP_SET_MODE_FILTER)`
/// (plus `SECCOMP_FILTER_FLAG_LOG` when `plan.log`). Refused calls get their errno from the
/// kernel; nothing is reported.
///
/// Requires `no_new_privs` to be set already (`prctl(PR_SET_NO_NEW_PRIVS, 1)`); returns
/// [`InstallError::NoNewPrivs`] otherwise. Affects only the calling thread (jail's child is
/// single-threaded).
pub fn install(plan: &SeccompPlan) -> Result<(), InstallError> {
    install_with(plan, false).map(drop)
}

/// As [`install`], but when `plan.report` is on the policy filter's errno verdicts become
/// `SECCOMP_RET_USER_NOTIF` and the listener comes back (close-on-exec, as the kernel makes
/// it): jail's supervisor answers each refused call with the errno the plan names
/// (`sandbox::notify`). The plain errno filter is installed instead, and None returned, when
/// - the plan has no policy filter or the report is off;
/// - `sendmsg` (which hands the listener over after the filter is on) is not allowed by the
///   policy for every argument: it would wait on a listener nobody reads yet;
/// - the kernel refuses a listener: EBUSY when a filter above this process already has one (a
///   jail inside a jail, or inside another notifying supervisor), EINVAL before Linux 5.0.
pub fn install_reporting(plan: &SeccompPlan) -> Result<Option<OwnedFd>, InstallError> {
    install_with(plan, plan.report)
}

fn install_with(plan: &SeccompPlan, report: bool) -> Result<Option<OwnedFd>, InstallError> {
    match Arch::native() {
        Some(a) if a == plan.arch => {}
        _ => {
            return Err(InstallError::WrongArch {
                plan: plan.arch,
                native: std::env::consts::ARCH,
            })
        }
    }
    // SAFETY: PR_GET_NO_NEW_PRIVS takes no pointers; extra args must be 0.
    let nnp = unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) };
    if nnp < 0 {
        let errno = last_errno();
        return Err(InstallError::Prctl {
            errno,
            errno_name: errno_name(errno),
        });
    }
    if nnp == 0 {
        return Err(InstallError::NoNewPrivs);
    }
    for (index, f) in plan.filters.iter().enumerate() {
        if f.program.is_empty() || f.program.len() > MAX_INSNS {
            return Err(InstallError::BadProgram {
                index,
                len: f.program.len(),
            });
        }
    }
    let flags: libc::c_ulong = if plan.log {
        libc::SECCOMP_FILTER_FLAG_LOG
    } else {
        0
    };
    // One merged program where it fits (a syscall runs one filter, not three); the parts
    // stacked otherwise.
    let programs: Vec<Vec<SockFilter>> = match crate::plan::seccomp::merged(&plan.filters) {
        Some(m) => vec![m],
        None => plan.filters.iter().map(|f| f.program.clone()).collect(),
    };
    let policy = policy_filter(plan);
    let report = report && policy.is_some_and(|p| sendmsg_passes(plan, p));
    let last = programs.len() - 1;
    for (index, program) in programs.iter().enumerate() {
        if index == last && report {
            // The policy is the last filter, so the last part of a merged program.
            let from = program.len() - policy.map_or(0, |p| p.len());
            let notifying = crate::plan::seccomp::notifying(program, from);
            // WAIT_KILLABLE_RECV (5.19): once jail has taken the notification, only a fatal
            // signal interrupts the wait, so a signal cannot turn the refusal into EINTR.
            for extra in [SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, 0] {
                match load(&notifying, flags | SECCOMP_FILTER_FLAG_NEW_LISTENER | extra) {
                    // SAFETY: with NEW_LISTENER the kernel returns a new descriptor we own.
                    Ok(fd) => return Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) })),
                    Err(libc::EINVAL) if extra != 0 => continue,
                    Err(libc::EBUSY) | Err(libc::EINVAL) => break,
                    Err(errno) => {
                        return Err(InstallError::Install {
                            index,
                            errno,
                            errno_name: errno_name(errno),
                        })
                    }
                }
            }
        }
        if let Err(errno) = load(program, flags) {
            return Err(InstallError::Install {
                index,
                errno,
                errno_name: errno_name(errno),
            });
        }
    }
    Ok(None)
}

const SECCOMP_FILTER_FLAG_NEW_LISTENER: libc::c_ulong = 1 << 3;
const SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: libc::c_ulong = 1 << 5;

/// The profile's own filter (the one whose errno verdicts are reported), if the plan has one.
pub fn policy_filter(plan: &SeccompPlan) -> Option<&[SockFilter]> {
    plan.filters
        .iter()
        .find(|f| f.name.starts_with("policy"))
        .map(|f| f.program.as_slice())
}

/// True when the policy allows `sendmsg` whatever its arguments are.
fn sendmsg_passes(plan: &SeccompPlan, policy: &[SockFilter]) -> bool {
    plan.arch.syscall_nr("sendmsg").is_some_and(|nr| {
        crate::plan::seccomp::emu::is_const_allow(policy, nr, plan.arch.audit_arch())
    })
}

/// One `seccomp(SECCOMP_SET_MODE_FILTER, flags, program)`; the return value or the errno.
fn load(program: &[SockFilter], flags: libc::c_ulong) -> Result<i32, i32> {
    let prog = libc::sock_fprog {
        len: program.len() as libc::c_ushort,
        // The kernel only reads the program; the cast is to match the C prototype.
        filter: program.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `prog` points to `len` initialised instructions that outlive the call;
    // SockFilter is #[repr(C)] with the same fields, size and alignment as
    // libc::sock_filter (checked at compile time above). The kernel copies the program.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER as libc::c_ulong,
            flags,
            &prog as *const libc::sock_fprog,
        )
    };
    if rc < 0 {
        Err(last_errno())
    } else {
        Ok(rc as i32)
    }
}
