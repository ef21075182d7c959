//! `[gui]` and `[dbus]`: desktop sockets and devices, found where the session has them, turned
//! into grants and environment variables for COMMAND.
//!
//! Everything here is pure: the session is read through `cx.host` (its environment and its
//! file system answers). What cannot exist before the sandbox starts — the filtered D-Bus proxy
//! socket and the filtered Xauthority file — is made by the supervisor
//! (`sandbox::dbus_proxy::start`) from the plan: this module decides where they appear inside
//! and sets the variables pointing there.
//!
//! A requested socket that the session does not have is an error pointing at the key that asked
//! for it, never silently skipped.

use super::{Ctx, Dbus, Error};
use crate::dbus_address::{self, UnixSocket};
use crate::host::Kind;
use crate::profile::{self, Located, Origin, Profile, Switch, L};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What the desktop sections add to the plan.
#[derive(Debug, Default)]
pub struct Desktop {
    /// Which `[gui]` switches are on.
    pub gui: BTreeMap<String, bool>,
    pub dbus: Dbus,
    /// Extra grants, merged into the profile's lists before the filesystem is planned.
    pub ro: Vec<L<String>>,
    pub rw: Vec<L<String>>,
    pub dev: Vec<L<String>>,
    /// Variables COMMAND needs to find them (`WAYLAND_DISPLAY`, `DISPLAY`, …).
    pub env: BTreeMap<String, String>,
}

/// Where the filtered Xauthority file appears inside (bound read-only by the supervisor).
pub const XAUTHORITY_INSIDE: &str = "/run/jail/Xauthority";
/// Where the system bus socket appears inside, in `host` and `filtered` mode: the path libdbus,
/// GDBus and sd-bus use when `DBUS_SYSTEM_BUS_ADDRESS` is unset.
pub const SYSTEM_BUS_INSIDE: &str = "/run/dbus/system_bus_socket";
/// The system bus socket on the host when `DBUS_SYSTEM_BUS_ADDRESS` does not name one.
pub const SYSTEM_BUS_HOST: &str = "/run/dbus/system_bus_socket";

fn origin<T>(v: &Option<L<T>>) -> Option<Origin> {
    v.as_ref().map(|x| x.at.clone())
}

fn err(msg: impl Into<String>, at: &Option<Origin>) -> Error {
    Located::new(msg, at.clone())
}

/// A grant that points at the key that asked for it.
fn grant(path: &Path, at: &Option<Origin>) -> L<String> {
    L::new(path.display().to_string(), at.clone().unwrap_or_default())
}

/// The host's `$XDG_RUNTIME_DIR`, or an error naming the key that needs it.
fn runtime_dir<'a>(cx: &'a Ctx, key: &str, at: &Option<Origin>) -> Result<&'a Path, Error> {
    cx.host.runtime_dir.as_deref().ok_or_else(|| {
        err(
            format!("{key}: $XDG_RUNTIME_DIR is unset, so the session's sockets cannot be found (log in through a session manager, or export XDG_RUNTIME_DIR)"),
            at,
        )
    })
}

/// Paths that reach the profile lists must not be mistaken for list syntax (`?`, `!`, `~`,
/// `${…}`): the session's variables are data, not profile text.
fn plain(path: &Path, key: &str, at: &Option<Origin>) -> Result<(), Error> {
    let s = path.to_string_lossy();
    if !s.starts_with('/') || s.contains("${") || s.contains('\0') {
        return Err(err(
            format!("{key}: {s:?} is not a usable absolute path"),
            at,
        ));
    }
    Ok(())
}

/// Checks that `path` is a socket of the session (following symlinks, as a client would).
fn need_socket(
    cx: &Ctx,
    path: &Path,
    key: &str,
    what: &str,
    hint: &str,
    at: &Option<Origin>,
) -> Result<(), Error> {
    plain(path, key, at)?;
    let real = cx.host.fs.canonicalize(path);
    match real.as_deref().and_then(|r| cx.host.fs.kind(r)) {
        Some(Kind::Special) => Ok(()),
        Some(_) => Err(err(
            format!("{key}: {} is not a socket ({what})", path.display()),
            at,
        )),
        None => Err(err(
            format!("{key}: no {what} at {}{hint}", path.display()),
            at,
        )),
    }
}

