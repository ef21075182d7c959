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
use super::lockdown::{drop_bounding, lock_down, reset_signals, take_terminal, Exec};
use super::sys;
use crate::plan::Plan;
use nix::errno::Errno;
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
    /// A socket to hand the supervisor the listener of COMMAND's seccomp filter (the refusal
    /// report, `[seccomp] report`).
    pub notify_sock: Option<OwnedFd>,
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

    if plan.process.memfd_noexec {
        // Through the host's procfs, still mounted (and writable) here: the knob is the
        // writer's own pid namespace's. A kernel without it (before 6.3) has nothing to set.
        match std::fs::write("/proc/sys/vm/memfd_noexec", "2") {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            r => r
                .step(|| "set vm.memfd_noexec = 2 in the sandbox's pid namespace".into())
                .map_err(jail)?,
        }
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
                drop(fds.notify_sock);
                super::init::run(child.as_raw(), plan, fds.status)
            }
        }
    }
    command(
        plan,
        fds.pty_sock,
        fds.notify_sock.as_ref(),
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

fn command(
    plan: &Plan,
    pty_sock: Option<OwnedFd>,
    notify_sock: Option<&OwnedFd>,
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
    lock_down(plan, verbose, notify_sock).map_err(jail)?;
    Err(exec.run())
}
