//! Inside the sandbox: everything between `clone` and `execve`, in a fixed order.
//!
//! 1. `PR_SET_PDEATHSIG` first, then wait on the sync pipe: the supervisor writes the id maps
//!    and places us in the cgroup before any of COMMAND's code can run. EOF means jail died.
//!    The death signal only covers a death after it was armed, and jail may have released us
//!    and died before: so once the byte is read, the pipe is looked at again. Only jail holds
//!    its write end, and keeps it until it ends: a hang-up there means jail is gone, and we
//!    exit. (`getppid()` cannot tell: in a new pid namespace it is 0.)
//! 2. The filesystem ([`super::fs::build`]), ending in `pivot_root`.
//! 3. Host name, loopback, time namespace.
//! 4. With `init = true`, fork: this process stays PID 1 ([`super::init`]) and the child goes on.
//!    When jail dies, init gets SIGKILL, and the kernel kills the rest of its pid namespace;
//!    COMMAND also gets `PR_SET_PDEATHSIG` for init, for a sandbox without a pid namespace.
//! 5. COMMAND's process: session/terminal, working folder, rlimits, every fd but 0-2
//!    close-on-exec, capabilities down to `keep` in all five sets, `no_new_privs`, Landlock,
//!    seccomp (last: from here on every syscall is filtered), `execve`.

use super::error::{Result, Step, StepError};
use super::sys;
use crate::plan::Plan;
use nix::errno::Errno;
use nix::sys::signal::{self, SigHandler, SigSet, Signal};
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// Descriptors the child is handed.
pub struct ChildFds {
    /// Read end of the supervisor's "go" pipe.
    pub sync: OwnedFd,
    /// Write end of the error pipe (close-on-exec: EOF tells the supervisor that exec worked).
    pub err: OwnedFd,
    /// Write end of the status pipe: init reports COMMAND's exit status through it.
    pub status: Option<OwnedFd>,
    /// A socket to hand the supervisor the master of COMMAND's private pty, when COMMAND gets
    /// one (jail runs in a terminal and `new_session` is on).
    pub pty_sock: Option<OwnedFd>,
    /// Which of 0, 1, 2 are the caller's terminal (to be replaced by the pty).
    pub tty_std: [bool; 3],
    /// The soft `RLIMIT_NOFILE` jail was started with, when jail raised its own: COMMAND gets
    /// it back unless the profile's `[rlimits] nofile` says otherwise.
    pub nofile_soft: Option<u64>,
    /// The rlimits to set: [`Plan::rlimits_to_apply`] for whether the sandbox got its cgroup.
    pub rlimits: Vec<crate::plan::limits::RlimitPlan>,
}

/// Never returns: execs COMMAND, becomes init, or exits with the error reported.
pub fn main(plan: &Plan, mut fds: ChildFds, verbose: bool) -> ! {
    // The error pipe stays owned here, so it is still open when an error is reported.
    let err = std::mem::replace(&mut fds.err, dummy_fd());
    let err_fd = err.as_raw_fd();
    let code = match setup(plan, fds, &err, verbose) {
        Ok(never) => match never {},
        Err((e, code)) => {
            report(err_fd, &e);
            code
        }
    };
    sys::exit_now(code)
}

/// Sends one error record to the supervisor.
pub fn report(fd: RawFd, e: &StepError) {
    let _ = nix::unistd::write(unsafe_borrow(fd), &e.encode());
}

fn unsafe_borrow<'a>(fd: RawFd) -> std::os::fd::BorrowedFd<'a> {
    // SAFETY: callers pass descriptors that stay open for the duration of the write.
    unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) }
}

enum Never {}

/// A placeholder descriptor (`/dev/null` is not needed: a closed pipe end will do).
fn dummy_fd() -> OwnedFd {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .unwrap_or_else(|_| sys::exit_now(crate::EXIT_JAIL));
    drop(w);
    r
}

