//! The refusal report's Landlock part: what Landlock refused COMMAND, where the kernel tells.
//! Landlock (ABI 7+) logs each denial to the kernel's audit log when the domain asks for it
//! (`plan.process.report_landlock`: a sandbox started by root with the report on); the
//! supervisor reads the audit multicast group (`AUDIT_NLGRP_READLOG`, which needs
//! CAP_AUDIT_READ: root only) and keeps the records of COMMAND's own domain. With the
//! kernel's audit off (no auditd, `audit=0`) nothing is logged and nothing is said.

use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const NETLINK_AUDIT: i32 = 9;
const AUDIT_NLGRP_READLOG: u32 = 1;
const AUDIT_LANDLOCK_ACCESS: u16 = 1423;
const AUDIT_LANDLOCK_DOMAIN: u16 = 1424;

/// The audit log, read from before the sandbox starts.
pub struct Listener(OwnedFd);

/// Subscribes to the audit log; None where it cannot (not root, no audit in the kernel).
pub fn listen() -> Option<Listener> {
    // SAFETY: plain socket calls on a descriptor owned below.
    unsafe {
        let fd = libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            NETLINK_AUDIT,
        );
        if fd < 0 {
            return None;
        }
        let fd = OwnedFd::from_raw_fd(fd);
        let mut sa: libc::sockaddr_nl = std::mem::zeroed();
        sa.nl_family = libc::AF_NETLINK as u16;
        sa.nl_groups = AUDIT_NLGRP_READLOG;
        let r = libc::bind(
            fd.as_raw_fd(),
            &sa as *const libc::sockaddr_nl as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_nl>() as u32,
        );
        if r != 0 {
            return None;
        }
        let size: libc::c_int = 4 << 20;
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            &size as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as u32,
        );
        Some(Listener(fd))
    }
}

/// `key=value` of an audit record's text (values may be quoted).
fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let at = text
        .find(&format!(" {key}="))
        .map(|i| i + key.len() + 2)
        .or_else(|| {
            text.starts_with(&format!("{key}="))
                .then_some(key.len() + 1)
        })?;
    let rest = &text[at..];
    if let Some(q) = rest.strip_prefix('"') {
        q.split('"').next()
    } else {
        rest.split(' ').next()
    }
}

/// What was refused, counted: (blockers, object) → count.
pub type Refused = BTreeMap<(String, String), u64>;

/// Reads what the log holds now and keeps the denials of the domain `pid` made (COMMAND's).
pub fn collect(l: &Listener, pid: libc::pid_t) -> (Refused, bool) {
    let mut access: Vec<(String, String, String)> = vec![]; // domain, blockers, object
    let mut ours: Vec<String> = vec![];
    let mut lost = false;
    let mut buf = vec![0u8; 64 * 1024];
    for _ in 0..100_000 {
        // SAFETY: a buffer of ours and its length.
        let n = unsafe {
            libc::recv(
                l.0.as_raw_fd(),
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
                0,
            )
        };
        if n < 0 {
            lost |= std::io::Error::last_os_error().raw_os_error() == Some(libc::ENOBUFS);
            if lost {
                continue;
            }
            break;
        }
        let n = n as usize;
        if n < 16 {
            continue;
        }
        let typ = u16::from_ne_bytes([buf[4], buf[5]]);
        let len = (u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize).min(n);
        let text = String::from_utf8_lossy(&buf[16.min(len)..len]);
        let text = text.trim_end_matches('\0');
        // "audit(TIME:SERIAL): key=value …"
        let body = text.split_once("): ").map(|(_, b)| b).unwrap_or(text);
        match typ {
            AUDIT_LANDLOCK_DOMAIN
                if field(body, "status") == Some("allocated")
                    && field(body, "pid") == Some(pid.to_string().as_str()) =>
            {
                if let Some(d) = field(body, "domain") {
                    ours.push(d.to_string());
                }
            }
            AUDIT_LANDLOCK_ACCESS => {
                let (Some(d), Some(b)) = (field(body, "domain"), field(body, "blockers")) else {
                    continue;
                };
                let object = field(body, "path")
                    .map(|p| p.to_string())
                    .or_else(|| field(body, "dest").map(|p| format!("port {p}")))
                    .or_else(|| field(body, "sport").map(|p| format!("port {p}")))
                    .unwrap_or_default();
                access.push((d.to_string(), b.to_string(), object));
            }
            _ => {}
        }
    }
    let mut out = Refused::new();
    for (d, b, o) in access {
        if ours.contains(&d) {
            *out.entry((b, o)).or_default() += 1;
        }
    }
    (out, lost)
}

/// One note per refused access, with the profile lines that allow it.
pub fn notes(r: &Refused, lost: bool) -> Vec<String> {
    let mut out: Vec<String> = r
        .iter()
        .take(20)
        .map(|((blockers, object), n)| {
            let shown = crate::util::printable(object, false);
            let first = blockers.split(',').next().unwrap_or("");
            let how = match first {
                "fs.read_file" | "fs.read_dir" | "fs.execute" => {
                    format!("to allow it add to the profile: ro = [\"{shown}\"] (or rw for writing)")
                }
                b if b.starts_with("fs.") => {
                    format!("it is not granted writable; to allow it add to the profile: rw = [\"{shown}\"]")
                }
                "net.connect_tcp" => format!(
                    "to allow it add to the profile's [landlock] connect_tcp the {shown}"
                ),
                "net.bind_tcp" => {
                    format!("to allow it add to the profile's [landlock] bind_tcp the {shown}")
                }
                _ => "a Landlock scope (abstract unix sockets or signals outside the sandbox)".into(),
            };
            format!("jail: note: Landlock refused {blockers} on {shown} \u{d7}{n}; {how}")
        })
        .collect();
    if r.len() > 20 {
        out.push(format!(
            "jail: note: … and {} more Landlock refusals",
            r.len() - 20
        ));
    }
    if lost {
        out.push(
            "jail: note: some Landlock refusals were not counted (the audit log ran over)".into(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_of_audit_records() {
        let a =
            "domain=1dda9a0da blockers=fs.read_file path=\"/usr/bin/cat\" dev=\"vda\" ino=247030";
        assert_eq!(field(a, "domain"), Some("1dda9a0da"));
        assert_eq!(field(a, "blockers"), Some("fs.read_file"));
        assert_eq!(field(a, "path"), Some("/usr/bin/cat"));
        assert_eq!(field(a, "ino"), Some("247030"));
        assert_eq!(field(a, "nope"), None);
        let d = "domain=1dda9a0da status=allocated mode=enforcing pid=30956 uid=0";
        assert_eq!(field(d, "pid"), Some("30956"));
        let mut r = Refused::new();
        r.insert(("fs.write_file".into(), "/usr/share/x".into()), 3);
        r.insert(("net.connect_tcp".into(), "port 443".into()), 1);
        let n = notes(&r, false);
        assert!(
            n[0].contains("Landlock refused fs.write_file on /usr/share/x \u{d7}3"),
            "{n:?}"
        );
        assert!(n[0].contains("rw = [\"/usr/share/x\"]"));
        assert!(n[1].contains("connect_tcp the port 443"));
    }
}
