//! Seccomp policy compiler: turns a profile's `[seccomp]` section into classic-BPF
//! programs. Pure: no syscalls, no global state.
//!
//! # Filter layout
//!
//! Every plan installs (in this order) up to three filters:
//!
//! 1. `guard: arch + x32` — `seccomp_data.arch` must be the plan's arch, else
//!    `KILL_PROCESS`; on x86_64 any syscall number with the x32 bit (`0x40000000`) set is
//!    `KILL_PROCESS` too (no legitimate program in an x86_64 jail issues x32 calls; killing is
//!    loud and cannot be mistaken for the kernel's own ENOSYS).
//! 2. `always-on` — the product guarantees, independent of the profile: TIOCSTI/TIOCLINUX
//!    ioctls → EPERM (low 32 bits of the request), `clone3` → ENOSYS, `clone`/`unshare`/`setns`
//!    with a namespace flag not granted by `nested` → EPERM, S_ISUID/S_ISGID in the mode of
//!    chmod/fchmod/fchmodat/fchmodat2/creat/open/openat/mknod/mknodat → EPERM (no set-ID file
//!    can be planted in a writable grant), `openat2` → ENOSYS (its mode is in memory).
//! 3. `policy` — the profile: default verdict, deny/allow list and argument rules, all in ONE
//!    filter. Omitted when it would allow everything.
//!
//! The kernel runs every stacked filter and keeps the most restrictive verdict
//! (KILL > TRAP > ERRNO > LOG > ALLOW), so the profile can only *add* restrictions to the
//! guard and always-on filters; it can never weaken them (an `allow` rule for
//! `ioctl(TIOCSTI)` in the profile does not re-enable it).
//!
//! Inside the policy filter, per syscall, argument rules are evaluated in profile order and
//! the first rule whose condition matches decides; when none matches the syscall gets its
//! list verdict (allow-listed / deny-listed / default). Because everything lives in one
//! filter, an `Allow` rule *can* carve an exception out of a denied syscall, e.g.
//! default = deny, `socket` not allowed, rule `socket arg0 eq AF_UNIX -> allow`.
//!
//! Dispatch on the syscall number is a binary search over ranges of equal verdict
//! (O(log n) instructions instead of seccompiler's linear scan). Syscalls whose verdict does
//! not depend on arguments only ever load `nr`/`arch` before returning, so the kernel's
//! seccomp action cache (5.11+) marks them "always allow" and skips the filters entirely.
//! Argument checks are confined to the few syscalls that need them.
//!
//! # Why not seccompiler
//! seccompiler 0.5 builds one linear filter per match action and never checks the x32 bit.
//! Expressing this layout with it needs at least 5 filters (guard, EPERM, ENOSYS, policy
//! action, one per extra rule action) and a linear scan: see the `measure_vs_seccompiler`
//! test for instruction counts.

use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

/// Kernel limit on instructions per filter (BPF_MAXINSNS).
pub const MAX_INSNS: usize = 4096;

// ---------------------------------------------------------------------------------------------
// Input types
// ---------------------------------------------------------------------------------------------

/// What a matching syscall gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SeccompAction {
    Allow,
    /// Fail with this errno (1..=4095) without running the syscall.
    Errno(i32),
    /// Kill the whole process (SECCOMP_RET_KILL_PROCESS, looks like death by SIGSYS).
    Kill,
    /// Deliver SIGSYS to the thread.
    Trap,
    /// Allow, but log in the kernel audit log.
    Log,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DefaultPolicy {
    #[default]
    Allow,
    Deny,
}

/// Comparison of a syscall argument with `value`, unsigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `(arg & mask) == value`
    MaskedEq {
        mask: u64,
    },
}

/// How many bits of the argument are compared. Use `W32` for C `int`/`unsigned int`
/// arguments: the kernel ignores the upper half of the register for those, so a 64-bit
/// comparison could be bypassed with garbage in the high bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArgWidth {
    W32,
    W64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArgRuleSpec {
    pub syscall: String,
    /// Argument index, 0..=5.
    pub arg: u8,
    pub op: CmpOp,
    pub value: u64,
    pub width: ArgWidth,
    pub action: SeccompAction,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct SeccompSpec {
    pub default: DefaultPolicy,
    /// Syscall names and `@group`s refused when `default = Allow`.
    pub deny: Vec<String>,
    /// Syscall names and `@group`s permitted when `default = Deny`.
    pub allow: Vec<String>,
    /// What a refused call gets. `None`: Errno(EPERM) for Allow-default, Errno(ENOSYS) for
    /// Deny-default (so libc fallbacks for newer syscalls keep working).
    pub action: Option<SeccompAction>,
    /// Install with SECCOMP_FILTER_FLAG_LOG: refused calls are logged by the kernel.
    pub log: bool,
    pub rules: Vec<ArgRuleSpec>,
    /// CLONE_NEW* flags COMMAND may still use itself (clone/unshare/setns). 0 = none.
    pub nested: u64,
    /// The sandbox shares the host's pid namespace (`namespaces.pid = false`): calls that act
    /// on another process by pid without a signal or ptrace check are refused.
    pub host_pid: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arch {
    #[serde(rename = "x86_64")]
    X86_64,
    Aarch64,
}

impl Arch {
    /// The architecture this binary runs on, if jail supports it.
    pub fn native() -> Option<Arch> {
        if cfg!(target_arch = "x86_64") {
            Some(Arch::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Arch::Aarch64)
        } else {
            None
        }
    }

    /// AUDIT_ARCH_* value the kernel puts in `seccomp_data.arch`.
    pub fn audit_arch(self) -> u32 {
        match self {
            Arch::X86_64 => 0xC000_003E,
            Arch::Aarch64 => 0xC000_00B7,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }

    /// Syscall number of `name` on this arch.
    pub fn syscall_nr(self, name: &str) -> Option<u32> {
        match self {
            Arch::X86_64 => name
                .parse::<syscalls::x86_64::Sysno>()
                .ok()
                .map(|s| s.id() as u32),
            Arch::Aarch64 => name
                .parse::<syscalls::aarch64::Sysno>()
                .ok()
                .map(|s| s.id() as u32),
        }
    }

    /// Syscall name of `nr` on this arch.
    pub fn syscall_name(self, nr: u32) -> Option<&'static str> {
        match self {
            Arch::X86_64 => syscalls::x86_64::Sysno::new(nr as usize).map(|s| s.name()),
            Arch::Aarch64 => syscalls::aarch64::Sysno::new(nr as usize).map(|s| s.name()),
        }
    }

    /// Argument index holding the flags of `clone` (CLONE_BACKWARDS2 arches such as s390
    /// would use 1; both supported arches use 0).
    fn clone_flags_arg(self) -> u8 {
        match self {
            Arch::X86_64 | Arch::Aarch64 => 0,
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Architectures consulted to tell "exists elsewhere" (warning) from "exists nowhere" (error).
fn other_arch_having(name: &str) -> Option<&'static str> {
    macro_rules! probe {
        ($($m:ident),*) => {
            // The crate spells keyword-named syscalls as raw identifiers (x86 `r#break`).
            $( if name.parse::<syscalls::$m::Sysno>().is_ok() || format!("r#{name}").parse::<syscalls::$m::Sysno>().is_ok() {
                return Some(stringify!($m));
            } )*
        };
    }
    probe!(
        x86_64,
        aarch64,
        x86,
        arm,
        riscv64,
        riscv32,
        loongarch64,
        powerpc64,
        powerpc,
        s390x,
        mips64,
        mips,
        sparc64,
        sparc
    );
    None
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ListKind {
    Deny,
    Allow,
    Rule,
}

impl fmt::Display for ListKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ListKind::Deny => "seccomp.deny",
            ListKind::Allow => "seccomp.allow",
            ListKind::Rule => "seccomp.rules",
        })
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SeccompError {
    #[error("{list}[{index}]: system call {name:?} exists on no known architecture (typo?)")]
    UnknownName {
        list: ListKind,
        index: usize,
        name: String,
    },
    #[error(
        "{list}[{index}]: unknown system call group {name:?} (`jail explain --format json` lists the groups)"
    )]
    UnknownGroup {
        list: ListKind,
        index: usize,
        name: String,
    },
    #[error(
        "{list}[{index}]: {name:?} refuses {syscall}, but jail installs the filter right before it \
         execs COMMAND, so COMMAND could never start; remove {syscall} from this entry"
    )]
    DeniesExec {
        list: ListKind,
        index: usize,
        name: String,
        syscall: &'static str,
    },
    #[error("seccomp.rules[{index}]: {reason}")]
    BadArg { index: usize, reason: String },
    #[error("seccomp.action: errno {errno} is out of range 1..=4095")]
    BadAction { errno: i32 },
    #[error("seccomp.nested: {value:#x} contains bits that are not CLONE_NEW* namespace flags")]
    BadNested { value: u64 },
    #[error("seccomp filter {name:?} needs {len} BPF instructions, the kernel allows {MAX_INSNS}")]
    TooLong { name: String, len: usize },
}

// ---------------------------------------------------------------------------------------------
// Output types
// ---------------------------------------------------------------------------------------------

/// One classic-BPF instruction; same layout as `libc::sock_filter`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SockFilter {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

