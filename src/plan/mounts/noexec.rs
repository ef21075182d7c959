//! `[filesystem] noexec = [...]`: paths where nothing may be executed. Each becomes a
//! [`MountStep::Noexec`] after every other mount (a recursive clone of what is shown there,
//! flagged `MOUNT_ATTR_NOEXEC`, put over it), and its Landlock rules and those beneath lose the
//! execute right.
//!
//! A path is taken where the sandbox shows it: a grant or a folder in one, a `tmpfs` entry, the
//! private `/tmp`, `/dev` or `/dev/shm`, anything of an image root. A path nothing shows, one
//! inside a fresh tmpfs (empty when the sandbox starts) or a symlink is left out with a note.

use super::glob::Entry;
use super::{under, Grant, MountStep};
use crate::host::{Host, Kind};
use std::path::{Path, PathBuf};

/// The noexec steps (sorted, nested ones dropped) and the paths Landlock takes execute from.
pub(super) fn compile(
    host: &Host,
    entries: &[Entry],
    grants: &[Grant],
    image: Option<&Path>,
    warnings: &mut Vec<String>,
) -> (Vec<MountStep>, Vec<PathBuf>) {
    let mut paths: Vec<PathBuf> = entries.iter().map(|e| e.path.clone()).collect();
    paths.sort();
    paths.dedup();
    let mut steps = vec![];
    let mut ll = vec![];
    // The fresh tmpfs folders of the sandbox.
    let mut fresh: Vec<&Path> = vec![Path::new("/tmp"), Path::new("/dev/shm"), Path::new("/dev")];
    fresh.extend(grants.iter().filter_map(|g| match &g.step {
        MountStep::Tmpfs { target, .. } => Some(target.as_path()),
        _ => None,
    }));
    for p in paths {
        if ll.iter().any(|q: &PathBuf| under(&p, q)) {
            continue; // a noexec folder above already covers it
        }
        let shown = p.display();
        // The nearest mount at or above: a bind shows the host's files, a tmpfs nothing.
        let bind_above = grants
            .iter()
            .filter(|g| matches!(g.step, MountStep::Bind { .. }) && under(&p, &g.target))
            .map(|g| g.target.as_path())
            .max_by_key(|t| t.as_os_str().len());
        let fresh_above = fresh
            .iter()
            .copied()
            .filter(|t| under(&p, t))
            .max_by_key(|t| t.as_os_str().len());
        let dir = match (fresh_above, bind_above) {
            (Some(t), b) if b.is_none_or(|b| t.as_os_str().len() > b.as_os_str().len()) => {
                if t != p {
                    warnings.push(format!("noexec {shown}: inside the fresh tmpfs {}, which is empty when the sandbox starts (write noexec = [\"{}\"])", t.display(), t.display()));
                    continue;
                }
                true
            }
            (_, Some(_)) => match host.fs.kind(&p) {
                Some(Kind::Dir) => true,
                Some(Kind::Symlink(_)) => {
                    warnings.push(format!(
                        "noexec {shown}: a symlink, left out (give the path it leads to)"
                    ));
                    continue;
                }
                Some(_) => false,
                None => {
                    warnings.push(format!("noexec {shown}: nothing there"));
                    continue;
                }
            },
            _ => match image.map(|i| i.join(p.strip_prefix("/").unwrap_or(&p))) {
                Some(q) => match host.fs.kind(&q) {
                    Some(Kind::Dir) => true,
                    Some(Kind::File) | Some(Kind::Device) | Some(Kind::Special) => false,
                    _ => {
                        warnings.push(format!("noexec {shown}: not in the image"));
                        continue;
                    }
                },
                None => {
                    warnings.push(format!(
                        "noexec {shown}: not granted, so nothing there is executable anyway"
                    ));
                    continue;
                }
            },
        };
        ll.push(p.clone());
        steps.push(MountStep::Noexec { target: p, dir });
    }
    (steps, ll)
}
