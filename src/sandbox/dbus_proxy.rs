//! The desktop helpers the supervisor prepares before the clone, outside the sandbox:
//!
//! - `dbus.session`/`dbus.system = "filtered"`: an `xdg-dbus-proxy` that connects to the real
//!   bus and serves a socket that lets through only the profile's `talk`/`own`/`call`/`see`
//!   names. Only that socket is bound inside (where `plan::gui` pointed
//!   `DBUS_SESSION_BUS_ADDRESS`/`DBUS_SYSTEM_BUS_ADDRESS`). Fail closed: when the proxy cannot
//!   start, jail does not run COMMAND.
//! - `gui.x11` with an Xauthority file: a copy holding only the cookies of this display, bound
//!   read-only at [`XAUTHORITY_INSIDE`].
//!
//! Both live in a private folder `STATE/session-PID` (0700) that the [`ProxyGuard`] removes.
//! The proxy's lifetime is tied to the sandbox three ways: it gets the write end of a pipe
//! (`--fd`) whose read end only jail (and the sandbox, until its exec closes it) holds, so it
//! exits when they are gone; it gets `PR_SET_PDEATHSIG` so it dies with jail even on SIGKILL;
//! and dropping the guard kills and reaps it.
//!
//! What to make, where, and the binds that show it inside are the plan's (`plan.helpers`,
//! decided by `plan::gui::helpers`); this module only carries that out. The supervisor calls
//! [`start`] before it clones (the proxy must be listening before COMMAND can connect) and drops
//! the guard when the sandbox has ended. No thread is started: jail stays single-threaded until
//! the clone.

use super::dbus::{Connection, Message, Value};
use super::error::StepError;
use super::proxy_root::MirrorRoot;
use crate::plan::gui::helpers::{DbusProxy, Helpers, XauthorityCopy};
use crate::plan::gui::portal::Portal;
use crate::plan::gui::{self};
use crate::plan::Plan;
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::collections::BTreeMap;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How long the proxy may take to say it listens.
const READY_TIMEOUT_MS: u16 = 10_000;

/// The helpers of one sandbox; dropping it stops the proxy and removes its folder.
pub struct ProxyGuard {
    dir: PathBuf,
    proxy: Option<Child>,
    /// The read end of the proxy's `--fd` pipe: when it closes, the proxy exits.
    sync: Option<OwnedFd>,
}

impl ProxyGuard {
    /// The proxy's process id, when one runs.
    pub fn proxy_pid(&self) -> Option<u32> {
        self.proxy.as_ref().map(|c| c.id())
    }

