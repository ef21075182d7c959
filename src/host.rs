//! Facts about the running kernel and session, probed once.
//!
//! The compiler never calls the kernel itself: it asks a [`Host`], so tests can hand it a fake
//! one (ids, home, a pretend file system) and compile plans without privileges or real files.

// The one way up into the sandbox layer: asking the kernel what it can do.
use crate::sandbox::probe;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a host path is, without following a final symlink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
    /// A character or block device.
    Device,
    /// A socket, fifo or other special file.
    Special,
    /// A symlink, with what it points to.
    Symlink(PathBuf),
}

/// A symlink met while resolving a host path, with the owner and mode of the folder it lies in
/// (who could have planted it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Where the symlink is, with every symlink above it already resolved.
    pub at: PathBuf,
    pub parent_uid: u32,
    pub parent_mode: u32,
}

/// One lookup of a host path: what the compiler decides about a path (whether it exists, where
/// it leads, through which symlinks) comes from this single walk, never from several lookups
/// that a racing process could answer differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// What is at the path itself, not following a final symlink.
    pub first: Kind,
    /// The path with every symlink resolved; None when it leads nowhere.
    pub real: Option<PathBuf>,
    /// What `real` is.
    pub kind: Option<Kind>,
    /// Every symlink the walk went through, in order.
    pub links: Vec<Link>,
}

/// Read-only questions the compiler asks about host paths.
pub trait HostFs {
    /// `lstat`: what is at `p`, or None when nothing is.
    fn kind(&self, p: &Path) -> Option<Kind>;
    /// The path with every symlink resolved, or None when it does not resolve.
    fn canonicalize(&self, p: &Path) -> Option<PathBuf>;
    /// Owner uid and permission bits of `p` (following symlinks), when it exists.
    fn owner_mode(&self, _p: &Path) -> Option<(u32, u32)> {
        None
    }
    /// The entries of folder `p` (name and kind, symlinks not followed); None when it cannot
    /// be listed.
    fn list(&self, _p: &Path) -> Option<Vec<(std::ffi::OsString, Kind)>> {
        None
    }
    /// Resolves `p` in one walk; None when nothing is at `p`. The default answers from the
    /// questions above (for the compiler's tests); the real host walks descriptors.
    fn resolve(&self, p: &Path) -> Option<Resolved> {
        let first = self.kind(p)?;
        let real = self.canonicalize(p);
        let kind = real.as_deref().and_then(|r| self.kind(r));
        let mut links = vec![];
        let mut prefix = PathBuf::from("/");
        for c in p.components().skip(1) {
            prefix.push(c);
            if let Some(Kind::Symlink(_)) = self.kind(&prefix) {
                let parent = prefix.parent().unwrap_or(Path::new("/"));
                let (parent_uid, parent_mode) =
                    self.owner_mode(parent).unwrap_or((u32::MAX, 0o777));
                links.push(Link {
                    at: prefix.clone(),
                    parent_uid,
                    parent_mode,
                });
            }
        }
        Some(Resolved {
            first,
            real,
            kind,
            links,
        })
    }
}

fn kind_of_mode(mode: u32) -> Kind {
    match mode & libc::S_IFMT {
        libc::S_IFDIR => Kind::Dir,
        libc::S_IFREG => Kind::File,
        libc::S_IFCHR | libc::S_IFBLK => Kind::Device,
        _ => Kind::Special,
    }
}

pub struct RealFs;

