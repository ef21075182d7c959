//! Filesystem.
use super::*;

#[test]
fn hidden_file_unreadable_sibling_readable() {
    each_user(|u| {
        let d = tempdir(u);
        write_file(u, &d, "secret", "top secret\n");
        write_file(u, &d, "public", "hello\n");
        let prof = format!(
            "include = [\"default\"]\n[filesystem]\nro = [\"{0}\"]\nhide = [\"{0}/secret\"]\n",
            s(&d)
        );
        let r = Jail::new(u)
            .profile("h", &prof)
            .args(["run", "--profile", "h", "--", "/bin/sh", "-c"])
            .args([format!(
                "cat {0}/public; if cat {0}/secret; then echo READ; else echo DENIED; fi",
                s(&d)
            )])
            .output();
        r.ok();
        let out = r.stdout();
        assert!(
            out.contains("hello"),
            "[{}] sibling unreadable:\n{out}\n{}",
            u.name,
            r.stderr()
        );
        assert!(
            out.contains("DENIED") && !out.contains("top secret") && !out.contains("READ"),
            "[{}] secret read:\n{out}",
            u.name
        );
        // Without the hide the same sandbox reads it, and the host reads it too.
        let prof = format!(
            "include = [\"default\"]\n[filesystem]\nro = [\"{0}\"]\n",
            s(&d)
        );
        let r = Jail::new(u)
            .profile("h", &prof)
            .args(["run", "--profile", "h", "--", "/bin/cat"])
            .args([d.join("secret")])
            .output();
        r.ok();
        assert_eq!(r.stdout(), "top secret\n");
        assert_eq!(
            std::fs::read_to_string(d.join("secret")).unwrap(),
            "top secret\n"
        );
    });
}

#[test]
fn ro_refuses_writes_rw_writes_through() {
    each_user(|u| {
        let ro = tempdir(u);
        let rw = tempdir(u);
        write_file(u, &ro, "f", "old\n");
        let r = sh(
            u,
            &["--ro-bind", &s(&ro), "--bind", &s(&rw)],
            &format!(
                "echo new > {0}/f; echo ro=$?; touch {0}/g 2>&1; echo hi > {1}/out; echo rw=$?",
                s(&ro),
                s(&rw)
            ),
        );
        r.ok();
        let out = r.stdout();
        let err = r.stderr();
        assert!(
            out.contains("ro=") && !out.contains("ro=0"),
            "[{}] ro write went through:\n{out}",
            u.name
        );
        assert!(
            err.contains("Read-only file system") || out.contains("Read-only file system"),
            "[{}] not EROFS:\n{out}\n{err}",
            u.name
        );
        assert!(
            out.contains("rw=0"),
            "[{}] rw write failed:\n{out}\n{err}",
            u.name
        );
        assert_eq!(std::fs::read_to_string(ro.join("f")).unwrap(), "old\n");
        assert!(!ro.join("g").exists());
        assert_eq!(
            std::fs::read_to_string(rw.join("out")).unwrap(),
            "hi\n",
            "[{}]",
            u.name
        );
        // The read-only folder itself is writable by this user on the host (the bind made the
        // difference), shown by a sandbox that binds it read-write.
        let r = sh(
            u,
            &["--bind", &s(&ro)],
            &format!("echo new > {0}/f", s(&ro)),
        );
        r.ok();
        assert_eq!(std::fs::read_to_string(ro.join("f")).unwrap(), "new\n");
    });
}

#[test]
fn exit_126_for_a_file_without_exec_bit() {
    each_user(|u| {
        let d = tempdir(u);
        let p = write_file(u, &d, "prog", "#!/bin/sh\nexit 9\n");
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
        let r = Jail::new(u)
            .args(["run", "--ro-bind", &s(&d), "--"])
            .args([&p])
            .output();
        r.expect_code(126);
        assert!(r.stderr().contains("not executable"), "{}", r.stderr());
        std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        Jail::new(u)
            .args(["run", "--ro-bind", &s(&d), "--"])
            .args([&p])
            .output()
            .expect_code(9);
    });
}

