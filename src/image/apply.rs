//! The image config applied to a loaded profile (SPEC §6): `Env`, `Entrypoint`/`Cmd`,
//! `WorkingDir` and `User` count unless the profile or the command line says otherwise. What
//! jail's own built-in `image` profile and the built-in defaults set (a Docker-like `PATH`,
//! `cwd = "/"`) does not count as "said": the image's values replace those.
//!
//! `User` is `uid[:gid]` or `name[:group]`; names are looked up in the image's own
//! `/etc/passwd` and `/etc/group` (never the host's), opened inside the image root with
//! `RESOLVE_IN_ROOT`, so a symlink in the image cannot make jail read a host file.

use super::{Config, Image};
use crate::profile::{Loaded, Origin, SourceMap, DEFAULTS_NAME, L};
use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::Path;

const RESOLVE_IN_ROOT: u64 = 0x10;
/// The largest passwd or group file read.
const DB_LIMIT: u64 = 4 << 20;

/// What the image asks for that the plan takes after compiling: the ids inside.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// COMMAND: Entrypoint and the given arguments (or Cmd).
    pub command: Vec<String>,
    /// The uid and gid inside, when the profile does not choose (`process.uid`).
    pub ids: Option<(u32, u32)>,
    /// The image's WorkingDir when the image lacks it: made in the throwaway layer, as Docker
    /// makes it in the container's.
    pub make_workdir: Option<std::path::PathBuf>,
}

/// True when a value comes from a profile the user chose or the command line, not from jail's
/// built-in `image` profile or defaults.
fn said(sources: &SourceMap, at: &Origin) -> bool {
    let n = sources.name(at.src);
    n != "builtin:image" && n != DEFAULTS_NAME
}

/// Applies `img`'s config to `loaded`; `given` is COMMAND as typed (maybe empty).
pub fn apply(loaded: &mut Loaded, img: &Image, given: &[String]) -> Result<Applied, String> {
    let c: &Config = &img.config;
    let command = c.command(given);
    if command.is_empty() {
        return Err("the image has no Entrypoint or Cmd: give COMMAND".into());
    }
    let text = format!("image config of {}", img.reference);
    let id = loaded.sources.add("image config".into(), text.clone());
    let at = Origin {
        src: id,
        span: 0..text.len(),
    };
    let p = &mut loaded.profile;
    let sources = &loaded.sources;

    let ids = match &p.process.uid {
        Some(u) if said(sources, &u.at) => None,
        _ => Some(match &c.user {
            Some(u) => user_ids(&img.rootfs, u)?,
            // Docker's default: root inside.
            None => (0, 0, home_of(&img.rootfs, 0)),
        }),
    };

    let mut env: Vec<(String, String)> = vec![];
    for kv in &c.env {
        match kv.split_once('=') {
            Some((k, v))
                if !k.is_empty()
                    && !k.contains('\0')
                    && !v.contains('\0')
                    && !k.starts_with(|c: char| c.is_ascii_digit()) =>
            {
                env.push((k.to_string(), v.to_string()))
            }
            None if !kv.is_empty() && !kv.contains('\0') => {} // `KEY` alone: Docker takes it from the caller; jail does not.
            _ => {
                return Err(format!(
                    "the image's Env entry {} is not KEY=VALUE with a valid name",
                    crate::util::printable(kv, false)
                ))
            }
        }
    }
    for a in &command {
        if a.contains('\0') {
            return Err("the image's Entrypoint or Cmd holds a NUL byte".into());
        }
    }
    // HOME from the image's passwd entry (or /), as Docker does, when nothing sets it.
    if let Some((_, _, home)) = &ids {
        if !env.iter().any(|(k, _)| k == "HOME") {
            env.push(("HOME".into(), home.clone().unwrap_or_else(|| "/".into())));
        }
    }
    for (k, v) in env {
        if p.env.set.get(&k).is_some_and(|old| said(sources, &old.at)) {
            continue;
        }
        p.env.set.insert(k, L::new(v, at.clone()));
    }
    let mut make_workdir = None;
    if let Some(w) = &c.workdir {
        if !p.process.cwd.as_ref().is_some_and(|x| said(sources, &x.at)) {
            if !w.starts_with('/') || w.contains('\0') || w.split('/').any(|c| c == "..") {
                return Err(format!(
                    "the image's WorkingDir {} is not an absolute path without '..'",
                    crate::util::printable(w, false)
                ));
            }
            p.process.cwd = Some(L::new(w.clone(), at.clone()));
            if missing_in(&img.rootfs, Path::new(w)) {
                make_workdir = Some(w.into());
            }
        }
    }
    Ok(Applied {
        command,
        ids: ids.map(|(u, g, _)| (u, g)),
        make_workdir,
    })
}

/// True when nothing is at `path` (absolute, inside the image) in the image root, looking
/// without following symlinks (a symlink on the way counts as there: the launch judges it).
fn missing_in(rootfs: &Path, path: &Path) -> bool {
    let mut at = rootfs.to_path_buf();
    for c in path.components().skip(1) {
        at.push(c);
        match std::fs::symlink_metadata(&at) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return false,
            Err(_) => return true,
        }
    }
    false
}

