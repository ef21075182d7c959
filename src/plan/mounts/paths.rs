//! Small path rules of the filesystem compiler: what `/proc` may write, which current folders
//! are never granted as `${PWD}`, optional entries, rebasing under a grant.

use super::*;

/// A procfs is writable (in its processes' own folders only) when COMMAND may create user
/// namespaces: it must write the new namespace's `uid_map`, `gid_map` and `setgroups`.
pub(super) fn proc_writes(ns: &Namespaces) -> ProcWrites {
    if ns.nested.iter().any(|n| n == "user") {
        ProcWrites::OwnProcesses
    } else {
        ProcWrites::None
    }
}

/// Landlock's rule for a procfs: read-only unless the processes' folders must be written.
/// Landlock cannot tell `/proc/PID` from `/proc/sys` (both lie under the mount's root), so the
/// read-only binds of the executor are what keeps host-wide entries unwritable there.
pub(super) fn proc_landlock(
    w: ProcWrites,
    at: PathBuf,
    ro: &mut Vec<PathBuf>,
    rw: &mut Vec<PathBuf>,
) {
    match w {
        ProcWrites::None => ro.push(at),
        ProcWrites::OwnProcesses => rw.push(at),
    }
}

/// The first symlink of a resolution that the caller (or a sandbox of theirs) could have
/// planted: one in a folder not owned by root, writable by group or others, or under the home
/// folder, a shared scratch folder or a writable grant.
pub(super) fn untrusted_link(
    host: &crate::host::Host,
    links: &[crate::host::Link],
    writable: &[PathBuf],
) -> Option<PathBuf> {
    // Places any user (or a sandbox with a writable grant there) can write, root or not.
    const SHARED: [&str; 4] = ["/tmp", "/var/tmp", "/dev/shm", "/run/user"];
    links
        .iter()
        .find(|l| {
            let trusted = l.parent_uid == 0
                && l.parent_mode & 0o022 == 0
                && !under(&l.at, &host.home)
                && !SHARED.iter().any(|s| under(&l.at, Path::new(s)))
                && !writable.iter().any(|w| under(&l.at, w));
            !trusted
        })
        .map(|l| l.at.clone())
}

/// `p` resolved where a read-only grant would follow its symlinks: None when there is no
/// symlink on the way, or one the caller or a sandbox could have planted ([`untrusted_link`]).
pub(super) fn trusted_resolve(
    host: &crate::host::Host,
    p: &Path,
    writable: &[PathBuf],
) -> Option<crate::host::Resolved> {
    host.fs
        .resolve(p)
        .filter(|r| !r.links.is_empty())
        .filter(|r| untrusted_link(host, &r.links, writable).is_none())
}

/// Where `p` (under `source`) shows inside when `source` is mounted at `target`.
pub(super) fn rebase(p: &Path, source: &Path, target: &Path) -> PathBuf {
    match p.strip_prefix(source) {
        Ok(rel) if !rel.as_os_str().is_empty() => target.join(rel),
        _ => target.to_path_buf(),
    }
}

/// System folders a `${PWD}` grant never hands out: started there (by root above all, who
/// would give the sandbox `/etc/profile.d` or `/usr/lib`), jail must not make them writable.
pub(super) const SYSTEM_DIRS: [&str; 14] = [
    "/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/var",
    "/proc", "/sys", "/dev", "/run",
];

/// A `${PWD}` grant is never given when jail was started in /, the home folder itself (or a
/// folder above it) or a system folder.
pub(super) fn pwd_refused(host: &crate::host::Host, item: &L<String>, path: &Path) -> bool {
    item.v.trim_start_matches(['?', '+']).starts_with("${PWD}")
        && (path == Path::new("/")
            || host.homes().iter().any(|(h, _, _)| h.starts_with(path))
            || (SYSTEM_DIRS.iter().any(|d| under(path, Path::new(d)))
                && !under(path, Path::new("/var/tmp")))
            || (host.uid == 0 && ROOT_SYSTEM_DIRS.iter().any(|d| under(path, Path::new(d)))))
}

/// More folders a sandbox started by root never gets as its current folder: software, data of
/// services, mounts, and every user's home.
pub(super) const ROOT_SYSTEM_DIRS: [&str; 7] =
    ["/opt", "/srv", "/mnt", "/media", "/snap", "/nix", "/home"];

/// The path of a list entry and whether it is optional (`"?path"`); a `"+path"` (created
/// when missing) is not optional.
pub(super) fn split_optional(cx: &Ctx, item: &L<String>) -> Result<(bool, PathBuf), Error> {
    let rest = |r: &str| L::new(r.to_string(), item.at.clone());
    match (item.v.strip_prefix('?'), item.v.strip_prefix('+')) {
        (Some(r), _) => Ok((true, cx.path(&rest(r))?)),
        (_, Some(r)) => Ok((false, cx.path(&rest(r))?)),
        _ => Ok((false, cx.path(item)?)),
    }
}

/// Like [`split_optional`], but an optional entry naming a variable this session does not set
/// (`"?${XDG_RUNTIME_DIR}/x"` without a runtime folder) is skipped (None) instead of an error.
pub(super) fn optional_entry(
    cx: &Ctx,
    item: &L<String>,
    warnings: &mut Vec<String>,
) -> Result<Option<(bool, PathBuf)>, Error> {
    match split_optional(cx, item) {
        Err(e) if item.v.starts_with('?') && e.msg.contains("is used but not set") => {
            warnings.push(format!("skipped optional {}: {}", item.v, e.msg));
            Ok(None)
        }
        r => r.map(Some),
    }
}
