//! The privilege and kernel surface checks: capabilities, ids, namespaces, seccomp, Landlock,
//! resource limits and memory-backed folders.

use super::checks::Finding;
use super::facts::{self, Facts, TMPFS_HUGE};
use crate::plan::landlock::{PlanOutcome, ScopeKind};

pub fn capabilities(f: &Facts) -> Finding {
    let caps = &f.plan.capabilities.keep;
    (
        !caps.is_empty(),
        if caps.is_empty() {
            "every capability dropped".into()
        } else {
            format!("kept: {}", caps.join(", "))
        },
    )
}

pub fn uid_root(f: &Facts) -> Finding {
    let ids = &f.plan.ids;
    let root = ids.uid_inside == 0 && ids.uid_outside != 0;
    (
        root,
        if root {
            "uid 0 inside (process.uid = \"root\"): programs take root-only paths".into()
        } else {
            "the caller's own uid inside".into()
        },
    )
}

pub fn user_host(f: &Facts) -> Finding {
    let user = f.plan.namespaces.user;
    (
        !user,
        if user {
            "own user namespace".into()
        } else {
            "no user namespace: ids are the host's".into()
        },
    )
}

pub fn seccomp(f: &Facts) -> Finding {
    let weak = facts::seccomp_gaps(&f.plan.seccomp);
    (
        !weak.is_empty(),
        if weak.is_empty() {
            "every @default-deny call is refused".into()
        } else {
            weak.join("; ")
        },
    )
}

pub fn nested_user(f: &Facts) -> Finding {
    let nested_user = f.plan.namespaces.nested.iter().any(|n| n == "user");
    (
        nested_user,
        if nested_user {
            "may create user namespaces: the kernel's largest unprivileged attack surface".into()
        } else {
            "user namespaces refused".into()
        },
    )
}

pub fn nested_other(f: &Facts) -> Finding {
    let other: Vec<&String> = f
        .plan
        .namespaces
        .nested
        .iter()
        .filter(|n| *n != "user")
        .collect();
    (
        !other.is_empty(),
        if other.is_empty() {
            "no other namespace may be created".into()
        } else {
            format!(
                "may create: {}",
                other
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
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
    let pid = f.plan.namespaces.pid;
    (
        !pid,
        if pid {
            "own pid namespace".into()
        } else {
            "the host's processes are visible and can be signalled or traced when they share the uid".into()
        },
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
    let ipc = f.plan.namespaces.ipc;
    (
        !ipc,
        if ipc {
            "own System V IPC and POSIX queues".into()
        } else {
            "the host's shared memory and message queues".into()
        },
    )
}

pub fn uts_host(f: &Facts) -> Finding {
    let uts = f.plan.namespaces.uts;
    (
        !uts,
        if uts {
            "own hostname".into()
        } else {
            "the host's hostname, which it may read".into()
        },
    )
}

pub fn limits(f: &Facts) -> Finding {
    let l = &f.plan.limits;
    let limited = l.memory.is_some() || l.pids.is_some();
    (
        !limited,
        if limited {
            let mut v = vec![];
            if let Some(m) = l.memory {
                v.push(format!("memory {}", crate::util::human_bytes(m)));
            }
            if let Some(p) = l.pids {
                v.push(format!("pids {p}"));
            }
            format!("{} ({})", v.join(", "), l.enforce)
        } else {
            "no memory or pids limit: a runaway or a fork bomb takes the whole machine".into()
        },
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
