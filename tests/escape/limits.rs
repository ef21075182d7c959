//! Class 11: a fork bomb, a memory bomb and a CPU hog stay inside their limits; the test checks
//! the host side (the host can still fork; the sandbox's process count stays under the limit).
use super::*;

/// Every process below `root` on the host.
fn descendants(root: u32) -> Vec<u32> {
    let mut parent = std::collections::HashMap::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let ppid: u32 = rest.split(' ').nth(1).unwrap().parse().unwrap();
        parent.insert(pid, ppid);
    }
    parent
        .keys()
        .copied()
        .filter(|&p| {
            let mut q = p;
            // Bounded: pids recycled while /proc was read can make the parent map a cycle.
            let mut steps = 0;
            while let Some(&pp) = parent.get(&q) {
                steps += 1;
                if steps > 64 {
                    break;
                }
                if pp == root {
                    return true;
                }
                if pp <= 1 {
                    break;
                }
                q = pp;
            }
            false
        })
        .collect()
}

/// A bomb that keeps going when a fork is refused (dash gives up at the first refused fork,
/// which ends the sandbox and would hide whether the limit held).
fn bomb_script(tag: &str) -> String {
    format!(
        "import os, time\nfor i in range(300):\n    try:\n        if os.fork() == 0:\n            os.execvp('sleep', ['sleep', '{tag}'])\n    except OSError:\n        time.sleep(0.01)\ntime.sleep(30)\n"
    )
}

/// Processes on the host running `sleep TAG` (the bomb's children, wherever they hang).
fn count_tag(tag: &str) -> usize {
    let want = format!("sleep\0{tag}\0");
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read(e.path().join("cmdline"))
                .map(|c| c == want.as_bytes())
                .unwrap_or(false)
        })
        .count()
}

fn bomb(u: &User, args: &[&str], limit: usize) {
    let mut a: Vec<&str> = vec!["run"];
    a.extend_from_slice(args);
    let tag = format!("8.{}{}", std::process::id(), limit + args.len());
    let script = bomb_script(&tag);
    a.extend_from_slice(&["--", "/usr/bin/python3", "-c", &script]);
    let mut child = Jail::new(u).args(a).spawn();
    std::thread::sleep(std::time::Duration::from_secs(4));
    let n = count_tag(&tag);
    let host_forks = Command::new("/bin/true")
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    assert!(host_forks, "the host could not fork during the bomb");
    assert!(
        n > 5,
        "the bomb did not start ({n} processes): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        n <= limit + 3,
        "[{}] ESCAPE: fork bomb reached {n} processes (limit {limit})",
        u.name
    );
}

#[test]
fn fork_bomb_root_cgroup() {
    if euid() != 0 {
        return eprintln!("SKIPPED: cgroups need root here");
    }
    // Proof: without a limit the same bomb passes 50 processes.
    let tag = format!("8.{}9", std::process::id());
    let mut child = host_cmd(&users()[0], "/usr/bin/python3")
        .args(["-c", &bomb_script(&tag)])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    let n = count_tag(&tag);
    let _ = Command::new("pkill")
        .args(["-KILL", "-P", &child.id().to_string()])
        .status();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        n > 60,
        "proof failed: the bomb made only {n} processes unconfined"
    );
    bomb(&users()[0], &["--pids", "50"], 50);
}

#[test]
fn fork_bomb_unprivileged_best_effort() {
    let Some(u) = unprivileged() else {
        return eprintln!("SKIPPED: no unprivileged user");
    };
    let dir = tempdir(&u);
    let p = profile_file(
        &u,
        &dir,
        "pids",
        "include = [\"base\"]\n[limits]\npids = 50\nenforce = \"best-effort\"\n",
    );
    bomb(&u, &["--chdir", "/", "--profile", &p], 50);
}

const MEM: &str = "import sys\nb = bytearray(256 << 20)\nfor i in range(0, len(b), 4096): b[i] = 1\nprint('ALLOCATED')\n";

#[test]
fn memory_bomb_root_cgroup() {
    if euid() != 0 {
        return eprintln!("SKIPPED: cgroups need root here");
    }
    assert!(need("/usr/bin/python3"));
    let u = &users()[0];
    let o = host_cmd(u, "/usr/bin/python3")
        .args(["-c", MEM])
        .output()
        .unwrap();
    assert!(text(&o).contains("ALLOCATED"), "proof failed: {}", text(&o));
    let r = Jail::new(u)
        .args([
            "run",
            "--memory",
            "64M",
            "--",
            "/usr/bin/python3",
            "-c",
            MEM,
        ])
        .output();
    assert!(
        !r.stdout().contains("ALLOCATED") && r.code() != 0,
        "ESCAPE: 256 MiB allocated under --memory 64M: {}{}",
        r.stdout(),
        r.stderr()
    );
    assert!(Command::new("/bin/true").status().unwrap().success());
}

#[test]
fn cpu_hog_root_cgroup() {
    if euid() != 0 {
        return eprintln!("SKIPPED: cgroups need root here");
    }
    let u = &users()[0];
    let mut child = Jail::new(u)
        .args([
            "run",
            "--cpus",
            "0.5",
            "--",
            "/bin/sh",
            "-c",
            "while :; do :; done",
        ])
        .spawn();
    std::thread::sleep(std::time::Duration::from_secs(2));
    let pids = descendants(child.id());
    // The host side: the hog's cpu cgroup holds a quota of half a CPU.
    let mut quota = None;
    for p in &pids {
        let Ok(cg) = std::fs::read_to_string(format!("/proc/{p}/cgroup")) else {
            continue;
        };
        for line in cg.lines() {
            let f: Vec<&str> = line.splitn(3, ':').collect();
            if f.len() == 3 && f[1].split(',').any(|c| c == "cpu") {
                let d = format!("/sys/fs/cgroup/cpu{}", f[2]);
                let q: i64 = std::fs::read_to_string(format!("{d}/cpu.cfs_quota_us"))
                    .unwrap_or_default()
                    .trim()
                    .parse()
                    .unwrap_or(-1);
                let per: i64 = std::fs::read_to_string(format!("{d}/cpu.cfs_period_us"))
                    .unwrap_or_default()
                    .trim()
                    .parse()
                    .unwrap_or(0);
                if q > 0 && per > 0 {
                    quota = Some(q as f64 / per as f64);
                }
            }
        }
    }
    let responsive = Command::new("/bin/true").status().unwrap().success();
    let _ = child.kill();
    let _ = child.wait();
    assert!(responsive);
    assert!(!pids.is_empty());
    assert!(
        matches!(quota, Some(q) if q <= 0.51),
        "ESCAPE: the CPU hog runs without a 0.5 CPU quota (found {quota:?})"
    );
}
