//! The profile language and its compiler, seen from the command line (issue 2): merging,
//! includes, the search path, variables, sizes, optional paths, error messages, the bad-input
//! corpus of tests/bad-profiles/ and golden `explain` plans of every shipped profile
//! (tests/golden/, regenerate with `JAIL_BLESS=1 cargo test --test profiles golden`).
mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

const CRATE: &str = env!("CARGO_MANIFEST_DIR");

/// `jail explain --format json --profile NAME -- /bin/true` as `u`, parsed.
fn plan(j: Jail) -> Value {
    let r = j.output();
    r.ok();
    serde_json::from_str(&r.stdout()).unwrap_or_else(|e| panic!("bad JSON ({e}):\n{}", r.stdout()))
}

fn explain_json(u: &User, name: &str, profiles: &[(&str, &str)]) -> Value {
    let mut j = Jail::new(u);
    for (n, t) in profiles {
        j = j.profile(n, t);
    }
    plan(j.args([
        "explain",
        "--format",
        "json",
        "--profile",
        name,
        "--",
        "/bin/true",
    ]))
}

/// Targets of the mount steps with operation `op`.
fn targets(p: &Value, op: &str) -> Vec<String> {
    p["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["op"] == op)
        .map(|m| m["target"].as_str().unwrap().to_string())
        .collect()
}

/// Asserts the error form of SPEC §1: no panic, `jail: error: …` first, and (when `at` is given)
/// `  --> PATH:LINE:COL`, the offending line and a caret under the column. Returns stderr.
#[track_caller]
fn assert_error(r: &Run, code: i32, at: Option<(&str, usize, usize)>) -> String {
    r.expect_code(code);
    let err = r.stderr();
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "[{}] panic:\n{err}",
        r.user
    );
    assert!(
        err.starts_with("jail: error: "),
        "[{}] first line is not `jail: error: `:\n{err}",
        r.user
    );
    assert_eq!(
        err.lines().next().unwrap().trim(),
        err.lines().next().unwrap(),
        "{err}"
    );
    if let Some((file, line, col)) = at {
        let lines: Vec<&str> = err.lines().collect();
        let want = format!("  --> {file}:{line}:{col}");
        let i = lines
            .iter()
            .position(|l| *l == want)
            .unwrap_or_else(|| panic!("[{}] no `{want}` in:\n{err}", r.user));
        let src = &lines[i + 2];
        assert!(src.starts_with(&format!("{line} | ")), "{err}");
        let caret = lines[i + 3];
        let bar = caret.find('|').unwrap();
        assert_eq!(
            caret[bar + 2..].find('^'),
            Some(col - 1),
            "caret not under column {col}:\n{err}"
        );
    }
    err
}

// ---------------------------------------------------------------------------------------------
// Merging (SPEC §3): defaults → includes → profile → .local overlays → command line.

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

// ---------------------------------------------------------------------------------------------
// Includes: cycles, depth, missing.

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

// ---------------------------------------------------------------------------------------------
// The search path and `jail list`.

#[test]
fn search_path_env_replaces_user_and_system_folders() {
    each_user(|u| {
        let home = tempdir(u);
        write_file(
            u,
            &home,
            ".config/jail/profiles/mine.toml",
            "description = \"from the user folder\"\n",
        );
        let other = tempdir(u);
        // Without JAIL_PROFILE_PATH the user folder is searched.
        let mut j = Jail::new(u)
            .env("HOME", &home)
            .args(["list", "--format", "json"]);
        j.cmd.env_remove("JAIL_PROFILE_PATH");
        let r = j.output();
        r.ok();
        assert!(
            r.stdout().contains("from the user folder"),
            "{}",
            r.stdout()
        );
        // With it, only its folders (and the built-ins) are.
        let r = Jail::new(u)
            .env("HOME", &home)
            .env("JAIL_PROFILE_PATH", &other)
            .args(["check", "mine"])
            .output();
        let err = assert_error(&r, 1, None);
        assert!(err.contains("no profile named \"mine\""), "{err}");
        assert!(
            err.contains(&other.display().to_string()),
            "the error lists the searched folders: {err}"
        );
    });
}