fn setup(
    plan: &Plan,
    fds: ChildFds,
    err: &OwnedFd,
    verbose: bool,
) -> std::result::Result<Never, (StepError, i32)> {
    let jail = |e: StepError| (e, crate::EXIT_JAIL);
    if plan.process.die_with_parent {
        sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as u64, 0)
            .step(|| "die with parent".into())
            .map_err(jail)?;
    }
    // Wait until the supervisor has written the id maps and set up the cgroup.
    let mut b = [0u8; 1];
    match nix::unistd::read(&fds.sync, &mut b) {
        Ok(1) => {}
        _ => sys::exit_now(crate::EXIT_JAIL), // the supervisor is gone or gave up: say nothing
    }
    // The death signal is armed: if jail died before that (after releasing us), its end of the
    // pipe is closed now, and nobody would ever kill this sandbox. Leave quietly.
    if plan.process.die_with_parent && hung_up(&fds.sync) {
        sys::exit_now(crate::EXIT_JAIL);
    }
    drop(fds.sync);
    // Now in its cgroup: a cgroup namespace made here has the sandbox's own cgroup as its root.
    if plan.namespaces.cgroup {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWCGROUP)
            .step(|| "create cgroup namespace".into())
            .map_err(jail)?;
    }

    super::fs::build(plan, verbose).map_err(jail)?;
    if let Some(h) = &plan.process.hostname {
        nix::unistd::sethostname(h)
            .step(|| "set hostname".into())
            .map_err(jail)?;
    }
    if plan.namespaces.net {
        loopback_up().map_err(jail)?;
    }
    if plan.namespaces.time {
        nix::sched::unshare(nix::sched::CloneFlags::from_bits_retain(
            libc::CLONE_NEWTIME,
        ))
        .step(|| "create time namespace".into())
        .map_err(jail)?;
    }

    // The bounding set goes now, once, for init and COMMAND alike.
    drop_bounding(&plan.capabilities.numbers).map_err(jail)?;

    if plan.process.init {
        let init = nix::unistd::getpid();
        if init.as_raw() != 1 {
            // Without a pid namespace of its own, init becomes the reaper of everything
            // COMMAND starts (a daemon that double-forks lands here, not at the host's init),
            // so that it can take all of it down when COMMAND ends.
            sys::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0)
                .step(|| "become the sandbox's subreaper".into())
                .map_err(jail)?;
        }
        // SAFETY: single-threaded (jail never starts threads before exec).
        match unsafe { nix::unistd::fork() } {
            Err(e) => return Err(jail(StepError::new("fork COMMAND under init", e))),
            Ok(nix::unistd::ForkResult::Child) => {
                // COMMAND dies with init too. In a pid namespace the kernel sees to that; without
                // one only this does. Same order as above: arm, then check that init is still
                // our parent (within one pid namespace getppid() tells).
                if plan.process.die_with_parent {
                    sys::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as u64, 0)
                        .step(|| "die with init".into())
                        .map_err(jail)?;
                    if nix::unistd::getppid() != init {
                        sys::exit_now(crate::EXIT_JAIL);
                    }
                }
            }
            Ok(nix::unistd::ForkResult::Parent { child }) => {
                let _ = err; // closed by init::run with everything else
                drop(fds.pty_sock);
                super::init::run(child.as_raw(), plan, fds.status)
            }
        }
    }
    command(
        plan,
        fds.pty_sock,
        fds.tty_std,
        fds.nofile_soft,
        &fds.rlimits,
        verbose,
    )
}

/// True when no writer is left on the pipe `fd` (and nothing is left to read in it).
fn hung_up(fd: &OwnedFd) -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    let mut p = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
    loop {
        match poll(&mut p, PollTimeout::ZERO) {
            Err(Errno::EINTR) => continue,
            // Cannot tell: treat as gone (fail closed, the supervisor will report it).
            Err(_) => return true,
            Ok(_) => {
                return p[0]
                    .revents()
                    .is_some_and(|r| r.intersects(PollFlags::POLLHUP | PollFlags::POLLERR))
            }
        }
    }
}

