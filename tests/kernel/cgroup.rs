//! cgroups (v1, v2 on the hybrid unified mount, the systemd D-Bus client) against the real
//! kernel; most cases need root.
//! Forked children only call async-signal-safe libc functions before `_exit`.

use super::*;
use jail::sandbox::cgroup::*;
use jail::sandbox::dbus::{Connection, Message, Value};
use std::fs;
use std::io;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const MIB: u64 = 1 << 20;
const HELPER_ENV: &str = "JAIL_CGROUP_TEST_HELPER";

/// Fork a child that blocks on a pipe until released, then runs `f` and `_exit`s with its value.
fn fork_blocked(f: impl FnOnce() -> i32) -> (i32, i32) {
    let mut fds = [0i32; 2];
    // SAFETY: fds is a valid 2-element array.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: the child only calls async-signal-safe functions (read, fork, mmap, _exit, ...).
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let mut b = 0u8;
        // SAFETY: valid fd and 1-byte buffer; _exit never returns.
        unsafe {
            libc::close(fds[1]);
            libc::read(fds[0], &mut b as *mut u8 as *mut libc::c_void, 1);
            libc::_exit(f());
        }
    }
    // SAFETY: closing our copy of the read end.
    unsafe { libc::close(fds[0]) };
    (pid, fds[1])
}

fn release(wfd: i32) {
    // SAFETY: wfd is the pipe's write end owned by the test.
    unsafe {
        libc::write(wfd, b"x".as_ptr() as *const libc::c_void, 1);
        libc::close(wfd);
    }
}

/// waitpid; returns the raw status.
fn wait(pid: i32) -> i32 {
    let mut st = 0;
    // SAFETY: plain waitpid on our own child.
    let r = unsafe { libc::waitpid(pid, &mut st, 0) };
    assert_eq!(r, pid, "waitpid");
    st
}

fn sleep_forever() -> ! {
    loop {
        // SAFETY: pause is async-signal-safe.
        unsafe { libc::pause() };
    }
}

/// Fork `n` times; each grandchild sleeps `secs`. Returns successes, or 200 if any failure was
/// not EAGAIN.
fn try_forks(n: i32, secs: u32) -> i32 {
    let mut ok = 0;
    for _ in 0..n {
        // SAFETY: fork in a single-threaded child; the grandchild only sleeps and exits.
        let r = unsafe { libc::fork() };
        if r == 0 {
            // SAFETY: async-signal-safe.
            unsafe {
                libc::sleep(secs);
                libc::_exit(0);
            }
        } else if r > 0 {
            ok += 1;
        } else if io::Error::last_os_error().raw_os_error() != Some(libc::EAGAIN) {
            return 200;
        }
    }
    ok
}

fn exit_code(st: i32) -> Option<i32> {
    libc::WIFEXITED(st).then(|| libc::WEXITSTATUS(st))
}

fn killed_by(st: i32) -> Option<i32> {
    libc::WIFSIGNALED(st).then(|| libc::WTERMSIG(st))
}

fn dead_or_zombie(pid: i32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => matches!(
            s.rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().next()),
            Some("Z" | "X")
        ),
    }
}

// ------------------------------------------------------------------------------ pure functions

