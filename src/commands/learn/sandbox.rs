//! The permissive sandbox `jail learn` records in: the host's `/` read-only, the home and the
//! current folder as overlays whose upper layer is thrown away, the home's secrets replaced
//! by empty ones, the host's network, every syscall and nested namespace allowed (so the
//! record shows what COMMAND needs, not what a default refused), Landlock off.

use super::dbus::Buses;
use crate::cli::LearnArgs;
use crate::commands::audit::facts::SECRETS;
use crate::host::Host;
use crate::profile::{self, Overrides, SearchPath};
use std::path::{Path, PathBuf};

/// A private folder of this run in /tmp (mode 0700), removed when dropped. The sandbox sees
/// only its `rec` sub-folder, where the recorder leaves its record; jail's own files (the
/// permissive profile, the coverage and the learned profile it compiles) sit beside it, out
/// of COMMAND's reach, and are made with create_new so nothing there is followed.
pub struct WorkDir(PathBuf);

impl WorkDir {
    pub fn new() -> std::io::Result<WorkDir> {
        let mut tmpl = *b"/tmp/jail-learn-XXXXXX\0";
        // SAFETY: mkdtemp rewrites the X's of our own NUL-terminated buffer.
        let p = unsafe { libc::mkdtemp(tmpl.as_mut_ptr().cast()) };
        if p.is_null() {
            return Err(std::io::Error::last_os_error());
        }
        let s = String::from_utf8_lossy(&tmpl[..tmpl.len() - 1]).into_owned();
        let w = WorkDir(PathBuf::from(s));
        std::fs::create_dir(w.rec_dir())?;
        Ok(w)
    }
    /// The one folder bound into the sandbox (read-write).
    pub fn rec_dir(&self) -> PathBuf {
        self.0.join("rec")
    }
    pub fn record(&self) -> PathBuf {
        self.rec_dir().join("record.json")
    }
    /// The xdg-dbus-proxy log of the run (beside the record, not in the sandbox's view).
    pub fn dbus_log(&self) -> PathBuf {
        self.path("dbus.log")
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    /// Writes jail's own file `name` (never one that exists, never through a symlink).
    pub fn write(&self, name: &str, text: &str) -> std::io::Result<PathBuf> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let p = self.path(name);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .custom_flags(libc::O_NOFOLLOW)
            .mode(0o600)
            .open(&p)?;
        f.write_all(text.as_bytes())?;
        Ok(p)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn q(p: &Path) -> String {
    toml::Value::String(p.to_string_lossy().into_owned()).to_string()
}

/// Folders that are no place for a throwaway layer of the current folder: / and the system.
fn system_dir(p: &Path) -> bool {
    p == Path::new("/")
        || [
            "/usr", "/etc", "/bin", "/sbin", "/lib", "/lib64", "/proc", "/sys", "/dev", "/boot",
            "/tmp", "/var", "/run", "/home",
        ]
        .iter()
        .any(|s| p == Path::new(s))
}

/// The home's secrets as the sandbox must hide them: each one that is a symlink by the path
/// it resolves to, which must stay in the home (a secret elsewhere cannot be masked here).
fn secrets(home: &Path) -> Result<Vec<PathBuf>, String> {
    let real_home = home.canonicalize().unwrap_or_else(|_| home.to_path_buf());
    let mut out = vec![];
    for s in SECRETS {
        let p = home.join(s);
        let Ok(m) = p.symlink_metadata() else {
            out.push(p);
            continue;
        };
        if !m.file_type().is_symlink()
            && p.parent().and_then(|d| d.canonicalize().ok()).as_deref() == p.parent()
        {
            out.push(p);
            continue;
        }
        let Ok(r) = p.canonicalize() else {
            // A dangling link: nothing to read behind it now.
            continue;
        };
        if !r.starts_with(&real_home) {
            return Err(format!(
                "the secret {} resolves to {}, outside the home, which learn cannot hide; learn elsewhere or move it into the home",
                p.display(),
                r.display()
            ));
        }
        // Under the home's overlay by its path in the home (the overlay sits at `home`).
        out.push(home.join(r.strip_prefix(&real_home).unwrap_or(&r)));
    }
    Ok(out)
}

fn profile_text(work: &WorkDir, host: &Host, exe: &Path, buses: &Buses) -> Result<String, String> {
    let mut t = String::from(
        "description = \"jail learn: the permissive sandbox of a recorded run\"\n\n\
         [namespaces]\nnet = false\nnested = [\"user\", \"pid\", \"net\", \"mount\", \"ipc\", \"uts\", \"cgroup\"]\n\n\
         [seccomp]\ndeny = [\"!@default-deny\"]\n\n[landlock]\nenabled = false\n\n[filesystem]\n",
    );
    // Every top-level entry of the host's / except the ones the sandbox has its own of
    // (binding / itself would cover the private /tmp).
    let mut shown: Vec<PathBuf> = vec![];
    if let Ok(rd) = std::fs::read_dir("/") {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !["proc", "dev", "tmp"].contains(&name.as_str()) {
                shown.push(Path::new("/").join(name));
            }
        }
    }
    // Without xdg-dbus-proxy the run has the host's buses unfiltered (the `/` it sees
    // read-only holds their sockets) and learn cannot say which names COMMAND used.
    let dbus = !buses.reached.is_empty() && crate::plan::gui::proxy_on_path(host);
    if dbus {
        // The proxy's sockets are bound where the app looks for its buses; where no such
        // file is on the host, the folders above are shown entry by entry so that jail can
        // make the mount point.
        for which in &buses.reached {
            let at = match *which {
                "session" => crate::plan::gui::session_bus_inside(host.runtime_dir.as_deref()),
                _ => PathBuf::from(crate::plan::gui::SYSTEM_BUS_INSIDE),
            };
            shown = room_for(shown, &at);
        }
    }
    shown.sort();
    let mut ro: Vec<String> = shown
        .iter()
        .map(|p| q(Path::new(&format!("?{}", p.display()))))
        .collect();
    ro.push(q(Path::new("?/tmp/.X11-unix")));
    ro.push(q(exe));
    t += &format!("ro = [{}]\nrw = [{}]\n", ro.join(", "), q(&work.rec_dir()));
    if host.cwd.is_dir() {
        // Shown through an overlay, which the plan's own choice of the working folder does
        // not count as a grant.
        t = t.replacen(
            "[filesystem]\n",
            &format!("[process]\ncwd = {}\n\n[filesystem]\n", q(&host.cwd)),
            1,
        );
    }
    let mut overlays: Vec<PathBuf> = vec![];
    let home = &host.home;
    if home.is_dir() && !system_dir(home) {
        overlays.push(home.clone());
    }
    let cwd = &host.cwd;
    if cwd.is_dir() && !system_dir(cwd) && !overlays.iter().any(|o| cwd.starts_with(o)) {
        overlays.push(cwd.clone());
    }
    for o in &overlays {
        t += &format!(
            "\n[[filesystem.mount]]\ntype = \"overlay\"\nlower = [{}]\ntarget = {}\n",
            q(o),
            q(o)
        );
    }
    // The home's keys and credentials: an empty folder or file over each that exists, after
    // the overlay (hides would sit under it).
    if overlays.first() == Some(home) {
        for p in secrets(home)? {
            let Ok(m) = p.symlink_metadata() else {
                continue;
            };
            if m.is_dir() {
                t += &format!(
                    "\n[[filesystem.mount]]\ntype = \"tmpfs\"\ntarget = {}\nsize = \"1MiB\"\n",
                    q(&p)
                );
            } else if m.is_file() {
                t += &format!(
                    "\n[[filesystem.mount]]\ntype = \"file\"\ntarget = {}\ncontent = \"\"\nmode = \"0600\"\n",
                    q(&p)
                );
            } else {
                return Err(format!(
                    "{} is neither a file nor a folder and cannot be hidden; move it out of the home to learn",
                    p.display()
                ));
            }
        }
    } else {
        // No overlay of the home: the secrets are hidden under the read-only / instead.
        let hides: Vec<String> = secrets(home)?
            .iter()
            .map(|p| q(Path::new(&format!("?{}", p.display()))))
            .collect();
        t = t.replacen(
            "[filesystem]\n",
            &format!("[filesystem]\nhide = [{}]\n", hides.join(", ")),
            1,
        );
    }
    if dbus {
        t += &super::dbus::permissive_section(buses);
    }
    Ok(t)
}

/// The read-only grants `shown` (each a folder or file shown whole) rewritten so that a mount
/// point can be made at `at`: each folder between `/` and the nearest one of `at`'s folders
/// the host has is replaced by its entries, so that the folders on the way are jail's own.
/// Nothing changes when the host has `at` (it is mounted over) or a folder on the way is a
/// symlink.
fn room_for(shown: Vec<PathBuf>, at: &Path) -> Vec<PathBuf> {
    if at.symlink_metadata().is_ok() {
        return shown;
    }
    // The folders from the top down to the nearest one that exists.
    let mut chain: Vec<&Path> = at
        .ancestors()
        .skip(1)
        .take_while(|a| *a != Path::new("/"))
        .collect();
    chain.reverse();
    // None: only `/` exists, whose entries are shown one by one already.
    let Some(last) = chain.iter().rposition(|a| a.symlink_metadata().is_ok()) else {
        return shown;
    };
    let chain = &chain[..=last];
    if !shown.iter().any(|s| s == chain[0])
        || chain
            .iter()
            .any(|a| !a.symlink_metadata().is_ok_and(|m| m.is_dir()))
    {
        return shown;
    }
    let mut entries: Vec<PathBuf> = vec![];
    for (i, a) in chain.iter().enumerate() {
        // A folder the user cannot list (root's /run/jail, for another user) is jail's own
        // empty one inside, as it showed nothing.
        let Ok(rd) = std::fs::read_dir(a) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if chain.get(i + 1).is_some_and(|next| *next == p) {
                continue;
            }
            entries.push(p);
        }
    }
    let mut out: Vec<PathBuf> = shown.into_iter().filter(|s| s != chain[0]).collect();
    out.extend(entries);
    out
}