#[test]
fn user_profile_shadows_builtin_and_list_shows_origin() {
    each_user(|u| {
        let r = Jail::new(u).args(["list"]).output();
        r.ok();
        let out = r.stdout();
        assert!(out.lines().next().unwrap().starts_with("NAME"), "{out}");
        for name in ["base", "default", "shell"] {
            let line = out
                .lines()
                .find(|l| l.starts_with(&format!("{name} ")))
                .unwrap_or_else(|| panic!("{name} not listed:\n{out}"));
            assert!(line.contains(&format!("builtin:{name}")), "{line}");
        }
        assert!(
            out.contains("Read-only system, the current folder read-write"),
            "descriptions shown:\n{out}"
        );

        let j = Jail::new(u).profile("default", "description = \"my own default\"\n");
        let mine = j.cwd.join(".profiles/default.toml").display().to_string();
        let r = j.args(["list", "--format", "json"]).output();
        r.ok();
        let v: Value = serde_json::from_str(&r.stdout()).unwrap();
        let d = v
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == "default")
            .unwrap();
        assert_eq!(d["origin"], mine.as_str());
        assert_eq!(d["description"], "my own default");
        // And it is what `explain` uses.
        let p = explain_json(
            u,
            "default",
            &[("default", "description = \"my own default\"\n")],
        );
        assert_eq!(p["description"], "my own default");
        assert!(!p["files"].to_string().contains("builtin:default"));
    });
}

// ---------------------------------------------------------------------------------------------
// Variables, sizes, optional paths.

#[test]
fn variables_expand() {
    each_user(|u| {
        let home = tempdir(u);
        write_file(
            u,
            &home,
            ".config/user-dirs.dirs",
            "XDG_DOWNLOAD_DIR=\"$HOME/Dl\"\n",
        );
        let mut text = String::new();
        for (i, v) in [
            "~",
            "~/t",
            "${HOME}",
            "${USER}",
            "${UID}",
            "${XDG_RUNTIME_DIR}",
            "${XDG_CONFIG_HOME}",
            "${XDG_DATA_HOME}",
            "${DOWNLOADS}",
            "${PWD}",
        ]
        .iter()
        .enumerate()
        {
            let t = if v.starts_with('~') {
                v.to_string()
            } else {
                format!("/v{i}/{v}")
            };
            text += &format!("[[filesystem.mount]]\ntype = \"dir\"\ntarget = \"{t}\"\n");
        }
        let j = Jail::new(u)
            .profile("vars", &text)
            .env("HOME", &home)
            .env("XDG_RUNTIME_DIR", "/run/user/4242");
        let cwd = j.cwd.clone();
        let p = plan(j.args([
            "explain",
            "--format",
            "json",
            "--profile",
            "vars",
            "--",
            "/bin/true",
        ]));
        let h = home.display();
        let want = vec![
            format!("{h}"),
            format!("{h}/t"),
            format!("/v2{h}"),
            format!("/v3/{}", u.name),
            format!("/v4/{}", u.uid),
            "/v5/run/user/4242".to_string(),
            format!("/v6{h}/.config"),
            format!("/v7{h}/.local/share"),
            format!("/v8{h}/Dl"),
            format!("/v9{}", cwd.display()),
        ];
        assert_eq!(targets(&p, "dir"), want);
    });
}

#[test]
fn unknown_variable_and_unset_runtime_dir_are_errors() {
    each_user(|u| {
        let j = Jail::new(u).profile("v", "# uses a variable jail does not know\n[[filesystem.mount]]\ntype = \"dir\"\ntarget = \"/x/${SHELL}\"\n");
        let f = j.cwd.join(".profiles/v.toml").display().to_string();
        let err = assert_error(&j.args(["check", "v"]).output(), 1, Some((&f, 4, 10)));
        assert!(err.contains("unknown variable ${SHELL}"), "{err}");
        // ${XDG_RUNTIME_DIR} without the variable (Jail::new clears the environment).
        let j = Jail::new(u).profile(
            "v",
            "[[filesystem.mount]]\ntype = \"dir\"\ntarget = \"${XDG_RUNTIME_DIR}/x\"\n",
        );
        let err = assert_error(
            &j.args(["run", "--profile", "v", "--", "/bin/true"])
                .output(),
            125,
            None,
        );
        assert!(err.contains("XDG_RUNTIME_DIR"), "{err}");
    });
}

