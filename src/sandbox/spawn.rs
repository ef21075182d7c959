//! The supervisor: jail's own process, outside the sandbox.
//!
//! It stays single-threaded until the child execs (`unshare(CLONE_NEWUSER)` and clone with it
//! fail in a threaded process), and in order:
//! 1. blocks the signals it forwards (from here on a SIGTERM or SIGINT waits, and reaches the
//!    sandbox once it runs, instead of killing jail halfway through), raises its own soft
//!    `RLIMIT_NOFILE` to the hard limit (COMMAND gets the one jail was started with back);
//! 2. notes in the state folder that it may leave cgroups (so that a later `jail run` or `ps`
//!    removes them if it is killed), creates the cgroup (before the fork, so no other process of
//!    ours is in the parent cgroup when controllers are enabled), opens a pty when COMMAND gets a
//!    private terminal;
//! 3. clones the child with every new namespace at once;
//! 4. writes the child's uid/gid maps, places it in the cgroup, then releases it. The write end
//!    of that sync pipe stays open here until jail ends: only jail holds it, so the child, once
//!    it has armed `PR_SET_PDEATHSIG`, sees on it whether jail already died (see child.rs);
//! 5. while the child sets up, removes what killed launchers of this user left in the state
//!    folder ([`super::state::sweep`]), then waits for the setup to end: an error record on the
//!    error pipe, or EOF when exec closed it;
//! 6. relays the terminal, forwards signals, reaps the child, and returns the exit status;
//! 7. tears down: every process left is killed (pid namespace, cgroup), the cgroup removed.

use super::cgroup::{self, Cgroup};
use super::child::{self, ChildFds};
use super::error::{Step, StepError};
use super::init::{blocked_set, status_code};
use super::pty::{Pty, Terminal};
use super::relay::{wait_loop, write_all};
use super::sys;
use crate::plan::Plan;
use crate::util::{human_bytes, Verbosity};
use nix::errno::Errno;
use nix::sys::signal::{self, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use std::os::fd::OwnedFd;

fn pipe() -> Result<(OwnedFd, OwnedFd), StepError> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| StepError::new("create pipe", e))
}

pub(crate) fn print_step_error(e: &StepError) {
    eprintln!("jail: error: {e}");
    if let Some(r) = e.remedy() {
        eprintln!("  remedy: {r}");
    }
}

/// Writes the one-id maps of SPEC §3 (`uid = "user"`: the caller's own ids; `"root"`: 0).
fn write_id_maps(pid: libc::pid_t, plan: &Plan) -> Result<(), StepError> {
    let ids = &plan.ids;
    let w = |file: &str, text: String| {
        std::fs::write(format!("/proc/{pid}/{file}"), text)
            .step(|| format!("write {file} (user namespace id map)"))
    };
    // An unprivileged process must deny setgroups before it may write a gid map.
    w("setgroups", "deny".into())?;
    w(
        "uid_map",
        format!("{} {} 1\n", ids.uid_inside, ids.uid_outside),
    )?;
    w(
        "gid_map",
        format!("{} {} 1\n", ids.gid_inside, ids.gid_outside),
    )
}

/// Creates the sandbox's cgroup with the back end the plan chose, when limits are asked for;
/// None when none are, or when they cannot be applied and the profile said best-effort.
fn make_cgroup(plan: &Plan, v: Verbosity) -> Result<Option<Cgroup>, ()> {
    if !plan.limits.any() {
        return Ok(None);
    }
    let limits = plan.limits.cgroup_limits();
    // Cgroups left by jail runs that were SIGKILLed (their supervisor is provably gone).
    cgroup::reap_orphans();
    let fail = |msg: String, remedy: Option<String>| {
        if plan.limits.required() {
            eprintln!("jail: error: cannot enforce [limits]: {msg}");
            if let Some(r) = remedy {
                eprintln!("  remedy: {r}");
            }
            eprintln!("  or run with --best-effort (limits.enforce = \"best-effort\") to hold what rlimits can instead (see `jail explain`)");
            Err(())
        } else {
            if v != Verbosity::Quiet {
                let held = match &plan.limits.fallback {
                    Some(f) => f.clone(),
                    None => plan
                        .limits
                        .fallback_rlimits
                        .iter()
                        .map(|r| r.resource.constant())
                        .collect::<Vec<_>>()
                        .join(", "),
                };
                eprintln!("jail: warning: [limits] not enforced by a cgroup: {msg}; running anyway (enforce = \"best-effort\"): {held}");
            }
            Ok(None)
        }
    };
    let Some(kind) = plan.limits.backend else {
        return fail(plan.limits.reasons.join("; "), plan.limits.remedy.clone());
    };
    match Cgroup::create(kind, &plan.profile, &limits) {
        Ok(cg) => Ok(Some(cg)),
        Err(e) => fail(e.to_string(), None),
    }
}

