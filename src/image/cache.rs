//! The cache of unpacked images (`$XDG_CACHE_HOME/jail/images/KEY/rootfs`).
//!
//! Every folder from `/` down to the cache must belong to the caller or root and be writable by
//! no one else (a root-owned sticky folder such as /tmp excepted: others cannot rename what is
//! not theirs in it), so no other user can swap a folder of the path while jail works in it
//! (root given another user's `XDG_CACHE_HOME` by `sudo -E` refuses it). The walk opens each
//! folder from its parent's descriptor with `O_NOFOLLOW`; everything after (the check for an
//! entry, the unpack, the rename, removing a temporary folder) works from descriptors of the
//! cache folder, never from a path string.

use super::{source, unpack, Layer, Source};
use std::ffi::{CStr, CString};
use std::io::{BufRead, BufReader, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

const DIR: i32 = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;

/// The cache folder of unpacked images.
pub fn cache_dir() -> Result<PathBuf, String> {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| Path::new(x).is_absolute()) {
        return Ok(PathBuf::from(x).join("jail/images"));
    }
    match std::env::var_os("HOME").filter(|h| Path::new(h).is_absolute()) {
        Some(h) => Ok(PathBuf::from(h).join(".cache/jail/images")),
        None => Err("no cache folder: set HOME or XDG_CACHE_HOME".into()),
    }
}

fn me() -> u32 {
    // SAFETY: geteuid has no failure mode.
    unsafe { libc::geteuid() }
}

/// `p` with symlinks of its existing part resolved (the rest appended as written).
fn resolved(p: &Path) -> PathBuf {
    let mut rest = vec![];
    let mut cur = p;
    loop {
        if let Ok(c) = std::fs::canonicalize(cur) {
            let mut out = c;
            for r in rest.iter().rev() {
                out.push(r);
            }
            return out;
        }
        match (cur.parent(), cur.file_name()) {
            (Some(par), Some(n)) => {
                rest.push(n.to_owned());
                cur = par;
            }
            _ => return p.to_path_buf(),
        }
    }
}

/// Opens (making what is missing, mode 0700) the cache folder, checking every folder on the way.
/// Returns the descriptor and the path it was reached by.
pub fn open_cache(cache: &Path) -> Result<(OwnedFd, PathBuf), String> {
    let path = resolved(cache);
    let me = me();
    let mut cur =
        crate::sandbox::sys::openat(libc::AT_FDCWD, c"/", DIR, 0).map_err(|e| format!("/: {e}"))?;
    let mut at = PathBuf::from("/");
    let comps: Vec<_> = path.components().collect();
    for (i, c) in comps.iter().enumerate() {
        let name = match c {
            Component::RootDir => continue,
            Component::Normal(n) => CString::new(n.as_bytes())
                .map_err(|_| format!("{}: a NUL byte in the path", cache.display()))?,
            _ => return Err(format!("{}: not a plain path", cache.display())),
        };
        check_above(&cur, &at, me)?;
        at.push(c);
        let shown = at.display();
        let fd = match crate::sandbox::sys::openat(cur.as_raw_fd(), &name, DIR, 0) {
            Err(nix::errno::Errno::ENOENT) => {
                // SAFETY: a valid descriptor and C string.
                if unsafe { libc::mkdirat(cur.as_raw_fd(), name.as_ptr(), 0o700) } != 0 {
                    let e = std::io::Error::last_os_error();
                    if e.raw_os_error() != Some(libc::EEXIST) {
                        return Err(format!("{shown}: {e}"));
                    }
                }
                crate::sandbox::sys::openat(cur.as_raw_fd(), &name, DIR, 0)
            }
            r => r,
        }
        .map_err(|e| format!("{shown}: {e} (the image cache must be a real folder)"))?;
        if i + 1 == comps.len() {
            let st =
                crate::sandbox::sys::fstat(fd.as_raw_fd()).map_err(|e| format!("{shown}: {e}"))?;
            if st.st_uid != me || st.st_mode & 0o022 != 0 {
                return Err(format!(
                    "{shown}: the image cache must be a folder of uid {me} that only it can write (it is uid {}'s, mode {:o}); set XDG_CACHE_HOME elsewhere",
                    st.st_uid,
                    st.st_mode & 0o7777
                ));
            }
        }
        cur = fd;
    }
    Ok((cur, path))
}

