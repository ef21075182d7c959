//! `jail audit PROFILE...`: how exposed an app is under a profile, as a score from 0.0 (locked)
//! to 10.0 (open), in the spirit of `systemd-analyze security`.
//!
//! Each profile is loaded and compiled exactly like `jail check` does (so the audit reads the
//! [`Plan`] that `jail run` would execute, on this host), then a fixed list of [`CHECKS`] is
//! evaluated on the plan. Each check has a weight `w` from 0 to 10: how much of what is left of
//! the sandbox's protection that one exposure gives away.
//!
//! # The formula
//!
//! ```text
//! protection = 10 × Π over exposed checks of (1 − w/10)
//! score      = 10 − protection        (rounded to one decimal)
//! ```
//!
//! A plan with no exposure keeps all its protection (0.0); every exposed check takes the share
//! `w/10` of the protection still left, so:
//! - the score only grows when a check becomes exposed (monotonic) and strictly drops when one
//!   is removed, whatever else is exposed (no cap is ever reached: a check of weight 10 would be
//!   "game over", and none has that weight);
//! - the order of the checks does not matter;
//! - one check alone scores exactly its weight (`net-host` alone → 2.5), so the weights read
//!   like the score of that single exposure.
//!
//! Some exposures come in grades (home readable → home writable → the whole home writable):
//! each grade is its own check, so a worse grant fails more checks and scores higher.
//!
//! What is audited is the plan on this host: optional paths that are absent here are not
//! counted, and `landlock` fails on a kernel without Landlock, whatever the profile says.

