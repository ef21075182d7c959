//! The system call groups a profile can name in `seccomp.deny`/`seccomp.allow` (`@aio`,
//! `@system-service`, jail's `@default-deny` …) and their expansion to syscall numbers per
//! architecture.

use super::{Arch, NamedSyscall};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// (name, description, members). Members may be other groups. Members that do not exist on
/// the target arch are silently skipped (the table covers all arches).
pub(super) static GROUPS: &[(&str, &str, &[&str])] = &[
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
pub(super) fn expand_group(group: &str, arch: Arch) -> Option<BTreeMap<u32, &'static str>> {
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

/// The groups from `entry` down to the one that lists `name` itself, outermost first
/// (`@default-deny`, `@mount` for chroot). None when `entry` is not a group holding `name`.
pub fn group_path(entry: &str, name: &str) -> Option<Vec<&'static str>> {
    fn walk(
        group: &str,
        name: &str,
        seen: &mut BTreeSet<&'static str>,
    ) -> Option<Vec<&'static str>> {
        let (g, _, members) = GROUPS.iter().find(|g| g.0 == group)?;
        if !seen.insert(g) {
            return None;
        }
        if members.contains(&name) {
            return Some(vec![g]);
        }
        members.iter().filter(|m| m.starts_with('@')).find_map(|m| {
            let mut path = walk(m, name, seen)?;
            path.insert(0, g);
            Some(path)
        })
    }
    walk(entry, name, &mut BTreeSet::new())
}
