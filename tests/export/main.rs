//! `jail export oci`: the bundles of shipped profiles, started by runc and by crun, show the same
//! isolation facts as `jail run` (tests/export/probe.c prints them: capabilities, no_new_privs,
//! namespaces, paths, denied syscalls' errnos, rlimits, the pids limit); runc also rootless as
//! the unprivileged user. engines.rs: the seccomp JSON in podman, the Pod against the Kubernetes
//! schema. Known differences, documented in the README ("Taking a profile to a cluster"): files
//! others may not read under a grant (`/etc/shadow`) are masked by jail only (not among the
//! probed paths); Landlock rules are jail's only (the probed paths are decided by the mounts).
#[path = "../common/mod.rs"]
mod common;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

mod engines;
mod vm;

/// A world-readable folder holding the probe, built from tests/export/probe.c (`static`: also
/// for image roots without a libc, such as the podman test's).
fn probe_dir(tag: &str, link: &[&str]) -> TempDir {
    let dir = TempDir(std::path::PathBuf::from(format!(
        "/tmp/jail-export-{tag}-{}",
        std::process::id()
    )));
    std::fs::create_dir_all(&dir.0).unwrap();
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/export/probe.c");
    let out = Command::new("cc")
        .args(["-O1", "-Wall"])
        .args(link)
        .arg("-o")
        .arg(dir.join("probe"))
        .arg(src)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

/// runc 1.1 is a Go program, and Go (1.19 and later) raises its soft RLIMIT_NOFILE to the hard
/// limit; runc 1.1.5 passes that on to the container when the bundle sets no nofile limit, while
/// `jail run` and crun keep the caller's. Everything here starts with soft = hard, so the line
/// compares (README: "Taking a profile to a cluster").
fn nofile_soft_at_hard() {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit on a local struct; no other thread depends on this limit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 && r.rlim_cur != r.rlim_max {
            r.rlim_cur = r.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}

/// The caller's namespaces, as the probe's first argument.
fn host_ns() -> String {
    use std::os::unix::fs::MetadataExt;
    ["user", "pid", "mnt", "ipc", "uts", "net", "cgroup"]
        .iter()
        .map(|n| {
            let ino = std::fs::metadata(format!("/proc/self/ns/{n}"))
                .unwrap()
                .ino();
            format!("{n}:{ino},")
        })
        .collect()
}

/// The paths the probe reports on: system folders granted read-only, the private home and /tmp,
/// what the bundle masks or makes read-only, what is not there at all.
pub const PATHS: &[&str] = &[
    "/etc",
    "/usr",
    "/root",
    "/tmp",
    "/home",
    "/proc/sys",
    "/proc/kcore",
    "/proc/sysrq-trigger",
    "/sys",
    "/var",
    "/etc/hostname",
];

/// Shipped profiles with different shapes, with options for both `jail run` and the export: the
/// defaults, a shell, cgroup limits (pandoc: memory 2 GiB, pids 128; `--memory 64MiB`), the
/// host's network (curl).
const CASES: &[(&str, &[&str])] = &[
    ("default", &[]),
    ("shell", &[]),
    ("pandoc", &[]),
    ("curl", &[]),
    ("default", &["--memory", "64MiB"]),
];

/// The probe inside `jail run --profile P`, and inside P's exported bundle under runc and crun,
/// prints the same facts. As root: these bundles keep the caller's ids (uid 0), which the
/// runtimes start only as root (the rootless run is `runc_rootless_runs_a_bundle_as_the_user`).
#[test]
fn runc_and_crun_run_the_bundles_with_the_same_facts() {
    if euid() != 0 {
        eprintln!("SKIPPED: runc and crun start bundles with the caller's ids only as root");
        return;
    }
    if !need("runc") || !need("crun") || !need("cc") {
        return;
    }
    nofile_soft_at_hard();
    let dir = probe_dir("facts", &[]);
    let probe = dir.join("probe").display().to_string();
    let ns = host_ns();
    let root = users().into_iter().find(|u| u.is_root()).unwrap();
    let bind = dir.display().to_string();
    let mut args = vec![probe.as_str(), &ns];
    args.extend(PATHS);
    for (profile, opts) in CASES {
        let mut run = vec!["run", "--profile", profile, "--ro-bind", &bind];
        run.extend(*opts);
        run.push("--");
        run.extend(&args);
        let inside = Jail::new(&root).args(&run).output();
        inside.ok();
        let facts = inside.stdout();
        let bundle = TempDir::new(&root);
        let b = bundle.display().to_string();
        let mut exp = vec!["export", "oci", "--profile", profile, "--ro-bind", &bind];
        exp.extend(*opts);
        exp.extend(["--bundle", &b, "--"]);
        exp.extend(&args);
        Jail::new(&root).args(&exp).output().ok();
        let id = format!("jail-export-{}-{profile}", std::process::id());
        let runc = runc_run(&b, &id, None);
        assert_eq!(facts, runc, "profile {profile} {opts:?}: jail run vs runc");
        let crun = crun_run(&b, &id);
        assert_eq!(facts, crun, "profile {profile} {opts:?}: jail run vs crun");
        // What the comparison stands on, seen from inside.
        for want in [
            "CapEff=0000000000000000",
            "NoNewPrivs=1",
            "Seccomp=2",
            "ns pid=new",
            "ns user=new",
            "unshare(CLONE_NEWUSER)=EPERM",
            "clone3=ENOSYS",
            "fchmod(S_ISUID)=EPERM",
            "path /usr=ro",
            "path /sys=missing",
        ] {
            assert!(
                facts.lines().any(|l| l == want),
                "{profile}: {want}\n{facts}"
            );
        }
        let memory = if opts.is_empty() {
            "touched"
        } else {
            "killed by KILL"
        };
        assert!(
            facts.contains(&format!("memory 96MiB={memory}\n")),
            "{profile} {opts:?}\n{facts}"
        );
        let net = if *profile == "curl" { "host" } else { "new" };
        assert!(
            facts.contains(&format!("ns net={net}\n")),
            "{profile}\n{facts}"
        );
        if *profile == "pandoc" {
            assert!(
                facts.contains("pids=fork EAGAIN with 128 processes\n"),
                "{facts}"
            );
        } else {
            assert!(facts.contains("pids=more than 400\n"), "{profile}\n{facts}");
        }
    }
}

/// As the unprivileged user: `jail export oci` writes the bundle, and `runc --root DIR` starts it
/// rootless (its own user namespace, no cgroup). runc 1.1 needs uid 0 inside to be mapped
/// ("User namespaces enabled, but no user mapping found."), while jail keeps the user's own uid
/// inside; so the mapping is turned into 0 -> the user, as a user of rootless runc does, and the
/// facts are the same but for the `uid=` line.
#[test]
fn runc_rootless_runs_a_bundle_as_the_user() {
    let Some(user) = unprivileged() else {
        eprintln!("SKIPPED: no unprivileged user (JAIL_TEST_USER)");
        return;
    };
    if !need("runc") || !need("cc") {
        return;
    }
    nofile_soft_at_hard();
    let dir = probe_dir("rootless", &[]);
    let probe = dir.join("probe").display().to_string();
    let ns = host_ns();
    let bind = dir.display().to_string();
    let mut args = vec![probe.as_str(), &ns];
    args.extend(PATHS);
    let mut run = vec!["run", "--profile", "default", "--ro-bind", &bind, "--"];
    run.extend(&args);
    let inside = Jail::new(&user).args(&run).output();
    inside.ok();
    let work = TempDir::new(&user);
    let b = work.join("bundle").display().to_string();
    let mut exp = vec![
        "export",
        "oci",
        "--profile",
        "default",
        "--ro-bind",
        &bind,
        "--bundle",
        &b,
        "--",
    ];
    exp.extend(&args);
    Jail::new(&user).args(&exp).output().ok();
    let cfg_path = work.join("bundle/config.json");
    assert_eq!(owner(&cfg_path), user.uid);
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cfg_path).unwrap()).unwrap();
    let id = |n: u32| serde_json::json!([{"containerID": 0, "hostID": n, "size": 1}]);
    assert_eq!(
        cfg["linux"]["uidMappings"][0]["containerID"], user.uid,
        "jail maps the user onto itself"
    );
    cfg["linux"]["uidMappings"] = id(user.uid);
    cfg["linux"]["gidMappings"] = id(user.gid);
    cfg["process"]["user"] = serde_json::json!({"uid": 0, "gid": 0});
    std::fs::write(&cfg_path, serde_json::to_vec(&cfg).unwrap()).unwrap();
    let state = work.join("runc-state").display().to_string();
    let ours = format!("uid={} gid={}\n", user.uid, user.gid);
    let runc = runc_run(&b, "jail-export-rootless", Some((&user, &state)));
    assert!(inside.stdout().contains(&ours), "{}", inside.stdout());
    assert_eq!(
        inside.stdout().replace(&ours, "uid=0 gid=0\n"),
        runc,
        "jail run vs rootless runc"
    );
}

