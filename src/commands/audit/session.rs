//! The desktop session checks: display servers, sound, the D-Bus buses, the ssh-agent, device
//! nodes.

use super::checks::{flag, listed, Finding};
use super::facts::Facts;
use crate::plan::mounts::Access;
use crate::plan::under;
use crate::profile::DbusMode;
use std::path::{Path, PathBuf};

pub fn x11(f: &Facts) -> Finding {
    let x11_sock = f.bound_under(Path::new("/tmp/.X11-unix"));
    flag(
        f.gui("x11") || !x11_sock.is_empty(),
        "X11 lets any client read keystrokes and screen contents of every window",
        "no X11 socket",
    )
}

/// A profile is judged, not this session: `display = "auto"` takes the X11 display on a session
/// without Wayland (as Flatpak's `fallback-x11`). Weighed less than `x11`: on a Wayland session
/// the app never gets it.
pub fn x11_fallback(f: &Facts) -> Finding {
    let x11_always = f.gui("x11") || !f.bound_under(Path::new("/tmp/.X11-unix")).is_empty();
    flag(
        f.gui("display") && !x11_always,
        "display = \"auto\" takes the X11 display on a session without Wayland (X11 lets any client read keystrokes and windows of every other)",
        "no X11 fallback",
    )
}

pub fn wayland(f: &Facts) -> Finding {
    let wayland = f.gui("wayland")
        || f.gui("display")
        || f.binds().any(|(t, _)| {
            t.file_name()
                .map(|n| n.to_string_lossy().starts_with("wayland-"))
                .unwrap_or(false)
        });
    flag(
        wayland,
        "a Wayland socket: windows of its own only, but compositor bugs are reachable",
        "no Wayland socket",
    )
}

pub fn audio(f: &Facts) -> Finding {
    let audio = f.gui("pulseaudio")
        || f.gui("pipewire")
        || f.gui("sound")
        || f.binds().any(|(t, _)| {
            under(t, &f.runtime.join("pulse")) || t.to_string_lossy().contains("pipewire-")
        });
    flag(
        audio,
        "the sound server: plays sound and can record the microphone",
        "no sound server",
    )
}

pub fn dbus_session(f: &Facts) -> Finding {
    let d = &f.plan.dbus;
    let session_host = f.session_bus_host();
    (
        d.session != DbusMode::None || session_host,
        match (d.session, session_host) {
            (_, true) => "the session bus".into(),
            (DbusMode::Filtered, _) => format!(
                "the session bus through a filter: talk {:?}, own {:?}",
                d.talk, d.own
            ),
            _ => "no session bus".into(),
        },
    )
}

pub fn dbus_session_host(f: &Facts) -> Finding {
    flag(
        f.session_bus_host(),
        "the session bus unfiltered: other apps, secrets service, systemd --user can start programs outside",
        "no unfiltered session bus",
    )
}

pub fn dbus_system(f: &Facts) -> Finding {
    let system_host = f.system_bus_host();
    flag(
        f.plan.dbus.system != DbusMode::None || system_host,
        format!(
            "the system bus ({})",
            if system_host { "host" } else { "filtered" }
        ),
        "no system bus",
    )
}

pub fn dbus_system_host(f: &Facts) -> Finding {
    flag(
        f.system_bus_host(),
        "the system bus unfiltered: every system service's API that polkit allows",
        "no unfiltered system bus",
    )
}

pub fn ssh_agent(f: &Facts) -> Finding {
    flag(
        f.plan.env.contains_key("SSH_AUTH_SOCK"),
        "SSH_AUTH_SOCK is passed: the agent signs for any host the keys open",
        "no ssh-agent",
    )
}

pub fn devices(f: &Facts) -> Finding {
    let mut devs: Vec<PathBuf> = f
        .binds()
        .filter(|(_, a)| *a == Access::Dev)
        .map(|(t, _)| t.clone())
        .collect();
    if f.gui("gpu") && !devs.iter().any(|d| under(d, Path::new("/dev/dri"))) {
        devs.push("/dev/dri".into());
    }
    listed(
        f,
        &devs,
        "device drivers reachable",
        "only the minimal /dev (null, zero, random, tty …)",
    )
}
