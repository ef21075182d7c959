//! `jail explain`: the compiled plan, for people (text, the ordered steps top to bottom) or for
//! tools (`--format json`, stable, documented in the README).

use super::build_plan;
use crate::cli::{ExplainArgs, Format};
use crate::host::Host;
use crate::plan::mounts::{Access, ProcWrites, PROC_MASKED};
use crate::plan::{MountStep, Plan};
use crate::util::{human_bytes, printable, printable_json};
use std::fmt::Write;

pub fn run(a: ExplainArgs, v: super::Verbosity) -> i32 {
    let host = Host::probe();
    // With --image and no COMMAND, the image's Entrypoint/Cmd (as `run` would).
    let command = if a.command.is_empty() && a.opts.image.is_none() {
        vec!["/bin/sh".to_string()]
    } else {
        a.command.clone()
    };
    let Some(plan) = build_plan(&a.opts, &command, &host, v) else {
        return crate::EXIT_JAIL;
    };
    print_plan(&plan, a.format);
    0
}

pub fn print_plan(plan: &Plan, format: Format) {
    match format {
        Format::Json => println!("{}", printable_json(&to_json(plan))),
        Format::Text => print!("{}", printable(&to_text(plan), true)),
    }
}

/// The plan as JSON, plus `seccomp_groups`: every group's members for this architecture (so a
/// tool can see what `@default-deny` means here without a manual).
pub fn to_json(plan: &Plan) -> String {
    /// The plan's keys in their documented order, then `seccomp_groups` (serializing through a
    /// `serde_json::Value` would sort the keys alphabetically).
    #[derive(serde::Serialize)]
    struct Out<'a, G: serde::Serialize> {
        #[serde(flatten)]
        plan: &'a Plan,
        #[serde(skip_serializing_if = "Option::is_none")]
        seccomp_groups: Option<G>,
    }
    let out = Out {
        plan,
        seccomp_groups: crate::plan::seccomp::Arch::native().map(crate::plan::seccomp::groups),
    };
    serde_json::to_string_pretty(&out).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

fn yes(b: bool) -> &'static str {
    if b {
        "new"
    } else {
        "host's"
    }
}

