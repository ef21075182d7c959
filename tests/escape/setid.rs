//! Class 16: planting a set-user-ID or set-group-ID file in a writable grant. A sandbox started
//! by root runs as the host's uid 0 (in its own user namespace, without capabilities); a file's
//! owner needs no capability to set S_ISUID on it, and the default profile grants the current
//! folder read-write, so a setuid-root copy of a shell left there would run as root for anyone
//! on the host. The same holds for an unprivileged user's sandbox (a setuid-<user> file runs as
//! that user for whoever executes it). The always-on seccomp filter refuses every mode with
//! S_ISUID/S_ISGID (chmod family, creat/open/openat, mknod/mknodat) and answers openat2 with
//! ENOSYS. Also: an `int` argument rule compares 32 bits (high garbage cannot slip past it).
use super::*;

/// Removes a folder that may hold set-ID files, whatever happens to the test (panic included).
struct Remove(PathBuf);
impl Drop for Remove {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every file under `dir` with S_ISUID or S_ISGID.
fn setid_files(dir: &Path) -> Vec<String> {
    let mut found = vec![];
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let Ok(m) = e.path().symlink_metadata() else {
                continue;
            };
            if m.is_dir() {
                todo.push(e.path());
            } else if m.permissions().mode() & 0o6000 != 0 {
                found.push(format!(
                    "{} {:o}",
                    e.path().display(),
                    m.permissions().mode()
                ));
            }
        }
    }
    found
}

const ATTEMPTS: &[&str] = &[
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "openat",
    "openat2",
    "mknodat",
    #[cfg(target_arch = "x86_64")]
    "chmod",
    #[cfg(target_arch = "x86_64")]
    "chmod-hi",
    #[cfg(target_arch = "x86_64")]
    "creat",
    #[cfg(target_arch = "x86_64")]
    "open",
    #[cfg(target_arch = "x86_64")]
    "mknod",
];

#[test]
fn setid_files_cannot_be_planted() {
    each_user(|u| {
        // Outside: every way leaves a set-ID copy of /bin/true.
        let out_dir = tempdir(u);
        let _rm_out = Remove(out_dir.clone());
        let o = outside(u, &["setid", &out_dir.to_string_lossy(), "/bin/true"]);
        for a in ATTEMPTS {
            works(&o, a);
        }
        assert_eq!(setid_files(&out_dir).len(), ATTEMPTS.len(), "{}", text(&o));
        drop(_rm_out);

        // Inside, with the default profile (its working folder granted read-write).
        let j = Jail::new(u);
        let grant = j.cwd.clone();
        let _rm_in = Remove(grant.clone());
        let r = j
            .args([
                "run".to_string(),
                "--ro-bind".into(),
                bin_dir().to_string_lossy().into(),
                "--".into(),
                attacker(),
                "setid".into(),
                grant.to_string_lossy().into(),
                "/bin/true".into(),
            ])
            .output();
        for a in ATTEMPTS {
            refused(&r, a);
        }
        let v = |a: &str| verdict(&r.stdout(), a);
        assert_eq!(v("fchmod").as_deref(), Some("err EPERM"), "{}", r.stdout());
        assert_eq!(v("openat").as_deref(), Some("err EPERM"), "{}", r.stdout());
        assert_eq!(
            v("openat2").as_deref(),
            Some("err ENOSYS"),
            "{}",
            r.stdout()
        );
        // The plain copies made before each chmod are there (the grant was writable) …
        assert!(grant.join("fchmod").exists(), "{}", r.stdout());
        // … but nothing set-ID.
        let left = setid_files(&grant);
        assert!(
            left.is_empty(),
            "[{}] ESCAPE: set-ID files planted: {left:?}",
            u.name
        );
    });
}

#[test]
fn int_argument_rules_ignore_high_bits() {
    each_user(|u| {
        let o = outside(u, &["socket-hi"]);
        works(&o, "socket-hi");
        let d = tempdir(u);
        let _rm = Remove(d.clone());
        let prof = profile_file(
            u,
            &d,
            "noinet",
            "include = [\"base\"]\n[[seccomp.rule]]\nsyscall = \"socket\"\narg = 0\nop = \"eq\"\nvalue = 2\naction = \"errno\"\n",
        );
        let r = inside(u, &["--profile", &prof], &["socket-hi"]);
        refused(&r, "socket-hi");
        assert_eq!(
            verdict(&r.stdout(), "socket-hi").as_deref(),
            Some("err EPERM"),
            "{}",
            r.stderr()
        );
    });
}
