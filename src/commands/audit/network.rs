//! The network checks: the host network, its abstract unix sockets, TCP ports.

use super::checks::{flag, CheckId, Finding};
use super::facts::Facts;
use crate::plan::landlock::ScopeKind;

pub fn net_host(f: &Facts) -> Finding {
    flag(
        !f.plan.namespaces.net,
        "the host's network: LAN and the host's localhost services are reachable",
        "own network namespace: loopback only",
    )
}

pub fn abstract_sockets_x11(f: &Facts) -> Finding {
    flag(
        f.abstract_for_x11(),
        "gui.x11 with the host network: abstract sockets stay unscoped because X11 clients try @/tmp/.X11-unix/X… first; the host's other abstract sockets (D-Bus, container shims) are reachable too",
        "no abstract socket left open for X11",
    )
}

pub fn abstract_sockets(f: &Facts) -> Finding {
    let abstract_open = f.abstract_open();
    (
        abstract_open,
        if f.plan.namespaces.net {
            "own network namespace: the host's abstract sockets do not exist there".into()
        } else if f.abstract_for_x11() {
            format!("see {}", CheckId::AbstractSocketsX11.name())
        } else if abstract_open {
            format!(
                "the host's abstract unix sockets (X11's @/tmp/.X11-unix/X0, D-Bus, container shims) are reachable: {}",
                f.unscoped_why(ScopeKind::AbstractUnixSocket)
            )
        } else {
            "Landlock scope: abstract unix sockets made outside the sandbox refuse it".into()
        },
    )
}

pub fn net_tcp_any(f: &Facts) -> Finding {
    let net = f.plan.namespaces.net;
    let ll = &f.plan.landlock;
    let tcp_limited = ll.enforce() && !ll.handled_net.is_empty();
    (
        !net && !tcp_limited,
        if net {
            "no outside network to connect to".into()
        } else if tcp_limited {
            let ports: Vec<String> = ll.net_rules.iter().map(|r| r.port.to_string()).collect();
            format!(
                "Landlock allows TCP connect/bind only on ports [{}]",
                ports.join(", ")
            )
        } else {
            "any TCP port of any host may be connected to (set landlock.connect_tcp)".into()
        },
    )
}
