//! A small image builder for the tests: tar layers written by hand (so that hostile names the
//! `tar` crate's Builder would refuse can be written too), OCI layouts and docker archives.
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tar::EntryType;

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Appends one entry, `name` and `link` written as they are (no checks).
pub fn entry(t: &mut Vec<u8>, name: &str, kind: EntryType, link: &str, data: &[u8], mode: u32) {
    let mut h = tar::Header::new_gnu();
    {
        let old = h.as_old_mut();
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        old.linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    h.set_entry_type(kind);
    h.set_size(data.len() as u64);
    h.set_mode(mode);
    h.set_mtime(0);
    h.set_uid(0);
    h.set_gid(0);
    if matches!(kind, EntryType::Char | EntryType::Block) {
        h.set_device_major(1).unwrap();
        h.set_device_minor(3).unwrap();
    }
    h.set_cksum();
    t.extend_from_slice(h.as_bytes());
    t.extend_from_slice(data);
    t.resize(t.len().div_ceil(512) * 512, 0);
}

pub fn file(t: &mut Vec<u8>, name: &str, data: &[u8]) {
    entry(t, name, EntryType::Regular, "", data, 0o644);
}
pub fn dir(t: &mut Vec<u8>, name: &str) {
    entry(t, name, EntryType::Directory, "", b"", 0o755);
}
pub fn symlink(t: &mut Vec<u8>, name: &str, to: &str) {
    entry(t, name, EntryType::Symlink, to, b"", 0o777);
}
pub fn end(mut t: Vec<u8>) -> Vec<u8> {
    t.extend_from_slice(&[0u8; 1024]);
    t
}

pub fn gzip(b: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(vec![], flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

/// The lower layer: busybox and its applets, an /etc with a passwd naming `app`, a setuid file.
pub fn busybox_layer() -> Vec<u8> {
    let mut t = vec![];
    for d in ["bin/", "etc/", "w/", "opq/"] {
        dir(&mut t, d);
    }
    let bb = std::fs::read("/bin/busybox").unwrap();
    entry(&mut t, "bin/busybox", EntryType::Regular, "", &bb, 0o755);
    for a in ["sh", "id", "cat", "ls", "echo", "pwd", "true", "test"] {
        symlink(&mut t, &format!("bin/{a}"), "busybox");
    }
    entry(&mut t, "bin/suid", EntryType::Regular, "", b"x", 0o4755);
    file(
        &mut t,
        "etc/passwd",
        b"root:x:0:0:root:/root:/bin/sh\napp:x:1234:2345::/home/app:/bin/sh\n",
    );
    file(&mut t, "etc/group", b"root:x:0:\napp:x:2345:\n");
    entry(&mut t, "etc/hl", EntryType::Link, "./etc/group", b"", 0o644);
    entry(&mut t, "etc/fifo", EntryType::Fifo, "", b"", 0o644);
    file(&mut t, "etc/gone", b"removed by the upper layer\n");
    file(&mut t, "etc/motd", b"layer1\n");
    file(&mut t, "opq/a", b"hidden by the opaque whiteout\n");
    end(t)
}

/// The upper layer: a whiteout, an opaque folder, a changed file.
pub fn upper_layer() -> Vec<u8> {
    let mut t = vec![];
    file(&mut t, "etc/.wh.gone", b"");
    file(&mut t, "opq/.wh..wh..opq", b"");
    file(&mut t, "opq/b", b"new\n");
    file(&mut t, "./etc/motd", b"layer2\n");
    end(t)
}

pub fn arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        a => a,
    }
}

/// A config with Cmd, User `app` (by name), WorkingDir and Env.
pub fn cmd_config() -> Value {
    json!({
        "architecture": arch(), "os": "linux",
        "config": {
            "Env": ["PATH=/bin", "FOO=bar"],
            "Cmd": ["/bin/sh", "-c", "echo from-cmd"],
            "WorkingDir": "/w",
            "User": "app"
        },
        "rootfs": {"type": "layers", "diff_ids": []}
    })
}

/// A config with an Entrypoint and a Cmd, a numeric User.
pub fn ep_config() -> Value {
    json!({
        "architecture": arch(), "os": "linux",
        "config": {"Entrypoint": ["/bin/echo", "ep"], "Cmd": ["c1"], "User": "77:88"},
        "rootfs": {"type": "layers", "diff_ids": []}
    })
}

fn blob(dir: &Path, b: &[u8]) -> String {
    let h = hex(&Sha256::digest(b));
    std::fs::write(dir.join("blobs/sha256").join(&h), b).unwrap();
    h
}

/// Writes an OCI layout of `layers` (blobs as given) with one manifest per (tag, config).
pub fn write_layout(dir: &Path, layers: &[Vec<u8>], images: &[(&str, Value)]) -> PathBuf {
    std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let descs: Vec<Value> = layers
        .iter()
        .map(|l| {
            let h = blob(dir, l);
            let mt = if l.starts_with(&[0x1f, 0x8b]) {
                "application/vnd.oci.image.layer.v1.tar+gzip"
            } else if l.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
                "application/vnd.oci.image.layer.v1.tar+zstd"
            } else {
                "application/vnd.oci.image.layer.v1.tar"
            };
            json!({"mediaType": mt, "digest": format!("sha256:{h}"), "size": l.len()})
        })
        .collect();
    let mut manifests = vec![];
    for (tag, cfg) in images {
        let c = serde_json::to_vec(cfg).unwrap();
        let ch = blob(dir, &c);
        let m = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": format!("sha256:{ch}"), "size": c.len()},
            "layers": descs,
        }))
        .unwrap();
        let mh = blob(dir, &m);
        manifests.push(json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha256:{mh}"), "size": m.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag}
        }));
    }
    let index = json!({"schemaVersion": 2, "manifests": manifests});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    dir.to_path_buf()
}

