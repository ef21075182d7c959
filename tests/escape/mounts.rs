//! Class 21 (issue 18, attack on the primitives): a later mount must not undo what the lists
//! hide or mask. `[[filesystem.mount]]` entries and `--bind SRC:DST` come after the sorted
//! lists; binding a folder again (elsewhere, or over itself) showed what `hide`, `noexec`,
//! `machine_id = "random"` and root's `/etc` masks had covered.
use super::*;

/// `jail run ARGS… -- sh -c SCRIPT` as `u`, from /.
fn sh(u: &User, args: &[&str], script: &str) -> Run {
    let mut a: Vec<&str> = vec!["run", "--chdir", "/"];
    a.extend(args);
    a.extend(["--", "/bin/sh", "-c", script]);
    Jail::new(u).args(a).output()
}

/// `sh -c SCRIPT` as `u` on the host.
fn host_sh(u: &User, script: &str) -> String {
    text(
        &host_cmd(u, "/bin/sh")
            .args(["-c", script])
            .output()
            .unwrap(),
    )
}

#[test]
fn a_hidden_folder_stays_hidden_when_its_parent_is_bound_elsewhere() {
    each_user(|u| {
        let d = TempDir::new(u);
        write_file(u, &d, "open", "OPEN\n");
        write_file(u, &d, "secret/key", "KEY\n");
        let key = d.join("secret/key");
        let key = key.to_str().unwrap();
        // Outside, the key is readable.
        assert!(host_sh(u, &format!("cat {key}")).contains("KEY"));
        let hide = d.join("secret");
        let bind = format!("{}:/mnt/d", d.display());
        let r = sh(
            u,
            &["--hide", hide.to_str().unwrap(), "--ro-bind", &bind],
            "cat /mnt/d/open; cat /mnt/d/secret/key; ls /mnt/d/secret",
        );
        assert!(
            r.stdout().contains("OPEN"),
            "[{}] the bind works: {}",
            u.name,
            r.stderr()
        );
        assert!(
            !r.stdout().contains("KEY"),
            "[{}] ESCAPE: the hidden key is read through a second bind of its folder:\n{}",
            u.name,
            r.stdout()
        );
    });
}

#[test]
fn a_hidden_folder_stays_hidden_when_it_is_bound_over_itself() {
    each_user(|u| {
        let d = TempDir::new(u);
        write_file(u, &d, "secret/key", "KEY\n");
        let dir = d.to_str().unwrap();
        let hide = d.join("secret");
        let bind = format!("{dir}:{dir}");
        let r = sh(
            u,
            &[
                "--ro-bind",
                dir,
                "--hide",
                hide.to_str().unwrap(),
                "--ro-bind",
                &bind,
            ],
            &format!("ls {dir} && cat {dir}/secret/key"),
        );
        assert!(
            r.stdout().contains("secret"),
            "[{}] the bind works: {}",
            u.name,
            r.stderr()
        );
        assert!(
            !r.stdout().contains("KEY"),
            "[{}] ESCAPE: the hidden key is read through an explicit bind over its folder",
            u.name
        );
    });
}

#[test]
fn roots_etc_secrets_stay_masked_under_explicit_binds() {
    let root = users().into_iter().find(|u| u.is_root());
    let Some(u) = root else {
        eprintln!("skipped: root's /etc masks need the tests to run as root");
        return;
    };
    // Outside, root reads /etc/shadow.
    assert!(host_sh(&u, "cat /etc/shadow").contains("root:"));
    for bind in ["/etc:/etc", "/etc:/mnt/etc", "/:/mnt/root"] {
        let r = sh(
            &u,
            &["--ro-bind", bind],
            "cat /etc/passwd /mnt/etc/passwd /mnt/root/etc/passwd 2>/dev/null | head -n 1; \
             cat /etc/shadow /mnt/etc/shadow /mnt/root/etc/shadow 2>/dev/null",
        );
        assert!(
            r.stdout().contains("root:x:"),
            "--ro-bind {bind} works: {}",
            r.stderr()
        );
        assert!(
            !r.stdout()
                .lines()
                .any(|l| l.starts_with("root:") && !l.starts_with("root:x:")),
            "ESCAPE: --ro-bind {bind} shows /etc/shadow to a sandbox started by root:\n{}",
            r.stdout()
        );
    }
    // Single files: a private one masked, a public one shown (not refused).
    let r = sh(
        &u,
        &[
            "--ro-bind",
            "/etc/shadow:/mnt/s",
            "--ro-bind",
            "/etc/hostname:/mnt/h",
        ],
        "cat /mnt/h; cat /mnt/s",
    );
    assert!(
        !r.stdout().is_empty(),
        "/etc/hostname is shown: {}",
        r.stderr()
    );
    assert!(
        !r.stdout().contains("root:"),
        "ESCAPE: --ro-bind /etc/shadow:/mnt/s shows it:\n{}",
        r.stdout()
    );
}

