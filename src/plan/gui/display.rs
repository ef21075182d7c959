//! `[gui] wayland` and `[gui] x11`: the display server's socket, `WAYLAND_DISPLAY` or `DISPLAY`,
//! and for X11 the Xauthority cookie of that display (filtered by the supervisor).

use super::{err, grant, need_socket, runtime_dir, Ctx, Desktop, Error};
use crate::host::Kind;
use crate::profile::Origin;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the filtered Xauthority file appears inside (bound read-only by the supervisor).
pub const XAUTHORITY_INSIDE: &str = "/run/jail/Xauthority";

pub(super) fn wayland(cx: &Ctx, d: &mut Desktop, at: &Option<Origin>) -> Result<(), Error> {
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

pub(super) fn x11(cx: &Ctx, d: &mut Desktop, at: &Option<Origin>) -> Result<(), Error> {
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
