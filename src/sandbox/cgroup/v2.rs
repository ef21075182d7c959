//! cgroup v2 back end (root, or a delegated subtree the user owns).
//!
//! Layout, with C = the supervisor's current cgroup (from the `0::` line of /proc/self/cgroup):
//!
//! ```text
//! C/                                   cgroup.subtree_control gets "+cpu +memory +pids" as needed
//! C/jail-<pid>-<start>-supervisor/     the supervisor, moved here only if C had to get controllers
//!                                      enabled while holding the supervisor (no-internal-processes)
//! C/jail-<pid>-<start>-<seq>-<name>/   one per sandbox: limits, memory.oom.group=1
//! ```
//!
//! If C holds any process other than the supervisor and controllers must be enabled, `create`
//! refuses with a remedy instead of moving foreign processes. The real root cgroup is exempt from
//! the rule (it has no cgroup.type file) so nothing is moved there.

use super::*;
use nix::unistd::{access, AccessFlags};
use std::os::fd::{AsRawFd, OwnedFd};

/// (mount, current cgroup dir) on the v2 hierarchy.
#[doc(hidden)]
pub fn current_dir(opts: &Options) -> Option<(PathBuf, PathBuf)> {
    let (_, _, path) = proc_cgroups("self")
        .into_iter()
        .find(|(id, c, _)| id == "0" && c.is_empty())?;
    let m = match &opts.v2_mount {
        Some(p) => Mount {
            root: "/".into(),
            point: p.clone(),
            fstype: "cgroup2".into(),
            superopts: vec![],
        },
        None => cgroup_mounts()
            .into_iter()
            .find(|m| m.fstype == "cgroup2")?,
    };
    let dir = join_cgroup_path(&m, &path);
    Some((m.point, dir))
}

/// C: the current cgroup, or its parent if we are sitting in our own supervisor leaf.
#[doc(hidden)]
pub fn current_base(opts: &Options) -> Option<PathBuf> {
    let (mount, cur) = current_dir(opts)?;
    if cur
        .file_name()
        .map(|n| n.to_string_lossy() == supervisor_leaf_name())
        == Some(true)
        && cur != mount
    {
        return cur.parent().map(Path::to_path_buf);
    }
    Some(cur)
}