use super::print_error;
use crate::cli::{AuditArgs, Format};
use crate::host::Host;
use crate::plan::landlock::{PlanOutcome, ScopeKind};
use crate::plan::mounts::Access;
use crate::plan::seccomp::{self, DefaultPolicy, SeccompAction};
use crate::plan::{self, under, MountStep, Plan};
use crate::profile::{self, Overrides, SearchPath};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Every check: id, weight (0–10), and what it is about (for the text report's header).
pub const CHECKS: &[(&str, f64, &str)] = &[
    ("net-host", 2.5, "host network shared"),
    ("net-tcp-any", 1.0, "TCP connections to any port"),
    (
        "abstract-sockets",
        2.0,
        "the host's abstract unix sockets reachable",
    ),
    (
        "abstract-sockets-x11",
        0.5,
        "abstract sockets left open for X11 on the host network",
    ),
    ("host-root", 2.0, "the host's / bound"),
    ("home-read", 1.0, "something of the real home readable"),
    ("home-whole-read", 2.0, "the whole home readable"),
    (
        "home-secrets",
        2.5,
        "keys and credentials in the home readable",
    ),
    ("home-write", 1.5, "something of the real home writable"),
    ("home-whole-rw", 3.0, "the whole home writable"),
    ("rw-outside-home", 1.0, "writable grants outside the home"),
    ("rw-system", 3.0, "system folders writable"),
    ("runtime-dir", 2.5, "the whole $XDG_RUNTIME_DIR visible"),
    ("x11", 2.5, "X11 display"),
    ("wayland", 0.5, "Wayland compositor"),
    ("audio", 1.0, "sound server (and so the microphone)"),
    ("dbus-session", 0.5, "session bus reachable"),
    ("dbus-session-host", 3.0, "session bus unfiltered"),
    ("dbus-system", 0.5, "system bus reachable"),
    ("dbus-system-host", 1.5, "system bus unfiltered"),
    ("ssh-agent", 1.5, "ssh-agent reachable"),
    ("devices", 1.5, "device nodes granted"),
    ("capabilities", 2.5, "capabilities kept"),
    ("uid-root", 1.0, "runs as uid 0 inside"),
    ("user-host", 1.5, "no user namespace"),
    ("seccomp", 2.0, "default deny groups weakened"),
    ("nested-user", 1.5, "may create user namespaces"),
    ("nested-other", 0.5, "may create other namespaces"),
    ("landlock", 1.0, "no Landlock"),
    ("pid-host", 2.0, "host pid namespace"),
    ("signal-host", 1.0, "host processes can be signalled"),
    ("ipc-host", 0.5, "host ipc namespace"),
    ("uts-host", 0.2, "host uts namespace"),
    ("limits", 0.5, "no memory or pids limit"),
    (
        "tmpfs-memory",
        1.0,
        "memory-backed folders unbounded or huge",
    ),
];

/// Above this total, the sandbox's tmpfs folders (`/tmp`, `/dev/shm`, `tmpfs` entries, the
/// scratch of throwaway layers) count as able to pin a large share of a desktop's memory.
const TMPFS_HUGE: u64 = 4 << 30;

/// Home files whose reading hands over an identity.
const SECRETS: &[&str] = &[
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

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Check {
    pub id: &'static str,
    pub weight: f64,
    pub exposed: bool,
    pub why: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub profile: String,
    pub description: Option<String>,
    pub score: f64,
    pub checks: Vec<Check>,
}

/// The score of a list of checks (see the formula at the top of this file).
pub fn score(checks: &[Check]) -> f64 {
    let protection: f64 = checks
        .iter()
        .filter(|c| c.exposed)
        .map(|c| 1.0 - c.weight / 10.0)
        .product();
    ((10.0 - 10.0 * protection) * 10.0).round() / 10.0
}

/// `~/x` for paths under `home`, for short whys.
fn show(p: &Path, home: &Path) -> String {
    match p.strip_prefix(home) {
        Ok(rest) if rest.as_os_str().is_empty() => "~".into(),
        Ok(rest) if home != Path::new("/") => format!("~/{}", rest.display()),
        _ => p.display().to_string(),
    }
}

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

/// The binds a profile wrote (not jail's own read-only re-binds of its policy folders).
fn binds(plan: &Plan) -> impl Iterator<Item = (&PathBuf, Access)> {
    plan.mounts.iter().filter_map(|m| match m {
        MountStep::Bind {
            target,
            access,
            why,
            ..
        } if !why.starts_with("jail policy") => Some((target, *access)),
        _ => None,
    })
}

/// What covers `p` inside: the last mount step at or above it. `Some(access)` when that is a
/// bind of the host (so `p` shows the host's file), `None` when it is hidden, a fresh tmpfs, or
/// not granted at all.
fn resolve(plan: &Plan, p: &Path) -> Option<Access> {
    let step = plan
        .mounts
        .iter()
        .filter(|m| !matches!(m, MountStep::RootTmpfs | MountStep::Symlink { .. }))
        .rfind(|m| under(p, m.target()))?;
    match step {
        MountStep::Bind { access, .. } => Some(*access),
        MountStep::RootImage { .. } => None,
        _ => None,
    }
}

/// Runs every check on `plan`; `host` says where the home and the runtime folder are.
pub fn audit(plan: &Plan, host: &Host) -> Report {
    let home = host.home.as_path();
    let runtime = host
        .runtime_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("/run/user/{}", host.uid)));
    let mut checks = vec![];
    let mut add = |id: &'static str, exposed: bool, why: String| {
        let weight = CHECKS
            .iter()
            .find(|c| c.0 == id)
            .map(|c| c.1)
            .unwrap_or(0.0);
        checks.push(Check {
            id,
            weight,
            exposed,
            why,
        });
    };
    let ns = &plan.namespaces;
    let gui = |k: &str| plan.gui.get(k).copied().unwrap_or(false);
    let bound_under = |base: &Path| -> Vec<PathBuf> {
        binds(plan)
            .filter(|(t, _)| under(t, base))
            .map(|(t, _)| t.clone())
            .collect()
    };

    // Network.
    let scoped = |k: ScopeKind| plan.landlock.enforce() && plan.landlock.scopes.contains(&k);
    let unscoped_why = |k: ScopeKind| -> String {
        if !plan.landlock.enforce() {
            "Landlock is not enforced".into()
        } else if plan.landlock.abi.unwrap_or(0) < 6 {
            "this kernel has no Landlock scopes (ABI 6, Linux 6.12)".into()
        } else {
            format!("the profile opts out (landlock.scope \"!{k}\")")
        }
    };
    add(
        "net-host",
        !ns.net,
        if ns.net {
            "own network namespace: loopback only".into()
        } else {
            "the host's network: LAN and the host's localhost services are reachable".into()
        },
    );
    let abstract_open = !ns.net && !scoped(ScopeKind::AbstractUnixSocket);
    // Left open by jail for gui.x11 (see plan::X11_UNSCOPED): X11 itself counts under `x11`,
    // what is left is the host's other abstract sockets.
    let for_x11 = abstract_open
        && plan.landlock.enforce()
        && plan
            .landlock
            .explain
            .iter()
            .any(|l| l == plan::X11_UNSCOPED);
    let abstract_open = abstract_open && !for_x11;
    add(
        "abstract-sockets-x11",
        for_x11,
        if for_x11 {
            "gui.x11 with the host network: abstract sockets stay unscoped because X11 clients try @/tmp/.X11-unix/X… first; the host's other abstract sockets (D-Bus, container shims) are reachable too".into()
        } else {
            "no abstract socket left open for X11".into()
        },
    );
    add(
        "abstract-sockets",
        abstract_open,
        if ns.net {
            "own network namespace: the host's abstract sockets do not exist there".into()
        } else if for_x11 {
            "see abstract-sockets-x11".into()
        } else if abstract_open {
            format!(
                "the host's abstract unix sockets (X11's @/tmp/.X11-unix/X0, D-Bus, container shims) are reachable: {}",
                unscoped_why(ScopeKind::AbstractUnixSocket)
            )
        } else {
            "Landlock scope: abstract unix sockets made outside the sandbox refuse it".into()
        },
    );
    let tcp_limited = plan.landlock.enforce() && !plan.landlock.handled_net.is_empty();
    add(
        "net-tcp-any",
        !ns.net && !tcp_limited,
        if ns.net {
            "no outside network to connect to".into()
        } else if tcp_limited {
            let ports: Vec<String> = plan
                .landlock
                .net_rules
                .iter()
                .map(|r| r.port.to_string())
                .collect();
            format!(
                "Landlock allows TCP connect/bind only on ports [{}]",
                ports.join(", ")
            )
        } else {
            "any TCP port of any host may be connected to (set landlock.connect_tcp)".into()
        },
    );

    // Filesystem.
    let root_bound =
        resolve(plan, Path::new("/")).is_some() || binds(plan).any(|(t, _)| t == Path::new("/"));
    add(
        "host-root",
        root_bound,
        if root_bound {
            "the host's whole / is bound: every file the user can read is visible".into()
        } else {
            "the root is an empty tmpfs or an image".into()
        },
    );
    let home_binds: Vec<PathBuf> = binds(plan)
        .filter(|(t, _)| under(t, home) || under(home, t))
        .map(|(t, _)| t.clone())
        .collect();
    add(
        "home-read",
        !home_binds.is_empty(),
        if home_binds.is_empty() {
            "nothing of the real home is bound".into()
        } else {
            format!("readable: {}", list(&home_binds, home))
        },
    );
    let whole = resolve(plan, home);
    add(
        "home-whole-read",
        whole.is_some(),
        match whole {
            Some(_) => "the whole home is bound; only what is hidden stays private".into(),
            None => "the home itself is not bound (empty, a tmpfs or absent)".into(),
        },
    );
    let secrets: Vec<PathBuf> = SECRETS
        .iter()
        .map(|s| home.join(s))
        .filter(|p| host.fs.kind(p).is_some() && resolve(plan, p).is_some())
        .collect();
    add(
        "home-secrets",
        !secrets.is_empty(),
        if secrets.is_empty() {
            "~/.ssh, ~/.gnupg, cloud and package-registry credentials are not visible".into()
        } else {
            format!("readable: {}", list(&secrets, home))
        },
    );
    let home_rw: Vec<PathBuf> = binds(plan)
        .filter(|(t, a)| *a != Access::Ro && (under(t, home) || under(home, t)))
        .map(|(t, _)| t.clone())
        .collect();
    add(
        "home-write",
        !home_rw.is_empty(),
        if home_rw.is_empty() {
            "nothing of the real home is writable".into()
        } else {
            format!("writable: {}", list(&home_rw, home))
        },
    );
    let whole_rw = matches!(whole, Some(Access::Rw | Access::Dev));
    add(
        "home-whole-rw",
        whole_rw,
        if whole_rw {
            "the whole home is writable: ~/.bashrc, autostart files, other apps' data".into()
        } else {
            "the home as a whole is not writable".into()
        },
    );
    let is_system = |t: &Path| {
        t == Path::new("/")
            || t == Path::new("/var")
            || SYSTEM.iter().any(|s| under(t, Path::new(s)))
    };
    let rw_out: Vec<PathBuf> = binds(plan)
        .filter(|(t, a)| {
            *a == Access::Rw && !under(t, home) && !under(home, t) && !under(t, Path::new("/dev"))
        })
        .map(|(t, _)| t.clone())
        .collect();
    add(
        "rw-outside-home",
        !rw_out.is_empty(),
        if rw_out.is_empty() {
            "no writable host folder outside the home".into()
        } else {
            format!("writable: {}", list(&rw_out, home))
        },
    );
    let rw_sys: Vec<PathBuf> = rw_out.iter().filter(|t| is_system(t)).cloned().collect();
    add(
        "rw-system",
        !rw_sys.is_empty(),
        if rw_sys.is_empty() {
            "/usr, /etc, /lib … are read-only or absent".into()
        } else {
            format!("writable system folders: {}", list(&rw_sys, home))
        },
    );
    let rt = resolve(plan, &runtime).is_some();
    add(
        "runtime-dir",
        rt,
        if rt {
            format!("{} is bound: every session socket (D-Bus, sound, display, systemd --user) is reachable", runtime.display())
        } else {
            "only single sockets of the runtime folder, if any".into()
        },
    );

    // Desktop.
    let x11_sock = bound_under(Path::new("/tmp/.X11-unix"));
    let x11 = gui("x11") || !x11_sock.is_empty();
    add(
        "x11",
        x11,
        if x11 {
            "X11 lets any client read keystrokes and screen contents of every window".into()
        } else {
            "no X11 socket".into()
        },
    );
    let wayland = gui("wayland")
        || binds(plan).any(|(t, _)| {
            t.file_name()
                .map(|n| n.to_string_lossy().starts_with("wayland-"))
                .unwrap_or(false)
        });
    add(
        "wayland",
        wayland,
        if wayland {
            "a Wayland socket: windows of its own only, but compositor bugs are reachable".into()
        } else {
            "no Wayland socket".into()
        },
    );
    let audio = gui("pulseaudio")
        || gui("pipewire")
        || binds(plan).any(|(t, _)| {
            under(t, &runtime.join("pulse")) || t.to_string_lossy().contains("pipewire-")
        });
    add(
        "audio",
        audio,
        if audio {
            "the sound server: plays sound and can record the microphone".into()
        } else {
            "no sound server".into()
        },
    );
    let d = &plan.dbus;
    let session_sock = resolve(plan, &runtime.join("bus")).is_some();
    let system_sock = resolve(plan, Path::new("/run/dbus/system_bus_socket")).is_some()
        || resolve(plan, Path::new("/var/run/dbus/system_bus_socket")).is_some();
    let session_host = d.session == "host" || session_sock;
    let system_host = d.system == "host" || system_sock;
    add(
        "dbus-session",
        d.session != "none" || session_host,
        match (d.session.as_str(), session_host) {
            (_, true) => "the session bus".into(),
            ("filtered", _) => format!(
                "the session bus through a filter: talk {:?}, own {:?}",
                d.talk, d.own
            ),
            _ => "no session bus".into(),
        },
    );
    add(
        "dbus-session-host",
        session_host,
        if session_host {
            "the session bus unfiltered: other apps, secrets service, systemd --user can start programs outside".into()
        } else {
            "no unfiltered session bus".into()
        },
    );
    add(
        "dbus-system",
        d.system != "none" || system_host,
        if d.system != "none" || system_host {
            format!(
                "the system bus ({})",
                if system_host { "host" } else { "filtered" }
            )
        } else {
            "no system bus".into()
        },
    );
    add(
        "dbus-system-host",
        system_host,
        if system_host {
            "the system bus unfiltered: every system service's API that polkit allows".into()
        } else {
            "no unfiltered system bus".into()
        },
    );
    let agent = plan.env.contains_key("SSH_AUTH_SOCK");
    add(
        "ssh-agent",
        agent,
        if agent {
            "SSH_AUTH_SOCK is passed: the agent signs for any host the keys open".into()
        } else {
            "no ssh-agent".into()
        },
    );
    let mut devs: Vec<PathBuf> = binds(plan)
        .filter(|(_, a)| *a == Access::Dev)
        .map(|(t, _)| t.clone())
        .collect();
    if gui("gpu") && !devs.iter().any(|d| under(d, Path::new("/dev/dri"))) {
        devs.push("/dev/dri".into());
    }
    add(
        "devices",
        !devs.is_empty(),
        if devs.is_empty() {
            "only the minimal /dev (null, zero, random, tty …)".into()
        } else {
            format!("device drivers reachable: {}", list(&devs, home))
        },
    );

    // Privileges and kernel surface.
    let caps = &plan.capabilities.keep;
    add(
        "capabilities",
        !caps.is_empty(),
        if caps.is_empty() {
            "every capability dropped".into()
        } else {
            format!("kept: {}", caps.join(", "))
        },
    );
    let root = plan.ids.uid_inside == 0 && plan.ids.uid_outside != 0;
    add(
        "uid-root",
        root,
        if root {
            "uid 0 inside (process.uid = \"root\"): programs take root-only paths".into()
        } else {
            "the caller's own uid inside".into()
        },
    );
    add(
        "user-host",
        !ns.user,
        if ns.user {
            "own user namespace".into()
        } else {
            "no user namespace: ids are the host's".into()
        },
    );
    let weak = seccomp_gaps(&plan.seccomp);
    add(
        "seccomp",
        !weak.is_empty(),
        if weak.is_empty() {
            "every @default-deny call is refused".into()
        } else {
            weak.join("; ")
        },
    );
    let nested_user = ns.nested.iter().any(|n| n == "user");
    add(
        "nested-user",
        nested_user,
        if nested_user {
            "may create user namespaces: the kernel's largest unprivileged attack surface".into()
        } else {
            "user namespaces refused".into()
        },
    );
    let other: Vec<&String> = ns.nested.iter().filter(|n| *n != "user").collect();
    add(
        "nested-other",
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
    );
    let ll = plan.landlock.enforce();
    add(
        "landlock",
        !ll,
        match plan.landlock.outcome {
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
    );
    add(
        "pid-host",
        !ns.pid,
        if ns.pid {
            "own pid namespace".into()
        } else {
            "the host's processes are visible and can be signalled or traced when they share the uid".into()
        },
    );
    let signal_open = !ns.pid && !scoped(ScopeKind::Signal);
    add(
        "signal-host",
        signal_open,
        if ns.pid {
            "own pid namespace: processes outside cannot be named".into()
        } else if signal_open {
            format!(
                "the host's processes of the same user can be killed: {}",
                unscoped_why(ScopeKind::Signal)
            )
        } else {
            "Landlock scope: no signal reaches a process outside the sandbox".into()
        },
    );
    add(
        "ipc-host",
        !ns.ipc,
        if ns.ipc {
            "own System V IPC and POSIX queues".into()
        } else {
            "the host's shared memory and message queues".into()
        },
    );
    add(
        "uts-host",
        !ns.uts,
        if ns.uts {
            "own hostname".into()
        } else {
            "the host's hostname, which it may read".into()
        },
    );
    let l = &plan.limits;
    let limited = l.memory.is_some() || l.pids.is_some();
    add(
        "limits",
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
    );

    let (total, unbounded) = tmpfs_memory(plan);
    let huge = !unbounded.is_empty() || total > TMPFS_HUGE;
    add(
        "tmpfs-memory",
        huge,
        if !unbounded.is_empty() {
            format!(
                "unbounded tmpfs (half the RAM each): {}",
                list(&unbounded, home)
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
    );

    Report {
        profile: plan.profile.clone(),
        description: plan.description.clone(),
        score: score(&checks),
        checks,
    }
}

/// The memory the sandbox's writable tmpfs folders may hold together, and those without a bound.
fn tmpfs_memory(plan: &Plan) -> (u64, Vec<PathBuf>) {
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
fn seccomp_gaps(s: &seccomp::SeccompPlan) -> Vec<String> {
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

pub fn run(a: AuditArgs) -> i32 {
    let mut host = Host::probe();
    // A profile is judged, not this session: a [gui] socket this machine lacks is a note.
    host.session_optional = true;
    let search = SearchPath::from_env(&host.config_home);
    let mut reports = vec![];
    let mut broken = false;
    for name in &a.profiles {
        let r = profile::load(&search, name, &Overrides::default()).and_then(|l| {
            plan::compile(&l, &["/bin/true".to_string()], &host).map_err(|e| (e, l.sources))
        });
        match r {
            Ok(plan) => reports.push(audit(&plan, &host)),
            Err((e, sources)) => {
                broken = true;
                print_error(&e, &sources);
            }
        }
    }
    match a.format {
        Format::Json => println!(
            "{}",
            crate::util::printable_json(
                &serde_json::to_string_pretty(&reports).unwrap_or_default()
            )
        ),
        Format::Text => {
            for (i, r) in reports.iter().enumerate() {
                if i > 0 {
                    println!();
                }
                print!("{}", crate::util::printable(&to_text(r, a.threshold), true));
            }
        }
    }
    if broken {
        return crate::EXIT_JAIL;
    }
    match a.threshold {
        Some(t) if reports.iter().any(|r| r.score > t) => 1,
        _ => 0,
    }
}

/// The text report: exposed checks first, heaviest first, then the passed ones.
pub fn to_text(r: &Report, threshold: Option<f64>) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: exposure {:.1} / 10 ({}){}",
        r.profile,
        r.score,
        level(r.score),
        match threshold {
            Some(t) if r.score > t => format!(", above the threshold {t}"),
            _ => String::new(),
        }
    );
    if let Some(d) = &r.description {
        let _ = writeln!(out, "  {d}");
    }
    let mut checks: Vec<&Check> = r.checks.iter().collect();
    checks.sort_by(|a, b| {
        b.exposed.cmp(&a.exposed).then(
            b.weight
                .partial_cmp(&a.weight)
                .unwrap_or(std::cmp::Ordering::Equal),
        )
    });
    let _ = writeln!(out, "  {:<2} {:<18} {:>6}  WHY", "", "CHECK", "WEIGHT");
    for c in checks {
        let _ = writeln!(
            out,
            "  {:<2} {:<18} {:>6.1}  {}",
            if c.exposed { "✗" } else { "✓" },
            c.id,
            c.weight,
            c.why
        );
    }
    out
}

fn level(s: f64) -> &'static str {
    match s {
        s if s < 2.0 => "locked down",
        s if s < 4.0 => "mostly contained",
        s if s < 6.0 => "medium",
        s if s < 8.0 => "exposed",
        _ => "open",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A fresh home with the folders the test profiles grant, and a Host that points at it;
    /// all of it is removed when the returned guard drops.
    fn setup() -> (PathBuf, Host, crate::util::ScratchDir) {
        let base = crate::util::ScratchDir::new("jail-audit");
        let home = base.join("home");
        for d in [".ssh", "Downloads", "work", ".profiles"] {
            std::fs::create_dir_all(home.join(d)).unwrap();
        }
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut host = Host::probe();
        // As `jail audit` itself: the profile is judged, not this session.
        host.session_optional = true;
        host.home = home.clone();
        host.cwd = base.to_path_buf();
        host.downloads = home.join("Downloads");
        host.config_home = home.join(".config");
        host.runtime_dir = Some(base.join("run"));
        (home, host, base)
    }

    fn report_of(toml: &str) -> Report {
        report_on(toml, |_| {})
    }

    /// The audit of `toml` on the test host as `adjust` changes it.
    fn report_on(toml: &str, adjust: impl FnOnce(&mut Host)) -> Report {
        let (home, mut host, _base) = setup();
        adjust(&mut host);
        let dir = home.join(".profiles");
        std::fs::write(dir.join("t.toml"), toml).unwrap();
        let search = SearchPath {
            dirs: vec![dir],
            builtin: true,
        };
        let l = profile::load(&search, "t", &Overrides::default())
            .map_err(|(e, _)| e.msg)
            .unwrap();
        let plan = plan::compile(&l, &["/bin/true".into()], &host)
            .map_err(|e| e.msg)
            .unwrap();
        audit(&plan, &host)
    }

    fn exposed(r: &Report) -> Vec<&'static str> {
        r.checks
            .iter()
            .filter(|c| c.exposed)
            .map(|c| c.id)
            .collect()
    }

    const OPEN: &str = r#"
description = "everything a desktop app could ask for"
include = ["base"]
[namespaces]
net = false
[filesystem]
rw = ["~"]
"#;

    #[test]
    fn scopes_opted_out_or_missing_are_exposures() {
        let at = |toml: &str, abi: Option<u32>| report_on(toml, |h| h.landlock_abi = abi);
        let why = |r: &Report, id: &str| r.checks.iter().find(|c| c.id == id).unwrap().why.clone();
        let shared = "include = [\"base\"]\n[namespaces]\nnet = false\npid = false\n";
        // The defaults scope both: nothing exposed on a kernel with scopes.
        let r = at(shared, Some(6));
        assert!(
            !exposed(&r).contains(&"abstract-sockets"),
            "{:?}",
            exposed(&r)
        );
        assert!(!exposed(&r).contains(&"signal-host"), "{:?}", exposed(&r));
        // Opted out: exposed, and the why says so.
        let r = at(
            &format!("{shared}[landlock]\nscope = [\"!abstract-unix-socket\", \"!signal\"]\n"),
            Some(6),
        );
        assert!(exposed(&r).contains(&"abstract-sockets"));
        assert!(exposed(&r).contains(&"signal-host"));
        assert!(
            why(&r, "signal-host").contains("opts out"),
            "{}",
            why(&r, "signal-host")
        );
        // A kernel without scopes: exposed, with the kernel named.
        let r = at(shared, Some(5));
        assert!(exposed(&r).contains(&"abstract-sockets"));
        assert!(why(&r, "abstract-sockets").contains("ABI 6"));
        // Own namespaces: the scopes' absence costs nothing.
        let r = at(
            "include = [\"base\"]\n[landlock]\nscope = [\"!abstract-unix-socket\", \"!signal\"]\n",
            Some(6),
        );
        assert!(!exposed(&r).contains(&"abstract-sockets"));
        assert!(!exposed(&r).contains(&"signal-host"));
    }

    #[test]
    fn every_check_has_a_weight_and_runs_once() {
        let r = report_of("include = [\"default\"]");
        assert_eq!(r.checks.len(), CHECKS.len());
        for (id, w, _) in CHECKS {
            assert!(*w > 0.0 && *w < 10.0, "{id}");
            assert_eq!(r.checks.iter().filter(|c| c.id == *id).count(), 1, "{id}");
        }
    }

    #[test]
    fn builtin_default_scores_low() {
        let r = report_of("include = [\"default\"]");
        assert!(
            r.score < 3.0,
            "default scores {}: {:?}",
            r.score,
            exposed(&r)
        );
        assert!(!exposed(&r).contains(&"home-read"), "{:?}", exposed(&r));
        assert!(!exposed(&r).contains(&"net-host"));
    }

    #[test]
    fn empty_profile_exposes_only_the_missing_limits() {
        let r = report_of("");
        let e = exposed(&r);
        // Landlock is host-dependent; everything else is locked by default.
        assert!(
            e.iter().all(|id| *id == "limits" || *id == "landlock"),
            "{e:?}"
        );
        assert!(r.score <= 1.5, "{}", r.score);
        let limited = report_of("[limits]\npids = 64\nenforce = \"best-effort\"\n");
        assert!(limited.score < r.score, "{} !< {}", limited.score, r.score);
    }

    #[test]
    fn host_network_rw_home_x11_dbus_host_scores_high() {
        // The session bus of a real session is a socket in the runtime folder; a bind of it is
        // what dbus = "host" amounts to, and audit counts it the same way.
        let (_home, host, _base) = setup();
        let rt = host.runtime_dir.clone().unwrap();
        std::fs::create_dir_all(&rt).unwrap();
        std::fs::write(rt.join("bus"), "").unwrap();
        let bus = rt.join("bus").display().to_string();
        let toml = OPEN.replace("rw = [\"~\"]", &format!("rw = [\"~\", \"{bus}\"]"));
        let dir = host.home.join(".profiles");
        let search = SearchPath {
            dirs: vec![dir.clone()],
            builtin: true,
        };
        let load = |text: &str, x11: bool| {
            std::fs::write(dir.join("t.toml"), text).unwrap();
            let l = profile::load(&search, "t", &Overrides::default())
                .map_err(|(e, _)| e.msg)
                .unwrap();
            let mut plan = plan::compile(&l, &["/bin/true".into()], &host)
                .map_err(|e| e.msg)
                .unwrap();
            // [gui] x11 is being wired up elsewhere; audit reads the switch from the plan.
            plan.gui.insert("x11".into(), x11);
            audit(&plan, &host)
        };
        let full = load(&toml, true);
        let e = exposed(&full);
        for id in ["net-host", "home-whole-rw", "x11", "dbus-session-host"] {
            assert!(e.contains(&id), "{id} not exposed: {e:?}");
        }
        assert!(full.score > 7.0, "{} {e:?}", full.score);

        // Removing any one exposure lowers the score.
        let fewer = [
            ("x11", load(&toml, false)),
            (
                "net-host",
                load(&toml.replace("net = false", "net = true"), true),
            ),
            (
                "home-whole-rw",
                load(&toml.replace("rw = [\"~\", ", "ro = [\"~\"]\nrw = ["), true),
            ),
            (
                "dbus-session-host",
                load(&toml.replace(&format!(", \"{bus}\""), ""), true),
            ),
        ];
        for (id, r) in fewer {
            assert!(!exposed(&r).contains(&id), "{id} still exposed");
            assert!(r.score < full.score, "{id}: {} !< {}", r.score, full.score);
        }
    }

    #[test]
    fn hiding_secrets_and_narrowing_home_lower_the_score() {
        let whole = report_of("[filesystem]\nro = [\"~\"]\n");
        assert!(exposed(&whole).contains(&"home-secrets"));
        let hidden = report_of("[filesystem]\nro = [\"~\"]\nhide = [\"~/.ssh\"]\n");
        assert!(
            !exposed(&hidden).contains(&"home-secrets"),
            "{:?}",
            hidden.checks
        );
        assert!(hidden.score < whole.score);
        let narrow = report_of("[filesystem]\nrw = [\"~/Downloads\"]\n");
        let e = exposed(&narrow);
        assert!(
            e.contains(&"home-write") && !e.contains(&"home-whole-read"),
            "{e:?}"
        );
        assert!(narrow.score < report_of("[filesystem]\nrw = [\"~\"]\n").score);
    }

    #[test]
    fn kernel_surface_checks() {
        let r = report_of(
            "[namespaces]\nnested = [\"user\", \"pid\"]\npid = false\n[capabilities]\nkeep = [\"CAP_NET_RAW\"]\n[seccomp]\naction = \"log\"\n[landlock]\nenabled = false\n[process]\nuid = \"root\"\n",
        );
        let e = exposed(&r);
        for id in [
            "nested-user",
            "nested-other",
            "pid-host",
            "capabilities",
            "seccomp",
            "landlock",
        ] {
            assert!(e.contains(&id), "{id}: {e:?}");
        }
        if Host::probe().uid != 0 {
            assert!(e.contains(&"uid-root"));
        }
        let s = r.checks.iter().find(|c| c.id == "seccomp").unwrap();
        assert!(s.why.contains("log"), "{}", s.why);
        // A deny-by-default filter that allows nothing dangerous is fine.
        let d = report_of(
            "[seccomp]\ndefault = \"deny\"\nallow = [\"read\", \"write\", \"exit_group\"]\n",
        );
        assert!(!exposed(&d).contains(&"seccomp"), "{:?}", exposed(&d));
        let d = report_of("[seccomp]\ndefault = \"deny\"\nallow = [\"read\", \"bpf\"]\n");
        assert!(exposed(&d).contains(&"seccomp"));
    }

    #[test]
    fn huge_tmpfs_raises_the_score() {
        let base = report_of("");
        assert!(
            !exposed(&base).contains(&"tmpfs-memory"),
            "{:?}",
            exposed(&base)
        );
        let why = &base
            .checks
            .iter()
            .find(|c| c.id == "tmpfs-memory")
            .unwrap()
            .why;
        assert!(why.contains("1.5 GiB"), "{why}");
        for toml in [
            "[filesystem]\ntmp_size = \"8GiB\"\n",
            "[filesystem]\ntmpfs = [\"/a\", \"/b\", \"/c\", \"/d\"]\n",
            "[filesystem]\ntmpfs_size = \"3GiB\"\ntmpfs = [\"/a\"]\n",
        ] {
            let r = report_of(toml);
            assert!(
                exposed(&r).contains(&"tmpfs-memory"),
                "{toml}: {:?}",
                exposed(&r)
            );
            assert!(
                r.score > base.score,
                "{toml}: {} <= {}",
                r.score,
                base.score
            );
        }
    }

    #[test]
    fn score_formula() {
        let c = |id, weight, exposed| Check {
            id,
            weight,
            exposed,
            why: String::new(),
        };
        assert_eq!(score(&[]), 0.0);
        assert_eq!(score(&[c("a", 2.5, true)]), 2.5);
        assert_eq!(score(&[c("a", 2.5, false)]), 0.0);
        // 10 − 10 × 0.75 × 0.5 = 6.25 → 6.3 (rounded half away from zero)
        assert_eq!(score(&[c("a", 2.5, true), c("b", 5.0, true)]), 6.3);
        let all: Vec<Check> = CHECKS.iter().map(|(id, w, _)| c(id, *w, true)).collect();
        assert!(score(&all) <= 10.0 && score(&all) > 9.0);
    }
}
