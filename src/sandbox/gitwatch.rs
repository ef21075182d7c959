//! `repositories = "commit"` leaves a repository's `.git` writable with what steers git bound
//! read-only, but a name that did not exist cannot be held by a mount: `commondir` (which
//! would point git at another folder's configuration), `config.worktree`, `modules`,
//! `worktrees`. The supervisor notes which of them are absent before the sandbox starts, and
//! when it has ended moves aside any the sandbox made (`NAME.jail-refused`), with a warning.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;

/// The names watched in each `.git`.
const WATCHED: [&str; 4] = ["commondir", "config.worktree", "modules", "worktrees"];

/// One `.git`, opened before the sandbox starts, and the watched names absent then.
pub struct Watch {
    dir: OwnedFd,
    path: PathBuf,
    absent: Vec<&'static str>,
}

fn exists_at(dir: &OwnedFd, name: &str) -> bool {
    let c = CString::new(name).unwrap_or_default();
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: a valid descriptor, a NUL-terminated name and a stat buffer of ours.
    unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            c.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        ) == 0
    }
}

/// Opens each `.git` (never through a symlink) and notes what is absent.
pub fn start(paths: &[PathBuf]) -> Vec<Watch> {
    let mut out = vec![];
    for p in paths {
        let Ok(c) = CString::new(p.as_os_str().as_encoded_bytes()) else {
            continue;
        };
        // SAFETY: a NUL-terminated path; the descriptor is owned below.
        let fd = unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            continue;
        }
        // SAFETY: a descriptor just opened and owned by nothing else.
        let dir = unsafe { OwnedFd::from_raw_fd(fd) };
        let absent = WATCHED
            .iter()
            .copied()
            .filter(|n| !exists_at(&dir, n))
            .collect();
        out.push(Watch {
            dir,
            path: p.clone(),
            absent,
        });
    }
    out
}

/// After the sandbox: moves aside what it made of the watched names, and says so.
pub fn finish(watches: Vec<Watch>) {
    for w in watches {
        for name in &w.absent {
            if !exists_at(&w.dir, name) {
                continue;
            }
            let from = CString::new(*name).unwrap_or_default();
            let mut moved = None;
            for k in 0..100 {
                let to_name = if k == 0 {
                    format!("{name}.jail-refused")
                } else {
                    format!("{name}.jail-refused.{k}")
                };
                let to = CString::new(to_name.as_str()).unwrap_or_default();
                // SAFETY: valid descriptors and NUL-terminated names.
                let r = unsafe {
                    libc::renameat2(
                        w.dir.as_raw_fd(),
                        from.as_ptr(),
                        w.dir.as_raw_fd(),
                        to.as_ptr(),
                        libc::RENAME_NOREPLACE,
                    )
                };
                if r == 0 {
                    moved = Some(to_name);
                    break;
                }
                if std::io::Error::last_os_error().raw_os_error() != Some(libc::EEXIST) {
                    break;
                }
            }
            let full = w.path.join(name).to_string_lossy().into_owned();
            let shown = crate::util::printable(&full, false);
            match moved {
                Some(to) => eprintln!("jail: warning: the sandbox created {shown}, which a host git would obey; moved it to {to} (delete it, or move it back if you made it)"),
                None => eprintln!("jail: warning: the sandbox created {shown}, which a host git would obey, and jail could not move it aside: remove it before running git there"),
            }
        }
    }
}
