//! Identity.
use super::*;

#[test]
fn uid_root_profile_maps_to_zero_without_capabilities() {
    each_user(|u| {
        let prof = "include = [\"default\"]\n[process]\nuid = \"root\"\n";
        let r = Jail::new(u)
            .profile("asroot", prof)
            .args([
                "run",
                "--profile",
                "asroot",
                "--",
                "/bin/sh",
                "-c",
                "id -u; grep -E '^(CapEff|CapBnd|CapPrm|CapAmb|NoNewPrivs):' /proc/self/status",
            ])
            .output();
        r.ok();
        let out = r.stdout();
        assert_eq!(
            out.lines().next(),
            Some("0"),
            "[{}] uid inside: {out}",
            u.name
        );
        for cap in ["CapEff", "CapBnd", "CapPrm", "CapAmb"] {
            assert!(
                out.contains(&format!("{cap}:\t0000000000000000")),
                "[{}] {cap} not empty:\n{out}",
                u.name
            );
        }
        assert!(out.contains("NoNewPrivs:\t1"), "{out}");
        // Without uid = "root" the caller keeps its own uid (0 for root, its uid otherwise), so
        // for an unprivileged caller the profile is what made the difference.
        let r = sh(u, &[], "id -u");
        r.ok();
        assert_eq!(r.stdout().trim(), u.uid.to_string(), "[{}]", u.name);
    });
}
