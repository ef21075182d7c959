//! `jail export oci|kubernetes`: the compiled plan written for a container engine (SPEC §6).
//! Pure converters from the [`Plan`] (`oci.rs`, `kube.rs`, `seccomp.rs`); this file loads the
//! plan, collects what the target cannot enforce, and writes the files whole (temp + rename).

mod kube;
mod oci;
mod seccomp;

use super::{build_plan, Verbosity};
use crate::cli::{ExportArgs, ExportKubeArgs, ExportOciArgs, ExportTarget};
use crate::host::Host;
use crate::plan::landlock::PlanOutcome;
use crate::plan::Plan;
use crate::profile::DbusMode;
use crate::util::printable;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

pub use kube::to_pod;
pub use oci::{to_spec, Make, ROOTFS};
pub use seccomp::to_oci as seccomp_to_oci;

/// What the target will not enforce, one line each, in the order found.
#[derive(Debug, Default)]
pub struct Notes {
    pub lines: Vec<String>,
}

impl Notes {
    pub fn lost(&mut self, s: &str) {
        if !self.lines.iter().any(|l| l == s) {
            self.lines.push(s.to_string());
        }
    }
    pub fn summary(&self) -> String {
        self.lines.join("; ")
    }
}

/// The parts of the plan no container engine has a field for.
pub fn common_notes(plan: &Plan, notes: &mut Notes) {
    let ll = &plan.landlock;
    if matches!(ll.outcome, PlanOutcome::Full | PlanOutcome::Partial) && !ll.path_rules.is_empty() {
        notes.lost(&format!(
            "Landlock: {} path rules (and the network and scope rules) are not enforced; only the mounts limit what is visible",
            ll.path_rules.len()
        ));
    }
    for (bus, mode) in [("session", plan.dbus.session), ("system", plan.dbus.system)] {
        match mode {
            DbusMode::Filtered => notes.lost(&format!(
                "D-Bus {bus} bus: jail's filtering proxy is not started; the bus socket is not shown"
            )),
            DbusMode::Host => notes.lost(&format!(
                "D-Bus {bus} bus: the host's bus is only reachable if its socket is among the mounts"
            )),
            DbusMode::None => {}
        }
    }
    let gui: Vec<&str> = plan
        .gui
        .iter()
        .filter(|(_, on)| **on)
        .map(|(k, _)| k.as_str())
        .collect();
    if !gui.is_empty() {
        notes.lost(&format!(
            "desktop sockets ({}): jail's helpers are not started",
            gui.join(", ")
        ));
    }
    if plan.process.die_with_parent {
        notes.lost("die_with_parent: the runtime decides when the container ends");
    }
    if plan.limits.backend.is_none() && !plan.limits.fallback_rlimits.is_empty() {
        notes.lost("limits: jail holds them here with rlimits (no cgroup); the bundle asks the runtime's cgroup for them");
    }
}

pub fn run(a: ExportArgs, v: Verbosity) -> i32 {
    let r = match a.target {
        ExportTarget::Oci(o) => export_oci(o, v),
        ExportTarget::Kubernetes(k) => export_kube(k, v),
    };
    match r {
        Ok(notes) => {
            if v != Verbosity::Quiet {
                for n in &notes.lines {
                    eprintln!("jail: note: not enforced: {}", printable(n, false));
                }
            }
            0
        }
        Err(Some(msg)) => {
            eprintln!("jail: error: {}", printable(&msg, false));
            crate::EXIT_JAIL
        }
        Err(None) => crate::EXIT_JAIL,
    }
}

fn plan_for(
    opts: &crate::cli::SandboxOpts,
    cmd: &[String],
    v: Verbosity,
) -> Result<Plan, Option<String>> {
    let host = Host::probe();
    build_plan(opts, cmd, &host, v).ok_or(None)
}

fn export_oci(a: ExportOciArgs, v: Verbosity) -> Result<Notes, Option<String>> {
    let plan = plan_for(&a.opts, &a.command, v)?;
    let mut notes = Notes::default();
    common_notes(&plan, &mut notes);
    let (spec, make) = to_spec(&plan, &mut notes).map_err(|e| Some(format!("OCI config: {e}")))?;
    let json = serde_json::to_string_pretty(&spec).map_err(|e| Some(e.to_string()))?;
    let b = &a.bundle;
    let err = |what: &str, p: &Path, e: std::io::Error| {
        Some(format!(
            "{what} {}: {e}",
            printable(&p.display().to_string(), false)
        ))
    };
    mkdir(b).map_err(|e| err("cannot create the bundle folder", b, e))?;
    // The bundle's own folders are made fresh: an existing one must be an empty real folder,
    // so nothing below is written through a symlink to somewhere else.
    let root = b.join(ROOTFS);
    let own_root = spec
        .root()
        .as_ref()
        .is_some_and(|r| r.path() == Path::new(ROOTFS));
    let files = b.join("files");
    let dirs = [
        (&root, own_root),
        (
            &files,
            make.iter()
                .any(|m| matches!(m, Make::File(p, ..) if p.is_relative())),
        ),
    ];
    let refuse = |d: &Path, e| {
        err("the bundle's folder", d, e)
            .map(|m| format!("{m}; give a new or empty --bundle folder"))
    };
    let mut absent = vec![];
    for (d, needed) in dirs {
        if fresh_dir(d).map_err(|e| refuse(d, e))? && needed {
            absent.push(d);
        }
    }
    for d in absent {
        std::fs::DirBuilder::new()
            .mode(0o755)
            .create(d)
            .map_err(|e| refuse(d, e))?;
    }
    for m in &make {
        let (base, p) = match m {
            Make::Dir(p, _) | Make::Symlink(p, _) | Make::File(p, ..) => {
                match p.strip_prefix("/") {
                    Ok(r) => (&root, r),
                    Err(_) => (b, p.as_path()),
                }
            }
        };
        let r = (|| match m {
            Make::Dir(_, mode) => {
                let d = make_parents(base, p, true)?;
                std::fs::set_permissions(&d, std::fs::Permissions::from_mode(*mode))
            }
            Make::Symlink(_, to) => {
                let l = make_parents(base, p, false)?;
                match std::fs::symlink_metadata(&l) {
                    Ok(md) if md.is_dir() => std::fs::remove_dir(&l)?,
                    Ok(_) => std::fs::remove_file(&l)?,
                    Err(_) => {}
                }
                std::os::unix::fs::symlink(to, &l)
            }
            Make::File(_, content, mode) => {
                let f = make_parents(base, p, false)?;
                write_whole(&f, content.as_bytes(), *mode)
            }
        })();
        let p = match m {
            Make::Dir(p, _) | Make::Symlink(p, _) | Make::File(p, ..) => p,
        };
        r.map_err(|e| err("cannot make in the bundle", p, e))?;
    }
    let cfg = b.join("config.json");
    write_whole(&cfg, json.as_bytes(), 0o644).map_err(|e| err("cannot write", &cfg, e))?;
    Ok(notes)
}

