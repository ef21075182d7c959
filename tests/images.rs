//! `jail run --image` (issue 17): an OCI image layout and a `docker save` archive built here
//! from busybox-static run with their config (User, WorkingDir, Env, Cmd/Entrypoint), unpacked
//! once into the cache; a corpus of hostile layers is refused with one line and exit 125, and
//! leaves nothing in the cache nor outside it.
mod common;
use common::*;
use sha2::{Digest, Sha256};
use std::path::Path;

#[path = "images/attacks.rs"]
mod attacks;
#[path = "images/build.rs"]
mod build;
#[path = "images/refused.rs"]
mod refused;
use build::*;

/// `jail ARGS` as `u` with `cache` as XDG_CACHE_HOME.
fn jail(u: &User, cache: &Path, args: &[&str]) -> Run {
    Jail::new(u)
        .env("XDG_CACHE_HOME", cache)
        .args(args)
        .output()
}

/// The entries of the image cache (none when it was never made).
fn cached(cache: &Path) -> Vec<String> {
    match std::fs::read_dir(cache.join("jail/images")) {
        Ok(rd) => rd
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => vec![],
    }
}

fn need_busybox() -> bool {
    need("busybox") && {
        let t = std::process::Command::new("file")
            .args(["-L", "/bin/busybox"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        assert!(!t.contains("dynamically"), "install busybox-static");
        true
    }
}

const PROBE: &str = "echo $$; id -u; id -g; pwd; echo $FOO; echo $HOME; cat /etc/motd; \
    test -e /etc/gone || echo no-gone; ls /opq";

#[test]
fn an_oci_layout_runs_with_its_config() {
    if !need_busybox() {
        return;
    }
    each_user(|u| {
        let dir = TempDir::new(u);
        let cache = TempDir::new(u);
        let l = layout(
            &dir.join("img"),
            &[("t", cmd_config()), ("ep", ep_config())],
        );
        let img = format!("oci:{}:t", l.display());
        // What a killed jail left half-unpacked (its pid is gone) is removed by the next one.
        let stale = "jail/images/.tmp-0123-4999999/rootfs/etc";
        std::fs::create_dir_all(cache.join(stale)).unwrap();
        for p in Path::new(stale).ancestors() {
            if !p.as_os_str().is_empty() {
                std::os::unix::fs::chown(cache.join(p), Some(u.uid), Some(u.gid)).unwrap();
            }
        }
        // PID 1, the config's User (named: from the image's /etc/passwd), WorkingDir, Env, the
        // HOME of the image's passwd entry; the upper layer's whiteouts applied.
        let r = jail(
            u,
            &cache,
            &["-v", "run", "--image", &img, "--", "/bin/sh", "-c", PROBE],
        );
        r.ok();
        assert_eq!(
            r.stdout(),
            "1\n1234\n2345\n/w\nbar\n/home/app\nlayer2\nno-gone\nb\n",
            "[{}] {}",
            u.name,
            r.stderr()
        );
        assert!(
            r.stderr().contains("unpacked into"),
            "[{}] {}",
            u.name,
            r.stderr()
        );
        let entries = cached(&cache);
        assert_eq!(entries.len(), 1, "[{}] cache: {entries:?}", u.name);
        assert!(
            !entries[0].starts_with(".tmp"),
            "[{}] cache: {entries:?}",
            u.name
        );
        let root = cache.join("jail/images").join(&entries[0]).join("rootfs");
        let ino = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&root).unwrap());
        // setuid bits are stripped when unpacking.
        let m = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(root.join("bin/suid"))
                .unwrap()
                .permissions(),
        );
        assert_eq!(m & 0o7777, 0o755, "[{}] bin/suid mode {m:o}", u.name);

        let r = jail(
            u,
            &cache,
            &["run", "--image", &img, "--", "/bin/cat", "/etc/z"],
        );
        r.ok();
        assert_eq!(r.stdout(), "zstd\n", "[{}] {}", u.name, r.stderr());
        // A hard link to a file of the layer, a fifo.
        let r = jail(
            u,
            &cache,
            &[
                "run",
                "--image",
                &img,
                "--",
                "/bin/sh",
                "-c",
                "cat /etc/hl; test -p /etc/fifo && echo fifo",
            ],
        );
        r.ok();
        assert_eq!(
            r.stdout(),
            "root:x:0:\napp:x:2345:\nfifo\n",
            "[{}] {}",
            u.name,
            r.stderr()
        );
        // explain shows what run does: the image's Cmd, WorkingDir and User.
        let r = jail(u, &cache, &["explain", "--image", &img]);
        r.ok();
        let out = r.stdout();
        assert!(
            out.contains("command /bin/sh -c echo from-cmd\n"),
            "[{}] {out}",
            u.name
        );
        assert!(out.contains("working directory /w\n"), "[{}] {out}", u.name);
        assert!(
            out.contains("1234 inside") && out.contains("2345 inside"),
            "[{}] {out}",
            u.name
        );
        // No COMMAND: the config's Cmd. The writable layer is thrown away: a second run does not
        // see the first one's file, and comes from the cache (not unpacked again).
        let r = jail(u, &cache, &["run", "--image", &img]);
        r.ok();
        assert_eq!(r.stdout(), "from-cmd\n", "[{}] {}", u.name, r.stderr());
        let r = jail(
            u,
            &cache,
            &[
                "run",
                "--image",
                &img,
                "--",
                "/bin/sh",
                "-c",
                "echo x > /w/new && cat /w/new",
            ],
        );
        r.ok();
        assert_eq!(r.stdout(), "x\n", "[{}] {}", u.name, r.stderr());
        let r = jail(
            u,
            &cache,
            &[
                "-v",
                "run",
                "--image",
                &img,
                "--",
                "/bin/sh",
                "-c",
                "test -e /w/new || echo fresh",
            ],
        );
        r.ok();
        assert_eq!(r.stdout(), "fresh\n", "[{}] {}", u.name, r.stderr());
        assert!(
            r.stderr().contains("from the cache"),
            "[{}] {}",
            u.name,
            r.stderr()
        );
        assert!(
            !r.stderr().contains("unpacked into"),
            "[{}] {}",
            u.name,
            r.stderr()
        );
        let ino2 = std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(&root).unwrap());
        assert_eq!(ino, ino2, "[{}] unpacked again", u.name);
        assert!(
            !root.join("w/new").exists(),
            "[{}] the cache was written",
            u.name
        );

        // The command line says otherwise: --env, --chdir win over Env and WorkingDir.
        let r = jail(
            u,
            &cache,
            &[
                "run",
                "--image",
                &img,
                "--env",
                "FOO=cli",
                "--chdir",
                "/etc",
                "--",
                "/bin/sh",
                "-c",
                "echo $FOO; pwd",
            ],
        );
        r.ok();
        assert_eq!(r.stdout(), "cli\n/etc\n", "[{}] {}", u.name, r.stderr());
        // So does a profile (and its process.uid = "root" over the config's User).
        let r = Jail::new(u)
            .env("XDG_CACHE_HOME", &*cache)
            .profile(
                "mine",
                "include = [\"image\"]\n[process]\ncwd = \"/bin\"\nuid = \"root\"\n[env]\nset = { FOO = \"prof\" }\n",
            )
            .args(["run", "--profile", "mine", "--image", &img, "--", "/bin/sh", "-c", "echo $FOO; pwd; id -u"])
            .output();
        r.ok();
        assert_eq!(r.stdout(), "prof\n/bin\n0\n", "[{}] {}", u.name, r.stderr());

        // Entrypoint is kept; COMMAND replaces Cmd.
        let ep = format!("oci:{}:ep", l.display());
        let r = jail(u, &cache, &["run", "--image", &ep]);
        r.ok();
        assert_eq!(r.stdout(), "ep c1\n", "[{}] {}", u.name, r.stderr());
        let r = jail(u, &cache, &["run", "--image", &ep, "--", "given"]);
        r.ok();
        assert_eq!(r.stdout(), "ep given\n", "[{}] {}", u.name, r.stderr());

        // Two images and no tag: refused, naming the tags.
        let r = jail(
            u,
            &cache,
            &[
                "run",
                "--image",
                &format!("oci:{}", l.display()),
                "--",
                "/bin/true",
            ],
        );
        r.expect_code(125);
        assert!(
            r.stderr().starts_with("jail: error: --image") && r.stderr().contains("tags: "),
            "[{}] {}",
            u.name,
            r.stderr()
        );
        assert_eq!(r.stderr().lines().count(), 1, "[{}] {}", u.name, r.stderr());
        assert_eq!(cached(&cache).len(), 2, "[{}] {:?}", u.name, cached(&cache));
    });
}

