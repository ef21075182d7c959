//! `jail ps`, `jail stop`, `jail enter`: running sandboxes (issue 9).

use super::{build_plan, Verbosity};
use crate::cli::{Cli, Command, EnterArgs, Format, FormatArg, StopArgs};
use crate::host::Host;
use crate::sandbox::state::{self, Record};
use crate::util::{human_bytes, printable};
use clap::Parser;
use std::path::Path;

fn read_u64(p: &Path) -> Option<u64> {
    std::fs::read_to_string(p).ok()?.trim().parse().ok()
}

/// Memory in use and limit, pids and limit, CPU time (µs), from the sandbox's cgroups.
#[derive(Default, serde::Serialize)]
struct Usage {
    memory: Option<u64>,
    memory_limit: Option<u64>,
    pids: Option<u64>,
    pids_limit: Option<u64>,
    cpu_usec: Option<u64>,
}

fn usage(rec: &Record) -> Usage {
    let mut u = Usage::default();
    let unlimited = |v: Option<u64>| v.filter(|&x| x < (1 << 62));
    for d in &rec.cgroups {
        // cgroup v2 files, then their v1 counterparts.
        u.memory = u
            .memory
            .or(read_u64(&d.join("memory.current")))
            .or(read_u64(&d.join("memory.usage_in_bytes")));
        u.memory_limit = u
            .memory_limit
            .or(unlimited(read_u64(&d.join("memory.max"))))
            .or(unlimited(read_u64(&d.join("memory.limit_in_bytes"))));
        u.pids = u.pids.or(read_u64(&d.join("pids.current")));
        u.pids_limit = u.pids_limit.or(read_u64(&d.join("pids.max")));
        if u.cpu_usec.is_none() {
            u.cpu_usec = std::fs::read_to_string(d.join("cpu.stat"))
                .ok()
                .and_then(|s| {
                    s.lines()
                        .find_map(|l| l.strip_prefix("usage_usec ")?.trim().parse().ok())
                })
                .or_else(|| read_u64(&d.join("cpuacct.usage")).map(|ns| ns / 1000));
        }
    }
    u
}

fn state_dir(host: &Host) -> std::path::PathBuf {
    host.state_dir()
}

