//! Class 8: the host's processes are invisible, not signalable, not ptraceable; /proc/1/root
//! leads nowhere outside.
use super::*;

#[test]
fn host_process_out_of_reach() {
    each_user(|u| {
        let mut victim = host_cmd(u, "/bin/sleep").arg("60").spawn().unwrap();
        let pid = victim.id().to_string();
        let o = outside(u, &["host", &pid]);
        works(&o, "kill0");
        works(&o, "ptrace-attach");
        let r = inside(u, &[], &["host", &pid]);
        let _ = victim.kill();
        let _ = victim.wait();
        for a in ["kill0", "ptrace-attach", "read-environ"] {
            refused(&r, a);
        }
    });
}

#[test]
fn host_processes_invisible() {
    each_user(|u| {
        let mut victim = host_cmd(u, "/bin/sleep").arg("60").spawn().unwrap();
        let pid = victim.id();
        assert!(Path::new(&format!("/proc/{pid}")).exists());
        let r = sh(u, &[], &format!("test -e /proc/{pid} && echo VIS''IBLE; for p in /proc/[0-9]*; do cat $p/cmdline 2>/dev/null | tr '\\0' ' '; echo; done"));
        let _ = victim.kill();
        let _ = victim.wait();
        assert!(
            !r.stdout().contains("VISIBLE") && !r.stdout().contains("sleep 60"),
            "[{}] ESCAPE: host process visible:\n{}",
            u.name,
            r.stdout()
        );
    });
}

#[test]
fn proc_1_root_is_the_sandbox() {
    each_user(|u| {
        // The host's root has /boot (or /home); the sandbox's root has neither.
        let marker = ["/boot", "/home", "/root"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("a host-only folder");
        let o = host_cmd(u, "/bin/sh")
            .arg("-c")
            .arg(format!("test -e /proc/self/root{marker} && echo REACHED"))
            .output()
            .unwrap();
        // Outside, /proc/1/root is only open to root: the proof runs as root.
        if u.is_root() {
            assert!(text(&o).contains("REACHED"), "proof failed: {}", text(&o));
        }
        let r = sh(u, &[], &format!("test -e /proc/1/root{marker} && echo REACHED; test -e /proc/1/root/proc/self && echo SELF; cd /proc/1/root/.. 2>/dev/null && test -e .{marker} && echo UP"));
        assert!(
            !r.stdout().contains("REACHED") && !r.stdout().contains("UP"),
            "[{}] ESCAPE: /proc/1/root leads outside:\n{}",
            u.name,
            r.stdout()
        );
    });
}

/// A sandbox without its own pid namespace shares the host's: when it ends, jail must take
/// down only what the sandbox started, never every process the user (or root) may signal.
#[test]
fn ending_a_sandbox_without_pid_namespace_spares_host_processes() {
    let toml = "include = [\"default\"]\n[namespaces]\npid = false\n";
    each_user(|u| {
        let mut victim = host_cmd(u, "/bin/sleep").arg("60").spawn().unwrap();
        let pid = victim.id();
        // The proof: the sandbox's uid may signal this host process (kill(pid, 0) works).
        let o = outside(u, &["host", &pid.to_string()]);
        works(&o, "kill0");
        let r = Jail::new(u)
            .profile("nopid", toml)
            .args([
                "run",
                "--profile",
                "nopid",
                "--",
                "/bin/sh",
                "-c",
                "sleep 77 & echo started",
            ])
            .output();
        r.ok();
        std::thread::sleep(std::time::Duration::from_millis(200));
        let alive = victim.try_wait().unwrap().is_none();
        let _ = victim.kill();
        let _ = victim.wait();
        assert!(
            alive,
            "[{}] ESCAPE: a host process of the same user died when the sandbox ended",
            u.name
        );
    });
}

/// Without a pid namespace, what COMMAND started — even a daemon that left its session —
/// ends with the sandbox, and still writes nothing afterwards.
#[test]
fn daemons_of_a_sandbox_without_pid_namespace_end_with_it() {
    let toml = "include = [\"default\"]\n[namespaces]\npid = false\n";
    each_user(|u| {
        let j = Jail::new(u).profile("nopid", toml);
        let out = j.cwd.join("late");
        let script = format!(
            "setsid sh -c 'sleep 1; echo survived > {}' & sleep 0.2",
            out.display()
        );
        // The proof: outside, the same daemon outlives the shell that started it.
        let proof = j.cwd.join("late-outside");
        let o = host_cmd(u, "/bin/sh")
            .args(["-c", &script.replace("late", "late-outside")])
            .output()
            .unwrap();
        assert!(o.status.success());
        let r = j
            .args(["run", "--profile", "nopid", "--", "/bin/sh", "-c", &script])
            .output();
        r.ok();
        std::thread::sleep(std::time::Duration::from_millis(1600));
        assert!(
            proof.exists(),
            "proof failed: the daemon did not outlive its shell outside"
        );
        assert!(
            !out.exists(),
            "[{}] a process of the sandbox outlived it and wrote {}",
            u.name,
            out.display()
        );
    });
}

/// Sharing the host's pid namespace, the sandbox cannot change a host process's limits or
/// priority (`prlimit64(pid, RLIMIT_CPU, 1)` would kill it) — calls that Landlock's signal
/// scope does not see. Its own stay changeable.
#[test]
fn host_process_limits_and_priority_out_of_reach_without_pid_namespace() {
    assert!(need("python3"));
    let toml = "include = [\"default\"]\n[namespaces]\npid = false\n";
    each_user(|u| {
        let mut victim = host_cmd(u, "/bin/sleep").arg("60").spawn().unwrap();
        let pid = victim.id();
        // PRIO_USER with who = 0: every process of the uid (set to the nice value they have,
        // so the proof changes nothing; not as root, whose daemons may run reniced).
        let user_nice = if u.is_root() {
            "print('nice-user skipped')".to_string()
        } else {
            "os.setpriority(os.PRIO_USER, 0, os.getpriority(os.PRIO_PROCESS, 0))".to_string()
        };
        let script = format!(
            "import resource, os\n\
             for name, f in [('prlimit', lambda: resource.prlimit({pid}, resource.RLIMIT_NOFILE, (64, 64))),\n\
                             ('nice', lambda: os.setpriority(os.PRIO_PROCESS, {pid}, 19)),\n\
                             ('nice-user', lambda: {user_nice})]:\n\
             \x20   try:\n\
             \x20       f(); print(name, 'ok')\n\
             \x20   except OSError as e:\n\
             \x20       print(name, 'err', e.errno)\n\
             resource.prlimit(0, resource.RLIMIT_NOFILE, (64, 64)); print('self ok')\n"
        );
        // The proof: outside, the same user changes the victim's limits and priority.
        let o = host_cmd(u, "python3")
            .args(["-c", &script])
            .output()
            .unwrap();
        works(&o, "prlimit");
        works(&o, "nice");
        if !u.is_root() {
            // Reaches the kernel: done, or EACCES where one of the user's processes runs at
            // a higher nice value (lowering it needs privilege).
            let v = verdict(&text(&o), "nice-user");
            assert!(
                matches!(v.as_deref(), Some("ok") | Some("err 13")),
                "proof failed: {v:?}"
            );
        }
        let r = Jail::new(u)
            .profile("nopid", toml)
            .args([
                "run",
                "-q",
                "--profile",
                "nopid",
                "--",
                "python3",
                "-c",
                &script,
            ])
            .output();
        let _ = victim.kill();
        let _ = victim.wait();
        refused(&r, "prlimit");
        refused(&r, "nice");
        if !u.is_root() {
            // The filter's EPERM, not the kernel's answer.
            assert_eq!(
                verdict(&r.stdout(), "nice-user").as_deref(),
                Some("err 1"),
                "[{}] ESCAPE: setpriority(PRIO_USER, 0) reached every process of the user",
                u.name
            );
        }
        assert!(
            r.stdout().contains("self ok"),
            "[{}] {}{}",
            u.name,
            r.stdout(),
            r.stderr()
        );
    });
}

/// Whether `pid` is running (not a zombie).
fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rfind(')').map(|i| !s[i + 2..].starts_with(['Z', 'X'])))
        .unwrap_or(false)
}

