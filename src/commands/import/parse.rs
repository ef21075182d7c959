//! Reads a firejail profile: `include` flattened (the `.local` files too), `ignore` applied,
//! `?COND:` decided from firejail's defaults. The result is the list of effective lines, each
//! with the file and line it came from.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// One effective firejail line and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub file: String,
    pub line: usize,
    pub text: String,
}

/// A flattened profile: its effective lines and every file that was read for it.
#[derive(Debug, Default)]
pub struct Flat {
    pub lines: Vec<Line>,
    pub files: Vec<String>,
}

/// Where `include NAME` is looked up: the user's firejail folder first, then the system one.
pub struct Dirs {
    pub dirs: Vec<PathBuf>,
}

/// Firejail's defaults for the `?COND:` conditions (firejail.config and its build): a condition
/// not listed is false.
fn condition(name: &str) -> bool {
    matches!(name, "HAS_NET" | "HAS_X11" | "BROWSER_DISABLE_U2F")
}

/// The firejail commands a profile may hold (firejail-profile(5)); a file whose first command
/// is none of these is not a firejail profile.
pub fn is_known(cmd: &str) -> bool {
    const KNOWN: &[&str] = &[
        "include",
        "ignore",
        "noblacklist",
        "nowhitelist",
        "blacklist",
        "blacklist-nolog",
        "whitelist",
        "whitelist-ro",
        "read-only",
        "read-write",
        "noexec",
        "mkdir",
        "mkfile",
        "tmpfs",
        "private",
        "private-bin",
        "private-etc",
        "private-tmp",
        "private-dev",
        "private-cache",
        "private-lib",
        "private-opt",
        "private-srv",
        "dbus-user",
        "dbus-user.talk",
        "dbus-user.own",
        "dbus-user.call",
        "dbus-user.broadcast",
        "dbus-user.see",
        "dbus-system",
        "dbus-system.talk",
        "dbus-system.own",
        "dbus-system.call",
        "dbus-system.broadcast",
        "dbus-system.see",
        "net",
        "netfilter",
        "protocol",
        "caps",
        "caps.drop",
        "caps.keep",
        "seccomp",
        "seccomp.drop",
        "seccomp.keep",
        "seccomp.block-secondary",
        "seccomp-error-action",
        "nonewprivs",
        "noroot",
        "nogroups",
        "nosound",
        "novideo",
        "no3d",
        "nou2f",
        "noinput",
        "notv",
        "nodvd",
        "apparmor",
        "machine-id",
        "memory-deny-write-execute",
        "restrict-namespaces",
        "shell",
        "x11",
        "join-or-start",
        "ipc-namespace",
        "hostname",
        "env",
        "rmenv",
        "quiet",
        "disable-mnt",
        "allusers",
        "keep-dev-shm",
        "keep-var-tmp",
        "keep-config-pulse",
        "keep-fd",
        "writable-etc",
        "writable-var",
        "writable-var-log",
        "writable-run-user",
        "allow-debuggers",
        "deterministic-exit-code",
        "deterministic-shutdown",
        "tracelog",
        "novideo",
        "nodbus",
        "name",
        "timeout",
        "cpu",
        "nice",
        "rlimit-as",
        "rlimit-cpu",
        "rlimit-fsize",
        "rlimit-nofile",
        "rlimit-nproc",
        "rlimit-sigpending",
        "bind",
        "overlay",
        "join",
        "dns",
        "hosts-file",
        "xephyr-screen",
        "mtu",
        "iprange",
        "defaultgw",
        "veth-name",
        "netns",
        "ip",
        "ip6",
        "mac",
        "interface",
        "net.print",
        "keep-shell-rc",
        "private-cwd",
        "read-only-home",
        "tab",
        "blacklist-nolog",
        "whitelist-nolog",
        "appimage",
        "noautopulse",
        "private-home",
        "seccomp.32.drop",
        "seccomp.32.keep",
        "seccomp.32",
        "landlock",
        "landlock.read",
        "landlock.write",
        "landlock.execute",
        "landlock.special",
        "landlock.enforce",
        "landlock.fs.read",
        "landlock.fs.write",
        "landlock.fs.execute",
        "landlock.fs.makeipc",
        "landlock.fs.makedev",
        "restrict-namespaces",
        "private-etc-keep",
        "disable-mnt",
        "cgroup",
        "x11",
        "dbus-user.log",
        "dbus-system.log",
    ];
    KNOWN.contains(&cmd)
}

/// The command word of a line (`blacklist` of `blacklist ${HOME}/.x`).
pub fn command(text: &str) -> &str {
    text.split([' ', '\t']).next().unwrap_or("")
}

impl Dirs {
    pub fn find(&self, name: &str, from: &Path) -> Option<PathBuf> {
        if name.contains('/') {
            let p = PathBuf::from(name);
            return p.exists().then_some(p);
        }
        let mut all: Vec<PathBuf> = self.dirs.clone();
        if let Some(d) = from.parent() {
            all.push(d.to_path_buf());
        }
        all.into_iter().map(|d| d.join(name)).find(|p| p.exists())
    }
}

/// The largest profile or include read (firejail's biggest are a few KiB).
const MAX_FILE: u64 = 1 << 20;

/// Reads `path` and everything it includes. Errors are one line: `FILE:LINE: what`.
pub fn flatten(path: &Path, dirs: &Dirs) -> Result<Flat, String> {
    let mut flat = Flat::default();
    let mut ignored = Vec::new();
    let mut seen = BTreeSet::new();
    read(path, dirs, &mut flat, &mut ignored, &mut seen, 0)?;
    Ok(flat)
}

