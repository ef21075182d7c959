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
    pub downloads: PathBuf,
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
        let downloads = user_dir(&config_home, &home, "XDG_DOWNLOAD_DIR")
            .unwrap_or_else(|| home.join("Downloads"));
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
            downloads,
            env,
            landlock_abi: probe::landlock_abi(),
            hard_rlimits,
            fs: Box::new(RealFs),
            cgroup: probe::cgroup,
            session_optional: false,
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

/// Reads `XDG_DOWNLOAD_DIR="$HOME/Downloads"` style entries of `user-dirs.dirs`.
fn user_dir(config_home: &Path, home: &Path, key: &str) -> Option<PathBuf> {
    // Capped and never blocking: a sandbox with ~/.config writable could plant a FIFO here.
    let bytes =
        crate::util::read_regular(&config_home.join("user-dirs.dirs"), 64 << 10, false).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let line = text.lines().find(|l| l.trim_start().starts_with(key))?;
    let v = line.split_once('=')?.1.trim().trim_matches('"');
    let v = v.replace("$HOME", &home.display().to_string());
    // Only an ordinary folder inside the home: a sandbox that could write this file must not
    // point the next sandbox's ${DOWNLOADS} grant at ~/.gnupg, /etc or the home itself.
    let p = crate::plan::normalize(Path::new(&v));
    let rel = p.strip_prefix(home).ok()?;
    let plain = !rel.as_os_str().is_empty()
        && rel.components().all(|c| match c {
            std::path::Component::Normal(n) => !n.to_string_lossy().starts_with('.'),
            _ => false,
        });
    plain.then_some(p)
}
