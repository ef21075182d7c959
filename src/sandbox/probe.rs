//! What this machine can do, asked of the kernel: the one entry point through which `host`
//! (and nothing else above `sandbox`) reaches the sandbox layer. The compiler never calls these
//! directly: it reads the answers from [`crate::host::Host`], where tests put their own.

use crate::plan::cgroup::{Detection, Limits};

/// Which cgroup back end can apply `limits` here, why, and what it would write.
pub fn cgroup(limits: &Limits) -> Detection {
    super::cgroup::detect(limits)
}

/// The kernel's Landlock ABI version; None when Landlock is missing or disabled.
pub fn landlock_abi() -> Option<u32> {
    super::landlock::probe_abi()
}

/// Whether the kernel has `PR_SET_MDWE` (Linux 6.3+): `PR_GET_MDWE` answers instead of EINVAL.
pub fn mdwe() -> bool {
    super::sys::prctl(super::sys::PR_GET_MDWE, 0, 0).is_ok()
}

/// Creates (and throws away) the namespaces a default sandbox needs; the error names what the
/// kernel said.
pub fn namespaces() -> Result<(), String> {
    let flags = (libc::CLONE_NEWUSER
        | libc::CLONE_NEWNS
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWNET
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWCGROUP) as u64;
    // SAFETY: jail is single-threaded when it probes (`jail doctor`); the child exits at once.
    match unsafe { super::sys::clone_fork(flags) } {
        Ok(0) => super::sys::exit_now(0),
        Ok(pid) => {
            let st = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
            match st {
                Ok(nix::sys::wait::WaitStatus::Exited(_, 0)) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        }
        Err(e) => Err(crate::util::errno_name(e as i32)),
    }
}