fn read_list(p: &Path) -> Vec<String> {
    fs::read_to_string(p)
        .map(|s| s.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default()
}

/// The real root cgroup has no cgroup.type and is exempt from the no-internal-processes rule.
fn is_real_root(dir: &Path) -> bool {
    !dir.join("cgroup.type").exists()
}

fn writable(dir: &Path) -> bool {
    [
        dir.to_path_buf(),
        dir.join("cgroup.procs"),
        dir.join("cgroup.subtree_control"),
    ]
    .iter()
    .all(|p| access(p.as_path(), AccessFlags::W_OK).is_ok())
}

pub(crate) fn planned(l: &Limits) -> Vec<(String, String)> {
    let mut v = Vec::new();
    let need = needed_v2_controllers(l);
    if !need.is_empty() {
        let s: Vec<String> = need.iter().map(|c| format!("+{c}")).collect();
        v.push(("<parent>/cgroup.subtree_control".into(), s.join(" ")));
    }
    if let Some(m) = l.memory {
        v.push(("memory.max".into(), m.to_string()));
        if let Some(s) = l.swap {
            v.push(("memory.swap.max".into(), s.to_string()));
        }
        v.push(("memory.oom.group".into(), "1".into()));
    }
    if let Some(c) = l.cpus {
        v.push((
            "cpu.max".into(),
            format!("{} {CPU_PERIOD_US}", cpu_quota_us(c)),
        ));
    }
    if let Some(w) = l.cpu_weight {
        v.push(("cpu.weight".into(), w.to_string()));
    }
    if let Some(p) = l.pids {
        v.push(("pids.max".into(), p.to_string()));
    }
    v
}

/// (usable, explanation)
pub(crate) fn probe(l: &Limits, opts: &Options) -> (bool, String) {
    let Some(base) = current_base(opts) else {
        return (
            false,
            "no cgroup2 hierarchy mounted or no 0:: line in /proc/self/cgroup".into(),
        );
    };
    let need = needed_v2_controllers(l);
    let avail = read_list(&base.join("cgroup.controllers"));
    let missing: Vec<&str> = need
        .iter()
        .copied()
        .filter(|c| !avail.iter().any(|a| a == c))
        .collect();
    if !missing.is_empty() {
        return (
            false,
            format!(
                "unusable: {} lacks controller(s) {} (available: {})",
                base.display(),
                missing.join(" "),
                if avail.is_empty() {
                    "none".to_string()
                } else {
                    avail.join(" ")
                }
            ),
        );
    }
    if !writable(&base) {
        return (
            false,
            format!(
                "unusable: {} is not writable by this user (not delegated)",
                base.display()
            ),
        );
    }
    let enabled = read_list(&base.join("cgroup.subtree_control"));
    let to_enable: Vec<&str> = need
        .iter()
        .copied()
        .filter(|c| !enabled.iter().any(|e| e == c))
        .collect();
    if !to_enable.is_empty() && !is_real_root(&base) {
        let me = std::process::id() as i32;
        let others = read_pids(&base.join("cgroup.procs"))
            .into_iter()
            .filter(|p| *p != me)
            .count();
        if others > 0 {
            return (
                false,
                format!(
                    "unusable: {} holds {others} other process(es), so {} cannot be enabled \
                     (no-internal-processes rule)",
                    base.display(),
                    to_enable.join(" ")
                ),
            );
        }
    }
    (
        true,
        format!("usable: sandboxes go under {}", base.display()),
    )
}

/// Make C ready to host sandbox cgroups with `need` controllers; returns C.
/// `force_leaf` moves the supervisor into its leaf even if no controller must be enabled (tests).
#[doc(hidden)]
pub fn prepare_base(
    cur: &Path,
    mount: &Path,
    need: &[&str],
    force_leaf: bool,
) -> Result<PathBuf, CgroupError> {
    let remedy = (!is_root()).then_some(REMEDY_V2_DELEGATE);
    let leaf_name = supervisor_leaf_name();
    let base = if cur != mount
        && cur.file_name().map(|n| n.to_string_lossy() == leaf_name) == Some(true)
    {
        cur.parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| cur.to_path_buf())
    } else {
        cur.to_path_buf()
    };
    let avail = read_list(&base.join("cgroup.controllers"));
    let missing: Vec<&str> = need
        .iter()
        .copied()
        .filter(|c| !avail.iter().any(|a| a == c))
        .collect();
    if !missing.is_empty() {
        return Err(CgroupError::NotEnforced {
            limit: missing.join(","),
            detail: format!(
                "controller(s) {} not available in {} (cgroup.controllers: {})",
                missing.join(" "),
                base.display(),
                avail.join(" ")
            ),
            remedy: Some(
                remedy
                    .unwrap_or("enable them in the parent's cgroup.subtree_control")
                    .into(),
            ),
        });
    }
    let enabled = read_list(&base.join("cgroup.subtree_control"));
    let to_enable: Vec<&str> = need
        .iter()
        .copied()
        .filter(|c| !enabled.iter().any(|e| e == c))
        .collect();
    if (!to_enable.is_empty() || force_leaf) && !is_real_root(&base) {
        let me = std::process::id() as i32;
        let procs = read_pids(&base.join("cgroup.procs"));
        if procs.iter().any(|p| *p != me) {
            return Err(CgroupError::Io {
                step: format!(
                    "enabling {} in {}/cgroup.subtree_control",
                    to_enable.join(" "),
                    base.display()
                ),
                errno: "EBUSY".into(),
                detail: format!(
                    "the cgroup holds other processes ({:?}); the no-internal-processes rule \
                     forbids enabling controllers there and jail will not move foreign processes",
                    procs
                ),
                remedy: Some(REMEDY_V2_DELEGATE.into()),
            });
        }
        if procs.contains(&me) {
            let leaf = base.join(&leaf_name);
            match fs::create_dir(&leaf) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(CgroupError::io(
                        format!("creating supervisor leaf {}", leaf.display()),
                        &e,
                        remedy,
                    ))
                }
            }
            write_file(&leaf.join("cgroup.procs"), &me.to_string(), remedy)?;
        }
    }
    if !to_enable.is_empty() {
        let s: Vec<String> = to_enable.iter().map(|c| format!("+{c}")).collect();
        write_file(&base.join("cgroup.subtree_control"), &s.join(" "), remedy)?;
        let now = read_list(&base.join("cgroup.subtree_control"));
        if let Some(c) = to_enable.iter().find(|c| !now.iter().any(|e| e == *c)) {
            return Err(CgroupError::NotEnforced {
                limit: (*c).into(),
                detail: format!(
                    "{c} did not appear in {}/cgroup.subtree_control",
                    base.display()
                ),
                remedy: None,
            });
        }
    }
    Ok(base)
}

