//! Class 3: with home shared read-write, the sandbox cannot write its own future policy.
use super::*;

const TARGETS: &[&str] = &[
    ".config/jail/profiles/x.toml",
    ".config/jail/profiles/default.local.toml",
    ".local/share/applications/x.desktop",
    ".config/autostart/x.desktop",
    ".config/systemd/user/x.service",
    ".bashrc",
];

fn script(home: &Path) -> String {
    let mut s = String::new();
    for t in TARGETS {
        s += &format!(
            "echo '[process]' >> '{}/{t}' 2>/dev/null && echo 'WROTE {t}'\n",
            home.display()
        );
    }
    s
}

fn prepare(u: &User) -> PathBuf {
    let home = tempdir(u);
    for t in TARGETS {
        let p = home.join(t);
        let parent = p.parent().unwrap();
        std::fs::create_dir_all(parent).unwrap();
        if euid() == 0 {
            let mut d = parent.to_path_buf();
            while d != home {
                std::os::unix::fs::chown(&d, Some(u.uid), Some(u.gid)).unwrap();
                d.pop();
            }
        }
    }
    write_file(u, &home, ".bashrc", "# rc\n");
    home
}

#[test]
fn policy_folders_stay_read_only() {
    each_user(|u| {
        let proof = prepare(u);
        let o = host_cmd(u, "/bin/sh")
            .arg("-c")
            .arg(script(&proof))
            .output()
            .unwrap();
        assert_eq!(
            text(&o).matches("WROTE").count(),
            TARGETS.len(),
            "proof failed: {}",
            text(&o)
        );

        let home = prepare(u);
        let dir = tempdir(u);
        let p = profile_file(
            u,
            &dir,
            "home-rw",
            "include = [\"base\"]\n[filesystem]\nrw = [\"~\"]\n",
        );
        let r = Jail::new(u)
            .env("HOME", &home)
            .args([
                "run",
                "--chdir",
                "/",
                "--profile",
                &p,
                "--",
                "/bin/sh",
                "-c",
                &script(&home),
            ])
            .output();
        for t in TARGETS {
            let path = home.join(t);
            let now = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                !now.contains("[process]"),
                "[{}] ESCAPE: the sandbox wrote {t}:\n{}",
                u.name,
                r.stdout()
            );
        }
        assert!(
            !r.stdout().contains("WROTE"),
            "[{}] ESCAPE: {}",
            u.name,
            r.stdout()
        );
    });
}

/// A home of `u` under /var/tmp (a home under /tmp lies in the private /tmp, which cannot be
/// guarded) with GNU stow style dotfiles: `~/.bash_aliases -> dotfiles/bash_aliases` (not
/// made yet), `~/.config -> dotfiles/config`, `~/.ssh -> dotfiles/ssh`; `xdg` is a folder
/// for `XDG_CONFIG_HOME` inside the dotfiles.
fn stow_home(u: &User, link_config: bool) -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let h = PathBuf::from(format!(
        "/var/tmp/jail-test-stow-{}-{}-{n}",
        u.name,
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&h);
    for d in [
        "dotfiles/config/systemd/user",
        "dotfiles/ssh",
        "dotfiles/xdg/systemd/user",
    ] {
        std::fs::create_dir_all(h.join(d)).unwrap();
    }
    std::fs::write(h.join("dotfiles/notes"), "notes\n").unwrap();
    let mut links = vec![
        (".bash_aliases", "dotfiles/bash_aliases"),
        (".ssh", "dotfiles/ssh"),
    ];
    if link_config {
        links.push((".config", "dotfiles/config"));
    }
    for (at, to) in links {
        std::os::unix::fs::symlink(to, h.join(at)).unwrap();
    }
    if euid() == 0 {
        let o = Command::new("chown")
            .args(["-hR", &format!("{}:{}", u.uid, u.gid)])
            .arg(&h)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
    }
    h
}

