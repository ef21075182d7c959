//! The user's applications folder, where jail writes its wrappers: installing one (find the
//! source, rebuild it, write it atomically and never through a symlink), reading what is there
//! without following symlinks, and listing jail's own files.

use super::rewrite::{is_wrapper_text, wrap};
use super::source::{find, read_source};
use super::{app_id, valid_app, MAX_DESKTOP_FILE};
use crate::profile::{load::Loader, SearchPath};
use nix::errno::Errno;
use nix::fcntl::{OFlag, AT_FDCWD};
use nix::sys::stat::Mode;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Opens a folder without following a symlink at its last component.
pub(super) fn open_dir(dir: &Path) -> Result<OwnedFd, Errno> {
    nix::fcntl::openat(
        AT_FDCWD,
        dir,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

pub(super) fn dir_error(dir: &Path, e: Errno) -> String {
    match e {
        Errno::ELOOP | Errno::ENOTDIR => format!(
            "{} is a symlink or not a folder; jail writes wrappers only into a real folder (move it away first)",
            dir.display()
        ),
        e => format!("cannot open {}: {e}", dir.display()),
    }
}

/// Reads the regular file `name` in `dir` (no symlink followed, at most MAX_DESKTOP_FILE).
pub(super) fn read_at(dir: &OwnedFd, name: &str) -> Result<String, Errno> {
    let fd = nix::fcntl::openat(
        dir.as_fd(),
        name,
        OFlag::O_RDONLY
            | OFlag::O_NOFOLLOW
            | OFlag::O_NONBLOCK
            | OFlag::O_NOCTTY
            | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let f = std::fs::File::from(fd);
    let m = f.metadata().map_err(|_| Errno::EIO)?;
    if !m.is_file() {
        return Err(Errno::EINVAL);
    }
    let mut buf = Vec::new();
    f.take(MAX_DESKTOP_FILE + 1)
        .read_to_end(&mut buf)
        .map_err(|_| Errno::EIO)?;
    if buf.len() as u64 > MAX_DESKTOP_FILE {
        return Err(Errno::EFBIG);
    }
    String::from_utf8(buf).map_err(|_| Errno::EILSEQ)
}

pub(super) fn install(
    app: &str,
    profile: Option<&str>,
    jail: &Path,
    dirs: &[PathBuf],
    apps_dir: &Path,
    search: &SearchPath,
) -> Result<PathBuf, String> {
    let app = app_id(app);
    if !valid_app(app) {
        return Err(format!(
            "{app:?} is not an application name (like firefox-esr)"
        ));
    }
    // The wrapper runs `--profile PROFILE` (default APP): a launcher that fails at every click
    // helps no one, and one that names a relative file would depend on the menu's folder.
    let profile = profile.unwrap_or(app);
    if profile.is_empty() || profile.chars().any(|c| c.is_control()) {
        return Err(format!(
            "--profile {:?}: not a profile name",
            crate::util::printable(profile, false)
        ));
    }
    if crate::profile::is_path(profile) && !Path::new(profile).is_absolute() {
        return Err(format!(
            "--profile {profile:?}: a wrapper needs a profile name or an absolute path (the menu starts it in another folder)"
        ));
    }
    if let Err((e, _)) = Loader::new(search).load(profile) {
        return Err(format!(
            "no usable profile named {profile:?} ({}); write one (e.g. ~/.config/jail/profiles/{app}.toml), pass --profile NAME, or see `jail list`",
            e.msg
        ));
    }
    let source = find(app, dirs, apps_dir).ok_or_else(|| {
        format!(
            "no {app}.desktop in {}",
            dirs.iter()
                .map(|d| d.join("applications").display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    let text = read_source(&source)?;
    let out = wrap(&text, profile, jail, &source)?;
    write_wrapper(apps_dir, app, &out)
}

/// Writes `text` as `apps_dir/APP.desktop` atomically, never through a symlink: the folder is
/// opened without following one, the temporary file is created new (`O_EXCL|O_NOFOLLOW`), and
/// renamed in place; an existing target must be jail's own wrapper (a regular file with the
/// marker), else nothing is replaced.
fn write_wrapper(apps_dir: &Path, app: &str, text: &str) -> Result<PathBuf, String> {
    let target = apps_dir.join(format!("{app}.desktop"));
    std::fs::create_dir_all(apps_dir)
        .map_err(|e| format!("cannot create {}: {e}", apps_dir.display()))?;
    let dir = open_dir(apps_dir).map_err(|e| dir_error(apps_dir, e))?;
    let name = format!("{app}.desktop");
    let replace = match read_at(&dir, &name) {
        Err(Errno::ENOENT) => false,
        Ok(t) if is_wrapper_text(&t) => true,
        _ => {
            return Err(format!(
                "{} exists and was not written by jail; move it away first",
                target.display()
            ))
        }
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let tmp = format!(".{app}.desktop.jail-{}-{nanos:08x}", std::process::id());
    let fd = nix::fcntl::openat(
        dir.as_fd(),
        tmp.as_str(),
        OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o644),
    )
    .map_err(|e| {
        format!(
            "cannot create a temporary file in {}: {e}",
            apps_dir.display()
        )
    })?;
    let unlink_tmp = || {
        let _ = nix::unistd::unlinkat(
            dir.as_fd(),
            tmp.as_str(),
            nix::unistd::UnlinkatFlags::NoRemoveDir,
        );
    };
    let mut f = std::fs::File::from(fd);
    if let Err(e) = f.write_all(text.as_bytes()).and_then(|_| f.sync_all()) {
        unlink_tmp();
        return Err(format!("cannot write {}: {e}", target.display()));
    }
    drop(f);
    let flags = if replace {
        nix::fcntl::RenameFlags::empty()
    } else {
        nix::fcntl::RenameFlags::RENAME_NOREPLACE
    };
    if let Err(e) =
        nix::fcntl::renameat2(dir.as_fd(), tmp.as_str(), dir.as_fd(), name.as_str(), flags)
    {
        unlink_tmp();
        return Err(if e == Errno::EEXIST {
            format!(
                "{} appeared while jail was writing it; left alone",
                target.display()
            )
        } else {
            format!("cannot write {}: {e}", target.display())
        });
    }
    Ok(target)
}

/// One of jail's wrappers.
pub struct Wrapper {
    pub app: String,
    pub profile: String,
    pub path: PathBuf,
}

pub(super) fn wrappers(apps_dir: &Path) -> Vec<Wrapper> {
    let Ok(dir) = open_dir(apps_dir) else {
        return vec![];
    };
    let Ok(rd) = std::fs::read_dir(apps_dir) else {
        return vec![];
    };
    let mut v: Vec<Wrapper> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let app = name.strip_suffix(".desktop")?.to_string();
            let text = read_at(&dir, &name).ok()?;
            if !is_wrapper_text(&text) {
                return None;
            }
            let profile = text
                .lines()
                .find_map(|l| {
                    l.strip_prefix("X-Jail-Profile=")
                        .map(|s| s.trim().to_string())
                })
                .unwrap_or_default();
            Some(Wrapper {
                app,
                profile,
                path: apps_dir.join(&name),
            })
        })
        .collect();
    v.sort_by(|a, b| a.app.cmp(&b.app));
    v
}
