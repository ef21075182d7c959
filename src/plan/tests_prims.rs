//! The compiler's side of the primitives of firejail's profiles (globs, noexec, XDG folders,
//! address families, MDWE, machine-id, i386), on pretend hosts.

use super::tests::{host, plan_of};
use super::*;
use crate::host::{HostFs, Kind};

/// A pretend filesystem: the listed paths (folders, files, symlinks with absolute targets).
struct TreeFs(Vec<(&'static str, Kind)>);
impl TreeFs {
    fn lookup(&self, p: &Path) -> Option<Kind> {
        self.0
            .iter()
            .find(|(q, _)| Path::new(q) == p)
            .map(|(_, k)| k.clone())
            .or_else(|| (p == Path::new("/")).then_some(Kind::Dir))
    }
}
impl HostFs for TreeFs {
    fn kind(&self, p: &Path) -> Option<Kind> {
        if p == Path::new("/") {
            return Some(Kind::Dir);
        }
        self.lookup(
            &self
                .canonicalize(p.parent()?)
                .unwrap_or_default()
                .join(p.file_name()?),
        )
        .or_else(|| self.lookup(p))
    }
    fn canonicalize(&self, p: &Path) -> Option<PathBuf> {
        let mut out = PathBuf::from("/");
        for c in p.components().skip(1) {
            out.push(c);
            if let Kind::Symlink(to) = self.lookup(&out)? {
                out = to;
            }
        }
        Some(out)
    }
    fn owner_mode(&self, _: &Path) -> Option<(u32, u32)> {
        Some((0, 0o755))
    }
    fn list(&self, p: &Path) -> Option<Vec<(std::ffi::OsString, Kind)>> {
        let dir = self.canonicalize(p)?;
        Some(
            self.0
                .iter()
                .filter(|(q, _)| Path::new(q).parent() == Some(dir.as_path()))
                .map(|(q, k)| (Path::new(q).file_name().unwrap().to_os_string(), k.clone()))
                .collect(),
        )
    }
}

fn tree_host() -> Host {
    let d = || Kind::Dir;
    let f = || Kind::File;
    let l = |to: &str| Kind::Symlink(PathBuf::from(to));
    Host {
        fs: Box::new(TreeFs(vec![
            ("/home", d()),
            ("/home/ann", d()),
            ("/home/ann/.config", d()),
            ("/home/ann/.config/a.conf", f()),
            ("/home/ann/.config/b.conf", f()),
            ("/home/ann/.config/.c.conf", f()),
            ("/home/ann/.config/notes.txt", f()),
            ("/home/ann/.mozilla", d()),
            ("/home/ann/.mozilla/p1", d()),
            ("/home/ann/.mozilla/p1/lock", f()),
            ("/home/ann/.mozilla/p2", d()),
            ("/home/ann/.mozilla/p2/lock", f()),
            ("/home/ann/.mozilla/evil", l("/etc")),
            ("/etc", d()),
            ("/etc/lock", f()),
            ("/usr", d()),
            ("/usr/bin", d()),
            ("/usr/bin/python3", l("/usr/bin/python3.11")),
            ("/usr/bin/python3.11", f()),
            ("/usr/bin/python3.12", f()),
            ("/usr/bin/perl", f()),
        ])),
        ..host(None)
    }
}

fn bind_targets(p: &Plan) -> Vec<String> {
    p.mounts
        .iter()
        .filter(|m| matches!(m, MountStep::Bind { .. }))
        .map(|m| m.target().display().to_string())
        .collect()
}

fn hidden(p: &Plan) -> Vec<String> {
    p.mounts
        .iter()
        .filter(|m| matches!(m, MountStep::Hide { .. }))
        .map(|m| m.target().display().to_string())
        .collect()
}

fn compile_err(h: &Host, toml: &str) -> String {
    let loaded = Loaded {
        name: "p".into(),
        profile: toml::from_str(toml).unwrap(),
        ..Default::default()
    };
    compile(&loaded, &["/bin/true".into()], h)
        .unwrap_err()
        .to_string()
}

#[test]
fn globs_in_grants_match_host_paths_but_not_dotfiles() {
    let h = tree_host();
    let p = plan_of(
        &h,
        "[filesystem]\nro = [\"~/.config/*.conf\", \"/usr/bin/python3.1[12]\"]\n",
    );
    let b = bind_targets(&p);
    for want in [
        "/home/ann/.config/a.conf",
        "/home/ann/.config/b.conf",
        "/usr/bin/python3.11",
        "/usr/bin/python3.12",
    ] {
        assert!(b.contains(&want.to_string()), "{want} not in {b:?}");
    }
    assert!(
        !b.iter()
            .any(|t| t.contains(".c.conf") || t.contains("notes")),
        "{b:?}"
    );
    // `explain` shows what each pattern matched.
    assert_eq!(p.globs.len(), 2);
    assert_eq!(p.globs[0].pattern, "~/.config/*.conf");
    assert_eq!(p.globs[0].matched.len(), 2);
    // `?` inside is a glob character; a leading one still marks the entry optional.
    let p = plan_of(
        &h,
        "[filesystem]\nro = [\"?/usr/bin/perl?\", \"?/opt/*\"]\n",
    );
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("/opt/*: the pattern matches nothing")),
        "{:?}",
        p.warnings
    );
    assert!(
        p.warnings.iter().any(|w| w.contains("perl?")),
        "{:?}",
        p.warnings
    );
    let p = plan_of(&h, "[filesystem]\nro = [\"/usr/bin/pyth?n3.11\"]\n");
    assert!(bind_targets(&p).contains(&"/usr/bin/python3.11".to_string()));
}