impl From<SockFilter> for libc::sock_filter {
    fn from(i: SockFilter) -> Self {
        libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BpfFilter {
    /// Why this filter exists, e.g. "guard: arch + x32".
    pub name: String,
    pub program: Vec<SockFilter>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamedSyscall {
    pub name: String,
    pub nr: u32,
}

/// Human-oriented description of a plan for `jail explain`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeccompSummary {
    pub default: DefaultPolicy,
    /// What refused calls get.
    pub refuse_action: SeccompAction,
    /// default = Allow: the syscalls refused.
    pub denied: Vec<NamedSyscall>,
    /// default = Deny: the syscalls let through (including the implicit ones).
    pub allowed: Vec<NamedSyscall>,
    /// One line per argument rule that made it into the filter.
    pub rules: Vec<String>,
    /// The always-on guarantees, one line each.
    pub always_on: Vec<String>,
    /// Things the compiler added or dropped on purpose.
    pub notes: Vec<String>,
    /// Probably not what the profile author meant (e.g. names missing on this arch).
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeccompPlan {
    pub arch: Arch,
    /// Filters in installation order.
    pub filters: Vec<BpfFilter>,
    pub summary: SeccompSummary,
    /// Install with SECCOMP_FILTER_FLAG_LOG.
    pub log: bool,
}

impl SeccompPlan {
    pub fn instruction_count(&self) -> usize {
        self.filters.iter().map(|f| f.program.len()).sum()
    }

    /// Multi-line text for `jail explain`.
    pub fn explain(&self) -> String {
        use std::fmt::Write;
        let s = &self.summary;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "seccomp ({}), default {:?}, refused calls get {}",
            self.arch,
            s.default,
            action_text(s.refuse_action)
        );
        let list = |v: &[NamedSyscall]| {
            v.iter()
                .map(|n| format!("{}({})", n.name, n.nr))
                .collect::<Vec<_>>()
                .join(" ")
        };
        if !s.denied.is_empty() {
            let _ = writeln!(out, "  denied ({}): {}", s.denied.len(), list(&s.denied));
        }
        if !s.allowed.is_empty() {
            let _ = writeln!(out, "  allowed ({}): {}", s.allowed.len(), list(&s.allowed));
        }
        for r in &s.rules {
            let _ = writeln!(out, "  rule: {r}");
        }
        for r in &s.always_on {
            let _ = writeln!(out, "  always: {r}");
        }
        for n in &s.notes {
            let _ = writeln!(out, "  note: {n}");
        }
        for w in &s.warnings {
            let _ = writeln!(out, "  warning: {w}");
        }
        let _ = writeln!(
            out,
            "  filters: {}{}",
            self.filters
                .iter()
                .map(|f| format!("[{}: {} insns]", f.name, f.program.len()))
                .collect::<Vec<_>>()
                .join(" "),
            if self.log {
                " (installed with SECCOMP_FILTER_FLAG_LOG)"
            } else {
                ""
            }
        );
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Groups
// ---------------------------------------------------------------------------------------------

/// (name, description, members). Members may be other groups. Members that do not exist on
/// the target arch are silently skipped (the table covers all arches).
static GROUPS: &[(&str, &str, &[&str])] = &[
    ("@aio", "asynchronous I/O: POSIX AIO syscalls and io_uring", &[
        "io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64", "io_setup",
        "io_submit", "io_uring_enter", "io_uring_register", "io_uring_setup",
    ]),
    ("@basic-io", "reading, writing, seeking and closing file descriptors", &[
        "_llseek", "close", "close_range", "dup", "dup2", "dup3", "lseek", "pread64", "preadv", "preadv2",
        "pwrite64", "pwritev", "pwritev2", "read", "readv", "write", "writev",
    ]),
    ("@chown", "changing owner and group of files", &[
        "chown", "chown32", "fchown", "fchown32", "fchownat", "lchown", "lchown32",
    ]),
    ("@clock", "setting or adjusting the system clock", &[
        "adjtimex", "clock_adjtime", "clock_adjtime64", "clock_settime", "clock_settime64", "settimeofday", "stime",
    ]),
    ("@cpu-emulation", "legacy CPU modes and emulation helpers (vm86, LDT, endianness)", &[
        "modify_ldt", "subpage_prot", "switch_endian", "vm86", "vm86old",
    ]),
    ("@debug", "tracing, profiling and reaching into other processes", &[
        "lookup_dcookie", "perf_event_open", "pidfd_getfd", "ptrace", "s390_runtime_instr",
    ]),
    ("@default", "calls every program needs; always permitted by systemd", &[
        "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64", "clock_nanosleep",
        "clock_nanosleep_time64", "execve", "exit", "exit_group", "futex", "futex_time64", "futex_waitv",
        "get_robust_list", "get_thread_area", "getegid", "getegid32", "geteuid", "geteuid32", "getgid",
        "getgid32", "getgroups", "getgroups32", "getpgid", "getpgrp", "getpid", "getppid", "getresgid",
        "getresgid32", "getresuid", "getresuid32", "getrlimit", "getsid", "gettid", "gettimeofday", "getuid",
        "getuid32", "membarrier", "mmap", "mmap2", "munmap", "nanosleep", "pause", "prlimit64",
        "restart_syscall", "riscv_flush_icache", "riscv_hwprobe", "rseq", "rt_sigreturn", "sched_getaffinity",
        "sched_yield", "set_robust_list", "set_thread_area", "set_tid_address", "sigreturn", "time",
        "ugetrlimit",
    ]),
    ("@file-system", "opening, creating, renaming, inspecting files and directories", &[
        "access", "chdir", "chmod", "close", "creat", "faccessat", "faccessat2", "fallocate", "fchdir", "fchmod",
        "fchmodat", "fchmodat2", "fcntl", "fcntl64", "fgetxattr", "flistxattr", "fremovexattr", "fsetxattr",
        "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "ftruncate", "ftruncate64", "futimesat",
        "getcwd", "getdents", "getdents64", "getxattr", "getxattrat", "inotify_add_watch", "inotify_init",
        "inotify_init1", "inotify_rm_watch", "lgetxattr", "link", "linkat", "listxattr", "listxattrat",
        "llistxattr", "lremovexattr", "lsetxattr", "lstat", "lstat64", "mkdir", "mkdirat", "mknod", "mknodat",
        "newfstatat", "oldfstat", "oldlstat", "oldstat", "open", "openat", "openat2", "readlink",
        "readlinkat", "removexattr", "removexattrat", "rename", "renameat", "renameat2", "rmdir", "setxattr",
        "setxattrat", "stat", "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "truncate",
        "truncate64", "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes",
        "file_getattr", "file_setattr",
    ]),
    ("@io-event", "waiting for events on file descriptors (poll, select, epoll, eventfd)", &[
        "_newselect", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait",
        "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "poll", "ppoll", "ppoll_time64",
        "pselect6", "pselect6_time64", "select",
    ]),
    ("@ipc", "SysV IPC, POSIX message queues, pipes, memfd and cross-process memory access", &[
        "ipc", "memfd_create", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
        "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "msgctl", "msgget",
        "msgrcv", "msgsnd", "pipe", "pipe2", "process_vm_readv", "process_vm_writev", "semctl", "semget",
        "semop", "semtimedop", "semtimedop_time64", "shmat", "shmctl", "shmdt", "shmget",
    ]),
    ("@keyring", "kernel key retention service", &["add_key", "keyctl", "request_key"]),
    ("@memlock", "pinning memory in RAM", &["mlock", "mlock2", "mlockall", "munlock", "munlockall"]),
    ("@module", "loading and unloading kernel modules", &["delete_module", "finit_module", "init_module"]),
    ("@mount", "mounting, unmounting and changing the root directory (old and new mount API)", &[
        "chroot", "fsconfig", "fsmount", "fsopen", "fspick", "mount", "mount_setattr", "move_mount",
        "open_tree", "open_tree_attr", "pivot_root", "umount", "umount2",
    ]),
    ("@network-io", "sockets: creating, connecting, sending and receiving", &[
        "accept", "accept4", "bind", "connect", "getpeername", "getsockname", "getsockopt", "listen", "recv",
        "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "send", "sendmmsg", "sendmsg", "sendto",
        "setsockopt", "shutdown", "socket", "socketcall", "socketpair",
    ]),
    ("@obsolete", "historic, unimplemented or never-used calls", &[
        "_sysctl", "afs_syscall", "bdflush", "break", "create_module", "ftime", "get_kernel_syms", "getpmsg",
        "gtty", "idle", "lock", "mpx", "prof", "profil", "putpmsg", "query_module", "security", "sgetmask",
        "ssetmask", "stty", "sysfs", "tuxcall", "ulimit", "uselib", "ustat", "vserver",
    ]),
    ("@pkey", "memory protection keys", &["pkey_alloc", "pkey_free", "pkey_mprotect"]),
    ("@privileged", "calls that need superuser capabilities", &[
        "@chown", "@clock", "@module", "@raw-io", "@reboot", "@swap", "_sysctl", "acct", "bpf", "capset",
        "chroot", "fanotify_init", "fanotify_mark", "nfsservctl", "open_by_handle_at", "pivot_root",
        "quotactl", "quotactl_fd", "setdomainname", "setfsuid", "setfsuid32", "setgroups", "setgroups32",
        "sethostname", "setresuid", "setresuid32", "setreuid", "setreuid32", "setuid", "setuid32", "vhangup",
    ]),
    ("@process", "creating, signalling, waiting for and inspecting processes; namespaces", &[
        "arch_prctl", "capget", "clone", "clone3", "execveat", "fork", "getrusage", "kill", "pidfd_open",
        "pidfd_send_signal", "prctl", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "setns", "swapcontext",
        "tgkill", "times", "tkill", "unshare", "vfork", "wait4", "waitid", "waitpid",
    ]),
    ("@raw-io", "direct hardware access: I/O ports and PCI config space", &[
        "ioperm", "iopl", "pciconfig_iobase", "pciconfig_read", "pciconfig_write", "s390_pci_mmio_read",
        "s390_pci_mmio_write",
    ]),
    ("@reboot", "rebooting and loading a new kernel", &["kexec_file_load", "kexec_load", "reboot"]),
    ("@resources", "changing priorities, CPU affinity, NUMA policy and resource limits", &[
        "ioprio_set", "mbind", "migrate_pages", "move_pages", "nice", "sched_setaffinity", "sched_setattr",
        "sched_setparam", "sched_setscheduler", "set_mempolicy", "set_mempolicy_home_node", "setpriority",
        "setrlimit",
    ]),
    ("@sandbox", "self-sandboxing: Landlock and seccomp", &[
        "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "seccomp",
    ]),
    ("@setuid", "changing user and group IDs", &[
        "setgid", "setgid32", "setgroups", "setgroups32", "setregid", "setregid32", "setresgid", "setresgid32",
        "setresuid", "setresuid32", "setreuid", "setreuid32", "setuid", "setuid32",
    ]),
    ("@signal", "signal handlers, masks and waiting for signals", &[
        "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigsuspend", "rt_sigtimedwait",
        "rt_sigtimedwait_time64", "sigaction", "sigaltstack", "signal", "signalfd", "signalfd4", "sigpending",
        "sigprocmask", "sigsuspend",
    ]),
    ("@swap", "enabling and disabling swap", &["swapoff", "swapon"]),
    ("@sync", "flushing files and memory to storage", &[
        "fdatasync", "fsync", "msync", "sync", "sync_file_range", "sync_file_range2", "syncfs",
    ]),
    ("@system-service", "what an ordinary service or desktop program uses", &[
        "@aio", "@basic-io", "@chown", "@default", "@file-system", "@io-event", "@ipc", "@keyring", "@memlock",
        "@network-io", "@process", "@resources", "@setuid", "@signal", "@sync", "@timer", "brk", "cachestat",
        "capget", "capset", "copy_file_range", "fadvise64", "fadvise64_64", "flock", "get_mempolicy", "getcpu",
        "getpriority", "getrandom", "ioctl", "ioprio_get", "kcmp", "madvise", "map_shadow_stack", "mprotect",
        "mremap", "mseal", "name_to_handle_at", "oldolduname", "olduname", "personality", "process_madvise",
        "process_mrelease", "readahead", "readdir", "remap_file_pages", "sched_get_priority_max",
        "sched_get_priority_min", "sched_getattr", "sched_getparam", "sched_getscheduler",
        "sched_rr_get_interval", "sched_rr_get_interval_time64", "sendfile", "sendfile64", "setfsgid",
        "setfsgid32", "setfsuid", "setfsuid32", "setpgid", "setsid", "splice", "sysinfo", "tee", "umask",
        "uname", "userfaultfd", "vmsplice",
    ]),
    ("@timer", "timers and alarms", &[
        "alarm", "getitimer", "setitimer", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
        "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime",
        "timerfd_gettime64", "timerfd_settime", "timerfd_settime64", "times",
    ]),
    // What container runtimes refuse by default (Docker's default profile without added
    // capabilities, ChromeOS) and a desktop app does not need. io_uring: its operations
    // (socket, openat, connect …) run in the kernel without passing this filter, so one
    // io_uring_setup would bypass every deny rule. personality: only the values Docker allows
    // pass (see PERSONALITY_OK); a profile that lists personality itself refuses it entirely.
    // syslog reads the kernel log (addresses); fanotify_init, move_pages, migrate_pages and
    // memfd_secret are kernel surface that needs CAP_SYS_ADMIN/CAP_SYS_NICE in Docker.
    // Not here, on purpose: process_vm_readv/writev and kcmp (the pid namespace limits them
    // to the sandbox's own processes; crash reporters and Mesa use them).
    ("@default-deny", "jail's default deny list: kernel-wide state, debugging, eBPF, io_uring, kexec, mounts and exotic calls", &[
        "@clock", "@cpu-emulation", "@debug", "@keyring", "@module", "@mount", "@obsolete", "@raw-io",
        "@reboot", "@swap", "acct", "bpf", "fanotify_init", "io_uring_enter", "io_uring_register",
        "io_uring_setup", "kexec_file_load", "kexec_load", "lookup_dcookie", "memfd_secret",
        "migrate_pages", "move_pages", "name_to_handle_at", "nfsservctl", "open_by_handle_at",
        "perf_event_open", "personality", "quotactl", "quotactl_fd", "syslog", "userfaultfd", "vhangup",
    ]),
];

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupInfo {
    pub name: String,
    pub description: String,
    /// Members resolved for the arch (nested groups flattened), sorted by number.
    pub members: Vec<NamedSyscall>,
}

/// All group names, e.g. `"@default-deny"`.
pub fn group_names() -> &'static [&'static str] {
    static NAMES: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| GROUPS.iter().map(|g| g.0).collect())
}

/// Every group with its members resolved for `arch`.
pub fn groups(arch: Arch) -> Vec<GroupInfo> {
    GROUPS
        .iter()
        .map(|(name, description, _)| GroupInfo {
            name: name.to_string(),
            description: description.to_string(),
            members: expand_group(name, arch)
                .unwrap_or_default()
                .into_iter()
                .map(|(nr, name)| NamedSyscall {
                    name: name.to_string(),
                    nr,
                })
                .collect(),
        })
        .collect()
}

/// Members of `group` (with '@') present on `arch`, keyed by number. None if unknown.
fn expand_group(group: &str, arch: Arch) -> Option<BTreeMap<u32, &'static str>> {
    fn walk(
        group: &str,
        arch: Arch,
        seen: &mut BTreeSet<&'static str>,
        out: &mut BTreeMap<u32, &'static str>,
    ) -> bool {
        let Some((name, _, members)) = GROUPS.iter().find(|g| g.0 == group) else {
            return false;
        };
        if !seen.insert(name) {
            return true;
        }
        for m in members.iter() {
            if m.starts_with('@') {
                walk(m, arch, seen, out);
            } else if let Some(nr) = arch.syscall_nr(m) {
                out.insert(nr, m);
            }
        }
        true
    }
    let mut out = BTreeMap::new();
    walk(group, arch, &mut BTreeSet::new(), &mut out).then_some(out)
}

// ---------------------------------------------------------------------------------------------
// BPF assembly
// ---------------------------------------------------------------------------------------------

// Classic BPF opcodes (linux/filter.h).
const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD (0) | BPF_W (0) | BPF_ABS (0x20)
const BPF_ALU_AND_K: u16 = 0x04 | 0x50; // BPF_ALU | BPF_AND | BPF_K
const BPF_JA: u16 = 0x05; // BPF_JMP | BPF_JA
const BPF_JEQ_K: u16 = 0x05 | 0x10;
const BPF_JGT_K: u16 = 0x05 | 0x20;
const BPF_JGE_K: u16 = 0x05 | 0x30;
const BPF_JSET_K: u16 = 0x05 | 0x40;
const BPF_RET_K: u16 = 0x06;

// struct seccomp_data offsets.
const OFF_NR: u32 = 0;
const OFF_ARCH: u32 = 4;
fn off_arg_lo(arg: u8) -> u32 {
    16 + 8 * arg as u32 // little-endian: low word first (x86_64, aarch64)
}
fn off_arg_hi(arg: u8) -> u32 {
    off_arg_lo(arg) + 4
}

// Return values.
pub const RET_KILL_PROCESS: u32 = 0x8000_0000;
pub const RET_TRAP: u32 = 0x0003_0000;
pub const RET_ERRNO: u32 = 0x0005_0000;
pub const RET_LOG: u32 = 0x7ffc_0000;
pub const RET_ALLOW: u32 = 0x7fff_0000;

const X32_SYSCALL_BIT: u32 = 0x4000_0000;
/// The `personality(2)` values that pass when a group (`@default-deny`) denies personality:
/// the list Docker's default profile allows. PER_LINUX (0), PER_LINUX32 (8), UNAME26
/// (0x20000), UNAME26|PER_LINUX32 and 0xffffffff (query, changes nothing). Everything else
/// (READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE, MMAP_PAGE_ZERO, foreign execution domains) is
/// refused. The kernel takes `unsigned int persona`, so the low 32 bits are compared: a value
/// with high bits set is the same request to the kernel as its low half.
pub const PERSONALITY_OK: [u64; 5] = [0x0, 0x8, 0x2_0000, 0x2_0008, 0xffff_ffff];
const TIOCSTI: u32 = 0x5412;
const TIOCLINUX: u32 = 0x541C;

fn ret_value(a: SeccompAction) -> u32 {
    match a {
        SeccompAction::Allow => RET_ALLOW,
        SeccompAction::Errno(e) => RET_ERRNO | (e as u32 & 0xffff),
        SeccompAction::Kill => RET_KILL_PROCESS,
        SeccompAction::Trap => RET_TRAP,
        SeccompAction::Log => RET_LOG,
    }
}

fn refuses(a: SeccompAction) -> bool {
    !matches!(a, SeccompAction::Allow | SeccompAction::Log)
}

fn errno_name(e: i32) -> String {
    match e {
        libc::EPERM => "EPERM".into(),
        libc::ENOSYS => "ENOSYS".into(),
        libc::EACCES => "EACCES".into(),
        libc::EINVAL => "EINVAL".into(),
        libc::ENOENT => "ENOENT".into(),
        libc::EOPNOTSUPP => "EOPNOTSUPP".into(),
        e => format!("errno {e}"),
    }
}

fn action_text(a: SeccompAction) -> String {
    match a {
        SeccompAction::Allow => "allow".into(),
        SeccompAction::Errno(e) => format!("errno {}", errno_name(e)),
        SeccompAction::Kill => "kill process".into(),
        SeccompAction::Trap => "SIGSYS trap".into(),
        SeccompAction::Log => "allow+log".into(),
    }
}

/// Jump target while assembling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// An already emitted instruction (id = index in the reversed program).
    Label(usize),
    /// "return this value"; materialised on demand.
    Ret(u32),
}

