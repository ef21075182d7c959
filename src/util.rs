//! Small helpers shared by every layer.

/// `(libc::EPERM, "EPERM")` … for each name.
macro_rules! errno_table {
    [$($name:ident),* $(,)?] => { &[$((libc::$name, stringify!($name))),*] };
}

/// How much jail prints about itself (`--quiet`, default, `--verbose`); shared by the commands
/// and the executor, so it lives below both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

/// Every errno Linux defines with its kernel name: the crate's one errno-name table (the
/// profile parser, error messages, the seccomp compiler and installer and the cgroup errors all
/// read it through [`errno_str`]). Where two names share a number (EWOULDBLOCK = EAGAIN,
/// EDEADLOCK = EDEADLK, ENOTSUP = EOPNOTSUPP) only the first is listed, as `nix`'s `Errno`
/// prints it; a unit test keeps the two in step.
#[rustfmt::skip]
static ERRNOS: &[(i32, &str)] = errno_table![
    EPERM, ENOENT, ESRCH, EINTR, EIO, ENXIO, E2BIG, ENOEXEC, EBADF, ECHILD, EAGAIN, ENOMEM, EACCES,
    EFAULT, ENOTBLK, EBUSY, EEXIST, EXDEV, ENODEV, ENOTDIR, EISDIR, EINVAL, ENFILE, EMFILE, ENOTTY,
    ETXTBSY, EFBIG, ENOSPC, ESPIPE, EROFS, EMLINK, EPIPE, EDOM, ERANGE, EDEADLK, ENAMETOOLONG,
    ENOLCK, ENOSYS, ENOTEMPTY, ELOOP, ENOMSG, EIDRM, ECHRNG, EL2NSYNC, EL3HLT, EL3RST, ELNRNG,
    EUNATCH, ENOCSI, EL2HLT, EBADE, EBADR, EXFULL, ENOANO, EBADRQC, EBADSLT, EBFONT, ENOSTR,
    ENODATA, ETIME, ENOSR, ENONET, ENOPKG, EREMOTE, ENOLINK, EADV, ESRMNT, ECOMM, EPROTO, EMULTIHOP,
    EDOTDOT, EBADMSG, EOVERFLOW, ENOTUNIQ, EBADFD, EREMCHG, ELIBACC, ELIBBAD, ELIBSCN, ELIBMAX,
    ELIBEXEC, EILSEQ, ERESTART, ESTRPIPE, EUSERS, ENOTSOCK, EDESTADDRREQ, EMSGSIZE, EPROTOTYPE,
    ENOPROTOOPT, EPROTONOSUPPORT, ESOCKTNOSUPPORT, EOPNOTSUPP, EPFNOSUPPORT, EAFNOSUPPORT,
    EADDRINUSE, EADDRNOTAVAIL, ENETDOWN, ENETUNREACH, ENETRESET, ECONNABORTED, ECONNRESET, ENOBUFS,
    EISCONN, ENOTCONN, ESHUTDOWN, ETOOMANYREFS, ETIMEDOUT, ECONNREFUSED, EHOSTDOWN, EHOSTUNREACH,
    EALREADY, EINPROGRESS, ESTALE, EUCLEAN, ENOTNAM, ENAVAIL, EISNAM, EREMOTEIO, EDQUOT, ENOMEDIUM,
    EMEDIUMTYPE, ECANCELED, ENOKEY, EKEYEXPIRED, EKEYREVOKED, EKEYREJECTED, EOWNERDEAD,
    ENOTRECOVERABLE, ERFKILL, EHWPOISON,
];

/// 1 → `Some("EPERM")`; None for a number Linux does not define. Does not allocate.
pub fn errno_str(n: i32) -> Option<&'static str> {
    ERRNOS.iter().find(|&&(v, _)| v == n).map(|&(_, name)| name)
}

/// `EPERM` → 1. Names are the kernel's (those of [`errno_name`]).
pub fn errno_from_name(name: &str) -> Option<i32> {
    ERRNOS.iter().find(|&&(_, n)| n == name).map(|&(v, _)| v)
}

