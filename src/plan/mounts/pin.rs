//! Step 7 of the filesystem plan: a protection inside a writable grant holds only while the
//! folders above it stay where they are. A mount is attached to its place, and the kernel lets
//! a sandbox rename a folder that merely *holds* a mount point: renaming `~/dotfiles/bash`
//! carries the read-only bind of `.bash_aliases` away, and a new `bash/.bash_aliases` made in
//! its place is what host programs read next. So every existing folder between a writable
//! grant and a protected path (a read-only bind, `hide`, `noexec`, a placeholder, root's
//! `/etc` mask, a machine id) is bound over itself, right after the grant: a mount point
//! cannot be renamed, replaced or removed (EBUSY), and it shows the same folder.

use super::paths::rebase;
use super::steps::*;
use crate::host::{Host, Kind};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

pub(super) const PIN_WHY: &str =
    "jail policy: a folder above a protected path, pinned in place (a mount point cannot be renamed)";

/// Inserts the pinning binds into `steps`.
pub(super) fn pin(host: &Host, steps: &mut Vec<MountStep>) {
    let last = super::cover::last_at(steps);
    let mut pinned: HashSet<PathBuf> = HashSet::new();
    // Index of the writable grant → the pins that follow it (parent first).
    let mut after: BTreeMap<usize, Vec<MountStep>> = BTreeMap::new();
    for (j, s) in steps.iter().enumerate() {
        let protective = matches!(
            s,
            MountStep::Bind {
                access: Access::Ro,
                ..
            } | MountStep::Hide { .. }
                | MountStep::Noexec { .. }
                | MountStep::Placeholder { .. }
                | MountStep::MaskPrivate { .. }
                | MountStep::MachineId { .. }
        );
        if !protective {
            continue;
        }
        // Walking up from the path: the folders that are no mount point, until the mount
        // that shows them; only a writable bind's folders can be renamed on the host.
        let mut between: Vec<&Path> = vec![];
        let mut grant = None;
        for a in s.target().ancestors().skip(1) {
            match last.get(a) {
                Some(&k) if k < j => {
                    if let MountStep::Bind {
                        source,
                        target,
                        access: access @ (Access::Rw | Access::Dev),
                        ..
                    } = &steps[k]
                    {
                        grant = Some((k, source.clone(), target.clone(), *access));
                    }
                    break;
                }
                _ => between.push(a),
            }
        }
        let Some((k, source, target, access)) = grant else {
            continue;
        };
        for d in between.into_iter().rev() {
            let host_dir = rebase(d, &target, &source);
            if !pinned.contains(d) && host.fs.kind(&host_dir) == Some(Kind::Dir) {
                pinned.insert(d.to_path_buf());
                after.entry(k).or_default().push(MountStep::Bind {
                    source: host_dir,
                    target: d.to_path_buf(),
                    access,
                    why: PIN_WHY.into(),
                });
            }
        }
    }
    if after.is_empty() {
        return;
    }
    let old = std::mem::take(steps);
    for (i, s) in old.into_iter().enumerate() {
        steps.push(s);
        if let Some(mut pins) = after.remove(&i) {
            pins.sort_by(|a, b| a.target().cmp(b.target()));
            steps.extend(pins);
        }
    }
}
