//! `jail doctor`: what this kernel and session support, and how to fix what is missing.

use crate::cli::{Format, FormatArg};
use crate::host::Host;
use crate::sandbox::cgroup;
use serde::Serialize;

#[derive(Serialize)]
struct Check {
    name: &'static str,
    ok: bool,
    /// A missing optional feature (jail runs without it, profiles that ask for it are refused):
    /// reported, but does not make `doctor` fail.
    optional: bool,
    detail: String,
    remedy: Option<String>,
}

fn read(p: &str) -> Option<String> {
    std::fs::read_to_string(p)
        .ok()
        .map(|s| s.trim().to_string())
}

pub fn run(a: FormatArg) -> i32 {
    let host = Host::probe();
    let mut checks = vec![];

    // User namespaces: try one for real, in a throwaway child.
    let userns = crate::sandbox::probe::namespaces();
    let apparmor = read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")
        .map(|s| s == "1")
        .unwrap_or(false);
    let max = read("/proc/sys/user/max_user_namespaces").unwrap_or_default();
    let clone_sysctl = read("/proc/sys/kernel/unprivileged_userns_clone");
    checks.push(Check {
        optional: false,
        name: "user namespaces",
        ok: userns.is_ok(),
        detail: match &userns {
            Ok(()) => format!("a user namespace with mount, pid, net, ipc, uts and cgroup namespaces can be created (max_user_namespaces = {max})"),
            Err(e) => format!("creating one fails: {e}"),
        },
        remedy: match (&userns, apparmor, clone_sysctl.as_deref(), max.as_str()) {
            (Ok(()), _, _, _) => None,
            (_, true, _, _) => Some("Ubuntu 24.04+ restricts unprivileged user namespaces with AppArmor: add an AppArmor profile for jail with `userns,` (e.g. /etc/apparmor.d/jail: `abi <abi/4.0>, include <tunables/global> profile jail /usr/bin/jail flags=(unconfined) { userns, }`) and `sudo apparmor_parser -r /etc/apparmor.d/jail`; or `sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0`".into()),
            (_, _, Some("0"), _) => Some("`sudo sysctl kernel.unprivileged_userns_clone=1`".into()),
            (_, _, _, "0") => Some("`sudo sysctl user.max_user_namespaces=15000`".into()),
            _ => None,
        },
    });
    if apparmor {
        checks.push(Check {
            optional: false,
            name: "apparmor userns restriction",
            ok: userns.is_ok(),
            detail: "kernel.apparmor_restrict_unprivileged_userns = 1".into(),
            remedy: None,
        });
    }

    checks.push(Check {
        optional: true,
        name: "landlock",
        ok: host.landlock_abi.is_some(),
        detail: match host.landlock_abi {
            Some(v) => format!("ABI {v}{}", if v < 4 { " (no TCP rules: needs ABI 4)" } else if v < 6 { " (no scopes: needs ABI 6)" } else { "" }),
            None => "not available".into(),
        },
        remedy: host.landlock_abi.is_none().then(|| "boot a kernel ≥ 5.13 with `lsm=landlock,…` on its command line (CONFIG_SECURITY_LANDLOCK=y)".into()),
    });

    let seccomp = read("/proc/sys/kernel/seccomp/actions_avail");
    checks.push(Check {
        optional: false,
        name: "seccomp",
        ok: seccomp.is_some(),
        detail: seccomp
            .map(|s| format!("filter actions: {s}"))
            .unwrap_or_else(|| "not available".into()),
        remedy: None,
    });

    let tiocsti = read("/proc/sys/dev/tty/legacy_tiocsti");
    checks.push(Check {
        optional: false,
        name: "legacy_tiocsti",
        ok: true,
        detail: match tiocsti.as_deref() {
            Some("0") => "0: the kernel refuses TIOCSTI everywhere (jail refuses it too)".into(),
            Some(v) => format!("{v}: TIOCSTI works on this kernel; jail's seccomp filter refuses it inside sandboxes"),
            None => "not present (older kernel); jail's seccomp filter refuses TIOCSTI inside sandboxes".into(),
        },
        remedy: None,
    });

    let all = cgroup::Limits {
        memory: Some(64 << 20),
        swap: None,
        cpus: Some(1.0),
        cpu_weight: None,
        pids: Some(64),
    };
    let det = cgroup::detect(&all);
    checks.push(Check {
        optional: true,
        name: "cgroup limits",
        ok: det.chosen.is_some(),
        detail: format!(
            "{}; {}",
            match det.chosen {
                Some(k) => format!("back end: {}", k.name()),
                None => "no back end can apply memory/cpu/pids limits for this user".into(),
            },
            det.reasons.join("; ")
        ),
        remedy: det.remedy.clone(),
    });
    let orphans = cgroup::reap_orphans();
    if !orphans.is_empty() {
        checks.push(Check {
            optional: false,
            name: "leftover cgroups",
            ok: true,
            detail: format!(
                "removed {} left by jail runs that were killed: {}",
                orphans.len(),
                orphans.join(", ")
            ),
            remedy: None,
        });
    }

    let ok = checks.iter().all(|c| c.ok || c.optional);
    match a.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"ok": ok, "checks": checks}))
                .unwrap_or_default()
        ),
        Format::Text => {
            for c in &checks {
                let mark = match (c.ok, c.optional) {
                    (true, _) => "ok  ",
                    (false, true) => "warn",
                    (false, false) => "FAIL",
                };
                println!("{mark} {:<28} {}", c.name, c.detail);
                if let Some(r) = &c.remedy {
                    println!("     {:<28} fix: {r}", "");
                }
            }
        }
    }
    i32::from(!ok)
}
