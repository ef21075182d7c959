//! The table of checks: every check is one [`CheckDef`] of [`CHECKS`] (its [`CheckId`], its
//! weight, its title and the function that evaluates it), and the report walks the table in
//! its order. The evaluating functions live by topic in `network`, `filesystem`, `session`
//! and `kernel`.

use super::facts::Facts;
use super::{filesystem, kernel, network, session};

/// A check, by name. The table lists every id exactly once, in the order of the enum (checked
/// when compiling), so a check cannot be left without a weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CheckId {
    NetHost,
    AbstractSocketsX11,
    AbstractSockets,
    NetTcpAny,
    HostRoot,
    HomeRead,
    HomeWholeRead,
    HomeSecrets,
    HomeWrite,
    HomeWholeRw,
    RwOutsideHome,
    RwSystem,
    RuntimeDir,
    X11,
    Wayland,
    Audio,
    DbusSession,
    DbusSessionHost,
    DbusSystem,
    DbusSystemHost,
    SshAgent,
    Devices,
    Capabilities,
    UidRoot,
    UserHost,
    Seccomp,
    NestedUser,
    NestedOther,
    Landlock,
    PidHost,
    SignalHost,
    IpcHost,
    UtsHost,
    Limits,
    TmpfsMemory,
}

impl CheckId {
    /// The id as the reports write it (`net-host`).
    pub const fn name(self) -> &'static str {
        match self {
            CheckId::NetHost => "net-host",
            CheckId::AbstractSocketsX11 => "abstract-sockets-x11",
            CheckId::AbstractSockets => "abstract-sockets",
            CheckId::NetTcpAny => "net-tcp-any",
            CheckId::HostRoot => "host-root",
            CheckId::HomeRead => "home-read",
            CheckId::HomeWholeRead => "home-whole-read",
            CheckId::HomeSecrets => "home-secrets",
            CheckId::HomeWrite => "home-write",
            CheckId::HomeWholeRw => "home-whole-rw",
            CheckId::RwOutsideHome => "rw-outside-home",
            CheckId::RwSystem => "rw-system",
            CheckId::RuntimeDir => "runtime-dir",
            CheckId::X11 => "x11",
            CheckId::Wayland => "wayland",
            CheckId::Audio => "audio",
            CheckId::DbusSession => "dbus-session",
            CheckId::DbusSessionHost => "dbus-session-host",
            CheckId::DbusSystem => "dbus-system",
            CheckId::DbusSystemHost => "dbus-system-host",
            CheckId::SshAgent => "ssh-agent",
            CheckId::Devices => "devices",
            CheckId::Capabilities => "capabilities",
            CheckId::UidRoot => "uid-root",
            CheckId::UserHost => "user-host",
            CheckId::Seccomp => "seccomp",
            CheckId::NestedUser => "nested-user",
            CheckId::NestedOther => "nested-other",
            CheckId::Landlock => "landlock",
            CheckId::PidHost => "pid-host",
            CheckId::SignalHost => "signal-host",
            CheckId::IpcHost => "ipc-host",
            CheckId::UtsHost => "uts-host",
            CheckId::Limits => "limits",
            CheckId::TmpfsMemory => "tmpfs-memory",
        }
    }
}

/// What a check found: whether the plan is exposed, and why (either way).
pub type Finding = (bool, String);

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

const fn check(
    id: CheckId,
    weight: f64,
    title: &'static str,
    eval: fn(&Facts) -> Finding,
) -> CheckDef {
    CheckDef {
        id,
        weight,
        title,
        eval,
    }
}

