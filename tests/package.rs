//! The Debian package (`cargo deb`, metadata in Cargo.toml `[package.metadata.deb]`, files in
//! packaging/): what it installs where, that lintian finds no error in it, that its jail names
//! its version and commit, and that the AppArmor profile parses and grants `userns` to
//! /usr/bin/jail and nothing else. tests/vm/guest-tests.sh installs it in a Debian guest and
//! uses it there as a user would.

mod common;

use common::{deb, need, TempDir};
use std::path::Path;
use std::process::Command;

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("starting a program");
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn names_in(dir: &str, ext: &str) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut v: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(ext))
        .collect();
    v.sort();
    v
}

#[test]
fn the_package_puts_each_file_where_the_system_looks_for_it() {
    let Some(deb) = deb::package() else { return };
    let listing = run(Command::new("dpkg-deb").arg("--contents").arg(&deb));
    let files: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .map(|p| p.trim_start_matches('.'))
        .collect();
    let mut want: Vec<String> = [
        "/usr/bin/jail",
        "/usr/share/man/man5/jail-profile.5.gz",
        "/usr/share/bash-completion/completions/jail",
        "/usr/share/zsh/vendor-completions/_jail",
        "/usr/share/fish/vendor_completions.d/jail.fish",
        "/usr/share/doc/jail/README.md",
        "/usr/share/doc/jail/SECURITY.md",
        "/usr/share/doc/jail/changelog.Debian.gz",
        "/usr/share/doc/jail/copyright",
        "/etc/apparmor.d/jail",
    ]
    .map(String::from)
    .to_vec();
    // Every profile of the collection (it stays embedded as well) and every page of man/.
    want.extend(
        names_in("profiles", ".toml")
            .iter()
            .map(|n| format!("/usr/share/jail/profiles/{n}")),
    );
    let pages = names_in("man", ".1");
    assert!(pages.len() > 5 && pages.contains(&"jail-run.1".to_string()));
    want.extend(pages.iter().map(|n| format!("/usr/share/man/man1/{n}.gz")));
    let missing: Vec<&String> = want
        .iter()
        .filter(|w| !files.contains(&w.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "missing from the package: {missing:?}\n{listing}"
    );
    // Only the binary is executable.
    for l in listing.lines().filter(|l| l.starts_with('-')) {
        let exec = l.as_bytes()[3] == b'x';
        assert_eq!(exec, l.ends_with("./usr/bin/jail"), "{l}");
    }

    let control = run(Command::new("dpkg-deb").arg("--field").arg(&deb));
    let field = |k: &str| {
        control
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{k}: ")))
            .unwrap_or_default()
            .to_string()
    };
    assert!(field("Depends").starts_with("libc6"), "{control}");
    assert_eq!(field("Recommends"), "xdg-dbus-proxy", "{control}");
    assert_eq!(field("Package"), "jail");
    // The AppArmor profile is a conffile: a local edit survives upgrades.
    let t = TempDir::new(&common::users()[0]);
    run(Command::new("dpkg-deb")
        .arg("--control")
        .arg(&deb)
        .arg(t.join("c")));
    assert_eq!(
        std::fs::read_to_string(t.join("c/conffiles"))
            .unwrap()
            .trim(),
        "/etc/apparmor.d/jail"
    );
    // The scripts that load and unload it.
    for s in ["postinst", "postrm"] {
        assert!(t.join("c").join(s).is_file(), "no {s}");
    }
}

#[test]
fn lintian_finds_no_error_in_the_package() {
    let Some(deb) = deb::package() else { return };
    if !need("lintian") {
        return;
    }
    let out = Command::new("lintian")
        .args(["--fail-on", "error", "--info"])
        .arg(&deb)
        .output()
        .expect("starting lintian");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    eprintln!("lintian says:\n{text}");
    assert!(
        out.status.success(),
        "lintian failed ({}):\n{text}",
        out.status
    );
    assert!(!text.lines().any(|l| l.starts_with("E: ")), "{text}");
}

#[test]
fn the_packaged_jail_names_its_version_and_commit() {
    let Some(deb) = deb::package() else { return };
    let t = TempDir::new(&common::users()[0]);
    run(Command::new("dpkg-deb").arg("--extract").arg(&deb).arg(&*t));
    let bin = t.join("usr/bin/jail");
    let version = run(Command::new(&bin).arg("--version"));
    let head = Command::new("git")
        .args(["rev-parse", "--short=7", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let want = format!("jail {} (commit ", env!("CARGO_PKG_VERSION"));
    assert!(version.starts_with(&want), "{version}");
    match head {
        Some(h) => assert!(
            version.contains(&format!("(commit {h}")),
            "{version} (HEAD is {h})"
        ),
        None => assert!(version.contains("(commit unknown)"), "{version}"),
    }
    // The collection is embedded too: a bare binary still knows `default`.
    let list = run(Command::new(&bin)
        .arg("list")
        .env("JAIL_PROFILE_PATH", t.join("none")));
    assert!(list.lines().any(|l| l.starts_with("default ")), "{list}");
}

/// The profile's rules, without comments and blank lines.
fn profile_rules(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap().trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn the_apparmor_profile_grants_userns_to_usr_bin_jail_and_nothing_else() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/apparmor-jail");
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        profile_rules(&text),
        [
            "abi <abi/4.0>,",
            "include <tunables/global>",
            "profile jail /usr/bin/jail flags=(unconfined) {",
            "userns,",
            "include if exists <local/jail>",
            "}",
        ]
    );
    if !need("apparmor_parser") {
        return;
    }
    // -Q: parse and compile, load nothing; -K: no cache. The `userns` rule needs a parser of
    // AppArmor 4.0 or later (its ABI file abi/4.0). Debian 12 has 3.0, which knows neither: it
    // checks the rest (the header, the attachment, the flags, the includes) of a copy without
    // them, and says what it left out.
    let t = TempDir::new(&common::users()[0]);
    let (file, note) = if Path::new("/etc/apparmor.d/abi/4.0").exists() {
        (path.clone(), None)
    } else {
        let copy = t.join("jail");
        let old = text
            .replace("abi <abi/4.0>,", "abi <abi/3.0>,")
            .replace("  userns,\n", "");
        std::fs::write(&copy, old).unwrap();
        (copy, Some("this apparmor_parser is older than 4.0: the `userns` rule and abi 4.0 were not parsed"))
    };
    let out = Command::new("apparmor_parser")
        .args(["-Q", "-K"])
        .arg(&file)
        .output()
        .expect("starting apparmor_parser");
    assert!(
        out.status.success(),
        "apparmor_parser -Q -K {}: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    if let Some(n) = note {
        eprintln!("NOTE: {n}");
    }
}
