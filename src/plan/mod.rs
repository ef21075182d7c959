//! The compiler: a merged profile + the host's facts → a [`Plan`] that says exactly what will
//! happen. Pure data in, data out: nothing here calls the kernel (the [`Host`] answers every
//! question about the machine), so plans are printed by `explain`, audited and unit-tested
//! without privileges.

pub mod cgroup;
pub mod env;
pub mod gui;
pub mod landlock;
pub mod limits;
pub mod mounts;
mod policy;
pub mod seccomp;

pub use policy::X11_UNSCOPED;
use policy::{compile_landlock, compile_seccomp};

use crate::host::Host;
use crate::profile::{self, Loaded, Located, Origin, UidMode, L};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

pub use mounts::MountStep;

/// The id root is mapped to inside a sandbox that nests user namespaces (see `compile`).
pub const ROOT_NESTED_ID: u32 = 1000;

/// Version of the JSON plan format (`jail explain --format json`); bumped on any breaking change.
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub format: u32,
    pub profile: String,
    pub description: Option<String>,
    /// The files merged to make the profile, in merge order.
    pub files: Vec<String>,
    pub command: Vec<String>,
    pub namespaces: Namespaces,
    pub ids: Ids,
    /// The filesystem, in the order it is built.
    pub mounts: Vec<MountStep>,
    /// Bound of the scratch tmpfs that holds throwaway writable layers (an image root's, and
    /// those of overlays without `upper`).
    pub scratch: mounts::Bound,
    pub process: Process,
    /// COMMAND's whole environment.
    pub env: BTreeMap<String, String>,
    pub limits: limits::LimitsPlan,
    pub rlimits: Vec<limits::RlimitPlan>,
    pub capabilities: Capabilities,
    pub seccomp: seccomp::SeccompPlan,
    pub landlock: landlock::LandlockPlan,
    pub gui: BTreeMap<String, bool>,
    pub dbus: Dbus,
    /// What the supervisor prepares outside the sandbox before the clone (the filtered
    /// Xauthority copy, `xdg-dbus-proxy`); their binds are the last of `mounts`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helpers: Option<gui::helpers::Helpers>,
    /// What each glob of the path lists matched (`"~/.config/*.conf"` → its paths).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub globs: Vec<mounts::glob::GlobMatch>,
    /// Folders the supervisor creates (0700, as the caller, never through a symlink) before
    /// the sandbox is built: absent `"+path"` grants and the private home.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub create: Vec<mounts::CreateDir>,
    /// Host `.git` folders made writable by `repositories = "commit"`: what steers git and was
    /// absent there at the start (`commondir` …) is moved aside if the sandbox made it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub git_watch: Vec<PathBuf>,
    /// Things a user may want to know (skipped optional paths, ignored names …).
    pub warnings: Vec<String>,
}

/// Which namespaces are new (`true`) and which COMMAND may still create itself.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Namespaces {
    pub user: bool,
    pub pid: bool,
    pub mount: bool,
    pub ipc: bool,
    pub uts: bool,
    pub net: bool,
    pub cgroup: bool,
    pub time: bool,
    pub nested: Vec<String>,
}

impl Plan {
    /// The rlimits COMMAND gets. `cgroup_made`: whether the sandbox got its cgroup. When the
    /// plan's back end then failed to create it (enforce = best-effort), the limits' rlimit
    /// fallback (`limits.fallback_rlimits`, shown by `jail explain`) holds in its place; with
    /// no back end at all the plan's `rlimits` already hold it.
    pub fn rlimits_to_apply(&self, cgroup_made: bool) -> Vec<limits::RlimitPlan> {
        let mut r = self.rlimits.clone();
        if !cgroup_made && self.limits.backend.is_some() {
            limits::merge_rlimits(&mut r, &self.limits.fallback_rlimits);
        }
        r
    }
}