pub fn diff_ids(tars: &[&[u8]]) -> Value {
    tars.iter()
        .map(|t| format!("sha256:{}", hex(&Sha256::digest(t))))
        .collect::<Vec<_>>()
        .into()
}

/// A third layer, for zstd.
pub fn zstd_layer() -> Vec<u8> {
    let mut t = vec![];
    file(&mut t, "etc/z", b"zstd\n");
    end(t)
}

/// The busybox image (three layers: plain, gzip, zstd) under each (tag, config).
pub fn layout(dir: &Path, images: &[(&str, Value)]) -> PathBuf {
    let (lo, up, z) = (busybox_layer(), upper_layer(), zstd_layer());
    let ids = diff_ids(&[&lo, &up, &z]);
    let images: Vec<(&str, Value)> = images
        .iter()
        .map(|(t, c)| {
            let mut c = c.clone();
            c["rootfs"]["diff_ids"] = ids.clone();
            (*t, c)
        })
        .collect();
    let z = zstd::stream::encode_all(&z[..], 3).unwrap();
    write_layout(dir, &[lo, gzip(&up), z], &images)
}

/// The busybox image as `docker save` writes it: ID/layer.tar, HEX.json, manifest.json.
pub fn docker_archive(file_path: &Path, cfg: &Value) -> PathBuf {
    let (lo, up) = (busybox_layer(), upper_layer());
    let mut c = cfg.clone();
    c["rootfs"]["diff_ids"] = diff_ids(&[&lo, &up]);
    let c = serde_json::to_vec(&c).unwrap();
    let ch = hex(&Sha256::digest(&c));
    let mut t = vec![];
    dir(&mut t, "l1/");
    file(&mut t, "l1/layer.tar", &lo);
    dir(&mut t, "l2/");
    file(&mut t, "l2/layer.tar", &up);
    file(&mut t, &format!("{ch}.json"), &c);
    let man = json!([{"Config": format!("{ch}.json"), "RepoTags": ["test:t"],
                      "Layers": ["l1/layer.tar", "l2/layer.tar"]}]);
    file(&mut t, "manifest.json", &serde_json::to_vec(&man).unwrap());
    std::fs::write(file_path, end(t)).unwrap();
    file_path.to_path_buf()
}