/// A mount under a read-only grant is read-only in the bundle too (`rro`), as in `jail run`.
#[test]
fn runc_keeps_mounts_under_a_read_only_grant_read_only() {
    if euid() != 0 {
        eprintln!("SKIPPED: runc bundles are started as root here");
        return;
    }
    if !need("runc") {
        return;
    }
    let root = users().into_iter().find(|u| u.is_root()).unwrap();
    let dir = TempDir::new(&root);
    let ro = dir.join("rodir");
    let sub = ro.join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    let m = Command::new("mount")
        .args(["-t", "tmpfs", "tmpfs"])
        .arg(&sub)
        .status()
        .unwrap();
    assert!(m.success());
    struct Umount(std::path::PathBuf);
    impl Drop for Umount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _mounted = Umount(sub.clone());
    let ro_s = ro.display().to_string();
    let script = format!(
        "for f in {ro_s}/sub/x {ro_s}/y; do if touch $f 2>/dev/null; then echo $f:written; else echo $f:refused; fi; done"
    );
    let run = sh(
        &root,
        &["--profile", "default", "--ro-bind", &ro_s],
        &script,
    );
    let bundle = TempDir::new(&root);
    let b = bundle.display().to_string();
    Jail::new(&root)
        .args([
            "export",
            "oci",
            "--profile",
            "default",
            "--ro-bind",
            &ro_s,
            "--bundle",
            &b,
            "--",
            "/bin/sh",
            "-c",
            &script,
        ])
        .output()
        .ok();
    let id = format!("jail-export-rro-{}", std::process::id());
    let want = format!("{ro_s}/sub/x:refused\n{ro_s}/y:refused\n");
    assert_eq!(run.stdout(), want, "jail run");
    assert_eq!(runc_run(&b, &id, None), want, "runc");
    if need("crun") {
        assert_eq!(crun_run(&b, &id), want, "crun");
    }
    assert!(!sub.join("x").exists());
}