/// 1 → `EPERM`; unknown numbers print as `errno N`.
pub fn errno_name(n: i32) -> String {
    match errno_str(n) {
        Some(name) => name.to_string(),
        None => format!("errno {n}"),
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
    read_regular_of(path, max, nofollow, None)
}

/// [`read_regular`] of a file jail obeys (a profile): owned by `owner` or root and not
/// writable by others, judged on the same descriptor — like git's "dubious ownership", a
/// profile another user could have written (`sudo -E` keeps `XDG_CONFIG_HOME`) is refused.
pub fn read_trusted(path: &std::path::Path, max: u64, owner: u32) -> std::io::Result<Vec<u8>> {
    read_regular_of(path, max, false, Some(owner))
}

fn read_regular_of(
    path: &std::path::Path,
    max: u64,
    nofollow: bool,
    owner: Option<u32>,
) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
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
    if let Some(uid) = owner {
        if meta.uid() != uid && meta.uid() != 0 {
            return Err(std::io::Error::other(format!(
                "it belongs to uid {}, neither you nor root (jail obeys only profiles you or root wrote)",
                meta.uid()
            )));
        }
        if meta.mode() & 0o002 != 0 {
            return Err(std::io::Error::other(
                "anyone may write it (chmod o-w it: jail obeys only profiles you or root control)",
            ));
        }
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

/// Test support: a fresh folder `$TMPDIR/PREFIX-PID-N`, removed with everything in it when the
/// guard drops — at the end of the test, also when the test panics — so unit tests leave
/// nothing in /tmp.
#[cfg(test)]
pub struct ScratchDir(std::path::PathBuf);

#[cfg(test)]
impl ScratchDir {
    pub fn new(prefix: &str) -> ScratchDir {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("{prefix}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        ScratchDir(dir)
    }
}

#[cfg(test)]
impl std::ops::Deref for ScratchDir {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

#[cfg(test)]
impl AsRef<std::path::Path> for ScratchDir {
    fn as_ref(&self) -> &std::path::Path {
        &self.0
    }
}

#[cfg(test)]
impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether printing `c` raw could make a terminal do something other than show it: C0 controls
/// (ESC starts a control sequence, CR and BS overwrite), DEL, C1 controls (U+009B is a CSI on
/// some terminals), and the Unicode bidi controls and line separators that reorder or break what
/// is shown.
fn is_terminal_control(c: char) -> bool {
    matches!(c,
        '\0'..='\x1f' | '\x7f'..='\u{9f}'
        | '\u{061c}' | '\u{200e}' | '\u{200f}'
        | '\u{2028}' | '\u{2029}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Text from a profile (or any other untrusted source) made safe to print on a terminal: every
/// control character is written as a visible escape (`\x1b`, `\u{202e}`), so what a profile
/// says is shown, never obeyed. `multiline` keeps `\n`: for whole reports whose lines jail
/// itself laid out; single values (a name, a message) escape it too.
pub fn printable(s: &str, multiline: bool) -> std::borrow::Cow<'_, str> {
    if !s
        .chars()
        .any(|c| is_terminal_control(c) && !(multiline && c == '\n'))
    {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if multiline && c == '\n' {
            out.push('\n');
        } else if is_terminal_control(c) {
            use std::fmt::Write;
            let _ = if (c as u32) < 0x80 {
                write!(out, "\\x{:02x}", c as u32)
            } else {
                write!(out, "\\u{{{:x}}}", c as u32)
            };
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// JSON for a terminal: serde_json already writes C0 controls as `\u00XX`; this also writes DEL,
/// C1 and the bidi controls as `\uXXXX` escapes. They can only occur inside strings, so the
/// result is the same JSON value.
pub fn printable_json(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(is_terminal_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        // Structural newlines of pretty-printed JSON stay; raw C0 never occurs inside a string.
        if is_terminal_control(c) && c != '\n' {
            use std::fmt::Write;
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_escapes_what_a_terminal_acts_on() {
        assert_eq!(printable("plain name-1 ü", false), "plain name-1 ü");
        assert_eq!(
            printable("evil\x1b[31mRED\n2nd\x07\x7f", false),
            "evil\\x1b[31mRED\\x0a2nd\\x07\\x7f"
        );
        assert_eq!(printable("a\u{9b}b", false), "a\\u{9b}b");
        assert_eq!(
            printable("\u{202e}txt.exe\u{2066}", false),
            "\\u{202e}txt.exe\\u{2066}"
        );
        assert!(matches!(
            printable("ok", false),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn errno_table_names_what_nix_names() {
        use nix::errno::Errno;
        for n in -1..=4096 {
            let e = Errno::from_raw(n);
            let nix_name = (e != Errno::UnknownErrno).then(|| format!("{e:?}"));
            assert_eq!(errno_str(n).map(str::to_string), nix_name, "errno {n}");
        }
    }

    #[test]
    fn errno_names_round_trip() {
        assert_eq!(errno_from_name("EPERM"), Some(1));
        assert_eq!(errno_from_name("ENOSYS"), Some(libc::ENOSYS));
        assert_eq!(errno_name(libc::EACCES), "EACCES");
        assert_eq!(errno_from_name("NOPE"), None);
        assert_eq!(
            errno_from_name("errno 41"),
            None,
            "a number Linux does not name is no name"
        );
        assert_eq!(human_bytes(64 << 20), "64 MiB");
        assert_eq!(human_bytes(1536 << 20), "1.5 GiB");
    }

    #[test]
    fn printable_escapes_every_terminal_control() {
        assert_eq!(printable("plain é ✓", false), "plain é ✓");
        assert_eq!(
            printable("a\u{1b}[8mb\r\x07\x7f\u{9b}\u{202e}\u{2066}\tc\nd", false),
            "a\\x1b[8mb\\x0d\\x07\\x7f\\u{9b}\\u{202e}\\u{2066}\\x09c\\x0ad"
        );
        assert_eq!(printable("a\nb\u{1b}", true), "a\nb\\x1b");
        let j = serde_json::to_string(&"x\u{1b}\u{9b}\u{202e}").unwrap();
        let safe = printable_json(&j);
        assert!(!safe.chars().any(is_terminal_control), "{safe}");
        let back: String = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, "x\u{1b}\u{9b}\u{202e}");
    }
}
