//! Shared harness of the integration tests: every sandbox is a fresh `jail` process (sandboxing
//! cannot be undone inside the test process), run as each user the machine offers.
//!
//! Users: root when the tests run as root; the unprivileged user named by `JAIL_TEST_USER` when
//! the tests run as root (CI creates one); the current user otherwise. Every sandboxing test
//! runs once per user with [`each_user`].
//!
//! A test that needs a program this machine lacks calls [`need`]: under `JAIL_TEST_STRICT=1`
//! (CI) that fails the test; otherwise it prints that it skipped.
//!
//! Hermetic: each test user's `home` is a fresh empty folder of this test process, never the
//! account's real home (whose `~/Downloads` or `~/.config/user-dirs.dirs` would change what
//! profiles grant), and every folder the harness makes is removed when the process exits
//! ([`TempDir`], [`remove_at_exit`]), whatever its tests did.
#![allow(dead_code)]

pub mod bus;
pub mod deb;

use std::ffi::OsStr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};

#[derive(Clone, Debug)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

impl User {
    pub fn is_root(&self) -> bool {
        self.uid == 0
    }
}

fn lookup(name: &str) -> Option<User> {
    let out = Command::new("getent")
        .args(["passwd", name])
        .output()
        .ok()?;
    let line = String::from_utf8(out.stdout).ok()?;
    let f: Vec<&str> = line.trim().split(':').collect();
    (f.len() >= 6).then(|| User {
        name: f[0].into(),
        uid: f[2].parse().unwrap(),
        gid: f[3].parse().unwrap(),
        home: f[5].into(),
    })
}

pub fn euid() -> u32 {
    // SAFETY: geteuid never fails.
    unsafe { libc::geteuid() }
}

/// The users every sandboxing test runs as, each with a fresh home of this test process
/// ([`fake_home`]).
pub fn users() -> Vec<User> {
    static USERS: OnceLock<Vec<User>> = OnceLock::new();
    USERS
        .get_or_init(|| {
            let mut v = real_users();
            for u in &mut v {
                u.home = fake_home(u);
            }
            v
        })
        .clone()
}

/// An empty home for `user`, owned by it, removed when this test process exits: under /home
/// when we may write there (like a real home: jail treats /tmp specially), else in the temp
/// folder.
fn fake_home(user: &User) -> PathBuf {
    clean_leftovers();
    let pid = std::process::id();
    let base = if euid() == 0 {
        PathBuf::from(format!("/home/jail-test-home-{pid}"))
    } else {
        std::env::temp_dir().join(format!("jail-test-home-{pid}"))
    };
    if !base.exists() {
        std::fs::create_dir_all(&base).unwrap();
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755)).unwrap();
        remove_at_exit(TempDir(base.clone()));
    }
    let home = base.join(&user.name);
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir(&home).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    if euid() == 0 {
        std::os::unix::fs::chown(&home, Some(user.uid), Some(user.gid)).unwrap();
    }
    home
}

/// The users with their homes as the password database has them.
fn real_users() -> Vec<User> {
    let me = lookup(&euid().to_string()).or_else(|| {
        let name = std::env::var("USER").unwrap_or_default();
        lookup(&name)
    });
    let mut v = vec![];
    if euid() == 0 {
        v.push(User {
            name: "root".into(),
            uid: 0,
            gid: 0,
            home: "/root".into(),
        });
        match std::env::var("JAIL_TEST_USER") {
            Ok(u) if !u.is_empty() => match lookup(&u) {
                Some(user) => v.push(user),
                None => panic!("JAIL_TEST_USER={u} does not exist (create it: useradd -m {u})"),
            },
            _ => {
                if strict() {
                    panic!("running as root under JAIL_TEST_STRICT=1 needs JAIL_TEST_USER (an unprivileged user) so both paths are tested");
                }
                eprintln!("note: running as root without JAIL_TEST_USER: the unprivileged path is not tested");
            }
        }
    } else {
        v.push(me.unwrap_or_else(|| User {
            name: std::env::var("USER").unwrap_or_else(|_| "user".into()),
            uid: euid(),
            // SAFETY: getegid never fails.
            gid: unsafe { libc::getegid() },
            home: std::env::var("HOME").unwrap_or_else(|_| "/".into()).into(),
        }));
    }
    v
}

