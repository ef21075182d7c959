//! `dbus.portal`: the root `xdg-dbus-proxy` runs in, so the portals see the app's identity.
//!
//! xdg-desktop-portal identifies the sender of a message by `/proc/PID/root/.flatpak-info`,
//! and with a filtered bus the sender is the proxy, not COMMAND. So the proxy gets a root of
//! its own: in a new mount namespace (and, for an unprivileged user, a new user namespace that
//! maps only the caller's ids), a tmpfs at the plan's folder holds every top-level folder of
//! the host's `/` (bound recursively, so the proxy reaches its libraries, the real bus and its
//! own socket as before), a copy of each top-level symlink, and the identity file. The proxy is
//! host code that jail trusts: this root gives it an identity, it does not confine it.
//!
//! Everything is read and allocated by [`MirrorRoot::prepare`] before the fork;
//! [`MirrorRoot::enter`] runs between fork and exec and makes only system calls.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

enum Entry {
    /// A top-level folder of the host: (host path, path in the mirror).
    Dir(CString, CString),
    /// A top-level symlink: (its target, path in the mirror).
    Symlink(CString, CString),
}

pub struct MirrorRoot {
    root: CString,
    entries: Vec<Entry>,
    info_path: CString,
    info: Vec<u8>,
    /// For an unprivileged caller: the `uid_map` and `gid_map` lines of its own ids.
    maps: Option<(Vec<u8>, Vec<u8>)>,
}

fn cstr(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

impl MirrorRoot {
    /// Makes the (empty, 0700) folder `root` and reads the host's `/`.
    pub fn prepare(root: &Path, info: &str) -> io::Result<MirrorRoot> {
        std::fs::DirBuilder::new().mode(0o700).create(root)?;
        let mut entries = vec![];
        for e in std::fs::read_dir("/")? {
            let e = e?;
            let host = Path::new("/").join(e.file_name());
            let inside = root.join(e.file_name());
            let t = e.file_type()?;
            if t.is_symlink() {
                let to = std::fs::read_link(&host)?;
                entries.push(Entry::Symlink(cstr(&to)?, cstr(&inside)?));
            } else if t.is_dir() {
                entries.push(Entry::Dir(cstr(&host)?, cstr(&inside)?));
            }
            // Files and sockets at the top of `/` are left out (the proxy needs none).
        }
        let uid = nix::unistd::geteuid().as_raw();
        let gid = nix::unistd::getegid().as_raw();
        Ok(MirrorRoot {
            root: cstr(root)?,
            entries,
            info_path: cstr(&root.join(".flatpak-info"))?,
            info: info.as_bytes().to_vec(),
            maps: (uid != 0).then(|| {
                (
                    format!("{uid} {uid} 1\n").into_bytes(),
                    format!("{gid} {gid} 1\n").into_bytes(),
                )
            }),
        })
    }

    /// Between fork and exec: the namespaces, the mirror, `chroot`. Only system calls.
    ///
    /// # Safety
    /// Call only in a freshly forked child (it changes the process's namespaces and root).
    pub unsafe fn enter(&self) -> io::Result<()> {
        let fail = || Err(io::Error::last_os_error());
        let flags = if self.maps.is_some() {
            libc::CLONE_NEWUSER | libc::CLONE_NEWNS
        } else {
            libc::CLONE_NEWNS
        };
        if libc::unshare(flags) < 0 {
            return fail();
        }
        if let Some((uid_map, gid_map)) = &self.maps {
            for (file, text) in [
                (c"/proc/self/setgroups", &b"deny\n"[..]),
                (c"/proc/self/gid_map", &gid_map[..]),
                (c"/proc/self/uid_map", &uid_map[..]),
            ] {
                let fd = libc::open(file.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 {
                    return fail();
                }
                let n = libc::write(fd, text.as_ptr().cast(), text.len());
                libc::close(fd);
                if n != text.len() as isize {
                    return fail();
                }
            }
        }
        // Nothing done here may reach the host's mounts.
        let none = std::ptr::null();
        if libc::mount(
            none,
            c"/".as_ptr(),
            none,
            libc::MS_REC | libc::MS_SLAVE,
            none.cast(),
        ) < 0
        {
            return fail();
        }
        if libc::mount(
            c"tmpfs".as_ptr(),
            self.root.as_ptr(),
            c"tmpfs".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV,
            c"mode=0755".as_ptr().cast(),
        ) < 0
        {
            return fail();
        }
        for e in &self.entries {
            match e {
                Entry::Dir(host, inside) => {
                    if libc::mkdir(inside.as_ptr(), 0o755) < 0
                        || libc::mount(
                            host.as_ptr(),
                            inside.as_ptr(),
                            none,
                            libc::MS_BIND | libc::MS_REC,
                            none.cast(),
                        ) < 0
                    {
                        return fail();
                    }
                }
                Entry::Symlink(to, inside) => {
                    if libc::symlink(to.as_ptr(), inside.as_ptr()) < 0 {
                        return fail();
                    }
                }
            }
        }
        let fd = libc::open(
            self.info_path.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC,
            0o444,
        );
        if fd < 0 {
            return fail();
        }
        let n = libc::write(fd, self.info.as_ptr().cast(), self.info.len());
        libc::close(fd);
        if n != self.info.len() as isize {
            return fail();
        }
        if libc::chroot(self.root.as_ptr()) < 0 || libc::chdir(c"/".as_ptr()) < 0 {
            return fail();
        }
        Ok(())
    }
}
