//! What the checks read: the plan and the host, and the answers several checks share (what
//! a path resolves to inside, the binds a profile wrote, the Landlock scopes, the tmpfs memory,
//! the seccomp gaps), plus the short path lists the whys print.

use crate::host::Host;
use crate::plan::landlock::ScopeKind;
use crate::plan::mounts::{Access, PRIVATE_HOME_WHY};
use crate::plan::seccomp::{self, DefaultPolicy, SeccompAction};
use crate::plan::{self, under, MountStep, Plan};
use crate::profile::DbusMode;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Above this total, the sandbox's tmpfs folders (`/tmp`, `/dev/shm`, `tmpfs` entries, the
/// scratch of throwaway layers) count as able to pin a large share of a desktop's memory.
pub(super) const TMPFS_HUGE: u64 = 4 << 30;

/// Home files whose reading hands over an identity.
pub(crate) const SECRETS: &[&str] = &[
    ".ssh",
    ".gnupg",
    ".aws",
    ".azure",
    ".kube",
    ".docker/config.json",
    ".netrc",
    ".password-store",
    ".local/share/keyrings",
    ".config/gcloud",
    ".git-credentials",
    ".pgpass",
    ".cargo/credentials.toml",
    ".cargo/credentials",
    ".npmrc",
    ".pypirc",
];

/// Folders whose writing changes the system for every program.
const SYSTEM: &[&str] = &[
    "/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/opt",
    "/var/lib", "/srv",
];

/// The plan under audit and the host it was compiled for.
pub struct Facts<'a> {
    pub plan: &'a Plan,
    pub host: &'a Host,
    /// The caller's home on the host.
    pub home: &'a Path,
    /// `$XDG_RUNTIME_DIR`, or `/run/user/UID` when it is not set.
    pub runtime: PathBuf,
}