pub fn compile(cx: &mut Ctx, p: &Profile) -> Result<Desktop, Error> {
    let g = &p.gui;
    type Find = fn(&Ctx, &mut Desktop, &Option<Origin>) -> Result<(), Error>;
    let switches: [(&str, &Option<L<Switch>>, Find); 5] = [
        ("wayland", &g.wayland, wayland),
        ("x11", &g.x11, x11),
        ("pulseaudio", &g.pulseaudio, pulseaudio),
        ("pipewire", &g.pipewire, pipewire),
        ("gpu", &g.gpu, gpu),
    ];
    let mut d = Desktop::default();
    for (name, v, find) in switches {
        let switch = v.as_ref().map(|x| x.v).unwrap_or_default();
        let mut on = switch != Switch::Off;
        if on {
            if let Err(e) = find(cx, &mut d, &origin(v)) {
                // An optional switch (or any, when judging a profile rather than this session)
                // is skipped with a note when the session lacks it.
                if switch == Switch::Optional || cx.host.session_optional {
                    cx.warnings.push(format!("{}: skipped", e.msg));
                    on = false;
                } else {
                    return Err(e);
                }
            }
        }
        d.gui.insert(name.to_string(), on);
    }
    d.dbus = dbus(cx, &mut d, &p.dbus)?;
    Ok(d)
}

fn wayland(cx: &Ctx, d: &mut Desktop, at: &Option<Origin>) -> Result<(), Error> {
    let key = "gui.wayland";
    let name = cx
        .host
        .env
        .get("WAYLAND_DISPLAY")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| err(format!("{key}: no Wayland socket ($WAYLAND_DISPLAY is unset: is this a Wayland session?)"), at))?;
    let path = if name.starts_with('/') {
        PathBuf::from(name)
    } else {
        let rt = runtime_dir(cx, key, at)?;
        d.env
            .insert("XDG_RUNTIME_DIR".into(), rt.display().to_string());
        rt.join(name)
    };
    need_socket(
        cx,
        &path,
        key,
        "Wayland socket",
        " ($WAYLAND_DISPLAY names it; is the compositor running?)",
        at,
    )?;
    // Read-only is enough to connect to a socket, and keeps the sandbox from replacing it.
    d.ro.push(grant(&path, at));
    d.env.insert("WAYLAND_DISPLAY".into(), name.clone());
    Ok(())
}

/// The display number of a local X display: `:0`, `:0.1`, `unix:0` → 0. TCP displays
/// (`localhost:10` of `ssh -X`) are refused: jail binds sockets, it does not forward TCP.
pub fn x11_display(display: &str) -> Result<u32, String> {
    let (host, rest) = display
        .rsplit_once(':')
        .ok_or_else(|| format!("DISPLAY={display:?} is not of the form :N"))?;
    if !(host.is_empty() || host == "unix") {
        return Err(format!(
            "DISPLAY={display:?} is a network display; jail can give a sandbox only a local X server's socket (:N)"
        ));
    }
    let num = rest.split('.').next().unwrap_or("");
    num.parse::<u32>()
        .map_err(|_| format!("DISPLAY={display:?} is not of the form :N"))
}

/// The host's Xauthority file: `$XAUTHORITY`, else `~/.Xauthority`.
pub fn xauthority_host(env: &BTreeMap<String, String>, home: &Path) -> PathBuf {
    env.get("XAUTHORITY")
        .filter(|s| s.starts_with('/'))
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".Xauthority"))
}

fn x11(cx: &Ctx, d: &mut Desktop, at: &Option<Origin>) -> Result<(), Error> {
    let key = "gui.x11";
    let display = cx
        .host
        .env
        .get("DISPLAY")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| err(format!("{key}: no X server ($DISPLAY is unset)"), at))?;
    let n = x11_display(display).map_err(|e| err(format!("{key}: {e}"), at))?;
    let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
    need_socket(
        cx,
        &socket,
        key,
        "X server socket",
        &format!(
            " (DISPLAY={display}; is the X server running, and listening on its unix socket?)"
        ),
        at,
    )?;
    // Under /tmp: it shows inside the private /tmp, alone.
    d.ro.push(grant(&socket, at));
    let screen = display.rsplit_once(':').map(|(_, r)| r).unwrap_or("0");
    d.env.insert("DISPLAY".into(), format!(":{screen}"));
    // The cookie file: only this display's entries, made by the supervisor from the host's file
    // when the sandbox starts (an Xauthority file is binary, and may hold cookies of other
    // displays and hosts that the sandbox has no business seeing).
    let xa = xauthority_host(&cx.host.env, &cx.host.home);
    if matches!(
        cx.host
            .fs
            .canonicalize(&xa)
            .and_then(|r| cx.host.fs.kind(&r)),
        Some(Kind::File)
    ) {
        d.env.insert("XAUTHORITY".into(), XAUTHORITY_INSIDE.into());
    }
    Ok(())
}

