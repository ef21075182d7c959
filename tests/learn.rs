//! `jail learn` (issue 15): a learned profile runs the same task again under `jail run`, passes
//! `jail check`, scores at least as locked as the shipped profile in `jail audit`, and grants
//! nothing the run did not use; bad input is refused with exit 125 and no file.
mod common;
use common::*;
use std::path::Path;

fn jail(user: &User, cwd: &Path, args: &[&str]) -> Run {
    let mut cmd = session_command(jail_bin(), user, cwd);
    cmd.args(args);
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

/// jail's policy keeps every repository's `.git` read-only inside (plan/mounts: its hooks and
/// config steer what git runs), so no profile — the shipped `git` one neither — lets `git
/// commit` write. The learned profile asks for `.git` read-write, and the run is refused the
/// same way as under the shipped profile.
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
        let mut args = vec!["run", "--profile", out.to_str().unwrap(), "--"];
        args.extend_from_slice(&commit);
        let learned = jail(u, &repo, &args);
        let mut args = vec!["run", "--profile", "git", "--"];
        args.extend_from_slice(&commit);
        let shipped = jail(u, &repo, &args);
        assert_eq!(learned.code(), shipped.code());
        assert!(
            learned.stderr().contains("index.lock"),
            "{}",
            learned.stderr()
        );
        assert!(!text.contains("\"network\""), "{text}");
        assert!(score(u, &repo, out.to_str().unwrap()) <= score(u, &repo, "git"));
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
        // Never exits: stopped at the timeout, the profile says so.
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
