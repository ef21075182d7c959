//! The desktop helpers: what the supervisor prepares outside the sandbox, before the clone,
//! because it cannot exist earlier — the filtered Xauthority copy and the `xdg-dbus-proxy`
//! sockets. Decided here, in full (the private folder, which cookies, the proxy's arguments, the
//! binds that show them inside and the Landlock rule for the copy), so `jail explain` shows it
//! and `sandbox::dbus_proxy` only carries it out.

use super::{bus_address, session_bus_host, session_bus_inside, system_bus_host};
use super::{portal, x11_display, xauthority_host, SYSTEM_BUS_INSIDE, XAUTHORITY_INSIDE};
use crate::host::Host;
use crate::plan::landlock::{FsRight, LandlockPlan, PathClass, PathRule};
use crate::plan::mounts::{Access, MountStep};
use crate::plan::Dbus;
use crate::profile::DbusMode;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The helpers of one sandbox.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Helpers {
    /// A private folder (0700, the caller's), `STATE/session-PID`: made before the clone,
    /// removed when the sandbox has ended.
    pub dir: PathBuf,
    pub xauthority: Option<XauthorityCopy>,
    pub proxy: Option<DbusProxy>,
}

/// `gui.x11`: the host's Xauthority file, reduced to the cookies of one display.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct XauthorityCopy {
    pub from: PathBuf,
    pub display: u32,
    /// In [`Helpers::dir`]; bound read-only at [`XAUTHORITY_INSIDE`].
    pub to: PathBuf,
}

/// `dbus.* = "filtered"`: one `xdg-dbus-proxy` serving a socket per filtered bus.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DbusProxy {
    /// Looked up on `PATH` when the sandbox starts; missing, jail refuses to run.
    pub program: String,
    /// Its arguments after `--fd=3` (the readiness and lifetime pipe): for each bus
    /// `ADDRESS SOCKET --filter RULES…`.
    pub args: Vec<String>,
    /// The sockets it must have made before the sandbox binds them.
    pub sockets: Vec<PathBuf>,
    /// Its stderr, quoted when it fails to start.
    pub log: PathBuf,
    /// `dbus.portal`: the proxy runs with this folder as its root — a tmpfs mirroring the
    /// host's `/` (each top-level folder bound, each symlink copied) plus the app's identity
    /// file ([`portal::INFO_INSIDE`]), because the portals identify the app by the root of the
    /// process the bus names as sender, which is the proxy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root: Option<PathBuf>,
    /// `jail learn`: the proxy logs every message (`--log`) into `log`, which may grow to this
    /// many bytes (`RLIMIT_FSIZE`, with SIGXFSZ ignored: later lines are dropped, the proxy
    /// keeps running).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_limit: Option<u64>,
}

/// The proxy's arguments for one bus: `ADDRESS PATH --filter RULES…`.
pub fn bus_args(address: &str, socket: &std::path::Path, d: &Dbus) -> Vec<String> {
    let mut a = vec![
        address.to_string(),
        socket.display().to_string(),
        "--filter".into(),
    ];
    a.extend(d.see.iter().map(|n| format!("--see={n}")));
    a.extend(d.talk.iter().map(|n| format!("--talk={n}")));
    a.extend(d.own.iter().map(|n| format!("--own={n}")));
    a.extend(d.call.iter().map(|n| format!("--call={n}")));
    a
}

