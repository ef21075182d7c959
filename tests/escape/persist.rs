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
    ".bash_aliases",
    ".cargo/env",
    ".local/lib/python3.11/site-packages/evil.pth",
    ".lesskey",
    ".selected_editor",
    ".curlrc",
    ".bash_completion",
    "bin/evil",
    ".config/firejail/nano.local",
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
        // The account's home in the password database (the tests give `u` a fresh one).
        let pw = Command::new("getent")
            .args(["passwd", &u.uid.to_string()])
            .output()
            .unwrap();
        let line = String::from_utf8_lossy(&pw.stdout).into_owned();
        let real = &PathBuf::from(line.trim().split(':').nth(5).unwrap_or("/nonexistent"));
        assert!(
            real.is_dir(),
            "no home for {} in the password database",
            u.name
        );
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

/// The plants must fail whichever way the home is made writable: an overlay whose upper layer
/// is the home, or a tmpfs at the home with a bind of it mounted on top.
#[test]
fn other_writable_mounts_of_the_home_are_guarded_too() {
    each_user(|u| {
        let home = fresh_home(u);
        let lower = fresh_home(u);
        let work = fresh_home(u);
        let view = fresh_home(u);
        let h = home.display();
        let cases = [
            (
                "overlay-upper",
                format!(
                    "include = [\"default\"]\n[[filesystem.mount]]\ntype = \"overlay\"\ntarget = \"{}\"\nlower = [\"{}\"]\nupper = \"{h}\"\nwork = \"{}\"\n",
                    view.display(),
                    lower.display(),
                    work.display()
                ),
                view.clone(),
            ),
            (
                "tmpfs-then-bind",
                format!(
                    "include = [\"default\"]\n[[filesystem.mount]]\ntype = \"tmpfs\"\ntarget = \"{h}\"\n[[filesystem.mount]]\ntype = \"bind\"\nsource = \"{h}\"\ntarget = \"{h}\"\n"
                ),
                home.clone(),
            ),
        ];
        for (name, toml, seen_at) in cases {
            let script = format!(
                "cd '{}' && for f in .bash_profile .bash_aliases .config/autostart/x.desktop; do (mkdir -p $(dirname $f); echo planted > $f) 2>/dev/null && echo PLANTED $f; done; true",
                seen_at.display()
            );
            let r = Jail::new(u)
                .env("HOME", &home)
                .profile("m", &toml)
                .args(["run", "--profile", "m", "--", "/bin/sh", "-c", &script])
                .output();
            let planted = [
                ".bash_profile",
                ".bash_aliases",
                ".config/autostart/x.desktop",
            ]
            .iter()
            .filter(|p| home.join(p).exists())
            .count();
            assert!(
                planted == 0 && !r.stdout().contains("PLANTED"),
                "[{}] ESCAPE ({name}): {}{}",
                u.name,
                r.stdout(),
                r.stderr()
            );
        }
        for d in [home, lower, work, view] {
            let _ = std::fs::remove_dir_all(d);
        }
    });
}

/// A repository's `.git` cannot be renamed away, nor redirected with `commondir`.
#[test]
fn git_metadata_cannot_be_swapped_or_redirected() {
    assert!(need("git"));
    each_user(|u| {
        let repo = tempdir(u);
        let o = host_cmd(u, "git")
            .args(["init", "-q"])
            .arg(&repo)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
        let attack = "mv .git .git-old && cp -a .git-old .git && echo RENAMED; mkdir -p .git/evil && echo evil > .git/commondir && echo COMMONDIR; echo ok > tracked && echo WORK-OK";
        let rp = repo.to_string_lossy().into_owned();
        let r = Jail::new(u)
            .args([
                "run", "--chdir", &rp, "--bind", &rp, "--", "/bin/sh", "-c", attack,
            ])
            .output();
        assert!(
            r.stdout().contains("WORK-OK"),
            "[{}] {}",
            u.name,
            r.stderr()
        );
        assert!(
            !r.stdout().contains("RENAMED") && !r.stdout().contains("COMMONDIR"),
            "[{}] ESCAPE: {}",
            u.name,
            r.stdout()
        );
        assert!(repo.join(".git/HEAD").exists() && !repo.join(".git/commondir").exists());
        let _ = std::fs::remove_dir_all(&repo);
    });
}

