//! Where the policy paths really lead. A host program opening `~/.bash_aliases` follows
//! `~/.bash_aliases -> dotfiles/bash_aliases`, and autostart follows `~/.config ->
//! dotfiles/config` (GNU stow): with `~/dotfiles` granted writable, a sandbox would plant there
//! what the host later runs. So every policy file and folder (and the guarded homes, config
//! and data folders) is followed as the host program would ([`crate::host::HostFs::follow`]);
//! what it leads to is protected like the path itself, and the symlinks on the way are kept
//! from being replaced.

use super::{under, Error};
use crate::host::{Host, Kind};
use crate::profile::Located;
use std::path::{Path, PathBuf};

/// A path to protect: where it is (every symlink resolved), whether it is a folder, and the
/// policy path it is the target of (None: the policy path itself, no symlink on the way).
pub(super) type Protected = (PathBuf, bool, Option<PathBuf>);

pub(super) struct Policy {
    /// Folders that must not gain new entries where a writable grant holds them: the host's
    /// guarded folders, where they lead, the folders holding a symlink on the way to a policy
    /// path, and those above a target deep in a grant (which could be renamed and made anew).
    pub guarded_dirs: Vec<PathBuf>,
    /// Configuration and data folders moved into a writable grant, bound read-only as a whole,
    /// with the path they were named by.
    pub whole: Vec<(PathBuf, PathBuf)>,
    /// What is bound read-only or held by a placeholder.
    pub protected: Vec<Protected>,
    /// The policy paths as named where they pass through a symlink (for the checks of grants
    /// and overlay layers inside policy folders).
    pub named: Vec<Protected>,
}

/// Follows every policy path; `writable` is protect.rs's list of writable places.
pub(super) fn follow_policy(
    host: &Host,
    writable: &[(PathBuf, PathBuf, bool)],
    search: &[PathBuf],
) -> Result<Policy, Error> {
    let grant_of = |p: &Path| {
        writable
            .iter()
            .find(|(s, _, covered)| !*covered && under(p, s))
            .map(|(s, _, _)| s.clone())
    };
    // The walk of `p`; None when it meets no symlink (or breaks where no sandbox can reach).
    let follow = |p: &Path| -> Result<Option<(PathBuf, Vec<PathBuf>)>, Error> {
        match host.fs.follow(p) {
            Ok(f) if f.links.is_empty() => Ok(None),
            Ok(f) => Ok(Some((f.real, f.links))),
            Err(f) => {
                let reached = std::iter::once(&f.real)
                    .chain(&f.links)
                    .find_map(|q| grant_of(q));
                match reached {
                    Some(s) => Err(Located::new(
                        format!(
                            "{} cannot be followed past {} (a symlink loop, or a file where a folder should be) inside the writable grant {}: jail cannot protect where it leads; fix or remove that symlink, or grant a folder that does not hold it",
                            p.display(),
                            f.real.display(),
                            s.display()
                        ),
                        None,
                    )),
                    None => Ok(None),
                }
            }
        }
    };
    let mut guarded_dirs: Vec<PathBuf> = vec![];
    let mut whole: Vec<(PathBuf, PathBuf)> = vec![];
    let mut links: Vec<PathBuf> = vec![];
    for (h, c, d) in host.homes() {
        let config = h.join(".config");
        let data = h.join(".local/share");
        for (p, usual) in [(h.clone(), None), (c, Some(config)), (d, Some(data))] {
            if p == Path::new("/") {
                continue;
            }
            let (real, l) = follow(&p)?.unwrap_or_else(|| (p.clone(), vec![]));
            let moved = !l.is_empty() || usual.as_ref().is_some_and(|u| *u != p);
            links.extend(l);
            // A configuration or data folder moved into a writable grant (`~/.config ->
            // dotfiles/config`, `XDG_CONFIG_HOME=~/dotfiles/config`): Landlock cannot guard
            // it below the home's tmpfs, so it is read-only as a whole (and, a mount point,
            // cannot be renamed away and made anew).
            if usual.is_some() && moved && grant_of(&real).is_some() {
                if !whole.iter().any(|(w, _)| *w == real) {
                    whole.push((real, p));
                }
                continue;
            }
            for q in [p, real] {
                if !guarded_dirs.contains(&q) {
                    guarded_dirs.push(q);
                }
            }
        }
    }
    let mut protected: Vec<Protected> = vec![];
    let mut named: Vec<Protected> = vec![];
    let all = host
        .policy_dirs(search)
        .into_iter()
        .map(|d| (d, true))
        .chain(host.policy_files().into_iter().map(|f| (f, false)));
    let mut deep: Vec<PathBuf> = vec![];
    for (p, is_dir) in all {
        let Some((real, l)) = follow(&p)? else {
            if whole.iter().any(|(w, _)| under(&p, w)) {
                continue;
            }
            protected.push((p, is_dir, None));
            continue;
        };
        links.extend(l);
        if whole.iter().any(|(w, _)| under(&real, w)) {
            named.push((p, is_dir, None));
            continue;
        }
        if let Some(s) = grant_of(&real) {
            // The place the protection holds (the target, or its first missing folder): a
            // folder between it and the grant could be renamed away and made anew, unless a
            // guarded folder lies between (nothing new at its top level).
            let mut at = real.clone();
            while let Some(parent) = at.parent() {
                if host.fs.kind(parent).is_some() || !under(parent, &s) {
                    break;
                }
                at = parent.to_path_buf();
            }
            if let Some(parent) = at.parent().filter(|q| *q != s && under(q, &s)) {
                let held = guarded_dirs
                    .iter()
                    .any(|g| under(g, &s) && under(parent, g));
                if !held {
                    deep.push(parent.to_path_buf());
                }
            }
        }
        named.push((p.clone(), is_dir, None));
        protected.push((real, is_dir, Some(p)));
    }
    // A symlink on the way inside a writable grant must not be replaced by a folder or file of
    // the sandbox's: the folder holding it gains no new entries.
    for l in &links {
        if let Some(parent) = l
            .parent()
            .filter(|q| grant_of(l).is_some_and(|s| under(q, &s)))
        {
            deep.push(parent.to_path_buf());
        }
    }
    for d in deep {
        if host.fs.kind(&d) == Some(Kind::Dir) && !guarded_dirs.contains(&d) {
            guarded_dirs.push(d);
        }
    }
    // One protection per place, the policy path's own first (`(target of …)` only where a
    // symlink leads there alone).
    let mut seen = std::collections::HashSet::new();
    protected.sort_by_key(|(_, _, o)| o.is_some());
    protected.retain(|(p, _, _)| seen.insert(p.clone()));
    Ok(Policy {
        guarded_dirs,
        whole,
        protected,
        named,
    })
}
