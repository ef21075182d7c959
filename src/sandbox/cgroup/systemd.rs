//! systemd scope back end (cgroup v2 with systemd): for an unprivileged user, the user manager on
//! the user bus (a systemd user session); for root, the system manager on the system bus — root
//! in a cgroup shared with other processes (a login session, a service) cannot use the v2 back
//! end (no-internal-processes rule) and gets a system scope instead.
//!
//! `attach(pid)` asks the manager (org.freedesktop.systemd1) for a transient scope
//! `app-jail-<profile>-<pid>.scope` in `app.slice` (user) or `system.slice` (root) holding `pid`,
//! waits for the start job's
//! `JobRemoved` signal, then finds the scope's cgroup from /proc/<pid>/cgroup and READS BACK the
//! limits from the cgroup files: systemd silently skips controllers that are not delegated to the
//! user manager, so a limit that is not in effect is `CgroupError::NotEnforced`.

use super::*;
use crate::dbus_address::unix_path_address;
use crate::sandbox::dbus::{Connection, DbusError, Message, Value};

const DEST: &str = "org.freedesktop.systemd1";
const PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";
const TIMEOUT: Duration = Duration::from_secs(30);

/// A bus failure as the cgroup layer reports it (the same text as the D-Bus error's).
impl From<DbusError> for CgroupError {
    fn from(e: DbusError) -> Self {
        match e {
            DbusError::Io { step, source } => CgroupError::io(step, &source, None),
            DbusError::Protocol { step, detail } => CgroupError::Dbus {
                step,
                detail,
                remedy: None,
            },
            DbusError::Reply { step, name, text } => CgroupError::Dbus {
                step,
                detail: format!("{name}: {text}"),
                remedy: None,
            },
            DbusError::Timeout { step, waited_ms } => CgroupError::Timeout { step, waited_ms },
        }
    }
}

fn uid() -> u32 {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() }
}

/// The user bus address and where it came from, or why there is none.
pub fn user_bus_address() -> Result<(String, String), String> {
    if let Ok(a) = std::env::var("DBUS_SESSION_BUS_ADDRESS") {
        if !a.is_empty() {
            return Ok((a, "$DBUS_SESSION_BUS_ADDRESS".into()));
        }
    }
    let mut tried = Vec::new();
    let mut dirs = Vec::new();
    if let Ok(d) = std::env::var("XDG_RUNTIME_DIR") {
        dirs.push(PathBuf::from(d));
    }
    dirs.push(PathBuf::from(format!("/run/user/{}", uid())));
    for d in dirs {
        let p = d.join("bus");
        if p.exists() {
            // Escaped: $XDG_RUNTIME_DIR is the session's, and may hold `%`, `,` or `;`.
            return Ok((unix_path_address(&p), p.display().to_string()));
        }
        tried.push(p.display().to_string());
    }
    Err(format!(
        "$DBUS_SESSION_BUS_ADDRESS unset and no socket at {}",
        tried.join(" or ")
    ))
}

/// The system bus address (root's manager is PID 1), or why there is none.
pub fn system_bus_address() -> Result<(String, String), String> {
    if let Ok(a) = std::env::var("DBUS_SYSTEM_BUS_ADDRESS") {
        if !a.is_empty() {
            return Ok((a, "$DBUS_SYSTEM_BUS_ADDRESS".into()));
        }
    }
    let p = Path::new("/run/dbus/system_bus_socket");
    if p.exists() {
        return Ok((
            format!("unix:path={}", p.display()),
            p.display().to_string(),
        ));
    }
    Err(format!("no system bus socket at {}", p.display()))
}

/// Root talks to the system manager, everyone else to their user manager.
fn bus_address() -> Result<(String, String), String> {
    if uid() == 0 {
        system_bus_address()
    } else {
        user_bus_address()
    }
}

/// The slice scopes go to: the user manager's app.slice, or the system's system.slice.
pub fn slice() -> &'static str {
    if uid() == 0 {
        "system.slice"
    } else {
        "app.slice"
    }
}