fn pulseaudio(cx: &Ctx, d: &mut Desktop, at: &Option<Origin>) -> Result<(), Error> {
    let key = "gui.pulseaudio";
    // PULSE_SERVER may name a unix socket (`unix:/path` or `/path`); a TCP server is refused.
    let path = match cx.host.env.get("PULSE_SERVER").filter(|s| !s.is_empty()) {
        Some(s) => {
            let p = s.strip_prefix("unix:").unwrap_or(s);
            if !p.starts_with('/') {
                return Err(err(format!("{key}: PULSE_SERVER={s:?} is not a local socket; jail binds only unix sockets"), at));
            }
            PathBuf::from(p)
        }
        None => runtime_dir(cx, key, at)?.join("pulse/native"),
    };
    need_socket(
        cx,
        &path,
        key,
        "PulseAudio socket",
        " (is pulseaudio or pipewire-pulse running?)",
        at,
    )?;
    d.ro.push(grant(&path, at));
    d.env
        .insert("PULSE_SERVER".into(), format!("unix:{}", path.display()));
    // The cookie, when the server uses one; read-only so the sandbox cannot change it.
    let cookie = cx.host.config_home.join("pulse/cookie");
    if cx.host.fs.kind(&cookie) == Some(Kind::File) && plain(&cookie, key, at).is_ok() {
        d.ro.push(grant(&cookie, at));
        d.env
            .insert("PULSE_COOKIE".into(), cookie.display().to_string());
    }
    Ok(())
}

fn pipewire(cx: &Ctx, d: &mut Desktop, at: &Option<Origin>) -> Result<(), Error> {
    let key = "gui.pipewire";
    let rt = runtime_dir(cx, key, at)?;
    let name = cx
        .host
        .env
        .get("PIPEWIRE_REMOTE")
        .filter(|s| !s.is_empty())
        .cloned()
        .unwrap_or_else(|| "pipewire-0".into());
    let path = if name.starts_with('/') {
        PathBuf::from(&name)
    } else {
        rt.join(&name)
    };
    need_socket(
        cx,
        &path,
        key,
        "PipeWire socket",
        " (is pipewire running?)",
        at,
    )?;
    d.ro.push(grant(&path, at));
    d.env
        .insert("XDG_RUNTIME_DIR".into(), rt.display().to_string());
    if name != "pipewire-0" {
        d.env.insert("PIPEWIRE_REMOTE".into(), name);
    }
    Ok(())
}

/// NVIDIA's device nodes, granted when present.
const NVIDIA: [&str; 6] = [
    "/dev/nvidiactl",
    "/dev/nvidia-modeset",
    "/dev/nvidia-uvm",
    "/dev/nvidia-uvm-tools",
    "/dev/nvidia-caps",
    "/dev/nvidia0",
];

fn gpu(cx: &Ctx, d: &mut Desktop, at: &Option<Origin>) -> Result<(), Error> {
    let fs = &cx.host.fs;
    let mut found = false;
    if fs.kind(Path::new("/dev/dri")) == Some(Kind::Dir) {
        d.dev.push(grant(Path::new("/dev/dri"), at));
        found = true;
    }
    let mut nodes: Vec<String> = NVIDIA.iter().map(|s| s.to_string()).collect();
    nodes.extend((1..16).map(|i| format!("/dev/nvidia{i}")));
    for n in nodes {
        if matches!(fs.kind(Path::new(&n)), Some(Kind::Device) | Some(Kind::Dir)) {
            d.dev.push(grant(Path::new(&n), at));
            found = true;
        }
    }
    if !found {
        return Err(err(
            "gui.gpu: this machine has no GPU device (/dev/dri and /dev/nvidia* are absent)",
            at,
        ));
    }
    // Mesa and libdrm identify the GPU through sysfs (/sys/dev/char/MAJ:MIN → /sys/devices/…);
    // without it they fall back to software rendering. Read-only, as flatpak gives it.
    for s in ["/sys/dev/char", "/sys/devices"] {
        if fs.kind(Path::new(s)) == Some(Kind::Dir) {
            d.ro.push(grant(Path::new(s), at));
        }
    }
    Ok(())
}

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

