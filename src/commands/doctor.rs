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

/// 1 when AppArmor lets only programs whose profile says `userns` create user namespaces
/// (Ubuntu 23.10 and later).
const RESTRICT_SYSCTL: &str = "/proc/sys/kernel/apparmor_restrict_unprivileged_userns";
/// Where the package installs the profile that grants `userns` to [`PACKAGED_JAIL`].
const PROFILE_FILE: &str = "/etc/apparmor.d/jail";
const PACKAGED_JAIL: &str = "/usr/bin/jail";

/// What `jail doctor` reads about AppArmor (`None`: could not be read).
#[derive(Debug)]
struct AppArmor {
    /// The LSM is active (/sys/module/apparmor/parameters/enabled is `Y`).
    enabled: bool,
    /// kernel.apparmor_restrict_unprivileged_userns = 1 (absent on kernels without it).
    restricts_userns: bool,
    /// /etc/apparmor.d/jail exists (the package installed it).
    profile_installed: bool,
    /// The profile `jail` is in the kernel's list (unreadable without securityfs or rights).
    profile_loaded: Option<bool>,
    /// This binary is the one the profile covers.
    is_packaged_jail: bool,
    /// A user namespace could be created just now.
    userns_ok: bool,
}

impl AppArmor {
    fn probe(userns_ok: bool) -> Self {
        let loaded = std::fs::read_to_string("/sys/kernel/security/apparmor/profiles")
            .ok()
            .map(|list| profile_listed(&list));
        AppArmor {
            enabled: read("/sys/module/apparmor/parameters/enabled").is_some_and(|s| s == "Y"),
            restricts_userns: read(RESTRICT_SYSCTL).is_some_and(|s| s == "1"),
            profile_installed: std::path::Path::new(PROFILE_FILE).exists(),
            profile_loaded: loaded,
            is_packaged_jail: std::env::current_exe()
                .is_ok_and(|p| p == std::path::Path::new(PACKAGED_JAIL)),
            userns_ok,
        }
    }
}

/// Whether the kernel's profile list (`NAME (MODE)` per line) holds jail's profile.
fn profile_listed(list: &str) -> bool {
    list.lines()
        .any(|l| l.rsplit_once(" (").is_some_and(|(name, _)| name == "jail"))
}

/// The AppArmor line: whether AppArmor is on, whether it restricts user namespaces, whether
/// jail's profile is installed and loaded, and what to do when jail needs it and lacks it.
fn apparmor_check(a: &AppArmor) -> Check {
    let loaded = match a.profile_loaded {
        Some(true) => "loaded",
        Some(false) => "not loaded",
        None => "loaded or not (cannot read /sys/kernel/security/apparmor/profiles)",
    };
    let profile = if a.profile_installed {
        format!("the jail profile ({PROFILE_FILE}) is installed, {loaded}")
    } else if a.profile_loaded == Some(true) {
        format!("the jail profile is loaded, {PROFILE_FILE} is missing")
    } else {
        format!("no jail profile ({PROFILE_FILE} is missing)")
    };
    let (ok, detail, remedy) = if !a.enabled {
        (
            true,
            "not enabled on this kernel: nothing restricts user namespaces, no profile needed"
                .to_string(),
            None,
        )
    } else if !a.restricts_userns {
        (true, format!("enabled, does not restrict unprivileged user namespaces (no {RESTRICT_SYSCTL} = 1): {profile}, not needed here"), None)
    } else {
        let detail = format!(
            "enabled and restricts unprivileged user namespaces ({RESTRICT_SYSCTL} = 1); {profile}"
        );
        let remedy = if !a.profile_installed && a.profile_loaded != Some(true) {
            Some(format!("install the jail package (it ships {PROFILE_FILE} granting `userns` to {PACKAGED_JAIL}), or write that file: `abi <abi/4.0>, include <tunables/global> profile jail {PACKAGED_JAIL} flags=(unconfined) {{ userns, }}` and run `sudo apparmor_parser -r {PROFILE_FILE}`; or `sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0`"))
        } else if a.profile_loaded != Some(true) {
            Some(format!("load it: `sudo apparmor_parser -r {PROFILE_FILE}`"))
        } else if !a.is_packaged_jail {
            Some(format!("the profile covers {PACKAGED_JAIL} only: run that one (this jail is elsewhere and gets no `userns` from it)"))
        } else {
            None
        };
        // What counts is whether this jail gets its user namespaces.
        (a.userns_ok, detail, if a.userns_ok { None } else { remedy })
    };
    Check {
        optional: false,
        name: "apparmor",
        ok,
        detail,
        remedy,
    }
}

pub fn run(a: FormatArg) -> i32 {
    let host = Host::probe();
    let mut checks = vec![];

    // User namespaces: try one for real, in a throwaway child.
    let userns = crate::sandbox::probe::namespaces();
    let apparmor = read(RESTRICT_SYSCTL).is_some_and(|s| s == "1");
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
            (_, true, _, _) => Some("AppArmor restricts unprivileged user namespaces here: see the apparmor line".into()),
            (_, _, Some("0"), _) => Some("`sudo sysctl kernel.unprivileged_userns_clone=1`".into()),
            (_, _, _, "0") => Some("`sudo sysctl user.max_user_namespaces=15000`".into()),
            _ => None,
        },
    });
    checks.push(apparmor_check(&AppArmor::probe(userns.is_ok())));

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
            let width = width(
                crate::sandbox::pty::winsize(1).map(|w| w.ws_col as usize),
                std::env::var("COLUMNS").ok().as_deref(),
            );
            for c in &checks {
                let mark = match (c.ok, c.optional) {
                    (true, _) => "ok  ",
                    (false, true) => "warn",
                    (false, false) => "FAIL",
                };
                let head = format!("{mark} {:<28} ", c.name);
                for l in wrap(&head, &c.detail, width) {
                    println!("{l}");
                }
                if let Some(r) = &c.remedy {
                    for l in wrap(&format!("     {:<28} fix: ", ""), r, width) {
                        println!("{l}");
                    }
                }
            }
        }
    }
    i32::from(!ok)
}

