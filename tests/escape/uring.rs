//! Class 15: kernel surface that bypasses or widens the seccomp policy. io_uring runs
//! socket(), openat() … in the kernel without the calling thread's seccomp filter seeing
//! them; personality() switches on READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE and foreign execution
//! domains. Both are refused by @default-deny (io_uring entirely, personality but for the
//! values Docker's default profile allows).
use super::*;

/// A profile that denies socket() and opening for writing with openat() (as a network-less,
/// read-only profile might), written for `u`.
fn denying(u: &User, d: &Path, extra: &str) -> String {
    profile_file(
        u,
        d,
        "nosock",
        &format!(
            "include = [\"base\"]\n[seccomp]\ndeny = [\"socket\"{extra}]\n\
             [[seccomp.rule]]\nsyscall = \"openat\"\narg = 2\nop = \"masked_eq\"\nmask = 3\nvalue = 1\naction = \"errno\"\n"
        ),
    )
}

#[test]
fn io_uring_cannot_bypass_deny_rules() {
    let target = "/dev/null";
    each_user(|u| {
        let o = outside(u, &["uring", target]);
        for a in ["io_uring_setup", "uring-socket", "uring-openat"] {
            works(&o, a);
        }
        let d = tempdir(u);
        // Without io_uring in the deny list, the bypass is real: the direct calls are refused
        // and the same calls through io_uring succeed.
        let open = denying(
            u,
            &d,
            ", \"!@default-deny\", \"@mount\", \"@debug\", \"@module\", \"@reboot\"",
        );
        let r = inside(u, &["--profile", &open], &["uring", target]);
        refused(&r, "socket");
        refused(&r, "openat");
        for a in ["uring-socket", "uring-openat"] {
            assert_eq!(
                verdict(&r.stdout(), a).as_deref(),
                Some("ok"),
                "[{}] the bypass demonstration failed for {a}:\n{}{}",
                u.name,
                r.stdout(),
                r.stderr()
            );
        }
        // With @default-deny (every profile's default): refused at io_uring_setup.
        for prof in [denying(u, &d, ""), "default".to_string()] {
            let r = inside(u, &["--profile", &prof], &["uring", target]);
            refused(&r, "io_uring_setup");
            assert!(
                !r.stdout().contains("uring-socket ok") && !r.stdout().contains("uring-openat ok"),
                "[{}] ESCAPE: io_uring ran under {prof}:\n{}",
                u.name,
                r.stdout()
            );
        }
        let _ = std::fs::remove_dir_all(&d);
    });
}

#[test]
fn personality_limited_to_safe_values() {
    // READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE, MMAP_PAGE_ZERO, PER_LINUX32|READ_IMPLIES_EXEC,
    // and READ_IMPLIES_EXEC hidden behind high bits of the 64-bit register.
    let bad = ["0x400000", "0x40000", "0x100000", "0x400008", "0x100400000"];
    // PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, the query (also as -1).
    let good = [
        "0",
        "0x8",
        "0x20000",
        "0x20008",
        "0xffffffff",
        "0xffffffffffffffff",
    ];
    each_user(|u| {
        for v in bad.iter().chain(good.iter()) {
            let o = outside(u, &["personality", v]);
            works(&o, &format!("personality-{v}"));
        }
        let mut args = vec!["personality"];
        args.extend(bad.iter().chain(good.iter()));
        let r = inside(u, &[], &args);
        for v in bad {
            refused(&r, &format!("personality-{v}"));
        }
        for v in good {
            assert_eq!(
                verdict(&r.stdout(), &format!("personality-{v}")).as_deref(),
                Some("ok"),
                "[{}] personality({v}) must still work:\n{}{}",
                u.name,
                r.stdout(),
                r.stderr()
            );
        }
    });
}