/// What the sandbox tries from `~/dotfiles` (its current, writable folder): every file lands
/// where a host program follows a dotfile symlink; `cfg` is the config folder's name there.
fn stow_plants(cfg: &str) -> Vec<String> {
    vec![
        "bash_aliases".into(),
        format!("{cfg}/autostart/evil.desktop"),
        format!("{cfg}/systemd/user/evil.service"),
        "ssh/authorized_keys".into(),
    ]
}

fn stow_script(cfg: &str) -> String {
    let mut s = String::new();
    for p in stow_plants(cfg) {
        s += &format!(
            "(mkdir -p \"$(dirname {p})\" && echo planted > {p}) 2>/dev/null && echo PLANTED {p}; "
        );
    }
    // Renamed away and made anew, the config folder would take a fresh autostart folder.
    s += &format!("(mv {cfg} {cfg}.old && mkdir -p {cfg}/autostart && echo planted > {cfg}/autostart/evil.desktop) 2>/dev/null && echo PLANTED renamed; ");
    s += "echo more >> notes && echo WORK-OK; true";
    s
}

/// With `~/dotfiles` granted writable (the default profile's `${PWD}`, started there), a
/// sandbox plants nothing that the host follows a dotfile symlink (or `XDG_CONFIG_HOME`) to.
#[test]
fn symlinked_dotfiles_cannot_be_planted_through() {
    each_user(|u| {
        for (name, link_config, cfg) in [("stow", true, "config"), ("xdg", false, "xdg")] {
            let xdg = |h: &Path| h.join("dotfiles/xdg");
            // The proof: outside, each plant lands where the host program looks.
            let proof = stow_home(u, link_config);
            let mut c = host_cmd(u, "/bin/sh");
            c.current_dir(proof.join("dotfiles"))
                .env("HOME", &proof)
                .args(["-c", &stow_script(cfg)]);
            if !link_config {
                c.env("XDG_CONFIG_HOME", xdg(&proof));
            }
            let o = c.output().unwrap();
            assert_eq!(
                text(&o).matches("PLANTED").count(),
                stow_plants(cfg).len() + 1,
                "proof failed ({name}): {}",
                text(&o)
            );
            let via = if link_config {
                proof.join(".config/autostart/evil.desktop")
            } else {
                xdg(&proof).join("autostart/evil.desktop")
            };
            assert!(via.exists() && proof.join(".bash_aliases").exists());
            let _ = std::fs::remove_dir_all(&proof);

            let home = stow_home(u, link_config);
            let mut j = Jail::new(u).env("HOME", &home);
            if !link_config {
                j = j.env("XDG_CONFIG_HOME", xdg(&home));
            }
            j.cmd.current_dir(home.join("dotfiles"));
            let r = j
                .profile("dflt", "include = [\"default\"]\n")
                .args([
                    "run",
                    "--profile",
                    "dflt",
                    "--",
                    "/bin/sh",
                    "-c",
                    &stow_script(cfg),
                ])
                .output();
            assert!(
                r.stdout().contains("WORK-OK"),
                "[{}] ({name}) the current folder is not writable: {}{}",
                u.name,
                r.stdout(),
                r.stderr()
            );
            let landed: Vec<String> = stow_plants(cfg)
                .into_iter()
                .chain([format!("{cfg}/autostart/evil.desktop")])
                .filter(|p| {
                    std::fs::read_to_string(home.join("dotfiles").join(p))
                        .is_ok_and(|t| t.contains("planted"))
                })
                .collect();
            assert!(
                landed.is_empty() && !r.stdout().contains("PLANTED"),
                "[{}] ESCAPE ({name}): planted {landed:?}:\n{}{}",
                u.name,
                r.stdout(),
                r.stderr()
            );
            if link_config {
                // `explain` names what each added protection is the target of.
                let mut j = Jail::new(u).env("HOME", &home);
                j.cmd.current_dir(home.join("dotfiles"));
                let e = j
                    .profile("dflt", "include = [\"default\"]\n")
                    .args(["explain", "--profile", "dflt", "--", "/bin/true"])
                    .output();
                let want = format!("target of {}/.config", home.display());
                assert!(e.stdout().contains(&want), "[{}] {}", u.name, e.stdout());
            }
            let _ = std::fs::remove_dir_all(&home);
        }
    });
}