/// Unit properties, in order, for `limits` (also used by `planned_writes`).
#[doc(hidden)]
pub fn properties(
    l: &Limits,
    profile: &str,
    pid: i32,
    oom_policy: bool,
) -> Vec<(&'static str, Value)> {
    let mut v = vec![
        ("Description", Value::Str(format!("jail sandbox {profile}"))),
        ("Slice", Value::Str(slice().into())),
        (
            "PIDs",
            Value::Array("u".into(), vec![Value::U32(pid as u32)]),
        ),
        ("Delegate", Value::Bool(true)),
        ("CollectMode", Value::Str("inactive-or-failed".into())),
    ];
    if oom_policy {
        v.push(("OOMPolicy", Value::Str("continue".into())));
    }
    if let Some(m) = l.memory {
        v.push(("MemoryMax", Value::U64(m)));
    }
    if let Some(s) = l.swap {
        v.push(("MemorySwapMax", Value::U64(s)));
    }
    if let Some(c) = l.cpus {
        v.push((
            "CPUQuotaPerSecUSec",
            Value::U64((c * 1_000_000.0).round() as u64),
        ));
    }
    if let Some(w) = l.cpu_weight {
        v.push(("CPUWeight", Value::U64(w)));
    }
    if let Some(p) = l.pids {
        v.push(("TasksMax", Value::U64(p)));
    }
    v
}

