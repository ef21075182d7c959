//! Container images from local files (`jail run --image`, SPEC §6): an OCI image layout
//! (`oci:DIR[:TAG]`, or as one tar `oci-archive:FILE[:TAG]`) or a `docker save` archive
//! (`docker-archive:FILE`). Nothing is fetched. [`apply`] applies the image config to a profile.
//!
//! [`open`] finds the image's manifest, checks every blob it reads against its sha256 digest,
//! unpacks the layers once into the cache (`$XDG_CACHE_HOME/jail/images/HEX/rootfs`, keyed by
//! the manifest's digest, or the config's for an archive) and returns that folder with the
//! image config. Unpacking happens in a temporary folder beside the entry, renamed into place
//! only when every layer is in: a failure leaves nothing in the cache. The unpacker's rules are
//! in [`unpack`].

pub mod apply;
mod source;
pub mod unpack;

use oci_spec::image::{ImageConfiguration, ImageIndex, ImageManifest};
use source::Source;
use std::io::{BufRead, BufReader, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Limits for the JSON documents (an index, a manifest, a config) read whole.
const JSON_LIMIT: u64 = 4 << 20;
const ANN_REF: &str = "org.opencontainers.image.ref.name";

/// What the image config asks for (SPEC §6: applied unless the profile or command line says
/// otherwise).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// `KEY=VALUE` entries.
    pub env: Vec<String>,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub workdir: Option<String>,
    /// `uid[:gid]` or `name[:group]`, as written.
    pub user: Option<String>,
}

/// An image ready to be the root.
#[derive(Debug, Clone)]
pub struct Image {
    /// The unpacked root folder (in the cache).
    pub rootfs: PathBuf,
    pub config: Config,
    /// The reference as given (`oci:DIR:TAG`), for messages.
    pub reference: String,
    /// True when this call unpacked it (false: found in the cache).
    pub fresh: bool,
}

impl Config {
    /// The command to run: Entrypoint followed by COMMAND when one is given (it replaces Cmd,
    /// as in `docker run IMAGE COMMAND`), else by Cmd.
    pub fn command(&self, given: &[String]) -> Vec<String> {
        let tail = if given.is_empty() { &self.cmd } else { given };
        self.entrypoint.iter().chain(tail).cloned().collect()
    }
}

/// The cache folder of unpacked images.
pub fn cache_dir() -> Result<PathBuf, String> {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| Path::new(x).is_absolute()) {
        return Ok(PathBuf::from(x).join("jail/images"));
    }
    match std::env::var_os("HOME").filter(|h| Path::new(h).is_absolute()) {
        Some(h) => Ok(PathBuf::from(h).join(".cache/jail/images")),
        None => Err("no cache folder: set HOME or XDG_CACHE_HOME".into()),
    }
}

/// Resolves `reference` (`oci:DIR[:TAG]` or `docker-archive:FILE`), unpacking it into the
/// cache when it is not there yet. Errors are one line, for `jail: error: --image REF: …`.
pub fn open(reference: &str) -> Result<Image, String> {
    let (src, key, config_blob, layers) = if let Some(rest) = reference.strip_prefix("oci:") {
        oci_layout(rest)?
    } else if let Some(rest) = reference.strip_prefix("oci-archive:") {
        let (file, tag) = split_tag(rest, Path::is_file);
        oci_index(Source::archive(Path::new(file))?, file, tag)?
    } else if let Some(file) = reference.strip_prefix("docker-archive:") {
        docker_archive(Path::new(file))?
    } else {
        return Err(
            "takes oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker-archive:FILE (local files; fetch images with skopeo, podman or docker)"
                .into(),
        );
    };
    let cfg = ImageConfiguration::from_reader(&config_blob[..])
        .map_err(|e| format!("the image config is not valid: {e}"))?;
    let config = cfg
        .config()
        .as_ref()
        .map(|c| Config {
            env: c.env().clone().unwrap_or_default(),
            entrypoint: c.entrypoint().clone().unwrap_or_default(),
            cmd: c.cmd().clone().unwrap_or_default(),
            workdir: c.working_dir().clone().filter(|w| !w.is_empty()),
            user: c.user().clone().filter(|u| !u.is_empty()),
        })
        .unwrap_or_default();
    let (rootfs, fresh) = unpack_cached(&src, &key, &layers)?;
    Ok(Image {
        rootfs,
        config,
        reference: crate::util::printable(reference, false).into_owned(),
        fresh,
    })
}

/// A layer to unpack: where its bytes are, and the sha256 they must hash to.
struct Layer {
    path: String,
    digest: String,
}