fn planned_writes_per_backend() {
    let l = Limits {
        memory: Some(64 * MIB),
        swap: Some(0),
        cpus: Some(0.5),
        cpu_weight: Some(200),
        pids: Some(5),
    };
    let v1 = planned_writes(BackendKind::V1, &l);
    assert!(v1.contains(&("memory.limit_in_bytes".into(), "67108864".into())));
    assert!(v1.contains(&("memory.memsw.limit_in_bytes".into(), "67108864".into())));
    assert!(v1.contains(&("cpu.cfs_quota_us".into(), "50000".into())));
    assert!(v1.contains(&("cpu.shares".into(), "2048".into())));
    assert!(v1.contains(&("pids.max".into(), "5".into())));
    let v2 = planned_writes(BackendKind::V2, &l);
    assert!(v2.contains(&("memory.max".into(), "67108864".into())));
    assert!(v2.contains(&("memory.swap.max".into(), "0".into())));
    assert!(v2.contains(&("cpu.max".into(), "50000 100000".into())));
    assert!(v2.contains(&("cpu.weight".into(), "200".into())));
    assert!(v2.contains(&("memory.oom.group".into(), "1".into())));
    assert!(v2.contains(&(
        "<parent>/cgroup.subtree_control".into(),
        "+cpu +memory +pids".into()
    )));
    let sd = planned_writes(BackendKind::SystemdScope, &l);
    for (k, v) in [
        ("MemoryMax", "67108864"),
        ("MemorySwapMax", "0"),
        ("CPUQuotaPerSecUSec", "500000"),
        ("CPUWeight", "200"),
        ("TasksMax", "5"),
        ("Delegate", "true"),
        ("OOMPolicy", "continue"),
        ("CollectMode", "inactive-or-failed"),
        ("Slice", systemd::slice()),
    ] {
        assert!(sd.contains(&(k.into(), v.into())), "{k} missing in {sd:?}");
    }
    assert_eq!(weight_to_shares(100), 1024);
    assert_eq!(weight_to_shares(1), 10);
    assert_eq!(weight_to_shares(10000), 102400);
    assert!(planned_writes(BackendKind::V1, &Limits::default()).is_empty());
}

fn invalid_limits_rejected() {
    for l in [
        Limits {
            cpus: Some(0.0),
            ..Default::default()
        },
        Limits {
            cpus: Some(f64::NAN),
            ..Default::default()
        },
        Limits {
            cpu_weight: Some(0),
            ..Default::default()
        },
        Limits {
            pids: Some(0),
            ..Default::default()
        },
        Limits {
            swap: Some(1),
            ..Default::default()
        },
    ] {
        assert!(l.validate().is_err(), "{l:?}");
        assert!(Cgroup::create(BackendKind::V1, "x", &l).is_err());
    }
}

fn names_prove_ownership() {
    let me = std::process::id() as i32;
    let st = proc_start_time(me).unwrap();
    let n = sandbox_dir_name("my profile/../x");
    assert!(n.starts_with(&format!("jail-{me}-{st}-")), "{n}");
    assert!(!n.contains('/') && !n.contains(' '));
    assert_eq!(parse_owner(&n), Some((me, st)));
    assert!(owner_alive(me, st));
    assert!(!owner_alive(me, st + 1));
    assert_eq!(parse_owner("jail-12-34-supervisor"), Some((12, 34)));
    assert_eq!(parse_owner("jail-x-34-a"), None);
    assert_eq!(parse_owner("jail-12-34"), None);
    assert_eq!(parse_owner("other-12-34-a"), None);
    assert_eq!(
        systemd::unit_name("web app", 77),
        "app-jail-web_app-77.scope"
    );
}

fn start_transient_unit_body_signature() {
    let l = Limits {
        memory: Some(64 * MIB),
        pids: Some(5),
        ..Default::default()
    };
    let props: Vec<Value> = systemd::properties(&l, "p", 42, true)
        .into_iter()
        .map(|(k, v)| Value::prop(k, v))
        .collect();
    let m = Message::method_call(
        "org.freedesktop.systemd1",
        "/org/freedesktop/systemd1",
        "org.freedesktop.systemd1.Manager",
        "StartTransientUnit",
        vec![
            Value::Str("app-jail-p-42.scope".into()),
            Value::Str("fail".into()),
            Value::Array("(sv)".into(), props),
            Value::Array("(sa(sv))".into(), vec![]),
        ],
    );
    assert_eq!(m.body_signature(), "ssa(sv)a(sa(sv))");
    let d = Message::decode(&m.encode(3)).unwrap();
    assert_eq!(d.body, m.body);
}

