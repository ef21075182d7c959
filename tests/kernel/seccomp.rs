//! seccomp ([`jail::sandbox::seccomp::install`]) against the real kernel: each case forks; the
//! child installs the filter and reports through its exit status. The child does not allocate
//! before the check it reports (the plan is compiled in the parent).
use super::*;
use jail::plan::seccomp::*;
use jail::sandbox::seccomp::*;

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Exit(i32),
    Signal(i32),
}

const EPERM: Outcome = Outcome::Exit(libc::EPERM);
const ENOSYS: Outcome = Outcome::Exit(libc::ENOSYS);
const OK: Outcome = Outcome::Exit(0);
const INSTALL_FAILED: i32 = 200;

fn errno() -> i32 {
    // SAFETY: __errno_location returns this thread's errno slot.
    unsafe { *libc::__errno_location() }
}

/// 0 on success, errno on failure (for syscalls returning -1 on error).
fn e(rc: i64) -> i32 {
    if rc == -1 {
        errno()
    } else {
        0
    }
}

/// Forks; the child sets no_new_privs, installs `plan` (if any), runs `body` and exits
/// with its return value.
fn child(plan: Option<&SeccompPlan>, body: impl FnOnce() -> i32) -> Outcome {
    child_pid(plan, body).1
}

fn child_pid(plan: Option<&SeccompPlan>, body: impl FnOnce() -> i32) -> (libc::pid_t, Outcome) {
    // SAFETY: the child only runs `body` and _exit()s; it never returns into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if let Some(p) = plan {
                // SAFETY: plain prctl without pointers.
                unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
                if install(p).is_err() {
                    return INSTALL_FAILED;
                }
            }
            body()
        }))
        .unwrap_or(201);
        // SAFETY: terminate the child without running the parent's atexit handlers.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(r, pid);
    if libc::WIFEXITED(status) {
        (pid, Outcome::Exit(libc::WEXITSTATUS(status)))
    } else {
        (pid, Outcome::Signal(libc::WTERMSIG(status)))
    }
}

fn plan(spec: SeccompSpec) -> SeccompPlan {
    compile(&spec, Arch::native().unwrap()).unwrap()
}
fn default_plan() -> SeccompPlan {
    plan(SeccompSpec {
        deny: vec!["@default-deny".into()],
        ..Default::default()
    })
}
fn deny_uname(action: Option<SeccompAction>) -> SeccompPlan {
    plan(SeccompSpec {
        deny: vec!["uname".into()],
        action,
        ..Default::default()
    })
}

fn sys(nr: libc::c_long, a: u64, b: u64, c: u64, d: u64) -> i32 {
    // SAFETY: test syscalls are called with invalid/null arguments the kernel validates.
    e(unsafe { libc::syscall(nr, a, b, c, d) })
}
fn do_mount() -> i32 {
    // SAFETY: all pointers are valid C strings; the target does not exist so nothing mounts.
    e(unsafe {
        libc::mount(
            c"none".as_ptr(),
            c"/nonexistent-jail-seccomp-test".as_ptr(),
            c"tmpfs".as_ptr(),
            0,
            std::ptr::null(),
        )
    } as i64)
}
fn do_uname() -> i32 {
    // SAFETY: utsname is plain old data.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: valid out pointer.
    e(unsafe { libc::uname(&mut u) } as i64)
}

fn default_policy_refuses_dangerous_calls_and_allows_normal_ones() {
    let p = default_plan();
    // Baseline without the filter: different answers, so the filtered ones are the filter's.
    assert_eq!(child(None, do_mount), Outcome::Exit(libc::ENOENT));
    assert_eq!(
        child(None, || sys(libc::SYS_bpf, u64::MAX, 0, 0, 0)),
        Outcome::Exit(libc::EINVAL)
    );
    assert_ne!(
        child(None, || sys(
            libc::SYS_perf_event_open,
            0,
            0,
            u64::MAX,
            u64::MAX
        )),
        EPERM
    );

    assert_eq!(child(Some(&p), do_mount), EPERM);
    assert_eq!(
        child(Some(&p), || sys(libc::SYS_bpf, u64::MAX, 0, 0, 0)),
        EPERM
    );
    assert_eq!(
        child(Some(&p), || sys(libc::SYS_kexec_load, 0, 0, 0, 0xffff_ffff)),
        EPERM
    );
    assert_eq!(
        child(Some(&p), || sys(
            libc::SYS_perf_event_open,
            0,
            0,
            u64::MAX,
            u64::MAX
        )),
        EPERM
    );
    assert_eq!(
        child(Some(&p), || sys(
            libc::SYS_ptrace,
            libc::PTRACE_TRACEME as u64,
            0,
            0,
            0
        )),
        EPERM
    );
    let normal = || {
        // SAFETY: simple syscalls with valid arguments.
        unsafe {
            if libc::getpid() <= 0 {
                return 10;
            }
            if libc::write(2, c"".as_ptr().cast(), 0) != 0 {
                return 11;
            }
            let mut fds = [0; 2];
            if libc::pipe(fds.as_mut_ptr()) != 0
                || libc::write(fds[1], c"x".as_ptr().cast(), 1) != 1
            {
                return 12;
            }
        }
        do_uname()
    };
    assert_eq!(child(Some(&p), normal), OK);
}

