//! What `--image` refuses: a hostile layer corpus, a cache others control, and `hide` judged
//! in the image (a symlink of the image refused).
use super::*;

/// Each layer of the corpus (tests/images/build.rs `hostile`): exit 125, one line, nothing in
/// the cache, nothing written outside the root.
#[test]
fn hostile_layers_are_refused_and_leave_nothing() {
    each_user(|u| {
        let dir = TempDir::new(u);
        let cache = TempDir::new(u);
        // A folder outside the root that the attacks aim at.
        let outside = dir.join("outside");
        std::fs::create_dir(&outside).unwrap();
        let out = outside.display().to_string();
        for (name, case) in hostile(&out) {
            let l = dir.join(format!("h-{name}"));
            let (blob, diff) = match &case {
                Hostile::Tar(t) => (t.clone(), t.clone()),
                Hostile::Raw(b) => (b.clone(), b.clone()),
                Hostile::DiffId(other) => (good_tar(), other.clone()),
                _ => (good_tar(), good_tar()),
            };
            let mut c = cmd_config();
            c["rootfs"]["diff_ids"] =
                vec![format!("sha256:{}", hex(&Sha256::digest(&diff)))].into();
            let layer_hex = hex(&Sha256::digest(&blob));
            write_layout(&l, &[blob], &[("t", c)]);
            let blob_path = l.join("blobs/sha256").join(&layer_hex);
            match case {
                Hostile::MissingBlob => std::fs::remove_file(&blob_path).unwrap(),
                Hostile::LinkedOut => {
                    let elsewhere = dir.join(format!("elsewhere-{name}"));
                    std::fs::rename(&blob_path, &elsewhere).unwrap();
                    std::os::unix::fs::symlink(&elsewhere, &blob_path).unwrap();
                }
                Hostile::Fifo => {
                    std::fs::remove_file(&blob_path).unwrap();
                    let c =
                        std::ffi::CString::new(blob_path.as_os_str().as_encoded_bytes()).unwrap();
                    // SAFETY: a valid C string.
                    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
                }
                Hostile::Changed => {
                    let mut b = std::fs::read(&blob_path).unwrap();
                    let n = b.len() / 2;
                    b[n] ^= 1;
                    std::fs::write(&blob_path, b).unwrap();
                }
                _ => {}
            }
            let r = jail(
                u,
                &cache,
                &[
                    "run",
                    "--image",
                    &format!("oci:{}:t", l.display()),
                    "--",
                    "/bin/true",
                ],
            );
            r.expect_code(125);
            let err = r.stderr();
            assert!(
                err.starts_with("jail: error: --image ") && err.lines().count() == 1,
                "[{}] {name}: {err}",
                u.name
            );
            assert_eq!(
                cached(&cache),
                Vec::<String>::new(),
                "[{}] {name}: left in the cache",
                u.name
            );
            let leaked: Vec<_> = std::fs::read_dir(&outside).unwrap().collect();
            assert!(
                leaked.is_empty(),
                "[{}] {name}: wrote outside the root: {leaked:?}",
                u.name
            );
            assert!(
                !dir.join("evil").exists() && !Path::new("/evil-jail-test").exists(),
                "[{}] {name}",
                u.name
            );
            let why = match name {
                "diff-id-mismatch" => "diff_id",
                "huge-gnu-long-name" | "huge-pax-header" => "extension header",
                _ => "",
            };
            assert!(err.contains(why), "[{}] {name}: {err}", u.name);
            eprintln!("[{}] {name}: {}", u.name, err.trim_end());
        }
    });
}

