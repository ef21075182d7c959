//! Builds the sandbox's filesystem from the plan's mount steps, then pivots into it.
//!
//! Order and why:
//! 1. Make every mount private, so nothing done here propagates back to the host.
//! 2. Open the host paths the plan needs under `/tmp` (bind sources, the rootfs image, overlay
//!    layers) *before* the scratch tmpfs covers them, with `RESOLVE_NO_SYMLINKS`: the plan
//!    resolved them already, so a symlink found now was planted since, and is refused. Every
//!    other source is opened the same way just before its step and closed right after it:
//!    nothing mounted here is visible outside `/tmp`, so the path reaches the same file then,
//!    and jail holds a few descriptors at a time, not one per grant (it runs at `ulimit -n 16`,
//!    and a profile with 10,000 grants runs at the usual 1024).
//! 3. Mount a scratch tmpfs over `/tmp` (our private copy of it): it holds the new root's mount
//!    point, the mask file for hidden files and overlay work folders. None of it is visible once
//!    the old root is detached.
//! 4. Do each step. Targets are reached by walking the new root one component at a time with
//!    `O_NOFOLLOW` and created where missing: a symlink at or above a target is an error, never
//!    followed (the class of bubblewrap's symlink-target escapes). Binds are attached with
//!    `open_tree` + `mount_setattr` + `move_mount` on the target's descriptor, so a bind appears
//!    with its final flags at once and exactly where the walk ended.
//! 5. Make the root read-only, `pivot_root(".", ".")` and detach the old root.

use super::error::{Result, Step, StepError};
use super::sys::{self, fd_path};
use crate::plan::mounts::{Access, ProcWrites, PROC_MASKED};
use crate::plan::{MountStep, Plan};
use nix::errno::Errno;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Component, Path};

mod mask;
mod walk;
use mask::*;
use walk::*;

const SCRATCH: &str = "/tmp";
const NEW_ROOT: &str = "/tmp/root";

/// Attaches a clone of `source`'s mount tree at `target` with `attrs` set on every mount of it.
fn bind(source: &OwnedFd, target: &OwnedFd, attrs: u64, shown: &str) -> Result<()> {
    let tree =
        sys::open_tree_clone(source.as_raw_fd()).step(|| format!("bind {shown}: open_tree"))?;
    if attrs != 0 {
        sys::mount_setattr(tree.as_raw_fd(), true, attrs, 0)
            .step(|| format!("bind {shown}: set flags"))?;
    }
    sys::move_mount_to(tree.as_raw_fd(), target.as_raw_fd())
        .step(|| format!("bind {shown}: move_mount"))
}

fn mount_fs(
    fstype: &str,
    target: &OwnedFd,
    flags: MsFlags,
    data: Option<&str>,
    shown: &str,
) -> Result<()> {
    mount(
        Some(fstype),
        fd_path(target).as_str(),
        Some(fstype),
        flags,
        data,
    )
    .step(|| format!("mount {fstype} on {shown}"))
}

/// Host descriptors opened before the scratch tmpfs covers `/tmp`.
struct Sources {
    /// Per mount step: its sources when one of them is under `/tmp` (opened early), None when
    /// they are opened just before the step.
    per_step: Vec<Option<Vec<OwnedFd>>>,
}

/// The host paths a step reads, in the order [`step_sources`] opens them.
fn source_paths(m: &MountStep) -> Vec<std::path::PathBuf> {
    match m {
        MountStep::RootImage { source } | MountStep::Bind { source, .. } => vec![source.clone()],
        MountStep::Dev { nodes, .. } => nodes.iter().map(|n| Path::new("/dev").join(n)).collect(),
        MountStep::Overlay {
            lower, upper, work, ..
        } => {
            let mut v = lower.clone();
            if let (Some(u), Some(w)) = (upper, work) {
                v.push(u.clone());
                v.push(w.clone());
            }
            v
        }
        _ => vec![],
    }
}