// ------------------------------------------------------------------------------ v1 (root)

fn v1_pids_limit_enforced() {
    if !root() {
        return;
    }
    let l = Limits {
        pids: Some(5),
        ..Default::default()
    };
    let mut cg = Cgroup::create(BackendKind::V1, "pids-test", &l).unwrap();
    let dir = cg.paths()[0].clone();
    assert_eq!(read_file(&dir.join("pids.max")).unwrap(), "5");
    let (pid, w) = fork_blocked(|| try_forks(20, 5));
    cg.attach(pid).unwrap();
    assert_eq!(cg.usage().pids_current, Some(1));
    release(w);
    let inside = exit_code(wait(pid)).unwrap();
    eprintln!("forks that succeeded inside pids.max=5: {inside}/20");
    assert!(
        (1..=4).contains(&inside),
        "pids limit not enforced: {inside} forks succeeded"
    );
    cg.destroy().unwrap();
    assert!(!dir.exists());

    // Control: the same child outside the cgroup forks 20 times.
    let (pid, w) = fork_blocked(|| try_forks(20, 1));
    release(w);
    assert_eq!(
        exit_code(wait(pid)),
        Some(20),
        "control: forking 20 must work outside the cgroup"
    );
}

fn v1_memory_limit_oom_kills() {
    if !root() {
        return;
    }
    let l = Limits {
        memory: Some(64 * MIB),
        swap: Some(0),
        ..Default::default()
    };
    let mut cg = Cgroup::create(BackendKind::V1, "mem-test", &l).unwrap();
    let dir = cg.paths()[0].clone();
    assert_eq!(
        read_file(&dir.join("memory.limit_in_bytes")).unwrap(),
        (64 * MIB).to_string()
    );
    if dir.join("memory.memsw.limit_in_bytes").exists() {
        assert_eq!(
            read_file(&dir.join("memory.memsw.limit_in_bytes")).unwrap(),
            (64 * MIB).to_string()
        );
    } else {
        eprintln!(
            "note: no memory.memsw.* files (swap accounting off); swap {}",
            if system_has_swap() { "ON" } else { "absent" }
        );
    }
    let (pid, w) = fork_blocked(|| {
        let len = 300 * MIB as usize;
        // SAFETY: anonymous private mapping, touched only within its length.
        unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if p == libc::MAP_FAILED {
                return 3;
            }
            let p = p as *mut u8;
            let mut i = 0;
            while i < len {
                std::ptr::write_volatile(p.add(i), 1);
                i += 4096;
            }
        }
        0
    });
    cg.attach(pid).unwrap();
    assert_eq!(cg.memory_events(), MemEvents::default());
    release(w);
    let st = wait(pid);
    let ev = cg.memory_events();
    eprintln!("status {st:#x}, events {ev:?}");
    assert_eq!(
        killed_by(st),
        Some(libc::SIGKILL),
        "300 MiB child must be OOM-killed under 64 MiB"
    );
    assert!(
        ev.oom_kill >= 1,
        "memory_events must report the OOM kill: {ev:?}"
    );
    assert!(ev.max_hit >= 1);
    cg.destroy().unwrap();
    assert!(!dir.exists());
}

/// What [`measure_cpu`] saw over its 2 s window.
struct CpuSample {
    /// CPUs used per wall-clock second (cpuacct).
    wall: f64,
    /// CPUs used per elapsed CFS bandwidth period (None without a quota: no periods counted).
    per_period: Option<f64>,
    /// Periods in which the kernel throttled the hog (it wanted more than its quota).
    throttled: u64,
}

