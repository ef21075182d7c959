//! Step 5b of the filesystem plan: what the sorted lists hide or mask stays hidden under the
//! mounts that come after them — the explicit `[[filesystem.mount]]` entries (`--bind SRC:DST`
//! among them) and jail's own read-only re-binds. A later mount at or above a place replaces
//! what the sandbox sees there, so each protection is put again over what it shows:
//!
//! - a `hide` of host path P, where a later bind of a folder holding P shows it (`--ro-bind
//!   ~:/mnt/home` shows `~/.ssh` at `/mnt/home/.ssh`), and a `hide` of P where a later mount
//!   at or above P shows something there again;
//! - the masks of the host `/proc` entries ([`PROC_MASKED`]) under a later bind of the host's
//!   procfs;
//! - for a sandbox started by root, the files in `/etc` others may not read, under a later
//!   bind of `/etc`, a folder in it or one holding it (`--ro-bind /etc:/etc` as root);
//! - `[process] machine_id = "random"` over every machine-id a later bind shows.
//!
//! A mount whose source lies strictly inside a hidden folder is the profile's own choice (as a
//! grant inside a hidden folder is): it is shown.

use super::paths::rebase;
use super::steps::*;
use super::under;
use crate::host::{Host, Kind};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Where a later mount shows host files: its target and the host folder (or file) it shows
/// there. Overlays show each lower layer.
pub(super) fn shows(s: &MountStep) -> Vec<(&Path, &Path)> {
    match s {
        MountStep::Bind { source, target, .. } => vec![(source.as_path(), target.as_path())],
        MountStep::Overlay { lower, target, .. } => lower
            .iter()
            .map(|l| (l.as_path(), target.as_path()))
            .collect(),
        _ => vec![],
    }
}

/// The paths of `sorted` (sorted, as `Path` orders: component by component) at or under
/// `base`: one contiguous run, found by a binary search.
pub(super) fn at_or_under<'a>(
    sorted: &'a [PathBuf],
    base: &'a Path,
) -> impl Iterator<Item = &'a PathBuf> + 'a {
    let from = sorted.partition_point(|p| p.as_path() < base);
    sorted[from..].iter().take_while(move |p| under(p, base))
}

/// Where each mount of `steps` is last made (a later mount at a place replaces what an
/// earlier one showed there).
pub(super) fn last_at(steps: &[MountStep]) -> HashMap<&Path, usize> {
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.target(), i))
        .collect()
}

/// What must be masked again, found by the plan's earlier steps.
pub(super) struct Masks<'a> {
    /// Every `hide` path of the lists (symlinks resolved), shown by a grant or not.
    pub hides: &'a [PathBuf],
    /// Root's private files in `/etc` are masked.
    pub etc_private: bool,
    /// `machine_id = "random"`.
    pub machine_id: bool,
}

/// Appends the masks the mounts from `late_from` on call for.
pub(super) fn cover(host: &Host, late_from: usize, m: &Masks, steps: &mut Vec<MountStep>) {
    let proc_masked: Vec<PathBuf> = PROC_MASKED
        .iter()
        .map(|n| Path::new("/proc").join(n))
        .collect();
    let mut hides: Vec<PathBuf> = m.hides.to_vec();
    hides.sort();
    hides.dedup();
    let ids = [
        PathBuf::from("/etc/machine-id"),
        PathBuf::from("/var/lib/dbus/machine-id"),
    ];
    let etc = Path::new("/etc");
    let last = last_at(steps);
    let mut new: Vec<MountStep> = vec![];
    let mut seen: HashSet<(u8, PathBuf)> = HashSet::new();
    let hide = |host_path: &Path, at: PathBuf| match host.fs.kind(host_path) {
        Some(Kind::Dir) => Some(MountStep::Hide {
            target: at,
            dir: true,
        }),
        // A symlink is never mounted over (the hide was refused or resolved before).
        None | Some(Kind::Symlink(_)) => None,
        Some(_) => Some(MountStep::Hide {
            target: at,
            dir: false,
        }),
    };
    for (i, s) in steps.iter().enumerate().skip(late_from) {
        // A mount after this one at or below its target (and above `q`) replaces what it
        // shows at `q`.
        let replaced = |q: &Path, target: &Path| {
            q.ancestors()
                .take_while(|a| under(a, target))
                .any(|a| last.get(a).is_some_and(|&j| j > i))
        };
        let mut push = |s: MountStep, target: &Path| {
            let key = match &s {
                MountStep::Hide { .. } => 0,
                MountStep::MaskPrivate { .. } => 1,
                _ => 2,
            };
            if !replaced(s.target(), target) && seen.insert((key, s.target().to_path_buf())) {
                new.push(s);
            }
        };
        for (source, target) in shows(s) {
            // The host file, wherever this mount shows it.
            for p in
                at_or_under(&hides, source).chain(proc_masked.iter().filter(|p| under(p, source)))
            {
                if let Some(h) = hide(p, rebase(p, source, target)) {
                    push(h, target);
                }
            }
            // The sandbox path, whatever this mount now shows there.
            for p in at_or_under(&hides, target) {
                if let Some(h) = hide(&rebase(p, target, source), p.clone()) {
                    push(h, target);
                }
            }
            if m.etc_private {
                if under(source, etc) {
                    push(
                        MountStep::MaskPrivate {
                            target: target.to_path_buf(),
                        },
                        target,
                    );
                } else if under(etc, source) && host.fs.kind(etc) == Some(Kind::Dir) {
                    push(
                        MountStep::MaskPrivate {
                            target: rebase(etc, source, target),
                        },
                        target,
                    );
                }
            }
            if m.machine_id {
                for id in &ids {
                    if under(id, source) && host.fs.kind(id) == Some(Kind::File) {
                        push(
                            MountStep::MachineId {
                                target: rebase(id, source, target),
                            },
                            target,
                        );
                    }
                    if under(id, target)
                        && host.fs.kind(&rebase(id, target, source)) == Some(Kind::File)
                    {
                        push(MountStep::MachineId { target: id.clone() }, target);
                    }
                }
            }
        }
    }
    // A mask inside a folder masked here has nothing left to cover (and could not make its
    // mount point in the empty, read-only mask).
    let dirs: HashSet<PathBuf> = new
        .iter()
        .filter_map(|s| match s {
            MountStep::Hide { target, dir: true } => Some(target.clone()),
            _ => None,
        })
        .collect();
    if !dirs.is_empty() {
        new.retain(|s| !s.target().ancestors().skip(1).any(|a| dirs.contains(a)));
    }
    // Parent before child, as the lists are.
    new.sort_by(|a, b| a.target().cmp(b.target()));
    steps.extend(new);
}
