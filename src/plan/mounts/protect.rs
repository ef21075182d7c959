//! Step 5 of the filesystem plan: what keeps jail's policy folders and the homes' start-up files
//! unwritable whatever the profile says (SPEC §2), appended after every other mount.

use super::paths::*;
use super::steps::*;
use super::{under, Ctx, Error};
use crate::host::Kind;
use crate::profile::{Located, Origin};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// What steers git in a repository's `.git` (read-only under `repositories = "commit"`).
const GIT_STEERS: &[&str] = &[
    "config",
    "config.worktree",
    "hooks",
    "info",
    "commondir",
    "modules",
    "worktrees",
    "objects/info",
];

/// Whether a writable grant inside a `.git` may stay writable under `repositories =
/// "commit"`: the `.git` itself or a folder of it that does not steer git (`objects`, `refs`);
/// never one of [`GIT_STEERS`] or a folder in one.
fn git_writable(source: &Path) -> bool {
    let comps: Vec<_> = source.components().collect();
    let Some(i) = comps.iter().rposition(|c| c.as_os_str() == ".git") else {
        return true;
    };
    let rest: PathBuf = comps[i + 1..].iter().collect();
    !GIT_STEERS.iter().any(|m| rest.starts_with(m))
}

/// Appends the protections to `steps`; returns the guarded folders for Landlock and the
/// `.git` folders left writable. `commit`: `[filesystem] repositories = "commit"`.
#[allow(clippy::too_many_arguments)]
pub(super) fn protect(
    cx: &Ctx,
    commit: bool,
    explicit_from: usize,
    explicit_at: &[Origin],
    steps: &mut Vec<MountStep>,
    warnings: &mut Vec<String>,
    ll_rw: &mut Vec<PathBuf>,
) -> Result<(Vec<PathBuf>, Vec<PathBuf>), Error> {
    let host = cx.host;
    let mut git_watch: Vec<PathBuf> = vec![];
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
    // Where each policy path really leads: a host program follows `~/.bash_aliases ->
    // dotfiles/bash_aliases` or `~/.config -> dotfiles/config` (GNU stow), so what it leads
    // to is protected as well (see follow.rs); computed once, before the guards below.
    let search = crate::profile::SearchPath::from_env(&host.config_home).dirs;
    let f = super::follow::follow_policy(host, &writable, &search)?;
    let guarded_dirs = f.guarded_dirs;
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
    let protected = f.protected;
    let mut protections = vec![];
    let mut protected_targets: HashSet<PathBuf> = HashSet::new();
    // The private home lies in jail's own data folder (`homes/APP`), which holds no policy of
    // its own: it stays writable (its siblings stay read-only for every other sandbox).
    let private_home = steps.iter().find_map(|s| match s {
        MountStep::Bind { source, why, .. } if why == super::PRIVATE_HOME_WHY => Some(source),
        _ => None,
    });
    // A configuration or data folder moved into a writable grant: read-only as a whole, first
    // (parent before child).
    for (w, named) in &f.whole {
        for (source, target, _) in writable.iter().filter(|(s, _, c)| !*c && under(w, s)) {
            let t = rebase(w, source, target);
            if protected_targets.insert(t.clone()) {
                protections.push(MountStep::Bind {
                    source: w.clone(),
                    target: t,
                    access: Access::Ro,
                    why: if named == w {
                        "jail policy: the configuration or data folder (XDG_CONFIG_HOME, XDG_DATA_HOME) inside a writable grant".into()
                    } else {
                        format!("jail policy: target of {}", named.display())
                    },
                });
            }
        }
    }
    // A writable grant inside a policy folder (`~/.config/systemd/user`, `~/.ssh/config.d`,
    // a repository's `.git/hooks`) is that folder's content: it is bound read-only as a whole.
    for (source, target, _) in &writable {
        if Some(source) == private_home && !protected.iter().any(|(pd, _, _)| under(pd, source)) {
            continue;
        }
        let inside_policy = protected
            .iter()
            .chain(&f.named)
            .any(|(pd, is_dir, _)| *is_dir && source != pd && under(source, pd))
            || (source.components().any(|c| c.as_os_str() == ".git")
                && !(commit && git_writable(source)));
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
    for (s, at) in steps[explicit_from..].iter().zip(explicit_at) {
        if let MountStep::Overlay {
            upper: Some(upper), ..
        } = s
        {
            let holds = guarded_dirs.iter().any(|g| under(g, upper))
                || protected
                    .iter()
                    .chain(&f.named)
                    .any(|(pd, _, _)| under(upper, pd) || under(pd, upper));
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
    for (s, at) in steps[explicit_from..].iter().zip(explicit_at) {
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
    // With `repositories = "commit"`, git may commit there: `.git` stays writable but in place
    // (bound over itself: a mount point cannot be renamed or removed, so no other `.git` can
    // take its place), and what steers git (its configuration, hooks, `info`, `commondir`,
    // `modules`, `worktrees`, `objects/info/alternates`) is bound read-only on top; a missing
    // `hooks` gets an empty read-only placeholder.
    for (source, target, _) in &writable {
        // The grant's own repository, or the grant is a `.git` (as `jail learn` writes it).
        let (git, at) = if source.file_name().is_some_and(|n| n == ".git") {
            (source.clone(), target.clone())
        } else {
            (source.join(".git"), target.join(".git"))
        };
        let kind = host.fs.kind(&git);
        if commit && kind == Some(Kind::Dir) {
            if !protected_targets.insert(at.clone()) {
                continue;
            }
            git_watch.push(git.clone());
            protections.push(MountStep::Bind {
                source: git.clone(),
                target: at.clone(),
                access: Access::Rw,
                why: "jail policy: the repository stays in place (repositories = \"commit\")"
                    .into(),
            });
            for m in GIT_STEERS {
                let p = git.join(m);
                let step = match host.fs.kind(&p) {
                    Some(Kind::Dir) | Some(Kind::File) => MountStep::Bind {
                        source: p.clone(),
                        target: at.join(m),
                        access: Access::Ro,
                        why: "jail policy: what steers git, never writable inside".into(),
                    },
                    Some(Kind::Symlink(_)) => {
                        return Err(Located::new(
                            format!("{} is a symlink inside a writable repository; jail refuses to run rather than leave what steers git writable", p.display()),
                            None,
                        ))
                    }
                    None if *m == "hooks" => MountStep::Placeholder {
                        target: at.join(m),
                        dir: true,
                    },
                    _ => continue,
                };
                if protected_targets.insert(step.target().to_path_buf()) {
                    protections.push(step);
                }
            }
            continue;
        }
        if matches!(kind, Some(Kind::Dir) | Some(Kind::File)) {
            let step = MountStep::Bind {
                source: git.clone(),
                target: at,
                access: Access::Ro,
                why: "jail policy: never writable inside".into(),
            };
            if protected_targets.insert(step.target().to_path_buf()) {
                protections.push(step);
            }
        }
    }
    for (pd, is_dir, origin) in protected {
        for (source, target, _) in &writable {
            if !under(&pd, source) {
                continue;
            }
            let inside = |p: &Path| rebase(p, source, target);
            let why = match &origin {
                Some(o) => format!("jail policy: target of {}", o.display()),
                None => "jail policy: never writable inside".into(),
            };
            let step = match host.fs.kind(&pd) {
                Some(Kind::Dir) | Some(Kind::File) => MountStep::Bind {
                    source: pd.clone(),
                    target: inside(&pd),
                    access: Access::Ro,
                    why,
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
    Ok((ll_guarded, git_watch))
}