type Found = (Source, String, Vec<u8>, Vec<Layer>);

fn split_tag(rest: &str, exists: fn(&Path) -> bool) -> (&str, Option<&str>) {
    // DIR may hold ':' itself: a tag is what follows the last ':' when it has no '/' and DIR
    // without it is a folder (or the whole is not).
    if exists(Path::new(rest)) {
        return (rest, None);
    }
    match rest.rsplit_once(':') {
        Some((d, t)) if !t.contains('/') && !d.is_empty() => (d, Some(t)),
        _ => (rest, None),
    }
}

fn oci_layout(rest: &str) -> Result<Found, String> {
    let (dir, tag) = split_tag(rest, Path::is_dir);
    let dirp = Path::new(dir);
    let layout = dirp.join("oci-layout");
    if !layout.is_file() {
        return Err(format!(
            "{dir}: not an OCI image layout (no oci-layout file; skopeo copy docker://IMAGE oci:{dir}:TAG makes one)"
        ));
    }
    oci_index(Source::Layout(dirp.to_path_buf()), dir, tag)
}

/// The image `tag` (or the only one) of an OCI layout, a folder or an `oci-archive` tar.
fn oci_index(src: Source, dir: &str, tag: Option<&str>) -> Result<Found, String> {
    let index = ImageIndex::from_reader(&src.read_small("index.json", JSON_LIMIT)?[..])
        .map_err(|e| format!("{dir}/index.json: {e}"))?;
    let ms = index.manifests();
    let pick = match tag {
        Some(t) => ms
            .iter()
            .find(|m| ref_name(m) == Some(t))
            .ok_or_else(|| format!("{dir}: no image tagged {t} (tags: {})", tags(ms)))?,
        None if ms.len() == 1 => &ms[0],
        None if ms.iter().any(|m| ref_name(m) == Some("latest")) => ms
            .iter()
            .find(|m| ref_name(m) == Some("latest"))
            .unwrap_or(&ms[0]),
        None if ms.is_empty() => return Err(format!("{dir}: the layout holds no image")),
        None => {
            return Err(format!(
                "{dir}: the layout holds {} images; name one: oci:{dir}:TAG (tags: {})",
                ms.len(),
                tags(ms)
            ))
        }
    };
    let mut digest = pick.digest().to_string();
    let mut body = src.verified(&digest, JSON_LIMIT)?;
    // A multi-platform index: the manifest for this machine.
    if is_index(&body) {
        let sub = ImageIndex::from_reader(&body[..]).map_err(|e| format!("{digest}: {e}"))?;
        let arch = oci_spec::image::Arch::default();
        let m = sub
            .manifests()
            .iter()
            .find(|m| {
                m.platform()
                    .as_ref()
                    .is_some_and(|p| *p.architecture() == arch && p.os().to_string() == "linux")
            })
            .ok_or_else(|| format!("{dir}: no image for linux/{arch} in the index {digest}"))?;
        digest = m.digest().to_string();
        body = src.verified(&digest, JSON_LIMIT)?;
    }
    let man =
        ImageManifest::from_reader(&body[..]).map_err(|e| format!("manifest {digest}: {e}"))?;
    let config = src.verified(man.config().digest().as_ref(), JSON_LIMIT)?;
    let mut layers = vec![];
    for l in man.layers() {
        let d = l.digest().to_string();
        layers.push(Layer {
            path: format!("blobs/sha256/{}", source::digest_hex(&d)?),
            digest: d,
        });
    }
    let key = source::digest_hex(&digest)?.to_string();
    Ok((src, key, config, layers))
}

fn ref_name(m: &oci_spec::image::Descriptor) -> Option<&str> {
    m.annotations().as_ref()?.get(ANN_REF).map(String::as_str)
}

fn is_index(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .is_some_and(|v| v.get("manifests").is_some() && v.get("layers").is_none())
}

fn tags(ms: &[oci_spec::image::Descriptor]) -> String {
    let t: Vec<&str> = ms.iter().filter_map(ref_name).collect();
    if t.is_empty() {
        "none".into()
    } else {
        t.join(", ")
    }
}

