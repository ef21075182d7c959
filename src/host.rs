//! Facts about the running kernel and session, probed once.
//!
//! The compiler never calls the kernel itself: it asks a [`Host`], so tests can hand it a fake
//! one (ids, home, a pretend file system) and compile plans without privileges or real files.

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
}

pub struct Host {
    pub uid: u32,
    pub gid: u32,
    pub user: String,
    pub home: PathBuf,
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
    pub hard_rlimits: BTreeMap<&'static str, Option<u64>>,
    pub fs: Box<dyn HostFs>,
    /// Which cgroup back end can apply these limits, and why (probed only when asked: a plan
    /// without limits never touches cgroupfs).
    pub cgroup: fn(&crate::sandbox::cgroup::Limits) -> crate::sandbox::cgroup::Detection,
    /// Treat every `[gui]` switch as optional: `check` and `audit` judge a profile, not this
    /// session, so a missing Wayland or PulseAudio socket is a note there, not an error.
    pub session_optional: bool,
}

use nix::sys::resource::Resource;

/// Every rlimit a profile may set, by its `[rlimits]` key.
pub const RLIMITS: [(&str, Resource); 16] = [
    ("as", Resource::RLIMIT_AS),
    ("core", Resource::RLIMIT_CORE),
    ("cpu", Resource::RLIMIT_CPU),
    ("data", Resource::RLIMIT_DATA),
    ("fsize", Resource::RLIMIT_FSIZE),
    ("locks", Resource::RLIMIT_LOCKS),
    ("memlock", Resource::RLIMIT_MEMLOCK),
    ("msgqueue", Resource::RLIMIT_MSGQUEUE),
    ("nice", Resource::RLIMIT_NICE),
    ("nofile", Resource::RLIMIT_NOFILE),
    ("nproc", Resource::RLIMIT_NPROC),
    ("rss", Resource::RLIMIT_RSS),
    ("rtprio", Resource::RLIMIT_RTPRIO),
    ("rttime", Resource::RLIMIT_RTTIME),
    ("sigpending", Resource::RLIMIT_SIGPENDING),
    ("stack", Resource::RLIMIT_STACK),
];

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
        let hard_rlimits = RLIMITS
            .iter()
            .map(|(n, r)| {
                let hard = nix::sys::resource::getrlimit(*r).ok().map(|(_, h)| h);
                (*n, hard.filter(|&h| h != libc::RLIM_INFINITY))
            })
            .collect();
        Host {
            uid,
            gid,
            user,
            home,
            cwd,
            runtime_dir,
            config_home,
            data_home,
            downloads,
            env,
            landlock_abi: crate::sandbox::landlock::probe_abi(),
            hard_rlimits,
            fs: Box::new(RealFs),
            cgroup: crate::sandbox::cgroup::detect,
            session_optional: false,
        }
    }

    /// The folders a sandbox must never see writable (SPEC §2): the profile search path, jail's
    /// state folder, and the user's `.desktop`, autostart and systemd-user folders.
    pub fn policy_dirs(&self, search: &[PathBuf]) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = search.to_vec();
        v.push(self.config_home.join("jail"));
        v.push(self.state_dir());
        v.push(self.data_home.join("applications"));
        v.push(self.config_home.join("autostart"));
        v.push(self.config_home.join("systemd"));
        v.push(self.data_home.join("systemd"));
        v.push(self.home.join(".local/bin"));
        v
    }

    /// Files in the home folder that run code at the next login or shell start.
    pub fn policy_files(&self) -> Vec<PathBuf> {
        [
            ".bashrc",
            ".bash_profile",
            ".bash_login",
            ".bash_logout",
            ".profile",
            ".zshrc",
            ".zshenv",
            ".zprofile",
            ".zlogin",
            ".xprofile",
            ".xsession",
            ".xinitrc",
            ".pam_environment",
        ]
        .iter()
        .map(|f| self.home.join(f))
        .collect()
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

/// Reads `XDG_DOWNLOAD_DIR="$HOME/Downloads"` style entries of `user-dirs.dirs`.
fn user_dir(config_home: &Path, home: &Path, key: &str) -> Option<PathBuf> {
    let text = std::fs::read_to_string(config_home.join("user-dirs.dirs")).ok()?;
    let line = text.lines().find(|l| l.trim_start().starts_with(key))?;
    let v = line.split_once('=')?.1.trim().trim_matches('"');
    let v = v.replace("$HOME", &home.display().to_string());
    v.starts_with('/').then(|| PathBuf::from(v))
}
