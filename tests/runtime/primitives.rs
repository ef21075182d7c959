//! The primitives firejail's profiles need (issue 18): globs in path lists, `noexec`, XDG
//! user folders, address families, memory-deny-write-execute, a random machine-id, i386.
use super::*;
use std::os::unix::fs::PermissionsExt;

#[test]
fn globs_grant_and_hide_what_they_match() {
    each_user(|u| {
        let d = tempdir(u);
        for f in [
            "a.conf",
            "b.conf",
            ".c.conf",
            "notes.txt",
            "p1/lock",
            "p2/lock",
            "p2/data",
        ] {
            write_file(u, &d, f, &format!("{f}\n"));
        }
        // Grants: `*.conf` shows the two .conf files and nothing else (no dotfile).
        let r = sh(
            u,
            &["--ro-bind", &format!("{}/*.conf", s(&d))],
            &format!("cd {} && ls -A", s(&d)),
        );
        r.ok();
        assert_eq!(
            r.stdout(),
            "a.conf\nb.conf\n",
            "[{}] {}",
            u.name,
            r.stderr()
        );
        // Hide: every profile's lock is unreadable, the rest of the folder readable.
        let script = format!(
            "cd {} && cat p2/data; for f in p1/lock p2/lock; do cat $f || echo DENIED; done",
            s(&d)
        );
        let r = sh(u, &["--ro-bind", &s(&d)], &script);
        r.ok();
        assert!(
            r.stdout().contains("p1/lock"),
            "[{}] without the hide: {}",
            u.name,
            r.stdout()
        );
        let r = sh(
            u,
            &["--ro-bind", &s(&d), "--hide", &format!("{}/*/lock", s(&d))],
            &script,
        );
        r.ok();
        assert_eq!(
            r.stdout(),
            "p2/data\nDENIED\nDENIED\n",
            "[{}] {}",
            u.name,
            r.stderr()
        );
        // A required grant that matches nothing is refused, naming the pattern.
        let r = sh(u, &["--ro-bind", &format!("{}/*.nope", s(&d))], "true");
        r.expect_code(125);
        assert!(
            r.stderr().contains("*.nope") && r.stderr().contains("matches nothing"),
            "{}",
            r.stderr()
        );
    });
}

#[test]
fn noexec_grants_and_tmp_refuse_exec_with_eacces() {
    each_user(|u| {
        let d = tempdir(u);
        let script = write_file(u, &d, "s.sh", "#!/bin/sh\necho script-ran\n");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let run = |noexec: &str| {
            let prof = format!(
                "include = [\"default\"]\n[filesystem]\nrw = [\"{0}\"]\nnoexec = [{noexec}]\n",
                s(&d)
            );
            Jail::new(u)
                .profile("nx", &prof)
                .args(["run", "--profile", "nx", "--", "/bin/sh", "-c"])
                .args([format!(
                    "cp /bin/true {0}/bin; {0}/bin; echo bin=$?; {0}/s.sh; echo script=$?; \
                     cp /bin/true /tmp/t; /tmp/t; echo tmp=$?",
                    s(&d)
                )])
                .output()
        };
        // Without noexec the copied binary and the script run.
        let r = run("");
        r.ok();
        assert_eq!(
            r.stdout(),
            "bin=0\nscript-ran\nscript=0\ntmp=0\n",
            "[{}] {}",
            u.name,
            r.stderr()
        );
        // With it, exec is refused: EACCES ("Permission denied", the shell's 126).
        let r = run(&format!("\"{}\", \"/tmp\"", s(&d)));
        r.ok();
        assert_eq!(
            r.stdout(),
            "bin=126\nscript=126\ntmp=126\n",
            "[{}] {}",
            u.name,
            r.stderr()
        );
        assert!(r.stderr().contains("Permission denied"), "{}", r.stderr());
        // Reading and writing there still work, and system programs still run.
        let r = run(&format!("\"{}\"", s(&d)));
        r.ok();
        assert!(r.stdout().contains("tmp=0"), "{}", r.stdout());
    });
}

#[test]
fn xdg_user_folder_variables_follow_user_dirs_dirs() {
    each_user(|u| {
        let docs = u.home.join("Dokumente-xdg-test");
        let _clean = TempDir(docs.clone());
        let _clean_cfg = TempDir(u.home.join(".config/user-dirs.dirs"));
        write_file(u, &docs, "brief.txt", "Sehr geehrte\n");
        write_file(
            u,
            &u.home,
            ".config/user-dirs.dirs",
            "XDG_DOCUMENTS_DIR=\"$HOME/Dokumente-xdg-test\"\n",
        );
        let r = sh(
            u,
            &["--ro-bind", "${DOCUMENTS}"],
            &format!("cat {}/brief.txt", s(&docs)),
        );
        r.ok();
        assert_eq!(r.stdout(), "Sehr geehrte\n", "[{}] {}", u.name, r.stderr());
        // A folder the file does not name is the English default (absent here: refused).
        let r = sh(u, &["--ro-bind", "${MUSIC}"], "true");
        r.expect_code(125);
        assert!(
            r.stderr()
                .contains(&format!("{}/Music does not exist", s(&u.home))),
            "{}",
            r.stderr()
        );
    });
}

