//! Unpacks one layer (a tar stream, already decompressed) into the image's root folder.
//!
//! The rules (SECURITY.md "Container images"): every path is taken relative to the root and
//! walked one component at a time with `O_NOFOLLOW`, so nothing in the tar can make a write land
//! outside the root: an absolute path or a `..` component is refused, and so is an entry whose
//! parent goes through a symlink (one laid by this layer or an earlier one). Hard links may only
//! name a regular file already unpacked inside the root. Character and block devices are
//! refused; fifos are made. Owners are not kept (everything belongs to the caller), setuid and
//! setgid bits are dropped, and no extended attribute is written. Whiteouts (`.wh.NAME`,
//! `.wh..wh..opq`) remove what earlier layers laid.

use std::collections::HashSet;
use std::ffi::CString;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

const WH: &str = ".wh.";
const OPAQUE: &str = ".wh..wh..opq";

/// Modes of folders, set when the whole image is unpacked (a read-only folder would stop the
/// layers above from writing into it).
pub type DirModes = Vec<(PathBuf, u32)>;

/// An entry's path, checked: relative, no `..`, no empty result. None for the root itself.
pub fn clean(raw: &[u8]) -> Result<Option<PathBuf>, String> {
    let p = Path::new(std::ffi::OsStr::from_bytes(raw));
    let lossy = p.to_string_lossy();
    let shown = crate::util::printable(&lossy, false);
    if raw.contains(&0) {
        return Err(format!("entry {shown}: a NUL byte in the name"));
    }
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!("entry {shown}: an absolute path"))
            }
            Component::ParentDir => return Err(format!("entry {shown}: a path with '..'")),
        }
    }
    Ok(if out.as_os_str().is_empty() {
        None
    } else {
        Some(out)
    })
}

fn cstr(n: &std::ffi::OsStr) -> CString {
    // Names come from `clean`, which refused NUL bytes.
    CString::new(n.as_bytes()).unwrap_or_default()
}

fn errno_msg(what: &str, shown: &Path) -> String {
    format!(
        "{what} {}: {}",
        shown.display(),
        std::io::Error::last_os_error()
    )
}

fn lstat_at(dir: RawFd, name: &std::ffi::CStr) -> Option<libc::stat> {
    // SAFETY: a valid descriptor and C string; `st` is written by the call.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) };
    (r == 0).then_some(st)
}

fn is_dir(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFDIR
}

/// Opens the folder `rel` under `root`, one component at a time, never following a symlink;
/// missing folders are made (tars often leave parents out).
fn open_dir(root: &OwnedFd, rel: &Path, entry: &Path) -> Result<OwnedFd, String> {
    let mut cur = dup(root)?;
    for c in rel.components() {
        let name = cstr(c.as_os_str());
        match lstat_at(cur.as_raw_fd(), &name) {
            Some(st) if is_dir(&st) => {}
            Some(st) if st.st_mode & libc::S_IFMT == libc::S_IFLNK => {
                return Err(format!(
                    "entry {}: its folder {} is a symlink (a layer may not write through one)",
                    entry.display(),
                    rel.display()
                ))
            }
            Some(_) => {
                return Err(format!(
                    "entry {}: {} is not a folder",
                    entry.display(),
                    rel.display()
                ))
            }
            None => {
                // SAFETY: valid descriptor and C string.
                if unsafe { libc::mkdirat(cur.as_raw_fd(), name.as_ptr(), 0o755) } != 0 {
                    return Err(errno_msg("cannot make folder", rel));
                }
            }
        }
        let next = crate::sandbox::sys::openat(
            cur.as_raw_fd(),
            &name,
            libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW,
            0,
        )
        .map_err(|e| format!("entry {}: {}: {e}", entry.display(), rel.display()))?;
        cur = next;
    }
    Ok(cur)
}

fn dup(fd: &OwnedFd) -> Result<OwnedFd, String> {
    fd.try_clone().map_err(|e| format!("dup: {e}"))
}

/// Removes `name` in `dir` and everything under it, without following symlinks (folders are
/// opened with `O_NOFOLLOW` and made writable by their descriptor: an image may hold read-only
/// ones).
pub fn remove_at(dir: RawFd, name: &std::ffi::CStr) -> Result<(), String> {
    let Some(st) = lstat_at(dir, name) else {
        return Ok(());
    };
    if is_dir(&st) {
        let sub = crate::sandbox::sys::openat(
            dir,
            name,
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0,
        )
        .map_err(|e| format!("open {}: {e}", name.to_string_lossy()))?;
        // SAFETY: a valid descriptor.
        unsafe { libc::fchmod(sub.as_raw_fd(), 0o700) };
        clear_dir(&sub, &HashSet::new(), Path::new(""))?;
        // SAFETY: valid descriptor and C string.
        if unsafe { libc::unlinkat(dir, name.as_ptr(), libc::AT_REMOVEDIR) } != 0 {
            return Err(errno_msg(
                "cannot remove",
                Path::new(&*name.to_string_lossy()),
            ));
        }
    } else if unsafe { libc::unlinkat(dir, name.as_ptr(), 0) } != 0 {
        // SAFETY (above): valid descriptor and C string.
        return Err(errno_msg(
            "cannot remove",
            Path::new(&*name.to_string_lossy()),
        ));
    }
    Ok(())
}

