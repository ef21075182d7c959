//! Class 10: setuid binaries gain nothing, capabilities are empty, mount/chroot/pivot_root,
//! keyctl, bpf, perf_event_open and ptrace of jail are refused.
use super::*;

#[test]
fn mount_chroot_pivot_root() {
    each_user(|u| {
        let o = outside_ns(u, &["privfs", "/mnt"]);
        for a in ["mount", "pivot_root", "chroot"] {
            works(&o, a);
        }
        let r = inside(u, &["--env", "ESCAPE_THROWAWAY=1"], &["privfs", "/tmp"]);
        for a in ["mount", "pivot_root", "chroot"] {
            refused(&r, a);
        }
    });
}

#[test]
fn keyctl_bpf_perf_ptrace() {
    each_user(|u| {
        let o = outside(u, &["privk"]);
        works(&o, "keyctl");
        works(&o, "add_key");
        works(&o, "ptrace-attach-child");
        if euid() == 0 {
            // bpf and perf need privilege outside: proven as root.
            let o = outside(&users()[0], &["privk"]);
            works(&o, "bpf");
            works(&o, "perf_event_open");
        }
        let r = inside(u, &[], &["privk", "1"]);
        for a in [
            "keyctl",
            "add_key",
            "bpf",
            "perf_event_open",
            "ptrace-attach-pid",
        ] {
            refused(&r, a);
        }
    });
}

#[test]
fn setuid_gains_nothing() {
    if euid() != 0 {
        eprintln!("SKIPPED: making a setuid-root binary needs root");
        return;
    }
    let Some(u) = unprivileged() else { return };
    let dir = bin_dir();
    let suid = dir.join("attack-suid");
    if !suid.exists() {
        std::fs::copy(dir.join("attack"), &suid).unwrap();
        std::fs::set_permissions(&suid, std::fs::Permissions::from_mode(0o4755)).unwrap();
    }
    let o = host_cmd(&u, &suid.to_string_lossy())
        .arg("euid")
        .output()
        .unwrap();
    assert!(
        text(&o).contains("euid 0 "),
        "proof failed: the setuid copy does not raise euid outside: {}",
        text(&o)
    );
    let r = Jail::new(&u)
        .args([
            "run",
            "--ro-bind",
            &dir.to_string_lossy(),
            "--",
            &suid.to_string_lossy(),
            "euid",
        ])
        .output();
    assert!(
        r.stdout().contains(&format!("euid {} ", u.uid)),
        "ESCAPE: setuid raised privileges inside: {}{}",
        r.stdout(),
        r.stderr()
    );
    let r = sh(&u, &[], "su -c id root </dev/null; id -u");
    assert!(
        !r.stdout().contains("uid=0"),
        "ESCAPE: su gained root: {}",
        r.stdout()
    );
}

#[test]
fn capabilities_empty() {
    each_user(|u| {
        let r = sh(
            u,
            &[],
            "grep -E '^Cap(Eff|Prm|Inh|Bnd|Amb):' /proc/self/status",
        );
        r.ok();
        assert_eq!(
            r.stdout().matches("0000000000000000").count(),
            5,
            "[{}] capabilities left:\n{}",
            u.name,
            r.stdout()
        );
        // Proof: as root outside the sets are full.
        if u.is_root() {
            let o = host_cmd(u, "/bin/grep")
                .args(["^CapEff:", "/proc/self/status"])
                .output()
                .unwrap();
            assert!(
                !text(&o).contains("0000000000000000"),
                "proof failed: {}",
                text(&o)
            );
        }
    });
}
