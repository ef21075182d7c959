//! Error messages and exit statuses.
use super::plans::fake_session;
use super::*;

#[test]
fn error_form_is_exact() {
    each_user(|u| {
        let j = Jail::new(u).profile("e", "[filesystem]\nro = [\"${SHELL}/x\"]\n");
        let f = j.cwd.join(".profiles/e.toml").display().to_string();
        let r = j.args(["check", "e"]).output();
        r.expect_code(1);
        assert_eq!(
            r.stderr(),
            format!(
                "jail: error: unknown variable ${{SHELL}}: use ~, ${{HOME}}, ${{USER}}, ${{UID}}, ${{XDG_RUNTIME_DIR}}, ${{XDG_CONFIG_HOME}}, ${{XDG_DATA_HOME}}, ${{PWD}}, or a user folder: ${{DESKTOP}}, ${{DOCUMENTS}}, ${{DOWNLOADS}}, ${{MUSIC}}, ${{PICTURES}}, ${{VIDEOS}}\n  --> {f}:2:7\n  |\n2 | ro = [\"${{SHELL}}/x\"]\n  |       ^^^^^^^^^^^^\n"
            )
        );
        // A syntax error too: the caret sits where the parser stopped.
        let j = Jail::new(u).profile("e", "[process]\nhostname \"x\"\n");
        let f = j.cwd.join(".profiles/e.toml").display().to_string();
        assert_error(&j.args(["check", "e"]).output(), 1, Some((&f, 2, 10)));
        // Multi-byte characters before the error: the column counts characters.
        let j = Jail::new(u).profile("e", "description = \"é ü\"\n[limits]\ncpus = 0\n");
        let f = j.cwd.join(".profiles/e.toml").display().to_string();
        assert_error(&j.args(["check", "e"]).output(), 1, Some((&f, 3, 8)));
    });
}

#[test]
fn check_exit_status() {
    each_user(|u| {
        let j = Jail::new(u)
            .profile("good", "description = \"fine\"\n")
            .profile("bad", "[limits]\ncpus = 0\n");
        let d = j.cwd.join(".profiles");
        let r = Jail::new(u)
            .env("JAIL_PROFILE_PATH", &d)
            .args(["check", "good", "base", "shell", "default"])
            .output();
        r.ok();
        assert!(r.stdout().contains("good: ok"), "{}", r.stdout());
        let r = Jail::new(u)
            .env("JAIL_PROFILE_PATH", &d)
            .args(["check", "good", "bad"])
            .output();
        assert_error(
            &r,
            1,
            Some((&d.join("bad.toml").display().to_string(), 2, 8)),
        );
        let r = Jail::new(u)
            .env("JAIL_PROFILE_PATH", &d)
            .args(["check", "--format", "json", "bad"])
            .output();
        r.expect_code(1);
        let v: Value = serde_json::from_str(&r.stdout()).unwrap();
        assert_eq!(v[0]["valid"], false);
        assert_eq!(v[0]["at"]["line"], 2);
        assert_eq!(v[0]["at"]["column"], 8);
        // With no argument every profile on the path is checked: one bad one fails the lot.
        // (The desktop profiles need a session's sockets to compile: give them a pretend one.)
        let session = fake_session();
        let mut j = Jail::new(u).env("JAIL_PROFILE_PATH", &d).args(["check"]);
        j.cmd.envs(session.clone());
        let r = j.output();
        r.expect_code(1);
        assert!(
            r.stdout().contains("good: ok") && r.stdout().contains("1 invalid"),
            "{}",
            r.stdout()
        );
        std::fs::remove_file(d.join("bad.toml")).unwrap();
        let mut j = Jail::new(u).env("JAIL_PROFILE_PATH", &d).args(["check"]);
        j.cmd.envs(session);
        j.output().ok();
    });
}

#[test]
fn bad_command_line_values_exit_125() {
    each_user(|u| {
        for args in [
            &["--memory", "lots"][..],
            &["--memory", "1K"],
            &["--cpus", "0"],
            &["--pids", "0"],
            &["--net", "sometimes"],
            &["--bind", ":/x"],
            &["--env", "NOEQUALS"],
            &["--hostname", "a/b"],
            &["--tmpfs", "relative"],
            &["--chdir", "${NOPE}"],
        ] {
            let mut a = vec!["run"];
            a.extend_from_slice(args);
            a.extend_from_slice(&["--", "/bin/true"]);
            let r = Jail::new(u).args(&a).output();
            let err = assert_error(&r, 125, None);
            assert!(
                err.contains("command line") || err.lines().count() == 1,
                "{args:?}: {err}"
            );
        }
    });
}
