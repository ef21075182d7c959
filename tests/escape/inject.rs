//! Class 12: option and argument injection; profile strings are taken literally.
use super::*;

#[test]
fn command_arguments_are_literal() {
    each_user(|u| {
        let r = Jail::new(u)
            .args([
                "run",
                "--",
                "/bin/echo",
                "--profile",
                "x",
                "--net",
                "host",
                "--bind",
                "/:/",
            ])
            .output();
        r.ok();
        assert_eq!(
            r.stdout(),
            "--profile x --net host --bind /:/\n",
            "[{}]",
            u.name
        );
    });
}

#[test]
fn profile_strings_are_literal() {
    each_user(|u| {
        let d = tempdir(u);
        let odd = d.join("a b;$(touch PWNED)");
        std::fs::create_dir_all(&odd).unwrap();
        write_file(u, &odd, "f.txt", "literal-ok\n");
        let pwn = d.join("PWNED2");
        let toml = format!(
            "include = [\"base\"]\n[filesystem]\nro = [{odd:?}]\n[env]\nset = {{ X = \"a\\nb; touch {p} $(touch {p})\" }}\n[process]\nhostname = \"h\"\n",
            odd = odd.to_string_lossy(),
            p = pwn.display()
        );
        let pf = profile_file(u, &d, "lit", &toml);
        let r = Jail::new(u)
            .args([
                "run",
                "--chdir",
                "/",
                "--profile",
                &pf,
                "--",
                "/bin/sh",
                "-c",
                "cat \"$0\"/f.txt; printf '%s' \"$X\"",
                &odd.to_string_lossy(),
            ])
            .output();
        r.ok();
        assert!(
            r.stdout().contains("literal-ok"),
            "[{}] {}",
            u.name,
            r.stdout()
        );
        assert!(
            r.stdout()
                .contains(&format!("a\nb; touch {p} $(touch {p})", p = pwn.display())),
            "[{}] {}",
            u.name,
            r.stdout()
        );
        assert!(
            !pwn.exists() && !Path::new("PWNED").exists() && !d.join("PWNED").exists(),
            "ESCAPE: a profile string was run by a shell"
        );
    });
}

#[test]
fn dotdot_paths_do_not_widen() {
    each_user(|u| {
        let d = tempdir(u);
        std::fs::create_dir_all(d.join("pub")).unwrap();
        let s = write_file(u, &d, "secret.txt", "TOP-SECRET-dotdot\n");
        // A grant of pub/.. is the parent: either refused or exactly the parent, never more.
        let r = Jail::new(u)
            .args([
                "run",
                "--ro-bind",
                &format!("{}/pub/..", d.display()),
                "--",
                "/bin/cat",
                "/etc/shadow",
                &s.to_string_lossy(),
            ])
            .output();
        assert!(!r.stdout().contains("root:"), "ESCAPE: {}", r.stdout());
    });
}
