//! Class 24: changing the caller's stdio. `jail run -- cmd < secret` hands the sandbox a
//! descriptor of a host file the profile never granted (or of the user's terminal, on stdout);
//! its owner may `fchmod` it without any capability, making a 0600 secret readable by everyone
//! (or the terminal writable by everyone). The always-on seccomp rules refuse changing the
//! mode, owner, times or extended attributes of descriptors 0, 1 and 2.
use super::*;

const ATTACK: &str = r#"
import os
for name, f in [("fchmod", lambda: os.fchmod(0, 0o666)),
                ("fchown", lambda: os.fchown(0, -1, -1)),
                ("futimens", lambda: os.utime(0, (1, 1))),
                ("fsetxattr", lambda: os.setxattr(0, "user.jail", b"x")),
                ("fchmod-out", lambda: os.fchmod(1, 0o666))]:
    try:
        f()
        print(name, "ok")
    except OSError as e:
        print(name, "err", e.errno)
fd = os.open("/tmp/own", os.O_CREAT | os.O_WRONLY, 0o600)
os.fchmod(fd, 0o644); os.utime(fd, (1, 1)); print("own ok")
"#;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn stdio_files_cannot_be_changed() {
    assert!(need("python3"));
    each_user(|u| {
        let dir = tempdir(u);
        let secret = write_file(u, &dir, "secret", "stdio-secret\n");
        let outf = write_file(u, &dir, "out", "");
        let chmod =
            |p: &Path| std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600)).unwrap();
        chmod(&secret);
        chmod(&outf);
        let open = |p: &Path| std::fs::OpenOptions::new().read(true).append(true).open(p);
        // The proof: outside, the owner opens the secret to everyone through its stdin.
        let o = host_cmd(u, "python3")
            .args(["-c", ATTACK.split("fd = os.open").next().unwrap()])
            .stdin(std::fs::File::open(&secret).unwrap())
            .output()
            .unwrap();
        works(&o, "fchmod");
        works(&o, "futimens");
        assert_eq!(mode(&secret), 0o666, "proof failed");
        chmod(&secret);
        let before = std::fs::metadata(&secret).unwrap().modified().unwrap();

        let mut j = Jail::new(u).args(["run", "-q", "--chdir", "/", "--", "python3", "-c", ATTACK]);
        j.cmd
            .stdin(std::fs::File::open(&secret).unwrap())
            .stdout(open(&outf).unwrap())
            .stderr(Stdio::piped());
        let o = j.cmd.output().unwrap();
        let t = std::fs::read_to_string(&outf).unwrap();
        assert_eq!(
            (mode(&secret), mode(&outf)),
            (0o600, 0o600),
            "[{}] ESCAPE: the sandbox changed the mode of its stdio\n{t}{}",
            u.name,
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(
            std::fs::metadata(&secret).unwrap().modified().unwrap(),
            before,
            "[{}] ESCAPE: the sandbox changed the times of its stdin",
            u.name
        );
        for a in ["fchmod", "fchown", "futimens", "fsetxattr", "fchmod-out"] {
            let v = verdict(&t, a);
            assert!(
                matches!(&v, Some(s) if s.starts_with("err")),
                "[{}] ESCAPE: {a} not refused: {v:?}\n{t}",
                u.name
            );
        }
        // Its own files keep working.
        assert!(
            t.contains("own ok"),
            "[{}] {t}{}",
            u.name,
            String::from_utf8_lossy(&o.stderr)
        );
    });
}
