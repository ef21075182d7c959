//! `[limits]` (cgroup limits of the whole sandbox) and `[rlimits]` (per process).

use super::cgroup::BackendKind;
use super::{Ctx, Error};
use crate::host::Host;
use crate::profile::{self, Enforce, Located, RlimitResource, Rlimits};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LimitsPlan {
    pub memory: Option<u64>,
    pub swap: Option<u64>,
    pub cpus: Option<f64>,
    pub cpu_weight: Option<u64>,
    pub pids: Option<u64>,
    pub enforce: Enforce,
    /// Whether `memory` falls back to RLIMIT_AS when no cgroup can be had.
    pub memory_fallback: bool,
    /// The cgroup back end that will apply the limits, or None.
    pub backend: Option<BackendKind>,
    /// Why that back end (or none) was chosen.
    pub reasons: Vec<String>,
    /// When none can be had: what the user can do about it (`jail run` refuses with it when
    /// enforce is required).
    pub remedy: Option<String>,
    /// Exactly what will be written: cgroup files (v1, v2) or unit properties (systemd).
    pub writes: Vec<(String, String)>,
    /// When no back end can apply them here and enforce is best-effort: exactly which limits
    /// still hold, through which rlimit, and which do not hold at all.
    pub fallback: Option<String>,
    /// The rlimits that stand in for the limits when no cgroup can be had (best-effort only):
    /// `as` for memory, `nproc` for pids. Already part of the plan's `rlimits` when `fallback`
    /// is set; applied by `jail run` only if the chosen back end then fails to create the cgroup.
    pub fallback_rlimits: Vec<RlimitPlan>,
}

impl Default for LimitsPlan {
    fn default() -> Self {
        LimitsPlan {
            memory: None,
            swap: None,
            cpus: None,
            cpu_weight: None,
            pids: None,
            enforce: Enforce::Required,
            memory_fallback: true,
            backend: None,
            reasons: vec![],
            remedy: None,
            writes: vec![],
            fallback: None,
            fallback_rlimits: vec![],
        }
    }
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
        self.enforce == Enforce::Required
    }
}

/// The smallest memory limit that lets a process start at all.
const MIN_MEMORY: u64 = 1 << 20;

impl LimitsPlan {
    /// The cgroup layer's view of these limits.
    pub fn cgroup_limits(&self) -> super::cgroup::Limits {
        super::cgroup::Limits {
            memory: self.memory,
            swap: self.swap,
            cpus: self.cpus,
            cpu_weight: self.cpu_weight,
            pids: self.pids,
        }
    }
}

/// What rlimits can hold of `plan`'s limits, and a sentence saying exactly what holds and what
/// does not. `user_ns`: whether the sandbox has its own user namespace (where RLIMIT_NPROC counts
/// only the sandbox's processes).
fn rlimit_fallback(plan: &LimitsPlan, user_ns: bool) -> (Vec<RlimitPlan>, String) {
    use crate::util::human_bytes;
    let mut rl = vec![];
    let mut held = vec![];
    let mut not = vec![];
    if plan.memory.is_some() && !plan.memory_fallback {
        not.push("memory (memory_fallback = false: RLIMIT_AS would break this program)");
    }
    if let Some(m) = plan.memory.filter(|_| plan.memory_fallback) {
        rl.push(RlimitPlan {
            resource: RlimitResource::As,
            soft: Some(m),
            hard: Some(m),
        });
        held.push(format!(
            "memory by RLIMIT_AS = {} per process (address space, not resident memory: each process of the sandbox may use that much, and programs that reserve large address ranges may fail)",
            human_bytes(m)
        ));
    }
    if let Some(n) = plan.pids {
        if user_ns {
            rl.push(RlimitPlan {
                resource: RlimitResource::Nproc,
                soft: Some(n),
                hard: Some(n),
            });
            held.push(format!(
                "pids by RLIMIT_NPROC = {n} (counts the sandbox's processes in its user namespace)"
            ));
        } else {
            not.push("pids (without a user namespace RLIMIT_NPROC would count every process of the user)");
        }
    }
    if plan.swap.is_some() {
        not.push("swap");
    }
    if plan.cpus.is_some() {
        not.push("cpus (RLIMIT_CPU caps total CPU seconds, it is not a rate)");
    }
    if plan.cpu_weight.is_some() {
        not.push("cpu_weight");
    }
    let mut text = if held.is_empty() {
        "no rlimit fallback holds".to_string()
    } else {
        format!(
            "rlimit fallback (enforce = \"best-effort\"): {}",
            held.join("; ")
        )
    };
    if !not.is_empty() {
        text.push_str(&format!("; not enforced: {}", not.join(", ")));
    }
    (rl, text)
}

