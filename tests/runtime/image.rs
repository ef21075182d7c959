//! A container image as the root (the seed scenario).
use super::*;

/// A busybox root: bin/busybox and its applets as symlinks, empty proc, dev, tmp.
fn busybox_root(u: &User) -> Option<PathBuf> {
    if !need("busybox") {
        return None;
    }
    let bb = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap();
    let out = Command::new("file").arg("-L").arg(bb).output();
    if let Ok(o) = out {
        let t = String::from_utf8_lossy(&o.stdout);
        assert!(
            !t.contains("dynamically"),
            "{bb} is dynamically linked; install busybox-static"
        );
    }
    let root = tempdir(u);
    for d in ["bin", "proc", "dev", "tmp", "etc"] {
        std::fs::create_dir(root.join(d)).unwrap();
    }
    std::fs::copy(bb, root.join("bin/busybox")).unwrap();
    for a in [
        "sh", "echo", "ps", "cat", "ls", "mkdir", "touch", "id", "readlink", "sleep",
    ] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(a)).unwrap();
    }
    std::fs::write(root.join("etc/motd"), "image\n").unwrap();
    let _ = Command::new("chown")
        .arg("-R")
        .arg(format!("{}:{}", u.uid, u.gid))
        .arg(&root)
        .status();
    Some(root)
}

fn tree(root: &Path) -> Vec<(PathBuf, u64, Vec<u8>)> {
    let mut v = vec![];
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let md = std::fs::symlink_metadata(&p).unwrap();
        let content = if md.is_file() {
            std::fs::read(&p).unwrap()
        } else if md.file_type().is_symlink() {
            std::fs::read_link(&p)
                .unwrap()
                .into_os_string()
                .into_encoded_bytes()
        } else {
            vec![]
        };
        v.push((
            p.clone(),
            std::os::unix::fs::MetadataExt::mode(&md) as u64,
            content,
        ));
        if md.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
        }
    }
    v.sort();
    v
}

/// `jail run --rootfs DIR -- /bin/sh -c SCRIPT` with no profile file, as a new user types it.
fn run_image(u: &User, root: &Path, extra: &[&str], script: &str) -> Run {
    let root = s(root);
    let mut args = vec!["run", "--rootfs", &root];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", "/bin/sh", "-c", script]);
    Jail::new(u).args(args).output()
}

