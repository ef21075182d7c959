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
        assert!(r.stderr().starts_with("jail: error:"), "{}", r.stderr());
        assert!(
            !ps_json(u).iter().any(|s| s["id"] == "e0e0e0e0"),
            "a record of another uid is listed"
        );
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

/// Runs `j` and returns its result, or panics (after SIGKILL) if it is still running after
/// `secs`: a reader of the state folder must never hang.
fn output_within(mut j: Jail, secs: u64) -> Run {
    use std::io::Read;
    j.cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut c = j.cmd.spawn().expect("start jail");
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(st) = c.try_wait().unwrap() {
            let (mut out, mut err) = (vec![], vec![]);
            c.stdout.take().unwrap().read_to_end(&mut out).unwrap();
            c.stderr.take().unwrap().read_to_end(&mut err).unwrap();
            return Run {
                out: std::process::Output {
                    status: st,
                    stdout: out,
                    stderr: err,
                },
                user: j.user.name.clone(),
            };
        }
        if Instant::now() > deadline {
            let _ = c.kill();
            let _ = c.wait();
            panic!("[{}] jail hung (killed after {secs}s)", j.user.name);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Field 22 of /proc/PID/stat.
fn start_of(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    stat.rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .nth(19)
        .unwrap()
        .parse()
        .unwrap()
}

/// `kill -0 PID` as `u`, outside any sandbox: the proof that `u` could signal it.
fn signalable_by(u: &User, pid: i32) -> bool {
    use std::os::unix::process::CommandExt;
    let mut c = std::process::Command::new("/bin/kill");
    c.args(["-0", &pid.to_string()]);
    if euid() == 0 && u.uid != 0 {
        c.uid(u.uid).gid(u.gid);
    }
    c.status().unwrap().success()
}

/// A state folder planted by another uid (what anybody can do with `/tmp/jail-UID` before its
/// owner first runs jail) is refused by every reader: its records, aimed at a process of the
/// victim, are neither listed nor acted on, and a FIFO in it cannot hang `ps`. `run` still runs
/// and says why it wrote no record.
#[test]
fn state_folder_of_another_uid_is_refused() {
    let Some(user) = unprivileged() else {
        assert!(!strict(), "needs root and JAIL_TEST_USER");
        eprintln!("SKIPPED: needs root and JAIL_TEST_USER");
        return;
    };
    if euid() != 0 {
        assert!(!strict(), "needs root to act as another uid");
        eprintln!("SKIPPED: needs root to act as another uid");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let runtime = tempdir(&user);
    let planted = runtime.join("jail");
    std::fs::create_dir(&planted).unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o755)).unwrap();
    // The victim: a process of the user's, outside any sandbox.
    let marker = unique("plantedvictim");
    let victim = std::process::Command::new("/bin/sh")
        .args(["-c", &format!("exec sleep 300 # {marker}")])
        .uid(user.uid)
        .gid(user.gid)
        .spawn()
        .unwrap();
    let vpid = victim.id() as i32;
    // Ends the victim and removes the folder even when an assertion fails.
    struct Cleanup(std::process::Child, std::path::PathBuf);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
            let _ = std::fs::remove_dir_all(&self.1);
        }
    }
    let mut guard = Cleanup(victim, runtime.clone());
    std::thread::sleep(Duration::from_millis(100));
    let vstart = start_of(vpid);
    let rec = serde_json::json!({
        "id": "deadbeef", "name": "\u{1b}]0;owned\u{7}\u{1b}[2Jevil\nline", "profile": "default",
        "command": ["sleep"], "uid": user.uid,
        "supervisor_pid": vpid, "supervisor_start": vstart,
        "init_pid": vpid, "init_start": vstart, "member_pid": vpid, "member_start": vstart,
        "namespaces": {}, "cgroups": ["/sys/fs/cgroup"], "started": 1,
        "argv": ["jail", "run", "--", "sleep"], "cwd": "/", "policy_hash": 0
    });
    std::fs::write(planted.join("deadbeef.json"), rec.to_string()).unwrap();
    for e in std::fs::read_dir(&planted).unwrap().flatten() {
        std::os::unix::fs::lchown(e.path(), Some(65534), Some(65534)).unwrap();
    }
    std::os::unix::fs::chown(&planted, Some(65534), Some(65534)).unwrap();

    // The proof: the victim is the user's to signal.
    assert!(
        signalable_by(&user, vpid),
        "proof failed: the user cannot signal its own process"
    );

    let runs: Vec<Run> = [
        vec!["stop", "deadbeef", "--timeout", "0"],
        vec!["enter", "deadbeef", "--", "/bin/true"],
    ]
    .iter()
    .map(|cmd| {
        output_within(
            Jail::new(&user).env("XDG_RUNTIME_DIR", &runtime).args(cmd),
            20,
        )
    })
    .collect();
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        guard.0.try_wait().unwrap().is_none() && start_of(vpid) == vstart,
        "ESCAPE: jail stop signalled a process through a planted record: {}",
        runs[0].stdout()
    );
    for r in &runs {
        r.expect_code(125);
    }
    let ps = output_within(
        Jail::new(&user)
            .env("XDG_RUNTIME_DIR", &runtime)
            .args(["ps"]),
        20,
    );
    assert_eq!(ps.code(), 125, "{}", ps.stdout());
    assert!(
        !ps.stdout().contains("deadbeef") && !ps.stdout().contains('\u{1b}'),
        "planted record listed: {}",
        ps.stdout()
    );
    assert!(
        ps.stderr().starts_with("jail: error:") && ps.stderr().contains("XDG_RUNTIME_DIR"),
        "{}",
        ps.stderr()
    );
    // A FIFO in the folder does not hang ps either.
    let fifo = std::ffi::CString::new(planted.join("x.json").to_string_lossy().as_bytes()).unwrap();
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    std::os::unix::fs::lchown(planted.join("x.json"), Some(65534), Some(65534)).unwrap();
    let ps = output_within(
        Jail::new(&user)
            .env("XDG_RUNTIME_DIR", &runtime)
            .args(["ps"]),
        20,
    );
    ps.expect_code(125);
    // run still runs, and says that it wrote no record, and how to fix that.
    let run = output_within(
        Jail::new(&user)
            .env("XDG_RUNTIME_DIR", &runtime)
            .args(["run", "--", "/bin/true"]),
        60,
    );
    run.ok();
    assert!(
        run.stderr().contains("jail ps will not list") && run.stderr().contains("XDG_RUNTIME_DIR"),
        "{}",
        run.stderr()
    );
}

