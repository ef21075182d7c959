//! The two filters every plan installs whatever the profile says: the guard (foreign ABI and
//! x32 calls → kill) and the always-on guarantees (TIOCSTI/TIOCLINUX, clone3, namespace flags
//! not granted by `nested`, set-ID bits in file modes, changing the caller's stdio through
//! descriptors 0-2, openat2, and — when the host's pid namespace is shared — calls that act on
//! another process by pid).

use super::bpf::{
    check_len, dispatch, off_arg_hi, off_arg_lo, Asm, Target, BPF_JEQ_K, BPF_JGE_K, BPF_JSET_K,
    BPF_LD_W_ABS, OFF_ARCH, OFF_NR, RET_ALLOW, RET_ERRNO, RET_KILL_PROCESS,
};
use super::{Arch, BpfFilter, SeccompError};
use std::collections::BTreeMap;

const X32_SYSCALL_BIT: u32 = 0x4000_0000;
pub const TIOCSTI: u32 = 0x5412;
pub const TIOCLINUX: u32 = 0x541C;

// ---------------------------------------------------------------------------------------------
// Namespaces
// ---------------------------------------------------------------------------------------------

/// Every CLONE_NEW* flag with its name (`jail export` writes the same checks).
pub const NS_FLAGS: &[(u64, &str)] = &[
    (0x0002_0000, "CLONE_NEWNS"),
    (0x0200_0000, "CLONE_NEWCGROUP"),
    (0x0400_0000, "CLONE_NEWUTS"),
    (0x0800_0000, "CLONE_NEWIPC"),
    (0x1000_0000, "CLONE_NEWUSER"),
    (0x2000_0000, "CLONE_NEWPID"),
    (0x4000_0000, "CLONE_NEWNET"),
    (0x0000_0080, "CLONE_NEWTIME"),
];
pub const CLONE_NEWTIME: u64 = 0x80;

/// Every CLONE_NEW* flag.
pub const ALL_NAMESPACES: u64 = 0x0002_0000
    | 0x0200_0000
    | 0x0400_0000
    | 0x0800_0000
    | 0x1000_0000
    | 0x2000_0000
    | 0x4000_0000
    | 0x80;

fn ns_names(mask: u64) -> String {
    let v: Vec<&str> = NS_FLAGS
        .iter()
        .filter(|(f, _)| mask & f != 0)
        .map(|(_, n)| *n)
        .collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join("|")
    }
}

/// S_ISUID | S_ISGID.
pub const SETID_BITS: u32 = 0o6000;

/// System calls taking a file mode, with the index of the mode argument. The always-on filter
/// refuses them when the mode holds S_ISUID or S_ISGID, whatever the flags (glibc and musl pass
/// 0 as the mode of an open/openat without O_CREAT/O_TMPFILE). The kernel's `umode_t` is 16
/// bits, so testing two bits of the low word is exact. mkdir/mkdirat are not here: the kernel
/// keeps only the permission and sticky bits of their mode.
pub const MODE_ARGS: &[(&str, u8)] = &[
    ("chmod", 1),
    ("fchmod", 1),
    ("fchmodat", 2),
    ("fchmodat2", 2),
    ("creat", 1),
    ("open", 2),
    ("openat", 3),
    ("mknod", 1),
    ("mknodat", 2),
];

/// Calls that change another process by pid (argument index of the pid) with only a uid
/// check — no signal, no ptrace access, so Landlock's scopes do not see them. In the host's
/// pid namespace they would reach the user's (or root's) other processes: `prlimit64(pid,
/// RLIMIT_CPU, 1)` kills one. Acting on oneself (pid 0) stays allowed.
pub const PID_TARGETED: [(&str, u8); 7] = [
    ("prlimit64", 0),
    ("setpriority", 1),
    ("ioprio_set", 1),
    ("sched_setaffinity", 0),
    ("sched_setscheduler", 0),
    ("sched_setparam", 0),
    ("sched_setattr", 0),
];

/// Calls that change a file through a descriptor (the descriptor in arg0). On 0, 1 and 2 they
/// are refused: those are the caller's standard input and outputs, host files and terminals
/// the profile never granted (`jail run -- cmd < secret` then `fchmod(0, 0666)` would open
/// `secret` to every user, `fchmod(1)` the user's terminal).
pub const STDIO_FD_CALLS: &[&str] = &["fchmod", "fchown", "fchown32", "fsetxattr", "fremovexattr"];

/// Path calls that act on their directory descriptor (arg0) itself: (name, argument that is
/// NULL for "the descriptor itself", argument holding AT_EMPTY_PATH, errno). Refused on 0, 1
/// and 2 like [`STDIO_FD_CALLS`]. The time calls get ENOSYS, not EPERM: `touch FILE` opens
/// FILE onto descriptor 0 and sets its times with `futimens(0)`, and only ENOSYS makes it
/// (gnulib) fall back to setting them by path.
pub const STDIO_AT_CALLS: &[(&str, Option<u8>, Option<u8>, i32)] = &[
    ("utimensat", Some(1), Some(3), libc::ENOSYS),
    ("futimesat", Some(1), None, libc::ENOSYS),
    ("fchmodat2", None, Some(3), libc::EPERM),
    ("fchownat", None, Some(4), libc::EPERM),
    ("setxattrat", None, Some(2), libc::EPERM),
    ("removexattrat", None, Some(2), libc::EPERM),
];

