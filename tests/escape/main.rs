//! The escape suite (issue 6): attacks on the sandbox from inside, the way real exploits did.
//! One module per attack class; every attack is its own test, runs as root and as the
//! unprivileged user, and also proves that the same attack works when nothing stops it.
//!
//! The attacker is `attack.c`, compiled once per test run with `cc` into a world-readable folder
//! that the sandbox gets read-only. Attacks that really mount (`privfs`, `mountapi`) only run
//! outside the sandbox inside `unshare -Urm --fork`, a throwaway namespace.
#[path = "../common/mod.rs"]
mod common;

mod arch;
mod desktop;
mod devnodes;
mod enter;
mod exe;
mod failopen;
mod fds;
mod hostproc;
mod inject;
mod limits;
mod mounts;
mod nested;
mod net;
mod persist;
mod policy;
mod privilege;
mod procknobs;
mod race;
mod scope;
mod setid;
mod stdio;
mod symlinks;
mod terminal;
mod uring;

use common::*;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The folder holding the compiled attacker (and helpers), readable by every test user.
pub fn bin_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        assert!(need("cc"), "cc is needed to build the attacker");
        let dir = PathBuf::from(format!("/tmp/jail-escape-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        remove_at_exit(TempDir(dir.clone()));
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/escape/attack.c");
        let tmp = dir.join(".attack.tmp");
        let out = Command::new("cc")
            .args(["-O1", "-o"])
            .arg(&tmp)
            .arg(src)
            .output()
            .expect("run cc");
        assert!(
            out.status.success(),
            "cc failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::rename(&tmp, dir.join("attack")).unwrap();
        dir
    })
    .clone()
}

pub fn attacker() -> String {
    bin_dir().join("attack").to_string_lossy().into_owned()
}

/// `jail run EXTRA… -- attack ARGS…` as `u`, the attacker's folder bound read-only.
pub fn inside(u: &User, extra: &[&str], args: &[&str]) -> Run {
    let dir = bin_dir();
    let mut a: Vec<String> = vec![
        "run".into(),
        "--chdir".into(),
        "/".into(),
        "--ro-bind".into(),
        dir.to_string_lossy().into(),
    ];
    a.extend(extra.iter().map(|s| s.to_string()));
    a.push("--".into());
    a.push(attacker());
    a.extend(args.iter().map(|s| s.to_string()));
    Jail::new(u).args(a).output()
}

/// A command run as `u` on the host, with no sandbox (the proof side).
pub fn host_cmd(u: &User, prog: &str) -> Command {
    let mut c = Command::new(prog);
    c.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")
        .env("HOME", &u.home)
        .current_dir("/")
        .stdin(Stdio::null());
    if euid() == 0 && !u.is_root() {
        c.uid(u.uid).gid(u.gid);
    }
    c
}

/// `attack ARGS…` as `u` on the host.
pub fn outside(u: &User, args: &[&str]) -> Output {
    host_cmd(u, &attacker())
        .args(args)
        .output()
        .expect("run attack")
}

/// `attack ARGS…` as `u` on the host inside `unshare -Urm --fork` (a throwaway namespace where
/// `u` holds every capability: what the attack could do if nothing stopped it).
pub fn outside_ns(u: &User, args: &[&str]) -> Output {
    assert!(need("unshare"));
    host_cmd(u, "unshare")
        .args(["-Urm", "--fork", &attacker()])
        .args(args)
        .env("ESCAPE_THROWAWAY", "1")
        .output()
        .expect("run unshare")
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The attacker's verdict for one attempt: Some("ok") / Some("err EPERM") …, None if not printed.
pub fn verdict(out: &str, name: &str) -> Option<String> {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .map(|s| s.to_string())
}

/// Asserts the attempt `name` was printed and failed (inside the sandbox).
#[track_caller]
pub fn refused(r: &Run, name: &str) {
    let v = verdict(&r.stdout(), name);
    assert!(
        matches!(&v, Some(s) if s.starts_with("err")) || (v.is_none() && r.code() == 128 + 31),
        "[{}] ESCAPE: {name} was not refused inside: {v:?} (exit {})\n--- stdout\n{}\n--- stderr\n{}",
        r.user,
        r.code(),
        r.stdout(),
        r.stderr()
    );
}

/// Asserts the attempt `name` succeeded (the outside proof).
#[track_caller]
pub fn works(o: &Output, name: &str) {
    let t = text(o);
    assert_eq!(
        verdict(&t, name).as_deref(),
        Some("ok"),
        "proof failed: {name} does not work outside either:\n{t}"
    );
}

/// A profile file in `dir` (returned as its path, for --profile).
pub fn profile_file(u: &User, dir: &Path, name: &str, toml: &str) -> String {
    write_file(u, dir, &format!("{name}.toml"), toml)
        .to_string_lossy()
        .into_owned()
}
