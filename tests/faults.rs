//! The launcher under faults (issue 13): killed at random moments of its setup, killed leaving
//! state behind, started with a low descriptor limit. Nothing of a sandbox may outlive jail,
//! nothing stale may stay once jail runs again, and a low limit is not a failure.
mod common;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

/// xorshift64*: cheap, and reproducible from the seed it prints.
struct Rng(u64);

impl Rng {
    fn from_env_or_time() -> Rng {
        let seed = std::env::var("JAIL_FAULT_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    ^ std::process::id() as u64
            })
            | 1;
        eprintln!("fault seed: {seed} (JAIL_FAULT_SEED={seed} repeats this run)");
        Rng(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Microseconds in 0..20 ms.
    fn delay(&mut self) -> Duration {
        Duration::from_micros(self.next() % 20_000)
    }
}

/// A `sleep` argument no other process has: `30.<digits>` (sleep takes fractions), so every
/// process of the sandbox (its init is jail, whose command line holds it too) can be found.
fn marker(n: usize) -> String {
    let nanos = Instant::now().elapsed().subsec_nanos() % 1000;
    format!("30.{}{nanos:03}{n:05}", std::process::id())
}

fn proc_state(pid: i32) -> Option<char> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    s[s.rfind(')')? + 2..].chars().next()
}

/// Live host processes whose argv has one of `markers` as a whole argument.
fn survivors(markers: &[String]) -> Vec<(i32, String)> {
    let mut v = vec![];
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmd
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if args.iter().any(|a| markers.contains(a)) && !matches!(proc_state(pid), Some('Z') | None)
        {
            v.push((pid, args.join(" ")));
        }
    }
    v
}

/// Waits until none of `markers` runs (the kernel kills a pid namespace in a few ms); what is
/// still there after 5 s outlived its launcher.
fn wait_no_survivors(markers: &[String]) -> Vec<(i32, String)> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let s = survivors(markers);
        if s.is_empty() || Instant::now() > deadline {
            return s;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn state_dir(u: &User) -> PathBuf {
    if u.is_root() {
        PathBuf::from("/run/jail")
    } else {
        PathBuf::from(format!("/tmp/jail-{}", u.uid))
    }
}

/// What names launcher `pid` in the state folder: records `ID.PID.START.json`, temp records
/// `.ID.PID.START.tmp`, cgroup claims `PID.START.cgroups`, helper folders `session-PID`.
fn state_of(u: &User, pid: u32) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(state_dir(u)) else {
        return vec![];
    };
    rd.flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            let parts: Vec<&str> = n.trim_start_matches('.').split('.').collect();
            parts.iter().take(3).any(|p| *p == pid.to_string()) || *n == format!("session-{pid}")
        })
        .collect()
}

/// Cgroup folders `jail-PID-…` of launcher `pid`, anywhere in /sys/fs/cgroup.
fn cgroups_of(pid: u32) -> Vec<PathBuf> {
    fn walk(d: &Path, prefix: &str, depth: u32, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            if !e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                continue;
            }
            let p = e.path();
            if e.file_name().to_string_lossy().starts_with(prefix) {
                out.push(p);
            } else if depth < 6 {
                walk(&p, prefix, depth + 1, out);
            }
        }
    }
    let mut v = vec![];
    walk(
        Path::new("/sys/fs/cgroup"),
        &format!("jail-{pid}-"),
        0,
        &mut v,
    );
    v
}

/// Host mount points that would show a sandbox's mounts leaking out.
fn suspicious_mounts() -> Vec<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
        .filter(|m| {
            m.starts_with("/tmp/jail-test-")
                || m.starts_with("/run/jail")
                || m.starts_with("/tmp/jail-")
                || m == "/tmp/root"
                || m.starts_with("/tmp/root/")
        })
        .collect()
}

/// A profile that runs with or without a cgroup: root gets real cgroups for `--pids` and
/// `--memory`, a user without a delegated cgroup runs them best-effort (RLIMIT_NPROC).
const PROFILE: &str = "include = [\"default\"]\n[limits]\nenforce = \"best-effort\"\n";