/// A protected file inside a writable grant cannot be replaced by renaming a folder above it
/// (the read-only mount travels with the folder, and a new file takes the old path): the
/// stow-style `~/.bash_aliases -> dotfiles/bash/.bash_aliases`, a `ro` file and a `hide` in a
/// writable project folder.
#[test]
fn protected_paths_cannot_be_moved_away_by_renaming_a_folder_above() {
    each_user(|u| {
        let home = fresh_home(u);
        let _rm_home = TempDir(home.clone());
        let dot = home.join("dotfiles/bash");
        std::fs::create_dir_all(&dot).unwrap();
        write_file(u, &dot, ".bash_aliases", "# aliases\n");
        std::os::unix::fs::symlink("dotfiles/bash/.bash_aliases", home.join(".bash_aliases"))
            .unwrap();
        let proj = home.join("work/proj/conf");
        std::fs::create_dir_all(&proj).unwrap();
        write_file(u, &proj, "settings", "original\n");
        write_file(u, &proj, "secret", "KEY\n");
        if euid() == 0 {
            for p in [
                home.join("dotfiles"),
                dot.clone(),
                home.join(".bash_aliases"),
                home.join("work/proj"),
                proj.clone(),
            ] {
                let _ = std::os::unix::fs::lchown(&p, Some(u.uid), Some(u.gid));
            }
        }
        let h = home.display();
        let attack = format!(
            "mv {h}/dotfiles/bash {h}/dotfiles/bash2 && mkdir {h}/dotfiles/bash && echo 'echo PWNED' > {h}/dotfiles/bash/.bash_aliases && echo ALIASES; \
             mv {h}/dotfiles {h}/dotfiles2 && echo DOTFILES; \
             mv {h}/work/proj/conf {h}/work/proj/conf2 && mkdir {h}/work/proj/conf && echo evil > {h}/work/proj/conf/settings && echo SETTINGS; \
             cat {h}/work/proj/conf2/secret {h}/work/proj/conf/secret 2>/dev/null; echo WORK-OK"
        );
        // The proof: outside, every move works (on a copy).
        let proof = fresh_home(u);
        let _rm_proof = TempDir(proof.clone());
        let o = host_cmd(u, "/bin/sh")
            .args([
                "-c",
                &format!(
                    "cp -a {h}/. {}/ && {}",
                    proof.display(),
                    attack.replace(&h.to_string(), &proof.display().to_string())
                ),
            ])
            .output()
            .unwrap();
        for w in ["ALIASES", "DOTFILES", "SETTINGS"] {
            assert!(text(&o).contains(w), "proof failed ({w}): {}", text(&o));
        }
        let _ = std::fs::remove_dir_all(&proof);
        let proj_s = home.join("work/proj").display().to_string();
        let toml = format!(
            "include = [\"default\"]\n[filesystem]\ntmpfs = [\"!~\"]\nrw = [\"~\"]\nro = [\"{proj_s}/conf/settings\"]\nhide = [\"{proj_s}/conf/secret\"]\n"
        );
        let r = Jail::new(u)
            .env("HOME", &home)
            .profile("rwhome2", &toml)
            .args([
                "run",
                "--profile",
                "rwhome2",
                "--",
                "/bin/sh",
                "-c",
                &attack,
            ])
            .output();
        assert!(
            r.stdout().contains("WORK-OK"),
            "[{}] {}{}",
            u.name,
            r.stdout(),
            r.stderr()
        );
        for w in ["ALIASES", "DOTFILES", "SETTINGS", "KEY"] {
            assert!(
                !r.stdout().contains(w),
                "[{}] ESCAPE: {w}: a protected path was moved away from inside:\n{}{}",
                u.name,
                r.stdout(),
                r.stderr()
            );
        }
        assert_eq!(
            std::fs::read_to_string(dot.join(".bash_aliases")).unwrap(),
            "# aliases\n"
        );
        assert_eq!(
            std::fs::read_to_string(proj.join("settings")).unwrap(),
            "original\n"
        );
        let _ = std::fs::remove_dir_all(&home);
    });
}