impl<'a> Facts<'a> {
    /// `host` says where the home and the runtime folder are.
    pub fn new(plan: &'a Plan, host: &'a Host) -> Self {
        let runtime = host
            .runtime_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("/run/user/{}", host.uid)));
        Facts {
            plan,
            host,
            home: host.home.as_path(),
            runtime,
        }
    }

    /// Whether the `[gui]` switch `k` is on.
    pub fn gui(&self, k: &str) -> bool {
        self.plan.gui.get(k).copied().unwrap_or(false)
    }

    /// The binds a profile wrote (not jail's own read-only re-binds of its policy folders).
    pub fn binds(&self) -> impl Iterator<Item = (&'a PathBuf, Access)> {
        self.plan.mounts.iter().filter_map(|m| match m {
            MountStep::Bind {
                target,
                access,
                why,
                ..
            } if !why.starts_with("jail policy") && why != PRIVATE_HOME_WHY => {
                Some((target, *access))
            }
            _ => None,
        })
    }

    /// The targets of the binds at or below `base`.
    pub fn bound_under(&self, base: &Path) -> Vec<PathBuf> {
        self.binds()
            .filter(|(t, _)| under(t, base))
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// The targets of the binds with an access `keep` accepts that lie in the home or above it
    /// (`home_side`), or neither in it nor above it and not under `/dev` (`!home_side`).
    fn bound_by_side(&self, home_side: bool, keep: impl Fn(Access) -> bool) -> Vec<PathBuf> {
        let home = self.home;
        self.binds()
            .filter(|(t, a)| {
                keep(*a)
                    && if home_side {
                        under(t, home) || under(home, t)
                    } else {
                        !under(t, home) && !under(home, t) && !under(t, Path::new("/dev"))
                    }
            })
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// The binds of something of the real home (or of a folder holding it).
    pub fn home_binds(&self) -> Vec<PathBuf> {
        self.bound_by_side(true, |_| true)
    }

    /// The writable binds of something of the real home (or of a folder holding it).
    pub fn home_rw(&self) -> Vec<PathBuf> {
        self.bound_by_side(true, |a| a != Access::Ro)
    }

    /// The read-write binds outside the home and outside `/dev`.
    pub fn rw_outside_home(&self) -> Vec<PathBuf> {
        self.bound_by_side(false, |a| a == Access::Rw)
    }

    /// What covers `p` inside: the last mount step at or above it. `Some(access)` when that is
    /// a bind of the host (so `p` shows the host's file), `None` when it is hidden, a fresh
    /// tmpfs, or not granted at all.
    pub fn resolve(&self, p: &Path) -> Option<Access> {
        let step = self
            .plan
            .mounts
            .iter()
            .filter(|m| !matches!(m, MountStep::RootTmpfs | MountStep::Symlink { .. }))
            .rfind(|m| under(p, m.target()))?;
        match step {
            // The private home shows none of the host's home (like a tmpfs that is kept).
            MountStep::Bind { why, .. } if why == PRIVATE_HOME_WHY => None,
            MountStep::Bind { access, .. } => Some(*access),
            MountStep::RootImage { .. } => None,
            _ => None,
        }
    }

    /// Whether Landlock is enforced and scopes the sandbox against `k`.
    pub fn scoped(&self, k: ScopeKind) -> bool {
        self.plan.landlock.enforce() && self.plan.landlock.scopes.contains(&k)
    }

    /// Why the scope `k` is missing.
    pub fn unscoped_why(&self, k: ScopeKind) -> String {
        if !self.plan.landlock.enforce() {
            "Landlock is not enforced".into()
        } else if self.plan.landlock.abi.unwrap_or(0) < 6 {
            "this kernel has no Landlock scopes (ABI 6, Linux 6.12)".into()
        } else {
            format!("the profile opts out (landlock.scope \"!{k}\")")
        }
    }

    /// Whether the host's abstract unix sockets are reachable at all: the host network and no
    /// Landlock scope against them.
    fn abstract_reachable(&self) -> bool {
        !self.plan.namespaces.net && !self.scoped(ScopeKind::AbstractUnixSocket)
    }

    /// Whether the abstract sockets are reachable because jail left them open for gui.x11 (see
    /// plan::X11_UNSCOPED): X11 itself counts under `x11`, what is left is the host's other
    /// abstract sockets.
    pub fn abstract_for_x11(&self) -> bool {
        let ll = &self.plan.landlock;
        self.abstract_reachable()
            && ll.enforce()
            && ll.explain.iter().any(|l| l == plan::X11_UNSCOPED)
    }

    /// Whether the host's abstract sockets are reachable for another reason than X11.
    pub fn abstract_open(&self) -> bool {
        self.abstract_reachable() && !self.abstract_for_x11()
    }

    /// What the home itself resolves to inside.
    pub fn whole_home(&self) -> Option<Access> {
        self.resolve(self.home)
    }

    /// Whether the session bus is reachable unfiltered.
    pub fn session_bus_host(&self) -> bool {
        self.plan.dbus.session == DbusMode::Host
            || self.resolve(&self.runtime.join("bus")).is_some()
    }

    /// Whether the system bus is reachable unfiltered.
    pub fn system_bus_host(&self) -> bool {
        let sock = self
            .resolve(Path::new("/run/dbus/system_bus_socket"))
            .is_some()
            || self
                .resolve(Path::new("/var/run/dbus/system_bus_socket"))
                .is_some();
        self.plan.dbus.system == DbusMode::Host || sock
    }

    /// `v` as a short list for a why (see [`list`]).
    pub fn list(&self, v: &[PathBuf]) -> String {
        list(v, self.home)
    }
}

/// Whether writing `t` changes the system for every program.
pub(super) fn is_system(t: &Path) -> bool {
    t == Path::new("/") || t == Path::new("/var") || SYSTEM.iter().any(|s| under(t, Path::new(s)))
}

/// `~/x` for paths under `home`, for short whys.
fn show(p: &Path, home: &Path) -> String {
    match p.strip_prefix(home) {
        Ok(rest) if rest.as_os_str().is_empty() => "~".into(),
        Ok(rest) if home != Path::new("/") => format!("~/{}", rest.display()),
        _ => p.display().to_string(),
    }
}

/// The paths of `v` as [`show`] writes them, at most four and a count of the rest.
fn list(v: &[PathBuf], home: &Path) -> String {
    let mut s: Vec<String> = v.iter().map(|p| show(p, home)).collect();
    s.dedup();
    if s.len() > 4 {
        let n = s.len() - 4;
        s.truncate(4);
        s.push(format!("+{n} more"));
    }
    s.join(", ")
}

/// The memory the sandbox's writable tmpfs folders may hold together, and those without a bound.
pub(super) fn tmpfs_memory(plan: &Plan) -> (u64, Vec<PathBuf>) {
    let mut total = 0u64;
    let mut unbounded = vec![];
    let mut throwaway = false;
    for m in &plan.mounts {
        match m {
            MountStep::Tmpfs { target, size, .. } => match size {
                Some(s) => total = total.saturating_add(*s),
                None => unbounded.push(target.clone()),
            },
            MountStep::Dev { target, shm, .. } => match shm {
                Some(b) => total = total.saturating_add(b.size),
                None => unbounded.push(target.join("shm")),
            },
            MountStep::RootImage { .. } | MountStep::Overlay { upper: None, .. } => {
                throwaway = true
            }
            _ => {}
        }
    }
    if throwaway {
        total = total.saturating_add(plan.scratch.size);
    }
    (total, unbounded)
}

/// What the seccomp plan lets through of the default deny groups.
pub(super) fn seccomp_gaps(s: &seccomp::SeccompPlan) -> Vec<String> {
    let mut out = vec![];
    let sum = &s.summary;
    if sum.refuse_action == SeccompAction::Log || sum.refuse_action == SeccompAction::Allow {
        out.push("action = \"log\": refused calls run anyway".into());
    }
    let baseline: BTreeSet<String> = seccomp::groups(s.arch)
        .into_iter()
        .find(|g| g.name == "@default-deny")
        .map(|g| g.members.into_iter().map(|m| m.name).collect())
        .unwrap_or_default();
    let through: Vec<&String> = match sum.default {
        DefaultPolicy::Allow => {
            let denied: BTreeSet<&String> = sum.denied.iter().map(|n| &n.name).collect();
            baseline.iter().filter(|m| !denied.contains(m)).collect()
        }
        DefaultPolicy::Deny => {
            let allowed: BTreeSet<&String> = sum.allowed.iter().map(|n| &n.name).collect();
            baseline.iter().filter(|m| allowed.contains(m)).collect()
        }
    };
    if !through.is_empty() {
        let mut names: Vec<&str> = through.iter().take(5).map(|s| s.as_str()).collect();
        let more = through.len().saturating_sub(5);
        let more = if more > 0 {
            format!(" +{more} more")
        } else {
            String::new()
        };
        names.sort();
        out.push(format!(
            "{} of @default-deny allowed: {}{more}",
            through.len(),
            names.join(" ")
        ));
    }
    out
}
