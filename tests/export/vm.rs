//! The bundles under runc and crun on the host crun is made for: the systemd + cgroup v2 guest of
//! tests/vm (its image has Debian 12's runc and crun). tests/export/guest.sh compares the probe's
//! facts inside `jail run` and inside the exported bundle under each runtime, for profiles with
//! and without cgroup limits (pandoc's pids, `--memory 64MiB`). Boots a VM, so it runs only with JAIL_TEST_VM=1 (CI sets it).
use super::common::*;
use super::{probe_dir, PATHS};
use std::path::Path;
use std::process::Command;

#[test]
fn runc_and_crun_run_the_bundles_in_a_cgroup_v2_guest() {
    if std::env::var("JAIL_TEST_VM").as_deref() != Ok("1") {
        eprintln!(
            "SKIPPED: the guest runs of runc and crun need JAIL_TEST_VM=1 (boots a QEMU guest)"
        );
        return;
    }
    if !need("cc") || !need("base64") {
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = probe_dir("vm", &["-static"]);
    let b64 = Command::new("base64")
        .arg("-w0")
        .arg(dir.join("probe"))
        .output()
        .unwrap();
    assert!(b64.status.success());
    let body = std::fs::read_to_string(root.join("tests/export/guest.sh")).unwrap();
    let (shebang, rest) = body.split_once('\n').unwrap();
    let script = format!(
        "{shebang}\nPROBE_B64='{}'\nNS_NAMES='user pid mnt ipc uts net cgroup'\nPATHS='{}'\nPROFILES='default pandoc curl default:--memory=64MiB'\n{rest}",
        String::from_utf8_lossy(&b64.stdout),
        PATHS.join(" ")
    );
    let guest = dir.join("guest.sh");
    std::fs::write(&guest, script).unwrap();
    std::fs::set_permissions(&guest, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = Command::new(root.join("tests/vm/run.sh"))
        .arg(&guest)
        .env("JAIL_BIN", env!("CARGO_BIN_EXE_jail"))
        .env_remove("JAIL_VM_MODES")
        .current_dir(root)
        .output()
        .expect("starting tests/vm/run.sh");
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "the guest run failed ({})",
        out.status
    );
    for p in ["default", "pandoc", "curl", "default:--memory=64MiB"] {
        for rt in ["runc", "crun"] {
            let want = format!("PASS {p}: jail run and {rt} print the same");
            assert!(text.contains(&want), "{want}");
        }
    }
    assert!(
        text.contains("pids=fork EAGAIN with 128 processes"),
        "pandoc's pids limit"
    );
    // cgroup v2: the whole sandbox is ended (memory.oom.group), in jail and in the bundles.
    for rt in ["runc", "crun"] {
        let want = format!("PASS default:--memory=64MiB: jail run and {rt} print the same");
        let line = text.lines().find(|l| l.starts_with(&want)).unwrap();
        assert!(line.ends_with("(exit 137, 137)"), "{line}");
    }
}
