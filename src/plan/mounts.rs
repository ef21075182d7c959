//! The filesystem part of the plan: which mounts, in which order (SPEC §3 "Mount order").
//!
//! The root (tmpfs or `rootfs`), then `/proc`, `/dev`, the private `/tmp`, then every
//! `ro`/`rw`/`dev`/`tmpfs`/`hide` entry sorted so that a parent comes before what lies under it,
//! then the explicit `[[filesystem.mount]]` entries in written order, and last the read-only
//! re-binds that keep jail's policy folders unwritable whatever the profile says (SPEC §2).

use super::{under, Ctx, Error, Namespaces};
use crate::host::Kind;
use crate::profile::{Devices, Located, MountType, Profile, L};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    /// Read-only, nosuid, nodev.
    Ro,
    /// Read-write, nosuid, nodev.
    Rw,
    /// Read-write with device access (nosuid).
    Dev,
}

/// Default size of the private `/tmp`: room for unpacking archives and compiler temporaries, far
/// below the kernel's default of half the RAM.
pub const DEFAULT_TMP_SIZE: u64 = 1 << 30;
/// Default size of `/dev/shm`: browsers and Electron apps share rendering buffers there (64MiB,
/// Docker's default, is known to crash Chromium).
pub const DEFAULT_SHM_SIZE: u64 = 512 << 20;
/// Default size of each `tmpfs = [...]` entry and of a `[[filesystem.mount]]` tmpfs without size.
pub const DEFAULT_TMPFS_SIZE: u64 = 1 << 30;
/// Default size of the scratch tmpfs holding throwaway writable layers (image root, overlays).
pub const DEFAULT_SCRATCH_SIZE: u64 = 1 << 30;

/// The inode bound of a tmpfs of `size` bytes: one per 4KiB page (no more files than one page
/// each could fill), at least 1024. Without it the kernel allows half the RAM's page count, and
/// empty files, which the size does not count, could pin memory anyway.
pub fn inodes_for(size: u64) -> u64 {
    (size / 4096).max(1024)
}

/// Size and inode bound of a memory-backed filesystem of the sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Bound {
    pub size: u64,
    pub inodes: u64,
}

impl Bound {
    pub fn of(size: u64) -> Bound {
        Bound {
            size,
            inodes: inodes_for(size),
        }
    }
}

/// A size key of `[filesystem]`, or its default. 0 is refused: to tmpfs it means unlimited.
fn size_key(v: &Option<L<crate::profile::Size>>, key: &str, default: u64) -> Result<u64, Error> {
    match v {
        None => Ok(default),
        Some(s) if s.v.0 == 0 => Err(Located::at(
            format!("{key} = 0 would make it unlimited: give a size such as \"256MiB\""),
            &s.at,
        )),
        Some(s) => Ok(s.v.0),
    }
}

/// Device nodes of `devices = "minimal"`, bound from the host's `/dev`.
pub const MINIMAL_DEVICES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

/// One step of building the sandbox's filesystem. Paths are absolute, as seen inside.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum MountStep {
    /// An empty tmpfs becomes `/`; read-only once everything is in place.
    RootTmpfs,
    /// A directory of the host becomes `/`, read-only; changes go to a throwaway layer.
    RootImage {
        source: PathBuf,
    },
    /// A fresh procfs of the sandbox's pid namespace.
    Proc {
        target: PathBuf,
    },
    /// A tmpfs `/dev` holding the listed host device nodes, a new devpts instance, `/dev/shm`,
    /// and the usual symlinks (`fd`, `stdin`, `stdout`, `stderr`, `ptmx`).
    Dev {
        target: PathBuf,
        nodes: Vec<String>,
        /// Bound of `/dev/shm` (None: the kernel default, half the RAM).
        shm: Option<Bound>,
    },
    Tmpfs {
        target: PathBuf,
        /// Bytes (None: the kernel default, half the RAM).
        size: Option<u64>,
        /// Inodes (None: the kernel default).
        inodes: Option<u64>,
        mode: u32,
    },
    Bind {
        source: PathBuf,
        target: PathBuf,
        access: Access,
        why: String,
    },
    /// Masks `target`: an empty read-only folder or file nobody can read.
    Hide {
        target: PathBuf,
        dir: bool,
    },
    Symlink {
        target: PathBuf,
        to: PathBuf,
    },
    Dir {
        target: PathBuf,
        mode: u32,
    },
    File {
        target: PathBuf,
        content: String,
        mode: u32,
    },
    Mqueue {
        target: PathBuf,
    },
    Overlay {
        target: PathBuf,
        lower: Vec<PathBuf>,
        upper: Option<PathBuf>,
        work: Option<PathBuf>,
    },
}