/// The unprivileged user, if the tests have one.
pub fn unprivileged() -> Option<User> {
    users().into_iter().find(|u| !u.is_root())
}

pub fn strict() -> bool {
    std::env::var("JAIL_TEST_STRICT")
        .map(|v| v == "1")
        .unwrap_or(false)
}

/// True when `program` can be run; false (after saying so) when the test should skip.
/// Under JAIL_TEST_STRICT=1 a missing program fails the test.
pub fn need(program: &str) -> bool {
    let found = program.starts_with('/') && Path::new(program).exists()
        || std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
            .unwrap_or(false);
    if !found {
        if strict() {
            panic!("{program} is needed by this test and missing (JAIL_TEST_STRICT=1); .ci/run installs it");
        }
        eprintln!("SKIPPED: {program} is not installed");
    }
    found
}

/// A folder (or a file) removed, with everything in it, when the guard drops: at the end of its
/// scope, also when a test panics; or, handed to [`remove_at_exit`], when the process exits.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A fresh folder owned by `user`, like [`tempdir`], removed when the guard drops.
    pub fn new(user: &User) -> TempDir {
        TempDir(make_tempdir(user))
    }
}

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        match std::fs::symlink_metadata(&self.0) {
            Ok(m) if m.is_dir() => {
                let _ = std::fs::remove_dir_all(&self.0);
            }
            // A socket or file the test made (an X11 socket in /tmp/.X11-unix …).
            Ok(_) => {
                let _ = std::fs::remove_file(&self.0);
            }
            Err(_) => {}
        }
    }
}

static AT_EXIT: Mutex<Vec<TempDir>> = Mutex::new(Vec::new());

/// Removes the folder when this test process exits (libtest runs every test, catching their
/// panics, then exits: the folder goes whether tests passed or failed). For folders that live
/// as long as the process: the copied binary, the homes, the working folders of `jail` runs.
pub fn remove_at_exit(dir: TempDir) {
    static REGISTERED: OnceLock<u32> = OnceLock::new();
    extern "C" fn remove_all() {
        // Only in the process that registered: a forked child that calls exit() must not
        // remove folders the tests still use.
        if REGISTERED.get() != Some(&std::process::id()) {
            return;
        }
        if let Ok(mut v) = AT_EXIT.lock() {
            v.clear();
        }
    }
    REGISTERED.get_or_init(|| {
        // SAFETY: `remove_all` is a plain function that never unwinds (no unwrap, a poisoned
        // lock is skipped); atexit only stores its address.
        unsafe { libc::atexit(remove_all) };
        std::process::id()
    });
    if let Ok(mut v) = AT_EXIT.lock() {
        v.push(dir);
    }
}

/// The jail binary, copied once to a world-readable place when tests switch users (the build
/// folder may not be reachable by the unprivileged user).
pub fn jail_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let built = PathBuf::from(env!("CARGO_BIN_EXE_jail"));
        if euid() != 0 {
            return built;
        }
        let dir = PathBuf::from(format!("/tmp/jail-test-bin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        remove_at_exit(TempDir(dir.clone()));
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let dst = dir.join("jail");
        let tmp = dir.join(".jail.tmp");
        std::fs::copy(&built, &tmp).unwrap();
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::rename(&tmp, &dst).unwrap();
        dst
    })
    .clone()
}

/// Removes the folders earlier test processes left in /tmp when they could not clean up (killed:
/// theirs only, the pid in the name must be dead), once per test process.
fn clean_leftovers() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let tmp = std::env::temp_dir();
        for base in [Path::new("/tmp"), tmp.as_path(), Path::new("/home")] {
            let Ok(rd) = std::fs::read_dir(base) else {
                continue;
            };
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let Some(rest) = name.strip_prefix("jail-test-") else {
                    continue;
                };
                let parts: Vec<&str> = rest.split('-').collect();
                // jail-test-bin-PID, jail-test-home-PID and jail-test-USER-PID-N
                let pid = if matches!(parts.first(), Some(&"bin") | Some(&"home")) {
                    parts.get(1)
                } else {
                    parts.len().checked_sub(2).and_then(|i| parts.get(i))
                };
                if let Some(pid) = pid.and_then(|p| p.parse::<u32>().ok()) {
                    if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                        let _ = std::fs::remove_dir_all(e.path());
                    }
                }
            }
        }
    });
}