/// Descriptors below this are the standard input and outputs.
pub const STDIO_FDS: u32 = 3;
pub const AT_EMPTY_PATH: u32 = 0x1000;

/// `fd < 3` (low 32 bits of arg0, as the kernel's `int fd`) → `on_stdio`, else `tail`.
fn stdio_fd(asm: &mut Asm, on_stdio: Target, tail: Target) -> Target {
    asm.jump(BPF_JGE_K, STDIO_FDS, tail, on_stdio);
    asm.stmt(BPF_LD_W_ABS, off_arg_lo(0))
}

pub(super) fn always_on_filter(
    arch: Arch,
    nested: u64,
    host_pid: bool,
    lines: &mut Vec<String>,
) -> Result<BpfFilter, SeccompError> {
    let eperm = Target::Ret(RET_ERRNO | libc::EPERM as u32);
    let allow = Target::Ret(RET_ALLOW);
    let forbidden = ALL_NAMESPACES & !nested;
    // In clone(), 0x80 is part of the exit signal (CSIGNAL), not CLONE_NEWTIME: time
    // namespaces can only be created with clone3 (always ENOSYS) or unshare.
    let forbidden_clone = forbidden & !CLONE_NEWTIME;
    let mut asm = Asm::default();
    let mut per_nr = BTreeMap::new();
    let nr = |n: &str| {
        arch.syscall_nr(n)
            .expect("core syscall exists on every supported arch")
    };

    // ioctl(fd, request, ...): the kernel takes `unsigned int cmd`, so only the low 32 bits count.
    let no = asm.jump(BPF_JEQ_K, TIOCLINUX, eperm, allow);
    asm.jump(BPF_JEQ_K, TIOCSTI, eperm, no);
    per_nr.insert(nr("ioctl"), asm.stmt(BPF_LD_W_ABS, off_arg_lo(1)));
    lines.push(
        "ioctl(_, TIOCSTI|TIOCLINUX) -> errno EPERM (low 32 bits of the request compared)".into(),
    );

    per_nr.insert(nr("clone3"), Target::Ret(RET_ERRNO | libc::ENOSYS as u32));
    lines.push("clone3 -> errno ENOSYS (its flags are in memory and cannot be checked; libc falls back to clone)".into());

    if forbidden_clone != 0 {
        asm.jump(BPF_JSET_K, forbidden_clone as u32, eperm, allow);
        let arg = arch.clone_flags_arg();
        per_nr.insert(nr("clone"), asm.stmt(BPF_LD_W_ABS, off_arg_lo(arg)));
        lines.push(format!(
            "clone(flags in arg{arg}) with {} -> errno EPERM",
            ns_names(forbidden_clone)
        ));
    }
    if forbidden != 0 {
        asm.jump(BPF_JSET_K, forbidden as u32, eperm, allow);
        per_nr.insert(nr("unshare"), asm.stmt(BPF_LD_W_ABS, off_arg_lo(0)));
        lines.push(format!(
            "unshare with {} -> errno EPERM",
            ns_names(forbidden)
        ));
        // setns(fd, nstype): nstype 0 = "whatever namespace fd refers to" -> refuse.
        let set = asm.jump(BPF_JSET_K, forbidden as u32, eperm, allow);
        asm.jump(BPF_JEQ_K, 0, eperm, set);
        per_nr.insert(nr("setns"), asm.stmt(BPF_LD_W_ABS, off_arg_lo(1)));
        lines.push(format!(
            "setns with nstype 0 (any) or {} -> errno EPERM",
            ns_names(forbidden)
        ));
    }
    // Setuid/setgid files: the sandbox may run as the host's uid 0 (started by root) or as a
    // user others trust; a file it owns with S_ISUID/S_ISGID in a writable grant would run
    // with that identity outside the sandbox. No capability is needed to set the bits on
    // one's own file, so only seccomp can stop it.
    let mut mode_calls = vec![];
    let mut mode_checks = BTreeMap::new();
    for &(name, arg) in MODE_ARGS {
        if let Some(n) = arch.syscall_nr(name) {
            asm.jump(BPF_JSET_K, SETID_BITS, eperm, allow);
            mode_checks.insert(name, (n, asm.stmt(BPF_LD_W_ABS, off_arg_lo(arg))));
            mode_calls.push(format!("{name}(mode in arg{arg})"));
        }
    }
    lines.push(format!(
        "{} with S_ISUID or S_ISGID in the mode -> errno EPERM (low 32 bits compared, whatever the flags)",
        mode_calls.join(" ")
    ));
    // The caller's stdio (host files, the user's terminal) cannot have its mode, owner, times
    // or extended attributes changed through descriptors 0-2; then the mode check, if any.
    let mut fd_calls = vec![];
    for &name in STDIO_FD_CALLS {
        if let Some(n) = arch.syscall_nr(name) {
            let tail = mode_checks.remove(name).map_or(allow, |(_, t)| t);
            per_nr.insert(n, stdio_fd(&mut asm, eperm, tail));
            fd_calls.push(name);
        }
    }
    lines.push(format!(
        "{} on fd 0, 1 or 2 -> errno EPERM (the caller's stdio; low 32 bits of the fd compared)",
        fd_calls.join(" ")
    ));
    let mut at_calls = vec![];
    for &(name, path, flags, errno) in STDIO_AT_CALLS {
        let Some(n) = arch.syscall_nr(name) else {
            continue;
        };
        let refuse = Target::Ret(RET_ERRNO | errno as u32);
        let tail = mode_checks.remove(name).map_or(allow, |(_, t)| t);
        // Built from the end: the AT_EMPTY_PATH test, then the NULL path test before it.
        let mut rest = tail;
        let mut how = vec![];
        if let Some(f) = flags {
            asm.jump(BPF_JSET_K, AT_EMPTY_PATH, refuse, tail);
            rest = asm.stmt(BPF_LD_W_ABS, off_arg_lo(f));
            how.push(format!("AT_EMPTY_PATH in arg{f}"));
        }
        if let Some(a) = path {
            asm.jump(BPF_JEQ_K, 0, refuse, rest);
            let hi = asm.stmt(BPF_LD_W_ABS, off_arg_hi(a));
            asm.jump(BPF_JEQ_K, 0, hi, rest);
            rest = asm.stmt(BPF_LD_W_ABS, off_arg_lo(a));
            how.insert(0, format!("NULL path in arg{a}"));
        }
        per_nr.insert(n, stdio_fd(&mut asm, rest, tail));
        let e = if errno == libc::ENOSYS {
            "ENOSYS"
        } else {
            "EPERM"
        };
        at_calls.push(format!("{name}({}) -> errno {e}", how.join(" or ")));
    }
    lines.push(format!(
        "on dirfd 0, 1 or 2 (the caller's stdio itself): {}",
        at_calls.join(", ")
    ));
    for (_, (n, t)) in mode_checks {
        per_nr.insert(n, t);
    }
    if host_pid {
        let mut names = vec![];
        for &(name, arg) in &PID_TARGETED {
            if let Some(n) = arch.syscall_nr(name) {
                // who = 0 is the caller only for a process (or its group): for PRIO_USER and
                // IOPRIO_WHO_USER (arg0) it is every process of the caller's uid.
                let whole_user = match name {
                    "setpriority" => Some(libc::PRIO_USER),
                    "ioprio_set" => Some(3), // IOPRIO_WHO_USER
                    _ => None,
                };
                let ok = match whole_user {
                    Some(w) => {
                        asm.jump(BPF_JEQ_K, w, eperm, allow);
                        asm.stmt(BPF_LD_W_ABS, off_arg_lo(0))
                    }
                    None => allow,
                };
                asm.jump(BPF_JEQ_K, 0, ok, eperm);
                per_nr.insert(n, asm.stmt(BPF_LD_W_ABS, off_arg_lo(arg)));
                names.push(format!("{name}(pid in arg{arg})"));
            }
        }
        lines.push(format!(
            "{} on any process but the caller (pid 0; for setpriority and ioprio_set not every process of the user) -> errno EPERM (the host's pid namespace is shared)",
            names.join(" ")
        ));
    }
    if let Some(n) = arch.syscall_nr("openat2") {
        per_nr.insert(n, Target::Ret(RET_ERRNO | libc::ENOSYS as u32));
        lines.push("openat2 -> errno ENOSYS (its mode is in memory and cannot be checked; libc and programs fall back to openat)".into());
    }
    lines.push(format!(
        "namespaces COMMAND may create or join itself (nested): {}",
        ns_names(nested)
    ));
    dispatch(&mut asm, &per_nr, allow);
    check_len("always-on", asm.finish())
}

pub(super) fn guard_filter(arch: Arch, lines: &mut Vec<String>) -> Result<BpfFilter, SeccompError> {
    let mut asm = Asm::default();
    let kill = Target::Ret(RET_KILL_PROCESS);
    let allow = Target::Ret(RET_ALLOW);
    let ok = match arch {
        Arch::X86_64 => {
            asm.jump(BPF_JSET_K, X32_SYSCALL_BIT, kill, allow);
            lines.push("x32 syscalls (number has bit 0x40000000) -> kill process".into());
            asm.stmt(BPF_LD_W_ABS, OFF_NR)
        }
        Arch::Aarch64 | Arch::I386 => Target::Label(asm.ret(RET_ALLOW)),
    };
    asm.jump(BPF_JEQ_K, arch.audit_arch(), ok, kill);
    asm.stmt(BPF_LD_W_ABS, OFF_ARCH);
    lines.push(format!(
        "syscalls from another ABI than {arch} (e.g. int 0x80) -> kill process"
    ));
    check_len("guard: arch + x32", asm.finish())
}