/// Waits up to 10 s for `file` to hold a pid.
fn pid_in(file: &Path) -> i32 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(p) = std::fs::read_to_string(file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return p;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no pid in {}",
            file.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// `jail stop` of a sandbox without a pid namespace whose COMMAND ignores SIGTERM: killing the
/// first process does not end the rest there, so a daemon that left COMMAND's session would
/// live on under the host's init while `stop` said "killed". Every process of the sandbox must
/// be gone when `stop` says so.
#[test]
fn stop_ends_daemons_of_a_sandbox_without_pid_namespace() {
    let toml = "include = [\"default\"]\n[namespaces]\npid = false\n";
    let script = |pidfile: &Path| {
        format!(
            "trap '' TERM; setsid sh -c 'echo $$ > {}; exec sleep 300' & while :; do sleep 1; done",
            pidfile.display()
        )
    };
    each_user(|u| {
        let j = Jail::new(u).profile("nopid", toml);
        // The proof: outside, the daemon outlives its shell's SIGKILL.
        let outside_pid = j.cwd.join("daemon-outside");
        let mut sh = host_cmd(u, "/bin/sh")
            .args(["-c", &script(&outside_pid)])
            .spawn()
            .unwrap();
        let daemon = pid_in(&outside_pid);
        let _ = sh.kill();
        let _ = sh.wait();
        std::thread::sleep(std::time::Duration::from_millis(100));
        let survived = running(daemon);
        // SAFETY: kill(2) on the daemon this test started (a positive pid).
        unsafe { libc::kill(daemon, libc::SIGKILL) };
        assert!(
            survived,
            "proof failed: the daemon died with its shell outside"
        );

        let name = format!("nopid-stop-{}-{}", u.name, std::process::id());
        let pidfile = j.cwd.join("daemon");
        let mut run = j
            .args(["run", "--name", &name, "--profile", "nopid", "--"])
            .args(["/bin/sh", "-c", &script(&pidfile)])
            .spawn();
        let daemon = pid_in(&pidfile);
        let r = Jail::new(u)
            .args(["stop", &name, "--timeout", "0.5"])
            .output();
        let _ = run.kill();
        let _ = run.wait();
        let alive = running(daemon);
        if alive {
            // SAFETY: as above.
            unsafe { libc::kill(daemon, libc::SIGKILL) };
        }
        assert!(
            !alive,
            "[{}] ESCAPE: the sandbox's daemon {daemon} survived `jail stop` ({})",
            u.name,
            r.stdout()
        );
        assert!(
            r.stdout().contains("killed"),
            "[{}] {}{}",
            u.name,
            r.stdout(),
            r.stderr()
        );
    });
}
