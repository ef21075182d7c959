//! Hostile profiles and programs (review of hostile input).
use super::*;

/// Without --profile, only a program the system installed gets the profile named after it: a
/// script of the caller's own named `curl` (relative, or absolute in a folder the caller can
/// write) gets `default`, not the shipped `curl` profile's host network. A profile picked by
/// the name is said on stderr (unless -q).
#[test]
fn profile_is_picked_by_name_only_for_system_programs() {
    each_user(|u| {
        let j = Jail::new(u);
        let cwd = j.cwd.clone();
        let script = write_file(u, &cwd, "curl", "#!/bin/sh\necho mine\n");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let abs = script.display().to_string();
        let explain = |cmd: &str, quiet: bool| {
            let mut a = vec!["explain"];
            if quiet {
                a.push("-q");
            }
            a.extend(["--format", "json", "--", cmd]);
            let mut j = Jail::new(u).args(a);
            j.cmd.current_dir(&cwd);
            let r = j.output();
            r.ok();
            let v: Value = serde_json::from_str(&r.stdout()).unwrap();
            (v["profile"].as_str().unwrap().to_string(), r.stderr())
        };
        for cmd in ["./curl", abs.as_str()] {
            let (p, err) = explain(cmd, false);
            assert_eq!(
                p, "default",
                "[{}] {cmd} is the caller's own: {err}",
                u.name
            );
            assert!(!err.contains("picked by"), "[{}] {cmd}: {err}", u.name);
        }
        // A bare name (looked up on PATH) and an absolute path only root can change keep the
        // profile of their name, and say so in one line.
        let (p, err) = explain("curl", false);
        assert_eq!(p, "curl", "[{}] {err}", u.name);
        assert_eq!(
            err, "jail: using profile curl (picked by the command's name; --profile to choose)\n",
            "[{}]",
            u.name
        );
        let (_, quiet) = explain("curl", true);
        assert_eq!(quiet, "", "[{}] -q prints nothing", u.name);
        let r = Jail::new(u)
            .profile("true", "description = \"mine\"\n")
            .args(["explain", "--format", "json", "--", "/bin/true"])
            .output();
        r.ok();
        assert!(
            r.stdout().contains("\"profile\": \"true\""),
            "{}",
            r.stdout()
        );
        assert!(r.stderr().contains("using profile true"), "{}", r.stderr());
    });
}

