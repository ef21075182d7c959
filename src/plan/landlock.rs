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

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// Highest Landlock ABI this module knows and was tested against. A newer kernel is driven
/// as if it were this ABI (never enabling untested, deny-by-default rights).
pub const MAX_KNOWN_ABI: u32 = 7;

/// `compat = "best-effort" | "soft" | "hard"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Compat {
    #[default]
    BestEffort,
    Soft,
    Hard,
}

impl Compat {
    pub fn as_str(self) -> &'static str {
        match self {
            Compat::BestEffort => "best-effort",
            Compat::Soft => "soft",
            Compat::Hard => "hard",
        }
    }
}

impl fmt::Display for Compat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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

/// A Landlock filesystem access right (names follow the kernel's `LANDLOCK_ACCESS_FS_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FsRight {
    Execute,
    WriteFile,
    ReadFile,
    ReadDir,
    RemoveDir,
    RemoveFile,
    MakeChar,
    MakeDir,
    MakeReg,
    MakeSock,
    MakeFifo,
    MakeBlock,
    MakeSym,
    Refer,
    Truncate,
    IoctlDev,
}

impl FsRight {
    /// Every right this module knows, in kernel bit order.
    pub const ALL: [FsRight; 16] = [
        FsRight::Execute,
        FsRight::WriteFile,
        FsRight::ReadFile,
        FsRight::ReadDir,
        FsRight::RemoveDir,
        FsRight::RemoveFile,
        FsRight::MakeChar,
        FsRight::MakeDir,
        FsRight::MakeReg,
        FsRight::MakeSock,
        FsRight::MakeFifo,
        FsRight::MakeBlock,
        FsRight::MakeSym,
        FsRight::Refer,
        FsRight::Truncate,
        FsRight::IoctlDev,
    ];

    /// First ABI that handles this right.
    pub fn min_abi(self) -> u32 {
        match self {
            FsRight::Refer => 2,
            FsRight::Truncate => 3,
            FsRight::IoctlDev => 5,
            _ => 1,
        }
    }

    /// Rights that the kernel accepts on a rule whose path is not a directory.
    pub fn applies_to_files(self) -> bool {
        matches!(
            self,
            FsRight::Execute
                | FsRight::WriteFile
                | FsRight::ReadFile
                | FsRight::Truncate
                | FsRight::IoctlDev
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FsRight::Execute => "execute",
            FsRight::WriteFile => "write_file",
            FsRight::ReadFile => "read_file",
            FsRight::ReadDir => "read_dir",
            FsRight::RemoveDir => "remove_dir",
            FsRight::RemoveFile => "remove_file",
            FsRight::MakeChar => "make_char",
            FsRight::MakeDir => "make_dir",
            FsRight::MakeReg => "make_reg",
            FsRight::MakeSock => "make_sock",
            FsRight::MakeFifo => "make_fifo",
            FsRight::MakeBlock => "make_block",
            FsRight::MakeSym => "make_sym",
            FsRight::Refer => "refer",
            FsRight::Truncate => "truncate",
            FsRight::IoctlDev => "ioctl_dev",
        }
    }
}

/// A Landlock network access right (ABI 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetRight {
    BindTcp,
    ConnectTcp,
}

impl NetRight {
    pub fn as_str(self) -> &'static str {
        match self {
            NetRight::BindTcp => "bind_tcp",
            NetRight::ConnectTcp => "connect_tcp",
        }
    }
}

/// Which spec list(s) a path rule came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PathClass {
    Ro,
    Rw,
    Dev,
    List,
    /// A folder of a writable grant that holds start-up files (a home): its existing entries
    /// may be read, written and removed, but nothing new may be created or renamed into it
    /// (so `~/.bash_profile` cannot be planted); its sub-folders get `rw` rules of their own.
    Guarded,
}

