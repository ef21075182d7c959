//! The plan's folders to create (`"+path"` grants that were absent, the private home), made by
//! the supervisor before anything else, as the caller: one component at a time from `/`, each
//! folder opened with `O_NOFOLLOW | O_DIRECTORY` relative to the one above it, so a symlink
//! anywhere on the way (planted before or during the run) is refused, never followed. From the
//! home down every folder must be the caller's own; a new one is made 0700.

use super::error::{Result, StepError};
use crate::plan::mounts::CreateDir;
use nix::errno::Errno;
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::{fstat, mkdirat, umask, Mode};
use std::os::fd::OwnedFd;
use std::path::{Component, Path};

/// Makes every folder of `dirs` that is missing; the first failure stops the run.
pub fn make_all(dirs: &[CreateDir]) -> Result<()> {
    for d in dirs {
        make(d)?;
    }
    Ok(())
}

fn open_dir(at: &OwnedFd, name: &std::ffi::OsStr) -> std::result::Result<OwnedFd, Errno> {
    openat(
        at,
        name,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

fn make(d: &CreateDir) -> Result<()> {
    let step = || format!("create {}", d.path.display());
    let euid = nix::unistd::geteuid().as_raw();
    let mut cur = nix::fcntl::open(
        "/",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| StepError::new(step(), e))?;
    let mut at = Path::new("/").to_path_buf();
    for c in d.path.components() {
        let name = match c {
            Component::RootDir => continue,
            Component::Normal(n) => n,
            _ => {
                return Err(StepError::detail(
                    step(),
                    Errno::EINVAL,
                    "not a normalized path",
                ))
            }
        };
        at.push(name);
        let below_base = at.starts_with(&d.base) && at != d.base;
        let next = match open_dir(&cur, name) {
            Err(Errno::ENOENT) if below_base => {
                // Exactly 0700 whatever the caller's umask (jail has no other thread).
                let old = umask(Mode::empty());
                let r = mkdirat(&cur, name, Mode::from_bits_truncate(0o700));
                umask(old);
                match r {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => {
                        return Err(StepError::detail(
                            step(),
                            e,
                            format!("cannot create {}", at.display()),
                        ))
                    }
                }
                open_dir(&cur, name)
            }
            r => r,
        };
        let next = next.map_err(|e| {
            let why = match e {
                Errno::ENOTDIR | Errno::ELOOP => {
                    "it is a symlink or not a folder: jail does not create through it (remove it or grant the real path)"
                }
                Errno::ENOENT => "it does not exist",
                _ => "cannot open it",
            };
            StepError::detail(step(), e, format!("{}: {why}", at.display()))
        })?;
        if at.starts_with(&d.base) {
            let st = fstat(&next).map_err(|e| StepError::new(step(), e))?;
            if st.st_uid != euid {
                return Err(StepError::detail(
                    step(),
                    Errno::EPERM,
                    format!(
                        "{} belongs to uid {}, not to you (uid {euid}): jail creates folders only in your own",
                        at.display(),
                        st.st_uid
                    ),
                ));
            }
        }
        cur = next;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::path::PathBuf;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("jail-create-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir(&d).unwrap();
        d
    }

    #[test]
    fn makes_missing_folders_0700_one_at_a_time() {
        let home = scratch("make");
        let d = CreateDir {
            path: home.join(".cache/app/data"),
            base: home.clone(),
        };
        make_all(std::slice::from_ref(&d)).unwrap();
        for p in [home.join(".cache"), home.join(".cache/app"), d.path.clone()] {
            let m = std::fs::symlink_metadata(&p).unwrap();
            assert!(m.is_dir(), "{}", p.display());
            assert_eq!(m.permissions().mode() & 0o7777, 0o700, "{}", p.display());
            assert_eq!(m.uid(), nix::unistd::geteuid().as_raw());
        }
        // Already there: nothing changes.
        make_all(&[d]).unwrap();
        std::fs::remove_dir_all(&home).unwrap();
    }

    #[test]
    fn never_creates_through_a_symlink() {
        let home = scratch("link");
        let elsewhere = scratch("elsewhere");
        std::os::unix::fs::symlink(&elsewhere, home.join(".mozilla")).unwrap();
        // A naive `mkdir -p` follows it.
        std::fs::create_dir_all(home.join(".mozilla/naive")).unwrap();
        assert!(elsewhere.join("naive").is_dir());
        std::fs::remove_dir(elsewhere.join("naive")).unwrap();
        for path in [home.join(".mozilla"), home.join(".mozilla/firefox")] {
            let e = make_all(&[CreateDir {
                path,
                base: home.clone(),
            }])
            .unwrap_err();
            assert!(e.to_string().contains("symlink"), "{e}");
        }
        assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
        std::fs::remove_dir_all(&home).unwrap();
        std::fs::remove_dir_all(&elsewhere).unwrap();
    }
}