impl HostFs for RealFs {
    fn kind(&self, p: &Path) -> Option<Kind> {
        use std::os::unix::fs::FileTypeExt;
        let m = std::fs::symlink_metadata(p).ok()?;
        let t = m.file_type();
        Some(if t.is_symlink() {
            Kind::Symlink(std::fs::read_link(p).ok()?)
        } else if t.is_dir() {
            Kind::Dir
        } else if t.is_file() {
            Kind::File
        } else if t.is_char_device() || t.is_block_device() {
            Kind::Device
        } else {
            Kind::Special
        })
    }
    fn canonicalize(&self, p: &Path) -> Option<PathBuf> {
        std::fs::canonicalize(p).ok()
    }
    fn owner_mode(&self, p: &Path) -> Option<(u32, u32)> {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(p).ok().map(|m| (m.uid(), m.mode()))
    }
    fn list(&self, p: &Path) -> Option<Vec<(std::ffi::OsString, Kind)>> {
        let rd = std::fs::read_dir(p).ok()?;
        let mut v = vec![];
        for e in rd {
            let e = e.ok()?;
            let t = e.file_type().ok()?;
            let kind = if t.is_symlink() {
                Kind::Symlink(PathBuf::new())
            } else if t.is_dir() {
                Kind::Dir
            } else {
                Kind::File
            };
            v.push((e.file_name(), kind));
        }
        Some(v)
    }
    /// Walks `p` one component at a time, each lookup relative to the folder descriptor the
    /// previous one found, never following a symlink implicitly: every symlink is read from
    /// the descriptor of what was actually there, and the folder it lies in is judged from the
    /// descriptor the walk stands in. A racing process can make the walk fail or see a
    /// symlink, never make the compiler judge one thing and bind another: the executor opens
    /// `real` with `RESOLVE_NO_SYMLINKS`, so a symlink planted later is refused there.
    fn resolve(&self, p: &Path) -> Option<Resolved> {
        use nix::fcntl::{openat, readlinkat, OFlag};
        use nix::sys::stat::{fstat, Mode};
        use std::collections::VecDeque;
        use std::ffi::OsString;
        use std::os::fd::OwnedFd;
        use std::path::Component;
        let first = self.kind(p)?;
        let open = |dir: &OwnedFd, name: &std::ffi::OsStr| -> Option<OwnedFd> {
            openat(
                dir,
                name,
                OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .ok()
        };
        let root = || {
            nix::fcntl::open(
                "/",
                OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .ok()
        };
        let names = |q: &Path| -> VecDeque<OsString> {
            q.components()
                .filter_map(|c| match c {
                    Component::Normal(n) => Some(n.to_os_string()),
                    Component::ParentDir => Some(OsString::from("..")),
                    _ => None,
                })
                .collect()
        };
        let mut todo = names(p);
        let mut cur = root()?;
        let mut real = PathBuf::from("/");
        let mut links = vec![];
        let unresolved = |links| {
            Some(Resolved {
                first: first.clone(),
                real: None,
                kind: None,
                links,
            })
        };
        while let Some(name) = todo.pop_front() {
            if name == ".." {
                real.pop();
                cur = match open(&cur, std::ffi::OsStr::new("..")) {
                    Some(fd) => fd,
                    None => return unresolved(links),
                };
                continue;
            }
            let Some(fd) = open(&cur, &name) else {
                return unresolved(links);
            };
            let Ok(st) = fstat(&fd) else {
                return unresolved(links);
            };
            if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
                if links.len() >= 40 {
                    return unresolved(links);
                }
                let Ok(to) = readlinkat(&fd, "") else {
                    return unresolved(links);
                };
                let (parent_uid, parent_mode) = fstat(&cur)
                    .map(|s| (s.st_uid, s.st_mode))
                    .unwrap_or((u32::MAX, 0o777));
                links.push(Link {
                    at: real.join(&name),
                    parent_uid,
                    parent_mode,
                });
                let to = PathBuf::from(to);
                let mut rest = names(&to);
                rest.extend(todo.drain(..));
                todo = rest;
                if to.is_absolute() {
                    real = PathBuf::from("/");
                    cur = root()?;
                }
                continue;
            }
            if !todo.is_empty() && st.st_mode & libc::S_IFMT != libc::S_IFDIR {
                return unresolved(links);
            }
            real.push(&name);
            cur = fd;
        }
        let kind = fstat(&cur).ok().map(|s| kind_of_mode(s.st_mode));
        Some(Resolved {
            first,
            real: Some(real),
            kind,
            links,
        })
    }
}

pub struct Host {
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

/// Folders under `$XDG_CONFIG_HOME` whose contents host programs run or obey.
pub const POLICY_CONFIG_DIRS: [&str; 38] = [
    "jail",
    "autostart",
    "systemd",
    "environment.d",
    "plasma-workspace",
    "kde.org",
    "lxsession",
    "openbox",
    "i3",
    "sway",
    "hypr",
    "labwc",
    "fish",
    "git",
    "nvim",
    "emacs",
    "xfce4",
    "dconf",
    "user-tmpfiles.d",
    "zsh",
    "vim",
    "tmux",
    "kwinrc.d",
    "nautilus",
    "gdb",
    "pip",
    "direnv",
    "mpv",
    "Thunar",
    "autostart-scripts",
    "awesome",
    "bspwm",
    "qtile",
    "herbstluftwm",
    "river",
    "niri",
    "waybar",
    "sxhkd",
];

/// Folders under `$XDG_DATA_HOME` whose contents host programs run or obey.
pub const POLICY_DATA_DIRS: [&str; 15] = [
    "applications",
    "systemd",
    "dbus-1",
    "mime",
    "kservices5",
    "jail",
    "nvim",
    "flatpak",
    "gnome-shell",
    "plasma",
    "kwin",
    "nautilus",
    "thumbnailers",
    "kio",
    "nemo",
];

/// Folders directly in the home whose contents host programs run or obey.
pub const POLICY_HOME_DIRS: [&str; 19] = [
    ".local/bin",
    ".ssh",
    ".vim",
    ".emacs.d",
    ".kde/Autostart",
    ".kde4/Autostart",
    ".oh-my-zsh",
    ".cargo",
    ".rustup",
    ".pyenv",
    ".nvm",
    ".rbenv",
    ".sdkman",
    ".local/lib",
    ".npm-global",
    ".ipython",
    ".gradle",
    ".kube",
    ".aws",
];

/// Files directly in the home that a login, a shell, an X session or another program runs or
/// obeys (firejail's disable-common list is a catalogue of this class; this list is ours).
pub const POLICY_HOME_FILES: [&str; 61] = [
    ".gnupg/gpg.conf",
    ".gnupg/gpg-agent.conf",
    ".gnupg/dirmngr.conf",
    ".gnupg/scdaemon.conf",
    ".bashrc",
    ".bash_profile",
    ".bash_login",
    ".bash_logout",
    ".profile",
    ".zshrc",
    ".zshenv",
    ".zprofile",
    ".zlogin",
    ".zlogout",
    ".kshrc",
    ".mkshrc",
    ".cshrc",
    ".tcshrc",
    ".login",
    ".logout",
    ".xprofile",
    ".xsession",
    ".xsessionrc",
    ".xinitrc",
    ".xserverrc",
    ".Xresources",
    ".Xdefaults",
    ".xbindkeysrc",
    ".pam_environment",
    ".inputrc",
    ".gitconfig",
    ".vimrc",
    ".gvimrc",
    ".exrc",
    ".emacs",
    ".tmux.conf",
    ".screenrc",
    ".gdbinit",
    ".mailcap",
    ".npmrc",
    ".bash_aliases",
    ".irbrc",
    ".pryrc",
    ".psqlrc",
    ".sqliterc",
    ".Rprofile",
    ".muttrc",
    ".ghci",
    ".guile",
    ".sbclrc",
    ".octaverc",
    ".xonshrc",
    ".hgrc",
    ".wgetrc",
    ".lldbinit",
    ".pdbrc",
    ".xinputrc",
    ".forward",
    ".procmailrc",
    ".gnupg/common.conf",
    ".gnupg/gpgsm.conf",
];

/// Files under `$XDG_CONFIG_HOME` that host programs obey (creating an empty one is harmless,
/// so a missing one gets an empty placeholder).
pub const POLICY_CONFIG_FILES: [&str; 3] = ["mimeapps.list", "user-dirs.dirs", "starship.toml"];

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
