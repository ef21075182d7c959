//! Class 8: the host's processes are invisible, not signalable, not ptraceable; /proc/1/root
//! leads nowhere outside.
use super::*;

#[test]
fn host_process_out_of_reach() {
    each_user(|u| {
        let mut victim = host_cmd(u, "/bin/sleep").arg("60").spawn().unwrap();
        let pid = victim.id().to_string();
        let o = outside(u, &["host", &pid]);
        works(&o, "kill0");
        works(&o, "ptrace-attach");
        let r = inside(u, &[], &["host", &pid]);
        let _ = victim.kill();
        let _ = victim.wait();
        for a in ["kill0", "ptrace-attach", "read-environ"] {
            refused(&r, a);
        }
    });
}

#[test]
fn host_processes_invisible() {
    each_user(|u| {
        let mut victim = host_cmd(u, "/bin/sleep").arg("60").spawn().unwrap();
        let pid = victim.id();
        assert!(Path::new(&format!("/proc/{pid}")).exists());
        let r = sh(u, &[], &format!("test -e /proc/{pid} && echo VIS''IBLE; for p in /proc/[0-9]*; do cat $p/cmdline 2>/dev/null | tr '\\0' ' '; echo; done"));
        let _ = victim.kill();
        let _ = victim.wait();
        assert!(
            !r.stdout().contains("VISIBLE") && !r.stdout().contains("sleep 60"),
            "[{}] ESCAPE: host process visible:\n{}",
            u.name,
            r.stdout()
        );
    });
}

#[test]
fn proc_1_root_is_the_sandbox() {
    each_user(|u| {
        // The host's root has /boot (or /home); the sandbox's root has neither.
        let marker = ["/boot", "/home", "/root"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("a host-only folder");
        let o = host_cmd(u, "/bin/sh")
            .arg("-c")
            .arg(format!("test -e /proc/self/root{marker} && echo REACHED"))
            .output()
            .unwrap();
        // Outside, /proc/1/root is only open to root: the proof runs as root.
        if u.is_root() {
            assert!(text(&o).contains("REACHED"), "proof failed: {}", text(&o));
        }
        let r = sh(u, &[], &format!("test -e /proc/1/root{marker} && echo REACHED; test -e /proc/1/root/proc/self && echo SELF; cd /proc/1/root/.. 2>/dev/null && test -e .{marker} && echo UP"));
        assert!(
            !r.stdout().contains("REACHED") && !r.stdout().contains("UP"),
            "[{}] ESCAPE: /proc/1/root leads outside:\n{}",
            u.name,
            r.stdout()
        );
    });
}
