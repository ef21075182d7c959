//! Reaching paths without following symlinks: the walk of the new root one component at a time
//! with `O_NOFOLLOW` (creating what is missing), and the opening of host sources with
//! `RESOLVE_NO_SYMLINKS`.

use super::*;

/// What a target is created as when missing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Make {
    Dir,
    File,
}

pub(super) fn nul_free(s: &str) -> CString {
    CString::new(s).unwrap_or_default()
}

/// Walks `path` (absolute, inside the new root) from `root` without following any symlink,
/// creating missing folders, and returns an `O_PATH` descriptor of the final component
/// (created as `make` when missing).
pub(super) fn walk(root: &OwnedFd, path: &Path, make: Make) -> Result<OwnedFd> {
    let shown = path.display().to_string();
    let comps: Vec<&std::ffi::OsStr> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(Ok(n)),
            Component::RootDir => None,
            _ => Some(Err(())),
        })
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| {
            StepError::detail(
                format!("mount target {shown}"),
                Errno::EINVAL,
                "not a normalized absolute path",
            )
        })?;
    let mut cur = nix::unistd::dup(root).step(|| format!("mount target {shown}"))?;
    for (i, name) in comps.iter().enumerate() {
        let last = i + 1 == comps.len();
        let cname = nul_free(&name.to_string_lossy());
        let want_dir = !last || make == Make::Dir;
        let flags = libc::O_PATH | libc::O_NOFOLLOW | if want_dir { libc::O_DIRECTORY } else { 0 };
        let next = match sys::openat(cur.as_raw_fd(), &cname, flags, 0) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => {
                let parent = cur.as_raw_fd();
                let parent_fd = &cur;
                if want_dir {
                    match nix::sys::stat::mkdirat(
                        parent_fd,
                        cname.as_c_str(),
                        nix::sys::stat::Mode::from_bits_truncate(0o755),
                    ) {
                        Ok(()) | Err(Errno::EEXIST) => {}
                        Err(e) => {
                            return Err(StepError::detail(
                                format!("create mount point {shown}"),
                                e,
                                "cannot create a folder there",
                            ))
                        }
                    }
                } else if make == Make::File {
                    sys::openat(
                        parent,
                        &cname,
                        libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_NOFOLLOW,
                        0o644,
                    )
                    .step(|| format!("create mount point {shown}"))?;
                } else {
                    return Err(StepError::new(
                        format!("mount target {shown}"),
                        Errno::ENOENT,
                    ));
                }
                sys::openat(parent, &cname, flags, 0).step(|| format!("mount target {shown}"))?
            }
            Err(Errno::ENOTDIR) | Err(Errno::ELOOP) => {
                return Err(symlink_refused(&shown, &comps[..=i]));
            }
            Err(e) => return Err(StepError::new(format!("mount target {shown}"), e)),
        };
        let st = sys::fstat(next.as_raw_fd()).step(|| format!("mount target {shown}"))?;
        if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
            return Err(symlink_refused(&shown, &comps[..=i]));
        }
        cur = next;
    }
    Ok(cur)
}

pub(super) fn symlink_refused(target: &str, upto: &[&std::ffi::OsStr]) -> StepError {
    let at: std::path::PathBuf = std::iter::once(std::ffi::OsStr::new("/"))
        .chain(upto.iter().copied())
        .collect();
    StepError::detail(
        format!("mount target {target}"),
        Errno::ELOOP,
        format!("{} is a symlink or not a folder; jail never mounts through a symlink (it could lead outside the sandbox)", at.display()),
    )
}

/// Opens a host path the plan resolved, refusing symlinks anywhere in it.
pub(super) fn open_host(path: &Path, what: &str) -> Result<OwnedFd> {
    let shown = path.display().to_string();
    sys::openat2(
        libc::AT_FDCWD,
        &shown,
        libc::O_PATH,
        sys::RESOLVE_NO_SYMLINKS | sys::RESOLVE_NO_MAGICLINKS,
    )
    .map_err(|e| {
        if e == Errno::ELOOP {
            StepError::detail(
                format!("open {what} {shown}"),
                e,
                "it became a symlink after the plan was made; refusing to follow it",
            )
        } else {
            StepError::new(format!("open {what} {shown}"), e)
        }
    })
}

pub(super) fn is_dir(fd: &OwnedFd) -> bool {
    sys::fstat(fd.as_raw_fd())
        .map(|s| s.st_mode & libc::S_IFMT == libc::S_IFDIR)
        .unwrap_or(false)
}

/// An `O_PATH` descriptor cannot be written through; reopen it for fchmod.
pub(super) fn reopen(fd: &OwnedFd, shown: &str) -> Result<OwnedFd> {
    sys::openat2(
        libc::AT_FDCWD,
        &fd_path(fd),
        libc::O_RDONLY | libc::O_DIRECTORY,
        0,
    )
    .step(|| format!("open {shown}"))
}