fn show(v: &Value) -> String {
    match v {
        Value::Str(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::U64(t) => t.to_string(),
        Value::U32(u) => u.to_string(),
        Value::Array(_, items) => {
            format!("[{}]", items.iter().map(show).collect::<Vec<_>>().join(","))
        }
        other => format!("{other:?}"),
    }
}

pub(crate) fn planned(l: &Limits, profile: &str, pid: i32) -> Vec<(String, String)> {
    properties(l, profile, pid, true)
        .into_iter()
        .map(|(k, v)| (k.to_string(), show(&v)))
        .collect()
}

pub fn unit_name(profile: &str, pid: i32) -> String {
    format!("app-jail-{}-{pid}.scope", sanitize(profile))
}

/// (usable, explanation, remedy)
pub(crate) fn probe(l: &Limits) -> (bool, String, Option<String>) {
    if !Path::new("/run/systemd/system").exists() {
        return (
            false,
            "unusable: /run/systemd/system absent (not booted with systemd)".into(),
            None,
        );
    }
    let unified = fs_magic("/sys/fs/cgroup") == Ok(CGROUP2_SUPER_MAGIC);
    if !unified {
        return (
            false,
            "unusable: systemd only delegates controllers to users on the unified (v2) hierarchy"
                .into(),
            None,
        );
    }
    if uid() == 0 {
        return match system_bus_address() {
            Ok((_, how)) => (
                true,
                format!("usable: system manager on the system bus at {how} (root: scopes in system.slice)"),
                None,
            ),
            Err(why) => (false, format!("unusable: {why}"), None),
        };
    }
    let addr = match user_bus_address() {
        Ok((_, how)) => how,
        Err(why) => {
            return (
                false,
                format!("unusable: no user bus ({why})"),
                Some("log in through a session that starts `systemd --user` (or `loginctl enable-linger $USER`)".into()),
            )
        }
    };
    let need = needed_v2_controllers(l);
    let mgr = PathBuf::from(format!(
        "/sys/fs/cgroup/user.slice/user-{0}.slice/user@{0}.service/cgroup.controllers",
        uid()
    ));
    match fs::read_to_string(&mgr) {
        Ok(s) => {
            let have: Vec<&str> = s.split_whitespace().collect();
            let missing: Vec<&str> = need.iter().copied().filter(|c| !have.contains(c)).collect();
            if !missing.is_empty() {
                return (
                    false,
                    format!(
                        "unusable: user manager is not delegated {} ({} lists: {})",
                        missing.join(" "),
                        mgr.display(),
                        s.trim()
                    ),
                    Some(REMEDY_SYSTEMD_DELEGATE.into()),
                );
            }
            (true, format!("usable: user bus at {addr}; user manager has {}", s.trim()), None)
        }
        Err(_) => (
            true,
            format!("usable: user bus at {addr} (delegation not checked: {} unreadable; limits are verified after start)", mgr.display()),
            None,
        ),
    }
}

#[derive(Debug)]
pub struct Scope {
    profile: String,
    limits: Limits,
    address: String,
    pub(crate) unit: Option<String>,
    pub(crate) dir: Option<PathBuf>,
    /// The parent slice's memory.events when the scope started (see [`Scope::memory_events`]).
    parent_events: Option<MemEvents>,
}

impl Scope {
    pub(crate) fn create(name: &str, l: &Limits) -> Result<Scope, CgroupError> {
        let (address, _) = bus_address().map_err(|why| CgroupError::Unavailable {
            reasons: vec![format!("systemd scope: no bus ({why})")],
            remedy: Some("log in through a session that starts `systemd --user`".into()),
        })?;
        Ok(Scope {
            profile: sanitize(name),
            limits: l.clone(),
            address,
            unit: None,
            dir: None,
            parent_events: None,
        })
    }

    fn connect(&self) -> Result<Connection, CgroupError> {
        Ok(Connection::connect(&self.address, TIMEOUT)?)
    }

    pub(crate) fn attach(&mut self, pid: i32) -> Result<(), CgroupError> {
        if self.unit.is_some() {
            return Err(CgroupError::Unsupported(
                "a systemd scope can only be started once".into(),
            ));
        }
        let unit = unit_name(&self.profile, pid);
        let mut conn = self.connect()?;
        // Subscribe before starting so the JobRemoved signal cannot be missed.
        conn.add_match(&format!(
            "type='signal',sender='{DEST}',path='{PATH}',interface='{MANAGER}',member='JobRemoved'"
        ))?;
        let start = |conn: &mut Connection, oom: bool| {
            let props: Vec<Value> = properties(&self.limits, &self.profile, pid, oom)
                .into_iter()
                .map(|(k, v)| Value::prop(k, v))
                .collect();
            conn.call(Message::method_call(
                DEST,
                PATH,
                MANAGER,
                "StartTransientUnit",
                vec![
                    Value::Str(unit.clone()),
                    Value::Str("fail".into()),
                    Value::Array("(sv)".into(), props),
                    Value::Array("(sa(sv))".into(), vec![]),
                ],
            ))
            .map_err(CgroupError::from)
        };
        let reply = match start(&mut conn, true) {
            // systemd < 253 does not know OOMPolicy for scopes; it only affects what happens to
            // the other processes after an OOM kill, so retry without it.
            Err(CgroupError::Dbus { detail, .. }) if detail.contains("OOMPolicy") => {
                start(&mut conn, false)
            }
            r => r,
        }
        .map_err(|e| with_step(e, &format!("starting transient scope {unit}")))?;
        let job = reply
            .body
            .first()
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        self.unit = Some(unit.clone());
        let sig = conn.wait_signal(
            |m| {
                m.member.as_deref() == Some("JobRemoved")
                    && m.body.get(1).and_then(Value::as_str) == Some(job.as_str())
            },
            TIMEOUT,
        )?;
        let result = sig.body.get(3).and_then(Value::as_str).unwrap_or("");
        if result != "done" {
            return Err(CgroupError::Dbus {
                step: format!("starting transient scope {unit}"),
                detail: format!("job {job} finished with result {result:?}"),
                remedy: Some(format!("see `journalctl --user -u {unit}`")),
            });
        }
        let dir = scope_dir(pid)?;
        self.dir = Some(dir.clone());
        self.parent_events = dir.parent().map(v2::memory_events);
        v2::verify(&dir, &self.limits, Some(REMEDY_SYSTEMD_DELEGATE))?;
        // Same OOM behaviour as the v2 back end: an OOM kill takes the whole sandbox, not one
        // process of it. OOMPolicy=continue keeps systemd from stopping the scope itself, and
        // leaves memory.oom.group at 0; with Delegate=yes (systemd >= 247) the file is ours to
        // write. Best effort: if it is not, the limit still holds, only the culprit is killed.
        if self.limits.memory.is_some() {
            let _ = write_file(&dir.join("memory.oom.group"), "1", None);
        }
        Ok(())
    }

    /// OOM events of the scope. systemd stops and removes a scope as soon as it is empty, which
    /// races with the supervisor reading the scope's memory.events after the sandbox died. Then
    /// the parent slice's memory.events (hierarchical: it counts its children's events) since the
    /// scope started tells; it could also count a sibling's OOM kill in that same window.
    pub(crate) fn memory_events(&self) -> MemEvents {
        let Some(dir) = &self.dir else {
            return MemEvents::default();
        };
        // A read that fails (ENOENT: gone, ENODEV: being removed) falls back to the parent.
        if let Ok(text) = fs::read_to_string(dir.join("memory.events")) {
            let key = |k: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(k)?.strip_prefix(' ')?.trim().parse().ok())
                    .unwrap_or(0)
            };
            return MemEvents {
                oom_kill: key("oom_kill"),
                max_hit: key("max"),
            };
        }
        match (self.parent_events, dir.parent()) {
            (Some(before), Some(parent)) => {
                let now = v2::memory_events(parent);
                MemEvents {
                    oom_kill: now.oom_kill.saturating_sub(before.oom_kill),
                    max_hit: now.max_hit.saturating_sub(before.max_hit),
                }
            }
            _ => MemEvents::default(),
        }
    }

    pub(crate) fn kill_all(&self) -> Result<(), CgroupError> {
        if let Some(d) = &self.dir {
            if d.join("cgroup.kill").exists() {
                return v2::kill_all(d);
            }
        }
        let Some(unit) = &self.unit else {
            return Ok(());
        };
        let mut conn = self.connect()?;
        match conn
            .call(Message::method_call(
                DEST,
                PATH,
                MANAGER,
                "KillUnit",
                vec![
                    Value::Str(unit.clone()),
                    Value::Str("all".into()),
                    Value::I32(libc::SIGKILL),
                ],
            ))
            .map_err(CgroupError::from)
        {
            Err(CgroupError::Dbus { detail, .. }) if detail.contains("NoSuchUnit") => Ok(()),
            r => r.map(|_| ()),
        }
    }

    pub(crate) fn destroy(self) -> Result<(), CgroupError> {
        let k = self.kill_all();
        let Some(unit) = &self.unit else { return k };
        let stop = self.connect().and_then(|mut c| {
            c.call(Message::method_call(
                DEST,
                PATH,
                MANAGER,
                "StopUnit",
                vec![Value::Str(unit.clone()), Value::Str("replace".into())],
            ))
            .map_err(CgroupError::from)
        });
        match stop {
            // An emptied scope stops and is garbage-collected by itself.
            Err(CgroupError::Dbus { detail, .. }) if detail.contains("NoSuchUnit") => k,
            Err(e) => k.and(Err(e)),
            Ok(_) => k,
        }
    }
}