/// `ifconfig lo up`, by ioctl: microseconds, where netlink costs a millisecond.
fn loopback_up() -> Result<()> {
    let sock = nix::sys::socket::socket(
        nix::sys::socket::AddressFamily::Inet,
        nix::sys::socket::SockType::Datagram,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        None,
    )
    .step(|| "bring up lo: socket".into())?;
    // SAFETY: ifreq is plain data; zeroed is a valid value.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (i, c) in b"lo".iter().enumerate() {
        ifr.ifr_name[i] = *c as libc::c_char;
    }
    // SAFETY: SIOCGIFFLAGS/SIOCSIFFLAGS read and write the ifreq we pass, which outlives the calls.
    unsafe {
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut ifr) < 0 {
            return Err(StepError::new("bring up lo", Errno::last()));
        }
        ifr.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &ifr) < 0 {
            return Err(StepError::new("bring up lo", Errno::last()));
        }
    }
    Ok(())
}

/// Signals jail blocks or ignores that COMMAND must get back at their defaults.
pub fn reset_signals() {
    let _ = signal::sigprocmask(
        signal::SigmaskHow::SIG_SETMASK,
        Some(&SigSet::empty()),
        None,
    );
    for s in Signal::iterator() {
        if s != Signal::SIGKILL && s != Signal::SIGSTOP {
            // SAFETY: restoring the default disposition is always sound.
            let _ = unsafe { signal::signal(s, SigHandler::SigDfl) };
        }
    }
}

/// The bounding set, from /proc/self/status (one read instead of a prctl per capability).
fn bounding_mask() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let hex = s.lines().find_map(|l| l.strip_prefix("CapBnd:"))?.trim();
    u64::from_str_radix(hex, 16).ok()
}

/// Empties the bounding set but for `keep`. Done once in the setup process before it forks, so
/// init and COMMAND inherit it; [`drop_caps`] only repeats it where it was not done.
pub fn drop_bounding(keep: &[u8]) -> Result<()> {
    let last = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(63);
    for cap in 0..=last {
        if !keep.contains(&(cap as u8)) {
            match sys::prctl(libc::PR_CAPBSET_DROP, cap, 0) {
                Ok(_) | Err(Errno::EINVAL) => {}
                Err(e) => {
                    return Err(StepError::new(
                        format!("drop capability {cap} from the bounding set"),
                        e,
                    ))
                }
            }
        }
    }
    Ok(())
}

/// Drops every capability but `keep` from the bounding, inheritable, permitted, effective and
/// ambient sets, and locks root's special treatment away (securebits), so that neither exec nor
/// a uid 0 inside can bring any back.
pub fn drop_caps(keep: &[u8]) -> Result<()> {
    use caps::{CapSet, CapsHashSet};
    let keep_set: CapsHashSet = caps::all()
        .into_iter()
        .filter(|c| keep.contains(&c.index()))
        .collect();
    let keep_mask: u64 = keep.iter().fold(0, |m, c| m | 1u64 << c);
    if bounding_mask() != Some(keep_mask) {
        drop_bounding(keep)?;
    }
    // SECBIT_NOROOT | SECBIT_NO_SETUID_FIXUP | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP_LOCKED,
    // and ambient capabilities allowed only for what we raise below.
    let bits = 0x1 | 0x2 | 0x4 | 0x8;
    sys::prctl(libc::PR_SET_SECUREBITS, bits, 0).step(|| "set securebits".into())?;
    let fail = |what: &str| {
        let what = what.to_string();
        move |e: caps::errors::CapsError| {
            StepError::detail(
                format!("drop capabilities: {what}"),
                Errno::EPERM,
                e.to_string(),
            )
        }
    };
    caps::set(None, CapSet::Inheritable, &keep_set).map_err(fail("inheritable"))?;
    caps::set(None, CapSet::Effective, &keep_set).map_err(fail("effective"))?;
    caps::set(None, CapSet::Permitted, &keep_set).map_err(fail("permitted"))?;
    caps::clear(None, CapSet::Ambient).map_err(fail("ambient"))?;
    for c in &keep_set {
        caps::raise(None, CapSet::Ambient, *c).map_err(fail("raise ambient"))?;
    }
    Ok(())
}