impl MountStep {
    pub fn target(&self) -> &Path {
        match self {
            MountStep::RootTmpfs | MountStep::RootImage { .. } => Path::new("/"),
            MountStep::Proc { target }
            | MountStep::Dev { target, .. }
            | MountStep::Tmpfs { target, .. }
            | MountStep::Bind { target, .. }
            | MountStep::Hide { target, .. }
            | MountStep::Symlink { target, .. }
            | MountStep::Dir { target, .. }
            | MountStep::File { target, .. }
            | MountStep::Mqueue { target }
            | MountStep::Overlay { target, .. } => target,
        }
    }
}

/// The compiled filesystem and what other parts of the plan derive from it.
pub struct FsPlan {
    pub steps: Vec<MountStep>,
    /// Bound of the scratch tmpfs (throwaway writable layers).
    pub scratch: Bound,
    pub default_cwd: PathBuf,
    pub landlock_ro: Vec<PathBuf>,
    pub landlock_rw: Vec<PathBuf>,
    pub landlock_dev: Vec<PathBuf>,
    /// Folders that may only be listed (the empty tmpfs root).
    pub landlock_list: Vec<PathBuf>,
    pub warnings: Vec<String>,
}

/// A grant from the sorted lists, before ordering.
struct Grant {
    target: PathBuf,
    /// Lists of the same path sort in this order: binds, then tmpfs, then hide.
    rank: u8,
    step: MountStep,
}

