//! Step 4 of the filesystem plan: the explicit `[[filesystem.mount]]` entries, in written order.

use super::paths::*;
use super::steps::*;
use super::{Ctx, Error};
use crate::host::Kind;
use crate::plan::under;
use crate::profile::{Filesystem, Located, MountType, Origin, L};
use std::path::{Path, PathBuf};

/// Appends the explicit mounts to `steps`, and returns where each was written (for the
/// protections' errors).
#[allow(clippy::too_many_arguments)]
pub(super) fn explicit(
    cx: &Ctx,
    f: &Filesystem,
    tmpfs_size: u64,
    proc_writes: ProcWrites,
    writable_grants: &[PathBuf],
    steps: &mut Vec<MountStep>,
    warnings: &mut Vec<String>,
    ll_ro: &mut Vec<PathBuf>,
    ll_rw: &mut Vec<PathBuf>,
    ll_dev: &mut Vec<PathBuf>,
) -> Result<Vec<Origin>, Error> {
    let host = cx.host;
    let mut explicit_at: Vec<Origin> = vec![];
    // 4. Explicit mounts in written order (with where each was written, for errors below).
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
                        if let Some(planted) = untrusted_link(host, links, writable_grants) {
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
                proc_landlock(proc_writes, target.clone(), ll_ro, ll_rw);
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
    Ok(explicit_at)
}
