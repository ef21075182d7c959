//! Thin cgroupfs layer: one interface, three back ends (cgroup v1, cgroup v2, systemd scope: the user manager for users, the system manager for root).
//!
//! # Caller sequence (the supervisor is single-threaded and forks the sandbox)
//!
//! ```text
//! let det = detect(&limits);                       // `jail doctor` prints det.reasons / det.remedy
//! let mut cg = Cgroup::create(kind, profile, &limits)?;  // BEFORE fork: mkdir + limits + read-back
//! // v2 only, optional: clone3(CLONE_INTO_CGROUP, cgroup = cg.v2_dir_fd()) puts the child in
//! // the cgroup atomically; attach() is then a harmless no-op re-write.
//! let pid = fork();  // child: blocks reading a pipe (not yet exec'd, not yet running code)
//! cg.attach(pid)?;   // v1/v2: write cgroup.procs; systemd: StartTransientUnit(PIDs=[pid]) + read-back
//! // on error: cg.destroy() (kills the child) and refuse to run
//! write(pipe);       // release the child
//! ... waitpid ...; cg.memory_events() to explain an OOM kill
//! cg.destroy()?;     // kill everything left + rmdir / StopUnit
//! ```
//!
//! v2 "no internal processes" rule: controllers can only be enabled in a non-root cgroup's
//! `cgroup.subtree_control` when it has no processes. If the supervisor's current cgroup C has
//! processes and the needed controllers are not enabled yet, `create` moves the supervisor (and
//! only it; it refuses if any OTHER process is in C) into the leaf `C/jail-<pid>-<start>-supervisor`,
//! then enables the controllers in C, and creates sandboxes as `C/jail-<pid>-<start>-<seq>-<name>`.
//! Later calls recognise the supervisor leaf and keep using C as the base. This is why `create`
//! must run before the sandbox child is forked (otherwise the child would be a second process in C).
//!
//! Naming: every cgroup is `jail-<supervisor pid>-<supervisor start time>-...` (start time is
//! field 22 of /proc/PID/stat), so [`reap_orphans`] can prove ownership and only remove cgroups
//! whose supervisor (that exact pid + start time) is gone.

use serde::Serialize;
use std::fs;
use std::io::{self, Write};
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub mod systemd;
pub mod v1;
pub mod v2;

pub use crate::plan::cgroup::{
    cpu_quota_us, weight_to_shares, BackendKind, Detection, Limits, CPU_PERIOD_US,
};

/// Memory-limit events since the cgroup was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MemEvents {
    /// Processes killed by the OOM killer inside this cgroup.
    pub oom_kill: u64,
    /// Times the memory limit was hit (v2 memory.events `max`, v1 memory.failcnt).
    pub max_hit: u64,
}

/// Current usage; `None` where the back end cannot tell (e.g. no cpuacct on v1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    pub memory_current: Option<u64>,
    pub pids_current: Option<u64>,
    pub cpu_usage_usec: Option<u64>,
}

pub const REMEDY_V1_ROOT: &str = "cgroup limits need root on cgroup v1 hosts: run jail as root, \
     or drop the [limits] section, or boot with systemd.unified_cgroup_hierarchy=1";
pub const REMEDY_V2_DELEGATE: &str = "run jail inside a delegated cgroup: \
     `systemd-run --user --scope -p Delegate=yes jail run …`";
pub const REMEDY_SYSTEMD_DELEGATE: &str = "systemd did not delegate this controller to your user \
     manager; as root create /etc/systemd/system/user@.service.d/delegate.conf with \
     `[Service]\\nDelegate=cpu cpuset io memory pids`, run `systemctl daemon-reload` and log in again";