/// Busy-loop a child in a cgroup with `l` for a fixed 2 s window.
fn measure_cpu(l: &Limits) -> CpuSample {
    let mut cg = Cgroup::create(BackendKind::V1, "cpu-test", l).unwrap();
    let (pid, w) = fork_blocked(|| loop {
        std::hint::spin_loop()
    });
    cg.attach(pid).unwrap();
    release(w);
    std::thread::sleep(Duration::from_millis(300));
    let stat = cg
        .paths()
        .into_iter()
        .map(|d| d.join("cpu.stat"))
        .find(|f| f.exists())
        .expect("no cpu.stat in the cgroup's cpu hierarchy");
    let u0 = cg
        .usage()
        .cpu_usage_usec
        .expect("cpuacct is not usable on this host: cannot measure CPU");
    let (p0, th0) = (
        read_keyed(&stat, "nr_periods"),
        read_keyed(&stat, "nr_throttled"),
    );
    let t0 = Instant::now();
    std::thread::sleep(Duration::from_secs(2));
    let u1 = cg.usage().cpu_usage_usec.unwrap();
    let (p1, th1) = (
        read_keyed(&stat, "nr_periods"),
        read_keyed(&stat, "nr_throttled"),
    );
    let dt = t0.elapsed().as_micros() as f64;
    cg.destroy().unwrap();
    assert_eq!(killed_by(wait(pid)), Some(libc::SIGKILL));
    let used = (u1 - u0) as f64;
    CpuSample {
        wall: used / dt,
        per_period: match (p0, p1) {
            (Some(a), Some(b)) if b > a => Some(used / ((b - a) * CPU_PERIOD_US) as f64),
            _ => None,
        },
        throttled: th1.unwrap_or(0).saturating_sub(th0.unwrap_or(0)),
    }
}

/// The quota is checked per CFS period (what the kernel grants: 0.5 CPU = 50 ms per 100 ms),
/// not per wall-clock second, so a busy machine that starves the hog cannot fail the test; the
/// kernel must have throttled the hog (it wanted more), and it must never exceed the quota.
fn v1_cpu_quota_enforced() {
    if !root() {
        return;
    }
    let s = measure_cpu(&Limits {
        cpus: Some(0.5),
        ..Default::default()
    });
    eprintln!(
        "cpus=0.5 -> {:?} CPUs per period, {:.3} per second, throttled in {} periods",
        s.per_period, s.wall, s.throttled
    );
    let per = s
        .per_period
        .expect("cpus=0.5 must start CFS bandwidth periods");
    // Never above the quota; below it only as far as a loaded machine starves the hog (seen:
    // 0.29 with a load average of 14 on 2 cores), which the throttling check below tells from
    // a quota that was never applied.
    assert!(
        (0.2..=0.575).contains(&per),
        "cpus=0.5 measured {per} per period"
    );
    assert!(s.wall <= 0.575, "cpus=0.5 used {} CPUs per second", s.wall);
    assert!(s.throttled > 0, "the kernel never throttled the hog");
    // Control: same cgroup set-up without a quota (weight only): no bandwidth periods, no
    // throttling, and the hog gets more than the quota would allow unless the machine is starved.
    let free = measure_cpu(&Limits {
        cpu_weight: Some(100),
        ..Default::default()
    });
    eprintln!("no quota -> {:.3} CPUs per second", free.wall);
    assert!(free.per_period.is_none() && free.throttled == 0);
    assert!(free.wall > 0.0, "the control hog did not run");
}

