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
