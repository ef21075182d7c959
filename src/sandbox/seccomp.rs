//! Installs a compiled [`SeccompPlan`] into the calling thread.
//!
//! Call [`install`] in the sandboxed child as the very last step before `execve(COMMAND)`:
//! after `prctl(PR_SET_NO_NEW_PRIVS, 1)` (the caller's job; `install` checks it), and after
//! everything else jail does that the policy may refuse. `install` does not allocate, so it
//! is safe between `fork`/`clone` and `execve` even if the parent had threads.

use crate::plan::seccomp::{Arch, BpfFilter, SeccompPlan, SockFilter, MAX_INSNS};

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
/// (plus `SECCOMP_FILTER_FLAG_LOG` when `plan.log`).
///
/// Requires `no_new_privs` to be set already (`prctl(PR_SET_NO_NEW_PRIVS, 1)`); returns
/// [`InstallError::NoNewPrivs`] otherwise. Affects only the calling thread (jail's child is
/// single-threaded). Does not allocate.
pub fn install(plan: &SeccompPlan) -> Result<(), InstallError> {
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
    let merged = crate::plan::seccomp::merged(&plan.filters).map(|program| BpfFilter {
        name: "merged".into(),
        program,
    });
    let programs: &[BpfFilter] = match &merged {
        Some(m) => std::slice::from_ref(m),
        None => &plan.filters,
    };
    for (index, f) in programs.iter().enumerate() {
        let prog = libc::sock_fprog {
            len: f.program.len() as libc::c_ushort,
            // The kernel only reads the program; the cast is to match the C prototype.
            filter: f.program.as_ptr() as *mut libc::sock_filter,
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
        if rc != 0 {
            let errno = last_errno();
            return Err(InstallError::Install {
                index,
                errno,
                errno_name: errno_name(errno),
            });
        }
    }
    Ok(())
}
