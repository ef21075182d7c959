//! A check of a tar stream's raw 512-byte headers, before the tar crate parses them: the crate
//! reads a GNU long name or long link (`L`, `K`) and a PAX header (`x`, `g`) whole into memory,
//! whatever size its header claims (a 3 GiB `././@LongLink` costs 3 GiB of memory, and more).
//! An extension entry larger than [`EXT_LIMIT`] is refused from its header, before a byte of its
//! data is read. The headers are followed the way the crate follows them: an entry's data is
//! its header's size rounded up to 512 bytes (a PAX `size` record overriding it for the next
//! entry), and the first all-zero block ends the archive.

use std::io::{Read, Seek, SeekFrom};

/// The largest extension entry (long name, long link, PAX records) accepted.
pub const EXT_LIMIT: u64 = 64 << 10;
const BLOCK: u64 = 512;

/// Follows the headers of the bytes that pass through it.
#[derive(Default)]
pub struct Headers {
    hdr: Vec<u8>,
    /// Bytes of the current entry's data (padded) still to pass.
    skip: u64,
    /// The PAX records of an `x` entry being read (they are at most EXT_LIMIT).
    pax: Option<(Vec<u8>, usize)>,
    pax_size: Option<u64>,
    done: bool,
}

impl Headers {
    /// Feeds the next bytes of the stream.
    pub fn feed(&mut self, mut b: &[u8]) -> Result<(), String> {
        while !b.is_empty() && !self.done {
            if self.skip > 0 {
                let n = (self.skip.min(b.len() as u64)) as usize;
                if let Some((p, want)) = &mut self.pax {
                    // The records, not the padding after them.
                    let k = (*want - p.len()).min(n);
                    p.extend_from_slice(&b[..k]);
                }
                self.skip -= n as u64;
                b = &b[n..];
                if self.skip == 0 {
                    if let Some((p, _)) = self.pax.take() {
                        self.pax_size = pax_size(&p)?;
                    }
                }
                continue;
            }
            let n = (BLOCK as usize - self.hdr.len()).min(b.len());
            self.hdr.extend_from_slice(&b[..n]);
            b = &b[n..];
            if self.hdr.len() == BLOCK as usize {
                let h = std::mem::take(&mut self.hdr);
                self.header(&h)?;
            }
        }
        Ok(())
    }

    fn header(&mut self, h: &[u8]) -> Result<(), String> {
        if h.iter().all(|&c| c == 0) {
            self.done = true;
            return Ok(());
        }
        let hd = tar::Header::from_byte_slice(h);
        let mut size = hd
            .entry_size()
            .map_err(|e| format!("corrupt tar header: {e}"))?;
        let t = hd.entry_type();
        let ext = t.is_gnu_longname()
            || t.is_gnu_longlink()
            || t.is_pax_local_extensions()
            || t.is_pax_global_extensions();
        if ext {
            if size > EXT_LIMIT {
                return Err(format!(
                    "a tar extension header (type {:?}) of {size} bytes, more than {EXT_LIMIT}",
                    t.as_byte() as char
                ));
            }
        } else if let Some(s) = self.pax_size.take() {
            size = s;
        }
        if t.is_gnu_sparse() {
            // Its extra header blocks would not be followed here; sparse files are refused.
            return Err("a sparse tar entry (not supported)".into());
        }
        if t.is_pax_local_extensions() {
            self.pax = Some((Vec::with_capacity(size as usize), size as usize));
            if size == 0 {
                self.pax = None;
            }
        }
        self.skip = size
            .checked_add(BLOCK - 1)
            .ok_or("corrupt tar header: size overflow")?
            & !(BLOCK - 1);
        Ok(())
    }
}