#[test]
fn families_unix_only_refuses_tcp_with_eafnosupport() {
    if !need("python3") {
        return;
    }
    each_user(|u| {
        let script = "import socket, errno\n\
            try:\n    socket.socket(socket.AF_INET, socket.SOCK_STREAM); print('tcp ok')\n\
            except OSError as e: print('tcp', errno.errorcode[e.errno])\n\
            socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); print('unix ok')\n";
        let run = |prof: &str| {
            Jail::new(u)
                .profile("fam", prof)
                .args(["run", "--profile", "fam", "--", "python3", "-c", script])
                .output()
        };
        let r = run("include = [\"default\"]\n");
        r.ok();
        assert_eq!(
            r.stdout(),
            "tcp ok\nunix ok\n",
            "[{}] {}",
            u.name,
            r.stderr()
        );
        let r = run("include = [\"default\"]\n[seccomp]\nfamilies = [\"unix\"]\n");
        r.ok();
        assert_eq!(
            r.stdout(),
            "tcp EAFNOSUPPORT\nunix ok\n",
            "[{}] {}",
            u.name,
            r.stderr()
        );
    });
}

#[test]
fn mdwe_refuses_a_writable_executable_mapping() {
    if !need("python3") {
        return;
    }
    each_user(|u| {
        let script = "import mmap\n\
            try:\n    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC); print('rwx ok')\n\
            except OSError as e: print('rwx refused', e.errno in (1, 13))\n\
            mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE); print('rw ok')\n";
        let run = |prof: &str| {
            Jail::new(u)
                .profile("mdwe", prof)
                .args(["run", "--profile", "mdwe", "--", "python3", "-c", script])
                .output()
        };
        let r = run("include = [\"default\"]\n");
        r.ok();
        assert_eq!(r.stdout(), "rwx ok\nrw ok\n", "[{}] {}", u.name, r.stderr());
        let r = run("include = [\"default\"]\n[process]\nmemory_deny_write_execute = true\n");
        r.ok();
        assert_eq!(
            r.stdout(),
            "rwx refused True\nrw ok\n",
            "[{}] {}",
            u.name,
            r.stderr()
        );
    });
}

#[test]
fn random_machine_id_is_fresh_for_each_sandbox() {
    each_user(|u| {
        let run = |prof: &str| {
            let r = Jail::new(u)
                .profile("mid", prof)
                .args([
                    "run",
                    "--profile",
                    "mid",
                    "--",
                    "/bin/cat",
                    "/etc/machine-id",
                ])
                .output();
            r.ok();
            r.stdout()
        };
        let random = "include = [\"default\"]\n[process]\nmachine_id = \"random\"\n";
        let (a, b) = (run(random), run(random));
        for id in [&a, &b] {
            assert!(
                id.len() == 33
                    && id.ends_with('\n')
                    && id[..32]
                        .chars()
                        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
                "[{}] not a machine id: {id:?}",
                u.name
            );
        }
        assert_ne!(a, b, "[{}] two sandboxes got the same id", u.name);
        // The host's own id (when it has one) shows without the key, and is neither of them.
        if let Ok(host_id) = std::fs::read_to_string("/etc/machine-id") {
            assert_eq!(run("include = [\"default\"]\n"), host_id);
            assert!(a != host_id && b != host_id);
        }
    });
}

