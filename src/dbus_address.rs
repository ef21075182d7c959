//! D-Bus server addresses (the D-Bus specification, "Server Addresses"): parsing the unix socket
//! entries of an address list, and writing a `unix:path=` address.
//!
//! An address is a `;`-separated list of `transport:key=value,key=value` entries, values with
//! `%xx` escapes. Only the unix transport's `path=` (a socket file) and `abstract=` (a socket in
//! the abstract namespace) name a socket a client can connect to; other transports (`tcp:`,
//! `launchd:`, …) and other keys (`guid=`, …) are passed over.
//!
//! Pure and a leaf: both the plan (which binds the session's socket file into a sandbox) and the
//! sandbox's own D-Bus client (which connects to systemd) use it.

use std::path::Path;

/// A unix socket named by an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnixSocket {
    /// `unix:path=…`: a socket file.
    Path(String),
    /// `unix:abstract=…`: a name in the abstract socket namespace.
    Abstract(String),
}

/// Why an address cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// A `%` not followed by two hexadecimal digits.
    #[error("bad %-escape in a D-Bus address")]
    BadEscape,
    /// A value whose bytes, once unescaped, are not UTF-8.
    #[error("a D-Bus address that is not UTF-8")]
    NotUtf8,
}

/// Every `unix:path=` and `unix:abstract=` of `address`, in the order they are written (a
/// client tries them in that order). Refuses the whole address when one of those values has an
/// escape that is not `%` and two hex digits, or is not UTF-8 once unescaped.
pub fn unix_sockets(address: &str) -> Result<Vec<UnixSocket>, AddressError> {
    let mut out = Vec::new();
    for entry in address.split(';') {
        let Some(params) = entry.strip_prefix("unix:") else {
            continue;
        };
        for kv in params.split(',') {
            match kv.split_once('=') {
                Some(("path", v)) => out.push(UnixSocket::Path(unescape(v)?)),
                Some(("abstract", v)) => out.push(UnixSocket::Abstract(unescape(v)?)),
                _ => {}
            }
        }
    }
    Ok(out)
}

/// A value with its `%xx` escapes decoded.
fn unescape(v: &str) -> Result<String, AddressError> {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let digit = |j: usize| b.get(j).copied().and_then(hex);
            let (Some(h), Some(l)) = (digit(i + 1), digit(i + 2)) else {
                return Err(AddressError::BadEscape);
            };
            out.push(h * 16 + l);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| AddressError::NotUtf8)
}

/// `unix:path=…` for `path`, with every byte the specification does not list as optionally
/// unescaped (`[-0-9A-Za-z_/.\*]`) written `%xx`.
pub fn unix_path_address(path: &Path) -> String {
    let mut s = String::from("unix:path=");
    for b in path.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"-_/.\\*".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02x}"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> UnixSocket {
        UnixSocket::Path(p.into())
    }

    #[test]
    fn unix_entries_in_order_others_passed_over() {
        assert_eq!(
            unix_sockets("unix:path=/run/user/1000/bus"),
            Ok(vec![path("/run/user/1000/bus")])
        );
        assert_eq!(
            unix_sockets("tcp:host=x;unix:abstract=/tmp/dbus-abc,guid=123;unix:path=/a%20b"),
            Ok(vec![
                UnixSocket::Abstract("/tmp/dbus-abc".into()),
                path("/a b")
            ])
        );
        assert_eq!(
            unix_sockets("unix:path=/a,guid=1;;unix:path=/b"),
            Ok(vec![path("/a"), path("/b")])
        );
        // Keys are matched whole; listening-only keys and other transports name no socket.
        for none in [
            "",
            ";",
            "tcp:host=localhost,port=1",
            "unix:tmpdir=/tmp",
            "unix:runtime=yes",
            "unix:paths=/a",
            "xunix:path=/a",
            "unix:guid=1",
        ] {
            assert_eq!(unix_sockets(none), Ok(vec![]), "{none:?}");
        }
        assert_eq!(unix_sockets("unix:path="), Ok(vec![path("")]));
    }

    #[test]
    fn escapes_are_decoded_or_refused() {
        assert_eq!(
            unix_sockets("unix:path=%2frun%2Fx%25"),
            Ok(vec![path("/run/x%")])
        );
        assert_eq!(
            unix_sockets("unix:path=/caf%c3%a9"),
            Ok(vec![path("/café")])
        );
        for bad in [
            "unix:path=/a%",
            "unix:path=/a%2",
            "unix:path=/a%zz",
            "unix:path=/a%+1",
            "unix:path=/a%-1",
            "unix:path=/a%é",
            // A bad value anywhere refuses the whole address, abstract ones too.
            "unix:path=/ok;unix:path=/a%g0",
            "unix:abstract=%x;unix:path=/ok",
        ] {
            assert_eq!(unix_sockets(bad), Err(AddressError::BadEscape), "{bad:?}");
        }
        assert_eq!(unix_sockets("unix:path=/a%ff"), Err(AddressError::NotUtf8));
        // Values of other keys and transports are not read.
        assert_eq!(
            unix_sockets("tcp:host=%zz;unix:guid=%,path=/a"),
            Ok(vec![path("/a")])
        );
    }

    #[test]
    fn unix_path_address_escapes_what_it_must_and_round_trips() {
        assert_eq!(
            unix_path_address(Path::new("/run/user/1000/bus")),
            "unix:path=/run/user/1000/bus"
        );
        assert_eq!(
            unix_path_address(Path::new("/a b,c;d=%é")),
            "unix:path=/a%20b%2cc%3bd%3d%25%c3%a9"
        );
        for p in ["/a b", "/x,y;z", "/100%", "/é/_-.*\\"] {
            assert_eq!(
                unix_sockets(&unix_path_address(Path::new(p))),
                Ok(vec![path(p)])
            );
        }
    }
}
