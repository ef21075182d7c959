//! The table of checks: every check is one entry of [`CHECKS`] (its [`CheckId`], its weight,
//! its title and the function that evaluates it), and the report walks the table in its
//! order. The evaluating functions live by topic in `network`, `filesystem`, `session` and
//! `kernel`.

use super::facts::Facts;
use super::{filesystem, kernel, network, session};
use std::path::PathBuf;

/// What a check found: whether the plan is exposed, and why (either way).
pub type Finding = (bool, String);

/// A finding with one why for each answer: `if_exposed` when `exposed`, else `if_not`.
pub fn flag(exposed: bool, if_exposed: impl Into<String>, if_not: impl Into<String>) -> Finding {
    if exposed {
        (true, if_exposed.into())
    } else {
        (false, if_not.into())
    }
}

/// A finding about the paths `v`: exposed when there is one, the whys `LABEL: ~/a, ~/b …`
/// and `if_none`.
pub fn listed(f: &Facts, v: &[PathBuf], label: &str, if_none: &str) -> Finding {
    flag(!v.is_empty(), format!("{label}: {}", f.list(v)), if_none)
}

/// One check: what it is, how much it weighs, and how to evaluate it.
pub struct CheckDef {
    pub id: CheckId,
    /// 0–10: the share of what is left of the sandbox's protection this exposure gives away.
    pub weight: f64,
    /// What it is about, in a few words.
    pub title: &'static str,
    /// Evaluates the check against the plan and the host.
    pub eval: fn(&Facts) -> Finding,
}

/// Writes [`CheckId`] (one variant per entry, documented by its title), its names, and
/// [`CHECKS`] from one list, so that an id, its name, its weight and its function cannot part.
macro_rules! checks {
    ($($id:ident, $name:literal, $weight:literal, $title:literal, $eval:path;)*) => {
        /// A check, by name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum CheckId {
            $(#[doc = $title] $id,)*
        }

        impl CheckId {
            /// The id as the reports write it (`net-host`).
            pub const fn name(self) -> &'static str {
                match self {
                    $(CheckId::$id => $name,)*
                }
            }
        }

        /// Every check, in the order the reports list them.
        pub const CHECKS: &[CheckDef] = &[
            $(CheckDef { id: CheckId::$id, weight: $weight, title: $title, eval: $eval },)*
        ];
    };
}

checks! {
    // Network.
    NetHost, "net-host", 2.5, "host network shared", network::net_host;
    AbstractSocketsX11, "abstract-sockets-x11", 0.5, "abstract sockets left open for X11 on the host network", network::abstract_sockets_x11;
    AbstractSockets, "abstract-sockets", 2.0, "the host's abstract unix sockets reachable", network::abstract_sockets;
    NetTcpAny, "net-tcp-any", 1.0, "TCP connections to any port", network::net_tcp_any;
    // Filesystem.
    HostRoot, "host-root", 2.0, "the host's / bound", filesystem::host_root;
    HomeRead, "home-read", 1.0, "something of the real home readable", filesystem::home_read;
    HomeWholeRead, "home-whole-read", 2.0, "the whole home readable", filesystem::home_whole_read;
    HomeSecrets, "home-secrets", 2.5, "keys and credentials in the home readable", filesystem::home_secrets;
    HomeWrite, "home-write", 1.5, "something of the real home writable", filesystem::home_write;
    HomeWholeRw, "home-whole-rw", 3.0, "the whole home writable", filesystem::home_whole_rw;
    RwOutsideHome, "rw-outside-home", 1.0, "writable grants outside the home", filesystem::rw_outside_home;
    RwSystem, "rw-system", 3.0, "system folders writable", filesystem::rw_system;
    RuntimeDir, "runtime-dir", 2.5, "the whole $XDG_RUNTIME_DIR visible", filesystem::runtime_dir;
    ExecWritable, "exec-writable", 0.3, "programs written inside can be run", filesystem::exec_writable;
    // Desktop session.
    X11, "x11", 2.5, "X11 display", session::x11;
    X11Fallback, "x11-fallback", 1.0, "X11 display on sessions without Wayland", session::x11_fallback;
    Wayland, "wayland", 0.5, "Wayland compositor", session::wayland;
    Audio, "audio", 1.0, "sound server (and so the microphone)", session::audio;
    DbusSession, "dbus-session", 0.5, "session bus reachable", session::dbus_session;
    DbusSessionHost, "dbus-session-host", 3.0, "session bus unfiltered", session::dbus_session_host;
    DbusSystem, "dbus-system", 0.5, "system bus reachable", session::dbus_system;
    DbusSystemHost, "dbus-system-host", 1.5, "system bus unfiltered", session::dbus_system_host;
    SshAgent, "ssh-agent", 1.5, "ssh-agent reachable", session::ssh_agent;
    Devices, "devices", 1.5, "device nodes granted", session::devices;
    // Privileges and kernel surface.
    Capabilities, "capabilities", 2.5, "capabilities kept", kernel::capabilities;
    UidRoot, "uid-root", 1.0, "runs as uid 0 inside", kernel::uid_root;
    UserHost, "user-host", 1.5, "no user namespace", kernel::user_host;
    Seccomp, "seccomp", 2.0, "default deny groups weakened", kernel::seccomp;
    I386, "i386", 0.5, "32-bit x86 ABI allowed", kernel::i386;
    Families, "families", 0.3, "every socket family on the host network", kernel::families;
    WxMemory, "wx-memory", 0.2, "memory may be writable and executable", kernel::wx_memory;
    NestedUser, "nested-user", 1.5, "may create user namespaces", kernel::nested_user;
    NestedOther, "nested-other", 0.5, "may create other namespaces", kernel::nested_other;
    Landlock, "landlock", 1.0, "no Landlock", kernel::landlock;
    PidHost, "pid-host", 2.0, "host pid namespace", kernel::pid_host;
    SignalHost, "signal-host", 1.0, "host processes can be signalled", kernel::signal_host;
    IpcHost, "ipc-host", 0.5, "host ipc namespace", kernel::ipc_host;
    UtsHost, "uts-host", 0.2, "host uts namespace", kernel::uts_host;
    Limits, "limits", 0.5, "no memory or pids limit", kernel::limits;
    TmpfsMemory, "tmpfs-memory", 1.0, "memory-backed folders unbounded or huge", kernel::tmpfs_memory;
}
