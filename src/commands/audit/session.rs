//! The desktop session checks: display servers, sound, the D-Bus buses, the ssh-agent, device
//! nodes.

use super::checks::Finding;
use super::facts::Facts;
use crate::plan::mounts::Access;
use crate::plan::under;
use std::path::{Path, PathBuf};

pub fn x11(f: &Facts) -> Finding {
    let x11_sock = f.bound_under(Path::new("/tmp/.X11-unix"));
    let x11 = f.gui("x11") || !x11_sock.is_empty();
    (
        x11,
        if x11 {
            "X11 lets any client read keystrokes and screen contents of every window".into()
        } else {
            "no X11 socket".into()
        },
    )
}

pub fn wayland(f: &Facts) -> Finding {
    let wayland = f.gui("wayland")
        || f.binds().any(|(t, _)| {
            t.file_name()
                .map(|n| n.to_string_lossy().starts_with("wayland-"))
                .unwrap_or(false)
        });
    (
        wayland,
        if wayland {
            "a Wayland socket: windows of its own only, but compositor bugs are reachable".into()
        } else {
            "no Wayland socket".into()
        },
    )
}

pub fn audio(f: &Facts) -> Finding {
    let audio = f.gui("pulseaudio")
        || f.gui("pipewire")
        || f.binds().any(|(t, _)| {
            under(t, &f.runtime.join("pulse")) || t.to_string_lossy().contains("pipewire-")
        });
    (
        audio,
        if audio {
            "the sound server: plays sound and can record the microphone".into()
        } else {
            "no sound server".into()
        },
    )
}

pub fn dbus_session(f: &Facts) -> Finding {
    let d = &f.plan.dbus;
    let session_host = f.session_bus_host();
    (
        d.session != "none" || session_host,
        match (d.session.as_str(), session_host) {
            (_, true) => "the session bus".into(),
            ("filtered", _) => format!(
                "the session bus through a filter: talk {:?}, own {:?}",
                d.talk, d.own
            ),
            _ => "no session bus".into(),
        },
    )
}

pub fn dbus_session_host(f: &Facts) -> Finding {
    let session_host = f.session_bus_host();
    (
        session_host,
        if session_host {
            "the session bus unfiltered: other apps, secrets service, systemd --user can start programs outside".into()
        } else {
            "no unfiltered session bus".into()
        },
    )
}

pub fn dbus_system(f: &Facts) -> Finding {
    let d = &f.plan.dbus;
    let system_host = f.system_bus_host();
    (
        d.system != "none" || system_host,
        if d.system != "none" || system_host {
            format!(
                "the system bus ({})",
                if system_host { "host" } else { "filtered" }
            )
        } else {
            "no system bus".into()
        },
    )
}

pub fn dbus_system_host(f: &Facts) -> Finding {
    let system_host = f.system_bus_host();
    (
        system_host,
        if system_host {
            "the system bus unfiltered: every system service's API that polkit allows".into()
        } else {
            "no unfiltered system bus".into()
        },
    )
}

pub fn ssh_agent(f: &Facts) -> Finding {
    let agent = f.plan.env.contains_key("SSH_AUTH_SOCK");
    (
        agent,
        if agent {
            "SSH_AUTH_SOCK is passed: the agent signs for any host the keys open".into()
        } else {
            "no ssh-agent".into()
        },
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
    (
        !devs.is_empty(),
        if devs.is_empty() {
            "only the minimal /dev (null, zero, random, tty …)".into()
        } else {
            format!("device drivers reachable: {}", f.list(&devs))
        },
    )
}