/// In the user's own folder, a record that is a symlink (to a genuine record of a running
/// sandbox) or a FIFO is not read: `ps` neither hangs nor lists it, `stop` refuses it.
#[test]
fn symlinked_and_fifo_records_are_not_read() {
    each_user(|u| {
        let name = unique("linked");
        let c = start(u, &name, &unique("linkedmark"));
        let rec = ps_json(u).into_iter().find(|s| s["name"] == *name).unwrap();
        let id = rec["id"].as_str().unwrap().to_string();
        let dir = if u.is_root() {
            std::path::PathBuf::from("/run/jail")
        } else {
            std::path::PathBuf::from(format!("/tmp/jail-{}", u.uid))
        };
        let mut copy: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(record_file(&dir, &id)).unwrap())
                .unwrap();
        copy["id"] = "c0c0c0c0".into();
        copy["name"] = "symlinked".into();
        let outside = tempdir(u);
        let target = write_file(u, &outside, "rec.json", &copy.to_string());
        let link = dir.join("c0c0c0c0.json");
        let fifo_path = dir.join("d0d0d0d0.json");
        // (Left by an earlier run that failed half-way.)
        let _ = std::fs::remove_file(&link);
        let _ = std::fs::remove_file(&fifo_path);
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let fifo = std::ffi::CString::new(fifo_path.to_string_lossy().as_bytes()).unwrap();
        // SAFETY: a valid C string.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        if euid() == 0 {
            std::os::unix::fs::lchown(&link, Some(u.uid), Some(u.gid)).unwrap();
            std::os::unix::fs::lchown(&fifo_path, Some(u.uid), Some(u.gid)).unwrap();
        }
        let ps = output_within(Jail::new(u).args(["ps", "--format", "json"]), 20);
        ps.ok();
        assert!(ps.stdout().contains(&name), "{}", ps.stdout());
        assert!(
            !ps.stdout().contains("symlinked"),
            "[{}] a symlinked record was followed: {}",
            u.name,
            ps.stdout()
        );
        output_within(Jail::new(u).args(["stop", "c0c0c0c0"]), 20).expect_code(125);
        assert!(
            ps_json(u).iter().any(|s| s["name"] == *name),
            "stop of the symlinked record touched the genuine sandbox"
        );
        let _ = std::fs::remove_file(&link);
        let _ = std::fs::remove_file(&fifo_path);
        let _ = std::fs::remove_dir_all(&outside);
        Jail::new(u).args(["stop", &id]).output().ok();
        wait_code(c);
    });
}

