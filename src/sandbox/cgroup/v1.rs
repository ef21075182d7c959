//! cgroup v1 back end: one directory per needed hierarchy (memory, cpu [+cpuacct], pids), each
//! created under the supervisor's current cgroup of that hierarchy. Hierarchies whose limits
//! were not requested are never touched (cpuacct is joined only together with cpu, for usage).

use super::*;
use nix::unistd::{access, AccessFlags};

/// Mount and current cgroup directory of the v1 hierarchy that carries `controller`.
#[doc(hidden)]
pub fn hierarchy(controller: &str) -> Option<(Mount, PathBuf)> {
    let m = cgroup_mounts()
        .into_iter()
        .find(|m| m.fstype == "cgroup" && m.superopts.iter().any(|o| o == controller))?;
    let (_, _, path) = proc_cgroups("self")
        .into_iter()
        .find(|(_, ctls, _)| ctls.iter().any(|c| c == controller))?;
    let dir = join_cgroup_path(&m, &path);
    Some((m, dir))
}

/// Controllers needed for `l`: (controller, required). cpuacct is optional (usage only).
fn needed(l: &Limits) -> Vec<(&'static str, bool)> {
    let mut v = Vec::new();
    if l.memory.is_some() || l.swap.is_some() {
        v.push(("memory", true));
    }
    if l.cpus.is_some() || l.cpu_weight.is_some() {
        v.push(("cpu", true));
        v.push(("cpuacct", false));
    }
    if l.pids.is_some() {
        v.push(("pids", true));
    }
    v
}

pub(crate) fn planned(l: &Limits) -> Vec<(String, String)> {
    let mut v = Vec::new();
    if let Some(m) = l.memory {
        v.push(("memory.limit_in_bytes".into(), m.to_string()));
        if let Some(s) = l.swap {
            v.push((
                "memory.memsw.limit_in_bytes".into(),
                (m.saturating_add(s)).to_string(),
            ));
        }
        v.push(("memory.oom_control".into(), "0".into()));
    }
    if let Some(c) = l.cpus {
        v.push(("cpu.cfs_period_us".into(), CPU_PERIOD_US.to_string()));
        v.push(("cpu.cfs_quota_us".into(), cpu_quota_us(c).to_string()));
    }
    if let Some(w) = l.cpu_weight {
        v.push(("cpu.shares".into(), weight_to_shares(w).to_string()));
    }
    if let Some(p) = l.pids {
        v.push(("pids.max".into(), p.to_string()));
    }
    v
}

/// (usable, explanation)
pub(crate) fn probe(l: &Limits) -> (bool, String) {
    let need = needed(l);
    if need.is_empty() {
        return (true, "no limits requested: nothing to create".into());
    }
    let mut notes = Vec::new();
    let mut ok = true;
    for (ctl, required) in need {
        match hierarchy(ctl) {
            None => {
                if required {
                    ok = false;
                    notes.push(format!("{ctl}: hierarchy not mounted"));
                } else {
                    notes.push(format!("{ctl}: not mounted (no CPU usage reporting)"));
                }
            }
            Some((_, dir)) => {
                let w = access(&dir, AccessFlags::W_OK).is_ok();
                if !w && required {
                    ok = false;
                }
                notes.push(format!(
                    "{ctl}: {} {}",
                    dir.display(),
                    if w { "writable" } else { "not writable" }
                ));
            }
        }
    }
    let verdict = if ok { "usable" } else { "unusable" };
    (ok, format!("{verdict} ({})", notes.join(", ")))
}

/// Current v1 cgroup directories of the hierarchies jail may use (for reap_orphans).
pub(crate) fn current_dirs() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = Vec::new();
    for ctl in ["memory", "cpu", "cpuacct", "pids"] {
        if let Some((_, d)) = hierarchy(ctl) {
            if !v.contains(&d) {
                v.push(d);
            }
        }
    }
    v
}

#[derive(Debug)]
struct Hier {
    controllers: Vec<String>,
    dir: PathBuf,
}

