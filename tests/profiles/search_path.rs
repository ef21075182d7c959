//! The search path and `jail list`.
use super::*;

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
