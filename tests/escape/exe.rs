//! Class 7: /proc/self/exe and the launcher binary (runc CVE-2019-5736 class).
use super::*;

fn sum(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

#[test]
fn launcher_not_writable() {
    each_user(|u| {
        // Proof: the same open for writing works on a copy of the launcher the user owns.
        let dir = tempdir(u);
        let copy = dir.join("jail-copy");
        std::fs::copy(jail_bin(), &copy).unwrap();
        if euid() == 0 {
            std::os::unix::fs::chown(&copy, Some(u.uid), Some(u.gid)).unwrap();
        }
        works(&outside(u, &["open-w", &copy.to_string_lossy()]), "open-w");

        let before = sum(&jail_bin());
        for uid in ["user", "root"] {
            let p = profile_file(
                u,
                &dir,
                &format!("exe-{uid}"),
                &format!("include = [\"base\"]\n[process]\nuid = \"{uid}\"\n"),
            );
            let r = inside(u, &["--profile", &p], &["exe"]);
            for a in [
                "open-self-exe-w",
                "open-1-exe-w",
                "open-1-exe-rw",
                "open-ppid-exe-w",
            ] {
                refused(&r, a);
            }
            if verdict(&r.stdout(), "reopen-fd-w").is_some() {
                refused(&r, "reopen-fd-w");
            }
            let r = inside(
                u,
                &["--profile", &p],
                &["open-w", &jail_bin().to_string_lossy()],
            );
            assert!(
                !r.stdout().contains("open-w ok"),
                "[{}] ESCAPE: jail's binary opened for writing (uid {uid}): {}",
                u.name,
                r.stdout()
            );
        }
        assert!(sum(&jail_bin()) == before, "ESCAPE: jail's binary changed");
    });
}
