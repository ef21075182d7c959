//! `jail learn` (issue 15): a learned profile runs the same task again under `jail run`, passes
//! `jail check`, scores at least as locked as the shipped profile in `jail audit`, and grants
//! nothing the run did not use; bad input is refused with exit 125 and no file.
mod common;
use common::*;
use std::path::Path;

fn jail(user: &User, cwd: &Path, args: &[&str]) -> Run {
    jail_env(user, cwd, &[], args)
}

fn jail_env(user: &User, cwd: &Path, env: &[(&str, &str)], args: &[&str]) -> Run {
    let mut cmd = session_command(jail_bin(), user, cwd);
    cmd.envs(env.iter().copied()).args(args);
    let out = cmd.output().expect("start jail");
    Run {
        out,
        user: user.name.clone(),
    }
}

fn score(user: &User, cwd: &Path, profile: &str) -> f64 {
    let r = jail(user, cwd, &["audit", profile]);
    let s = r.stdout();
    let line = s
        .lines()
        .find(|l| l.contains("exposure"))
        .expect("a score line");
    line.split("exposure ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no score in {line}"))
}

/// Learns `cmd` in `dir`, checks the file, runs it again with the learned profile and returns
/// (the profile text, the run).
fn learn_and_rerun(user: &User, dir: &Path, cmd: &[&str]) -> (String, Run) {
    let out = dir.join("learned.toml");
    let mut args = vec!["learn", "--out", out.to_str().unwrap(), "--"];
    args.extend_from_slice(cmd);
    jail(user, dir, &args).ok();
    let text = std::fs::read_to_string(&out).unwrap();
    jail(user, dir, &["check", out.to_str().unwrap()]).ok();
    let mut args = vec!["run", "--profile", out.to_str().unwrap(), "--"];
    args.extend_from_slice(cmd);
    (text, jail(user, dir, &args))
}

#[test]
fn curl_of_a_loopback_page() {
    if !need("curl") || !need("python3") {
        return;
    }
    each_user(|u| {
        let dir = TempDir::new(u);
        write_file(u, &dir, "index.html", "learned page\n");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let page = std::thread::spawn(move || {
            use std::io::{Read, Write};
            for _ in 0..2 {
                let (mut s, _) = listener.accept().unwrap();
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 13\r\n\r\nlearned page\n");
            }
        });
        let url = format!("http://127.0.0.1:{port}/");
        let (text, run) = learn_and_rerun(u, &dir, &["curl", "-s", &url]);
        run.ok();
        assert_eq!(run.stdout(), "learned page\n");
        page.join().unwrap();
        assert!(text.contains("\"network\""), "{text}");
        assert!(text.contains(&format!("connect_tcp = [{port}]")), "{text}");
        // Nothing of the working folder was used: it is not granted (default grants it rw).
        assert!(!text.contains(dir.to_str().unwrap()), "{text}");
        let learned = dir.join("learned.toml");
        assert!(score(u, &dir, learned.to_str().unwrap()) <= score(u, &dir, "curl"));
    });
}

#[test]
fn python_reads_a_data_folder_and_writes_an_output_folder() {
    if !need("python3") {
        return;
    }
    each_user(|u| {
        let dir = TempDir::new(u);
        for i in 0..5 {
            write_file(u, &dir, &format!("data/{i}.txt"), &format!("{i}\n"));
        }
        write_file(u, &dir, "out/.keep", "");
        if euid() == 0 {
            for d in ["data", "out"] {
                std::os::unix::fs::chown(dir.join(d), Some(u.uid), Some(u.gid)).unwrap();
            }
        }
        let script = "import os\nt=sum(int(open('data/'+f).read()) for f in sorted(os.listdir('data')))\nopen('out/sum.txt','w').write(str(t))\n";
        write_file(u, &dir, "sum.py", script);
        let (text, run) = learn_and_rerun(u, &dir, &["python3", "sum.py"]);
        run.ok();
        assert_eq!(
            std::fs::read_to_string(dir.join("out/sum.txt")).unwrap(),
            "10"
        );
        let data = format!("{}", dir.join("data").display());
        let out = format!("{}", dir.join("out").display());
        assert!(text.contains(&format!("\"{data}\"")), "{text}");
        assert!(text.contains(&format!("\"{out}\"")), "{text}");
        // The data folder is read-only: the learned sandbox cannot change it.
        let learned = dir.join("learned.toml");
        jail(
            u,
            &dir,
            &[
                "run",
                "--profile",
                learned.to_str().unwrap(),
                "--",
                "sh",
                "-c",
                "echo x > data/0.txt",
            ],
        )
        .expect_code(2);
        assert!(!text.contains("\"network\""), "{text}");
        assert!(score(u, &dir, learned.to_str().unwrap()) <= score(u, &dir, "python3"));
    });
}

