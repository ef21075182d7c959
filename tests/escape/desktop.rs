//! Class: a hostile `.desktop` file (issue 12, item 4). A system desktop file (a package, a
//! flatpak export) picks the options jail runs it with, or skips jail: its `Exec=` already names
//! jail with `--bind` of its own (the secret's folder), names a program whose path merely starts with jail's, wraps the
//! command in `env`/`sh -c`, hides a second command behind shell syntax for launchers that use
//! `sh -c`, and forges jail's marker keys. Outside (the file installed unchanged, launched as a
//! menu would) each variant reads a secret the profile does not grant; after `jail desktop
//! install` every `Exec=` of the wrapper starts with `JAIL run --profile vlc --`, and launching it
//! never shows the secret.
use super::*;

const SECRET: &str = "TOP-SECRET-desktop";

/// Removes `{jail}x` (a program whose path starts with jail's) when the test ends.
struct Remove(PathBuf);
impl Drop for Remove {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Runs an `Exec=` value the way a launcher that hands it to a shell does (i3's `exec`,
/// j4-dmenu-desktop): string escapes undone, field codes dropped, `sh -c`. For jail's output
/// this is also what a spec-conforming launcher runs (every argument quoted the same way).
fn launch(u: &User, exec: &str, home: &Path, profiles: &Path) -> String {
    let mut line = exec.replace("\\\\", "\\");
    for code in ["%U", "%u", "%F", "%f"] {
        line = line.replace(code, "");
    }
    let out = host_cmd(u, "/bin/sh")
        .args(["-c", &line])
        .env("HOME", home)
        .env("JAIL_PROFILE_PATH", profiles)
        .output()
        .expect("run sh");
    text(&out)
}

#[test]
fn hostile_desktop_file_cannot_choose_options_or_skip_jail() {
    let jail = jail_bin().display().to_string();
    let jail_dir = jail_bin().parent().unwrap().to_path_buf();
    // Another program whose path starts with jail's: prints that it ran, then cats its args.
    let jailx = PathBuf::from(format!("{jail}x"));
    std::fs::write(&jailx, "#!/bin/sh\necho RAN-JAILX\nexec /bin/cat \"$@\"\n").unwrap();
    std::fs::set_permissions(&jailx, std::fs::Permissions::from_mode(0o755)).unwrap();
    let _rm = Remove(jailx.clone());

    each_user(|u| {
        let d = tempdir(u);
        let secret = write_file(u, &d, "secret.txt", &format!("{SECRET}\n"));
        let s = secret.display().to_string();
        let home = d.join("home");
        std::fs::create_dir(&home).unwrap();
        if euid() == 0 {
            std::os::unix::fs::chown(&home, Some(u.uid), Some(u.gid)).unwrap();
        }
        let profiles = d.join("profiles");
        // The profile jail chose for vlc: the system, and jail's folder read-only (so every
        // command below can run inside); not the secret's folder.
        write_file(
            u,
            &profiles,
            "vlc.toml",
            &format!(
                "include = [\"base\"]\n[filesystem]\nro = [\"{}\"]\n",
                jail_dir.display()
            ),
        );
        let cases: Vec<(&str, String, bool)> = vec![
            // (name, hostile Exec=, whether the command itself can run inside)
            (
                "own-options",
                format!(
                    "{jail} run --net host --ro-bind {} -- /bin/cat {s} %U",
                    d.display()
                ),
                false,
            ),
            (
                "own-options-quoted",
                format!("\"{jail}\" run --ro-bind {} -- /bin/cat {s}", d.display()),
                false,
            ),
            ("prefix-of-jail", format!("{jail}x {s} %U"), true),
            (
                "sh-c",
                format!("/bin/sh -c \"echo RAN-SH; /bin/cat {s}\" %f"),
                true,
            ),
            (
                "env",
                format!("env /bin/sh -c \"echo RAN-ENV; /bin/cat {s}\""),
                true,
            ),
            (
                "shell-syntax",
                format!("/bin/echo RAN-ECHO ; /bin/cat {s} %U"),
                true,
            ),
        ];
        for (name, exec, runs) in &cases {
            let share = d.join(format!("share-{name}"));
            let file = format!(
                "[Desktop Entry]\nType=Application\nName=VLC\nX-Jail-Wrapper=true\nX-Jail-Profile=default\nExec={exec}\nTryExec=/bin/sh\nDBusActivatable=true\nActions=open;\n\n[Desktop Action open]\nName=Open\nExec={exec}\n"
            );
            write_file(u, &share, "applications/vlc.desktop", &file);

            // Outside: the file as it stands, launched as a menu would, reads the secret.
            let outside = launch(u, exec, &home, &profiles);
            assert!(
                outside.contains(SECRET),
                "[{}] proof failed: {name}: the hostile Exec= does not read the secret outside:\n{outside}",
                u.name
            );

            // jail desktop install: every Exec= starts with jail and the profile jail chose.
            let data_home = home.join(format!(".local/share-{name}"));
            let r = Jail::new(u)
                .env("HOME", &home)
                .env("JAIL_PROFILE_PATH", &profiles)
                .env("XDG_DATA_DIRS", &share)
                .env("XDG_DATA_HOME", &data_home)
                .args(["desktop", "install", "vlc"])
                .output();
            r.ok();
            let wrapper =
                std::fs::read_to_string(data_home.join("applications/vlc.desktop")).unwrap();
            assert!(
                !wrapper.contains("DBusActivatable"),
                "[{}] {name}: D-Bus would start vlc around jail:\n{wrapper}",
                u.name
            );
            assert!(
                !wrapper.contains("X-Jail-Profile=default"),
                "[{}] {name}: forged marker kept:\n{wrapper}",
                u.name
            );
            let execs: Vec<&str> = wrapper
                .lines()
                .filter_map(|l| l.strip_prefix("Exec="))
                .collect();
            assert_eq!(execs.len(), 2, "[{}] {name}:\n{wrapper}", u.name);
            for e in execs {
                let words: Vec<&str> = e.split(' ').take(5).collect();
                assert_eq!(
                    words,
                    [jail.as_str(), "run", "--profile", "vlc", "--"],
                    "[{}] ESCAPE: {name}: the wrapper does not start with jail's own options: {e}",
                    u.name
                );
                let inside = launch(u, e, &home, &profiles);
                assert!(
                    !inside.contains(SECRET),
                    "[{}] ESCAPE: {name}: the wrapper's Exec= reads the secret:\n{e}\n{inside}",
                    u.name
                );
                if *runs {
                    assert!(
                        inside.contains("RAN-"),
                        "[{}] {name}: the command did not run inside (the test proves nothing):\n{e}\n{inside}",
                        u.name
                    );
                }
            }
        }
    });
}
