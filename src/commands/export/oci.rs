//! The plan as an OCI runtime bundle `config.json` (oci-spec's types, so the field names and
//! the shape are the specification's, not ours).
//!
//! Without an image root the bundle's `root` is an empty folder of the bundle (`rootfs/`) and
//! the host-like view the profile describes is bind mounts of host paths over it, in the
//! plan's build order. Symlinks, folders and files the plan creates are made in that folder.

use super::Notes;
use crate::plan::mounts::{Access, ProcWrites, PROC_MASKED};
use crate::plan::{MountStep, Plan};
use oci_spec::runtime::{
    Capability, LinuxBuilder, LinuxCapabilitiesBuilder, LinuxCpuBuilder, LinuxIdMappingBuilder,
    LinuxMemoryBuilder, LinuxNamespaceBuilder, LinuxNamespaceType, LinuxPidsBuilder,
    LinuxResourcesBuilder, Mount, MountBuilder, PosixRlimit, PosixRlimitBuilder, PosixRlimitType,
    ProcessBuilder, RootBuilder, Spec, SpecBuilder, UserBuilder,
};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The bundle's own folder that becomes `/` when the plan has no image root.
pub const ROOTFS: &str = "rootfs";

/// Something to create in the bundle's `rootfs/` before the bundle is used.
#[derive(Debug, PartialEq)]
pub enum Make {
    Dir(PathBuf, u32),
    Symlink(PathBuf, PathBuf),
    File(PathBuf, String, u32),
}