impl Namespaces {
    /// The `CLONE_NEW*` flags the sandbox is cloned with. Two are unshared by the child instead:
    /// `CLONE_NEWTIME` (clone cannot take it) and `CLONE_NEWCGROUP` (its root is fixed when it
    /// is created, which must be after the sandbox was placed in its own cgroup, or the sandbox
    /// would see the host's cgroup layout above it).
    pub fn clone_flags(&self) -> u64 {
        let mut f = 0u64;
        for (on, flag) in [
            (self.user, libc::CLONE_NEWUSER),
            (self.pid, libc::CLONE_NEWPID),
            (self.mount, libc::CLONE_NEWNS),
            (self.ipc, libc::CLONE_NEWIPC),
            (self.uts, libc::CLONE_NEWUTS),
            (self.net, libc::CLONE_NEWNET),
        ] {
            if on {
                f |= flag as u64;
            }
        }
        f
    }
}

/// Namespace names of `namespaces.nested` and their clone flags.
pub const NS_FLAGS: [(&str, i32); 8] = [
    ("user", libc::CLONE_NEWUSER),
    ("pid", libc::CLONE_NEWPID),
    ("mount", libc::CLONE_NEWNS),
    ("ipc", libc::CLONE_NEWIPC),
    ("uts", libc::CLONE_NEWUTS),
    ("net", libc::CLONE_NEWNET),
    ("cgroup", libc::CLONE_NEWCGROUP),
    ("time", libc::CLONE_NEWTIME),
];

/// The uid/gid maps written for the new user namespace: one id each.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Ids {
    pub uid_inside: u32,
    pub gid_inside: u32,
    pub uid_outside: u32,
    pub gid_outside: u32,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Process {
    pub hostname: Option<String>,
    pub cwd: PathBuf,
    pub init: bool,
    pub new_session: bool,
    pub die_with_parent: bool,
    /// `[process] memory_deny_write_execute`: how it is enforced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mdwe: Option<Mdwe>,
    /// The sandbox's pid namespace gets `vm.memfd_noexec = 2`: no memfd can be executed (with
    /// `noexec` or memory-deny-write-execute, in a sandbox started by root: the kernel lets
    /// only the host's root set it).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub memfd_noexec: bool,
    /// Landlock logs what it refuses COMMAND to the kernel's audit log, where the supervisor
    /// (root, with the refusal report on) reads it for its notes; the kernel says nothing when
    /// its audit is off.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub report_landlock: bool,
}

/// How memory-deny-write-execute is enforced.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Mdwe {
    /// `prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN)`: the kernel refuses every mapping that is
    /// writable and executable, or becomes executable (Linux 6.3+).
    Prctl,
    /// Older kernels: the seccomp filter `mdwe` (systemd's rules): mmap with PROT_WRITE and
    /// PROT_EXEC, mprotect/pkey_mprotect adding PROT_EXEC, shmat with SHM_EXEC → EPERM.
    Seccomp,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Capabilities {
    /// Kept capabilities, `CAP_*` names; every other one is dropped from all five sets.
    pub keep: Vec<String>,
    /// Their numbers.
    pub numbers: Vec<u8>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Dbus {
    pub session: profile::DbusMode,
    pub system: profile::DbusMode,
    pub talk: Vec<String>,
    pub own: Vec<String>,
    pub call: Vec<String>,
    pub see: Vec<String>,
    /// `dbus.portal = true`: the identity xdg-desktop-portal gives the app.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub portal: Option<gui::portal::Portal>,
}

/// A compile error: a message and, when it comes from a file, where.
pub type Error = Located;

/// The context of one compilation.
pub struct Ctx<'a> {
    pub host: &'a Host,
    pub warnings: Vec<String>,
}

impl Ctx<'_> {
    /// Expands `~` and the `${…}` variables of SPEC §3, then normalizes the path lexically
    /// (`.` and `..` removed) so the plan shows the path the kernel will use. Paths must be
    /// absolute after expansion.
    pub fn path(&self, v: &L<String>) -> Result<PathBuf, Error> {
        let s = expand(&v.v, self.host).map_err(|e| Located::at(e, &v.at))?;
        if !s.starts_with('/') {
            return Err(Located::at(
                format!(
                    "{:?} is not an absolute path (start it with /, ~ or ${{HOME}})",
                    v.v
                ),
                &v.at,
            ));
        }
        if s.contains('\0') {
            return Err(Located::at("a path cannot contain a NUL byte", &v.at));
        }
        Ok(normalize(Path::new(&s)))
    }
}

/// Expands `~` (at the start) and the variables SPEC §3 lists; any other `${…}` is an error.
pub fn expand(s: &str, host: &Host) -> Result<String, String> {
    expand_with(s, host, |v| v)
}

