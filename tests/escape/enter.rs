//! Class 16: `jail enter` joins a running sandbox. From its fork inside the sandbox's pid
//! namespace until its exec, the joiner is a process of the sandbox's user and uid that does
//! not yet have the sandbox's policy: the sandbox must not be able to ptrace it or write its
//! memory in that time.
use super::*;
use std::io::{BufRead, BufReader};

/// A sandbox name no other test run uses.
fn unique(tag: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    format!("{tag}-{}-{n}", std::process::id())
}

#[test]
fn joiner_never_reachable_before_exec() {
    each_user(|u| {
        let d = tempdir(u);
        // The sandbox may ptrace (a debugger's profile) and has no Landlock (a kernel without
        // it, or enabled = false): the joiner's protection must rest neither on seccomp refusing
        // ptrace nor on Landlock's rule that a domain cannot trace what lies outside it.
        let prof = profile_file(
            u,
            &d,
            "prowler",
            &format!(
                "include = [\"base\"]\n[landlock]\nenabled = false\n[filesystem]\nrw = [\"{}\"]\n\
                 [[seccomp.rule]]\nsyscall = \"ptrace\"\narg = 0\nop = \"ge\"\nvalue = 0\naction = \"allow\"\n",
                d.display()
            ),
        );
        // A stand-in for an un-hardened joiner: a dumpable process named like the joiner.
        let decoy = d.join("jail");
        std::fs::copy("/bin/sleep", &decoy).unwrap();
        if euid() == 0 {
            std::os::unix::fs::chown(&decoy, Some(u.uid), Some(u.gid)).unwrap();
        }
        let run = |name: &str, enters: &[&str], times: usize| -> String {
            let stop = d.join(format!("stop-{name}"));
            // Ends the prowler if an assertion fails half way.
            struct Stop(std::process::Child, PathBuf);
            impl Drop for Stop {
                fn drop(&mut self) {
                    let _ = std::fs::write(&self.1, "");
                    let _ = self.0.kill();
                    let _ = self.0.wait();
                }
            }
            let c = Jail::new(u)
                .args([
                    "run",
                    "--name",
                    name,
                    "--chdir",
                    "/",
                    "--profile",
                    &prof,
                    "--ro-bind",
                ])
                .args([bin_dir().as_os_str()])
                .args(["--", &attacker(), "prowl", "120", "jail"])
                .args([stop.as_os_str()])
                .spawn();
            let mut c = Stop(c, stop.clone());
            let mut out = BufReader::new(c.0.stdout.take().unwrap());
            let mut line = String::new();
            out.read_line(&mut line).unwrap();
            assert_eq!(
                line.trim(),
                "prowl ready",
                "[{}] the prowler did not start",
                u.name
            );
            // The record may be written a moment after COMMAND starts.
            let listed = || Jail::new(u).args(["ps"]).output().stdout().contains(name);
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while !listed() && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            for _ in 0..times {
                let r = Jail::new(u)
                    .args(["enter", name, "--"])
                    .args(enters)
                    .output();
                r.ok();
            }
            std::fs::write(&stop, "").unwrap();
            let mut rest = String::new();
            std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
            let _ = c.0.wait();
            rest
        };

        // Proof: the prowler reaches a dumpable process named "jail" that joins the sandbox.
        let decoy_arg = decoy.to_string_lossy().into_owned();
        let proof = run(&unique("prowlproof"), &[&decoy_arg, "0.3"], 3);
        assert!(
            proof.contains("prowl-hit"),
            "[{}] proof failed: the prowler reached no dumpable joiner:\n{proof}",
            u.name
        );

        // The real joiner: never reached while it is still jail, many times over.
        let out = run(&unique("prowl"), &["/bin/sleep", "0.05"], 40);
        assert!(
            !out.contains("prowl-hit"),
            "[{}] ESCAPE: the sandbox reached `jail enter` before its policy:\n{out}",
            u.name
        );
        let count = |k: &str| -> usize {
            out.lines()
                .find_map(|l| l.strip_prefix(k))
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or(0)
        };
        assert!(
            count("prowl-seen ") > 0,
            "[{}] the prowler never saw a joiner before its exec, nothing was tested:\n{out}",
            u.name
        );
        assert!(
            count("prowl-reach ") > 0,
            "[{}] the entered commands (after exec) were not reachable either: the attack proves nothing here:\n{out}",
            u.name
        );
        let _ = std::fs::remove_dir_all(&d);
    });
}