#[test]
fn a_random_machine_id_holds_under_a_bind_of_etc_elsewhere() {
    let host_id = std::fs::read_to_string("/etc/machine-id").unwrap_or_default();
    if host_id.trim().is_empty() {
        eprintln!("skipped: this host has no /etc/machine-id");
        assert!(
            std::env::var_os("JAIL_TEST_STRICT").is_none(),
            "no /etc/machine-id"
        );
        return;
    }
    each_user(|u| {
        let d = TempDir::new(u);
        let p = profile_file(
            u,
            &d,
            "mid",
            "include = [\"base\"]\n[process]\nmachine_id = \"random\"\n",
        );
        let r = sh(
            u,
            &["--profile", &p, "--ro-bind", "/etc:/mnt/etc"],
            "cat /mnt/etc/machine-id",
        );
        r.ok();
        let seen = r.stdout();
        assert_eq!(seen.trim().len(), 32, "[{}] {seen:?}", u.name);
        assert_ne!(
            seen.trim(),
            host_id.trim(),
            "[{}] ESCAPE: the host's machine id is read through a bind of /etc",
            u.name
        );
    });
}

#[test]
fn noexec_holds_where_a_bind_shows_the_folder_again() {
    each_user(|u| {
        let d = TempDir::new(u);
        let bin = d.join("bin");
        std::fs::create_dir(&bin).unwrap();
        let prog = bin.join("prog");
        std::fs::copy("/bin/true", &prog).unwrap();
        if euid() == 0 {
            std::os::unix::fs::chown(&bin, Some(u.uid), Some(u.gid)).unwrap();
            std::os::unix::fs::chown(&prog, Some(u.uid), Some(u.gid)).unwrap();
        }
        // Outside, it runs.
        assert!(host_sh(u, &format!("{} && echo RAN", prog.display())).contains("RAN"));
        let p = profile_file(
            u,
            &d,
            "nx",
            &format!(
                "include = [\"base\"]\n[filesystem]\nro = [\"{}\"]\nnoexec = [\"{}\"]\n",
                d.display(),
                bin.display()
            ),
        );
        let bind = format!("{}:/mnt/d", d.display());
        let r = sh(
            u,
            &["--profile", &p, "--ro-bind", &bind],
            &format!(
                "{} && echo RAN-GRANT; /mnt/d/bin/prog && echo RAN-BIND; ls /mnt/d/bin",
                prog.display()
            ),
        );
        assert!(
            r.stdout().contains("prog"),
            "[{}] the bind works: {}",
            u.name,
            r.stderr()
        );
        for what in ["RAN-GRANT", "RAN-BIND"] {
            assert!(
                !r.stdout().contains(what),
                "[{}] ESCAPE: {what}: a noexec folder's program runs\n{}",
                u.name,
                r.stdout()
            );
        }
    });
}

