//! Shared harness of the integration tests: every sandbox is a fresh `jail` process (sandboxing
//! cannot be undone inside the test process), run as each user the machine offers.
//!
//! Users: root when the tests run as root; the unprivileged user named by `JAIL_TEST_USER` when
//! the tests run as root (CI creates one); the current user otherwise. Every sandboxing test
//! runs once per user with [`each_user`].
//!
//! A test that needs a program this machine lacks calls [`need`]: under `JAIL_TEST_STRICT=1`
//! (CI) that fails the test; otherwise it prints that it skipped.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

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

/// The users every sandboxing test runs as.
pub fn users() -> Vec<User> {
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

/// Removes the folders earlier test processes left in /tmp (theirs only: the pid in the name
/// must be dead), once per test process.
fn clean_leftovers() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let Ok(rd) = std::fs::read_dir("/tmp") else {
            return;
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix("jail-test-") else {
                continue;
            };
            let parts: Vec<&str> = rest.split('-').collect();
            // jail-test-bin-PID and jail-test-USER-PID-N
            let pid = if parts.first() == Some(&"bin") {
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
    });
}

/// A fresh folder owned by `user` (the sandbox's working folder, profile folders …).
pub fn tempdir(user: &User) -> PathBuf {
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
        let mut cmd = Command::new(jail_bin());
        cmd.env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
            .env("HOME", &user.home)
            .env("USER", &user.name)
            .env("LOGNAME", &user.name)
            .env("LANG", "C.UTF-8")
            .env("JAIL_PROFILE_PATH", cwd.join(".profiles"))
            .current_dir(&cwd)
            .stdin(Stdio::null());
        if euid() == 0 && user.uid != 0 {
            cmd.uid(user.uid).gid(user.gid);
        }
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
pub fn owner(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().uid()
}