/// The helpers the plan needs (`None`: none), with the binds that show their files inside.
/// `env` is COMMAND's environment as planned (`XAUTHORITY` pointing at the copy means the copy
/// is wanted). The bus addresses were checked by `dbus::compile` already.
pub fn compile(
    host: &Host,
    dbus: &Dbus,
    env: &BTreeMap<String, String>,
) -> Result<Option<(Helpers, Vec<MountStep>)>, String> {
    let want_xauth = env.get("XAUTHORITY").map(String::as_str) == Some(XAUTHORITY_INSIDE);
    let want_proxy = dbus.session == DbusMode::Filtered || dbus.system == DbusMode::Filtered;
    if !want_xauth && !want_proxy {
        return Ok(None);
    }
    let dir = host.state_dir().join(format!("session-{}", host.pid));
    let mut binds = vec![];
    let xauthority = if want_xauth {
        let display = env.get("DISPLAY").cloned().unwrap_or_default();
        let n = x11_display(&display)?;
        let to = dir.join("Xauthority");
        binds.push(MountStep::Bind {
            source: to.clone(),
            target: XAUTHORITY_INSIDE.into(),
            access: Access::Ro,
            why: format!("gui.x11: the cookies of display :{n} only"),
        });
        Some(XauthorityCopy {
            from: xauthority_host(&host.env, &host.home),
            display: n,
            to,
        })
    } else {
        None
    };
    let proxy = if want_proxy {
        let mut args = vec![];
        let mut sockets = vec![];
        let rt = host.runtime_dir.as_deref();
        if dbus.session == DbusMode::Filtered {
            let bus = session_bus_host(&host.env, rt)?;
            let sock = dir.join("session-bus");
            args.extend(bus_args(&bus_address(&bus), &sock, dbus));
            binds.push(MountStep::Bind {
                source: sock.clone(),
                target: session_bus_inside(rt),
                access: Access::Ro,
                why: "dbus.session = \"filtered\": the xdg-dbus-proxy socket".into(),
            });
            sockets.push(sock);
        }
        if dbus.system == DbusMode::Filtered {
            let bus = system_bus_host(&host.env)?;
            let sock = dir.join("system-bus");
            args.extend(bus_args(&bus_address(&bus), &sock, dbus));
            binds.push(MountStep::Bind {
                source: sock.clone(),
                target: SYSTEM_BUS_INSIDE.into(),
                access: Access::Ro,
                why: "dbus.system = \"filtered\": the xdg-dbus-proxy socket".into(),
            });
            sockets.push(sock);
        }
        Some(DbusProxy {
            program: "xdg-dbus-proxy".into(),
            args,
            sockets,
            log: dir.join("xdg-dbus-proxy.log"),
            root: dbus.portal.as_ref().map(|_| dir.join("proxy-root")),
            log_limit: None,
        })
    } else {
        None
    };
    if let Some(p) = &dbus.portal {
        binds.push(MountStep::File {
            target: portal::INFO_INSIDE.into(),
            content: p.info.clone(),
            mode: 0o444,
        });
        binds.push(MountStep::Bind {
            source: p.documents.join("by-app").join(&p.app_id),
            target: p.documents.clone(),
            access: Access::Rw,
            why: format!(
                "dbus.portal: the document portal's view for {} (the files the user gave it)",
                p.app_id
            ),
        });
    }
    Ok(Some((
        Helpers {
            dir,
            xauthority,
            proxy,
        },
        binds,
    )))
}

/// Landlock's read rule for the Xauthority copy (connecting to the proxy's sockets needs no
/// Landlock right), and `dbus.portal`'s: read the identity file, read and write the documents.
pub fn landlock_rule(h: &Helpers, dbus: &Dbus, l: &mut LandlockPlan) {
    if let (Some(p), true) = (&dbus.portal, l.enforce()) {
        let read = [FsRight::ReadFile];
        let docs = [
            FsRight::ReadFile,
            FsRight::ReadDir,
            FsRight::WriteFile,
            FsRight::Truncate,
            FsRight::MakeReg,
            FsRight::RemoveFile,
        ];
        for (path, rights, class, what) in [
            (
                PathBuf::from(portal::INFO_INSIDE),
                &read[..],
                PathClass::Ro,
                "the portal identity",
            ),
            (
                p.documents.clone(),
                &docs[..],
                PathClass::Rw,
                "the document portal's view",
            ),
        ] {
            let access: Vec<FsRight> = rights
                .iter()
                .copied()
                .filter(|r| l.handled_fs.contains(r))
                .collect();
            if access.is_empty() {
                continue;
            }
            l.explain.push(format!(
                "{} {}: {} ({what})",
                if class == PathClass::Ro { "ro" } else { "rw" },
                path.display(),
                access
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            ));
            l.path_rules.push(PathRule {
                path,
                access,
                classes: vec![class],
            });
        }
    }
    if h.xauthority.is_some() && l.enforce() && l.handled_fs.contains(&FsRight::ReadFile) {
        l.path_rules.push(PathRule {
            path: XAUTHORITY_INSIDE.into(),
            access: vec![FsRight::ReadFile],
            classes: vec![PathClass::Ro],
        });
        l.explain.push(format!(
            "ro {XAUTHORITY_INSIDE}: read_file (the filtered Xauthority copy)"
        ));
    }
}