#[test]
fn busybox_image_as_root() {
    each_user(|u| {
        let Some(root) = busybox_root(u) else { return };
        let before = tree(&root);
        // COMMAND is PID 1, and ps finds exactly sh and ps; the working directory is /.
        // (`; true`: a shell execs its last command, and ps would be alone.)
        let r = run_image(
            u,
            &root,
            &[],
            "echo $$; pwd; cat /etc/motd; ps -o pid,comm; true",
        );
        r.ok();
        let out = r.stdout();
        let mut l = out.lines();
        assert_eq!(l.next(), Some("1"), "[{}] {out}\n{}", u.name, r.stderr());
        assert_eq!(l.next(), Some("/"), "[{}] {out}", u.name);
        assert_eq!(l.next(), Some("image"), "[{}] {out}", u.name);
        let procs: Vec<&str> = l.skip(1).map(str::trim).collect();
        assert_eq!(procs.len(), 2, "[{}] ps inside:\n{out}", u.name);
        assert!(
            procs[0].starts_with("1 ") && procs[0].ends_with("sh"),
            "[{}] {out}",
            u.name
        );
        assert!(procs[1].ends_with("ps"), "[{}] {out}", u.name);
        // Nothing of the host's system is there: only the image (the `image` profile).
        let r = run_image(
            u,
            &root,
            &[],
            "ls /; for d in /usr /lib /lib64 /sbin; do test -e $d && echo HOST-$d; done; true",
        );
        r.ok();
        assert!(!r.stdout().contains("HOST-"), "[{}] {}", u.name, r.stdout());
        assert!(r.stderr().is_empty(), "[{}] {}", u.name, r.stderr());

        // --init puts jail's init in front: COMMAND is PID 2 and PID 1 exists.
        let r = run_image(
            u,
            &root,
            &["--init"],
            "echo $$; test -d /proc/1 && echo has-1; ps -o pid | tail -n +2 | wc -l",
        );
        r.ok();
        let out = r.stdout();
        let mut l = out.lines();
        assert_eq!(l.next(), Some("2"), "[{}] {out}", u.name);
        assert_eq!(l.next(), Some("has-1"), "[{}] {out}", u.name);

        // The root has a throwaway writable layer: writes succeed inside, and nothing reaches
        // the image on the host.
        let r = run_image(
            u,
            &root,
            &[],
            "touch /x && echo x > /newfile && echo changed > /etc/motd && mkdir /bin/d && rm /bin/ls && cat /newfile /etc/motd && test ! -e /bin/ls && echo gone",
        );
        r.ok();
        assert_eq!(
            r.stdout(),
            "x\nchanged\ngone\n",
            "[{}] {}",
            u.name,
            r.stderr()
        );
        assert_eq!(tree(&root), before, "[{}] the image changed", u.name);
        // The next run starts from the image again.
        let r = run_image(u, &root, &[], "cat /etc/motd; test -e /x || echo no-x");
        r.ok();
        assert_eq!(r.stdout(), "image\nno-x\n", "[{}]", u.name);
        // Mount points the image lacks are made in the throwaway layer, not in the image.
        for d in ["proc", "dev", "tmp"] {
            std::fs::remove_dir(root.join(d)).unwrap();
        }
        let before = tree(&root);
        let r = run_image(
            u,
            &root,
            &[],
            "echo $$; ls /dev/null; echo t > /tmp/t && cat /tmp/t",
        );
        r.ok();
        assert_eq!(
            r.stdout(),
            "1\n/dev/null\nt\n",
            "[{}] {}",
            u.name,
            r.stderr()
        );
        assert_eq!(tree(&root), before, "[{}] the image changed", u.name);
        // The image is still writable on the host (the sandbox made the difference).
        std::fs::write(root.join("etc/motd"), "host\n").unwrap();
        let r = run_image(u, &root, &[], "cat /etc/motd");
        r.ok();
        assert_eq!(r.stdout(), "host\n", "[{}]", u.name);
        // A profile may still add grants over the image.
        let r = Jail::new(u)
            .profile(
                "img",
                "include = [\"image\"]\n[filesystem]\ntmpfs = [\"/data\"]\n",
            )
            .args(["run", "--rootfs", &s(&root), "--profile", "img", "--"])
            .args(["/bin/sh", "-c", "echo $$; touch /data/f && echo data-ok"])
            .output();
        r.ok();
        assert_eq!(r.stdout(), "1\ndata-ok\n", "[{}] {}", u.name, r.stderr());
    });
}

/// The seed scenario through a real terminal: `jail run --rootfs DIR -- /bin/sh`, no profile.
#[test]
fn busybox_image_in_a_terminal() {
    each_user(|u| {
        let Some(root) = busybox_root(u) else { return };
        let (mut child, mut t) =
            super::terminal::in_terminal(Jail::new(u).env("TERM", "dumb").args([
                "run",
                "--rootfs",
                &s(&root),
                "--env",
                "PS1=img$ ",
                "--",
                "/bin/sh",
            ]));
        t.expect("img$ ");
        // Typed `ps`: the shell as PID 1 and ps itself, nothing else.
        t.send(b"ps -o pid,comm\n");
        t.expect("PID");
        let listed = t.expect("img$ ");
        let procs: Vec<&str> = listed.lines().skip(1).map(str::trim).collect();
        assert_eq!(procs.len(), 2, "[{}] ps showed {listed:?}", u.name);
        assert_eq!(procs[0], "1 sh", "[{}] ps showed {listed:?}", u.name);
        assert!(
            procs[1].ends_with(" ps"),
            "[{}] ps showed {listed:?}",
            u.name
        );
        t.send(b"echo pid=$$\n");
        t.expect("pid=1\r\n");
        t.expect("img$ ");
        t.send(b"test -t 0 && echo tty-ok\n");
        t.expect("tty-ok\r\n");
        t.send(b"exit 3\n");
        let code = wait_deadline(&mut child, "image shell");
        assert_eq!(
            code,
            3,
            "[{}] {:?}",
            u.name,
            String::from_utf8_lossy(&t.all)
        );
    });
}
