//! Class 6: a descriptor the caller opened must not be reachable inside.
use super::*;

fn with_fd9(mut c: Command, file: &Path) -> Output {
    let f = std::fs::File::open(file).unwrap();
    pass_fd(&mut c, &f, 9);
    let o = c.output().unwrap();
    drop(f);
    o
}

#[test]
fn inherited_fd_not_reachable() {
    each_user(|u| {
        let dir = tempdir(u);
        let secret = write_file(u, &dir, "secret", "fd-secret-content\n");
        let mut c = host_cmd(u, &attacker());
        c.args(["fds", "9"]);
        let o = with_fd9(c, &secret);
        works(&o, "fstat");
        assert!(
            text(&o).contains("fds 0 1 2 9"),
            "proof failed: {}",
            text(&o)
        );

        let mut j = Jail::new(u).args([
            "run",
            "--ro-bind",
            &bin_dir().to_string_lossy(),
            "--",
            &attacker(),
            "fds",
            "9",
        ]);
        j.cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let o = with_fd9(j.cmd, &secret);
        let t = text(&o);
        assert!(
            t.contains("fstat err EBADF") && t.contains("read err EBADF"),
            "[{}] ESCAPE: fd 9 reachable inside:\n{t}",
            u.name
        );
        assert!(
            t.lines().any(|l| l == "fds 0 1 2"),
            "[{}] /proc/self/fd shows more than 0 1 2:\n{t}",
            u.name
        );
        assert!(!t.contains("fd-secret"), "{t}");
    });
}