fn v1_kill_all_kills_grandchildren_and_destroy_removes_dirs() {
    if !root() {
        return;
    }
    let l = Limits {
        memory: Some(256 * MIB),
        pids: Some(100),
        ..Default::default()
    };
    let mut cg = Cgroup::create(BackendKind::V1, "kill-test", &l).unwrap();
    let dirs = cg.paths();
    assert_eq!(dirs.len(), 2);
    let (pid, w) = fork_blocked(|| {
        for _ in 0..3 {
            // SAFETY: children only fork/pause.
            if unsafe { libc::fork() } == 0 {
                // SAFETY: as above.
                if unsafe { libc::fork() } == 0 {
                    sleep_forever()
                }
                sleep_forever()
            }
        }
        sleep_forever()
    });
    cg.attach(pid).unwrap();
    release(w);
    let t = Instant::now();
    while cg.usage().pids_current != Some(7) && t.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(cg.usage().pids_current, Some(7));
    let procs = read_pids(&dirs[0].join("cgroup.procs"));
    assert_eq!(procs.len(), 7);
    cg.kill_all().unwrap();
    for d in &dirs {
        assert!(read_pids(&d.join("cgroup.procs")).is_empty());
    }
    assert_eq!(killed_by(wait(pid)), Some(libc::SIGKILL));
    std::thread::sleep(Duration::from_millis(100));
    for p in procs {
        assert!(dead_or_zombie(p), "pid {p} survived kill_all");
    }
    cg.destroy().unwrap();
    for d in &dirs {
        assert!(!d.exists(), "{} still exists", d.display());
    }
}

fn drop_cleans_up() {
    if !root() {
        return;
    }
    let cg = Cgroup::create(
        BackendKind::V1,
        "drop-test",
        &Limits {
            pids: Some(3),
            ..Default::default()
        },
    )
    .unwrap();
    let d = cg.paths()[0].clone();
    assert!(d.exists());
    drop(cg);
    assert!(!d.exists());
}

fn reap_orphans_only_removes_dead_owners() {
    if !root() {
        return;
    }
    let (_, memcur) = v1::hierarchy("memory").unwrap();
    // A supervisor that is now dead: a child we fork, note, and reap.
    let (dead, w) = fork_blocked(|| 0);
    let dead_start = proc_start_time(dead).unwrap();
    release(w);
    wait(dead);
    let orphan = memcur.join(format!("jail-{dead}-{dead_start}-0-orphan"));
    let me = std::process::id() as i32;
    let alive = memcur.join(format!(
        "jail-{me}-{}-999-alive",
        proc_start_time(me).unwrap()
    ));
    let foreign = memcur.join("not-jail-reap-test");
    for d in [&orphan, &alive, &foreign] {
        fs::create_dir(d).unwrap();
    }
    // A leftover sandbox process inside the orphan must be killed by the reaper.
    let (sleeper, w) = fork_blocked(|| sleep_forever());
    write_file(&orphan.join("cgroup.procs"), &sleeper.to_string(), None).unwrap();
    release(w);
    let removed = reap_orphans();
    eprintln!("reaped: {removed:?}");
    assert!(removed.contains(&orphan.display().to_string()));
    assert!(!orphan.exists());
    assert!(alive.exists(), "cgroup of a live supervisor was reaped");
    assert!(foreign.exists(), "non-jail cgroup was touched");
    assert_eq!(killed_by(wait(sleeper)), Some(libc::SIGKILL));
    fs::remove_dir(&alive).unwrap();
    fs::remove_dir(&foreign).unwrap();
}

// ------------------------------------------------------------------------------ detection

fn detect_as_root_chooses_v1_here() {
    if !root() {
        return;
    }
    let l = Limits {
        memory: Some(64 * MIB),
        cpus: Some(1.0),
        pids: Some(10),
        ..Default::default()
    };
    let d = detect(&l);
    eprintln!("{d:#?}");
    if fs_magic("/sys/fs/cgroup") != Ok(TMPFS_MAGIC) {
        skip("not a v1/hybrid host");
        return;
    }
    assert_eq!(d.chosen, Some(BackendKind::V1));
    assert!(d.reasons.iter().any(|r| r.starts_with("v1: usable")));
    assert!(
        d.reasons.iter().any(|r| r.starts_with("v2: unusable")),
        "unified has no controllers here"
    );
    assert!(d
        .reasons
        .iter()
        .any(|r| r.starts_with("systemd scope: unusable")));
    assert!(d.remedy.is_none());
}