#[test]
fn a_required_glob_that_matches_nothing_is_an_error_naming_it() {
    let h = tree_host();
    let e = compile_err(&h, "[filesystem]\nrw = [\"~/.config/*.toml\"]\n");
    assert!(
        e.contains("~/.config/*.toml") && e.contains("matches nothing"),
        "{e}"
    );
    // An unclosed `[` is an ordinary character, as in a shell: a plain path.
    let e = compile_err(&h, "[filesystem]\nro = [\"/usr/bin/[x\"]\n");
    assert!(e.contains("/usr/bin/[x does not exist"), "{e}");
    // In hide it is a note.
    let p = plan_of(
        &h,
        "[filesystem]\nro = [\"/usr\"]\nhide = [\"/usr/*.nope\"]\n",
    );
    assert!(p.warnings.iter().any(|w| w.contains("matches nothing")));
}

#[test]
fn hide_globs_match_dotfiles_and_never_walk_through_a_symlink() {
    let h = tree_host();
    let p = plan_of(
        &h,
        "[filesystem]\nro = [\"~\", \"/usr\"]\nhide = [\"${HOME}/.mozilla/*/lock\", \"~/.config/*\", \"/usr/bin/python3*\"]\n",
    );
    let hid = hidden(&p);
    assert!(
        hid.contains(&"/home/ann/.mozilla/p1/lock".to_string()),
        "{hid:?}"
    );
    assert!(
        hid.contains(&"/home/ann/.mozilla/p2/lock".to_string()),
        "{hid:?}"
    );
    // `evil -> /etc` is not walked: /etc/lock is neither hidden nor named.
    assert!(
        !hid.iter().any(|t| t.contains("evil") || t == "/etc/lock"),
        "{hid:?}"
    );
    assert!(
        hid.contains(&"/home/ann/.config/.c.conf".to_string()),
        "{hid:?}"
    );
    // A matched symlink is left out with a note; what it points to is hidden by its own match.
    assert!(hid.contains(&"/usr/bin/python3.11".to_string()), "{hid:?}");
    assert!(!hid.contains(&"/usr/bin/python3".to_string()), "{hid:?}");
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("/usr/bin/python3 is a symlink")),
        "{:?}",
        p.warnings
    );
}

#[test]
fn variables_in_a_glob_are_not_patterns() {
    let h = Host {
        home: "/home/a[n]n".into(),
        ..tree_host()
    };
    // `[n]` of the home is literal: nothing at /home/a[n]n, so nothing matches (not /home/ann).
    let e = compile_err(&h, "[filesystem]\nro = [\"~/.config/*.conf\"]\n");
    assert!(e.contains("matches nothing"), "{e}");
}

#[test]
fn noexec_mounts_last_and_takes_execute_from_landlock() {
    let h = Host {
        landlock_abi: Some(5),
        ..tree_host()
    };
    let p = plan_of(
        &h,
        "[filesystem]\nrw = [\"~/.mozilla\"]\ntmpfs = [\"/scratch\"]\nnoexec = [\"~/.mozilla/p*\", \"/tmp\", \"/scratch\", \"/scratch/x\", \"/opt\", \"/usr/bin/python3\"]\n",
    );
    let nx: Vec<String> = p
        .mounts
        .iter()
        .filter(|m| matches!(m, MountStep::Noexec { .. }))
        .map(|m| m.target().display().to_string())
        .collect();
    assert_eq!(
        nx,
        [
            "/home/ann/.mozilla/p1",
            "/home/ann/.mozilla/p2",
            "/scratch",
            "/tmp"
        ]
    );
    // After every other mount, so it covers what is mounted below.
    let first = p
        .mounts
        .iter()
        .position(|m| matches!(m, MountStep::Noexec { .. }))
        .unwrap();
    assert!(p.mounts[first..]
        .iter()
        .all(|m| matches!(m, MountStep::Noexec { .. })));
    // /scratch/x is covered by /scratch; the rest is not shown at all.
    for w in ["/opt: not granted", "/usr/bin/python3: not granted"] {
        assert!(
            p.warnings.iter().any(|x| x.contains(w)),
            "{w}: {:?}",
            p.warnings
        );
    }
    let rule = |path: &str| {
        p.landlock
            .path_rules
            .iter()
            .find(|r| r.path == Path::new(path))
            .unwrap_or_else(|| panic!("no rule {path}"))
            .access
            .clone()
    };
    use crate::plan::landlock::FsRight;
    assert!(!rule("/tmp").contains(&FsRight::Execute));
    assert!(!rule("/scratch").contains(&FsRight::Execute));
    // ~/.mozilla keeps execute (only its p* folders are noexec), and explain says the mount
    // flag holds there.
    assert!(rule("/home/ann/.mozilla").contains(&FsRight::Execute));
    assert!(p
        .landlock
        .explain
        .iter()
        .any(|l| l.contains("noexec /home/ann/.mozilla/p1: execute still granted")));
}