fn dbus(cx: &mut Ctx, d: &mut Desktop, p: &profile::Dbus) -> Result<Dbus, Error> {
    let mode_name = |m: profile::DbusMode| match m {
        profile::DbusMode::None => "none",
        profile::DbusMode::Filtered => "filtered",
        profile::DbusMode::Host => "host",
    };
    let session = p.session.as_ref().map(|x| x.v).unwrap_or_default();
    let system = p.system.as_ref().map(|x| x.v).unwrap_or_default();
    for (list, key) in [(&p.talk, "talk"), (&p.own, "own"), (&p.see, "see")] {
        for n in list {
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
                format!("dbus.call: {:?} is not NAME=RULE (like \"org.freedesktop.portal.*=*\" or \"org.foo.Bar=org.foo.Bar.Method@/org/foo/*\")", c.v),
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

    let host = cx.host;
    // Session bus.
    let at = origin(&p.session);
    if session != profile::DbusMode::None {
        let key = format!("dbus.session = \"{}\"", mode_name(session));
        let outside = session_bus_host(&host.env, host.runtime_dir.as_deref())
            .map_err(|e| err(format!("{key}: {e}"), &at))?;
        need_socket(
            cx,
            &outside,
            &key,
            "session bus socket",
            " (is a session bus running?)",
            &at,
        )?;
        let inside = match session {
            // The socket itself, at the same place, read-only.
            profile::DbusMode::Host => {
                d.ro.push(grant(&outside, &at));
                outside
            }
            // The proxy's socket, bound there by the supervisor.
            _ => session_bus_inside(host.runtime_dir.as_deref()),
        };
        d.env
            .insert("DBUS_SESSION_BUS_ADDRESS".into(), bus_address(&inside));
    }
    // System bus.
    let at = origin(&p.system);
    if system != profile::DbusMode::None {
        let key = format!("dbus.system = \"{}\"", mode_name(system));
        let outside = system_bus_host(&host.env).map_err(|e| err(format!("{key}: {e}"), &at))?;
        need_socket(
            cx,
            &outside,
            &key,
            "system bus socket",
            " (is dbus-daemon running?)",
            &at,
        )?;
        if system == profile::DbusMode::Host {
            d.ro.push(grant(&outside, &at));
            // Also at the standard place, where clients look without the variable.
            d.env
                .insert("DBUS_SYSTEM_BUS_ADDRESS".into(), bus_address(&outside));
        } else {
            d.env.insert(
                "DBUS_SYSTEM_BUS_ADDRESS".into(),
                bus_address(Path::new(SYSTEM_BUS_INSIDE)),
            );
        }
    }
    let strings = |v: &Vec<L<String>>| v.iter().map(|x| x.v.clone()).collect::<Vec<_>>();
    Ok(Dbus {
        session: mode_name(session).into(),
        system: mode_name(system).into(),
        talk: strings(&p.talk),
        own: strings(&p.own),
        call: strings(&p.call),
        see: strings(&p.see),
    })
}

/// The entries of an Xauthority file (`Xau` format: big-endian family, then address, display
/// number, auth name and data, each a 16-bit length and bytes) that authorize display `n` of
/// this machine, rewritten as `FamilyWild` so they match inside the sandbox, whose host name
/// differs. Entries of other displays and of other machines are dropped. Pure, for the
/// supervisor.
pub fn filter_xauthority(data: &[u8], n: u32, hostname: &str) -> Vec<u8> {
    const FAMILY_LOCAL: u16 = 256;
    const FAMILY_WILD: u16 = 65535;
    let mut out = vec![];
    let mut i = 0;
    let field = |i: &mut usize| -> Option<&[u8]> {
        let len = u16::from_be_bytes([*data.get(*i)?, *data.get(*i + 1)?]) as usize;
        let v = data.get(*i + 2..*i + 2 + len)?;
        *i += 2 + len;
        Some(v)
    };
    let number = n.to_string();
    while i + 2 <= data.len() {
        let family = u16::from_be_bytes([data[i], data[i + 1]]);
        i += 2;
        let (Some(addr), Some(num), Some(name), Some(cookie)) =
            (field(&mut i), field(&mut i), field(&mut i), field(&mut i))
        else {
            break; // truncated: keep what was whole
        };
        let local =
            family == FAMILY_WILD || (family == FAMILY_LOCAL && addr == hostname.as_bytes());
        if !local || num != number.as_bytes() {
            continue;
        }
        out.extend_from_slice(&FAMILY_WILD.to_be_bytes());
        for f in [addr, num, name, cookie] {
            out.extend_from_slice(&(f.len() as u16).to_be_bytes());
            out.extend_from_slice(f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{Host, HostFs};
    use crate::profile::Profile;

    struct FakeFs(Vec<(&'static str, Kind)>);
    impl HostFs for FakeFs {
        fn kind(&self, p: &Path) -> Option<Kind> {
            self.0
                .iter()
                .find(|(q, _)| Path::new(q) == p)
                .map(|(_, k)| k.clone())
        }
        fn canonicalize(&self, p: &Path) -> Option<PathBuf> {
            self.kind(p).map(|_| p.to_path_buf())
        }
    }

    fn host(env: &[(&str, &str)], fs: Vec<(&'static str, Kind)>) -> Host {
        Host {
            uid: 1000,
            gid: 1000,
            user: "u".into(),
            home: "/home/u".into(),
            real_home: "/home/u".into(),
            canonical_homes: vec![],
            cwd: "/home/u".into(),
            runtime_dir: Some("/run/user/1000".into()),
            config_home: "/home/u/.config".into(),
            data_home: "/home/u/.local/share".into(),
            downloads: "/home/u/Downloads".into(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            landlock_abi: None,
            hard_rlimits: Default::default(),
            fs: Box::new(FakeFs(fs)),
            cgroup: crate::sandbox::cgroup::detect,
            session_optional: false,
        }
    }

    fn compile_str(h: &Host, toml: &str) -> Result<Desktop, Error> {
        let p: Profile = toml::from_str(toml).unwrap();
        let mut cx = Ctx {
            host: h,
            warnings: vec![],
        };
        compile(&mut cx, &p)
    }

    #[test]
    fn wayland_found_or_a_clear_error() {
        let h = host(
            &[("WAYLAND_DISPLAY", "wayland-1")],
            vec![("/run/user/1000/wayland-1", Kind::Special)],
        );
        let d = compile_str(&h, "[gui]\nwayland = true\n").unwrap();
        assert_eq!(d.ro[0].v, "/run/user/1000/wayland-1");
        assert_eq!(d.env["WAYLAND_DISPLAY"], "wayland-1");
        assert_eq!(d.env["XDG_RUNTIME_DIR"], "/run/user/1000");
        let h = host(&[], vec![]);
        let e = compile_str(&h, "[gui]\nwayland = true\n").unwrap_err();
        assert!(
            e.msg
                .contains("gui.wayland: no Wayland socket ($WAYLAND_DISPLAY is unset"),
            "{}",
            e.msg
        );
        assert!(e.at.is_some());
        let h = host(&[("WAYLAND_DISPLAY", "wayland-0")], vec![]);
        let e = compile_str(&h, "[gui]\nwayland = true\n").unwrap_err();
        assert!(
            e.msg
                .contains("no Wayland socket at /run/user/1000/wayland-0"),
            "{}",
            e.msg
        );
        // Off means nothing is looked at.
        assert!(compile_str(&h, "[gui]\nwayland = false\n")
            .unwrap()
            .ro
            .is_empty());
    }

    #[test]
    fn x11_socket_and_display() {
        assert_eq!(x11_display(":0"), Ok(0));
        assert_eq!(x11_display(":12.1"), Ok(12));
        assert_eq!(x11_display("unix:3"), Ok(3));
        assert!(x11_display("localhost:10.0")
            .unwrap_err()
            .contains("network display"));
        assert!(x11_display("nonsense").is_err());
        let h = host(
            &[("DISPLAY", ":7"), ("XAUTHORITY", "/home/u/.Xauth")],
            vec![
                ("/tmp/.X11-unix/X7", Kind::Special),
                ("/home/u/.Xauth", Kind::File),
            ],
        );
        let d = compile_str(&h, "[gui]\nx11 = true\n").unwrap();
        assert_eq!(d.ro[0].v, "/tmp/.X11-unix/X7");
        assert_eq!(d.env["DISPLAY"], ":7");
        assert_eq!(d.env["XAUTHORITY"], XAUTHORITY_INSIDE);
        let h = host(
            &[("DISPLAY", ":8")],
            vec![("/tmp/.X11-unix/X8", Kind::File)],
        );
        assert!(compile_str(&h, "[gui]\nx11 = true\n")
            .unwrap_err()
            .msg
            .contains("is not a socket"));
    }

    #[test]
    fn gpu_needs_a_device() {
        let h = host(
            &[],
            vec![("/dev/dri", Kind::Dir), ("/dev/nvidiactl", Kind::Device)],
        );
        let d = compile_str(&h, "[gui]\ngpu = true\n").unwrap();
        let dev: Vec<_> = d.dev.iter().map(|x| x.v.as_str()).collect();
        assert_eq!(dev, ["/dev/dri", "/dev/nvidiactl"]);
        let h = host(&[], vec![]);
        assert!(compile_str(&h, "[gui]\ngpu = true\n")
            .unwrap_err()
            .msg
            .contains("gui.gpu"));
    }

    #[test]
    fn dbus_modes() {
        let h = host(
            &[(
                "DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/run/user/1000/bus,guid=abc",
            )],
            vec![
                ("/run/user/1000/bus", Kind::Special),
                ("/run/dbus/system_bus_socket", Kind::Special),
            ],
        );
        let d = compile_str(&h, "[dbus]\nsession = \"host\"\nsystem = \"host\"\n").unwrap();
        let ro: Vec<_> = d.ro.iter().map(|x| x.v.as_str()).collect();
        assert_eq!(ro, ["/run/user/1000/bus", "/run/dbus/system_bus_socket"]);
        let d = compile_str(&h, "[dbus]\nsession = \"filtered\"\ntalk = [\"org.a.B\"]\n").unwrap();
        assert!(
            d.ro.is_empty(),
            "the proxy socket is bound by the supervisor"
        );
        assert_eq!(
            d.env["DBUS_SESSION_BUS_ADDRESS"],
            "unix:path=/run/user/1000/bus"
        );
        assert_eq!(d.dbus.talk, ["org.a.B"]);
        let e =
            compile_str(&h, "[dbus]\nsession = \"filtered\"\ntalk = [\"nodots\"]\n").unwrap_err();
        assert!(e.msg.contains("is not a bus name"), "{}", e.msg);
        assert!(compile_str(&h, "[dbus]\ncall = [\"org.a.B=org.a.B.M@/x/*\"]\n").is_ok());
        assert!(compile_str(&h, "[dbus]\ncall = [\"org.a.B\"]\n").is_err());
        let h = host(
            &[("DBUS_SESSION_BUS_ADDRESS", "unix:abstract=/tmp/dbus-x")],
            vec![],
        );
        let e = compile_str(&h, "[dbus]\nsession = \"filtered\"\n").unwrap_err();
        assert!(e.msg.contains("abstract"), "{}", e.msg);
        assert_eq!(
            bus_path("unix:path=/a%20b,guid=1").unwrap(),
            PathBuf::from("/a b")
        );
        assert_eq!(bus_address(Path::new("/a b")), "unix:path=/a%20b");
    }

    #[test]
    fn xauthority_keeps_only_this_display_of_this_machine() {
        fn entry(family: u16, addr: &str, num: &str, cookie: &[u8]) -> Vec<u8> {
            let mut v = family.to_be_bytes().to_vec();
            for f in [
                addr.as_bytes(),
                num.as_bytes(),
                b"MIT-MAGIC-COOKIE-1".as_slice(),
                cookie,
            ] {
                v.extend_from_slice(&(f.len() as u16).to_be_bytes());
                v.extend_from_slice(f);
            }
            v
        }
        let mut file = entry(256, "box", "0", b"cookie-zero-here");
        file.extend(entry(256, "box", "1", b"cookie-one-here!"));
        file.extend(entry(256, "otherhost", "0", b"not-for-us-at-al"));
        file.extend(entry(0, "\x7f\0\0\x01", "0", b"tcp-entry-droppd"));
        let out = filter_xauthority(&file, 0, "box");
        assert_eq!(out, entry(65535, "box", "0", b"cookie-zero-here"));
        assert!(filter_xauthority(&file, 5, "box").is_empty());
        // Truncated input keeps the whole entries before the cut.
        assert_eq!(
            filter_xauthority(&file[..file.len() - 3], 1, "box"),
            entry(65535, "box", "1", b"cookie-one-here!")
        );
    }
}