impl PathClass {
    pub fn as_str(self) -> &'static str {
        match self {
            PathClass::Ro => "ro",
            PathClass::Rw => "rw",
            PathClass::Dev => "dev",
            PathClass::List => "list",
            PathClass::Guarded => "rw-no-create",
        }
    }

    /// Rights granted by this class before intersecting with the handled set.
    fn wanted(self) -> &'static [FsRight] {
        use FsRight::*;
        match self {
            PathClass::Ro => &[Execute, ReadFile, ReadDir],
            PathClass::Rw => &[
                Execute, WriteFile, ReadFile, ReadDir, RemoveDir, RemoveFile, MakeChar, MakeDir,
                MakeReg, MakeSock, MakeFifo, MakeBlock, MakeSym, Refer, Truncate,
            ],
            PathClass::Dev => &[ReadFile, WriteFile, ReadDir, IoctlDev],
            PathClass::List => &[ReadDir],
            PathClass::Guarded => &[
                Execute, WriteFile, ReadFile, ReadDir, RemoveDir, RemoveFile, Truncate,
            ],
        }
    }
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

struct Feature {
    name: &'static str,
    needed_abi: u32,
    requested: bool,
    /// Used whenever the ABI has it, requested or not (filesystem rights, the default
    /// scopes), so listed as "not handled" when the kernel lacks it.
    fs: bool,
    effect: &'static str,
}

fn features(spec: &LandlockSpec) -> Vec<Feature> {
    vec![
        Feature {
            name: "landlock",
            fs: true,
            needed_abi: 1,
            requested: true,
            effect: "no filesystem, network or scope restriction at all",
        },
        Feature {
            name: "refer",
            fs: true,
            needed_abi: 2,
            requested: !spec.rw.is_empty(),
            effect: "renaming or hard-linking between directories is always denied (EXDEV), even inside rw paths",
        },
        Feature {
            name: "truncate",
            fs: true,
            needed_abi: 3,
            requested: true,
            effect: "truncation is not restricted: files writable by DAC under ro paths can be truncated",
        },
        Feature {
            name: "tcp",
            fs: false,
            needed_abi: 4,
            requested: spec.connect_tcp.is_some() || spec.bind_tcp.is_some(),
            effect: "connect_tcp/bind_tcp are not enforced: every TCP port can be connected to and bound",
        },
        Feature {
            name: "ioctl_dev",
            fs: true,
            needed_abi: 5,
            requested: !spec.dev.is_empty(),
            effect: "ioctl on device files is not restricted",
        },
        Feature {
            name: "scopes",
            // Listed when missing even if only the defaults want them: the user should
            // know that abstract sockets and signals outside the sandbox stay reachable.
            fs: !spec.default_scope.is_empty(),
            needed_abi: 6,
            requested: !spec.scope.is_empty(),
            effect: "abstract-unix-socket/signal scoping is not enforced: the host's abstract unix sockets (with the host network) and processes (with the host pid namespace) stay reachable",
        },
    ]
}

fn dropped_line(d: &Dropped, have: Option<u32>) -> String {
    let have = match have {
        Some(v) => format!("kernel has ABI {v}"),
        None => "kernel has no Landlock".to_string(),
    };
    let verb = if d.feature == "scopes" {
        "need"
    } else {
        "needs"
    };
    let tag = if d.requested {
        "dropped"
    } else {
        "not handled"
    };
    format!(
        "landlock: {tag}: {} {verb} ABI {} ({have}): {}",
        d.feature, d.needed_abi, d.effect
    )
}

fn join<T: Copy>(items: &[T], name: impl Fn(T) -> &'static str) -> String {
    if items.is_empty() {
        return "(none)".to_string();
    }
    items
        .iter()
        .map(|&i| name(i))
        .collect::<Vec<_>>()
        .join(", ")
}