fn mount(dst: &Path, typ: &str, src: &Path, opts: &[&str]) -> Mount {
    MountBuilder::default()
        .destination(dst)
        .typ(typ)
        .source(src)
        .options(opts.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .build()
        .expect("every field set")
}

fn tmpfs(dst: &Path, size: Option<u64>, inodes: Option<u64>, mode: u32, extra: &[&str]) -> Mount {
    let mut o: Vec<String> = ["nosuid", "nodev"].iter().map(|s| s.to_string()).collect();
    o.extend(extra.iter().map(|s| s.to_string()));
    o.push(format!("mode={mode:o}"));
    if let Some(s) = size {
        o.push(format!("size={s}"));
    }
    if let Some(i) = inodes {
        o.push(format!("nr_inodes={i}"));
    }
    MountBuilder::default()
        .destination(dst)
        .typ("tmpfs")
        .source("tmpfs")
        .options(o)
        .build()
        .expect("every field set")
}

/// The mounts, masked and read-only paths, and what to make in `rootfs/`.
struct Fs {
    root: PathBuf,
    mounts: Vec<Mount>,
    masked: Vec<String>,
    readonly: Vec<String>,
    make: Vec<Make>,
}

fn filesystem(plan: &Plan, notes: &mut Notes) -> Fs {
    let mut fs = Fs {
        root: PathBuf::from(ROOTFS),
        mounts: vec![],
        masked: vec![],
        readonly: vec![],
        make: vec![],
    };
    let mut image = false;
    let mut files = 0;
    for step in &plan.mounts {
        match step {
            MountStep::RootTmpfs => {}
            MountStep::RootImage { source } => {
                fs.root = source.clone();
                image = true;
            }
            MountStep::Proc { target, writes } => {
                fs.mounts.push(mount(
                    target,
                    "proc",
                    Path::new("proc"),
                    &["nosuid", "noexec", "nodev"],
                ));
                for e in PROC_MASKED {
                    fs.masked.push(target.join(e).display().to_string());
                }
                for e in ["bus", "fs", "irq", "sys", "sysrq-trigger"] {
                    fs.readonly.push(target.join(e).display().to_string());
                }
                notes.lost(match writes {
                    ProcWrites::None => "/proc: jail mounts all of procfs read-only; the bundle makes only /proc/{bus,fs,irq,sys,sysrq-trigger} read-only (the processes' own files stay writable)",
                    ProcWrites::OwnProcesses => "/proc: jail makes every host-wide entry read-only; the bundle only /proc/{bus,fs,irq,sys,sysrq-trigger}",
                });
            }
            MountStep::Dev { target, nodes, shm } => {
                fs.mounts.push(tmpfs(target, None, None, 0o755, &["noexec"]));
                // The runtime makes these itself (OCI runtime spec, "Default Devices").
                const OCI_DEFAULT: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];
                for n in nodes.iter().filter(|n| !OCI_DEFAULT.contains(&n.as_str())) {
                    let node = Path::new("/dev").join(n);
                    fs.mounts.push(mount(
                        &target.join(n),
                        "bind",
                        &node,
                        &["bind", "nosuid", "noexec"],
                    ));
                }
                fs.mounts.push(mount(
                    &target.join("pts"),
                    "devpts",
                    Path::new("devpts"),
                    &["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"],
                ));
                fs.mounts.push(tmpfs(
                    &target.join("shm"),
                    shm.map(|b| b.size),
                    shm.map(|b| b.inodes),
                    0o1777,
                    &["noexec"],
                ));
            }
            MountStep::Tmpfs {
                target,
                size,
                inodes,
                mode,
            } => fs.mounts.push(tmpfs(target, *size, *inodes, *mode, &[])),
            MountStep::Bind {
                source,
                target,
                access,
                ..
            } => {
                // "rprivate": a bind of a host path on a shared mount (systemd's /) would be its
                // peer, and a later mount on top of it (a grant under a grant) would show up in
                // the host's own mount table; crun 1.8 does not make / private before the
                // mounts (tests/export/guest.sh saw the leak in a systemd guest).
                let mut o = vec!["rbind", "rprivate", "nosuid"];
                // "rro" (runc >= 1.1, crun): read-only all the way down, as jail makes its binds;
                // plain "ro" would leave the mounts under the grant writable.
                o.push(if *access == Access::Ro { "rro" } else { "rw" });
                if *access != Access::Dev {
                    o.push("nodev");
                }
                fs.mounts.push(mount(target, "bind", source, &o));
            }
            MountStep::Hide { target, .. } => fs.masked.push(target.display().to_string()),
            MountStep::MachineId { target } => notes.lost(&format!(
                "{}: a random machine id in jail; the bundle shows the image's",
                target.display()
            )),
            MountStep::Noexec { target, .. } => notes.lost(&format!(
                "{}: noexec in jail (mount flag and Landlock); the bundle's mounts there keep exec",
                target.display()
            )),
            MountStep::MaskPrivate { target } => notes.lost(&format!(
                "{}: jail masks what others may not read under it when the sandbox is built; the bundle shows all of it",
                target.display()
            )),
            MountStep::Placeholder { target, dir } => {
                if !image {
                    fs.make.push(if *dir {
                        Make::Dir(target.clone(), 0o755)
                    } else {
                        Make::File(target.clone(), String::new(), 0o644)
                    });
                }
                fs.readonly.push(target.display().to_string());
            }
            MountStep::Symlink { target, to } if !image => {
                fs.make.push(Make::Symlink(target.clone(), to.clone()))
            }
            MountStep::Dir { target, mode } if !image => {
                fs.make.push(Make::Dir(target.clone(), *mode))
            }
            MountStep::Symlink { target, .. } | MountStep::Dir { target, .. } => notes.lost(
                &format!(
                    "{}: made by jail over the image root; the bundle leaves the image as it is",
                    target.display()
                ),
            ),
            MountStep::File {
                target,
                content,
                mode,
            } => {
                files += 1;
                let src = PathBuf::from(format!("files/{files}"));
                fs.make.push(Make::File(src.clone(), content.clone(), *mode));
                fs.mounts
                    .push(mount(target, "bind", &src, &["bind", "ro", "nosuid", "nodev"]));
            }
            MountStep::Mqueue { target } => fs.mounts.push(mount(
                target,
                "mqueue",
                Path::new("mqueue"),
                &["nosuid", "noexec", "nodev"],
            )),
            MountStep::Overlay {
                target,
                lower,
                upper,
                work,
            } => {
                let mut o = vec![format!(
                    "lowerdir={}",
                    lower
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(":")
                )];
                match (upper, work) {
                    (Some(u), Some(w)) => {
                        o.push(format!("upperdir={}", u.display()));
                        o.push(format!("workdir={}", w.display()));
                    }
                    _ => notes.lost(&format!(
                        "{}: jail gives this overlay a throwaway writable layer; the bundle mounts it read-only",
                        target.display()
                    )),
                }
                o.push("nosuid".into());
                o.push("nodev".into());
                let mut m = mount(target, "overlay", Path::new("overlay"), &[]);
                m.set_options(Some(o));
                fs.mounts.push(m);
            }
        }
    }
    if image {
        fs.make.retain(|m| matches!(m, Make::File(..)));
    }
    fs
}