/// A profile's text is shown, never obeyed by the terminal: control characters and bidi
/// overrides in a description, a path, an env value or a key come out as visible escapes in
/// `explain`, `list`, `check`, `audit` and error messages; `explain` shows env values.
#[test]
fn terminal_controls_from_a_profile_are_escaped_everywhere() {
    const HOSTILE: &str = "description = \"A harmless viewer\\u001b[8m hidden \\u202e reversed\"\n\
        [env]\nset = { LD_PRELOAD = \"/tmp/x.so\\u001b[1A\\u001b[2K\\r\", EVIL = \"\\u009b2J\" }\n\
        [filesystem]\ntmpfs = [\"/scratch-\\u001b[2K\\u2066\"]\n";
    let raw = |s: &str| {
        s.chars().find(|c| {
            matches!(c, '\0'..='\x09' | '\x0b'..='\x1f' | '\x7f'..='\u{9f}'
                | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
    };
    each_user(|u| {
        let j = || Jail::new(u).profile("hostile", HOSTILE);
        for args in [
            &["explain", "--profile", "hostile", "--", "/bin/true"][..],
            &[
                "explain",
                "--format",
                "json",
                "--profile",
                "hostile",
                "--",
                "/bin/true",
            ],
            &["list"],
            &["list", "--format", "json"],
            &["audit", "hostile"],
            &["audit", "--format", "json", "hostile"],
            &["check", "hostile"],
        ] {
            let r = j().args(args).output();
            r.ok();
            let (out, err) = (r.stdout(), r.stderr());
            assert_eq!(raw(&out), None, "[{}] {args:?} stdout:\n{out:?}", u.name);
            assert_eq!(raw(&err), None, "[{}] {args:?} stderr:\n{err:?}", u.name);
            if !args.contains(&"check") {
                assert!(
                    out.contains("A harmless viewer\\x1b[8m hidden \\u{202e} reversed")
                        || out.contains("A harmless viewer\\u001b[8m hidden \\u202e reversed"),
                    "[{}] {args:?}: the description is shown escaped:\n{out}",
                    u.name
                );
            }
            if args.contains(&"json") {
                // Still the same JSON values.
                let v: Value = serde_json::from_str(&out).unwrap();
                assert!(v.to_string().contains("viewer"), "{v}");
                if args[0] == "explain" {
                    assert_eq!(v["env"]["EVIL"], "\u{9b}2J");
                }
            }
        }
        let r = j()
            .args(["explain", "--profile", "hostile", "--", "/bin/true"])
            .output();
        let out = r.stdout();
        assert!(
            out.lines()
                .any(|l| l.trim() == "LD_PRELOAD=/tmp/x.so\\x1b[1A\\x1b[2K\\x0d"),
            "[{}] explain shows env values:\n{out}",
            u.name
        );
        assert!(
            out.contains("/scratch-\\x1b[2K\\u{2066}: empty tmpfs"),
            "{out}"
        );

        // Error messages: a key and a line of a broken profile.
        let r = Jail::new(u)
            .profile("bad", "\"\\u001b[2Kevil\" = 1\nx = \u{1b}[8m\u{202e}\n")
            .args(["check", "bad"])
            .output();
        r.expect_code(1);
        let err = r.stderr();
        assert_eq!(raw(&err), None, "[{}] {err:?}", u.name);
        let r = Jail::new(u)
            .profile("bad", "\"\\u001b[2Kevil\" = 1\n")
            .args(["run", "--profile", "bad", "--", "/bin/true"])
            .output();
        let err = assert_error(&r, 125, None);
        assert_eq!(raw(&err), None, "[{}] {err:?}", u.name);
        assert!(err.contains("\\x1b[2Kevil"), "[{}] {err}", u.name);
    });
}

/// Writes a diamond of `n` levels: `dI.toml` includes `d(I+1).toml` twice, by two spellings.
fn diamond(u: &User, dir: &Path, n: usize) -> PathBuf {
    for i in 0..n {
        write_file(
            u,
            dir,
            &format!("d{i}.toml"),
            &format!("include = [\"./d{0}.toml\", \"d{0}.toml\"]\n", i + 1),
        );
    }
    write_file(u, dir, &format!("d{n}.toml"), "description = \"bottom\"\n");
    dir.join("d0.toml")
}

/// Each file is merged once however many includes reach it (first occurrence wins, later ones
/// are no-ops), so a diamond of includes loads at once instead of in exponential time, and one
/// load reads at most 256 files.
#[test]
fn includes_load_each_file_once_and_are_capped() {
    each_user(|u| {
        let j = Jail::new(u);
        let top = diamond(u, &j.cwd, 6);
        let v = plan(j.args([
            "explain",
            "--format",
            "json",
            "--profile",
            &top.display().to_string(),
            "--",
            "/bin/true",
        ]));
        let files: Vec<&str> = v["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        let d6 = files.iter().filter(|f| f.ends_with("d6.toml")).count();
        assert_eq!(
            d6, 1,
            "[{}] the bottom file is merged once: {files:?}",
            u.name
        );
        // Deep enough to take hours when each path through it is walked.
        let j = Jail::new(u);
        let top = diamond(u, &j.cwd, 30).display().to_string();
        for verb in ["check", "audit"] {
            let r = Jail::new(u).args([verb, &top]).output();
            r.ok();
        }

        // First occurrence wins: the second include of `base` does not reset what `b` set.
        let p = explain_json(
            u,
            "p",
            &[
                ("base", "[process]\nhostname = \"base\"\n"),
                ("b", "include = [\"base\"]\n[process]\nhostname = \"b\"\n"),
                ("c", "include = [\"base\"]\n"),
                ("p", "include = [\"b\", \"c\"]\n"),
            ],
        );
        assert_eq!(p["process"]["hostname"], "b", "[{}]", u.name);

        // Too many files: a clear error, not a hang.
        let j = Jail::new(u);
        let list: Vec<String> = (0..300)
            .map(|i| {
                write_file(u, &j.cwd, &format!("w{i}.toml"), "");
                format!("\"./w{i}.toml\"")
            })
            .collect();
        let wide = write_file(
            u,
            &j.cwd,
            "wide.toml",
            &format!("include = [{}]\n", list.join(", ")),
        );
        let r = Jail::new(u)
            .args(["check", &wide.display().to_string()])
            .output();
        let err = assert_error(&r, 1, None);
        assert!(err.contains("more than 256 files"), "[{}] {err}", u.name);
    });
}

/// A profile cannot make jail print a file the caller can read: an include (or --profile) of
/// a file whose name does not end in .toml, or of a .toml symlink to one, is refused in one
/// line that quotes nothing of it.
#[test]
fn includes_of_non_profile_files_are_refused_without_quoting_them() {
    each_user(|u| {
        let j = Jail::new(u);
        let dir = j.cwd.clone();
        write_file(u, &dir, "secret.txt", "TOP-SECRET = first line\n");
        std::os::unix::fs::symlink(dir.join("secret.txt"), dir.join("secret.toml")).unwrap();
        for inc in ["./secret.txt", "./secret.toml", "/etc/passwd"] {
            let p = write_file(u, &dir, "h.toml", &format!("include = [\"{inc}\"]\n"));
            for verb in [&["check"][..], &["audit"], &["explain", "--profile"]] {
                let mut a = verb.to_vec();
                let ps = p.display().to_string();
                a.push(&ps);
                let r = Jail::new(u).args(&a).output();
                let code = if verb[0] == "check" { 1 } else { 125 };
                let err = assert_error(&r, code, None);
                assert!(
                    err.contains("not a .toml file"),
                    "[{}] {inc}: {err}",
                    u.name
                );
                assert!(
                    !err.contains("TOP-SECRET") && !err.contains("root:"),
                    "[{}] {inc}: the file is quoted:\n{err}",
                    u.name
                );
            }
        }
        let r = Jail::new(u)
            .args([
                "explain",
                "--profile",
                &dir.join("secret.txt").display().to_string(),
            ])
            .output();
        let err = assert_error(&r, 125, None);
        assert!(!err.contains("TOP-SECRET"), "[{}] {err}", u.name);
        // Control: a broken .toml profile is still quoted, line and caret.
        let bad = write_file(u, &dir, "bad.toml", "[bogus]\n");
        let r = Jail::new(u)
            .args(["check", &bad.display().to_string()])
            .output();
        assert_error(&r, 1, Some((&bad.display().to_string(), 1, 2)));
    });
}