#[test]
fn sizes_parse_binary_units() {
    each_user(|u| {
        let mut text = String::new();
        for (i, s) in [
            "4096",
            "\"1K\"",
            "\"1KiB\"",
            "\"64MiB\"",
            "\"64M\"",
            "\"2G\"",
            "\"2GiB\"",
        ]
        .iter()
        .enumerate()
        {
            text += &format!(
                "[[filesystem.mount]]\ntype = \"tmpfs\"\ntarget = \"/s{i}\"\nsize = {s}\n"
            );
        }
        text += "[limits]\nmemory = \"4GiB\"\nswap = \"0\"\nenforce = \"best-effort\"\n";
        let p = explain_json(u, "s", &[("s", &text)]);
        let sizes: Vec<u64> = p["mounts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["op"] == "tmpfs" && m["target"].as_str().unwrap().starts_with("/s"))
            .map(|m| m["size"].as_u64().unwrap())
            .collect();
        assert_eq!(
            sizes,
            [4096, 1024, 1024, 64 << 20, 64 << 20, 2 << 30, 2 << 30]
        );
        assert_eq!(p["limits"]["memory"], 4u64 << 30);
        assert_eq!(p["limits"]["swap"], 0);
    });
}

#[test]
fn optional_paths_are_skipped_with_a_note_and_required_ones_are_errors() {
    each_user(|u| {
        let j = Jail::new(u).profile(
            "o",
            "[filesystem]\nro = [\"?/nonexistent/jail-optional\", \"?/usr\"]\n",
        );
        let r = j
            .args(["explain", "--profile", "o", "--", "/bin/true"])
            .output();
        r.ok();
        let out = r.stdout();
        assert!(
            out.contains("note: skipped optional /nonexistent/jail-optional (absent)"),
            "{out}"
        );
        assert!(
            out.contains("/usr: bind read-only"),
            "a present optional path is bound:\n{out}"
        );
        assert!(!out.contains("/nonexistent/jail-optional: bind"), "{out}");
        // Without "?" the same path is an error at compile time, pointing at the entry.
        let text = "[filesystem]\nro = [\"/usr\",\n      \"/nonexistent/jail-optional\"]\n";
        let j = Jail::new(u).profile("o", text);
        let f = j.cwd.join(".profiles/o.toml").display().to_string();
        let err = assert_error(&j.args(["check", "o"]).output(), 1, Some((&f, 3, 7)));
        assert!(
            err.contains("/nonexistent/jail-optional does not exist"),
            "{err}"
        );
        let r = Jail::new(u)
            .profile("o", text)
            .args(["run", "--profile", "o", "--", "/bin/true"])
            .output();
        assert_error(&r, 125, Some((&r_path(&r), 3, 7)));
    });
}

/// The `-->` path of an error (the profile's file, whatever temp folder it lives in).
fn r_path(r: &Run) -> String {
    let err = r.stderr();
    let l = err
        .lines()
        .find(|l| l.starts_with("  --> "))
        .unwrap_or_else(|| panic!("no location:\n{err}"));
    let rest = &l[6..];
    let mut parts = rest.rsplitn(3, ':');
    let (_, _, path) = (parts.next(), parts.next(), parts.next().unwrap());
    path.to_string()
}

// ---------------------------------------------------------------------------------------------
// Error messages and exit statuses.

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
                "jail: error: unknown variable ${{SHELL}}: use ~, ${{HOME}}, ${{USER}}, ${{UID}}, ${{XDG_RUNTIME_DIR}}, ${{XDG_CONFIG_HOME}}, ${{XDG_DATA_HOME}}, ${{DOWNLOADS}} or ${{PWD}}\n  --> {f}:2:7\n  |\n2 | ro = [\"${{SHELL}}/x\"]\n  |       ^^^^^^^^^^^^\n"
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

// ---------------------------------------------------------------------------------------------
// The bad-input corpus.

/// Every file of tests/bad-profiles/ plus the generated ones (a file over 1 MiB, an include
/// chain 40 deep), copied into a folder of `u`.
fn corpus(u: &User) -> (PathBuf, Vec<PathBuf>) {
    let dir = tempdir(u);
    let mut files = vec![];
    let mut names: Vec<_> = std::fs::read_dir(Path::new(CRATE).join("tests/bad-profiles"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for src in names {
        let dst = dir.join(src.file_name().unwrap());
        std::fs::copy(&src, &dst).unwrap();
        std::os::unix::fs::chown(&dst, Some(u.uid), Some(u.gid)).ok();
        files.push(dst);
    }
    let mut huge = String::from("# Wrong: larger than 1 MiB.\ndescription = \"");
    huge.push_str(&"x".repeat((1 << 20) + 10));
    huge.push_str("\"\n");
    files.push(write_file(u, &dir, "generated-huge-file.toml", &huge));
    for i in 0..40 {
        write_file(
            u,
            &dir,
            &format!("generated-deep-{i:02}.toml"),
            &format!("include = [\"generated-deep-{:02}.toml\"]\n", i + 1),
        );
    }
    write_file(
        u,
        &dir,
        "generated-deep-40.toml",
        "description = \"bottom\"\n",
    );
    files.push(dir.join("generated-deep-00.toml"));
    (dir, files)
}

#[test]
fn bad_profiles_are_refused_cleanly() {
    let shipped = std::fs::read_dir(Path::new(CRATE).join("tests/bad-profiles"))
        .unwrap()
        .count();
    assert!(shipped >= 40, "only {shipped} bad profiles");
    each_user(|u| {
        let (dir, files) = corpus(u);
        for f in &files {
            let bytes = std::fs::read(f).unwrap();
            // Text the loader accepts as a file: the error must point into a file of the corpus.
            let located = bytes.len() <= 1 << 20
                && !bytes.contains(&0)
                && std::str::from_utf8(&bytes).is_ok();
            let name = f.display().to_string();
            for (args, code) in [
                (vec!["check", name.as_str()], 1),
                (
                    vec!["run", "--profile", name.as_str(), "--", "/bin/true"],
                    125,
                ),
            ] {
                let r = Jail::new(u).args(&args).output();
                assert!(
                    r.code() == code,
                    "[{}] {args:?}: expected {code}, got {}\n{}",
                    u.name,
                    r.code(),
                    r.stderr()
                );
                let err = assert_error(&r, code, None);
                if located {
                    let at = r_path(&r);
                    assert!(
                        Path::new(&at).starts_with(&dir),
                        "{name}: error points at {at}:\n{err}"
                    );
                    // The line shown is the file's own line.
                    let l = err.lines().find(|l| l.starts_with("  --> ")).unwrap();
                    let line: usize = l.rsplit(':').nth(1).unwrap().parse().unwrap();
                    let text = std::fs::read_to_string(&at).unwrap();
                    let shown = err
                        .lines()
                        .find(|x| x.starts_with(&format!("{line} | ")))
                        .unwrap_or_else(|| panic!("{err}"));
                    let want: String = text
                        .lines()
                        .nth(line - 1)
                        .unwrap_or("")
                        .chars()
                        .take(160)
                        .collect();
                    assert_eq!(&shown[format!("{line} | ").len()..], want, "{name}:\n{err}");
                    assert!(
                        err.lines().any(|x| x.contains('^')),
                        "{name}: no caret:\n{err}"
                    );
                } else {
                    assert_eq!(
                        err.lines().count(),
                        1,
                        "{name}: a whole-file error is one line:\n{err}"
                    );
                }
            }
        }
        // Control: the checker is not simply refusing everything from that folder.
        let good = write_file(u, &dir, "good.toml", "include = [\"base\"]\n");
        Jail::new(u)
            .args(["check", &good.display().to_string()])
            .output()
            .ok();
    });
}

// ---------------------------------------------------------------------------------------------
// Golden plans of every shipped profile.

/// Paths whose presence depends on the machine (optional entries of the shipped profiles):
/// left out of the golden files so they do not change from one host to the next.
const HOST_DEPENDENT: [&str; 14] = [
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/opt",
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/shadow-",
    "/etc/gshadow-",
    "/etc/sudoers",
    "/etc/sudoers.d",
    "/etc/ssh",
];
const GOLDEN_ROOT: &str = "/tmp/jail-golden";

/// Whether a path's presence in a plan depends on the machine: the fixed list above, device
/// nodes, and every optional ("?…") entry written in a shipped profile, except what lies in the
/// golden session's own folders (which the test creates).
fn host_dependent(s: &str) -> bool {
    use std::sync::OnceLock;
    static OPTIONAL: OnceLock<Vec<String>> = OnceLock::new();
    let optional = OPTIONAL.get_or_init(|| {
        let home = format!("{GOLDEN_ROOT}/home");
        let mut v: Vec<String> = HOST_DEPENDENT.iter().map(|s| s.to_string()).collect();
        for f in std::fs::read_dir(Path::new(CRATE).join("profiles")).unwrap() {
            let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
            for piece in text.split("\"?").skip(1) {
                let Some(entry) = piece.split('"').next() else {
                    continue;
                };
                let entry = entry.replacen('~', &home, 1).replace("${HOME}", &home);
                if entry.starts_with('/') && !entry.starts_with(GOLDEN_ROOT) {
                    v.push(entry);
                }
            }
        }
        v
    });
    s.starts_with("/dev/") && s != "/dev/null"
        || optional
            .iter()
            .any(|p| s == p || s.starts_with(&format!("{p}/")))
        || s.starts_with('/') && !s.starts_with(GOLDEN_ROOT) && s.contains("*")
}

/// A note about an optional path outside the golden session's folders.
fn host_dependent_note(note: &str) -> bool {
    note.split_whitespace()
        .any(|w| host_dependent(w.trim_end_matches(':')))
        || note.starts_with("skipped optional ") && !note.contains(GOLDEN_ROOT)
}

/// The documented top-level keys of `jail explain --format json`, in order.
const PLAN_KEYS: [&str; 20] = [
    "format",
    "profile",
    "description",
    "files",
    "command",
    "namespaces",
    "ids",
    "mounts",
    "scratch",
    "process",
    "env",
    "limits",
    "rlimits",
    "capabilities",
    "seccomp",
    "landlock",
    "gui",
    "dbus",
    "warnings",
    "seccomp_groups",
];

/// GOLDEN_ROOT is one fixed path (the goldens hold it) shared by the tests of this process: it
/// goes when the process exits.
fn golden_root_removed_at_exit() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| remove_at_exit(TempDir(PathBuf::from(GOLDEN_ROOT))));
}

/// A pretend desktop session: a runtime folder holding Wayland, PulseAudio, PipeWire and D-Bus
/// sockets, and an X11 socket in /tmp/.X11-unix. Returns the environment that points at them.
fn fake_session() -> Vec<(String, String)> {
    let run = Path::new(GOLDEN_ROOT).join("run");
    golden_root_removed_at_exit();
    for d in [run.join("pulse"), PathBuf::from("/tmp/.X11-unix")] {
        std::fs::create_dir_all(d).unwrap();
    }
    for sock in [
        run.join("wayland-0"),
        run.join("pulse/native"),
        run.join("pipewire-0"),
        run.join("bus"),
        PathBuf::from("/tmp/.X11-unix/X99"),
    ] {
        if !sock.exists() && std::os::unix::net::UnixListener::bind(&sock).is_ok() {
            remove_at_exit(TempDir(sock));
        }
    }
    vec![
        ("XDG_RUNTIME_DIR".into(), run.display().to_string()),
        ("WAYLAND_DISPLAY".into(), "wayland-0".into()),
        ("DISPLAY".into(), ":99".into()),
        (
            "DBUS_SESSION_BUS_ADDRESS".into(),
            format!("unix:path={}", run.join("bus").display()),
        ),
    ]
}

/// `jail explain` of a shipped profile on a fixed pretend session: fixed HOME, cwd, profile path
/// and environment, and a runtime folder holding Wayland, PulseAudio, PipeWire and D-Bus sockets
/// (plus an X11 socket in /tmp/.X11-unix) so the desktop profiles compile. A profile that still
/// cannot compile here (no GPU on the machine …) has its error as its golden plan.
fn golden_explain(profile: &str, format: &str) -> (bool, String) {
    let root = Path::new(GOLDEN_ROOT);
    golden_root_removed_at_exit();
    let (home, work, profiles) = (root.join("home"), root.join("work"), root.join("profiles"));
    for d in [
        home.join(".ssh"),
        home.join(".gnupg"),
        home.join("Downloads"),
        work.clone(),
        profiles.clone(),
    ] {
        std::fs::create_dir_all(d).unwrap();
    }
    let session = fake_session();
    let out = std::process::Command::new(jail_bin())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &home)
        .env("USER", "golden")
        .env("LANG", "C.UTF-8")
        .env("JAIL_PROFILE_PATH", &profiles)
        .envs(session)
        .current_dir(&work)
        .args([
            "explain",
            "--format",
            format,
            "--profile",
            profile,
            "--",
            "/bin/true",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.contains("panicked"), "{profile}: {err}");
    if out.status.success() {
        (true, String::from_utf8(out.stdout).unwrap())
    } else {
        assert_eq!(out.status.code(), Some(125), "{profile}: {err}");
        (false, err)
    }
}

fn normalize_text(s: &str) -> String {
    let mut out = vec![];
    for line in s.lines() {
        // Step numbers shift when a host-dependent line is dropped.
        let l = match line.split_once(". ") {
            Some((n, rest))
                if n.trim().chars().all(|c| c.is_ascii_digit()) && !n.trim().is_empty() =>
            {
                rest.to_string()
            }
            _ => line.to_string(),
        };
        if let Some(target) = l.split(':').next() {
            if host_dependent(target) {
                continue;
            }
        }
        if let Some(note) = l.strip_prefix("note: ") {
            if host_dependent_note(note) {
                continue;
            }
        }
        let l = if l.starts_with("ids: ") {
            "ids: UID/GID mapping (normalized)".to_string()
        } else {
            l
        };
        if let Some(rest) = l.strip_prefix("landlock: ") {
            // The access rights and the outcome depend on the kernel's Landlock ABI; keep which
            // paths get which class.
            let mut w = rest.splitn(3, ' ');
            if let (Some(class @ ("ro" | "rw" | "dev")), Some(path)) = (w.next(), w.next()) {
                let path = path.trim_end_matches(':');
                if !host_dependent(path) {
                    out.push(format!("landlock: {class} {path}"));
                }
            }
            continue;
        }
        out.push(l);
    }
    out.join("\n") + "\n"
}

fn normalize_json(s: &str) -> String {
    let mut v: Value = serde_json::from_str(s).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    let mut sorted = PLAN_KEYS.to_vec();
    sorted.sort();
    let mut got = keys.clone();
    got.sort();
    assert_eq!(
        got, sorted,
        "top-level keys of the JSON plan changed: document them in the README"
    );
    for k in ["uid_inside", "gid_inside", "uid_outside", "gid_outside"] {
        v["ids"][k] = Value::String("ID".into());
    }
    let mounts = v["mounts"].as_array_mut().unwrap();
    mounts.retain(|m| !m["target"].as_str().map(host_dependent).unwrap_or(false));
    let w = v["warnings"].as_array_mut().unwrap();
    w.retain(|x| !host_dependent_note(x.as_str().unwrap()));
    let ll = &v["landlock"];
    let rules: Vec<Value> = ll["path_rules"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter(|x| !host_dependent(x["path"].as_str().unwrap_or("")))
                .map(|x| serde_json::json!({"path": x["path"], "classes": x["classes"]}))
                .collect()
        })
        .unwrap_or_default();
    v["landlock"] = serde_json::json!({"compat": ll["compat"], "path_rules": rules, "note": "ABI-dependent fields left out"});
    // Which cgroup back end would apply the limits, and its file writes, depend on the machine.
    if let Some(l) = v["limits"].as_object_mut() {
        for k in ["backend", "reasons", "remedy", "writes", "fallback"] {
            if l.remove(k).is_some() {
                l.insert(k.to_string(), Value::String("(host-dependent)".into()));
            }
        }
    }
    // The group table is the same for every profile: it has its own golden file.
    v.as_object_mut().unwrap().remove("seccomp_groups");
    // One line per BPF program: a changed filter still shows as a changed line.
    if let Some(filters) = v["seccomp"]["filters"].as_array_mut() {
        for f in filters {
            if let Some(prog) = f["program"].as_array() {
                let insns: Vec<String> = prog
                    .iter()
                    .map(|i| format!("{}/{}/{}/{}", i["code"], i["jt"], i["jf"], i["k"]))
                    .collect();
                f["program"] = Value::String(insns.join(" "));
            }
        }
    }
    let mut s = serde_json::to_string_pretty(&v).unwrap();
    s.push('\n');
    s
}