/// A symlinked dotfile or policy folder (GNU stow: `~/.config/jail -> ../dotfiles/jail`)
/// cannot be deleted from inside: the next run would lack what it held (a `.local`
/// hardening, a start-up file).
#[test]
fn symlinked_policy_files_cannot_be_deleted() {
    each_user(|u| {
        let home = fresh_home(u);
        let _rm_home = TempDir(home.clone());
        let dot = home.join("dotfiles");
        std::fs::create_dir_all(dot.join("jail/profiles")).unwrap();
        write_file(u, &dot, "bashrc", "# bashrc\n");
        std::fs::create_dir_all(home.join(".config")).unwrap();
        std::fs::remove_file(home.join(".bashrc")).unwrap();
        std::os::unix::fs::symlink("dotfiles/bashrc", home.join(".bashrc")).unwrap();
        std::os::unix::fs::symlink("../dotfiles/jail", home.join(".config/jail")).unwrap();
        if euid() == 0 {
            for p in [
                dot.clone(),
                dot.join("jail"),
                dot.join("jail/profiles"),
                home.join(".config"),
                home.join(".bashrc"),
                home.join(".config/jail"),
            ] {
                let _ = std::os::unix::fs::lchown(&p, Some(u.uid), Some(u.gid));
            }
        }
        let h = home.display();
        let attack = format!(
            "rm {h}/.config/jail && echo RM-JAIL; rm {h}/.bashrc && echo RM-BASHRC; echo ok > {h}/work/out && echo WORK-OK"
        );
        // The proof: outside, both links can be deleted (on a copy).
        let proof = fresh_home(u);
        let _rm_proof = TempDir(proof.clone());
        let o = host_cmd(u, "/bin/sh")
            .args([
                "-c",
                &format!(
                    "cp -a {h}/. {}/ && {}",
                    proof.display(),
                    attack.replace(&h.to_string(), &proof.display().to_string())
                ),
            ])
            .output()
            .unwrap();
        for w in ["RM-JAIL", "RM-BASHRC"] {
            assert!(text(&o).contains(w), "proof failed ({w}): {}", text(&o));
        }
        let _ = std::fs::remove_dir_all(&proof);
        let toml = "include = [\"default\"]\n[filesystem]\ntmpfs = [\"!~\"]\nrw = [\"~\"]\n";
        let r = Jail::new(u)
            .env("HOME", &home)
            .profile("rwhome3", toml)
            .args([
                "run",
                "--profile",
                "rwhome3",
                "--",
                "/bin/sh",
                "-c",
                &attack,
            ])
            .output();
        assert!(
            r.stdout().contains("WORK-OK"),
            "[{}] {}{}",
            u.name,
            r.stdout(),
            r.stderr()
        );
        for w in ["RM-JAIL", "RM-BASHRC"] {
            assert!(
                !r.stdout().contains(w),
                "[{}] ESCAPE: {w}: a symlinked policy file was deleted from inside",
                u.name
            );
        }
        assert!(home.join(".config/jail").symlink_metadata().is_ok());
        assert!(home.join(".bashrc").symlink_metadata().is_ok());
        let _ = std::fs::remove_dir_all(&home);
    });
}

/// With `repositories = "commit"` (the shipped `git` profile) git commits inside, and still
/// nothing that steers git can be changed: its config, hooks and info stay read-only, `.git`
/// cannot be renamed away, and a `commondir` the sandbox makes is moved aside when it ends.
#[test]
fn a_committing_repository_keeps_what_steers_git() {
    assert!(need("git"));
    each_user(|u| {
        let repo = tempdir(u);
        let o = host_cmd(u, "git")
            .args(["init", "-q"])
            .arg(&repo)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
        let attack = "echo '[core]' >> .git/config && echo CONFIG; echo evil > .git/hooks/post-checkout && echo HOOK; echo x >> .git/info/exclude && echo INFO; mv .git .git-old && echo RENAMED; rm -rf .git/hooks && echo RMHOOKS; echo a > f && git add f && git -c user.name=t -c user.email=t@t commit -q -m inside && echo COMMITTED; echo /tmp/evil > .git/commondir";
        // The proof: outside, each of these works.
        let scratch = tempdir(u);
        assert!(host_cmd(u, "git")
            .args(["init", "-q"])
            .arg(&scratch)
            .status()
            .unwrap()
            .success());
        let o = host_cmd(u, "/bin/sh")
            .current_dir(&scratch)
            .args(["-c", attack])
            .output()
            .unwrap();
        for w in ["CONFIG", "HOOK", "INFO", "RENAMED"] {
            assert!(text(&o).contains(w), "proof failed ({w}): {}", text(&o));
        }
        let _ = std::fs::remove_dir_all(&scratch);
        let before = std::fs::read_to_string(repo.join(".git/config")).unwrap();
        let rp = repo.to_string_lossy().into_owned();
        let r = Jail::new(u)
            .args([
                "run",
                "--profile",
                "git",
                "--chdir",
                &rp,
                "--bind",
                &rp,
                "--",
                "/bin/sh",
                "-c",
                attack,
            ])
            .output();
        assert!(
            r.stdout().contains("COMMITTED"),
            "[{}] git cannot commit: {}{}",
            u.name,
            r.stdout(),
            r.stderr()
        );
        for w in ["CONFIG", "HOOK", "INFO", "RENAMED", "RMHOOKS"] {
            assert!(
                !r.stdout().contains(w),
                "[{}] ESCAPE: {w} from inside a committing repository:\n{}",
                u.name,
                r.stdout()
            );
        }
        assert_eq!(
            std::fs::read_to_string(repo.join(".git/config")).unwrap(),
            before
        );
        assert!(!repo.join(".git/hooks/post-checkout").exists());
        // The commit is on the host; the commondir the sandbox made is not where git looks.
        let log = host_cmd(u, "git")
            .current_dir(&repo)
            .args(["log", "--oneline"])
            .output()
            .unwrap();
        assert!(text(&log).contains("inside"), "{}", text(&log));
        assert!(
            !repo.join(".git/commondir").exists(),
            "[{}] ESCAPE: .git/commondir left",
            u.name
        );
        assert!(repo.join(".git/commondir.jail-refused").exists());
        assert!(r.stderr().contains("commondir"), "{}", r.stderr());
        let _ = std::fs::remove_dir_all(&repo);
    });
}

