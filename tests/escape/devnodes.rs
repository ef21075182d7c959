//! Class 23: changing the host's device nodes. A sandbox started by root is the host's uid 0,
//! the owner of every node in `/dev`; bound writable, `chmod 0600 /dev/full` inside would change
//! the host's node, and a `dev` grant `chmod 0666` would hand a device to every user. Device
//! nodes and `dev` grants are bound read-only: they still open for writing, but their mode,
//! owner and times cannot change (EROFS).
use super::*;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

/// A scratch character device (the kernel's null, 1:3) owned by `u` in a folder of its own,
/// mode 0600 — made by root only; the real `/dev` is never touched outside.
fn scratch_node(u: &User) -> Option<(TempDir, PathBuf)> {
    if euid() != 0 {
        eprintln!("SKIPPED: making a scratch device node needs root");
        return None;
    }
    // Not under /tmp: the sandbox's /tmp is its own.
    let d = TempDir(PathBuf::from(format!(
        "/var/tmp/jail-devnode-{}-{}",
        u.name,
        std::process::id()
    )));
    let _ = std::fs::remove_dir_all(&*d);
    std::fs::create_dir_all(&*d).unwrap();
    std::fs::set_permissions(&*d, std::fs::Permissions::from_mode(0o755)).unwrap();
    let node = d.join("node");
    let c = std::ffi::CString::new(node.to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path; makedev(1, 3) is the null device.
    let r = unsafe { libc::mknod(c.as_ptr(), libc::S_IFCHR | 0o600, libc::makedev(1, 3)) };
    assert_eq!(r, 0, "mknod {}", node.display());
    std::os::unix::fs::chown(&node, Some(u.uid), Some(u.gid)).unwrap();
    std::fs::set_permissions(&node, std::fs::Permissions::from_mode(0o600)).unwrap();
    Some((d, node))
}

const ATTACK: &str =
    "chmod 0666 \"$1\" && echo chmod-ok; touch -d 2001-01-01 \"$1\" && echo touch-ok; \
                      echo x > /dev/null && echo write-ok; head -c1 /dev/zero | wc -c";

/// The same on the host's own /dev/full, as no-ops (its own mode, its own times): if the
/// protection ever fails, the test still changes nothing of the host.
const NOOP_ON_FULL: &str = "chmod \"$(stat -c %a /dev/full)\" /dev/full && echo chmod-ok; \
                            touch -r /dev/full /dev/full && echo touch-ok; \
                            echo x > /dev/null && echo write-ok";

#[test]
fn device_nodes_cannot_be_changed() {
    each_user(|u| {
        let Some((_d, node)) = scratch_node(u) else {
            return;
        };
        let n = node.display().to_string();
        // The proof: the node's owner changes its mode outside (on the scratch node only).
        let o = host_cmd(u, "/bin/sh")
            .args(["-c", ATTACK, "sh", &n])
            .output()
            .unwrap();
        assert!(text(&o).contains("chmod-ok"), "proof failed: {}", text(&o));
        assert_eq!(mode(&node), 0o666, "proof failed");
        std::fs::set_permissions(&node, std::fs::Permissions::from_mode(0o600)).unwrap();
        let before = std::fs::metadata(&node).unwrap().modified().unwrap();

        // A `dev` grant of the node, and (root) the minimal /dev's own /dev/full.
        let toml = format!("include = [\"default\"]\n[filesystem]\ndev = [\"{n}\"]\n");
        let full_before = mode(Path::new("/dev/full"));
        let script = format!("{ATTACK}; {NOOP_ON_FULL}");
        let r = Jail::new(u)
            .profile("devgrant", &toml)
            .args([
                "run", "-q", "--chdir", "/", "-p", "devgrant", "--", "/bin/sh", "-c", &script,
                "sh", &n,
            ])
            .output();
        let out = r.stdout();
        assert_eq!(
            mode(&node),
            0o600,
            "[{}] ESCAPE: the sandbox changed the mode of a granted device node\n{out}{}",
            u.name,
            r.stderr()
        );
        assert_eq!(
            std::fs::metadata(&node).unwrap().modified().unwrap(),
            before,
            "[{}] ESCAPE: the sandbox changed the times of a granted device node",
            u.name
        );
        assert_eq!(
            mode(Path::new("/dev/full")),
            full_before,
            "[{}] ESCAPE: the sandbox changed the host's /dev/full\n{out}",
            u.name
        );
        assert!(
            !out.contains("chmod-ok") && !out.contains("touch-ok"),
            "[{}] {out}",
            u.name
        );
        assert!(
            r.stderr().contains("Read-only file system"),
            "[{}] {}",
            u.name,
            r.stderr()
        );
        // The devices still work: written to and read from.
        assert_eq!(out.matches("write-ok").count(), 2, "[{}] {out}", u.name);
        assert!(out.lines().any(|l| l.trim() == "1"), "[{}] {out}", u.name);
    });
}
