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

#[cfg(test)]
mod tests {
    use super::*;
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
