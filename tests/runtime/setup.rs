//! Setup errors and the doctor.
use super::*;

#[test]
fn setup_error_names_the_step() {
    each_user(|u| {
        let before = mountinfo_lines();
        let m = marker();
        let r = Jail::new(u)
            .args(["run", "--chdir", "/nonexistent", "--", "/bin/sleep", &m])
            .output();
        r.expect_code(125);
        let err = r.stderr();
        let first = err.lines().next().unwrap_or("");
        assert!(
            first.starts_with("jail: error: ")
                && first.contains("chdir")
                && first.contains("ENOENT"),
            "[{}] {err}",
            u.name
        );
        assert!(!err.contains("panicked"));
        assert!(pgrep(&m).is_empty(), "a process is left: {:?}", pgrep(&m));
        assert_eq!(mountinfo_lines(), before, "a mount is left on the host");
        // The same run with a folder that exists works.
        sh(u, &["--chdir", "/usr"], "pwd").ok();
    });
}

#[test]
fn doctor_reports_user_namespaces_ok() {
    each_user(|u| {
        let r = Jail::new(u).args(["doctor"]).output();
        assert!(
            r.stdout()
                .lines()
                .any(|l| l.starts_with("ok") && l.contains("user namespaces")),
            "[{}] {}",
            u.name,
            r.stdout()
        );
        // Every required feature works here for both users, so doctor exits 0. An unprivileged
        // user on a cgroup-v1 host without systemd cannot get cgroup limits: an optional
        // feature, shown as "warn" with a fix, which does not fail the doctor.
        r.ok();
        let text = r.stdout();
        assert!(
            !text.lines().any(|l| l.starts_with("FAIL")),
            "[{}] {text}",
            u.name
        );
        if !u.is_root() {
            let cg = text
                .lines()
                .find(|l| l.contains("cgroup limits"))
                .unwrap_or_default();
            assert!(cg.starts_with("warn"), "[{}] {text}", u.name);
            assert!(
                text.contains("fix: "),
                "[{}] a missing feature comes with its fix: {text}",
                u.name
            );
        }
        let r = Jail::new(u).args(["doctor", "--format", "json"]).output();
        let v: serde_json::Value = serde_json::from_str(&r.stdout()).unwrap();
        let userns = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "user namespaces")
            .unwrap();
        assert_eq!(userns["ok"], true, "{}", r.stdout());
    });
}