#[test]
fn host_symlink_dir_works_inside() {
    let host = std::fs::read_link("/bin");
    each_user(|u| {
        let r = sh(u, &[], "readlink /bin; /bin/sh -c 'echo ran'");
        r.ok();
        match &host {
            Ok(t) => assert_eq!(
                r.stdout(),
                format!("{}\nran\n", t.display()),
                "[{}]",
                u.name
            ),
            Err(_) => assert_eq!(r.stdout(), "\nran\n", "[{}]", u.name),
        }
    });
}

#[test]
fn planted_symlink_at_mount_target_refused() {
    each_user(|u| {
        // D is granted read-write; something is then mounted at D/sub.
        let run = |d: &Path, extra: &[String]| {
            let prof = format!(
                "include = [\"default\"]\n[filesystem]\nrw = [\"{}\"]\n",
                s(d)
            );
            Jail::new(u)
                .profile("p", &prof)
                .args(["run", "--profile", "p"])
                .args(extra)
                .args(["--", "/bin/sh", "-c", "ls -A /etc | wc -l; echo RAN"])
                .output()
        };
        let mounts = |d: &Path| {
            vec![
                vec!["--tmpfs".to_string(), format!("{}/sub", s(d))],
                vec!["--hide".to_string(), format!("{}/sub", s(d))],
                vec!["--ro-bind".to_string(), format!("/usr/share:{}/sub", s(d))],
            ]
        };

        // Not planted: D/sub is a folder; every mount there works.
        let d = tempdir(u);
        std::fs::create_dir(d.join("sub")).unwrap();
        for m in mounts(&d) {
            let r = run(&d, &m);
            r.ok();
            assert!(
                r.stdout().ends_with("RAN\n"),
                "[{}] {m:?}: {}",
                u.name,
                r.stdout()
            );
        }

        // Planted: D/sub is a symlink to /etc. Followed, the mount would cover the sandbox's
        // /etc; jail refuses instead and names the symlink.
        let d = tempdir(u);
        std::os::unix::fs::symlink("/etc", d.join("sub")).unwrap();
        for m in mounts(&d) {
            let r = run(&d, &m);
            r.expect_code(125);
            let err = r.stderr();
            assert!(err.starts_with("jail: error: "), "[{}] {err}", u.name);
            assert!(
                err.contains(&format!("{}/sub is a symlink", s(&d))),
                "[{}] {m:?}: error does not name the symlink: {err}",
                u.name
            );
            assert!(!r.stdout().contains("RAN"));
        }

        // Planted one level up: D/link -> E (a real folder), a mount at D/link/sub.
        let d = tempdir(u);
        let e = tempdir(u);
        std::fs::create_dir(e.join("sub")).unwrap();
        std::os::unix::fs::symlink(&e, d.join("link")).unwrap();
        let r = run(&d, &["--tmpfs".into(), format!("{}/link/sub", s(&d))]);
        r.expect_code(125);
        let err = r.stderr();
        assert!(
            err.contains(&format!("{}/link is a symlink", s(&d))),
            "[{}] error does not name the symlink: {err}",
            u.name
        );
        // The same folder reached by its real path works.
        run(&d, &["--tmpfs".into(), format!("{}/sub", s(&e))]).ok();

        // A read-only grant that is itself a symlink in a folder the user (or a sandbox with a
        // writable grant there) can write is refused: it could have been planted to point the
        // grant at a secret. Granting the real path works.
        let d = tempdir(u);
        std::os::unix::fs::symlink("/etc", d.join("sub")).unwrap();
        let prof = format!(
            "include = [\"default\"]\n[filesystem]\nrw = [\"{0}\"]\nro = [\"{0}/sub\"]\n",
            s(&d)
        );
        let r = Jail::new(u)
            .profile("p", &prof)
            .args(["run", "--profile", "p", "--", "/bin/true"])
            .output();
        r.expect_code(125);
        assert!(
            r.stderr().contains("grant the real path /etc instead"),
            "[{}] {}",
            u.name,
            r.stderr()
        );
        let prof = format!(
            "include = [\"default\"]\n[filesystem]\nrw = [\"{0}\"]\nro = [\"/etc\"]\n",
            s(&d)
        );
        Jail::new(u)
            .profile("p", &prof)
            .args(["run", "--profile", "p", "--", "/bin/true"])
            .output()
            .ok();
    });
}