#[test]
fn noexec_inside_a_fresh_tmpfs_or_on_a_symlink_is_a_note() {
    let h = tree_host();
    let p = plan_of(
        &h,
        "[filesystem]\nro = [\"/usr\"]\nnoexec = [\"/tmp/x\", \"/usr/bin/python3\", \"/usr/nope\"]\n",
    );
    assert!(!p
        .mounts
        .iter()
        .any(|m| matches!(m, MountStep::Noexec { .. })));
    for w in [
        "/tmp/x: inside the fresh tmpfs /tmp",
        "/usr/bin/python3: a symlink",
        "/usr/nope: nothing there",
    ] {
        assert!(
            p.warnings.iter().any(|x| x.contains(w)),
            "{w}: {:?}",
            p.warnings
        );
    }
}

#[test]
fn xdg_user_folders_come_from_user_dirs_dirs_with_english_defaults() {
    let home = Path::new("/home/ann");
    let text = "# written by xdg-user-dirs-update\nXDG_DESKTOP_DIR=\"$HOME/Bureau\"\n\
        XDG_DOCUMENTS_DIR=\"$HOME/Docs/Work\"\nXDG_MUSIC_DIR=\"/home/ann/Musique\"\n\
        XDG_PICTURES_DIR=\"$HOME/.ssh\"\nXDG_VIDEOS_DIR=\"$HOME/\"\nXDG_DOWNLOAD_DIR=\"/etc\"\n\
        #XDG_TEMPLATES_DIR=\"$HOME/x\"\n";
    let h = Host {
        user_dirs: crate::host::parse_user_dirs(text, home),
        ..host(None)
    };
    for (var, want) in [
        ("${DESKTOP}", "/home/ann/Bureau"),
        ("${DOCUMENTS}", "/home/ann/Docs/Work"),
        ("${MUSIC}", "/home/ann/Musique"),
        // Hidden, the home itself, or outside the home: the default.
        ("${PICTURES}", "/home/ann/Pictures"),
        ("${VIDEOS}", "/home/ann/Videos"),
        ("${DOWNLOADS}", "/home/ann/Downloads"),
    ] {
        assert_eq!(expand(var, &h).unwrap(), want, "{var}");
    }
    assert!(expand("${TEMPLATES}", &h)
        .unwrap_err()
        .contains("${DOCUMENTS}"));
}

#[test]
fn families_refuse_other_socket_families_with_eafnosupport() {
    use crate::plan::seccomp::emu;
    let h = host(None);
    let p = plan_of(&h, "[seccomp]\nfamilies = [\"unix\", \"inet6\"]\n");
    let efam = crate::plan::seccomp::RET_ERRNO | libc::EAFNOSUPPORT as u32;
    let allow = crate::plan::seccomp::RET_ALLOW;
    let af = |f: i32| [f as u64, 1, 0, 0, 0, 0];
    assert_eq!(emu::eval(&p.seccomp, "socket", af(libc::AF_UNIX)), allow);
    assert_eq!(emu::eval(&p.seccomp, "socket", af(libc::AF_INET6)), allow);
    assert_eq!(emu::eval(&p.seccomp, "socket", af(libc::AF_INET)), efam);
    assert_eq!(
        emu::eval(&p.seccomp, "socketpair", af(libc::AF_NETLINK)),
        efam
    );
    // The domain is an int: garbage in the upper half does not pass for AF_UNIX … or refuse it.
    let hi = [(1u64 << 32) | libc::AF_INET as u64, 1, 0, 0, 0, 0];
    assert_eq!(emu::eval(&p.seccomp, "socket", hi), efam);
    // Without the key every family works; `[]` refuses them all.
    let p = plan_of(&h, "");
    assert_eq!(emu::eval(&p.seccomp, "socket", af(libc::AF_INET)), allow);
    let p = plan_of(&h, "[seccomp]\nfamilies = []\n");
    assert_eq!(emu::eval(&p.seccomp, "socket", af(libc::AF_UNIX)), efam);
    // A deny of socket in the policy is not undone by a listed family.
    let p = plan_of(
        &h,
        "[seccomp]\nfamilies = [\"unix\"]\ndeny = [\"socket\"]\n",
    );
    assert_ne!(emu::eval(&p.seccomp, "socket", af(libc::AF_UNIX)), allow);
    let e = compile_err(&h, "[seccomp]\nfamilies = [\"ipx\"]\n");
    assert!(e.contains("unknown address family \"ipx\""), "{e}");
}

