//! Landlock planning: pure, no syscalls.
//!
//! [`compile`] turns the profile's `[landlock]` section ([`LandlockSpec`]) and the probed
//! kernel ABI into a [`LandlockPlan`]: exactly what `sandbox::landlock::apply` will hand to
//! the kernel, what is dropped because the kernel is too old, and human-readable lines for
//! `jail explain`.
//!
//! # Access classes
//!
//! | class | rights (intersected with what the ABI handles) |
//! |-------|-------------------------------------------------|
//! | `ro`  | execute, read_file, read_dir |
//! | `rw`  | every handled filesystem right except `ioctl_dev` (read, write, execute, create/remove of every node type, refer = rename/link (ABI 2), truncate (ABI 3)) |
//! | `dev` | read_file, write_file, read_dir, ioctl_dev (ABI 5) |
//!
//! Paths are as seen inside the sandbox; rights apply to the path and everything beneath it.
//! A path listed in several classes gets the union. When a path turns out to be a
//! non-directory at apply time, only the file rights (execute, read_file, write_file,
//! truncate, ioctl_dev) are kept, as the kernel requires.
//!
//! The ruleset always *handles* (i.e. denies unless granted) every filesystem right the ABI
//! knows, up to ABI 5: empty `ro`/`rw`/`dev` lists mean "no filesystem access at all".
//! TCP rights are handled only when `connect_tcp`/`bind_tcp` is `Some`: `Some(vec![])` denies
//! every port, `None` leaves TCP unrestricted.
//!
//! # Compat levels (mapping onto the `landlock` crate's `CompatLevel`)
//!
//! The crate's `CompatLevel` semantics are reproduced here, at plan time, so the plan states
//! what will actually be enforced without touching the kernel; `apply()` then sets the same
//! level on the crate's `Ruleset` as a second line of defence.
//!
//! * `best-effort` → `CompatLevel::BestEffort`: each requested feature the kernel lacks is
//!   dropped (and listed in [`LandlockPlan::dropped`]); the rest is enforced.
//! * `soft` → `CompatLevel::SoftRequirement`: if any requested feature is missing, the *whole*
//!   Landlock step is skipped (nothing enforced, no error), like the crate turning the ruleset
//!   into a no-op (`RulesetStatus::NotEnforced`).
//! * `hard` → `CompatLevel::HardRequirement`: any requested feature the kernel lacks is an
//!   error ([`LandlockError::Unsupported`]), naming the feature and the ABI it needs.
//!
//! "Requested" means the spec relies on it: the base filesystem rights (ABI 1) and `truncate`
//! (ABI 3; otherwise `ro` files could still be truncated) always; `refer` (ABI 2) when `rw` is
//! non-empty; TCP (ABI 4) when `connect_tcp` or `bind_tcp` is `Some`; `ioctl_dev` (ABI 5) when
//! `dev` is non-empty; scopes (ABI 6) when the profile itself wrote `scope`. Rights the spec
//! does not rely on (`refer` without `rw`, `ioctl_dev` without `dev`) and jail's default scopes
//! (`default_scope`: abstract-unix-socket and signal unless the profile takes them back) are
//! handled opportunistically in every mode, like the crate's idiom of a trailing
//! `set_compatibility(BestEffort)` block.
//!
//! ABI quirks recorded in the plan: before ABI 2, `refer` cannot be handled and the kernel
//! then denies every rename/link between directories (EXDEV), even inside `rw` paths; before
//! ABI 3, truncation is not restricted.

mod compile;
mod rights;
#[cfg(test)]
mod tests;

pub use compile::{compile, explain_lines};
pub use rights::{FsRight, NetRight, PathClass};

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// Highest Landlock ABI this module knows and was tested against. A newer kernel is driven
/// as if it were this ABI (never enabling untested, deny-by-default rights).
pub const MAX_KNOWN_ABI: u32 = 7;

/// `compat = "best-effort" | "soft" | "hard"`: the profile's own type.
pub use crate::profile::Compat;

/// `scope = ["abstract-unix-socket", "signal"]` (ABI 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScopeKind {
    /// Deny connecting to abstract UNIX sockets created outside the Landlock domain.
    AbstractUnixSocket,
    /// Deny sending signals to processes outside the Landlock domain.
    Signal,
}

impl ScopeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeKind::AbstractUnixSocket => "abstract-unix-socket",
            ScopeKind::Signal => "signal",
        }
    }
}