/// How `jail run` was asked to run the plan.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub verbosity: Verbosity,
    /// `--name`; default: the profile name and the sandbox's id.
    pub name: Option<String>,
    /// `--json-status-fd`.
    pub json_status_fd: Option<i32>,
    /// The state folder for `jail ps` (None: no record is written).
    pub state_dir: Option<std::path::PathBuf>,
}

/// Raises jail's own soft `RLIMIT_NOFILE` to the hard limit: a profile with thousands of grants
/// under /tmp holds one descriptor per grant for a moment (see fs.rs). Returns the soft limit
/// jail was started with when it raised it, which COMMAND gets back.
fn raise_nofile() -> Option<u64> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    if soft >= hard {
        return None;
    }
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).ok()?;
    Some(soft)
}

/// Runs the plan; returns the exit status of SPEC §1.
pub fn run(plan: &Plan, opts: &RunOptions) -> i32 {
    let v = opts.verbosity;
    let verbose = v == Verbosity::Verbose;
    // Forwarded signals wait from here on (a launcher that SIGTERM killed between making the
    // cgroup and the clone would leave it behind); supervise() reads them from a signalfd and
    // forwards them once the sandbox runs. The child unblocks them before exec.
    if let Err(e) = signal::sigprocmask(signal::SigmaskHow::SIG_BLOCK, Some(&blocked_set()), None) {
        print_step_error(&StepError::new("block signals", e));
        return crate::EXIT_JAIL;
    }
    // The folders the plan keeps (absent "+path" grants, the private home), as the caller.
    if let Err(e) = super::create::make_all(&plan.create) {
        print_step_error(&e);
        return crate::EXIT_JAIL;
    }
    // Desktop helpers (xdg-dbus-proxy, the filtered Xauthority) start outside the sandbox,
    // before the clone; the guard stops them when the sandbox has ended. Fail closed.
    let helpers = match super::dbus_proxy::start(plan) {
        Ok(h) => h,
        Err(e) => {
            print_step_error(&e);
            return crate::EXIT_JAIL;
        }
    };
    let nofile_soft = raise_nofile();
    // Before any cgroup exists: the note that lets a later jail remove ours if we are killed.
    // (Not when the sandbox is to outlive jail: its cgroup is in use then.)
    let claim = match (
        &opts.state_dir,
        plan.limits.any() && plan.process.die_with_parent,
    ) {
        (Some(d), true) => super::state::dir(d)
            .ok()
            .and_then(|d| super::state::claim_cgroups(&d, &cgroup::bases())),
        _ => None,
    };
    let unclaim = |claim: &Option<std::path::PathBuf>| {
        if let Some(c) = claim {
            super::state::unclaim(c);
        }
    };
    let mut cg = match make_cgroup(plan, v) {
        Ok(c) => c,
        Err(()) => {
            unclaim(&claim);
            return crate::EXIT_JAIL;
        }
    };
    if cg.is_none() {
        unclaim(&claim);
    }
    let watches = super::gitwatch::start(&plan.git_watch);
    // Landlock's denials of COMMAND, from the kernel's audit log (root; the audit on).
    let audit = plan
        .process
        .report_landlock
        .then(super::llaudit::listen)
        .flatten();
    let mut member = None;
    let r = supervise(plan, opts, verbose, cg.as_mut(), nofile_soft, &mut member);
    if let (Some(a), Some(m), Ok(code)) = (&audit, member, &r) {
        if v != Verbosity::Quiet && (*code != 0 || verbose) {
            let (refused, lost) = super::llaudit::collect(a, m);
            for n in super::llaudit::notes(&refused, lost) {
                eprintln!("{n}");
            }
        }
    }
    if plan.process.die_with_parent {
        // The sandbox has ended with supervise(): nothing of it can make more.
        super::gitwatch::finish(watches);
    }
    let code = match r {
        Ok(code) => code,
        Err(e) => {
            print_step_error(&e);
            crate::EXIT_JAIL
        }
    };
    if let Some(cg) = cg {
        let ev = cg.memory_events();
        if ev.oom_kill > 0 && v != Verbosity::Quiet {
            let limit = plan
                .limits
                .memory
                .map(human_bytes)
                .unwrap_or_else(|| "?".into());
            if code == 128 + libc::SIGKILL {
                eprintln!("jail: the sandbox was killed: its memory limit ({limit}) was reached");
            } else {
                eprintln!("jail: {} process(es) in the sandbox were killed: its memory limit ({limit}) was reached", ev.oom_kill);
            }
        }
        match cg.destroy() {
            Ok(()) => unclaim(&claim),
            Err(e) => eprintln!("jail: warning: removing the sandbox's cgroup: {e}"),
        }
    }
    drop(helpers);
    code
}