/// A name with control characters is refused in one line; a command line with them is shown
/// escaped by `ps` (the table keeps one line per sandbox, no escape reaches the terminal).
#[test]
fn control_characters_never_reach_the_terminal() {
    each_user(|u| {
        let r = Jail::new(u)
            .args([
                "run",
                "--name",
                "evil\u{1b}[31mRED\n2nd-line",
                "--",
                "/bin/true",
            ])
            .output();
        r.expect_code(125);
        assert!(
            r.stderr().starts_with("jail: error:")
                && r.stderr().lines().count() == 1
                && !r.stderr().contains('\u{1b}'),
            "{}",
            r.stderr()
        );
        Jail::new(u)
            .args(["run", "--name", "a/b", "--", "/bin/true"])
            .output()
            .expect_code(125);

        let name = unique("escaped");
        let marker = format!("{}\u{1b}[31m\u{202e}x\u{7}", unique("escmark"));
        let c = start(u, &name, &marker);
        let ps = Jail::new(u).args(["ps"]).output();
        ps.ok();
        let line = ps
            .stdout()
            .lines()
            .find(|l| l.contains(&name))
            .unwrap_or_else(|| panic!("{} not listed: {}", name, ps.stdout()))
            .to_string();
        assert!(
            !ps.stdout().contains('\u{1b}')
                && !ps.stdout().contains('\u{7}')
                && !ps.stdout().contains('\u{202e}'),
            "[{}] raw control characters in ps: {:?}",
            u.name,
            ps.stdout()
        );
        assert!(line.contains("\\x1b[31m\\u{202e}x\\x07"), "{line:?}");
        Jail::new(u).args(["stop", &name]).output().ok();
        wait_code(c);
    });
}