/// Opens the sources of one step.
fn step_sources(m: &MountStep) -> Result<Vec<OwnedFd>> {
    let what = match m {
        MountStep::RootImage { .. } => "rootfs",
        MountStep::Bind { .. } => "bind source",
        MountStep::Dev { .. } => "device",
        _ => "overlay layer",
    };
    let paths = source_paths(m);
    let n = paths.len();
    paths
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let what = match m {
                MountStep::Overlay {
                    upper: Some(_),
                    work: Some(_),
                    ..
                } if i + 2 == n => "overlay upper",
                MountStep::Overlay {
                    upper: Some(_),
                    work: Some(_),
                    ..
                } if i + 1 == n => "overlay work",
                _ => what,
            };
            open_host(p, what)
        })
        .collect()
}

/// Opens now what the scratch tmpfs over `/tmp` is about to hide.
fn open_sources(plan: &Plan) -> Result<Sources> {
    let mut per_step = vec![];
    for m in &plan.mounts {
        let early = source_paths(m).iter().any(|p| p.starts_with(SCRATCH));
        per_step.push(if early { Some(step_sources(m)?) } else { None });
    }
    Ok(Sources { per_step })
}

fn access_attrs(a: Access) -> u64 {
    match a {
        Access::Ro => sys::MOUNT_ATTR_RDONLY | sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NODEV,
        Access::Rw => sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NODEV,
        // Read-only too: a device node opens for writing on a read-only mount (the kernel
        // checks write access to the mount only for regular files, folders and symlinks), but
        // its mode, owner and times cannot change. A sandbox started by root is the owner of
        // the host's nodes and could otherwise chmod them for every user.
        Access::Dev => sys::MOUNT_ATTR_RDONLY | sys::MOUNT_ATTR_NOSUID,
    }
}