#[test]
fn mdwe_by_prctl_or_by_systemds_seccomp_rules() {
    use crate::plan::seccomp::{emu, RET_ALLOW, RET_ERRNO};
    let key = "[process]\nmemory_deny_write_execute = true\n";
    let p = plan_of(&host(None), key);
    assert_eq!(p.process.mdwe, Some(Mdwe::Prctl));
    assert!(!p.seccomp.filters.iter().any(|f| f.name == "mdwe"));
    assert_eq!(plan_of(&host(None), "").process.mdwe, None);
    // A kernel without PR_SET_MDWE: the seccomp filter.
    let old = Host {
        mdwe: false,
        ..host(None)
    };
    let p = plan_of(&old, key);
    assert_eq!(p.process.mdwe, Some(Mdwe::Seccomp));
    let eperm = RET_ERRNO | libc::EPERM as u32;
    let (r, w, x) = (
        libc::PROT_READ as u64,
        libc::PROT_WRITE as u64,
        libc::PROT_EXEC as u64,
    );
    let prot = |call: &str, arg2: u64| emu::eval(&p.seccomp, call, [0, 4096, arg2, 0x22, 0, 0]);
    assert_eq!(prot("mmap", r | w | x), eperm);
    assert_eq!(prot("mmap", r | x), RET_ALLOW);
    assert_eq!(prot("mmap", r | w), RET_ALLOW);
    assert_eq!(prot("mprotect", r | x), eperm);
    assert_eq!(prot("mprotect", r), RET_ALLOW);
    assert_eq!(prot("pkey_mprotect", x), eperm);
    assert_eq!(prot("shmat", libc::SHM_EXEC as u64), eperm);
    // READ_IMPLIES_EXEC would make every readable mapping executable.
    assert_eq!(
        emu::eval(&p.seccomp, "personality", [0x0040_0000, 0, 0, 0, 0, 0]),
        eperm
    );
    // With i386 the seccomp rules cannot hold (the kernel sets READ_IMPLIES_EXEC at exec for
    // old 32-bit programs): refused.
    if seccomp::Arch::native() == Some(seccomp::Arch::X86_64) {
        let e = compile_err(&old, &format!("{key}[seccomp]\ni386 = true\n"));
        assert!(e.contains("needs PR_SET_MDWE"), "{e}");
    }
}

#[test]
fn a_random_machine_id_replaces_the_hosts_where_it_shows() {
    let f = || Kind::File;
    let h = Host {
        fs: Box::new(TreeFs(vec![
            ("/etc", Kind::Dir),
            ("/etc/machine-id", f()),
            ("/var", Kind::Dir),
            ("/var/lib", Kind::Dir),
            ("/var/lib/dbus", Kind::Dir),
            (
                "/var/lib/dbus/machine-id",
                Kind::Symlink("/etc/machine-id".into()),
            ),
        ])),
        ..host(None)
    };
    let ids = |p: &Plan| -> Vec<String> {
        p.mounts
            .iter()
            .filter(|m| matches!(m, MountStep::MachineId { .. }))
            .map(|m| m.target().display().to_string())
            .collect()
    };
    let random = "[process]\nmachine_id = \"random\"\n";
    // /etc shown: over the host's; dbus' symlink leads to it and is left alone.
    let p = plan_of(
        &h,
        &format!("{random}[filesystem]\nro = [\"/etc\", \"/var/lib/dbus\"]\n"),
    );
    assert_eq!(ids(&p), ["/etc/machine-id"]);
    // Nothing shows /etc: made in the sandbox's own root.
    assert_eq!(ids(&plan_of(&h, random)), ["/etc/machine-id"]);
    // "host" (the default): nothing changes.
    let p = plan_of(&h, "[filesystem]\nro = [\"/etc\"]\n");
    assert!(ids(&p).is_empty());
    let p = plan_of(
        &h,
        "[process]\nmachine_id = \"host\"\n[filesystem]\nro = [\"/etc\"]\n",
    );
    assert!(ids(&p).is_empty());
}

