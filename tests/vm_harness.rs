//! The cgroup v2 and systemd user scope back ends need a machine this CI host is not: systemd as
//! PID 1, cgroup v2, a logged-in user with a systemd user manager. tests/vm/run.sh boots one
//! (Debian 12 under QEMU, image cached in $JAIL_VM_CACHE or tests/vm/cache/) and runs
//! tests/vm/guest-tests.sh in it, as root (v2 back end) and as an unprivileged lingering user
//! (systemd user scope): fork storm under --pids, OOM kill under --memory, CPU share under
//! --cpus, and no cgroup, scope or process left after many launches (200 under KVM, 30 under
//! TCG emulation) or after SIGKILL of jail. KVM is used when a probe boot of the guest kernel
//! works with it; otherwise run.sh says why and falls back to TCG.
//!
//! The user boot also installs the Debian package (built with `cargo deb`, tests/common/deb.rs)
//! with dpkg -i and uses it as that user: a sandbox, `man jail`, bash completion, `jail list`
//! from /usr/share/jail/profiles, `jail doctor`'s AppArmor line and menu wrappers that call
//! /usr/bin/jail.
//!
//! It takes minutes, so it runs only when JAIL_TEST_VM=1 (CI sets it) and fails when the guest
//! reports any FAIL or gives no result (a timeout names the last step the guest reached).
//! Without it the test says it skipped.

mod common;

use std::path::Path;
use std::process::Command;

#[test]
fn limits_in_a_systemd_cgroup_v2_guest() {
    if std::env::var("JAIL_TEST_VM").as_deref() != Ok("1") {
        eprintln!(
            "SKIPPED: the VM test (cgroup v2 + systemd user scope limits) runs only with \
             JAIL_TEST_VM=1; it boots a Debian 12 guest under QEMU and takes minutes"
        );
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut run = Command::new(root.join("tests/vm/run.sh"));
    if let Some(deb) = common::deb::package() {
        run.env("JAIL_DEB", deb);
    }
    let status = run
        .env("JAIL_BIN", env!("CARGO_BIN_EXE_jail"))
        .current_dir(root)
        .status()
        .expect("starting tests/vm/run.sh");
    assert!(
        status.success(),
        "the VM test failed ({status}); its output above has the FAIL lines"
    );
}