fn uname_denied_with_each_action() {
    assert_eq!(child(None, do_uname), OK);
    assert_eq!(child(Some(&deny_uname(None)), do_uname), EPERM);
    assert_eq!(
        child(
            Some(&deny_uname(Some(SeccompAction::Errno(libc::ENOSYS)))),
            do_uname
        ),
        ENOSYS
    );
    assert_eq!(
        child(Some(&deny_uname(Some(SeccompAction::Kill))), do_uname),
        Outcome::Signal(libc::SIGSYS)
    );
    assert_eq!(
        child(Some(&deny_uname(Some(SeccompAction::Trap))), do_uname),
        Outcome::Signal(libc::SIGSYS)
    );
    // Log = allow + log.
    assert_eq!(
        child(Some(&deny_uname(Some(SeccompAction::Log))), do_uname),
        OK
    );
}

fn allow_list_runs_a_program_and_refuses_the_rest_with_enosys() {
    let small = plan(SeccompSpec {
        default: DefaultPolicy::Deny,
        allow: vec!["@default".into(), "@basic-io".into(), "@signal".into()],
        ..Default::default()
    });
    let body = || {
        // SAFETY: getpid has no arguments.
        if unsafe { libc::getpid() } <= 0 {
            return 10;
        }
        do_uname()
    };
    assert_eq!(child(Some(&small), body), ENOSYS);
    assert_eq!(child(Some(&small), do_mount), ENOSYS);

    // A real program under a realistic allow list (execve is allowed implicitly).
    let service = plan(SeccompSpec {
        default: DefaultPolicy::Deny,
        allow: vec!["@system-service".into()],
        ..Default::default()
    });
    assert_eq!(child(Some(&service), do_mount), ENOSYS);
    let exec_true = || {
        let argv = [c"true".as_ptr(), std::ptr::null()];
        // SAFETY: NUL-terminated argv of valid C strings.
        unsafe { libc::execv(c"/bin/true".as_ptr(), argv.as_ptr()) };
        99
    };
    assert_eq!(child(Some(&service), exec_true), OK);
    let exec_false = || {
        let argv = [c"false".as_ptr(), std::ptr::null()];
        // SAFETY: as above.
        unsafe { libc::execv(c"/bin/false".as_ptr(), argv.as_ptr()) };
        99
    };
    assert_eq!(
        child(Some(&service), exec_false),
        Outcome::Exit(1),
        "proves exec really ran the program"
    );
}

