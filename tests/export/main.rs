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
        let id = format!("jail-export-{}-{profile}", std::process::id());
        let out = Command::new("runc")
            .args(["run", "--bundle", &b, &id])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let _ = Command::new("runc").args(["delete", "-f", &id]).output();
        assert!(
            out.status.success(),
            "runc: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            inside.stdout(),
            String::from_utf8_lossy(&out.stdout),
            "profile {profile}"
        );
        assert!(inside.stdout().contains("unshare(CLONE_NEWUSER)=EPERM"));
    }
}