#[test]
fn i386_runs_under_the_same_rules_in_i386_numbers() {
    use crate::plan::seccomp::{emu, RET_ALLOW, RET_ERRNO, RET_KILL_PROCESS};
    if seccomp::Arch::native() != Some(seccomp::Arch::X86_64) {
        return;
    }
    const I386: u32 = 0x4000_0003;
    let (getpid, mount, socket) = (20, 21, 359); // i386 numbers (x86_64 21 is access)
    let af = |f: i32| [f as u64, 1, 0, 0, 0, 0];
    let h = host(None);
    let p = plan_of(&h, "[seccomp]\ndeny = [\"@default-deny\"]\n");
    assert_eq!(
        emu::eval_arch(&p.seccomp, getpid, I386, [0; 6]),
        RET_KILL_PROCESS
    );
    let p = plan_of(
        &h,
        "[seccomp]\ndeny = [\"@default-deny\"]\ni386 = true\nfamilies = [\"unix\"]\n",
    );
    assert_eq!(emu::eval_arch(&p.seccomp, getpid, I386, [0; 6]), RET_ALLOW);
    assert_eq!(
        emu::eval_arch(&p.seccomp, mount, I386, [0; 6]),
        RET_ERRNO | libc::EPERM as u32
    );
    // x86_64 21 (access) is untouched, x86_64 mount still refused.
    assert_eq!(
        emu::eval_arch(&p.seccomp, 21, 0xC000_003E, [0; 6]),
        RET_ALLOW
    );
    assert_eq!(
        emu::eval(&p.seccomp, "mount", [0; 6]),
        RET_ERRNO | libc::EPERM as u32
    );
    let efam = RET_ERRNO | libc::EAFNOSUPPORT as u32;
    assert_eq!(
        emu::eval_arch(&p.seccomp, socket, I386, af(libc::AF_INET)),
        efam
    );
    assert_eq!(
        emu::eval_arch(&p.seccomp, socket, I386, af(libc::AF_UNIX)),
        RET_ALLOW
    );
    // socketcall(SYS_SOCKET, …): the family is in memory, so it is refused.
    assert_eq!(
        emu::eval_arch(&p.seccomp, 102, I386, [1, 0, 0, 0, 0, 0]),
        efam
    );
    // x32 and other ABIs are still killed.
    assert_eq!(
        emu::eval_arch(&p.seccomp, 0x4000_0027, 0xC000_003E, [0; 6]),
        RET_KILL_PROCESS
    );
    assert_eq!(
        emu::eval_arch(&p.seccomp, 20, 0xC000_00B7, [0; 6]),
        RET_KILL_PROCESS
    );
}

/// A host with merged /usr, a home with keys, and the files root's masks care about.
fn later_mounts_host(uid: u32) -> Host {
    let d = || Kind::Dir;
    let f = || Kind::File;
    let l = |to: &str| Kind::Symlink(PathBuf::from(to));
    Host {
        uid,
        fs: Box::new(TreeFs(vec![
            ("/home", d()),
            ("/home/ann", d()),
            ("/home/ann/.ssh", d()),
            ("/home/ann/.ssh/id_ed25519", f()),
            ("/home/ann/Downloads", d()),
            ("/home/ann/Foo [1]", f()),
            ("/home/ann/Foo 1", f()),
            ("/srv", d()),
            ("/srv/h", d()),
            ("/srv/h/.ssh", d()),
            ("/etc", d()),
            ("/etc/shadow", f()),
            ("/etc/machine-id", f()),
            ("/bin", l("/usr/bin")),
            ("/usr", d()),
            ("/usr/bin", d()),
            ("/usr/bin/su", f()),
            ("/mnt", d()),
        ])),
        ..host(None)
    }
}

/// What comes after the last mount at `target` (the steps that cover it).
fn after<'a>(p: &'a Plan, target: &str) -> &'a [MountStep] {
    let i = p
        .mounts
        .iter()
        .rposition(|m| m.target() == Path::new(target))
        .unwrap_or_else(|| panic!("nothing mounted at {target}: {:?}", p.mounts));
    &p.mounts[i + 1..]
}

