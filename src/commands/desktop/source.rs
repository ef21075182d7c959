//! The system's desktop files, the untrusted sources of the wrappers: where they are
//! (`$XDG_DATA_DIRS`), which one is an application's, and reading one safely.

use super::MAX_DESKTOP_FILE;
use crate::host::Host;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// `$XDG_DATA_DIRS`, default `/usr/local/share:/usr/share` (the XDG base directory spec).
pub(super) fn data_dirs(host: &Host) -> Vec<PathBuf> {
    let v = host
        .env
        .get("XDG_DATA_DIRS")
        .filter(|s| !s.is_empty())
        .cloned()
        .unwrap_or_else(|| "/usr/local/share:/usr/share".into());
    v.split(':')
        .filter(|s| s.starts_with('/'))
        .map(PathBuf::from)
        .collect()
}

/// Reads an (untrusted) source file: symlinks are followed (distributions link desktop files),
/// but what is read must be a regular file of at most MAX_DESKTOP_FILE bytes of UTF-8 text.
/// Opened once, non-blocking (a FIFO cannot hang jail), judged by the descriptor.
pub fn read_source(path: &Path) -> Result<String, String> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let m = f
        .metadata()
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !m.is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    let mut buf = Vec::new();
    f.take(MAX_DESKTOP_FILE + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if buf.len() as u64 > MAX_DESKTOP_FILE {
        return Err(format!(
            "{} is larger than {} KiB; not a desktop file",
            path.display(),
            MAX_DESKTOP_FILE >> 10
        ));
    }
    let text = String::from_utf8(buf)
        .map_err(|_| format!("{} is not UTF-8 text; not a desktop file", path.display()))?;
    if text.contains('\0') {
        return Err(format!(
            "{} holds a NUL byte; not a desktop file",
            path.display()
        ));
    }
    Ok(text)
}

/// Whether `a` and `b` are the same folder (device and inode), both existing.
fn same_dir(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// Finds the desktop file whose id is `app`: `applications/APP.desktop`, or a file in a
/// subfolder whose path with `/` read as `-` is the id (`kde4/okular.desktop` is `kde4-okular`).
/// The user's own applications folder (`skip`, where jail writes its wrappers) is never a source.
pub(super) fn find(app: &str, dirs: &[PathBuf], skip: &Path) -> Option<PathBuf> {
    fn walk(base: &Path, dir: &Path, app: &str, depth: u32) -> Option<PathBuf> {
        let direct = dir.join(format!("{app}.desktop"));
        if dir == base && direct.is_file() {
            return Some(direct);
        }
        if depth == 0 {
            return None;
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                if let Some(f) = walk(base, &p, app, depth - 1) {
                    return Some(f);
                }
            } else if p.extension().is_some_and(|e| e == "desktop") {
                let rel = p.strip_prefix(base).ok()?.with_extension("");
                let id = rel.to_string_lossy().replace('/', "-");
                if id == app {
                    return Some(p);
                }
            }
        }
        None
    }
    dirs.iter().find_map(|d| {
        let base = d.join("applications");
        if base == skip || same_dir(&base, skip) {
            return None;
        }
        walk(&base, &base, app, 2)
    })
}
