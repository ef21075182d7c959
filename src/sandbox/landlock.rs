//! Landlock enforcement: the only code that talks to the kernel about Landlock.
//!
//! [`apply`] takes a [`LandlockPlan`] (see `plan::landlock`) and enforces exactly it on the
//! calling thread with the `landlock` crate: create the ruleset with the plan's handled
//! rights and scopes, add one `path_beneath` rule per path (opened with `O_PATH`) and one
//! `net_port` rule per port, then `landlock_restrict_self()`.
//!
//! # no_new_privs
//!
//! The `landlock` crate's `RulesetCreated::restrict_self()` calls
//! `prctl(PR_SET_NO_NEW_PRIVS, 1)` by default (`RulesetCreatedAttr::no_new_privs` defaults to
//! `true`). `apply()` turns that off with `.no_new_privs(false)`: the caller sets
//! no_new_privs itself, before, at the point of its choosing. The kernel refuses
//! `landlock_restrict_self()` with `EPERM` unless no_new_privs is set or the thread has
//! `CAP_SYS_ADMIN` in its user namespace; [`AppliedReport::no_new_privs`] records what
//! `PR_GET_NO_NEW_PRIVS` said, and the `EPERM` error says which is missing.
//!
//! # Threads
//!
//! Landlock restricts only the calling thread (and its future children); `apply()` must run
//! in the single-threaded sandbox child, before `execve`.
//!
//! # Kernel vs plan
//!
//! The plan already contains only rights the planned ABI supports. `apply()` re-probes the
//! ABI and refuses a plan compiled for a newer ABI than the running kernel
//! ([`ApplyError::AbiMismatch`]); it also sets the plan's compat level on the crate's
//! ruleset (best-effort → `BestEffort`, soft → `SoftRequirement`, hard → `HardRequirement`),
//! so a kernel that still cannot honour the plan is treated as the profile asked.

use crate::plan::landlock::{
    Compat, FsRight, LandlockPlan, NetRight, PathClass, PlanOutcome, ScopeKind,
};
use landlock::{
    AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, PathBeneath, Ruleset,
    RulesetAttr, RulesetCreatedAttr, RulesetError, RulesetStatus, Scope,
};
use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

/// Probe the running kernel's Landlock ABI version
/// (`landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)`).
/// `None`: Landlock not built in (`ENOSYS`) or not enabled at boot (`EOPNOTSUPP`).
pub fn probe_abi() -> Option<u32> {
    // SAFETY: with a NULL attr pointer, size 0 and the VERSION flag the syscall reads and
    // writes no memory; it only returns the ABI version or -1 with errno.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if v > 0 {
        u32::try_from(v).ok()
    } else {
        None
    }
}

const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1 << 0;

/// What the kernel reported after `restrict_self()` (the crate's `RulesetStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Enforcement {
    FullyEnforced,
    PartiallyEnforced,
    NotEnforced,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedReport {
    /// The crate's/kernel's view of the ruleset handed to it. Because the plan contains only
    /// supported rights this is `FullyEnforced` whenever something was enforced; whether the
    /// *profile* was fully honoured is `plan_outcome` (`Partial` = some features dropped).
    pub ruleset: Enforcement,
    pub plan_outcome: PlanOutcome,
    /// ABI probed at apply time (`None` when nothing was applied and nothing probed).
    pub kernel_abi: Option<u32>,
    /// `PR_GET_NO_NEW_PRIVS` at restrict time (set by the caller, never by `apply`).
    pub no_new_privs: bool,
    pub path_rules: usize,
    pub net_rules: usize,
    /// Rule paths that are not directories: only file rights were kept for them.
    pub file_rules: Vec<PathBuf>,
    /// `false` if the kernel enforced less than the plan expected (soft/best-effort only;
    /// hard turns that into an error).
    pub matches_plan: bool,
}

