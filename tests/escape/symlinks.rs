//! Class 2: symlinks planted in a bind source, at a mount target, in a target's parent, and a
//! persist folder swapped for a symlink between runs (bubblewrap / flatpak CVE-2024-42472 class).
use super::*;

/// A host folder of `u` with a secret in it (readable by `u` outside).
fn secret(u: &User) -> PathBuf {
    let d = tempdir(u);
    write_file(u, &d, "secret.txt", "TOP-SECRET-escape\n");
    d
}

fn run_profile(u: &User, toml: &str, script: &str) -> Run {
    let dir = tempdir(u);
    let p = profile_file(u, &dir, "sym", toml);
    Jail::new(u)
        .args([
            "run",
            "--chdir",
            "/",
            "--profile",
            &p,
            "--",
            "/bin/sh",
            "-c",
            script,
        ])
        .output()
}

#[track_caller]
fn not_exposed(u: &User, r: &Run) {
    assert!(
        r.code() == 125 || !r.stdout().contains("TOP-SECRET"),
        "[{}] ESCAPE: secret exposed (exit {}):\n{}\n{}",
        u.name,
        r.code(),
        r.stdout(),
        r.stderr()
    );
    assert!(
        !r.stdout().contains("TOP-SECRET"),
        "[{}] ESCAPE: secret exposed:\n{}",
        u.name,
        r.stdout()
    );
}

fn plant(u: &User, link: &Path, to: &Path) {
    std::os::unix::fs::symlink(to, link).unwrap();
    if euid() == 0 {
        std::os::unix::fs::lchown(link, Some(u.uid), Some(u.gid)).unwrap();
    }
}

#[test]
fn symlink_at_mount_target() {
    each_user(|u| {
        let s = secret(u);
        let d = tempdir(u);
        plant(u, &d.join("x"), &s);
        assert!(std::fs::read_to_string(d.join("x/secret.txt"))
            .unwrap()
            .contains("TOP-SECRET"));
        for kind in ["ro", "rw", "tmpfs"] {
            let toml = format!(
                "include = [\"base\"]\n[filesystem]\nrw = [\"{d}\"]\n{kind} = [\"{d}/x\"]\n",
                d = d.display()
            );
            let r = run_profile(
                u,
                &toml,
                &format!(
                    "cat {}/x/secret.txt; echo pwn > {}/x/new.txt",
                    d.display(),
                    d.display()
                ),
            );
            not_exposed(u, &r);
            assert!(
                !s.join("new.txt").exists(),
                "[{}] ESCAPE: wrote through the symlink ({kind})",
                u.name
            );
        }
    });
}

#[test]
fn symlink_in_target_parent() {
    each_user(|u| {
        let s = secret(u);
        std::fs::create_dir(s.join("x")).unwrap();
        write_file(u, &s, "x/secret.txt", "TOP-SECRET-escape\n");
        let d = tempdir(u);
        plant(u, &d.join("p"), &s);
        let toml = format!(
            "include = [\"base\"]\n[filesystem]\nrw = [\"{d}\"]\nro = [\"{d}/p/x\"]\n",
            d = d.display()
        );
        let r = run_profile(
            u,
            &toml,
            &format!("cat {d}/p/x/secret.txt {d}/p/secret.txt", d = d.display()),
        );
        not_exposed(u, &r);
    });
}

#[test]
fn persist_folder_swapped_between_runs() {
    each_user(|u| {
        let s = secret(u);
        let d = tempdir(u);
        std::fs::create_dir(d.join("data")).unwrap();
        if euid() == 0 {
            std::os::unix::fs::chown(d.join("data"), Some(u.uid), Some(u.gid)).unwrap();
        }
        let toml = format!(
            "include = [\"base\"]\n[filesystem]\nrw = [\"{d}\", \"{d}/data\"]\n",
            d = d.display()
        );
        // Run 1 (an app granted only D): it replaces the persist folder with a symlink.
        let toml1 = format!(
            "include = [\"base\"]\n[filesystem]\nrw = [\"{d}\"]\n",
            d = d.display()
        );
        let r = run_profile(
            u,
            &toml1,
            &format!(
                "rm -rf {d}/data && ln -s {s} {d}/data && echo SWAPPED",
                d = d.display(),
                s = s.display()
            ),
        );
        assert!(
            r.stdout().contains("SWAPPED"),
            "run 1 could not swap: {}{}",
            r.stdout(),
            r.stderr()
        );
        // Proof: on the host the swapped folder now leads to the secret.
        assert!(std::fs::read_to_string(d.join("data/secret.txt"))
            .unwrap()
            .contains("TOP-SECRET"));
        let r = run_profile(
            u,
            &toml,
            &format!(
                "cat {d}/data/secret.txt; echo pwn > {d}/data/new.txt",
                d = d.display()
            ),
        );
        not_exposed(u, &r);
        assert!(
            !s.join("new.txt").exists(),
            "[{}] ESCAPE: wrote into the secret folder",
            u.name
        );
    });
}