#[derive(Debug)]
pub struct V2 {
    pub(crate) dir: PathBuf,
    fd: OwnedFd,
}

impl V2 {
    pub(crate) fn create(name: &str, l: &Limits, opts: &Options) -> Result<V2, CgroupError> {
        let (mount, cur) = current_dir(opts).ok_or_else(|| CgroupError::Unavailable {
            reasons: vec![
                "no cgroup2 hierarchy mounted or no 0:: line in /proc/self/cgroup".into(),
            ],
            remedy: None,
        })?;
        let base = prepare_base(&cur, &mount, &needed_v2_controllers(l), false)?;
        Self::create_in(&base, name, l)
    }

    pub(crate) fn create_in(base: &Path, name: &str, l: &Limits) -> Result<V2, CgroupError> {
        let remedy = (!is_root()).then_some(REMEDY_V2_DELEGATE);
        let dir = base.join(sandbox_dir_name(name));
        mkdir(&dir, remedy)?;
        if let Err(e) = apply(&dir, l) {
            let _ = rmdir_retry(&dir);
            return Err(e);
        }
        let fd = match fs::File::open(&dir) {
            Ok(f) => OwnedFd::from(f),
            Err(e) => {
                let _ = rmdir_retry(&dir);
                return Err(CgroupError::io(
                    format!("opening {}", dir.display()),
                    &e,
                    None,
                ));
            }
        };
        Ok(V2 { dir, fd })
    }

    pub(crate) fn dir_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    pub(crate) fn attach(&mut self, pid: i32) -> Result<(), CgroupError> {
        write_file(
            &self.dir.join("cgroup.procs"),
            &pid.to_string(),
            (!is_root()).then_some(REMEDY_V2_DELEGATE),
        )
    }

    pub(crate) fn destroy(self) -> Result<(), CgroupError> {
        let k = kill_all(&self.dir);
        let r = remove_tree(&self.dir);
        k.and(r)
    }
}

/// Write and read back every limit of `l` into the v2 cgroup `dir`.
pub(crate) fn apply(dir: &Path, l: &Limits) -> Result<(), CgroupError> {
    if let Some(m) = l.memory {
        write_file(&dir.join("memory.max"), &m.to_string(), None)?;
        if let Some(s) = l.swap {
            let p = dir.join("memory.swap.max");
            if p.exists() {
                write_file(&p, &s.to_string(), None)?;
            } else if system_has_swap() {
                return Err(CgroupError::NotEnforced {
                    limit: "swap".into(),
                    detail: format!("{} is missing (swap accounting is off)", p.display()),
                    remedy: Some("boot with swapaccount=1 or drop the swap limit".into()),
                });
            }
        }
        write_file(&dir.join("memory.oom.group"), "1", None)?;
    }
    if let Some(c) = l.cpus {
        write_file(
            &dir.join("cpu.max"),
            &format!("{} {CPU_PERIOD_US}", cpu_quota_us(c)),
            None,
        )?;
    }
    if let Some(w) = l.cpu_weight {
        write_file(&dir.join("cpu.weight"), &w.to_string(), None)?;
    }
    if let Some(p) = l.pids {
        write_file(&dir.join("pids.max"), &p.to_string(), None)?;
    }
    verify(dir, l, None)
}