fn export_kube(a: ExportKubeArgs, v: Verbosity) -> Result<Notes, Option<String>> {
    // For a Pod, --image names the container image the cluster pulls, not a local root.
    let mut opts = a.opts.clone();
    let pod_image = opts.image.take();
    let plan = plan_for(&opts, &a.command, v)?;
    let mut notes = Notes::default();
    common_notes(&plan, &mut notes);
    let name = kube::dns_name(&plan.profile);
    let seccomp_file = format!("{name}-seccomp.json");
    let (sec, lost) = seccomp::to_oci(&plan.seccomp);
    for s in lost {
        notes.lost(&format!("seccomp: {s}"));
    }
    let sec_json = serde_json::to_string_pretty(&sec).map_err(|e| Some(e.to_string()))?;
    let image = pod_image.as_deref().unwrap_or(kube::DEFAULT_IMAGE);
    let pod = to_pod(
        &plan,
        &name,
        image,
        &format!("jail/{seccomp_file}"),
        &mut notes,
    );
    let yaml = kube::yaml(&pod);
    let err = |p: &Path, e: std::io::Error| {
        Some(format!(
            "cannot write {}: {e}",
            printable(&p.display().to_string(), false)
        ))
    };
    mkdir(&a.out).map_err(|e| err(&a.out, e))?;
    let sp = a.out.join(&seccomp_file);
    write_whole(&sp, sec_json.as_bytes(), 0o644).map_err(|e| err(&sp, e))?;
    let yp = a.out.join(format!("{name}.yaml"));
    write_whole(&yp, yaml.as_bytes(), 0o644).map_err(|e| err(&yp, e))?;
    notes.lost(&format!(
        "seccomp: the kubelet loads {seccomp_file} from <its seccomp folder>/jail/ (usually /var/lib/kubelet/seccomp/jail/); copy it to every node"
    ));
    Ok(notes)
}

fn mkdir(p: &Path) -> std::io::Result<()> {
    match std::fs::DirBuilder::new().mode(0o755).create(p) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && p.is_dir() => Ok(()),
        r => r,
    }
}

/// Whether `d` is absent; an empty real folder is fine too, anything else (a symlink, a file,
/// a folder that holds something) is refused.
fn fresh_dir(d: &Path) -> std::io::Result<bool> {
    match std::fs::symlink_metadata(d) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e),
        Ok(md) if md.file_type().is_symlink() => Err(std::io::Error::other("is a symlink")),
        Ok(md) if !md.is_dir() => Err(std::io::Error::other("exists and is not a folder")),
        Ok(_) if std::fs::read_dir(d)?.next().is_some() => {
            Err(std::io::Error::other("exists and is not empty"))
        }
        Ok(_) => Ok(false),
    }
}

/// `base/rel` with its parent folders made one at a time, never through a symlink (the plan's
/// symlinks point at host paths, which must not be written to). With `dir`, `base/rel` itself
/// is made a folder too (or must already be a real one).
fn make_parents(base: &Path, rel: &Path, dir: bool) -> std::io::Result<std::path::PathBuf> {
    use std::path::Component;
    let parts: Vec<_> = rel.components().collect();
    let mut at = base.to_path_buf();
    for (i, c) in parts.iter().enumerate() {
        let Component::Normal(n) = c else {
            return Err(std::io::Error::other("not a plain path"));
        };
        at.push(n);
        if i + 1 == parts.len() && !dir {
            break;
        }
        match std::fs::symlink_metadata(&at) {
            Ok(md) if md.is_dir() => {}
            Ok(_) => {
                return Err(std::io::Error::other(format!(
                    "{} is a symlink or a file, not a folder",
                    at.display()
                )))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::DirBuilder::new().mode(0o755).create(&at)?
            }
            Err(e) => return Err(e),
        }
    }
    Ok(at)
}

/// Writes `data` to a temporary file beside `path` and renames it over `path`: a reader sees
/// the old file or the whole new one, never half of it.
fn write_whole(path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("not a file name"))?;
    let tmp = path.with_file_name(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let r = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
        std::fs::rename(&tmp, path)
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}