fn dedup_ports(ports: &[u16]) -> Vec<u16> {
    let mut v = ports.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

fn ports_line(verb: &str, ports: &Option<Vec<u16>>) -> Option<String> {
    let ports = ports.as_ref()?;
    let ports = dedup_ports(ports);
    Some(if ports.is_empty() {
        format!("landlock: tcp {verb}: denied for every port")
    } else {
        let list = ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        format!("landlock: tcp {verb}: allowed only to port(s) {list}")
    })
}

/// Compile the spec against the probed kernel ABI (`None`: Landlock unsupported/disabled).
pub fn compile(spec: &LandlockSpec, host_abi: Option<u32>) -> Result<LandlockPlan, LandlockError> {
    for (class, list) in [("ro", &spec.ro), ("rw", &spec.rw), ("dev", &spec.dev)] {
        if let Some(p) = list.iter().find(|p| !p.is_absolute()) {
            return Err(LandlockError::RelativePath {
                class,
                path: p.clone(),
            });
        }
    }
    // An ABI of 0 is what the crate calls ABI::Unsupported.
    let host_abi = host_abi.filter(|&v| v > 0);
    let abi = host_abi.map(|v| v.min(MAX_KNOWN_ABI));
    let have = abi.unwrap_or(0);

    let mut plan = LandlockPlan {
        outcome: PlanOutcome::Full,
        compat: spec.compat,
        host_abi,
        abi,
        handled_fs: Vec::new(),
        handled_net: Vec::new(),
        scopes: Vec::new(),
        path_rules: Vec::new(),
        net_rules: Vec::new(),
        dropped: Vec::new(),
        explain: Vec::new(),
    };

    if !spec.enabled {
        plan.outcome = PlanOutcome::Disabled;
        plan.explain
            .push("landlock: disabled by profile (enabled = false): nothing enforced".into());
        return Ok(plan);
    }

    let feats = features(spec);
    plan.dropped = feats
        .iter()
        // Without Landlock only "landlock" itself is missing (the ABI-specific effects,
        // like the ABI-1 EXDEV quirk, do not apply). Unrequested features are listed only
        // when they would have been handled anyway (filesystem rights).
        .filter(|f| match abi {
            None => f.needed_abi == 1,
            Some(_) => f.needed_abi > have && (f.requested || f.fs),
        })
        .map(|f| Dropped {
            feature: f.name.into(),
            needed_abi: f.needed_abi,
            requested: f.requested,
            effect: f.effect.into(),
        })
        .collect();
    let first_missing = plan.dropped.iter().find(|d| d.requested);

    if spec.compat == Compat::Hard {
        if let Some(d) = first_missing {
            return Err(LandlockError::Unsupported {
                needed_abi: d.needed_abi,
                feature: d.feature.clone(),
                have: abi,
            });
        }
    }

    let abi = match abi {
        None => {
            plan.outcome = PlanOutcome::Unavailable;
            plan.explain.push(format!(
                "landlock: Landlock not available: nothing enforced (compat = \"{}\")",
                spec.compat
            ));
            for d in &plan.dropped {
                plan.explain.push(dropped_line(d, None));
            }
            return Ok(plan);
        }
        Some(a) => a,
    };

    let header = match (host_abi, abi) {
        (Some(h), a) if h != a => {
            format!("landlock: kernel ABI {h}, ruleset built for ABI {a} (newest known to jail)")
        }
        _ => format!("landlock: kernel ABI {abi}"),
    };

    if spec.compat == Compat::Soft {
        if let Some(d) = first_missing {
            plan.outcome = PlanOutcome::SkippedSoft;
            plan.explain.push(header);
            plan.explain.push(format!(
                "landlock: compat = \"soft\" and {} needs ABI {}: whole Landlock step skipped, nothing enforced",
                d.feature, d.needed_abi
            ));
            for d in &plan.dropped {
                plan.explain.push(dropped_line(d, Some(abi)));
            }
            return Ok(plan);
        }
    }

    // Handled sets.
    plan.handled_fs = FsRight::ALL
        .into_iter()
        .filter(|r| r.min_abi() <= abi)
        .collect();
    if abi >= 4 {
        if spec.bind_tcp.is_some() {
            plan.handled_net.push(NetRight::BindTcp);
        }
        if spec.connect_tcp.is_some() {
            plan.handled_net.push(NetRight::ConnectTcp);
        }
    }
    if abi >= 6 {
        let mut s = spec.scope.clone();
        s.extend(spec.default_scope.iter().copied());
        s.sort_unstable();
        s.dedup();
        plan.scopes = s;
    }

    // Path rules, merged per path in first-seen order (indexed by path: linear in the grants).
    let mut index: std::collections::HashMap<&Path, usize> = std::collections::HashMap::new();
    for (class, list) in [
        (PathClass::Ro, &spec.ro),
        (PathClass::Rw, &spec.rw),
        (PathClass::Dev, &spec.dev),
        (PathClass::List, &spec.list),
        (PathClass::Guarded, &spec.guarded),
    ] {
        for path in list {
            super::work(1);
            let idx = match index.get(path.as_path()) {
                Some(&i) => i,
                None => {
                    index.insert(path, plan.path_rules.len());
                    plan.path_rules.push(PathRule {
                        path: path.clone(),
                        access: Vec::new(),
                        classes: Vec::new(),
                    });
                    plan.path_rules.len() - 1
                }
            };
            let rule = &mut plan.path_rules[idx];
            if !rule.classes.contains(&class) {
                rule.classes.push(class);
            }
            let wanted = class.wanted();
            rule.access = plan
                .handled_fs
                .iter()
                .copied()
                .filter(|r| rule.access.contains(r) || wanted.contains(r))
                .collect();
        }
    }

    // Net rules, merged per port.
    if abi >= 4 {
        let mut ports: Vec<(u16, NetRight)> = Vec::new();
        if let Some(p) = &spec.bind_tcp {
            ports.extend(dedup_ports(p).into_iter().map(|p| (p, NetRight::BindTcp)));
        }
        if let Some(p) = &spec.connect_tcp {
            ports.extend(
                dedup_ports(p)
                    .into_iter()
                    .map(|p| (p, NetRight::ConnectTcp)),
            );
        }
        ports.sort_unstable();
        for (port, right) in ports {
            match plan.net_rules.last_mut() {
                Some(r) if r.port == port => r.access.push(right),
                _ => plan.net_rules.push(NetRule {
                    port,
                    access: vec![right],
                }),
            }
        }
    }

    plan.outcome = if first_missing.is_some() {
        PlanOutcome::Partial
    } else {
        PlanOutcome::Full
    };

    // Explain.
    let outcome = match plan.outcome {
        PlanOutcome::Full => "everything requested is enforced",
        _ => "enforced PARTIALLY, see dropped features below",
    };
    plan.explain
        .push(format!("{header}, compat = \"{}\": {outcome}", spec.compat));
    plan.explain.push(format!(
        "landlock: filesystem: everything not listed below is denied (handled: {})",
        join(&plan.handled_fs, FsRight::as_str)
    ));
    for r in &plan.path_rules {
        plan.explain.push(format!(
            "landlock: {} {}: {}",
            join(&r.classes, PathClass::as_str),
            r.path.display(),
            join(&r.access, FsRight::as_str)
        ));
    }
    if !plan.path_rules.is_empty() {
        plan.explain.push(
            "landlock: (a rule on a non-directory keeps only execute, read_file, write_file, truncate, ioctl_dev)"
                .into(),
        );
    }
    if abi >= 4 {
        plan.explain
            .extend(ports_line("connect", &spec.connect_tcp));
        plan.explain.extend(ports_line("bind", &spec.bind_tcp));
    }
    if spec.connect_tcp.is_none() {
        plan.explain
            .push("landlock: tcp connect: not restricted".into());
    }
    if spec.bind_tcp.is_none() {
        plan.explain
            .push("landlock: tcp bind: not restricted".into());
    }
    if !plan.scopes.is_empty() {
        plan.explain.push(format!(
            "landlock: scoped to the sandbox: {}",
            join(&plan.scopes, ScopeKind::as_str)
        ));
    }
    for d in &plan.dropped {
        plan.explain.push(dropped_line(d, Some(abi)));
    }
    Ok(plan)
}

/// The lines `jail explain` shows for Landlock.
pub fn explain_lines(plan: &LandlockPlan) -> Vec<String> {
    plan.explain.clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn spec() -> LandlockSpec {
        LandlockSpec {
            enabled: true,
            ro: vec!["/usr".into(), "/etc".into()],
            rw: vec!["/tmp".into()],
            dev: vec!["/dev/null".into()],
            ..Default::default()
        }
    }

    fn tcp_spec(compat: Compat) -> LandlockSpec {
        LandlockSpec {
            compat,
            connect_tcp: Some(vec![443]),
            ..spec()
        }
    }

    #[test]
    fn hard_without_tcp_abi_is_an_error_naming_abi_4() {
        let err = compile(&tcp_spec(Compat::Hard), Some(3)).unwrap_err();
        assert_eq!(
            err,
            LandlockError::Unsupported {
                needed_abi: 4,
                feature: "tcp".into(),
                have: Some(3)
            }
        );
        let msg = err.to_string();
        assert!(msg.contains("ABI 4"), "{msg}");
        assert!(msg.contains("ABI 3"), "{msg}");
        assert!(msg.contains("tcp"), "{msg}");
    }

    #[test]
    fn hard_with_enough_abi_is_ok() {
        // dev is non-empty, so ioctl_dev (ABI 5) is requested too.
        assert!(matches!(
            compile(&tcp_spec(Compat::Hard), Some(4)),
            Err(LandlockError::Unsupported { needed_abi: 5, .. })
        ));
        let plan = compile(&tcp_spec(Compat::Hard), Some(5)).unwrap();
        assert_eq!(plan.outcome, PlanOutcome::Full);
        assert!(plan.handled_net.contains(&NetRight::ConnectTcp));
    }

    #[test]
    fn best_effort_drops_tcp_and_says_so() {
        let plan = compile(&tcp_spec(Compat::BestEffort), Some(3)).unwrap();
        assert_eq!(plan.outcome, PlanOutcome::Partial);
        assert!(plan.enforce());
        assert!(plan.handled_net.is_empty());
        assert!(plan.net_rules.is_empty());
        let tcp = plan.dropped.iter().find(|d| d.feature == "tcp").unwrap();
        assert_eq!(tcp.needed_abi, 4);
        assert!(tcp.requested);
        assert!(
            plan.explain
                .iter()
                .any(|l| l.contains("dropped: tcp needs ABI 4") && l.contains("not enforced")),
            "{:#?}",
            plan.explain
        );
        // Truncate is still there on ABI 3, ioctl_dev is not.
        assert!(plan.handled_fs.contains(&FsRight::Truncate));
        assert!(!plan.handled_fs.contains(&FsRight::IoctlDev));
        assert!(plan
            .dropped
            .iter()
            .any(|d| d.feature == "ioctl_dev" && d.needed_abi == 5));
    }

    #[test]
    fn none_hard_is_error_none_best_effort_enforces_nothing() {
        let err = compile(&spec().clone_with(Compat::Hard), None).unwrap_err();
        assert!(matches!(
            err,
            LandlockError::Unsupported {
                needed_abi: 1,
                have: None,
                ..
            }
        ));
        assert!(err.to_string().contains("no Landlock"), "{err}");

        let plan = compile(&spec(), None).unwrap();
        assert_eq!(plan.outcome, PlanOutcome::Unavailable);
        assert!(!plan.enforce());
        assert!(plan.path_rules.is_empty() && plan.handled_fs.is_empty());
        assert!(
            plan.explain[0].contains("Landlock not available: nothing enforced"),
            "{:#?}",
            plan.explain
        );
        // ABI 0 is the same as None.
        assert_eq!(compile(&spec(), Some(0)).unwrap(), plan);
    }

    #[test]
    fn soft_skips_everything_when_a_requested_feature_is_missing() {
        let plan = compile(&tcp_spec(Compat::Soft), Some(3)).unwrap();
        assert_eq!(plan.outcome, PlanOutcome::SkippedSoft);
        assert!(!plan.enforce());
        assert!(plan.path_rules.is_empty() && plan.handled_fs.is_empty());
        assert!(plan
            .explain
            .iter()
            .any(|l| l.contains("whole Landlock step skipped")));
        // Without the tcp and dev requests, ABI 3 is enough for soft.
        let s = LandlockSpec {
            compat: Compat::Soft,
            dev: vec![],
            ..spec()
        };
        let plan = compile(&s, Some(3)).unwrap();
        assert_eq!(plan.outcome, PlanOutcome::Full);
        // ioctl_dev was not requested: listed as not handled, not as a drop.
        assert!(plan
            .explain
            .iter()
            .any(|l| l.starts_with("landlock: not handled: ioctl_dev needs ABI 5")));
    }

    #[test]
    fn abi1_refer_quirk_and_abi2_truncate() {
        let plan = compile(&spec(), Some(1)).unwrap();
        assert_eq!(plan.outcome, PlanOutcome::Partial);
        let rw = plan
            .path_rules
            .iter()
            .find(|r| r.path == Path::new("/tmp"))
            .unwrap();
        assert!(!rw.access.contains(&FsRight::Refer));
        assert!(!rw.access.contains(&FsRight::Truncate));
        let feats: Vec<_> = plan.dropped.iter().map(|d| d.feature.as_str()).collect();
        assert_eq!(feats, ["refer", "truncate", "ioctl_dev"]);
        assert!(plan
            .explain
            .iter()
            .any(|l| l.contains("refer needs ABI 2") && l.contains("EXDEV")));

        let plan = compile(&spec(), Some(2)).unwrap();
        let rw = plan
            .path_rules
            .iter()
            .find(|r| r.path == Path::new("/tmp"))
            .unwrap();
        assert!(rw.access.contains(&FsRight::Refer));
        assert!(plan
            .explain
            .iter()
            .any(|l| l.contains("truncate needs ABI 3")));
    }

    #[test]
    fn rights_per_class_and_merging() {
        let s = LandlockSpec {
            ro: vec!["/usr".into(), "/data".into()],
            rw: vec!["/data".into()],
            dev: vec!["/dev/null".into()],
            connect_tcp: Some(vec![80, 443, 80]),
            bind_tcp: Some(vec![443]),
            scope: vec![
                ScopeKind::Signal,
                ScopeKind::AbstractUnixSocket,
                ScopeKind::Signal,
            ],
            ..spec()
        };
        let plan = compile(&s, Some(7)).unwrap();
        assert_eq!(plan.outcome, PlanOutcome::Full);
        assert_eq!(plan.handled_fs.len(), 16);
        assert_eq!(
            plan.path_rules[0],
            PathRule {
                path: "/usr".into(),
                access: vec![FsRight::Execute, FsRight::ReadFile, FsRight::ReadDir],
                classes: vec![PathClass::Ro],
            }
        );
        let data = &plan.path_rules[1];
        assert_eq!(data.classes, [PathClass::Ro, PathClass::Rw]);
        assert_eq!(data.access.len(), 15);
        assert!(!data.access.contains(&FsRight::IoctlDev));
        let dev = &plan.path_rules[2];
        assert_eq!(
            dev.access,
            [
                FsRight::WriteFile,
                FsRight::ReadFile,
                FsRight::ReadDir,
                FsRight::IoctlDev
            ]
        );
        assert_eq!(
            plan.net_rules,
            [
                NetRule {
                    port: 80,
                    access: vec![NetRight::ConnectTcp]
                },
                NetRule {
                    port: 443,
                    access: vec![NetRight::BindTcp, NetRight::ConnectTcp]
                },
            ]
        );
        assert_eq!(
            plan.scopes,
            [ScopeKind::AbstractUnixSocket, ScopeKind::Signal]
        );
        assert!(plan.dropped.is_empty());
        assert!(plan
            .explain
            .iter()
            .any(|l| l == "landlock: tcp connect: allowed only to port(s) 80, 443"));
    }

    #[test]
    fn newer_kernel_is_clamped_and_empty_port_list_denies() {
        let s = LandlockSpec {
            bind_tcp: Some(vec![]),
            ..spec()
        };
        let plan = compile(&s, Some(42)).unwrap();
        assert_eq!(plan.abi, Some(MAX_KNOWN_ABI));
        assert_eq!(plan.host_abi, Some(42));
        assert_eq!(plan.handled_net, [NetRight::BindTcp]);
        assert!(plan.net_rules.is_empty());
        assert!(plan
            .explain
            .iter()
            .any(|l| l == "landlock: tcp bind: denied for every port"));
        assert!(plan.explain[0].contains("kernel ABI 42, ruleset built for ABI 7"));
    }

    #[test]
    fn disabled_and_relative_paths() {
        let s = LandlockSpec {
            enabled: false,
            compat: Compat::Hard,
            ..spec()
        };
        let plan = compile(&s, None).unwrap();
        assert_eq!(plan.outcome, PlanOutcome::Disabled);
        assert!(!plan.enforce());
        let s = LandlockSpec {
            rw: vec!["tmp".into()],
            ..spec()
        };
        assert!(matches!(
            compile(&s, Some(7)),
            Err(LandlockError::RelativePath { class: "rw", .. })
        ));
    }

    #[test]
    fn spec_deserializes_from_profile_names_and_plan_serializes() {
        let s: LandlockSpec = serde_json::from_str(
            r#"{"enabled":true,"compat":"best-effort","ro":["/usr"],"connect_tcp":[443],
                "scope":["abstract-unix-socket","signal"]}"#,
        )
        .unwrap();
        assert_eq!(s.compat, Compat::BestEffort);
        assert_eq!(s.scope, [ScopeKind::AbstractUnixSocket, ScopeKind::Signal]);
        for (name, c) in [("soft", Compat::Soft), ("hard", Compat::Hard)] {
            let v: Compat = serde_json::from_str(&format!("\"{name}\"")).unwrap();
            assert_eq!(v, c);
        }
        let json = serde_json::to_value(compile(&s, Some(6)).unwrap()).unwrap();
        assert_eq!(json["outcome"], "full");
        assert_eq!(json["net_rules"][0]["access"][0], "connect_tcp");
        assert_eq!(json["scopes"][0], "abstract-unix-socket");
    }

    #[test]
    fn default_scopes_are_enforced_where_possible_and_never_requested() {
        let s = LandlockSpec {
            default_scope: vec![ScopeKind::AbstractUnixSocket, ScopeKind::Signal],
            ..spec()
        };
        // ABI 6: enforced.
        let plan = compile(&s, Some(6)).unwrap();
        assert_eq!(
            plan.scopes,
            [ScopeKind::AbstractUnixSocket, ScopeKind::Signal]
        );
        // ABI 5: not enforced, said so, but neither soft nor hard trips over a default.
        for compat in [Compat::BestEffort, Compat::Soft, Compat::Hard] {
            let plan = compile(&s.clone_with(compat), Some(5)).unwrap();
            assert_eq!(plan.outcome, PlanOutcome::Full, "{compat}");
            assert!(plan.scopes.is_empty());
            assert!(
                plan.explain
                    .iter()
                    .any(|l| l.starts_with("landlock: not handled: scopes need ABI 6")),
                "{:#?}",
                plan.explain
            );
        }
        // Written by the profile itself: requested.
        let asked = LandlockSpec {
            scope: vec![ScopeKind::Signal],
            ..s.clone()
        };
        assert!(matches!(
            compile(&asked.clone_with(Compat::Hard), Some(5)),
            Err(LandlockError::Unsupported { needed_abi: 6, .. })
        ));
        assert_eq!(
            compile(&asked.clone_with(Compat::Soft), Some(5))
                .unwrap()
                .outcome,
            PlanOutcome::SkippedSoft
        );
    }

    impl LandlockSpec {
        fn clone_with(&self, compat: Compat) -> Self {
            LandlockSpec {
                compat,
                ..self.clone()
            }
        }
    }
}