/// The cache must be a folder of the caller's that only it can write: root never unpacks into
/// a folder another user controls, and nobody into one others may write.
#[test]
fn a_cache_others_control_is_refused() {
    if !need_busybox() {
        return;
    }
    let users = users();
    each_user(|u| {
        let dir = TempDir::new(u);
        let l = layout(&dir.join("img"), &[("t", cmd_config())]);
        let img = format!("oci:{}:t", l.display());
        // Writable by others.
        let cache = TempDir::new(u);
        let images = cache.join("jail/images");
        std::fs::create_dir_all(&images).unwrap();
        for p in [cache.join("jail"), images.clone()] {
            std::os::unix::fs::chown(&p, Some(u.uid), Some(u.gid)).unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&images, std::fs::Permissions::from_mode(0o777)).unwrap();
        let r = jail(u, &cache, &["run", "--image", &img, "--", "/bin/true"]);
        r.expect_code(125);
        assert!(
            r.stderr().contains("only it can write"),
            "[{}] {}",
            u.name,
            r.stderr()
        );
        assert_eq!(cached(&cache), Vec::<String>::new(), "[{}]", u.name);
        // Root and another user's cache (XDG_CACHE_HOME kept by sudo -E, say).
        if let Some(other) = users.iter().find(|o| o.uid != u.uid && u.is_root()) {
            std::fs::set_permissions(&images, std::fs::Permissions::from_mode(0o755)).unwrap();
            for p in [cache.join("jail"), images.clone()] {
                std::os::unix::fs::chown(&p, Some(other.uid), Some(other.gid)).unwrap();
            }
            let r = jail(u, &cache, &["run", "--image", &img, "--", "/bin/true"]);
            r.expect_code(125);
            assert!(
                r.stderr().contains(&format!("it is uid {}'s", other.uid)),
                "[{}] {}",
                u.name,
                r.stderr()
            );
            assert_eq!(cached(&cache), Vec::<String>::new(), "[{}]", u.name);

            // The other user's cache folder with no jail/images yet: root makes nothing in it.
            // The ground: the other user can rename (swap) what root would make there.
            let theirs = TempDir::new(other);
            let probe = theirs.join("probe");
            std::fs::create_dir(&probe).unwrap();
            let mv = session_command("mv", other, &theirs)
                .args(["probe", "probe2"])
                .status()
                .unwrap();
            assert!(
                mv.success() && theirs.join("probe2").is_dir(),
                "[{}]",
                u.name
            );
            let r = jail(u, &theirs, &["run", "--image", &img, "--", "/bin/true"]);
            r.expect_code(125);
            let err = r.stderr();
            assert!(
                err.lines().count() == 1
                    && err.contains(&format!("it is uid {}'s", other.uid))
                    && err.contains("could swap"),
                "[{}] {err}",
                u.name
            );
            assert!(!theirs.join("jail").exists(), "[{}] made jail/", u.name);
        }
        // A folder above the cache that others may write (not sticky): refused, nothing made.
        let open = TempDir::new(u);
        std::fs::set_permissions(&*open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let r = jail(
            u,
            &open.join("c"),
            &["run", "--image", &img, "--", "/bin/true"],
        );
        r.expect_code(125);
        assert!(
            r.stderr().contains("could swap") && r.stderr().lines().count() == 1,
            "[{}] {}",
            u.name,
            r.stderr()
        );
        assert!(!open.join("c").exists(), "[{}]", u.name);
    });
}

/// `hide` under an image root is judged in the image, not on the host: paths the host lacks
/// are hidden, a symlink of the image is refused at once (one line, exit 125).
#[test]
fn hide_is_judged_inside_the_image() {
    if !need_busybox() {
        return;
    }
    each_user(|u| {
        let dir = TempDir::new(u);
        let cache = TempDir::new(u);
        assert!(!Path::new("/opq").exists() && !Path::new("/w").exists());
        let l = layout(&dir.join("img"), &[("t", cmd_config())]);
        let img = format!("oci:{}:t", l.display());
        let script = "cat /opq/b 2>/dev/null || echo no-b; ls -A /w | wc -l; cat /etc/motd";
        let r = jail(
            u,
            &cache,
            &[
                "run", "--image", &img, "--chdir", "/", "--", "/bin/sh", "-c", script,
            ],
        );
        r.ok();
        assert_eq!(
            r.stdout(),
            "new\n0\nlayer2\n",
            "[{}] {}",
            u.name,
            r.stderr()
        );
        let r = jail(
            u,
            &cache,
            &["run", "--image", &img, "--chdir", "/", "--hide", "/opq/b", "--hide", "/bin/suid", "--", "/bin/sh", "-c", "cat /opq/b 2>/dev/null || echo no-b; cat /bin/suid 2>/dev/null || echo no-suid; cat /etc/motd"],
        );
        r.ok();
        assert_eq!(
            r.stdout(),
            "no-b\nno-suid\nlayer2\n",
            "[{}] {}",
            u.name,
            r.stderr()
        );
        assert!(
            !r.stderr().contains("nothing there"),
            "[{}] {}",
            u.name,
            r.stderr()
        );
        // A folder of the image only.
        let r = jail(
            u,
            &cache,
            &[
                "run",
                "--image",
                &img,
                "--chdir",
                "/",
                "--hide",
                "/opq",
                "--",
                "/bin/sh",
                "-c",
                "ls -A /opq | wc -l",
            ],
        );
        r.ok();
        assert_eq!(r.stdout(), "0\n", "[{}] {}", u.name, r.stderr());
        // /bin/sh is a symlink in the image: refused with one line.
        let r = jail(
            u,
            &cache,
            &[
                "run",
                "--image",
                &img,
                "--hide",
                "/bin/sh",
                "--",
                "/bin/true",
            ],
        );
        r.expect_code(125);
        assert!(
            r.stderr().contains("/bin/sh is a symlink in the image"),
            "[{}] {}",
            u.name,
            r.stderr()
        );
    });
}
