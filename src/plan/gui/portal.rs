//! `[dbus] portal = true`: what makes xdg-desktop-portal treat COMMAND as a sandboxed app.
//!
//! The portals tell apps apart by the process that sent a message: they read
//! `/proc/PID/root/.flatpak-info` and, when it names an app (`[Application] name=`, with an
//! `[Instance] instance-id=` since 1.16), they answer for that app id: the file chooser hands
//! out paths of the document portal (`$XDG_RUNTIME_DIR/doc/ID/NAME`) instead of real paths, and
//! the app's view of the document portal is `doc/by-app/APP_ID`, which shows only the
//! documents given to it. Without the file the caller is a "host" app that gets real paths
//! (which the sandbox cannot open) and full access to the document portal.
//!
//! So the plan gives the sandbox that file at `/.flatpak-info`, read-only; gives the same
//! file to the `xdg-dbus-proxy` (whose process is the one the bus reports as the sender: it runs
//! in a root of its own that mirrors the host's, see `sandbox::dbus_proxy`); binds
//! `doc/by-app/APP_ID` at `$XDG_RUNTIME_DIR/doc`; and lets the app talk to the two portal
//! names. The app id is `org.jail.PROFILE` (other characters than letters, digits and `_`
//! become `_`), so two sandboxes of one profile share their documents, and no Flatpak app's.

use super::{err, origin, Ctx, Error};
use crate::plan::Dbus;
use crate::profile::{self, DbusMode};
use serde::Serialize;
use std::path::PathBuf;

/// Where the identity file is, inside the sandbox and in the proxy's root.
pub const INFO_INSIDE: &str = "/.flatpak-info";

/// The portal names the app may talk to: the portals and the document portal.
pub const NAMES: [&str; 2] = [
    "org.freedesktop.portal.Desktop",
    "org.freedesktop.portal.Documents",
];

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Portal {
    pub app_id: String,
    /// The text of [`INFO_INSIDE`].
    pub info: String,
    /// The document portal's folder on the host (`$XDG_RUNTIME_DIR/doc`); the app's view of it
    /// (`by-app/APP_ID`) is bound at the same path inside. The supervisor asks the document
    /// portal to start (`GetMountPoint`) before the sandbox is built.
    pub documents: PathBuf,
}

/// `org.jail.NAME` for the profile `name`, as a valid app id (D-Bus name elements).
pub fn app_id(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    format!("org.jail.{s}")
}

/// The identity file: the app id and this sandbox's instance (the supervisor's pid).
pub fn info_text(app_id: &str, instance: u32) -> String {
    format!("[Application]\nname={app_id}\n\n[Instance]\ninstance-id={instance}\n")
}

/// `dbus.portal`: `None` when off (or when the session bus was left out by `dbus.optional`).
/// Adds the portal names to `dbus.talk`.
pub(crate) fn compile(
    cx: &mut Ctx,
    p: &profile::Dbus,
    profile: &str,
    d: &mut Dbus,
) -> Result<Option<Portal>, Error> {
    if !p.portal.as_ref().is_some_and(|x| x.v) {
        return Ok(None);
    }
    let at = origin(&p.portal);
    let asked = p.session.as_ref().map(|x| x.v).unwrap_or_default();
    if asked != DbusMode::Filtered {
        return Err(err(
            "dbus.portal = true needs dbus.session = \"filtered\" (the portals tell the app apart through its xdg-dbus-proxy)",
            &at,
        ));
    }
    if d.session != DbusMode::Filtered {
        cx.warnings
            .push("dbus.portal: skipped (no session bus in the sandbox)".into());
        return Ok(None);
    }
    let Some(rt) = cx.host.runtime_dir.as_deref() else {
        return Err(err(
            "dbus.portal: $XDG_RUNTIME_DIR is unset, so the document portal's folder cannot be found",
            &at,
        ));
    };
    for n in NAMES {
        if !d.talk.iter().any(|t| t == n) {
            d.talk.push(n.to_string());
        }
    }
    let app_id = app_id(profile);
    Ok(Some(Portal {
        info: info_text(&app_id, cx.host.pid),
        app_id,
        documents: rt.join("doc"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_ids_are_valid_names() {
        assert_eq!(app_id("firefox-esr"), "org.jail.firefox_esr");
        assert_eq!(app_id("7zip"), "org.jail._7zip");
        assert!(super::super::valid_bus_name(&app_id("a.b-c")));
        let t = info_text("org.jail.x", 42);
        assert!(t.contains("[Application]\nname=org.jail.x\n") && t.contains("instance-id=42"));
    }
}
