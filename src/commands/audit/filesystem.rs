//! The filesystem checks: the host's root, the home (read, secrets, write), writable folders
//! outside it, the runtime folder.

use super::checks::Finding;
use super::facts::{is_system, Facts, SECRETS};
use crate::plan::mounts::Access;
use std::path::{Path, PathBuf};

pub fn host_root(f: &Facts) -> Finding {
    let root_bound =
        f.resolve(Path::new("/")).is_some() || f.binds().any(|(t, _)| t == Path::new("/"));
    (
        root_bound,
        if root_bound {
            "the host's whole / is bound: every file the user can read is visible".into()
        } else {
            "the root is an empty tmpfs or an image".into()
        },
    )
}

pub fn home_read(f: &Facts) -> Finding {
    let home_binds = f.home_binds();
    (
        !home_binds.is_empty(),
        if home_binds.is_empty() {
            "nothing of the real home is bound".into()
        } else {
            format!("readable: {}", f.list(&home_binds))
        },
    )
}

pub fn home_whole_read(f: &Facts) -> Finding {
    let whole = f.whole_home();
    (
        whole.is_some(),
        match whole {
            Some(_) => "the whole home is bound; only what is hidden stays private".into(),
            None => "the home itself is not bound (empty, a tmpfs or absent)".into(),
        },
    )
}

pub fn home_secrets(f: &Facts) -> Finding {
    let secrets: Vec<PathBuf> = SECRETS
        .iter()
        .map(|s| f.home.join(s))
        .filter(|p| f.host.fs.kind(p).is_some() && f.resolve(p).is_some())
        .collect();
    (
        !secrets.is_empty(),
        if secrets.is_empty() {
            "~/.ssh, ~/.gnupg, cloud and package-registry credentials are not visible".into()
        } else {
            format!("readable: {}", f.list(&secrets))
        },
    )
}

pub fn home_write(f: &Facts) -> Finding {
    let home_rw = f.home_rw();
    (
        !home_rw.is_empty(),
        if home_rw.is_empty() {
            "nothing of the real home is writable".into()
        } else {
            format!("writable: {}", f.list(&home_rw))
        },
    )
}

pub fn home_whole_rw(f: &Facts) -> Finding {
    let whole_rw = matches!(f.whole_home(), Some(Access::Rw | Access::Dev));
    (
        whole_rw,
        if whole_rw {
            "the whole home is writable: ~/.bashrc, autostart files, other apps' data".into()
        } else {
            "the home as a whole is not writable".into()
        },
    )
}

pub fn rw_outside_home(f: &Facts) -> Finding {
    let rw_out = f.rw_outside_home();
    (
        !rw_out.is_empty(),
        if rw_out.is_empty() {
            "no writable host folder outside the home".into()
        } else {
            format!("writable: {}", f.list(&rw_out))
        },
    )
}

pub fn rw_system(f: &Facts) -> Finding {
    let rw_sys: Vec<PathBuf> = f
        .rw_outside_home()
        .into_iter()
        .filter(|t| is_system(t))
        .collect();
    (
        !rw_sys.is_empty(),
        if rw_sys.is_empty() {
            "/usr, /etc, /lib … are read-only or absent".into()
        } else {
            format!("writable system folders: {}", f.list(&rw_sys))
        },
    )
}

pub fn runtime_dir(f: &Facts) -> Finding {
    let rt = f.resolve(&f.runtime).is_some();
    (
        rt,
        if rt {
            format!("{} is bound: every session socket (D-Bus, sound, display, systemd --user) is reachable", f.runtime.display())
        } else {
            "only single sockets of the runtime folder, if any".into()
        },
    )
}
