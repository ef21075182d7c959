//! The host's filesystem as the compiler may look at it: one `O_PATH | O_NOFOLLOW` walk per
//! path ([`HostFs::resolve`]), never a write. Tests hand the compiler a pretend one.

use std::path::{Path, PathBuf};

/// What a host path is, without following a final symlink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
    /// A character or block device.
    Device,
    /// A socket, fifo or other special file.
    Special,
    /// A symlink, with what it points to.
    Symlink(PathBuf),
}

/// A symlink met while resolving a host path, with the owner and mode of the folder it lies in
/// (who could have planted it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Where the symlink is, with every symlink above it already resolved.
    pub at: PathBuf,
    pub parent_uid: u32,
    pub parent_mode: u32,
}

/// One lookup of a host path: what the compiler decides about a path (whether it exists, where
/// it leads, through which symlinks) comes from this single walk, never from several lookups
/// that a racing process could answer differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// What is at the path itself, not following a final symlink.
    pub first: Kind,
    /// The path with every symlink resolved; None when it leads nowhere.
    pub real: Option<PathBuf>,
    /// What `real` is.
    pub kind: Option<Kind>,
    /// Every symlink the walk went through, in order.
    pub links: Vec<Link>,
}

/// Where a host program that opens a path lands: every symlink followed, a missing tail kept as
/// written (`realpath -m`). See [`HostFs::follow`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Followed {
    /// The path with every symlink resolved; what lies below its first missing component is
    /// kept as written.
    pub real: PathBuf,
    /// Where each symlink met is (the symlinks above it resolved), in order.
    pub links: Vec<PathBuf>,
}

/// Read-only questions the compiler asks about host paths.
pub trait HostFs {
    /// `lstat`: what is at `p`, or None when nothing is.
    fn kind(&self, p: &Path) -> Option<Kind>;
    /// The path with every symlink resolved, or None when it does not resolve.
    fn canonicalize(&self, p: &Path) -> Option<PathBuf>;
    /// Owner uid and permission bits of `p` (following symlinks), when it exists.
    fn owner_mode(&self, _p: &Path) -> Option<(u32, u32)> {
        None
    }
    /// The entries of folder `p` (name and kind, symlinks not followed); None when it cannot
    /// be listed.
    fn list(&self, _p: &Path) -> Option<Vec<(std::ffi::OsString, Kind)>> {
        None
    }
    /// Follows `p` as a host program opening it would (`~/.bashrc -> dotfiles/bashrc`): every
    /// symlink resolved, even a dangling one (what it names may be created), a missing tail
    /// kept as written. Err is the walk up to where it broke (its `real` is that place): a
    /// loop (more than 40 symlinks), or a file that is not a folder in the middle. Asked only through `kind` (one `lstat` per
    /// component of a path whose symlinks are already resolved), so pretend hosts answer it.
    fn follow(&self, p: &Path) -> Result<Followed, Followed> {
        use std::collections::VecDeque;
        use std::ffi::OsString;
        use std::path::Component;
        let names = |q: &Path| -> VecDeque<OsString> {
            q.components()
                .filter_map(|c| match c {
                    Component::Normal(n) => Some(n.to_os_string()),
                    Component::ParentDir => Some(OsString::from("..")),
                    _ => None,
                })
                .collect()
        };
        let mut todo = names(p);
        let mut real = PathBuf::from("/");
        let mut links = vec![];
        let mut missing = false;
        while let Some(name) = todo.pop_front() {
            if name == ".." {
                real.pop();
                continue;
            }
            let next = real.join(&name);
            if missing {
                real = next;
                continue;
            }
            match self.kind(&next) {
                None => {
                    missing = true;
                    real = next;
                }
                Some(Kind::Symlink(to)) => {
                    if links.len() >= 40 {
                        return Err(Followed { real: next, links });
                    }
                    links.push(next);
                    let mut rest = names(&to);
                    rest.extend(todo.drain(..));
                    todo = rest;
                    if to.is_absolute() {
                        real = PathBuf::from("/");
                    }
                }
                Some(Kind::Dir) => real = next,
                Some(_) if todo.is_empty() => real = next,
                Some(_) => return Err(Followed { real: next, links }),
            }
        }
        Ok(Followed { real, links })
    }
    /// Resolves `p` in one walk; None when nothing is at `p`. The default answers from the
    /// questions above (for the compiler's tests); the real host walks descriptors.
    fn resolve(&self, p: &Path) -> Option<Resolved> {
        let first = self.kind(p)?;
        let real = self.canonicalize(p);
        let kind = real.as_deref().and_then(|r| self.kind(r));
        let mut links = vec![];
        let mut prefix = PathBuf::from("/");
        for c in p.components().skip(1) {
            prefix.push(c);
            if let Some(Kind::Symlink(_)) = self.kind(&prefix) {
                let parent = prefix.parent().unwrap_or(Path::new("/"));
                let (parent_uid, parent_mode) =
                    self.owner_mode(parent).unwrap_or((u32::MAX, 0o777));
                links.push(Link {
                    at: prefix.clone(),
                    parent_uid,
                    parent_mode,
                });
            }
        }
        Some(Resolved {
            first,
            real,
            kind,
            links,
        })
    }
}

