//! Which back end can enforce the limits here, and why the others cannot ([`Detection`]).

use super::*;

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