/// The plan as numbered steps a newcomer can read top to bottom.
pub fn to_text(p: &Plan) -> String {
    let mut o = String::new();
    let mut n = 0;
    let mut step = |o: &mut String, s: String| {
        n += 1;
        let _ = writeln!(o, "{n:>3}. {s}");
    };
    let _ = writeln!(
        o,
        "profile {}{}",
        p.profile,
        p.description
            .as_ref()
            .map(|d| format!(": {d}"))
            .unwrap_or_default()
    );
    let _ = writeln!(o, "  from {}", p.files.join(" + "));
    let _ = writeln!(o, "command {}", p.command.join(" "));
    let _ = writeln!(o);
    let ns = &p.namespaces;
    step(
        &mut o,
        format!(
            "namespaces: user {}, pid {}, mount {}, ipc {}, uts {}, net {}{}, cgroup {}, time {}",
            yes(ns.user),
            yes(ns.pid),
            yes(ns.mount),
            yes(ns.ipc),
            yes(ns.uts),
            yes(ns.net),
            if ns.net { " (loopback only)" } else { "" },
            yes(ns.cgroup),
            yes(ns.time)
        ),
    );
    step(
        &mut o,
        format!(
            "ids: uid {} → {} inside, gid {} → {} inside (setgroups denied)",
            p.ids.uid_outside, p.ids.uid_inside, p.ids.gid_outside, p.ids.gid_inside
        ),
    );
    let l = &p.limits;
    if l.any() {
        let mut parts = vec![];
        if let Some(m) = l.memory {
            parts.push(format!("memory {}", human_bytes(m)));
        }
        if let Some(m) = l.swap {
            parts.push(format!("swap {}", human_bytes(m)));
        }
        if let Some(c) = l.cpus {
            parts.push(format!("cpus {c}"));
        }
        if let Some(w) = l.cpu_weight {
            parts.push(format!("cpu weight {w}"));
        }
        if let Some(x) = l.pids {
            parts.push(format!("pids {x}"));
        }
        step(
            &mut o,
            format!("cgroup limits ({}): {}", l.enforce, parts.join(", ")),
        );
        match (&l.backend, &l.fallback) {
            (Some(b), _) => {
                let w: Vec<String> = l.writes.iter().map(|(k, v)| format!("{k}={v}")).collect();
                step(&mut o, format!("  back end {b}: writes {}", w.join(", ")));
                if !l.fallback_rlimits.is_empty() {
                    let r: Vec<String> = l
                        .fallback_rlimits
                        .iter()
                        .map(|r| {
                            format!(
                                "{}={}",
                                r.resource.constant(),
                                r.hard.map(|h| h.to_string()).unwrap_or("unlimited".into())
                            )
                        })
                        .collect();
                    step(
                        &mut o,
                        format!(
                            "  if {b} cannot create the cgroup (enforce = \"best-effort\"): {} holds instead",
                            r.join(", ")
                        ),
                    );
                }
            }
            (None, Some(f)) => step(&mut o, format!("  no cgroup back end here: {f}")),
            (None, None) => step(
                &mut o,
                "  no cgroup back end here: jail run will refuse (see the note below)".into(),
            ),
        }
    }
    if let Some(h) = &p.helpers {
        step(
            &mut o,
            format!(
                "desktop helpers, outside the sandbox before it starts, in {} (0700, removed at the end)",
                h.dir.display()
            ),
        );
        if let Some(x) = &h.xauthority {
            step(
                &mut o,
                format!(
                    "  copy the cookies of display :{} from {} to {}",
                    x.display,
                    x.from.display(),
                    x.to.display()
                ),
            );
        }
        if let Some(d) = &h.proxy {
            step(
                &mut o,
                format!(
                    "  start {} --fd=3 {} (COMMAND waits until its sockets listen; it dies with jail)",
                    d.program,
                    d.args.join(" ")
                ),
            );
        }
        if let Some(portal) = &p.dbus.portal {
            step(
                &mut o,
                format!(
                    "  dbus.portal: ask the document portal to start (GetMountPoint) so {}/by-app/{} can be bound",
                    portal.documents.display(),
                    portal.app_id
                ),
            );
            if let Some(root) = h.proxy.as_ref().and_then(|d| d.root.as_ref()) {
                step(
                    &mut o,
                    format!(
                        "  the proxy runs in a root of its own at {} (the host's / mirrored, plus /.flatpak-info naming {}: the portals identify the app by its proxy)",
                        root.display(),
                        portal.app_id
                    ),
                );
            }
        }
    }
    let throwaway = p.mounts.iter().any(|m| {
        matches!(
            m,
            MountStep::RootImage { .. } | MountStep::Overlay { upper: None, .. }
        )
    });
    if throwaway {
        step(
            &mut o,
            format!(
                "scratch tmpfs for the throwaway writable layers: {}, {} inodes",
                human_bytes(p.scratch.size),
                p.scratch.inodes
            ),
        );
    }
    for g in &p.globs {
        let matched = g
            .matched
            .iter()
            .map(|m| m.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            o,
            "     glob {} {}: matched {}",
            g.list,
            printable(&g.pattern, false),
            if matched.is_empty() {
                "nothing".to_string()
            } else {
                printable(&matched, false).to_string()
            }
        );
    }
    for c in &p.create {
        step(
            &mut o,
            format!(
                "create {} (missing: made 0700 as you, one folder at a time, never through a symlink)",
                c.path.display()
            ),
        );
    }
    for m in &p.mounts {
        step(&mut o, mount_text(m));
    }
    step(
        &mut o,
        "pivot into the new root; the host's root is detached".into(),
    );
    if let Some(h) = &p.process.hostname {
        step(&mut o, format!("hostname {h}"));
    }
    if ns.net {
        step(&mut o, "bring up lo".into());
    }
    if p.process.init {
        step(
            &mut o,
            "a minimal init becomes PID 1: it reaps orphans and forwards signals; COMMAND is PID 2"
                .into(),
        );
    } else {
        step(&mut o, "COMMAND is PID 1".into());
    }
    if p.process.new_session {
        step(&mut o, "new session: COMMAND gets its own terminal session (setsid; a private pty when run from a terminal)".into());
    }
    step(
        &mut o,
        format!("working directory {}", p.process.cwd.display()),
    );
    for r in &p.rlimits {
        let f = |v: Option<u64>| {
            v.map(|x| x.to_string())
                .unwrap_or_else(|| "unlimited".into())
        };
        step(
            &mut o,
            format!(
                "rlimit {}: soft {}, hard {}",
                r.resource,
                f(r.soft),
                f(r.hard)
            ),
        );
    }
    step(&mut o, "close every file descriptor but 0, 1, 2".into());
    step(
        &mut o,
        if p.capabilities.keep.is_empty() {
            "drop every capability from all five sets".into()
        } else {
            format!(
                "drop every capability but {}",
                p.capabilities.keep.join(", ")
            )
        },
    );
    step(
        &mut o,
        "no_new_privs: setuid binaries and file capabilities grant nothing".into(),
    );
    match p.process.mdwe {
        Some(crate::plan::Mdwe::Prctl) => step(
            &mut o,
            "memory-deny-write-execute: PR_SET_MDWE (no mapping may be writable and executable, or become executable; for good, children included)".into(),
        ),
        Some(crate::plan::Mdwe::Seccomp) => step(
            &mut o,
            "memory-deny-write-execute: by the seccomp filter mdwe (this kernel has no PR_SET_MDWE)".into(),
        ),
        None => {}
    }
    let guards_exec = p.process.mdwe.is_some()
        || p.mounts
            .iter()
            .any(|m| matches!(m, crate::plan::MountStep::Noexec { .. }));
    if p.process.memfd_noexec {
        step(
            &mut o,
            "vm.memfd_noexec = 2 in the sandbox's pid namespace: no memfd can be executed with execve (the dynamic loader can still map a program from one: ld.so /proc/self/fd/N)".into(),
        );
    } else if guards_exec {
        step(
            &mut o,
            "not covered: a program written into a memfd (memfd_create) can still be executed or mapped; the kernel lets only the host's root forbid it (vm.memfd_noexec), for a sandbox with a pid namespace".into(),
        );
    }
    for line in crate::plan::landlock::explain_lines(&p.landlock) {
        step(&mut o, line);
    }
    for line in crate::plan::seccomp::explain_lines(&p.seccomp) {
        step(&mut o, line);
    }
    // Names and values, one a line: a value such as LD_PRELOAD=/tmp/x.so must be seen. Each value
    // is escaped on its own (a newline in it cannot pass for a line of the plan).
    step(
        &mut o,
        format!(
            "execute {} with environment{}",
            p.command.join(" "),
            if p.env.is_empty() { " (empty)" } else { ":" }
        ),
    );
    for (k, v) in &p.env {
        let _ = writeln!(o, "       {}={}", printable(k, false), printable(v, false));
    }
    if p.process.die_with_parent {
        let _ = writeln!(
            o,
            "\nThe sandbox dies with jail; when it ends every process in it is killed."
        );
    }
    for w in &p.warnings {
        let _ = writeln!(o, "note: {w}");
    }
    o
}

