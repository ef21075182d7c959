//! Resource limits on this kind of host (cgroup v1, no systemd), as root and unprivileged
//! (issue 4). The cgroup v2 and systemd user-scope paths run in a QEMU guest: tests/vm/.
mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// jail's cgroups (named jail-<supervisor pid>-<start>-…) under the v1 hierarchies it uses.
fn jail_cgroups() -> Vec<PathBuf> {
    let mut found = vec![];
    for h in ["memory", "pids", "cpu", "cpu,cpuacct"] {
        let root = Path::new("/sys/fs/cgroup").join(h);
        let mut stack = vec![root];
        while let Some(d) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in rd.flatten() {
                if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    if e.file_name().to_string_lossy().starts_with("jail-") {
                        found.push(e.path());
                    }
                    stack.push(e.path());
                }
            }
        }
    }
    found
}

fn v1_root() -> Option<User> {
    let root = users().into_iter().find(|u| u.is_root())?;
    let v1 = Path::new("/sys/fs/cgroup/pids/cgroup.procs").exists();
    if !v1 {
        eprintln!("SKIPPED: not a cgroup v1 host (the VM test covers v2)");
        return None;
    }
    Some(root)
}

#[test]
fn memory_limit_kill_is_reported() {
    let Some(root) = v1_root() else { return };
    assert!(need("/usr/bin/python3"));
    let alloc =
        "b = bytearray(300 << 20)\nfor i in range(0, len(b), 4096): b[i] = 1\nprint('ALLOCATED')";
    // Without the limit the allocation succeeds.
    let free = Jail::new(&root)
        .args(["run", "--", "/usr/bin/python3", "-c", alloc])
        .output();
    free.ok();
    assert!(free.stdout().contains("ALLOCATED"));
    let r = Jail::new(&root)
        .args([
            "run",
            "--memory",
            "64MiB",
            "--",
            "/usr/bin/python3",
            "-c",
            alloc,
        ])
        .output();
    r.expect_code(137);
    assert!(!r.stdout().contains("ALLOCATED"));
    assert!(
        r.stderr().contains("memory limit (64 MiB) was reached"),
        "jail must say why: {}",
        r.stderr()
    );
}

#[test]
fn no_cgroup_left_after_200_launches() {
    let Some(root) = v1_root() else { return };
    let before = jail_cgroups().len();
    for i in 0..200 {
        // Each run leaves a background process behind for jail to kill.
        let r = sh(
            &root,
            &["--pids", "64", "--memory", "128MiB"],
            "sleep 60 & exit 0",
        );
        assert_eq!(r.code(), 0, "launch {i}: {}", r.stderr());
    }
    let left: Vec<PathBuf> = jail_cgroups();
    assert!(left.len() <= before, "cgroups left behind: {left:?}");
}

#[test]
fn a_sigkilled_jail_leaves_nothing_once_the_next_run_starts() {
    let Some(root) = v1_root() else { return };
    let marker = format!("7.{}31", std::process::id());
    let mut child = Jail::new(&root)
        .args(["run", "--pids", "64", "--", "/bin/sleep", &marker])
        .spawn();
    let supervisor = child.id();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mine = |c: &PathBuf| {
        c.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(&format!("jail-{supervisor}-"))
    };
    while !jail_cgroups().iter().any(mine) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        jail_cgroups().iter().any(mine),
        "the run never got its cgroup"
    );
    child.kill().unwrap(); // SIGKILL: jail cannot clean up
    child.wait().unwrap();
    // The sandbox dies with jail at once (parent-death signal)…
    let deadline = Instant::now() + Duration::from_secs(5);
    let alive = || {
        std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
            std::fs::read(e.path().join("cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(&marker))
                .unwrap_or(false)
        })
    };
    while alive() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!alive(), "the sandbox outlived jail's SIGKILL");
    // …and the next run with limits removes the cgroup the killed one could not.
    sh(&root, &["--pids", "64"], "true").ok();
    assert!(
        !jail_cgroups().iter().any(mine),
        "the killed run's cgroup was not reaped: {:?}",
        jail_cgroups()
    );
}

