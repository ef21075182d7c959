//! Facts about the running kernel and session, probed once.
//!
//! The compiler never calls the kernel itself: it asks a [`Host`], so tests can hand it a fake
//! one (ids, home, a pretend file system) and compile plans without privileges or real files.

// The one way up into the sandbox layer: asking the kernel what it can do.
use crate::sandbox::probe;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod catalogue;
mod fs;
pub use catalogue::*;
pub use fs::*;

pub struct Host {
    /// jail's own process id: it names the desktop helpers' folder (`STATE/session-PID`).
    pub pid: u32,
    pub uid: u32,
    pub gid: u32,
    pub user: String,
    pub home: PathBuf,
    /// The account's home from the password database (may differ from `$HOME`).
    pub real_home: PathBuf,
    /// `$HOME` and the real home with every symlink resolved, where that differs (a home
    /// reached through a symlink, `/home -> /var/home`): grants name real paths, so the
    /// protections must know them too.
    pub canonical_homes: Vec<PathBuf>,
    pub cwd: PathBuf,
    pub runtime_dir: Option<PathBuf>,
    pub config_home: PathBuf,
    pub data_home: PathBuf,
    /// The XDG user folders `user-dirs.dirs` names (`DOWNLOADS` → `~/Téléchargements`), by the
    /// variable a profile writes; one it does not name is the English default ([`USER_DIRS`]).
    pub user_dirs: BTreeMap<String, PathBuf>,
    /// The caller's environment, as given to jail.
    pub env: BTreeMap<String, String>,
    /// Landlock ABI version, None when the kernel has no Landlock (or it is disabled).
    pub landlock_abi: Option<u32>,
    /// Hard rlimits of the caller, by resource name (`nofile` …); None = unlimited.
    pub hard_rlimits: BTreeMap<RlimitResource, Option<u64>>,
    pub fs: Box<dyn HostFs>,
    /// Which cgroup back end can apply these limits, and why (probed only when asked: a plan
    /// without limits never touches cgroupfs).
    pub cgroup: fn(&crate::plan::cgroup::Limits) -> crate::plan::cgroup::Detection,
    /// Treat every `[gui]` switch as optional: `check` and `audit` judge a profile, not this
    /// session, so a missing Wayland or PulseAudio socket is a note there, not an error.
    pub session_optional: bool,
    /// The kernel has `PR_SET_MDWE` (6.3+): memory-deny-write-execute by prctl, else by seccomp.
    pub mdwe: bool,
}

use crate::profile::RlimitResource;

impl Host {
    /// Probes the real host: ids, the session's folders, Landlock, rlimits.
    pub fn probe() -> Host {
        let env: BTreeMap<String, String> = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let uid = nix::unistd::getuid().as_raw();
        let gid = nix::unistd::getgid().as_raw();
        // The password database (NSS: nscd, /etc/passwd, maybe LDAP) only when the session
        // does not say who and where the user is: it is the slowest thing a launch would do.
        let env_home = env
            .get("HOME")
            .filter(|h| h.starts_with('/'))
            .map(PathBuf::from);
        let env_user = env.get("USER").filter(|u| !u.is_empty()).cloned();
        let pw = if env_home.is_none() || env_user.is_none() {
            nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
                .ok()
                .flatten()
        } else {
            None
        };
        let home = env_home
            .or_else(|| pw.as_ref().map(|p| p.dir.clone()))
            .unwrap_or_else(|| PathBuf::from("/"));
        let user = env_user
            .or_else(|| pw.as_ref().map(|p| p.name.clone()))
            .unwrap_or_else(|| uid.to_string());
        let xdg = |var: &str, default: &str| {
            env.get(var)
                .filter(|v| v.starts_with('/'))
                .map(PathBuf::from)
                .unwrap_or_else(|| home.join(default))
        };
        let config_home = xdg("XDG_CONFIG_HOME", ".config");
        let data_home = xdg("XDG_DATA_HOME", ".local/share");
        let user_dirs = user_dirs(&config_home, &home);
        let runtime_dir = env
            .get("XDG_RUNTIME_DIR")
            .filter(|v| v.starts_with('/'))
            .map(PathBuf::from);
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let real_home = real_home(uid);
        let hard_rlimits = RlimitResource::ALL
            .iter()
            .map(|r| {
                let hard = nix::sys::resource::getrlimit(r.kernel())
                    .ok()
                    .map(|(_, h)| h);
                (*r, hard.filter(|&h| h != libc::RLIM_INFINITY))
            })
            .collect();
        Host {
            uid,
            gid,
            user,
            canonical_homes: {
                let mut v = vec![];
                for h in [Some(&home), real_home.as_ref()].into_iter().flatten() {
                    if let Ok(c) = std::fs::canonicalize(h) {
                        if &c != h && !v.contains(&c) {
                            v.push(c);
                        }
                    }
                }
                v
            },
            real_home: real_home.clone().unwrap_or_else(|| home.clone()),
            home,
            cwd,
            runtime_dir,
            config_home,
            data_home,
            user_dirs,
            env,
            landlock_abi: probe::landlock_abi(),
            hard_rlimits,
            fs: Box::new(RealFs),
            cgroup: probe::cgroup,
            session_optional: false,
            mdwe: probe::mdwe(),
            pid: std::process::id(),
        }
    }

