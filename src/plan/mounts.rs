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

/// What a sandbox may write in its `/proc`.
///
/// Files under `/proc/sys` and the other host-wide entries check the caller's uid, not its
/// capabilities: a sandbox started by root runs as the host's uid 0 and could otherwise set
/// `kernel.core_pattern` and have the host kernel run a program as real root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProcWrites {
    /// The whole procfs is mounted read-only (the default).
    None,
    /// Only the processes' own folders (`/proc/PID/…`: `uid_map`, `setgroups`, `oom_score_adj`)
    /// are writable, for profiles whose COMMAND creates user namespaces (`nested = ["user"]`);
    /// every other entry is bound read-only over itself.
    OwnProcesses,
}

/// Entries of `/proc` masked in every sandbox (where the kernel has them): kernel memory and
/// page maps, the kernel log, every key and key user of the host, and timer and scheduler
/// dumps that name host processes.
pub const PROC_MASKED: [&str; 15] = [
    "kcore",
    "slabinfo",
    "vmallocinfo",
    "pagetypeinfo",
    "kmsg",
    "kallsyms",
    "keys",
    "key-users",
    "kpagecount",
    "kpageflags",
    "kpagecgroup",
    "timer_list",
    "timer_stats",
    "sched_debug",
    "latency_stats",
];

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
    /// A fresh procfs of the sandbox's pid namespace. Host-wide kernel state in it (`sys`,
    /// `sysrq-trigger`, `irq`, `bus`, …: everything that is not a process's own folder) is never
    /// writable, and [`PROC_MASKED`] entries are masked.
    Proc {
        target: PathBuf,
        writes: ProcWrites,
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
    /// Masks every file and folder under `target` that others may not read (a sandbox started
    /// by root would read them as the host's uid 0); found when the sandbox is built.
    MaskPrivate {
        target: PathBuf,
    },
    /// Keeps a missing policy file or folder from being created through a writable grant: an
    /// empty one is made there and an empty, readable, read-only folder or file is put over it.
    Placeholder {
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
            MountStep::Proc { target, .. }
            | MountStep::Dev { target, .. }
            | MountStep::Tmpfs { target, .. }
            | MountStep::Bind { target, .. }
            | MountStep::Hide { target, .. }
            | MountStep::Placeholder { target, .. }
            | MountStep::MaskPrivate { target }
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
    /// Folders of writable grants where nothing new may be created (homes).
    pub landlock_guarded: Vec<PathBuf>,
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
            match host.fs.resolve(&path) {
                Some(crate::host::Resolved {
                    real: Some(real),
                    kind: Some(Kind::Dir),
                    ..
                }) => {
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
    let proc_writes = proc_writes(ns);
    if f.proc.as_ref().map(|x| x.v).unwrap_or(true) {
        if ns.pid {
            steps.push(MountStep::Proc {
                target: "/proc".into(),
                writes: proc_writes,
            });
            proc_landlock(proc_writes, "/proc".into(), &mut ll_ro, &mut ll_rw);
        } else {
            steps.push(MountStep::Bind {
                source: "/proc".into(),
                target: "/proc".into(),
                access: Access::Ro,
                why: "host /proc (no pid namespace)".into(),
            });
            // The host's procfs, read-only: the masked entries are hidden like grants.
            for name in PROC_MASKED {
                let p = Path::new("/proc").join(name);
                if let Some(kind) = host.fs.kind(&p) {
                    steps.push(MountStep::Hide {
                        target: p,
                        dir: kind == Kind::Dir,
                    });
                }
            }
            ll_ro.push("/proc".into());
        }
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
                warnings.push(format!("not granting the current folder {}: it is /, your home or a system folder (cd into a project folder, or use --bind)", path.display()));
                continue;
            }
            // One walk decides everything about this grant (see HostFs::resolve).
            let Some(res) = host.fs.resolve(&path) else {
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
            let kind = res.first.clone();
            let real = match res.real.clone() {
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
            if access != Access::Ro
                && (under(&real, Path::new("/proc")) || under(&real, Path::new("/sys")))
            {
                // Host kernel state checks uids, not capabilities: never writable inside.
                return Err(Located::at(
                    format!(
                        "{} is host kernel state (/proc, /sys): it can only be granted read-only (ro = […])",
                        real.display()
                    ),
                    &item.at,
                ));
            }
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
            if real != path {
                // A read-only grant follows symlinks only where neither the caller nor a sandbox
                // of theirs could have planted them: a symlink in a folder they can write could
                // point a later run at their secrets (bubblewrap/flatpak symlink escapes).
                if let Some(planted) = untrusted_link(host, &res.links, &writable_grants) {
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
            let why = format!(
                "{} {}",
                match access {
                    Access::Ro => "ro",
                    Access::Rw => "rw",
                    Access::Dev => "dev",
                },
                item.v
            );
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
            if access == Access::Dev && !matches!(res.kind, Some(Kind::Device) | Some(Kind::Dir)) {
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
    // A sandbox started by root reads as the host's uid 0: what the system keeps from other
    // users in /etc (TLS keys in /etc/ssl/private, /etc/security/opasswd …) is masked. Which
    // files those are is found when the sandbox is built (the other system folders hold
    // programs, not secrets).
    if host.uid == 0 {
        let etc: Vec<PathBuf> = grants
            .iter()
            .filter_map(|g| match &g.step {
                MountStep::Bind { source, target, .. }
                    if source == target && under(source, Path::new("/etc")) =>
                {
                    Some(source.clone())
                }
                _ => None,
            })
            .collect();
        for t in etc {
            grants.push(Grant {
                target: t.clone(),
                rank: 2,
                step: MountStep::MaskPrivate { target: t },
            });
        }
    }
    // Parent before child; the same path keeps bind < tmpfs < hide; else the written order.
    grants.sort_by(|a, b| a.target.cmp(&b.target).then(a.rank.cmp(&b.rank)));
    steps.extend(grants.iter().map(|g| g.step.clone()));

    // 4. Explicit mounts in written order (with where each was written, for errors below).
    let explicit_from = steps.len();
    let mut explicit_at: Vec<crate::profile::Origin> = vec![];
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
                let res = host.fs.resolve(&source);
                match res.as_ref().and_then(|r| r.real.clone()) {
                    Some(real) => {
                        let access = match m.kind.v {
                            MountType::Bind => Access::Rw,
                            MountType::RoBind => Access::Ro,
                            _ => Access::Dev,
                        };
                        if access == Access::Rw && real != source {
                            return Err(Located::at(format!("{} passes through a symlink (it is {}); bind the real path instead", source.display(), real.display()), &src.at));
                        }
                        let links = res.as_ref().map(|r| r.links.as_slice()).unwrap_or(&[]);
                        if let Some(planted) = untrusted_link(host, links, &writable_grants) {
                            return Err(Located::at(format!("{} passes through the symlink {}, which lies in a folder you can write: jail does not follow it; bind the real path {} instead", source.display(), planted.display(), real.display()), &src.at));
                        }
                        if access != Access::Ro
                            && (under(&real, Path::new("/proc")) || under(&real, Path::new("/sys")))
                        {
                            return Err(Located::at(format!("{} is host kernel state (/proc, /sys): it can only be bound read-only (type = \"ro-bind\")", real.display()), &src.at));
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
                proc_landlock(proc_writes, target.clone(), &mut ll_ro, &mut ll_rw);
                MountStep::Proc {
                    target: target.clone(),
                    writes: proc_writes,
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
        explicit_at.push(m.target.at.clone());
        steps.push(step);
    }

    // 5. jail's policy folders stay read-only whatever the profile says (SPEC §2).
    // Every place a sandbox writes host files through: writable binds and overlay upper layers,
    // each with where it shows inside and whether a later tmpfs or mask at the same place
    // covers it (the last mount at a place is what the sandbox sees).
    let writable: Vec<(PathBuf, PathBuf, bool)> = steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let (source, target) = match s {
                MountStep::Bind {
                    source,
                    target,
                    access: Access::Rw | Access::Dev,
                    ..
                } => (source, target),
                MountStep::Overlay {
                    target,
                    upper: Some(upper),
                    ..
                } => (upper, target),
                _ => return None,
            };
            let covered = steps[i + 1..].iter().any(|later| {
                matches!(later, MountStep::Tmpfs { .. } | MountStep::Hide { .. })
                    && later.target() == target.as_path()
            });
            Some((source.clone(), target.clone(), covered))
        })
        .collect();
    // A home inside a writable grant: nothing new may appear at its top level (or in the
    // folders between the grant and it), where every login and shell looks for start-up
    // files (`~/.bash_profile`, `~/.xsession` … that do not exist yet); Landlock enforces it
    // (see PathClass::Guarded) and every existing sub-folder keeps full rights.
    let mut guarded: Vec<PathBuf> = vec![];
    let mut ll_guarded: Vec<PathBuf> = vec![];
    // Computed once: it is consulted for every entry of every guarded folder below.
    let guarded_dirs = host.guarded_dirs();
    for home in &guarded_dirs {
        for (source, target, covered) in &writable {
            if !under(home, source) || *covered {
                continue;
            }
            let inside = |p: &Path| rebase(p, source, target);
            // The folder and those between it and the grant, where they exist (a missing one
            // cannot be created: the folder above it is guarded).
            let mut chain = vec![];
            let mut up = Some(home.as_path());
            while let Some(d) = up.filter(|d| under(d, source)) {
                if host.fs.kind(d) == Some(Kind::Dir) {
                    chain.push(d.to_path_buf());
                }
                up = d.parent();
            }
            for dir in &chain {
                if guarded.contains(dir) {
                    continue;
                }
                let t = inside(dir);
                ll_rw.retain(|p| p != &t);
                if !ll_guarded.contains(&t) {
                    ll_guarded.push(t);
                }
                let Some(entries) = host.fs.list(dir) else {
                    return Err(Located::new(
                        format!("cannot list {} to protect its start-up files; refusing to grant it writable", dir.display()),
                        None,
                    ));
                };
                for (name, kind) in entries {
                    let child = dir.join(&name);
                    if kind == Kind::Dir && !guarded_dirs.iter().any(|g| under(g, &child)) {
                        ll_rw.push(inside(&child));
                    }
                }
                guarded.push(dir.clone());
            }
        }
    }
    if let Some(g) = ll_guarded
        .iter()
        .find(|g| ll_rw.iter().any(|w| under(g, w) && w != *g))
    {
        // Landlock rights add up along a path: a writable rule above would undo the guard.
        let msg = format!("{} holds a home folder inside another writable place (such as the private /tmp); jail cannot keep start-up files from being planted there (grant folders inside the home instead)", g.display());
        if !host.session_optional {
            return Err(Located::new(msg, None));
        }
        // `check` and `audit` judge the profile, not where this session's home happens to be.
        warnings.push(msg);
    }

    // jail's policy folders and files stay read-only whatever the profile says (SPEC §2).
    let search = crate::profile::SearchPath::from_env(&host.config_home).dirs;
    let protected: Vec<(PathBuf, bool)> = host
        .policy_dirs(&search)
        .into_iter()
        .map(|d| (d, true))
        .chain(host.policy_files().into_iter().map(|f| (f, false)))
        .collect();
    let mut protections = vec![];
    let mut protected_targets: HashSet<PathBuf> = HashSet::new();
    // A writable grant inside a policy folder (`~/.config/systemd/user`, `~/.ssh/config.d`,
    // a repository's `.git/hooks`) is that folder's content: it is bound read-only as a whole.
    for (source, target, _) in &writable {
        let inside_policy = protected
            .iter()
            .any(|(pd, is_dir)| *is_dir && source != pd && under(source, pd))
            || source.components().any(|c| c.as_os_str() == ".git");
        if inside_policy && protected_targets.insert(target.clone()) {
            protections.push(MountStep::Bind {
                source: source.clone(),
                target: target.clone(),
                access: Access::Ro,
                why: "jail policy: inside a folder whose files host programs obey".into(),
            });
        }
    }
    // An overlay whose upper layer is a home (or holds one, or lies in a policy folder) would
    // copy files of its lower layers up there: `.bash_profile` from a skeleton lower.
    for (s, at) in steps[explicit_from..].iter().zip(&explicit_at) {
        if let MountStep::Overlay {
            upper: Some(upper), ..
        } = s
        {
            let holds = guarded_dirs.iter().any(|g| under(g, upper))
                || protected
                    .iter()
                    .any(|(pd, _)| under(upper, pd) || under(pd, upper));
            if holds {
                return Err(Located::at(
                    format!("overlay upper {} is (or holds, or lies in) a folder whose files host programs obey; use an upper folder of its own", upper.display()),
                at,
            ));
            }
        }
    }
    // `[[filesystem.mount]]` files, folders and symlinks are made where they are mounted: inside
    // a writable grant that is the host's folder, written by jail before any policy holds.
    for (s, at) in steps[explicit_from..].iter().zip(&explicit_at) {
        let mode = match s {
            MountStep::Dir { mode, .. } | MountStep::File { mode, .. } => Some(*mode),
            MountStep::Symlink { .. } => None,
            _ => continue,
        };
        if mode.is_some_and(|m| m & 0o6000 != 0) {
            return Err(Located::at(
                format!("{}: mode {:o} has a set-user-ID or set-group-ID bit; jail never makes such files", s.target().display(), mode.unwrap_or(0)),
                at,
            ));
        }
        if let Some((_, t, _)) = writable
            .iter()
            .find(|(_, t, covered)| !*covered && under(s.target(), t))
        {
            return Err(Located::at(
                format!("[[filesystem.mount]] at {} lies inside the writable grant {}: jail would create it in the host's folder; put it on a tmpfs (type = \"tmpfs\") or outside the grant", s.target().display(), t.display()),
                at,
            ));
        }
    }
    // The whole `.git` of a repository at the top of a writable grant is read-only: its config,
    // hooks, commondir, modules and worktrees all steer what git runs, and a renamed copy would
    // carry no protection along. (Each grant's own: checking every grant against every other
    // grant's repository would make big profiles quadratic.)
    for (source, target, _) in &writable {
        let git = source.join(".git");
        if matches!(host.fs.kind(&git), Some(Kind::Dir) | Some(Kind::File)) {
            let step = MountStep::Bind {
                source: git.clone(),
                target: target.join(".git"),
                access: Access::Ro,
                why: "jail policy: never writable inside".into(),
            };
            if protected_targets.insert(step.target().to_path_buf()) {
                protections.push(step);
            }
        }
    }
    for (pd, is_dir) in protected {
        for (source, target, _) in &writable {
            if !under(&pd, source) {
                continue;
            }
            let inside = |p: &Path| rebase(p, source, target);
            let step = match host.fs.kind(&pd) {
                Some(Kind::Dir) | Some(Kind::File) => MountStep::Bind {
                    source: pd.clone(),
                    target: inside(&pd),
                    access: Access::Ro,
                    why: "jail policy: never writable inside".into(),
                },
                Some(Kind::Symlink(_)) => {
                    return Err(Located::new(
                        format!("{} is a symlink inside a writable grant; jail refuses to run rather than leave its policy writable", pd.display()),
                        None,
                    ))
                }
                Some(_) => continue,
                None => {
                    // Absent: it must not be created from inside. Where its nearest existing
                    // folder is guarded, Landlock already refuses; elsewhere an empty
                    // read-only placeholder holds its first missing folder (or the file itself).
                    let mut missing = pd.clone();
                    while let Some(parent) = missing.parent() {
                        if host.fs.kind(parent).is_some() || !under(parent, source) {
                            break;
                        }
                        missing = parent.to_path_buf();
                    }
                    let parent = missing.parent().unwrap_or(Path::new("/"));
                    if guarded.iter().any(|g| g == parent) {
                        continue;
                    }
                    MountStep::Placeholder {
                        target: inside(&missing),
                        dir: is_dir || missing != pd,
                    }
                }
            };
            if protected_targets.insert(step.target().to_path_buf()) {
                protections.push(step);
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
        landlock_guarded: ll_guarded,
        warnings,
    })
}

/// A procfs is writable (in its processes' own folders only) when COMMAND may create user
/// namespaces: it must write the new namespace's `uid_map`, `gid_map` and `setgroups`.
fn proc_writes(ns: &Namespaces) -> ProcWrites {
    if ns.nested.iter().any(|n| n == "user") {
        ProcWrites::OwnProcesses
    } else {
        ProcWrites::None
    }
}

/// Landlock's rule for a procfs: read-only unless the processes' folders must be written.
/// Landlock cannot tell `/proc/PID` from `/proc/sys` (both lie under the mount's root), so the
/// read-only binds of the executor are what keeps host-wide entries unwritable there.
fn proc_landlock(w: ProcWrites, at: PathBuf, ro: &mut Vec<PathBuf>, rw: &mut Vec<PathBuf>) {
    match w {
        ProcWrites::None => ro.push(at),
        ProcWrites::OwnProcesses => rw.push(at),
    }
}

/// The first symlink of a resolution that the caller (or a sandbox of theirs) could have
/// planted: one in a folder not owned by root, writable by group or others, or under the home
/// folder, a shared scratch folder or a writable grant.
fn untrusted_link(
    host: &crate::host::Host,
    links: &[crate::host::Link],
    writable: &[PathBuf],
) -> Option<PathBuf> {
    // Places any user (or a sandbox with a writable grant there) can write, root or not.
    const SHARED: [&str; 4] = ["/tmp", "/var/tmp", "/dev/shm", "/run/user"];
    links
        .iter()
        .find(|l| {
            let trusted = l.parent_uid == 0
                && l.parent_mode & 0o022 == 0
                && !under(&l.at, &host.home)
                && !SHARED.iter().any(|s| under(&l.at, Path::new(s)))
                && !writable.iter().any(|w| under(&l.at, w));
            !trusted
        })
        .map(|l| l.at.clone())
}

/// Where `p` (under `source`) shows inside when `source` is mounted at `target`.
fn rebase(p: &Path, source: &Path, target: &Path) -> PathBuf {
    match p.strip_prefix(source) {
        Ok(rel) if !rel.as_os_str().is_empty() => target.join(rel),
        _ => target.to_path_buf(),
    }
}

/// System folders a `${PWD}` grant never hands out: started there (by root above all, who
/// would give the sandbox `/etc/profile.d` or `/usr/lib`), jail must not make them writable.
const SYSTEM_DIRS: [&str; 14] = [
    "/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/var",
    "/proc", "/sys", "/dev", "/run",
];

/// A `${PWD}` grant is never given when jail was started in /, the home folder itself (or a
/// folder above it) or a system folder.
fn pwd_refused(host: &crate::host::Host, item: &L<String>, path: &Path) -> bool {
    item.v.trim_start_matches('?').starts_with("${PWD}")
        && (path == Path::new("/")
            || host.homes().iter().any(|(h, _, _)| h.starts_with(path))
            || (SYSTEM_DIRS.iter().any(|d| under(path, Path::new(d)))
                && !under(path, Path::new("/var/tmp")))
            || (host.uid == 0 && ROOT_SYSTEM_DIRS.iter().any(|d| under(path, Path::new(d)))))
}

/// More folders a sandbox started by root never gets as its current folder: software, data of
/// services, mounts, and every user's home.
const ROOT_SYSTEM_DIRS: [&str; 7] = ["/opt", "/srv", "/mnt", "/media", "/snap", "/nix", "/home"];

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