/// The `size` record of PAX records (`LEN size=N\n`). Anything the tar crate might read
/// otherwise is refused (a malformed record, two `size` records, a size that is not a number):
/// the two must agree on where the next header is.
fn pax_size(p: &[u8]) -> Result<Option<u64>, String> {
    let mut out = None;
    for e in tar::PaxExtensions::new(p) {
        let e = e.map_err(|e| format!("malformed PAX records: {e}"))?;
        if e.key_bytes() == b"size" {
            let v = std::str::from_utf8(e.value_bytes())
                .ok()
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or("a PAX size that is not a number")?;
            if out.replace(v).is_some() {
                return Err("two PAX size records".into());
            }
        }
    }
    Ok(out)
}

/// A reader that follows the headers of what it passes (see [`Headers`]).
pub struct Guarded<R> {
    inner: R,
    h: Headers,
}

impl<R: Read> Guarded<R> {
    pub fn new(inner: R) -> Self {
        Guarded {
            inner,
            h: Headers::default(),
        }
    }
}

impl<R: Read> Read for Guarded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.h.feed(&buf[..n]).map_err(std::io::Error::other)?;
        Ok(n)
    }
}

/// Checks the headers of the tar file `f` (seeking over the data), then rewinds it.
pub fn check_file(f: &mut std::fs::File) -> Result<(), String> {
    let mut h = Headers::default();
    let mut block = [0u8; BLOCK as usize];
    let mut pos = 0u64;
    while !h.done {
        if h.skip > 0 && h.pax.is_none() {
            pos = pos
                .checked_add(h.skip)
                .ok_or("corrupt tar: size overflow")?;
            f.seek(SeekFrom::Start(pos)).map_err(|e| e.to_string())?;
            h.skip = 0;
            continue;
        }
        let n = read_full(f, &mut block)?;
        if n == 0 {
            break;
        }
        h.feed(&block[..n])?;
        pos += n as u64;
        if n < block.len() {
            break;
        }
    }
    f.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    Ok(())
}

fn read_full(f: &mut std::fs::File, b: &mut [u8]) -> Result<usize, String> {
    let mut got = 0;
    while got < b.len() {
        match f.read(&mut b[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(name: &str, kind: tar::EntryType, size: u64) -> Vec<u8> {
        let mut h = tar::Header::new_gnu();
        h.set_path(name).unwrap();
        h.set_size(size);
        h.set_entry_type(kind);
        h.set_cksum();
        h.as_bytes().to_vec()
    }

    #[test]
    fn a_huge_long_name_is_refused_from_its_header() {
        let mut h = Headers::default();
        let e = h
            .feed(&hdr("././@LongLink", tar::EntryType::GNULongName, 3 << 30))
            .unwrap_err();
        assert!(e.contains("extension header"), "{e}");
        let mut h = Headers::default();
        assert!(h.feed(&hdr("p", tar::EntryType::XHeader, 1 << 20)).is_err());
        let mut h = Headers::default();
        assert!(h
            .feed(&hdr("g", tar::EntryType::XGlobalHeader, 1 << 20))
            .is_err());
    }

    #[test]
    fn data_is_skipped_and_a_pax_size_followed() {
        let mut s = hdr("a", tar::EntryType::Regular, 1000);
        s.extend_from_slice(&[b'L'; 1024]); // data that looks like anything
        let rec = b"16 size=1000000\n";
        s.extend_from_slice(&hdr("p", tar::EntryType::XHeader, rec.len() as u64));
        let mut blk = rec.to_vec();
        blk.resize(512, 0);
        s.extend_from_slice(&blk);
        s.extend_from_slice(&hdr("big", tar::EntryType::Regular, 0));
        let mut h = Headers::default();
        h.feed(&s).unwrap();
        assert_eq!(h.skip, 1000448);
        // Two size records: which one a reader takes is up to it; refused.
        assert!(pax_size(b"12 size=100\n12 size=900\n").is_err());
        assert!(pax_size(b"12 size=1x0\n").is_err());
        assert_eq!(pax_size(b"12 size=100\n").unwrap(), Some(100));
    }
}