/// `src` built with `gcc -m32 -static` into a world-readable folder of its own (removed with
/// the guard): the folder and the program. None (and a note) where gcc-multilib is missing;
/// under JAIL_TEST_STRICT that is a failure.
fn build_m32(tag: &str, src: &str) -> Option<(TempDir, PathBuf)> {
    if !cfg!(target_arch = "x86_64") || !need("gcc") {
        return None;
    }
    let build = std::env::temp_dir().join(format!("jail-test-{tag}-{}", std::process::id()));
    let guard = TempDir(build.clone());
    std::fs::create_dir_all(&build).unwrap();
    std::fs::write(build.join("p.c"), src).unwrap();
    let out = Command::new("gcc")
        .args(["-m32", "-static", "-o"])
        .arg(build.join("p32"))
        .arg(build.join("p.c"))
        .output()
        .unwrap();
    if !out.status.success() {
        if common::strict() {
            panic!(
                "gcc -m32 -static failed (gcc-multilib missing? .ci/run installs it): {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        eprintln!("SKIPPED: gcc -m32 -static does not work here (gcc-multilib)");
        return None;
    }
    std::fs::set_permissions(&build, std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = build.join("p32");
    Some((guard, bin))
}

/// A real 32-bit program (gcc -m32 -static): killed at its first call by default, runs with
/// `[seccomp] i386 = true`.
#[test]
fn a_32_bit_program_runs_only_with_i386() {
    let Some((build_dir, bin32)) = build_m32(
        "m32",
        "#include <stdio.h>\nint main(void) { printf(\"%zu-bit\\n\", sizeof(void *) * 8); return 0; }\n",
    ) else {
        return;
    };
    let build = build_dir.0.clone();
    each_user(|u| {
        let bin = s(&bin32);
        let run = |prof: &str| {
            Jail::new(u)
                .profile("m32", prof)
                .args([
                    "run",
                    "--profile",
                    "m32",
                    "--ro-bind",
                    &s(&build),
                    "--",
                    &bin,
                ])
                .output()
        };
        let r = run("include = [\"default\"]\n");
        assert_eq!(
            r.code(),
            128 + 31,
            "[{}] a 32-bit program was not killed: {}",
            u.name,
            r.stdout()
        );
        let r = run("include = [\"default\"]\n[seccomp]\ni386 = true\n");
        r.ok();
        assert_eq!(r.stdout(), "32-bit\n", "[{}] {}", u.name, r.stderr());
    });
}

/// With `[seccomp] i386 = true`, a name the profile denies holds for 32-bit programs too:
/// `chown` covers i386's `chown32` (what glibc calls there), `connect` covers
/// `socketcall(SYS_CONNECT, …)`. Outside, both reach the kernel.
#[test]
fn with_i386_a_denied_name_covers_its_32_bit_twin_and_socketcall() {
    let Some((build_dir, bin32)) = build_m32(
        "m32t",
        r#"#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
static const char *e(long r) { return r == 0 ? "ok" : strerror(errno); }
int main(int argc, char **argv) {
    (void)argc;
    printf("chown32 %s\n", e(syscall(SYS_chown32, argv[1], getuid(), getgid())));
    unsigned long args[3] = {999, 0, 0};
    printf("socketcall-connect %s\n", e(syscall(SYS_socketcall, 3, args)));
    printf("socketcall-accept %s\n", e(syscall(SYS_socketcall, 5, args)));
    return 0;
}
"#,
    ) else {
        return;
    };
    let build = build_dir.0.clone();
    each_user(|u| {
        let d = TempDir::new(u);
        let file = d.join("mine");
        std::fs::write(&file, "x").unwrap();
        std::os::unix::fs::chown(&file, Some(u.uid), Some(u.gid)).unwrap();
        let bin = s(&bin32);
        // Outside: chown32 of one's own file works, socketcall reaches the kernel (EBADF).
        let mut c = Command::new(&bin);
        c.arg(&file);
        if !u.is_root() {
            use std::os::unix::process::CommandExt;
            c.uid(u.uid).gid(u.gid);
        }
        let o = String::from_utf8_lossy(&c.output().unwrap().stdout).into_owned();
        assert!(o.contains("chown32 ok"), "proof: {o}");
        assert!(
            o.contains("socketcall-connect Bad file descriptor"),
            "proof: {o}"
        );
        assert!(
            o.contains("socketcall-accept Bad file descriptor"),
            "proof: {o}"
        );
        let r = Jail::new(u)
            .profile(
                "m32t",
                "include = [\"default\"]\n[seccomp]\ni386 = true\ndeny = [\"chown\", \"connect\", \"accept\"]\n",
            )
            .args([
                "run",
                "--profile",
                "m32t",
                "--ro-bind",
                &s(&build),
                "--bind",
                &s(&d),
                "--",
                &bin,
                &s(&file),
            ])
            .output();
        r.ok();
        assert!(
            r.stdout().contains("chown32 Operation not permitted"),
            "[{}] ESCAPE: a denied chown is done as chown32:\n{}",
            u.name,
            r.stdout()
        );
        assert!(
            r.stdout()
                .contains("socketcall-connect Operation not permitted"),
            "[{}] ESCAPE: a denied connect is done through socketcall:\n{}",
            u.name,
            r.stdout()
        );
        // i386 has no direct accept: only socketcall reaches it.
        assert!(
            r.stdout()
                .contains("socketcall-accept Operation not permitted"),
            "[{}] ESCAPE: a denied accept is done through socketcall:\n{}",
            u.name,
            r.stdout()
        );
    });
}