/// [`expand`], with each variable's value passed through `quote` (a glob pattern escapes the
/// values, so a home named `/home/a[1]` is not read as a pattern).
pub fn expand_with(s: &str, host: &Host, quote: fn(String) -> String) -> Result<String, String> {
    let mut out = String::new();
    let rest = if s == "~" || s.starts_with("~/") {
        out.push_str(&quote(host.home.display().to_string()));
        &s[1..]
    } else {
        s
    };
    let mut it = rest;
    while let Some(i) = it.find("${") {
        out.push_str(&it[..i]);
        let after = &it[i + 2..];
        let Some(j) = after.find('}') else {
            return Err(format!("unclosed ${{ in {s:?}"));
        };
        let var = &after[..j];
        let val = match var {
            "HOME" => host.home.display().to_string(),
            "USER" => host.user.clone(),
            "UID" => host.uid.to_string(),
            "XDG_RUNTIME_DIR" => match &host.runtime_dir {
                Some(r) => r.display().to_string(),
                None => return Err("${XDG_RUNTIME_DIR} is used but not set in this session".into()),
            },
            "XDG_CONFIG_HOME" => host.config_home.display().to_string(),
            "XDG_DATA_HOME" => host.data_home.display().to_string(),
            "PWD" => host.cwd.display().to_string(),
            _ => match host.user_dir(var) {
                Some(d) => d.display().to_string(),
                None => return Err(format!(
                    "unknown variable ${{{var}}}: use ~, ${{HOME}}, ${{USER}}, ${{UID}}, ${{XDG_RUNTIME_DIR}}, ${{XDG_CONFIG_HOME}}, ${{XDG_DATA_HOME}}, ${{PWD}}, or a user folder: ${{DESKTOP}}, ${{DOCUMENTS}}, ${{DOWNLOADS}}, ${{MUSIC}}, ${{PICTURES}}, ${{VIDEOS}}"
                )),
            },
        };
        out.push_str(&quote(val));
        it = &after[j + 1..];
    }
    out.push_str(it);
    Ok(out)
}

/// `/a/./b/../c` → `/a/c`, lexically; `..` never climbs above `/`.
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// `true` when `p` is `base` or lies under it.
pub fn under(p: &Path, base: &Path) -> bool {
    work(1);
    p.starts_with(base)
}

