//! From a [`Record`] to the smallest profile text that covers it: the shared pieces (or the
//! user's BASE) for what they cover, explicit grants for the rest, each line with a `# why`.
//!
//! Paths are judged as the host has them after the run (the run's own writes were thrown
//! away): a written path that does not exist is granted through the nearest folder that does.
//! Files read in one folder collapse into the folder once there are [`COLLAPSE`] of them, or
//! when the folder was listed; never into `/`, a home, `/home`, `/tmp` or the runtime folder.
//! The home's secrets are never granted.

use crate::commands::audit::facts::SECRETS;
use crate::host::Host;
use crate::plan::mounts::Access;
use crate::plan::{MountStep, Plan};
use crate::sandbox::trace::record::{Record, Use};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Files read in one folder from which the folder is granted instead.
const COLLAPSE: usize = 4;

pub struct Context<'a> {
    pub host: &'a Host,
    /// The include chain's plan: what BASE (or `base`) already shows.
    pub coverage: &'a Plan,
    /// `--profile BASE`, or None for the shared pieces.
    pub base: Option<String>,
    pub command: Vec<String>,
    pub note: Option<String>,
    /// What the run did on its filtered buses; None when it had the host's buses unfiltered.
    pub dbus: Option<super::dbus::Seen>,
}

/// The devices of `devices = "minimal"`: always there.
const MINIMAL_DEV: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
    "/dev/ptmx",
    "/dev/pts",
    "/dev/shm",
    "/dev/fd",
    "/dev/stdin",
    "/dev/stdout",
    "/dev/stderr",
];

/// Why a grant is there: counts per use and a few example paths.
#[derive(Default)]
struct Why {
    uses: BTreeMap<&'static str, u32>,
    examples: BTreeSet<String>,
}

impl Why {
    fn add(&mut self, how: &'static str, n: u32, example: &str) {
        *self.uses.entry(how).or_default() += n;
        if self.examples.len() < 2 {
            self.examples.insert(example.to_string());
        }
    }
    fn merge(&mut self, o: Why) {
        for (k, v) in o.uses {
            *self.uses.entry(k).or_default() += v;
        }
        for e in o.examples {
            if self.examples.len() < 2 {
                self.examples.insert(e);
            }
        }
    }
    fn text(&self) -> String {
        let uses: Vec<String> = self.uses.iter().map(|(k, v)| format!("{k} {v}×")).collect();
        let ex: Vec<&str> = self.examples.iter().map(|s| s.as_str()).collect();
        let t = format!("{}: {}", uses.join(", "), ex.join(", "));
        crate::util::printable(&t, false).replace('\n', " ")
    }
}

fn label(u: Use) -> &'static str {
    match u {
        Use::Read => "opened read-only",
        Use::Write => "written",
        Use::Exec => "executed",
        Use::List => "listed",
        Use::Lookup => "looked up",
        Use::Socket => "connected",
    }
}

/// The path as the host has it now: canonical when it exists, else the canonical nearest
/// existing folder and the rest. Returns (path, nearest existing ancestor or itself, exists).
fn on_host(p: &str) -> (PathBuf, PathBuf, bool) {
    if let Ok(c) = std::fs::canonicalize(p) {
        return (c.clone(), c, true);
    }
    let p = Path::new(p);
    for a in p.ancestors().skip(1) {
        if let Ok(c) = std::fs::canonicalize(a) {
            let rest = p.strip_prefix(a).unwrap_or(p);
            return (c.join(rest), c, false);
        }
    }
    (p.to_path_buf(), PathBuf::from("/"), false)
}