/// The learned profile asks for the repository's `.git` read-write with `repositories =
/// "commit"` (what steers git stays read-only), and commits under `jail run`, as the shipped
/// `git` profile does.
#[test]
fn git_commits_in_a_folder() {
    if !need("git") {
        return;
    }
    each_user(|u| {
        let dir = TempDir::new(u);
        let repo = dir.join("repo");
        write_file(u, &repo, "a.txt", "one\n");
        if euid() == 0 {
            std::os::unix::fs::chown(&repo, Some(u.uid), Some(u.gid)).unwrap();
        }
        let git = |args: &[&str]| {
            let mut c = session_command("git", u, &repo);
            c.args(args);
            assert!(c.status().unwrap().success());
        };
        git(&["init", "-q"]);
        let commit = [
            "sh",
            "-c",
            "git add -A && git -c user.name=t -c user.email=t@e commit -q -m learned",
        ];
        let out = dir.join("learned.toml");
        let mut args = vec!["learn", "--out", out.to_str().unwrap(), "--"];
        args.extend_from_slice(&commit);
        jail(u, &repo, &args).ok();
        // Learning threw its writes away: no commit yet.
        let mut log = session_command("git", u, &repo);
        log.args(["log", "--oneline"]);
        assert!(String::from_utf8_lossy(&log.output().unwrap().stdout).is_empty());
        let text = std::fs::read_to_string(&out).unwrap();
        let git_dir = format!("\"{}\"", repo.join(".git").display());
        assert!(text.contains(&git_dir), "{text}");
        jail(u, &repo, &["check", out.to_str().unwrap()]).ok();
        assert!(text.contains("repositories = \"commit\""), "{text}");
        let commits = || {
            let mut log = session_command("git", u, &repo);
            log.args(["log", "--oneline"]);
            String::from_utf8_lossy(&log.output().unwrap().stdout)
                .lines()
                .count()
        };
        let mut args = vec!["run", "--profile", out.to_str().unwrap(), "--"];
        args.extend_from_slice(&commit);
        jail(u, &repo, &args).ok();
        assert_eq!(commits(), 1, "[{}] the learned profile commits", u.name);
        // The shipped profile commits as well.
        write_file(u, &repo, "b.txt", "two\n");
        let mut args = vec!["run", "--profile", "git", "--"];
        args.extend_from_slice(&commit);
        jail(u, &repo, &args).ok();
        assert_eq!(commits(), 2, "[{}] the shipped profile commits", u.name);
        assert!(!text.contains("\"network\""), "{text}");
        assert!(score(u, &repo, out.to_str().unwrap()) <= score(u, &repo, "git"));
    });
}

/// D-Bus names: on a private session bus where two services run, learn grants the one the run
/// called and the name it asked to own, and not the other; under the learned profile the one is
/// reached and the name owned, and the other does not exist for the app.
#[test]
fn dbus_names_the_run_used() {
    if !bus::need_bus() {
        return;
    }
    each_user(|u| {
        let dir = TempDir::new(u);
        let bus = bus::session_bus(u, &dir, &["org.jailtest.Used", "org.jailtest.Unused"]);
        let env = [("DBUS_SESSION_BUS_ADDRESS", bus.address.as_str())];
        let own = write_file(u, &dir, "own-inside.py", bus::OWN_INSIDE);
        let script = format!(
            "{}; /usr/bin/python3 {} org.jailtest.Mine",
            bus::PING,
            own.display()
        );
        let out = dir.join("learned.toml");
        let o = out.to_str().unwrap();
        let task = ["/bin/sh", "-c", &script, "sh", "org.jailtest.Used"];
        let mut args = vec!["learn", "--out", o, "--"];
        args.extend_from_slice(&task);
        let r = jail_env(u, &dir, &env, &args);
        r.ok();
        // Learn ran it with the service reachable; a name cannot be owned before it is known.
        assert!(
            r.stdout().contains("org.jailtest.Used reachable"),
            "{}",
            r.stderr()
        );
        let text = std::fs::read_to_string(&out).unwrap();
        let ctx = format!("[{}] {text}", u.name);
        assert!(text.contains("session = \"filtered\""), "{ctx}");
        assert!(
            text.contains("talk = [\n  \"org.jailtest.Used\",  # called "),
            "{ctx}"
        );
        assert!(
            text.contains("own = [\n  \"org.jailtest.Mine\",  # asked to own it"),
            "{ctx}"
        );
        assert!(!text.contains("org.jailtest.Unused"), "{ctx}");
        jail_env(u, &dir, &env, &["check", o]).ok();
        let mut args = vec!["run", "--profile", o, "--"];
        args.extend_from_slice(&task);
        args.push("org.jailtest.Unused");
        let r = jail_env(u, &dir, &env, &args);
        r.ok();
        let s = r.stdout();
        assert!(s.contains("org.jailtest.Used reachable"), "{ctx}\n{s}");
        assert!(s.contains("org.jailtest.Mine owned"), "{ctx}\n{s}");
        assert!(
            s.contains("org.jailtest.Unused unreachable") && s.contains("ServiceUnknown"),
            "{ctx}\n{s}"
        );
    });
}