pub fn compile(cx: &mut Ctx, p: &Profile, ns: &Namespaces) -> Result<FsPlan, Error> {
    let f = &p.filesystem;
    let host = cx.host;
    let mut warnings = vec![];
    let mut steps = vec![];
    let mut ll_ro: Vec<PathBuf> = vec![];
    let mut ll_rw: Vec<PathBuf> = vec![];
    let mut ll_dev: Vec<PathBuf> = vec![];
    let tmp_size = size_key(&f.tmp_size, "tmp_size", DEFAULT_TMP_SIZE)?;
    let shm_size = size_key(&f.shm_size, "shm_size", DEFAULT_SHM_SIZE)?;
    let tmpfs_size = size_key(&f.tmpfs_size, "tmpfs_size", DEFAULT_TMPFS_SIZE)?;
    let scratch_size = size_key(&f.scratch_size, "scratch_size", DEFAULT_SCRATCH_SIZE)?;

    // 1. The root.
    match &f.rootfs {
        Some(r) => {
            let path = cx.path(r)?;
            match host.fs.canonicalize(&path) {
                Some(real) if host.fs.kind(&real) == Some(Kind::Dir) => {
                    steps.push(MountStep::RootImage { source: real });
                    ll_ro.push("/".into());
                }
                _ => {
                    return Err(Located::at(
                        format!("rootfs {} is not a directory", path.display()),
                        &r.at,
                    ))
                }
            }
        }
        None => steps.push(MountStep::RootTmpfs),
    }

    // 2. /proc, /dev, /tmp.
    if f.proc.as_ref().map(|x| x.v).unwrap_or(true) {
        if ns.pid {
            steps.push(MountStep::Proc {
                target: "/proc".into(),
            });
        } else {
            steps.push(MountStep::Bind {
                source: "/proc".into(),
                target: "/proc".into(),
                access: Access::Ro,
                why: "host /proc (no pid namespace)".into(),
            });
        }
        ll_rw.push("/proc".into());
    }
    let nodes: Vec<String> = match f.devices.as_ref().map(|x| x.v).unwrap_or_default() {
        Devices::Minimal => MINIMAL_DEVICES.iter().map(|s| s.to_string()).collect(),
        Devices::None => vec![],
    };
    steps.push(MountStep::Dev {
        target: "/dev".into(),
        nodes,
        shm: Some(Bound::of(shm_size)),
    });
    ll_dev.push("/dev".into());
    // /dev/shm is a plain writable tmpfs (POSIX shared memory), not a device folder.
    ll_rw.push("/dev/shm".into());
    steps.push(MountStep::Tmpfs {
        target: "/tmp".into(),
        size: Some(tmp_size),
        inodes: Some(inodes_for(tmp_size)),
        mode: 0o1777,
    });
    ll_rw.push("/tmp".into());

    // 3. The lists, sorted parent first.
    let mut grants: Vec<Grant> = vec![];
    // Each bound path with the widest access it is bound with, to find a bind above a path by
    // walking its parents (a lookup per parent, not a scan of every grant).
    let mut bound: HashMap<PathBuf, Access> = HashMap::new();
    // Folders this profile makes writable: symlinks inside them may have been planted by an
    // earlier run and are never followed.
    let writable_grants: Vec<PathBuf> =
        f.rw.iter()
            .chain(f.dev.iter())
            .filter_map(|item| split_optional(cx, item).ok().map(|(_, p)| (item, p)))
            .filter(|(item, p)| !pwd_refused(host, item, p))
            .map(|(_, p)| p)
            .collect();
    for (list, access) in [
        (&f.ro, Access::Ro),
        (&f.rw, Access::Rw),
        (&f.dev, Access::Dev),
    ] {
        for item in list {
            let Some((optional, path)) = optional_entry(cx, item, &mut warnings)? else {
                continue;
            };
            if pwd_refused(host, item, &path) {
                // Never hand out / or the whole home just because jail was started there.
                warnings.push(format!("not granting the current folder {}: it is / or your home (cd into a project folder, or use --bind)", path.display()));
                continue;
            }
            let Some(kind) = host.fs.kind(&path) else {
                if optional {
                    warnings.push(format!("skipped optional {} (absent)", path.display()));
                    continue;
                }
                return Err(Located::at(
                    format!(
                        "{} does not exist (write \"?{}\" to skip it when absent)",
                        path.display(),
                        item.v.trim_start_matches('?')
                    ),
                    &item.at,
                ));
            };
            let real = match host.fs.canonicalize(&path) {
                Some(r) => r,
                None if optional => {
                    warnings.push(format!(
                        "skipped optional {} (dangling symlink)",
                        path.display()
                    ));
                    continue;
                }
                None => {
                    return Err(Located::at(
                        format!("{} is a symlink that leads nowhere", path.display()),
                        &item.at,
                    ))
                }
            };
            if access == Access::Rw && real != path {
                // A writable grant must not follow symlinks: a sandbox that could write the
                // parent could swap the folder for a symlink and widen its next run (the flatpak
                // persist-folder escape class).
                return Err(Located::at(
                    format!(
                        "{} passes through a symlink (it is {}); grant the real path instead",
                        path.display(),
                        real.display()
                    ),
                    &item.at,
                ));
            }
            let why = format!(
                "{} {}",
                match access {
                    Access::Ro => "ro",
                    Access::Rw => "rw",
                    Access::Dev => "dev",
                },
                item.v
            );
            if real != path {
                // A read-only grant follows symlinks only where neither the caller nor a sandbox
                // of theirs could have planted them: a symlink in a folder they can write could
                // point a later run at their secrets (bubblewrap/flatpak symlink escapes).
                if let Some(planted) = untrusted_symlink(host, &path, &writable_grants) {
                    return Err(Located::at(
                        format!(
                            "{} passes through the symlink {}, which lies in a folder you can write: jail does not follow it (a sandbox could have planted it); grant the real path {} instead",
                            path.display(),
                            planted.display(),
                            real.display()
                        ),
                        &item.at,
                    ));
                }
            }
            if let Kind::Symlink(to) = &kind {
                // `/bin → usr/bin`: show the same symlink inside, and bind what it points to.
                grants.push(Grant {
                    target: path.clone(),
                    rank: 0,
                    step: MountStep::Symlink {
                        target: path.clone(),
                        to: to.clone(),
                    },
                });
                if real.ancestors().any(|b| {
                    super::work(1);
                    bound.get(b).is_some_and(|a| *a >= access)
                }) {
                    continue;
                }
            }
            if access == Access::Dev
                && !matches!(host.fs.kind(&real), Some(Kind::Device) | Some(Kind::Dir))
            {
                return Err(Located::at(
                    format!("{} is not a device or a folder of devices", real.display()),
                    &item.at,
                ));
            }
            let widest = bound.entry(real.clone()).or_insert(access);
            *widest = (*widest).max(access);
            match access {
                Access::Ro => ll_ro.push(real.clone()),
                Access::Rw => ll_rw.push(real.clone()),
                Access::Dev => ll_dev.push(real.clone()),
            }
            grants.push(Grant {
                target: real.clone(),
                rank: 0,
                step: MountStep::Bind {
                    source: real.clone(),
                    target: real,
                    access,
                    why,
                },
            });
        }
    }
    for item in &f.tmpfs {
        let path = cx.path(item)?;
        if path == Path::new("/tmp") {
            continue; // the private /tmp is already there
        }
        if path == Path::new("/") {
            return Err(Located::at(
                "tmpfs = [\"/\"]: the root is already an empty tmpfs",
                &item.at,
            ));
        }
        ll_rw.push(path.clone());
        grants.push(Grant {
            target: path.clone(),
            rank: 1,
            step: MountStep::Tmpfs {
                target: path,
                size: Some(tmpfs_size),
                inodes: Some(inodes_for(tmpfs_size)),
                mode: 0o755,
            },
        });
    }
    // What the binds and tmpfs show: a hide matters only at or under one of them.
    let shown: HashSet<PathBuf> = grants
        .iter()
        .filter(|g| matches!(g.step, MountStep::Bind { .. } | MountStep::Tmpfs { .. }))
        .map(|g| g.target.clone())
        .collect();
    let visible = |p: &Path| -> bool {
        p.ancestors().any(|a| {
            super::work(1);
            shown.contains(a)
        }) || [Path::new("/tmp"), Path::new("/proc"), Path::new("/dev")]
            .iter()
            .any(|b| under(p, b))
    };
    let has_image = matches!(steps[0], MountStep::RootImage { .. });
    for item in &f.hide {
        let Some((_, path)) = optional_entry(cx, item, &mut warnings)? else {
            continue;
        };
        if path == Path::new("/") {
            return Err(Located::at(
                "hide = [\"/\"] would hide everything; remove grants instead",
                &item.at,
            ));
        }
        if !has_image && !visible(&path) {
            continue; // not granted, so already invisible
        }
        let dir = match host.fs.kind(&path) {
            None => {
                warnings.push(format!("hide {}: nothing there to hide", path.display()));
                continue;
            }
            Some(Kind::Dir) => true,
            Some(_) => false,
        };
        grants.push(Grant {
            target: path.clone(),
            rank: 2,
            step: MountStep::Hide { target: path, dir },
        });
    }
    // Parent before child; the same path keeps bind < tmpfs < hide; else the written order.
    grants.sort_by(|a, b| a.target.cmp(&b.target).then(a.rank.cmp(&b.rank)));
    steps.extend(grants.iter().map(|g| g.step.clone()));

    // 4. Explicit mounts in written order.
    for m in &f.mount {
        let m = &m.v;
        let target = cx.path(&m.target)?;
        let mode = match &m.mode {
            Some(s) => u32::from_str_radix(s.v.trim_start_matches("0o"), 8)
                .ok()
                .filter(|&v| v <= 0o7777)
                .ok_or_else(|| {
                    Located::at(
                        format!("mode {:?} is not an octal permission like \"0755\"", s.v),
                        &s.at,
                    )
                })?,
            None => 0o755,
        };
        let optional = m.optional.as_ref().map(|x| x.v).unwrap_or(false);
        let need_source = |what: &str| -> Result<&L<String>, Error> {
            m.source.as_ref().ok_or_else(|| {
                Located::at(format!("type = \"{what}\" needs source = …"), &m.kind.at)
            })
        };
        let step = match m.kind.v {
            MountType::Bind | MountType::RoBind | MountType::DevBind => {
                let name = match m.kind.v {
                    MountType::Bind => "bind",
                    MountType::RoBind => "ro-bind",
                    _ => "dev-bind",
                };
                let src = need_source(name)?;
                let source = cx.path(src)?;
                match host.fs.canonicalize(&source) {
                    Some(real) => {
                        let access = match m.kind.v {
                            MountType::Bind => Access::Rw,
                            MountType::RoBind => Access::Ro,
                            _ => Access::Dev,
                        };
                        if access == Access::Rw && real != source {
                            return Err(Located::at(format!("{} passes through a symlink (it is {}); bind the real path instead", source.display(), real.display()), &src.at));
                        }
                        match access {
                            Access::Ro => ll_ro.push(target.clone()),
                            Access::Rw => ll_rw.push(target.clone()),
                            Access::Dev => ll_dev.push(target.clone()),
                        }
                        MountStep::Bind {
                            source: real,
                            target: target.clone(),
                            access,
                            why: format!("{name} {}", src.v),
                        }
                    }
                    None if optional => {
                        warnings.push(format!(
                            "skipped optional {name} of {} (absent)",
                            source.display()
                        ));
                        continue;
                    }
                    None => {
                        return Err(Located::at(
                            format!("{} does not exist", source.display()),
                            &src.at,
                        ))
                    }
                }
            }
            MountType::Tmpfs => {
                ll_rw.push(target.clone());
                let size = size_key(&m.size, "size", tmpfs_size)?;
                MountStep::Tmpfs {
                    target: target.clone(),
                    size: Some(size),
                    inodes: Some(inodes_for(size)),
                    mode,
                }
            }
            MountType::Proc => {
                ll_rw.push(target.clone());
                MountStep::Proc {
                    target: target.clone(),
                }
            }
            MountType::Mqueue => {
                ll_rw.push(target.clone());
                MountStep::Mqueue {
                    target: target.clone(),
                }
            }
            MountType::Dir => {
                ll_ro.push(target.clone());
                MountStep::Dir {
                    target: target.clone(),
                    mode,
                }
            }
            MountType::File => {
                ll_ro.push(target.clone());
                let content = m.content.as_ref().map(|c| c.v.clone()).unwrap_or_default();
                MountStep::File {
                    target: target.clone(),
                    content,
                    mode: if m.mode.is_some() { mode } else { 0o644 },
                }
            }
            MountType::Symlink => {
                let src = need_source("symlink")?;
                MountStep::Symlink {
                    target: target.clone(),
                    to: PathBuf::from(&src.v),
                }
            }
            MountType::Overlay => {
                if m.lower.is_empty() {
                    return Err(Located::at(
                        "type = \"overlay\" needs lower = [ … ]",
                        &m.kind.at,
                    ));
                }
                let mut lower = vec![];
                for l in &m.lower {
                    let p = cx.path(l)?;
                    if host.fs.kind(&p) != Some(Kind::Dir) {
                        return Err(Located::at(
                            format!("overlay lower {} is not a folder", p.display()),
                            &l.at,
                        ));
                    }
                    lower.push(p);
                }
                let upper = m.upper.as_ref().map(|u| cx.path(u)).transpose()?;
                let work = m.work.as_ref().map(|u| cx.path(u)).transpose()?;
                if upper.is_some() != work.is_some() {
                    return Err(Located::at(
                        "overlay: give both upper and work, or neither (a throwaway upper layer)",
                        &m.kind.at,
                    ));
                }
                ll_rw.push(target.clone());
                MountStep::Overlay {
                    target: target.clone(),
                    lower,
                    upper,
                    work,
                }
            }
        };
        if target == Path::new("/") {
            return Err(Located::at(
                "a mount cannot replace / (use filesystem.rootfs)",
                &m.target.at,
            ));
        }
        steps.push(step);
    }

    // 5. jail's policy folders stay read-only whatever the profile says (SPEC §2).
    let writable: Vec<(PathBuf, PathBuf)> = steps
        .iter()
        .filter_map(|s| match s {
            MountStep::Bind {
                source,
                target,
                access: Access::Rw | Access::Dev,
                ..
            } => Some((source.clone(), target.clone())),
            _ => None,
        })
        .collect();
    let search = crate::profile::SearchPath::from_env(&host.config_home).dirs;
    let protected_dirs = host.policy_dirs(&search);
    let protected: Vec<(PathBuf, bool)> = protected_dirs
        .into_iter()
        .map(|d| (d, true))
        .chain(host.policy_files().into_iter().map(|f| (f, false)))
        .collect();
    let mut protections = vec![];
    for (pd, is_dir) in protected {
        for (source, target) in &writable {
            if !under(&pd, source) {
                continue;
            }
            let inside = target.join(pd.strip_prefix(source).unwrap_or(Path::new("")));
            if protections.iter().any(|s: &MountStep| s.target() == inside) {
                continue;
            }
            match host.fs.kind(&pd) {
                Some(Kind::Dir) | Some(Kind::File) => protections.push(MountStep::Bind {
                    source: pd.clone(),
                    target: inside,
                    access: Access::Ro,
                    why: "jail policy: never writable inside".into(),
                }),
                Some(Kind::Symlink(_)) => {
                    return Err(Located::new(
                        format!("{} is a symlink inside a writable grant; jail refuses to run rather than leave its policy writable", pd.display()),
                        None,
                    ))
                }
                // An absent folder under a writable grant could be created from inside; an
                // empty read-only placeholder keeps it from being created with content.
                None if is_dir => protections.push(MountStep::Hide { target: inside, dir: true }),
                _ => {}
            }
        }
    }
    steps.extend(protections);

    // The caller's folder, else the home, else /: whichever is visible inside. A fresh tmpfs
    // shows only its own root (what lies below it on the host is not there).
    let default_cwd = [host.cwd.clone(), host.home.clone()]
        .into_iter()
        .find(|c| {
            let shown = has_image && c == Path::new("/")
                || steps.iter().any(|s| match s {
                    MountStep::Bind { .. } => under(c, s.target()),
                    MountStep::Tmpfs { .. } => c == s.target(),
                    _ => false,
                });
            shown
                && !steps
                    .iter()
                    .any(|s| matches!(s, MountStep::Hide { .. }) && under(c, s.target()))
        })
        .unwrap_or_else(|| PathBuf::from("/"));

    Ok(FsPlan {
        steps,
        scratch: Bound::of(scratch_size),
        default_cwd,
        landlock_ro: ll_ro,
        landlock_rw: ll_rw,
        landlock_dev: ll_dev,
        landlock_list: if has_image { vec![] } else { vec!["/".into()] },
        warnings,
    })
}