fn with_step(e: CgroupError, step: &str) -> CgroupError {
    match e {
        CgroupError::Dbus {
            step: s,
            detail,
            remedy,
        } => CgroupError::Dbus {
            step: format!("{step}: {s}"),
            detail,
            remedy,
        },
        other => other,
    }
}

/// The v2 cgroup directory `pid` is in.
fn scope_dir(pid: i32) -> Result<PathBuf, CgroupError> {
    let (_, _, path) = proc_cgroups(&pid.to_string())
        .into_iter()
        .find(|(id, c, _)| id == "0" && c.is_empty())
        .ok_or_else(|| CgroupError::Dbus {
            step: format!("finding the cgroup of pid {pid}"),
            detail: format!("no 0:: line in /proc/{pid}/cgroup"),
            remedy: None,
        })?;
    let m = cgroup_mounts()
        .into_iter()
        .find(|m| m.fstype == "cgroup2")
        .ok_or_else(|| CgroupError::Unavailable {
            reasons: vec!["no cgroup2 mount".into()],
            remedy: None,
        })?;
    Ok(join_cgroup_path(&m, &path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::dbus::DbusError;
    use std::io;

    /// A D-Bus failure reads the same as a cgroup error as it did before the client had its own
    /// error type.
    #[test]
    fn dbus_errors_keep_their_text_as_cgroup_errors() {
        let cases = [
            (
                DbusError::Protocol {
                    step: "decoding a D-Bus message".into(),
                    detail: "short message".into(),
                },
                "decoding a D-Bus message: short message",
            ),
            (
                DbusError::Reply {
                    step: "D-Bus call a.b.C".into(),
                    name: "org.freedesktop.DBus.Error.UnknownMethod".into(),
                    text: "no".into(),
                },
                "D-Bus call a.b.C: org.freedesktop.DBus.Error.UnknownMethod: no",
            ),
            (
                DbusError::Timeout {
                    step: "waiting for a D-Bus message".into(),
                    waited_ms: 30000,
                },
                "waiting for a D-Bus message: still busy after 30000 ms",
            ),
            (
                DbusError::Io {
                    step: "sending D-Bus Hello".into(),
                    source: io::Error::from_raw_os_error(libc::EPIPE),
                },
                "sending D-Bus Hello: EPIPE (Broken pipe (os error 32))",
            ),
        ];
        for (e, text) in cases {
            let c = CgroupError::from(e);
            assert_eq!(c.to_string(), text);
        }
        let c = CgroupError::from(DbusError::Reply {
            step: "s".into(),
            name: "org.freedesktop.systemd1.NoSuchUnit".into(),
            text: "gone".into(),
        });
        assert!(
            matches!(&c, CgroupError::Dbus { detail, remedy: None, .. } if detail == "org.freedesktop.systemd1.NoSuchUnit: gone"),
            "{c:?}"
        );
    }
}