/// What the include chain already shows at `p`: the access of the last mount at or above it.
fn covered(plan: &Plan, p: &Path, need: Access) -> bool {
    let mut got: Option<Access> = None;
    for m in &plan.mounts {
        if !p.starts_with(m.target()) {
            continue;
        }
        got = match m {
            MountStep::Bind { access, .. } => Some(*access),
            // A tmpfs (the private /tmp, an empty home) shows none of the host's files.
            MountStep::Tmpfs { .. } | MountStep::Overlay { .. } => None,
            MountStep::RootTmpfs | MountStep::RootImage { .. } => None,
            MountStep::Hide { .. } => None,
            _ => got,
        };
    }
    got.is_some_and(|g| g >= need)
}

struct Grants {
    ro: BTreeMap<PathBuf, Why>,
    rw: BTreeMap<PathBuf, Why>,
    dev: BTreeMap<PathBuf, Why>,
    listed: BTreeSet<PathBuf>,
    /// Paths left out on purpose, with the reason.
    refused: BTreeMap<PathBuf, String>,
    covered: Why,
    home_used: Why,
}

/// Where a grant must never be made as a whole folder.
fn too_wide(p: &Path, host: &Host) -> bool {
    let mut wide = vec![
        PathBuf::from("/"),
        "/home".into(),
        "/tmp".into(),
        "/run".into(),
        "/var".into(),
        "/usr".into(),
        "/etc".into(),
        "/root".into(),
        "/run/user".into(),
        host.home.clone(),
    ];
    if let Some(r) = &host.runtime_dir {
        wide.push(r.clone());
    }
    wide.iter().any(|w| w == p)
}

/// A path in or under one of the home's secrets, by its raw name or by where both resolve
/// (a symlinked ~/.ssh → ~/dotfiles/ssh makes ~/dotfiles/ssh/id_rsa a secret too).
fn secret(p: &Path, host: &Host) -> bool {
    let real = p.canonicalize().ok();
    SECRETS.iter().any(|s| {
        let s = host.home.join(s);
        p.starts_with(&s)
            || s.canonicalize().is_ok_and(|rs| {
                p.starts_with(&rs) || real.as_ref().is_some_and(|r| r.starts_with(&rs))
            })
    })
}

fn collect(rec: &Record, cx: &Context) -> Grants {
    let host = cx.host;
    let mut g = Grants {
        ro: BTreeMap::new(),
        rw: BTreeMap::new(),
        dev: BTreeMap::new(),
        listed: BTreeSet::new(),
        refused: BTreeMap::new(),
        covered: Why::default(),
        home_used: Why::default(),
    };
    // jail's own program (what /proc/self/exe of the recorder shows): never the app's.
    let own = std::env::current_exe().ok();
    for (raw, u) in &rec.paths {
        let (path, anchor, exists) = on_host(raw);
        if own.as_deref() == Some(path.as_path()) {
            continue;
        }
        if path.starts_with("/proc") || path.starts_with("/sys/fs/cgroup") {
            continue;
        }
        if path == Path::new("/dev") || MINIMAL_DEV.iter().any(|d| path.starts_with(d)) {
            continue;
        }
        // The private /tmp: what the run made there is its own.
        if path.starts_with("/tmp") && anchor == Path::new("/tmp") {
            continue;
        }
        if path.starts_with(&host.home) {
            let total: u32 = u.ok.values().sum::<u32>() + u.failed.len() as u32;
            g.home_used.add("used", total.max(1), raw);
        }
        if secret(&path, host) {
            g.refused
                .insert(path, "a key or credential: never granted".into());
            continue;
        }
        let is_dir = exists && path.is_dir();
        for (how, n) in &u.ok {
            let (target, access) = match how {
                Use::Read | Use::Exec if !is_dir => (path.clone(), Access::Ro),
                Use::Lookup if exists && !is_dir => (path.clone(), Access::Ro),
                Use::Read | Use::Exec | Use::Lookup => continue,
                Use::List => {
                    g.listed.insert(path.clone());
                    (path.clone(), Access::Ro)
                }
                Use::Write => {
                    // A file written in place, or a new entry: its folder, which exists.
                    let dir = if is_dir {
                        path.clone()
                    } else if exists {
                        path.parent().map(Path::to_path_buf).unwrap_or_default()
                    } else {
                        anchor.clone()
                    };
                    (dir, Access::Rw)
                }
                // A socket gone since the run (its server ended): a grant of it would not
                // compile, and a new server's socket is not the one the run used.
                Use::Socket if !exists => continue,
                Use::Socket => (path.clone(), Access::Rw),
            };
            let access = if target.starts_with("/dev") && !target.starts_with("/dev/shm") {
                Access::Dev
            } else {
                access
            };
            if covered(cx.coverage, &target, access) {
                g.covered.add(label(*how), *n, raw);
                continue;
            }
            if access == Access::Rw && target.starts_with(&host.home) && too_wide(&target, host) {
                // New files in the home itself: the private home of the profile takes them.
                continue;
            }
            if too_wide(&target, host) {
                g.refused.insert(
                    target,
                    format!(
                        "{} under it; a folder this wide is never granted whole",
                        label(*how)
                    ),
                );
                continue;
            }
            let map = match access {
                Access::Ro => &mut g.ro,
                Access::Rw => &mut g.rw,
                Access::Dev => &mut g.dev,
            };
            map.entry(target).or_default().add(label(*how), *n, raw);
        }
    }
    collapse(&mut g, host);
    g
}

