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

const SCRATCH: &str = "/tmp";
const NEW_ROOT: &str = "/tmp/root";

/// What a target is created as when missing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Make {
    Dir,
    File,
}

fn nul_free(s: &str) -> CString {
    CString::new(s).unwrap_or_default()
}

/// Walks `path` (absolute, inside the new root) from `root` without following any symlink,
/// creating missing folders, and returns an `O_PATH` descriptor of the final component
/// (created as `make` when missing).
fn walk(root: &OwnedFd, path: &Path, make: Make) -> Result<OwnedFd> {
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

fn symlink_refused(target: &str, upto: &[&std::ffi::OsStr]) -> StepError {
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
fn open_host(path: &Path, what: &str) -> Result<OwnedFd> {
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

fn is_dir(fd: &OwnedFd) -> bool {
    sys::fstat(fd.as_raw_fd())
        .map(|s| s.st_mode & libc::S_IFMT == libc::S_IFDIR)
        .unwrap_or(false)
}

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
        Access::Dev => sys::MOUNT_ATTR_NOSUID,
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
                if r.is_err() {
                    // Without overlayfs: the image read-only as it is (mount points must exist in it).
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

    // 5. Read-only root (only the root mount: the grants below keep their own flags).
    sys::mount_setattr(
        root.as_raw_fd(),
        false,
        sys::MOUNT_ATTR_RDONLY | sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NODEV,
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
                bind(
                    src,
                    &nt,
                    sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NOEXEC,
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
                let n = t.as_raw_fd();
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
fn harden_proc(root: &OwnedFd, target: &Path, writes: ProcWrites, mask: &OwnedFd) -> Result<()> {
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
fn mask_private(root: &OwnedFd, target: &Path, mask: &OwnedFd) -> Result<()> {
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
fn mask_at(t: &OwnedFd, dir: bool, mask: &OwnedFd, shown: &str) -> Result<()> {
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

/// An `O_PATH` descriptor cannot be written through; reopen it for fchmod.
fn reopen(fd: &OwnedFd, shown: &str) -> Result<OwnedFd> {
    sys::openat2(
        libc::AT_FDCWD,
        &fd_path(fd),
        libc::O_RDONLY | libc::O_DIRECTORY,
        0,
    )
    .step(|| format!("open {shown}"))
}
