//! `[limits]` (cgroup limits of the whole sandbox) and `[rlimits]` (per process).

use super::{Ctx, Error};
use crate::host::Host;
use crate::profile::{self, Located, Rlimits};
use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LimitsPlan {
    pub memory: Option<u64>,
    pub swap: Option<u64>,
    pub cpus: Option<f64>,
    pub cpu_weight: Option<u64>,
    pub pids: Option<u64>,
    /// "required" or "best-effort".
    pub enforce: String,
    /// The cgroup back end that will apply the limits ("V1", "V2", "SystemdScope"), or None.
    pub backend: Option<String>,
    /// Why that back end (or none) was chosen.
    pub reasons: Vec<String>,
    /// Exactly what will be written: cgroup files (v1, v2) or unit properties (systemd).
    pub writes: Vec<(String, String)>,
    /// How the limits are held when no back end can apply them and enforce is best-effort.
    pub fallback: Option<String>,
}

impl LimitsPlan {
    pub fn any(&self) -> bool {
        self.memory.is_some()
            || self.swap.is_some()
            || self.cpus.is_some()
            || self.cpu_weight.is_some()
            || self.pids.is_some()
    }
    pub fn required(&self) -> bool {
        self.enforce == "required"
    }
}

/// The smallest memory limit that lets a process start at all.
const MIN_MEMORY: u64 = 1 << 20;

impl LimitsPlan {
    /// The cgroup layer's view of these limits.
    pub fn cgroup_limits(&self) -> crate::sandbox::cgroup::Limits {
        crate::sandbox::cgroup::Limits {
            memory: self.memory,
            swap: self.swap,
            cpus: self.cpus,
            cpu_weight: self.cpu_weight,
            pids: self.pids,
        }
    }
}

pub fn compile(cx: &mut Ctx, l: &profile::Limits) -> Result<LimitsPlan, Error> {
    if let Some(m) = &l.memory {
        if m.v.0 < MIN_MEMORY {
            return Err(Located::at(
                format!(
                    "memory = {} bytes is too small to run anything (at least 1MiB)",
                    m.v.0
                ),
                &m.at,
            ));
        }
    }
    if let Some(c) = &l.cpus {
        if !(c.v.is_finite() && c.v >= 0.01 && c.v <= 4096.0) {
            return Err(Located::at(
                format!(
                    "cpus = {} is impossible: give a CPU count between 0.01 and 4096",
                    if c.v.abs() < 1e6 {
                        c.v.to_string()
                    } else {
                        format!("{:e}", c.v)
                    }
                ),
                &c.at,
            ));
        }
    }
    if let Some(w) = &l.cpu_weight {
        if !(1..=10000).contains(&w.v) {
            return Err(Located::at(
                "cpu_weight is 1 to 10000 (100 is the default share)",
                &w.at,
            ));
        }
    }
    if let Some(p) = &l.pids {
        if p.v == 0 {
            return Err(Located::at(
                "pids = 0 would not even let COMMAND start: give at least 1",
                &p.at,
            ));
        }
    }
    let mut plan = LimitsPlan {
        memory: l.memory.as_ref().map(|x| x.v.0),
        swap: l.swap.as_ref().map(|x| x.v.0),
        cpus: l.cpus.as_ref().map(|x| x.v),
        cpu_weight: l.cpu_weight.as_ref().map(|x| x.v),
        pids: l.pids.as_ref().map(|x| x.v),
        enforce: match l.enforce.as_ref().map(|x| x.v).unwrap_or_default() {
            profile::Enforce::Required => "required".into(),
            profile::Enforce::BestEffort => "best-effort".into(),
        },
        ..Default::default()
    };
    if plan.any() {
        let det = (cx.host.cgroup)(&plan.cgroup_limits());
        plan.reasons = det.reasons;
        match det.chosen {
            Some(kind) => {
                plan.backend = Some(kind.name().into());
                plan.writes = crate::sandbox::cgroup::planned_writes(kind, &plan.cgroup_limits());
            }
            None if plan.required() => {
                // Refused at run time with the remedy (explain still shows the plan).
                cx.warnings.push(format!(
                    "no cgroup back end can apply [limits] here; `jail run` will refuse (enforce = \"required\"){}",
                    det.remedy.map(|r| format!(": {r}")).unwrap_or_default()
                ));
            }
            None => {
                if plan.pids.is_some() {
                    plan.fallback = Some("pids held by RLIMIT_NPROC in the new user namespace (counts only the sandbox's processes); memory and cpu not enforced".into());
                } else {
                    plan.fallback = Some("not enforced (enforce = \"best-effort\")".into());
                }
            }
        }
    }
    Ok(plan)
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RlimitPlan {
    pub resource: String,
    /// None = unlimited.
    pub soft: Option<u64>,
    pub hard: Option<u64>,
}

pub fn compile_rlimits(r: &Rlimits, host: &Host) -> Result<Vec<RlimitPlan>, Error> {
    let mut out = vec![];
    for (name, v) in r.entries() {
        let (soft, hard) = (v.v.soft, v.v.hard);
        let le = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(a), Some(b)) => a <= b,
        };
        if !le(soft, hard) {
            return Err(Located::at(
                format!("rlimits.{name}: the soft limit is above the hard limit"),
                &v.at,
            ));
        }
        let caller_hard = host.hard_rlimits.get(name).copied().flatten();
        if host.uid != 0 && !le(hard, caller_hard) {
            let shown = caller_hard
                .map(|h| h.to_string())
                .unwrap_or_else(|| "unlimited".into());
            return Err(Located::at(
                format!(
                    "rlimits.{name}: above your own hard limit ({shown}); only root can raise it"
                ),
                &v.at,
            ));
        }
        out.push(RlimitPlan {
            resource: name.to_string(),
            soft,
            hard,
        });
    }
    Ok(out)
}