/// An existing bundle whose rootfs/ or files/ is a symlink (or holds something) is refused:
/// nothing is written, removed or made through it.
#[test]
fn export_refuses_a_bundle_that_leads_elsewhere() {
    each_user(|u| {
        let dir = TempDir::new(u);
        let victim = dir.join("victim");
        std::fs::create_dir(&victim).unwrap();
        let own = |p: &std::path::Path| {
            if euid() == 0 {
                std::os::unix::fs::lchown(p, Some(u.uid), Some(u.gid)).unwrap();
            }
        };
        own(&victim);
        write_file(u, &victim, "bin", "important\n");
        for (name, link) in [("rootfs", true), ("files", true), ("rootfs", false)] {
            let b = dir.join(format!("b-{name}-{link}"));
            std::fs::create_dir(&b).unwrap();
            own(&b);
            let p = b.join(name);
            if link {
                std::os::unix::fs::symlink("../victim", &p).unwrap();
            } else {
                std::fs::create_dir(&p).unwrap();
                write_file(u, &p, "left", "");
            }
            own(&p);
            let bs = b.display().to_string();
            let r = Jail::new(u)
                .args(["export", "oci", "--bundle", &bs, "--", "/bin/true"])
                .output();
            r.expect_code(125);
            let err = r.stderr();
            assert!(
                err.lines().any(|l| l.starts_with("jail: error: ")
                    && l.contains(name)
                    && l.contains("--bundle")),
                "{err}"
            );
            assert_eq!(
                std::fs::read_to_string(victim.join("bin")).unwrap(),
                "important\n",
                "{name}"
            );
            assert_eq!(std::fs::read_dir(&victim).unwrap().count(), 1, "{name}");
            assert!(!b.join("config.json").exists(), "{name}");
        }
    });
}