/// A folder above the cache: the caller's or root's, writable by no one else (a root-owned
/// sticky folder excepted).
fn check_above(fd: &OwnedFd, at: &Path, me: u32) -> Result<(), String> {
    let st =
        crate::sandbox::sys::fstat(fd.as_raw_fd()).map_err(|e| format!("{}: {e}", at.display()))?;
    let mode = st.st_mode & 0o7777;
    let sticky_root = st.st_uid == 0 && mode & libc::S_ISVTX != 0;
    if (st.st_uid != me && st.st_uid != 0) || (mode & 0o022 != 0 && !sticky_root) {
        return Err(format!(
            "{}: a folder above the image cache must be uid {me}'s or root's and writable by no one else (it is uid {}'s, mode {mode:o}: its owner could swap the cache); set XDG_CACHE_HOME elsewhere",
            at.display(),
            st.st_uid
        ));
    }
    Ok(())
}

fn c_name(s: &str) -> CString {
    // Names made here from hex digits, '-' and a pid.
    CString::new(s).unwrap_or_default()
}

/// The entry `key`'s root in the open cache folder, when it is there (as a real folder).
fn entry_root(cfd: &OwnedFd, key: &CStr) -> Option<OwnedFd> {
    let e = crate::sandbox::sys::openat(cfd.as_raw_fd(), key, DIR, 0).ok()?;
    crate::sandbox::sys::openat(e.as_raw_fd(), c"rootfs", DIR, 0).ok()
}

/// `path` names the folder open as `fd` (same device and inode).
fn same(fd: &OwnedFd, path: &Path) -> Result<PathBuf, String> {
    use std::os::unix::fs::MetadataExt;
    let st = crate::sandbox::sys::fstat(fd.as_raw_fd()).map_err(|e| e.to_string())?;
    let md = std::fs::symlink_metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if md.dev() != st.st_dev || md.ino() != st.st_ino {
        return Err(format!("{}: changed while jail used it", path.display()));
    }
    Ok(path.to_path_buf())
}

/// The cached root of `key`, unpacked now when missing.
pub fn unpack_cached(src: &Source, key: &str, layers: &[Layer]) -> Result<(PathBuf, bool), String> {
    let (cfd, cache) = open_cache(&cache_dir()?)?;
    let entry = cache.join(key);
    let rootfs = entry.join("rootfs");
    let ename = c_name(key);
    if let Some(r) = entry_root(&cfd, &ename) {
        return Ok((same(&r, &rootfs)?, false));
    }
    let tmp_name = format!(".tmp-{key}-{}", std::process::id());
    let tmp = cache.join(&tmp_name);
    let tname = c_name(&tmp_name);
    let _ = unpack::remove_at(cfd.as_raw_fd(), &tname);
    remove_stale(&cfd);
    let r = unpack_into(src, &cfd, &tname, &tmp, layers).and_then(|()| {
        // SAFETY: a valid descriptor and C strings; both names are in the one cache folder.
        let rc = unsafe {
            libc::renameat(
                cfd.as_raw_fd(),
                tname.as_ptr(),
                cfd.as_raw_fd(),
                ename.as_ptr(),
            )
        };
        let e = std::io::Error::last_os_error();
        match entry_root(&cfd, &ename) {
            Some(r) => same(&r, &rootfs),
            // Another jail unpacked the same image meanwhile: that one is used.
            None if rc == 0 => Err(format!("{}: gone after the rename", entry.display())),
            None => Err(format!("{}: {e}", entry.display())),
        }
    });
    let _ = unpack::remove_at(cfd.as_raw_fd(), &tname);
    r.map(|p| (p, true))
}