#[test]
fn unprivileged_without_cgroups_refuses_or_holds_pids_by_rlimit() {
    let Some(u) = unprivileged().or_else(|| users().into_iter().find(|u| !u.is_root())) else {
        eprintln!("SKIPPED: no unprivileged user");
        return;
    };
    if Path::new("/run/systemd/system").exists() {
        eprintln!("SKIPPED: a systemd host gives users cgroup limits (the VM test covers it)");
        return;
    }
    // Required (the default): refused with the reason and the remedy, and COMMAND never runs.
    let r = sh(&u, &["--pids", "20"], "echo RAN");
    r.expect_code(125);
    assert!(!r.stdout().contains("RAN"));
    let e = r.stderr();
    assert!(e.starts_with("jail: error: cannot enforce [limits]"), "{e}");
    assert!(e.contains("remedy:") && e.contains("best-effort"), "{e}");
    // Best-effort: runs, warns, and the pids limit still holds through RLIMIT_NPROC.
    let r = Jail::new(&u)
        .profile(
            "be",
            "include = [\"default\"]\n[limits]\npids = 20\nenforce = \"best-effort\"\n",
        )
        .args([
            "run",
            "--profile",
            "be",
            "--",
            "/bin/sh",
            "-c",
            "grep 'Max processes' /proc/self/limits",
        ])
        .output();
    r.ok();
    assert!(
        r.stderr().contains("warning: [limits] not enforced"),
        "{}",
        r.stderr()
    );
    assert!(
        r.stdout().split_whitespace().any(|w| w == "20"),
        "{}",
        r.stdout()
    );
}

/// Issue 13 (6): an unprivileged user without a systemd session gets no cgroup; with
/// --best-effort the memory limit still holds through RLIMIT_AS, and `explain` says so.
#[test]
fn unprivileged_best_effort_memory_holds_by_rlimit_as() {
    let Some(u) = unprivileged() else {
        eprintln!("SKIPPED: no unprivileged user");
        return;
    };
    if Path::new("/run/systemd/system").exists() {
        eprintln!("SKIPPED: a systemd host gives users cgroup limits (the VM test covers it)");
        return;
    }
    assert!(need("/usr/bin/python3"));
    let alloc = "bytearray(200 << 20); print('ALLOCATED')";
    // Without a limit the allocation works in the same sandbox.
    let free = Jail::new(&u)
        .args(["run", "--", "/usr/bin/python3", "-c", alloc])
        .output();
    free.ok();
    assert!(free.stdout().contains("ALLOCATED"), "{}", free.stderr());
    // --memory alone: the limit is required and cannot be had: 125, naming the remedy.
    let r = Jail::new(&u)
        .args([
            "run",
            "--memory",
            "64MiB",
            "--",
            "/usr/bin/python3",
            "-c",
            alloc,
        ])
        .output();
    r.expect_code(125);
    assert!(!r.stdout().contains("ALLOCATED"));
    assert!(r.stderr().contains("--best-effort"), "{}", r.stderr());
    // --best-effort: runs, and the allocation fails with MemoryError (RLIMIT_AS).
    let r = Jail::new(&u)
        .args([
            "run",
            "--memory",
            "64MiB",
            "--best-effort",
            "--",
            "/usr/bin/python3",
            "-c",
            alloc,
        ])
        .output();
    assert_eq!(r.code(), 1, "{}", r.stderr());
    assert!(!r.stdout().contains("ALLOCATED"));
    assert!(r.stderr().contains("MemoryError"), "{}", r.stderr());
    assert!(r.stderr().contains("RLIMIT_AS"), "{}", r.stderr());
    // explain names the fallback that holds, and what does not hold.
    let e = Jail::new(&u)
        .args([
            "explain",
            "--memory",
            "64MiB",
            "--pids",
            "50",
            "--cpus",
            "1",
            "--best-effort",
            "--",
            "/bin/true",
        ])
        .output();
    e.ok();
    let out = e.stdout();
    assert!(
        out.contains("memory by RLIMIT_AS = 64 MiB per process"),
        "{out}"
    );
    assert!(out.contains("pids by RLIMIT_NPROC = 50"), "{out}");
    assert!(
        out.contains("cpus (RLIMIT_CPU caps total CPU seconds, it is not a rate)"),
        "{out}"
    );
    assert!(
        out.contains("rlimit as: soft 67108864, hard 67108864"),
        "{out}"
    );
    // Without --best-effort, explain's note names the remedy.
    let e = Jail::new(&u)
        .args(["explain", "--memory", "64MiB", "--", "/bin/true"])
        .output();
    e.ok();
    assert!(e.stdout().contains("--best-effort"), "{}", e.stdout());
    assert!(!e.stdout().contains("rlimit as:"), "{}", e.stdout());
}

