//! Class 5: x32 and i386 system calls used to dodge a deny list (firejail 0.9.42 class).
use super::*;

const SIGSYS_EXIT: i32 = 128 + 31;

#[test]
fn x32_getpid_killed() {
    each_user(|u| {
        let o = outside(u, &["x32"]);
        // This kernel may lack x32 (ENOSYS): the proof is that the call reaches the kernel and
        // the process lives on to say so.
        assert!(
            o.status.success() && text(&o).contains("x32-getpid"),
            "proof failed: {}",
            text(&o)
        );
        let r = inside(u, &[], &["x32"]);
        assert_eq!(
            r.code(),
            SIGSYS_EXIT,
            "[{}] ESCAPE: an x32 system call was not killed:\n{}{}",
            u.name,
            r.stdout(),
            r.stderr()
        );
    });
}

#[test]
fn i386_getpid_killed() {
    each_user(|u| {
        let o = outside(u, &["int80", "20"]);
        let t = text(&o);
        let pid = t.split_whitespace().last().unwrap_or("x").to_string();
        assert!(
            t.contains(&format!("ret {pid} ")),
            "proof failed: int 0x80 getpid does not run outside: {t}"
        );
        let r = inside(u, &[], &["int80", "20"]);
        assert_eq!(
            r.code(),
            SIGSYS_EXIT,
            "[{}] ESCAPE: an i386 system call ran:\n{}{}",
            u.name,
            r.stdout(),
            r.stderr()
        );
    });
}

#[test]
fn i386_mount_killed() {
    // i386 number 21 is mount (x86_64 21 is access): a deny list keyed on x86_64 numbers misses it.
    each_user(|u| {
        let o = outside(u, &["int80", "21"]);
        let t = text(&o);
        assert!(
            t.contains("int80 21 ret -14 ") || t.contains("int80 21 ret -1 "),
            "proof failed: i386 mount does not reach the kernel: {t}"
        );
        let r = inside(u, &[], &["int80", "21"]);
        assert_eq!(
            r.code(),
            SIGSYS_EXIT,
            "[{}] ESCAPE: i386 mount ran:\n{}{}",
            u.name,
            r.stdout(),
            r.stderr()
        );
    });
}

/// `[seccomp] i386 = true` lets 32-bit calls run, under the same deny list in i386 numbers:
/// i386 getpid works, i386 mount (21; x86_64 21 is access) gets EPERM, not the kernel.
#[test]
fn i386_allowed_by_the_profile_keeps_the_deny_list() {
    each_user(|u| {
        let dir = bin_dir();
        let run = |nr: &str| {
            Jail::new(u)
                .profile("i386", "include = [\"default\"]\n[seccomp]\ni386 = true\n")
                .args(["run", "--profile", "i386", "--chdir", "/", "--ro-bind"])
                .args([
                    dir.to_string_lossy().as_ref(),
                    "--",
                    &attacker(),
                    "int80",
                    nr,
                ])
                .output()
        };
        let r = run("20");
        r.ok();
        assert!(
            r.stdout().contains("int80 20 ret 2 "),
            "[{}] i386 getpid did not run: {}{}",
            u.name,
            r.stdout(),
            r.stderr()
        );
        let r = run("21");
        r.ok();
        assert!(
            r.stdout().contains("int80 21 ret -1 "),
            "[{}] ESCAPE: i386 mount was not refused with EPERM: {}{}",
            u.name,
            r.stdout(),
            r.stderr()
        );
    });
}
