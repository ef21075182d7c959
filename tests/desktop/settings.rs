//! Settings that stay (issue 16): `"+path"` grants create the app's folders on its first run,
//! never through a symlink, and `home = "private"` keeps a home of the app's own.
use super::browser::{loopback_page, user_dir};
use super::*;
use std::os::unix::fs::MetadataExt;

/// A fresh, empty home for `u` beside its test home (removed with it at exit): nothing in it,
/// not even `.local`, so what the runs create is all there is.
fn fresh_home(u: &User, tag: &str) -> PathBuf {
    let base = u.home.parent().unwrap().join(format!("{}-{tag}", u.name));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir(&base).unwrap();
    std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o700)).unwrap();
    if euid() == 0 {
        std::os::unix::fs::chown(&base, Some(u.uid), Some(u.gid)).unwrap();
    }
    base
}

/// A folder of the caller's, mode 0700, not a symlink.
fn assert_own_folder(u: &User, p: &Path) {
    let m = std::fs::symlink_metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    assert!(m.is_dir(), "{} is a folder", p.display());
    assert_eq!(m.uid(), u.uid, "{} is the user's", p.display());
    assert_eq!(m.mode() & 0o7777, 0o700, "{} is 0700", p.display());
}

/// Where Firefox keeps its profiles: `~/.mozilla/firefox` (before 147, or when that folder
/// exists) or `~/.config/mozilla/firefox` (XDG, newer ones), and the `Path=` lines of its
/// profiles.ini there (which profile folder it uses).
fn firefox_profiles(home: &Path) -> (PathBuf, Vec<String>) {
    for dir in [".mozilla/firefox", ".config/mozilla/firefox"] {
        let dir = home.join(dir);
        if let Ok(text) = std::fs::read_to_string(dir.join("profiles.ini")) {
            let paths = text
                .lines()
                .filter_map(|l| l.strip_prefix("Path=").map(str::to_string))
                .collect();
            return (dir, paths);
        }
    }
    (PathBuf::new(), vec![])
}

/// The packaged firefox-esr profile, no `.local`, a home without `~/.mozilla`: the first
/// headless screenshot creates it (0700, the user's), and the second run uses the same Firefox
/// profile folder, with what the first run wrote in it.
#[test]
fn firefox_esr_keeps_its_profile_from_the_first_run() {
    if !need("firefox-esr") {
        return;
    }
    let port = loopback_page("<html><body style='background:#00c'><h1>kept</h1></body></html>");
    each_user(|u| {
        let home = fresh_home(u, "firefox");
        let d = tempdir(u);
        let out = user_dir(u, &d, "out");
        let shoot = |n: u32| {
            let shot = out.join(format!("shot{n}.png"));
            let r = Jail::new(u)
                .env("HOME", &home)
                .args(["run", "--profile", "firefox-esr", "--bind"])
                .arg_path(&out)
                .args([
                    "--chdir",
                    "/",
                    "--",
                    "firefox-esr",
                    "--headless",
                    "--screenshot",
                ])
                .arg_path(&shot)
                .args([format!("http://127.0.0.1:{port}/")])
                .output();
            let png = std::fs::read(&shot).unwrap_or_else(|e| {
                panic!("[{}] run {n}: no screenshot ({e}):\n{}", u.name, r.stderr())
            });
            assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
        };
        assert!(!home.join(".mozilla").exists());
        shoot(1);
        assert_own_folder(u, &home.join(".mozilla"));
        assert_own_folder(u, &home.join(".cache/mozilla"));
        assert_own_folder(u, &home.join(".config/mozilla"));
        let first = firefox_profiles(&home);
        assert!(
            !first.1.is_empty(),
            "[{}] Firefox wrote its profiles.ini into a kept folder",
            u.name
        );
        // The profile in use holds the settings run 1 wrote.
        assert!(
            first
                .1
                .iter()
                .any(|p| first.0.join(p).join("prefs.js").exists()),
            "[{}] a prefs.js in {} after run 1",
            u.name,
            first.0.display()
        );
        shoot(2);
        assert_eq!(
            firefox_profiles(&home),
            first,
            "[{}] the second run uses the same Firefox profile",
            u.name
        );
    });
}

