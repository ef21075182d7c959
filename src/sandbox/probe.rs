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
