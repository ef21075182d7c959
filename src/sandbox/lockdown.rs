//! The lock-down every process that runs COMMAND goes through, in one place: the sandbox's own
//! COMMAND ([`super::child`]), its init ([`super::init`], which keeps nothing) and a command
//! started by `jail enter` ([`super::enter`]). Signals back at their defaults, the caller's
//! terminal replaced, capabilities down to `keep` in all five sets, `no_new_privs`, Landlock,
//! seccomp (last), then `execve` of a command prepared before the filters went on.

use super::error::{Result, Step, StepError};
use super::sys;
use crate::plan::Plan;
use nix::errno::Errno;
use nix::sys::signal::{self, SigHandler, SigSet, Signal};
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};

/// Signals jail blocks or ignores that COMMAND must get back at their defaults.
///
/// Dispositions first, then the mask: a signal jail forwarded while it was blocked is then
/// delivered with its default action, not dropped because jail was started ignoring it (a
/// launcher started in the background by a shell ignores SIGINT and SIGQUIT).
pub fn reset_signals() {
    for s in Signal::iterator() {
        if s != Signal::SIGKILL && s != Signal::SIGSTOP {
            // SAFETY: restoring the default disposition is always sound.
            let _ = unsafe { signal::signal(s, SigHandler::SigDfl) };
        }
    }
    let _ = signal::sigprocmask(
        signal::SigmaskHow::SIG_SETMASK,
        Some(&SigSet::empty()),
        None,
    );
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
///
/// With `report_to` (the sandbox's own COMMAND when the refusal report is on), the filter's
/// listener is sent to the supervisor over that socket; it stays open here only until exec
/// (the kernel makes it close-on-exec), so COMMAND never holds it. The send is the one call
/// made after the filter is on that could notify, and `install_reporting` only listens when
/// the policy allows `sendmsg` outright.
pub fn lock_down(plan: &Plan, verbose: bool, report_to: Option<&OwnedFd>) -> Result<()> {
    drop_caps(&plan.capabilities.numbers)?;
    sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0).step(|| "set no_new_privs".into())?;
    if plan.process.mdwe == Some(crate::plan::Mdwe::Prctl) {
        // Inherited by every child and kept across execve; it cannot be lifted again.
        sys::prctl(sys::PR_SET_MDWE, sys::PR_MDWE_REFUSE_EXEC_GAIN, 0)
            .step(|| "set memory-deny-write-execute (PR_SET_MDWE)".into())?;
    }
    let ll = super::landlock::apply(&plan.landlock, plan.process.report_landlock).map_err(|e| {
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
    let seccomp_err = |e: super::seccomp::InstallError| {
        StepError::detail("seccomp", Errno::EINVAL, e.to_string())
    };
    let Some(sock) = report_to else {
        return super::seccomp::install(&plan.seccomp).map_err(seccomp_err);
    };
    if let Some(listener) = super::seccomp::install_reporting(&plan.seccomp).map_err(seccomp_err)? {
        super::pty::send_fd(sock, listener.as_raw_fd())
            .step(|| "hand the seccomp listener to jail".into())?;
        // Not closed here (close could be refused, and would then wait on jail): exec closes
        // it, as the kernel made it close-on-exec.
        std::mem::forget(listener);
    }
    Ok(())
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
        // `what` names the refused string; it is only formatted when one is refused.
        let c = |s: String, what: &dyn Fn() -> String| {
            CString::new(s).map_err(|_| {
                StepError::detail(
                    "prepare COMMAND",
                    Errno::EINVAL,
                    format!("{} contains a NUL byte", what()),
                )
            })
        };
        let name = command.first().cloned().unwrap_or_default();
        let path = env
            .get("PATH")
            .cloned()
            .unwrap_or_else(|| crate::plan::env::DEFAULT_PATH.into());
        let candidates = if name.contains('/') {
            vec![c(name.clone(), &|| "COMMAND".into())?]
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
                .map(|(i, a)| c(a.clone(), &|| format!("argument {i} of COMMAND")))
                .collect::<Result<_>>()?,
            envp: env
                .iter()
                .map(|(k, v)| c(format!("{k}={v}"), &|| format!("environment variable {k}")))
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
        // ENOENT for a program that is there: what it needs to start is not (its ELF
        // interpreter, or a script's `#!` interpreter).
        let missing = (last == Errno::ENOENT)
            .then(|| {
                self.candidates
                    .iter()
                    .find_map(|c| missing_interpreter(c.to_bytes()))
            })
            .flatten();
        let (code, msg) = match last {
            Errno::ENOENT if missing.is_some() => {
                let (found, interp) = missing.unwrap_or_default();
                let dir = std::path::Path::new(&interp)
                    .parent()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default();
                (
                    crate::EXIT_NOTFOUND,
                    format!("{found} is in the sandbox, but the interpreter it starts with, {interp}, is not (grant it, e.g. ro = [\"{dir}\"])"),
                )
            }
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

/// For a program that exists at `path` (inside the sandbox): the interpreter it names (a
/// script's `#!` line, an ELF's PT_INTERP) when that is missing, as (program, interpreter).
fn missing_interpreter(path: &[u8]) -> Option<(String, String)> {
    use std::io::Read;
    use std::os::unix::ffi::OsStrExt;
    let p = std::path::Path::new(std::ffi::OsStr::from_bytes(path));
    let mut f = std::fs::File::open(p).ok()?;
    let mut head = vec![0u8; 4096];
    let n = f.read(&mut head).ok()?;
    head.truncate(n);
    let interp = if head.starts_with(b"#!") {
        let line = head[2..].split(|&b| b == b'\n').next()?;
        let line = String::from_utf8_lossy(line);
        line.split_whitespace().next()?.to_string()
    } else if head.starts_with(b"\x7fELF") && head.len() >= 64 && head[4] == 2 && head[5] == 1 {
        // 64-bit little-endian: the program headers, looking for PT_INTERP (3).
        let u64_at = |o: usize| {
            head.get(o..o + 8)
                .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
        };
        let u16_at = |o: usize| {
            head.get(o..o + 2)
                .map(|b| u16::from_le_bytes(b.try_into().unwrap()))
        };
        let phoff = u64_at(32)? as usize;
        let phentsize = u16_at(54)? as usize;
        let phnum = u16_at(56)? as usize;
        let mut found = None;
        for i in 0..phnum.min(64) {
            let o = phoff + i * phentsize;
            if head
                .get(o..o + 4)
                .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
                == Some(3)
            {
                let off = u64_at(o + 8)? as usize;
                let size = u64_at(o + 32)? as usize;
                let bytes = head.get(off..off + size.min(256))?;
                let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
                found = Some(String::from_utf8_lossy(&bytes[..end]).into_owned());
                break;
            }
        }
        found?
    } else {
        return None;
    };
    (!interp.is_empty() && std::fs::metadata(&interp).is_err())
        .then(|| (p.display().to_string(), interp))
}
