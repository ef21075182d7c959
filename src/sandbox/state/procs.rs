//! Looking at and signalling the processes a record names: start times (so a recycled pid is
//! never taken for the recorded one), owners, namespaces, children, pidfd signals, cgroup kills.

use super::*;

/// SIGKILLs everything in a sandbox's cgroups (`cgroup.kill` where the kernel has it).
pub fn kill_cgroups(cgroups: &[PathBuf]) {
    for d in cgroups {
        if d.join("cgroup.kill").exists() {
            let _ = std::fs::write(d.join("cgroup.kill"), "1");
        } else if let Ok(procs) = std::fs::read_to_string(d.join("cgroup.procs")) {
            let pids = procs.lines().filter_map(|l| l.trim().parse::<i32>().ok());
            // Never 0 or below: kill(2) would read that as a process group.
            for p in pids.filter(|&p| p > 0) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(p),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}

/// Sends `sig` through a pidfd opened while `pid` is verifiably the recorded process, so a
/// recycled pid is never signalled.
pub fn pidfd_kill(pid: i32, start: u64, sig: i32) -> bool {
    // SAFETY: plain syscalls on a descriptor we open and close here.
    unsafe {
        let fd = libc::syscall(libc::SYS_pidfd_open, pid, 0) as i32;
        if fd < 0 {
            return false;
        }
        let ok = alive(pid, start)
            && libc::syscall(libc::SYS_pidfd_send_signal, fd, sig, 0usize, 0u32) == 0;
        libc::close(fd);
        ok
    }
}

/// Field 22 of /proc/PID/stat: the start time in clock ticks since boot.
pub fn start_time(pid: i32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    let rest = &s[s.rfind(')')? + 2..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The real uid of a process.
pub fn proc_uid(pid: i32) -> Option<u32> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// Namespace inodes of a process, for the namespaces that differ from jail's own.
pub fn namespaces_of(pid: i32) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for n in NS_NAMES {
        let theirs = std::fs::metadata(format!("/proc/{pid}/ns/{n}")).map(|m| m.ino());
        let ours = std::fs::metadata(format!("/proc/self/ns/{n}")).map(|m| m.ino());
        if let (Ok(t), Ok(o)) = (theirs, ours) {
            if t != o {
                m.insert(n.to_string(), t);
            }
        }
    }
    m
}

/// The children of a process (readable even when it is not dumpable).
pub fn children(pid: i32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .map(|s| {
            s.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Every live descendant of `pid` with its start time: the children of each of its threads,
/// recursively (zombies are skipped; their children were handed on already).
pub fn descendants(pid: i32) -> Vec<(i32, u64)> {
    let mut out = vec![];
    let mut seen = std::collections::BTreeSet::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) else {
            continue;
        };
        for t in tasks.flatten() {
            let kids = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
            for c in kids
                .split_whitespace()
                .filter_map(|c| c.parse::<i32>().ok())
            {
                if c <= 0 || !seen.insert(c) {
                    continue;
                }
                if let Some(st) = start_time(c).filter(|&st| alive(c, st)) {
                    out.push((c, st));
                    todo.push(c);
                }
            }
        }
    }
    out
}

/// SIGKILLs every descendant of the live process `pid` (started at `start`) until none is
/// left: without a pid namespace, killing the sandbox's first process does not end the rest,
/// which would be handed to the host's init. The first process is the sandbox's subreaper, so
/// orphans of killed processes come back under it and the next round finds them. Returns what
/// is still alive after the last round (empty: nothing of it is left but `pid`).
pub fn kill_descendants(pid: i32, start: u64) -> Vec<i32> {
    for _ in 0..500 {
        if !alive(pid, start) {
            break;
        }
        let d = descendants(pid);
        if d.is_empty() {
            return vec![];
        }
        for (p, st) in d {
            pidfd_kill(p, st, libc::SIGKILL);
        }
        std::thread::sleep(std::time::Duration::from_millis(4));
    }
    descendants(pid).into_iter().map(|(p, _)| p).collect()
}

/// `process alive with that start time`: false for a dead, dying (zombie) or recycled pid.
pub fn alive(pid: i32, start: u64) -> bool {
    if pid <= 0 {
        return false;
    }
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let Some(rest) = s.rfind(')').map(|i| &s[i + 2..]) else {
        return false;
    };
    let mut f = rest.split_whitespace();
    let state = f.next().unwrap_or("X");
    !matches!(state, "Z" | "X" | "x")
        && f.nth(18).and_then(|v| v.parse::<u64>().ok()) == Some(start)
}