fn golden(profile: &str, format: &str) {
    let (ok, got) = golden_explain(profile, format);
    let ext = if format == "json" { "json" } else { "txt" };
    let norm = match (ok, format) {
        (true, "json") => normalize_json(&got),
        (true, _) => normalize_text(&got),
        (false, _) => format!("(explain refused this profile on the golden session)\n{got}"),
    };
    compare_golden(&format!("{profile}.{ext}"), &norm);
}

/// Compares `norm` with tests/golden/NAME, or writes it there under `JAIL_BLESS=1`.
fn compare_golden(name: &str, norm: &str) {
    let file = Path::new(CRATE).join("tests/golden").join(name);
    if std::env::var("JAIL_BLESS").as_deref() == Ok("1") {
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, norm).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&file).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run JAIL_BLESS=1 cargo test --test profiles golden",
            file.display()
        )
    });
    if want != norm {
        let diff: Vec<String> = diff_lines(&want, norm);
        panic!(
            "the plan in tests/golden/{name} changed; if intended, run JAIL_BLESS=1 cargo test --test profiles golden\n{}",
            diff.join("\n")
        );
    }
}

/// A small line diff: `-` lines only in the golden file, `+` lines only in the new plan.
fn diff_lines(a: &str, b: &str) -> Vec<String> {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let mut out = vec![];
    for l in &a {
        if !b.contains(l) {
            out.push(format!("- {l}"));
        }
    }
    for l in &b {
        if !a.contains(l) {
            out.push(format!("+ {l}"));
        }
    }
    if out.is_empty() {
        out.push("(same lines, different order)".into());
    }
    out
}

