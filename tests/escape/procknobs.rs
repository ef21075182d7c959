//! Class 14 (issue 12, finding 1): host-wide kernel knobs under `/proc`. Files there check the
//! caller's uid, not its capabilities, so a sandbox started by root (the host's uid 0 inside)
//! could set `kernel.core_pattern` to `|/a/granted/script` and have the host kernel run it as
//! real root at the next crash. Every file of `/proc` outside the processes' own folders that
//! the same user can open for writing on the host must be refused inside — with the default
//! profile, with a profile that lets COMMAND create user namespaces (a writable procfs), and
//! with the host's `/proc` (no pid namespace).
use super::*;

/// Prints `W path` for every file under /proc (outside /proc/PID, self, thread-self) that
/// opens for writing, then `COUNT n`. Opening writes nothing.
const WALK: &str = r#"
import os, sys
n = 0
for top, dirs, files in os.walk('/proc', followlinks=False):
    if top == '/proc':
        dirs[:] = [d for d in dirs if not d.isdigit() and d not in ('self', 'thread-self')]
        files = [f for f in files if not f.isdigit()]
    for f in files:
        p = os.path.join(top, f)
        try:
            fd = os.open(p, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY)
        except OSError:
            continue
        os.close(fd)
        n += 1
        print('W', p)
print('COUNT', n)
"#;

fn writable(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.strip_prefix("W "))
        .map(str::to_string)
        .collect()
}

fn count_printed(out: &str) -> bool {
    out.lines().any(|l| l.starts_with("COUNT "))
}

fn check(u: &User, extra: &[&str], toml: Option<&str>) {
    assert!(need("python3"));
    let o = host_cmd(u, "python3").args(["-c", WALK]).output().unwrap();
    let outside_w = writable(&text(&o));
    assert!(
        count_printed(&text(&o)),
        "walker failed outside:\n{}",
        text(&o)
    );
    // The proof: outside, this user can open host-wide knobs for writing (root: core_pattern
    // and hundreds more; anyone: the pressure-stall triggers).
    assert!(
        !outside_w.is_empty(),
        "proof failed: no /proc file opens for writing outside as {}",
        u.name
    );
    if u.is_root() {
        assert!(
            outside_w
                .iter()
                .any(|p| p == "/proc/sys/kernel/core_pattern"),
            "proof failed: core_pattern is not writable by root outside"
        );
    }
    let mut j = Jail::new(u);
    let mut args: Vec<String> = vec!["run".into()];
    if let Some(t) = toml {
        j = j.profile("knobs", t);
        args.extend(["--profile".into(), "knobs".into()]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(["--".into(), "python3".into(), "-c".into(), WALK.into()]);
    let r = j.args(args).output();
    assert!(
        count_printed(&r.stdout()),
        "[{}] walker did not finish inside:\n{}\n{}",
        u.name,
        r.stdout(),
        r.stderr()
    );
    let inside_w = writable(&r.stdout());
    assert!(
        inside_w.is_empty(),
        "[{}] ESCAPE: host-wide /proc files open for writing inside ({} of {} outside): {:?}",
        u.name,
        inside_w.len(),
        outside_w.len(),
        &inside_w[..inside_w.len().min(20)]
    );
}

#[test]
fn proc_knobs_unwritable_default_profile() {
    each_user(|u| check(u, &[], None));
}

#[test]
fn proc_knobs_unwritable_with_nested_user_namespaces() {
    // A writable procfs (uid_map of nested namespaces): host-wide entries stay read-only.
    let toml = "include = [\"default\"]\n[namespaces]\nnested = [\"user\"]\n";
    each_user(|u| check(u, &[], Some(toml)));
}

#[test]
fn proc_knobs_unwritable_with_the_hosts_proc() {
    let toml = "include = [\"default\"]\n[namespaces]\npid = false\n";
    each_user(|u| check(u, &[], Some(toml)));
}

#[test]
fn proc_knobs_unwritable_with_host_network() {
    // --net host shows the host's network namespace sysctls (ip_forward …) under /proc/sys/net.
    each_user(|u| check(u, &["--net", "host"], None));
}

#[test]
fn core_pattern_attack_refused_and_own_files_still_writable() {
    each_user(|u| {
        let o = host_cmd(u, "/bin/sh")
            .args(["-c", "exec 3>>/proc/sys/kernel/core_pattern && echo OPENED"])
            .output()
            .unwrap();
        if u.is_root() {
            assert!(text(&o).contains("OPENED"), "proof failed: {}", text(&o));
        }
        let r = sh(
            u,
            &[],
            "exec 3>>/proc/sys/kernel/core_pattern && echo OPENED; echo 1 > /proc/sysrq-trigger && echo SYSRQ; true",
        );
        assert!(
            !r.stdout().contains("OPENED") && !r.stdout().contains("SYSRQ"),
            "[{}] ESCAPE: {}{}",
            u.name,
            r.stdout(),
            r.stderr()
        );
        // A profile that needs its processes' files (nested user namespaces) still writes them.
        let toml = "include = [\"default\"]\n[namespaces]\nnested = [\"user\"]\n";
        let r = Jail::new(u)
            .profile("own", toml)
            .args([
                "run",
                "--profile",
                "own",
                "--",
                "/bin/sh",
                "-c",
                "echo 100 > /proc/self/oom_score_adj && echo OWN-OK",
            ])
            .output();
        assert!(r.stdout().contains("OWN-OK"), "[{}] {}", u.name, r.stderr());
    });
}