#[derive(Debug, thiserror::Error)]
/// Display always names the step (and path); `detail` carries the OS error text with its
/// number ("... (os error 2)") when there is one, also available as [`ApplyError::errno`].
pub enum ApplyError {
    #[error("landlock: plan was compiled for ABI {planned} but the kernel reports {}; recompile the plan", abi_text(*found))]
    AbiMismatch { planned: u32, found: Option<u32> },
    #[error("landlock: {step} {} ({}) failed: {detail}", path.display(), class_text(classes))]
    Path {
        step: &'static str,
        path: PathBuf,
        classes: Vec<PathClass>,
        errno: Option<i32>,
        detail: String,
    },
    #[error("landlock: {step} failed: {detail}")]
    Step {
        step: &'static str,
        errno: Option<i32>,
        detail: String,
    },
}

impl ApplyError {
    pub fn errno(&self) -> Option<i32> {
        match self {
            ApplyError::AbiMismatch { .. } => None,
            ApplyError::Path { errno, .. } | ApplyError::Step { errno, .. } => *errno,
        }
    }
}

fn abi_text(v: Option<u32>) -> String {
    v.map_or_else(|| "no Landlock".into(), |v| format!("ABI {v}"))
}

fn class_text(c: &[PathClass]) -> String {
    c.iter().map(|c| c.as_str()).collect::<Vec<_>>().join("+")
}

/// First `io::Error` in the source chain, for its errno.
fn errno_of(e: &(dyn std::error::Error + 'static)) -> Option<i32> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return io.raw_os_error();
        }
        cur = err.source();
    }
    None
}

fn step_err(step: &'static str) -> impl Fn(RulesetError) -> ApplyError {
    move |e| ApplyError::Step {
        step,
        errno: errno_of(&e),
        detail: e.to_string(),
    }
}

fn compat_level(c: Compat) -> CompatLevel {
    match c {
        Compat::BestEffort => CompatLevel::BestEffort,
        Compat::Soft => CompatLevel::SoftRequirement,
        Compat::Hard => CompatLevel::HardRequirement,
    }
}

fn fs_bits(rights: &[FsRight]) -> BitFlags<AccessFs> {
    let mut b = BitFlags::<AccessFs>::EMPTY;
    for r in rights {
        b |= match r {
            FsRight::Execute => AccessFs::Execute,
            FsRight::WriteFile => AccessFs::WriteFile,
            FsRight::ReadFile => AccessFs::ReadFile,
            FsRight::ReadDir => AccessFs::ReadDir,
            FsRight::RemoveDir => AccessFs::RemoveDir,
            FsRight::RemoveFile => AccessFs::RemoveFile,
            FsRight::MakeChar => AccessFs::MakeChar,
            FsRight::MakeDir => AccessFs::MakeDir,
            FsRight::MakeReg => AccessFs::MakeReg,
            FsRight::MakeSock => AccessFs::MakeSock,
            FsRight::MakeFifo => AccessFs::MakeFifo,
            FsRight::MakeBlock => AccessFs::MakeBlock,
            FsRight::MakeSym => AccessFs::MakeSym,
            FsRight::Refer => AccessFs::Refer,
            FsRight::Truncate => AccessFs::Truncate,
            FsRight::IoctlDev => AccessFs::IoctlDev,
        };
    }
    b
}

fn net_bits(rights: &[NetRight]) -> BitFlags<AccessNet> {
    let mut b = BitFlags::<AccessNet>::EMPTY;
    for r in rights {
        b |= match r {
            NetRight::BindTcp => AccessNet::BindTcp,
            NetRight::ConnectTcp => AccessNet::ConnectTcp,
        };
    }
    b
}

fn scope_bits(scopes: &[ScopeKind]) -> BitFlags<Scope> {
    let mut b = BitFlags::<Scope>::EMPTY;
    for s in scopes {
        b |= match s {
            ScopeKind::AbstractUnixSocket => Scope::AbstractUnixSocket,
            ScopeKind::Signal => Scope::Signal,
        };
    }
    b
}

#[doc(hidden)]
pub fn no_new_privs_set() -> bool {
    // SAFETY: PR_GET_NO_NEW_PRIVS takes no pointer arguments; it only returns 0/1 or -1.
    unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 }
}