fn detect_unprivileged_has_remedy() {
    if !root() {
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&exe)
        .args([
            "--exact",
            "cgroup::helper_detect_unprivileged",
            "--ignored",
            "--nocapture",
        ])
        .env(HELPER_ENV, "detect")
        .output()
        .expect("running setpriv");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert!(
        out.status.success() && text.contains("HELPER-OK"),
        "helper failed"
    );
}

/// Ignored helper: run by detect_unprivileged_has_remedy under setpriv.
fn helper_detect_unprivileged() {
    if std::env::var(HELPER_ENV).as_deref() != Ok("detect") {
        return;
    }
    assert!(!is_root());
    let l = Limits {
        memory: Some(64 * MIB),
        pids: Some(10),
        ..Default::default()
    };
    let d = detect(&l);
    println!("{d:#?}");
    assert_eq!(d.chosen, None);
    let remedy = d.remedy.unwrap();
    assert!(remedy.contains("need root on cgroup v1"), "{remedy}");
    assert!(d.reasons.iter().any(|r| r.contains("not writable")));
    let e = Cgroup::create(BackendKind::V1, "unpriv", &l).unwrap_err();
    println!("create error: {e}");
    assert_eq!(e.errno(), Some("EACCES"));
    assert!(e.to_string().contains("creating cgroup /sys/fs/cgroup/"));
    assert!(e.to_string().contains("remedy: cgroup limits need root"));
    println!("HELPER-OK");
}

// ------------------------------------------------------------------------------ v2 on the hybrid unified mount

const UNIFIED: &str = "/sys/fs/cgroup/unified";

fn unified_ok() -> bool {
    root()
        && (fs_magic(UNIFIED) == Ok(CGROUP2_SUPER_MAGIC)
            || skip(&format!("needs cgroup2 at {UNIFIED}")))
}

fn v2_cgroup_of(pid: i32) -> String {
    proc_cgroups(&pid.to_string())
        .into_iter()
        .find(|(id, _, _)| id == "0")
        .unwrap()
        .2
}

fn v2_placement_kill_and_rmdir_on_unified() {
    if !unified_ok() {
        return;
    }
    let opts = Options {
        v2_mount: Some(UNIFIED.into()),
    };
    let mut cg =
        Cgroup::create_with(BackendKind::V2, "v2-test", &Limits::default(), &opts).unwrap();
    let dir = cg.paths()[0].clone();
    let rel = format!("/{}", dir.strip_prefix(UNIFIED).unwrap().display());
    assert!(dir.join("cgroup.kill").exists());

    // 1. clone3(CLONE_INTO_CGROUP) with v2_dir_fd.
    let fd = cg.v2_dir_fd().unwrap();
    // SAFETY: the test process forks only children that pause (like fork in a test).
    let c1 = unsafe { jail::sandbox::sys::clone3_into_cgroup(0, fd) }.unwrap_or(-1);
    if c1 == 0 {
        sleep_forever()
    }
    assert!(c1 > 0, "clone3: {}", io::Error::last_os_error());
    assert_eq!(v2_cgroup_of(c1), rel, "CLONE_INTO_CGROUP placed the child");

    // 2. fork + attach (the pipe protocol).
    let (c2, w) = fork_blocked(|| {
        // SAFETY: child only forks and pauses.
        if unsafe { libc::fork() } == 0 {
            sleep_forever()
        }
        sleep_forever()
    });
    assert_ne!(v2_cgroup_of(c2), rel);
    cg.attach(c2).unwrap();
    assert_eq!(v2_cgroup_of(c2), rel);
    release(w);
    let t = Instant::now();
    while read_pids(&dir.join("cgroup.procs")).len() < 3 && t.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let procs = read_pids(&dir.join("cgroup.procs"));
    assert_eq!(procs.len(), 3, "{procs:?}");
    assert_eq!(read_keyed(&dir.join("cgroup.events"), "populated"), Some(1));

    // 3. cgroup.kill
    cg.kill_all().unwrap();
    assert_eq!(read_keyed(&dir.join("cgroup.events"), "populated"), Some(0));
    assert_eq!(killed_by(wait(c1)), Some(libc::SIGKILL));
    assert_eq!(killed_by(wait(c2)), Some(libc::SIGKILL));
    for p in procs {
        std::thread::sleep(Duration::from_millis(20));
        assert!(dead_or_zombie(p));
    }
    // 4. rmdir
    cg.destroy().unwrap();
    assert!(!dir.exists());
}

