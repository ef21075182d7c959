//! Signals and lifetime.
use super::*;

#[test]
fn sigterm_is_forwarded() {
    each_user(|u| {
        for init in [true, false] {
            let prof = format!("include = [\"default\"]\n[process]\ninit = {init}\n");
            let mut child = Jail::new(u)
                .profile("sig", &prof)
                .args([
                    "run",
                    "--profile",
                    "sig",
                    "--",
                    "/bin/sh",
                    "-c",
                    "trap 'echo got; exit 3' TERM; echo ready; while :; do sleep 0.05; done",
                ])
                .spawn();
            let mut out = BufReader::new(child.stdout.take().unwrap());
            wait_line(&mut out, "ready");
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            )
            .unwrap();
            let code = wait_deadline(&mut child, "SIGTERM");
            let mut rest = String::new();
            out.read_to_string(&mut rest).unwrap();
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            assert_eq!(
                code, 3,
                "[{} init={init}] stdout {rest:?} stderr {err}",
                u.name
            );
            assert_eq!(rest, "got\n");
        }
    });
}

#[test]
fn sigkill_of_jail_kills_the_sandbox() {
    each_user(|u| {
        for init in [true, false] {
            let m = marker();
            let prof = format!("include = [\"default\"]\n[process]\ninit = {init}\n");
            let mut child = Jail::new(u)
                .profile("k", &prof)
                .args(["run", "--profile", "k", "--", "/bin/sh", "-c"])
                .args([format!("sleep {m} >/dev/null 2>&1 & echo ready; sleep {m}")])
                .spawn();
            let mut out = BufReader::new(child.stdout.take().unwrap());
            wait_line(&mut out, "ready");
            assert!(
                appears(&format!("sleep {m}")),
                "the sandbox's sleep is not seen by pgrep"
            );
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGKILL,
            )
            .unwrap();
            let _ = child.wait();
            assert!(
                gone(&format!("sleep {m}")),
                "[{} init={init}] sandbox processes survived jail: {:?}",
                u.name,
                pgrep(&m)
            );
        }
    });
}

#[test]
fn background_processes_die_with_command() {
    // Outside a sandbox the background process outlives its shell.
    let m = marker();
    Command::new("/bin/sh")
        .args(["-c", &format!("sleep {m} >/dev/null 2>&1 &")])
        .status()
        .unwrap();
    assert!(appears(&format!("sleep {m}")));
    for p in pgrep(&format!("sleep {m}")) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(p as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    each_user(|u| {
        for init in [true, false] {
            let m = marker();
            let prof = format!("include = [\"default\"]\n[process]\ninit = {init}\n");
            let mut child = Jail::new(u)
                .profile("bg", &prof)
                .args(["run", "--profile", "bg", "--", "/bin/sh", "-c"])
                .args([format!("sleep {m} >/dev/null 2>&1 & echo started")])
                .spawn();
            let code = wait_deadline(&mut child, "background");
            assert_eq!(code, 0);
            assert!(
                gone(&format!("sleep {m}")),
                "[{} init={init}] background process survived: {:?}",
                u.name,
                pgrep(&m)
            );
        }
    });
}
