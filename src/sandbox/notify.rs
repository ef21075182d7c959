//! The refusal report: the supervisor's side of seccomp user notification.
//!
//! With `[seccomp] report = true` (the default) COMMAND's policy filter is installed with
//! `SECCOMP_FILTER_FLAG_NEW_LISTENER` and its errno verdicts turned into
//! `SECCOMP_RET_USER_NOTIF` (see [`super::seccomp::install_reporting`]). The listener is handed
//! to the supervisor over a socket before exec and is close-on-exec in COMMAND, so only jail
//! holds it. Each refused call waits in the kernel until [`Refusals::answer`] replies; the reply
//! is the errno the plain filter would have given (the same program, run by
//! [`crate::plan::seccomp::emu::verdict`] on the call's `seccomp_data`), never "continue", so
//! the app sees exactly what it sees without the report. The supervisor counts per syscall and
//! prints one summary ([`Refusals::notes`]).
//!
//! If the supervisor is gone, the listener is closed and the kernel fails every call that
//! would notify with ENOSYS (and the sandbox is being killed anyway: init and COMMAND die with
//! jail).

use super::seccomp::policy_filter;
use crate::plan::seccomp::{emu, DefaultPolicy, SeccompAction, SeccompPlan, SockFilter, RET_ERRNO};
use std::collections::BTreeMap;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

/// The listener and what was refused through it.
pub struct Refusals {
    listener: Option<OwnedFd>,
    policy: Vec<SockFilter>,
    /// (audit arch, syscall number) → (times refused, errno answered); at most
    /// [`MAX_KINDS`] kinds, the rest counted under [`OTHER`].
    counts: BTreeMap<(u32, u32), (u64, i32)>,
}

impl Refusals {
    /// None when the plan has no policy filter to answer for.
    pub fn new(listener: OwnedFd, plan: &SeccompPlan) -> Option<Refusals> {
        Some(Refusals {
            listener: Some(listener),
            policy: policy_filter(plan)?.to_vec(),
            counts: BTreeMap::new(),
        })
    }

    /// The listener to poll, while some process in the sandbox still runs the filter.
    pub fn fd(&self) -> Option<BorrowedFd<'_>> {
        self.listener.as_ref().map(|l| l.as_fd())
    }

    /// Poll said the listener hung up (no process uses the filter any more): stop polling it.
    pub fn close(&mut self) {
        self.listener = None;
    }

    /// Takes one pending notification and answers it at once with the plan's errno. Never
    /// blocks: called only when poll reported the listener readable (a notification whose
    /// caller died meanwhile gives ENOENT, which is ignored).
    pub fn answer(&mut self) {
        let Some(l) = &self.listener else { return };
        // SAFETY: seccomp_notif is plain data; the kernel requires it zeroed for RECV.
        let mut n: libc::seccomp_notif = unsafe { std::mem::zeroed() };
        // SAFETY: RECV writes one seccomp_notif into `n`, which outlives the call.
        let rc = unsafe {
            libc::ioctl(
                l.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_RECV as _,
                &mut n as *mut libc::seccomp_notif,
            )
        };
        if rc < 0 {
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EBADF) {
                self.listener = None;
            }
            return;
        }
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&n.data.nr.to_le_bytes());
        data[4..8].copy_from_slice(&n.data.arch.to_le_bytes());
        data[8..16].copy_from_slice(&n.data.instruction_pointer.to_le_bytes());
        for (i, a) in n.data.args.iter().enumerate() {
            data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
        }
        // The errno the plain filter gives this very call; EPERM should the program not
        // name one (it always does: only its errno returns notify).
        let errno = match emu::verdict(&self.policy, &data) {
            Some(v) if v & 0xffff_0000 == RET_ERRNO => (v & 0xffff) as i32,
            _ => libc::EPERM,
        };
        let resp = libc::seccomp_notif_resp {
            id: n.id,
            val: 0,
            error: -errno,
            flags: 0,
        };
        // SAFETY: SEND reads one seccomp_notif_resp from `resp`, which outlives the call.
        let _ = unsafe {
            libc::ioctl(
                l.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_SEND as _,
                &resp as *const libc::seccomp_notif_resp,
            )
        };
        // Bounded: a sandbox making every number there is cannot grow jail's memory.
        let mut key = (n.data.arch, n.data.nr as u32);
        if !self.counts.contains_key(&key) && self.counts.len() >= MAX_KINDS {
            key = OTHER;
        }
        let e = self.counts.entry(key).or_insert((0, errno));
        e.0 = e.0.saturating_add(1);
    }

    /// True when something was refused.
    pub fn any(&self) -> bool {
        !self.counts.is_empty()
    }

    /// The summary: one `jail: note:` per refused syscall, with the TOML that allows it.
    pub fn notes(&self, plan: &SeccompPlan) -> Vec<String> {
        let mut out: Vec<String> = self
            .counts
            .iter()
            .filter(|(k, _)| **k != OTHER)
            .take(50)
            .map(|(&(arch, nr), &(count, errno))| note(plan, arch, nr, count, errno))
            .collect();
        let more: u64 = self
            .counts
            .iter()
            .skip(50)
            .chain(self.counts.get_key_value(&OTHER))
            .map(|(_, (c, _))| *c)
            .sum();
        if more > 0 {
            out.push(format!(
                "jail: note: … and {more} more refused calls of other system calls"
            ));
        }
        out
    }
}

