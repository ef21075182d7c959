//! Desktop integration (issue 8): `[gui]` sockets, `[dbus]` through xdg-dbus-proxy,
//! `jail desktop` wrappers, and a real browser (firefox-esr) in its profile.
#[path = "../common/mod.rs"]
mod common;

mod browser;
mod dbus;
mod dbus_rules;
mod gui;
mod portal;
mod settings;
mod wrappers;
mod x11;

use common::bus::*;
use common::*;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Helpers of this file.

/// A unix socket at `path`, connectable by `u`, whose every client reads `greeting`.
fn fake_socket(u: &User, path: &Path, greeting: &'static str) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).unwrap();
        if euid() == 0 {
            std::os::unix::fs::chown(p, Some(u.uid), Some(u.gid)).unwrap();
        }
    }
    let l = std::os::unix::net::UnixListener::bind(path).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::thread::spawn(move || {
        for mut s in l.incoming().flatten() {
            let _ = s.write_all(greeting.as_bytes());
        }
    });
}

/// Python (the system's, under /usr) that connects to a unix socket and prints what it reads.
const READ_SOCKET: &str = "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); print(s.recv(100).decode().strip())";

/// Pids of running xdg-dbus-proxy processes whose command line mentions `needle`.
fn proxies_with(needle: &str) -> Vec<u32> {
    let mut v = vec![];
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        let zombie = std::fs::read_to_string(e.path().join("stat"))
            .map(|s| {
                s.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
            .unwrap_or(true);
        if cmd.contains("xdg-dbus-proxy") && cmd.contains(needle) && !zombie {
            v.push(pid);
        }
    }
    v
}

/// Waits (up to 20 s) for `cond`; readiness, not timing: the assertion is on the state.
fn wait_for(mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    cond()
}

/// `Jail::args` for one path.
trait ArgPath {
    fn arg_path(self, p: &Path) -> Self;
}
impl ArgPath for Jail {
    fn arg_path(mut self, p: &Path) -> Jail {
        self.cmd.arg(p);
        self
    }
}
