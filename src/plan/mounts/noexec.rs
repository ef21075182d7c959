//! `[filesystem] noexec = [...]`: paths where nothing may be executed. Each becomes a
//! [`MountStep::Noexec`] after every other mount (a recursive clone of what is shown there,
//! flagged `MOUNT_ATTR_NOEXEC`, put over it), and its Landlock rules and those beneath lose the
//! execute right.
//!
//! A path is taken where the sandbox shows it: a grant or a folder in one, a `tmpfs` entry, the
//! private `/tmp`, `/dev` or `/dev/shm`, anything of an image root. A path nothing shows, one
//! inside a fresh tmpfs (empty when the sandbox starts) or a symlink is left out with a note.

use super::cover::{at_or_under, last_at, shows};
use super::glob::Entry;
use super::paths::{rebase, trusted_resolve};
use super::{under, MountStep};
use crate::host::{Host, Kind};
use std::path::{Path, PathBuf};

/// The noexec steps (sorted, nested ones dropped) and the paths Landlock takes execute from,
/// decided against every mount before them (`steps`); the mounts from `late_from` on (the
/// explicit ones and jail's re-binds) may show a listed host path at a second place, which is
/// covered too.
pub(super) fn compile(
    host: &Host,
    entries: &[Entry],
    steps: &[MountStep],
    late_from: usize,
    writable: &[PathBuf],
    created: &[PathBuf],
    warnings: &mut Vec<String>,
) -> (Vec<MountStep>, Vec<PathBuf>) {
    let image = match steps.first() {
        Some(MountStep::RootImage { source }) => Some(source.as_path()),
        _ => None,
    };
    let mut listed: Vec<PathBuf> = vec![];
    for e in entries {
        let mut p = e.path.clone();
        // A symlink on the way (`/bin/x` where /bin leads to usr/bin) is resolved where a
        // grant would follow it: the grants show the real path.
        if image.is_none() {
            if let Some(real) = trusted_resolve(host, &p, writable)
                .filter(|r| !matches!(r.first, Kind::Symlink(_)))
                .and_then(|r| r.real)
            {
                p = real;
            }
        }
        listed.push(p);
    }
    listed.sort();
    listed.dedup();
    let mut paths = listed.clone();
    for s in &steps[late_from..] {
        for (source, target) in shows(s) {
            paths.extend(at_or_under(&listed, source).map(|p| rebase(p, source, target)));
        }
    }
    paths.sort();
    paths.dedup();
    let mut out = vec![];
    let mut ll = vec![];
    // The fresh tmpfs folders of the sandbox, always there.
    let fixed = [Path::new("/tmp"), Path::new("/dev/shm"), Path::new("/dev")];
    let last = last_at(steps);
    for p in paths {
        if ll.iter().any(|q: &PathBuf| under(&p, q)) {
            continue; // a noexec folder above already covers it
        }
        let shown = p.display();
        // The nearest mount at or above (the later one of two at the same place): a bind
        // shows the host's files, a tmpfs nothing.
        let nearest = p.ancestors().find_map(|a| {
            let i = *last.get(a)?;
            let s = &steps[i];
            (matches!(
                s,
                MountStep::Bind { .. } | MountStep::Overlay { .. } | MountStep::Tmpfs { .. }
            ) || fixed.contains(&a))
            .then_some(s)
        });
        // A folder jail makes before the sandbox is built (a "+path" grant, the private
        // home) is a folder, whether or not this is its first run.
        let host_kind = |q: &Path| match host
            .fs
            .kind(q)
            .or_else(|| created.iter().any(|c| c == q).then_some(Kind::Dir))
        {
            Some(Kind::Dir) => Ok(true),
            Some(Kind::Symlink(_)) => Err(format!(
                "noexec {shown}: a symlink, left out (give the path it leads to)"
            )),
            Some(_) => Ok(false),
            None => Err(format!("noexec {shown}: nothing there")),
        };
        let dir = match nearest {
            Some(MountStep::Bind { source, target, .. }) => host_kind(&rebase(&p, target, source)),
            Some(MountStep::Overlay { lower, target, .. }) => {
                let q = lower
                    .iter()
                    .map(|l| rebase(&p, target, l))
                    .find(|q| host.fs.kind(q).is_some())
                    .unwrap_or_else(|| p.clone());
                host_kind(&q)
            }
            // /dev/shm is a tmpfs of its own in /dev.
            Some(MountStep::Dev { .. }) if p == Path::new("/dev/shm") => Ok(true),
            Some(s) if s.target() != p => {
                let t = s.target().display();
                Err(format!("noexec {shown}: inside the fresh tmpfs {t}, which is empty when the sandbox starts (write noexec = [\"{t}\"])"))
            }
            Some(_) => Ok(true),
            None => match image.map(|i| i.join(p.strip_prefix("/").unwrap_or(&p))) {
                Some(q) => match host.fs.kind(&q) {
                    Some(Kind::Dir) => Ok(true),
                    Some(Kind::File) | Some(Kind::Device) | Some(Kind::Special) => Ok(false),
                    _ => Err(format!("noexec {shown}: not in the image")),
                },
                None => Err(format!(
                    "noexec {shown}: not granted, so nothing there is executable anyway"
                )),
            },
        };
        let dir = match dir {
            Ok(d) => d,
            Err(w) => {
                warnings.push(w);
                continue;
            }
        };
        ll.push(p.clone());
        out.push(MountStep::Noexec { target: p, dir });
    }
    (out, ll)
}
