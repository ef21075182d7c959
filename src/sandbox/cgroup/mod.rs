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

// ---------------------------------------------------------------------------------------------
// Small filesystem helpers; every error names the step.

#[doc(hidden)]
pub fn write_file(path: &Path, value: &str, remedy: Option<&str>) -> Result<(), CgroupError> {
    let step = format!("writing {:?} to {}", value, path.display());
    let mut f = fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| CgroupError::io(step.clone(), &e, remedy))?;
    f.write_all(value.as_bytes())
        .map_err(|e| CgroupError::io(step, &e, remedy))
}

#[doc(hidden)]
pub fn read_file(path: &Path) -> Result<String, CgroupError> {
    fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| CgroupError::io(format!("reading {}", path.display()), &e, None))
}

pub(crate) fn read_u64(path: &Path) -> Option<u64> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Value of `key N` in a flat-keyed file such as memory.events or memory.oom_control.
#[doc(hidden)]
pub fn read_keyed(path: &Path, key: &str) -> Option<u64> {
    let s = fs::read_to_string(path).ok()?;
    s.lines().find_map(|l| {
        let mut it = l.split_whitespace();
        (it.next()? == key).then(|| it.next()?.parse().ok())?
    })
}

#[doc(hidden)]
pub fn read_pids(path: &Path) -> Vec<i32> {
    fs::read_to_string(path)
        .map(|s| s.lines().filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_default()
}

pub(crate) fn mkdir(path: &Path, remedy: Option<&str>) -> Result<(), CgroupError> {
    fs::create_dir(path)
        .map_err(|e| CgroupError::io(format!("creating cgroup {}", path.display()), &e, remedy))
}

/// rmdir, retrying briefly while the kernel still reports EBUSY (tasks finishing their exit).
pub(crate) fn rmdir_retry(path: &Path) -> Result<(), CgroupError> {
    let start = Instant::now();
    loop {
        match fs::remove_dir(path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e)
                if e.raw_os_error() == Some(libc::EBUSY)
                    && start.elapsed() < Duration::from_secs(3) =>
            {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(e) => {
                return Err(CgroupError::io(
                    format!("removing cgroup {}", path.display()),
                    &e,
                    None,
                ))
            }
        }
    }
}

pub(crate) fn page_size() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as u64
    } else {
        4096
    }
}

/// The kernel stores memory limits in pages; accept the value rounded down to a page.
pub(crate) fn mem_matches(read: u64, wanted: u64) -> bool {
    read == wanted || read == wanted / page_size() * page_size()
}

/// True if swap is configured at all (a swap limit is moot without it).
#[doc(hidden)]
pub fn system_has_swap() -> bool {
    fs::read_to_string("/proc/swaps")
        .map(|s| s.lines().count() > 1)
        .unwrap_or(true)
}

// ---------------------------------------------------------------------------------------------
// /proc parsing

/// Field 22 (starttime, clock ticks since boot) of /proc/PID/stat.
pub fn proc_start_time(pid: i32) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // comm (field 2) may contain spaces and parentheses: split after the LAST ')'.
    let rest = &s[s.rfind(')')? + 1..];
    // rest starts at field 3 (state); field 22 is the 20th from here.
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// `jail-<pid>-<starttime>` of the calling process.
pub(crate) fn owner_prefix() -> String {
    let pid = std::process::id() as i32;
    format!("jail-{pid}-{}", proc_start_time(pid).unwrap_or(0))
}

static SEQ: AtomicU32 = AtomicU32::new(0);

/// Keep names to characters that are safe in cgroup directory names and unit names.
pub(crate) fn sanitize(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if s.is_empty() {
        "sandbox".into()
    } else {
        s
    }
}

/// `jail-<pid>-<start>-<seq>-<name>` for a new sandbox cgroup of this supervisor.
#[doc(hidden)]
pub fn sandbox_dir_name(name: &str) -> String {
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    format!("{}-{seq}-{}", owner_prefix(), sanitize(name))
}

/// The leaf the supervisor moves itself into on v2 (see module docs).
#[doc(hidden)]
pub fn supervisor_leaf_name() -> String {
    format!("{}-supervisor", owner_prefix())
}

/// Parse `jail-<pid>-<start>-<rest>`; returns (pid, start).
pub fn parse_owner(dir_name: &str) -> Option<(i32, u64)> {
    let rest = dir_name.strip_prefix("jail-")?;
    let mut it = rest.splitn(3, '-');
    let pid: i32 = it.next()?.parse().ok()?;
    let start: u64 = it.next()?.parse().ok()?;
    let tail = it.next()?;
    if pid <= 0 || tail.is_empty() {
        return None;
    }
    Some((pid, start))
}

/// True if the process `pid` that started at `start` still exists.
pub fn owner_alive(pid: i32, start: u64) -> bool {
    proc_start_time(pid) == Some(start)
}

#[derive(Debug, Clone)]
#[doc(hidden)]
pub struct Mount {
    pub root: String,
    pub point: PathBuf,
    pub fstype: String,
    pub superopts: Vec<String>,
}

fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) fn cgroup_mounts() -> Vec<Mount> {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut v = Vec::new();
    for line in text.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let pre: Vec<&str> = pre.split(' ').collect();
        let post: Vec<&str> = post.split(' ').collect();
        if pre.len() < 5 || post.len() < 3 {
            continue;
        }
        if post[0] != "cgroup" && post[0] != "cgroup2" {
            continue;
        }
        v.push(Mount {
            root: unescape_mountinfo(pre[3]),
            point: PathBuf::from(unescape_mountinfo(pre[4])),
            fstype: post[0].to_string(),
            superopts: post[2].split(',').map(str::to_string).collect(),
        });
    }
    v
}