#[test]
fn bad_input_is_refused_without_a_file() {
    each_user(|u| {
        let dir = TempDir::new(u);
        let out = dir.join("p.toml");
        let o = out.to_str().unwrap();
        let r = jail(
            u,
            &dir,
            &["learn", "--out", o, "--", "no-such-command-here"],
        );
        r.expect_code(125);
        assert!(r.stderr().contains("command not found"), "{}", r.stderr());
        assert!(!out.exists());
        write_file(u, &dir, "p.toml", "# mine\n");
        let r = jail(u, &dir, &["learn", "--out", o, "--", "true"]);
        r.expect_code(125);
        assert!(r.stderr().contains("--force"), "{}", r.stderr());
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "# mine\n");
        jail(u, &dir, &["learn", "--force", "--out", o, "--", "true"]).ok();
        assert!(std::fs::read_to_string(&out).unwrap().contains("include"));
        // Never exits: stopped at the timeout (not after sleep's 60 s), the profile says so.
        let start = std::time::Instant::now();
        let r = jail(
            u,
            &dir,
            &[
                "learn",
                "--force",
                "--timeout",
                "1",
                "--out",
                o,
                "--",
                "sleep",
                "60",
            ],
        );
        r.ok();
        let took = start.elapsed();
        assert!(took < std::time::Duration::from_secs(30), "took {took:?}");
        assert!(r.stderr().contains("warning"), "{}", r.stderr());
        assert!(std::fs::read_to_string(&out)
            .unwrap()
            .contains("--timeout 1s"));
        // Killed: written, with a note.
        let r = jail(
            u,
            &dir,
            &[
                "learn",
                "--force",
                "--out",
                o,
                "--",
                "sh",
                "-c",
                "kill -9 $$",
            ],
        );
        r.ok();
        assert!(std::fs::read_to_string(&out)
            .unwrap()
            .contains("killed by signal 9"));
    });
}

/// `jail learn` as `user` in `cwd` with `HOME` set to `home`; killed (and failed) when it does
/// not end within a minute.
fn learn_in(user: &User, cwd: &Path, home: Option<&Path>, args: &[&str]) -> Run {
    let mut cmd = session_command(jail_bin(), user, cwd);
    if let Some(h) = home {
        cmd.env("HOME", h);
    }
    cmd.arg("learn").args(args);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("start jail");
    let end = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("jail learn did not end within a minute");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Run {
        out: child.wait_with_output().unwrap(),
        user: user.name.clone(),
    }
}

fn chown_all(u: &User, paths: &[&Path]) {
    if euid() == 0 {
        for p in paths {
            std::os::unix::fs::lchown(p, Some(u.uid), Some(u.gid)).unwrap();
        }
    }
}

