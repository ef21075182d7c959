//! `[dbus]`: the session and system bus sockets of the host, where they appear inside, the
//! variables pointing there, and the checks of the filtering rules (`talk`, `own`, `call`,
//! `see`) that xdg-dbus-proxy is given.

use super::{err, grant, need_socket, origin, Ctx, Dbus, Desktop, Error};
use crate::dbus_address::{self, UnixSocket};
use crate::profile::{self, Located, Origin, L};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the system bus socket appears inside, in `host` and `filtered` mode: the path libdbus,
/// GDBus and sd-bus use when `DBUS_SYSTEM_BUS_ADDRESS` is unset.
pub const SYSTEM_BUS_INSIDE: &str = "/run/dbus/system_bus_socket";
/// The system bus socket on the host when `DBUS_SYSTEM_BUS_ADDRESS` does not name one.
pub const SYSTEM_BUS_HOST: &str = "/run/dbus/system_bus_socket";

/// The first `unix:path=…` of a D-Bus address (`unix:path=/run/user/1000/bus,guid=…;…`), with
/// its `%xx` escapes decoded (as [`dbus_address::unix_sockets`] reads them: a malformed escape
/// anywhere refuses the address). Abstract and TCP addresses are refused: jail binds a socket
/// file.
pub fn bus_path(address: &str) -> Result<PathBuf, String> {
    let sockets = dbus_address::unix_sockets(address).map_err(|e| e.to_string())?;
    for s in sockets {
        if let UnixSocket::Path(p) = s {
            return Ok(PathBuf::from(p));
        }
    }
    Err(format!(
        "{address:?} has no unix:path= socket (abstract and TCP bus addresses cannot be bound into a sandbox)"
    ))
}

/// `unix:path=…` with the characters D-Bus requires escaped.
pub use dbus_address::unix_path_address as bus_address;

/// The session bus socket of the host: `$DBUS_SESSION_BUS_ADDRESS`, else
/// `$XDG_RUNTIME_DIR/bus` (where libdbus and GDBus look when the variable is unset).
pub fn session_bus_host(
    env: &BTreeMap<String, String>,
    runtime_dir: Option<&Path>,
) -> Result<PathBuf, String> {
    match env
        .get("DBUS_SESSION_BUS_ADDRESS")
        .filter(|s| !s.is_empty())
    {
        Some(a) => bus_path(a).map_err(|e| format!("$DBUS_SESSION_BUS_ADDRESS={e}")),
        None => runtime_dir.map(|r| r.join("bus")).ok_or_else(|| {
            "no session bus ($DBUS_SESSION_BUS_ADDRESS and $XDG_RUNTIME_DIR are unset)".to_string()
        }),
    }
}

/// The system bus socket of the host: `$DBUS_SYSTEM_BUS_ADDRESS`, else the standard path.
pub fn system_bus_host(env: &BTreeMap<String, String>) -> Result<PathBuf, String> {
    match env.get("DBUS_SYSTEM_BUS_ADDRESS").filter(|s| !s.is_empty()) {
        Some(a) => bus_path(a).map_err(|e| format!("$DBUS_SYSTEM_BUS_ADDRESS={e}")),
        None => Ok(PathBuf::from(SYSTEM_BUS_HOST)),
    }
}

/// Where the session bus appears inside: `$XDG_RUNTIME_DIR/bus` as on the host, or
/// `/run/jail/bus` when the session has no runtime folder.
pub fn session_bus_inside(runtime_dir: Option<&Path>) -> PathBuf {
    runtime_dir
        .map(|r| r.join("bus"))
        .unwrap_or_else(|| PathBuf::from("/run/jail/bus"))
}

/// A well-known bus name, optionally ending in `.*` (that name and everything under it), as
/// xdg-dbus-proxy takes it.
pub fn valid_bus_name(n: &str) -> bool {
    let n = n.strip_suffix(".*").unwrap_or(n);
    let parts: Vec<&str> = n.split('.').collect();
    n.len() <= 255
        && parts.len() >= 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && !p.starts_with(|c: char| c.is_ascii_digit())
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
}