/// (hierarchy-id, controllers, path) lines of /proc/PID/cgroup.
#[doc(hidden)]
pub fn proc_cgroups(pid: &str) -> Vec<(String, Vec<String>, String)> {
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ':');
            let id = it.next()?.to_string();
            let ctl = it.next()?;
            let path = it.next()?.to_string();
            let ctls = if ctl.is_empty() {
                vec![]
            } else {
                ctl.split(',').map(str::to_string).collect()
            };
            Some((id, ctls, path))
        })
        .collect()
}

/// Join a mount point with a /proc/PID/cgroup path, accounting for the mount's root.
pub(crate) fn join_cgroup_path(m: &Mount, cg_path: &str) -> PathBuf {
    let rel = if m.root != "/" {
        cg_path.strip_prefix(m.root.as_str()).unwrap_or(cg_path)
    } else {
        cg_path
    };
    let rel = rel.trim_start_matches('/');
    if rel.is_empty() {
        m.point.clone()
    } else {
        m.point.join(rel)
    }
}

// ---------------------------------------------------------------------------------------------
// Detection

/// Options for locating cgroupfs (tests point v2 at the hybrid unified mount).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Override the cgroup2 mount point (default: found in /proc/self/mountinfo).
    pub v2_mount: Option<PathBuf>,
}

#[doc(hidden)]
pub const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

/// statfs f_type as i64 (its C type differs between architectures).
#[allow(clippy::unnecessary_cast)]
#[doc(hidden)]
pub fn fs_magic(path: &str) -> Result<i64, nix::errno::Errno> {
    nix::sys::statfs::statfs(path).map(|s| s.filesystem_type().0 as i64)
}
#[doc(hidden)]
pub const TMPFS_MAGIC: i64 = 0x0102_1994;

pub(crate) fn needed_v2_controllers(l: &Limits) -> Vec<&'static str> {
    let mut v = Vec::new();
    if l.cpus.is_some() || l.cpu_weight.is_some() {
        v.push("cpu");
    }
    if l.memory.is_some() || l.swap.is_some() {
        v.push("memory");
    }
    if l.pids.is_some() {
        v.push("pids");
    }
    v
}

/// Choose a back end for `limits` on this machine, explaining every decision.
pub fn detect(limits: &Limits) -> Detection {
    detect_with(limits, &Options::default())
}

pub fn detect_with(limits: &Limits, opts: &Options) -> Detection {
    let mut reasons = Vec::new();
    let root = is_root();
    if let Err(e) = limits.validate() {
        return Detection {
            chosen: None,
            writes: vec![],
            reasons: vec![CgroupError::InvalidLimits(e).to_string()],
            remedy: None,
        };
    }
    let fstype = fs_magic("/sys/fs/cgroup");
    let pure_v2 = match fstype {
        Ok(CGROUP2_SUPER_MAGIC) => {
            reasons.push("/sys/fs/cgroup is cgroup2: unified (v2-only) layout".into());
            true
        }
        Ok(TMPFS_MAGIC) => {
            reasons.push("/sys/fs/cgroup is tmpfs: cgroup v1 or hybrid layout".into());
            false
        }
        Ok(other) => {
            reasons.push(format!(
                "/sys/fs/cgroup has unexpected filesystem magic {other:#x}"
            ));
            false
        }
        Err(e) => {
            reasons.push(format!("statfs /sys/fs/cgroup: {e:?}"));
            false
        }
    };
    let v2 = v2::probe(limits, opts);
    reasons.push(format!("v2: {}", v2.1));
    let v1 = if pure_v2 {
        (
            false,
            "not available (no v1 hierarchies on a unified host)".to_string(),
        )
    } else {
        v1::probe(limits)
    };
    reasons.push(format!("v1: {}", v1.1));
    let sd = systemd::probe(limits);
    reasons.push(format!("systemd scope: {}", sd.1));

    let chosen = if v2.0 {
        Some(BackendKind::V2)
    } else if v1.0 {
        Some(BackendKind::V1)
    } else if sd.0 {
        Some(BackendKind::SystemdScope)
    } else {
        None
    };
    let remedy = if chosen.is_some() {
        None
    } else if !pure_v2 {
        Some(REMEDY_V1_ROOT.to_string())
    } else if !root {
        Some(sd.2.unwrap_or_else(|| REMEDY_V2_DELEGATE.to_string()))
    } else {
        Some(
            "run jail from a cgroup that holds no other processes (e.g. \
              `systemd-run --scope -p Delegate=yes jail run …`)"
                .to_string(),
        )
    };
    Detection {
        writes: chosen
            .map(|k| planned_writes(k, limits))
            .unwrap_or_default(),
        chosen,
        reasons,
        remedy,
    }
}

/// Exactly what a back end will write for `limits` (files for v1/v2, unit properties for systemd).
pub fn planned_writes(kind: BackendKind, limits: &Limits) -> Vec<(String, String)> {
    match kind {
        BackendKind::V1 => v1::planned(limits),
        BackendKind::V2 => v2::planned(limits),
        BackendKind::SystemdScope => systemd::planned(limits, "<profile>", 0),
    }
}

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