fn unpack_into(
    src: &Source,
    cache: &OwnedFd,
    name: &CStr,
    tmp: &Path,
    layers: &[Layer],
) -> Result<(), String> {
    let sys = |e: &str| format!("{}: {e}", tmp.display());
    // SAFETY: valid descriptor and C string.
    if unsafe { libc::mkdirat(cache.as_raw_fd(), name.as_ptr(), 0o700) } != 0 {
        return Err(sys(&std::io::Error::last_os_error().to_string()));
    }
    let tfd = crate::sandbox::sys::openat(cache.as_raw_fd(), name, DIR, 0)
        .map_err(|e| sys(&e.to_string()))?;
    // SAFETY: valid descriptor and C string.
    if unsafe { libc::mkdirat(tfd.as_raw_fd(), c"rootfs".as_ptr(), 0o755) } != 0 {
        return Err(sys(&std::io::Error::last_os_error().to_string()));
    }
    let root = crate::sandbox::sys::openat(tfd.as_raw_fd(), c"rootfs", DIR, 0)
        .map_err(|e| sys(&e.to_string()))?;
    let mut dirs = vec![];
    let mut budget = unpack::Budget::of(&root);
    for (i, l) in layers.iter().enumerate() {
        // The bytes unpacked are the bytes hashed (one read: a file changed between a check
        // and a second read cannot slip in), compressed against the layer's digest and
        // uncompressed against the config's diff_id. The layer goes into the temporary folder
        // first; a mismatch found at its end throws the whole folder away.
        let mut hashed = source::Hashing::new(src.open_path(&l.path)?);
        let res = with_decompressed(BufReader::new(&mut hashed), |tar| {
            let mut plain = source::Hashing::new(tar);
            let r = unpack::layer(
                &root,
                super::guard::Guarded::new(&mut plain),
                &mut dirs,
                &mut budget,
            );
            r.and_then(|()| plain.finish().map_err(|e| e.to_string()))
        });
        let got = hashed.finish().map_err(|e| format!("layer {}: {e}", i + 1));
        // A wrong digest explains a broken stream best: it is said first.
        source::check(&l.digest, &got?).map_err(|e| format!("layer {}: {e}", i + 1))?;
        let diff = res.map_err(|e| format!("layer {} ({}): {e}", i + 1, l.digest))?;
        source::check(&l.diff_id, &diff).map_err(|e| {
            format!(
                "layer {}: uncompressed, it is not the config's diff_id: {e}",
                i + 1
            )
        })?;
    }
    unpack::finish(&root, &mut dirs)
}

/// Decompresses by the stream's first bytes (gzip, zstd, or a plain tar), whatever the
/// media type claims. A gzip stream of several members is decompressed whole (its diff_id is
/// of all of them).
fn with_decompressed<R: BufRead, T>(
    mut r: R,
    f: impl FnOnce(&mut dyn Read) -> Result<T, String>,
) -> Result<T, String> {
    let head = r.fill_buf().map_err(|e| e.to_string())?.to_vec();
    if head.starts_with(&[0x1f, 0x8b]) {
        f(&mut flate2::bufread::MultiGzDecoder::new(r))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        let mut d = zstd::stream::read::Decoder::with_buffer(r).map_err(|e| e.to_string())?;
        f(&mut d)
    } else {
        let mut r = r;
        f(&mut r)
    }
}

/// Removes the temporary folders of unpacks whose jail died before it could (killed): their
/// pid, at the end of the name, is gone.
fn remove_stale(cfd: &OwnedFd) {
    for name in unpack::names(cfd).unwrap_or_default() {
        let name = name.to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(".tmp-") else {
            continue;
        };
        let pid = rest.rsplit('-').next().and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid {
            if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = unpack::remove_at(cfd.as_raw_fd(), &c_name(&name));
            }
        }
    }
}