fn supervise(
    plan: &Plan,
    opts: &RunOptions,
    verbose: bool,
    cg: Option<&mut Cgroup>,
    nofile_soft: Option<u64>,
    member_out: &mut Option<libc::pid_t>,
) -> Result<i32, StepError> {
    let cgroup_paths: Vec<std::path::PathBuf> = cg.as_ref().map(|c| c.paths()).unwrap_or_default();
    let cgroup_made = cg.is_some();
    let (sync_r, sync_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    // init reports COMMAND's exit status here as soon as the sandbox is emptied, before the
    // kernel's namespace teardown that waitpid would wait for.
    let (status_r, status_w) = if plan.process.init {
        pipe().map(|(r, w)| (Some(r), Some(w)))?
    } else {
        (None, None)
    };
    // A terminal of its own for COMMAND when jail runs in one (see pty.rs); the child opens it
    // in the sandbox's devpts and sends the master back over this socket.
    let term = if plan.process.new_session {
        Terminal::of_stdin()
    } else {
        None
    };
    let pty_pair = match term {
        Some(_) => Some(
            nix::sys::socket::socketpair(
                nix::sys::socket::AddressFamily::Unix,
                nix::sys::socket::SockType::Stream,
                None,
                nix::sys::socket::SockFlag::SOCK_CLOEXEC,
            )
            .map_err(|e| StepError::new("create the terminal socket", e))?,
        ),
        None => None,
    };
    let tty_std = super::pty::tty_std();
    // The refusal report: COMMAND's process sends its seccomp listener back over this socket.
    let notify_pair =
        if plan.seccomp.report && super::seccomp::policy_filter(&plan.seccomp).is_some() {
            Some(
                nix::sys::socket::socketpair(
                    nix::sys::socket::AddressFamily::Unix,
                    nix::sys::socket::SockType::Stream,
                    None,
                    nix::sys::socket::SockFlag::SOCK_CLOEXEC,
                )
                .map_err(|e| StepError::new("create the seccomp report socket", e))?,
            )
        } else {
            None
        };

    // Forwarded signals and SIGCHLD (blocked since run() began) arrive through a signalfd;
    // the child unblocks them.
    let set = blocked_set();
    let sfd = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(|e| StepError::new("signalfd", e))?;

    let flags = plan.namespaces.clone_flags();
    if verbose {
        eprintln!("jail: clone with namespaces {:#x}", flags);
    }
    let into_cgroup = cg.as_ref().and_then(|c| c.v2_dir_fd());
    // SAFETY: jail is single-threaded here (no thread is ever started before exec).
    let cloned = match into_cgroup {
        Some(fd) => match unsafe { sys::clone3_into_cgroup(flags, fd) } {
            // Kernels before 5.7, or a seccomp filter around jail refusing clone3: plain clone,
            // and attach() below moves the child in before it runs anything.
            Err(Errno::ENOSYS) | Err(Errno::EPERM) | Err(Errno::E2BIG) => unsafe {
                sys::clone_fork(flags)
            },
            r => r,
        },
        None => unsafe { sys::clone_fork(flags) },
    };
    let pid = match cloned {
        Err(e) => {
            return Err(StepError::detail(
                "create namespaces",
                e,
                format!("clone flags {flags:#x}"),
            ))
        }
        Ok(0) => {
            drop(sync_w);
            drop(err_r);
            drop(sfd);
            drop(status_r);
            let fds = ChildFds {
                sync: sync_r,
                err: err_w,
                status: status_w,
                pty_sock: pty_pair.map(|(_, c)| c),
                notify_sock: notify_pair.map(|(_, c)| c),
                tty_std,
                nofile_soft,
                rlimits: plan.rlimits_to_apply(cgroup_made),
            };
            std::mem::forget(term); // the supervisor restores the terminal, not the child
            child::main(plan, fds, verbose)
        }
        Ok(pid) => pid,
    };
    drop(sync_r);
    drop(err_w);
    drop(status_w);
    let pty_sock = pty_pair.map(|(ours, theirs)| {
        drop(theirs);
        ours
    });
    let notify_sock = notify_pair.map(|(ours, theirs)| {
        drop(theirs);
        ours
    });
    let child = Pid::from_raw(pid);
    // Namespace inodes for the state record, read now: once running, init is not dumpable and
    // its /proc/PID/ns links are closed even to its owner. (The cgroup namespace is created
    // later, once the child is in its cgroup; it is read from COMMAND below.)
    let early_ns = super::state::namespaces_of(pid);
    let kill_child = || {
        let _ = signal::kill(child, Signal::SIGKILL);
        let _ = waitpid(child, None);
    };

    // Id maps and cgroup placement before the child may run anything.
    if plan.namespaces.user {
        if let Err(e) = write_id_maps(pid, plan) {
            kill_child();
            return Err(e);
        }
    }
    if let Some(cg) = cg {
        if let Err(e) = cg.attach(pid) {
            kill_child();
            return Err(StepError::detail(
                "place the sandbox in its cgroup",
                Errno::EPERM,
                e.to_string(),
            ));
        }
    }
    if nix::unistd::write(&sync_w, &[1]).is_err() {
        kill_child();
        return Err(StepError::new("release the sandbox", Errno::last()));
    }
    // `sync_w` stays open until jail ends: the child's proof that jail is still alive once it
    // has armed PR_SET_PDEATHSIG (EOF on its end means jail died; see child.rs).
    let _lifeline = sync_w;

    // While the child sets up: what launchers of this user that were killed left behind.
    if let Some(d) = &opts.state_dir {
        super::state::sweep(d);
    }

    // Setup ends with exec (EOF) or an error record. Meanwhile the listener may arrive, and
    // calls between the filter and exec (an error report) are answered at once.
    let (buf, mut refusals) = setup_wait(&err_r, notify_sock, plan);
    drop(err_r);
    if !buf.is_empty() {
        let st = waitpid(child, None)
            .ok()
            .and_then(status_code)
            .unwrap_or(crate::EXIT_JAIL);
        match StepError::decode(&buf) {
            Some(e) if e.step == "execute COMMAND" => {
                eprintln!("jail: {}", e.exec_line());
                return Ok(st);
            }
            Some(e) => return Err(e),
            None => {
                return Err(StepError::detail(
                    "sandbox setup",
                    Errno::EIO,
                    "garbled error report",
                ))
            }
        }
    }
    if verbose {
        eprintln!("jail: sandbox running, pid {pid}");
    }
    // COMMAND's process: `enter` joins through it, and it shows the cgroup namespace made after
    // placement (init is not dumpable: its /proc/PID/ns links are closed even to its owner).
    let member = if plan.process.init {
        super::state::children(pid).first().copied().unwrap_or(pid)
    } else {
        pid
    };
    *member_out = Some(member);
    let mut ns_inodes = early_ns;
    ns_inodes.extend(super::state::namespaces_of(member));
    let record = register(plan, opts, pid, member, cgroup_paths, ns_inodes.clone());
    if let Some(fd) = opts.json_status_fd {
        let mut up = serde_json::json!({ "child-pid": pid });
        for (ns, ino) in &ns_inodes {
            up[format!("{ns}-namespace")] = (*ino).into();
        }
        if let Some(r) = &record {
            up["id"] = r.0.id.clone().into();
            up["name"] = r.0.name.clone().into();
        }
        status_line(fd, &up);
    }

    // The master of COMMAND's terminal, sent before its exec.
    let pty = match (term, pty_sock.as_ref().and_then(super::pty::recv_fd)) {
        (Some(term), Some(master)) => Some(Pty { master, term }),
        _ => None,
    };
    if let Some(p) = &pty {
        p.term.raw();
        p.resize();
    }
    let code = wait_loop(
        child,
        &sfd,
        pty.as_ref(),
        status_r.as_ref(),
        refusals.as_mut(),
    );
    drop(pty); // restores the terminal
    if opts.verbosity != Verbosity::Quiet && (code != 0 || verbose) {
        for n in refusals.iter().flat_map(|r| r.notes(&plan.seccomp)) {
            eprintln!("{n}");
        }
        if code == 128 + libc::SIGSYS {
            if let Some(n) = super::notify::sigsys_note(&plan.seccomp) {
                eprintln!("{n}");
            }
        }
        if code == crate::EXIT_NOTFOUND {
            // COMMAND ran (its exec worked): 127 is what shells and the dynamic loader give
            // for a program or library that is not there.
            eprintln!("jail: note: COMMAND exited with 127, what a shell or the dynamic loader gives when a program or library it needs is not found: the sandbox shows only what the profile grants (`jail explain` lists it; `jail learn -- COMMAND` finds what a run uses)");
        }
    }
    if let Some((rec, dir)) = &record {
        rec.remove(dir);
    }
    if let Some(fd) = opts.json_status_fd {
        status_line(fd, &serde_json::json!({ "exit-code": code }));
    }
    Ok(code)
}

/// Reads the error pipe until EOF (exec) or the child's error record, while taking the seccomp
/// listener from `notify_sock` when it comes and answering what it brings.
fn setup_wait(
    err_r: &OwnedFd,
    mut notify_sock: Option<OwnedFd>,
    plan: &Plan,
) -> (Vec<u8>, Option<super::notify::Refusals>) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut refusals: Option<super::notify::Refusals> = None;
    loop {
        let mut fds = vec![PollFd::new(err_r.as_fd(), PollFlags::POLLIN)];
        if let Some(s) = &notify_sock {
            fds.push(PollFd::new(s.as_fd(), PollFlags::POLLIN));
        }
        let i_listener = fds.len();
        if let Some(l) = refusals.as_ref().and_then(|r| r.fd()) {
            fds.push(PollFd::new(l, PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(_) => break,
        }
        let rev = |i: usize| {
            fds.get(i)
                .and_then(|f| f.revents())
                .unwrap_or(PollFlags::empty())
        };
        let (err_ev, sock_ev, l_ev) = (rev(0), rev(1), rev(i_listener));
        let sock_ev = if notify_sock.is_some() {
            sock_ev
        } else {
            PollFlags::empty()
        };
        let l_ev = if refusals.as_ref().is_some_and(|r| r.fd().is_some()) {
            l_ev
        } else {
            PollFlags::empty()
        };
        drop(fds);
        if !sock_ev.is_empty() {
            if let Some(s) = notify_sock.take() {
                refusals = super::pty::recv_fd(&s)
                    .and_then(|l| super::notify::Refusals::new(l, &plan.seccomp));
            }
        }
        if let Some(r) = refusals.as_mut() {
            if l_ev.contains(PollFlags::POLLIN) {
                r.answer();
            } else if !l_ev.is_empty() {
                r.close();
            }
        }
        if !err_ev.is_empty() {
            match nix::unistd::read(err_r, &mut chunk) {
                Ok(0) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(Errno::EINTR) | Err(Errno::EAGAIN) => continue,
                Err(_) => break,
            }
        }
    }
    // Sent before exec: if it is not there by now it will not come.
    if let Some(s) = notify_sock {
        refusals =
            super::pty::recv_fd(&s).and_then(|l| super::notify::Refusals::new(l, &plan.seccomp));
    }
    (buf, refusals)
}

/// One JSON line on the status descriptor (errors ignored: the reader may be gone).
fn status_line(fd: i32, v: &serde_json::Value) {
    let line = format!("{v}\n");
    // SAFETY: the caller handed jail this descriptor to write to for the life of the run.
    write_all(
        unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) },
        line.as_bytes(),
    );
}