/// Issue 13 (5): the private /tmp, /dev/shm and tmpfs entries are bounded in bytes and inodes,
/// by default and as configured; writing past the bound gets ENOSPC.
#[test]
fn tmp_and_shm_are_bounded() {
    each_user(|u| {
        // The defaults, as the kernel shows them inside and as explain prints them.
        let r = sh(u, &[], "grep -E ' /(tmp|dev/shm) tmpfs' /proc/self/mounts");
        r.ok();
        let m = r.stdout();
        assert!(
            m.contains("/tmp tmpfs") && m.contains("size=1048576k,nr_inodes=262144"),
            "{m}"
        );
        assert!(
            m.contains("/dev/shm tmpfs") && m.contains("size=524288k,nr_inodes=131072"),
            "{m}"
        );
        let e = Jail::new(u).args(["explain", "--", "/bin/true"]).output();
        e.ok();
        assert!(
            e.stdout()
                .contains("/tmp: empty tmpfs (mode 1777, 1 GiB, 262144 inodes)"),
            "{}",
            e.stdout()
        );
        assert!(
            e.stdout().contains("shm (512 MiB, 131072 inodes)"),
            "{}",
            e.stdout()
        );

        // A small bound: just below it works, just above it is ENOSPC, for each folder.
        let write = |dir: &str, mib: u32| {
            format!(
                "dd if=/dev/zero of={dir}/f bs=1M count={mib} 2>&1 && echo WROTE; rm -f {dir}/f"
            )
        };
        for (dir, opts) in [
            ("/tmp", vec!["--tmp-size", "8MiB"]),
            ("/dev/shm", vec!["--shm-size", "8MiB"]),
        ] {
            let r = sh(u, &opts, &write(dir, 7));
            r.ok();
            assert!(r.stdout().contains("WROTE"), "{dir}: {}", r.stdout());
            let r = sh(u, &opts, &write(dir, 9));
            assert!(!r.stdout().contains("WROTE"), "{dir}: {}", r.stdout());
            assert!(
                r.stdout().contains("No space left on device"),
                "{dir}: {}",
                r.stdout()
            );
        }
        // A tmpfs entry, bounded by the profile's tmpfs_size.
        let r = Jail::new(u)
            .profile(
                "t",
                "include = [\"default\"]\n[filesystem]\ntmpfs = [\"/scratch\"]\ntmpfs_size = \"4MiB\"\n",
            )
            .args(["run", "--profile", "t", "--", "/bin/sh", "-c", &write("/scratch", 5)])
            .output();
        assert!(
            r.stdout().contains("No space left on device"),
            "{}",
            r.stdout()
        );
        // The throwaway upper layer of an overlay lives in the scratch tmpfs, bounded by
        // scratch_size: 3 MiB fit in 4 MiB, 3 more do not.
        let lower = tempdir(u);
        let r = Jail::new(u)
            .profile(
                "o",
                &format!(
                    "include = [\"default\"]\n[filesystem]\nscratch_size = \"4MiB\"\n\
                     [[filesystem.mount]]\ntype = \"overlay\"\ntarget = \"/ovl\"\nlower = [{:?}]\n",
                    lower.display().to_string()
                ),
            )
            .args([
                "run",
                "--profile",
                "o",
                "--",
                "/bin/sh",
                "-c",
                "dd if=/dev/zero of=/ovl/a bs=1M count=3 2>/dev/null && echo FIRST; \
                 dd if=/dev/zero of=/ovl/b bs=1M count=3 2>&1 && echo SECOND",
            ])
            .output();
        assert!(r.stdout().contains("FIRST"), "{}{}", r.stdout(), r.stderr());
        assert!(!r.stdout().contains("SECOND"), "{}", r.stdout());
        assert!(
            r.stdout().contains("No space left on device"),
            "{}",
            r.stdout()
        );
        let _ = std::fs::remove_dir_all(&lower);
        // Inodes: 1MiB gives 1024 inodes; empty files (which the size does not count) run out.
        let r = sh(
            u,
            &["--tmp-size", "1MiB"],
            "i=0; while [ $i -lt 1100 ]; do true > /tmp/e$i || break; i=$((i+1)); done; echo MADE $i",
        );
        let made: u32 = r
            .stdout()
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(9999);
        assert!((900..1024).contains(&made), "{}{}", r.stdout(), r.stderr());
        assert!(
            r.stderr().contains("No space left on device"),
            "{}",
            r.stderr()
        );
    });
}