pub fn ps(a: FormatArg) -> i32 {
    let host = Host::probe();
    let recs = match state::list(&state_dir(&host)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("jail: error: {e}");
            return crate::EXIT_JAIL;
        }
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    match a.format {
        Format::Json => {
            let v: Vec<serde_json::Value> = recs
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id, "name": r.name, "profile": r.profile, "command": r.command,
                        "supervisor_pid": r.supervisor_pid, "init_pid": r.init_pid,
                        "uptime_seconds": now.saturating_sub(r.started), "usage": usage(r),
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
        Format::Text => {
            println!(
                "{:<8}  {:<20} {:<10} {:>7} {:>7} {:>8}  {:<18} {:<10} {:>8}  COMMAND",
                "ID", "NAME", "PROFILE", "JAIL", "INIT", "UPTIME", "MEMORY", "PIDS", "CPU"
            );
            for r in &recs {
                let u = usage(r);
                let mem = match (u.memory, u.memory_limit) {
                    (Some(m), Some(l)) => format!("{} / {}", human_bytes(m), human_bytes(l)),
                    (Some(m), None) => human_bytes(m),
                    _ => "-".into(),
                };
                let pids = match (u.pids, u.pids_limit) {
                    (Some(p), Some(l)) => format!("{p} / {l}"),
                    (Some(p), None) => p.to_string(),
                    _ => "-".into(),
                };
                let cpu = u
                    .cpu_usec
                    .map(|c| format!("{:.2}s", c as f64 / 1e6))
                    .unwrap_or_else(|| "-".into());
                println!(
                    "{:<8}  {:<20} {:<10} {:>7} {:>7} {:>7}s  {:<18} {:<10} {:>8}  {}",
                    printable(&r.id, false),
                    printable(&r.name, false),
                    printable(&r.profile, false),
                    r.supervisor_pid,
                    r.init_pid,
                    now.saturating_sub(r.started),
                    mem,
                    pids,
                    cpu,
                    printable(&r.command.join(" "), false)
                );
            }
        }
    }
    0
}

fn find(host: &Host, key: &str) -> Result<Record, i32> {
    let rec = state::find(&state_dir(host), key).map_err(|e| {
        eprintln!("jail: error: {e}");
        crate::EXIT_JAIL
    })?;
    rec.verify().map_err(|e| {
        eprintln!("jail: error: {e}");
        crate::EXIT_JAIL
    })?;
    Ok(rec)
}

pub fn stop(a: StopArgs) -> i32 {
    let host = Host::probe();
    let rec = match find(&host, &a.id) {
        Ok(r) => r,
        Err(c) => return c,
    };
    // SIGTERM to jail's supervisor, which forwards it to the sandbox (init passes it to COMMAND).
    if !state::pidfd_kill(rec.supervisor_pid, rec.supervisor_start, libc::SIGTERM) {
        eprintln!(
            "jail: error: cannot signal sandbox {} (it may have ended)",
            rec.id
        );
        return crate::EXIT_JAIL;
    }
    let deadline =
        std::time::Instant::now() + std::time::Duration::from_secs_f64(a.timeout.max(0.0));
    while std::time::Instant::now() < deadline {
        if !state::alive(rec.init_pid, rec.init_start) {
            println!(
                "stopped {} ({})",
                printable(&rec.id, false),
                printable(&rec.name, false)
            );
            return 0;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // What is left gets SIGKILL: first every descendant of the sandbox's first process (without
    // a pid namespace they would outlive it: a setsid daemon is handed to the host's init), then
    // the first process (with a pid namespace, the kernel then kills all of it) and everything
    // in its cgroups.
    let left = state::kill_descendants(rec.init_pid, rec.init_start);
    let left: Vec<(i32, u64)> = left
        .into_iter()
        .filter_map(|p| state::start_time(p).map(|st| (p, st)))
        .collect();
    state::pidfd_kill(rec.init_pid, rec.init_start, libc::SIGKILL);
    state::kill_cgroups(&rec.cgroups);
    for _ in 0..250 {
        if !state::alive(rec.init_pid, rec.init_start) {
            let survivors: Vec<String> = left
                .iter()
                .filter(|&&(p, st)| state::alive(p, st))
                .map(|(p, _)| p.to_string())
                .collect();
            if !survivors.is_empty() {
                eprintln!(
                    "jail: error: sandbox {} ended, but its processes {} survived SIGKILL",
                    printable(&rec.id, false),
                    survivors.join(" ")
                );
                return crate::EXIT_JAIL;
            }
            println!(
                "killed {} ({}) after {}s",
                printable(&rec.id, false),
                printable(&rec.name, false),
                a.timeout
            );
            return 0;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    eprintln!("jail: error: sandbox {} did not end after SIGKILL", rec.id);
    crate::EXIT_JAIL
}

pub fn enter(a: EnterArgs, v: Verbosity) -> i32 {
    let mut host = Host::probe();
    let rec = match find(&host, &a.id) {
        Ok(r) => r,
        Err(c) => return c,
    };
    // The sandbox's policy, compiled again from its own arguments in its own working folder.
    let run = match Cli::try_parse_from(&rec.argv).map(|c| c.command) {
        Ok(Command::Run(r)) => r,
        _ => {
            eprintln!(
                "jail: error: the record of sandbox {} does not hold a `jail run` command line",
                rec.id
            );
            return crate::EXIT_JAIL;
        }
    };
    host.cwd = rec.cwd.clone();
    let Some(plan) = build_plan(&run.opts, &run.command, &host, Verbosity::Quiet) else {
        return crate::EXIT_JAIL;
    };
    if state::policy_hash(&plan) != rec.policy_hash {
        eprintln!(
            "jail: error: the profile of sandbox {} changed since it started; entering with the new policy could give more than the sandbox has",
            rec.id
        );
        return crate::EXIT_JAIL;
    }
    let command = if a.command.is_empty() {
        let shell = plan
            .env
            .get("SHELL")
            .cloned()
            .unwrap_or_else(|| "/bin/sh".into());
        vec![shell]
    } else {
        a.command.clone()
    };
    match crate::sandbox::enter::enter(&rec, &plan, &command, v == Verbosity::Verbose) {
        Ok(code) => code,
        Err(e) => {
            crate::sandbox::spawn::print_step_error(&e);
            crate::EXIT_JAIL
        }
    }
}