/// The plan of the recorded run: the permissive profile, COMMAND wrapped in the recorder.
pub fn plan(
    work: &WorkDir,
    host: &Host,
    a: &LearnArgs,
    search: &SearchPath,
    buses: &Buses,
) -> Option<crate::plan::Plan> {
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("jail: error: learn: where is jail itself? {e}");
            return None;
        }
    };
    let text = match profile_text(work, host, &exe, buses) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("jail: error: learn: {}", crate::util::printable(&e, false));
            return None;
        }
    };
    let file = match work.write("permissive.toml", &text) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("jail: error: learn: {e}");
            return None;
        }
    };
    let loaded = match profile::load(search, &file.to_string_lossy(), &Overrides::default()) {
        Ok(l) => l,
        Err((e, sources)) => {
            super::print_error(&e, &sources);
            return None;
        }
    };
    let mut cmd = vec![
        exe.to_string_lossy().into_owned(),
        "__learn-trace".into(),
        work.record().to_string_lossy().into_owned(),
    ];
    if let Some(t) = a.timeout {
        cmd.push("--timeout".into());
        cmd.push(t.to_string());
    }
    cmd.push("--".into());
    cmd.extend(a.command.iter().cloned());
    match crate::plan::compile(&loaded, &cmd, host) {
        Ok(mut p) => {
            // The proxy logs every message into jail's own folder, out of COMMAND's reach.
            if let Some(x) = p.helpers.as_mut().and_then(|h| h.proxy.as_mut()) {
                let mut args = vec![];
                for a in std::mem::take(&mut x.args) {
                    let filter = a == "--filter";
                    args.push(a);
                    if filter {
                        args.push("--log".into());
                    }
                }
                x.args = args;
                x.log = work.dbus_log();
                x.log_limit = Some(super::dbus::LOG_LIMIT);
            }
            Some(p)
        }
        Err(e) => {
            super::print_error(&e, &loaded.sources);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_for_a_mount_point_shows_the_folders_on_the_way_entry_by_entry() {
        let top = std::env::temp_dir().join(format!("jail-room-{}", std::process::id()));
        let run = top.join("run");
        std::fs::create_dir_all(run.join("user/7")).unwrap();
        std::fs::create_dir_all(run.join("lock")).unwrap();
        std::fs::write(run.join("user/7/wayland-0"), "").unwrap();
        let shown = vec![PathBuf::from("/tmp"), PathBuf::from("/usr")];
        let out = room_for(shown.clone(), &run.join("user/7/bus"));
        assert!(!out.contains(&PathBuf::from("/tmp")), "{out:?}");
        assert!(out.contains(&PathBuf::from("/usr")), "{out:?}");
        for p in [run.join("lock"), run.join("user/7/wayland-0")] {
            assert!(out.contains(&p), "{p:?} in {out:?}");
        }
        for p in [
            top.clone(),
            run.clone(),
            run.join("user"),
            run.join("user/7"),
        ] {
            assert!(!out.contains(&p), "{p:?} in {out:?}");
        }
        // A file the host has is mounted over: nothing changes.
        assert_eq!(
            room_for(shown.clone(), &run.join("user/7/wayland-0")),
            shown
        );
        // A folder on the way that is a symlink: nothing changes.
        std::os::unix::fs::symlink(run.join("user"), run.join("link")).unwrap();
        assert_eq!(room_for(shown.clone(), &run.join("link/7/bus")), shown);
        std::fs::remove_dir_all(&top).unwrap();
    }
}