/// A numeric User, the `latest` default, a multi-platform index, a WorkingDir the image lacks,
/// broken config entries.
#[test]
fn numeric_user_and_default_tag() {
    if !need_busybox() {
        return;
    }
    each_user(|u| {
        let dir = TempDir::new(u);
        let cache = TempDir::new(u);
        let mut c = cmd_config();
        c["config"]["User"] = "77:88".into();
        let l = layout(
            &dir.join("img"),
            &[("latest", c.clone()), ("other", ep_config())],
        );
        // oci:DIR picks `latest`.
        let r = jail(
            u,
            &cache,
            &[
                "run",
                "--image",
                &format!("oci:{}", l.display()),
                "--",
                "/bin/sh",
                "-c",
                "id -u; id -g; echo $HOME",
            ],
        );
        r.ok();
        assert_eq!(r.stdout(), "77\n88\n/\n", "[{}] {}", u.name, r.stderr());
        // A multi-platform image: this machine's manifest is picked.
        make_multi_platform(&l, "latest");
        let r = jail(
            u,
            &cache,
            &[
                "run",
                "--image",
                &format!("oci:{}", l.display()),
                "--",
                "/bin/sh",
                "-c",
                "id -u",
            ],
        );
        r.ok();
        assert_eq!(r.stdout(), "77\n", "[{}] {}", u.name, r.stderr());
        // A WorkingDir the image lacks is made (in the throwaway layer), as Docker does.
        let mut wd = cmd_config();
        wd["config"]["WorkingDir"] = "/made/here".into();
        let lw = layout(&dir.join("img4"), &[("t", wd)]);
        let r = jail(
            u,
            &cache,
            &[
                "run",
                "--image",
                &format!("oci:{}:t", lw.display()),
                "--",
                "/bin/sh",
                "-c",
                "pwd",
            ],
        );
        r.ok();
        assert_eq!(r.stdout(), "/made/here\n", "[{}] {}", u.name, r.stderr());
        // ... but never in a host folder a grant binds there.
        let host_dir = TempDir::new(u);
        let mut wd = cmd_config();
        wd["config"]["WorkingDir"] = "/data/sub".into();
        let lw = layout(&dir.join("img5"), &[("t", wd)]);
        let bind = format!("{}:/data", host_dir.display());
        let r = jail(
            u,
            &cache,
            &[
                "run",
                "--image",
                &format!("oci:{}:t", lw.display()),
                "--bind",
                &bind,
                "--",
                "/bin/true",
            ],
        );
        r.expect_code(125);
        assert!(
            !host_dir.join("sub").exists(),
            "[{}] made in the host folder",
            u.name
        );
        // A WorkingDir climbing out with '..': refused.
        let mut wd = cmd_config();
        wd["config"]["WorkingDir"] = "/w/../../etc".into();
        let lw = layout(&dir.join("img6"), &[("t", wd)]);
        let r = jail(
            u,
            &cache,
            &[
                "run",
                "--image",
                &format!("oci:{}:t", lw.display()),
                "--",
                "/bin/true",
            ],
        );
        r.expect_code(125);
        assert!(
            r.stderr().contains("without '..'"),
            "[{}] {}",
            u.name,
            r.stderr()
        );
        // A broken Env entry: one line, exit 125.
        let mut bad = cmd_config();
        bad["config"]["Env"] = serde_json::json!(["1X=y"]);
        let lb = layout(&dir.join("img3"), &[("t", bad)]);
        let r = jail(
            u,
            &cache,
            &["run", "--image", &format!("oci:{}:t", lb.display())],
        );
        r.expect_code(125);
        assert!(
            r.stderr().contains("Env entry 1X=y") && r.stderr().lines().count() == 1,
            "[{}] {}",
            u.name,
            r.stderr()
        );
        // A user the image's passwd does not have (the host's root is not looked at).
        c["config"]["User"] = "daemon".into();
        let l = layout(&dir.join("img2"), &[("t", c.clone())]);
        let r = jail(
            u,
            &cache,
            &[
                "run",
                "--image",
                &format!("oci:{}", l.display()),
                "--",
                "/bin/true",
            ],
        );
        r.expect_code(125);
        assert!(
            r.stderr()
                .contains("no user daemon in the image's /etc/passwd"),
            "[{}] {}",
            u.name,
            r.stderr()
        );
    });
}

