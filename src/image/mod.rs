//! Container images from local files (`jail run --image`, SPEC §6): an OCI image layout
//! (`oci:DIR[:TAG]`, or as one tar `oci-archive:FILE[:TAG]`) or a `docker save` archive
//! (`docker-archive:FILE`). Nothing is fetched. [`apply`] applies the image config to a profile.
//!
//! [`open`] finds the image's manifest, checks every blob it reads against its sha256 digest
//! (and every layer, uncompressed, against the config's diff_id), unpacks the layers once into
//! the cache (`$XDG_CACHE_HOME/jail/images/2-HEX/rootfs`, keyed by the config's digest: see
//! [`cache_key`]) and returns that folder with the image config. Unpacking happens in a
//! temporary folder beside the entry, renamed into place only when every layer is in: a failure
//! leaves nothing in the cache. The cache's rules are in `cache`, the unpacker's in [`unpack`].

pub mod apply;
mod cache;
mod guard;
mod source;
pub mod unpack;

pub use cache::cache_dir;

use oci_spec::image::{ImageConfiguration, ImageIndex, ImageManifest};
use source::Source;
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
    let (rootfs, fresh) = cache::unpack_cached(&src, &key, &layers)?;
    Ok(Image {
        rootfs,
        config,
        reference: crate::util::printable(reference, false).into_owned(),
        fresh,
    })
}

/// A layer to unpack: where its bytes are, the sha256 they must hash to, and the sha256 of
/// their uncompressed tar (the config's diff_id).
struct Layer {
    path: String,
    digest: String,
    diff_id: String,
}

/// The cache key: the config's digest. The config lists the layers' diff_ids, and every layer
/// unpacked is checked against its diff_id, so what is keyed is what was unpacked (two images
/// sharing a config but not their layers are refused, one of them, rather than sharing a root).
/// `2-` keeps entries of versions that did not check diff_ids out of use.
fn cache_key(config: &[u8]) -> String {
    format!("2-{}", source::sha256_hex(config))
}

/// Pairs the layers with the config's diff_ids (as many, in order).
fn with_diff_ids(
    shown: &str,
    layers: Vec<(String, String)>,
    diff_ids: &[String],
) -> Result<Vec<Layer>, String> {
    if layers.len() != diff_ids.len() {
        return Err(format!(
            "{shown}: {} layers but the config lists {} diff_ids",
            layers.len(),
            diff_ids.len()
        ));
    }
    let mut out = vec![];
    for ((path, digest), d) in layers.into_iter().zip(diff_ids) {
        source::digest_hex(d)?;
        out.push(Layer {
            path,
            digest,
            diff_id: d.clone(),
        });
    }
    Ok(out)
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
    let cfg = ImageConfiguration::from_reader(&config[..])
        .map_err(|e| format!("the image config is not valid: {e}"))?;
    let mut layers = vec![];
    for l in man.layers() {
        let d = l.digest().to_string();
        layers.push((format!("blobs/sha256/{}", source::digest_hex(&d)?), d));
    }
    let layers = with_diff_ids(
        &format!("manifest {digest}"),
        layers,
        cfg.rootfs().diff_ids(),
    )?;
    Ok((src, cache_key(&config), config, layers))
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
        // whose digest is the config's diff_id. Either way the uncompressed stream is checked
        // against the diff_id too.
        let digest = match n.strip_prefix("blobs/sha256/") {
            Some(h) => format!("sha256:{h}"),
            None => d.clone(),
        };
        layers.push((n.to_string(), digest));
    }
    let layers = with_diff_ids(&shown.to_string(), layers, diff_ids)?;
    Ok((src, cache_key(&config), config, layers))
}
