//! jail desktop.
use super::*;

const FOX: &str = "[Desktop Entry]
Type=Application
Name=Fox
Name[de]=Fuchs
Comment=A test browser
TryExec=/usr/bin/grep
Exec=/usr/bin/grep -H NoNewPrivs /proc/self/status %U
Icon=fox-icon
DBusActivatable=true
Actions=new-window;

[Desktop Action new-window]
Name=New Window
Exec=/usr/bin/grep -H Seccomp: /proc/self/status %u
";

/// A fake system data folder holding fox.desktop, a profile folder with `fox`, and the user's
/// data home; returns (folder, data home, the system file).
fn desktop_env(u: &User) -> (PathBuf, PathBuf, PathBuf) {
    let d = tempdir(u);
    let sys = write_file(u, &d, "share/applications/fox.desktop", FOX);
    write_file(u, &d, "profiles/fox.toml", "include = [\"base\"]\n");
    let home = d.join("home-share");
    (d, home, sys)
}

fn desktop(u: &User, d: &Path, home: &Path, args: &[&str]) -> Run {
    Jail::new(u)
        .env("JAIL_PROFILE_PATH", d.join("profiles"))
        .env("XDG_DATA_DIRS", d.join("share"))
        .env("XDG_DATA_HOME", home)
        .args(["desktop"])
        .args(args)
        .output()
}