/// A `call` rule: `NAME=RULE`, RULE being `[METHOD][@PATH]` as xdg-dbus-proxy(1) describes
/// (`org.freedesktop.portal.*=*`, `org.foo=org.foo.Iface.Method@/org/foo/*`).
fn valid_call(s: &str) -> bool {
    let Some((name, rule)) = s.split_once('=') else {
        return false;
    };
    let (method, path) = match rule.split_once('@') {
        Some((m, p)) => (m, Some(p)),
        None => (rule, None),
    };
    valid_bus_name(name)
        && !rule.is_empty()
        && method
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-*".contains(c))
        && path.is_none_or(|p| {
            p.starts_with('/')
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/_*".contains(c))
        })
}

/// The program that filters a bus: looked up on `PATH` here (so `jail explain` and `jail check`
/// say when it is missing) and again by the supervisor when it starts it.
pub const PROXY: &str = "xdg-dbus-proxy";

/// Where to get [`PROXY`].
const PROXY_INSTALL: &str =
    "Debian/Ubuntu: apt install xdg-dbus-proxy; Fedora: dnf install xdg-dbus-proxy";

#[derive(Clone, Copy, PartialEq)]
enum Bus {
    Session,
    System,
}

/// Whether [`PROXY`] is on the session's `PATH` (a file, following symlinks).
fn proxy_installed(cx: &Ctx) -> bool {
    proxy_on_path(cx.host)
}

/// Whether [`PROXY`] is on `host`'s `PATH` (a file, following symlinks); `jail learn` asks
/// too, before it writes the permissive profile.
pub fn proxy_on_path(host: &crate::host::Host) -> bool {
    let path = host
        .env
        .get("PATH")
        .map(String::as_str)
        .unwrap_or("/usr/local/bin:/usr/bin:/bin");
    std::env::split_paths(path).any(|d| {
        let p = d.join(PROXY);
        let real = host.fs.canonicalize(&p);
        real.as_deref().and_then(|r| host.fs.kind(r)) == Some(crate::host::Kind::File)
    })
}

/// The services whose Spawn starts processes outside the sandbox: no `[dbus]` rule may reach
/// them, and `jail learn` never grants them or a name under them.
pub const SPAWNERS: [&str; 2] = ["org.freedesktop.portal.Flatpak", "org.freedesktop.Flatpak"];

/// One bus in `mode`: its socket found (and, filtered, the proxy), its grant and variable.
/// Returns the mode in effect: with `dbus.optional`, a bus that cannot be given is `None`, with
/// a note saying why — never the unfiltered bus in place of a filtered one.
fn bus(
    cx: &mut Ctx,
    d: &mut Desktop,
    which: Bus,
    mode: profile::DbusMode,
    optional: bool,
    at: &Option<Origin>,
) -> Result<profile::DbusMode, Error> {
    if mode == profile::DbusMode::None {
        return Ok(mode);
    }
    match find_bus(cx, d, which, mode, at) {
        Ok(()) => Ok(mode),
        Err(e) if optional => {
            let what = match which {
                Bus::Session => "session",
                Bus::System => "system",
            };
            cx.warnings.push(format!(
                "{} (dbus.optional: no {what} bus in the sandbox)",
                e.msg
            ));
            Ok(profile::DbusMode::None)
        }
        Err(e) => Err(e),
    }
}