/// COMMAND sees jail's private folder of the run only as the one record folder: links it
/// plants where jail writes its coverage and learned profile point nowhere on the host, and a
/// record it forged before killing the recorder (or a FIFO in its place) is refused.
#[test]
fn command_cannot_reach_what_jail_writes() {
    each_user(|u| {
        let dir = TempDir::new(u);
        let victim = write_file(u, &dir, "victim.txt", "mine\n");
        let v = victim.to_str().unwrap();
        // Links where jail writes its own files, in the private folder and its record folder.
        let links = format!(
            "for d in /tmp/jail-learn-* /tmp/jail-learn-*/rec; do\n\
             ln -s {v} $d/coverage.toml; ln -s {v} $d/learned.toml; ln -s {v} $d/permissive.toml\n\
             done\n"
        );
        write_file(u, &dir, "links.sh", &links);
        let out = dir.join("p.toml");
        let o = out.to_str().unwrap();
        let r = learn_in(u, &dir, None, &["--out", o, "--", "sh", "links.sh"]);
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "mine\n");
        r.ok();
        assert!(std::fs::read_to_string(&out).unwrap().contains("include"));
        std::fs::remove_file(&out).unwrap();
        // A forged record (granting the victim's folder read-write), then the recorder killed.
        let forged = format!(
            "{{\"paths\":{{\"{v}\":{{\"ok\":{{\"Write\":1}},\"failed\":{{}}}}}},\"abstract_sockets\":[],\
             \"inet\":[],\"syscalls\":{{}},\"syscalls_ok\":{{}},\"namespaces\":{{}},\
             \"ending\":{{\"status\":0,\"signal\":null,\"timed_out\":false}},\"exec_error\":null,\"complete\":true}}"
        );
        write_file(u, &dir, "forged.json", &forged);
        let forge = format!(
            "for d in /tmp/jail-learn-* /tmp/jail-learn-*/rec; do cp {} $d/record.json; done\nkill -9 $PPID\nsleep 5\n",
            dir.join("forged.json").display()
        );
        write_file(u, &dir, "forge.sh", &forge);
        let r = learn_in(u, &dir, None, &["--out", o, "--", "sh", "forge.sh"]);
        r.expect_code(125);
        assert!(r.stderr().contains("recorder was killed"), "{}", r.stderr());
        assert_eq!(
            r.stderr().matches("jail: error").count(),
            1,
            "{}",
            r.stderr()
        );
        assert!(!out.exists());
        // A FIFO in the record's place, then the recorder killed: refused, not blocked on.
        let fifo = "for d in /tmp/jail-learn-* /tmp/jail-learn-*/rec; do mkfifo $d/record.json; done\nkill -9 $PPID\nsleep 5\n";
        write_file(u, &dir, "fifo.sh", fifo);
        let r = learn_in(u, &dir, None, &["--out", o, "--", "sh", "fifo.sh"]);
        r.expect_code(125);
        assert!(r.stderr().contains("recorder was killed"), "{}", r.stderr());
        assert!(!out.exists());
    });
}

/// A secret of the home reached through a symlink (~/.ssh → ~/dotfiles/ssh) is hidden at
/// the folder it resolves to, and the learned profile grants neither name; one that resolves
/// outside the home cannot be hidden, and learn refuses to run.
#[test]
fn symlinked_secrets_stay_hidden() {
    each_user(|u| {
        let dir = TempDir::new(u);
        let home = dir.join("home");
        write_file(u, &home, "dotfiles/ssh/id_rsa", "SECRET-KEY\n");
        std::os::unix::fs::symlink("dotfiles/ssh", home.join(".ssh")).unwrap();
        chown_all(
            u,
            &[
                &home,
                &home.join("dotfiles"),
                &home.join("dotfiles/ssh"),
                &home.join(".ssh"),
            ],
        );
        let out = dir.join("p.toml");
        let o = out.to_str().unwrap();
        let script = "cat ~/.ssh/id_rsa ~/dotfiles/ssh/id_rsa; echo done";
        let r = learn_in(
            u,
            &home,
            Some(&home),
            &["--out", o, "--", "sh", "-c", script],
        );
        r.ok();
        assert!(r.stdout().contains("done"), "{}", r.stdout());
        assert!(!r.stdout().contains("SECRET-KEY"), "{}", r.stdout());
        let text = std::fs::read_to_string(&out).unwrap();
        // Named in comments (what was not granted), never in a grant.
        let grants: String = text
            .lines()
            .map(|l| l.split('#').next().unwrap_or(""))
            .collect();
        assert!(!grants.contains("ssh"), "{text}");
        assert!(
            text.contains("dotfiles/ssh/id_rsa (a key or credential"),
            "{text}"
        );
        std::fs::remove_file(&out).unwrap();
        // Outside the home: refused in one line, nothing written.
        write_file(u, &dir, "elsewhere/aws/credentials", "SECRET-AWS\n");
        std::os::unix::fs::symlink(dir.join("elsewhere/aws"), home.join(".aws")).unwrap();
        chown_all(u, &[&home.join(".aws")]);
        let r = learn_in(
            u,
            &home,
            Some(&home),
            &["--out", o, "--", "sh", "-c", "cat ~/.aws/credentials"],
        );
        r.expect_code(125);
        assert!(r.stderr().contains("outside the home"), "{}", r.stderr());
        assert_eq!(r.stderr().lines().count(), 1, "{}", r.stderr());
        assert!(!r.stdout().contains("SECRET-AWS"));
        assert!(!out.exists());
    });
}