#[test]
fn golden_explain_of_shipped_profiles() {
    // Runs as the test's own user only: the goldens hold one fixed home, cwd and profile path.
    std::fs::create_dir_all(GOLDEN_ROOT).unwrap();
    // The seccomp group table of `explain --format json`, once.
    let (ok, json) = golden_explain("default", "json");
    assert!(ok, "{json}");
    let v: Value = serde_json::from_str(&json).unwrap();
    let groups = serde_json::to_string_pretty(&v["seccomp_groups"]).unwrap() + "\n";
    compare_golden("seccomp-groups.json", &groups);
    let mut shipped = vec![];
    for name in std::fs::read_dir(Path::new(CRATE).join("profiles")).unwrap() {
        let name = name.unwrap().path();
        let stem = name.file_stem().unwrap().to_str().unwrap().to_string();
        golden(&stem, "text");
        golden(&stem, "json");
        shipped.push(stem);
    }
    // A golden file of a profile that is no longer shipped is stale.
    for f in std::fs::read_dir(Path::new(CRATE).join("tests/golden")).unwrap() {
        let f = f.unwrap().path();
        let stem = f.file_stem().unwrap().to_str().unwrap().to_string();
        if stem != "seccomp-groups" && !shipped.contains(&stem) {
            if std::env::var("JAIL_BLESS").as_deref() == Ok("1") {
                std::fs::remove_file(&f).unwrap();
            } else {
                panic!(
                    "{} belongs to no shipped profile: remove it (JAIL_BLESS=1 does)",
                    f.display()
                );
            }
        }
    }
}