/// `user-dirs.dirs` steers the `${DOWNLOADS}` grant of every later sandbox: it is protected,
/// and a value outside an ordinary folder of the home is ignored.
#[test]
fn downloads_folder_cannot_be_redirected() {
    each_user(|u| {
        let home = fresh_home(u);
        std::fs::create_dir_all(home.join(".config")).unwrap();
        std::fs::create_dir_all(home.join(".gnupg")).unwrap();
        if euid() == 0 {
            for d in [".config", ".gnupg"] {
                std::os::unix::fs::chown(home.join(d), Some(u.uid), Some(u.gid)).unwrap();
            }
        }
        let toml = "include = [\"default\"]\n[filesystem]\nrw = [\"~/.config\"]\n";
        let r = Jail::new(u)
            .env("HOME", &home)
            .profile("cfg", toml)
            .args([
                "run", "--profile", "cfg", "--", "/bin/sh", "-c",
                "printf 'XDG_DOWNLOAD_DIR=\"$HOME/.gnupg\"\\n' > ~/.config/user-dirs.dirs && echo WROTE",
            ])
            .output();
        assert!(
            !r.stdout().contains("WROTE"),
            "[{}] ESCAPE: user-dirs.dirs written: {}",
            u.name,
            r.stdout()
        );
        // Even when the file says so (written outside), ${DOWNLOADS} is not ~/.gnupg.
        write_file(
            u,
            &home.join(".config"),
            "user-dirs.dirs",
            "XDG_DOWNLOAD_DIR=\"$HOME/.gnupg\"\n",
        );
        let toml = "include = [\"default\"]\n[filesystem]\nrw = [\"?${DOWNLOADS}\"]\n";
        let r = Jail::new(u)
            .env("HOME", &home)
            .profile("dl", toml)
            .args(["explain", "--profile", "dl", "--", "/bin/true"])
            .output();
        assert!(
            !r.stdout().contains(".gnupg: bind read-write"),
            "[{}] ESCAPE: ${{DOWNLOADS}} points at ~/.gnupg:\n{}",
            u.name,
            r.stdout()
        );
        let _ = std::fs::remove_dir_all(&home);
    });
}

/// Started in a system folder, the default profile does not make it writable.
#[test]
fn current_folder_in_a_system_folder_is_not_granted() {
    each_user(|u| {
        let r = Jail::new(u).args(["explain", "--", "/bin/true"]).output();
        assert!(
            r.stdout().contains("bind read-write"),
            "the test folder itself is granted: {}",
            r.stdout()
        );
        let mut c = Jail::new(u);
        c.cmd.current_dir("/etc");
        let r = c.args(["explain", "--", "/bin/true"]).output();
        assert!(
            !r.stdout().contains("/etc: bind read-write"),
            "[{}] /etc granted writable:\n{}",
            u.name,
            r.stdout()
        );
    });
}

