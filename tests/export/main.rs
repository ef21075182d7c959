//! `jail export oci`: the bundle of a shipped profile, started by runc, shows the same isolation
//! facts as `jail run` (tests/export/probe.c prints them). Known difference, documented in the
//! README: files others may not read under a grant (`/etc/shadow`) are masked by jail only.
#[path = "../common/mod.rs"]
mod common;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

fn probe_dir() -> TempDir {
    let dir = TempDir(std::path::PathBuf::from(format!(
        "/tmp/jail-export-{}",
        std::process::id()
    )));
    std::fs::create_dir_all(&dir.0).unwrap();
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/export/probe.c");
    let out = Command::new("cc")
        .args(["-O1", "-o"])
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

#[test]
fn runc_runs_the_bundle_with_the_same_facts() {
    if euid() != 0 {
        eprintln!("SKIPPED: runc bundles are started as root here");
        return;
    }
    if !need("runc") || !need("cc") {
        return;
    }
    let dir = probe_dir();
    let probe = dir.join("probe").display().to_string();
    let ns: String = ["user", "pid", "mnt", "ipc", "uts", "net", "cgroup"]
        .iter()
        .map(|n| {
            use std::os::unix::fs::MetadataExt;
            format!(
                "{n}:{},",
                std::fs::metadata(format!("/proc/self/ns/{n}"))
                    .unwrap()
                    .ino()
            )
        })
        .collect();
    let root = users().into_iter().find(|u| u.is_root()).unwrap();
    for profile in ["default", "shell"] {
        let bind = dir.display().to_string();
        let args = [
            probe.as_str(),
            &ns,
            "/etc",
            "/usr",
            "/root",
            "/tmp",
            "/proc/sys",
            "/home",
        ];
        let mut run = vec!["run", "--profile", profile, "--ro-bind", &bind, "--"];
        run.extend(args);
        let inside = Jail::new(&root).args(&run).output();
        inside.ok();
        let bundle = TempDir::new(&root);
        let b = bundle.display().to_string();
        let mut exp = vec![
            "export",
            "oci",
            "--profile",
            profile,
            "--ro-bind",
            &bind,
            "--bundle",
            &b,
            "--",
        ];
        exp.extend(args);
        Jail::new(&root).args(&exp).output().ok();
        let out = runc_run(&b, &format!("jail-export-{}-{profile}", std::process::id()));
        assert_eq!(
            inside.stdout(),
            String::from_utf8_lossy(&out.stdout),
            "profile {profile}"
        );
        assert!(inside.stdout().contains("unshare(CLONE_NEWUSER)=EPERM"));
    }
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
    let out = runc_run(&b, &format!("jail-export-rro-{}", std::process::id()));
    let want = format!("{ro_s}/sub/x:refused\n{ro_s}/y:refused\n");
    assert_eq!(run.stdout(), want, "jail run");
    assert_eq!(String::from_utf8_lossy(&out.stdout), want, "runc");
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

/// `runc run --bundle BUNDLE ID`, the container removed afterwards; it must succeed.
fn runc_run(bundle: &str, id: &str) -> std::process::Output {
    let out = Command::new("runc")
        .args(["run", "--bundle", bundle, id])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let _ = Command::new("runc").args(["delete", "-f", id]).output();
    assert!(
        out.status.success(),
        "runc: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
