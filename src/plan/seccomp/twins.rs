//! The i386 calls that do what one x86_64 name does: a profile names `chown` or `fcntl`, a
//! 32-bit program calls `chown32` or `fcntl64` (and the time64, `*32` uid and `*64` file
//! variants, the old signal calls), or reaches the socket and System V IPC calls through their
//! multiplexers `socketcall` and `ipc`. With `[seccomp] i386 = true` every list entry and rule
//! covers its twins, so a deny of a name holds for 32-bit programs too.

/// x86_64 name → the i386 calls doing the same (the name itself is kept where i386 has it).
pub(crate) const TWINS: &[(&str, &[&str])] = &[
    ("chown", &["chown32"]),
    ("lchown", &["lchown32"]),
    ("fchown", &["fchown32"]),
    ("getuid", &["getuid32"]),
    ("getgid", &["getgid32"]),
    ("geteuid", &["geteuid32"]),
    ("getegid", &["getegid32"]),
    ("setuid", &["setuid32"]),
    ("setgid", &["setgid32"]),
    ("setreuid", &["setreuid32"]),
    ("setregid", &["setregid32"]),
    ("setresuid", &["setresuid32"]),
    ("setresgid", &["setresgid32"]),
    ("getresuid", &["getresuid32"]),
    ("getresgid", &["getresgid32"]),
    ("getgroups", &["getgroups32"]),
    ("setgroups", &["setgroups32"]),
    ("setfsuid", &["setfsuid32"]),
    ("setfsgid", &["setfsgid32"]),
    ("fcntl", &["fcntl64"]),
    ("stat", &["stat64", "oldstat"]),
    ("lstat", &["lstat64", "oldlstat"]),
    ("fstat", &["fstat64", "oldfstat"]),
    ("newfstatat", &["fstatat64"]),
    ("truncate", &["truncate64"]),
    ("ftruncate", &["ftruncate64"]),
    ("statfs", &["statfs64"]),
    ("fstatfs", &["fstatfs64"]),
    ("sendfile", &["sendfile64"]),
    ("mmap", &["mmap2"]),
    ("lseek", &["_llseek"]),
    ("select", &["_newselect"]),
    ("fadvise64", &["fadvise64_64"]),
    ("getrlimit", &["ugetrlimit"]),
    ("wait4", &["waitpid"]),
    ("umount2", &["umount"]),
    ("rt_sigaction", &["sigaction", "signal"]),
    ("rt_sigprocmask", &["sigprocmask"]),
    ("rt_sigsuspend", &["sigsuspend"]),
    ("rt_sigpending", &["sigpending"]),
    ("rt_sigreturn", &["sigreturn"]),
    ("getdents", &["readdir"]),
    ("settimeofday", &["stime"]),
    ("clock_gettime", &["clock_gettime64"]),
    ("clock_settime", &["clock_settime64"]),
    ("clock_adjtime", &["clock_adjtime64"]),
    ("clock_getres", &["clock_getres_time64"]),
    ("clock_nanosleep", &["clock_nanosleep_time64"]),
    ("timer_gettime", &["timer_gettime64"]),
    ("timer_settime", &["timer_settime64"]),
    ("timerfd_gettime", &["timerfd_gettime64"]),
    ("timerfd_settime", &["timerfd_settime64"]),
    ("utimensat", &["utimensat_time64"]),
    ("pselect6", &["pselect6_time64"]),
    ("ppoll", &["ppoll_time64"]),
    ("io_getevents", &["io_pgetevents_time64"]),
    ("io_pgetevents", &["io_pgetevents_time64"]),
    ("recvmmsg", &["recvmmsg_time64"]),
    ("mq_timedsend", &["mq_timedsend_time64"]),
    ("mq_timedreceive", &["mq_timedreceive_time64"]),
    ("semtimedop", &["semtimedop_time64"]),
    ("rt_sigtimedwait", &["rt_sigtimedwait_time64"]),
    ("futex", &["futex_time64"]),
    ("sched_rr_get_interval", &["sched_rr_get_interval_time64"]),
    ("uname", &["olduname", "oldolduname"]),
    ("setpriority", &["nice"]),
];

/// Twins whose arguments lie elsewhere (split 64-bit values, another order, or in memory):
/// an argument rule does not carry over to them.
pub(crate) const OTHER_ARGS: &[&str] = &[
    "nice",
    "olduname",
    "oldolduname",
    "_llseek",
    "umount",
    "fadvise64_64",
    "truncate64",
    "statfs64",
    "fstatfs64",
    "oldstat",
    "oldlstat",
    "oldfstat",
    "readdir",
    "signal",
    "sigaction",
    "sigsuspend",
    "sigreturn",
];

/// i386 calls named like an x86_64 one whose arguments are in memory (the old `mmap` and
/// `select`): an argument rule cannot look at them.
pub(crate) const IN_MEMORY: &[&str] = &["mmap", "select"];

/// The calls of i386's `socketcall(call, args)`: arg0 names which.
pub(crate) const SOCKETCALL: &[(&str, u64)] = &[
    ("socket", 1),
    ("bind", 2),
    ("connect", 3),
    ("listen", 4),
    ("accept", 5),
    ("getsockname", 6),
    ("getpeername", 7),
    ("socketpair", 8),
    ("send", 9),
    ("recv", 10),
    ("sendto", 11),
    ("recvfrom", 12),
    ("shutdown", 13),
    ("setsockopt", 14),
    ("getsockopt", 15),
    ("sendmsg", 16),
    ("recvmsg", 17),
    ("accept4", 18),
    ("recvmmsg", 19),
    ("sendmmsg", 20),
];

/// The calls of i386's `ipc(call, …)`: the low 16 bits of arg0 name which (the high ones are
/// a version).
pub(crate) const IPC: &[(&str, u64)] = &[
    ("semop", 1),
    ("semget", 2),
    ("semctl", 3),
    ("semtimedop", 4),
    ("msgsnd", 11),
    ("msgrcv", 12),
    ("msgget", 13),
    ("msgctl", 14),
    ("shmat", 21),
    ("shmdt", 22),
    ("shmget", 23),
    ("shmctl", 24),
];

/// The twins of `name` (empty for most names).
pub(super) fn twins(name: &str) -> &'static [&'static str] {
    TWINS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .unwrap_or(&[])
}

/// Calls of the multiplexers that do what another name does: `send` is `sendto` without an
/// address, `recv` is `recvfrom`; `semop` is `semtimedop` without a timeout.
const ALSO: &[(&str, &str)] = &[
    ("sendto", "send"),
    ("recvfrom", "recv"),
    ("semtimedop", "semop"),
    ("semtimedop_time64", "semtimedop"),
    ("semtimedop_time64", "semop"),
];

/// Which multiplexer calls (`socketcall` or `ipc`, arg0 value and mask) reach `name`.
pub(super) fn multiplexed(name: &str) -> Vec<(&'static str, u64, u64)> {
    let mut names = vec![name];
    names.extend(ALSO.iter().filter(|(n, _)| *n == name).map(|(_, a)| *a));
    let mut out = vec![];
    for n in names {
        if let Some((_, v)) = SOCKETCALL.iter().find(|(s, _)| *s == n) {
            out.push(("socketcall", *v, u64::from(u32::MAX)));
        }
        if let Some((_, v)) = IPC.iter().find(|(s, _)| *s == n) {
            out.push(("ipc", *v, 0xffff));
        }
    }
    out.sort();
    out.dedup();
    out
}