    /// The homes whose start-up files are protected: the one of `$HOME` and the account's
    /// real one from the password database (a caller who sets `HOME` elsewhere must not
    /// lower the protection of the home the next login uses).
    pub fn homes(&self) -> Vec<(PathBuf, PathBuf, PathBuf)> {
        let mut v = vec![(
            self.home.clone(),
            self.config_home.clone(),
            self.data_home.clone(),
        )];
        for h in [&self.home, &self.real_home]
            .into_iter()
            .chain(&self.canonical_homes)
        {
            let t = (h.clone(), h.join(".config"), h.join(".local/share"));
            if !v.contains(&t) {
                v.push(t);
            }
        }
        v
    }

    /// The folders a sandbox must never see writable (SPEC §2): the profile search path, jail's
    /// state folder, and every folder whose files a host program later runs or obeys as the
    /// user — autostart, systemd and D-Bus user services, environment.d, desktop entries,
    /// shells', editors' and window managers' configuration folders, `~/.ssh`, `~/.gnupg`,
    /// git's configuration, and every `$PATH` folder inside a home — for `$HOME` and the
    /// account's real home alike. A missing one is kept from being created.
    pub fn policy_dirs(&self, search: &[PathBuf]) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = search.to_vec();
        v.push(self.state_dir());
        for (home, config, data) in self.homes() {
            for d in POLICY_CONFIG_DIRS {
                v.push(config.join(d));
            }
            for d in POLICY_DATA_DIRS {
                v.push(data.join(d));
            }
            for d in POLICY_HOME_DIRS {
                v.push(home.join(d));
            }
        }
        // D-Bus and systemd also obey service files in the runtime folder.
        if let Some(r) = &self.runtime_dir {
            v.push(r.join("dbus-1"));
            v.push(r.join("systemd"));
        }
        // Every `$PATH` folder inside a home, and the configuration and data folders the
        // session names there (autostart, applications and services are looked up there too).
        let homes = self.homes();
        for var in ["PATH", "XDG_CONFIG_DIRS", "XDG_DATA_DIRS"] {
            if let Some(list) = self.env.get(var) {
                for d in std::env::split_paths(list) {
                    if d.is_absolute() && homes.iter().any(|(h, _, _)| d.starts_with(h) && &d != h)
                    {
                        v.push(d);
                    }
                }
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        v.retain(|p| seen.insert(p.clone()));
        v
    }

    /// Files that a shell, a login, an X session, ssh, git, an editor or another host program
    /// runs or obeys as the user, for `$HOME` and the real home. The ones directly in a home
    /// folder are also kept from being created (see `plan::mounts`).
    pub fn policy_files(&self) -> Vec<PathBuf> {
        let mut v = vec![];
        for (home, config, _) in self.homes() {
            v.extend(POLICY_HOME_FILES.iter().map(|f| home.join(f)));
            v.extend(POLICY_CONFIG_FILES.iter().map(|f| config.join(f)));
        }
        v
    }

    /// The folders whose top level must not gain new entries inside a writable grant: each
    /// home and its configuration and data folders, where logins, shells, session managers,
    /// systemd and D-Bus look for files that do not exist yet (`~/.bash_profile`,
    /// `~/.config/autostart/`, `~/.local/share/dbus-1/services/` …).
    pub fn guarded_dirs(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = vec![];
        for (h, c, d) in self.homes() {
            for p in [h, c, d] {
                if p != Path::new("/") && !v.contains(&p) {
                    v.push(p);
                }
            }
        }
        v
    }

    /// The folder of the user-folder variable `var` (`DOCUMENTS` …), None for another name.
    pub fn user_dir(&self, var: &str) -> Option<PathBuf> {
        let (_, _, default) = USER_DIRS.iter().find(|(v, _, _)| *v == var)?;
        Some(
            self.user_dirs
                .get(var)
                .cloned()
                .unwrap_or_else(|| self.home.join(default)),
        )
    }

    /// `$XDG_RUNTIME_DIR/jail` for a user, `/run/jail` for root.
    pub fn state_dir(&self) -> PathBuf {
        match (&self.runtime_dir, self.uid) {
            (_, 0) => PathBuf::from("/run/jail"),
            (Some(r), _) => r.join("jail"),
            (None, uid) => PathBuf::from(format!("/tmp/jail-{uid}")),
        }
    }
}

/// The account's home from `/etc/passwd` (a small read, no NSS), else from NSS (LDAP, …).
fn real_home(uid: u32) -> Option<PathBuf> {
    if let Ok(text) = std::fs::read_to_string("/etc/passwd") {
        for line in text.lines() {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() >= 6 && f[2].parse::<u32>().ok() == Some(uid) && f[5].starts_with('/') {
                return Some(PathBuf::from(f[5]));
            }
        }
    }
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|p| p.dir)
}