/// The names in the open folder `dir` (read from a descriptor of its own, never a path).
pub fn names(dir: &OwnedFd) -> Result<Vec<std::ffi::OsString>, String> {
    let fd = crate::sandbox::sys::openat(
        dir.as_raw_fd(),
        c".",
        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        0,
    )
    .map_err(|e| e.to_string())?;
    // SAFETY: `fd` is a fresh directory descriptor whose ownership passes to the stream.
    let d = unsafe { libc::fdopendir(std::os::fd::IntoRawFd::into_raw_fd(fd)) };
    if d.is_null() {
        return Err(std::io::Error::last_os_error().to_string());
    }
    let mut out = vec![];
    loop {
        // SAFETY: `d` is an open stream; the entry is copied before the next call.
        let e = unsafe { libc::readdir(d) };
        if e.is_null() {
            break;
        }
        // SAFETY: d_name is a NUL-terminated name inside the entry.
        let n = unsafe { std::ffi::CStr::from_ptr((*e).d_name.as_ptr()) };
        if n != c"." && n != c".." {
            out.push(std::ffi::OsStr::from_bytes(n.to_bytes()).to_owned());
        }
    }
    // SAFETY: `d` is open and closed once.
    unsafe { libc::closedir(d) };
    Ok(out)
}

/// Removes every child of the open folder `dir` (at `at` in the root) but those in `keep`.
fn clear_dir(dir: &OwnedFd, keep: &HashSet<PathBuf>, at: &Path) -> Result<(), String> {
    let names = names(dir).map_err(|e| format!("read {}: {e}", at.display()))?;
    for n in names {
        if keep.contains(&at.join(&n)) {
            continue;
        }
        remove_at(dir.as_raw_fd(), &cstr(&n))?;
    }
    Ok(())
}

/// What the image may still take of the file system it is unpacked on: bytes and inodes.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub bytes: u64,
    pub inodes: u64,
    /// The file system's block size: every entry costs at least one.
    pub block: u64,
}

impl Budget {
    /// What is free for the caller in the file system of `dir`, less a twentieth of the bytes
    /// and of the inodes (an image must not fill the disk the home is on). A file system that
    /// counts no inodes (btrfs) is not limited by them.
    pub fn of(dir: &OwnedFd) -> Budget {
        // SAFETY: a valid descriptor; `st` is written by the call.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstatvfs(dir.as_raw_fd(), &mut st) } != 0 {
            return Budget {
                bytes: u64::MAX,
                inodes: u64::MAX,
                block: 4096,
            };
        }
        let block = (st.f_frsize as u64).max(512);
        let free = (st.f_bavail as u64).saturating_mul(block);
        let inodes = if st.f_files == 0 {
            u64::MAX
        } else {
            let f = st.f_favail as u64;
            f - f / 20
        };
        Budget {
            bytes: free - free / 20,
            inodes,
            block,
        }
    }

    /// Takes one inode and `size` bytes rounded up to whole blocks (at least one: a folder, a
    /// symlink or an empty file takes room too), or says why it cannot.
    pub fn charge(&mut self, size: u64, path: &Path) -> Result<(), String> {
        let cost = size
            .checked_next_multiple_of(self.block)
            .unwrap_or(u64::MAX)
            .max(self.block);
        if cost > self.bytes {
            return Err(format!(
                "entry {}: {size} bytes, more than the free space left for the image",
                path.display()
            ));
        }
        if self.inodes == 0 {
            return Err(format!(
                "entry {}: more files than the free inodes left for the image",
                path.display()
            ));
        }
        self.bytes -= cost;
        self.inodes -= 1;
        Ok(())
    }
}