impl fmt::Display for ScopeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The profile's `[landlock]` section, with complete path lists (as seen inside the sandbox).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LandlockSpec {
    pub enabled: bool,
    pub compat: Compat,
    /// Read + execute (files and directories beneath).
    pub ro: Vec<PathBuf>,
    /// Everything for files: read, write, execute, create/remove, rename/link, truncate.
    pub rw: Vec<PathBuf>,
    /// Device nodes: read/write + ioctl_dev where the ABI has it (ABI 5).
    pub dev: Vec<PathBuf>,
    /// Folders whose entries may be listed, and nothing more (read_dir): the sandbox's own
    /// empty root, so `ls /` works. The mount namespace holds only what is granted, and read_dir
    /// reads no file, so listing exposes nothing the other rules do not.
    #[serde(default)]
    pub list: Vec<PathBuf>,
    /// Folders where nothing new may be created ([`PathClass::Guarded`]).
    #[serde(default)]
    pub guarded: Vec<PathBuf>,
    /// `[filesystem] noexec`: the rules of these paths and of every path beneath them lose
    /// `execute`. (Landlock grants are a union down the tree: a rule above that grants execute
    /// still lets it through there, which `explain` says; the mount flag refuses it anyway.)
    #[serde(default)]
    pub noexec: Vec<PathBuf>,
    /// `Some(list)`: only these TCP ports may be connected to (ABI 4).
    pub connect_tcp: Option<Vec<u16>>,
    /// `Some(list)`: only these TCP ports may be bound (ABI 4).
    pub bind_tcp: Option<Vec<u16>>,
    /// ABI 6, requested by the profile itself: counts for `soft`/`hard` like every other
    /// requested feature.
    pub scope: Vec<ScopeKind>,
    /// ABI 6, jail's defaults (`[landlock] scope` of the built-in defaults, not taken back
    /// with `"!x"`): enforced whenever the kernel has scopes, in every compat mode, and
    /// listed as "not handled" otherwise (like `refer` without `rw`), so that a default a
    /// profile never asked for cannot make `soft` skip Landlock or `hard` refuse to run.
    #[serde(default)]
    pub default_scope: Vec<ScopeKind>,
}

/// `landlock_add_rule(LANDLOCK_RULE_PATH_BENEATH)` to be added at apply time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathRule {
    pub path: PathBuf,
    /// Granted rights (already restricted to the handled set), in kernel bit order.
    pub access: Vec<FsRight>,
    /// The spec lists this path came from.
    pub classes: Vec<PathClass>,
}

/// `landlock_add_rule(LANDLOCK_RULE_NET_PORT)` to be added at apply time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetRule {
    pub port: u16,
    pub access: Vec<NetRight>,
}

/// A feature the kernel cannot provide at the planned ABI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dropped {
    /// "landlock", "refer", "truncate", "tcp", "ioctl_dev", "scopes".
    pub feature: String,
    pub needed_abi: u32,
    /// Whether the spec relies on it (only those count for `soft`/`hard` and for `Partial`).
    pub requested: bool,
    /// What the user will notice.
    pub effect: String,
}

/// What the plan will do overall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlanOutcome {
    /// Everything the spec asks for is enforced.
    Full,
    /// `best-effort`: enforced, but some requested features are dropped (see `dropped`).
    Partial,
    /// `soft`: a requested feature is missing, so the whole Landlock step is skipped.
    SkippedSoft,
    /// The kernel has no (enabled) Landlock; nothing is enforced.
    Unavailable,
    /// `enabled = false` in the profile.
    Disabled,
}

/// What `apply()` will actually enforce. Empty rule/handled sets when `!enforce()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LandlockPlan {
    pub outcome: PlanOutcome,
    pub compat: Compat,
    /// ABI reported by the kernel (`None`: Landlock unsupported or disabled).
    pub host_abi: Option<u32>,
    /// ABI the ruleset is built for: `min(host_abi, MAX_KNOWN_ABI)`.
    pub abi: Option<u32>,
    pub handled_fs: Vec<FsRight>,
    pub handled_net: Vec<NetRight>,
    pub scopes: Vec<ScopeKind>,
    pub path_rules: Vec<PathRule>,
    pub net_rules: Vec<NetRule>,
    /// Features missing from the kernel, requested or not (ordered by ABI).
    pub dropped: Vec<Dropped>,
    /// Lines for `jail explain`.
    pub explain: Vec<String>,
}

impl LandlockPlan {
    /// Whether `apply()` will build and enforce a ruleset.
    pub fn enforce(&self) -> bool {
        matches!(self.outcome, PlanOutcome::Full | PlanOutcome::Partial)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LandlockError {
    #[error(
        "landlock: compat = \"hard\" but {feature} needs Landlock ABI {needed_abi} and {}",
        have_text(*have)
    )]
    Unsupported {
        needed_abi: u32,
        feature: String,
        have: Option<u32>,
    },
    #[error("landlock: {class} path {path:?} must be absolute (as seen inside the sandbox)")]
    RelativePath { class: &'static str, path: PathBuf },
}

fn have_text(have: Option<u32>) -> String {
    match have {
        Some(v) => format!("the kernel has ABI {v}"),
        None => "the kernel has no Landlock (unsupported or disabled)".to_string(),
    }
}