/// The user-folder variables of profiles, the `user-dirs.dirs` key of each, and the folder
/// (under the home) used when the file does not name it — xdg-user-dirs' English defaults, as
/// firejail falls back to.
pub const USER_DIRS: [(&str, &str, &str); 6] = [
    ("DESKTOP", "XDG_DESKTOP_DIR", "Desktop"),
    ("DOCUMENTS", "XDG_DOCUMENTS_DIR", "Documents"),
    ("DOWNLOADS", "XDG_DOWNLOAD_DIR", "Downloads"),
    ("MUSIC", "XDG_MUSIC_DIR", "Music"),
    ("PICTURES", "XDG_PICTURES_DIR", "Pictures"),
    ("VIDEOS", "XDG_VIDEOS_DIR", "Videos"),
];

/// Reads the `XDG_X_DIR="$HOME/…"` lines of `$XDG_CONFIG_HOME/user-dirs.dirs` (the XDG user
/// directories format: shell assignments, `$HOME/…` or an absolute path, `#` comments).
fn user_dirs(config_home: &Path, home: &Path) -> BTreeMap<String, PathBuf> {
    // Capped and never blocking: a sandbox with ~/.config writable could plant a FIFO here.
    let text = crate::util::read_regular(&config_home.join("user-dirs.dirs"), 64 << 10, false)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default();
    parse_user_dirs(&text, home)
}

/// The folders `text` (a `user-dirs.dirs`) names, by profile variable.
pub fn parse_user_dirs(text: &str, home: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let Some((var, _, _)) = USER_DIRS.iter().find(|(_, k, _)| *k == key.trim()) else {
            continue;
        };
        let v = value.trim();
        let Some(v) = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
            continue; // the format quotes every value
        };
        let v = match v.strip_prefix("$HOME") {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => {
                format!("{}{rest}", home.display())
            }
            Some(_) => continue,
            None if v.starts_with('/') => v.to_string(),
            None => continue,
        };
        // Only an ordinary folder inside the home: a sandbox that could write this file must
        // not point the next sandbox's ${DOWNLOADS} grant at ~/.gnupg, /etc or the home itself
        // (`"$HOME/"`, which the spec uses to switch a folder off, falls back to the default).
        let p = crate::plan::normalize(Path::new(&v));
        let Ok(rel) = p.strip_prefix(home) else {
            continue;
        };
        let plain = !rel.as_os_str().is_empty()
            && rel.components().all(|c| match c {
                std::path::Component::Normal(n) => !n.to_string_lossy().starts_with('.'),
                _ => false,
            });
        if plain {
            out.insert(var.to_string(), p);
        }
    }
    out
}
