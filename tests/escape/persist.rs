//! Class 16 (issue 12, finding 3): policy that outlives the sandbox. A sandbox with a writable
//! home must not create (or change) any file that a host program later runs or obeys as the
//! user: shell and X start-up files, autostart entries, systemd and D-Bus user services,
//! environment.d, ssh's rc and keys, git's configuration and hooks, `$PATH` folders in the
//! home, desktop entries and MIME associations — whether or not they exist yet, and for the
//! account's real home even when `$HOME` points elsewhere.
use super::*;

/// Files (relative to a home) that host programs run or obey; none exists in a fresh home.
const PLANTS: &[&str] = &[
    ".bash_profile",
    ".bash_login",
    ".zshrc",
    ".zprofile",
    ".zshenv",
    ".xprofile",
    ".xsession",
    ".xsessionrc",
    ".xinitrc",
    ".pam_environment",
    ".gitconfig",
    ".tmux.conf",
    ".config/autostart/evil.desktop",
    ".config/systemd/user/evil.service",
    ".config/environment.d/evil.conf",
    ".config/plasma-workspace/env/evil.sh",
    ".config/git/config",
    ".config/fish/config.fish",
    ".config/mimeapps.list",
    ".local/share/dbus-1/services/org.evil.service",
    ".local/share/applications/evil.desktop",
    ".local/share/systemd/user/evil.service",
    ".local/bin/evil",
    ".ssh/rc",
    ".ssh/authorized_keys",
    ".ssh/config",
    "mybin/evil",
];

fn plant_script(home: &Path) -> String {
    let mut s = String::new();
    for p in PLANTS {
        let f = home.join(p);
        let d = f.parent().unwrap();
        s.push_str(&format!(
            "(mkdir -p '{}' && echo planted > '{}') 2>/dev/null && echo PLANTED {p}; ",
            d.display(),
            f.display()
        ));
    }
    s.push_str("echo work > ~/work/out && echo WORK-OK; ");
    s.push_str("(echo x >> ~/.bashrc) 2>/dev/null && echo CHANGED .bashrc; true");
    s
}

/// A fresh home of `u` with a work folder and an existing `.bashrc`. Not under /tmp: the
/// sandbox's private /tmp is writable as a whole, so a home below it cannot be guarded (jail
/// refuses such a grant, see `home_inside_private_tmp_is_refused`).
fn fresh_home(u: &User) -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let h = PathBuf::from(format!(
        "/var/tmp/jail-test-home-{}-{}-{n}",
        u.name,
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&h);
    std::fs::create_dir_all(&h).unwrap();
    if euid() == 0 {
        std::os::unix::fs::chown(&h, Some(u.uid), Some(u.gid)).unwrap();
    }
    write_file(u, &h, ".bashrc", "# bashrc\n");
    std::fs::create_dir(h.join("work")).unwrap();
    if euid() == 0 {
        std::os::unix::fs::chown(h.join("work"), Some(u.uid), Some(u.gid)).unwrap();
    }
    h
}

fn planted_on_host(home: &Path) -> Vec<String> {
    PLANTS
        .iter()
        .filter(|p| {
            std::fs::read_to_string(home.join(p))
                .map(|t| t.contains("planted"))
                .unwrap_or(false)
        })
        .map(|p| p.to_string())
        .collect()
}

#[test]
fn writable_home_cannot_plant_startup_files() {
    each_user(|u| {
        // The proof: outside, the user plants every one of them in a home like this one.
        let proof = fresh_home(u);
        let o = host_cmd(u, "/bin/sh")
            .env("HOME", &proof)
            .args(["-c", &plant_script(&proof)])
            .output()
            .unwrap();
        assert_eq!(
            planted_on_host(&proof).len(),
            PLANTS.len(),
            "proof failed: {}",
            text(&o)
        );
        let _ = std::fs::remove_dir_all(&proof);

        let home = fresh_home(u);
        let toml = "include = [\"default\"]\n[filesystem]\ntmpfs = [\"!~\"]\nrw = [\"~\"]\n";
        let path = format!("/usr/bin:/bin:{}/mybin", home.display());
        let r = Jail::new(u)
            .env("HOME", &home)
            .env("PATH", &path)
            .profile("rwhome", toml)
            .args([
                "run",
                "--profile",
                "rwhome",
                "--",
                "/bin/sh",
                "-c",
                &plant_script(&home),
            ])
            .output();
        assert!(
            r.stdout().contains("WORK-OK"),
            "[{}] the writable home is not writable: {}{}",
            u.name,
            r.stdout(),
            r.stderr()
        );
        let planted = planted_on_host(&home);
        assert!(
            planted.is_empty()
                && !r.stdout().contains("PLANTED")
                && !r.stdout().contains("CHANGED"),
            "[{}] ESCAPE: planted from inside: {planted:?}\n{}",
            u.name,
            r.stdout()
        );
        // Nothing of the protection is left in the home: no placeholder folders or files.
        let left: Vec<String> = std::fs::read_dir(&home)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != ".bashrc" && n != "work" && n != ".keep")
            .collect();
        assert!(
            left.is_empty(),
            "[{}] jail left {left:?} in the home",
            u.name
        );
        let _ = std::fs::remove_dir_all(&home);
    });
}

