//! Running sandboxes: `--name`, `ps`, `stop`, `enter`, `--json-status-fd` (issue 9).
mod common;
use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn unique(tag: &str) -> String {
    format!(
        "{tag}{}{}",
        std::process::id(),
        Instant::now().elapsed().subsec_nanos() % 1000
    )
}

/// Starts `jail run --name NAME -- sleep 300 MARKER` and waits until `jail ps` lists it.
#[allow(clippy::zombie_processes)] // the caller waits for it; a panic ends the test anyway
fn start(u: &User, name: &str, marker: &str) -> Child {
    let child = Jail::new(u)
        .args([
            "run",
            "--name",
            name,
            "--",
            "/bin/sh",
            "-c",
            &format!("exec sleep 300 # {marker}"),
        ])
        .spawn();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if ps_json(u).iter().any(|s| s["name"] == name) {
            return child;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("[{}] sandbox {name} never showed in jail ps", u.name);
}

fn ps_json(u: &User) -> Vec<serde_json::Value> {
    let r = Jail::new(u).args(["ps", "--format", "json"]).output();
    r.ok();
    serde_json::from_str(&r.stdout()).unwrap_or_else(|e| panic!("ps json: {e}\n{}", r.stdout()))
}

/// Host pids whose command line holds `marker`.
fn pids_with(marker: &str) -> Vec<i32> {
    let mut v = vec![];
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() {
            if let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) {
                if String::from_utf8_lossy(&cmd).contains(marker)
                    && pid != std::process::id() as i32
                {
                    v.push(pid);
                }
            }
        }
    }
    v
}

/// The record file of sandbox `id` in `dir` (`ID.PID.START.json`).
fn record_file(dir: &std::path::Path, id: &str) -> std::path::PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with(&format!("{id}.")) && n.ends_with(".json")
        })
        .unwrap_or_else(|| panic!("no record of {id} in {}", dir.display()))
}

fn wait_code(mut c: Child) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    let st = c.wait().unwrap();
    st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0))
}

#[test]
fn ps_lists_two_sandboxes_and_stop_ends_one() {
    each_user(|u| {
        let (a, b) = (unique("alpha"), unique("beta"));
        let (ma, mb) = (unique("markA"), unique("markB"));
        let ca = start(u, &a, &ma);
        let cb = start(u, &b, &mb);
        let list = ps_json(u);
        for n in [&a, &b] {
            let s = list
                .iter()
                .find(|s| s["name"] == **n)
                .unwrap_or_else(|| panic!("{n} missing from ps: {list:?}"));
            assert_eq!(s["profile"], "default");
            assert!(
                s["init_pid"].as_i64().unwrap() > 1 && s["supervisor_pid"].as_i64().unwrap() > 1
            );
        }
        let text = Jail::new(u).args(["ps"]).output();
        assert!(
            text.stdout().contains(&a) && text.stdout().contains(&b),
            "{}",
            text.stdout()
        );
        assert!(
            !pids_with(&ma).is_empty(),
            "the sandbox's sleep should be running"
        );

        let r = Jail::new(u).args(["stop", &a, "--timeout", "5"]).output();
        r.ok();
        // jail's own exit status reports the stop: COMMAND died of SIGTERM.
        assert_eq!(
            wait_code(ca),
            143,
            "[{}] exit status of the stopped run",
            u.name
        );
        assert!(
            pids_with(&ma).is_empty(),
            "[{}] a process of the stopped sandbox survived",
            u.name
        );
        assert!(
            !ps_json(u).iter().any(|s| s["name"] == *a),
            "stopped sandbox still listed"
        );
        assert!(
            !pids_with(&mb).is_empty(),
            "stopping one must not touch the other"
        );

        Jail::new(u).args(["stop", &b]).output().ok();
        wait_code(cb);
        assert!(
            !ps_json(u).iter().any(|s| s["name"] == *b),
            "no record may remain after the sandbox ends"
        );
    });
}