/// Writes the state record `jail ps`/`stop`/`enter` use; None when there is no state folder.
fn register(
    plan: &Plan,
    opts: &RunOptions,
    pid: libc::pid_t,
    member: libc::pid_t,
    cgroups: Vec<std::path::PathBuf>,
    namespaces: std::collections::BTreeMap<String, u64>,
) -> Option<(super::state::Record, std::path::PathBuf)> {
    use super::state;
    let dir = match state::dir(opts.state_dir.as_ref()?) {
        Ok(d) => d,
        Err(e) => {
            if opts.verbosity != Verbosity::Quiet {
                eprintln!(
                    "jail: warning: no state record (jail ps will not list this sandbox): {e}"
                );
            }
            return None;
        }
    };
    let (me, me_start) = state::me()?;
    let id = state::new_id();
    let rec = state::Record {
        name: opts
            .name
            .clone()
            .unwrap_or_else(|| format!("{}-{id}", plan.profile)),
        id,
        profile: plan.profile.clone(),
        command: plan.command.clone(),
        uid: nix::unistd::getuid().as_raw(),
        supervisor_pid: me,
        supervisor_start: me_start,
        init_pid: pid,
        init_start: state::start_time(pid)?,
        member_pid: member,
        member_start: state::start_time(member).unwrap_or(0),
        namespaces,
        cgroups,
        started: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        argv: std::env::args().collect(),
        cwd: std::env::current_dir().unwrap_or_default(),
        policy_hash: state::policy_hash(plan),
    };
    match rec.save(&dir) {
        Ok(()) => Some((rec, dir)),
        Err(e) => {
            eprintln!("jail: warning: no state record: {e}");
            None
        }
    }
}