/// A profile another user wrote is never obeyed (`sudo -E` keeps the caller's
/// `XDG_CONFIG_HOME`): root would otherwise run with whatever that user's `default.toml` grants.
#[test]
fn profiles_of_other_users_are_not_obeyed() {
    let (Some(other), true) = (unprivileged(), euid() == 0) else {
        eprintln!("SKIPPED: needs root and JAIL_TEST_USER");
        return;
    };
    let root = users().into_iter().find(|u| u.is_root()).unwrap();
    let cfg = tempdir(&other);
    write_file(
        &other,
        &cfg.join("jail/profiles"),
        "default.toml",
        "include = [\"base\"]\n[filesystem]\nrw = [\"/etc\"]\n",
    );
    // The proof: the profile is a valid one that would grant /etc writable.
    let file = cfg
        .join("jail/profiles/default.toml")
        .to_string_lossy()
        .into_owned();
    let r = Jail::new(&other)
        .env("XDG_CONFIG_HOME", &cfg)
        .args(["explain", "--profile", &file, "--", "/bin/true"])
        .output();
    assert!(
        r.stdout().contains("/etc: bind read-write"),
        "proof failed: {}{}",
        r.stdout(),
        r.stderr()
    );
    let mut j = Jail::new(&root).env("XDG_CONFIG_HOME", &cfg);
    j.cmd.env_remove("JAIL_PROFILE_PATH");
    let r = j.args(["explain", "--", "/bin/true"]).output();
    assert!(
        !r.stdout().contains("/etc: bind read-write"),
        "ESCAPE: root obeyed a profile of {}:\n{}",
        other.name,
        r.stdout()
    );
    assert!(
        r.stderr().contains("neither you nor root"),
        "{}",
        r.stderr()
    );
}

/// A writable grant inside a policy folder is that folder's content; `[[filesystem.mount]]`
/// files, folders and symlinks are never made in the host's folder; an overlay may not copy
/// its lower layers up into a home.
#[test]
fn grants_inside_policy_folders_and_host_writing_mounts_are_refused() {
    each_user(|u| {
        let home = fresh_home(u);
        let units = home.join(".config/systemd/user");
        std::fs::create_dir_all(&units).unwrap();
        let mut d = Some(units.as_path());
        while let Some(p) = d.filter(|p| p.starts_with(&home)) {
            if euid() == 0 {
                std::os::unix::fs::chown(p, Some(u.uid), Some(u.gid)).unwrap();
            }
            d = p.parent();
        }
        // The proof: outside, the user writes a unit there (it runs at the next login).
        let o = host_cmd(u, "/bin/sh")
            .args([
                "-c",
                &format!("echo x > '{}/proof.service' && echo WROTE", units.display()),
            ])
            .output()
            .unwrap();
        assert!(text(&o).contains("WROTE"), "proof failed: {}", text(&o));
        let _ = std::fs::remove_file(units.join("proof.service"));
        let up = units.to_string_lossy().into_owned();
        let r = Jail::new(u)
            .env("HOME", &home)
            .args([
                "run",
                "--chdir",
                &up,
                "--bind",
                &up,
                "--",
                "/bin/sh",
                "-c",
                "echo '[Service]' > evil.service && echo PLANTED; true",
            ])
            .output();
        assert!(
            !r.stdout().contains("PLANTED") && !units.join("evil.service").exists(),
            "[{}] ESCAPE: a unit was planted through a grant inside ~/.config/systemd: {}{}",
            u.name,
            r.stdout(),
            r.stderr()
        );
        let h = home.display();
        for (name, toml) in [
            (
                "file-mount",
                format!("include = [\"default\"]\n[filesystem]\ntmpfs = [\"!~\"]\nrw = [\"~\"]\n[[filesystem.mount]]\ntype = \"file\"\ntarget = \"{h}/.bashrc\"\ncontent = \"evil\"\n"),
            ),
            (
                "overlay-upper-home",
                format!("include = [\"default\"]\n[[filesystem.mount]]\ntype = \"overlay\"\ntarget = \"/mnt\"\nlower = [\"/usr/share/doc\"]\nupper = \"{h}\"\nwork = \"/var/tmp\"\n"),
            ),
        ] {
            let r = Jail::new(u)
                .env("HOME", &home)
                .profile("m", &toml)
                .args(["run", "--profile", "m", "--", "/bin/true"])
                .output();
            r.expect_code(125);
            assert_eq!(
                std::fs::read_to_string(home.join(".bashrc")).unwrap(),
                "# bashrc\n",
                "[{}] ESCAPE ({name}): ~/.bashrc changed",
                u.name
            );
        }
        let _ = std::fs::remove_dir_all(&home);
    });
}
