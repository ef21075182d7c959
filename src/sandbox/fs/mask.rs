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
    let mut todo = vec![target.to_path_buf()];
    let mut found: Vec<(std::path::PathBuf, bool)> = vec![];
    while let Some(dir) = todo.pop() {
        let fd = walk(root, &dir, Make::Dir)?;
        let Ok(rd) = std::fs::read_dir(fd_path(&fd)) else {
            continue;
        };
        for e in rd.flatten() {
            if budget == 0 {
                break;
            }
            budget -= 1;
            let Ok(m) = e.metadata() else { continue };
            use std::os::unix::fs::PermissionsExt;
            let mode = m.permissions().mode();
            let p = dir.join(e.file_name());
            if m.is_dir() {
                if mode & 0o004 == 0 || mode & 0o001 == 0 {
                    found.push((p, true));
                } else {
                    todo.push(p);
                }
            } else if m.is_file() && mode & 0o004 == 0 {
                found.push((p, false));
            }
        }
    }
    for (p, dir) in found {
        let t = walk(root, &p, if dir { Make::Dir } else { Make::File })?;
        mask_at(&t, dir, mask, &p.display().to_string())?;
    }
    Ok(())
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