fn kind_of_mode(mode: u32) -> Kind {
    match mode & libc::S_IFMT {
        libc::S_IFDIR => Kind::Dir,
        libc::S_IFREG => Kind::File,
        libc::S_IFCHR | libc::S_IFBLK => Kind::Device,
        _ => Kind::Special,
    }
}

pub struct RealFs;

impl HostFs for RealFs {
    fn kind(&self, p: &Path) -> Option<Kind> {
        use std::os::unix::fs::FileTypeExt;
        let m = std::fs::symlink_metadata(p).ok()?;
        let t = m.file_type();
        Some(if t.is_symlink() {
            Kind::Symlink(std::fs::read_link(p).ok()?)
        } else if t.is_dir() {
            Kind::Dir
        } else if t.is_file() {
            Kind::File
        } else if t.is_char_device() || t.is_block_device() {
            Kind::Device
        } else {
            Kind::Special
        })
    }
    fn canonicalize(&self, p: &Path) -> Option<PathBuf> {
        std::fs::canonicalize(p).ok()
    }
    fn owner_mode(&self, p: &Path) -> Option<(u32, u32)> {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(p).ok().map(|m| (m.uid(), m.mode()))
    }
    fn list(&self, p: &Path) -> Option<Vec<(std::ffi::OsString, Kind)>> {
        let rd = std::fs::read_dir(p).ok()?;
        let mut v = vec![];
        for e in rd {
            let e = e.ok()?;
            let t = e.file_type().ok()?;
            let kind = if t.is_symlink() {
                Kind::Symlink(PathBuf::new())
            } else if t.is_dir() {
                Kind::Dir
            } else {
                Kind::File
            };
            v.push((e.file_name(), kind));
        }
        Some(v)
    }
    /// Walks `p` one component at a time, each lookup relative to the folder descriptor the
    /// previous one found, never following a symlink implicitly: every symlink is read from
    /// the descriptor of what was actually there, and the folder it lies in is judged from the
    /// descriptor the walk stands in. A racing process can make the walk fail or see a
    /// symlink, never make the compiler judge one thing and bind another: the executor opens
    /// `real` with `RESOLVE_NO_SYMLINKS`, so a symlink planted later is refused there.
    fn resolve(&self, p: &Path) -> Option<Resolved> {
        use nix::fcntl::{openat, readlinkat, OFlag};
        use nix::sys::stat::{fstat, Mode};
        use std::collections::VecDeque;
        use std::ffi::OsString;
        use std::os::fd::OwnedFd;
        use std::path::Component;
        let first = self.kind(p)?;
        let open = |dir: &OwnedFd, name: &std::ffi::OsStr| -> Option<OwnedFd> {
            openat(
                dir,
                name,
                OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .ok()
        };
        let root = || {
            nix::fcntl::open(
                "/",
                OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .ok()
        };
        let names = |q: &Path| -> VecDeque<OsString> {
            q.components()
                .filter_map(|c| match c {
                    Component::Normal(n) => Some(n.to_os_string()),
                    Component::ParentDir => Some(OsString::from("..")),
                    _ => None,
                })
                .collect()
        };
        let mut todo = names(p);
        let mut cur = root()?;
        let mut real = PathBuf::from("/");
        let mut links = vec![];
        let unresolved = |links| {
            Some(Resolved {
                first: first.clone(),
                real: None,
                kind: None,
                links,
            })
        };
        while let Some(name) = todo.pop_front() {
            if name == ".." {
                real.pop();
                cur = match open(&cur, std::ffi::OsStr::new("..")) {
                    Some(fd) => fd,
                    None => return unresolved(links),
                };
                continue;
            }
            let Some(fd) = open(&cur, &name) else {
                return unresolved(links);
            };
            let Ok(st) = fstat(&fd) else {
                return unresolved(links);
            };
            if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
                if links.len() >= 40 {
                    return unresolved(links);
                }
                let Ok(to) = readlinkat(&fd, "") else {
                    return unresolved(links);
                };
                let (parent_uid, parent_mode) = fstat(&cur)
                    .map(|s| (s.st_uid, s.st_mode))
                    .unwrap_or((u32::MAX, 0o777));
                links.push(Link {
                    at: real.join(&name),
                    parent_uid,
                    parent_mode,
                });
                let to = PathBuf::from(to);
                let mut rest = names(&to);
                rest.extend(todo.drain(..));
                todo = rest;
                if to.is_absolute() {
                    real = PathBuf::from("/");
                    cur = root()?;
                }
                continue;
            }
            if !todo.is_empty() && st.st_mode & libc::S_IFMT != libc::S_IFDIR {
                return unresolved(links);
            }
            real.push(&name);
            cur = fd;
        }
        let kind = fstat(&cur).ok().map(|s| kind_of_mode(s.st_mode));
        Some(Resolved {
            first,
            real: Some(real),
            kind,
            links,
        })
    }
}