/// The Pod: read-only grants are recursively read-only, and a symlink where a file is written
/// is replaced, not followed.
#[test]
fn kubernetes_export_keeps_grants_read_only_and_writes_no_symlink() {
    each_user(|u| {
        let dir = TempDir::new(u);
        let victim = write_file(u, &dir, "victim", "important\n");
        let out = dir.join("out");
        std::fs::create_dir(&out).unwrap();
        if euid() == 0 {
            std::os::unix::fs::chown(&out, Some(u.uid), Some(u.gid)).unwrap();
        }
        let yaml = out.join("jail-default.yaml");
        std::os::unix::fs::symlink(&victim, &yaml).unwrap();
        let o = out.display().to_string();
        let r = Jail::new(u)
            .args([
                "export",
                "kubernetes",
                "--profile",
                "default",
                "--ro-bind",
                "/usr",
                "--out",
                &o,
                "--",
                "/bin/true",
            ])
            .output();
        r.ok();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "important\n");
        assert!(!std::fs::symlink_metadata(&yaml).unwrap().is_symlink());
        let pod = std::fs::read_to_string(&yaml).unwrap();
        let lines: Vec<&str> = pod.lines().map(str::trim).collect();
        let at = lines
            .iter()
            .position(|l| l.ends_with("mountPath: \"/usr\""))
            .unwrap_or_else(|| panic!("{pod}"));
        assert!(
            lines[at..at + 4].contains(&"recursiveReadOnly: \"Enabled\""),
            "{pod}"
        );
    });
}

/// `runc run --bundle BUNDLE ID` (as `rootless` = (user, state folder) with `--root`), the
/// container removed afterwards; it must succeed. Its stdout.
fn runc_run(bundle: &str, id: &str, rootless: Option<(&User, &str)>) -> String {
    let runc = |args: &[&str]| {
        let mut c = match rootless {
            Some((u, state)) => {
                let mut c = session_command("runc", u, std::path::Path::new("/"));
                c.args(["--root", state]);
                c
            }
            None => Command::new("runc"),
        };
        c.args(args).stdin(Stdio::null()).output().unwrap()
    };
    let out = runc(&["run", "--bundle", bundle, id]);
    let _ = runc(&["delete", "-f", id]);
    assert!(
        out.status.success(),
        "runc: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `crun run --bundle BUNDLE ID`, the container removed afterwards; it must succeed. crun 1.8
/// refuses a hybrid cgroup host whose cgroup2 mount has any controller ("cgroups in hybrid mode
/// not supported, drop all controllers from cgroupv2"; such a host has hugetlb there), even
/// with --cgroup-manager=disabled; it is then started in a private mount namespace without
/// that mount, where it sees a cgroup v1 host (the v1 controllers, which hold the limits, are
/// the same).
fn crun_run(bundle: &str, id: &str) -> String {
    let crun = |wrap: bool, args: &[&str]| {
        let mut c = if wrap {
            let mut c = Command::new("unshare");
            c.args(["--mount", "--propagation", "private", "sh", "-c"])
                .arg("umount /sys/fs/cgroup/unified && exec crun \"$@\"")
                .arg("crun");
            c
        } else {
            Command::new("crun")
        };
        c.args(args).stdin(Stdio::null()).output().unwrap()
    };
    let mut out = crun(false, &["run", "--bundle", bundle, id]);
    let hybrid = String::from_utf8_lossy(&out.stderr).contains("hybrid mode not supported");
    if hybrid {
        eprintln!("note: crun refuses this hybrid cgroup host; started without its cgroup2 mount");
        let _ = crun(false, &["delete", "-f", id]);
        out = crun(true, &["run", "--bundle", bundle, id]);
    }
    let _ = crun(hybrid, &["delete", "-f", id]);
    assert!(
        out.status.success(),
        "crun: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