/// `"+path"` never creates through a symlink: a naive `mkdir -p` follows `~/.mozilla → elsewhere`
/// and creates there; jail refuses (exit 125, the symlink named) and creates nothing anywhere,
/// whether the symlink is the folder itself or one above it.
#[test]
fn a_plus_grant_never_creates_through_a_symlink() {
    each_user(|u| {
        let home = fresh_home(u, "symlink");
        let d = tempdir(u);
        let elsewhere = user_dir(u, &d, "elsewhere");
        std::os::unix::fs::symlink(&elsewhere, home.join(".mozilla")).unwrap();
        // The attack, outside jail: mkdir -p as the user goes through the symlink.
        let naive = as_user(u, "/bin/mkdir")
            .env("HOME", &home)
            .arg("-p")
            .arg(home.join(".mozilla/naive"))
            .status()
            .unwrap();
        assert!(naive.success());
        assert!(
            elsewhere.join("naive").is_dir(),
            "mkdir -p followed the symlink"
        );
        std::fs::remove_dir(elsewhere.join("naive")).unwrap();
        let run = |profile: &str, args: &[&str]| {
            Jail::new(u)
                .env("HOME", &home)
                .args(["run", "--profile", profile])
                .args(args)
                .args(["--", "/bin/true"])
                .output()
        };
        // The shipped profile (its own `+~/.mozilla`), and a folder below the symlink.
        let r = run("firefox-esr", &[]);
        r.expect_code(125);
        assert!(r.stderr().contains(".mozilla"), "{}", r.stderr());
        let r = Jail::new(u)
            .env("HOME", &home)
            .profile(
                "p",
                "include = [\"base\"]\n[filesystem]\nrw = [\"+~/.mozilla/firefox\"]\n",
            )
            .args(["run", "--profile", "p", "--", "/bin/true"])
            .output();
        r.expect_code(125);
        assert!(
            r.stderr()
                .contains("is a symlink: jail does not create folders through a symlink"),
            "{}",
            r.stderr()
        );
        assert_eq!(
            std::fs::read_dir(&elsewhere).unwrap().count(),
            0,
            "nothing created there"
        );
        assert!(
            !home.join(".cache").exists(),
            "nothing half-made before the refusal"
        );
    });
}

/// `home = "private"`: the home inside is `~/.local/share/jail/homes/p`, created 0700 and kept
/// between runs; the host's home is not seen; a grant into the home shows the host's folder on
/// top of it.
#[test]
fn a_private_home_is_kept_and_grants_show_on_top() {
    each_user(|u| {
        let home = fresh_home(u, "private");
        write_file(u, &home, "secret", "host only\n");
        let profile =
            "include = [\"base\"]\n[filesystem]\nhome = \"private\"\nrw = [\"+~/.data\"]\n";
        let run = |script: &str| {
            Jail::new(u)
                .env("HOME", &home)
                .profile("p", profile)
                .args(["run", "--profile", "p", "--", "/bin/sh", "-c", script])
                .output()
        };
        let r = run("cd && echo one > kept && echo two > .data/shared && pwd; cat secret");
        assert_ne!(r.code(), 0, "the host's ~/secret is not there");
        assert!(r.stderr().contains("secret"), "{}", r.stderr());
        assert_eq!(
            r.stdout().trim(),
            home.display().to_string(),
            "the home is $HOME inside"
        );
        let kept = home.join(".local/share/jail/homes/p");
        assert_own_folder(u, &kept);
        assert_eq!(std::fs::read_to_string(kept.join("kept")).unwrap(), "one\n");
        assert!(
            !home.join("kept").exists(),
            "written to the private home, not the host's"
        );
        assert_eq!(
            std::fs::read_to_string(home.join(".data/shared")).unwrap(),
            "two\n"
        );
        let r = run("cat ~/kept ~/.data/shared");
        r.ok();
        assert_eq!(r.stdout(), "one\ntwo\n", "kept from the first run");
    });
}