/// A `docker save` archive as newer Docker writes it (blobs/sha256/HEX, each named by its own
/// digest) holding `layers`, with the config `cfg` written as it is (its diff_ids untouched).
pub fn docker_archive_blobs(file_path: &Path, cfg: &Value, layers: &[&[u8]]) -> Vec<u8> {
    let c = serde_json::to_vec(cfg).unwrap();
    let ch = hex(&Sha256::digest(&c));
    let mut t = vec![];
    let mut names = vec![];
    for l in layers {
        let n = format!("blobs/sha256/{}", hex(&Sha256::digest(l)));
        file(&mut t, &n, l);
        names.push(n);
    }
    file(&mut t, &format!("blobs/sha256/{ch}"), &c);
    let man = json!([{"Config": format!("blobs/sha256/{ch}"), "RepoTags": ["test:t"],
                      "Layers": names}]);
    file(&mut t, "manifest.json", &serde_json::to_vec(&man).unwrap());
    std::fs::write(file_path, end(t)).unwrap();
    c
}

/// A tar extension entry (`L` long name, `x` PAX) of `size` bytes of 'a', then a file: the tar
/// crate would read the extension's data whole into memory.
pub fn huge_extension(kind: EntryType, size: usize) -> Vec<u8> {
    let mut t = vec![];
    let data = vec![b'a'; size];
    entry(&mut t, "././@LongLink", kind, "", &data, 0o644);
    file(&mut t, "etc/x", b"x");
    end(t)
}

/// A small harmless layer.
pub fn good_tar() -> Vec<u8> {
    let mut t = vec![];
    dir(&mut t, "etc/");
    file(&mut t, "etc/motd", &[b'x'; 4000]);
    end(t)
}

pub enum Hostile {
    /// The layer blob, digest right.
    Raw(Vec<u8>),
    Tar(Vec<u8>),
    MissingBlob,
    /// The blob changed after its digest was taken.
    Changed,
    /// The blob is a symlink to a file outside the layout (its digest right).
    LinkedOut,
    /// The blob is a fifo (nothing writes it).
    Fifo,
    /// A good layer (its digest right) whose config lists another diff_id (of these bytes).
    DiffId(Vec<u8>),
}