fn command(
    plan: &Plan,
    pty_sock: Option<OwnedFd>,
    tty_std: [bool; 3],
    nofile_soft: Option<u64>,
    rlimits: &[crate::plan::limits::RlimitPlan],
    verbose: bool,
) -> std::result::Result<Never, (StepError, i32)> {
    let jail = |e: StepError| (e, crate::EXIT_JAIL);
    reset_signals();

    // COMMAND's private terminal, from the sandbox's own devpts; the master goes to the
    // supervisor, which relays it to the caller's terminal.
    let tty = match pty_sock {
        None => None,
        Some(sock) => {
            let (master, slave) = super::pty::new_pair("/dev/ptmx")
                .step(|| "open a terminal in the sandbox's /dev/pts".into())
                .map_err(jail)?;
            super::pty::send_fd(&sock, master.as_raw_fd())
                .step(|| "hand the terminal to jail".into())
                .map_err(jail)?;
            Some(slave)
        }
    };

    take_terminal(plan.process.new_session, tty.as_ref(), tty_std).map_err(jail)?;
    if let Err(e) = nix::unistd::chdir(&plan.process.cwd) {
        return Err(jail(StepError::detail(
            format!("chdir {}", plan.process.cwd.display()),
            e,
            "working folder",
        )));
    }
    for r in rlimits {
        let v = |x: Option<u64>| x.unwrap_or(libc::RLIM_INFINITY);
        nix::sys::resource::setrlimit(r.resource.kernel(), v(r.soft), v(r.hard))
            .step(|| format!("set rlimit {}", r.resource))
            .map_err(jail)?;
    }
    // jail raised its own soft descriptor limit; COMMAND starts with the one jail was given.
    if let Some(soft) = nofile_soft {
        if !rlimits
            .iter()
            .any(|r| r.resource == crate::profile::RlimitResource::Nofile)
        {
            use nix::sys::resource::{getrlimit, setrlimit, Resource};
            let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE)
                .step(|| "get rlimit nofile".into())
                .map_err(jail)?;
            setrlimit(Resource::RLIMIT_NOFILE, soft.min(hard), hard)
                .step(|| "restore rlimit nofile".into())
                .map_err(jail)?;
        }
    }
    // Every descriptor but 0, 1, 2 is gone at exec (the error pipe too, which tells the
    // supervisor that exec succeeded).
    sys::cloexec_from(3)
        .step(|| "close inherited descriptors".into())
        .map_err(jail)?;

    // Resolve COMMAND before the filters: the search only reads.
    let exec = Exec::new(&plan.command, &plan.env).map_err(jail)?;
    lock_down(plan, verbose).map_err(jail)?;
    Err(exec.run())
}

/// The terminal: a new session, with the private pty (when there is one) as controlling
/// terminal on whichever of 0, 1, 2 were the caller's terminal. TIOCSTI then can only reach the
/// sandbox's own terminal.
pub fn take_terminal(new_session: bool, tty: Option<&OwnedFd>, tty_std: [bool; 3]) -> Result<()> {
    if new_session {
        nix::unistd::setsid().step(|| "new session".into())?;
    }
    if let Some(tty) = tty {
        // SAFETY: TIOCSCTTY takes an int argument; `tty` is an open pty slave.
        if unsafe { libc::ioctl(tty.as_raw_fd(), libc::TIOCSCTTY, 0) } < 0 {
            return Err(StepError::new(
                "make the pty the controlling terminal",
                Errno::last(),
            ));
        }
        for (i, is_tty) in tty_std.iter().enumerate() {
            if *is_tty {
                // SAFETY: dup2 onto 0-2 replaces the caller's terminal with the pty.
                if unsafe { libc::dup2(tty.as_raw_fd(), i as i32) } < 0 {
                    return Err(StepError::new("attach the pty", Errno::last()));
                }
            }
        }
    }
    Ok(())
}