/// Builds a program back to front, so every jump's destination is already placed and its
/// distance known. Conditional jumps whose destination is more than 255 instructions away
/// get a `JA` trampoline (32-bit offset) right behind them.
#[derive(Default)]
struct Asm {
    rev: Vec<SockFilter>,
    rets: HashMap<u32, usize>,
}

impl Asm {
    fn push(&mut self, code: u16, jt: u8, jf: u8, k: u32) -> usize {
        self.rev.push(SockFilter { code, jt, jf, k });
        self.rev.len() - 1
    }
    /// Distance from the next pushed instruction to `id`.
    fn dist(&self, id: usize) -> usize {
        self.rev.len() - id - 1
    }
    fn stmt(&mut self, code: u16, k: u32) -> Target {
        Target::Label(self.push(code, 0, 0, k))
    }
    fn ret(&mut self, v: u32) -> usize {
        let id = self.push(BPF_RET_K, 0, 0, v);
        self.rets.insert(v, id);
        id
    }
    fn label(&mut self, t: Target) -> usize {
        match t {
            Target::Label(id) => id,
            Target::Ret(v) => match self.rets.get(&v) {
                Some(&id) if self.dist(id) <= 255 => id,
                _ => self.ret(v),
            },
        }
    }
    fn jump(&mut self, code: u16, k: u32, jt: Target, jf: Target) -> Target {
        let mut t = self.label(jt);
        let mut f = self.label(jf);
        loop {
            if self.dist(t) > 255 {
                t = self.far(t);
            } else if self.dist(f) > 255 {
                f = self.far(f);
            } else {
                break;
            }
        }
        let (dt, df) = (self.dist(t) as u8, self.dist(f) as u8);
        Target::Label(self.push(code, dt, df, k))
    }
    fn far(&mut self, id: usize) -> usize {
        if let Some((&v, _)) = self.rets.iter().find(|(_, &r)| r == id) {
            return self.ret(v); // a fresh RET is as short as a JA
        }
        let d = self.dist(id) as u32;
        self.push(BPF_JA, 0, 0, d)
    }
    fn finish(mut self) -> Vec<SockFilter> {
        self.rev.reverse();
        self.rev
    }
}

/// Emits `LD nr` + binary search over `per_nr` (syscalls with a non-default handler).
fn dispatch(asm: &mut Asm, per_nr: &BTreeMap<u32, Target>, default: Target) {
    // Coalesce into ranges [start, next start) with one handler each, covering all of u32.
    let mut starts: BTreeMap<u32, Target> = BTreeMap::from([(0, default)]);
    for &nr in per_nr.keys() {
        if nr < u32::MAX && !per_nr.contains_key(&(nr + 1)) {
            starts.insert(nr + 1, default);
        }
    }
    starts.extend(per_nr.iter().map(|(&nr, &t)| (nr, t)));
    let mut segs: Vec<(u32, Target)> = starts.into_iter().collect();
    segs.dedup_by(|b, a| a.1 == b.1);
    fn tree(asm: &mut Asm, segs: &[(u32, Target)]) -> Target {
        if segs.len() == 1 {
            return segs[0].1;
        }
        let mid = segs.len() / 2;
        let right = tree(asm, &segs[mid..]);
        let left = tree(asm, &segs[..mid]);
        asm.jump(BPF_JGE_K, segs[mid].0, right, left)
    }
    // The load below falls through into the instruction pushed last: make that the root.
    match tree(asm, &segs) {
        Target::Label(id) if id + 1 == asm.rev.len() => {}
        Target::Label(id) => {
            let d = asm.dist(id) as u32;
            asm.push(BPF_JA, 0, 0, d);
        }
        Target::Ret(v) => {
            asm.ret(v);
        }
    }
    asm.stmt(BPF_LD_W_ABS, OFF_NR);
}

/// A resolved argument rule.
#[derive(Debug, Clone)]
struct Rule {
    arg: u8,
    op: CmpOp,
    value: u64,
    width: ArgWidth,
    action: SeccompAction,
}

/// Emits code that jumps to `yes` if the rule's condition holds, else to `no`.
fn condition(asm: &mut Asm, r: &Rule, yes: Target, no: Target) -> Target {
    let (lo_v, hi_v) = (r.value as u32, (r.value >> 32) as u32);
    // Lt/Le/Ne are the negations of Ge/Gt/Eq.
    let (op, yes, no) = match r.op {
        CmpOp::Lt => (CmpOp::Ge, no, yes),
        CmpOp::Le => (CmpOp::Gt, no, yes),
        CmpOp::Ne => (CmpOp::Eq, no, yes),
        op => (op, yes, no),
    };
    let lo_code = match op {
        CmpOp::Gt => BPF_JGT_K,
        CmpOp::Ge => BPF_JGE_K,
        _ => BPF_JEQ_K,
    };
    // Low word.
    let lo_k = match op {
        CmpOp::MaskedEq { mask } => lo_v & mask as u32,
        _ => lo_v,
    };
    asm.jump(lo_code, lo_k, yes, no);
    if let CmpOp::MaskedEq { mask } = op {
        asm.stmt(BPF_ALU_AND_K, mask as u32);
    }
    let lo = asm.stmt(BPF_LD_W_ABS, off_arg_lo(r.arg));
    if r.width == ArgWidth::W32 {
        return lo;
    }
    // High word decides unless equal.
    match op {
        CmpOp::Gt | CmpOp::Ge => {
            let eq = asm.jump(BPF_JEQ_K, hi_v, lo, no);
            asm.jump(BPF_JGT_K, hi_v, yes, eq);
        }
        CmpOp::MaskedEq { mask } => {
            let m = (mask >> 32) as u32;
            asm.jump(BPF_JEQ_K, hi_v & m, lo, no);
            asm.stmt(BPF_ALU_AND_K, m);
        }
        _ => {
            asm.jump(BPF_JEQ_K, hi_v, lo, no);
        }
    }
    asm.stmt(BPF_LD_W_ABS, off_arg_hi(r.arg))
}

fn check_len(name: &str, program: Vec<SockFilter>) -> Result<BpfFilter, SeccompError> {
    if program.len() > MAX_INSNS {
        return Err(SeccompError::TooLong {
            name: name.to_string(),
            len: program.len(),
        });
    }
    Ok(BpfFilter {
        name: name.to_string(),
        program,
    })
}

// ---------------------------------------------------------------------------------------------
// Namespaces
// ---------------------------------------------------------------------------------------------

const NS_FLAGS: &[(u64, &str)] = &[
    (0x0002_0000, "CLONE_NEWNS"),
    (0x0200_0000, "CLONE_NEWCGROUP"),
    (0x0400_0000, "CLONE_NEWUTS"),
    (0x0800_0000, "CLONE_NEWIPC"),
    (0x1000_0000, "CLONE_NEWUSER"),
    (0x2000_0000, "CLONE_NEWPID"),
    (0x4000_0000, "CLONE_NEWNET"),
    (0x0000_0080, "CLONE_NEWTIME"),
];
const CLONE_NEWTIME: u64 = 0x80;

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
const SETID_BITS: u32 = 0o6000;

