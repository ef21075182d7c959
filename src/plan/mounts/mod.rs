//! The filesystem part of the plan: which mounts, in which order (SPEC §3 "Mount order").
//!
//! The root (tmpfs or `rootfs`), then `/proc`, `/dev`, the private `/tmp`, then every
//! `ro`/`rw`/`dev`/`tmpfs`/`hide` entry sorted so that a parent comes before what lies under it,
//! then the explicit `[[filesystem.mount]]` entries in written order, and last the read-only
//! re-binds that keep jail's policy folders unwritable whatever the profile says (SPEC §2).

use super::{under, Ctx, Error, Namespaces};
use crate::host::Kind;
use crate::profile::{Devices, Filesystem, Home, Located, Profile, L};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

mod cover;
mod create;
mod explicit;
mod follow;
pub mod glob;
mod noexec;
mod paths;
mod pin;
mod protect;
mod steps;
use create::*;
pub use create::{private_home_dir, CreateDir, PRIVATE_HOME_WHY};
use paths::*;
pub use steps::*;

/// A grant from the sorted lists, before ordering.
struct Grant {
    target: PathBuf,
    /// Lists of the same path sort in this order: binds, then tmpfs, then hide.
    rank: u8,
    step: MountStep,
}

/// What `path` (a path inside the sandbox) is in the image folder `root`, walking it one
/// component at a time without following symlinks; a symlink on the way is an error (the
/// sandbox never mounts through one: the hide would fail at launch).
fn image_kind(cx: &Ctx, root: &Path, path: &Path) -> Result<Option<Kind>, String> {
    let mut at = root.to_path_buf();
    let mut inside = PathBuf::from("/");
    let n = path.components().count();
    for (i, c) in path.components().enumerate().skip(1) {
        at.push(c);
        inside.push(c);
        match cx.host.fs.kind(&at) {
            None => return Ok(None),
            Some(Kind::Symlink(to)) => {
                return Err(format!(
                    "hide {}: {} is a symlink in the image (to {}); jail never mounts through one: hide where it leads",
                    path.display(),
                    inside.display(),
                    to.display()
                ))
            }
            Some(k) if i + 1 == n => return Ok(Some(k)),
            Some(Kind::Dir) => {}
            Some(_) => return Ok(None),
        }
    }
    Ok(None)
}

fn has_image_root(steps: &[MountStep]) -> bool {
    matches!(steps.first(), Some(MountStep::RootImage { .. }))
}