/// Unpacks the tar `r` into `root` (an open folder); `dirs` collects folder modes; `budget` is
/// what the entries may still take (each is charged from its header, before it is made).
pub fn layer(
    root: &OwnedFd,
    r: impl Read,
    dirs: &mut DirModes,
    budget: &mut Budget,
) -> Result<(), String> {
    let mut ar = tar::Archive::new(r);
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let entries = ar.entries().map_err(|e| format!("not a tar: {e}"))?;
    for e in entries {
        let mut e = e.map_err(|e| format!("corrupt tar: {e}"))?;
        let kind = e.header().entry_type();
        if matches!(
            kind,
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader
        ) {
            continue;
        }
        let raw = e.path_bytes().into_owned();
        let Some(path) = clean(&raw)? else {
            continue; // "./" itself
        };
        let name_os = path.file_name().unwrap_or_default().to_owned();
        let name_s = name_os.to_string_lossy();
        let parent = path.parent().unwrap_or(Path::new(""));
        let pdir = open_dir(root, parent, &path)?;
        if name_s == OPAQUE {
            clear_dir(&pdir, &seen, parent)?;
            continue;
        }
        if let Some(gone) = name_s.strip_prefix(WH) {
            // `.wh..` or `.wh...` would name the folder itself or its parent (at the top: the
            // cache's temporary folder).
            if gone.is_empty() || gone == "." || gone == ".." {
                return Err(format!("entry {}: a whiteout of no file", path.display()));
            }
            remove_at(pdir.as_raw_fd(), &cstr(std::ffi::OsStr::new(gone)))?;
            continue;
        }
        let name = cstr(&name_os);
        let mode = e
            .header()
            .mode()
            .map_err(|e| format!("entry {}: {e}", path.display()))?
            & 0o1777; // setuid and setgid dropped
                      // The size is in the header: an entry that cannot fit is refused before a byte of it
                      // is written (a small compressed layer can claim terabytes, or millions of entries).
        let size = match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous => e.size(),
            tar::EntryType::Symlink => e.link_name_bytes().map_or(0, |t| t.len() as u64),
            _ => 0,
        };
        budget.charge(size, &path)?;
        let existing = lstat_at(pdir.as_raw_fd(), &name);
        let pfd = pdir.as_raw_fd();
        match kind {
            tar::EntryType::Directory => {
                match existing {
                    Some(st) if is_dir(&st) => {}
                    other => {
                        if other.is_some() {
                            remove_at(pfd, &name)?;
                        }
                        // SAFETY: valid descriptor and C string.
                        if unsafe { libc::mkdirat(pfd, name.as_ptr(), 0o700) } != 0 {
                            return Err(errno_msg("cannot make folder", &path));
                        }
                    }
                }
                dirs.push((path.clone(), mode));
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                if existing.is_some() {
                    remove_at(pfd, &name)?;
                }
                let fd = crate::sandbox::sys::openat(
                    pfd,
                    &name,
                    libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW,
                    0o600,
                )
                .map_err(|er| format!("cannot write {}: {er}", path.display()))?;
                let mut f = File::from(fd);
                std::io::copy(&mut e, &mut f)
                    .map_err(|er| format!("entry {}: {er}", path.display()))?;
                use std::os::unix::fs::PermissionsExt;
                f.set_permissions(std::fs::Permissions::from_mode(mode & 0o777))
                    .map_err(|er| format!("chmod {}: {er}", path.display()))?;
            }
            tar::EntryType::Symlink => {
                let target = e
                    .link_name_bytes()
                    .ok_or_else(|| format!("entry {}: a symlink without target", path.display()))?;
                if existing.is_some() {
                    remove_at(pfd, &name)?;
                }
                let t = CString::new(target.into_owned())
                    .map_err(|_| format!("entry {}: a NUL byte in the target", path.display()))?;
                // The target is only text here: it is resolved inside the sandbox, never by us.
                // SAFETY: valid C strings and descriptor.
                if unsafe { libc::symlinkat(t.as_ptr(), pfd, name.as_ptr()) } != 0 {
                    return Err(errno_msg("cannot make symlink", &path));
                }
            }
            tar::EntryType::Link => {
                let target = e.link_name_bytes().ok_or_else(|| {
                    format!("entry {}: a hard link without target", path.display())
                })?;
                let Some(tp) = clean(&target)? else {
                    return Err(format!("entry {}: a hard link to the root", path.display()));
                };
                let tdir = open_dir(root, tp.parent().unwrap_or(Path::new("")), &path)?;
                let tname = cstr(tp.file_name().unwrap_or_default());
                match lstat_at(tdir.as_raw_fd(), &tname) {
                    Some(st) if st.st_mode & libc::S_IFMT == libc::S_IFREG => {}
                    _ => {
                        return Err(format!(
                            "entry {}: a hard link to {}, which is not a file unpacked before it",
                            path.display(),
                            tp.display()
                        ))
                    }
                }
                if existing.is_some() {
                    remove_at(pfd, &name)?;
                }
                // SAFETY: valid descriptors and C strings; flags 0: a symlink is never followed.
                if unsafe { libc::linkat(tdir.as_raw_fd(), tname.as_ptr(), pfd, name.as_ptr(), 0) }
                    != 0
                {
                    return Err(errno_msg("cannot make hard link", &path));
                }
            }
            tar::EntryType::Fifo => {
                if existing.is_some() {
                    remove_at(pfd, &name)?;
                }
                // SAFETY: valid descriptor and C string.
                if unsafe { libc::mknodat(pfd, name.as_ptr(), libc::S_IFIFO | (mode & 0o777), 0) }
                    != 0
                {
                    return Err(errno_msg("cannot make fifo", &path));
                }
            }
            tar::EntryType::Char | tar::EntryType::Block => {
                return Err(format!(
                    "entry {}: a device node (images may not bring devices; /dev is jail's)",
                    path.display()
                ))
            }
            other => {
                return Err(format!(
                    "entry {}: unsupported tar entry type {other:?}",
                    path.display()
                ))
            }
        }
        // Its folders too (made on the way when the tar left them out): an opaque whiteout
        // later in this layer keeps them.
        for a in path.ancestors().skip(1) {
            if a.as_os_str().is_empty() || !seen.insert(a.to_path_buf()) {
                break;
            }
        }
        seen.insert(path);
    }
    Ok(())
}