fn rlimit(r: &crate::plan::limits::RlimitPlan) -> Option<PosixRlimit> {
    let name = serde_json::to_value(r.resource).ok()?;
    let typ =
        PosixRlimitType::from_str(&format!("RLIMIT_{}", name.as_str()?.to_uppercase())).ok()?;
    PosixRlimitBuilder::default()
        .typ(typ)
        .soft(r.soft.unwrap_or(u64::MAX))
        .hard(r.hard.unwrap_or(u64::MAX))
        .build()
        .ok()
}

/// `config.json` of `plan`; `make` lists what the bundle's `rootfs/` must hold.
pub fn to_spec(plan: &Plan, notes: &mut Notes) -> Result<(Spec, Vec<Make>), String> {
    let e = |e: oci_spec::OciSpecError| e.to_string();
    let fs = filesystem(plan, notes);
    let ns = &plan.namespaces;
    let mut namespaces = vec![];
    for (on, t) in [
        (ns.user, LinuxNamespaceType::User),
        (ns.pid, LinuxNamespaceType::Pid),
        (ns.mount, LinuxNamespaceType::Mount),
        (ns.ipc, LinuxNamespaceType::Ipc),
        (ns.uts, LinuxNamespaceType::Uts),
        (ns.net, LinuxNamespaceType::Network),
        (ns.cgroup, LinuxNamespaceType::Cgroup),
    ] {
        if on {
            namespaces.push(LinuxNamespaceBuilder::default().typ(t).build().map_err(e)?);
        }
    }
    if ns.time {
        notes.lost("time namespace: not written (runc 1.1 and crun 1.8 refuse the \"time\" type); the bundle shares the host's clocks' offsets");
    }
    let caps: HashSet<Capability> = plan
        .capabilities
        .keep
        .iter()
        .filter_map(|c| serde_json::from_value(serde_json::Value::String(c.clone())).ok())
        .collect();
    let capabilities = LinuxCapabilitiesBuilder::default()
        .bounding(caps.clone())
        .effective(caps.clone())
        .inheritable(caps.clone())
        .permitted(caps.clone())
        .ambient(caps)
        .build()
        .map_err(e)?;
    let process = ProcessBuilder::default()
        .terminal(false)
        .user(
            UserBuilder::default()
                .uid(plan.ids.uid_inside)
                .gid(plan.ids.gid_inside)
                .build()
                .map_err(e)?,
        )
        .args(plan.command.clone())
        .env(
            plan.env
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>(),
        )
        .cwd(plan.process.cwd.clone())
        .capabilities(capabilities)
        .rlimits(plan.rlimits.iter().filter_map(rlimit).collect::<Vec<_>>())
        .no_new_privileges(true)
        .build()
        .map_err(e)?;

    let l = &plan.limits;
    let mut res = LinuxResourcesBuilder::default();
    if l.memory.is_some() || l.swap.is_some() {
        let mut m = LinuxMemoryBuilder::default();
        if let Some(mem) = l.memory {
            m = m.limit(mem as i64);
            // OCI's swap is memory + swap.
            m = m.swap(mem.saturating_add(l.swap.unwrap_or(0)) as i64);
        }
        res = res.memory(m.build().map_err(e)?);
    }
    if l.cpus.is_some() || l.cpu_weight.is_some() {
        let mut c = LinuxCpuBuilder::default();
        if let Some(cpus) = l.cpus {
            c = c
                .period(100_000u64)
                .quota((cpus * 100_000.0).round() as i64);
        }
        if let Some(w) = l.cpu_weight {
            // cgroup v2 weight 1..=10000 → v1 shares 2..=262144 (the conversion runc applies
            // the other way).
            c = c.shares(2 + (w.saturating_sub(1) * 262_142) / 9_999);
        }
        res = res.cpu(c.build().map_err(e)?);
    }
    if l.memory.is_some()
        && matches!(
            l.backend,
            Some(
                crate::plan::cgroup::BackendKind::V2
                    | crate::plan::cgroup::BackendKind::SystemdScope
            )
        )
    {
        // On cgroup v2 jail ends the whole sandbox when it runs out of memory, not only the
        // process the kernel picks; runc and crun leave memory.oom.group at 0 unless asked.
        // `unified` is refused on a v1 host, so only when the plan is for a v2 one.
        res = res.unified(HashMap::from([(
            "memory.oom.group".to_string(),
            "1".to_string(),
        )]));
    }
    if let Some(p) = l.pids {
        res = res.pids(
            LinuxPidsBuilder::default()
                .limit(p as i64)
                .build()
                .map_err(e)?,
        );
    }
    let (seccomp, lost) = super::seccomp::to_oci(&plan.seccomp);
    for s in lost {
        notes.lost(&format!("seccomp: {s}"));
    }
    let mut linux = LinuxBuilder::default()
        // As jail makes its mount namespace's / private (crun applies this once the mounts are
        // made; the binds say "rprivate" themselves).
        .rootfs_propagation("rprivate".to_string())
        .namespaces(namespaces)
        .masked_paths(fs.masked)
        .readonly_paths(fs.readonly)
        .seccomp(seccomp)
        .resources(res.build().map_err(e)?);
    if ns.user && plan.ids.uid_inside != 0 {
        notes.lost(&format!(
            "user: the bundle maps only uid {} inside (as jail does); runc and crun refuse a user namespace without uid 0 mapped, so give them a mapping of 0 (e.g. 0 -> the host id) and process.user {}:{}",
            plan.ids.uid_inside, plan.ids.uid_inside, plan.ids.gid_inside
        ));
    }
    if ns.user {
        let map = |inside, outside| {
            LinuxIdMappingBuilder::default()
                .container_id(inside)
                .host_id(outside)
                .size(1u32)
                .build()
        };
        linux = linux
            .uid_mappings(vec![
                map(plan.ids.uid_inside, plan.ids.uid_outside).map_err(e)?
            ])
            .gid_mappings(vec![
                map(plan.ids.gid_inside, plan.ids.gid_outside).map_err(e)?
            ]);
    }
    let mut annotations = HashMap::new();
    annotations.insert("org.jail.profile".to_string(), plan.profile.clone());
    annotations.insert("org.jail.not-enforced".to_string(), notes.summary());
    let mut spec = SpecBuilder::default()
        .version("1.0.2")
        .root(
            RootBuilder::default()
                .path(fs.root)
                .readonly(true)
                .build()
                .map_err(e)?,
        )
        .process(process)
        .mounts(fs.mounts)
        .linux(linux.build().map_err(e)?)
        .annotations(annotations)
        .build()
        .map_err(e)?;
    if let (true, Some(h)) = (ns.uts, &plan.process.hostname) {
        spec.set_hostname(Some(h.clone()));
    }
    Ok((spec, fs.make))
}
