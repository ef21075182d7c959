//! [`compile`]: the spec and the kernel ABI turned into a [`LandlockPlan`] (the compat levels,
//! the handled sets, the path and port rules merged, the `jail explain` lines).

use super::{
    Compat, Dropped, FsRight, LandlockError, LandlockPlan, LandlockSpec, NetRight, NetRule,
    PathClass, PathRule, PlanOutcome, ScopeKind, MAX_KNOWN_ABI,
};
use std::path::Path;

struct Feature {
    name: &'static str,
    needed_abi: u32,
    requested: bool,
    /// Used whenever the ABI has it, requested or not (filesystem rights, the default
    /// scopes), so listed as "not handled" when the kernel lacks it.
    fs: bool,
    effect: &'static str,
}

fn features(spec: &LandlockSpec) -> Vec<Feature> {
    vec![
        Feature {
            name: "landlock",
            fs: true,
            needed_abi: 1,
            requested: true,
            effect: "no filesystem, network or scope restriction at all",
        },
        Feature {
            name: "refer",
            fs: true,
            needed_abi: 2,
            requested: !spec.rw.is_empty(),
            effect: "renaming or hard-linking between directories is always denied (EXDEV), even inside rw paths",
        },
        Feature {
            name: "truncate",
            fs: true,
            needed_abi: 3,
            requested: true,
            effect: "truncation is not restricted: files writable by DAC under ro paths can be truncated",
        },
        Feature {
            name: "tcp",
            fs: false,
            needed_abi: 4,
            requested: spec.connect_tcp.is_some() || spec.bind_tcp.is_some(),
            effect: "connect_tcp/bind_tcp are not enforced: every TCP port can be connected to and bound",
        },
        Feature {
            name: "ioctl_dev",
            fs: true,
            needed_abi: 5,
            requested: !spec.dev.is_empty(),
            effect: "ioctl on device files is not restricted",
        },
        Feature {
            name: "scopes",
            // Listed when missing even if only the defaults want them: the user should
            // know that abstract sockets and signals outside the sandbox stay reachable.
            fs: !spec.default_scope.is_empty(),
            needed_abi: 6,
            requested: !spec.scope.is_empty(),
            effect: "abstract-unix-socket/signal scoping is not enforced: the host's abstract unix sockets (with the host network) and processes (with the host pid namespace) stay reachable",
        },
    ]
}

fn dropped_line(d: &Dropped, have: Option<u32>) -> String {
    let have = match have {
        Some(v) => format!("kernel has ABI {v}"),
        None => "kernel has no Landlock".to_string(),
    };
    let verb = if d.feature == "scopes" {
        "need"
    } else {
        "needs"
    };
    let tag = if d.requested {
        "dropped"
    } else {
        "not handled"
    };
    format!(
        "landlock: {tag}: {} {verb} ABI {} ({have}): {}",
        d.feature, d.needed_abi, d.effect
    )
}

fn join<T: Copy>(items: &[T], name: impl Fn(T) -> &'static str) -> String {
    if items.is_empty() {
        return "(none)".to_string();
    }
    items
        .iter()
        .map(|&i| name(i))
        .collect::<Vec<_>>()
        .join(", ")
}