/// The first symlink on `path` that the caller (or a sandbox of theirs) could have planted:
/// one in a folder not owned by root, writable by group or others, or under the home folder.
fn untrusted_symlink(
    host: &crate::host::Host,
    path: &Path,
    writable: &[PathBuf],
) -> Option<PathBuf> {
    // Places any user (or a sandbox with a writable grant there) can write, root or not.
    const SHARED: [&str; 4] = ["/tmp", "/var/tmp", "/dev/shm", "/run/user"];
    let mut prefix = PathBuf::from("/");
    for c in path.components().skip(1) {
        prefix.push(c);
        if let Some(Kind::Symlink(_)) = host.fs.kind(&prefix) {
            let parent = prefix.parent().unwrap_or(Path::new("/"));
            let trusted = match host.fs.owner_mode(parent) {
                Some((uid, mode)) => {
                    uid == 0
                        && mode & 0o022 == 0
                        && !under(&prefix, &host.home)
                        && !SHARED.iter().any(|s| under(&prefix, Path::new(s)))
                        && !writable.iter().any(|w| under(&prefix, w))
                }
                None => false,
            };
            if !trusted {
                return Some(prefix);
            }
        }
    }
    None
}

/// A `${PWD}` grant is never given when jail was started in / or in the home folder itself.
fn pwd_refused(host: &crate::host::Host, item: &L<String>, path: &Path) -> bool {
    item.v.trim_start_matches('?').starts_with("${PWD}")
        && (path == Path::new("/") || host.home.starts_with(path))
}

fn split_optional(cx: &Ctx, item: &L<String>) -> Result<(bool, PathBuf), Error> {
    match item.v.strip_prefix('?') {
        Some(rest) => Ok((true, cx.path(&L::new(rest.to_string(), item.at.clone()))?)),
        None => Ok((false, cx.path(item)?)),
    }
}

/// Like [`split_optional`], but an optional entry naming a variable this session does not set
/// (`"?${XDG_RUNTIME_DIR}/x"` without a runtime folder) is skipped (None) instead of an error.
fn optional_entry(
    cx: &Ctx,
    item: &L<String>,
    warnings: &mut Vec<String>,
) -> Result<Option<(bool, PathBuf)>, Error> {
    match split_optional(cx, item) {
        Err(e) if item.v.starts_with('?') && e.msg.contains("is used but not set") => {
            warnings.push(format!("skipped optional {}: {}", item.v, e.msg));
            Ok(None)
        }
        r => r.map(Some),
    }
}
