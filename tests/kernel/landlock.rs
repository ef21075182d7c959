//! Landlock ([`jail::sandbox::landlock::apply`]) against the real kernel. Each case forks: the
//! child applies Landlock (irreversible) and reports observations (`name=errno`, 0 = success)
//! through a pipe; the parent asserts.

use super::*;
use jail::plan::landlock::{compile, Compat, LandlockPlan, LandlockSpec, PlanOutcome, ScopeKind};
use jail::sandbox::landlock::*;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;

type Obs = Vec<(String, i32)>;

fn errno<T>(r: std::io::Result<T>) -> i32 {
    match r {
        Ok(_) => 0,
        Err(e) => e.raw_os_error().unwrap_or(-1),
    }
}

fn abi() -> u32 {
    probe_abi().unwrap_or_else(|| skip_now("these tests need a kernel with Landlock enabled"))
}

fn plan_for(spec: LandlockSpec) -> LandlockPlan {
    let plan = compile(
        &LandlockSpec {
            enabled: true,
            ..spec
        },
        Some(abi()),
    )
    .unwrap();
    assert_eq!(plan.outcome, PlanOutcome::Full, "{:#?}", plan.explain);
    plan
}

fn set_no_new_privs() {
    // SAFETY: PR_SET_NO_NEW_PRIVS takes no pointers; this only affects this (child) process.
    let r = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    assert_eq!(r, 0);
}

/// Apply `plan` in the child, like the real caller does (no_new_privs first).
fn apply_in_child(plan: &LandlockPlan, obs: &mut Obs) -> Result<(), String> {
    set_no_new_privs();
    let rep = apply(plan, false).map_err(|e| e.to_string())?;
    obs.push((
        "fully_enforced".into(),
        i32::from(rep.ruleset != Enforcement::FullyEnforced),
    ));
    Ok(())
}

/// Fork; run `f` in the child; return its observations. Child errors/panics fail the test.
fn in_child(f: impl FnOnce(&mut Obs) -> Result<(), String>) -> HashMap<String, i32> {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid array of two c_ints for pipe2 to fill.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both fds were just created by pipe2 and are owned by nobody else.
    let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: the child only runs the test closure and then _exit()s, never returning
    // into the test harness; glibc keeps malloc usable in the child of fork.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        drop(rd);
        let mut out = File::from(wr);
        let mut obs = Obs::new();
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&mut obs)));
        let code = match res {
            Ok(Ok(())) => {
                for (k, v) in &obs {
                    let _ = writeln!(out, "{k}={v}");
                }
                0
            }
            Ok(Err(msg)) => {
                let _ = writeln!(out, "ERROR {msg}");
                2
            }
            Err(_) => {
                let _ = writeln!(out, "ERROR child panicked");
                3
            }
        };
        drop(out);
        // SAFETY: terminate the child without running the harness's atexit/destructors.
        unsafe { libc::_exit(code) };
    }
    drop(wr);
    let mut text = String::new();
    File::from(rd).read_to_string(&mut text).unwrap();
    let mut status = 0;
    // SAFETY: pid is our child; status is a valid out pointer.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child failed (status {status:#x}): {text}"
    );
    text.lines()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.to_string(), v.parse().unwrap())
        })
        .collect()
}

/// Fresh directory under the system temp dir, removed when the guard drops.
fn scratch(name: &str) -> ScratchDir {
    ScratchDir::new(&format!("jail-landlock-{name}"))
}

fn write_file(p: &Path) -> std::io::Result<File> {
    OpenOptions::new().write(true).open(p)
}

fn probe_reports_an_abi() {
    let v = abi();
    assert!((1..=64).contains(&v), "odd ABI {v}");
}