/// Enforce `plan` on the calling thread. Irreversible on success.
///
/// A plan that enforces nothing (`!plan.enforce()`) makes no syscall and reports
/// `NotEnforced`. Every listed path must exist now: a missing one is an error naming it.
/// `log`: denials of COMMAND (after its exec) go to the kernel's audit log (ABI 7+;
/// `LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON`), for the refusal report.
pub fn apply(plan: &LandlockPlan, log: bool) -> Result<AppliedReport, ApplyError> {
    let mut report = AppliedReport {
        ruleset: Enforcement::NotEnforced,
        plan_outcome: plan.outcome,
        kernel_abi: None,
        no_new_privs: false,
        path_rules: 0,
        net_rules: 0,
        file_rules: Vec::new(),
        matches_plan: true,
    };
    if !plan.enforce() {
        return Ok(report);
    }
    let planned = plan.abi.unwrap_or(1);
    let found = probe_abi();
    report.kernel_abi = found;
    if found.is_none_or(|f| f < planned) {
        return Err(ApplyError::AbiMismatch { planned, found });
    }

    let mut ruleset = Ruleset::default()
        .set_compatibility(compat_level(plan.compat))
        .handle_access(fs_bits(&plan.handled_fs))
        .map_err(step_err("handle filesystem access rights"))?;
    if !plan.handled_net.is_empty() {
        ruleset = ruleset
            .handle_access(net_bits(&plan.handled_net))
            .map_err(step_err("handle network access rights"))?;
    }
    if !plan.scopes.is_empty() {
        ruleset = ruleset
            .scope(scope_bits(&plan.scopes))
            .map_err(step_err("set scopes"))?;
    }
    let mut created = ruleset
        .create()
        .map_err(step_err("landlock_create_ruleset"))?
        // The caller sets no_new_privs; never let the crate do it behind its back.
        .no_new_privs(false);

    for rule in &plan.path_rules {
        let path_err = |step: &'static str, errno: Option<i32>, detail: String| ApplyError::Path {
            step,
            path: rule.path.clone(),
            classes: rule.classes.clone(),
            errno,
            detail,
        };
        let file: File = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_CLOEXEC)
            .open(&rule.path)
            .map_err(|e| path_err("open (O_PATH)", e.raw_os_error(), e.to_string()))?;
        let is_dir = file
            .metadata()
            .map_err(|e| path_err("fstat", e.raw_os_error(), e.to_string()))?
            .is_dir();
        let access: Vec<FsRight> = if is_dir {
            rule.access.clone()
        } else {
            report.file_rules.push(rule.path.clone());
            rule.access
                .iter()
                .copied()
                .filter(|r| r.applies_to_files())
                .collect()
        };
        if access.is_empty() {
            // Only directory rights granted on a non-directory: nothing to allow.
            continue;
        }
        created = created
            .add_rule(PathBeneath::new(file, fs_bits(&access)))
            .map_err(|e| path_err("add path_beneath rule for", errno_of(&e), e.to_string()))?;
        report.path_rules += 1;
    }

    for rule in &plan.net_rules {
        created = created
            .add_rule(NetPort::new(rule.port, net_bits(&rule.access)))
            .map_err(|e| ApplyError::Step {
                step: "add net_port rule",
                errno: errno_of(&e),
                detail: format!("port {}: {e}", rule.port),
            })?;
        report.net_rules += 1;
    }

    if log && found.is_some_and(|f| f >= 7) {
        created = created
            .log_new_exec(true)
            .map_err(step_err("log denials after exec"))?;
    }
    report.no_new_privs = no_new_privs_set();
    let status = created.restrict_self().map_err(|e| {
        let errno = errno_of(&e);
        let mut detail = e.to_string();
        if errno == Some(libc::EPERM) && !report.no_new_privs {
            detail.push_str(
                " (no_new_privs is not set and the thread lacks CAP_SYS_ADMIN: \
                 the caller must set PR_SET_NO_NEW_PRIVS before apply)",
            );
        }
        ApplyError::Step {
            step: "landlock_restrict_self",
            errno,
            detail,
        }
    })?;
    report.ruleset = match status.ruleset {
        RulesetStatus::FullyEnforced => Enforcement::FullyEnforced,
        RulesetStatus::PartiallyEnforced => Enforcement::PartiallyEnforced,
        RulesetStatus::NotEnforced => Enforcement::NotEnforced,
    };
    report.matches_plan = report.ruleset == Enforcement::FullyEnforced;
    Ok(report)
}