/// Runs an Exec= line of a wrapper as a menu would, with no file for the field codes.
fn launch(exec: &str, u: &User, d: &Path) -> String {
    let argv: Vec<&str> = exec
        .split_whitespace()
        .filter(|a| !a.starts_with('%'))
        .collect();
    let out = as_user(u, argv[0])
        .args(&argv[1..])
        .env("JAIL_PROFILE_PATH", d.join("profiles"))
        .current_dir("/")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

#[test]
fn desktop_install_wraps_exec_and_actions_through_jail() {
    each_user(|u| {
        let (d, home, sys) = desktop_env(u);
        let r = desktop(u, &d, &home, &["install", "fox"]);
        r.ok();
        let file = home.join("applications/fox.desktop");
        let text = std::fs::read_to_string(&file).unwrap();
        let jail = jail_bin().display().to_string();
        let main = format!(
            "Exec={jail} run --profile fox -- /usr/bin/grep -H NoNewPrivs /proc/self/status %U"
        );
        let action = format!(
            "Exec={jail} run --profile fox -- /usr/bin/grep -H Seccomp: /proc/self/status %u"
        );
        assert!(text.lines().any(|l| l == main), "{text}");
        assert!(text.lines().any(|l| l == action), "{text}");
        for kept in [
            "Icon=fox-icon",
            "Name[de]=Fuchs",
            "Actions=new-window;",
            "X-Jail-Wrapper=true",
        ] {
            assert!(text.lines().any(|l| l == kept), "{kept} missing:\n{text}");
        }
        assert!(!text.contains("TryExec"), "TryExec is not copied:\n{text}");
        assert!(
            !text.contains("DBusActivatable"),
            "a D-Bus launch would bypass jail:\n{text}"
        );
        assert_eq!(
            std::fs::read_to_string(&sys).unwrap(),
            FOX,
            "the system file is untouched"
        );

        // Launching it as a menu would runs the command in a sandbox; the original does not.
        let inside = launch(main.strip_prefix("Exec=").unwrap(), u, &d);
        assert!(inside.contains("NoNewPrivs:\t1"), "[{}] {inside}", u.name);
        let outside = launch("/usr/bin/grep -H NoNewPrivs /proc/self/status %U", u, &d);
        assert!(outside.contains("NoNewPrivs:\t0"), "{outside}");
        let act = launch(action.strip_prefix("Exec=").unwrap(), u, &d);
        assert!(act.contains("Seccomp:\t2"), "{act}");

        // Idempotent.
        desktop(u, &d, &home, &["install", "fox.desktop"]).ok();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
        let r = desktop(u, &d, &home, &["list"]);
        r.ok();
        assert!(
            r.stdout()
                .lines()
                .any(|l| l.starts_with("fox ") && l.contains(&file.display().to_string())),
            "{}",
            r.stdout()
        );

        desktop(u, &d, &home, &["remove", "fox"]).ok();
        assert!(!file.exists());
        let r = desktop(u, &d, &home, &["remove", "fox"]);
        r.ok();
        assert!(r.stdout().contains("no jail wrapper"), "{}", r.stdout());
        assert_eq!(std::fs::read_to_string(&sys).unwrap(), FOX);
    });
}

#[test]
fn desktop_touches_only_its_own_files() {
    each_user(|u| {
        let (d, home, _) = desktop_env(u);
        // The user's own fox.desktop: neither replaced nor removed.
        let own = write_file(
            u,
            &home,
            "applications/fox.desktop",
            "[Desktop Entry]\nName=Mine\nExec=mine\n",
        );
        let r = desktop(u, &d, &home, &["install", "fox"]);
        r.expect_code(1);
        assert!(
            r.stderr().contains("was not written by jail"),
            "{}",
            r.stderr()
        );
        let r = desktop(u, &d, &home, &["remove", "fox"]);
        r.expect_code(1);
        assert_eq!(
            std::fs::read_to_string(&own).unwrap(),
            "[Desktop Entry]\nName=Mine\nExec=mine\n"
        );
        assert!(!desktop(u, &d, &home, &["list"]).stdout().contains("fox"));

        // Unknown application, unknown profile, no names.
        let r = desktop(u, &d, &home, &["install", "nosuchapp"]);
        r.expect_code(1);
        assert!(
            r.stderr().starts_with("jail: error: nosuchapp: "),
            "{}",
            r.stderr()
        );
        write_file(
            u,
            &d,
            "share/applications/noprof.desktop",
            "[Desktop Entry]\nName=N\nExec=n\n",
        );
        let r = desktop(u, &d, &home, &["install", "noprof"]);
        r.expect_code(1);
        assert!(
            r.stderr().contains("no usable profile named \"noprof\""),
            "{}",
            r.stderr()
        );
        desktop(u, &d, &home, &["install"]).expect_code(2);
    });
}

/// The wrapper is written without following a symlink: neither a planted symlink at the
/// applications folder nor one at the wrapper's name makes jail write elsewhere.
#[test]
fn desktop_install_never_writes_through_a_symlink() {
    each_user(|u| {
        let (d, home, _) = desktop_env(u);
        let victim_dir = d.join("victim");
        let victim = write_file(u, &victim_dir, "fox.desktop", "VICTIM\n");
        // ~/.local/share/applications is a symlink to another folder.
        std::fs::create_dir_all(&home).unwrap();
        std::os::unix::fs::symlink(&victim_dir, home.join("applications")).unwrap();
        if euid() == 0 {
            std::os::unix::fs::lchown(home.join("applications"), Some(u.uid), Some(u.gid)).unwrap();
            std::os::unix::fs::chown(&home, Some(u.uid), Some(u.gid)).unwrap();
        }
        let r = desktop(u, &d, &home, &["install", "fox"]);
        r.expect_code(1);
        assert!(r.stderr().contains("is a symlink"), "{}", r.stderr());
        let r = desktop(u, &d, &home, &["remove", "fox"]);
        r.expect_code(1);
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "VICTIM\n");
        assert_eq!(std::fs::read_dir(&victim_dir).unwrap().count(), 1);

        // The wrapper's own name is a symlink (to a file that even carries jail's marker).
        std::fs::remove_file(home.join("applications")).unwrap();
        let apps = home.join("applications");
        let marked = write_file(
            u,
            &victim_dir,
            "marked",
            "[Desktop Entry]\nX-Jail-Wrapper=true\nExec=x\n",
        );
        write_file(u, &apps, ".keep", "");
        std::os::unix::fs::symlink(&marked, apps.join("fox.desktop")).unwrap();
        let r = desktop(u, &d, &home, &["install", "fox"]);
        r.expect_code(1);
        assert!(
            r.stderr().contains("was not written by jail"),
            "{}",
            r.stderr()
        );
        desktop(u, &d, &home, &["remove", "fox"]).expect_code(1);
        assert!(std::fs::symlink_metadata(apps.join("fox.desktop"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(std::fs::read_to_string(&marked)
            .unwrap()
            .starts_with("[Desktop Entry]\nX-Jail-Wrapper=true\nExec=x"));
        // No temporary file is left behind.
        let names: Vec<String> = std::fs::read_dir(&apps)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    });
}

/// A source that is a FIFO, a device, too large or binary is refused, never hangs; a symlinked
/// source (as distributions ship them) is read.
#[test]
fn desktop_install_refuses_sources_that_are_not_desktop_files() {
    each_user(|u| {
        let (d, home, sys) = desktop_env(u);
        let apps = sys.parent().unwrap().to_path_buf();
        std::fs::rename(&sys, d.join("real-fox.desktop")).unwrap();
        std::os::unix::fs::symlink(d.join("real-fox.desktop"), &sys).unwrap();
        desktop(u, &d, &home, &["install", "fox"]).ok();
        let text = std::fs::read_to_string(home.join("applications/fox.desktop")).unwrap();
        assert!(text.contains("Exec="), "{text}");

        for (name, what) in [
            ("fifo", "not a regular file"),
            ("zero", "not a regular file"),
            ("big", "larger than"),
            ("bin", "not UTF-8"),
        ] {
            write_file(
                u,
                &d,
                &format!("profiles/{name}.toml"),
                "include = [\"base\"]\n",
            );
            let p = apps.join(format!("{name}.desktop"));
            match name {
                "fifo" => {
                    nix_mkfifo(&p);
                }
                "zero" => std::os::unix::fs::symlink("/dev/zero", &p).unwrap(),
                "big" => std::fs::write(&p, "#".repeat(2 << 20)).unwrap(),
                _ => std::fs::write(&p, b"[Desktop Entry]\nExec=\xff\n").unwrap(),
            }
            let r = desktop(u, &d, &home, &["install", name]);
            r.expect_code(1);
            assert!(r.stderr().contains(what), "{name}: {}", r.stderr());
            assert!(!home.join(format!("applications/{name}.desktop")).exists());
        }
    });
}

fn nix_mkfifo(p: &Path) {
    let st = Command::new("mkfifo").arg(p).status().unwrap();
    assert!(st.success());
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o666)).unwrap();
}

/// `jail desktop install --profile NAME APP`: the wrapper runs NAME's sandbox (an app without a
/// profile of its own); a profile that does not load, or a relative file, is refused and
/// nothing is written.
#[test]
fn desktop_install_with_a_chosen_profile() {
    each_user(|u| {
        let (d, home, _) = desktop_env(u);
        let sys = write_file(
            u,
            &d,
            "share/applications/owl.desktop",
            &FOX.replace("Fox", "Owl"),
        );
        // owl has no profile; fox's is chosen.
        let r = desktop(u, &d, &home, &["install", "owl"]);
        assert_eq!(r.code(), 1, "{}", r.stderr());
        assert!(r.stderr().contains("--profile NAME"), "{}", r.stderr());
        let file = home.join("applications/owl.desktop");
        assert!(!file.exists());
        desktop(u, &d, &home, &["install", "--profile", "fox", "owl"]).ok();
        let text = std::fs::read_to_string(&file).unwrap();
        let main = format!(
            "Exec={} run --profile fox -- /usr/bin/grep -H NoNewPrivs /proc/self/status %U",
            jail_bin().display()
        );
        assert!(text.lines().any(|l| l == main), "{text}");
        assert!(text.lines().any(|l| l == "X-Jail-Profile=fox"), "{text}");
        let inside = launch(main.strip_prefix("Exec=").unwrap(), u, &d);
        assert!(inside.contains("NoNewPrivs:\t1"), "[{}] {inside}", u.name);
        let r = desktop(u, &d, &home, &["list"]);
        assert!(
            r.stdout()
                .lines()
                .any(|l| l.starts_with("owl ") && l.contains(" fox ")),
            "{}",
            r.stdout()
        );
        desktop(u, &d, &home, &["remove", "owl"]).ok();
        for bad in ["nosuch", "profiles/fox.toml"] {
            let r = desktop(u, &d, &home, &["install", "--profile", bad, "owl"]);
            assert_eq!(r.code(), 1, "{bad}: {}", r.stderr());
            assert!(!file.exists(), "{bad}");
        }
        let r = desktop(u, &d, &home, &["list", "--profile", "fox"]);
        assert_eq!(r.code(), 2, "{}", r.stderr());
        assert!(sys.exists());
    });
}