/// Builds the whole filesystem and pivots into it. Runs in the child, inside the new user and
/// mount namespaces, before any of COMMAND's code.
pub fn build(plan: &Plan, verbose: bool) -> Result<()> {
    let say = |s: &str| {
        if verbose {
            eprintln!("jail: {s}");
        }
    };
    // 1. Nothing we mount may propagate to the host.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .step(|| "make mounts private".into())?;

    // 2. Host paths under /tmp, opened while the scratch tmpfs does not hide them yet.
    let mut sources = open_sources(plan)?;

    // 3. Scratch space and the new root's mount point.
    let nosuid_nodev = MsFlags::MS_NOSUID | MsFlags::MS_NODEV;
    // Bounded: it holds the throwaway writable layers of an image root and of overlays.
    let scratch = format!(
        "mode=0700,size={},nr_inodes={}",
        plan.scratch.size, plan.scratch.inodes
    );
    mount(
        Some("tmpfs"),
        SCRATCH,
        Some("tmpfs"),
        nosuid_nodev,
        Some(scratch.as_str()),
    )
    .step(|| "mount scratch tmpfs".into())?;
    std::fs::create_dir(NEW_ROOT).step(|| "create new root".into())?;
    // The mask put over hidden files: an empty file nobody may read.
    let mask = format!("{SCRATCH}/mask");
    std::fs::File::create(&mask).step(|| "create mask file".into())?;
    nix::sys::stat::fchmodat(
        nix::fcntl::AT_FDCWD,
        mask.as_str(),
        nix::sys::stat::Mode::empty(),
        nix::sys::stat::FchmodatFlags::NoFollowSymlink,
    )
    .step(|| "chmod mask file".into())?;
    let mask_fd = open_host(Path::new(&mask), "mask")?;
    // What placeholders show: an empty file anyone may read, nobody may write.
    let empty = format!("{SCRATCH}/empty");
    std::fs::File::create(&empty).step(|| "create placeholder file".into())?;
    nix::sys::stat::fchmodat(
        nix::fcntl::AT_FDCWD,
        empty.as_str(),
        nix::sys::stat::Mode::from_bits_truncate(0o444),
        nix::sys::stat::FchmodatFlags::NoFollowSymlink,
    )
    .step(|| "chmod placeholder file".into())?;
    let empty_fd = open_host(Path::new(&empty), "placeholder")?;

    let mut root: Option<OwnedFd> = None;
    let mut writable_root = false;
    for (i, step) in plan.mounts.iter().enumerate() {
        // Sources not under /tmp are opened now, and closed at the end of the step (device
        // nodes one at a time, by do_step).
        let srcs = match sources.per_step[i].take() {
            Some(v) => v,
            None if matches!(step, MountStep::Dev { .. }) => vec![],
            None => step_sources(step)?,
        };
        say(&format!("mount {}", step.target().display()));
        match step {
            MountStep::RootTmpfs => {
                mount(
                    Some("tmpfs"),
                    NEW_ROOT,
                    Some("tmpfs"),
                    nosuid_nodev,
                    Some("mode=0755"),
                )
                .step(|| "mount root tmpfs".into())?;
                root = Some(open_host(Path::new(NEW_ROOT), "new root")?);
            }
            MountStep::RootImage { source } => {
                // Writes go to a throwaway upper layer in scratch; the image is never modified.
                for d in ["upper", "work"] {
                    std::fs::create_dir(format!("{SCRATCH}/{d}"))
                        .step(|| "create overlay folders".into())?;
                }
                let lower = fd_path(&srcs[0]);
                let opts = format!(
                    "lowerdir={lower},upperdir={SCRATCH}/upper,workdir={SCRATCH}/work,userxattr"
                );
                let r = mount(
                    Some("overlay"),
                    NEW_ROOT,
                    Some("overlay"),
                    nosuid_nodev,
                    Some(opts.as_str()),
                );
                // With the layer the root stays writable (SPEC §6: a throwaway writable layer).
                writable_root = r.is_ok();
                if r.is_err() {
                    // Without overlayfs: the image read-only as it is (mount points must exist in it).
                    say("overlayfs refused: the image is the read-only root");
                    let t = open_host(Path::new(NEW_ROOT), "new root")?;
                    bind(
                        &srcs[0],
                        &t,
                        sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NODEV,
                        &source.display().to_string(),
                    )?;
                }
                root = Some(open_host(Path::new(NEW_ROOT), "new root")?);
            }
            _ => {
                let root = root.as_ref().ok_or_else(|| {
                    StepError::detail("mount", Errno::EINVAL, "plan has no root step first")
                })?;
                do_step(root, step, &srcs, &mask_fd, &empty_fd)?;
            }
        }
    }
    let root = root.ok_or_else(|| StepError::detail("mount", Errno::EINVAL, "plan has no root"))?;

    // 5. Read-only root (only the root mount: the grants below keep their own flags), except an
    // image's throwaway layer, which is there to be written.
    let ro = if writable_root {
        0
    } else {
        sys::MOUNT_ATTR_RDONLY
    };
    sys::mount_setattr(
        root.as_raw_fd(),
        false,
        ro | sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NODEV,
        0,
    )
    .step(|| "make the root read-only".into())?;
    drop(root);
    nix::unistd::chdir(NEW_ROOT).step(|| "enter the new root".into())?;
    // pivot_root(".", "."): the old root ends up stacked on the new one, and is detached next.
    nix::unistd::pivot_root(".", ".").step(|| "pivot_root".into())?;
    umount2(".", MntFlags::MNT_DETACH).step(|| "detach the old root".into())?;
    nix::unistd::chdir("/").step(|| "chdir /".into())?;
    say("pivoted into the new root");
    Ok(())
}