fn ro_grant_reads_but_cannot_write_and_sibling_is_denied() {
    let root = scratch("ro");
    let (a, b, e) = (root.join("a"), root.join("b"), root.join("e"));
    for d in [&a, &b, &e] {
        std::fs::create_dir(d).unwrap();
    }
    std::fs::write(a.join("f"), "in a").unwrap();
    std::fs::write(b.join("f"), "in b").unwrap();
    std::fs::write(e.join("single"), "single file").unwrap();
    let plan = plan_for(LandlockSpec {
        compat: Compat::Hard,
        ro: vec![a.clone(), e.join("single")],
        ..Default::default()
    });
    let obs = in_child(|obs| {
        // Without Landlock, B is readable: the denial below is Landlock's doing.
        obs.push(("b_read_before".into(), errno(std::fs::read(b.join("f")))));
        apply_in_child(&plan, obs)?;
        let content = std::fs::read_to_string(a.join("f"));
        obs.push((
            "a_content_ok".into(),
            i32::from(content.as_deref().ok() != Some("in a")),
        ));
        obs.push(("a_read".into(), errno(std::fs::read(a.join("f")))));
        obs.push(("a_list".into(), errno(std::fs::read_dir(&a))));
        obs.push(("a_write".into(), errno(write_file(&a.join("f")))));
        obs.push(("a_create".into(), errno(std::fs::write(a.join("new"), "x"))));
        obs.push(("a_remove".into(), errno(std::fs::remove_file(a.join("f")))));
        obs.push(("b_read".into(), errno(std::fs::read(b.join("f")))));
        obs.push(("single_read".into(), errno(std::fs::read(e.join("single")))));
        obs.push(("e_list".into(), errno(std::fs::read_dir(&e))));
        Ok(())
    });
    let exp = [
        ("b_read_before", 0),
        ("fully_enforced", 0),
        ("a_content_ok", 0),
        ("a_read", 0),
        ("a_list", 0),
        ("a_write", libc::EACCES),
        ("a_create", libc::EACCES),
        ("a_remove", libc::EACCES),
        ("b_read", libc::EACCES),
        ("single_read", 0),
        ("e_list", libc::EACCES),
    ];
    for (k, v) in exp {
        assert_eq!(obs.get(k), Some(&v), "{k}: {obs:?}");
    }
    // The parent (not sandboxed) still sees A's file intact.
    assert_eq!(std::fs::read_to_string(a.join("f")).unwrap(), "in a");
    std::fs::remove_dir_all(&root).unwrap();
}

fn rw_grant_allows_create_write_rename_truncate_remove() {
    let root = scratch("rw");
    let (c, d) = (root.join("c"), root.join("d"));
    std::fs::create_dir(&c).unwrap();
    std::fs::create_dir(&d).unwrap();
    let plan = plan_for(LandlockSpec {
        compat: Compat::Hard,
        rw: vec![c.clone()],
        ..Default::default()
    });
    let obs = in_child(|obs| {
        apply_in_child(&plan, obs)?;
        obs.push(("create".into(), errno(std::fs::write(c.join("f"), "hello"))));
        let back = std::fs::read_to_string(c.join("f"));
        obs.push((
            "read_back_ok".into(),
            i32::from(back.as_deref().ok() != Some("hello")),
        ));
        obs.push(("mkdir".into(), errno(std::fs::create_dir(c.join("sub")))));
        // Cross-directory rename needs the refer right (ABI 2+).
        obs.push((
            "rename".into(),
            errno(std::fs::rename(c.join("f"), c.join("sub/g"))),
        ));
        obs.push((
            "truncate".into(),
            errno(write_file(&c.join("sub/g")).and_then(|f| f.set_len(0))),
        ));
        obs.push((
            "remove".into(),
            errno(std::fs::remove_file(c.join("sub/g"))),
        ));
        obs.push(("rmdir".into(), errno(std::fs::remove_dir(c.join("sub")))));
        // Proof the domain is active: a sibling dir is not writable.
        obs.push((
            "outside_create".into(),
            errno(std::fs::write(d.join("f"), "x")),
        ));
        Ok(())
    });
    for k in [
        "fully_enforced",
        "create",
        "read_back_ok",
        "mkdir",
        "rename",
        "truncate",
        "remove",
        "rmdir",
    ] {
        assert_eq!(obs.get(k), Some(&0), "{k}: {obs:?}");
    }
    assert_eq!(obs.get("outside_create"), Some(&libc::EACCES), "{obs:?}");
    assert!(!c.join("sub").exists());
    std::fs::remove_dir_all(&root).unwrap();
}