fn docker_archive(file: &Path) -> Result<Found, String> {
    let src = Source::archive(file)?;
    let shown = file.display();
    let man: serde_json::Value =
        serde_json::from_slice(&src.read_small("manifest.json", JSON_LIMIT)?)
            .map_err(|e| format!("{shown}: manifest.json: {e}"))?;
    let list = man
        .as_array()
        .ok_or_else(|| format!("{shown}: manifest.json is not a list"))?;
    let one = match list.as_slice() {
        [one] => one,
        [] => return Err(format!("{shown}: the archive holds no image")),
        _ => {
            return Err(format!(
                "{shown}: the archive holds {} images; save one",
                list.len()
            ))
        }
    };
    let cfg_name = one["Config"]
        .as_str()
        .ok_or_else(|| format!("{shown}: manifest.json has no Config"))?;
    let config = src.read_small(cfg_name, JSON_LIMIT)?;
    let cfg_hex = source::sha256_hex(&config);
    // The config's name is its digest (HEX.json, or blobs/sha256/HEX): check it.
    let base = cfg_name.rsplit('/').next().unwrap_or(cfg_name);
    let named = base.strip_suffix(".json").unwrap_or(base);
    if named.len() == 64 {
        source::check(&format!("sha256:{named}"), &cfg_hex)?;
    }
    let cfg = ImageConfiguration::from_reader(&config[..])
        .map_err(|e| format!("{shown}: the image config is not valid: {e}"))?;
    let diff_ids = cfg.rootfs().diff_ids();
    let names: Vec<&str> = one["Layers"]
        .as_array()
        .ok_or_else(|| format!("{shown}: manifest.json has no Layers"))?
        .iter()
        .map(|l| {
            l.as_str()
                .ok_or_else(|| format!("{shown}: a layer name is not text"))
        })
        .collect::<Result<_, _>>()?;
    if names.len() != diff_ids.len() {
        return Err(format!(
            "{shown}: {} layers but the config lists {}",
            names.len(),
            diff_ids.len()
        ));
    }
    let mut layers = vec![];
    for (n, d) in names.iter().zip(diff_ids) {
        // blobs/sha256/HEX names its own digest; an older layer.tar is the uncompressed tar,
        // whose digest is the config's diff_id.
        let digest = match n.strip_prefix("blobs/sha256/") {
            Some(h) => format!("sha256:{h}"),
            None => d.clone(),
        };
        layers.push(Layer {
            path: n.to_string(),
            digest,
        });
    }
    Ok((src, cfg_hex, config, layers))
}

