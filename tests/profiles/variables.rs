//! Variables, sizes, optional paths.
use super::*;

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
pub(super) fn r_path(r: &Run) -> String {
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