#[test]
fn a_hide_holds_under_an_explicit_bind_that_shows_it_again() {
    let h = later_mounts_host(1234);
    // The host folder bound elsewhere: its hidden keys are hidden there too.
    let p = plan_of(
        &h,
        "[filesystem]\nhide = [\"~/.ssh\"]\n[[filesystem.mount]]\ntype = \"ro-bind\"\nsource = \"~\"\ntarget = \"/mnt/h\"\n",
    );
    assert!(after(&p, "/mnt/h").contains(&MountStep::Hide {
        target: "/mnt/h/.ssh".into(),
        dir: true
    }));
    // Something else bound over the hidden place: hidden again there.
    let p = plan_of(
        &h,
        "[filesystem]\nro = [\"~\"]\nhide = [\"~/.ssh\"]\n[[filesystem.mount]]\ntype = \"ro-bind\"\nsource = \"/srv/h\"\ntarget = \"~\"\n",
    );
    assert!(after(&p, "/home/ann").contains(&MountStep::Hide {
        target: "/home/ann/.ssh".into(),
        dir: true
    }));
    // A source inside the hidden folder is the profile's own choice: shown.
    let p = plan_of(
        &h,
        "[filesystem]\nhide = [\"~/.ssh\"]\n[[filesystem.mount]]\ntype = \"ro-bind\"\nsource = \"~/.ssh/id_ed25519\"\ntarget = \"/mnt/key\"\n",
    );
    assert!(!after(&p, "/mnt/key")
        .iter()
        .any(|m| matches!(m, MountStep::Hide { .. })));
}

#[test]
fn roots_etc_mask_and_machine_id_hold_under_explicit_binds() {
    let h = later_mounts_host(0);
    let p = plan_of(
        &h,
        "[[filesystem.mount]]\ntype = \"ro-bind\"\nsource = \"/etc\"\ntarget = \"/etc\"\n[[filesystem.mount]]\ntype = \"ro-bind\"\nsource = \"/\"\ntarget = \"/mnt/root\"\n",
    );
    for t in ["/etc", "/mnt/root/etc"] {
        assert!(
            p.mounts
                .contains(&MountStep::MaskPrivate { target: t.into() }),
            "{t}: {:?}",
            p.mounts
        );
    }
    // A grant of / shows /etc as well.
    let p = plan_of(&h, "[filesystem]\nro = [\"/\"]\n");
    assert!(p.mounts.contains(&MountStep::MaskPrivate {
        target: "/etc".into()
    }));
    // Not for a user: others' unreadable files are unreadable to them anyway.
    let p = plan_of(
        &later_mounts_host(1234),
        "[[filesystem.mount]]\ntype = \"ro-bind\"\nsource = \"/etc\"\ntarget = \"/etc\"\n",
    );
    assert!(!p
        .mounts
        .iter()
        .any(|m| matches!(m, MountStep::MaskPrivate { .. })));
    let p = plan_of(
        &later_mounts_host(1234),
        "[process]\nmachine_id = \"random\"\n[[filesystem.mount]]\ntype = \"ro-bind\"\nsource = \"/etc\"\ntarget = \"/mnt/etc\"\n",
    );
    assert!(after(&p, "/mnt/etc").contains(&MountStep::MachineId {
        target: "/mnt/etc/machine-id".into()
    }));
}

#[test]
fn noexec_holds_where_an_explicit_bind_shows_the_path_again() {
    let h = later_mounts_host(1234);
    let p = plan_of(
        &h,
        "[filesystem]\nrw = [\"~/Downloads\"]\nnoexec = [\"~/Downloads\"]\n[[filesystem.mount]]\ntype = \"ro-bind\"\nsource = \"~\"\ntarget = \"/mnt/h\"\n",
    );
    for t in ["/home/ann/Downloads", "/mnt/h/Downloads"] {
        assert!(
            p.mounts.contains(&MountStep::Noexec {
                target: t.into(),
                dir: true
            }),
            "{t}: {:?}",
            p.mounts
        );
    }
}

#[test]
fn a_hide_through_a_symlinked_folder_hides_the_real_path() {
    let h = later_mounts_host(1234);
    let p = plan_of(
        &h,
        "[filesystem]\nro = [\"/bin\", \"/usr\"]\nhide = [\"/bin/su\"]\n",
    );
    assert!(
        hidden(&p).contains(&"/usr/bin/su".to_string()),
        "{:?}",
        p.mounts
    );
    assert!(p.warnings.iter().any(|w| w
        .contains("hide /bin/su: through the symlink /bin; hiding where it leads, /usr/bin/su")));
}