/// The program a command line runs, past the wrappers that only start it (`timeout 90 env
/// HOME=… firefox-esr …` runs firefox-esr): what the learned profile is for.
fn program_name(command: &[String]) -> String {
    let mut args = command.iter().peekable();
    while let Some(a) = args.next() {
        let name = Path::new(a)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let skip_opts = |args: &mut std::iter::Peekable<std::slice::Iter<String>>| {
            while args
                .peek()
                .is_some_and(|x| x.starts_with('-') || x.contains('='))
            {
                args.next();
            }
        };
        match name.as_str() {
            "env" | "nice" | "ionice" | "nohup" | "setsid" | "stdbuf" => skip_opts(&mut args),
            "timeout" => {
                skip_opts(&mut args);
                args.next(); // the duration
            }
            _ => return name,
        }
    }
    Path::new(command.first().map(String::as_str).unwrap_or(""))
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The `.git` folder `p` lies in (the innermost), if any.
fn git_dir_of(p: &Path) -> Option<PathBuf> {
    let comps: Vec<_> = p.components().collect();
    let i = comps.iter().rposition(|c| c.as_os_str() == ".git")?;
    Some(comps[..=i].iter().collect())
}

/// Files read in one folder become the folder (listed folders always); then every grant under
/// another grant of the same or wider access goes.
fn collapse(g: &mut Grants, host: &Host) {
    let mut by_dir: BTreeMap<PathBuf, usize> = BTreeMap::new();
    for p in g.ro.keys() {
        if let Some(d) = p.parent() {
            *by_dir.entry(d.to_path_buf()).or_default() += 1;
        }
    }
    let folders: BTreeSet<PathBuf> = by_dir
        .into_iter()
        .filter(|(d, n)| *n >= COLLAPSE && !too_wide(d, host) && !secret(d, host))
        .map(|(d, _)| d)
        .collect();
    let old = std::mem::take(&mut g.ro);
    for (p, why) in old {
        let key = match p.parent() {
            Some(d) if folders.contains(d) => d.to_path_buf(),
            _ => p,
        };
        g.ro.entry(key).or_default().merge(why);
    }
    // Writes inside a repository's `.git` (objects, refs, the index, logs) become the `.git`
    // itself, written with `repositories = "commit"`: git may commit there, and what steers
    // git stays read-only.
    let old = std::mem::take(&mut g.rw);
    for (p, why) in old {
        let key = git_dir_of(&p).unwrap_or(p);
        g.rw.entry(key).or_default().merge(why);
    }
    // Remove what a wider grant already shows.
    let rw_keys: Vec<PathBuf> = g.rw.keys().cloned().collect();
    let inside = |p: &Path, set: &[PathBuf]| set.iter().any(|a| a != p && p.starts_with(a));
    let old = std::mem::take(&mut g.rw);
    for (p, why) in old {
        if let Some(a) = rw_keys.iter().find(|a| *a != &p && p.starts_with(a)) {
            if let Some(w) = g.rw.get_mut(a) {
                w.merge(why);
            }
        } else {
            g.rw.entry(p).or_default().merge(why);
        }
    }
    let rw_keys: Vec<PathBuf> = g.rw.keys().cloned().collect();
    let ro_keys: Vec<PathBuf> = g.ro.keys().cloned().collect();
    g.ro.retain(|p, _| !inside(p, &ro_keys) && !rw_keys.iter().any(|a| p.starts_with(a)));
}

fn q(p: &Path) -> String {
    toml::Value::String(p.to_string_lossy().into_owned()).to_string()
}

fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn list(out: &mut String, key: &str, items: &BTreeMap<PathBuf, Why>) {
    if items.is_empty() {
        return;
    }
    *out += &format!("{key} = [\n");
    for (p, why) in items {
        *out += &format!("  {},  # {}\n", q(p), why.text());
    }
    *out += "]\n";
}

/// The session sockets a unix socket path or abstract name stands for.
fn session_socket(p: &str, host: &Host) -> Option<(&'static str, &'static str)> {
    let runtime = host
        .runtime_dir
        .as_ref()
        .map(|r| r.to_string_lossy().into_owned());
    let in_runtime = |x: &str| {
        runtime
            .as_ref()
            .is_some_and(|r| p.starts_with(&format!("{r}/{x}")))
    };
    let session_bus = host.env.get("DBUS_SESSION_BUS_ADDRESS").and_then(|a| {
        a.split(',')
            .find_map(|f| f.strip_prefix("unix:path=").map(|s| s.to_string()))
    });
    if p.starts_with("/tmp/.X11-unix/X") {
        Some(("gui", "x11"))
    } else if in_runtime("wayland-") {
        Some(("gui", "wayland"))
    } else if p.ends_with("/pulse/native") {
        Some(("gui", "pulseaudio"))
    } else if in_runtime("pipewire-") {
        Some(("gui", "pipewire"))
    } else if session_bus.as_deref() == Some(p)
        || in_runtime("bus")
        || Path::new(p) == crate::plan::gui::session_bus_inside(host.runtime_dir.as_deref())
    {
        Some(("dbus", "session"))
    } else if p.ends_with("/dbus/system_bus_socket") {
        Some(("dbus", "system"))
    } else {
        None
    }
}

pub fn write(rec: &Record, cx: &Context) -> Result<String, String> {
    let host = cx.host;
    let mut g = collect(rec, cx);

    // Session sockets become [gui] / [dbus] switches instead of grants.
    let mut gui: BTreeMap<&str, String> = BTreeMap::new();
    let mut dbus: BTreeMap<&str, String> = BTreeMap::new();
    for (raw, u) in &rec.paths {
        if !u.ok.contains_key(&Use::Socket) {
            continue;
        }
        if let Some((table, key)) = session_socket(raw, host) {
            let m = if table == "gui" { &mut gui } else { &mut dbus };
            m.insert(key, format!("connected to {raw}"));
            g.rw.remove(Path::new(raw));
            g.rw.remove(&on_host(raw).0);
        }
    }
    for name in &rec.abstract_sockets {
        if name.starts_with("/tmp/.X11-unix/X") {
            gui.insert("x11", format!("connected to @{name}"));
        }
    }

    let net: Vec<_> = rec
        .inet
        .iter()
        .filter(|i| i.call != "connect-failed")
        .collect();
    let tcp_connect: BTreeSet<u16> = net
        .iter()
        .filter(|i| i.call == "connect" && i.stream)
        .map(|i| i.port)
        .collect();
    let tcp_bind: BTreeSet<u16> = net
        .iter()
        .filter(|i| i.call == "bind" && i.stream)
        .map(|i| i.port)
        .collect();
    let base_has_net = !cx.coverage.namespaces.net;

    let mut t = String::new();
    t += &format!(
        "# Learned by `jail learn` from one run of: {}\n",
        crate::util::printable(&cx.command.join(" "), false)
    );
    t += "# Only what that run used is granted; another option or input may need more.\n";
    if let Some(n) = &cx.note {
        t += &format!("# Note: the command {n}.\n");
    }
    for (p, why) in &g.refused {
        t += &format!(
            "# Not granted: {} ({why})\n",
            crate::util::printable(&p.to_string_lossy(), false)
        );
    }
    let prog = program_name(&cx.command);
    t += &format!(
        "description = {}\n",
        quoted(&format!("{prog}: learned from one run; only what it used"))
    );
    t += "include = [\n";
    match &cx.base {
        Some(b) => t += &format!("  {},  # --profile: {}\n", quoted(b), g.covered.text()),
        None => {
            t += &format!(
                "  \"base\",  # the system read-only: {}\n",
                g.covered.text()
            );
        }
    }
    if !net.is_empty() && !base_has_net {
        let ex: Vec<String> = net
            .iter()
            .take(3)
            .map(|i| format!("{} {}:{}", i.call, i.addr, i.port))
            .collect();
        t += &format!("  \"network\",  # the host's network: {}\n", ex.join(", "));
    }
    t += "]\n";

    let home_shown = cx.coverage.mounts.iter().any(|m| {
        m.target() == host.home && matches!(m, MountStep::Tmpfs { .. } | MountStep::Bind { .. })
    });
    let home_tmpfs = !g.home_used.uses.is_empty() && !home_shown;
    if home_tmpfs || !g.ro.is_empty() || !g.rw.is_empty() || !g.dev.is_empty() {
        t += "\n[filesystem]\n";
        if home_tmpfs {
            t += &format!(
                "tmpfs = [\"~\"]  # an empty private home; the real one was {}\n",
                g.home_used.text()
            );
        }
        list(&mut t, "ro", &g.ro);
        list(&mut t, "rw", &g.rw);
        list(&mut t, "dev", &g.dev);
        if g.rw
            .keys()
            .any(|p| p.file_name().is_some_and(|n| n == ".git"))
        {
            t += "repositories = \"commit\"  # the run wrote in a repository's .git: git may commit; its config and hooks stay read-only\n";
        }
    }

    // The run's working folder: named when grants lie under it but it is not shown itself
    // (jail would otherwise start in the home).
    let cwd = &host.cwd;
    let granted_under =
        g.ro.keys()
            .chain(g.rw.keys())
            .any(|p| p.starts_with(cwd) && p != cwd);
    let shown =
        g.ro.contains_key(cwd) || g.rw.contains_key(cwd) || covered(cx.coverage, cwd, Access::Ro);
    if granted_under && !shown {
        t += &format!(
            "\n[process]\ncwd = {}  # the run's working folder (only the grants under it are shown)\n",
            q(cwd)
        );
    }

    if !rec.namespaces.is_empty() {
        let made: Vec<&String> = rec
            .namespaces
            .iter()
            .filter(|(_, ok)| **ok)
            .map(|(n, _)| n)
            .collect();
        let tried: Vec<&String> = rec
            .namespaces
            .iter()
            .filter(|(_, ok)| !**ok)
            .map(|(n, _)| n)
            .collect();
        if !made.is_empty() {
            t += "\n[namespaces]\n";
            let names: Vec<String> = made.iter().map(|n| quoted(n)).collect();
            t += &format!("nested = [{}]  # made by the run\n", names.join(", "));
        }
        if !tried.is_empty() {
            let names: Vec<&str> = tried.iter().map(|s| s.as_str()).collect();
            t += &format!(
                "# Asked for but not made, so not granted: {} namespaces\n",
                names.join(", ")
            );
        }
    }

    if !gui.is_empty() {
        t += "\n[gui]\n";
        for (k, why) in &gui {
            t += &format!("{k} = true  # {}\n", crate::util::printable(why, false));
        }
    }
    match &cx.dbus {
        None if !dbus.is_empty() => {
            t += "\n[dbus]\n";
            for (k, why) in &dbus {
                t += &format!(
                    "{k} = \"filtered\"  # {}; the names it talked to are not recorded (xdg-dbus-proxy is not installed): add talk = [ … ]\n",
                    crate::util::printable(why, false)
                );
            }
        }
        Some(seen) if !dbus.is_empty() || !seen.talk.is_empty() || !seen.own.is_empty() => {
            if dbus.is_empty() {
                dbus.insert("session", "talked on a bus".into());
            }
            t += "\n[dbus]\n";
            for (k, why) in &dbus {
                t += &format!(
                    "{k} = \"filtered\"  # {}\n",
                    crate::util::printable(why, false)
                );
            }
            for (key, names) in [("talk", &seen.talk), ("own", &seen.own)] {
                if names.is_empty() {
                    continue;
                }
                t += &format!("{key} = [\n");
                for (n, why) in names {
                    t += &format!(
                        "  {},  # {}\n",
                        quoted(n),
                        crate::util::printable(why, false)
                    );
                }
                t += "]\n";
            }
            for (n, why) in &seen.missing {
                t += &format!(
                    "# not granted: {} ({})\n",
                    crate::util::printable(n, false),
                    crate::util::printable(why, false)
                );
            }
        }
        _ => {}
    }

    let mut landlock = String::new();
    if !net.is_empty() && !tcp_connect.is_empty() {
        let ports: Vec<String> = tcp_connect.iter().map(|p| p.to_string()).collect();
        landlock += &format!(
            "connect_tcp = [{}]  # the TCP ports the run connected to\n",
            ports.join(", ")
        );
    }
    if !net.is_empty() {
        let ports: Vec<String> = tcp_bind.iter().map(|p| p.to_string()).collect();
        landlock += &format!(
            "bind_tcp = [{}]  # {}\n",
            ports.join(", "),
            if tcp_bind.is_empty() {
                "the run bound no TCP port"
            } else {
                "the TCP ports the run bound"
            }
        );
    }
    if !landlock.is_empty() {
        t += "\n[landlock]\n";
        t += &landlock;
    }

    // Calls of @default-deny that the run made with success: the deny list without them.
    if let Some(arch) = crate::plan::seccomp::Arch::native() {
        let groups = crate::plan::seccomp::groups(arch);
        if let Some(dd) = groups.iter().find(|g| g.name == "@default-deny") {
            let used: Vec<&str> = dd
                .members
                .iter()
                .map(|m| m.name.as_str())
                .filter(|m| rec.syscalls_ok.contains_key(*m))
                .collect();
            if !used.is_empty() {
                // @default-deny stays whole; each call the run needed gets a rule of its own
                // (a rule decides before the deny list). chroot as the shipped browser
                // profiles allow it: for a real path only.
                t += &format!(
                    "\n# @default-deny refuses {}, which the run used with success: allowed by a rule each\n",
                    used.join(", ")
                );
                for name in &used {
                    let (op, why) = if *name == "chroot" {
                        ("ne", "for a real path (a browser's own sandbox chroots its content processes)")
                    } else {
                        ("ge", "every call")
                    };
                    t += &format!(
                        "[[seccomp.rule]]  # {name}: {why}\nsyscall = {}\narg = 0\nop = \"{op}\"\nvalue = 0\naction = \"allow\"\n",
                        quoted(name)
                    );
                }
            }
        }
    }
    Ok(t)
}