    /// The private folder holding the helpers' files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for ProxyGuard {
    fn drop(&mut self) {
        self.sync = None;
        if let Some(mut c) = self.proxy.take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(c.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Prepares the plan's desktop helpers (`plan.helpers`); `None` when it has none. Call before
/// the clone; an error means COMMAND must not run (exit 125).
pub fn start(plan: &Plan) -> Result<Option<ProxyGuard>, StepError> {
    let Some(h) = &plan.helpers else {
        return Ok(None);
    };
    let env: BTreeMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    private_dir(h)?;
    let mut g = ProxyGuard {
        dir: h.dir.clone(),
        proxy: None,
        sync: None,
    };
    if let Some(x) = &h.xauthority {
        xauthority(x)?;
    }
    if let Some(p) = &plan.dbus.portal {
        documents(p, &env)?;
    }
    if let Some(p) = &h.proxy {
        let info = plan.dbus.portal.as_ref().map(|x| x.info.as_str());
        proxy(p, &env, info, &mut g)?;
    }
    Ok(Some(g))
}

/// The plan's helper folder (jail's state folder, then a fresh `session-PID` folder in it),
/// made anew. Both 0700 and ours: a folder another user made first (in /tmp) or a symlink is
/// refused.
fn private_dir(h: &Helpers) -> Result<(), StepError> {
    let uid = nix::unistd::geteuid().as_raw();
    let step = "prepare the desktop helpers' folder";
    let base = h.dir.parent().map(Path::to_path_buf).ok_or_else(|| {
        StepError::detail(
            step,
            Errno::EINVAL,
            format!("{} has no parent", h.dir.display()),
        )
    })?;
    for d in [&base, &h.dir] {
        if d != &base {
            // A folder left by an earlier jail that had our pid and was killed.
            let _ = std::fs::remove_dir_all(d);
        }
        match std::fs::DirBuilder::new().mode(0o700).create(d) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && d == &base => {}
            Err(e) => return Err(StepError::io(step, &e, d.display().to_string())),
        }
        let m = std::fs::symlink_metadata(d)
            .map_err(|e| StepError::io(step, &e, d.display().to_string()))?;
        if !m.is_dir() || m.uid() != uid {
            return Err(StepError::detail(
                step,
                Errno::EPERM,
                format!(
                    "{} is not a folder of yours (a symlink, or made by someone else); remove it",
                    d.display()
                ),
            ));
        }
        if m.mode() & 0o077 != 0 {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| StepError::io(step, &e, d.display().to_string()))?;
        }
    }
    Ok(())
}

/// Writes the cookies of one display to the plan's copy (which the plan binds read-only
/// inside).
fn xauthority(x: &XauthorityCopy) -> Result<(), StepError> {
    let step = "filter the Xauthority file (gui.x11)";
    let host_file = &x.from;
    // A regular file of at most 1 MiB, through one descriptor: a sandbox that could write the
    // home might have swapped it for a FIFO or `/dev/zero`.
    let data = crate::util::read_regular(host_file, 1 << 20, false)
        .map_err(|e| StepError::io(step, &e, host_file.display().to_string()))?;
    let hostname = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default();
    let filtered = gui::filter_xauthority(&data, x.display, &hostname);
    let out = &x.to;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(out)
        .map_err(|e| StepError::io(step, &e, out.display().to_string()))?;
    std::io::Write::write_all(&mut f, &filtered)
        .map_err(|e| StepError::io(step, &e, out.display().to_string()))?;
    Ok(())
}

/// Finds a program on `PATH`.
fn which(env: &BTreeMap<String, String>, prog: &str) -> Option<PathBuf> {
    let path = env
        .get("PATH")
        .map(String::as_str)
        .unwrap_or("/usr/local/bin:/usr/bin:/bin");
    std::env::split_paths(path).map(|d| d.join(prog)).find(|p| {
        std::fs::metadata(p)
            .map(|m| m.is_file() && m.mode() & 0o111 != 0)
            .unwrap_or(false)
    })
}

/// `dbus.portal`: asks the document portal to start (D-Bus activation through
/// `GetMountPoint`, as Flatpak does) and checks that the app's view the plan binds is there.
fn documents(p: &Portal, env: &BTreeMap<String, String>) -> Result<(), StepError> {
    let step = "start the document portal (dbus.portal)";
    let fix = "is xdg-desktop-portal installed (Debian/Ubuntu: apt install xdg-desktop-portal fuse3)? Or set dbus.portal = false";
    let fail = |e: String| StepError::detail(step, Errno::ENOENT, format!("{e}; {fix}"));
    let bus = gui::session_bus_host(env, p.documents.parent()).map_err(fail)?;
    let mut c = Connection::connect(&gui::bus_address(&bus), Duration::from_secs(20))
        .map_err(|e| fail(e.to_string()))?;
    let reply = c
        .call(Message::method_call(
            "org.freedesktop.portal.Documents",
            "/org/freedesktop/portal/documents",
            "org.freedesktop.portal.Documents",
            "GetMountPoint",
            vec![],
        ))
        .map_err(|e| fail(e.to_string()))?;
    let mut at: Vec<u8> = match reply.body.first() {
        Some(Value::Array(_, bytes)) => bytes
            .iter()
            .filter_map(|b| match b {
                Value::Byte(b) => Some(*b),
                _ => None,
            })
            .collect(),
        _ => vec![],
    };
    while at.last() == Some(&0) {
        at.pop();
    }
    let at = PathBuf::from(std::ffi::OsString::from_vec(at));
    if at != p.documents {
        return Err(fail(format!(
            "the document portal is mounted at {}, not at {}",
            at.display(),
            p.documents.display()
        )));
    }
    let view = p.documents.join("by-app").join(&p.app_id);
    match std::fs::metadata(&view) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(fail(format!("{} is not a folder", view.display()))),
        Err(e) => Err(StepError::io(step, &e, view.display().to_string())),
    }
}