#[test]
fn a_hide_written_through_a_symlinked_folder_hides_the_file() {
    // Merged /usr: /bin leads to usr/bin, and a hide of /bin/su must hide /usr/bin/su.
    if !std::fs::symlink_metadata("/bin").is_ok_and(|m| m.file_type().is_symlink())
        || !Path::new("/usr/bin/su").exists()
    {
        eprintln!("skipped: /bin is not a symlink here, or there is no su");
        return;
    }
    each_user(|u| {
        assert!(host_sh(u, "head -c 4 /bin/su").contains("ELF"));
        let r = sh(
            u,
            &["--hide", "/bin/su"],
            "head -c 4 /bin/su; head -c 4 /usr/bin/su; echo; head -c 4 /bin/sh",
        );
        assert!(
            r.stdout().contains("ELF"),
            "[{}] /bin/sh is shown: {}",
            u.name,
            r.stderr()
        );
        assert_eq!(
            r.stdout().matches("ELF").count(),
            1,
            "[{}] ESCAPE: --hide /bin/su left su readable:\n{}",
            u.name,
            r.stdout()
        );
    });
}

/// A program written into a memfd and executed gets round `noexec` (no folder holds it). A
/// sandbox started by root sets `vm.memfd_noexec = 2` in its pid namespace; the kernel lets
/// nobody else set it, so for a user `explain` says it is not covered.
#[test]
fn a_memfd_cannot_be_executed_under_noexec_when_root_starts_the_sandbox() {
    assert!(need("python3"));
    let script = "import os\nfd = os.memfd_create('x', 0)\nos.write(fd, open('/bin/echo', 'rb').read())\ntry:\n    os.execv('/proc/self/fd/%d' % fd, ['echo', 'RAN'])\nexcept OSError as e:\n    print('refused', e.errno)\n";
    each_user(|u| {
        // Outside, it runs.
        let o = host_cmd(u, "python3")
            .args(["-c", script])
            .output()
            .unwrap();
        assert_eq!(text(&o).trim(), "RAN", "proof: {}", text(&o));
        let d = TempDir::new(u);
        let p = profile_file(
            u,
            &d,
            "nx",
            "include = [\"default\"]\n[filesystem]\nnoexec = [\"/tmp\"]\n",
        );
        let r = sh(
            u,
            &["--profile", &p],
            &format!("python3 -c \"{}\"", script.replace('"', "\\\"")),
        );
        let explain = Jail::new(u)
            .args(["explain", "--profile", &p, "--", "python3"])
            .output();
        if u.is_root() {
            assert!(
                r.stdout().starts_with("refused"),
                "[{}] ESCAPE: a memfd is executed under noexec:\n{}{}",
                u.name,
                r.stdout(),
                r.stderr()
            );
            assert!(
                explain.stdout().contains("vm.memfd_noexec = 2"),
                "{}",
                explain.stdout()
            );
        } else {
            assert!(
                explain
                    .stdout()
                    .contains("not covered: a program written into a memfd"),
                "[{}] explain must say what noexec does not cover:\n{}",
                u.name,
                explain.stdout()
            );
        }
    });
}

#[test]
fn a_hide_glob_in_a_folder_one_cannot_list_hides_the_folder() {
    each_user(|u| {
        let d = TempDir::new(u);
        let locked = d.join("locked");
        std::fs::create_dir(&locked).unwrap();
        std::fs::write(locked.join("a.key"), "KEY\n").unwrap();
        std::fs::set_permissions(locked.join("a.key"), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        // Enterable, not listable (for anyone but its owner, root when the tests run as root).
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o711)).unwrap();
        let key = locked.join("a.key");
        assert!(host_sh(u, &format!("cat {}", key.display())).contains("KEY"));
        let pattern = format!("{}/*.key", locked.display());
        let r = sh(
            u,
            &["--ro-bind", d.to_str().unwrap(), "--hide", &pattern],
            &format!(
                "ls {} >/dev/null && echo SHOWN; cat {}",
                d.display(),
                key.display()
            ),
        );
        assert!(r.stdout().contains("SHOWN"), "[{}] {}", u.name, r.stderr());
        assert!(
            !r.stdout().contains("KEY"),
            "[{}] ESCAPE: --hide {pattern} left the key readable",
            u.name
        );
    });
}