#[test]
fn home_inside_private_tmp_is_refused() {
    each_user(|u| {
        let home = tempdir(u);
        let toml = "include = [\"default\"]\n[filesystem]\ntmpfs = [\"!~\"]\nrw = [\"~\"]\n";
        let r = Jail::new(u)
            .env("HOME", &home)
            .profile("tmphome", toml)
            .args(["run", "--profile", "tmphome", "--", "/bin/true"])
            .output();
        r.expect_code(125);
        assert!(r.stderr().contains("start-up files"), "{}", r.stderr());
        let _ = std::fs::remove_dir_all(&home);
    });
}

#[test]
fn real_home_protected_when_home_variable_points_elsewhere() {
    each_user(|u| {
        let fake = tempdir(u);
        let real = &u.home;
        let absent: Vec<&str> = [".bash_login", ".xsession", ".zprofile"]
            .into_iter()
            .filter(|f| !real.join(f).exists())
            .collect();
        if absent.is_empty() {
            eprintln!(
                "SKIPPED for {}: the real home has all the probe files",
                u.name
            );
            return;
        }
        // The proof: the user may create files in the real home.
        let probe = real.join(format!(".jail-proof-{}", std::process::id()));
        let o = host_cmd(u, "/bin/sh")
            .args([
                "-c",
                &format!("echo x > '{}' && echo MADE", probe.display()),
            ])
            .output()
            .unwrap();
        let _ = std::fs::remove_file(&probe);
        assert!(text(&o).contains("MADE"), "proof failed: {}", text(&o));
        let script: String = absent
            .iter()
            .map(|f| {
                format!(
                    "(echo planted > '{}/{f}') 2>/dev/null && echo PLANTED {f}; ",
                    real.display()
                )
            })
            .collect();
        let toml = format!(
            "include = [\"default\"]\n[filesystem]\nrw = [\"{}\"]\n",
            real.display()
        );
        let r = Jail::new(u)
            .env("HOME", &fake)
            .profile("realhome", &toml)
            .args([
                "run",
                "--profile",
                "realhome",
                "--",
                "/bin/sh",
                "-c",
                &script,
            ])
            .output();
        for f in &absent {
            let p = real.join(f);
            let planted = p.exists();
            if planted {
                let _ = std::fs::remove_file(&p);
            }
            assert!(
                !planted && !r.stdout().contains("PLANTED"),
                "[{}] ESCAPE: {} planted with HOME={}: {}{}",
                u.name,
                p.display(),
                fake.display(),
                r.stdout(),
                r.stderr()
            );
        }
        let _ = std::fs::remove_dir_all(&fake);
    });
}

#[test]
fn git_repository_in_writable_folder_keeps_its_config_and_hooks() {
    assert!(need("git"));
    each_user(|u| {
        let repo = tempdir(u);
        let o = host_cmd(u, "git")
            .args(["init", "-q"])
            .arg(&repo)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
        // The proof: outside, the user can add an fsmonitor program that git runs.
        let cfg = repo.join(".git/config");
        let before = std::fs::read_to_string(&cfg).unwrap();
        let script = "echo '[core]' >> .git/config && echo '  fsmonitor = /tmp/evil' >> .git/config && echo CONFIG; mkdir -p .git/hooks && echo evil > .git/hooks/post-checkout && echo HOOK; echo ok > tracked && echo WORK-OK";
        let o = host_cmd(u, "/bin/sh")
            .current_dir(&repo)
            .args(["-c", script])
            .output()
            .unwrap();
        assert!(
            text(&o).contains("CONFIG") && text(&o).contains("HOOK"),
            "proof failed: {}",
            text(&o)
        );
        std::fs::write(&cfg, &before).unwrap();
        let _ = std::fs::remove_dir_all(repo.join(".git/hooks"));
        let _ = std::fs::remove_file(repo.join("tracked"));
        let rp = repo.to_string_lossy().into_owned();
        let r = Jail::new(u)
            .args([
                "run", "--chdir", &rp, "--bind", &rp, "--", "/bin/sh", "-c", script,
            ])
            .output();
        assert!(
            r.stdout().contains("WORK-OK"),
            "[{}] {}",
            u.name,
            r.stderr()
        );
        assert!(
            !r.stdout().contains("CONFIG") && !r.stdout().contains("HOOK"),
            "[{}] ESCAPE: git config or hook written from inside: {}",
            u.name,
            r.stdout()
        );
        assert_eq!(std::fs::read_to_string(&cfg).unwrap(), before);
        let _ = std::fs::remove_dir_all(&repo);
    });
}
