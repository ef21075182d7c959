//! The privilege and kernel surface checks: capabilities, ids, namespaces, seccomp, Landlock,
//! resource limits and memory-backed folders.

use super::checks::{flag, Finding};
use super::facts::{self, Facts, TMPFS_HUGE};
use crate::plan::landlock::{PlanOutcome, ScopeKind};

pub fn capabilities(f: &Facts) -> Finding {
    let caps = &f.plan.capabilities.keep;
    flag(
        !caps.is_empty(),
        format!("kept: {}", caps.join(", ")),
        "every capability dropped",
    )
}

pub fn uid_root(f: &Facts) -> Finding {
    let ids = &f.plan.ids;
    flag(
        ids.uid_inside == 0 && ids.uid_outside != 0,
        "uid 0 inside (process.uid = \"root\"): programs take root-only paths",
        "the caller's own uid inside",
    )
}

pub fn user_host(f: &Facts) -> Finding {
    flag(
        !f.plan.namespaces.user,
        "no user namespace: ids are the host's",
        "own user namespace",
    )
}

pub fn seccomp(f: &Facts) -> Finding {
    let weak = facts::seccomp_gaps(&f.plan.seccomp);
    flag(
        !weak.is_empty(),
        weak.join("; "),
        "every @default-deny call is refused",
    )
}

pub fn nested_user(f: &Facts) -> Finding {
    flag(
        f.plan.namespaces.nested.iter().any(|n| n == "user"),
        "may create user namespaces: the kernel's largest unprivileged attack surface",
        "user namespaces refused",
    )
}

pub fn nested_other(f: &Facts) -> Finding {
    let other: Vec<&str> = f
        .plan
        .namespaces
        .nested
        .iter()
        .filter(|n| *n != "user")
        .map(|s| s.as_str())
        .collect();
    flag(
        !other.is_empty(),
        format!("may create: {}", other.join(", ")),
        "no other namespace may be created",
    )
}

pub fn landlock(f: &Facts) -> Finding {
    let ll = f.plan.landlock.enforce();
    (
        !ll,
        match f.plan.landlock.outcome {
            PlanOutcome::Full => "Landlock enforces the grants a second time in the kernel".into(),
            PlanOutcome::Partial => {
                "Landlock enforced, some features missing on this kernel".into()
            }
            PlanOutcome::SkippedSoft => {
                "Landlock skipped (compat = \"soft\" and a feature is missing)".into()
            }
            PlanOutcome::Unavailable => {
                "this kernel has no Landlock: mounts are the only wall".into()
            }
            PlanOutcome::Disabled => "landlock.enabled = false: mounts are the only wall".into(),
        },
    )
}

pub fn pid_host(f: &Facts) -> Finding {
    flag(
        !f.plan.namespaces.pid,
        "the host's processes are visible and can be signalled or traced when they share the uid",
        "own pid namespace",
    )
}

pub fn signal_host(f: &Facts) -> Finding {
    let pid = f.plan.namespaces.pid;
    let signal_open = !pid && !f.scoped(ScopeKind::Signal);
    (
        signal_open,
        if pid {
            "own pid namespace: processes outside cannot be named".into()
        } else if signal_open {
            format!(
                "the host's processes of the same user can be killed: {}",
                f.unscoped_why(ScopeKind::Signal)
            )
        } else {
            "Landlock scope: no signal reaches a process outside the sandbox".into()
        },
    )
}

pub fn ipc_host(f: &Facts) -> Finding {
    flag(
        !f.plan.namespaces.ipc,
        "the host's shared memory and message queues",
        "own System V IPC and POSIX queues",
    )
}

pub fn uts_host(f: &Facts) -> Finding {
    flag(
        !f.plan.namespaces.uts,
        "the host's hostname, which it may read",
        "own hostname",
    )
}

pub fn limits(f: &Facts) -> Finding {
    let l = &f.plan.limits;
    let mut v = vec![];
    if let Some(m) = l.memory {
        v.push(format!("memory {}", crate::util::human_bytes(m)));
    }
    if let Some(p) = l.pids {
        v.push(format!("pids {p}"));
    }
    flag(
        v.is_empty(),
        "no memory or pids limit: a runaway or a fork bomb takes the whole machine",
        format!("{} ({})", v.join(", "), l.enforce),
    )
}

pub fn tmpfs_memory(f: &Facts) -> Finding {
    let (total, unbounded) = facts::tmpfs_memory(f.plan);
    let huge = !unbounded.is_empty() || total > TMPFS_HUGE;
    (
        huge,
        if !unbounded.is_empty() {
            format!(
                "unbounded tmpfs (half the RAM each): {}",
                f.list(&unbounded)
            )
        } else if huge {
            format!(
                "tmpfs folders may hold {} in RAM together (more than {})",
                crate::util::human_bytes(total),
                crate::util::human_bytes(TMPFS_HUGE)
            )
        } else {
            format!(
                "tmpfs folders hold at most {} together",
                crate::util::human_bytes(total)
            )
        },
    )
}

pub fn i386(f: &Facts) -> Finding {
    flag(
        f.plan.seccomp.portable.i386,
        "[seccomp] i386: 32-bit x86 programs run (a second system call table; socketcall's and ipc's arguments are in memory, out of seccomp's sight)",
        "the i386 ABI kills the process",
    )
}

pub fn families(f: &Facts) -> Finding {
    flag(
        !f.plan.namespaces.net && f.plan.seccomp.portable.families.is_none(),
        "sockets of every address family on the host network (raw packet, netlink, bluetooth …): [seccomp] families limits them",
        if f.plan.namespaces.net {
            "own network namespace: raw and netlink sockets see only the sandbox's network"
        } else {
            "[seccomp] families limits the socket families"
        },
    )
}

pub fn wx_memory(f: &Facts) -> Finding {
    flag(
        f.plan.process.mdwe.is_none(),
        "memory may be made writable and executable (injected code can be run): [process] memory_deny_write_execute stops it",
        "memory-deny-write-execute: no mapping writable and executable",
    )
}