/// Read back the limits from a v2 cgroup `dir`; `NotEnforced` names the first one missing.
/// Used for our own writes and for what systemd wrote into a scope (`cpu_tolerance` = systemd
/// may compute cpu.max with a different period).
pub(crate) fn verify(dir: &Path, l: &Limits, remedy: Option<&str>) -> Result<(), CgroupError> {
    let bad = |limit: &str, detail: String| CgroupError::NotEnforced {
        limit: limit.into(),
        detail,
        remedy: remedy.map(str::to_string),
    };
    let read = |f: &str| fs::read_to_string(dir.join(f)).map(|s| s.trim().to_string());
    let missing = |f: &str, e: io::Error| {
        format!(
            "{}/{f}: {} (controller not enabled here)",
            dir.display(),
            errno_name(&e)
        )
    };
    if let Some(m) = l.memory {
        match read("memory.max") {
            Ok(s) if s.parse::<u64>().map(|r| mem_matches(r, m)).unwrap_or(false) => {}
            Ok(s) => return Err(bad("memory", format!("memory.max is {s}, wanted {m}"))),
            Err(e) => return Err(bad("memory", missing("memory.max", e))),
        }
        if let Some(sw) = l.swap {
            match read("memory.swap.max") {
                Ok(s)
                    if s.parse::<u64>()
                        .map(|r| mem_matches(r, sw))
                        .unwrap_or(false) => {}
                Ok(s) => return Err(bad("swap", format!("memory.swap.max is {s}, wanted {sw}"))),
                Err(_) if !system_has_swap() => {}
                Err(e) => return Err(bad("swap", missing("memory.swap.max", e))),
            }
        }
    }
    if let Some(c) = l.cpus {
        match read("cpu.max") {
            Ok(s) => {
                let mut it = s.split_whitespace();
                let q = it.next().and_then(|q| q.parse::<f64>().ok());
                let p = it.next().and_then(|p| p.parse::<f64>().ok());
                let ok = match (q, p) {
                    (Some(q), Some(p)) if p > 0.0 => ((q / p) - c).abs() <= (c * 0.02).max(0.011),
                    _ => false,
                };
                if !ok {
                    return Err(bad("cpus", format!("cpu.max is {s:?}, wanted {c} CPUs")));
                }
            }
            Err(e) => return Err(bad("cpus", missing("cpu.max", e))),
        }
    }
    if let Some(w) = l.cpu_weight {
        match read("cpu.weight") {
            Ok(s) if s.parse::<u64>().ok() == Some(w) => {}
            Ok(s) => return Err(bad("cpu_weight", format!("cpu.weight is {s}, wanted {w}"))),
            Err(e) => return Err(bad("cpu_weight", missing("cpu.weight", e))),
        }
    }
    if let Some(p) = l.pids {
        match read("pids.max") {
            Ok(s) if s.parse::<u64>().ok() == Some(p) => {}
            Ok(s) => return Err(bad("pids", format!("pids.max is {s}, wanted {p}"))),
            Err(e) => return Err(bad("pids", missing("pids.max", e))),
        }
    }
    Ok(())
}

pub(crate) fn memory_events(dir: &Path) -> MemEvents {
    let f = dir.join("memory.events");
    MemEvents {
        oom_kill: read_keyed(&f, "oom_kill").unwrap_or(0),
        max_hit: read_keyed(&f, "max").unwrap_or(0),
    }
}

pub(crate) fn usage(dir: &Path) -> Usage {
    Usage {
        memory_current: read_u64(&dir.join("memory.current")),
        pids_current: read_u64(&dir.join("pids.current")),
        cpu_usage_usec: read_keyed(&dir.join("cpu.stat"), "usage_usec"),
    }
}

/// cgroup.kill (Linux >= 5.14) kills the whole subtree atomically; older kernels get a freeze +
/// kill loop. Then wait until cgroup.events says `populated 0`.
pub(crate) fn kill_all(dir: &Path) -> Result<(), CgroupError> {
    if !dir.exists() {
        return Ok(());
    }
    let kill = dir.join("cgroup.kill");
    if kill.exists() {
        match write_file(&kill, "1", None) {
            Ok(()) => {}
            // Removed meanwhile (ENOENT), or being removed (ENODEV: the file was opened but the
            // cgroup is dead): systemd garbage-collects a scope as soon as it is empty, so a
            // cgroup that is gone or going has nothing left to kill.
            Err(e) if matches!(e.errno(), Some("ENOENT") | Some("ENODEV")) || !dir.exists() => {
                return Ok(())
            }
            Err(e) => return Err(e),
        }
    } else {
        let freeze = dir.join("cgroup.freeze");
        let _ = write_file(&freeze, "1", None);
        let r = kill_loop(
            &[dir.join("cgroup.procs")],
            &format!("killing the processes in {}", dir.display()),
        );
        let _ = write_file(&freeze, "0", None);
        r?;
    }
    let start = Instant::now();
    while read_keyed(&dir.join("cgroup.events"), "populated").unwrap_or(0) != 0 {
        if start.elapsed() > Duration::from_secs(5) {
            return Err(CgroupError::Timeout {
                step: format!("waiting for {} to become empty", dir.display()),
                waited_ms: start.elapsed().as_millis() as u64,
            });
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

/// Remove `dir` and any child cgroups, depth-first.
pub(crate) fn remove_tree(dir: &Path) -> Result<(), CgroupError> {
    if let Ok(rd) = fs::read_dir(dir) {
        for ent in rd.flatten() {
            if ent.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                remove_tree(&ent.path())?;
            }
        }
    }
    rmdir_retry(dir)
}