#[test]
fn json_plan_keys_are_stable() {
    each_user(|u| {
        let r = Jail::new(u)
            .args(["explain", "--format", "json", "--", "/bin/true"])
            .output();
        r.ok();
        let raw = r.stdout();
        let v: Value = serde_json::from_str(&raw).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        let mut sorted = PLAN_KEYS.to_vec();
        sorted.sort();
        let mut got = keys.clone();
        got.sort();
        assert_eq!(got, sorted);
        // In written order, too (serde_json without preserve_order sorts keys; check the text).
        let mut last = 0;
        for k in PLAN_KEYS {
            let at = raw
                .find(&format!("\n  \"{k}\":"))
                .unwrap_or_else(|| panic!("{k} missing"));
            assert!(at >= last, "{k} out of order");
            last = at;
        }
        assert_eq!(v["format"], 1);
        assert_eq!(v["command"], serde_json::json!(["/bin/true"]));
    });
}

/// Without --profile, the profile named after COMMAND is used when it exists; a broken one is
/// reported (exit 125, located), never silently replaced by `default`.
#[test]
fn profile_named_after_command_is_used_and_reported_when_broken() {
    each_user(|u| {
        let ok = Jail::new(u)
            .profile("true", "description = \"mine\"\ninclude = [\"base\"]\n")
            .args(["explain", "--", "/bin/true"])
            .output();
        ok.ok();
        assert!(
            ok.stdout().starts_with("profile true: mine"),
            "[{}] {}",
            u.name,
            ok.stdout()
        );
        let bad = Jail::new(u)
            .profile("true", "include = [\"base\"]\n[bogus]\n")
            .args(["run", "--", "/bin/true"])
            .output();
        bad.expect_code(125);
        assert!(
            bad.stderr().contains("true.toml:2:2"),
            "[{}] {}",
            u.name,
            bad.stderr()
        );
    });
}

// ---------------------------------------------------------------------------------------------
// Hostile profiles and programs (review of hostile input).

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