#[test]
fn with_i386_a_denied_name_also_refuses_its_32_bit_twins_and_multiplexed_calls() {
    use crate::plan::seccomp::{emu, twins as twins_for_tests, Arch, RET_ALLOW, RET_ERRNO};
    // Every twin is a real i386 call (a typo would silently cover nothing).
    for (name, twins) in twins_for_tests::TWINS {
        for t in *twins {
            assert!(
                Arch::I386.syscall_nr(t).is_some(),
                "{name}: {t} is not an i386 call"
            );
        }
    }
    for (name, _) in twins_for_tests::SOCKETCALL
        .iter()
        .chain(twins_for_tests::IPC)
    {
        assert!(
            Arch::X86_64.syscall_nr(name).is_some() || *name == "send" || *name == "recv",
            "{name}"
        );
    }
    const I386: u32 = 0x4000_0003;
    let nr = |n: &str| Arch::I386.syscall_nr(n).unwrap();
    let eperm = RET_ERRNO | libc::EPERM as u32;
    let h = host(None);
    let p = plan_of(
        &h,
        "[seccomp]\ndeny = [\"@default-deny\", \"chown\", \"fcntl\", \"connect\", \"shmget\", \"clock_settime\"]\ni386 = true\n",
    );
    for call in ["chown", "chown32", "fcntl", "fcntl64", "clock_settime64"] {
        assert_eq!(
            emu::eval_arch(&p.seccomp, nr(call), I386, [0; 6]),
            eperm,
            "{call}"
        );
    }
    // socketcall(SYS_CONNECT) and ipc(SHMGET, with a version in the high half) are refused,
    // socketcall(SYS_SOCKET) and ipc(SHMAT) pass.
    let (socketcall, ipc) = (nr("socketcall"), nr("ipc"));
    assert_eq!(
        emu::eval_arch(&p.seccomp, socketcall, I386, [3, 0, 0, 0, 0, 0]),
        eperm
    );
    assert_eq!(
        emu::eval_arch(&p.seccomp, socketcall, I386, [1, 0, 0, 0, 0, 0]),
        RET_ALLOW
    );
    assert_eq!(
        emu::eval_arch(&p.seccomp, ipc, I386, [0x1_0017, 0, 0, 0, 0, 0]),
        eperm
    );
    assert_eq!(
        emu::eval_arch(&p.seccomp, ipc, I386, [21, 0, 0, 0, 0, 0]),
        RET_ALLOW
    );
    // Allowed calls are not touched.
    assert_eq!(
        emu::eval_arch(&p.seccomp, nr("getuid32"), I386, [0; 6]),
        RET_ALLOW
    );
    // A default-deny allow list lets the twins and the multiplexed calls it names through.
    let p = plan_of(
        &h,
        "[seccomp]\ndefault = \"deny\"\nallow = [\"fcntl\", \"connect\", \"exit_group\", \"rt_sigreturn\"]\ni386 = true\n",
    );
    assert_eq!(
        emu::eval_arch(&p.seccomp, nr("fcntl64"), I386, [0; 6]),
        RET_ALLOW
    );
    assert_eq!(
        emu::eval_arch(&p.seccomp, socketcall, I386, [3, 0, 0, 0, 0, 0]),
        RET_ALLOW
    );
    assert_ne!(
        emu::eval_arch(&p.seccomp, socketcall, I386, [1, 0, 0, 0, 0, 0]),
        RET_ALLOW
    );
}

#[test]
fn double_star_matches_any_depth_and_brackets_may_be_literal() {
    let h = tree_host();
    // `**`: no folder, one or more (dot-folders too in a hide).
    let p = plan_of(&h, "[filesystem]\nro = [\"~\"]\nhide = [\"~/**/lock\"]\n");
    let hs = hidden(&p);
    for want in ["/home/ann/.mozilla/p1/lock", "/home/ann/.mozilla/p2/lock"] {
        assert!(hs.contains(&want.to_string()), "{want}: {hs:?}");
    }
    // In a grant, not into dot-folders (as `*` skips dotfiles there): nothing matches.
    let e = compile_err(&h, "[filesystem]\nro = [\"~/**/lock\"]\n");
    assert!(e.contains("matches nothing"), "{e}");
    // Last, `**` is the folder itself.
    let p = plan_of(
        &h,
        "[filesystem]\nro = [\"~\"]\nhide = [\"~/.mozilla/**\"]\n",
    );
    assert_eq!(hidden(&p), ["/home/ann/.mozilla"]);
    // `Foo [1]` in a hide: the literal name and what the pattern matches (`Foo 1`).
    let h = later_mounts_host(1234);
    let p = plan_of(&h, "[filesystem]\nro = [\"~\"]\nhide = [\"~/Foo [1]\"]\n");
    let hs = hidden(&p);
    for want in ["/home/ann/Foo [1]", "/home/ann/Foo 1"] {
        assert!(hs.contains(&want.to_string()), "{want}: {hs:?}");
    }
}