fn connect_tcp_allows_only_listed_port() {
    let l1 = TcpListener::bind("127.0.0.1:0").unwrap();
    let l2 = TcpListener::bind("127.0.0.1:0").unwrap();
    let (p1, p2) = (l1.local_addr().unwrap(), l2.local_addr().unwrap());
    let plan = plan_for(LandlockSpec {
        connect_tcp: Some(vec![p1.port()]),
        ..Default::default()
    });
    let obs = in_child(|obs| {
        obs.push(("p2_before".into(), errno(TcpStream::connect(p2))));
        apply_in_child(&plan, obs)?;
        obs.push(("p1".into(), errno(TcpStream::connect(p1))));
        obs.push(("p2".into(), errno(TcpStream::connect(p2))));
        Ok(())
    });
    assert_eq!(obs.get("p2_before"), Some(&0), "{obs:?}");
    assert_eq!(obs.get("fully_enforced"), Some(&0), "{obs:?}");
    assert_eq!(obs.get("p1"), Some(&0), "{obs:?}");
    assert_eq!(obs.get("p2"), Some(&libc::EACCES), "{obs:?}");
}

fn bind_tcp_empty_denies_every_bind() {
    let plan = plan_for(LandlockSpec {
        bind_tcp: Some(vec![]),
        ..Default::default()
    });
    let obs = in_child(|obs| {
        obs.push(("before".into(), errno(TcpListener::bind("127.0.0.1:0"))));
        apply_in_child(&plan, obs)?;
        obs.push(("after".into(), errno(TcpListener::bind("127.0.0.1:0"))));
        // Connecting is not restricted (connect_tcp = None).
        Ok(())
    });
    assert_eq!(obs.get("before"), Some(&0), "{obs:?}");
    assert_eq!(obs.get("after"), Some(&libc::EACCES), "{obs:?}");
}

fn abstract_connect(name: &[u8]) -> std::io::Result<std::os::unix::net::UnixStream> {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
    std::os::unix::net::UnixStream::connect_addr(&addr)
}

fn scope_abstract_unix_socket() {
    use std::os::linux::net::SocketAddrExt;
    let name = format!("jail-landlock-test-{}", std::process::id());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let _listener = std::os::unix::net::UnixListener::bind_addr(&addr).unwrap();

    let scoped = plan_for(LandlockSpec {
        scope: vec![ScopeKind::AbstractUnixSocket],
        ..Default::default()
    });
    let unscoped = plan_for(LandlockSpec::default());
    let obs = in_child(|obs| {
        obs.push(("before".into(), errno(abstract_connect(name.as_bytes()))));
        apply_in_child(&scoped, obs)?;
        obs.push(("after".into(), errno(abstract_connect(name.as_bytes()))));
        Ok(())
    });
    assert_eq!(obs.get("before"), Some(&0), "{obs:?}");
    assert_eq!(obs.get("after"), Some(&libc::EPERM), "{obs:?}");
    // Same Landlock domain without the scope: the connection works.
    let obs = in_child(|obs| {
        apply_in_child(&unscoped, obs)?;
        obs.push(("after".into(), errno(abstract_connect(name.as_bytes()))));
        Ok(())
    });
    assert_eq!(obs.get("after"), Some(&0), "{obs:?}");
}

fn kill0(pid: libc::pid_t) -> i32 {
    // SAFETY: signal 0 only checks permission; nothing is delivered.
    if unsafe { libc::kill(pid, 0) } == 0 {
        0
    } else {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(-1)
    }
}

fn scope_signal() {
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    let scoped = plan_for(LandlockSpec {
        scope: vec![ScopeKind::Signal],
        ..Default::default()
    });
    let unscoped = plan_for(LandlockSpec::default());
    let obs = in_child(|obs| {
        obs.push(("before".into(), kill0(parent)));
        apply_in_child(&scoped, obs)?;
        obs.push(("after".into(), kill0(parent)));
        // SAFETY: getpid has no preconditions.
        obs.push(("self".into(), kill0(unsafe { libc::getpid() })));
        Ok(())
    });
    assert_eq!(obs.get("before"), Some(&0), "{obs:?}");
    assert_eq!(obs.get("after"), Some(&libc::EPERM), "{obs:?}");
    assert_eq!(obs.get("self"), Some(&0), "{obs:?}");
    let obs = in_child(|obs| {
        apply_in_child(&unscoped, obs)?;
        obs.push(("after".into(), kill0(parent)));
        Ok(())
    });
    assert_eq!(obs.get("after"), Some(&0), "{obs:?}");
}