/// Opens a pty and pushes a byte into its input with `request`; returns errno.
fn tiocsti(request: u64) -> i32 {
    let (mut m, mut s) = (-1, -1);
    // SAFETY: out pointers are valid; name/termios/winsize may be null.
    let r = unsafe {
        libc::openpty(
            &mut m,
            &mut s,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    if r != 0 {
        return 100;
    }
    let c: u8 = b'x';
    // SAFETY: raw ioctl so the high bits of the request reach the kernel unchanged.
    e(unsafe { libc::syscall(libc::SYS_ioctl, s, request, &c as *const u8) })
}

fn tiocsti_refused_even_with_high_bits() {
    // Without the filter both requests work (the kernel truncates to 32 bits) ...
    assert_eq!(child(None, || tiocsti(0x5412)), OK);
    assert_eq!(child(None, || tiocsti(0x1_0000_5412)), OK);
    // ... with it both are refused, whatever the profile says.
    let p = plan(SeccompSpec::default());
    assert_eq!(child(Some(&p), || tiocsti(0x5412)), EPERM);
    assert_eq!(child(Some(&p), || tiocsti(0x1_0000_5412)), EPERM);
    assert_eq!(child(Some(&p), || tiocsti(0x541C)), EPERM);
    // Other tty ioctls still work (TCGETS-like request via isatty()).
    let isatty = || {
        let (mut m, mut s) = (-1, -1);
        // SAFETY: as in tiocsti().
        unsafe {
            libc::openpty(
                &mut m,
                &mut s,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        // SAFETY: plain fd.
        if unsafe { libc::isatty(s) } == 1 {
            0
        } else {
            errno()
        }
    };
    assert_eq!(child(Some(&p), isatty), OK);
}

fn clone3_is_enosys() {
    // Unfiltered, a zero-sized clone3 is EINVAL, so ENOSYS can only come from the filter.
    assert_eq!(
        child(None, || sys(libc::SYS_clone3, 0, 0, 0, 0)),
        Outcome::Exit(libc::EINVAL)
    );
    assert_eq!(
        child(Some(&default_plan()), || sys(libc::SYS_clone3, 0, 0, 0, 0)),
        ENOSYS
    );
}

fn unshare_user() -> i32 {
    // SAFETY: unshare takes only flags.
    e(unsafe { libc::unshare(libc::CLONE_NEWUSER) } as i64)
}
fn setns_uts(nstype: libc::c_int) -> i32 {
    // SAFETY: valid C string; the fd is our own namespace.
    let fd = unsafe { libc::open(c"/proc/self/ns/uts".as_ptr(), libc::O_RDONLY) };
    if fd < 0 {
        return 100;
    }
    // SAFETY: fd is a namespace fd.
    e(unsafe { libc::setns(fd, nstype) } as i64)
}

fn namespaces_refused_unless_nested() {
    assert_eq!(child(None, unshare_user), OK);
    assert_eq!(child(None, || setns_uts(0)), OK);
    let p = default_plan();
    assert_eq!(child(Some(&p), unshare_user), EPERM);
    assert_eq!(child(Some(&p), || setns_uts(0)), EPERM);
    assert_eq!(child(Some(&p), || setns_uts(libc::CLONE_NEWUTS)), EPERM);
    let nested = plan(SeccompSpec {
        deny: vec!["@default-deny".into()],
        nested: libc::CLONE_NEWUSER as u64,
        ..Default::default()
    });
    assert_eq!(child(Some(&nested), unshare_user), OK);
    assert_eq!(
        child(Some(&nested), || setns_uts(libc::CLONE_NEWUTS)),
        EPERM
    );
    // clone() with a namespace flag: raw syscall so glibc doesn't interfere.
    let clone_newuser = || {
        // SAFETY: fork-like clone (no CLONE_VM); the child exits immediately.
        let pid = unsafe {
            libc::syscall(
                libc::SYS_clone,
                (libc::CLONE_NEWUSER | libc::SIGCHLD) as u64,
                0u64,
                0u64,
                0u64,
                0u64,
            )
        };
        if pid == 0 {
            // SAFETY: exit the grandchild.
            unsafe { libc::_exit(0) };
        }
        if pid < 0 {
            return errno();
        }
        // SAFETY: reap our child.
        unsafe { libc::waitpid(pid as i32, std::ptr::null_mut(), 0) };
        0
    };
    assert_eq!(child(Some(&p), clone_newuser), EPERM);
    assert_eq!(child(Some(&nested), clone_newuser), OK);
}

extern "C" fn thread_main(arg: *mut libc::c_void) -> *mut libc::c_void {
    arg
}

fn fork_and_threads_still_work() {
    let p = default_plan();
    let body = || {
        // SAFETY: classic fork/wait; the grandchild exits immediately.
        unsafe {
            let pid = libc::fork();
            if pid == 0 {
                libc::_exit(7);
            }
            if pid < 0 {
                return 10;
            }
            let mut st = 0;
            libc::waitpid(pid, &mut st, 0);
            if !libc::WIFEXITED(st) || libc::WEXITSTATUS(st) != 7 {
                return 11;
            }
            // glibc tries clone3 first (ENOSYS here) and falls back to clone.
            let mut t: libc::pthread_t = 0;
            if libc::pthread_create(
                &mut t,
                std::ptr::null(),
                thread_main,
                42 as *mut libc::c_void,
            ) != 0
            {
                return 12;
            }
            let mut ret: *mut libc::c_void = std::ptr::null_mut();
            if libc::pthread_join(t, &mut ret) != 0 || ret as usize != 42 {
                return 13;
            }
        }
        0
    };
    assert_eq!(child(Some(&p), body), OK);
}

#[cfg(target_arch = "x86_64")]
fn x32_syscalls_kill_the_process() {
    let x32_getpid = || {
        // SAFETY: x32 getpid takes no arguments.
        let r = unsafe { libc::syscall(0x4000_0000 | 39) };
        if r > 0 {
            0
        } else {
            errno()
        }
    };
    // Unfiltered: either works (x32 enabled) or ENOSYS; it is never a SIGSYS.
    assert!(matches!(
        child(None, x32_getpid),
        Outcome::Exit(0) | Outcome::Exit(libc::ENOSYS)
    ));
    assert_eq!(
        child(Some(&plan(SeccompSpec::default())), x32_getpid),
        Outcome::Signal(libc::SIGSYS)
    );
}

fn personality_arg_rule() {
    let p = plan(SeccompSpec {
        rules: vec![ArgRuleSpec {
            syscall: "personality".into(),
            arg: 0,
            op: CmpOp::Ne,
            value: 0,
            width: ArgWidth::W32,
            action: SeccompAction::Errno(libc::EPERM),
        }],
        ..Default::default()
    });
    // SAFETY (all three): personality takes a plain integer.
    let pers = |v: libc::c_ulong| e(unsafe { libc::syscall(libc::SYS_personality, v) });
    assert_eq!(child(Some(&p), || pers(0)), OK);
    assert_eq!(child(Some(&p), || pers(1)), EPERM);
    // The query form personality(0xffffffff) is "!= 0" too, so this rule refuses it.
    assert_eq!(child(Some(&p), || pers(0xffff_ffff)), EPERM);
    // 32-bit rule: garbage in the upper half is ignored like the kernel ignores it.
    assert_eq!(child(Some(&p), || pers(0x1_0000_0000)), OK);
    assert_eq!(child(Some(&p), || pers(0x1_0000_0001)), EPERM);
    assert_eq!(child(None, || pers(1)), OK);
}

fn log_flag_reaches_the_kernel_log() {
    let mut spec = SeccompSpec {
        deny: vec!["uname".into()],
        log: true,
        ..Default::default()
    };
    let p = plan(spec.clone());
    assert!(p.log);
    spec.log = false;
    let quiet = plan(spec);
    // SAFETY: valid C string.
    let kmsg = unsafe { libc::open(c"/dev/kmsg".as_ptr(), libc::O_RDONLY | libc::O_NONBLOCK) };
    if kmsg < 0 {
        let (_, out) = child_pid(Some(&p), do_uname);
        assert_eq!(out, EPERM);
        eprintln!("no /dev/kmsg: only checked that the LOG flag is accepted");
        return;
    }
    // Audit records for pids among the records read so far.
    let scan = |pids: &[i32]| -> Vec<i32> {
        let mut counts = vec![0; pids.len()];
        let mut buf = [0u8; 8192];
        loop {
            // SAFETY: reading into a local buffer.
            let n = unsafe { libc::read(kmsg, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                break;
            }
            let rec = String::from_utf8_lossy(&buf[..n as usize]);
            // The audit record carries the action without its data (errno).
            if rec.contains("type=1326")
                && rec.contains(" syscall=63 ")
                && rec.contains("code=0x50000")
            {
                for (c, pid) in counts.iter_mut().zip(pids) {
                    *c += rec.contains(&format!(" pid={pid} ")) as i32;
                }
            }
        }
        counts
    };
    // The kernel rate-limits these records (other tests log too): try a few times.
    let mut found = 0;
    let mut silent_found = 0;
    for _ in 0..5 {
        // SAFETY: seek to the end so only new records are read.
        unsafe { libc::lseek(kmsg, 0, libc::SEEK_END) };
        let (logged, out) = child_pid(Some(&p), do_uname);
        assert_eq!(out, EPERM);
        let (silent, out) = child_pid(Some(&quiet), do_uname);
        assert_eq!(out, EPERM);
        std::thread::sleep(std::time::Duration::from_millis(50));
        let c = scan(&[logged, silent]);
        found = c[0];
        silent_found += c[1];
        if found > 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1000));
    }
    // SAFETY: our fd.
    unsafe { libc::close(kmsg) };
    assert_eq!(
        found, 1,
        "the LOG-flagged child's refused uname() must be audited"
    );
    assert_eq!(
        silent_found, 0,
        "without the flag, errno refusals are not audited"
    );
}

fn install_requires_no_new_privs() {
    let p = default_plan();
    let body = || match install(&p) {
        Err(InstallError::NoNewPrivs) => 0,
        _ => 1,
    };
    assert_eq!(child(None, body), OK);
    assert!(InstallError::NoNewPrivs
        .to_string()
        .contains("PR_SET_NO_NEW_PRIVS"));
    let err = InstallError::Install {
        index: 1,
        errno: libc::EINVAL,
        errno_name: errno_name(libc::EINVAL),
    };
    assert!(err.to_string().contains("EINVAL"));
}

/// Sets no_new_privs and installs `p` with the refusal report; the listener, or None.
fn reporting(p: &SeccompPlan) -> Result<Option<std::os::fd::OwnedFd>, InstallError> {
    // SAFETY: plain prctl without pointers.
    unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    install_reporting(p)
}

fn uname_errno() -> i32 {
    // SAFETY: uname writes into the buffer we pass.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    e(unsafe { libc::uname(&mut u) } as i64)
}

/// With the report, a refused call waits for the listener's answer, which is the plan's own
/// errno (EACCES here), computed from the call; allowed calls do not wait.
fn listener_answers_with_the_plans_errno() {
    let p = deny_uname(Some(SeccompAction::Errno(libc::EACCES)));
    let body = || {
        let Ok(Some(l)) = reporting(&p) else {
            return 10;
        };
        // SAFETY: the grandchild only calls uname and _exit()s.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            // SAFETY: as above.
            unsafe { libc::_exit(uname_errno()) };
        }
        let mut r = jail::sandbox::notify::Refusals::new(l, &p).expect("a policy filter");
        r.answer(); // blocks in RECV until the grandchild's uname arrives
        let mut st = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(pid, &mut st, 0) };
        if !r.any() {
            return 12;
        }
        libc::WEXITSTATUS(st)
    };
    assert_eq!(child(None, body), Outcome::Exit(libc::EACCES));
}

/// With the listener closed (the supervisor is gone), the kernel fails what would notify with
/// ENOSYS; allowed calls are unaffected.
fn closed_listener_gives_enosys() {
    let p = deny_uname(None);
    let body = || {
        let Ok(Some(l)) = reporting(&p) else {
            return 10;
        };
        drop(l);
        // SAFETY: getpid has no arguments.
        if unsafe { libc::getpid() } <= 0 {
            return 11;
        }
        uname_errno()
    };
    assert_eq!(child(None, body), ENOSYS);
}

/// A filter above already has a listener (a jail inside a jail): the second install falls
/// back to the plain errno filter, and a call both refuse gets the inner errno at once (the
/// kernel prefers ERRNO to USER_NOTIF), without waiting on the outer listener nobody reads.
fn second_listener_falls_back_to_errno() {
    let p = default_plan();
    let body = || {
        let Ok(Some(_outer)) = reporting(&p) else {
            return 10;
        };
        match install_reporting(&p) {
            Ok(None) => {}
            _ => return 11,
        }
        sys(libc::SYS_chroot, c"/".as_ptr() as u64, 0, 0, 0)
    };
    assert_eq!(child(None, body), EPERM);
}

/// This module's cases, in the order they are listed and run.
pub fn cases() -> Vec<Case> {
    #[cfg_attr(not(target_arch = "x86_64"), allow(unused_mut))]
    let mut v = vec![
        case!(default_policy_refuses_dangerous_calls_and_allows_normal_ones),
        case!(uname_denied_with_each_action),
        case!(allow_list_runs_a_program_and_refuses_the_rest_with_enosys),
        case!(tiocsti_refused_even_with_high_bits),
        case!(clone3_is_enosys),
        case!(namespaces_refused_unless_nested),
        case!(fork_and_threads_still_work),
        case!(personality_arg_rule),
        case!(log_flag_reaches_the_kernel_log),
        case!(install_requires_no_new_privs),
        case!(listener_answers_with_the_plans_errno),
        case!(closed_listener_gives_enosys),
        case!(second_listener_falls_back_to_errno),
    ];
    #[cfg(target_arch = "x86_64")]
    v.push(case!(x32_syscalls_kill_the_process));
    v
}