#[test]
fn stop_kills_what_ignores_sigterm() {
    each_user(|u| {
        let name = unique("stubborn");
        let marker = unique("stubbornmark");
        let c = Jail::new(u)
            .args([
                "run",
                "--name",
                &name,
                "--",
                "/bin/sh",
                "-c",
                &format!("trap '' TERM; sleep 300 # {marker} & wait; wait"),
            ])
            .spawn();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ps_json(u).iter().any(|s| s["name"] == *name) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let r = Jail::new(u)
            .args(["stop", &name, "--timeout", "0.5"])
            .output();
        r.ok();
        assert!(r.stdout().contains("killed"), "{}", r.stdout());
        assert_eq!(wait_code(c), 137, "the sandbox ended by SIGKILL");
        assert!(pids_with(&marker).is_empty(), "a process survived SIGKILL");
    });
}

#[test]
fn enter_sees_the_same_sandbox_with_the_same_restrictions() {
    each_user(|u| {
        let name = unique("entered");
        let marker = unique("entermark");
        let c = start(u, &name, &marker);
        // What the sandbox itself sees, for comparison.
        let inside = sh(
            u,
            &[],
            "grep -E '^(Seccomp|CapEff|CapBnd|NoNewPrivs):' /proc/self/status; hostname",
        );
        inside.ok();
        let r = Jail::new(u).args(["enter", &name, "--", "/bin/sh", "-c", "grep -E '^(Seccomp|CapEff|CapBnd|NoNewPrivs):' /proc/self/status; hostname; cat /proc/*/cmdline | tr '\\0' ' '"]).output();
        r.ok();
        let out = r.stdout();
        for line in inside.stdout().lines() {
            assert!(
                out.contains(line),
                "[{}] enter lacks {line:?}:\n{out}",
                u.name
            );
        }
        // Its /proc is the sandbox's: the sandbox's sleep is there, the host's processes are not.
        assert!(
            out.contains(&marker),
            "[{}] the sandbox's process is not visible from enter:\n{out}",
            u.name
        );
        assert!(
            !out.contains("cargo"),
            "[{}] host processes visible from enter",
            u.name
        );
        // Entering never gives a new network: only lo.
        let net = Jail::new(u)
            .args(["enter", &name, "--", "/bin/cat", "/proc/net/dev"])
            .output();
        net.ok();
        assert_eq!(net.stdout().lines().skip(2).count(), 1, "{}", net.stdout());
        Jail::new(u).args(["stop", &name]).output().ok();
        wait_code(c);
    });
}

#[test]
fn forged_and_foreign_records_are_refused() {
    each_user(|u| {
        let name = unique("victim");
        let c = start(u, &name, &unique("victimmark"));
        let rec = ps_json(u).into_iter().find(|s| s["name"] == *name).unwrap();
        let id = rec["id"].as_str().unwrap().to_string();
        let dir = if u.is_root() {
            std::path::PathBuf::from("/run/jail")
        } else {
            std::path::PathBuf::from(format!("/tmp/jail-{}", u.uid))
        };
        let text = std::fs::read_to_string(record_file(&dir, &id)).unwrap();
        let mut forged: serde_json::Value = serde_json::from_str(&text).unwrap();

        // A record pointing at a process of somebody else (pid 1 of the host, with its real
        // start time so that it looks alive) is refused.
        let stat = std::fs::read_to_string("/proc/1/stat").unwrap();
        let start1: u64 = stat
            .rsplit(')')
            .next()
            .unwrap()
            .split_whitespace()
            .nth(19)
            .unwrap()
            .parse()
            .unwrap();
        forged["id"] = "f0f0f0f0".into();
        forged["name"] = "forged".into();
        forged["init_pid"] = 1.into();
        forged["init_start"] = start1.into();
        forged["member_pid"] = 1.into();
        forged["member_start"] = start1.into();
        let f = dir.join("f0f0f0f0.json");
        std::fs::write(&f, forged.to_string()).unwrap();
        if euid() == 0 {
            std::os::unix::fs::chown(&f, Some(u.uid), Some(u.gid)).unwrap();
        }
        let r = Jail::new(u)
            .args(["enter", "f0f0f0f0", "--", "/bin/true"])
            .output();
        r.expect_code(125);
        assert!(r.stderr().contains("jail: error:"), "{}", r.stderr());
        let _ = std::fs::remove_file(&f);

        // A record claiming another owner is refused even when its processes are real.
        let mut other: serde_json::Value = serde_json::from_str(&text).unwrap();
        other["id"] = "e0e0e0e0".into();
        other["uid"] = (u.uid + 1).into();
        let f = dir.join("e0e0e0e0.json");
        std::fs::write(&f, other.to_string()).unwrap();
        if euid() == 0 {
            std::os::unix::fs::chown(&f, Some(u.uid), Some(u.gid)).unwrap();
        }
        let r = Jail::new(u)
            .args(["enter", "e0e0e0e0", "--", "/bin/true"])
            .output();
        r.expect_code(125);
        assert!(r.stderr().contains("belongs to uid"), "{}", r.stderr());
        let _ = std::fs::remove_file(&f);

        // The genuine record still works.
        Jail::new(u)
            .args(["enter", &id, "--", "/bin/true"])
            .output()
            .ok();
        Jail::new(u).args(["stop", &id]).output().ok();
        wait_code(c);
    });
}