fn v2_supervisor_leaf_handling() {
    if !unified_ok() {
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args([
            "--exact",
            "cgroup::helper_v2_leaf",
            "--ignored",
            "--nocapture",
        ])
        .env(HELPER_ENV, "v2leaf")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert!(
        out.status.success() && text.contains("HELPER-OK"),
        "helper failed"
    );
}

/// Ignored helper: run by v2_supervisor_leaf_handling in a separate process.
fn helper_v2_leaf() {
    if std::env::var(HELPER_ENV).as_deref() != Ok("v2leaf") {
        return;
    }
    let me = std::process::id();
    let opts = Options {
        v2_mount: Some(UNIFIED.into()),
    };
    let mount = PathBuf::from(UNIFIED);
    let c = mount.join(format!("jailtest-{me}"));
    let c2 = mount.join(format!("jailtest2-{me}"));
    fs::create_dir(&c).unwrap();
    write_file(&c.join("cgroup.procs"), &me.to_string(), None).unwrap();
    assert_eq!(v2_cgroup_of(me as i32), format!("/jailtest-{me}"));

    // The supervisor is a process in C (not the root): it must move itself into its leaf.
    let (_, cur) = v2::current_dir(&opts).unwrap();
    assert_eq!(cur, c);
    let base = v2::prepare_base(&cur, &mount, &[], true).unwrap();
    assert_eq!(base, c);
    let leaf = c.join(supervisor_leaf_name());
    assert_eq!(
        v2_cgroup_of(me as i32),
        format!("/jailtest-{me}/{}", supervisor_leaf_name())
    );
    assert!(
        read_pids(&c.join("cgroup.procs")).is_empty(),
        "C must hold no process now"
    );
    // Later sandboxes go next to the leaf, not inside it.
    assert_eq!(v2::current_base(&opts).unwrap(), c);
    let cg = Cgroup::create_with(BackendKind::V2, "leafy", &Limits::default(), &opts).unwrap();
    assert_eq!(cg.paths()[0].parent().unwrap(), c);
    // A second prepare is idempotent.
    assert_eq!(v2::prepare_base(&leaf, &mount, &[], true).unwrap(), c);
    cg.destroy().unwrap();

    // Refusal: a foreign process shares C2 with us -> EBUSY + remedy, nobody moved.
    fs::create_dir(&c2).unwrap();
    let (other, w) = fork_blocked(|| sleep_forever());
    write_file(&c2.join("cgroup.procs"), &other.to_string(), None).unwrap();
    write_file(&c2.join("cgroup.procs"), &me.to_string(), None).unwrap();
    let e = v2::prepare_base(&c2, &mount, &[], true).unwrap_err();
    println!("refusal: {e}");
    assert_eq!(e.errno(), Some("EBUSY"));
    assert!(e
        .to_string()
        .contains("systemd-run --user --scope -p Delegate=yes"));
    assert_eq!(v2_cgroup_of(other), format!("/jailtest2-{me}"));
    // SAFETY: kill our own child.
    unsafe { libc::kill(other, libc::SIGKILL) };
    release(w);
    wait(other);

    // Clean up: back to the root, remove everything.
    write_file(&mount.join("cgroup.procs"), &me.to_string(), None).unwrap();
    fs::remove_dir(&leaf).unwrap();
    fs::remove_dir(&c).unwrap();
    fs::remove_dir(&c2).unwrap();
    println!("HELPER-OK");
}

// ------------------------------------------------------------------------------ D-Bus against a real dbus-daemon

struct Daemon(std::process::Child, PathBuf);
impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = fs::remove_file(&self.1);
    }
}