/// Reads `rel` (e.g. `etc/passwd`) of the image root, resolved inside it; None when missing.
fn read_in_root(rootfs: &Path, rel: &str) -> Result<Option<String>, String> {
    let root = std::fs::File::open(rootfs).map_err(|e| format!("{}: {e}", rootfs.display()))?;
    let fd = match crate::sandbox::sys::openat2(
        root.as_raw_fd(),
        rel,
        libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY,
        RESOLVE_IN_ROOT | crate::sandbox::sys::RESOLVE_NO_MAGICLINKS,
    ) {
        Ok(fd) => fd,
        Err(nix::errno::Errno::ENOENT) | Err(nix::errno::Errno::ENOTDIR) => return Ok(None),
        Err(e) => return Err(format!("the image's /{rel}: {e}")),
    };
    let st = crate::sandbox::sys::fstat(fd.as_raw_fd())
        .map_err(|e| format!("the image's /{rel}: {e}"))?;
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(format!("the image's /{rel} is not a regular file"));
    }
    let mut v = vec![];
    std::fs::File::from(fd)
        .take(DB_LIMIT + 1)
        .read_to_end(&mut v)
        .map_err(|e| format!("the image's /{rel}: {e}"))?;
    if v.len() as u64 > DB_LIMIT {
        return Err(format!(
            "the image's /{rel} is larger than {DB_LIMIT} bytes"
        ));
    }
    Ok(Some(String::from_utf8_lossy(&v).into_owned()))
}

/// `name:x:id:...` lines of a passwd or group file.
fn entries(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split(':').collect::<Vec<_>>())
        .filter(|f| f.len() >= 3)
}

fn home_of(rootfs: &Path, uid: u32) -> Option<String> {
    let pw = read_in_root(rootfs, "etc/passwd").ok()??;
    let home = entries(&pw)
        .find(|f| f[2].parse() == Ok(uid))
        .and_then(|f| f.get(5).map(|h| h.to_string()))
        .filter(|h| h.starts_with('/'));
    home
}

/// The ids and home of the image's `User` (`uid[:gid]`, `name[:group]`, mixed).
pub fn user_ids(rootfs: &Path, user: &str) -> Result<(u32, u32, Option<String>), String> {
    let shown = crate::util::printable(user, false);
    let (u, g) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let numeric = |s: &str| s.parse::<u32>().ok().filter(|_| !s.is_empty());
    let need_pw = numeric(u).is_none() || g.is_none();
    let pw = if need_pw {
        read_in_root(rootfs, "etc/passwd")?.unwrap_or_default()
    } else {
        String::new()
    };
    let pw_entry = |pred: &dyn Fn(&[&str]) -> bool| -> Option<(u32, u32, Option<String>)> {
        entries(&pw).find(|f| pred(f)).and_then(|f| {
            Some((
                f[2].parse().ok()?,
                f.get(3)?.parse().ok()?,
                f.get(5)
                    .map(|h| h.to_string())
                    .filter(|h| h.starts_with('/')),
            ))
        })
    };
    let (uid, primary, home) = match numeric(u) {
        // A uid with no passwd entry: gid 0 unless given, as Docker does.
        Some(n) => pw_entry(&|f| f[2].parse() == Ok(n)).unwrap_or((n, 0, None)),
        None => pw_entry(&|f| f[0] == u).ok_or_else(|| {
            format!("the image's User {shown}: no user {shown} in the image's /etc/passwd")
        })?,
    };
    let gid = match g {
        None => primary,
        Some(g) => match numeric(g) {
            Some(n) => n,
            None => {
                let gr = read_in_root(rootfs, "etc/group")?.unwrap_or_default();
                let found = entries(&gr)
                    .find(|f| f[0] == g)
                    .and_then(|f| f[2].parse().ok());
                found.ok_or_else(|| {
                    format!(
                        "the image's User {shown}: no group {} in the image's /etc/group",
                        crate::util::printable(g, false)
                    )
                })?
            }
        },
    };
    if uid == u32::MAX || gid == u32::MAX {
        return Err(format!("the image's User {shown}: not a valid id"));
    }
    Ok((uid, gid, home))
}

#[cfg(test)]
mod tests {
    use super::user_ids;

    #[test]
    fn users_are_looked_up_in_the_image_only() {
        let d = crate::util::ScratchDir::new("jail-image-user");
        let root: &std::path::Path = &d;
        std::fs::create_dir(root.join("etc")).unwrap();
        std::fs::write(
            root.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\napp:x:1234:2345::/home/app:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(root.join("etc/group"), "root:x:0:\nstaff:x:50:\n").unwrap();
        assert_eq!(
            user_ids(root, "app").unwrap(),
            (1234, 2345, Some("/home/app".into()))
        );
        assert_eq!(user_ids(root, "app:staff").unwrap().1, 50);
        assert_eq!(user_ids(root, "1234").unwrap().1, 2345);
        assert_eq!(user_ids(root, "77:88").unwrap(), (77, 88, None));
        assert_eq!(user_ids(root, "77").unwrap(), (77, 0, None));
        assert!(user_ids(root, "nobody").is_err());
        assert!(user_ids(root, "app:wheel").is_err());
        // A symlinked passwd is resolved inside the image, never to the host's file.
        std::fs::remove_file(root.join("etc/passwd")).unwrap();
        std::os::unix::fs::symlink("/etc/hostpasswd", root.join("etc/passwd")).unwrap();
        std::fs::write(root.join("etc/hostpasswd"), "h:x:4242:4242::/h:/bin/sh\n").unwrap();
        assert_eq!(user_ids(root, "h").unwrap().0, 4242);
        std::os::unix::fs::symlink("../../../../../../etc/passwd", root.join("etc/up")).unwrap();
        std::fs::remove_file(root.join("etc/passwd")).unwrap();
        std::fs::rename(root.join("etc/up"), root.join("etc/passwd")).unwrap();
        assert!(user_ids(root, "root").is_err(), "read the host's passwd");
    }
}