/// The corpus: each case one layer that must be refused. `out` is a folder outside the root.
pub fn hostile(out: &str) -> Vec<(&'static str, Hostile)> {
    let rel_out = format!("../../../../../../../../../..{out}");
    let mut v = vec![];
    let mut bad_gzip = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    bad_gzip.extend_from_slice(&[0xff; 300]);
    v.push(("bad-gzip", Hostile::Raw(bad_gzip)));
    let mut trunc = gzip(&good_tar());
    trunc.truncate(trunc.len() / 2);
    v.push(("truncated-gzip", Hostile::Raw(trunc)));
    let mut garbage = vec![b'A'; 512];
    garbage.extend_from_slice(&[0; 1024]);
    v.push(("not-a-tar", Hostile::Raw(garbage)));
    let mut short = good_tar();
    short.truncate(1024);
    v.push(("truncated-tar", Hostile::Raw(short)));
    v.push(("missing-blob", Hostile::MissingBlob));
    v.push(("digest-mismatch", Hostile::Changed));
    v.push(("blob-linked-out-of-the-layout", Hostile::LinkedOut));
    v.push(("blob-is-a-fifo", Hostile::Fifo));
    let one = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut t = vec![];
        f(&mut t);
        Hostile::Tar(end(t))
    };
    v.push(("dotdot", one(&|t| file(t, "../../../../evil", b"x"))));
    v.push(("dotdot-inner", one(&|t| file(t, "a/../../evil", b"x"))));
    v.push(("absolute", one(&|t| file(t, &format!("{out}/abs"), b"x"))));
    v.push((
        "symlink-then-write",
        one(&|t| {
            symlink(t, "s", out);
            file(t, "s/pwned", b"x");
        }),
    ));
    v.push((
        "relative-symlink-then-write",
        one(&|t| {
            symlink(t, "up", "../../../../../../../../../..");
            file(t, &format!("up{out}/pwned"), b"x");
        }),
    ));
    v.push((
        "folder-replaced-by-symlink",
        one(&|t| {
            dir(t, "d/");
            symlink(t, "d", out);
            file(t, "d/pwned", b"x");
        }),
    ));
    v.push((
        "symlink-then-folder-below",
        one(&|t| {
            symlink(t, "s", out);
            dir(t, "s/sub/");
        }),
    ));
    v.push((
        "hardlink-absolute",
        one(&|t| entry(t, "hl", EntryType::Link, "/etc/passwd", b"", 0o644)),
    ));
    v.push((
        "hardlink-dotdot",
        one(&|t| entry(t, "hl", EntryType::Link, &rel_out, b"", 0o644)),
    ));
    v.push((
        "hardlink-through-symlink",
        one(&|t| {
            symlink(t, "s", "/etc");
            entry(t, "hl", EntryType::Link, "s/passwd", b"", 0o644);
        }),
    ));
    v.push((
        "hardlink-to-symlink",
        one(&|t| {
            symlink(t, "s", "/etc/passwd");
            entry(t, "hl", EntryType::Link, "s", b"", 0o644);
        }),
    ));
    v.push((
        "char-device",
        one(&|t| entry(t, "null", EntryType::Char, "", b"", 0o666)),
    ));
    v.push((
        "block-device",
        one(&|t| entry(t, "sda", EntryType::Block, "", b"", 0o660)),
    ));
    // A header claiming 4 EiB (a few bytes of compressed layer could claim that much).
    let mut h = tar::Header::new_gnu();
    h.set_path("big").unwrap();
    h.set_size(1 << 62);
    h.set_mode(0o644);
    h.set_entry_type(EntryType::Regular);
    h.set_cksum();
    let mut huge = h.as_bytes().to_vec();
    huge.extend_from_slice(&[0; 4096]);
    v.push(("huge-entry", Hostile::Raw(gzip(&huge))));
    // The config's diff_id is of another tar (a layer swapped under a config it does not fit).
    v.push(("diff-id-mismatch", Hostile::DiffId(upper_layer())));
    // Extension headers of 8 MiB (read whole into memory by the tar crate, were they read).
    v.push((
        "huge-gnu-long-name",
        Hostile::Raw(gzip(&huge_extension(EntryType::GNULongName, 8 << 20))),
    ));
    v.push((
        "huge-pax-header",
        Hostile::Raw(gzip(&huge_extension(EntryType::XHeader, 8 << 20))),
    ));
    v.push(("whiteout-of-parent", one(&|t| file(t, ".wh...", b""))));
    v.push(("whiteout-of-self", one(&|t| file(t, "etc/.wh..", b""))));
    v
}

/// Turns the layout's image `tag` into a multi-platform one (as `skopeo copy --all` writes): the
/// index names an image index listing another platform first (whose manifest is not there:
/// jail must not read it) and this machine's.
pub fn make_multi_platform(dir: &Path, tag: &str) {
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let mine = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap()
        .clone();
    let mut mine_p = mine.clone();
    mine_p.as_object_mut().unwrap().remove("annotations");
    mine_p["platform"] = json!({"architecture": arch(), "os": "linux"});
    let other = json!({
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": format!("sha256:{}", "ab".repeat(32)), "size": 10,
        "platform": {"architecture": "s390x", "os": "linux"}
    });
    let sub = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [other, mine_p],
    }))
    .unwrap();
    let h = blob(dir, &sub);
    let top = json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "digest": format!("sha256:{h}"), "size": sub.len(),
        "annotations": {"org.opencontainers.image.ref.name": tag}
    }]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&top).unwrap()).unwrap();
}