fn proxy(
    p: &DbusProxy,
    env: &BTreeMap<String, String>,
    info: Option<&str>,
    g: &mut ProxyGuard,
) -> Result<(), StepError> {
    let step = "start xdg-dbus-proxy (dbus = \"filtered\")";
    let Some(bin) = which(env, &p.program) else {
        return Err(StepError::detail(
            step,
            Errno::ENOENT,
            "xdg-dbus-proxy is not installed (Debian/Ubuntu: apt install xdg-dbus-proxy; Fedora: dnf install xdg-dbus-proxy); jail will not run with an unfiltered bus",
        ));
    };
    let mut args: Vec<String> = vec!["--fd=3".into()];
    args.extend(p.args.iter().cloned());

    let (r, w) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| StepError::new(step, e))?;
    let log_path = p.log.clone();
    let log = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&log_path)
        .map_err(|e| StepError::io(step, &e, log_path.display().to_string()))?;
    let wfd = w.as_raw_fd();
    let log_limit = p.log_limit;
    // dbus.portal: the proxy's own root, holding the app's identity (see `proxy_root`).
    let mirror = match (&p.root, info) {
        (Some(root), Some(info)) => Some(
            MirrorRoot::prepare(root, info)
                .map_err(|e| StepError::io(step, &e, root.display().to_string()))?,
        ),
        _ => None,
    };
    // `--log` (learn) writes to stdout: then both go to the log.
    let out = match log_limit {
        Some(_) => Stdio::from(
            log.try_clone()
                .map_err(|e| StepError::io(step, &e, log_path.display().to_string()))?,
        ),
        None => Stdio::null(),
    };
    let mut cmd = Command::new(&bin);
    cmd.args(&args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(Stdio::from(log))
        // Its own process group: a ^Z or ^C typed at jail's terminal is forwarded to the
        // sandbox by jail, and must not stop or kill the proxy under it.
        .process_group(0);
    // SAFETY: between fork and exec only async-signal-safe calls (dup2, fcntl, prctl, signal,
    // setrlimit) are made, on descriptors this process owns; with `dbus.portal`,
    // `MirrorRoot::enter` adds only system calls (unshare, open/write/close, mount, mkdir,
    // symlink, chroot, chdir) on strings prepared before the fork, in the forked child whose
    // namespaces it may change.
    unsafe {
        cmd.pre_exec(move || {
            if wfd == 3 {
                let fl = libc::fcntl(3, libc::F_GETFD);
                if fl < 0 || libc::fcntl(3, libc::F_SETFD, fl & !libc::FD_CLOEXEC) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            } else if libc::dup2(wfd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Dies with jail, even when jail is killed with SIGKILL.
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGTERM as libc::c_ulong,
                0,
                0,
                0,
            ) < 0
            {
                return Err(std::io::Error::last_os_error());
            }
            if let Some(max) = log_limit {
                // The log is capped; a write past the cap fails instead of killing the proxy.
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let lim = libc::rlimit {
                    rlim_cur: max as libc::rlim_t,
                    rlim_max: max as libc::rlim_t,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            if let Some(m) = &mirror {
                m.enter()?;
            }
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .map_err(|e| StepError::io(step, &e, bin.display().to_string()))?;
    drop(w);
    g.proxy = Some(child);

    // Ready: the proxy writes one byte once its sockets listen. EOF: it exited.
    let log_text = |p: &Path| {
        std::fs::read_to_string(p)
            .map(|s| s.trim().lines().last().unwrap_or("").to_string())
            .unwrap_or_default()
    };
    let mut fds = [PollFd::new(r.as_fd(), PollFlags::POLLIN)];
    let ready = loop {
        match poll(&mut fds, PollTimeout::from(READY_TIMEOUT_MS)) {
            Ok(0) => {
                break Err(StepError::detail(
                    step,
                    Errno::ETIMEDOUT,
                    "xdg-dbus-proxy did not become ready in 10 s",
                ))
            }
            Ok(_) => {
                let mut b = [0u8; 1];
                match nix::unistd::read(&r, &mut b) {
                    Ok(1) => break Ok(()),
                    Err(Errno::EINTR) => continue,
                    _ => {
                        let status = g.proxy.as_mut().and_then(|c| c.wait().ok());
                        let said = log_text(&log_path);
                        break Err(StepError::detail(
                            step,
                            Errno::EIO,
                            format!(
                                "xdg-dbus-proxy exited ({}){}",
                                status.map(|s| s.to_string()).unwrap_or_else(|| "?".into()),
                                if said.is_empty() {
                                    String::new()
                                } else {
                                    format!(": {said}")
                                }
                            ),
                        ));
                    }
                }
            }
            Err(Errno::EINTR) => continue,
            Err(e) => break Err(StepError::new(step, e)),
        }
    };
    ready?;
    // Each socket must be there before the sandbox binds it.
    for sock in &p.sockets {
        if std::fs::symlink_metadata(sock).is_err() {
            return Err(StepError::detail(
                step,
                Errno::ENOENT,
                format!("xdg-dbus-proxy made no socket at {}", sock.display()),
            ));
        }
    }
    g.sync = Some(r);
    Ok(())
}