fn access(a: Access) -> &'static str {
    match a {
        Access::Ro => "read-only",
        Access::Rw => "read-write",
        Access::Dev => {
            "devices (read-only mount: nodes open for writing, their modes cannot change)"
        }
    }
}

fn mount_text(m: &MountStep) -> String {
    match m {
        MountStep::RootTmpfs => "root: an empty tmpfs (made read-only at the end)".into(),
        MountStep::RootImage { source } => format!(
            "root: {} under a throwaway writable layer (overlayfs in scratch: changes are dropped when the sandbox ends, the folder is never written)",
            source.display()
        ),
        MountStep::Proc { target, writes } => format!(
            "{}: a fresh procfs of the new pid namespace, {}; masked where present: {}",
            target.display(),
            match writes {
                ProcWrites::None => "read-only",
                ProcWrites::OwnProcesses =>
                    "writable only in the processes' own folders (nested user namespaces), every host-wide entry read-only",
            },
            PROC_MASKED.join(" ")
        ),
        MountStep::Dev { target, nodes, shm } => {
            let shm = match shm {
                Some(b) => format!("shm ({}, {} inodes)", human_bytes(b.size), b.inodes),
                None => "shm (unbounded: half the RAM)".into(),
            };
            if nodes.is_empty() {
                format!(
                    "{}: an empty tmpfs with devpts and {shm} only",
                    target.display()
                )
            } else {
                format!(
                    "{}: tmpfs with {}, devpts (pts, ptmx) and {shm}",
                    target.display(),
                    nodes.join(" ")
                )
            }
        }
        MountStep::Tmpfs {
            target,
            size,
            inodes,
            mode,
        } => format!(
            "{}: empty tmpfs (mode {:o}, {}{})",
            target.display(),
            mode,
            size.map(human_bytes)
                .unwrap_or_else(|| "unbounded: half the RAM".into()),
            inodes.map(|i| format!(", {i} inodes")).unwrap_or_default()
        ),
        MountStep::Bind {
            source,
            target,
            access: a,
            why,
        } => {
            // A "+path" grant: say so even when the folder is already there.
            let made = if why.starts_with("rw +") {
                ", created if missing"
            } else {
                ""
            };
            if source == target {
                format!("{}: bind {} [{why}{made}]", target.display(), access(*a))
            } else {
                format!(
                    "{}: bind {} of {} [{why}]",
                    target.display(),
                    access(*a),
                    source.display()
                )
            }
        }
        MountStep::MaskPrivate { target } => format!(
            "{}: every file and folder in it that others may not read is hidden (started by root)",
            target.display()
        ),
        MountStep::Placeholder { target, dir } => format!(
            "{}: kept from being created (an empty read-only {} in its place)",
            target.display(),
            if *dir { "folder" } else { "file" }
        ),
        MountStep::Hide { target, dir } => format!(
            "{}: hidden (empty, unreadable {})",
            target.display(),
            if *dir { "folder" } else { "file" }
        ),
        MountStep::MachineId { target } => format!(
            "{}: a fresh random machine id (32 hex digits), read-only",
            target.display()
        ),
        MountStep::Noexec { target, .. } => format!(
            "{}: noexec: nothing in it (every mount below included) can be executed [noexec]",
            target.display()
        ),
        MountStep::Symlink { target, to } => {
            format!("{}: symlink → {}", target.display(), to.display())
        }
        MountStep::Dir { target, mode } => format!("{}: folder (mode {mode:o})", target.display()),
        MountStep::File {
            target,
            content,
            mode,
        } => format!(
            "{}: file of {} bytes (mode {mode:o})",
            target.display(),
            content.len()
        ),
        MountStep::Mqueue { target } => format!("{}: POSIX message queues", target.display()),
        MountStep::Overlay {
            target,
            lower,
            upper,
            ..
        } => format!(
            "{}: overlay of {}{}",
            target.display(),
            lower
                .iter()
                .map(|l| l.display().to_string())
                .collect::<Vec<_>>()
                .join(":"),
            upper
                .as_ref()
                .map(|u| format!(", changes kept in {}", u.display()))
                .unwrap_or_else(|| ", changes thrown away".into())
        ),
    }
}
