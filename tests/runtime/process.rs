//! Process: environment, cwd, fds, rlimits.
use super::*;

#[test]
fn environment_as_planned() {
    each_user(|u| {
        let r = Jail::new(u)
            .env("SECRET_TOKEN", "x")
            .env("LC_TIME", "C")
            .env("LC_FOO", "bar")
            .args([
                "run",
                "--env",
                "A=B",
                "--unsetenv",
                "LANG",
                "--",
                "/usr/bin/env",
            ])
            .output();
        r.ok();
        let out = r.stdout();
        let vars: Vec<&str> = out.lines().collect();
        assert!(
            !vars.iter().any(|l| l.starts_with("SECRET_TOKEN=")),
            "[{}] {out}",
            u.name
        );
        assert!(vars.contains(&"A=B"), "[{}] {out}", u.name);
        assert!(
            !vars.iter().any(|l| l.starts_with("LANG=")),
            "[{}] {out}",
            u.name
        );
        assert!(
            vars.contains(&"LC_TIME=C") && vars.contains(&"LC_FOO=bar"),
            "[{}] LC_* not kept: {out}",
            u.name
        );
        assert!(
            vars.contains(&format!("HOME={}", u.home.display()).as_str()),
            "[{}] {out}",
            u.name
        );
        // Kept when the profile asks for it: the variable did reach jail.
        let r = Jail::new(u)
            .env("SECRET_TOKEN", "x")
            .profile(
                "keep",
                "include = [\"default\"]\n[env]\nkeep = [\"SECRET_TOKEN\"]\n",
            )
            .args(["run", "--profile", "keep", "--", "/usr/bin/env"])
            .output();
        r.ok();
        assert!(
            r.stdout().lines().any(|l| l == "SECRET_TOKEN=x"),
            "[{}] {}",
            u.name,
            r.stdout()
        );
        assert!(
            r.stdout().lines().any(|l| l == "LANG=C.UTF-8"),
            "[{}] {}",
            u.name,
            r.stdout()
        );
    });
}

#[test]
fn working_folder() {
    each_user(|u| {
        let j = Jail::new(u);
        let cwd = j.cwd.clone();
        let r = j.args(["run", "--", "/bin/pwd"]).output();
        r.ok();
        assert_eq!(r.stdout().trim(), s(&cwd), "[{}]", u.name);
        let r = sh(u, &["--chdir", "/tmp"], "pwd");
        r.ok();
        assert_eq!(r.stdout().trim(), "/tmp", "[{}]", u.name);
    });
}

/// Runs `cmd` with `file` open at descriptor 9 (not close-on-exec).
fn with_fd9(mut cmd: Command, file: &std::fs::File) -> Run {
    pass_fd(&mut cmd, file, 9);
    Run {
        out: cmd.output().unwrap(),
        user: String::new(),
    }
}

#[test]
fn inherited_descriptors_are_closed() {
    each_user(|u| {
        let d = tempdir(u);
        let p = write_file(u, &d, "open", "data\n");
        let f = std::fs::File::open(&p).unwrap();
        // Outside a sandbox the descriptor is inherited …
        let mut c = Command::new("/bin/sh");
        c.args(["-c", "ls /proc/self/fd; cat <&9"]);
        let r = with_fd9(c, &f);
        assert!(
            r.stdout().lines().any(|l| l == "9") && r.stdout().contains("data"),
            "{}",
            r.stdout()
        );
        // … inside it is not.
        let j = Jail::new(u).args(["run", "--", "/bin/ls", "/proc/self/fd"]);
        let r = with_fd9(j.cmd, &f);
        r.ok();
        let out = r.stdout();
        let fds: Vec<&str> = out.lines().collect();
        assert_eq!(
            fds,
            vec!["0", "1", "2", "3"],
            "[{}] descriptors inside:\n{out}\n{}",
            u.name,
            r.stderr()
        );
    });
}

#[test]
fn rlimits_apply() {
    let host = host_sh("ulimit -n");
    assert_ne!(host.trim(), "64");
    each_user(|u| {
        let r = Jail::new(u)
            .profile(
                "rl",
                "include = [\"default\"]\n[rlimits]\nnofile = [64, 128]\n",
            )
            .args([
                "run",
                "--profile",
                "rl",
                "--",
                "/bin/sh",
                "-c",
                "ulimit -n; ulimit -Hn",
            ])
            .output();
        r.ok();
        assert_eq!(r.stdout(), "64\n128\n", "[{}] {}", u.name, r.stderr());
    });
}
