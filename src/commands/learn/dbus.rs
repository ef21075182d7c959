//! The D-Bus names a learned run used.
//!
//! Before the run, [`probe`] asks each bus the host has (session, system) for the names on it
//! and the names it can start, and who owns each. The permissive sandbox then gets both buses
//! `filtered` through xdg-dbus-proxy with every one of those names in `talk` (so COMMAND
//! reaches what it would reach on the host) and the proxy's `--log` on. After the run,
//! [`parse_log`] reads what the proxy logged: the names COMMAND called or heard signals from
//! (`talk`), the names it asked to own (`own`, refused during the run: a name cannot be granted
//! before it is known), and the names it asked for that the bus did not have.
//!
//! The proxy logs both buses into one file without saying which; a unique name (`:1.42`) is
//! mapped to the well-known names its owner had when learn started, on either bus. Names that
//! appear on a bus during the run and that COMMAND reaches only through their unique name are
//! not seen.

use crate::host::Host;
use crate::plan::gui::{self, valid_bus_name};
use crate::sandbox::dbus::{Connection, Message, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The proxy's log is capped at this size (`RLIMIT_FSIZE`); a longer one is read as far as
/// it goes.
pub const LOG_LIMIT: u64 = 32 << 20;

/// What the buses had when learn started.
#[derive(Debug, Default)]
pub struct Buses {
    /// "session", "system": the buses that answered.
    pub reached: Vec<&'static str>,
    /// Every well-known name on either bus, and those the buses can start.
    pub names: BTreeSet<String>,
    /// Unique name → the well-known names it owned.
    pub owners: BTreeMap<String, BTreeSet<String>>,
}

/// Names that no rule may reach (their Spawn starts processes outside the sandbox): the plan
/// refuses them, so learn never grants them.
fn forbidden(n: &str) -> bool {
    gui::SPAWNERS
        .iter()
        .any(|f| n == *f || n.strip_prefix(f).is_some_and(|r| r.starts_with('.')))
}

fn strings(m: &Message) -> Vec<String> {
    match m.body.first() {
        Some(Value::Array(_, v)) => v
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => vec![],
    }
}

fn bus_call(c: &mut Connection, member: &str, args: Vec<Value>) -> Option<Message> {
    c.call(Message::method_call(
        "org.freedesktop.DBus",
        "/org/freedesktop/DBus",
        "org.freedesktop.DBus",
        member,
        args,
    ))
    .ok()
}

/// The names on the host's buses. A bus that is not there or does not answer in a second is
/// left out (COMMAND then has none, as it would have none on the host).
pub fn probe(host: &Host) -> Buses {
    let mut b = Buses::default();
    let session = gui::session_bus_host(&host.env, host.runtime_dir.as_deref());
    let system = gui::system_bus_host(&host.env);
    for (which, sock) in [("session", session), ("system", system)] {
        let Ok(sock) = sock else { continue };
        let Ok(mut c) = Connection::connect(&gui::bus_address(&sock), Duration::from_secs(1))
        else {
            continue;
        };
        b.reached.push(which);
        let mut names: BTreeSet<String> = BTreeSet::new();
        for member in ["ListNames", "ListActivatableNames"] {
            if let Some(m) = bus_call(&mut c, member, vec![]) {
                names.extend(strings(&m));
            }
        }
        for n in names {
            if n.starts_with(':')
                || n == "org.freedesktop.DBus"
                || !valid_bus_name(&n)
                || forbidden(&n)
            {
                continue;
            }
            if let Some(m) = bus_call(&mut c, "GetNameOwner", vec![Value::Str(n.clone())]) {
                if let Some(o) = m.body.first().and_then(Value::as_str) {
                    b.owners.entry(o.to_string()).or_default().insert(n.clone());
                }
            }
            b.names.insert(n);
        }
    }
    b
}

/// The `[dbus]` lines of the permissive profile: both buses the host has filtered, every name
/// on them talked to.
pub fn permissive_section(b: &Buses) -> String {
    let mut t = String::from("\n[dbus]\n");
    for which in &b.reached {
        t += &format!("{which} = \"filtered\"\n");
    }
    let names: Vec<String> = b
        .names
        .iter()
        .map(|n| toml::Value::String(n.clone()).to_string())
        .collect();
    t += &format!("talk = [{}]\n", names.join(", "));
    t
}

/// What the run did on the buses, each name with why.
#[derive(Debug, Default, PartialEq)]
pub struct Seen {
    pub talk: BTreeMap<String, String>,
    pub own: BTreeMap<String, String>,
    /// Names COMMAND asked for that the bus did not have (or learn may not grant).
    pub missing: BTreeMap<String, String>,
}

/// `IFACE.MEMBER`, as the proxy writes it, kept when it is made of name characters only.
fn member_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

fn note(m: &mut BTreeMap<String, String>, name: &str, why: String) {
    // The first reason is kept; the map stays as small as the set of names.
    m.entry(name.to_string()).or_insert(why);
}

/// Reads the proxy's `--log` lines:
/// - `C7: -> DEST call IFACE.MEMBER at PATH`, then `*HIDDEN*` when the proxy refused it;
/// - `B3: <- SENDER signal IFACE.MEMBER at PATH`;
/// - `Filtering message due to arg0 NAME, policy: 0 (required 3)` (3: own, else talk/see).
pub fn parse_log(text: &str, b: &Buses) -> Seen {
    let mut s = Seen::default();
    let wellknown = |n: &str| -> Vec<String> {
        if n.starts_with(':') {
            b.owners
                .get(n)
                .map(|x| x.iter().cloned().collect())
                .unwrap_or_default()
        } else if valid_bus_name(n) && !n.ends_with(".*") && n != "org.freedesktop.DBus" {
            vec![n.to_string()]
        } else {
            vec![]
        }
    };
    let mut pending: Option<(String, String)> = None;
    for line in text.lines() {
        if line.starts_with("*HIDDEN*") {
            if let Some((dest, what)) = pending.take() {
                if !dest.starts_with(':') && valid_bus_name(&dest) {
                    let why = if forbidden(&dest) {
                        format!("called {what}; no rule may reach it (its Spawn starts processes outside the sandbox)")
                    } else {
                        format!("called {what}, which the bus did not have")
                    };
                    note(&mut s.missing, &dest, why);
                }
            }
            continue;
        }
        if let Some((dest, what)) = pending.take() {
            for n in wellknown(&dest) {
                note(&mut s.talk, &n, format!("called {what}"));
            }
        }
        if let Some(rest) = line.strip_prefix("Filtering message due to arg0 ") {
            let Some((name, policy)) = rest.split_once(", policy: ") else {
                continue;
            };
            if !valid_bus_name(name) || name.ends_with(".*") {
                continue;
            }
            if policy.contains("(required 3)") {
                if forbidden(name) {
                    continue;
                }
                note(&mut s.own, name, "asked to own it".into());
            } else {
                note(
                    &mut s.missing,
                    name,
                    "asked for it, which the bus did not have".into(),
                );
            }
            continue;
        }
        let Some((head, rest)) = line.split_once(": ") else {
            continue;
        };
        let words: Vec<&str> = rest.split(' ').collect();
        match (head.as_bytes().first(), words.as_slice()) {
            (Some(b'C'), ["->", dest, "call", member, "at", ..]) if member_ok(member) => {
                pending = Some((dest.to_string(), member.to_string()));
            }
            (Some(b'B'), ["<-", sender, "signal", member, "at", ..]) if member_ok(member) => {
                for n in wellknown(sender) {
                    note(&mut s.talk, &n, format!("listened to its {member} signal"));
                }
            }
            _ => {}
        }
    }
    if let Some((dest, what)) = pending {
        for n in wellknown(&dest) {
            note(&mut s.talk, &n, format!("called {what}"));
        }
    }
    for n in s.talk.keys() {
        s.missing.remove(n);
    }
    for n in s.own.keys() {
        s.missing.remove(n);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "\
C1: -> org.freedesktop.DBus call org.freedesktop.DBus.Hello at /org/freedesktop/DBus
C2: -> org.freedesktop.DBus fake AddMatch for org.jail.Used
B1: <- org.freedesktop.DBus return from C1
B2: <- org.freedesktop.DBus signal org.freedesktop.DBus.NameAcquired at /org/freedesktop/DBus
*SKIPPED*
C4: -> org.jail.Used call org.freedesktop.DBus.Peer.Ping at /
B5: <- :1.3 return from C4
C5: -> org.example.Missing call org.example.Missing.Hi at /x
*HIDDEN* (ping)
B6: <- (no sender) return from C5
*REWRITTEN*
C6: -> org.freedesktop.DBus call org.freedesktop.DBus.RequestName at /org/freedesktop/DBus
Filtering message due to arg0 org.jail.Mine, policy: 0 (required 3)
*HIDDEN* (ping)
C7: -> org.freedesktop.DBus call org.freedesktop.DBus.GetNameOwner at /org/freedesktop/DBus
Filtering message due to arg0 org.example.Other, policy: 0 (required 1)
B7: <- :1.9 signal org.jail.Heard.Changed at /org/jail
C8: -> :1.3 call org.jail.Direct.Get at /
C9: -> org.freedesktop.portal.Flatpak call org.freedesktop.portal.Flatpak.Spawn at /
*HIDDEN* (ping)
C10: -> org.jail.Last call org.jail.Last.Bye at /
";

    fn buses() -> Buses {
        let mut b = Buses::default();
        b.owners
            .entry(":1.3".into())
            .or_default()
            .insert("org.jail.Used".into());
        b.owners
            .entry(":1.9".into())
            .or_default()
            .insert("org.jail.Heard".into());
        b
    }

    #[test]
    fn the_log_gives_the_names_used() {
        let s = parse_log(LOG, &buses());
        let talk: Vec<&str> = s.talk.keys().map(String::as_str).collect();
        assert_eq!(talk, ["org.jail.Heard", "org.jail.Last", "org.jail.Used"]);
        assert_eq!(
            s.talk["org.jail.Used"],
            "called org.freedesktop.DBus.Peer.Ping"
        );
        assert_eq!(
            s.talk["org.jail.Heard"],
            "listened to its org.jail.Heard.Changed signal"
        );
        let own: Vec<&str> = s.own.keys().map(String::as_str).collect();
        assert_eq!(own, ["org.jail.Mine"]);
        let missing: Vec<&str> = s.missing.keys().map(String::as_str).collect();
        assert_eq!(
            missing,
            [
                "org.example.Missing",
                "org.example.Other",
                "org.freedesktop.portal.Flatpak"
            ]
        );
    }

    #[test]
    fn junk_in_the_log_grants_nothing() {
        let log = "C1: -> org.jail.X call bad\nmember at /\nC2: -> * call a.b at /\n\
                   Filtering message due to arg0 org.*, policy: 0 (required 3)\n\
                   Filtering message due to arg0 *, policy: 0 (required 3)\n\
                   C3: -> org.freedesktop.Flatpak.Foo call a.b at /\n*HIDDEN*\n\
                   Filtering message due to arg0 org.freedesktop.Flatpak, policy: 0 (required 3)\n";
        let s = parse_log(log, &Buses::default());
        assert!(s.talk.is_empty() && s.own.is_empty(), "{s:?}");
    }

    #[test]
    fn forbidden_names() {
        assert!(forbidden("org.freedesktop.portal.Flatpak"));
        assert!(forbidden("org.freedesktop.Flatpak.SessionHelper"));
        assert!(!forbidden("org.freedesktop.FlatpakX"));
        assert!(!forbidden("org.freedesktop.portal.Desktop"));
    }
}
