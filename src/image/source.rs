//! Where an image's blobs come from: an OCI image layout folder or a `docker save` archive.
//! Every blob read is checked against its sha256 digest before it is used.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// A reader that hashes what passes through it; [`Hashing::finish`] reads the rest and
/// returns the sha256 of the whole stream.
pub struct Hashing<R> {
    inner: R,
    h: Sha256,
}

impl<R: Read> Hashing<R> {
    pub fn new(inner: R) -> Self {
        Hashing {
            inner,
            h: Sha256::new(),
        }
    }

    pub fn finish(mut self) -> std::io::Result<String> {
        std::io::copy(&mut self, &mut std::io::sink())?;
        Ok(hex(&self.h.finalize()))
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.h.update(&buf[..n]);
        Ok(n)
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn sha256_hex(b: &[u8]) -> String {
    hex(&Sha256::digest(b))
}

/// `sha256:HEX` → HEX, checked.
pub fn digest_hex(d: &str) -> Result<&str, String> {
    match d.split_once(':') {
        Some(("sha256", h)) if h.len() == 64 && h.bytes().all(|c| c.is_ascii_hexdigit()) => Ok(h),
        _ => Err(format!(
            "digest {}: only sha256 digests are supported",
            crate::util::printable(d, false)
        )),
    }
}

pub enum Source {
    /// An OCI image layout: `DIR/blobs/sha256/HEX`.
    Layout(PathBuf),
    /// A `docker save` tar: member name → (offset, size).
    Archive {
        file: PathBuf,
        members: HashMap<String, (u64, u64)>,
    },
}

impl Source {
    pub fn archive(file: &Path) -> Result<Source, String> {
        let mut f = File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
        // Extension headers are checked before the tar crate reads them whole.
        super::guard::check_file(&mut f).map_err(|e| format!("{}: {e}", file.display()))?;
        let mut ar = tar::Archive::new(f);
        let mut members = HashMap::new();
        let mut links = vec![];
        let entries = ar
            .entries_with_seek()
            .map_err(|e| format!("{}: not a tar: {e}", file.display()))?;
        for e in entries {
            let e = e.map_err(|e| format!("{}: corrupt tar: {e}", file.display()))?;
            let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
            let name = name.trim_start_matches("./").to_string();
            let kind = e.header().entry_type();
            if kind.is_file() {
                members.insert(name, (e.raw_file_position(), e.size()));
            } else if kind.is_symlink() {
                // skopeo's docker-archive: ID/layer.tar -> ../HEX.tar
                if let Some(t) = e.link_name_bytes() {
                    links.push((name, String::from_utf8_lossy(&t).into_owned()));
                }
            }
        }
        // Symlinks are followed one step, as names inside the archive (never on the host).
        for (name, target) in links {
            let mut parts: Vec<&str> = name.split('/').collect();
            parts.pop();
            for c in target.split('/') {
                match c {
                    "" | "." => {}
                    ".." => {
                        parts.pop();
                    }
                    c => parts.push(c),
                }
            }
            if target.starts_with('/') {
                continue;
            }
            if let Some(&m) = members.get(&parts.join("/")) {
                members.entry(name).or_insert(m);
            }
        }
        Ok(Source::Archive {
            file: file.to_path_buf(),
            members,
        })
    }

    /// A member of the archive or a file of the layout, by relative path.
    pub fn open_path(&self, rel: &str) -> Result<Box<dyn Read>, String> {
        let shown = crate::util::printable(rel, false);
        match self {
            Source::Layout(dir) => {
                if rel.split('/').any(|c| c == ".." || c.is_empty()) {
                    return Err(format!("{shown}: not a path inside the layout"));
                }
                let p = dir.join(rel);
                open_beneath(dir, rel)
                    .map(|f| Box::new(f) as Box<dyn Read>)
                    .map_err(|e| format!("{}: {e}", p.display()))
            }
            Source::Archive { file, members } => {
                let rel = rel.trim_start_matches("./");
                let &(off, size) = members
                    .get(rel)
                    .ok_or_else(|| format!("{}: no member {shown}", file.display()))?;
                let mut f = File::open(file).map_err(|e| format!("{}: {e}", file.display()))?;
                f.seek(SeekFrom::Start(off))
                    .map_err(|e| format!("{}: {e}", file.display()))?;
                Ok(Box::new(f.take(size)))
            }
        }
    }

    /// A small file read whole, at most `limit` bytes.
    pub fn read_small(&self, rel: &str, limit: u64) -> Result<Vec<u8>, String> {
        let mut v = vec![];
        self.open_path(rel)?
            .take(limit + 1)
            .read_to_end(&mut v)
            .map_err(|e| format!("{}: {e}", crate::util::printable(rel, false)))?;
        if v.len() as u64 > limit {
            return Err(format!(
                "{}: larger than {limit} bytes",
                crate::util::printable(rel, false)
            ));
        }
        Ok(v)
    }

    /// A small blob read whole and checked against its digest.
    pub fn verified(&self, digest: &str, limit: u64) -> Result<Vec<u8>, String> {
        let h = digest_hex(digest)?;
        let v = self.read_small(&format!("blobs/sha256/{h}"), limit)?;
        check(digest, &sha256_hex(&v))?;
        Ok(v)
    }
}

/// Opens `rel` in the layout `dir` as a regular file: a symlink in the layout may not lead out
/// of it (`RESOLVE_BENEATH`: a blob linked to a file only root may read is not read for root),
/// and a fifo cannot make jail wait.
fn open_beneath(dir: &Path, rel: &str) -> Result<File, String> {
    const RESOLVE_BENEATH: u64 = 0x08;
    let d = File::open(dir).map_err(|e| e.to_string())?;
    use std::os::fd::AsRawFd;
    let fd = crate::sandbox::sys::openat2(
        d.as_raw_fd(),
        rel,
        libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY,
        RESOLVE_BENEATH | crate::sandbox::sys::RESOLVE_NO_MAGICLINKS,
    )
    .map_err(|e| match e {
        nix::errno::Errno::ENOENT => "missing (a blob the image names is not there)".to_string(),
        nix::errno::Errno::EXDEV => "a symlink leading out of the layout".to_string(),
        e => e.to_string(),
    })?;
    let st = crate::sandbox::sys::fstat(fd.as_raw_fd()).map_err(|e| e.to_string())?;
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err("not a regular file".into());
    }
    let f = File::from(fd);
    // Back to blocking reads (O_NONBLOCK only kept the open from waiting on a fifo).
    // SAFETY: a valid descriptor; F_SETFL with plain flags.
    unsafe { libc::fcntl(f.as_raw_fd(), libc::F_SETFL, libc::O_RDONLY) };
    Ok(f)
}

pub fn check(digest: &str, got_hex: &str) -> Result<(), String> {
    let want = digest_hex(digest)?;
    if want != got_hex {
        return Err(format!(
            "blob {}: digest mismatch (its content hashes to sha256:{got_hex}; the image is corrupt or was changed)",
            crate::util::printable(digest, false)
        ));
    }
    Ok(())
}
