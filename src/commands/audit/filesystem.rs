//! The filesystem checks: the host's root, the home (read, secrets, write), writable folders
//! outside it, the runtime folder.

use super::checks::{flag, listed, Finding};
use super::facts::{is_system, Facts, SECRETS};
use crate::plan::mounts::Access;
use std::path::{Path, PathBuf};

pub fn host_root(f: &Facts) -> Finding {
    flag(
        f.resolve(Path::new("/")).is_some() || f.binds().any(|(t, _)| t == Path::new("/")),
        "the host's whole / is bound: every file the user can read is visible",
        "the root is an empty tmpfs or an image",
    )
}

pub fn home_read(f: &Facts) -> Finding {
    let home_binds = f.home_binds();
    listed(
        f,
        &home_binds,
        "readable",
        "nothing of the real home is bound",
    )
}

pub fn home_whole_read(f: &Facts) -> Finding {
    flag(
        f.whole_home().is_some(),
        "the whole home is bound; only what is hidden stays private",
        "the home itself is not bound (empty, a tmpfs or absent)",
    )
}

pub fn home_secrets(f: &Facts) -> Finding {
    let secrets: Vec<PathBuf> = SECRETS
        .iter()
        .map(|s| f.home.join(s))
        .filter(|p| f.host.fs.kind(p).is_some() && f.resolve(p).is_some())
        .collect();
    listed(
        f,
        &secrets,
        "readable",
        "~/.ssh, ~/.gnupg, cloud and package-registry credentials are not visible",
    )
}

pub fn home_write(f: &Facts) -> Finding {
    let home_rw = f.home_rw();
    listed(
        f,
        &home_rw,
        "writable",
        "nothing of the real home is writable",
    )
}

pub fn home_whole_rw(f: &Facts) -> Finding {
    flag(
        matches!(f.whole_home(), Some(Access::Rw | Access::Dev)),
        "the whole home is writable: ~/.bashrc, autostart files, other apps' data",
        "the home as a whole is not writable",
    )
}

pub fn rw_outside_home(f: &Facts) -> Finding {
    let rw_out = f.rw_outside_home();
    listed(
        f,
        &rw_out,
        "writable",
        "no writable host folder outside the home",
    )
}

pub fn rw_system(f: &Facts) -> Finding {
    let rw_sys: Vec<PathBuf> = f
        .rw_outside_home()
        .into_iter()
        .filter(|t| is_system(t))
        .collect();
    listed(
        f,
        &rw_sys,
        "writable system folders",
        "/usr, /etc, /lib … are read-only or absent",
    )
}

pub fn runtime_dir(f: &Facts) -> Finding {
    flag(
        f.resolve(&f.runtime).is_some(),
        format!("{} is bound: every session socket (D-Bus, sound, display, systemd --user) is reachable", f.runtime.display()),
        "only single sockets of the runtime folder, if any",
    )
}

/// Writable places where a program written inside could be run: writable binds, tmpfs
/// folders (the private /tmp among them) and overlays not under a `noexec` path.
pub fn exec_writable(f: &Facts) -> Finding {
    use crate::plan::MountStep;
    let noexec: Vec<&Path> = f
        .plan
        .mounts
        .iter()
        .filter_map(|m| match m {
            MountStep::Noexec { target, .. } => Some(target.as_path()),
            _ => None,
        })
        .collect();
    let mut places: Vec<PathBuf> = f
        .plan
        .mounts
        .iter()
        .filter(|m| {
            matches!(
                m,
                MountStep::Bind {
                    access: Access::Rw,
                    ..
                } | MountStep::Tmpfs { .. }
                    | MountStep::Overlay { .. }
            )
        })
        .map(|m| m.target().to_path_buf())
        .filter(|t| !noexec.iter().any(|n| t.starts_with(n)))
        .collect();
    places.sort();
    places.dedup();
    listed(
        f,
        &places,
        "programs written here can be run ([filesystem] noexec stops it)",
        "every writable place is noexec",
    )
}