fn read(
    path: &Path,
    dirs: &Dirs,
    flat: &mut Flat,
    ignored: &mut Vec<String>,
    seen: &mut BTreeSet<PathBuf>,
    depth: usize,
) -> Result<(), String> {
    let shown = path.display().to_string();
    if depth > 16 {
        return Err(format!("{shown}: includes nested more than 16 deep"));
    }
    let canon = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    // firejail reads a file once per profile (the include guards of the .inc files).
    if !seen.insert(canon) {
        return Ok(());
    }
    // Only a regular file of a reasonable size: an include of /dev/zero or a FIFO must not
    // hang or exhaust the importer.
    let meta = std::fs::metadata(path).map_err(|e| format!("{shown}: cannot read: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{shown}: not a regular file"));
    }
    if meta.len() > MAX_FILE {
        return Err(format!(
            "{shown}: larger than {} KiB, not a firejail profile",
            MAX_FILE / 1024
        ));
    }
    let text = {
        use std::io::Read;
        let mut f = std::fs::File::open(path).map_err(|e| format!("{shown}: cannot read: {e}"))?;
        let mut b = vec![];
        f.by_ref()
            .take(MAX_FILE + 1)
            .read_to_end(&mut b)
            .map_err(|e| format!("{shown}: cannot read: {e}"))?;
        if b.len() as u64 > MAX_FILE {
            return Err(format!("{shown}: larger than {} KiB", MAX_FILE / 1024));
        }
        b
    };
    let text = String::from_utf8(text).map_err(|_| format!("{shown}: not text (not UTF-8)"))?;
    flat.files.push(shown.clone());
    let mut first = true;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        // A comment may also end a line (`whitelist ${HOME}/x # why`, or after a tab as in
        // whitelist-run-common.inc's `whitelist /run/netconfig/resolv.conf<TAB># openSUSE`).
        let raw = match raw
            .char_indices()
            .find(|&(i, c)| c == '#' && raw[..i].ends_with([' ', '\t']))
        {
            Some((i, _)) => &raw[..i],
            None => raw,
        };
        let mut t = raw.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        // `?COND: command` — kept when firejail's default for COND is true.
        if let Some(rest) = t.strip_prefix('?') {
            let Some((cond, cmd)) = rest.split_once(':') else {
                return Err(format!("{shown}:{n}: a condition without ':': {t}"));
            };
            if !condition(cond.trim()) {
                continue;
            }
            t = cmd.trim();
        }
        let cmd = command(t);
        // Every file read, included ones too, must be a firejail profile: its lines are
        // copied into the result (as comments where they have no jail equivalent), and an
        // `include /etc/shadow` must not copy that file.
        if first && !is_known(cmd) {
            return Err(format!(
                "{shown}:{n}: not a firejail profile ('{cmd}' is not a firejail command)"
            ));
        }
        first = false;
        if cmd == "ignore" {
            ignored.push(t["ignore".len()..].trim().to_string());
            continue;
        }
        if ignored.iter().any(|ig| t == ig || cmd == ig) {
            continue;
        }
        if cmd == "include" {
            let name = t["include".len()..].trim();
            let name = name.replace("${CFG}", "/etc/firejail");
            let home = std::env::var("HOME").unwrap_or_default();
            let name = name.replace("${HOME}", &home);
            match dirs.find(&name, path) {
                Some(p) => read(&p, dirs, flat, ignored, seen, depth + 1)?,
                // firejail skips missing .local files: they are the user's to create.
                None if name.ends_with(".local") => {}
                None => return Err(format!("{shown}:{n}: include '{name}': no such file")),
            }
            continue;
        }
        flat.lines.push(Line {
            file: shown.clone(),
            line: n,
            text: t.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(files: &[(&str, &str)]) -> (tempdir::Dir, Dirs) {
        let d = tempdir::Dir::new();
        for (n, t) in files {
            std::fs::write(d.0.join(n), t).unwrap();
        }
        let dirs = Dirs {
            dirs: vec![d.0.clone()],
        };
        (d, dirs)
    }

    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                use std::sync::atomic::{AtomicUsize, Ordering};
                static N: AtomicUsize = AtomicUsize::new(0);
                let p = std::env::temp_dir().join(format!(
                    "jail-import-test-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::SeqCst)
                ));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn includes_ignore_and_conditions() {
        let (d, dirs) = tmp(&[
            ("a.profile", "include a.local\ninclude b.inc\nignore net\n?HAS_APPIMAGE: whitelist /x\n?BROWSER_DISABLE_U2F: nou2f\nnet none\n"),
            ("b.inc", "include b.inc\nnoroot\nwhitelist /run/a\t# tab\nwhitelist /run/b # space\n"),
        ]);
        let f = flatten(&d.0.join("a.profile"), &dirs).unwrap();
        let t: Vec<&str> = f.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(
            t,
            vec!["noroot", "whitelist /run/a", "whitelist /run/b", "nou2f"]
        );
    }

    #[test]
    fn errors_name_file_and_line() {
        let (d, dirs) = tmp(&[
            ("a.profile", "noroot\ninclude nope.inc\n"),
            ("x.profile", "[filesystem]\n"),
        ]);
        let e = flatten(&d.0.join("a.profile"), &dirs).unwrap_err();
        assert!(
            e.ends_with("a.profile:2: include 'nope.inc': no such file"),
            "{e}"
        );
        let e = flatten(&d.0.join("x.profile"), &dirs).unwrap_err();
        assert!(e.contains("x.profile:1: not a firejail profile"), "{e}");
    }
}