struct Launch {
    child: Child,
    cwd: PathBuf,
    marker: String,
    at: Instant,
    delay: Duration,
}

fn launch(u: &User, limits: &[&str], n: usize, rng: &mut Rng) -> Launch {
    let marker = marker(n);
    let mut args = vec!["run", "-p", "faults", "-q"];
    args.extend_from_slice(limits);
    args.extend_from_slice(&["--", "/bin/sleep", &marker]);
    let j = Jail::new(u).profile("faults", PROFILE).args(&args);
    let cwd = j.cwd.clone();
    let at = Instant::now();
    let child = j.spawn();
    Launch {
        child,
        cwd,
        marker: marker.clone(),
        at,
        delay: rng.delay(),
    }
}

/// Sends `sig` to each launch at its own moment, in parallel batches; returns each launcher's
/// pid and whether it ended by itself (after a forwarded signal) or was SIGKILLed.
fn storm(
    u: &User,
    limits: &[&str],
    count: usize,
    sig: i32,
    rng: &mut Rng,
    markers: &mut Vec<String>,
) -> Vec<u32> {
    const BATCH: usize = 6;
    let mut pids = vec![];
    let mut n = markers.len();
    for _ in 0..count.div_ceil(BATCH) {
        let mut batch: Vec<Launch> = (0..BATCH)
            .map(|_| {
                n += 1;
                launch(u, limits, n, rng)
            })
            .collect();
        batch.sort_by_key(|l| l.at + l.delay);
        for l in &batch {
            let when = l.at + l.delay;
            if let Some(d) = when.checked_duration_since(Instant::now()) {
                std::thread::sleep(d);
            }
            // SAFETY: kill(2) of our own child, not yet reaped.
            unsafe { libc::kill(l.child.id() as i32, sig) };
        }
        for mut l in batch {
            pids.push(l.child.id());
            markers.push(l.marker.clone());
            if sig == libc::SIGKILL {
                l.child.wait().unwrap();
            } else {
                // A forwarded SIGTERM/SIGINT ends sleep, and jail with it, by itself.
                let deadline = Instant::now() + Duration::from_secs(20);
                while l.child.try_wait().unwrap().is_none() {
                    if Instant::now() > deadline {
                        let _ = l.child.kill();
                        let _ = l.child.wait();
                        panic!(
                            "[{}] jail {limits:?} did not end within 20 s of signal {sig} sent {:?} after its start",
                            u.name, l.delay
                        );
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            let _ = std::fs::remove_dir_all(&l.cwd);
        }
    }
    pids
}

fn kill_survivors(s: &[(i32, String)]) {
    for (pid, _) in s {
        // SAFETY: plain kill(2) of a leftover test process.
        unsafe { libc::kill(*pid, libc::SIGKILL) };
    }
}

#[track_caller]
fn assert_nothing_left(u: &User, pids: &[u32], markers: &[String], when: &str) {
    let s = wait_no_survivors(markers);
    kill_survivors(&s);
    assert!(
        s.is_empty(),
        "[{}] {} sandbox process(es) outlived their launcher ({when}): {s:?}",
        u.name,
        s.len()
    );
    let state: Vec<String> = pids.iter().flat_map(|p| state_of(u, *p)).collect();
    assert!(
        state.is_empty(),
        "[{}] stale state of killed launchers ({when}) in {}: {state:?}",
        u.name,
        state_dir(u).display()
    );
    let cg: Vec<PathBuf> = pids.iter().flat_map(|p| cgroups_of(*p)).collect();
    assert!(
        cg.is_empty(),
        "[{}] cgroups of killed launchers left ({when}): {cg:?}",
        u.name
    );
    let m = suspicious_mounts();
    assert!(m.is_empty(), "[{}] mounts left on the host: {m:?}", u.name);
}

/// 600 SIGKILLs of `jail run` (the issue asks for ≥ 300) at random moments of its first 20 ms, as root and as the
/// unprivileged user, with and without limits: no sandbox process survives, and once jail runs
/// again (`ps`, or a `run` without limits) no record, temp record, claim or cgroup is left.
#[test]
fn sigkill_at_random_moments_leaves_nothing_behind() {
    if !need("/bin/sleep") {
        return;
    }
    let mut rng = Rng::from_env_or_time();
    let configs: [&[&str]; 4] = [
        &[],
        &["--pids", "64"],
        &["--memory", "256MiB"],
        &["--pids", "64", "--memory", "256MiB"],
    ];
    let users = users();
    let per_config = 600usize.div_ceil(configs.len() * users.len()).max(40);
    let mut total = 0;
    for u in &users {
        eprintln!("== as {} (uid {})", u.name, u.uid);
        for (i, limits) in configs.iter().enumerate() {
            let mut markers = vec![];
            let pids = storm(u, limits, per_config, libc::SIGKILL, &mut rng, &mut markers);
            total += pids.len();
            let s = wait_no_survivors(&markers);
            kill_survivors(&s);
            assert!(
                s.is_empty(),
                "[{}] {limits:?}: {} sandbox process(es) outlived a SIGKILLed jail: {s:?}",
                u.name,
                s.len()
            );
            // What only jail itself could remove goes at the next jail: `ps`, or a `run`.
            let next = if i % 2 == 0 {
                Jail::new(u).args(["ps"]).output()
            } else {
                Jail::new(u).args(["run", "--", "/bin/true"]).output()
            };
            next.ok();
            assert_nothing_left(
                u,
                &pids,
                &markers,
                &format!("{limits:?}, after the next jail"),
            );
        }
    }
    assert!(total >= 300, "only {total} kills");
    eprintln!("{total} SIGKILLs, no survivor, nothing stale");
}

/// SIGTERM and SIGINT during setup are forwarded (or end jail before there is a sandbox):
/// jail ends by itself, and leaves nothing, without any later jail cleaning up after it.
#[test]
fn sigterm_and_sigint_during_setup_leave_nothing_behind() {
    if !need("/bin/sleep") {
        return;
    }
    let rng = std::cell::RefCell::new(Rng::from_env_or_time());
    each_user(|u| {
        for limits in [&[][..], &["--pids", "64", "--memory", "256MiB"][..]] {
            for sig in [libc::SIGTERM, libc::SIGINT] {
                let mut markers = vec![];
                let pids = storm(u, limits, 12, sig, &mut rng.borrow_mut(), &mut markers);
                assert_nothing_left(u, &pids, &markers, &format!("{limits:?}, signal {sig}"));
            }
        }
    });
}

/// A process that has ended: its pid and start time, as a killed launcher leaves them.
fn dead_process() -> (u32, u64) {
    let mut c = std::process::Command::new("/bin/sleep")
        .arg("1000")
        .spawn()
        .unwrap();
    let pid = c.id();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let start: u64 = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .nth(19)
        .unwrap()
        .parse()
        .unwrap();
    c.kill().unwrap();
    c.wait().unwrap();
    (pid, start)
}

fn own(u: &User, p: &Path) {
    if euid() == 0 {
        std::os::unix::fs::chown(p, Some(u.uid), Some(u.gid)).unwrap();
    }
}

/// A launcher SIGKILLed while its sandbox runs leaves its record and (with limits, as root) its
/// cgroup; the next `jail run` — even one without limits — removes both, and `jail ps` removes
/// half-written records and helper folders of dead writers. What belongs to a live launcher or
/// to another user stays.
#[test]
fn the_next_jail_removes_what_a_killed_launcher_left() {
    if !need("/bin/sleep") {
        return;
    }
    each_user(|u| {
        // A real leftover: the launcher is killed once its sandbox is listed.
        let mark = marker(0);
        let j = Jail::new(u).profile("faults", PROFILE).args([
            "run",
            "-q",
            "-p",
            "faults",
            "--pids",
            "64",
            "--",
            "/bin/sleep",
            &mark,
        ]);
        let cwd = j.cwd.clone();
        let mut c = j.spawn();
        let pid = c.id();
        let deadline = Instant::now() + Duration::from_secs(20);
        while !state_of(u, pid).iter().any(|n| n.ends_with(".json")) {
            assert!(Instant::now() < deadline, "[{}] no record appeared", u.name);
            std::thread::sleep(Duration::from_millis(20));
        }
        c.kill().unwrap();
        c.wait().unwrap();
        let _ = std::fs::remove_dir_all(&cwd);
        assert!(
            wait_no_survivors(std::slice::from_ref(&mark)).is_empty(),
            "[{}] sandbox outlived jail",
            u.name
        );
        // Left behind now (unless a jail running at the same time, of another test, was
        // quicker to sweep: then only what follows is shown).
        let left = state_of(u, pid);
        eprintln!(
            "[{}] left by the killed launcher: {left:?}, cgroups {:?}",
            u.name,
            cgroups_of(pid)
        );

        // Synthetic leftovers of writers that are gone, and files that must stay.
        let dir = state_dir(u);
        let (dead, dead_start) = dead_process();
        let me = std::process::id();
        let me_start: u64 = {
            let s = std::fs::read_to_string("/proc/self/stat").unwrap();
            s[s.rfind(')').unwrap() + 2..]
                .split_whitespace()
                .nth(19)
                .unwrap()
                .parse()
                .unwrap()
        };
        let stale_tmp = dir.join(format!(".deadbeef.{dead}.{dead_start}.tmp"));
        let legacy_tmp = dir.join(".cafebabe.tmp");
        let live_tmp = dir.join(format!(".0badf00d.{me}.{me_start}.tmp"));
        let stale_rec = dir.join(format!("facefeed.{dead}.{dead_start}.json"));
        let session = dir.join(format!("session-{dead}"));
        for f in [&stale_tmp, &legacy_tmp, &live_tmp, &stale_rec] {
            std::fs::write(f, "{\"half\":").unwrap();
            own(u, f);
        }
        std::fs::File::options()
            .write(true)
            .open(&legacy_tmp)
            .unwrap()
            .set_modified(std::time::SystemTime::now() - Duration::from_secs(3600))
            .unwrap();
        std::fs::create_dir(&session).unwrap();
        std::fs::write(session.join("Xauthority"), "").unwrap();
        own(u, &session);
        own(u, &session.join("Xauthority"));
        // Another user's stale record in this folder is not ours to remove.
        let foreign = dir.join(format!("0dd0dd00.{dead}.{dead_start}.json"));
        if euid() == 0 {
            std::fs::write(&foreign, "{}").unwrap();
            let other = if u.is_root() { 65534 } else { 0 };
            std::os::unix::fs::chown(&foreign, Some(other), Some(other)).unwrap();
        }

        // The next `jail run`, without limits: the killed launcher's record and cgroup go.
        Jail::new(u).args(["run", "--", "/bin/true"]).output().ok();
        let left = state_of(u, pid);
        assert!(
            left.is_empty(),
            "[{}] `jail run` left the killed launcher's state: {left:?}",
            u.name
        );
        let cg = cgroups_of(pid);
        assert!(
            cg.is_empty(),
            "[{}] `jail run` left the killed launcher's cgroups: {cg:?}",
            u.name
        );
        Jail::new(u).args(["ps"]).output().ok();
        for gone in [&stale_tmp, &legacy_tmp, &stale_rec, &session] {
            assert!(
                !gone.exists(),
                "[{}] stale {} left after jail ps",
                u.name,
                gone.display()
            );
        }
        assert!(
            live_tmp.exists(),
            "[{}] the temp record of a live writer was removed",
            u.name
        );
        let _ = std::fs::remove_file(&live_tmp);
        if euid() == 0 {
            assert!(
                foreign.exists(),
                "[{}] another user's file was removed",
                u.name
            );
            let _ = std::fs::remove_file(&foreign);
        }
    });
}

/// `jail …` with RLIMIT_NOFILE set to soft/hard before exec.
fn with_nofile(j: Jail, soft: u64, hard: u64) -> Jail {
    let mut j = j;
    // SAFETY: setrlimit is async-signal-safe; the closure touches nothing else.
    unsafe {
        j.cmd.pre_exec(move || {
            let r = libc::rlimit {
                rlim_cur: soft,
                rlim_max: hard,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &r) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    j
}

fn hard_nofile() -> u64 {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct we pass.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) };
    r.rlim_max
}

/// "Max open files" soft and hard of /proc/self/limits as printed inside.
fn limits_line(out: &str) -> (String, String) {
    let l = out
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap_or_else(|| panic!("no Max open files line in {out}"));
    let f: Vec<&str> = l.split_whitespace().collect();
    (f[3].to_string(), f[4].to_string())
}

/// `ulimit -n 16` (soft and hard, as the shell sets it): the sandbox still runs.
#[test]
fn a_sandbox_runs_at_ulimit_n_16() {
    each_user(|u| {
        let j = Jail::new(u).args(["run", "--", "/bin/sh", "-c", "echo inside"]);
        let r = with_nofile(j, 16, 16).output();
        r.ok();
        assert_eq!(r.stdout().trim(), "inside", "[{}]", u.name);
    });
}

/// COMMAND starts with the soft limit jail was started with (jail raises its own), unless the
/// profile's `[rlimits] nofile` says otherwise.
#[test]
fn command_gets_the_descriptor_limit_jail_was_started_with() {
    let hard = hard_nofile();
    if hard <= 1024 {
        eprintln!("SKIPPED: the hard descriptor limit here ({hard}) leaves nothing to raise");
        return;
    }
    each_user(|u| {
        let j = Jail::new(u).args(["run", "--", "/bin/cat", "/proc/self/limits"]);
        let r = with_nofile(j, 1024, hard).output();
        r.ok();
        assert_eq!(
            limits_line(&r.stdout()),
            ("1024".to_string(), hard.to_string()),
            "[{}]",
            u.name
        );
        let j = Jail::new(u)
            .profile(
                "nofile",
                "include = [\"default\"]\n[rlimits]\nnofile = 4096\n",
            )
            .args(["run", "-p", "nofile", "--", "/bin/cat", "/proc/self/limits"]);
        let r = with_nofile(j, 1024, hard).output();
        r.ok();
        assert_eq!(
            limits_line(&r.stdout()),
            ("4096".to_string(), "4096".to_string()),
            "[{}] the profile's nofile",
            u.name
        );
    });
}

/// A profile granting each of `n` files in `dir` read-only; the sandbox reads the last one.
fn many_grants(u: &User, dir: &Path, n: usize) -> Jail {
    let mut list = String::new();
    for i in 0..n {
        let f = write_file(u, dir, &format!("g{i}"), &i.to_string());
        list.push_str(&format!("\"{}\",", f.display()));
    }
    let last = dir.join(format!("g{}", n - 1));
    Jail::new(u)
        .profile(
            "many",
            &format!("include = [\"default\"]\n[filesystem]\nro = [{list}]\n"),
        )
        .args(["run", "-q", "-p", "many", "--", "/bin/cat"])
        .args([last])
}

/// 10,000 files granted read-only, under /tmp (opened before the scratch tmpfs hides them),
/// at the usual soft limit of 1024: jail raises its own soft limit to the hard one.
#[test]
fn ten_thousand_grants_run_at_soft_limit_1024() {
    let hard = hard_nofile();
    if hard < 12_000 {
        eprintln!("SKIPPED: the hard descriptor limit here ({hard}) is below 10,000 grants");
        return;
    }
    each_user(|u| {
        let dir = tempdir(u);
        let j = many_grants(u, &dir, 10_000);
        let r = with_nofile(j, 1024, hard).output();
        let _ = std::fs::remove_dir_all(&dir);
        r.ok();
        assert_eq!(r.stdout(), "9999", "[{}]", u.name);
    });
}

/// 2,000 grants outside /tmp with soft and hard limit 1024: each source is opened just before
/// its bind and closed after it, so jail never holds one descriptor per grant.
#[test]
fn grants_outside_tmp_are_opened_one_at_a_time() {
    each_user(|u| {
        let dir = PathBuf::from(format!(
            "/var/tmp/jail-test-{}-{}-grants",
            u.name,
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        own(u, &dir);
        let j = many_grants(u, &dir, 2_000);
        let r = with_nofile(j, 1024, 1024).output();
        let _ = std::fs::remove_dir_all(&dir);
        r.ok();
        assert_eq!(r.stdout(), "1999", "[{}]", u.name);
    });
}
