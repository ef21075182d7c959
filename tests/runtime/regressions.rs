//! Bugs found in the runtime and fixed: each test keeps its fix from coming back.
use super::terminal::in_terminal;
use super::*;

#[test]
fn cwd_falls_back_when_not_visible() {
    each_user(|u| {
        // The caller's folder (under /tmp) is not granted: SPEC §3 says HOME if visible, else /.
        let r = Jail::new(u)
            .profile("nocwd", "include = [\"base\"]\n")
            .args(["run", "--profile", "nocwd", "--", "/bin/pwd"])
            .output();
        r.ok();
        assert_eq!(r.stdout(), "/\n", "[{}] {}", u.name, r.stderr());
    });
}

#[test]
fn tty_name_resolves_inside() {
    each_user(|u| {
        let (mut child, mut t) = in_terminal(Jail::new(u).args(["run", "--", "/usr/bin/tty"]));
        t.expect("\r\n");
        let code = wait_deadline(&mut child, "tty");
        let all = String::from_utf8_lossy(&t.all).into_owned();
        assert_eq!(code, 0, "[{}] tty inside: {all:?}", u.name);
        assert!(
            all.starts_with("/dev/pts/"),
            "[{}] tty inside: {all:?}",
            u.name
        );
    });
}

#[test]
fn root_is_listable_not_writable_and_hidden_folders_stay_closed() {
    each_user(|u| {
        let d = tempdir(u);
        std::fs::create_dir(d.join("secret")).unwrap();
        write_file(u, &d, "secret/key", "KEY\n");
        if euid() == 0 {
            std::os::unix::fs::chown(d.join("secret"), Some(u.uid), Some(u.gid)).unwrap();
        }
        let prof = format!(
            "include = [\"base\"]\n[filesystem]\nro = [\"{0}\"]\nhide = [\"{0}/secret\"]\n",
            d.display()
        );
        let script = format!("ls /; touch /new 2>/dev/null && echo WROTE-ROOT; ls {0}/secret 2>/dev/null && echo LISTED-SECRET; cat {0}/secret/key 2>/dev/null", d.display());
        let r = Jail::new(u)
            .profile("p", &prof)
            .args([
                "run",
                "--chdir",
                "/",
                "--profile",
                "p",
                "--",
                "/bin/sh",
                "-c",
                &script,
            ])
            .output();
        let out = r.stdout();
        // `ls /` works (Landlock lets the empty root be listed) …
        assert!(
            out.lines().any(|l| l == "usr") && out.lines().any(|l| l == "proc"),
            "[{}] {out}{}",
            u.name,
            r.stderr()
        );
        // … but the root stays read-only and a hidden folder stays closed.
        assert!(
            !out.contains("WROTE-ROOT") && !out.contains("LISTED-SECRET") && !out.contains("KEY"),
            "[{}] {out}",
            u.name
        );
        // Outside, the secret is there to be read.
        assert_eq!(
            std::fs::read_to_string(d.join("secret/key")).unwrap(),
            "KEY\n"
        );
    });
}