fn find_bus(
    cx: &mut Ctx,
    d: &mut Desktop,
    which: Bus,
    mode: profile::DbusMode,
    at: &Option<Origin>,
) -> Result<(), Error> {
    let mode_name = match mode {
        profile::DbusMode::None => "none",
        profile::DbusMode::Filtered => "filtered",
        profile::DbusMode::Host => "host",
    };
    let host = cx.host;
    let (key, outside) = match which {
        Bus::Session => {
            let key = format!("dbus.session = \"{mode_name}\"");
            let outside = session_bus_host(&host.env, host.runtime_dir.as_deref())
                .map_err(|e| err(format!("{key}: {e}"), at))?;
            need_socket(
                cx,
                &outside,
                &key,
                "session bus socket",
                " (is a session bus running?)",
                at,
            )?;
            (key, outside)
        }
        Bus::System => {
            let key = format!("dbus.system = \"{mode_name}\"");
            let outside = system_bus_host(&host.env).map_err(|e| err(format!("{key}: {e}"), at))?;
            need_socket(
                cx,
                &outside,
                &key,
                "system bus socket",
                " (is dbus-daemon running?)",
                at,
            )?;
            (key, outside)
        }
    };
    if mode == profile::DbusMode::Filtered && !proxy_installed(cx) {
        return Err(err(
            format!("{key}: {PROXY} is not installed ({PROXY_INSTALL}); jail does not give an unfiltered bus instead"),
            at,
        ));
    }
    match (which, mode) {
        // The socket itself, at the same place, read-only.
        (Bus::Session, profile::DbusMode::Host) => {
            d.ro.push(grant(&outside, at));
            d.env
                .insert("DBUS_SESSION_BUS_ADDRESS".into(), bus_address(&outside));
        }
        // The proxy's socket, bound there from the plan's helpers.
        (Bus::Session, _) => {
            let inside = session_bus_inside(host.runtime_dir.as_deref());
            d.env
                .insert("DBUS_SESSION_BUS_ADDRESS".into(), bus_address(&inside));
        }
        (Bus::System, profile::DbusMode::Host) => {
            d.ro.push(grant(&outside, at));
            d.env
                .insert("DBUS_SYSTEM_BUS_ADDRESS".into(), bus_address(&outside));
        }
        (Bus::System, _) => {
            d.env.insert(
                "DBUS_SYSTEM_BUS_ADDRESS".into(),
                bus_address(Path::new(SYSTEM_BUS_INSIDE)),
            );
        }
    }
    Ok(())
}

/// The `[dbus]` section: its rules checked, the buses found, their grants and variables.
pub(super) fn compile(cx: &mut Ctx, d: &mut Desktop, p: &profile::Dbus) -> Result<Dbus, Error> {
    let session = p.session.as_ref().map(|x| x.v).unwrap_or_default();
    let system = p.system.as_ref().map(|x| x.v).unwrap_or_default();
    for (list, key) in [(&p.talk, "talk"), (&p.own, "own"), (&p.see, "see")] {
        for n in list {
            // org.freedesktop.portal.Flatpak's Spawn (and Flatpak's own service) start
            // processes outside the sandbox: no rule may reach them, a wildcard included.
            let covers = |target: &str| {
                n.v == target
                    || n.v.strip_suffix(".*").is_some_and(|pre| {
                        target.starts_with(pre) && target[pre.len()..].starts_with('.')
                    })
                    || n.v == "*"
            };
            if SPAWNERS.iter().any(|t| covers(t)) {
                return Err(Located::at(
                    format!("dbus.{key}: {:?} reaches org.freedesktop.portal.Flatpak or org.freedesktop.Flatpak, whose Spawn starts processes outside the sandbox; name the portals instead (\"org.freedesktop.portal.Desktop\", \"org.freedesktop.portal.Documents\")", n.v),
                    &n.at,
                ));
            }
            if !valid_bus_name(&n.v) {
                return Err(Located::at(
                    format!("dbus.{key}: {:?} is not a bus name (like org.freedesktop.Notifications, or org.mozilla.firefox.* for a name and those under it)", n.v),
                    &n.at,
                ));
            }
        }
    }
    for c in &p.call {
        if !valid_call(&c.v) {
            return Err(Located::at(
                format!("dbus.call: {:?} is not NAME=RULE (like \"org.freedesktop.portal.Desktop=*\" or \"org.foo.Bar=org.foo.Bar.Method@/org/foo/*\")", c.v),
                &c.at,
            ));
        }
    }
    let filtered = session == profile::DbusMode::Filtered || system == profile::DbusMode::Filtered;
    let has_rules =
        !(p.talk.is_empty() && p.own.is_empty() && p.call.is_empty() && p.see.is_empty());
    if has_rules && !filtered {
        cx.warnings.push(
            "dbus.talk/own/call/see have no effect: neither dbus.session nor dbus.system is \"filtered\"".into(),
        );
    }

    let optional = p.optional.as_ref().is_some_and(|x| x.v);
    let session = bus(cx, d, Bus::Session, session, optional, &origin(&p.session))?;
    let system = bus(cx, d, Bus::System, system, optional, &origin(&p.system))?;
    let strings = |v: &Vec<L<String>>| v.iter().map(|x| x.v.clone()).collect::<Vec<_>>();
    Ok(Dbus {
        session,
        system,
        talk: strings(&p.talk),
        own: strings(&p.own),
        call: strings(&p.call),
        see: strings(&p.see),
        portal: None,
    })
}
