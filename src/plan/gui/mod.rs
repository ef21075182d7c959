//! `[gui]` and `[dbus]`: desktop sockets and devices, found where the session has them, turned
//! into grants and environment variables for COMMAND.
//!
//! Everything here is pure: the session is read through `cx.host` (its environment and its
//! file system answers). What cannot exist before the sandbox starts — the filtered D-Bus proxy
//! socket and the filtered Xauthority file — is made by the supervisor
//! (`sandbox::dbus_proxy::start`) from the plan's `helpers` ([`helpers`]): this module decides
//! all of it (the private folder, the proxy's arguments, where they appear inside, the
//! variables pointing there).
//!
//! A requested socket that the session does not have is an error pointing at the key that asked
//! for it, never silently skipped.
//!
//! `display` finds the display servers (Wayland, X11 and its Xauthority), `dbus` the session
//! and system buses; the audio servers and the GPU are found here.

use super::{Ctx, Dbus, Error};
use crate::host::Kind;
use crate::profile::{Located, Origin, Pick, Profile, Switch, L};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod dbus;
mod display;
pub mod helpers;
pub mod portal;

pub use dbus::{
    bus_address, bus_path, proxy_on_path, session_bus_host, session_bus_inside, system_bus_host,
    valid_bus_name, SPAWNERS, SYSTEM_BUS_HOST, SYSTEM_BUS_INSIDE,
};
pub use display::{filter_xauthority, x11_display, xauthority_host, XAUTHORITY_INSIDE};

/// What the desktop sections add to the plan.
#[derive(Debug, Default, Clone)]
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

type Find = fn(&Ctx, &mut Desktop, &Option<Origin>) -> Result<(), Error>;
/// An automatic choice: its key, its value, the switches it tries in order, the note for none.
type Auto<'a> = (
    &'a str,
    &'a Option<L<Pick>>,
    [(&'a str, &'a Option<L<Switch>>, Find); 2],
    &'a str,
);

pub fn compile(cx: &mut Ctx, p: &Profile) -> Result<Desktop, Error> {
    let g = &p.gui;
    let switches: [(&str, &Option<L<Switch>>, Find); 5] = [
        ("wayland", &g.wayland, display::wayland),
        ("x11", &g.x11, display::x11),
        ("pulseaudio", &g.pulseaudio, pulseaudio),
        ("pipewire", &g.pipewire, pipewire),
        ("gpu", &g.gpu, gpu),
    ];
    let mut d = Desktop::default();
    // Every piece the session lacks, so the user learns them all at once.
    let mut missing: Vec<Error> = vec![];
    for (name, v, find) in switches {
        let switch = v.as_ref().map(|x| x.v).unwrap_or_default();
        let mut on = switch != Switch::Off;
        if on {
            if let Err(e) = find(cx, &mut d, &origin(v)) {
                // An optional switch (or any, when judging a profile rather than this session)
                // is skipped with a note when the session lacks it.
                if switch == Switch::Optional || cx.host.session_optional {
                    cx.warnings.push(format!("{}: skipped", e.msg));
                } else {
                    let fix = format!(
                        " (to run without it: [gui] {name} = \"optional\" in the profile or its NAME.local.toml)"
                    );
                    missing.push(Located::new(format!("{}{fix}", e.msg), e.at));
                }
                on = false;
            }
        }
        d.gui.insert(name.to_string(), on);
    }
    // `display`/`sound = "auto"`: the first of the session's servers that a switch the profile
    // left unset can find; none is a note, not an error (the app runs without it).
    let autos: [Auto; 2] = [
        (
            "display",
            &g.display,
            [
                ("wayland", &g.wayland, display::wayland),
                ("x11", &g.x11, display::x11),
            ],
            "no Wayland or X11 display in this session: COMMAND runs without one (headless)",
        ),
        (
            "sound",
            &g.sound,
            [
                ("pulseaudio", &g.pulseaudio, pulseaudio),
                ("pipewire", &g.pipewire, pipewire),
            ],
            "no PulseAudio or PipeWire socket in this session: COMMAND runs without sound",
        ),
    ];
    for (key, pick, candidates, none_note) in autos {
        let auto = pick.as_ref().map(|x| x.v) == Some(Pick::Auto);
        if auto {
            d.gui.insert(key.to_string(), true);
        }
        if !auto || candidates.iter().any(|(n, _, _)| d.gui[*n]) {
            continue;
        }
        let mut found = false;
        for (name, v, find) in candidates {
            if v.is_some() {
                continue; // set by the profile: already decided above
            }
            let mut t = d.clone();
            if find(cx, &mut t, &origin(pick)).is_ok() {
                d = t;
                d.gui.insert(name.to_string(), true);
                found = true;
                break;
            }
        }
        if !found {
            cx.warnings
                .push(format!("gui.{key} = \"auto\": {none_note}"));
        }
    }
    match missing.len() {
        0 => {}
        1 => return Err(missing.remove(0)),
        n => {
            let at = missing[0].at.clone();
            let list: Vec<String> = missing.iter().map(|e| format!("\n  - {}", e.msg)).collect();
            return Err(Located::new(
                format!(
                    "this session lacks {n} things the profile requires:{}",
                    list.concat()
                ),
                at,
            ));
        }
    }
    d.dbus = dbus::compile(cx, &mut d, &p.dbus)?;
    Ok(d)
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

#[cfg(test)]
mod tests;