/// System calls taking a file mode, with the index of the mode argument. The always-on filter
/// refuses them when the mode holds S_ISUID or S_ISGID, whatever the flags (glibc and musl pass
/// 0 as the mode of an open/openat without O_CREAT/O_TMPFILE). The kernel's `umode_t` is 16
/// bits, so testing two bits of the low word is exact. mkdir/mkdirat are not here: the kernel
/// keeps only the permission and sticky bits of their mode.
const MODE_ARGS: &[(&str, u8)] = &[
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

/// Argument widths of common system calls, one letter per argument: `i` = a 32-bit C type
/// (int, unsigned int, umode_t, pid_t, uid_t, gid_t, socklen_t, key_t, clockid_t: the kernel
/// ignores the upper half of the register), `l` = 64 bits (pointer, long, size_t, loff_t).
/// Same on x86_64 and aarch64. Not listed, or an index past the end: unknown.
static ARG_TYPES: &[(&str, &str)] = &[
    ("accept", "ill"),
    ("accept4", "illi"),
    ("access", "li"),
    ("add_key", "lllli"),
    ("bind", "ili"),
    ("bpf", "ili"),
    ("chmod", "li"),
    ("chroot", "l"),
    ("chown", "lii"),
    ("clock_gettime", "il"),
    ("clone", "lllll"),
    ("close", "i"),
    ("connect", "ili"),
    ("copy_file_range", "ililli"),
    ("creat", "li"),
    ("dup", "i"),
    ("dup2", "ii"),
    ("dup3", "iii"),
    ("epoll_create1", "i"),
    ("epoll_ctl", "iiil"),
    ("eventfd2", "ii"),
    ("execve", "lll"),
    ("execveat", "illli"),
    ("exit", "i"),
    ("exit_group", "i"),
    ("faccessat", "ili"),
    ("faccessat2", "ilii"),
    ("fallocate", "iill"),
    ("fanotify_init", "ii"),
    ("fchmod", "ii"),
    ("fchmodat", "ili"),
    ("fchmodat2", "ilii"),
    ("fchown", "iii"),
    ("fchownat", "iliii"),
    ("fcntl", "iil"),
    ("finit_module", "ili"),
    ("flock", "ii"),
    ("ftruncate", "il"),
    ("futex", "liilli"),
    ("getpgid", "i"),
    ("getpeername", "ill"),
    ("getrandom", "lli"),
    ("getsid", "i"),
    ("getsockname", "ill"),
    ("getsockopt", "iiill"),
    ("inotify_add_watch", "ili"),
    ("io_uring_setup", "il"),
    ("ioctl", "iil"),
    ("ioprio_set", "iii"),
    ("kcmp", "iiill"),
    ("keyctl", "illll"),
    ("kill", "ii"),
    ("landlock_create_ruleset", "lli"),
    ("lchown", "lii"),
    ("linkat", "ilili"),
    ("listen", "ii"),
    ("lseek", "ili"),
    ("madvise", "lli"),
    ("membarrier", "iii"),
    ("memfd_create", "li"),
    ("mkdir", "li"),
    ("mkdirat", "ili"),
    ("mknod", "lii"),
    ("mknodat", "ilii"),
    ("mlock2", "lli"),
    ("mmap", "llllll"),
    ("mount", "lllll"),
    ("mprotect", "lll"),
    ("mq_open", "liil"),
    ("msgget", "ii"),
    ("newfstatat", "illi"),
    ("open", "lii"),
    ("openat", "ilii"),
    ("openat2", "illl"),
    ("perf_event_open", "liiil"),
    ("personality", "i"),
    ("pidfd_getfd", "iii"),
    ("pidfd_open", "ii"),
    ("pidfd_send_signal", "iili"),
    ("pipe2", "li"),
    ("prctl", "illll"),
    ("pread64", "illl"),
    ("prlimit64", "iill"),
    ("process_vm_readv", "illlll"),
    ("process_vm_writev", "illlll"),
    ("ptrace", "llll"),
    ("pwrite64", "illl"),
    ("read", "ill"),
    ("reboot", "iiil"),
    ("recvfrom", "illill"),
    ("recvmmsg", "iliil"),
    ("recvmsg", "ili"),
    ("renameat2", "ilili"),
    ("rt_sigaction", "illl"),
    ("rt_sigprocmask", "illl"),
    ("sched_setaffinity", "iil"),
    ("sched_setscheduler", "iil"),
    ("seccomp", "iil"),
    ("semget", "iii"),
    ("sendfile", "iill"),
    ("sendmmsg", "ilii"),
    ("sendmsg", "ili"),
    ("sendto", "illili"),
    ("setfsgid", "i"),
    ("setfsuid", "i"),
    ("setgid", "i"),
    ("setgroups", "il"),
    ("sethostname", "li"),
    ("setns", "ii"),
    ("setpgid", "ii"),
    ("setpriority", "iii"),
    ("setregid", "ii"),
    ("setresgid", "iii"),
    ("setresuid", "iii"),
    ("setreuid", "ii"),
    ("setrlimit", "il"),
    ("setsockopt", "iiili"),
    ("setuid", "i"),
    ("shmat", "ili"),
    ("shmctl", "iil"),
    ("shmget", "ili"),
    ("shutdown", "ii"),
    ("signalfd4", "illi"),
    ("socket", "iii"),
    ("socketpair", "iiil"),
    ("splice", "ililli"),
    ("statx", "iliil"),
    ("symlinkat", "lil"),
    ("tee", "iili"),
    ("tgkill", "iii"),
    ("timerfd_create", "ii"),
    ("tkill", "ii"),
    ("truncate", "ll"),
    ("umask", "i"),
    ("umount2", "li"),
    ("unlinkat", "ili"),
    ("unshare", "l"),
    ("userfaultfd", "i"),
    ("wait4", "ilil"),
    ("waitid", "iilil"),
    ("write", "ill"),
];

/// How wide argument `arg` of `syscall` is, if jail knows its type.
pub fn arg_width(syscall: &str, arg: u8) -> Option<ArgWidth> {
    let (_, types) = ARG_TYPES.iter().find(|(n, _)| *n == syscall)?;
    match types.as_bytes().get(arg as usize)? {
        b'i' => Some(ArgWidth::W32),
        _ => Some(ArgWidth::W64),
    }
}

/// Calls that change another process by pid (argument index of the pid) with only a uid
/// check — no signal, no ptrace access, so Landlock's scopes do not see them. In the host's
/// pid namespace they would reach the user's (or root's) other processes: `prlimit64(pid,
/// RLIMIT_CPU, 1)` kills one. Acting on oneself (pid 0) stays allowed.
const PID_TARGETED: [(&str, u8); 7] = [
    ("prlimit64", 0),
    ("setpriority", 1),
    ("ioprio_set", 1),
    ("sched_setaffinity", 0),
    ("sched_setscheduler", 0),
    ("sched_setparam", 0),
    ("sched_setattr", 0),
];

fn always_on_filter(
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
    for &(name, arg) in MODE_ARGS {
        if let Some(n) = arch.syscall_nr(name) {
            asm.jump(BPF_JSET_K, SETID_BITS, eperm, allow);
            per_nr.insert(n, asm.stmt(BPF_LD_W_ABS, off_arg_lo(arg)));
            mode_calls.push(format!("{name}(mode in arg{arg})"));
        }
    }
    lines.push(format!(
        "{} with S_ISUID or S_ISGID in the mode -> errno EPERM (low 32 bits compared, whatever the flags)",
        mode_calls.join(" ")
    ));
    if host_pid {
        let mut names = vec![];
        for &(name, arg) in &PID_TARGETED {
            if let Some(n) = arch.syscall_nr(name) {
                asm.jump(BPF_JEQ_K, 0, allow, eperm);
                per_nr.insert(n, asm.stmt(BPF_LD_W_ABS, off_arg_lo(arg)));
                names.push(format!("{name}(pid in arg{arg})"));
            }
        }
        lines.push(format!(
            "{} on any process but the caller (pid 0) -> errno EPERM (the host's pid namespace is shared)",
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

fn guard_filter(arch: Arch, lines: &mut Vec<String>) -> Result<BpfFilter, SeccompError> {
    let mut asm = Asm::default();
    let kill = Target::Ret(RET_KILL_PROCESS);
    let allow = Target::Ret(RET_ALLOW);
    let ok = match arch {
        Arch::X86_64 => {
            asm.jump(BPF_JSET_K, X32_SYSCALL_BIT, kill, allow);
            lines.push("x32 syscalls (number has bit 0x40000000) -> kill process".into());
            asm.stmt(BPF_LD_W_ABS, OFF_NR)
        }
        Arch::Aarch64 => Target::Label(asm.ret(RET_ALLOW)),
    };
    asm.jump(BPF_JEQ_K, arch.audit_arch(), ok, kill);
    asm.stmt(BPF_LD_W_ABS, OFF_ARCH);
    lines.push(format!(
        "syscalls from another ABI than {arch} (e.g. int 0x80) -> kill process"
    ));
    check_len("guard: arch + x32", asm.finish())
}

// ---------------------------------------------------------------------------------------------
// compile
// ---------------------------------------------------------------------------------------------

const EXEC_CALLS: [&str; 2] = ["execve", "execveat"];

/// Resolves one list entry to (nr, name) pairs on `arch`.
fn resolve(
    entry: &str,
    arch: Arch,
    list: ListKind,
    index: usize,
    warnings: &mut Vec<String>,
) -> Result<BTreeMap<u32, String>, SeccompError> {
    if entry.starts_with('@') {
        return expand_group(entry, arch)
            .map(|m| m.into_iter().map(|(nr, n)| (nr, n.to_string())).collect())
            .ok_or_else(|| SeccompError::UnknownGroup {
                list,
                index,
                name: entry.to_string(),
            });
    }
    if let Some(nr) = arch.syscall_nr(entry) {
        return Ok(BTreeMap::from([(nr, entry.to_string())]));
    }
    match other_arch_having(entry) {
        Some(other) => {
            warnings.push(format!(
                "{list}[{index}]: {entry} does not exist on {arch} (only on e.g. {other}), skipped"
            ));
            Ok(BTreeMap::new())
        }
        None => Err(SeccompError::UnknownName {
            list,
            index,
            name: entry.to_string(),
        }),
    }
}

fn check_errno(a: SeccompAction) -> bool {
    !matches!(a, SeccompAction::Errno(e) if !(1..=4095).contains(&e))
}

/// Compiles `spec` for `arch`. The result is deterministic and needs no kernel.
pub fn compile(spec: &SeccompSpec, arch: Arch) -> Result<SeccompPlan, SeccompError> {
    if spec.nested & !ALL_NAMESPACES != 0 {
        return Err(SeccompError::BadNested { value: spec.nested });
    }
    let refuse = spec.action.unwrap_or(match spec.default {
        DefaultPolicy::Allow => SeccompAction::Errno(libc::EPERM),
        DefaultPolicy::Deny => SeccompAction::Errno(libc::ENOSYS),
    });
    if let SeccompAction::Errno(errno) = refuse {
        if !check_errno(refuse) {
            return Err(SeccompError::BadAction { errno });
        }
    }
    let mut warnings = Vec::new();
    let mut notes = Vec::new();
    let clone3 = arch.syscall_nr("clone3");

    // The list that matters for this default.
    let (kind, entries, ignored, ignored_kind) = match spec.default {
        DefaultPolicy::Allow => (ListKind::Deny, &spec.deny, &spec.allow, ListKind::Allow),
        DefaultPolicy::Deny => (ListKind::Allow, &spec.allow, &spec.deny, ListKind::Deny),
    };
    if !ignored.is_empty() {
        warnings.push(format!(
            "{ignored_kind} is ignored because default = {:?}",
            spec.default
        ));
    }
    let mut listed: BTreeMap<u32, String> = BTreeMap::new();
    let personality = arch.syscall_nr("personality");
    // personality denied through a group: the PERSONALITY_OK values still pass; named on
    // its own: refused entirely.
    let (mut personality_by_group, mut personality_by_name) = (false, false);
    for (index, entry) in entries.iter().enumerate() {
        let resolved = resolve(entry, arch, kind, index, &mut warnings)?;
        if personality.is_some_and(|nr| resolved.contains_key(&nr)) {
            if entry.starts_with('@') {
                personality_by_group = true;
            } else {
                personality_by_name = true;
            }
        }
        if kind == ListKind::Deny && refuses(refuse) {
            if let Some(sys) = EXEC_CALLS
                .iter()
                .find(|s| resolved.values().any(|n| n == *s))
            {
                return Err(SeccompError::DeniesExec {
                    list: kind,
                    index,
                    name: entry.clone(),
                    syscall: sys,
                });
            }
        }
        listed.extend(resolved);
    }
    if let Some(nr) = clone3 {
        if kind == ListKind::Deny && listed.remove(&nr).is_some() {
            notes.push("clone3 is always refused with ENOSYS by the always-on filter (so libc falls back to clone); its deny entry was dropped".into());
        }
    }
    if kind == ListKind::Allow {
        for sys in EXEC_CALLS {
            if let Some(nr) = arch.syscall_nr(sys) {
                if listed.insert(nr, sys.to_string()).is_none() {
                    notes.push(format!("{sys} added to the allow list: jail execs COMMAND after installing the filter"));
                }
            }
        }
        for sys in ["exit_group", "rt_sigreturn"] {
            if arch
                .syscall_nr(sys)
                .is_some_and(|nr| !listed.contains_key(&nr))
            {
                warnings.push(format!(
                    "allow list lacks {sys}; COMMAND will likely misbehave"
                ));
            }
        }
    }
    if !refuses(refuse) && kind == ListKind::Deny && !listed.is_empty() {
        warnings.push(format!(
            "seccomp.action is {}: the deny list refuses nothing",
            action_text(refuse)
        ));
    }

    if let Some(nr) = arch.syscall_nr("io_uring_setup") {
        let listed_here = listed.contains_key(&nr);
        let passes = !refuses(refuse)
            || match kind {
                ListKind::Deny => !listed_here,
                _ => listed_here,
            };
        if passes {
            warnings.push("io_uring_setup is allowed: io_uring operations (openat with a setuid mode, socket, connect …) run in the kernel without passing seccomp, so they escape the deny list, the argument rules and the always-on checks; keep @default-deny unless COMMAND needs io_uring".into());
        }
    }

    // Argument rules.
    let mut rules: BTreeMap<u32, Vec<Rule>> = BTreeMap::new();
    let mut rule_lines = Vec::new();
    for (index, r) in spec.rules.iter().enumerate() {
        let bad = |reason: String| SeccompError::BadArg { index, reason };
        if r.syscall.starts_with('@') {
            return Err(bad(format!(
                "rules apply to one system call, not to group {}",
                r.syscall
            )));
        }
        if r.arg > 5 {
            return Err(bad(format!(
                "arg {} out of range, system calls have arguments 0..=5",
                r.arg
            )));
        }
        if !check_errno(r.action) {
            return Err(bad(format!(
                "action {:?}: errno must be in 1..=4095",
                r.action
            )));
        }
        let mask = match r.op {
            CmpOp::MaskedEq { mask } => mask,
            _ => u64::MAX,
        };
        let known = arg_width(&r.syscall, r.arg);
        if r.width == ArgWidth::W64 && known == Some(ArgWidth::W32) {
            return Err(bad(format!(
                "arg{} of {} is a 32-bit C type and the kernel ignores the upper half of the \
                 register, so a 64-bit comparison is bypassed by garbage in the high bits; \
                 drop width = 64",
                r.arg, r.syscall
            )));
        }
        if r.width == ArgWidth::W32
            && (r.value > u32::MAX as u64 || (mask != u64::MAX && mask > u32::MAX as u64))
        {
            return Err(bad(if known == Some(ArgWidth::W32) {
                format!(
                    "value {:#x} (or mask) does not fit arg{} of {}, a 32-bit argument; give the \
                     low 32 bits the kernel sees (e.g. 0xffffff9c for -100)",
                    r.value, r.arg, r.syscall
                )
            } else {
                format!(
                    "value {:#x} (or mask) does not fit a 32-bit argument; use width = 64",
                    r.value
                )
            }));
        }
        if r.value & !mask != 0 {
            return Err(bad(format!(
                "value {:#x} has bits outside mask {mask:#x}, the rule could never match",
                r.value
            )));
        }
        let resolved = resolve(&r.syscall, arch, ListKind::Rule, index, &mut warnings)?;
        let Some((&nr, _)) = resolved.iter().next() else {
            continue;
        };
        if EXEC_CALLS.contains(&r.syscall.as_str()) && refuses(r.action) {
            return Err(SeccompError::DeniesExec {
                list: ListKind::Rule,
                index,
                name: r.syscall.clone(),
                syscall: if r.syscall == "execve" {
                    "execve"
                } else {
                    "execveat"
                },
            });
        }
        if Some(nr) == clone3 {
            warnings.push(format!(
                "{}[{index}]: clone3 is always ENOSYS (always-on), rule skipped",
                ListKind::Rule
            ));
            continue;
        }
        let w = match (r.width, known) {
            (ArgWidth::W32, _) => "32-bit",
            (ArgWidth::W64, Some(_)) => "64-bit",
            (ArgWidth::W64, None) => "64-bit, argument type unknown to jail",
        };
        let op = match r.op {
            CmpOp::Eq => "==".to_string(),
            CmpOp::Ne => "!=".into(),
            CmpOp::Lt => "<".into(),
            CmpOp::Le => "<=".into(),
            CmpOp::Gt => ">".into(),
            CmpOp::Ge => ">=".into(),
            CmpOp::MaskedEq { mask } => format!("& {mask:#x} =="),
        };
        rule_lines.push(format!(
            "{}({nr}): arg{} {op} {:#x} ({w}) -> {}",
            r.syscall,
            r.arg,
            r.value,
            action_text(r.action)
        ));
        rules.entry(nr).or_default().push(Rule {
            arg: r.arg,
            op: r.op,
            value: r.value,
            width: r.width,
            action: r.action,
        });
    }
    if !rules.is_empty() {
        notes.push("argument rules: per system call, the first matching rule (profile order) decides, otherwise the list verdict applies; they cannot loosen the always-on filter".into());
    }
    if let Some(nr) = personality.filter(|nr| {
        kind == ListKind::Deny
            && refuses(refuse)
            && personality_by_group
            && !personality_by_name
            && listed.contains_key(nr)
    }) {
        // After the profile's own rules, so a profile can allow more (e.g. ADDR_NO_RANDOMIZE
        // for a debugger) with a rule of its own.
        let list = rules.entry(nr).or_default();
        for v in PERSONALITY_OK {
            list.push(Rule {
                arg: 0,
                op: CmpOp::Eq,
                value: v,
                width: ArgWidth::W32,
                action: SeccompAction::Allow,
            });
        }
        let vals: Vec<String> = PERSONALITY_OK.iter().map(|v| format!("{v:#x}")).collect();
        rule_lines.push(format!(
            "personality({nr}): arg0 one of {} (32-bit) -> allow, any other value -> {} (@default-deny)",
            vals.join(", "),
            action_text(refuse)
        ));
    }

    // Build the filters.
    let mut always_on = Vec::new();
    let mut filters = vec![
        guard_filter(arch, &mut always_on)?,
        always_on_filter(arch, spec.nested, spec.host_pid, &mut always_on)?,
    ];

    let (listed_v, default_v) = match kind {
        ListKind::Deny => (ret_value(refuse), RET_ALLOW),
        _ => (RET_ALLOW, ret_value(refuse)),
    };
    let mut per_nr: BTreeMap<u32, Target> = listed
        .keys()
        .map(|&nr| (nr, Target::Ret(listed_v)))
        .collect();
    if let (Some(nr), ListKind::Allow) = (clone3, kind) {
        // Let the always-on filter's ENOSYS be the answer, whatever the default action is
        // (glibc's pthread_create only falls back to clone on ENOSYS).
        per_nr.insert(nr, Target::Ret(RET_ALLOW));
        notes.push("clone3 passes the policy filter so the always-on ENOSYS answers it (glibc then falls back to clone)".into());
    }
    let mut asm = Asm::default();
    for (nr, list) in rules.iter().rev() {
        let mut tail = per_nr.get(nr).copied().unwrap_or(Target::Ret(default_v));
        for r in list.iter().rev() {
            tail = condition(&mut asm, r, Target::Ret(ret_value(r.action)), tail);
        }
        per_nr.insert(*nr, tail);
    }
    per_nr.retain(|_, t| *t != Target::Ret(default_v));
    if !(per_nr.is_empty() && default_v == RET_ALLOW) {
        dispatch(&mut asm, &per_nr, Target::Ret(default_v));
        let name = match kind {
            ListKind::Deny => format!(
                "policy: allow by default, deny list -> {}",
                action_text(refuse)
            ),
            _ => format!(
                "policy: allow list, everything else -> {}",
                action_text(refuse)
            ),
        };
        filters.push(check_len(&name, asm.finish())?);
    }

    let named = |m: &BTreeMap<u32, String>| {
        m.iter()
            .map(|(&nr, n)| NamedSyscall {
                name: n.clone(),
                nr,
            })
            .collect::<Vec<_>>()
    };
    let (denied, allowed) = match kind {
        ListKind::Deny => (named(&listed), Vec::new()),
        _ => (Vec::new(), named(&listed)),
    };
    Ok(SeccompPlan {
        arch,
        filters,
        summary: SeccompSummary {
            default: spec.default,
            refuse_action: refuse,
            denied,
            allowed,
            rules: rule_lines,
            always_on,
            notes,
            warnings,
        },
        log: spec.log,
    })
}

/// The plan's filters as ONE program, in install order: every `RET ALLOW` of a part becomes a
/// jump to the next part's first instruction (each part starts by loading what it needs, and
/// its jumps are relative, so parts concatenate as they are). A syscall that no part inspects
/// runs one filter instead of three (the kernel runs every stacked filter for a syscall its
/// action cache cannot answer), and constant verdicts stay cacheable.
///
/// The one difference from stacking: a part that refuses decides at once, where a stack would
/// pick the most restrictive refusal of all parts; a call refused either way is still refused.
/// None when the sum would exceed the kernel's 4096 instructions (install then stacks).
pub fn merged(filters: &[BpfFilter]) -> Option<Vec<SockFilter>> {
    let total: usize = filters.iter().map(|f| f.program.len()).sum();
    if total == 0 || total > MAX_INSNS {
        return None;
    }
    let mut out = Vec::with_capacity(total);
    for (i, f) in filters.iter().enumerate() {
        let last = i + 1 == filters.len();
        for (j, ins) in f.program.iter().enumerate() {
            if !last && ins.code == BPF_RET_K && ins.k == RET_ALLOW {
                let rest = (f.program.len() - j - 1) as u32;
                out.push(SockFilter {
                    code: BPF_JA,
                    jt: 0,
                    jf: 0,
                    k: rest,
                });
            } else {
                out.push(*ins);
            }
        }
    }
    Some(out)
}

/// Which list entry an error is about, so the caller can point at the profile line.
pub fn error_position(e: &SeccompError) -> Option<(ListKind, usize)> {
    match e {
        SeccompError::UnknownName { list, index, .. }
        | SeccompError::UnknownGroup { list, index, .. }
        | SeccompError::DeniesExec { list, index, .. } => Some((*list, *index)),
        SeccompError::BadArg { index, .. } => Some((ListKind::Rule, *index)),
        _ => None,
    }
}

/// The lines `jail explain` shows for seccomp.
pub fn explain_lines(plan: &SeccompPlan) -> Vec<String> {
    plan.explain()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim_end().to_string())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

/// Classic-BPF interpreter for the subset we emit, used by unit tests to check semantics
/// without a kernel.
#[cfg(test)]
pub(crate) mod emu {
    use super::*;

    /// Runs `prog` on a seccomp_data; returns (return value, instructions executed).
    pub fn run(prog: &[SockFilter], nr: u32, arch: u32, args: [u64; 6]) -> (u32, usize) {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.to_le_bytes());
        data[4..8].copy_from_slice(&arch.to_le_bytes());
        for (i, a) in args.iter().enumerate() {
            data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
        }
        let (mut pc, mut a, mut steps) = (0usize, 0u32, 0usize);
        loop {
            let i = prog[pc];
            steps += 1;
            let cond = |c: bool| pc + 1 + if c { i.jt as usize } else { i.jf as usize };
            pc = match i.code {
                BPF_LD_W_ABS => {
                    let k = i.k as usize;
                    a = u32::from_le_bytes(data[k..k + 4].try_into().unwrap());
                    pc + 1
                }
                BPF_ALU_AND_K => {
                    a &= i.k;
                    pc + 1
                }
                BPF_JA => pc + 1 + i.k as usize,
                BPF_JEQ_K => cond(a == i.k),
                BPF_JGT_K => cond(a > i.k),
                BPF_JGE_K => cond(a >= i.k),
                BPF_JSET_K => cond(a & i.k != 0),
                BPF_RET_K => return (i.k, steps),
                c => panic!("unexpected opcode {c:#x}"),
            };
        }
    }

    /// The kernel's verdict for the whole stack: the most restrictive action wins; on a tie
    /// the most recently installed filter wins.
    pub fn eval_arch(plan: &SeccompPlan, nr: u32, arch: u32, args: [u64; 6]) -> u32 {
        let mut ret = RET_ALLOW;
        for f in plan.filters.iter().rev() {
            let r = run(&f.program, nr, arch, args).0;
            if ((r & 0xffff_0000) as i32) < ((ret & 0xffff_0000) as i32) {
                ret = r;
            }
        }
        ret
    }

    pub fn eval(plan: &SeccompPlan, name: &str, args: [u64; 6]) -> u32 {
        eval_arch(
            plan,
            plan.arch.syscall_nr(name).unwrap(),
            plan.arch.audit_arch(),
            args,
        )
    }

    /// Mirrors the kernel's seccomp_is_const_allow(): can the action cache skip this filter
    /// for `nr` (verdict ALLOW without looking at arguments)?
    pub fn is_const_allow(prog: &[SockFilter], nr: u32, arch: u32) -> bool {
        let (mut pc, mut a) = (0usize, 0u32);
        loop {
            let i = prog[pc];
            let cond = |c: bool| pc + 1 + if c { i.jt as usize } else { i.jf as usize };
            pc = match i.code {
                BPF_LD_W_ABS if i.k == OFF_NR => {
                    a = nr;
                    pc + 1
                }
                BPF_LD_W_ABS if i.k == OFF_ARCH => {
                    a = arch;
                    pc + 1
                }
                BPF_LD_W_ABS => return false,
                BPF_ALU_AND_K => {
                    a &= i.k;
                    pc + 1
                }
                BPF_JA => pc + 1 + i.k as usize,
                BPF_JEQ_K => cond(a == i.k),
                BPF_JGT_K => cond(a > i.k),
                BPF_JGE_K => cond(a >= i.k),
                BPF_JSET_K => cond(a & i.k != 0),
                BPF_RET_K => return i.k == RET_ALLOW,
                _ => return false,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::emu::*;
    use super::*;

    const EPERM: u32 = RET_ERRNO | libc::EPERM as u32;
    const ENOSYS: u32 = RET_ERRNO | libc::ENOSYS as u32;
    const A0: [u64; 6] = [0; 6];

    fn deny(names: &[&str]) -> SeccompSpec {
        SeccompSpec {
            deny: names.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }
    fn allow(names: &[&str]) -> SeccompSpec {
        SeccompSpec {
            default: DefaultPolicy::Deny,
            allow: names.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }
    fn members(g: &str, arch: Arch) -> Vec<String> {
        groups(arch)
            .into_iter()
            .find(|i| i.name == g)
            .unwrap()
            .members
            .into_iter()
            .map(|m| m.name)
            .collect()
    }

    #[test]
    fn group_table_is_sane() {
        for wanted in [
            "@aio",
            "@basic-io",
            "@chown",
            "@clock",
            "@cpu-emulation",
            "@debug",
            "@file-system",
            "@io-event",
            "@ipc",
            "@keyring",
            "@memlock",
            "@module",
            "@mount",
            "@network-io",
            "@obsolete",
            "@pkey",
            "@privileged",
            "@process",
            "@raw-io",
            "@reboot",
            "@resources",
            "@sandbox",
            "@setuid",
            "@signal",
            "@swap",
            "@sync",
            "@system-service",
            "@timer",
            "@default",
            "@default-deny",
        ] {
            assert!(group_names().contains(&wanted), "{wanted} missing");
        }
        let mut missing = vec![];
        for (name, _, ms) in GROUPS {
            assert_eq!(
                GROUPS.iter().filter(|g| g.0 == *name).count(),
                1,
                "{name} twice"
            );
            for m in ms.iter() {
                if m.starts_with('@') {
                    assert!(group_names().contains(m), "{name}: unknown subgroup {m}");
                } else {
                    if other_arch_having(m).is_none() {
                        missing.push(format!("{name}:{m}"));
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "members that exist on no architecture: {missing:?}"
        );
    }

    #[test]
    fn group_resolution() {
        for arch in [Arch::X86_64, Arch::Aarch64] {
            let dd = members("@default-deny", arch);
            for m in [
                "mount",
                "umount2",
                "fsopen",
                "fsmount",
                "move_mount",
                "open_tree",
                "mount_setattr",
                "bpf",
                "perf_event_open",
                "kexec_load",
                "kexec_file_load",
                "init_module",
                "finit_module",
                "ptrace",
                "swapon",
                "settimeofday",
                "add_key",
                "userfaultfd",
                "open_by_handle_at",
                "name_to_handle_at",
                "quotactl",
                "acct",
                "reboot",
                "pivot_root",
            ] {
                assert!(dd.iter().any(|n| n == m), "{arch}: @default-deny lacks {m}");
            }
            for m in [
                "execve", "execveat", "read", "write", "getpid", "clone", "ioctl", "uname",
            ] {
                assert!(
                    !dd.iter().any(|n| n == m),
                    "{arch}: @default-deny must not contain {m}"
                );
            }
            // Nested groups are flattened: @privileged includes @chown's members.
            assert!(members("@privileged", arch).contains(&"fchownat".to_string()));
            assert!(members("@system-service", arch).contains(&"execve".to_string()));
        }
        // Arch-specific members only where they exist.
        assert!(members("@raw-io", Arch::X86_64).contains(&"iopl".to_string()));
        assert!(!members("@raw-io", Arch::Aarch64).contains(&"iopl".to_string()));
        assert!(!members("@file-system", Arch::Aarch64).contains(&"open".to_string()));
        let nr = |n| Arch::X86_64.syscall_nr(n).unwrap();
        let dd = groups(Arch::X86_64)
            .into_iter()
            .find(|g| g.name == "@default-deny")
            .unwrap();
        assert!(dd.members.contains(&NamedSyscall {
            name: "mount".into(),
            nr: nr("mount")
        }));
        assert!(serde_json::to_string(&groups(Arch::X86_64))
            .unwrap()
            .contains("\"@mount\""));
    }

    #[test]
    fn unknown_names_and_groups_point_at_the_entry() {
        let e = compile(
            &deny(&["read", "@mount", "definitely_not_a_syscall"]),
            Arch::X86_64,
        )
        .unwrap_err();
        assert_eq!(
            e,
            SeccompError::UnknownName {
                list: ListKind::Deny,
                index: 2,
                name: "definitely_not_a_syscall".into()
            }
        );
        assert!(e.to_string().starts_with("seccomp.deny[2]:"), "{e}");
        let e = compile(&allow(&["read", "@nosuchgroup"]), Arch::X86_64).unwrap_err();
        assert_eq!(
            e,
            SeccompError::UnknownGroup {
                list: ListKind::Allow,
                index: 1,
                name: "@nosuchgroup".into()
            }
        );
        let mut s = SeccompSpec::default();
        s.rules.push(ArgRuleSpec {
            syscall: "personality".into(),
            arg: 0,
            op: CmpOp::Eq,
            value: 1,
            width: ArgWidth::W32,
            action: SeccompAction::Kill,
        });
        s.rules.push(ArgRuleSpec {
            syscall: "persnality".into(),
            arg: 0,
            op: CmpOp::Eq,
            value: 1,
            width: ArgWidth::W32,
            action: SeccompAction::Kill,
        });
        assert_eq!(
            compile(&s, Arch::X86_64).unwrap_err(),
            SeccompError::UnknownName {
                list: ListKind::Rule,
                index: 1,
                name: "persnality".into()
            }
        );
        s.rules[1].syscall = "personality".into();
        s.rules[1].arg = 6;
        assert!(matches!(
            compile(&s, Arch::X86_64).unwrap_err(),
            SeccompError::BadArg { index: 1, .. }
        ));
        s.rules[1].arg = 0;
        s.rules[1].value = 1 << 32;
        assert!(matches!(
            compile(&s, Arch::X86_64).unwrap_err(),
            SeccompError::BadArg { index: 1, .. }
        ));
        assert!(matches!(
            compile(
                &SeccompSpec {
                    nested: 1,
                    ..Default::default()
                },
                Arch::X86_64
            ),
            Err(SeccompError::BadNested { .. })
        ));
        assert!(matches!(
            compile(
                &SeccompSpec {
                    action: Some(SeccompAction::Errno(0)),
                    ..Default::default()
                },
                Arch::X86_64
            ),
            Err(SeccompError::BadAction { .. })
        ));
    }

    #[test]
    fn other_arch_names_are_skipped_with_a_warning() {
        let p = compile(&deny(&["mmap2", "uname"]), Arch::X86_64).unwrap();
        assert!(
            p.summary
                .warnings
                .iter()
                .any(|w| w.contains("seccomp.deny[0]")
                    && w.contains("mmap2")
                    && w.contains("x86_64")),
            "{:?}",
            p.summary.warnings
        );
        assert_eq!(
            p.summary.denied,
            vec![NamedSyscall {
                name: "uname".into(),
                nr: 63
            }]
        );
        let p = compile(&deny(&["open"]), Arch::Aarch64).unwrap();
        assert!(p
            .summary
            .warnings
            .iter()
            .any(|w| w.contains("open") && w.contains("aarch64")));
        assert!(p.summary.denied.is_empty());
        assert!(p.explain().contains("warning:"));
    }

    #[test]
    fn refusing_exec_is_an_error() {
        let e = compile(&deny(&["uname", "execve"]), Arch::X86_64).unwrap_err();
        assert!(
            matches!(
                e,
                SeccompError::DeniesExec {
                    list: ListKind::Deny,
                    index: 1,
                    syscall: "execve",
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("COMMAND could never start"));
        let e = compile(&deny(&["@process"]), Arch::X86_64).unwrap_err();
        assert!(matches!(
            e,
            SeccompError::DeniesExec {
                index: 0,
                syscall: "execveat",
                ..
            }
        ));
        let e = compile(&deny(&["@mount", "@system-service"]), Arch::X86_64).unwrap_err();
        assert!(matches!(e, SeccompError::DeniesExec { index: 1, .. }));
        // Log/Allow actions do not refuse, so they are fine.
        assert!(compile(
            &SeccompSpec {
                action: Some(SeccompAction::Log),
                ..deny(&["execve"])
            },
            Arch::X86_64
        )
        .is_ok());
        let mut s = SeccompSpec::default();
        s.rules.push(ArgRuleSpec {
            syscall: "execve".into(),
            arg: 2,
            op: CmpOp::Eq,
            value: 0,
            width: ArgWidth::W64,
            action: SeccompAction::Errno(1),
        });
        assert!(matches!(
            compile(&s, Arch::X86_64).unwrap_err(),
            SeccompError::DeniesExec {
                list: ListKind::Rule,
                index: 0,
                ..
            }
        ));
        // An allow list without execve gets it implicitly.
        let p = compile(&allow(&["@basic-io"]), Arch::X86_64).unwrap();
        assert_eq!(eval(&p, "execve", A0), RET_ALLOW);
        assert_eq!(eval(&p, "execveat", A0), RET_ALLOW);
        assert!(p.summary.notes.iter().any(|n| n.contains("execve added")));
    }

    #[test]
    fn default_deny_refuses_io_uring_and_most_personalities() {
        let eperm = RET_ERRNO | libc::EPERM as u32;
        for arch in [Arch::X86_64, Arch::Aarch64] {
            let p = compile(&deny(&["@default-deny"]), arch).unwrap();
            let ev = |name: &str, a0: u64| {
                eval_arch(
                    &p,
                    arch.syscall_nr(name).unwrap(),
                    arch.audit_arch(),
                    [a0, 0, 0, 0, 0, 0],
                )
            };
            for n in [
                "io_uring_setup",
                "io_uring_enter",
                "io_uring_register",
                "syslog",
                "fanotify_init",
                "move_pages",
                "migrate_pages",
            ] {
                assert_eq!(ev(n, 0), eperm, "{arch}: {n}");
            }
            for v in PERSONALITY_OK {
                assert_eq!(ev("personality", v), RET_ALLOW, "{arch}: {v:#x}");
            }
            // The kernel reads an unsigned int: high bits change nothing, either way.
            assert_eq!(ev("personality", 0x1_0000_0008), RET_ALLOW);
            assert_eq!(ev("personality", u64::MAX), RET_ALLOW, "query as -1");
            for v in [
                0x0040_0000u64, // READ_IMPLIES_EXEC
                0x0004_0000,    // ADDR_NO_RANDOMIZE
                0x0010_0000,    // MMAP_PAGE_ZERO
                0x0040_0008,    // PER_LINUX32|READ_IMPLIES_EXEC
                0x1_0040_0000,  // high bits do not hide the low ones
                0xffff_fffe,
                0x0000_0001, // PER_SVR4
            ] {
                assert_eq!(ev("personality", v), eperm, "{arch}: {v:#x}");
            }
            assert_eq!(ev("uname", 0), RET_ALLOW);
        }
        // Named on its own: refused for every value. A profile rule can allow one more.
        let p = compile(&deny(&["@default-deny", "personality"]), Arch::X86_64).unwrap();
        assert_eq!(eval(&p, "personality", [0, 0, 0, 0, 0, 0]), eperm);
        let mut s = deny(&["@default-deny"]);
        s.rules.push(ArgRuleSpec {
            syscall: "personality".into(),
            arg: 0,
            op: CmpOp::Eq,
            value: 0x0004_0000,
            width: ArgWidth::W32,
            action: SeccompAction::Allow,
        });
        let p = compile(&s, Arch::X86_64).unwrap();
        assert_eq!(
            eval(&p, "personality", [0x0004_0000, 0, 0, 0, 0, 0]),
            RET_ALLOW
        );
        assert_eq!(eval(&p, "personality", [0x0040_0000, 0, 0, 0, 0, 0]), eperm);
        assert!(p
            .summary
            .rules
            .iter()
            .any(|l| l
                .contains("personality(135): arg0 one of 0x0, 0x8, 0x20000, 0x20008, 0xffffffff")));
        // An allow list decides personality like any other call: all or nothing.
        let p = compile(&allow(&["@system-service"]), Arch::X86_64).unwrap();
        assert_eq!(
            eval(&p, "personality", [0x0040_0000, 0, 0, 0, 0, 0]),
            RET_ALLOW
        );
    }

    #[test]
    fn default_policy_semantics() {
        let p = compile(&deny(&["@default-deny"]), Arch::X86_64).unwrap();
        assert_eq!(p.filters.len(), 3);
        assert_eq!(p.filters[0].name, "guard: arch + x32");
        for n in [
            "mount",
            "bpf",
            "kexec_load",
            "perf_event_open",
            "fsopen",
            "ptrace",
        ] {
            assert_eq!(eval(&p, n, A0), EPERM, "{n}");
        }
        for n in ["read", "write", "getpid", "execve", "openat", "uname"] {
            assert_eq!(eval(&p, n, A0), RET_ALLOW, "{n}");
        }
        // ioctl: only the low 32 bits of the request count.
        let ioctl = |req: u64| eval(&p, "ioctl", [0, req, 0, 0, 0, 0]);
        assert_eq!(ioctl(0x5412), EPERM);
        assert_eq!(ioctl(0x1_0000_5412), EPERM);
        assert_eq!(ioctl(0xffff_ffff_0000_541c), EPERM);
        assert_eq!(ioctl(0x5413), RET_ALLOW);
        assert_eq!(ioctl(0x5401), RET_ALLOW); // TCGETS
        assert_eq!(eval(&p, "clone3", A0), ENOSYS);
        // clone: fork and thread flags pass, namespace flags don't.
        let clone = |f: u64| eval(&p, "clone", [f, 0, 0, 0, 0, 0]);
        assert_eq!(clone(0x0120_0011), RET_ALLOW); // glibc fork()
        assert_eq!(clone(0x003d_0f00), RET_ALLOW); // glibc pthread_create()
        assert_eq!(clone(0x0000_4111), RET_ALLOW); // vfork-ish
        for ns in [
            0x20000u64,
            0x0200_0000,
            0x0400_0000,
            0x0800_0000,
            0x1000_0000,
            0x2000_0000,
            0x4000_0000,
        ] {
            assert_eq!(clone(ns | 0x11), EPERM, "{ns:#x}");
            assert_eq!(eval(&p, "unshare", [ns, 0, 0, 0, 0, 0]), EPERM);
            assert_eq!(eval(&p, "setns", [3, ns, 0, 0, 0, 0]), EPERM);
        }
        assert_eq!(eval(&p, "unshare", [0x80, 0, 0, 0, 0, 0]), EPERM); // CLONE_NEWTIME
        assert_eq!(eval(&p, "unshare", [0x200, 0, 0, 0, 0, 0]), RET_ALLOW); // CLONE_FS
        assert_eq!(eval(&p, "setns", [3, 0, 0, 0, 0, 0]), EPERM);
        // Guard: x32 and foreign arch are killed.
        assert_eq!(
            eval_arch(&p, 0x4000_0000 | 39, Arch::X86_64.audit_arch(), A0),
            RET_KILL_PROCESS
        );
        assert_eq!(eval_arch(&p, 20, 0x4000_0003, A0), RET_KILL_PROCESS); // AUDIT_ARCH_I386
        assert_eq!(
            eval_arch(&p, 9999, Arch::X86_64.audit_arch(), A0),
            RET_ALLOW
        );
    }

    #[test]
    fn nested_namespaces() {
        let user = 0x1000_0000u64;
        let p = compile(
            &SeccompSpec {
                nested: user,
                ..Default::default()
            },
            Arch::X86_64,
        )
        .unwrap();
        assert_eq!(
            p.filters.len(),
            2,
            "no policy filter needed for an empty allow-default policy"
        );
        assert_eq!(eval(&p, "unshare", [user, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(eval(&p, "clone", [user | 0x11, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(eval(&p, "unshare", [user | 0x20000, 0, 0, 0, 0, 0]), EPERM);
        assert_eq!(eval(&p, "setns", [3, user, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(eval(&p, "setns", [3, 0, 0, 0, 0, 0]), EPERM);
        let p = compile(
            &SeccompSpec {
                nested: ALL_NAMESPACES,
                ..Default::default()
            },
            Arch::Aarch64,
        )
        .unwrap();
        assert_eq!(eval(&p, "setns", [3, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(
            eval(&p, "unshare", [ALL_NAMESPACES, 0, 0, 0, 0, 0]),
            RET_ALLOW
        );
        assert_eq!(eval(&p, "clone3", A0), ENOSYS);
    }

    #[test]
    fn allow_list_semantics() {
        let p = compile(
            &allow(&["@default", "@basic-io", "ioctl", "clone"]),
            Arch::X86_64,
        )
        .unwrap();
        assert_eq!(eval(&p, "write", A0), RET_ALLOW);
        assert_eq!(eval(&p, "uname", A0), ENOSYS);
        assert_eq!(eval(&p, "mount", A0), ENOSYS);
        // Always-on still applies to allowed syscalls; clone3 answers ENOSYS even with a Kill default.
        assert_eq!(eval(&p, "ioctl", [0, 0x5412, 0, 0, 0, 0]), EPERM);
        let p = compile(
            &SeccompSpec {
                action: Some(SeccompAction::Kill),
                ..allow(&["@default"])
            },
            Arch::X86_64,
        )
        .unwrap();
        assert_eq!(eval(&p, "clone3", A0), ENOSYS);
        assert_eq!(eval(&p, "uname", A0), RET_KILL_PROCESS);
        assert_eq!(
            eval_arch(&p, 5000, Arch::X86_64.audit_arch(), A0),
            RET_KILL_PROCESS
        );
    }

    #[test]
    fn setuid_modes_are_refused_always() {
        const S_IFREG: u64 = 0o100000;
        for arch in [Arch::X86_64, Arch::Aarch64] {
            // Even a profile that allows everything (no policy filter at all).
            for spec in [SeccompSpec::default(), deny(&["@default-deny"])] {
                let p = compile(&spec, arch).unwrap();
                let aa = arch.audit_arch();
                let mut seen = 0;
                for &(name, arg) in MODE_ARGS {
                    let Some(nr) = arch.syscall_nr(name) else {
                        assert!(
                            arch == Arch::Aarch64
                                && ["chmod", "creat", "open", "mknod"].contains(&name),
                            "{arch}: {name} missing"
                        );
                        continue;
                    };
                    seen += 1;
                    let at = |mode: u64| {
                        let mut a = [0u64; 6];
                        a[arg as usize] = mode;
                        // Every other argument slot gets a mode-looking value too: only the
                        // mode argument may decide.
                        eval_arch(&p, nr, aa, a)
                    };
                    for bad in [
                        0o4755,
                        0o2755,
                        0o6777,
                        0o4000,
                        0o2000,
                        S_IFREG | 0o4755,
                        (1 << 32) | 0o4755,
                        0xffff_ffff,
                    ] {
                        assert_eq!(at(bad), EPERM, "{arch} {name} mode {bad:#o}");
                    }
                    for good in [
                        0,
                        0o755,
                        0o1777,
                        0o777,
                        S_IFREG | 0o644,
                        (1 << 32) | 0o755,
                        0xffff_0000_0000_0000,
                    ] {
                        assert_eq!(at(good), RET_ALLOW, "{arch} {name} mode {good:#o}");
                    }
                    // The bits in another argument (flags, dirfd, dev) do not matter.
                    let mut a = [0o6000u64; 6];
                    a[arg as usize] = 0o644;
                    assert_eq!(
                        eval_arch(&p, nr, aa, a),
                        RET_ALLOW,
                        "{arch} {name} other args"
                    );
                }
                assert_eq!(seen, if arch == Arch::X86_64 { 9 } else { 5 });
                assert_eq!(eval(&p, "openat2", A0), ENOSYS, "{arch}");
                assert_eq!(arch.syscall_nr("fchmodat2"), Some(452));
                // mkdir's mode cannot carry the bits (the kernel masks them): not checked.
                assert_eq!(eval(&p, "mkdirat", [0, 0, 0o2755, 0, 0, 0]), RET_ALLOW);
                assert!(p.explain().contains("S_ISUID or S_ISGID"));
            }
            // An allow rule in the profile cannot re-enable it.
            let mut s = SeccompSpec::default();
            s.rules.push(ArgRuleSpec {
                syscall: "fchmod".into(),
                arg: 1,
                op: CmpOp::Eq,
                value: 0o4755,
                width: ArgWidth::W32,
                action: SeccompAction::Allow,
            });
            let p = compile(&s, arch).unwrap();
            assert_eq!(eval(&p, "fchmod", [3, 0o4755, 0, 0, 0, 0]), EPERM);
        }
    }

    #[test]
    fn io_uring_allowed_is_a_warning() {
        let warned = |s: &SeccompSpec| {
            compile(s, Arch::X86_64)
                .unwrap()
                .summary
                .warnings
                .iter()
                .any(|w| w.contains("io_uring_setup is allowed"))
        };
        assert!(!warned(&deny(&["@default-deny"])));
        assert!(!warned(&allow(&["@default"])));
        assert!(warned(&deny(&["@mount"])));
        assert!(warned(&allow(&["@default", "@aio"])));
    }

    #[test]
    fn rule_widths_follow_the_argument_type() {
        assert_eq!(arg_width("socket", 0), Some(ArgWidth::W32));
        assert_eq!(arg_width("openat", 3), Some(ArgWidth::W32));
        assert_eq!(arg_width("mmap", 2), Some(ArgWidth::W64));
        assert_eq!(arg_width("read", 1), Some(ArgWidth::W64));
        assert_eq!(arg_width("socket", 3), None);
        assert_eq!(arg_width("lookup_dcookie", 0), None);
        // Every table entry names a syscall of a supported arch, with at most 6 arguments.
        for (n, t) in ARG_TYPES {
            assert!(
                Arch::X86_64.syscall_nr(n).is_some() || Arch::Aarch64.syscall_nr(n).is_some(),
                "{n}"
            );
            assert!(
                t.len() <= 6 && t.bytes().all(|b| b == b'i' || b == b'l'),
                "{n}"
            );
        }
        let rule = |width| SeccompSpec {
            rules: vec![ArgRuleSpec {
                syscall: "socket".into(),
                arg: 0,
                op: CmpOp::Eq,
                value: 2,
                width,
                action: SeccompAction::Errno(libc::EACCES),
            }],
            ..Default::default()
        };
        let e = compile(&rule(ArgWidth::W64), Arch::X86_64).unwrap_err();
        assert!(e.to_string().contains("32-bit C type"), "{e}");
        let p = compile(&rule(ArgWidth::W32), Arch::X86_64).unwrap();
        let eacces = RET_ERRNO | libc::EACCES as u32;
        assert_eq!(eval(&p, "socket", [2, 1, 0, 0, 0, 0]), eacces);
        assert_eq!(eval(&p, "socket", [0x1_0000_0002, 1, 0, 0, 0, 0]), eacces);
        assert_eq!(eval(&p, "socket", [1, 1, 0, 0, 0, 0]), RET_ALLOW);
        // Unknown type: 64 bits, and explain says why.
        let mut s = SeccompSpec::default();
        s.rules.push(ArgRuleSpec {
            syscall: "lookup_dcookie".into(),
            arg: 0,
            op: CmpOp::Eq,
            value: 1 << 40,
            width: ArgWidth::W64,
            action: SeccompAction::Errno(1),
        });
        let text = compile(&s, Arch::X86_64).unwrap().explain();
        assert!(
            text.contains("64-bit, argument type unknown to jail"),
            "{text}"
        );
    }

    /// Reference semantics for argument rules.
    fn reference(op: CmpOp, w: ArgWidth, arg: u64, v: u64) -> bool {
        let a = if w == ArgWidth::W32 {
            arg & 0xffff_ffff
        } else {
            arg
        };
        match op {
            CmpOp::Eq => a == v,
            CmpOp::Ne => a != v,
            CmpOp::Lt => a < v,
            CmpOp::Le => a <= v,
            CmpOp::Gt => a > v,
            CmpOp::Ge => a >= v,
            CmpOp::MaskedEq { mask } => a & mask == v,
        }
    }

    #[test]
    fn argument_comparisons_match_reference() {
        let samples = [
            0u64,
            1,
            2,
            0x7fff_ffff,
            0x8000_0000,
            0xffff_fffe,
            0xffff_ffff,
            1 << 32,
            (1 << 32) + 1,
            0x1_ffff_ffff,
            0x8000_0000_0000_0000,
            u64::MAX - 1,
            u64::MAX,
        ];
        let ops = [
            CmpOp::Eq,
            CmpOp::Ne,
            CmpOp::Lt,
            CmpOp::Le,
            CmpOp::Gt,
            CmpOp::Ge,
            CmpOp::MaskedEq { mask: 0xf0 },
            CmpOp::MaskedEq {
                mask: 0xffff_0000_0000_00f0,
            },
        ];
        for width in [ArgWidth::W32, ArgWidth::W64] {
            for op in ops {
                for &v in &samples {
                    let mask = if let CmpOp::MaskedEq { mask } = op {
                        mask
                    } else {
                        u64::MAX
                    };
                    if width == ArgWidth::W32 && mask != u64::MAX && mask > 0xffff_ffff {
                        continue; // rejected by compile(), tested elsewhere
                    }
                    let v = v
                        & mask
                        & if width == ArgWidth::W32 {
                            0xffff_ffff
                        } else {
                            u64::MAX
                        };
                    let mut s = SeccompSpec::default();
                    s.rules.push(ArgRuleSpec {
                        syscall: "personality".into(),
                        arg: 3,
                        op,
                        value: v,
                        width,
                        action: SeccompAction::Errno(7),
                    });
                    let p = compile(&s, Arch::X86_64).unwrap();
                    for &a in &samples {
                        let want = if reference(op, width, a, v) {
                            RET_ERRNO | 7
                        } else {
                            RET_ALLOW
                        };
                        assert_eq!(
                            eval(&p, "personality", [0, 0, 0, a, 0, 0]),
                            want,
                            "{op:?} {width:?} arg={a:#x} v={v:#x}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn rules_first_match_and_allow_exceptions() {
        let mut s = allow(&["@default"]);
        // socket is not allowed, but AF_UNIX sockets are carved out; AF_NETLINK is killed.
        s.rules.push(ArgRuleSpec {
            syscall: "socket".into(),
            arg: 0,
            op: CmpOp::Eq,
            value: 1,
            width: ArgWidth::W32,
            action: SeccompAction::Allow,
        });
        s.rules.push(ArgRuleSpec {
            syscall: "socket".into(),
            arg: 0,
            op: CmpOp::Eq,
            value: 16,
            width: ArgWidth::W32,
            action: SeccompAction::Kill,
        });
        s.rules.push(ArgRuleSpec {
            syscall: "socket".into(),
            arg: 0,
            op: CmpOp::Ge,
            value: 0,
            width: ArgWidth::W32,
            action: SeccompAction::Errno(13),
        });
        let p = compile(&s, Arch::X86_64).unwrap();
        assert_eq!(eval(&p, "socket", [1, 0, 0, 0, 0, 0]), RET_ALLOW);
        assert_eq!(eval(&p, "socket", [16, 0, 0, 0, 0, 0]), RET_KILL_PROCESS);
        assert_eq!(eval(&p, "socket", [2, 0, 0, 0, 0, 0]), RET_ERRNO | 13);
        assert_eq!(p.summary.rules.len(), 3);
        // A profile rule cannot loosen always-on.
        let mut s = SeccompSpec::default();
        s.rules.push(ArgRuleSpec {
            syscall: "ioctl".into(),
            arg: 1,
            op: CmpOp::Eq,
            value: 0x5412,
            width: ArgWidth::W32,
            action: SeccompAction::Allow,
        });
        assert_eq!(
            eval(
                &compile(&s, Arch::X86_64).unwrap(),
                "ioctl",
                [0, 0x5412, 0, 0, 0, 0]
            ),
            EPERM
        );
    }

    #[test]
    fn big_policies_fit_and_stay_correct() {
        for arch in [Arch::X86_64, Arch::Aarch64] {
            // Every other syscall allowed (no coalescing possible) + many rules spread out.
            let all: Vec<(u32, &str)> = (0..1024)
                .filter_map(|nr| arch.syscall_name(nr).map(|n| (nr, n)))
                .collect();
            let mut s = SeccompSpec {
                default: DefaultPolicy::Deny,
                ..Default::default()
            };
            s.allow = all.iter().step_by(2).map(|(_, n)| n.to_string()).collect();
            for (i, (_, n)) in all.iter().enumerate().filter(|(i, _)| i % 3 == 0) {
                if ["execve", "execveat", "clone3"].contains(n) {
                    continue;
                }
                if arg_width(n, (i % 6) as u8) == Some(ArgWidth::W32) {
                    continue; // a 64-bit rule on a 32-bit argument is refused
                }
                for k in 0..3u64 {
                    s.rules.push(ArgRuleSpec {
                        syscall: n.to_string(),
                        arg: (i % 6) as u8,
                        op: CmpOp::Gt,
                        value: (k + 1) << 33,
                        width: ArgWidth::W64,
                        action: SeccompAction::Errno(100 + k as i32),
                    });
                }
            }
            let p = compile(&s, arch).unwrap();
            for f in &p.filters {
                assert!(
                    f.program.len() < MAX_INSNS,
                    "{}: {}",
                    f.name,
                    f.program.len()
                );
            }
            assert!(
                p.filters[2].program.len() > 1500,
                "test should exercise long jumps"
            );
            for (i, &(nr, n)) in all.iter().enumerate() {
                let allowed = i % 2 == 0 || ["execve", "execveat", "clone3"].contains(&n);
                let base = if allowed { RET_ALLOW } else { ENOSYS };
                let aa = arch.audit_arch();
                let arg = i % 6;
                let mut args = [0u64; 6];
                let mut check = |v: u64, want: u32| {
                    args[arg] = v;
                    let got = eval_arch(&p, nr, aa, args);
                    // Always-on may tighten a few syscalls; ignore those here.
                    if !["ioctl", "clone", "unshare", "setns", "clone3", "openat2"].contains(&n)
                        && !MODE_ARGS.iter().any(|m| m.0 == n)
                    {
                        assert_eq!(got, want, "{arch} {n} arg{arg}={v:#x}");
                    }
                };
                check(0, base);
                if i % 3 == 0
                    && !["execve", "execveat", "clone3"].contains(&n)
                    && arg_width(n, arg as u8) != Some(ArgWidth::W32)
                {
                    check((1 << 33) + 1, RET_ERRNO | 100);
                    check(u64::MAX, RET_ERRNO | 100);
                }
            }
        }
        // A deny list of everything also fits.
        let all: Vec<String> = (0..1024)
            .filter_map(|nr| Arch::X86_64.syscall_name(nr))
            .filter(|n| !n.starts_with("exec"))
            .map(String::from)
            .collect();
        let p = compile(
            &SeccompSpec {
                deny: all,
                ..Default::default()
            },
            Arch::X86_64,
        )
        .unwrap();
        assert!(p.instruction_count() < MAX_INSNS);
    }

    #[test]
    fn constant_verdicts_are_cacheable() {
        let p = compile(&deny(&["@default-deny"]), Arch::X86_64).unwrap();
        let aa = Arch::X86_64.audit_arch();
        let cacheable = |n: &str| {
            p.filters
                .iter()
                .all(|f| is_const_allow(&f.program, Arch::X86_64.syscall_nr(n).unwrap(), aa))
        };
        for n in [
            "read",
            "write",
            "getpid",
            "futex",
            "mmap",
            "close",
            "newfstatat",
            "epoll_wait",
        ] {
            assert!(cacheable(n), "{n} should be served by the action cache");
        }
        for n in ["ioctl", "clone", "unshare", "setns", "openat", "fchmod"] {
            assert!(!cacheable(n), "{n} needs its arguments");
        }
        // Few instructions on the hot path: binary search, not a linear scan.
        let steps: usize = p.filters.iter().map(|f| run(&f.program, 0, aa, A0).1).sum();
        assert!(steps <= 24, "read() runs {steps} instructions");
    }

    /// Why not seccompiler: same default policy, count instructions. Run with --nocapture.
    #[test]
    fn measure_vs_seccompiler() {
        use seccompiler::{BpfProgram, SeccompAction as SA, SeccompFilter, TargetArch};
        let p = compile(&deny(&["@default-deny"]), Arch::X86_64).unwrap();
        let aa = Arch::X86_64.audit_arch();
        let denied: std::collections::BTreeMap<i64, Vec<seccompiler::SeccompRule>> = p
            .summary
            .denied
            .iter()
            .map(|n| (n.nr as i64, vec![]))
            .collect();
        let f = SeccompFilter::new(denied, SA::Allow, SA::Errno(1), TargetArch::x86_64).unwrap();
        let prog: BpfProgram = f.try_into().unwrap();
        let theirs: Vec<SockFilter> = prog
            .iter()
            .map(|i| SockFilter {
                code: i.code,
                jt: i.jt,
                jf: i.jf,
                k: i.k,
            })
            .collect();
        let ours = &p.filters[2].program;
        let worst =
            |prog: &[SockFilter]| (0..470u32).map(|nr| run(prog, nr, aa, A0).1).max().unwrap();
        let (tw, ow) = (worst(&theirs), worst(ours));
        println!(
            "@default-deny ({} syscalls): seccompiler policy filter {} insns, worst path {} insns; ours {} insns, worst path {} insns; \
             seccompiler would also need separate filters for EPERM (ioctl/clone/unshare/setns), ENOSYS (clone3) and an x32 guard",
            p.summary.denied.len(), theirs.len(), tw, ours.len(), ow
        );
        assert!(ow * 4 < tw);
    }

    #[test]
    fn explain_and_serialize() {
        let mut s = deny(&["@default-deny"]);
        s.log = true;
        s.rules.push(ArgRuleSpec {
            syscall: "personality".into(),
            arg: 0,
            op: CmpOp::Ne,
            value: 0,
            width: ArgWidth::W32,
            action: SeccompAction::Errno(1),
        });
        let p = compile(&s, Arch::X86_64).unwrap();
        let text = p.explain();
        assert!(text.contains("mount(165)"), "{text}");
        assert!(
            text.contains("personality(135): arg0 != 0x0 (32-bit) -> errno EPERM"),
            "{text}"
        );
        assert!(text.contains("TIOCSTI"));
        assert!(text.contains("SECCOMP_FILTER_FLAG_LOG"));
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["filters"][0]["name"], "guard: arch + x32");
        assert!(json["filters"][0]["program"][0]["code"].is_u64());
    }
    /// The merged program refuses exactly what the stack refuses, allows exactly what it allows,
    /// and kills where it kills, for every syscall of the arch and argument patterns the rules
    /// and the always-on checks look at.
    #[test]
    fn merged_program_decides_like_the_stack() {
        let mut rules_spec = deny(&["@default-deny", "uname"]);
        rules_spec.rules.push(ArgRuleSpec {
            syscall: "personality".into(),
            arg: 0,
            op: CmpOp::Ne,
            value: 0,
            width: ArgWidth::W32,
            action: SeccompAction::Errno(libc::EACCES),
        });
        let mut allow_spec = SeccompSpec {
            default: DefaultPolicy::Deny,
            allow: vec!["@system-service".into()],
            ..Default::default()
        };
        allow_spec.nested = libc::CLONE_NEWUSER as u64;
        let mut kill_spec = deny(&["@mount", "ioctl"]);
        kill_spec.action = Some(SeccompAction::Kill);
        for spec in [deny(&["@default-deny"]), rules_spec, allow_spec, kill_spec] {
            for arch in [Arch::X86_64, Arch::Aarch64] {
                let p = compile(&spec, arch).unwrap();
                let m = merged(&p.filters).expect("fits");
                assert_eq!(m.len(), p.instruction_count());
                let aa = arch.audit_arch();
                let argsets: [[u64; 6]; 9] = [
                    [0, 0o4755, 0o4755, 0o4755, 0, 0],
                    [0, 0o2755, 0, 0o2000, 0, 0],
                    [0; 6],
                    [1, 0x5412, 0, 0, 0, 0],
                    [3, 0x1_0000_5412, 0, 0, 0, 0],
                    [libc::CLONE_NEWUSER as u64, 0, 0, 0, 0, 0],
                    [
                        libc::CLONE_NEWNET as u64,
                        libc::CLONE_NEWNET as u64,
                        0,
                        0,
                        0,
                        0,
                    ],
                    [0x11, 0x541C, 0, 0, 0, 0],
                    [u64::MAX, u64::MAX, 0, 0, 0, 0],
                ];
                for nr in 0..520u32 {
                    for a in argsets {
                        let stack = emu::eval_arch(&p, nr, aa, a);
                        let one = emu::run(&m, nr, aa, a).0;
                        let refused = |r: u32| r != RET_ALLOW && r & 0xffff_0000 != RET_LOG;
                        assert_eq!(
                            refused(stack),
                            refused(one),
                            "{arch:?} nr {nr} args {a:x?}: stack {stack:#x}, merged {one:#x}"
                        );
                        if stack == RET_ALLOW
                            || stack == RET_KILL_PROCESS && one == RET_KILL_PROCESS
                        {
                            assert_eq!(stack, one, "{arch:?} nr {nr} args {a:x?}");
                        }
                    }
                }
                // Another arch's calls are still killed by the guard.
                assert_eq!(emu::run(&m, 1, 0x4000_0003, [0; 6]).0, RET_KILL_PROCESS);
            }
        }
    }
}