#[test]
fn a_docker_archive_runs() {
    if !need_busybox() {
        return;
    }
    each_user(|u| {
        let dir = TempDir::new(u);
        let cache = TempDir::new(u);
        let file = docker_archive(&dir.join("img.tar"), &cmd_config());
        let img = format!("docker-archive:{}", file.display());
        let r = jail(
            u,
            &cache,
            &["run", "--image", &img, "--", "/bin/sh", "-c", PROBE],
        );
        r.ok();
        assert_eq!(
            r.stdout(),
            "1\n1234\n2345\n/w\nbar\n/home/app\nlayer2\nno-gone\nb\n",
            "[{}] {}",
            u.name,
            r.stderr()
        );
        let r = jail(u, &cache, &["run", "--image", &img]);
        r.ok();
        assert_eq!(r.stdout(), "from-cmd\n", "[{}] {}", u.name, r.stderr());
        assert_eq!(cached(&cache).len(), 1, "[{}] {:?}", u.name, cached(&cache));
        // Three jails unpacking the same image at once: all run, one entry, no temporary left.
        let cache = TempDir::new(u);
        let kids: Vec<_> = (0..3)
            .map(|_| {
                Jail::new(u)
                    .env("XDG_CACHE_HOME", &*cache)
                    .args(["run", "--image", &img])
                    .spawn()
            })
            .collect();
        for k in kids {
            let o = k.wait_with_output().unwrap();
            assert!(
                o.status.success(),
                "[{}] {}",
                u.name,
                String::from_utf8_lossy(&o.stderr)
            );
            assert_eq!(
                String::from_utf8_lossy(&o.stdout),
                "from-cmd\n",
                "[{}]",
                u.name
            );
        }
        assert_eq!(cached(&cache).len(), 1, "[{}] {:?}", u.name, cached(&cache));
    });
}

