//! Which jail binary a wrapper names, and whether it is safe to run outside any sandbox.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The jail a wrapper calls: the installed one, never a build tree. `me` (this binary) when a
/// `$PATH` folder's `jail` is this very file (named through that folder: `/usr/bin/jail`, so a
/// package upgrade keeps the wrapper working); else the first `jail` on `$PATH` (the package's
/// or `cargo install`'s, when this one runs from `target/release`); else `me`.
pub(super) fn launcher_for(me: &Path, path_var: Option<&OsStr>) -> PathBuf {
    let real_me = std::fs::canonicalize(me).ok();
    let candidates: Vec<PathBuf> = path_var
        .map(|v| std::env::split_paths(v).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        // A relative entry ("", ".") names a different file in every folder a menu starts from.
        .filter(|d| d.is_absolute())
        .map(|d| d.join("jail"))
        .filter(|p| is_executable(p))
        .collect();
    if let Some(same) = candidates
        .iter()
        .find(|p| real_me.is_some() && std::fs::canonicalize(p).ok() == real_me)
    {
        return same.clone();
    }
    candidates
        .into_iter()
        .next()
        .unwrap_or_else(|| me.to_path_buf())
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether no sandbox can replace the launcher at `path`: the file and every folder above it
/// are root's and not writable by others (a root-owned sticky folder such as /tmp counts: only
/// root may rename what root owns in it), or it lies in a folder jail keeps read-only in every
/// sandbox (a `$PATH` folder of the home such as ~/.cargo/bin).
pub(super) fn launcher_is_safe(path: &std::path::Path, policy_dirs: &[std::path::PathBuf]) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(real) = std::fs::canonicalize(path) else {
        return false;
    };
    if real.parent().is_some_and(|d| {
        policy_dirs
            .iter()
            .any(|p| std::fs::canonicalize(p).is_ok_and(|p| p == d))
    }) {
        return true;
    }
    let root_only = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| {
            m.uid() == 0 && (m.mode() & 0o022 == 0 || (m.is_dir() && m.mode() & 0o1000 != 0))
        })
    };
    real.ancestors().all(root_only)
}
