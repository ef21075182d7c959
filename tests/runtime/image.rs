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

#[test]
fn busybox_image_as_root() {
    each_user(|u| {
        let Some(root) = busybox_root(u) else { return };
        let before = tree(&root);
        let noinit = "[process]\ninit = false\n";
        let run = |prof: &str, script: &str| {
            Jail::new(u)
                .profile("img", prof)
                .args([
                    "run",
                    "--rootfs",
                    &s(&root),
                    "--chdir",
                    "/",
                    "--profile",
                    "img",
                    "--",
                    "/bin/sh",
                    "-c",
                    script,
                ])
                .output()
        };
        // COMMAND is PID 1, and ps finds exactly sh and ps.
        // (`; true`: a shell execs its last command, and ps would be alone.)
        let r = run(noinit, "echo $$; cat /etc/motd; ps -o pid,comm; true");
        r.ok();
        let out = r.stdout();
        let mut l = out.lines();
        assert_eq!(l.next(), Some("1"), "[{}] {out}\n{}", u.name, r.stderr());
        assert_eq!(l.next(), Some("image"), "[{}] {out}", u.name);
        let procs: Vec<&str> = l.skip(1).map(str::trim).collect();
        assert_eq!(procs.len(), 2, "[{}] ps inside:\n{out}", u.name);
        assert!(
            procs[0].starts_with("1 ") && procs[0].ends_with("sh"),
            "[{}] {out}",
            u.name
        );
        assert!(procs[1].ends_with("ps"), "[{}] {out}", u.name);
        // The host's files are not there: only the image.
        let r = run(noinit, "ls /; test -e /usr && echo HOST-USR; true");
        r.ok();
        assert!(
            !r.stdout().contains("HOST-USR"),
            "[{}] {}",
            u.name,
            r.stdout()
        );

        // With init, COMMAND is PID 2 and PID 1 exists.
        let r = run(
            "[process]\ninit = true\n",
            "echo $$; test -d /proc/1 && echo has-1; ps -o pid | tail -n +2 | wc -l",
        );
        r.ok();
        let out = r.stdout();
        let mut l = out.lines();
        assert_eq!(l.next(), Some("2"), "[{}] {out}", u.name);
        assert_eq!(l.next(), Some("has-1"), "[{}] {out}", u.name);

        // The image is the read-only root (SPEC §3): writes to it fail, the private /tmp takes
        // them, and nothing reaches the image on the host.
        let r = run(noinit, "echo x > /newfile; echo changed > /etc/motd; mkdir /bin/d; rm /bin/ls; cat /etc/motd; echo t > /tmp/t && cat /tmp/t");
        r.ok();
        assert_eq!(r.stdout(), "image\nt\n", "[{}] {}", u.name, r.stderr());
        assert!(
            r.stderr().contains("Read-only file system"),
            "[{}] {}",
            u.name,
            r.stderr()
        );
        assert_eq!(tree(&root), before, "[{}] the image changed", u.name);
        // Mount points the image lacks are made in a throwaway layer, not in the image.
        for d in ["proc", "dev", "tmp"] {
            std::fs::remove_dir(root.join(d)).unwrap();
        }
        let before = tree(&root);
        let r = run(
            noinit,
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
        // Each run starts from the image again, and the image is still writable on the host
        // (the sandbox made the difference).
        std::fs::write(root.join("etc/motd"), "host\n").unwrap();
        let r = run(noinit, "cat /etc/motd");
        r.ok();
        assert_eq!(r.stdout(), "host\n", "[{}]", u.name);
    });
}
