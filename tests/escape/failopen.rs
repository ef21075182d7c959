//! Class 13: when a requested protection cannot be applied, jail refuses to run.
use super::*;

#[test]
fn required_limit_without_cgroup_refuses() {
    let Some(u) = unprivileged() else {
        return eprintln!("SKIPPED: no unprivileged user");
    };
    let r = Jail::new(&u)
        .args(["run", "--pids", "20", "--", "/bin/true"])
        .output();
    r.expect_code(125);
    assert!(r.stderr().starts_with("jail: error: "), "{}", r.stderr());
    // Proof that the refusal is the limit's: best-effort runs.
    let dir = tempdir(&u);
    let p = profile_file(
        &u,
        &dir,
        "be",
        "include = [\"base\"]\n[limits]\npids = 20\nenforce = \"best-effort\"\n",
    );
    Jail::new(&u)
        .args(["run", "--chdir", "/", "--profile", &p, "--", "/bin/true"])
        .output()
        .ok();
}

#[test]
fn unknown_requirement_refuses() {
    each_user(|u| {
        let dir = tempdir(u);
        let p = profile_file(
            u,
            &dir,
            "ll",
            "include = [\"base\"]\n[landlock]\ncompat = \"hard\"\nscope = [\"no-such-scope\"]\n",
        );
        let r = Jail::new(u)
            .args(["run", "--chdir", "/", "--profile", &p, "--", "/bin/true"])
            .output();
        r.expect_code(125);
        let p = profile_file(
            u,
            &dir,
            "ll2",
            "include = [\"base\"]\n[landlock]\ncompat = \"hard\"\n",
        );
        Jail::new(u)
            .args(["run", "--chdir", "/", "--profile", &p, "--", "/bin/true"])
            .output()
            .ok();
    });
}

#[test]
fn missing_required_path_refuses() {
    each_user(|u| {
        let r = Jail::new(u)
            .args([
                "run",
                "--ro-bind",
                "/no/such/path-escape",
                "--",
                "/bin/true",
            ])
            .output();
        r.expect_code(125);
        let dir = tempdir(u);
        let p = profile_file(
            u,
            &dir,
            "opt",
            "include = [\"base\"]\n[filesystem]\nro = [\"?/no/such/path-escape\"]\n",
        );
        Jail::new(u)
            .args(["run", "--chdir", "/", "--profile", &p, "--", "/bin/true"])
            .output()
            .ok();
        let p = profile_file(
            u,
            &dir,
            "req",
            "include = [\"base\"]\n[filesystem]\nro = [\"/no/such/path-escape\"]\n",
        );
        Jail::new(u)
            .args(["run", "--chdir", "/", "--profile", &p, "--", "/bin/true"])
            .output()
            .expect_code(125);
    });
}