#[test]
fn with_i386_calls_only_the_multiplexers_reach_are_covered_by_their_names() {
    use crate::plan::seccomp::{emu, Arch, RET_ALLOW, RET_ERRNO};
    if seccomp::Arch::native() != Some(seccomp::Arch::X86_64) {
        return;
    }
    const I386: u32 = 0x4000_0003;
    let nr = |n: &str| Arch::I386.syscall_nr(n).unwrap();
    let eperm = RET_ERRNO | libc::EPERM as u32;
    let h = host(None);
    // i386 has no direct accept, send, recv or semop: only socketcall and ipc reach them.
    let p = plan_of(
        &h,
        "[seccomp]\ndeny = [\"@default-deny\", \"accept\", \"sendto\", \"recvfrom\", \"semop\", \"semtimedop\", \"uname\", \"setpriority\"]\ni386 = true\n",
    );
    let sc = nr("socketcall");
    for call in [5u64, 9, 10, 11, 12] {
        assert_eq!(
            emu::eval_arch(&p.seccomp, sc, I386, [call, 0, 0, 0, 0, 0]),
            eperm,
            "socketcall({call})"
        );
    }
    assert_eq!(
        emu::eval_arch(&p.seccomp, sc, I386, [3, 0, 0, 0, 0, 0]),
        RET_ALLOW
    );
    for call in [1u64, 4] {
        assert_eq!(
            emu::eval_arch(&p.seccomp, nr("ipc"), I386, [call, 0, 0, 0, 0, 0]),
            eperm
        );
    }
    for call in ["olduname", "oldolduname", "semtimedop_time64", "nice"] {
        assert_eq!(
            emu::eval_arch(&p.seccomp, nr(call), I386, [0; 6]),
            eperm,
            "{call}"
        );
    }
    // A rule on mmap: the low 32 bits of prot on x86_64 (high garbage does not slip past),
    // i386's old mmap (arguments in memory) refused outright, mmap2 by the rule.
    let p = plan_of(
        &h,
        "[seccomp]\ni386 = true\n[[seccomp.rule]]\nsyscall = \"mmap\"\narg = 2\nop = \"masked_eq\"\nmask = 4\nvalue = 4\naction = \"errno\"\n",
    );
    assert_eq!(
        emu::eval(&p.seccomp, "mmap", [0, 4096, 0x1_0000_0007, 0x22, 0, 0]),
        eperm
    );
    assert_eq!(
        emu::eval(&p.seccomp, "mmap", [0, 4096, 3, 0x22, 0, 0]),
        RET_ALLOW
    );
    assert_eq!(emu::eval_arch(&p.seccomp, nr("mmap"), I386, [0; 6]), eperm);
    assert_eq!(
        emu::eval_arch(&p.seccomp, nr("mmap2"), I386, [0, 4096, 5, 0x22, 0, 0]),
        eperm
    );
    assert_eq!(
        emu::eval_arch(&p.seccomp, nr("mmap2"), I386, [0, 4096, 3, 0x22, 0, 0]),
        RET_ALLOW
    );
    // explain says what does not hold for 32-bit programs.
    let p = plan_of(
        &h,
        "[seccomp]\ni386 = true\n[[seccomp.rule]]\nsyscall = \"socket\"\narg = 0\nop = \"eq\"\nvalue = 2\naction = \"errno\"\n[[seccomp.rule]]\nsyscall = \"truncate\"\narg = 1\nop = \"eq\"\nvalue = 0\naction = \"errno\"\n",
    );
    let w = p.seccomp.summary.warnings.join("\n");
    assert!(w.contains("socketcall or ipc"), "{w}");
    assert!(w.contains("truncate64"), "{w}");
}

#[test]
fn noexec_holds_on_a_folder_jail_creates_and_machine_id_on_an_images_dbus_file() {
    // The private home does not exist before its first run: noexec still covers it.
    let h = later_mounts_host(1234);
    let p = plan_of(&h, "[filesystem]\nhome = \"private\"\nnoexec = [\"~\"]\n");
    assert!(
        p.mounts.contains(&MountStep::Noexec {
            target: "/home/ann".into(),
            dir: true
        }),
        "{:?} {:?}",
        p.mounts,
        p.warnings
    );
    // An image with dbus' own machine-id file: covered too.
    let f = || Kind::File;
    let d = || Kind::Dir;
    let h = Host {
        fs: Box::new(TreeFs(vec![
            ("/img", d()),
            ("/img/etc", d()),
            ("/img/etc/machine-id", f()),
            ("/img/var", d()),
            ("/img/var/lib", d()),
            ("/img/var/lib/dbus", d()),
            ("/img/var/lib/dbus/machine-id", f()),
        ])),
        ..host(None)
    };
    let p = plan_of(
        &h,
        "[process]\nmachine_id = \"random\"\n[filesystem]\nrootfs = \"/img\"\n",
    );
    for t in ["/etc/machine-id", "/var/lib/dbus/machine-id"] {
        assert!(
            p.mounts
                .contains(&MountStep::MachineId { target: t.into() }),
            "{t}: {:?}",
            p.mounts
        );
    }
}
