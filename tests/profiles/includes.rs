//! Includes: cycles, depth, missing.
use super::*;

#[test]
fn include_cycle_names_the_cycle_and_points_at_the_include() {
    each_user(|u| {
        let j = Jail::new(u)
            .profile("a", "description = \"a\"\ninclude = [\"b\"]\n")
            .profile("b", "# b pulls a back in\ninclude = [\"a\"]\n");
        let dir = j.cwd.join(".profiles");
        let r = j.args(["check", "a"]).output();
        let err = assert_error(
            &r,
            1,
            Some((&dir.join("b.toml").display().to_string(), 2, 12)),
        );
        assert!(err.contains("include cycle: a → b → a"), "{err}");
        let r = Jail::new(u)
            .profile("a", "include = [\"b\"]\n")
            .profile("b", "include = [\"a\"]\n")
            .args(["run", "--profile", "a", "--", "/bin/true"])
            .output();
        assert_error(&r, 125, None);
        // Control: without the back edge both are fine.
        Jail::new(u)
            .profile("a", "include = [\"b\"]\n")
            .profile("b", "")
            .args(["check", "a"])
            .output()
            .ok();
    });
}

#[test]
fn include_depth_is_bounded() {
    each_user(|u| {
        let chain = |n: usize| {
            let mut j = Jail::new(u);
            for i in 0..n {
                j = j.profile(&format!("l{i}"), &format!("include = [\"l{}\"]\n", i + 1));
            }
            j.profile(&format!("l{n}"), "description = \"bottom\"\n")
        };
        let r = chain(40).args(["check", "l0"]).output();
        let err = assert_error(&r, 1, None);
        assert!(err.contains("nested deeper than"), "{err}");
        assert!(
            err.contains("  --> "),
            "the error points at an include line: {err}"
        );
        let r = chain(40)
            .args(["run", "--profile", "l0", "--", "/bin/true"])
            .output();
        assert_error(&r, 125, None);
        // A reasonable chain is fine.
        chain(10).args(["check", "l0"]).output().ok();
    });
}

#[test]
fn include_of_missing_profile_points_at_the_include() {
    each_user(|u| {
        let j = Jail::new(u).profile("p", "description = \"x\"\ninclude = [\"base\", \"nope\"]\n");
        let f = j.cwd.join(".profiles/p.toml").display().to_string();
        let err = assert_error(&j.args(["check", "p"]).output(), 1, Some((&f, 2, 20)));
        assert!(err.contains("no profile named \"nope\""), "{err}");
    });
}