#[cfg(test)]
thread_local! {
    static WORK: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Counts the compiler's path comparisons and index probes, so a unit test can show that the
/// work of compiling grows linearly with the profile (timings never go into tests). Compiled to
/// nothing outside tests.
#[inline(always)]
pub(crate) fn work(_n: usize) {
    #[cfg(test)]
    WORK.with(|w| w.set(w.get() + _n as u64));
}

/// The work counted by [`work`] on this thread so far.
#[cfg(test)]
pub(crate) fn work_done() -> u64 {
    WORK.with(|w| w.get())
}

fn flag(v: &Option<L<bool>>, default: bool) -> bool {
    v.as_ref().map(|x| x.v).unwrap_or(default)
}

/// Compiles a loaded profile for `command` on `host`.
pub fn compile(loaded: &Loaded, command: &[String], host: &Host) -> Result<Plan, Error> {
    let p = &loaded.profile;
    // The kernel would cut an argument at a NUL byte: COMMAND would get another one than shown.
    if let Some(i) = command.iter().position(|a| a.contains('\0')) {
        return Err(Located::new(
            format!("argument {i} of COMMAND contains a NUL byte"),
            None,
        ));
    }
    let mut cx = Ctx {
        host,
        warnings: vec![],
    };

    // Namespaces.
    let n = &p.namespaces;
    let mut nested = vec![];
    let mut nested_flags = 0u64;
    for item in &n.nested {
        match NS_FLAGS.iter().find(|(name, _)| *name == item.v) {
            Some((name, f)) => {
                nested.push(name.to_string());
                nested_flags |= *f as u64;
            }
            None => {
                return Err(Located::at(
                    format!("unknown namespace {:?} in nested: use user, pid, mount, ipc, uts, net, cgroup or time", item.v),
                    &item.at,
                ))
            }
        }
    }
    let ns = Namespaces {
        user: flag(&n.user, true),
        pid: flag(&n.pid, true),
        mount: flag(&n.mount, true),
        ipc: flag(&n.ipc, true),
        uts: flag(&n.uts, true),
        net: flag(&n.net, true),
        cgroup: flag(&n.cgroup, true),
        time: flag(&n.time, false),
        nested,
    };
    if !ns.mount {
        let at = n.mount.as_ref().map(|x| x.at.clone());
        return Err(Located::new("namespaces.mount = false is not supported: jail builds the sandbox's files in a new mount namespace", at));
    }
    if !ns.user && host.uid != 0 {
        let at = n.user.as_ref().map(|x| x.at.clone());
        return Err(Located::new(
            "namespaces.user = false needs root: an unprivileged user can only create namespaces inside a new user namespace",
            at,
        ));
    }

    let uid_mode = p.process.uid.as_ref().map(|x| x.v).unwrap_or_default();
    let ids = match uid_mode {
        // Started by root with nested user namespaces (a browser's own sandbox): the kernel
        // lets a nested namespace map uid 0 only for a creator with CAP_SETFCAP, which jail
        // drops, so root is an ordinary id inside and the app's sandbox can start.
        UidMode::User if host.uid == 0 && ns.user && ns.nested.iter().any(|n| n == "user") => Ids {
            uid_inside: ROOT_NESTED_ID,
            gid_inside: ROOT_NESTED_ID,
            uid_outside: 0,
            gid_outside: 0,
        },
        UidMode::User => Ids {
            uid_inside: host.uid,
            gid_inside: host.gid,
            uid_outside: host.uid,
            gid_outside: host.gid,
        },
        UidMode::Root => Ids {
            uid_inside: 0,
            gid_inside: 0,
            uid_outside: host.uid,
            gid_outside: host.gid,
        },
    };

    // Desktop sockets and devices ([gui], [dbus]) become grants like any other.
    let mut desktop = gui::compile(&mut cx, p)?;
    desktop.dbus.portal = gui::portal::compile(&mut cx, &p.dbus, &loaded.name, &mut desktop.dbus)?;
    let with_desktop;
    let p = if desktop.ro.is_empty() && desktop.rw.is_empty() && desktop.dev.is_empty() {
        p
    } else {
        let mut q = p.clone();
        q.filesystem.ro.extend(desktop.ro.iter().cloned());
        q.filesystem.rw.extend(desktop.rw.iter().cloned());
        q.filesystem.dev.extend(desktop.dev.iter().cloned());
        with_desktop = q;
        &with_desktop
    };
    let fs = mounts::compile(&mut cx, p, &ns, &loaded.name)?;

    let init = flag(&p.process.init, true) || ns.time;
    let hostname = match &p.process.hostname {
        Some(h) => {
            if h.v.is_empty() || h.v.len() > 64 || h.v.contains(['/', '\0', '\n']) {
                return Err(Located::at(
                    "hostname must be 1 to 64 characters, without / or newlines",
                    &h.at,
                ));
            }
            if !ns.uts {
                return Err(Located::at(
                    "process.hostname needs namespaces.uts = true",
                    &h.at,
                ));
            }
            Some(h.v.clone())
        }
        None if ns.uts => Some("jail".to_string()),
        None => None,
    };
    let cwd = match &p.process.cwd {
        Some(c) => cx.path(c)?,
        None => fs.default_cwd.clone(),
    };
    let process = Process {
        hostname,
        cwd,
        init,
        new_session: flag(&p.process.new_session, true),
        die_with_parent: flag(&p.process.die_with_parent, true),
        mdwe: flag(&p.process.memory_deny_write_execute, false).then_some(if host.mdwe {
            Mdwe::Prctl
        } else {
            Mdwe::Seccomp
        }),
        memfd_noexec: host.uid == 0
            && ns.pid
            && (!fs.landlock_noexec.is_empty()
                || flag(&p.process.memory_deny_write_execute, false)),
        report_landlock: false,
    };

    let mut env = env::compile(&p.env, host)?;
    env.extend(desktop.env.clone());
    let limits = limits::compile(&mut cx, &p.limits, ns.user)?;
    let mut rlimits = limits::compile_rlimits(&p.rlimits, host)?;
    if limits.fallback.is_some() {
        // No cgroup here and best-effort: the rlimit stand-ins are part of what runs.
        limits::merge_rlimits(&mut rlimits, &limits.fallback_rlimits);
    }

    let mut keep = vec![];
    let mut numbers = vec![];
    for c in &p.capabilities.keep {
        let upper = c.v.to_ascii_uppercase();
        let name = if upper.starts_with("CAP_") {
            upper
        } else {
            format!("CAP_{upper}")
        };
        match name.parse::<caps::Capability>() {
            Ok(cap) => {
                if !keep.contains(&name) {
                    keep.push(name);
                    numbers.push(cap.index());
                }
            }
            Err(_) => {
                return Err(Located::at(format!("unknown capability {:?} (names as in capabilities(7), e.g. CAP_NET_BIND_SERVICE)", c.v), &c.at))
            }
        }
    }

    // Without PR_SET_MDWE, seccomp cannot see what the kernel does at exec: an i386 program
    // without PT_GNU_STACK gets READ_IMPLIES_EXEC there, and all its readable memory is
    // executable. Refused rather than promised.
    if process.mdwe == Some(Mdwe::Seccomp) && flag(&p.seccomp.i386, false) {
        let at = p
            .process
            .memory_deny_write_execute
            .as_ref()
            .map(|m| m.at.clone());
        return Err(Located::new(
            "memory_deny_write_execute with [seccomp] i386 needs PR_SET_MDWE (Linux 6.3+): on this kernel the seccomp rules cannot hold for 32-bit programs (the kernel makes an old one's readable memory executable at exec); drop one of the two",
            at,
        ));
    }
    let mut seccomp = compile_seccomp(
        p,
        nested_flags,
        !ns.pid,
        process.mdwe == Some(Mdwe::Seccomp),
    )?;
    // Answering refused calls is the supervisor's work, outside the sandbox's cgroup: with a
    // CPU limit, a sandbox looping on a refused call would spend CPU beyond it.
    if seccomp.report && limits.cpus.is_some() {
        seccomp.report = false;
        cx.warnings.push(
            "seccomp: no refusal report with [limits] cpus (jail answering refused calls would spend CPU outside the limit); refused calls get their errno directly".into(),
        );
    }
    // The report's socket costs the sandbox's setup one descriptor more: under a very low
    // limit (`ulimit -n 16`) it is left out.
    let nofile_hard = host.hard_rlimits.get(&profile::RlimitResource::Nofile);
    if seccomp.report && matches!(nofile_hard, Some(Some(n)) if *n < 64) {
        seccomp.report = false;
        cx.warnings.push(
            "seccomp: no refusal report: fewer than 64 file descriptors allowed (ulimit -n); refused calls get their errno directly".into(),
        );
    }
    let x11_host_net = !ns.net && desktop.gui.get("x11").copied().unwrap_or(false);
    let mut landlock = compile_landlock(&mut cx, p, &loaded.sources, &fs, x11_host_net)?;
    let mut process = process;
    process.report_landlock = host.uid == 0 && seccomp.report && landlock.enforce();

    // The desktop helpers' binds come last, after every grant, so a `tmpfs` over
    // `$XDG_RUNTIME_DIR` does not cover them.
    let mut mounts = fs.steps;
    let helpers = match gui::helpers::compile(host, &desktop.dbus, &env)
        .map_err(|e| Located::new(e, None))?
    {
        Some((h, binds)) => {
            mounts.extend(binds);
            gui::helpers::landlock_rule(&h, &desktop.dbus, &mut landlock);
            Some(h)
        }
        None => None,
    };

    let mut warnings = fs.warnings.clone();
    warnings.append(&mut cx.warnings);
    Ok(Plan {
        format: FORMAT,
        profile: loaded.name.clone(),
        description: p.description.as_ref().map(|d| d.v.clone()),
        files: loaded.chain.clone(),
        command: command.to_vec(),
        namespaces: ns,
        ids,
        mounts,
        scratch: fs.scratch,
        process,
        env,
        limits,
        rlimits,
        capabilities: Capabilities { keep, numbers },
        seccomp,
        landlock,
        gui: desktop.gui,
        dbus: desktop.dbus,
        helpers,
        globs: fs.globs.clone(),
        create: fs.create.clone(),
        git_watch: fs.git_watch.clone(),
        warnings,
    })
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_follow;
#[cfg(test)]
mod tests_prims;