/// Compiles the filesystem of profile `app` (its name keys the private home).
pub fn compile(cx: &mut Ctx, p: &Profile, ns: &Namespaces, app: &str) -> Result<FsPlan, Error> {
    let f = &p.filesystem;
    let host = cx.host;
    let mut warnings = vec![];
    let mut create = vec![];
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
                    // Writes land in the throwaway layer (the mounts below keep their own flags).
                    ll_rw.push("/".into());
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
    // Every list's paths, globs expanded (see glob.rs); `explain` shows what each matched.
    let mut globs = vec![];
    let ro_e = glob::entries(cx, "ro", &f.ro, true, false, &mut warnings, &mut globs)?;
    let rw_e = glob::entries(cx, "rw", &f.rw, true, false, &mut warnings, &mut globs)?;
    let dev_e = glob::entries(cx, "dev", &f.dev, true, false, &mut warnings, &mut globs)?;
    let tmpfs_e = glob::entries(
        cx,
        "tmpfs",
        &f.tmpfs,
        false,
        false,
        &mut warnings,
        &mut globs,
    )?;
    let hide_e = glob::entries(cx, "hide", &f.hide, true, true, &mut warnings, &mut globs)?;
    let noexec_e = glob::entries(
        cx,
        "noexec",
        &f.noexec,
        true,
        true,
        &mut warnings,
        &mut globs,
    )?;
    let writable_grants: Vec<PathBuf> = rw_e
        .iter()
        .chain(dev_e.iter())
        .filter(|e| !pwd_refused(host, e.item, &e.path))
        .map(|e| e.path.clone())
        .collect();
    for (list, access) in [
        (&ro_e, Access::Ro),
        (&rw_e, Access::Rw),
        (&dev_e, Access::Dev),
    ] {
        for e in list {
            let (item, optional, path) = (e.item, e.optional, e.path.clone());
            if pwd_refused(host, item, &path) {
                // Never hand out / or the whole home just because jail was started there.
                warnings.push(format!("not granting the current folder {}: it is /, your home or a system folder (cd into a project folder, or use --bind)", path.display()));
                continue;
            }
            // One walk decides everything about this grant (see HostFs::resolve).
            let resolved = match host.fs.resolve(&path) {
                None if creates(item) => {
                    // Absent "+path": the supervisor makes it before the build; bound as is.
                    create.push(plan_create(cx, item, &path, access)?);
                    Some(crate::host::Resolved {
                        first: Kind::Dir,
                        real: Some(path.clone()),
                        kind: Some(Kind::Dir),
                        links: vec![],
                    })
                }
                r => r,
            };
            let Some(res) = resolved else {
                if optional {
                    warnings.push(format!("skipped optional {} (absent)", path.display()));
                    continue;
                }
                return Err(Located::at(
                    format!(
                        "{} does not exist (write \"?{}\" to skip it when absent)",
                        path.display(),
                        item.v.trim_start_matches(['?', '+'])
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
    // home = "private": the profile's own folder at $HOME, under every grant into the home.
    let private = private_home(cx, f, app)?;
    if let Some(c) = &private {
        if host.fs.kind(&c.path).is_none() {
            create.push(c.clone());
        }
        ll_rw.push(host.home.clone());
        grants.push(Grant {
            target: host.home.clone(),
            rank: 0,
            step: MountStep::Bind {
                source: c.path.clone(),
                target: host.home.clone(),
                access: Access::Rw,
                why: PRIVATE_HOME_WHY.into(),
            },
        });
    }
    for e in &tmpfs_e {
        let (item, path) = (e.item, e.path.clone());
        if path == Path::new("/tmp") {
            continue; // the private /tmp is already there
        }
        if private.is_some() && path == host.home {
            continue; // the private home takes the place of an empty one
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
    let mut hide_all: Vec<PathBuf> = vec![];
    for e in &hide_e {
        let (item, mut path) = (e.item, e.path.clone());
        // A symlink is hidden where it leads, as a host program opening it would land there
        // (`/usr/bin/fusermount -> fusermount3`); jail never mounts over a symlink itself. Only
        // where a read-only grant would follow it (`untrusted_link`: no symlink on the way
        // that the caller or a sandbox could have planted); else it is refused when the
        // sandbox is built, as every mount target through a symlink is.
        // The same for a symlink on the way (`/bin/su` where /bin leads to usr/bin): the
        // grants show the real path, and a hide of the written one would cover nothing.
        let res = (!has_image_root(&steps))
            .then(|| trusted_resolve(host, &path, &writable_grants))
            .flatten();
        if let Some(r) = res {
            match r.real {
                Some(real) if real != path => {
                    let what = if matches!(r.first, Kind::Symlink(_)) {
                        "a symlink".to_string()
                    } else {
                        format!("through the symlink {}", r.links[0].at.display())
                    };
                    warnings.push(format!(
                        "hide {}: {what}; hiding where it leads, {}",
                        path.display(),
                        real.display()
                    ));
                    path = real;
                }
                _ => {
                    warnings.push(format!(
                        "hide {}: a symlink that leads nowhere; nothing to hide",
                        path.display()
                    ));
                    continue;
                }
            }
        }
        if path == Path::new("/") {
            return Err(Located::at(
                "hide = [\"/\"] would hide everything; remove grants instead",
                &item.at,
            ));
        }
        // Kept for the mounts after the lists (cover.rs), which may show it.
        hide_all.push(path.clone());
        if !has_image && !visible(&path) {
            continue; // not granted, so already invisible
        }
        // Outside every grant, the path is the image's: judged in the image root, not on
        // the host (where the same path may be missing, or something else).
        let kind = match &steps[0] {
            MountStep::RootImage { source } if !visible(&path) => {
                image_kind(cx, source, &path).map_err(|m| Located::at(m, &item.at))?
            }
            _ => host.fs.kind(&path),
        };
        let dir = match kind {
            None => {
                warnings.push(format!("hide {}: nothing there to hide", path.display()));
                continue;
            }
            Some(Kind::Dir) => true,
            Some(_) => false,
        };
        grants.push(Grant {
            target: path.clone(),
            rank: 3,
            step: MountStep::Hide { target: path, dir },
        });
    }
    // A hide inside a folder that is hidden already has nothing to cover (and could not make
    // its mount point in the empty, read-only mask): dropped, unless a grant under that folder
    // shows the path again.
    let hidden_dirs: HashSet<PathBuf> = grants
        .iter()
        .filter_map(|g| match &g.step {
            MountStep::Hide { target, dir: true } => Some(target.clone()),
            _ => None,
        })
        .collect();
    if !hidden_dirs.is_empty() {
        let shown: HashSet<PathBuf> = grants
            .iter()
            .filter(|g| !matches!(g.step, MountStep::Hide { .. }))
            .map(|g| g.target.clone())
            .collect();
        // Walking up from the hide: a hidden folder met first covers it; a grant met first
        // shows it again (the hide is then needed).
        let covered = |t: &Path| {
            for a in t.ancestors().skip(1) {
                if hidden_dirs.contains(a) {
                    return true;
                }
                if shown.contains(a) {
                    return false;
                }
            }
            false
        };
        grants.retain(|g| match &g.step {
            MountStep::Hide { target, .. } => !covered(target),
            _ => true,
        });
    }
    // A sandbox started by root reads as the host's uid 0: what the system keeps from other
    // users in /etc (TLS keys in /etc/ssl/private, /etc/security/opasswd …) is masked. Which
    // files those are is found when the sandbox is built (the other system folders hold
    // programs, not secrets).
    let etc_private = host.uid == 0;
    if etc_private {
        let etc_dir = Path::new("/etc");
        let mut etc: Vec<PathBuf> = grants
            .iter()
            .filter_map(|g| match &g.step {
                MountStep::Bind { source, target, .. }
                    if source == target && under(source, etc_dir) =>
                {
                    Some(source.clone())
                }
                // A grant holding /etc (`ro = ["/"]`) shows it all.
                MountStep::Bind { source, target, .. }
                    if source == target && under(etc_dir, source) =>
                {
                    Some(etc_dir.to_path_buf())
                }
                _ => None,
            })
            .collect();
        etc.sort();
        etc.dedup();
        for t in etc {
            grants.push(Grant {
                target: t.clone(),
                rank: 3,
                step: MountStep::MaskPrivate { target: t },
            });
        }
    }
    // `[process] machine_id = "random"`: a fresh id over the host's, where the sandbox shows one.
    let random_id =
        p.process.machine_id.as_ref().map(|m| m.v) == Some(crate::profile::MachineId::Random);
    if random_id {
        for t in ["/etc/machine-id", "/var/lib/dbus/machine-id"] {
            let t = PathBuf::from(t);
            let bind_above = grants
                .iter()
                .any(|g| matches!(g.step, MountStep::Bind { .. }) && under(&t, &g.target));
            let place = if has_image && !bind_above {
                // The image's own /etc (the throwaway layer takes a missing file), and dbus'
                // file where the image has one (a symlink leads to the fresh /etc one).
                t.starts_with("/etc")
                    || matches!(&steps[0], MountStep::RootImage { source }
                        if matches!(image_kind(cx, source, &t), Ok(Some(Kind::File))))
            } else if bind_above {
                // A symlink (dbus' to /etc/machine-id) leads to the fresh one, or nowhere.
                host.fs.kind(&t) == Some(Kind::File)
            } else {
                // Nothing shows /etc: the id is made in the sandbox's own root.
                t.starts_with("/etc")
            };
            if place {
                grants.push(Grant {
                    target: t.clone(),
                    rank: 3,
                    step: MountStep::MachineId { target: t },
                });
            }
        }
    }
    // Parent before child; the same path keeps bind < tmpfs < hide; else the written order.
    grants.sort_by(|a, b| a.target.cmp(&b.target).then(a.rank.cmp(&b.rank)));
    steps.extend(grants.iter().map(|g| g.step.clone()));

    // 4. Explicit mounts in written order (with where each was written, for errors below).
    let explicit_from = steps.len();
    let explicit_at = explicit::explicit(
        cx,
        f,
        tmpfs_size,
        proc_writes,
        &writable_grants,
        &mut steps,
        &mut warnings,
        &mut ll_ro,
        &mut ll_rw,
        &mut ll_dev,
    )?;
    // 5. jail's policy folders stay read-only whatever the profile says (SPEC §2).
    let commit = f.repositories.as_ref().map(|r| r.v) == Some(crate::profile::Repositories::Commit);
    let (ll_guarded, git_watch) = protect::protect(
        cx,
        commit,
        explicit_from,
        &explicit_at,
        &mut steps,
        &mut warnings,
        &mut ll_rw,
    )?;
    // 5b. What the lists hide or mask stays so under the mounts after them.
    let masks = cover::Masks {
        hides: &hide_all,
        etc_private,
        machine_id: random_id,
    };
    cover::cover(host, explicit_from, &masks, &mut steps);
    // 6. `noexec` last: each covers what is mounted at and below its path by then.
    let (noexec_steps, ll_noexec) = noexec::compile(
        host,
        &noexec_e,
        &steps,
        explicit_from,
        &writable_grants,
        &create.iter().map(|c| c.path.clone()).collect::<Vec<_>>(),
        &mut warnings,
    );
    steps.extend(noexec_steps);
    // 7. The folders between a writable grant and what protects a path in it stay in place.
    pin::pin(host, &mut steps);

    // The caller's folder, else the home, else /: whichever is visible inside. A fresh tmpfs
    // shows only its own root (what lies below it on the host is not there).
    let default_cwd = [host.cwd.clone(), host.home.clone()]
        .into_iter()
        // In a private home only the home itself is known to exist.
        .filter(|c| private.is_none() || !under(c, &host.home) || c == &host.home)
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
        landlock_noexec: ll_noexec,
        globs,
        create,
        git_watch,
        warnings,
    })
}