/// The last steps before exec, in this order and for every process jail starts inside (COMMAND,
/// and what `jail enter` runs): capabilities down to `keep` in all five sets, `no_new_privs`,
/// Landlock, and seccomp last (from then on every syscall is filtered).
pub fn lock_down(plan: &Plan, verbose: bool) -> Result<()> {
    drop_caps(&plan.capabilities.numbers)?;
    sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0).step(|| "set no_new_privs".into())?;
    let ll = super::landlock::apply(&plan.landlock).map_err(|e| {
        StepError::detail(
            "landlock",
            Errno::from_raw(e.errno().unwrap_or(libc::EPERM)),
            e.to_string(),
        )
    })?;
    if verbose {
        // What the kernel actually took, not what was asked for.
        eprintln!(
            "jail: landlock: {:?} by the kernel (ABI {}), profile {:?}, {} path and {} port rules",
            ll.ruleset,
            ll.kernel_abi
                .map(|a| a.to_string())
                .unwrap_or_else(|| "none".into()),
            ll.plan_outcome,
            ll.path_rules,
            ll.net_rules
        );
        let insns: usize = plan.seccomp.filters.iter().map(|f| f.program.len()).sum();
        eprintln!(
            "jail: seccomp: installing {} filters ({insns} instructions), then exec",
            plan.seccomp.filters.len()
        );
    }
    super::seccomp::install(&plan.seccomp)
        .map_err(|e| StepError::detail("seccomp", Errno::EINVAL, e.to_string()))
}

/// A command ready to exec: its arguments, environment and the paths to try, prepared before
/// the filters go on.
pub struct Exec {
    name: String,
    path: String,
    argv: Vec<CString>,
    envp: Vec<CString>,
    candidates: Vec<CString>,
}

impl Exec {
    /// Refuses (EINVAL) an argument or variable holding a NUL byte: the kernel would cut it
    /// there, so COMMAND would get another argument than the plan shows.
    pub fn new(
        command: &[String],
        env: &std::collections::BTreeMap<String, String>,
    ) -> Result<Exec> {
        let c = |s: String, what: &str| {
            CString::new(s).map_err(|_| {
                StepError::detail(
                    "prepare COMMAND",
                    Errno::EINVAL,
                    format!("{what} contains a NUL byte"),
                )
            })
        };
        let name = command.first().cloned().unwrap_or_default();
        let path = env
            .get("PATH")
            .cloned()
            .unwrap_or_else(|| crate::plan::env::DEFAULT_PATH.into());
        let candidates = if name.contains('/') {
            vec![c(name.clone(), "COMMAND")?]
        } else {
            path.split(':')
                .map(|d| if d.is_empty() { "." } else { d })
                .filter_map(|d| CString::new(format!("{d}/{name}")).ok())
                .collect()
        };
        Ok(Exec {
            argv: command
                .iter()
                .enumerate()
                .map(|(i, a)| c(a.clone(), &format!("argument {i} of COMMAND")))
                .collect::<Result<_>>()?,
            envp: env
                .iter()
                .map(|(k, v)| c(format!("{k}={v}"), &format!("environment variable {k}")))
                .collect::<Result<_>>()?,
            name,
            path,
            candidates,
        })
    }

    /// execve along the candidates like execvp; returns only on failure, with the error to
    /// report and the exit status (127 not found, 126 not executable, 125 otherwise).
    pub fn run(&self) -> (StepError, i32) {
        let mut last = Errno::ENOENT;
        for c in &self.candidates {
            let e = nix::unistd::execve(c, &self.argv, &self.envp).unwrap_err();
            // Keep the most telling error, as execvp does: EACCES beats ENOENT.
            if e != Errno::ENOENT && e != Errno::ENOTDIR || last == Errno::ENOENT {
                last = if e == Errno::ENOTDIR {
                    Errno::ENOENT
                } else {
                    e
                };
            }
            if !matches!(e, Errno::ENOENT | Errno::ENOTDIR | Errno::EACCES) {
                break;
            }
        }
        let name = &self.name;
        let (code, msg) = match last {
            Errno::ENOENT if name.contains('/') => (
                crate::EXIT_NOTFOUND,
                format!("{name}: not found inside the sandbox (is its folder granted?)"),
            ),
            Errno::ENOENT => (
                crate::EXIT_NOTFOUND,
                format!(
                    "{name}: not found in PATH inside the sandbox ({})",
                    self.path
                ),
            ),
            Errno::EACCES | Errno::ENOEXEC | Errno::EPERM => (
                crate::EXIT_NOEXEC,
                format!("{name}: found but not executable here"),
            ),
            _ => (crate::EXIT_JAIL, format!("{name}: cannot execute")),
        };
        (StepError::detail("execute COMMAND", last, msg), code)
    }
}