/// A fresh folder owned by `user` (the sandbox's working folder, profile folders …), removed
/// when the test process exits.
pub fn tempdir(user: &User) -> PathBuf {
    let dir = make_tempdir(user);
    remove_at_exit(TempDir(dir.clone()));
    dir
}

fn make_tempdir(user: &User) -> PathBuf {
    clean_leftovers();
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = PathBuf::from(format!(
        "/tmp/jail-test-{}-{}-{n}",
        user.name,
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    if euid() == 0 {
        std::os::unix::fs::chown(&dir, Some(user.uid), Some(user.gid)).unwrap();
    }
    dir
}

/// Writes `text` to `dir/name` owned by `user`.
pub fn write_file(user: &User, dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, text).unwrap();
    if euid() == 0 {
        std::os::unix::fs::chown(&p, Some(user.uid), Some(user.gid)).unwrap();
    }
    p
}

/// A configured `jail` invocation as `user`.
/// `program` as `user` would start it from a terminal login: a clean environment (PATH, HOME,
/// USER, LOGNAME, LANG and an empty profile path `CWD/.profiles`), `cwd` as working folder,
/// stdin from /dev/null, the user's ids when the tests run as root, and SIGINT, SIGQUIT,
/// SIGTERM and SIGHUP at their defaults whatever the test runner inherited (a runner started in
/// the background by a shell ignores SIGINT and SIGQUIT, and jail would inherit that).
pub fn session_command(program: impl AsRef<OsStr>, user: &User, cwd: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
        .env("HOME", &user.home)
        .env("USER", &user.name)
        .env("LOGNAME", &user.name)
        .env("LANG", "C.UTF-8")
        .env("JAIL_PROFILE_PATH", cwd.join(".profiles"))
        .current_dir(cwd)
        .stdin(Stdio::null());
    if euid() == 0 && user.uid != 0 {
        cmd.uid(user.uid).gid(user.gid);
    }
    // SAFETY: only signal(2), async-signal-safe, runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            for s in [libc::SIGINT, libc::SIGQUIT, libc::SIGTERM, libc::SIGHUP] {
                libc::signal(s, libc::SIG_DFL);
            }
            Ok(())
        });
    }
    cmd
}

pub struct Jail {
    pub user: User,
    pub cmd: Command,
    pub cwd: PathBuf,
}

impl Jail {
    /// `jail ARGS…` as `user`, in a fresh working folder, with a clean environment and an
    /// empty profile path (only the built-in profiles, plus what the test adds).
    pub fn new(user: &User) -> Jail {
        let cwd = tempdir(user);
        let cmd = session_command(jail_bin(), user, &cwd);
        Jail {
            user: user.clone(),
            cmd,
            cwd,
        }
    }

    pub fn args<I, S>(mut self, args: I) -> Jail
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn env(mut self, k: &str, v: impl AsRef<OsStr>) -> Jail {
        self.cmd.env(k, v);
        self
    }

    /// Adds a profile `name` to this run's profile path.
    pub fn profile(self, name: &str, text: &str) -> Jail {
        let dir = self.cwd.join(".profiles");
        write_file(&self.user, &dir, &format!("{name}.toml"), text);
        self
    }

    pub fn output(mut self) -> Run {
        let out = retry_busy(|| self.cmd.output()).expect("start jail");
        Run {
            out,
            user: self.user.name.clone(),
        }
    }