/// Every check, in the order the reports list them.
pub const CHECKS: &[CheckDef] = &[
    // Network.
    check(
        CheckId::NetHost,
        2.5,
        "host network shared",
        network::net_host,
    ),
    check(
        CheckId::AbstractSocketsX11,
        0.5,
        "abstract sockets left open for X11 on the host network",
        network::abstract_sockets_x11,
    ),
    check(
        CheckId::AbstractSockets,
        2.0,
        "the host's abstract unix sockets reachable",
        network::abstract_sockets,
    ),
    check(
        CheckId::NetTcpAny,
        1.0,
        "TCP connections to any port",
        network::net_tcp_any,
    ),
    // Filesystem.
    check(
        CheckId::HostRoot,
        2.0,
        "the host's / bound",
        filesystem::host_root,
    ),
    check(
        CheckId::HomeRead,
        1.0,
        "something of the real home readable",
        filesystem::home_read,
    ),
    check(
        CheckId::HomeWholeRead,
        2.0,
        "the whole home readable",
        filesystem::home_whole_read,
    ),
    check(
        CheckId::HomeSecrets,
        2.5,
        "keys and credentials in the home readable",
        filesystem::home_secrets,
    ),
    check(
        CheckId::HomeWrite,
        1.5,
        "something of the real home writable",
        filesystem::home_write,
    ),
    check(
        CheckId::HomeWholeRw,
        3.0,
        "the whole home writable",
        filesystem::home_whole_rw,
    ),
    check(
        CheckId::RwOutsideHome,
        1.0,
        "writable grants outside the home",
        filesystem::rw_outside_home,
    ),
    check(
        CheckId::RwSystem,
        3.0,
        "system folders writable",
        filesystem::rw_system,
    ),
    check(
        CheckId::RuntimeDir,
        2.5,
        "the whole $XDG_RUNTIME_DIR visible",
        filesystem::runtime_dir,
    ),
    // Desktop session.
    check(CheckId::X11, 2.5, "X11 display", session::x11),
    check(
        CheckId::Wayland,
        0.5,
        "Wayland compositor",
        session::wayland,
    ),
    check(
        CheckId::Audio,
        1.0,
        "sound server (and so the microphone)",
        session::audio,
    ),
    check(
        CheckId::DbusSession,
        0.5,
        "session bus reachable",
        session::dbus_session,
    ),
    check(
        CheckId::DbusSessionHost,
        3.0,
        "session bus unfiltered",
        session::dbus_session_host,
    ),
    check(
        CheckId::DbusSystem,
        0.5,
        "system bus reachable",
        session::dbus_system,
    ),
    check(
        CheckId::DbusSystemHost,
        1.5,
        "system bus unfiltered",
        session::dbus_system_host,
    ),
    check(
        CheckId::SshAgent,
        1.5,
        "ssh-agent reachable",
        session::ssh_agent,
    ),
    check(
        CheckId::Devices,
        1.5,
        "device nodes granted",
        session::devices,
    ),
    // Privileges and kernel surface.
    check(
        CheckId::Capabilities,
        2.5,
        "capabilities kept",
        kernel::capabilities,
    ),
    check(
        CheckId::UidRoot,
        1.0,
        "runs as uid 0 inside",
        kernel::uid_root,
    ),
    check(
        CheckId::UserHost,
        1.5,
        "no user namespace",
        kernel::user_host,
    ),
    check(
        CheckId::Seccomp,
        2.0,
        "default deny groups weakened",
        kernel::seccomp,
    ),
    check(
        CheckId::NestedUser,
        1.5,
        "may create user namespaces",
        kernel::nested_user,
    ),
    check(
        CheckId::NestedOther,
        0.5,
        "may create other namespaces",
        kernel::nested_other,
    ),
    check(CheckId::Landlock, 1.0, "no Landlock", kernel::landlock),
    check(
        CheckId::PidHost,
        2.0,
        "host pid namespace",
        kernel::pid_host,
    ),
    check(
        CheckId::SignalHost,
        1.0,
        "host processes can be signalled",
        kernel::signal_host,
    ),
    check(
        CheckId::IpcHost,
        0.5,
        "host ipc namespace",
        kernel::ipc_host,
    ),
    check(
        CheckId::UtsHost,
        0.2,
        "host uts namespace",
        kernel::uts_host,
    ),
    check(
        CheckId::Limits,
        0.5,
        "no memory or pids limit",
        kernel::limits,
    ),
    check(
        CheckId::TmpfsMemory,
        1.0,
        "memory-backed folders unbounded or huge",
        kernel::tmpfs_memory,
    ),
];

// Every id once, in the order of the enum.
const _: () = {
    assert!(CHECKS.len() == CheckId::TmpfsMemory as usize + 1);
    let mut i = 0;
    while i < CHECKS.len() {
        assert!(CHECKS[i].id as usize == i);
        i += 1;
    }
};
