//! The first things a user notices: no capabilities, no_new_privs, and exit statuses.
use super::*;

#[test]
fn capabilities_empty_and_no_new_privs() {
    each_user(|u| {
        let r = sh(
            u,
            &[],
            "grep -E '^(CapEff|CapPrm|CapInh|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status",
        );
        r.ok();
        let s = r.stdout();
        for cap in ["CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb"] {
            assert!(
                s.contains(&format!("{cap}:\t0000000000000000")),
                "[{}] {cap} not empty:\n{s}",
                u.name
            );
        }
        assert!(s.contains("NoNewPrivs:\t1"), "{s}");
        assert!(s.contains("Seccomp:\t2"), "{s}");
    });
}

#[test]
fn exit_statuses() {
    each_user(|u| {
        sh(u, &[], "exit 0").expect_code(0);
        sh(u, &[], "exit 7").expect_code(7);
        sh(u, &[], "kill -TERM $$").expect_code(143);
        let r = Jail::new(u)
            .args(["run", "--", "/no/such/program"])
            .output();
        r.expect_code(127);
        assert!(r.stderr().contains("not found"), "{}", r.stderr());
        let r = Jail::new(u).args(["run", "--", "/etc/hostname"]).output();
        r.expect_code(126);
        let r = Jail::new(u)
            .args(["run", "--profile", "no-such-profile", "--", "/bin/true"])
            .output();
        r.expect_code(125);
        assert!(r.stderr().starts_with("jail: error: "), "{}", r.stderr());
    });
}