#[test]
fn another_users_sandbox_is_out_of_reach() {
    let Some(user) = unprivileged() else {
        eprintln!("SKIPPED: needs root and JAIL_TEST_USER");
        return;
    };
    if euid() != 0 {
        eprintln!("SKIPPED: needs root to run as two users");
        return;
    }
    let root = users().into_iter().find(|u| u.is_root()).unwrap();
    let name = unique("rootbox");
    let c = start(&root, &name, &unique("rootboxmark"));
    let rec = ps_json(&root)
        .into_iter()
        .find(|s| s["name"] == *name)
        .unwrap();
    let id = rec["id"].as_str().unwrap().to_string();
    // The user copies root's record into its own state folder: still not enterable.
    let text =
        std::fs::read_to_string(record_file(std::path::Path::new("/run/jail"), &id)).unwrap();
    let dir = std::path::PathBuf::from(format!("/tmp/jail-{}", user.uid));
    let _ = Jail::new(&user).args(["ps"]).output(); // creates the folder
    let f = dir.join(format!("{id}.json"));
    std::fs::write(&f, &text).unwrap();
    std::os::unix::fs::chown(&f, Some(user.uid), Some(user.gid)).unwrap();
    let r = Jail::new(&user)
        .args(["enter", &id, "--", "/bin/true"])
        .output();
    r.expect_code(125);
    let r = Jail::new(&user).args(["stop", &id]).output();
    r.expect_code(125);
    assert!(
        !pids_with(&name).is_empty() || ps_json(&root).iter().any(|s| s["name"] == *name),
        "root's sandbox must survive"
    );
    let _ = std::fs::remove_file(&f);
    Jail::new(&root).args(["stop", &id]).output().ok();
    wait_code(c);
}

#[test]
fn stale_record_after_sigkill_of_jail_is_cleaned() {
    each_user(|u| {
        let name = unique("killed");
        let marker = unique("killedmark");
        let mut c = start(u, &name, &marker);
        c.kill().unwrap(); // SIGKILL to jail itself
        c.wait().unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !pids_with(&marker).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            pids_with(&marker).is_empty(),
            "[{}] the sandbox outlived jail's SIGKILL",
            u.name
        );
        assert!(
            !ps_json(u).iter().any(|s| s["name"] == *name),
            "stale record still listed"
        );
    });
}

#[test]
fn json_status_fd_reports_start_and_exit() {
    each_user(|u| {
        let mut j = Jail::new(u).args([
            "run",
            "--json-status-fd",
            "1",
            "--",
            "/bin/sh",
            "-c",
            "exit 3",
        ]);
        j.cmd.stdout(Stdio::piped());
        let mut child = j.cmd.spawn().unwrap();
        let lines: Vec<serde_json::Value> = BufReader::new(child.stdout.take().unwrap())
            .lines()
            .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
            .collect();
        assert_eq!(child.wait().unwrap().code(), Some(3));
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0]["child-pid"].as_i64().unwrap() > 1);
        assert!(lines[0]["pid-namespace"].as_u64().unwrap() > 0);
        assert_eq!(lines[1]["exit-code"], 3);
    });
}