/// The width doctor's lines wrap at: the terminal's (TIOCGWINSZ on stdout), else `$COLUMNS`,
/// else 80 on a terminal; not a terminal and no `$COLUMNS` (a pipe, a log): no wrapping, so
/// each check stays one line for grep.
fn width(tty_cols: Option<usize>, columns: Option<&str>) -> Option<usize> {
    let columns = columns
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c > 0);
    match tty_cols {
        Some(c) if c > 0 => Some(c),
        Some(_) => columns.or(Some(80)),
        None => columns,
    }
}

/// `text` after `head`, cut at spaces to fit `width` columns; the next lines are indented
/// under the text. A word longer than the room (a path) stays whole; the text keeps at least
/// 20 columns however narrow the terminal.
fn wrap(head: &str, text: &str, width: Option<usize>) -> Vec<String> {
    let indent = head.chars().count();
    let Some(width) = width else {
        return vec![format!("{head}{text}")];
    };
    let room = width.saturating_sub(indent).max(20);
    let mut lines = vec![];
    let mut cur = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > room {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    lines.push(cur);
    lines
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                format!("{head}{l}")
            } else {
                format!("{}{l}", " ".repeat(indent))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_wrap_at_the_terminal_width_else_columns_else_not_at_all() {
        assert_eq!(width(Some(100), Some("50")), Some(100));
        assert_eq!(width(Some(0), Some("50")), Some(50));
        assert_eq!(width(Some(0), None), Some(80));
        assert_eq!(width(None, Some("60")), Some(60));
        assert_eq!(width(None, Some("junk")), None);
        assert_eq!(width(None, None), None);
        let head = format!("ok   {:<28} ", "cgroup");
        let text = "cgroup v2 with memory, pids and cpu delegated to /sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service (systemd)";
        let lines = wrap(&head, text, Some(60));
        assert!(lines.len() > 2, "{lines:?}");
        for l in &lines {
            let long_word = l.split(' ').any(|w| w.chars().count() > 26);
            assert!(l.chars().count() <= 60 || long_word, "{l:?}");
        }
        assert!(lines[1].starts_with(&" ".repeat(34)) && !lines[1][34..].starts_with(' '));
        let words: Vec<&str> = lines.iter().flat_map(|l| l.split_whitespace()).collect();
        let want = format!("{head}{text}");
        assert_eq!(
            words,
            want.split_whitespace().collect::<Vec<_>>(),
            "no word lost"
        );
        assert_eq!(wrap(&head, text, None), [format!("{head}{text}")]);
    }

    fn aa(enabled: bool, restricts: bool, installed: bool, loaded: Option<bool>) -> AppArmor {
        AppArmor {
            enabled,
            restricts_userns: restricts,
            profile_installed: installed,
            profile_loaded: loaded,
            is_packaged_jail: true,
            userns_ok: !restricts || (installed && loaded == Some(true)),
        }
    }

    #[test]
    fn apparmor_disabled_or_not_restricting_is_fine_with_or_without_the_profile() {
        let off = apparmor_check(&aa(false, false, true, None));
        assert!(off.ok && off.remedy.is_none());
        assert!(off.detail.starts_with("not enabled"), "{}", off.detail);
        let on = apparmor_check(&aa(true, false, true, Some(false)));
        assert!(on.ok && on.remedy.is_none());
        assert!(on.detail.contains("does not restrict"), "{}", on.detail);
        assert!(on.detail.contains("installed, not loaded"), "{}", on.detail);
        let none = apparmor_check(&aa(true, false, false, Some(false)));
        assert!(
            none.ok && none.detail.contains("no jail profile"),
            "{}",
            none.detail
        );
    }

    #[test]
    fn a_restricting_apparmor_names_the_missing_step() {
        let missing = apparmor_check(&aa(true, true, false, Some(false)));
        assert!(!missing.ok);
        assert!(missing
            .remedy
            .as_deref()
            .unwrap()
            .starts_with("install the jail package"));
        let unloaded = apparmor_check(&aa(true, true, true, Some(false)));
        assert!(!unloaded.ok);
        assert_eq!(
            unloaded.remedy.as_deref(),
            Some("load it: `sudo apparmor_parser -r /etc/apparmor.d/jail`")
        );
        let good = apparmor_check(&aa(true, true, true, Some(true)));
        assert!(good.ok && good.remedy.is_none());
        assert!(good.detail.contains("installed, loaded"), "{}", good.detail);
        // The profile is loaded, but this jail is a build-tree one: it is not covered.
        let mut elsewhere = aa(true, true, true, Some(true));
        (elsewhere.is_packaged_jail, elsewhere.userns_ok) = (false, false);
        let c = apparmor_check(&elsewhere);
        assert!(
            !c.ok
                && c.remedy
                    .as_deref()
                    .unwrap()
                    .contains("covers /usr/bin/jail only")
        );
    }

    #[test]
    fn the_profile_list_is_matched_by_whole_name() {
        assert!(profile_listed("firefox (enforce)\njail (unconfined)\n"));
        assert!(!profile_listed("jailer (enforce)\nbwrap (unconfined)\n"));
        assert!(!profile_listed(""));
    }
}