/// Drives `jail run` on a fresh pty whose COMMAND puts its terminal in raw mode and reads
/// nothing; pastes 64 KiB into it, then SIGTERMs jail. Prints `EXITED`/`HUNG`, whether the
/// harness's terminal got its settings back, and what input was left queued on it.
const PASTE_HARNESS: &str = r#"
import os, sys, pty, fcntl, termios, select, time, signal
m, s = pty.openpty()
before = termios.tcgetattr(s)
pid = os.fork()
if pid == 0:
    os.setsid()
    fcntl.ioctl(s, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(s, fd)
    os.execv(sys.argv[1], sys.argv[1:])
os.set_blocking(m, False)
out = b""
deadline = time.time() + 30
while b"READY" not in out and time.time() < deadline:
    r, _, _ = select.select([m], [], [], 0.1)
    if r:
        try:
            out += os.read(m, 4096)
        except OSError:
            break
if b"READY" not in out:
    print("NOTREADY " + repr(out))
    os.kill(pid, 9)
    sys.exit(0)
paste = (b"x" * 63 + b"\n") * 1024
sent = 0
end = time.time() + 3
while sent < len(paste) and time.time() < end:
    try:
        sent += os.write(m, paste[sent:sent + 4096])
    except BlockingIOError:
        time.sleep(0.01)
    try:
        os.read(m, 65536)
    except OSError:
        pass
print("SENT %d" % sent)
os.kill(pid, signal.SIGTERM)
end = time.time() + 10
code = None
while time.time() < end:
    p, st = os.waitpid(pid, os.WNOHANG)
    if p:
        code = st
        break
    try:
        os.read(m, 65536)
    except OSError:
        pass
    time.sleep(0.02)
if code is None:
    print("HUNG")
    os.kill(pid, 9)
    os.waitpid(pid, 0)
else:
    print("EXITED %d" % code)
after = termios.tcgetattr(s)
print("RESTORED" if after[3] == before[3] and after[0] == before[0] else "RAW %r" % (after,))
os.set_blocking(s, False)
left = b""
try:
    left = os.read(s, 4096)
except OSError:
    pass
print("LEFT %d" % len(left))
"#;

#[test]
fn a_paste_into_a_raw_command_does_not_wedge_jail() {
    use std::os::unix::process::CommandExt;
    each_user(|u| {
        assert!(need("/usr/bin/python3"));
        let cwd = tempdir(u);
        let mut c = std::process::Command::new("/usr/bin/python3");
        c.env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", &u.home)
            .env("LANG", "C.UTF-8")
            .env("JAIL_PROFILE_PATH", cwd.join(".profiles"))
            .current_dir(&cwd)
            .arg("-c")
            .arg(PASTE_HARNESS)
            .arg(jail_bin())
            .args([
                "run",
                "--",
                "/bin/sh",
                "-c",
                "stty raw -echo; echo READY; sleep 20",
            ]);
        if euid() == 0 && u.uid != 0 {
            c.uid(u.uid).gid(u.gid);
        }
        let o = c.output().unwrap();
        let rep = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(
            o.status.success(),
            "harness: {rep}\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            rep.contains("EXITED"),
            "[{}] jail did not end on SIGTERM while input was pending: {rep}",
            u.name
        );
        assert!(
            rep.contains("SENT 65536"),
            "[{}] the paste did not go through: {rep}",
            u.name
        );
        assert!(
            rep.contains("RESTORED"),
            "[{}] terminal left raw: {rep}",
            u.name
        );
        assert!(
            rep.contains("LEFT 0"),
            "[{}] input left for the next program: {rep}",
            u.name
        );
        let _ = std::fs::remove_dir_all(&cwd);
    });
}

/// Without XDG_RUNTIME_DIR (as under `su`) the folder is `/tmp/jail-UID`, which anybody may
/// make first: one that another uid made is refused with the remedy, not used. (Run as uid
/// 65533, which has no account and so no folder of its own that other tests use.)
#[test]
fn tmp_fallback_made_by_another_uid_is_refused() {
    if euid() != 0 {
        assert!(!strict(), "needs root to act as two other uids");
        eprintln!("SKIPPED: needs root to act as two other uids");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let who = User {
        name: "uid65533".into(),
        uid: 65533,
        gid: 65533,
        home: "/".into(),
    };
    let planted = std::path::PathBuf::from("/tmp/jail-65533");
    let _ = std::fs::remove_dir_all(&planted);
    std::fs::create_dir(&planted).unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::chown(&planted, Some(65534), Some(65534)).unwrap();
    let ps = output_within(Jail::new(&who).args(["ps"]), 20);
    let stop = output_within(Jail::new(&who).args(["stop", "deadbeef"]), 20);
    let _ = std::fs::remove_dir_all(&planted);
    ps.expect_code(125);
    assert!(
        ps.stderr()
            .starts_with("jail: error: /tmp/jail-65533 is not a private folder")
            && ps.stderr().contains("XDG_RUNTIME_DIR"),
        "{}",
        ps.stderr()
    );
    stop.expect_code(125);
    // Once it is gone, ps works (and lists nothing).
    let ps = output_within(Jail::new(&who).args(["ps"]), 20);
    let _ = std::fs::remove_dir_all(&planted);
    ps.ok();
    assert_eq!(ps.stdout().lines().count(), 1, "{}", ps.stdout());
}