/// Sets the folders' modes once every layer is in, deepest first.
pub fn finish(root: &OwnedFd, dirs: &mut DirModes) -> Result<(), String> {
    dirs.sort_by_key(|(p, _)| std::cmp::Reverse(p.components().count()));
    for (p, mode) in dirs.iter() {
        let parent = p.parent().unwrap_or(Path::new(""));
        let Ok(pdir) = open_dir(root, parent, p) else {
            continue; // removed by a later whiteout
        };
        let name = cstr(p.file_name().unwrap_or_default());
        match lstat_at(pdir.as_raw_fd(), &name) {
            Some(st) if is_dir(&st) => {}
            _ => continue,
        }
        // SAFETY: valid descriptor and C string; the entry is a folder (checked above), and
        // fchmodat does not follow a last-component symlink with mode bits on Linux anyway.
        if unsafe { libc::fchmodat(pdir.as_raw_fd(), name.as_ptr(), *mode & 0o1777, 0) } != 0 {
            return Err(errno_msg("chmod", p));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{clean, layer, Budget};
    use std::os::fd::OwnedFd;

    /// A tar of `n` entries made by `add`.
    fn tar_of(n: usize, add: impl Fn(&mut tar::Builder<Vec<u8>>, usize)) -> Vec<u8> {
        let mut b = tar::Builder::new(vec![]);
        for i in 0..n {
            add(&mut b, i);
        }
        b.into_inner().unwrap()
    }

    fn unpack(t: &[u8], budget: &mut Budget) -> Result<(), String> {
        let d = std::env::temp_dir().join(format!("jail-unit-budget-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let root = OwnedFd::from(std::fs::File::open(&d).unwrap());
        let r = layer(&root, t, &mut vec![], budget);
        std::fs::remove_dir_all(&d).unwrap();
        r
    }

    /// Symlinks and folders have no size in their header, yet take room: each is charged a
    /// block (a layer of a million symlinks would otherwise pass a bytes check at 0 bytes).
    #[test]
    fn symlinks_and_folders_are_charged_blocks_and_inodes() {
        let links = tar_of(50, |b, i| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_mode(0o777);
            h.set_size(0);
            b.append_link(&mut h, format!("l{i}"), "target").unwrap();
        });
        let dirs = tar_of(50, |b, i| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(0o755);
            h.set_size(0);
            b.append_data(&mut h, format!("d{i}/"), &[][..]).unwrap();
        });
        let big = Budget {
            bytes: 1 << 30,
            inodes: 1 << 20,
            block: 4096,
        };
        // The ground: these layers hold no file bytes at all, and unpack with room to spare.
        for t in [&links, &dirs] {
            let r = unpack(t, &mut big.clone());
            assert!(r.is_ok(), "{r:?}");
        }
        let small = Budget {
            bytes: 10 * 4096,
            ..big
        };
        for t in [&links, &dirs] {
            let e = unpack(t, &mut small.clone()).unwrap_err();
            assert!(e.contains("free space"), "{e}");
        }
        let few = Budget { inodes: 10, ..big };
        for t in [&links, &dirs] {
            let e = unpack(t, &mut few.clone()).unwrap_err();
            assert!(e.contains("inodes"), "{e}");
        }
        let mut b = big;
        b.charge(1, std::path::Path::new("x")).unwrap();
        b.charge(4097, std::path::Path::new("y")).unwrap();
        assert_eq!((big.bytes - b.bytes, big.inodes - b.inodes), (3 * 4096, 2));
    }
    #[test]
    fn paths_outside_the_root_are_refused() {
        assert!(clean(b"/etc/passwd").is_err());
        assert!(clean(b"../x").is_err());
        assert!(clean(b"a/../../x").is_err());
        assert!(clean(b"a\0b").is_err());
        assert_eq!(clean(b"./").unwrap(), None);
        assert_eq!(clean(b"./a//b/").unwrap().unwrap().to_str(), Some("a/b"));
    }
}