    /// Like [`Jail::output`], but gives up after `limit`: jail is killed (SIGKILL; its
    /// sandbox dies with it, die-with-parent) and None is returned.
    pub fn output_within(mut self, limit: std::time::Duration) -> Option<Run> {
        use std::sync::atomic::{AtomicBool, Ordering};
        self.cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let child = retry_busy(|| self.cmd.spawn()).expect("start jail");
        let pid = child.id() as libc::pid_t;
        let done = std::sync::Arc::new(AtomicBool::new(false));
        let fired = std::sync::Arc::new(AtomicBool::new(false));
        let (d, f) = (done.clone(), fired.clone());
        let dog = std::thread::spawn(move || {
            let end = std::time::Instant::now() + limit;
            while std::time::Instant::now() < end {
                if d.load(Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            if !d.load(Ordering::SeqCst) {
                f.store(true, Ordering::SeqCst);
                // SAFETY: kill(2) of our own child, which has not been reaped yet.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        });
        let out = child.wait_with_output().expect("wait for jail");
        done.store(true, Ordering::SeqCst);
        let _ = dog.join();
        if fired.load(Ordering::SeqCst) {
            return None;
        }
        Some(Run {
            out,
            user: self.user.name.clone(),
        })
    }

    /// Starts jail without waiting (the caller reads or kills it).
    pub fn spawn(mut self) -> std::process::Child {
        self.cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        retry_busy(|| self.cmd.spawn()).expect("start jail")
    }
}

/// Retries while exec fails with ETXTBSY: right after the binary is copied, a fork of another
/// test thread may briefly hold the copy open for writing until its own exec.
fn retry_busy<T>(mut f: impl FnMut() -> std::io::Result<T>) -> std::io::Result<T> {
    let mut tries = 0;
    loop {
        match f() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 50 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            r => return r,
        }
    }
}

/// A finished run.
pub struct Run {
    pub out: Output,
    pub user: String,
}

impl Run {
    pub fn code(&self) -> i32 {
        use std::os::unix::process::ExitStatusExt;
        self.out
            .status
            .code()
            .unwrap_or_else(|| 128 + self.out.status.signal().unwrap_or(0))
    }
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    /// Panics with both streams unless the exit status is `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code(),
            code,
            "[{}] expected exit {code}, got {}\n--- stdout\n{}\n--- stderr\n{}",
            self.user,
            self.code(),
            self.stdout(),
            self.stderr()
        );
        self
    }
    #[track_caller]
    pub fn ok(&self) -> &Self {
        self.expect_code(0)
    }
}

/// `jail run [ARGS…] -- sh -c SCRIPT` as `user`.
pub fn sh(user: &User, args: &[&str], script: &str) -> Run {
    let mut a: Vec<&str> = vec!["run"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["--", "/bin/sh", "-c", script]);
    Jail::new(user).args(a).output()
}

/// Runs `f` once per test user, naming the user in any failure.
pub fn each_user(f: impl Fn(&User)) {
    for u in users() {
        eprintln!("== as {} (uid {})", u.name, u.uid);
        f(&u);
    }
}

/// The owner uid of a path.
/// Makes `cmd` start with `file` open at descriptor `target`, not close-on-exec. When the file
/// already sits at `target`, `dup2` would do nothing and leave close-on-exec set, so the flag is
/// cleared instead.
#[allow(dead_code)]
pub fn pass_fd(cmd: &mut Command, file: &std::fs::File, target: i32) {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: only dup2 and fcntl (both async-signal-safe) run between fork and exec; the caller
    // keeps `file` open until the command has been spawned.
    unsafe {
        cmd.pre_exec(move || {
            let r = if fd == target {
                libc::fcntl(target, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd, target)
            };
            if r < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

pub fn owner(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().uid()
}

/// A running Xvfb on the first free display of `displays` (no socket, no lock file), with
/// `args` after the usual `-nolisten tcp`. Killed on drop, and the socket and lock file that a
/// killed X server leaves behind go with it.
pub struct Xvfb {
    child: std::process::Child,
    pub display: u32,
}

impl Xvfb {
    pub fn start(displays: std::ops::Range<u32>, args: &[&str]) -> Xvfb {
        let n = displays
            .into_iter()
            .find(|n| {
                !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                    && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
            })
            .expect("a free X display number");
        let child = Command::new("Xvfb")
            .arg(format!(":{n}"))
            .args(["-nolisten", "tcp"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb");
        let x = Xvfb { child, display: n };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !Path::new(&x.socket()).exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert!(
            Path::new(&x.socket()).exists(),
            "Xvfb did not start on :{n}"
        );
        x
    }

    /// `/tmp/.X11-unix/XN`.
    pub fn socket(&self) -> String {
        format!("/tmp/.X11-unix/X{}", self.display)
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(self.socket());
        let _ = std::fs::remove_file(format!("/tmp/.X{}-lock", self.display));
    }
}
