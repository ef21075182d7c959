//! The primitives firejail's profiles need (issue 18): globs in path lists, `noexec`, XDG
//! user folders, address families, memory-deny-write-execute, a random machine-id, i386.
use super::*;

#[test]
fn globs_grant_and_hide_what_they_match() {
    each_user(|u| {
        let d = tempdir(u);
        for f in [
            "a.conf",
            "b.conf",
            ".c.conf",
            "notes.txt",
            "p1/lock",
            "p2/lock",
            "p2/data",
        ] {
            write_file(u, &d, f, &format!("{f}\n"));
        }
        // Grants: `*.conf` shows the two .conf files and nothing else (no dotfile).
        let r = sh(
            u,
            &["--ro-bind", &format!("{}/*.conf", s(&d))],
            &format!("cd {} && ls -A", s(&d)),
        );
        r.ok();
        assert_eq!(
            r.stdout(),
            "a.conf\nb.conf\n",
            "[{}] {}",
            u.name,
            r.stderr()
        );
        // Hide: every profile's lock is unreadable, the rest of the folder readable.
        let script = format!(
            "cd {} && cat p2/data; for f in p1/lock p2/lock; do cat $f || echo DENIED; done",
            s(&d)
        );
        let r = sh(u, &["--ro-bind", &s(&d)], &script);
        r.ok();
        assert!(
            r.stdout().contains("p1/lock"),
            "[{}] without the hide: {}",
            u.name,
            r.stdout()
        );
        let r = sh(
            u,
            &["--ro-bind", &s(&d), "--hide", &format!("{}/*/lock", s(&d))],
            &script,
        );
        r.ok();
        assert_eq!(
            r.stdout(),
            "p2/data\nDENIED\nDENIED\n",
            "[{}] {}",
            u.name,
            r.stderr()
        );
        // A required grant that matches nothing is refused, naming the pattern.
        let r = sh(u, &["--ro-bind", &format!("{}/*.nope", s(&d))], "true");
        r.expect_code(125);
        assert!(
            r.stderr().contains("*.nope") && r.stderr().contains("matches nothing"),
            "{}",
            r.stderr()
        );
    });
}
