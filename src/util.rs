//! Small helpers shared by every layer.

use nix::errno::Errno;

/// `EPERM` → 1. Names are the kernel's (`nix`'s `Errno` Debug names).
pub fn errno_from_name(name: &str) -> Option<i32> {
    (1..200).find(|&n| errno_name(n) == name)
}

/// 1 → `EPERM`; unknown numbers print as `errno N`.
pub fn errno_name(n: i32) -> String {
    let e = Errno::from_raw(n);
    if e == Errno::UnknownErrno {
        format!("errno {n}")
    } else {
        format!("{e:?}")
    }
}

/// `64 MiB`, `1.5 GiB`: a byte count as a person reads it.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 || v.fract() == 0.0 {
        format!("{} {}", v as u64, UNITS[u])
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Reads a regular file of at most `max` bytes through one descriptor: opened without blocking
/// (a FIFO planted in its place cannot hang jail), judged by `fstat` of that descriptor (a
/// device such as `/dev/zero` is refused), and read no further than `max + 1` bytes, so a file
/// swapped or grown after the check cannot exhaust memory. `nofollow` refuses a final symlink.
pub fn read_regular(path: &std::path::Path, max: u64, nofollow: bool) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let mut flags = libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
    if nofollow {
        flags |= libc::O_NOFOLLOW;
    }
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)?;
    let meta = f.metadata()?;
    let t = meta.file_type();
    if !t.is_file() {
        let what = if t.is_dir() {
            "a folder"
        } else if t.is_fifo() {
            "a FIFO"
        } else if t.is_char_device() || t.is_block_device() {
            "a device"
        } else {
            "not a regular file"
        };
        return Err(std::io::Error::other(format!("it is {what}")));
    }
    let mut buf = Vec::with_capacity(meta.len().min(max) as usize);
    f.take(max + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > max {
        return Err(std::io::Error::other(format!(
            "it is larger than {}",
            human_bytes(max)
        )));
    }
    Ok(buf)
}

/// Text as it may go to a terminal: control characters (C0 but none, DEL, C1) become `\xNN`
/// or `\u{NN}`, and the bidi overrides and isolates (U+202A–U+202E, U+2066–U+2069) `\u{NNNN}`,
/// so a name or command line chosen by somebody else can neither move the cursor, recolour nor
/// reorder what is shown around it. A backslash itself stays as it is.
pub fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    fn bad(c: char) -> bool {
        c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }
    if !s.chars().any(bad) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !bad(c) {
            o.push(c);
        } else if (c as u32) < 0x80 {
            o.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            o.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    std::borrow::Cow::Owned(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_escapes_what_a_terminal_acts_on() {
        assert_eq!(printable("plain name-1 ü"), "plain name-1 ü");
        assert_eq!(
            printable("evil\x1b[31mRED\n2nd\x07\x7f"),
            "evil\\x1b[31mRED\\x0a2nd\\x07\\x7f"
        );
        assert_eq!(printable("a\u{9b}b"), "a\\u{9b}b");
        assert_eq!(
            printable("\u{202e}txt.exe\u{2066}"),
            "\\u{202e}txt.exe\\u{2066}"
        );
        assert!(matches!(printable("ok"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn errno_names_round_trip() {
        assert_eq!(errno_from_name("EPERM"), Some(1));
        assert_eq!(errno_from_name("ENOSYS"), Some(libc::ENOSYS));
        assert_eq!(errno_name(libc::EACCES), "EACCES");
        assert_eq!(errno_from_name("NOPE"), None);
        assert_eq!(human_bytes(64 << 20), "64 MiB");
        assert_eq!(human_bytes(1536 << 20), "1.5 GiB");
    }
}
