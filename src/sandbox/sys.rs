//! Thin wrappers over the syscalls nix lacks (the new mount API, openat2, clone, close_range),
//! each returning `Result<_, Errno>`. Every `unsafe` block says why it is sound.

use nix::errno::Errno;
use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

pub const OPEN_TREE_CLONE: u32 = 1;
pub const OPEN_TREE_CLOEXEC: u32 = libc::O_CLOEXEC as u32;
pub const MOVE_MOUNT_F_EMPTY_PATH: u32 = 0x4;
pub const MOVE_MOUNT_T_EMPTY_PATH: u32 = 0x40;
pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;
pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
pub const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

fn ret(r: libc::c_long) -> Result<libc::c_long, Errno> {
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(r)
    }
}

fn cstr(s: &str) -> CString {
    // Paths in a plan never hold NUL bytes (the compiler refuses them); an empty string is the
    // safe fallback if one ever did.
    CString::new(s).unwrap_or_default()
}

/// `open_tree(dfd, "", OPEN_TREE_CLONE | AT_RECURSIVE | AT_EMPTY_PATH)`: a detached copy of the
/// mount tree at `fd`, to be adjusted and then attached with [`move_mount_to`].
pub fn open_tree_clone(fd: RawFd) -> Result<OwnedFd, Errno> {
    let empty = cstr("");
    // SAFETY: plain syscall; `empty` outlives the call; the returned fd is owned by us.
    let r = ret(unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            fd,
            empty.as_ptr(),
            OPEN_TREE_CLONE
                | OPEN_TREE_CLOEXEC
                | libc::AT_RECURSIVE as u32
                | libc::AT_EMPTY_PATH as u32,
        )
    })?;
    // SAFETY: the kernel returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) })
}

/// `mount_setattr(fd, "", AT_EMPTY_PATH [| AT_RECURSIVE], {set, clr})`.
pub fn mount_setattr(fd: RawFd, recursive: bool, set: u64, clr: u64) -> Result<(), Errno> {
    let empty = cstr("");
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clr,
        propagation: 0,
        userns_fd: 0,
    };
    let flags = libc::AT_EMPTY_PATH as u32
        | if recursive {
            libc::AT_RECURSIVE as u32
        } else {
            0
        };
    // SAFETY: `attr` and `empty` are valid for the call; the size passed is the struct's.
    ret(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd,
            empty.as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })
    .map(drop)
}

/// `move_mount(tree, "", target, "", F_EMPTY_PATH | T_EMPTY_PATH)`: attaches a detached tree
/// exactly on the dentry `target` was opened at (no path walk, so no symlink can redirect it).
pub fn move_mount_to(tree: RawFd, target: RawFd) -> Result<(), Errno> {
    let empty = cstr("");
    // SAFETY: plain syscall on descriptors we own; `empty` outlives the call.
    ret(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree,
            empty.as_ptr(),
            target,
            empty.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    })
    .map(drop)
}

/// `openat2(dirfd, path, {flags, resolve})`.
pub fn openat2(dirfd: RawFd, path: &str, flags: i32, resolve: u64) -> Result<OwnedFd, Errno> {
    let p = cstr(path);
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve,
    };
    // SAFETY: `how` and `p` are valid for the call and the size is the struct's.
    let r = ret(unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dirfd,
            p.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    })?;
    // SAFETY: a new descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) })
}

/// `openat(dirfd, name, flags)` for one path component.
pub fn openat(dirfd: RawFd, name: &CStr, flags: i32, mode: libc::mode_t) -> Result<OwnedFd, Errno> {
    // SAFETY: `name` is a valid C string; the returned descriptor is owned by us.
    let r = unsafe {
        libc::openat(
            dirfd,
            name.as_ptr(),
            flags | libc::O_CLOEXEC,
            mode as libc::c_uint,
        )
    };
    if r < 0 {
        return Err(Errno::last());
    }
    // SAFETY: a new descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(r) })
}

/// `fstat` of a descriptor.
pub fn fstat(fd: RawFd) -> Result<libc::stat, Errno> {
    // SAFETY: callers pass descriptors they hold open for the call.
    nix::sys::stat::fstat(unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) })
}

/// `/proc/self/fd/N`: names the exact file behind a descriptor for syscalls that take paths.
pub fn fd_path(fd: &impl AsRawFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}

/// `clone(flags | SIGCHLD)` without a new stack: like fork, but creating namespaces at once.
///
/// # Safety
/// The caller must be single-threaded (jail is until `execve`), as with `fork`.
pub unsafe fn clone_fork(flags: u64) -> Result<libc::pid_t, Errno> {
    // SAFETY: no CLONE_VM and a null stack make this behave like fork(2) (the caller guarantees
    // a single thread); the other arguments are unused for these flags.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags | libc::SIGCHLD as u64,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    ret(r).map(|p| p as libc::pid_t)
}

#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

pub const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// `clone3` like [`clone_fork`], born directly in the cgroup v2 folder `cgroup_fd`
/// (`CLONE_INTO_CGROUP`): no window in which the child runs outside its limits, and cheaper
/// than writing `cgroup.procs` afterwards.
///
/// # Safety
/// As for [`clone_fork`]: the caller must be single-threaded.
pub unsafe fn clone3_into_cgroup(flags: u64, cgroup_fd: RawFd) -> Result<libc::pid_t, Errno> {
    let args = CloneArgs {
        flags: flags | CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: cgroup_fd as u64,
        ..Default::default()
    };
    // SAFETY: `args` is a valid clone_args of the size passed; no CLONE_VM and no stack make
    // this behave like fork(2) in a single-threaded caller.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    ret(r).map(|p| p as libc::pid_t)
}

/// Marks every descriptor from `first` on close-on-exec.
pub fn cloexec_from(first: u32) -> Result<(), Errno> {
    // SAFETY: plain syscall without pointers.
    ret(unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, CLOSE_RANGE_CLOEXEC) })
        .map(drop)
}

/// Closes descriptors `first..=last`.
pub fn close_range(first: u32, last: u32) -> Result<(), Errno> {
    // SAFETY: plain syscall without pointers; callers own none of these descriptors any more.
    ret(unsafe { libc::syscall(libc::SYS_close_range, first, last, 0u32) }).map(drop)
}

/// Closes every descriptor from `first` on.
pub fn close_from(first: u32) -> Result<(), Errno> {
    // SAFETY: plain syscall without pointers; no Rust object owns these descriptors any more
    // (callers use it right before exec or in the init loop).
    ret(unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, 0u32) }).map(drop)
}

/// `prctl` with integer arguments.
/// `prctl` options of memory-deny-write-execute (Linux 6.3+), not in every libc yet.
pub const PR_SET_MDWE: i32 = 65;
pub const PR_GET_MDWE: i32 = 66;
pub const PR_MDWE_REFUSE_EXEC_GAIN: u64 = 1;

pub fn prctl(op: i32, a: u64, b: u64) -> Result<i32, Errno> {
    // SAFETY: every prctl jail uses takes integer arguments only.
    let r = unsafe { libc::prctl(op, a, b, 0u64, 0u64) };
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(r)
    }
}

/// Exits now, without running destructors or atexit handlers (for forked children).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit is always safe to call; it never returns.
    unsafe { libc::_exit(code) }
}