fn dedup_ports(ports: &[u16]) -> Vec<u16> {
    let mut v = ports.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

fn ports_line(verb: &str, ports: &Option<Vec<u16>>) -> Option<String> {
    let ports = ports.as_ref()?;
    let ports = dedup_ports(ports);
    Some(if ports.is_empty() {
        format!("landlock: tcp {verb}: denied for every port")
    } else {
        let list = ports
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        format!("landlock: tcp {verb}: allowed only to port(s) {list}")
    })
}

/// Compile the spec against the probed kernel ABI (`None`: Landlock unsupported/disabled).
pub fn compile(spec: &LandlockSpec, host_abi: Option<u32>) -> Result<LandlockPlan, LandlockError> {
    for (class, list) in [("ro", &spec.ro), ("rw", &spec.rw), ("dev", &spec.dev)] {
        if let Some(p) = list.iter().find(|p| !p.is_absolute()) {
            return Err(LandlockError::RelativePath {
                class,
                path: p.clone(),
            });
        }
    }
    // An ABI of 0 is what the crate calls ABI::Unsupported.
    let host_abi = host_abi.filter(|&v| v > 0);
    let abi = host_abi.map(|v| v.min(MAX_KNOWN_ABI));
    let have = abi.unwrap_or(0);

    let mut plan = LandlockPlan {
        outcome: PlanOutcome::Full,
        compat: spec.compat,
        host_abi,
        abi,
        handled_fs: Vec::new(),
        handled_net: Vec::new(),
        scopes: Vec::new(),
        path_rules: Vec::new(),
        net_rules: Vec::new(),
        dropped: Vec::new(),
        explain: Vec::new(),
    };

    if !spec.enabled {
        plan.outcome = PlanOutcome::Disabled;
        plan.explain
            .push("landlock: disabled by profile (enabled = false): nothing enforced".into());
        return Ok(plan);
    }

    let feats = features(spec);
    plan.dropped = feats
        .iter()
        // Without Landlock only "landlock" itself is missing (the ABI-specific effects,
        // like the ABI-1 EXDEV quirk, do not apply). Unrequested features are listed only
        // when they would have been handled anyway (filesystem rights).
        .filter(|f| match abi {
            None => f.needed_abi == 1,
            Some(_) => f.needed_abi > have && (f.requested || f.fs),
        })
        .map(|f| Dropped {
            feature: f.name.into(),
            needed_abi: f.needed_abi,
            requested: f.requested,
            effect: f.effect.into(),
        })
        .collect();
    let first_missing = plan.dropped.iter().find(|d| d.requested);

    if spec.compat == Compat::Hard {
        if let Some(d) = first_missing {
            return Err(LandlockError::Unsupported {
                needed_abi: d.needed_abi,
                feature: d.feature.clone(),
                have: abi,
            });
        }
    }

    let abi = match abi {
        None => {
            plan.outcome = PlanOutcome::Unavailable;
            plan.explain.push(format!(
                "landlock: Landlock not available: nothing enforced (compat = \"{}\")",
                spec.compat
            ));
            for d in &plan.dropped {
                plan.explain.push(dropped_line(d, None));
            }
            return Ok(plan);
        }
        Some(a) => a,
    };

    let header = match (host_abi, abi) {
        (Some(h), a) if h != a => {
            format!("landlock: kernel ABI {h}, ruleset built for ABI {a} (newest known to jail)")
        }
        _ => format!("landlock: kernel ABI {abi}"),
    };

    if spec.compat == Compat::Soft {
        if let Some(d) = first_missing {
            plan.outcome = PlanOutcome::SkippedSoft;
            plan.explain.push(header);
            plan.explain.push(format!(
                "landlock: compat = \"soft\" and {} needs ABI {}: whole Landlock step skipped, nothing enforced",
                d.feature, d.needed_abi
            ));
            for d in &plan.dropped {
                plan.explain.push(dropped_line(d, Some(abi)));
            }
            return Ok(plan);
        }
    }

    // Handled sets.
    plan.handled_fs = FsRight::ALL
        .into_iter()
        .filter(|r| r.min_abi() <= abi)
        .collect();
    if abi >= 4 {
        if spec.bind_tcp.is_some() {
            plan.handled_net.push(NetRight::BindTcp);
        }
        if spec.connect_tcp.is_some() {
            plan.handled_net.push(NetRight::ConnectTcp);
        }
    }
    if abi >= 6 {
        let mut s = spec.scope.clone();
        s.extend(spec.default_scope.iter().copied());
        s.sort_unstable();
        s.dedup();
        plan.scopes = s;
    }

    // Path rules, merged per path in first-seen order (indexed by path: linear in the grants).
    let mut index: std::collections::HashMap<&Path, usize> = std::collections::HashMap::new();
    for (class, list) in [
        (PathClass::Ro, &spec.ro),
        (PathClass::Rw, &spec.rw),
        (PathClass::Dev, &spec.dev),
        (PathClass::List, &spec.list),
        (PathClass::Guarded, &spec.guarded),
    ] {
        for path in list {
            crate::plan::work(1);
            let idx = match index.get(path.as_path()) {
                Some(&i) => i,
                None => {
                    index.insert(path, plan.path_rules.len());
                    plan.path_rules.push(PathRule {
                        path: path.clone(),
                        access: Vec::new(),
                        classes: Vec::new(),
                    });
                    plan.path_rules.len() - 1
                }
            };
            let rule = &mut plan.path_rules[idx];
            if !rule.classes.contains(&class) {
                rule.classes.push(class);
            }
            let wanted = class.wanted();
            rule.access = plan
                .handled_fs
                .iter()
                .copied()
                .filter(|r| rule.access.contains(r) || wanted.contains(r))
                .collect();
        }
    }

    // `noexec`: no execute at or beneath these paths.
    if !spec.noexec.is_empty() {
        for rule in &mut plan.path_rules {
            if spec.noexec.iter().any(|n| rule.path.starts_with(n)) {
                rule.access.retain(|r| *r != FsRight::Execute);
            }
        }
    }

    // Net rules, merged per port.
    if abi >= 4 {
        let mut ports: Vec<(u16, NetRight)> = Vec::new();
        if let Some(p) = &spec.bind_tcp {
            ports.extend(dedup_ports(p).into_iter().map(|p| (p, NetRight::BindTcp)));
        }
        if let Some(p) = &spec.connect_tcp {
            ports.extend(
                dedup_ports(p)
                    .into_iter()
                    .map(|p| (p, NetRight::ConnectTcp)),
            );
        }
        ports.sort_unstable();
        for (port, right) in ports {
            match plan.net_rules.last_mut() {
                Some(r) if r.port == port => r.access.push(right),
                _ => plan.net_rules.push(NetRule {
                    port,
                    access: vec![right],
                }),
            }
        }
    }

    plan.outcome = if first_missing.is_some() {
        PlanOutcome::Partial
    } else {
        PlanOutcome::Full
    };

    // Explain.
    let outcome = match plan.outcome {
        PlanOutcome::Full => "everything requested is enforced",
        _ => "enforced PARTIALLY, see dropped features below",
    };
    plan.explain
        .push(format!("{header}, compat = \"{}\": {outcome}", spec.compat));
    plan.explain.push(format!(
        "landlock: filesystem: everything not listed below is denied (handled: {})",
        join(&plan.handled_fs, FsRight::as_str)
    ));
    for r in &plan.path_rules {
        plan.explain.push(format!(
            "landlock: {} {}: {}",
            join(&r.classes, PathClass::as_str),
            r.path.display(),
            join(&r.access, FsRight::as_str)
        ));
    }
    for n in &spec.noexec {
        let above: Vec<String> = plan
            .path_rules
            .iter()
            .filter(|r| {
                n.starts_with(&r.path) && &r.path != n && r.access.contains(&FsRight::Execute)
            })
            .map(|r| r.path.display().to_string())
            .collect();
        plan.explain.push(if above.is_empty() {
            format!("landlock: noexec {}: no execute right at or beneath it", n.display())
        } else {
            format!(
                "landlock: noexec {}: execute still granted by the rule of {} above it (Landlock rights add up down the tree); the noexec mount refuses it",
                n.display(),
                above.join(", ")
            )
        });
    }
    if !plan.path_rules.is_empty() {
        plan.explain.push(
            "landlock: (a rule on a non-directory keeps only execute, read_file, write_file, truncate, ioctl_dev)"
                .into(),
        );
    }
    if abi >= 4 {
        plan.explain
            .extend(ports_line("connect", &spec.connect_tcp));
        plan.explain.extend(ports_line("bind", &spec.bind_tcp));
    }
    if spec.connect_tcp.is_none() {
        plan.explain
            .push("landlock: tcp connect: not restricted".into());
    }
    if spec.bind_tcp.is_none() {
        plan.explain
            .push("landlock: tcp bind: not restricted".into());
    }
    if !plan.scopes.is_empty() {
        plan.explain.push(format!(
            "landlock: scoped to the sandbox: {}",
            join(&plan.scopes, ScopeKind::as_str)
        ));
    }
    for d in &plan.dropped {
        plan.explain.push(dropped_line(d, Some(abi)));
    }
    Ok(plan)
}

/// The lines `jail explain` shows for Landlock.
pub fn explain_lines(plan: &LandlockPlan) -> Vec<String> {
    plan.explain.clone()
}