fn do_step(
    root: &OwnedFd,
    step: &MountStep,
    srcs: &[OwnedFd],
    mask: &OwnedFd,
    empty: &OwnedFd,
) -> Result<()> {
    let target = step.target();
    let shown = target.display().to_string();
    let ms = |f: MsFlags| f;
    match step {
        MountStep::RootTmpfs | MountStep::RootImage { .. } => Ok(()),
        MountStep::Proc { writes, .. } => {
            let t = walk(root, target, Make::Dir)?;
            let ro = match writes {
                ProcWrites::None => MsFlags::MS_RDONLY,
                ProcWrites::OwnProcesses => MsFlags::empty(),
            };
            mount_fs(
                "proc",
                &t,
                ms(MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC | ro),
                None,
                &shown,
            )?;
            harden_proc(root, target, *writes, mask)
        }
        MountStep::Dev { nodes, shm, .. } => {
            let t = walk(root, target, Make::Dir)?;
            mount_fs(
                "tmpfs",
                &t,
                MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
                Some("mode=0755"),
                &shown,
            )?;
            for (k, name) in nodes.iter().enumerate() {
                let opened;
                let src = match srcs.get(k) {
                    Some(s) => s,
                    None => {
                        opened = open_host(&Path::new("/dev").join(name), "device")?;
                        &opened
                    }
                };
                let p = target.join(name);
                let nt = walk(root, &p, Make::File)?;
                // Read-only: the node still opens for writing, its attributes cannot change
                // (see access_attrs).
                bind(
                    src,
                    &nt,
                    sys::MOUNT_ATTR_RDONLY | sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NOEXEC,
                    &p.display().to_string(),
                )?;
            }
            let pts = walk(root, &target.join("pts"), Make::Dir)?;
            mount_fs(
                "devpts",
                &pts,
                MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
                Some("newinstance,ptmxmode=0666,mode=0620"),
                "/dev/pts",
            )?;
            let shm_fd = walk(root, &target.join("shm"), Make::Dir)?;
            let data = match shm {
                Some(b) => format!("mode=1777,size={},nr_inodes={}", b.size, b.inodes),
                None => "mode=1777".into(),
            };
            mount_fs(
                "tmpfs",
                &shm_fd,
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                Some(&data),
                "/dev/shm",
            )?;
            let dev = walk(root, target, Make::Dir)?;
            for (link, to) in [
                ("ptmx", "pts/ptmx"),
                ("fd", "/proc/self/fd"),
                ("stdin", "/proc/self/fd/0"),
                ("stdout", "/proc/self/fd/1"),
                ("stderr", "/proc/self/fd/2"),
            ] {
                nix::unistd::symlinkat(to, &dev, link).step(|| format!("symlink /dev/{link}"))?;
            }
            Ok(())
        }
        MountStep::Tmpfs {
            size, inodes, mode, ..
        } => {
            let t = walk(root, target, Make::Dir)?;
            let mut data = format!("mode={mode:o}");
            if let Some(s) = size {
                data.push_str(&format!(",size={s}"));
            }
            if let Some(i) = inodes {
                data.push_str(&format!(",nr_inodes={i}"));
            }
            mount_fs(
                "tmpfs",
                &t,
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                Some(&data),
                &shown,
            )
        }
        MountStep::Bind { access, .. } => {
            let src = &srcs[0];
            let t = walk(
                root,
                target,
                if is_dir(src) { Make::Dir } else { Make::File },
            )?;
            bind(src, &t, access_attrs(*access), &shown)
        }
        MountStep::MaskPrivate { .. } => mask_private(root, target, mask),
        MountStep::Placeholder { dir, .. } => {
            let t = walk(root, target, if *dir { Make::Dir } else { Make::File })?;
            if *dir {
                mount_fs(
                    "tmpfs",
                    &t,
                    MsFlags::MS_RDONLY
                        | MsFlags::MS_NOSUID
                        | MsFlags::MS_NODEV
                        | MsFlags::MS_NOEXEC,
                    Some("mode=0755,size=4k"),
                    &shown,
                )
            } else {
                bind(
                    empty,
                    &t,
                    sys::MOUNT_ATTR_RDONLY
                        | sys::MOUNT_ATTR_NOSUID
                        | sys::MOUNT_ATTR_NODEV
                        | sys::MOUNT_ATTR_NOEXEC,
                    &shown,
                )
            }
        }
        MountStep::Hide { dir, .. } => {
            let t = walk(root, target, if *dir { Make::Dir } else { Make::File })?;
            mask_at(&t, *dir, mask, &shown)
        }
        MountStep::MachineId { .. } => {
            let t = walk(root, target, Make::File)?;
            let src = machine_id_file(&shown)?;
            bind(
                &src,
                &t,
                sys::MOUNT_ATTR_RDONLY
                    | sys::MOUNT_ATTR_NOSUID
                    | sys::MOUNT_ATTR_NODEV
                    | sys::MOUNT_ATTR_NOEXEC,
                &shown,
            )
        }
        MountStep::Noexec { dir, .. } => {
            // What is shown there now, every mount below included, again on top of itself with
            // noexec added (mount_setattr only sets it: read-only and the rest stay).
            let t = walk(root, target, if *dir { Make::Dir } else { Make::File })?;
            bind(&t, &t, sys::MOUNT_ATTR_NOEXEC, &shown)
        }
        MountStep::Symlink { to, .. } => {
            let parent = target.parent().unwrap_or(Path::new("/"));
            let name = target
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let pfd = walk(root, parent, Make::Dir)?;
            match nix::unistd::symlinkat(to.as_os_str(), &pfd, name.as_str()) {
                Ok(()) => Ok(()),
                Err(Errno::EEXIST) => {
                    let cur = nix::fcntl::readlinkat(&pfd, name.as_str()).ok();
                    if cur.as_deref() == Some(to.as_os_str()) {
                        Ok(())
                    } else {
                        Err(StepError::detail(
                            format!("symlink {shown}"),
                            Errno::EEXIST,
                            "something else is already there",
                        ))
                    }
                }
                Err(e) => Err(StepError::new(format!("symlink {shown}"), e)),
            }
        }
        MountStep::Dir { mode, .. } => {
            let t = walk(root, target, Make::Dir)?;
            nix::sys::stat::fchmod(
                &reopen(&t, &shown)?,
                nix::sys::stat::Mode::from_bits_truncate(*mode),
            )
            .step(|| format!("chmod {shown}"))
        }
        MountStep::File { content, mode, .. } => {
            let parent = target.parent().unwrap_or(Path::new("/"));
            let name = nul_free(
                &target
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            );
            let pfd = walk(root, parent, Make::Dir)?;
            let fd = sys::openat(
                pfd.as_raw_fd(),
                &name,
                libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC | libc::O_NOFOLLOW,
                *mode,
            )
            .step(|| format!("create file {shown}"))?;
            let mut f = std::fs::File::from(fd);
            std::io::Write::write_all(&mut f, content.as_bytes())
                .step(|| format!("write file {shown}"))?;
            nix::sys::stat::fchmod(&f, nix::sys::stat::Mode::from_bits_truncate(*mode))
                .step(|| format!("chmod {shown}"))
        }
        MountStep::Mqueue { .. } => {
            let t = walk(root, target, Make::Dir)?;
            mount_fs(
                "mqueue",
                &t,
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
                None,
                &shown,
            )
        }
        MountStep::Overlay { lower, upper, .. } => {
            let t = walk(root, target, Make::Dir)?;
            let lowers: Vec<String> = srcs[..lower.len()].iter().map(fd_path).collect();
            let opts = if upper.is_some() {
                format!(
                    "lowerdir={},upperdir={},workdir={},userxattr",
                    lowers.join(":"),
                    fd_path(&srcs[lower.len()]),
                    fd_path(&srcs[lower.len() + 1])
                )
            } else {
                // A throwaway upper layer in scratch.
                // A counter, not the descriptor number: numbers are reused by the next
                // overlay once this one's target is closed, and the folders would collide.
                static OVERLAYS: std::sync::atomic::AtomicUsize =
                    std::sync::atomic::AtomicUsize::new(0);
                let n = OVERLAYS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let (u, w) = (format!("{SCRATCH}/ovl{n}u"), format!("{SCRATCH}/ovl{n}w"));
                for d in [&u, &w] {
                    std::fs::create_dir(d).step(|| "create overlay folders".into())?;
                }
                format!(
                    "lowerdir={},upperdir={u},workdir={w},userxattr",
                    lowers.join(":")
                )
            };
            mount_fs(
                "overlay",
                &t,
                MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                Some(&opts),
                &shown,
            )
        }
    }
}

/// The sandbox's random machine id: a file in the scratch tmpfs (made once, every
/// `MachineId` step binds the same), 32 lowercase hex digits and a newline as machine-id(5)
/// has it, from the kernel's random pool.
fn machine_id_file(shown: &str) -> Result<OwnedFd> {
    let path = Path::new(SCRATCH).join("machine-id");
    if !path.exists() {
        let mut b = [0u8; 16];
        // SAFETY: getrandom writes at most b.len() bytes into b.
        let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
        if n != b.len() as isize {
            return Err(StepError::new(
                format!("machine id for {shown}"),
                Errno::last(),
            ));
        }
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        std::fs::write(&path, format!("{hex}\n"))
            .step(|| format!("write machine id for {shown}"))?;
        nix::sys::stat::fchmodat(
            nix::fcntl::AT_FDCWD,
            &path,
            nix::sys::stat::Mode::from_bits_truncate(0o444),
            nix::sys::stat::FchmodatFlags::NoFollowSymlink,
        )
        .step(|| "chmod machine id".into())?;
    }
    open_host(&path, "machine id")
}
