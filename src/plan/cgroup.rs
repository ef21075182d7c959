//! The cgroup limits as data: what a profile asks for, which back end can apply it, and what
//! that back end will write. Pure: the probing itself is `sandbox::probe`, reached through
//! [`crate::host::Host::cgroup`] so that tests can hand the compiler any answer.

use serde::Serialize;

/// Resource limits requested by a profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Limits {
    /// Memory limit in bytes (v1 memory.limit_in_bytes, v2 memory.max, systemd MemoryMax).
    pub memory: Option<u64>,
    /// Swap allowed in bytes on top of `memory`. `None` = kernel default (not limited).
    pub swap: Option<u64>,
    /// CPU bandwidth in CPUs (0.5 = half a CPU).
    pub cpus: Option<f64>,
    /// Relative CPU weight 1..=10000 (like cgroup v2 cpu.weight, default 100).
    pub cpu_weight: Option<u64>,
    /// Maximum number of tasks (processes + threads).
    pub pids: Option<u64>,
}

impl Limits {
    pub fn is_empty(&self) -> bool {
        self.memory.is_none()
            && self.swap.is_none()
            && self.cpus.is_none()
            && self.cpu_weight.is_none()
            && self.pids.is_none()
    }

    /// Check values before anything is written.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(m) = self.memory {
            if m < 4096 {
                return Err(format!("memory = {m} bytes is below one page"));
            }
        }
        if self.swap.is_some() && self.memory.is_none() {
            return Err("swap is set but memory is not: swap is a budget on top of memory".into());
        }
        if let Some(c) = self.cpus {
            if !c.is_finite() || !(0.01..=65536.0).contains(&c) {
                return Err(format!("cpus = {c}: must be between 0.01 and 65536"));
            }
        }
        if let Some(w) = self.cpu_weight {
            if !(1..=10000).contains(&w) {
                return Err(format!("cpu_weight = {w}: must be 1..=10000"));
            }
        }
        if let Some(p) = self.pids {
            if p == 0 {
                return Err("pids = 0 would forbid exec".into());
            }
        }
        Ok(())
    }
}

/// CFS period used for `cpus` on v1 and v2 (the kernel default).
pub const CPU_PERIOD_US: u64 = 100_000;

/// Quota in microseconds per [`CPU_PERIOD_US`] for `cpus` (kernel minimum is 1000 us).
pub fn cpu_quota_us(cpus: f64) -> u64 {
    ((cpus * CPU_PERIOD_US as f64).round() as u64).max(1000)
}

/// Map a cgroup v2 weight to v1 cpu.shares the way systemd does (100 <-> 1024, clamped 2..=262144).
pub fn weight_to_shares(weight: u64) -> u64 {
    (weight * 1024 / 100).clamp(2, 262_144)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    V1,
    V2,
    SystemdScope,
}

impl BackendKind {
    /// The name `jail explain`, its JSON plan and `jail doctor` use.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::V1 => "v1",
            BackendKind::V2 => "v2",
            BackendKind::SystemdScope => "systemd-scope",
        }
    }
}

impl std::fmt::Display for BackendKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What the host's probe found: which back end to use and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detection {
    pub chosen: Option<BackendKind>,
    /// Exactly what the chosen back end will write for the limits probed: cgroup files (v1,
    /// v2) or unit properties (systemd); empty when none is chosen.
    pub writes: Vec<(String, String)>,
    /// One line per back end (and per probe) saying why it is or is not usable.
    pub reasons: Vec<String>,
    /// What the user can do when nothing is usable.
    pub remedy: Option<String>,
}

/// The probe answer of a machine where no back end can apply limits: for hosts that must not
/// depend on the machine they run on (the compiler's unit tests).
pub fn no_backend(_: &Limits) -> Detection {
    Detection {
        chosen: None,
        writes: vec![],
        reasons: vec!["pretend host: no cgroup back end".into()],
        remedy: None,
    }
}