fn dbus_roundtrip_with_real_daemon() {
    let sock = PathBuf::from(format!("/tmp/jail-cgroup-dbus-{}", std::process::id()));
    let _ = fs::remove_file(&sock);
    let child = match Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--nopidfile"])
        .arg(format!("--address=unix:path={}", sock.display()))
        .stdout(std::process::Stdio::null())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            skip(&format!("cannot start dbus-daemon: {e}"));
            return;
        }
    };
    let _d = Daemon(child, sock.clone());
    let t = Instant::now();
    while !sock.exists() && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let addr = format!("unix:path={}", sock.display());
    let mut a = Connection::connect(&addr, Duration::from_secs(5)).unwrap();
    assert!(
        a.unique_name.starts_with(':'),
        "Hello returned {:?}",
        a.unique_name
    );

    let reply = a
        .call(Message::method_call(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "ListNames",
            vec![],
        ))
        .unwrap();
    let Some(Value::Array(_, names)) = reply.body.first() else {
        panic!("ListNames body {:?}", reply.body)
    };
    let names: Vec<&str> = names.iter().filter_map(Value::as_str).collect();
    eprintln!("ListNames: {names:?}");
    assert!(names.contains(&"org.freedesktop.DBus"));
    assert!(names.contains(&a.unique_name.as_str()));

    // Error replies are reported with their name.
    let e = a
        .call(Message::method_call(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "NoSuchMethodHere",
            vec![],
        ))
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("org.freedesktop.DBus.Error.UnknownMethod"),
        "{e}"
    );

    // Signals: A matches JobRemoved, B emits one shaped like systemd's (u o s s).
    a.add_match("type='signal',interface='org.freedesktop.systemd1.Manager',member='JobRemoved'")
        .unwrap();
    let mut b = Connection::connect(&addr, Duration::from_secs(5)).unwrap();
    let body = vec![
        Value::U32(7),
        Value::Path("/org/freedesktop/systemd1/job/7".into()),
        Value::Str("app-jail-t-1.scope".into()),
        Value::Str("done".into()),
    ];
    b.send(&Message::signal(
        "/org/freedesktop/systemd1",
        "org.freedesktop.systemd1.Manager",
        "JobRemoved",
        body.clone(),
    ))
    .unwrap();
    let sig = a
        .wait_signal(
            |m| {
                m.member.as_deref() == Some("JobRemoved")
                    && m.body.get(1).and_then(Value::as_str)
                        == Some("/org/freedesktop/systemd1/job/7")
            },
            Duration::from_secs(5),
        )
        .unwrap();
    assert_eq!(sig.body, body);
    assert_eq!(sig.sender.as_deref(), Some(b.unique_name.as_str()));
}

/// This module's cases, in the order they are listed and run.
pub fn cases() -> Vec<Case> {
    vec![
        case!(planned_writes_per_backend),
        case!(invalid_limits_rejected),
        case!(names_prove_ownership),
        case!(start_transient_unit_body_signature),
        case!(v1_pids_limit_enforced),
        case!(v1_memory_limit_oom_kills),
        case!(v1_cpu_quota_enforced),
        case!(v1_kill_all_kills_grandchildren_and_destroy_removes_dirs),
        case!(drop_cleans_up),
        case!(reap_orphans_only_removes_dead_owners),
        case!(detect_as_root_chooses_v1_here),
        case!(detect_unprivileged_has_remedy),
        case!(helper_detect_unprivileged, ignored),
        case!(v2_placement_kill_and_rmdir_on_unified),
        case!(v2_supervisor_leaf_handling),
        case!(helper_v2_leaf, ignored),
        case!(dbus_roundtrip_with_real_daemon),
    ]
}