/// Images written by the real tools: a layout by umoci, then copied by skopeo into an
/// oci-archive and a docker-archive.
#[test]
fn images_written_by_umoci_and_skopeo_run() {
    if !need_busybox() || !need("umoci") || !need("skopeo") {
        return;
    }
    let users = users();
    let work = TempDir::new(&users[0]);
    let l = work.join("layout");
    let b = work.join("bundle");
    let run = |args: &[&str]| {
        let o = std::process::Command::new(args[0])
            .args(&args[1..])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    let (ls, bs) = (l.display().to_string(), b.display().to_string());
    let img = format!("{ls}:v1");
    run(&["umoci", "init", "--layout", &ls]);
    run(&["umoci", "new", "--image", &img]);
    run(&["umoci", "unpack", "--rootless", "--image", &img, &bs]);
    let r = b.join("rootfs");
    std::fs::create_dir_all(r.join("bin")).unwrap();
    std::fs::create_dir_all(r.join("etc")).unwrap();
    std::fs::copy("/bin/busybox", r.join("bin/busybox")).unwrap();
    for a in ["sh", "id", "cat", "pwd", "echo"] {
        std::os::unix::fs::symlink("busybox", r.join("bin").join(a)).unwrap();
    }
    std::fs::write(
        r.join("etc/passwd"),
        "root:x:0:0::/root:/bin/sh\nsvc:x:500:600::/srv:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(r.join("etc/motd"), "umoci\n").unwrap();
    run(&["umoci", "repack", "--image", &img, &bs]);
    run(&[
        "umoci",
        "config",
        "--image",
        &img,
        "--config.user",
        "svc",
        "--config.workingdir",
        "/etc",
        "--config.env",
        "FOO=umoci",
        "--config.cmd",
        "/bin/sh",
        "--config.cmd",
        "-c",
        "--config.cmd",
        "echo $$; id -u; id -g; pwd; echo $FOO $HOME; cat motd",
    ]);
    let oa = work.join("o.tar").display().to_string();
    let da = work.join("d.tar").display().to_string();
    run(&[
        "skopeo",
        "copy",
        "-q",
        &format!("oci:{img}"),
        &format!("oci-archive:{oa}:v1"),
    ]);
    run(&[
        "skopeo",
        "copy",
        "-q",
        &format!("oci:{img}"),
        &format!("docker-archive:{da}:x:v1"),
    ]);
    // umoci writes its files for its own user only; the unprivileged user reads them too.
    run(&["chmod", "-R", "a+rX", &work.display().to_string()]);
    for u in &users {
        let cache = TempDir::new(u);
        for reference in [
            format!("oci:{img}"),
            format!("oci-archive:{oa}"),
            format!("docker-archive:{da}"),
        ] {
            let r = jail(u, &cache, &["run", "--image", &reference]);
            r.ok();
            assert_eq!(
                r.stdout(),
                "1\n500\n600\n/etc\numoci /srv\numoci\n",
                "[{}] {reference}: {}",
                u.name,
                r.stderr()
            );
        }
    }
}

/// `jail export oci --image`: the bundle's root is the unpacked image in the cache (read-only),
/// and the image config (User, WorkingDir, Env) is in the bundle's process, so runc prints what
/// `jail run --image` prints. Root only: runc runs bundles as root here (tests/export shows the
/// rootless case).
#[test]
fn an_image_exports_to_a_runc_bundle() {
    if !need_busybox() || !need("runc") {
        return;
    }
    let u = &users()[0];
    assert!(u.is_root());
    let dir = TempDir::new(u);
    let cache = TempDir::new(u);
    // runc needs uid 0 inside to be mapped, so the image has no User here (see the README).
    let mut cfg = cmd_config();
    cfg["config"].as_object_mut().unwrap().remove("User");
    let l = layout(&dir.join("img"), &[("t", cfg)]);
    let img = format!("oci:{}:t", l.display());
    let probe = "id -u; id -g; pwd; echo $FOO; cat /etc/motd; test -e /etc/gone || echo no-gone; \
                 touch /x 2>/dev/null || echo ro-root";
    let inside = jail(
        u,
        &cache,
        &["run", "--image", &img, "--", "/bin/sh", "-c", probe],
    );
    inside.ok();
    let bundle = dir.join("bundle");
    let b = bundle.to_str().unwrap();
    let r = jail(
        u,
        &cache,
        &[
            "export", "oci", "--image", &img, "--bundle", b, "--", "/bin/sh", "-c", probe,
        ],
    );
    r.ok();
    let cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("config.json")).unwrap()).unwrap();
    let root = cfg["root"]["path"].as_str().unwrap();
    assert!(
        root.starts_with(cache.join("jail/images").to_str().unwrap())
            && cfg["root"]["readonly"] == true,
        "{cfg}"
    );
    let id = format!("jail-img-{}", std::process::id());
    let out = std::process::Command::new("runc")
        .args(["run", "--bundle", b, &id])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let _ = std::process::Command::new("runc")
        .args(["delete", "-f", &id])
        .output();
    assert!(
        out.status.success(),
        "runc: {} {}",
        String::from_utf8_lossy(&out.stderr),
        cfg["linux"]["uidMappings"]
    );
    // jail gives an image a throwaway writable layer; the bundle's root is read-only.
    assert_eq!(
        inside.stdout(),
        "0\n0\n/w\nbar\nlayer2\nno-gone\n",
        "{}",
        inside.stderr()
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "0\n0\n/w\nbar\nlayer2\nno-gone\nro-root\n"
    );
}
