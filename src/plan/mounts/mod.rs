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

mod paths;
mod steps;
use paths::*;
pub use steps::*;

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