/// A home with secrets to hide and a working folder outside it: two overlays, each with its
/// own throwaway folders (they once collided when a descriptor number was reused). A socket
/// the run bound and that is gone afterwards is not granted (the profile would not compile).
#[test]
fn overlays_and_a_socket_gone_after_the_run() {
    if !need("python3") {
        return;
    }
    each_user(|u| {
        let dir = TempDir::new(u);
        let home = dir.join("home");
        write_file(u, &home, ".ssh/id_rsa", "SECRET-KEY\n");
        write_file(u, &home, ".netrc", "SECRET-NETRC\n");
        let work = dir.join("work");
        write_file(
            u,
            &work,
            "bind.py",
            "import socket\ns=socket.socket(socket.AF_UNIX)\ns.bind('s.sock')\nprint('bound')\n",
        );
        chown_all(u, &[&home, &home.join(".ssh"), &work]);
        let out = dir.join("p.toml");
        let o = out.to_str().unwrap();
        let r = learn_in(
            u,
            &work,
            Some(&home),
            &["--out", o, "--", "python3", "bind.py"],
        );
        r.ok();
        assert!(r.stdout().contains("bound"), "{}", r.stdout());
        assert!(!work.join("s.sock").exists());
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(!text.contains("s.sock\""), "{text}");
        let mut c = session_command(jail_bin(), u, &work);
        c.env("HOME", &home).args(["check", o]);
        assert!(c.status().unwrap().success(), "{text}");
    });
}

/// Firefox's headless screenshot of a loopback page, in a fresh HOME: the learned profile
/// allows the chroot its own sandbox needs (the shipped one has a rule for it), takes the
/// screenshot again under `jail run`.
/// `timeout 90` in front keeps a hanging Firefox from stopping the test run.
#[test]
fn firefox_headless_screenshot() {
    if !need("firefox-esr") {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut s in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let body = "<html><body style=\"background:#0c0\"><h1>learned</h1></body></html>";
            let _ = write!(
                s,
                "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let url = format!("http://127.0.0.1:{port}/");
    each_user(|u| {
        let dir = TempDir::new(u);
        let home = format!("HOME={}", dir.display());
        let shot = dir.join("shot.png");
        let cmd = [
            "timeout",
            "90",
            "env",
            &home,
            "firefox-esr",
            "--headless",
            "--no-remote",
            "--screenshot",
            shot.to_str().unwrap(),
            &url,
        ];
        let out = dir.join("learned.toml");
        let mut args = vec![
            "learn",
            "--timeout",
            "120",
            "--out",
            out.to_str().unwrap(),
            "--",
        ];
        args.extend_from_slice(&cmd);
        jail(u, &dir, &args).ok();
        // The screenshot learn took was thrown away with the run's other writes.
        assert!(!shot.exists(), "[{}] learn wrote to the host", u.name);
        let text = std::fs::read_to_string(&out).unwrap();
        // chroot through a rule of its own, as the shipped browser profiles have it;
        // @default-deny stays whole.
        assert!(text.contains("syscall = \"chroot\""), "{text}");
        assert!(!text.contains("!@default-deny"), "{text}");
        // jail's own program is not the app's.
        let own = jail_bin().to_string_lossy().into_owned();
        assert!(!text.contains(&own), "{text}");
        assert!(!text.contains("stopped after"), "{text}");
        let mut args = vec!["run", "--profile", out.to_str().unwrap(), "--"];
        args.extend_from_slice(&cmd);
        jail(u, &dir, &args).ok();
        let len = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
        assert!(
            len > 0,
            "[{}] no screenshot under the learned profile",
            u.name
        );
        assert!(
            score(u, &dir, out.to_str().unwrap()) <= score(u, &dir, "firefox-esr"),
            "[{}] the learned profile is looser than the shipped one",
            u.name
        );
        assert!(!text.contains("\"/\""), "{text}");
    });
}
