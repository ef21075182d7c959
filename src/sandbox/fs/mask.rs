//! What a sandbox may not read or write even where a grant shows it: the host-wide knobs of a
//! fresh procfs, and the files of others under a host folder bound in.

use super::*;

/// Keeps a fresh procfs from reaching host-wide kernel state (the attack: a sandbox started by
/// root is the host's uid 0, and `/proc/sys`, `sysrq-trigger`, `irq`, `bus` … check uids, not
/// capabilities; `kernel.core_pattern` alone is root code execution on the host).
///
/// - Writable procfs (nested user namespaces): every entry that is not a process's own folder
///   is bound read-only over itself, whatever this kernel has there (a list would miss the next
///   new knob). The binds are locked by the kernel when COMMAND creates its own user namespace,
///   and they make the procfs "not fully visible", so a nested namespace cannot mount a fresh,
///   uncovered one either.
/// - Every procfs: the [`PROC_MASKED`] entries get the unreadable mask (files) or an empty
///   read-only tmpfs (folders), where this kernel has them.
pub(super) fn harden_proc(
    root: &OwnedFd,
    target: &Path,
    writes: ProcWrites,
    mask: &OwnedFd,
) -> Result<()> {
    let shown = target.display().to_string();
    let proc_fd = walk(root, target, Make::Dir)?;
    let names: Vec<String> = std::fs::read_dir(fd_path(&proc_fd))
        .step(|| format!("list {shown}"))?
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_type().map(|t| t.is_symlink()).unwrap_or(true))
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    for name in &names {
        let masked = PROC_MASKED.contains(&name.as_str());
        let own = name.bytes().all(|b| b.is_ascii_digit());
        if own || masked || writes == ProcWrites::None {
            continue;
        }
        let p = target.join(name);
        let fd = sys::openat(
            proc_fd.as_raw_fd(),
            &nul_free(name),
            libc::O_PATH | libc::O_NOFOLLOW,
            0,
        );
        let fd = match fd {
            Ok(fd) => fd,
            // An entry that went away (a process that ended) needs no cover.
            Err(Errno::ENOENT) => continue,
            Err(e) => return Err(StepError::new(format!("open {}", p.display()), e)),
        };
        bind(
            &fd,
            &fd,
            sys::MOUNT_ATTR_RDONLY
                | sys::MOUNT_ATTR_NOSUID
                | sys::MOUNT_ATTR_NODEV
                | sys::MOUNT_ATTR_NOEXEC,
            &p.display().to_string(),
        )?;
    }
    for name in PROC_MASKED {
        if !names.iter().any(|n| n == name) {
            continue;
        }
        let p = target.join(name);
        let t = walk(root, &p, Make::File)?;
        mask_at(&t, is_dir(&t), mask, &p.display().to_string())?;
    }
    Ok(())
}

/// Masks what others may not read under `target` (inside the new root, where a host folder
/// is bound): files get the unreadable mask, folders an empty read-only tmpfs, and a masked
/// folder is not looked into. At most 20,000 entries are looked at; symlinks are never
/// followed (their targets are judged where they lie).
pub(super) fn mask_private(root: &OwnedFd, target: &Path, mask: &OwnedFd) -> Result<()> {
    // A single file (`--ro-bind /etc/shadow`, `/etc/hostname:/mnt/h`): masked when others may
    // not read it.
    if let (Some(parent), Some(name)) = (target.parent(), target.file_name()) {
        let pfd = walk(root, parent, Make::Dir)?;
        if let Ok(st) =
            nix::sys::stat::fstatat(&pfd, name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
        {
            if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
                if st.st_mode & libc::S_IFMT == libc::S_IFREG && st.st_mode & 0o004 == 0 {
                    let t = walk(root, target, Make::File)?;
                    mask_at(&t, false, mask, &target.display().to_string())?;
                }
                return Ok(());
            }
        }
    }
    let mut budget = 20_000usize;
    let mut found: Vec<(std::path::PathBuf, bool)> = vec![];
    let at = walk(root, target, Make::Dir)?;
    // The walk's descriptor is O_PATH, which cannot be listed: the folder itself, opened
    // through it. Fail closed: a folder that cannot be looked into would mask nothing.
    let top = nix::fcntl::open(
        fd_path(&at).as_str(),
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| StepError::new(format!("list {}", target.display()), e))?;
    scan_private(top, target, &mut budget, &mut found);
    for (p, dir) in found {
        let t = walk(root, &p, if dir { Make::Dir } else { Make::File })?;
        mask_at(&t, dir, mask, &p.display().to_string())?;
    }
    Ok(())
}