/// Folds the rlimit fallback into `rlimits`: a resource the profile already limits keeps the
/// lower of the two values.
pub fn merge_rlimits(rlimits: &mut Vec<RlimitPlan>, fallback: &[RlimitPlan]) {
    let min = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    };
    for f in fallback {
        match rlimits.iter_mut().find(|r| r.resource == f.resource) {
            Some(r) => {
                r.soft = min(r.soft, f.soft);
                r.hard = min(r.hard, f.hard);
            }
            None => rlimits.push(f.clone()),
        }
    }
}

pub fn compile(cx: &mut Ctx, l: &profile::Limits, user_ns: bool) -> Result<LimitsPlan, Error> {
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
        enforce: l.enforce.as_ref().map(|x| x.v).unwrap_or_default(),
        memory_fallback: l.memory_fallback.as_ref().map(|x| x.v).unwrap_or(true),
        ..Default::default()
    };
    if plan.any() && !plan.required() {
        plan.fallback_rlimits = rlimit_fallback(&plan, user_ns).0;
    }
    if plan.any() {
        let det = (cx.host.cgroup)(&plan.cgroup_limits());
        plan.reasons = det.reasons;
        plan.remedy = det.remedy.clone();
        match det.chosen {
            Some(kind) => {
                plan.backend = Some(kind);
                plan.writes = det.writes;
            }
            None if plan.required() => {
                // Refused at run time with the remedy (explain still shows the plan).
                cx.warnings.push(format!(
                    "no cgroup back end can apply [limits] here; `jail run` will refuse (enforce = \"required\"){}; or run with --best-effort to hold what rlimits can ({})",
                    det.remedy.map(|r| format!(": {r}")).unwrap_or_default(),
                    rlimit_fallback(&plan, user_ns).1
                ));
            }
            None => {
                plan.fallback = Some(rlimit_fallback(&plan, user_ns).1);
            }
        }
    }
    Ok(plan)
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RlimitPlan {
    pub resource: RlimitResource,
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
        let caller_hard = host.hard_rlimits.get(&name).copied().flatten();
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
            resource: name,
            soft,
            hard,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rl(resource: &str, soft: Option<u64>, hard: Option<u64>) -> RlimitPlan {
        RlimitPlan {
            resource: *RlimitResource::ALL
                .iter()
                .find(|r| r.name() == resource)
                .unwrap(),
            soft,
            hard,
        }
    }

    #[test]
    fn fallback_keeps_the_lower_of_profile_and_limit() {
        let mut r = vec![
            rl("nofile", Some(10), Some(20)),
            rl("as", Some(1 << 20), None),
        ];
        merge_rlimits(
            &mut r,
            &[
                rl("as", Some(64 << 20), Some(64 << 20)),
                rl("nproc", Some(5), Some(5)),
            ],
        );
        assert_eq!(
            r,
            [
                rl("nofile", Some(10), Some(20)),
                rl("as", Some(1 << 20), Some(64 << 20)),
                rl("nproc", Some(5), Some(5)),
            ]
        );
    }

    #[test]
    fn memory_fallback_false_keeps_rlimit_as_off() {
        let plan = LimitsPlan {
            memory: Some(64 << 20),
            enforce: Enforce::BestEffort,
            memory_fallback: false,
            ..Default::default()
        };
        let (r, text) = rlimit_fallback(&plan, true);
        assert!(r.is_empty(), "{r:?}");
        assert!(
            text.contains("not enforced: memory (memory_fallback = false"),
            "{text}"
        );
    }

    #[test]
    fn fallback_says_what_holds_and_what_does_not() {
        let plan = LimitsPlan {
            memory: Some(64 << 20),
            pids: Some(7),
            cpus: Some(0.5),
            swap: Some(0),
            enforce: Enforce::BestEffort,
            ..Default::default()
        };
        let (r, text) = rlimit_fallback(&plan, true);
        assert_eq!(
            r,
            [
                rl("as", Some(64 << 20), Some(64 << 20)),
                rl("nproc", Some(7), Some(7))
            ]
        );
        assert!(text.contains("RLIMIT_AS = 64 MiB per process"), "{text}");
        assert!(text.contains("RLIMIT_NPROC = 7"), "{text}");
        assert!(
            text.contains("not enforced: swap, cpus (RLIMIT_CPU"),
            "{text}"
        );
        // Without a user namespace RLIMIT_NPROC would count the user's every process.
        let (r, text) = rlimit_fallback(&plan, false);
        assert_eq!(r, [rl("as", Some(64 << 20), Some(64 << 20))]);
        assert!(text.contains("not enforced: pids"), "{text}");
    }
}