#[derive(Debug)]
pub struct V1 {
    dirs: Vec<Hier>,
}

impl V1 {
    pub(crate) fn paths(&self) -> Vec<PathBuf> {
        self.dirs.iter().map(|h| h.dir.clone()).collect()
    }

    fn dir_for(&self, ctl: &str) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|h| h.controllers.iter().any(|c| c == ctl))
            .map(|h| h.dir.as_path())
    }

    fn need_dir(&self, ctl: &str) -> Result<&Path, CgroupError> {
        self.dir_for(ctl)
            .ok_or_else(|| CgroupError::Unsupported(format!("v1 cgroup has no {ctl} hierarchy")))
    }

    pub(crate) fn create(name: &str, l: &Limits) -> Result<V1, CgroupError> {
        let remedy = (!is_root()).then_some(REMEDY_V1_ROOT);
        let dirname = sandbox_dir_name(name);
        let mut cg = V1 { dirs: Vec::new() };
        for (ctl, required) in needed(l) {
            let Some((m, cur)) = hierarchy(ctl) else {
                if !required {
                    continue;
                }
                let _ = cg.destroy();
                return Err(CgroupError::NotEnforced {
                    limit: ctl.into(),
                    detail: format!("no cgroup v1 hierarchy with the {ctl} controller is mounted"),
                    remedy: None,
                });
            };
            if cg
                .dirs
                .iter()
                .any(|h| h.controllers.iter().any(|c| c == ctl))
            {
                continue; // co-mounted with one we already have (e.g. cpu,cpuacct)
            }
            let dir = cur.join(&dirname);
            if let Err(e) = mkdir(&dir, remedy) {
                let _ = cg.destroy();
                return Err(e);
            }
            cg.dirs.push(Hier {
                controllers: m.superopts.clone(),
                dir,
            });
        }
        if let Err(e) = cg.apply(l) {
            let _ = cg.destroy();
            return Err(e);
        }
        Ok(cg)
    }

    fn apply(&self, l: &Limits) -> Result<(), CgroupError> {
        if let Some(m) = l.memory {
            let d = self.need_dir("memory")?;
            write_verify_mem(d, "memory.limit_in_bytes", "memory", m)?;
            if let Some(s) = l.swap {
                let memsw = d.join("memory.memsw.limit_in_bytes");
                if memsw.exists() {
                    write_verify_mem(
                        d,
                        "memory.memsw.limit_in_bytes",
                        "swap",
                        m.saturating_add(s),
                    )?;
                } else if system_has_swap() {
                    return Err(CgroupError::NotEnforced {
                        limit: "swap".into(),
                        detail: "memory.memsw.limit_in_bytes is missing (swap accounting is off) \
                                 and swap is configured"
                            .into(),
                        remedy: Some("boot with swapaccount=1 or drop the swap limit".into()),
                    });
                } // else: no swap on this system, the memory limit already bounds everything
            }
            // Make the kernel OOM-kill inside the cgroup instead of pausing tasks (the flag is
            // inherited from the parent at mkdir time).
            write_file(&d.join("memory.oom_control"), "0", None)?;
            if read_keyed(&d.join("memory.oom_control"), "oom_kill_disable") != Some(0) {
                return Err(CgroupError::NotEnforced {
                    limit: "memory".into(),
                    detail: "memory.oom_control: oom_kill_disable stayed on".into(),
                    remedy: None,
                });
            }
        }
        if let Some(c) = l.cpus {
            let d = self.need_dir("cpu")?;
            write_verify(d, "cpu.cfs_period_us", "cpus", CPU_PERIOD_US)?;
            write_verify(d, "cpu.cfs_quota_us", "cpus", cpu_quota_us(c))?;
        }
        if let Some(w) = l.cpu_weight {
            let d = self.need_dir("cpu")?;
            write_verify(d, "cpu.shares", "cpu_weight", weight_to_shares(w))?;
        }
        if let Some(p) = l.pids {
            let d = self.need_dir("pids")?;
            write_verify(d, "pids.max", "pids", p)?;
        }
        Ok(())
    }

    pub(crate) fn attach(&mut self, pid: i32) -> Result<(), CgroupError> {
        let remedy = (!is_root()).then_some(REMEDY_V1_ROOT);
        for h in &self.dirs {
            write_file(&h.dir.join("cgroup.procs"), &pid.to_string(), remedy)?;
        }
        Ok(())
    }

    pub(crate) fn memory_events(&self) -> MemEvents {
        let Some(d) = self.dir_for("memory") else {
            return MemEvents::default();
        };
        // memsw is charged first, so with memsw == limit only memory.memsw.failcnt moves.
        let mut max_hit = read_u64(&d.join("memory.failcnt")).unwrap_or(0)
            + read_u64(&d.join("memory.memsw.failcnt")).unwrap_or(0);
        // Some kernels (seen on 6.18) no longer count failcnt for v1; the high-water mark
        // reaching the limit still proves the limit was hit at least once.
        if max_hit == 0 {
            let reached = |usage: &str, limit: &str| match (
                read_u64(&d.join(usage)),
                read_u64(&d.join(limit)),
            ) {
                (Some(u), Some(l)) => u >= l,
                _ => false,
            };
            if reached("memory.max_usage_in_bytes", "memory.limit_in_bytes")
                || reached(
                    "memory.memsw.max_usage_in_bytes",
                    "memory.memsw.limit_in_bytes",
                )
            {
                max_hit = 1;
            }
        }
        MemEvents {
            oom_kill: read_keyed(&d.join("memory.oom_control"), "oom_kill").unwrap_or(0),
            max_hit,
        }
    }

    pub(crate) fn usage(&self) -> Usage {
        Usage {
            memory_current: self
                .dir_for("memory")
                .and_then(|d| read_u64(&d.join("memory.usage_in_bytes"))),
            pids_current: self
                .dir_for("pids")
                .and_then(|d| read_u64(&d.join("pids.current"))),
            cpu_usage_usec: self
                .dir_for("cpuacct")
                .and_then(|d| read_u64(&d.join("cpuacct.usage")))
                .map(|ns| ns / 1000),
        }
    }

    /// SIGKILL everything listed in any of our hierarchies until all are empty. Killed tasks
    /// cannot fork, so each round only has to catch children forked since the last read.
    pub(crate) fn kill_all(&self) -> Result<(), CgroupError> {
        let files: Vec<PathBuf> = self
            .dirs
            .iter()
            .map(|h| h.dir.join("cgroup.procs"))
            .collect();
        kill_loop(&files, "killing the processes of a v1 cgroup")
    }

    pub(crate) fn destroy(self) -> Result<(), CgroupError> {
        let mut first = self.kill_all().err();
        for h in &self.dirs {
            if let Err(e) = rmdir_retry(&h.dir) {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }
}

fn write_verify(dir: &Path, file: &str, limit: &str, v: u64) -> Result<(), CgroupError> {
    let p = dir.join(file);
    write_file(&p, &v.to_string(), None)?;
    let got = read_file(&p)?;
    if got.parse::<u64>().ok() != Some(v) {
        return Err(CgroupError::NotEnforced {
            limit: limit.into(),
            detail: format!("wrote {v} to {}, kernel reports {got}", p.display()),
            remedy: None,
        });
    }
    Ok(())
}

fn write_verify_mem(dir: &Path, file: &str, limit: &str, v: u64) -> Result<(), CgroupError> {
    let p = dir.join(file);
    write_file(&p, &v.to_string(), None)?;
    let got = read_file(&p)?;
    match got.parse::<u64>() {
        Ok(r) if mem_matches(r, v) => Ok(()),
        _ => Err(CgroupError::NotEnforced {
            limit: limit.into(),
            detail: format!("wrote {v} to {}, kernel reports {got}", p.display()),
            remedy: None,
        }),
    }
}