/// How many kinds of refused calls are counted apart.
const MAX_KINDS: usize = 512;
/// Where the rest are counted.
const OTHER: (u32, u32) = (0, u32::MAX);

/// The note for one refused syscall.
pub fn note(plan: &SeccompPlan, arch: u32, nr: u32, count: u64, errno: i32) -> String {
    let i386 = arch == crate::plan::seccomp::Arch::I386.audit_arch()
        && plan.arch != crate::plan::seccomp::Arch::I386;
    let table = if i386 {
        crate::plan::seccomp::Arch::I386
    } else {
        plan.arch
    };
    let name = table
        .syscall_name(nr)
        .map(str::to_string)
        .unwrap_or_else(|| format!("syscall {nr}"));
    let shown = if i386 {
        format!("{name} (i386)")
    } else {
        name.clone()
    };
    let origins = if i386 {
        &plan.origins_i386
    } else {
        &plan.origins
    };
    let errno_name = crate::util::errno_str(errno).unwrap_or("an errno");
    let origin = origins.get(&nr).cloned();
    let by_rule = origin
        .as_deref()
        .is_some_and(|o| o.starts_with("a [[seccomp.rule]]"));
    let origin = origin.unwrap_or_else(|| match plan.summary.default {
        DefaultPolicy::Deny => "not in seccomp.allow, default = \"deny\"".into(),
        DefaultPolicy::Allow => "seccomp.deny".into(),
    });
    let how = if by_rule {
        format!(
            "to allow it give that rule action = \"allow\", or add before it:\n{}",
            rule_lines(&name)
        )
    } else {
        match plan.summary.default {
            DefaultPolicy::Deny => {
                format!("to allow it add to the profile's [seccomp] allow list: \"{name}\"")
            }
            DefaultPolicy::Allow => {
                format!("to allow it add to the profile:\n{}", rule_lines(&name))
            }
        }
    };
    format!("jail: note: refused {shown} \u{d7}{count} ({origin}; it got {errno_name}); {how}")
}

/// The `[[seccomp.rule]]` that lets every call of `name` through (a rule decides before the
/// deny list; `ge 0` matches every argument).
fn rule_lines(name: &str) -> String {
    format!(
        "    [[seccomp.rule]]\n    syscall = \"{name}\"\n    arg = 0\n    op = \"ge\"\n    value = 0\n    action = \"allow\""
    )
}

/// A note for a COMMAND killed by SIGSYS: a kill or trap action refused a call (the kernel does
/// not say which; `log = true` puts it in the kernel log).
pub fn sigsys_note(plan: &SeccompPlan) -> Option<String> {
    matches!(
        plan.summary.refuse_action,
        SeccompAction::Kill | SeccompAction::Trap
    )
    .then(|| {
        "jail: note: COMMAND was killed by SIGSYS: a system call was refused with seccomp action \"kill\" or \"trap\"; the kernel does not tell jail which. Run with [seccomp] action = \"errno\" to have it named here, or log = true to find it in the kernel log (dmesg, type=1326 syscall=…)".to_string()
    })
}