/// The cached root of `key`, unpacked now when missing.
fn unpack_cached(src: &Source, key: &str, layers: &[Layer]) -> Result<(PathBuf, bool), String> {
    let cache = cache_dir()?;
    let entry = cache.join(key);
    let rootfs = entry.join("rootfs");
    let cfd = open_cache(&cache)?;
    if rootfs.is_dir() {
        return Ok((rootfs, false));
    }
    let tmp_name = format!(".tmp-{key}-{}", std::process::id());
    let tmp = cache.join(&tmp_name);
    let _ = remove_tree(&tmp);
    remove_stale(&cache);
    let (tname, ename) = (c_name(&tmp_name), c_name(key));
    let r = unpack_into(src, &cfd, &tname, &tmp, layers).and_then(|()| {
        // SAFETY: a valid descriptor and C strings; both names are in the one cache folder.
        if unsafe {
            libc::renameat(
                cfd.as_raw_fd(),
                tname.as_ptr(),
                cfd.as_raw_fd(),
                ename.as_ptr(),
            )
        } == 0
        {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        // Another jail unpacked the same image meanwhile: use that one.
        if rootfs.is_dir() {
            Ok(())
        } else {
            Err(format!("{}: {e}", entry.display()))
        }
    });
    if r.is_err() || tmp.exists() {
        let _ = remove_tree(&tmp);
    }
    r.map(|()| (rootfs, true))
}

fn c_name(s: &str) -> std::ffi::CString {
    // Names made here from hex digits and a pid.
    std::ffi::CString::new(s).unwrap_or_default()
}

/// Makes and opens the cache folder, which must be a real folder of the caller's that no one
/// else may write (root unpacking into a folder another user controls could be steered).
fn open_cache(cache: &Path) -> Result<OwnedFd, String> {
    let shown = cache.display();
    std::fs::create_dir_all(cache).map_err(|e| format!("{shown}: {e}"))?;
    let c = std::ffi::CString::new(cache.as_os_str().as_encoded_bytes())
        .map_err(|_| format!("{shown}: a NUL byte in the path"))?;
    let fd = crate::sandbox::sys::openat(
        libc::AT_FDCWD,
        &c,
        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
        0,
    )
    .map_err(|e| format!("{shown}: {e} (the image cache must be a real folder)"))?;
    let st = crate::sandbox::sys::fstat(fd.as_raw_fd()).map_err(|e| format!("{shown}: {e}"))?;
    // SAFETY: geteuid has no failure mode.
    let me = unsafe { libc::geteuid() };
    if st.st_uid != me || st.st_mode & 0o022 != 0 {
        return Err(format!(
            "{shown}: the image cache must be a folder of uid {me} that only it can write (it is uid {}'s, mode {:o}); set XDG_CACHE_HOME elsewhere",
            st.st_uid,
            st.st_mode & 0o7777
        ));
    }
    Ok(fd)
}

fn unpack_into(
    src: &Source,
    cache: &OwnedFd,
    name: &std::ffi::CStr,
    tmp: &Path,
    layers: &[Layer],
) -> Result<(), String> {
    let sys = |e: &str| format!("{}: {e}", tmp.display());
    // SAFETY: valid descriptor and C string.
    if unsafe { libc::mkdirat(cache.as_raw_fd(), name.as_ptr(), 0o700) } != 0 {
        return Err(sys(&std::io::Error::last_os_error().to_string()));
    }
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW;
    let tfd = crate::sandbox::sys::openat(cache.as_raw_fd(), name, flags, 0)
        .map_err(|e| sys(&e.to_string()))?;
    // SAFETY: valid descriptor and C string.
    if unsafe { libc::mkdirat(tfd.as_raw_fd(), c"rootfs".as_ptr(), 0o755) } != 0 {
        return Err(sys(&std::io::Error::last_os_error().to_string()));
    }
    let root = crate::sandbox::sys::openat(tfd.as_raw_fd(), c"rootfs", flags, 0)
        .map_err(|e| sys(&e.to_string()))?;
    let mut dirs = vec![];
    let mut budget = space_in(&root);
    for (i, l) in layers.iter().enumerate() {
        // The bytes unpacked are the bytes hashed (one read: a file changed between a check
        // and a second read cannot slip in). The layer goes into the temporary folder first;
        // a mismatch found at its end throws the whole folder away.
        let mut hashed = source::Hashing::new(src.open_path(&l.path)?);
        let res = with_decompressed(BufReader::new(&mut hashed), |tar| {
            unpack::layer(&root, tar, &mut dirs, &mut budget)
        });
        let got = hashed.finish().map_err(|e| format!("layer {}: {e}", i + 1));
        // A wrong digest explains a broken stream best: it is said first.
        source::check(&l.digest, &got?).map_err(|e| format!("layer {}: {e}", i + 1))?;
        res.map_err(|e| format!("layer {} ({}): {e}", i + 1, l.digest))?;
    }
    unpack::finish(&root, &mut dirs)
}

/// Decompresses by the stream's first bytes (gzip, zstd, or a plain tar), whatever the
/// media type claims.
fn with_decompressed<R: BufRead>(
    mut r: R,
    f: impl FnOnce(&mut dyn Read) -> Result<(), String>,
) -> Result<(), String> {
    let head = r.fill_buf().map_err(|e| e.to_string())?.to_vec();
    if head.starts_with(&[0x1f, 0x8b]) {
        f(&mut flate2::bufread::GzDecoder::new(r))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        let mut d = zstd::stream::read::Decoder::with_buffer(r).map_err(|e| e.to_string())?;
        f(&mut d)
    } else {
        let mut r = r;
        f(&mut r)
    }
}

/// Removes the temporary folders of unpacks whose jail died before it could (killed): their
/// pid, at the end of the name, is gone.
fn remove_stale(cache: &Path) {
    let Ok(rd) = std::fs::read_dir(cache) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(".tmp-") else {
            continue;
        };
        let pid = rest.rsplit('-').next().and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid {
            if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = remove_tree(&e.path());
            }
        }
    }
}

/// The bytes an image may take in the file system of `dir`: what is free for the caller, less
/// a twentieth (an image must not fill the disk the home is on).
fn space_in(dir: &OwnedFd) -> u64 {
    // SAFETY: a valid descriptor; `st` is written by the call.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstatvfs(dir.as_raw_fd(), &mut st) } != 0 {
        return u64::MAX;
    }
    let free = (st.f_bavail as u64).saturating_mul(st.f_frsize as u64);
    free - free / 20
}

/// Removes a tree we made, making folders writable first (an image may hold read-only ones).
fn remove_tree(p: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let md = std::fs::symlink_metadata(p)?;
    if md.is_dir() {
        let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o700));
        for e in std::fs::read_dir(p)? {
            remove_tree(&e?.path())?;
        }
        std::fs::remove_dir(p)
    } else {
        std::fs::remove_file(p)
    }
}