/// Looks through the folder `dir` (at `shown` inside) for what others may not read, each
/// folder opened from its parent's descriptor (`O_NOFOLLOW`) and each entry judged from the
/// folder's own listing: symlinks and special files by their type alone, regular files and
/// folders by one `fstatat` (no symlink followed). A folder others may not list or enter is
/// masked whole and not looked into, and so is a folder that cannot be opened (one that went
/// away needs nothing). `budget` bounds the entries looked at.
fn scan_private(
    dir: OwnedFd,
    shown: &Path,
    budget: &mut usize,
    found: &mut Vec<(std::path::PathBuf, bool)>,
) {
    use std::os::unix::ffi::OsStrExt;
    let mut subdirs: Vec<std::ffi::CString> = vec![];
    let mut buf = vec![0u8; 32 << 10];
    'listing: loop {
        // SAFETY: getdents64 writes at most `buf.len()` bytes of records into our buffer.
        let n = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                dir.as_raw_fd(),
                buf.as_mut_ptr(),
                buf.len(),
            )
        };
        if n <= 0 {
            break;
        }
        let mut off = 0usize;
        while off + 19 < n as usize {
            // struct linux_dirent64: ino u64, off i64, reclen u16, type u8, name NUL-ended.
            let reclen = u16::from_ne_bytes([buf[off + 16], buf[off + 17]]) as usize;
            let dtype = buf[off + 18];
            if reclen == 0 || off + reclen > n as usize {
                break 'listing;
            }
            let raw = &buf[off + 19..off + reclen];
            off += reclen;
            let Ok(name) = std::ffi::CStr::from_bytes_until_nul(raw) else {
                continue;
            };
            let b = name.to_bytes();
            if b == b"." || b == b".." {
                continue;
            }
            if *budget == 0 {
                break 'listing;
            }
            *budget -= 1;
            // Neither followed nor masked: a symlink is judged where it points, a device,
            // FIFO or socket has no content to read here.
            if matches!(
                dtype,
                libc::DT_LNK | libc::DT_FIFO | libc::DT_SOCK | libc::DT_CHR | libc::DT_BLK
            ) {
                continue;
            }
            let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
            // SAFETY: a NUL-ended name relative to our folder descriptor, into our buffer.
            let r = unsafe {
                libc::fstatat(
                    dir.as_raw_fd(),
                    name.as_ptr(),
                    st.as_mut_ptr(),
                    libc::AT_SYMLINK_NOFOLLOW,
                )
            };
            if r != 0 {
                continue;
            }
            // SAFETY: fstatat succeeded and filled it.
            let mode = unsafe { st.assume_init() }.st_mode;
            let p = shown.join(std::ffi::OsStr::from_bytes(b));
            match mode & libc::S_IFMT {
                libc::S_IFDIR => {
                    if mode & 0o004 == 0 || mode & 0o001 == 0 {
                        found.push((p, true));
                    } else {
                        subdirs.push(name.to_owned());
                    }
                }
                libc::S_IFREG if mode & 0o004 == 0 => found.push((p, false)),
                _ => {}
            }
        }
    }
    drop(buf);
    for name in subdirs {
        // SAFETY: a NUL-ended name relative to our folder descriptor.
        let fd = unsafe {
            libc::openat(
                dir.as_raw_fd(),
                name.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            )
        };
        let p = shown.join(std::ffi::OsStr::from_bytes(name.to_bytes()));
        if fd >= 0 {
            // SAFETY: a descriptor openat just gave us, owned from here on.
            let fd = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
            scan_private(fd, &p, budget, found);
        } else if Errno::last() != Errno::ENOENT {
            // Fail closed: a folder that cannot be looked into (out of descriptors in a very
            // deep tree, a symlink swapped in) is masked whole; one that went away needs none.
            found.push((p, true));
        }
    }
}

/// Masks what `t` is: a folder gets an empty read-only tmpfs nobody may enter, a file the
/// unreadable mask (what `hide` and the /proc and /etc masks show).
pub(super) fn mask_at(t: &OwnedFd, dir: bool, mask: &OwnedFd, shown: &str) -> Result<()> {
    if dir {
        mount_fs(
            "tmpfs",
            t,
            MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            Some("mode=000,size=4k"),
            shown,
        )
    } else {
        bind(
            mask,
            t,
            sys::MOUNT_ATTR_RDONLY
                | sys::MOUNT_ATTR_NOSUID
                | sys::MOUNT_ATTR_NODEV
                | sys::MOUNT_ATTR_NOEXEC,
            shown,
        )
    }
}