fn missing_path_is_an_error_naming_it() {
    let root = scratch("missing");
    let gone = root.join("does-not-exist");
    let plan = plan_for(LandlockSpec {
        ro: vec![root.to_path_buf(), gone.clone()],
        ..Default::default()
    });
    let want = gone.display().to_string();
    let obs = in_child(|obs| {
        set_no_new_privs();
        match apply(&plan, false) {
            Ok(_) => obs.push(("applied".into(), 1)),
            Err(e) => {
                obs.push(("errno".into(), e.errno().unwrap_or(-1)));
                obs.push((
                    "names_path".into(),
                    i32::from(!e.to_string().contains(&want)),
                ));
                obs.push((
                    "names_step".into(),
                    i32::from(!e.to_string().contains("open (O_PATH)")),
                ));
            }
        }
        // Nothing was restricted: the sibling temp dir is still writable.
        obs.push((
            "still_free".into(),
            errno(std::fs::write(root.join("x"), "x")),
        ));
        Ok(())
    });
    assert_eq!(obs.get("applied"), None, "{obs:?}");
    assert_eq!(obs.get("errno"), Some(&libc::ENOENT), "{obs:?}");
    assert_eq!(obs.get("names_path"), Some(&0), "{obs:?}");
    assert_eq!(obs.get("names_step"), Some(&0), "{obs:?}");
    assert_eq!(obs.get("still_free"), Some(&0), "{obs:?}");
    std::fs::remove_dir_all(&root).unwrap();
}

fn apply_does_not_set_no_new_privs() {
    if !root() {
        return;
    }
    // We are root (CAP_SYS_ADMIN), so restrict_self works without no_new_privs; check
    // that apply() leaves it unset and reports that.
    let plan = plan_for(LandlockSpec::default());
    let obs = in_child(|obs| {
        let rep = apply(&plan, false).map_err(|e| e.to_string())?;
        obs.push(("reported_nnp".into(), i32::from(rep.no_new_privs)));
        obs.push(("nnp_now".into(), i32::from(no_new_privs_set())));
        obs.push((
            "enforced".into(),
            i32::from(rep.ruleset == Enforcement::FullyEnforced),
        ));
        // Everything (fs) is denied with empty lists.
        obs.push((
            "read_tmp".into(),
            errno(std::fs::read_dir(std::env::temp_dir())),
        ));
        Ok(())
    });
    assert_eq!(obs.get("reported_nnp"), Some(&0), "{obs:?}");
    assert_eq!(obs.get("nnp_now"), Some(&0), "{obs:?}");
    assert_eq!(obs.get("enforced"), Some(&1), "{obs:?}");
    assert_eq!(obs.get("read_tmp"), Some(&libc::EACCES), "{obs:?}");
}

fn plan_that_enforces_nothing_is_a_no_op() {
    let plan = compile(
        &LandlockSpec {
            enabled: true,
            ..Default::default()
        },
        None,
    )
    .unwrap();
    // No fork needed: nothing is applied, and we check that in this very process.
    let rep = apply(&plan, false).unwrap();
    assert_eq!(rep.ruleset, Enforcement::NotEnforced);
    assert_eq!(rep.plan_outcome, PlanOutcome::Unavailable);
    assert!(std::fs::read_dir(std::env::temp_dir()).is_ok());
}

fn plan_for_newer_abi_than_kernel_is_refused() {
    let mut plan = plan_for(LandlockSpec::default());
    plan.abi = Some(abi() + 1);
    // Refused before any ruleset is built, so it is safe to run in-process.
    assert!(matches!(
        apply(&plan, false),
        Err(ApplyError::AbiMismatch { .. })
    ));
}

/// This module's cases, in the order they are listed and run.
pub fn cases() -> Vec<Case> {
    vec![
        case!(probe_reports_an_abi),
        case!(ro_grant_reads_but_cannot_write_and_sibling_is_denied),
        case!(rw_grant_allows_create_write_rename_truncate_remove),
        case!(connect_tcp_allows_only_listed_port),
        case!(bind_tcp_empty_denies_every_bind),
        case!(scope_abstract_unix_socket),
        case!(scope_signal),
        case!(missing_path_is_an_error_naming_it),
        case!(apply_does_not_set_no_new_privs),
        case!(plan_that_enforces_nothing_is_a_no_op),
        case!(plan_for_newer_abi_than_kernel_is_refused),
    ]
}