fn remedy_suffix(r: &Option<String>) -> String {
    match r {
        Some(r) => format!("; remedy: {r}"),
        None => String::new(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// A filesystem or syscall step failed.
    #[error("{step}: {errno} ({detail}){}", remedy_suffix(.remedy))]
    Io {
        step: String,
        errno: String,
        detail: String,
        remedy: Option<String>,
    },
    /// The kernel or systemd did not apply a requested limit.
    #[error("limit {limit} is not enforced: {detail}{}", remedy_suffix(.remedy))]
    NotEnforced {
        limit: String,
        detail: String,
        remedy: Option<String>,
    },
    #[error("invalid limits: {0}")]
    InvalidLimits(String),
    #[error("no usable cgroup back end: {}{}", .reasons.join("; "), remedy_suffix(.remedy))]
    Unavailable {
        reasons: Vec<String>,
        remedy: Option<String>,
    },
    #[error("{step}: {detail}{}", remedy_suffix(.remedy))]
    Dbus {
        step: String,
        detail: String,
        remedy: Option<String>,
    },
    #[error("{step}: still busy after {waited_ms} ms")]
    Timeout { step: String, waited_ms: u64 },
    #[error("{0}: operation not valid for this back end or state")]
    Unsupported(String),
}

impl CgroupError {
    pub(crate) fn io(step: impl Into<String>, e: &io::Error, remedy: Option<&str>) -> Self {
        CgroupError::Io {
            step: step.into(),
            errno: errno_name(e),
            detail: e.to_string(),
            remedy: remedy.map(str::to_string),
        }
    }
    /// The errno name if this is an Io error (for callers/tests).
    pub fn errno(&self) -> Option<&str> {
        match self {
            CgroupError::Io { errno, .. } => Some(errno),
            _ => None,
        }
    }
}

pub(crate) fn errno_name(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => crate::util::errno_str(n)
            .unwrap_or("UnknownErrno")
            .to_string(),
        None => format!("{:?}", e.kind()),
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

mod detect;
mod files;
pub use detect::*;
pub use files::*;

// ---------------------------------------------------------------------------------------------
// The cgroup of one sandbox

#[derive(Debug)]
enum Inner {
    V1(v1::V1),
    V2(v2::V2),
    Systemd(systemd::Scope),
}

/// One sandbox's cgroup. Dropping it without [`Cgroup::destroy`] kills and removes it best-effort.
#[derive(Debug)]
pub struct Cgroup {
    inner: Option<Inner>,
    limits: Limits,
}

impl Cgroup {
    /// Create the cgroup and apply + verify the limits. Call BEFORE forking the sandbox child.
    pub fn create(kind: BackendKind, name: &str, limits: &Limits) -> Result<Cgroup, CgroupError> {
        Self::create_with(kind, name, limits, &Options::default())
    }

    pub fn create_with(
        kind: BackendKind,
        name: &str,
        limits: &Limits,
        opts: &Options,
    ) -> Result<Cgroup, CgroupError> {
        limits.validate().map_err(CgroupError::InvalidLimits)?;
        let inner = match kind {
            BackendKind::V1 => Inner::V1(v1::V1::create(name, limits)?),
            BackendKind::V2 => Inner::V2(v2::V2::create(name, limits, opts)?),
            BackendKind::SystemdScope => Inner::Systemd(systemd::Scope::create(name, limits)?),
        };
        Ok(Cgroup {
            inner: Some(inner),
            limits: limits.clone(),
        })
    }

    pub fn kind(&self) -> Option<BackendKind> {
        match self.inner.as_ref()? {
            Inner::V1(_) => Some(BackendKind::V1),
            Inner::V2(_) => Some(BackendKind::V2),
            Inner::Systemd(_) => Some(BackendKind::SystemdScope),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Directories backing this cgroup (one per v1 hierarchy; empty for systemd before attach).
    pub fn paths(&self) -> Vec<PathBuf> {
        match &self.inner {
            Some(Inner::V1(c)) => c.paths(),
            Some(Inner::V2(c)) => vec![c.dir.clone()],
            Some(Inner::Systemd(c)) => c.dir.iter().cloned().collect(),
            None => vec![],
        }
    }

    /// Move `pid` (stopped at a pipe, not yet exec'd) into the cgroup.
    /// For systemd this starts the transient scope and verifies the limits (NotEnforced).
    pub fn attach(&mut self, pid: i32) -> Result<(), CgroupError> {
        match &mut self.inner {
            Some(Inner::V1(c)) => c.attach(pid),
            Some(Inner::V2(c)) => c.attach(pid),
            Some(Inner::Systemd(c)) => c.attach(pid),
            None => Err(CgroupError::Unsupported("attach after destroy".into())),
        }
    }

    /// Directory fd for clone3(CLONE_INTO_CGROUP), v2 only.
    pub fn v2_dir_fd(&self) -> Option<RawFd> {
        match &self.inner {
            Some(Inner::V2(c)) => Some(c.dir_fd()),
            _ => None,
        }
    }

    pub fn memory_events(&self) -> MemEvents {
        match &self.inner {
            Some(Inner::V1(c)) => c.memory_events(),
            Some(Inner::V2(c)) => v2::memory_events(&c.dir),
            Some(Inner::Systemd(c)) => c.memory_events(),
            None => MemEvents::default(),
        }
    }

    pub fn usage(&self) -> Usage {
        match &self.inner {
            Some(Inner::V1(c)) => c.usage(),
            Some(Inner::V2(c)) => v2::usage(&c.dir),
            Some(Inner::Systemd(c)) => c.dir.as_deref().map(v2::usage).unwrap_or_default(),
            None => Usage::default(),
        }
    }

    /// Kill every process in the cgroup and wait until it is empty.
    pub fn kill_all(&self) -> Result<(), CgroupError> {
        match &self.inner {
            Some(Inner::V1(c)) => c.kill_all(),
            Some(Inner::V2(c)) => v2::kill_all(&c.dir),
            Some(Inner::Systemd(c)) => c.kill_all(),
            None => Ok(()),
        }
    }

    /// kill_all + remove the cgroup (or StopUnit for systemd).
    pub fn destroy(mut self) -> Result<(), CgroupError> {
        match self.inner.take() {
            Some(Inner::V1(c)) => c.destroy(),
            Some(Inner::V2(c)) => c.destroy(),
            Some(Inner::Systemd(c)) => c.destroy(),
            None => Ok(()),
        }
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        let _ = match self.inner.take() {
            Some(Inner::V1(c)) => c.destroy(),
            Some(Inner::V2(c)) => c.destroy(),
            Some(Inner::Systemd(c)) => c.destroy(),
            None => Ok(()),
        };
    }
}

/// Kill the processes listed in `procs_files` until all are empty (v1, and v2 without cgroup.kill).
pub(crate) fn kill_loop(procs_files: &[PathBuf], step: &str) -> Result<(), CgroupError> {
    let start = Instant::now();
    loop {
        let mut any = false;
        for f in procs_files {
            for pid in read_pids(f) {
                any = true;
                // SAFETY: plain kill(2); pid was listed in the cgroup so it is one of ours.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        if !any {
            return Ok(());
        }
        if start.elapsed() > Duration::from_secs(5) {
            return Err(CgroupError::Timeout {
                step: step.to_string(),
                waited_ms: start.elapsed().as_millis() as u64,
            });
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Remove jail cgroups whose supervisor is dead (any process still in them is killed first).
/// Looks next to where this process would create its cgroups: under its current cgroup in each
/// v1 hierarchy and on v2 (or the base above its supervisor leaf). Returns removed paths.
pub fn reap_orphans() -> Vec<String> {
    reap_orphans_with(&Options::default())
}

pub fn reap_orphans_with(opts: &Options) -> Vec<String> {
    let mut bases: Vec<PathBuf> = v1::current_dirs();
    if let Some(b) = v2::current_base(opts) {
        bases.push(b);
    }
    let mut removed = Vec::new();
    for base in bases {
        let Ok(rd) = fs::read_dir(&base) else {
            continue;
        };
        for ent in rd.flatten() {
            let name = ent.file_name().to_string_lossy().into_owned();
            let Some((pid, start)) = parse_owner(&name) else {
                continue;
            };
            if !ent.file_type().map(|t| t.is_dir()).unwrap_or(false) || owner_alive(pid, start) {
                continue;
            }
            if reap_tree(&ent.path()).is_ok() {
                removed.push(ent.path().display().to_string());
            }
        }
    }
    removed
}

/// The folders this process's sandbox cgroups are made in (v1: one per hierarchy; v2: the
/// base), the same ones [`reap_orphans`] looks at. A launcher notes them before it makes a
/// cgroup, so that [`reap_owner`] finds them after it was killed, from any cgroup.
pub fn bases() -> Vec<PathBuf> {
    let mut b = v1::current_dirs();
    if let Some(v2) = v2::current_base(&Options::default()) {
        b.push(v2);
    }
    b
}

/// Kills everything in, and removes, the cgroups of the supervisor `pid` with start time `start`
/// found in `bases` (`jail-PID-START-*`, its supervisor leaf included), looking only under the
/// cgroup file system. The caller has made sure that supervisor is gone (a zombie counts as
/// gone: it holds nothing any more, and its sandbox got its death signal).
pub fn reap_owner(bases: &[PathBuf], pid: i32, start: u64) -> Result<Vec<String>, CgroupError> {
    let mut removed = Vec::new();
    let mut result = Ok(());
    for base in bases {
        let plain = base
            .components()
            .all(|c| !matches!(c, std::path::Component::ParentDir));
        if !base.starts_with("/sys/fs/cgroup") || !plain {
            continue;
        }
        let Ok(rd) = fs::read_dir(base) else {
            continue;
        };
        for ent in rd.flatten() {
            let name = ent.file_name().to_string_lossy().into_owned();
            if parse_owner(&name) != Some((pid, start))
                || !ent.file_type().map(|t| t.is_dir()).unwrap_or(false)
            {
                continue;
            }
            match reap_tree(&ent.path()) {
                Ok(()) => removed.push(ent.path().display().to_string()),
                Err(e) => result = Err(e),
            }
        }
    }
    result.map(|()| removed)
}

/// Kill everything below `dir` and remove it depth-first.
fn reap_tree(dir: &Path) -> Result<(), CgroupError> {
    if let Ok(rd) = fs::read_dir(dir) {
        for ent in rd.flatten() {
            if ent.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                reap_tree(&ent.path())?;
            }
        }
    }
    let kill = dir.join("cgroup.kill");
    if kill.exists() {
        let _ = write_file(&kill, "1", None);
    }
    kill_loop(
        &[dir.join("cgroup.procs")],
        &format!("killing processes in {}", dir.display()),
    )?;
    rmdir_retry(dir)
}
