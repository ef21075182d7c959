//! Merging (SPEC §3): defaults → includes → profile → .local overlays → command line.
use super::*;

#[test]
fn scalars_later_win_and_tables_merge_by_key() {
    each_user(|u| {
        let p = explain_json(
            u,
            "child",
            &[
                ("parent", "[process]\nhostname = \"parent\"\nnew_session = false\n[namespaces]\nipc = false\n"),
                ("child", "include = [\"parent\"]\n[process]\nhostname = \"child\"\n"),
            ],
        );
        // The child's hostname wins; the parent's other keys of the same table survive.
        assert_eq!(p["process"]["hostname"], "child");
        assert_eq!(p["process"]["new_session"], false);
        assert_eq!(p["namespaces"]["ipc"], false);
        // Without the include, the defaults hold (so the assertions above can fail).
        let q = explain_json(
            u,
            "child",
            &[("child", "[process]\nhostname = \"child\"\n")],
        );
        assert_eq!(q["process"]["new_session"], true);
        assert_eq!(q["namespaces"]["ipc"], true);
    });
}

#[test]
fn lists_append_without_duplicates_and_bang_removes() {
    each_user(|u| {
        let parent = "[filesystem]\ntmpfs = [\"/a\", \"/b\", \"/c\"]\n";
        let p = explain_json(
            u,
            "child",
            &[
                ("parent", parent),
                (
                    "child",
                    "include = [\"parent\"]\n[filesystem]\ntmpfs = [\"/a\", \"!/b\", \"/d\"]\n",
                ),
            ],
        );
        let t = targets(&p, "tmpfs");
        assert_eq!(t.iter().filter(|x| *x == "/a").count(), 1, "{t:?}");
        assert!(
            t.contains(&"/c".into()) && t.contains(&"/d".into()),
            "{t:?}"
        );
        assert!(
            !t.contains(&"/b".into()),
            "\"!/b\" did not remove /b: {t:?}"
        );
        // Control: without the removal /b is there.
        let q = explain_json(
            u,
            "child",
            &[("parent", parent), ("child", "include = [\"parent\"]\n")],
        );
        assert!(targets(&q, "tmpfs").contains(&"/b".into()));
        // "!x" also takes back what the built-in defaults add (the env keep list), and
        // "!/x" removes an optional "?/x".
        let r = Jail::new(u)
            .profile(
                "p",
                "[env]\nkeep = [\"!TERM\"]\n[filesystem]\nro = [\"?/usr\", \"!/usr\"]\n",
            )
            .env("TERM", "xterm-test")
            .args([
                "explain",
                "--format",
                "json",
                "--profile",
                "p",
                "--",
                "/bin/true",
            ]);
        let r = plan(r);
        assert!(r["env"].get("TERM").is_none(), "{}", r["env"]);
        assert!(!targets(&r, "bind").contains(&"/usr".into()));
        let r = plan(
            Jail::new(u)
                .profile("p", "[filesystem]\nro = [\"?/usr\"]\n")
                .env("TERM", "xterm-test")
                .args([
                    "explain",
                    "--format",
                    "json",
                    "--profile",
                    "p",
                    "--",
                    "/bin/true",
                ]),
        );
        assert_eq!(r["env"]["TERM"], "xterm-test");
        assert!(targets(&r, "bind").contains(&"/usr".into()));
    });
}

#[test]
fn merge_order_includes_profile_locals_then_command_line() {
    each_user(|u| {
        let high = tempdir(u);
        let low = tempdir(u);
        write_file(u, &high, "inc.toml", "[process]\nhostname = \"from-include\"\n[limits]\npids = 10\nenforce = \"best-effort\"\n");
        write_file(
            u,
            &high,
            "p.toml",
            "include = [\"inc\"]\n[process]\nhostname = \"from-profile\"\n[limits]\npids = 20\n",
        );
        write_file(
            u,
            &low,
            "p.local.toml",
            "[process]\nhostname = \"from-low-local\"\n[limits]\npids = 30\n",
        );
        write_file(u, &high, "p.local.toml", "[limits]\npids = 40\n");
        let path = format!("{}:{}", high.display(), low.display());
        let run = |extra: &[&str]| {
            let mut a = vec!["explain", "--format", "json", "--profile", "p"];
            a.extend_from_slice(extra);
            a.extend_from_slice(&["--", "/bin/true"]);
            plan(Jail::new(u).env("JAIL_PROFILE_PATH", &path).args(a))
        };
        let p = run(&[]);
        // Every .local on the path is merged, lowest priority first: the low folder's overlay
        // sets the hostname (nothing later does), the high folder's own overlay wins on pids.
        assert_eq!(p["process"]["hostname"], "from-low-local");
        assert_eq!(p["limits"]["pids"], 40);
        let files: Vec<&str> = p["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        let want = [
            "built-in defaults".to_string(),
            high.join("inc.toml").display().to_string(),
            high.join("p.toml").display().to_string(),
            low.join("p.local.toml").display().to_string(),
            high.join("p.local.toml").display().to_string(),
        ];
        let files: Vec<&str> = files
            .into_iter()
            .filter(|f| *f != "built-in defaults")
            .collect();
        assert_eq!(
            files,
            want[1..].iter().map(|s| s.as_str()).collect::<Vec<_>>()
        );
        // Command-line options come last.
        let p = run(&["--pids", "50", "--hostname", "from-cli"]);
        assert_eq!(p["limits"]["pids"], 50);
        assert_eq!(p["process"]["hostname"], "from-cli");
        // Without the overlays the profile's own value holds (control).
        std::fs::remove_file(high.join("p.local.toml")).unwrap();
        std::fs::remove_file(low.join("p.local.toml")).unwrap();
        let p = run(&[]);
        assert_eq!(p["process"]["hostname"], "from-profile");
        assert_eq!(p["limits"]["pids"], 20);
    });
}

#[test]
fn local_overlay_applies_to_builtin_profile() {
    each_user(|u| {
        // The built-in `shell` hides ~/.ssh; a .local takes the hide back and adds a tmpfs.
        let j = Jail::new(u).profile(
            "shell.local",
            "[filesystem]\nhide = [\"!?~/.ssh\"]\ntmpfs = [\"/scratch\"]\n",
        );
        let p = plan(j.args([
            "explain",
            "--format",
            "json",
            "--profile",
            "shell",
            "--",
            "/bin/true",
        ]));
        assert!(
            targets(&p, "tmpfs").contains(&"/scratch".into()),
            "{}",
            p["mounts"]
        );
        let files = p["files"].to_string();
        assert!(
            files.contains("builtin:shell") && files.contains("shell.local.toml"),
            "{files}"
        );
    });
}
