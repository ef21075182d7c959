//! Attacks found by a review of `--image`: a docker archive poisoning the cache (same config,
//! other layers), huge tar extension headers in an archive, a cache path another user controls.
use super::*;
use tar::EntryType;

/// A refusal: exit 125, one `jail: error: --image` line naming `why`, nothing in the cache.
fn refused(r: &Run, cache: &Path, why: &str, u: &User) {
    r.expect_code(125);
    let err = r.stderr();
    assert!(
        err.starts_with("jail: error: --image ") && err.lines().count() == 1 && err.contains(why),
        "[{}] {err}",
        u.name
    );
    assert_eq!(cached(cache), Vec::<String>::new(), "[{}]", u.name);
}

/// Two docker archives with the same config (so the same cache key) and other layers, each
/// named by its own digest: the evil one is refused (its layer is not the config's diff_id), so
/// it cannot leave its root in the cache for the legit one to run.
#[test]
fn a_docker_archive_cannot_poison_the_cache() {
    if !need_busybox() {
        return;
    }
    each_user(|u| {
        let dir = TempDir::new(u);
        let cache = TempDir::new(u);
        let (lo, up) = (busybox_layer(), upper_layer());
        let mut evil_up = vec![];
        file(&mut evil_up, "etc/motd", b"evil\n");
        let evil_up = end(evil_up);
        let mut cfg = cmd_config();
        cfg["rootfs"]["diff_ids"] = diff_ids(&[&lo, &up]);
        let legit = dir.join("legit.tar");
        let evil = dir.join("evil.tar");
        let c1 = docker_archive_blobs(&legit, &cfg, &[&lo, &up]);
        let c2 = docker_archive_blobs(&evil, &cfg, &[&lo, &evil_up]);
        // The attack's ground: one config (one key), two different archives, and every blob of
        // the evil one is named by its own digest (a check against the name alone passes).
        assert_eq!(c1, c2);
        assert_ne!(
            std::fs::read(&legit).unwrap(),
            std::fs::read(&evil).unwrap()
        );
        assert_ne!(
            format!("sha256:{}", hex(&Sha256::digest(&evil_up))),
            cfg["rootfs"]["diff_ids"][1]
        );
        let run = |f: &Path| {
            let img = format!("docker-archive:{}", f.display());
            jail(
                u,
                &cache,
                &["run", "--image", &img, "--", "/bin/cat", "/etc/motd"],
            )
        };
        refused(&run(&evil), &cache, "diff_id", u);
        let r = run(&legit);
        r.ok();
        assert_eq!(r.stdout(), "layer2\n", "[{}] {}", u.name, r.stderr());
    });
}

/// An archive whose first member is an 8 MiB GNU long name (the tar crate reads it whole
/// before any check of jail's could run): refused from its header.
#[test]
fn an_archive_with_a_huge_extension_header_is_refused() {
    each_user(|u| {
        let dir = TempDir::new(u);
        let cache = TempDir::new(u);
        for (name, kind) in [("L", EntryType::GNULongName), ("x", EntryType::XHeader)] {
            let f = dir.join(format!("{name}.tar"));
            std::fs::write(&f, huge_extension(kind, 8 << 20)).unwrap();
            for scheme in ["docker-archive", "oci-archive"] {
                let img = format!("{scheme}:{}", f.display());
                let r = jail(u, &cache, &["run", "--image", &img, "--", "/bin/true"]);
                refused(&r, &cache, "extension header", u);
            }
        }
    });
}

/// Long names written by GNU tar as PAX records and as GNU long-name entries (small: under the
/// limit) are followed, not refused: the header check agrees with the tar crate on where each
/// header is, a PAX `size` record included.
#[test]
fn long_names_of_real_tars_unpack() {
    if !need_busybox() || !need("tar") {
        return;
    }
    each_user(|u| {
        let dir = TempDir::new(u);
        let cache = TempDir::new(u);
        let src = dir.join("src");
        let long = format!("etc/{}", "n".repeat(200));
        std::fs::create_dir_all(src.join("etc")).unwrap();
        std::fs::write(src.join(&long), "long\n").unwrap();
        std::os::unix::fs::symlink(
            format!("/{long}"),
            src.join(format!("etc/{}", "s".repeat(150))),
        )
        .unwrap();
        for format in ["pax", "gnu"] {
            let o = std::process::Command::new("tar")
                .args(["--format", format, "-C"])
                .arg(&src)
                .args(["-cf", "-", "etc"])
                .output()
                .unwrap();
            assert!(o.status.success());
            let layer = o.stdout;
            let mut c = cmd_config();
            c["rootfs"]["diff_ids"] = diff_ids(&[&busybox_layer(), &layer]);
            let l = write_layout(&dir.join(format), &[busybox_layer(), layer], &[("t", c)]);
            let img = format!("oci:{}:t", l.display());
            let cmd = format!("cat /{long} /etc/{}", "s".repeat(150));
            let r = jail(
                u,
                &cache,
                &["run", "--image", &img, "--", "/bin/sh", "-c", &cmd],
            );
            r.ok();
            assert_eq!(
                r.stdout(),
                "long\nlong\n",
                "[{}] {format}: {}",
                u.name,
                r.stderr()
            );
        }
    });
}

/// A small file system mounted for one test (root only), unmounted when dropped.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn new(at: &Path, opts: &str) -> Tmpfs {
        std::fs::create_dir(at).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", opts, "tmpfs"])
            .arg(at)
            .status()
            .unwrap()
            .success();
        assert!(ok, "mount tmpfs {opts}");
        Tmpfs(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// Layers of nothing but symlinks or empty folders (0 bytes in their headers, so a check of
/// file sizes passes them) are refused when the cache's file system lacks the blocks or the
/// inodes for them, and leave nothing. Root only: it mounts a small tmpfs for the cache.
#[test]
fn symlinks_and_folders_count_against_the_space_and_inodes() {
    let Some(root) = users().into_iter().find(|u| u.is_root()) else {
        eprintln!("SKIPPED: needs root (mounts a small tmpfs)");
        return;
    };
    let dir = TempDir::new(&root);
    let mut links = vec![];
    for i in 0..2000 {
        symlink(&mut links, &format!("l{i}"), "t");
    }
    let mut dirs = vec![];
    for i in 0..500 {
        entry(
            &mut dirs,
            &format!("d{i}/"),
            EntryType::Directory,
            "",
            b"",
            0o755,
        );
    }
    for (name, layer, opts, why) in [
        (
            "links",
            end(links),
            "size=1m,nr_inodes=100000,mode=0700",
            "free space",
        ),
        (
            "dirs",
            end(dirs),
            "size=64m,nr_inodes=200,mode=0700",
            "inodes",
        ),
    ] {
        let mut c = cmd_config();
        c["rootfs"]["diff_ids"] = diff_ids(&[&layer]);
        let l = write_layout(&dir.join(name), &[layer], &[("t", c)]);
        let fs = Tmpfs::new(&dir.join(format!("fs-{name}")), opts);
        let img = format!("oci:{}:t", l.display());
        let r = jail(&root, &fs.0, &["run", "--image", &img, "--", "/bin/true"]);
        refused(&r, &fs.0, why, &root);
        drop(fs);
    }
}
