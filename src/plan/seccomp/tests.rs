//! Unit tests of the seccomp compiler, checked with the interpreter in `emu.rs`.

use super::always_on::MODE_ARGS;
use super::arg_types::ARG_TYPES;
use super::emu::*;
use super::groups::GROUPS;
use super::*;

const EPERM: u32 = RET_ERRNO | libc::EPERM as u32;
const ENOSYS: u32 = RET_ERRNO | libc::ENOSYS as u32;
const A0: [u64; 6] = [0; 6];

fn deny(names: &[&str]) -> SeccompSpec {
    SeccompSpec {
        deny: names.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}
fn allow(names: &[&str]) -> SeccompSpec {
    SeccompSpec {
        default: DefaultPolicy::Deny,
        allow: names.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}
fn members(g: &str, arch: Arch) -> Vec<String> {
    groups(arch)
        .into_iter()
        .find(|i| i.name == g)
        .unwrap()
        .members
        .into_iter()
        .map(|m| m.name)
        .collect()
}

#[test]
fn group_table_is_sane() {
    for wanted in [
        "@aio",
        "@basic-io",
        "@chown",
        "@clock",
        "@cpu-emulation",
        "@debug",
        "@file-system",
        "@io-event",
        "@ipc",
        "@keyring",
        "@memlock",
        "@module",
        "@mount",
        "@network-io",
        "@obsolete",
        "@pkey",
        "@privileged",
        "@process",
        "@raw-io",
        "@reboot",
        "@resources",
        "@sandbox",
        "@setuid",
        "@signal",
        "@swap",
        "@sync",
        "@system-service",
        "@timer",
        "@default",
        "@default-deny",
    ] {
        assert!(group_names().contains(&wanted), "{wanted} missing");
    }
    let mut missing = vec![];
    for (name, _, ms) in GROUPS {
        assert_eq!(
            GROUPS.iter().filter(|g| g.0 == *name).count(),
            1,
            "{name} twice"
        );
        for m in ms.iter() {
            if m.starts_with('@') {
                assert!(group_names().contains(m), "{name}: unknown subgroup {m}");
            } else {
                if other_arch_having(m).is_none() {
                    missing.push(format!("{name}:{m}"));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "members that exist on no architecture: {missing:?}"
    );
}

#[test]
fn group_resolution() {
    for arch in [Arch::X86_64, Arch::Aarch64] {
        let dd = members("@default-deny", arch);
        for m in [
            "mount",
            "umount2",
            "fsopen",
            "fsmount",
            "move_mount",
            "open_tree",
            "mount_setattr",
            "bpf",
            "perf_event_open",
            "kexec_load",
            "kexec_file_load",
            "init_module",
            "finit_module",
            "ptrace",
            "swapon",
            "settimeofday",
            "add_key",
            "userfaultfd",
            "open_by_handle_at",
            "name_to_handle_at",
            "quotactl",
            "acct",
            "reboot",
            "pivot_root",
        ] {
            assert!(dd.iter().any(|n| n == m), "{arch}: @default-deny lacks {m}");
        }
        for m in [
            "execve", "execveat", "read", "write", "getpid", "clone", "ioctl", "uname",
        ] {
            assert!(
                !dd.iter().any(|n| n == m),
                "{arch}: @default-deny must not contain {m}"
            );
        }
        // Nested groups are flattened: @privileged includes @chown's members.
        assert!(members("@privileged", arch).contains(&"fchownat".to_string()));
        assert!(members("@system-service", arch).contains(&"execve".to_string()));
    }
    // Arch-specific members only where they exist.
    assert!(members("@raw-io", Arch::X86_64).contains(&"iopl".to_string()));
    assert!(!members("@raw-io", Arch::Aarch64).contains(&"iopl".to_string()));
    assert!(!members("@file-system", Arch::Aarch64).contains(&"open".to_string()));
    let nr = |n| Arch::X86_64.syscall_nr(n).unwrap();
    let dd = groups(Arch::X86_64)
        .into_iter()
        .find(|g| g.name == "@default-deny")
        .unwrap();
    assert!(dd.members.contains(&NamedSyscall {
        name: "mount".into(),
        nr: nr("mount")
    }));
    assert!(serde_json::to_string(&groups(Arch::X86_64))
        .unwrap()
        .contains("\"@mount\""));
}

#[test]
fn unknown_names_and_groups_point_at_the_entry() {
    let e = compile(
        &deny(&["read", "@mount", "definitely_not_a_syscall"]),
        Arch::X86_64,
    )
    .unwrap_err();
    assert_eq!(
        e,
        SeccompError::UnknownName {
            list: ListKind::Deny,
            index: 2,
            name: "definitely_not_a_syscall".into()
        }
    );
    assert!(e.to_string().starts_with("seccomp.deny[2]:"), "{e}");
    let e = compile(&allow(&["read", "@nosuchgroup"]), Arch::X86_64).unwrap_err();
    assert_eq!(
        e,
        SeccompError::UnknownGroup {
            list: ListKind::Allow,
            index: 1,
            name: "@nosuchgroup".into()
        }
    );
    let mut s = SeccompSpec::default();
    s.rules.push(ArgRuleSpec {
        syscall: "personality".into(),
        arg: 0,
        op: CmpOp::Eq,
        value: 1,
        width: ArgWidth::W32,
        action: SeccompAction::Kill,
    });
    s.rules.push(ArgRuleSpec {
        syscall: "persnality".into(),
        arg: 0,
        op: CmpOp::Eq,
        value: 1,
        width: ArgWidth::W32,
        action: SeccompAction::Kill,
    });
    assert_eq!(
        compile(&s, Arch::X86_64).unwrap_err(),
        SeccompError::UnknownName {
            list: ListKind::Rule,
            index: 1,
            name: "persnality".into()
        }
    );
    s.rules[1].syscall = "personality".into();
    s.rules[1].arg = 6;
    assert!(matches!(
        compile(&s, Arch::X86_64).unwrap_err(),
        SeccompError::BadArg { index: 1, .. }
    ));
    s.rules[1].arg = 0;
    s.rules[1].value = 1 << 32;
    assert!(matches!(
        compile(&s, Arch::X86_64).unwrap_err(),
        SeccompError::BadArg { index: 1, .. }
    ));
    assert!(matches!(
        compile(
            &SeccompSpec {
                nested: 1,
                ..Default::default()
            },
            Arch::X86_64
        ),
        Err(SeccompError::BadNested { .. })
    ));
    assert!(matches!(
        compile(
            &SeccompSpec {
                action: Some(SeccompAction::Errno(0)),
                ..Default::default()
            },
            Arch::X86_64
        ),
        Err(SeccompError::BadAction { .. })
    ));
}

#[test]
fn other_arch_names_are_skipped_with_a_warning() {
    let p = compile(&deny(&["mmap2", "uname"]), Arch::X86_64).unwrap();
    assert!(
        p.summary
            .warnings
            .iter()
            .any(|w| w.contains("seccomp.deny[0]") && w.contains("mmap2") && w.contains("x86_64")),
        "{:?}",
        p.summary.warnings
    );
    assert_eq!(
        p.summary.denied,
        vec![NamedSyscall {
            name: "uname".into(),
            nr: 63
        }]
    );
    let p = compile(&deny(&["open"]), Arch::Aarch64).unwrap();
    assert!(p
        .summary
        .warnings
        .iter()
        .any(|w| w.contains("open") && w.contains("aarch64")));
    assert!(p.summary.denied.is_empty());
    assert!(p.explain().contains("warning:"));
}

#[test]
fn refusing_exec_is_an_error() {
    let e = compile(&deny(&["uname", "execve"]), Arch::X86_64).unwrap_err();
    assert!(
        matches!(
            e,
            SeccompError::DeniesExec {
                list: ListKind::Deny,
                index: 1,
                syscall: "execve",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("COMMAND could never start"));
    let e = compile(&deny(&["@process"]), Arch::X86_64).unwrap_err();
    assert!(matches!(
        e,
        SeccompError::DeniesExec {
            index: 0,
            syscall: "execveat",
            ..
        }
    ));
    let e = compile(&deny(&["@mount", "@system-service"]), Arch::X86_64).unwrap_err();
    assert!(matches!(e, SeccompError::DeniesExec { index: 1, .. }));
    // Log/Allow actions do not refuse, so they are fine.
    assert!(compile(
        &SeccompSpec {
            action: Some(SeccompAction::Log),
            ..deny(&["execve"])
        },
        Arch::X86_64
    )
    .is_ok());
    let mut s = SeccompSpec::default();
    s.rules.push(ArgRuleSpec {
        syscall: "execve".into(),
        arg: 2,
        op: CmpOp::Eq,
        value: 0,
        width: ArgWidth::W64,
        action: SeccompAction::Errno(1),
    });
    assert!(matches!(
        compile(&s, Arch::X86_64).unwrap_err(),
        SeccompError::DeniesExec {
            list: ListKind::Rule,
            index: 0,
            ..
        }
    ));
    // An allow list without execve gets it implicitly.
    let p = compile(&allow(&["@basic-io"]), Arch::X86_64).unwrap();
    assert_eq!(eval(&p, "execve", A0), RET_ALLOW);
    assert_eq!(eval(&p, "execveat", A0), RET_ALLOW);
    assert!(p.summary.notes.iter().any(|n| n.contains("execve added")));
}

#[test]
fn default_deny_refuses_io_uring_and_most_personalities() {
    let eperm = RET_ERRNO | libc::EPERM as u32;
    for arch in [Arch::X86_64, Arch::Aarch64] {
        let p = compile(&deny(&["@default-deny"]), arch).unwrap();
        let ev = |name: &str, a0: u64| {
            eval_arch(
                &p,
                arch.syscall_nr(name).unwrap(),
                arch.audit_arch(),
                [a0, 0, 0, 0, 0, 0],
            )
        };
        for n in [
            "io_uring_setup",
            "io_uring_enter",
            "io_uring_register",
            "syslog",
            "fanotify_init",
            "move_pages",
            "migrate_pages",
        ] {
            assert_eq!(ev(n, 0), eperm, "{arch}: {n}");
        }
        for v in PERSONALITY_OK {
            assert_eq!(ev("personality", v), RET_ALLOW, "{arch}: {v:#x}");
        }
        // The kernel reads an unsigned int: high bits change nothing, either way.
        assert_eq!(ev("personality", 0x1_0000_0008), RET_ALLOW);
        assert_eq!(ev("personality", u64::MAX), RET_ALLOW, "query as -1");
        for v in [
            0x0040_0000u64, // READ_IMPLIES_EXEC
            0x0004_0000,    // ADDR_NO_RANDOMIZE
            0x0010_0000,    // MMAP_PAGE_ZERO
            0x0040_0008,    // PER_LINUX32|READ_IMPLIES_EXEC
            0x1_0040_0000,  // high bits do not hide the low ones
            0xffff_fffe,
            0x0000_0001, // PER_SVR4
        ] {
            assert_eq!(ev("personality", v), eperm, "{arch}: {v:#x}");
        }
        assert_eq!(ev("uname", 0), RET_ALLOW);
    }
    // Named on its own: refused for every value. A profile rule can allow one more.
    let p = compile(&deny(&["@default-deny", "personality"]), Arch::X86_64).unwrap();
    assert_eq!(eval(&p, "personality", [0, 0, 0, 0, 0, 0]), eperm);
    let mut s = deny(&["@default-deny"]);
    s.rules.push(ArgRuleSpec {
        syscall: "personality".into(),
        arg: 0,
        op: CmpOp::Eq,
        value: 0x0004_0000,
        width: ArgWidth::W32,
        action: SeccompAction::Allow,
    });
    let p = compile(&s, Arch::X86_64).unwrap();
    assert_eq!(
        eval(&p, "personality", [0x0004_0000, 0, 0, 0, 0, 0]),
        RET_ALLOW
    );
    assert_eq!(eval(&p, "personality", [0x0040_0000, 0, 0, 0, 0, 0]), eperm);
    assert!(p.summary.rules.iter().any(
        |l| l.contains("personality(135): arg0 one of 0x0, 0x8, 0x20000, 0x20008, 0xffffffff")
    ));
    // An allow list decides personality like any other call: all or nothing.
    let p = compile(&allow(&["@system-service"]), Arch::X86_64).unwrap();
    assert_eq!(
        eval(&p, "personality", [0x0040_0000, 0, 0, 0, 0, 0]),
        RET_ALLOW
    );
}

#[test]
fn default_policy_semantics() {
    let p = compile(&deny(&["@default-deny"]), Arch::X86_64).unwrap();
    assert_eq!(p.filters.len(), 3);
    assert_eq!(p.filters[0].name, "guard: arch + x32");
    for n in [
        "mount",
        "bpf",
        "kexec_load",
        "perf_event_open",
        "fsopen",
        "ptrace",
    ] {
        assert_eq!(eval(&p, n, A0), EPERM, "{n}");
    }
    for n in ["read", "write", "getpid", "execve", "openat", "uname"] {
        assert_eq!(eval(&p, n, A0), RET_ALLOW, "{n}");
    }
    // ioctl: only the low 32 bits of the request count.
    let ioctl = |req: u64| eval(&p, "ioctl", [0, req, 0, 0, 0, 0]);
    assert_eq!(ioctl(0x5412), EPERM);
    assert_eq!(ioctl(0x1_0000_5412), EPERM);
    assert_eq!(ioctl(0xffff_ffff_0000_541c), EPERM);
    assert_eq!(ioctl(0x5413), RET_ALLOW);
    assert_eq!(ioctl(0x5401), RET_ALLOW); // TCGETS
    assert_eq!(eval(&p, "clone3", A0), ENOSYS);
    // clone: fork and thread flags pass, namespace flags don't.
    let clone = |f: u64| eval(&p, "clone", [f, 0, 0, 0, 0, 0]);
    assert_eq!(clone(0x0120_0011), RET_ALLOW); // glibc fork()
    assert_eq!(clone(0x003d_0f00), RET_ALLOW); // glibc pthread_create()
    assert_eq!(clone(0x0000_4111), RET_ALLOW); // vfork-ish
    for ns in [
        0x20000u64,
        0x0200_0000,
        0x0400_0000,
        0x0800_0000,
        0x1000_0000,
        0x2000_0000,
        0x4000_0000,
    ] {
        assert_eq!(clone(ns | 0x11), EPERM, "{ns:#x}");
        assert_eq!(eval(&p, "unshare", [ns, 0, 0, 0, 0, 0]), EPERM);
        assert_eq!(eval(&p, "setns", [3, ns, 0, 0, 0, 0]), EPERM);
    }
    assert_eq!(eval(&p, "unshare", [0x80, 0, 0, 0, 0, 0]), EPERM); // CLONE_NEWTIME
    assert_eq!(eval(&p, "unshare", [0x200, 0, 0, 0, 0, 0]), RET_ALLOW); // CLONE_FS
    assert_eq!(eval(&p, "setns", [3, 0, 0, 0, 0, 0]), EPERM);
    // Guard: x32 and foreign arch are killed.
    assert_eq!(
        eval_arch(&p, 0x4000_0000 | 39, Arch::X86_64.audit_arch(), A0),
        RET_KILL_PROCESS
    );
    assert_eq!(eval_arch(&p, 20, 0x4000_0003, A0), RET_KILL_PROCESS); // AUDIT_ARCH_I386
    assert_eq!(
        eval_arch(&p, 9999, Arch::X86_64.audit_arch(), A0),
        RET_ALLOW
    );
}

#[test]
fn nested_namespaces() {
    let user = 0x1000_0000u64;
    let p = compile(
        &SeccompSpec {
            nested: user,
            ..Default::default()
        },
        Arch::X86_64,
    )
    .unwrap();
    assert_eq!(
        p.filters.len(),
        2,
        "no policy filter needed for an empty allow-default policy"
    );
    assert_eq!(eval(&p, "unshare", [user, 0, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(eval(&p, "clone", [user | 0x11, 0, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(eval(&p, "unshare", [user | 0x20000, 0, 0, 0, 0, 0]), EPERM);
    assert_eq!(eval(&p, "setns", [3, user, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(eval(&p, "setns", [3, 0, 0, 0, 0, 0]), EPERM);
    let p = compile(
        &SeccompSpec {
            nested: ALL_NAMESPACES,
            ..Default::default()
        },
        Arch::Aarch64,
    )
    .unwrap();
    assert_eq!(eval(&p, "setns", [3, 0, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(
        eval(&p, "unshare", [ALL_NAMESPACES, 0, 0, 0, 0, 0]),
        RET_ALLOW
    );
    assert_eq!(eval(&p, "clone3", A0), ENOSYS);
}

#[test]
fn allow_list_semantics() {
    let p = compile(
        &allow(&["@default", "@basic-io", "ioctl", "clone"]),
        Arch::X86_64,
    )
    .unwrap();
    assert_eq!(eval(&p, "write", A0), RET_ALLOW);
    assert_eq!(eval(&p, "uname", A0), ENOSYS);
    assert_eq!(eval(&p, "mount", A0), ENOSYS);
    // Always-on still applies to allowed syscalls; clone3 answers ENOSYS even with a Kill default.
    assert_eq!(eval(&p, "ioctl", [0, 0x5412, 0, 0, 0, 0]), EPERM);
    let p = compile(
        &SeccompSpec {
            action: Some(SeccompAction::Kill),
            ..allow(&["@default"])
        },
        Arch::X86_64,
    )
    .unwrap();
    assert_eq!(eval(&p, "clone3", A0), ENOSYS);
    assert_eq!(eval(&p, "uname", A0), RET_KILL_PROCESS);
    assert_eq!(
        eval_arch(&p, 5000, Arch::X86_64.audit_arch(), A0),
        RET_KILL_PROCESS
    );
}

#[test]
fn stdio_attributes_are_refused_always() {
    const ENOSYS: u32 = RET_ERRNO | libc::ENOSYS as u32;
    const AT_FDCWD: u64 = -100i32 as u32 as u64;
    for arch in [Arch::X86_64, Arch::Aarch64, Arch::I386] {
        for spec in [SeccompSpec::default(), deny(&["@default-deny"])] {
            let p = compile(&spec, arch).unwrap();
            let ev = |name: &str, a: [u64; 6]| eval(&p, name, a);
            let fchown = if arch == Arch::I386 {
                "fchown32"
            } else {
                "fchown"
            };
            for name in ["fchmod", fchown, "fsetxattr", "fremovexattr"] {
                for fd in [0, 1, 2, (1 << 32) | 1] {
                    assert_eq!(
                        ev(name, [fd, 0o644, 0, 0, 0, 0]),
                        EPERM,
                        "{arch} {name}({fd})"
                    );
                }
                for fd in [3, 9, AT_FDCWD, 1 << 32] {
                    let want = if fd == 1 << 32 { EPERM } else { RET_ALLOW };
                    assert_eq!(
                        ev(name, [fd, 0o644, 0, 0, 0, 0]),
                        want,
                        "{arch} {name}({fd})"
                    );
                }
            }
            // fchmod keeps its set-ID check on other descriptors.
            assert_eq!(ev("fchmod", [5, 0o4755, 0, 0, 0, 0]), EPERM, "{arch}");
            // futimens(fd) is utimensat(fd, NULL, …): ENOSYS so `touch` falls back to the path.
            assert_eq!(ev("utimensat", [0, 0, 0, 0, 0, 0]), ENOSYS, "{arch}");
            assert_eq!(
                ev("utimensat", [2, 0, 0, AT_EMPTY_PATH as u64, 0, 0]),
                ENOSYS
            );
            assert_eq!(ev("utimensat", [1, 0x1000_0000, 0, 0, 0, 0]), RET_ALLOW);
            assert_eq!(ev("utimensat", [1, 1 << 32, 0, 0, 0, 0]), RET_ALLOW);
            assert_eq!(ev("utimensat", [AT_FDCWD, 0, 0, 0, 0, 0]), RET_ALLOW);
            assert_eq!(ev("utimensat", [3, 0, 0, 0, 0, 0]), RET_ALLOW);
            assert_eq!(
                ev("fchownat", [0, 0x1000, 0, 0, 0x1000, 0]),
                EPERM,
                "{arch}"
            );
            assert_eq!(ev("fchownat", [0, 0x1000, 0, 0, 0x100, 0]), RET_ALLOW);
            assert_eq!(
                ev("fchownat", [AT_FDCWD, 0x1000, 0, 0, 0x1000, 0]),
                RET_ALLOW
            );
            assert_eq!(ev("fchmodat2", [1, 0x1000, 0o644, 0x1000, 0, 0]), EPERM);
            assert_eq!(ev("fchmodat2", [5, 0x1000, 0o4755, 0x1000, 0, 0]), EPERM);
            assert_eq!(ev("fchmodat2", [5, 0x1000, 0o644, 0x1000, 0, 0]), RET_ALLOW);
            if arch != Arch::Aarch64 {
                assert_eq!(ev("futimesat", [0, 0, 0, 0, 0, 0]), ENOSYS, "{arch}");
                assert_eq!(ev("futimesat", [0, 0x1000, 0, 0, 0, 0]), RET_ALLOW);
            }
            assert!(p.explain().contains("on fd 0, 1 or 2"), "{arch}");
        }
    }
}

#[test]
fn setuid_modes_are_refused_always() {
    const S_IFREG: u64 = 0o100000;
    for arch in [Arch::X86_64, Arch::Aarch64] {
        // Even a profile that allows everything (no policy filter at all).
        for spec in [SeccompSpec::default(), deny(&["@default-deny"])] {
            let p = compile(&spec, arch).unwrap();
            let aa = arch.audit_arch();
            let mut seen = 0;
            for &(name, arg) in MODE_ARGS {
                let Some(nr) = arch.syscall_nr(name) else {
                    assert!(
                        arch == Arch::Aarch64
                            && ["chmod", "creat", "open", "mknod"].contains(&name),
                        "{arch}: {name} missing"
                    );
                    continue;
                };
                seen += 1;
                let at = |mode: u64| {
                    // Descriptor 5: fds 0-2 are refused for other reasons (the stdio rules).
                    let mut a = [5u64; 6];
                    a[arg as usize] = mode;
                    // Every other argument slot gets a mode-looking value too: only the
                    // mode argument may decide.
                    eval_arch(&p, nr, aa, a)
                };
                for bad in [
                    0o4755,
                    0o2755,
                    0o6777,
                    0o4000,
                    0o2000,
                    S_IFREG | 0o4755,
                    (1 << 32) | 0o4755,
                    0xffff_ffff,
                ] {
                    assert_eq!(at(bad), EPERM, "{arch} {name} mode {bad:#o}");
                }
                for good in [
                    0,
                    0o755,
                    0o1777,
                    0o777,
                    S_IFREG | 0o644,
                    (1 << 32) | 0o755,
                    0xffff_0000_0000_0000,
                ] {
                    assert_eq!(at(good), RET_ALLOW, "{arch} {name} mode {good:#o}");
                }
                // The bits in another argument (flags, dirfd, dev) do not matter.
                let mut a = [0o6000u64; 6];
                a[arg as usize] = 0o644;
                assert_eq!(
                    eval_arch(&p, nr, aa, a),
                    RET_ALLOW,
                    "{arch} {name} other args"
                );
            }
            assert_eq!(seen, if arch == Arch::X86_64 { 9 } else { 5 });
            assert_eq!(eval(&p, "openat2", A0), ENOSYS, "{arch}");
            assert_eq!(arch.syscall_nr("fchmodat2"), Some(452));
            // mkdir's mode cannot carry the bits (the kernel masks them): not checked.
            assert_eq!(eval(&p, "mkdirat", [0, 0, 0o2755, 0, 0, 0]), RET_ALLOW);
            assert!(p.explain().contains("S_ISUID or S_ISGID"));
        }
        // An allow rule in the profile cannot re-enable it.
        let mut s = SeccompSpec::default();
        s.rules.push(ArgRuleSpec {
            syscall: "fchmod".into(),
            arg: 1,
            op: CmpOp::Eq,
            value: 0o4755,
            width: ArgWidth::W32,
            action: SeccompAction::Allow,
        });
        let p = compile(&s, arch).unwrap();
        assert_eq!(eval(&p, "fchmod", [3, 0o4755, 0, 0, 0, 0]), EPERM);
    }
}

#[test]
fn io_uring_allowed_is_a_warning() {
    let warned = |s: &SeccompSpec| {
        compile(s, Arch::X86_64)
            .unwrap()
            .summary
            .warnings
            .iter()
            .any(|w| w.contains("io_uring_setup is allowed"))
    };
    assert!(!warned(&deny(&["@default-deny"])));
    assert!(!warned(&allow(&["@default"])));
    assert!(warned(&deny(&["@mount"])));
    assert!(warned(&allow(&["@default", "@aio"])));
}

#[test]
fn rule_widths_follow_the_argument_type() {
    assert_eq!(arg_width("socket", 0), Some(ArgWidth::W32));
    assert_eq!(arg_width("openat", 3), Some(ArgWidth::W32));
    // mmap's prot, flags and fd are unsigned long in the prototype, but the kernel uses only
    // their low 32 bits (prot 0x100000007 maps read-write-execute).
    assert_eq!(arg_width("mmap", 2), Some(ArgWidth::W32));
    assert_eq!(arg_width("mmap", 1), Some(ArgWidth::W64));
    assert_eq!(arg_width("read", 1), Some(ArgWidth::W64));
    assert_eq!(arg_width("socket", 3), None);
    assert_eq!(arg_width("lookup_dcookie", 0), None);
    // Every table entry names a syscall of a supported arch, with at most 6 arguments.
    for (n, t) in ARG_TYPES {
        assert!(
            Arch::X86_64.syscall_nr(n).is_some() || Arch::Aarch64.syscall_nr(n).is_some(),
            "{n}"
        );
        assert!(
            t.len() <= 6 && t.bytes().all(|b| b == b'i' || b == b'l'),
            "{n}"
        );
    }
    let rule = |width| SeccompSpec {
        rules: vec![ArgRuleSpec {
            syscall: "socket".into(),
            arg: 0,
            op: CmpOp::Eq,
            value: 2,
            width,
            action: SeccompAction::Errno(libc::EACCES),
        }],
        ..Default::default()
    };
    let e = compile(&rule(ArgWidth::W64), Arch::X86_64).unwrap_err();
    assert!(e.to_string().contains("32-bit C type"), "{e}");
    let p = compile(&rule(ArgWidth::W32), Arch::X86_64).unwrap();
    let eacces = RET_ERRNO | libc::EACCES as u32;
    assert_eq!(eval(&p, "socket", [2, 1, 0, 0, 0, 0]), eacces);
    assert_eq!(eval(&p, "socket", [0x1_0000_0002, 1, 0, 0, 0, 0]), eacces);
    assert_eq!(eval(&p, "socket", [1, 1, 0, 0, 0, 0]), RET_ALLOW);
    // Unknown type: 64 bits, and explain says why.
    let mut s = SeccompSpec::default();
    s.rules.push(ArgRuleSpec {
        syscall: "lookup_dcookie".into(),
        arg: 0,
        op: CmpOp::Eq,
        value: 1 << 40,
        width: ArgWidth::W64,
        action: SeccompAction::Errno(1),
    });
    let text = compile(&s, Arch::X86_64).unwrap().explain();
    assert!(
        text.contains("64-bit, argument type unknown to jail"),
        "{text}"
    );
}

/// Reference semantics for argument rules.
fn reference(op: CmpOp, w: ArgWidth, arg: u64, v: u64) -> bool {
    let a = if w == ArgWidth::W32 {
        arg & 0xffff_ffff
    } else {
        arg
    };
    match op {
        CmpOp::Eq => a == v,
        CmpOp::Ne => a != v,
        CmpOp::Lt => a < v,
        CmpOp::Le => a <= v,
        CmpOp::Gt => a > v,
        CmpOp::Ge => a >= v,
        CmpOp::MaskedEq { mask } => a & mask == v,
    }
}

#[test]
fn argument_comparisons_match_reference() {
    let samples = [
        0u64,
        1,
        2,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_fffe,
        0xffff_ffff,
        1 << 32,
        (1 << 32) + 1,
        0x1_ffff_ffff,
        0x8000_0000_0000_0000,
        u64::MAX - 1,
        u64::MAX,
    ];
    let ops = [
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Gt,
        CmpOp::Ge,
        CmpOp::MaskedEq { mask: 0xf0 },
        CmpOp::MaskedEq {
            mask: 0xffff_0000_0000_00f0,
        },
    ];
    for width in [ArgWidth::W32, ArgWidth::W64] {
        for op in ops {
            for &v in &samples {
                let mask = if let CmpOp::MaskedEq { mask } = op {
                    mask
                } else {
                    u64::MAX
                };
                if width == ArgWidth::W32 && mask != u64::MAX && mask > 0xffff_ffff {
                    continue; // rejected by compile(), tested elsewhere
                }
                let v = v
                    & mask
                    & if width == ArgWidth::W32 {
                        0xffff_ffff
                    } else {
                        u64::MAX
                    };
                let mut s = SeccompSpec::default();
                s.rules.push(ArgRuleSpec {
                    syscall: "personality".into(),
                    arg: 3,
                    op,
                    value: v,
                    width,
                    action: SeccompAction::Errno(7),
                });
                let p = compile(&s, Arch::X86_64).unwrap();
                for &a in &samples {
                    let want = if reference(op, width, a, v) {
                        RET_ERRNO | 7
                    } else {
                        RET_ALLOW
                    };
                    assert_eq!(
                        eval(&p, "personality", [0, 0, 0, a, 0, 0]),
                        want,
                        "{op:?} {width:?} arg={a:#x} v={v:#x}"
                    );
                }
            }
        }
    }
}

#[test]
fn rules_first_match_and_allow_exceptions() {
    let mut s = allow(&["@default"]);
    // socket is not allowed, but AF_UNIX sockets are carved out; AF_NETLINK is killed.
    s.rules.push(ArgRuleSpec {
        syscall: "socket".into(),
        arg: 0,
        op: CmpOp::Eq,
        value: 1,
        width: ArgWidth::W32,
        action: SeccompAction::Allow,
    });
    s.rules.push(ArgRuleSpec {
        syscall: "socket".into(),
        arg: 0,
        op: CmpOp::Eq,
        value: 16,
        width: ArgWidth::W32,
        action: SeccompAction::Kill,
    });
    s.rules.push(ArgRuleSpec {
        syscall: "socket".into(),
        arg: 0,
        op: CmpOp::Ge,
        value: 0,
        width: ArgWidth::W32,
        action: SeccompAction::Errno(13),
    });
    let p = compile(&s, Arch::X86_64).unwrap();
    assert_eq!(eval(&p, "socket", [1, 0, 0, 0, 0, 0]), RET_ALLOW);
    assert_eq!(eval(&p, "socket", [16, 0, 0, 0, 0, 0]), RET_KILL_PROCESS);
    assert_eq!(eval(&p, "socket", [2, 0, 0, 0, 0, 0]), RET_ERRNO | 13);
    assert_eq!(p.summary.rules.len(), 3);
    // A profile rule cannot loosen always-on.
    let mut s = SeccompSpec::default();
    s.rules.push(ArgRuleSpec {
        syscall: "ioctl".into(),
        arg: 1,
        op: CmpOp::Eq,
        value: 0x5412,
        width: ArgWidth::W32,
        action: SeccompAction::Allow,
    });
    assert_eq!(
        eval(
            &compile(&s, Arch::X86_64).unwrap(),
            "ioctl",
            [0, 0x5412, 0, 0, 0, 0]
        ),
        EPERM
    );
}

#[test]
fn big_policies_fit_and_stay_correct() {
    for arch in [Arch::X86_64, Arch::Aarch64] {
        // Every other syscall allowed (no coalescing possible) + many rules spread out.
        let all: Vec<(u32, &str)> = (0..1024)
            .filter_map(|nr| arch.syscall_name(nr).map(|n| (nr, n)))
            .collect();
        let mut s = SeccompSpec {
            default: DefaultPolicy::Deny,
            ..Default::default()
        };
        s.allow = all.iter().step_by(2).map(|(_, n)| n.to_string()).collect();
        for (i, (_, n)) in all.iter().enumerate().filter(|(i, _)| i % 3 == 0) {
            if ["execve", "execveat", "clone3"].contains(n) {
                continue;
            }
            if arg_width(n, (i % 6) as u8) == Some(ArgWidth::W32) {
                continue; // a 64-bit rule on a 32-bit argument is refused
            }
            for k in 0..3u64 {
                s.rules.push(ArgRuleSpec {
                    syscall: n.to_string(),
                    arg: (i % 6) as u8,
                    op: CmpOp::Gt,
                    value: (k + 1) << 33,
                    width: ArgWidth::W64,
                    action: SeccompAction::Errno(100 + k as i32),
                });
            }
        }
        let p = compile(&s, arch).unwrap();
        for f in &p.filters {
            assert!(
                f.program.len() < MAX_INSNS,
                "{}: {}",
                f.name,
                f.program.len()
            );
        }
        assert!(
            p.filters[2].program.len() > 1500,
            "test should exercise long jumps"
        );
        for (i, &(nr, n)) in all.iter().enumerate() {
            let allowed = i % 2 == 0 || ["execve", "execveat", "clone3"].contains(&n);
            let base = if allowed { RET_ALLOW } else { ENOSYS };
            let aa = arch.audit_arch();
            let arg = i % 6;
            let mut args = [0u64; 6];
            let mut check = |v: u64, want: u32| {
                args[arg] = v;
                let got = eval_arch(&p, nr, aa, args);
                // Always-on may tighten a few syscalls; ignore those here.
                if !["ioctl", "clone", "unshare", "setns", "clone3", "openat2"].contains(&n)
                    && !MODE_ARGS.iter().any(|m| m.0 == n)
                    && !STDIO_FD_CALLS.contains(&n)
                    && !STDIO_AT_CALLS.iter().any(|m| m.0 == n)
                {
                    assert_eq!(got, want, "{arch} {n} arg{arg}={v:#x}");
                }
            };
            check(0, base);
            if i % 3 == 0
                && !["execve", "execveat", "clone3"].contains(&n)
                && arg_width(n, arg as u8) != Some(ArgWidth::W32)
            {
                check((1 << 33) + 1, RET_ERRNO | 100);
                check(u64::MAX, RET_ERRNO | 100);
            }
        }
    }
    // A deny list of everything also fits.
    let all: Vec<String> = (0..1024)
        .filter_map(|nr| Arch::X86_64.syscall_name(nr))
        .filter(|n| !n.starts_with("exec"))
        .map(String::from)
        .collect();
    let p = compile(
        &SeccompSpec {
            deny: all,
            ..Default::default()
        },
        Arch::X86_64,
    )
    .unwrap();
    assert!(p.instruction_count() < MAX_INSNS);
}

#[test]
fn constant_verdicts_are_cacheable() {
    let p = compile(&deny(&["@default-deny"]), Arch::X86_64).unwrap();
    let aa = Arch::X86_64.audit_arch();
    let cacheable = |n: &str| {
        p.filters
            .iter()
            .all(|f| is_const_allow(&f.program, Arch::X86_64.syscall_nr(n).unwrap(), aa))
    };
    for n in [
        "read",
        "write",
        "getpid",
        "futex",
        "mmap",
        "close",
        "newfstatat",
        "epoll_wait",
    ] {
        assert!(cacheable(n), "{n} should be served by the action cache");
    }
    for n in ["ioctl", "clone", "unshare", "setns", "openat", "fchmod"] {
        assert!(!cacheable(n), "{n} needs its arguments");
    }
    // Few instructions on the hot path: binary search, not a linear scan.
    let steps: usize = p.filters.iter().map(|f| run(&f.program, 0, aa, A0).1).sum();
    assert!(steps <= 24, "read() runs {steps} instructions");
}

/// Why not seccompiler: same default policy, count instructions. Run with --nocapture.
#[test]
fn measure_vs_seccompiler() {
    use seccompiler::{BpfProgram, SeccompAction as SA, SeccompFilter, TargetArch};
    let p = compile(&deny(&["@default-deny"]), Arch::X86_64).unwrap();
    let aa = Arch::X86_64.audit_arch();
    let denied: std::collections::BTreeMap<i64, Vec<seccompiler::SeccompRule>> = p
        .summary
        .denied
        .iter()
        .map(|n| (n.nr as i64, vec![]))
        .collect();
    let f = SeccompFilter::new(denied, SA::Allow, SA::Errno(1), TargetArch::x86_64).unwrap();
    let prog: BpfProgram = f.try_into().unwrap();
    let theirs: Vec<SockFilter> = prog
        .iter()
        .map(|i| SockFilter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect();
    let ours = &p.filters[2].program;
    let worst = |prog: &[SockFilter]| (0..470u32).map(|nr| run(prog, nr, aa, A0).1).max().unwrap();
    let (tw, ow) = (worst(&theirs), worst(ours));
    println!(
        "@default-deny ({} syscalls): seccompiler policy filter {} insns, worst path {} insns; ours {} insns, worst path {} insns; \
         seccompiler would also need separate filters for EPERM (ioctl/clone/unshare/setns), ENOSYS (clone3) and an x32 guard",
        p.summary.denied.len(), theirs.len(), tw, ours.len(), ow
    );
    assert!(ow * 4 < tw);
}

#[test]
fn explain_and_serialize() {
    let mut s = deny(&["@default-deny"]);
    s.log = true;
    s.rules.push(ArgRuleSpec {
        syscall: "personality".into(),
        arg: 0,
        op: CmpOp::Ne,
        value: 0,
        width: ArgWidth::W32,
        action: SeccompAction::Errno(1),
    });
    let p = compile(&s, Arch::X86_64).unwrap();
    let text = p.explain();
    assert!(text.contains("mount(165)"), "{text}");
    assert!(
        text.contains("personality(135): arg0 != 0x0 (32-bit) -> errno EPERM"),
        "{text}"
    );
    assert!(text.contains("TIOCSTI"));
    assert!(text.contains("SECCOMP_FILTER_FLAG_LOG"));
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["filters"][0]["name"], "guard: arch + x32");
    assert!(json["filters"][0]["program"][0]["code"].is_u64());
}
/// The merged program refuses exactly what the stack refuses, allows exactly what it allows,
/// and kills where it kills, for every syscall of the arch and argument patterns the rules
/// and the always-on checks look at.
#[test]
fn merged_program_decides_like_the_stack() {
    let mut rules_spec = deny(&["@default-deny", "uname"]);
    rules_spec.rules.push(ArgRuleSpec {
        syscall: "personality".into(),
        arg: 0,
        op: CmpOp::Ne,
        value: 0,
        width: ArgWidth::W32,
        action: SeccompAction::Errno(libc::EACCES),
    });
    let mut allow_spec = SeccompSpec {
        default: DefaultPolicy::Deny,
        allow: vec!["@system-service".into()],
        ..Default::default()
    };
    allow_spec.nested = libc::CLONE_NEWUSER as u64;
    let mut kill_spec = deny(&["@mount", "ioctl"]);
    kill_spec.action = Some(SeccompAction::Kill);
    for spec in [deny(&["@default-deny"]), rules_spec, allow_spec, kill_spec] {
        for arch in [Arch::X86_64, Arch::Aarch64] {
            let p = compile(&spec, arch).unwrap();
            let m = merged(&p.filters).expect("fits");
            assert_eq!(m.len(), p.instruction_count());
            let aa = arch.audit_arch();
            let argsets: [[u64; 6]; 9] = [
                [0, 0o4755, 0o4755, 0o4755, 0, 0],
                [0, 0o2755, 0, 0o2000, 0, 0],
                [0; 6],
                [1, 0x5412, 0, 0, 0, 0],
                [3, 0x1_0000_5412, 0, 0, 0, 0],
                [libc::CLONE_NEWUSER as u64, 0, 0, 0, 0, 0],
                [
                    libc::CLONE_NEWNET as u64,
                    libc::CLONE_NEWNET as u64,
                    0,
                    0,
                    0,
                    0,
                ],
                [0x11, 0x541C, 0, 0, 0, 0],
                [u64::MAX, u64::MAX, 0, 0, 0, 0],
            ];
            for nr in 0..520u32 {
                for a in argsets {
                    let stack = emu::eval_arch(&p, nr, aa, a);
                    let one = emu::run(&m, nr, aa, a).0;
                    let refused = |r: u32| r != RET_ALLOW && r & 0xffff_0000 != RET_LOG;
                    assert_eq!(
                        refused(stack),
                        refused(one),
                        "{arch:?} nr {nr} args {a:x?}: stack {stack:#x}, merged {one:#x}"
                    );
                    if stack == RET_ALLOW || stack == RET_KILL_PROCESS && one == RET_KILL_PROCESS {
                        assert_eq!(stack, one, "{arch:?} nr {nr} args {a:x?}");
                    }
                }
            }
            // Another arch's calls are still killed by the guard.
            assert_eq!(emu::run(&m, 1, 0x4000_0003, [0; 6]).0, RET_KILL_PROCESS);
        }
    }
}
