//! The recorder of `jail learn`: a ptrace tracer that runs inside the permissive sandbox as
//! the parent of COMMAND and writes down, at every syscall stop, the paths, sockets, syscalls
//! and namespaces COMMAND and its descendants used.
//!
//! Why ptrace: a parent may trace its own child unprivileged (also under Yama
//! `ptrace_scope` 1), it sees every syscall of every descendant (fork/vfork/clone are
//! followed), it needs no seccomp listener next to the one the refusal report adds, and
//! `PTRACE_GET_SYSCALL_INFO` gives the number and arguments without per-arch register code.
//! The cost is two stops per syscall, which is slow for browsers but fine for learning.
//! Path arguments are read with `process_vm_readv` at the entry stop and resolved against the
//! tracee's cwd or dirfd through `/proc/PID/cwd` and `/proc/PID/fd/N`; the result is taken
//! at the exit stop.

pub mod record;

use crate::plan::seccomp::Arch;
use record::{InetUse, Record, Use};
use std::collections::{HashMap, HashSet};
use std::ffi::CString;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

const PTRACE_GET_SYSCALL_INFO: libc::c_uint = 0x420e;
const OP_ENTRY: u8 = 1;
const OP_EXIT: u8 = 2;

static TIMED_OUT: AtomicBool = AtomicBool::new(false);

extern "C" fn on_alarm(_: libc::c_int) {
    TIMED_OUT.store(true, Ordering::SeqCst);
}

/// What the entry stop saw, finished at the exit stop.
enum Pending {
    Path(Vec<(String, Use)>),
    Inet(InetUse),
    Namespaces(u64),
    Exec(String),
    Other,
}

struct Tracer {
    arch: Arch,
    rec: Record,
    pending: HashMap<i32, (&'static str, Pending)>,
    /// Pids in the middle of a syscall (the next syscall stop is its exit).
    in_call: HashSet<i32>,
    /// Pids that stopped at least once.
    seen: HashSet<i32>,
}

/// Runs `argv` traced until it and every descendant ended (or `timeout` seconds passed, then
/// kills them), then writes the record as JSON to `out`. Returns the tracer's exit status:
/// 0 when the record was written, 125 otherwise.
pub fn trace_main(out: &Path, timeout: Option<u64>, argv: &[String]) -> i32 {
    let Some(arch) = Arch::native() else {
        eprintln!("jail: error: learn: this architecture is not supported");
        return crate::EXIT_JAIL;
    };
    let Ok(cargs) = argv
        .iter()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<Result<Vec<_>, _>>()
    else {
        eprintln!("jail: error: learn: an argument holds a NUL byte");
        return crate::EXIT_JAIL;
    };
    let mut ptrs: Vec<*const libc::c_char> = cargs.iter().map(|c| c.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    // SAFETY: the tracer is single-threaded (started by exec, no threads made); the child
    // only calls async-signal-safe functions (ptrace, raise, execvp, _exit) before exec.
    let child = unsafe { libc::fork() };
    if child < 0 {
        eprintln!(
            "jail: error: learn: fork: {}",
            std::io::Error::last_os_error()
        );
        return crate::EXIT_JAIL;
    }
    if child == 0 {
        // SAFETY: see above; ptrs point into cargs, alive until exec.
        unsafe {
            if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) != 0 {
                // Not traceable (ptrace refused): stopping now would wait forever.
                libc::_exit(125);
            }
            libc::raise(libc::SIGSTOP);
            libc::execvp(ptrs[0], ptrs.as_ptr());
            libc::_exit(127);
        }
    }
    let mut t = Tracer {
        arch,
        rec: Record::default(),
        pending: HashMap::new(),
        in_call: HashSet::new(),
        seen: HashSet::from([child]),
    };
    if let Some(secs) = timeout {
        // SAFETY: a handler that only stores to an atomic; no SA_RESTART so waitpid returns
        // EINTR when the alarm rings.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_alarm as extern "C" fn(libc::c_int) as usize;
            libc::sigaction(libc::SIGALRM, &sa, std::ptr::null_mut());
            libc::alarm(secs.min(u32::MAX as u64) as u32);
        }
    }
    t.wait_loop(child);
    t.rec.complete = true;
    match serde_json::to_vec(&t.rec)
        .map_err(std::io::Error::other)
        .and_then(|b| write_fresh(out, &b))
    {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("jail: error: learn: writing the record: {e}");
            crate::EXIT_JAIL
        }
    }
}

/// Writes the record to a fresh file beside `out`, then renames it over whatever COMMAND
/// left at `out` (never opening that, which may be a FIFO or a symlink).
fn write_fresh(out: &Path, b: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut tmp = out.as_os_str().to_owned();
    tmp.push(format!(".{}", std::process::id()));
    let tmp = std::path::PathBuf::from(tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)?;
    f.write_all(b)?;
    drop(f);
    std::fs::rename(&tmp, out)
}

impl Tracer {
    fn wait_loop(&mut self, root: i32) {
        let mut alive: HashSet<i32> = HashSet::from([root]);
        let mut started = false;
        let mut killed = false;
        loop {
            if TIMED_OUT.load(Ordering::SeqCst) && !killed {
                killed = true;
                self.rec.ending.timed_out = true;
                for p in &alive {
                    // SAFETY: plain kill of our own tracees.
                    unsafe { libc::kill(*p, libc::SIGKILL) };
                }
            }
            let mut status = 0;
            // SAFETY: waitpid writes only `status`.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::__WALL) };
            if pid < 0 {
                if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                break; // ECHILD: nothing left
            }
            if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
                alive.remove(&pid);
                self.in_call.remove(&pid);
                self.pending.remove(&pid);
                if pid == root {
                    if libc::WIFEXITED(status) {
                        self.rec.ending.status = Some(libc::WEXITSTATUS(status));
                    } else {
                        self.rec.ending.signal = Some(libc::WTERMSIG(status));
                    }
                }
                if alive.is_empty() {
                    break;
                }
                continue;
            }
            if !libc::WIFSTOPPED(status) {
                continue;
            }
            alive.insert(pid);
            let sig = libc::WSTOPSIG(status);
            let event = (status >> 16) & 0xff;
            let mut inject = 0;
            if !started && pid == root {
                started = true;
                let opts = libc::PTRACE_O_TRACESYSGOOD
                    | libc::PTRACE_O_TRACEFORK
                    | libc::PTRACE_O_TRACEVFORK
                    | libc::PTRACE_O_TRACECLONE
                    | libc::PTRACE_O_TRACEEXEC
                    | libc::PTRACE_O_EXITKILL;
                // SAFETY: our stopped child.
                unsafe { libc::ptrace(libc::PTRACE_SETOPTIONS, pid, 0, opts as libc::c_ulong) };
            } else if sig == libc::SIGTRAP | 0x80 {
                self.syscall_stop(pid);
            } else if sig == libc::SIGTRAP && event != 0 {
                // fork/clone/exec events: the new child reports its own first stop; an exec's
                // exit stop follows.
            } else if sig == libc::SIGSTOP && self.is_new(pid) {
                // The first stop of a new child of fork/clone: not a signal to pass on.
            } else {
                inject = sig;
            }
            // SAFETY: resume our stopped tracee to its next syscall stop.
            unsafe { libc::ptrace(libc::PTRACE_SYSCALL, pid, 0, inject as libc::c_ulong) };
        }
    }

    /// A pid never stopped before is a new child of fork/clone; its first stop is the
    /// attach SIGSTOP.
    fn is_new(&mut self, pid: i32) -> bool {
        self.seen.insert(pid)
    }

    fn syscall_stop(&mut self, pid: i32) {
        self.seen.insert(pid);
        let mut buf = [0u64; 11];
        // SAFETY: the kernel writes at most the given size into buf.
        let n = unsafe {
            libc::ptrace(
                PTRACE_GET_SYSCALL_INFO as _,
                pid,
                std::mem::size_of_val(&buf) as libc::c_ulong,
                buf.as_mut_ptr(),
            )
        };
        if n <= 0 {
            return;
        }
        let op = (buf[0] & 0xff) as u8;
        match op {
            OP_ENTRY => {
                let nr = buf[3];
                let args: [u64; 6] = [buf[4], buf[5], buf[6], buf[7], buf[8], buf[9]];
                self.in_call.insert(pid);
                let name = self.arch.syscall_name(nr as u32).unwrap_or("?");
                *self.rec.syscalls.entry(name.to_string()).or_default() += 1;
                let p = self.entry(pid, name, args);
                self.pending.insert(pid, (name, p));
            }
            OP_EXIT => {
                self.in_call.remove(&pid);
                let rval = buf[3] as i64;
                let is_error = (buf[4] & 0xff) != 0;
                let res = if is_error {
                    Err((-rval) as i32)
                } else {
                    Ok(())
                };
                if let Some((name, p)) = self.pending.remove(&pid) {
                    if res.is_ok() {
                        *self.rec.syscalls_ok.entry(name.to_string()).or_default() += 1;
                    }
                    self.exit(p, res);
                }
            }
            _ => {}
        }
    }

    fn entry(&mut self, pid: i32, name: &str, a: [u64; 6]) -> Pending {
        let at = |s: &Self, dirfd: u64, ptr: u64| s.resolve(pid, dirfd as i32, ptr);
        let cwd = libc::AT_FDCWD as u64;
        let one =
            |p: Option<String>, u: Use| Pending::Path(p.into_iter().map(|p| (p, u)).collect());
        match name {
            "open" => one(at(self, cwd, a[0]), open_use(a[1])),
            "openat" => one(at(self, a[0], a[1]), open_use(a[2])),
            "openat2" => {
                let flags = read_u64(pid, a[2]).unwrap_or(0);
                one(at(self, a[0], a[1]), open_use(flags))
            }
            "creat" => one(at(self, cwd, a[0]), Use::Write),
            "execve" => match at(self, cwd, a[0]) {
                Some(p) => Pending::Exec(p),
                None => Pending::Other,
            },
            "execveat" => match at(self, a[0], a[1]) {
                Some(p) => Pending::Exec(p),
                None => Pending::Other,
            },
            "stat" | "lstat" | "access" | "readlink" | "chdir" | "statfs" | "getxattr"
            | "lgetxattr" | "listxattr" | "llistxattr" => one(at(self, cwd, a[0]), Use::Lookup),
            "newfstatat" | "statx" | "faccessat" | "faccessat2" | "readlinkat" => {
                one(at(self, a[0], a[1]), Use::Lookup)
            }
            "mkdir" | "rmdir" | "unlink" | "chmod" | "chown" | "lchown" | "truncate" | "mknod"
            | "utime" | "utimes" | "setxattr" | "lsetxattr" | "removexattr" => {
                one(at(self, cwd, a[0]), Use::Write)
            }
            "mkdirat" | "unlinkat" | "fchmodat" | "fchmodat2" | "fchownat" | "mknodat"
            | "futimesat" => one(at(self, a[0], a[1]), Use::Write),
            "utimensat" if a[1] != 0 => one(at(self, a[0], a[1]), Use::Write),
            "rename" | "link" => Pending::Path(
                [at(self, cwd, a[0]), at(self, cwd, a[1])]
                    .into_iter()
                    .flatten()
                    .map(|p| (p, Use::Write))
                    .collect(),
            ),
            "renameat" | "renameat2" | "linkat" => Pending::Path(
                [at(self, a[0], a[1]), at(self, a[2], a[3])]
                    .into_iter()
                    .flatten()
                    .map(|p| (p, Use::Write))
                    .collect(),
            ),
            "symlink" => one(at(self, cwd, a[1]), Use::Write),
            "symlinkat" => one(at(self, a[1], a[2]), Use::Write),
            "getdents" | "getdents64" => one(fd_path(pid, a[0] as i32), Use::List),
            "connect" | "bind" => self.sockaddr(pid, name, a[0] as i32, a[1], a[2]),
            "sendto" if a[4] != 0 => self.sockaddr(pid, name, a[0] as i32, a[4], a[5]),
            "unshare" | "setns" => Pending::Namespaces(a[if name == "setns" { 1 } else { 0 }]),
            "clone" => Pending::Namespaces(a[0] & !0xff),
            _ => Pending::Other,
        }
    }

    fn exit(&mut self, p: Pending, res: Result<(), i32>) {
        match p {
            Pending::Path(v) => {
                for (path, u) in v {
                    self.rec.path(path, u, res);
                }
            }
            Pending::Exec(path) => {
                // A successful execve never returns to an exit stop with success in the old
                // image; the stop after PTRACE_EVENT_EXEC reports 0.
                if let Err(e) = res {
                    if self.rec.syscalls.get("execve").copied() == Some(1) {
                        self.rec.exec_error.get_or_insert(e);
                    }
                }
                self.rec.path(path, Use::Exec, res);
            }
            Pending::Inet(mut i) => {
                if res.is_err() && i.call == "connect" && res != Err(libc::EINPROGRESS) {
                    i.call = "connect-failed".into();
                }
                self.rec.inet.insert(i);
            }
            Pending::Namespaces(flags) => {
                for (bit, name) in NS {
                    if flags & bit != 0 {
                        let e = self.rec.namespaces.entry(name.to_string()).or_insert(false);
                        *e |= res.is_ok();
                    }
                }
            }
            Pending::Other => {}
        }
    }

    /// A path argument at `ptr`, made absolute against `dirfd` (or the cwd) of `pid`.
    fn resolve(&self, pid: i32, dirfd: i32, ptr: u64) -> Option<String> {
        let raw = read_cstr(pid, ptr)?;
        if raw.is_empty() {
            return None; // AT_EMPTY_PATH: the descriptor itself, already opened
        }
        let base = if raw.starts_with('/') {
            PathBuf::from("/")
        } else if dirfd == libc::AT_FDCWD {
            std::fs::read_link(format!("/proc/{pid}/cwd")).ok()?
        } else {
            PathBuf::from(fd_path(pid, dirfd)?)
        };
        Some(normalize(&base.join(&raw)))
    }

    fn sockaddr(&mut self, pid: i32, call: &str, fd: i32, ptr: u64, len: u64) -> Pending {
        let len = (len as usize).min(128);
        let Some(b) = read_mem(pid, ptr, len) else {
            return Pending::Other;
        };
        if b.len() < 2 {
            return Pending::Other;
        }
        let family = u16::from_ne_bytes([b[0], b[1]]) as i32;
        match family {
            libc::AF_UNIX => {
                let rest = &b[2..];
                if rest.first() == Some(&0) {
                    let name = String::from_utf8_lossy(&rest[1..]).into_owned();
                    self.rec.abstract_sockets.insert(name);
                    Pending::Other
                } else {
                    let end = rest.iter().position(|c| *c == 0).unwrap_or(rest.len());
                    let raw = String::from_utf8_lossy(&rest[..end]).into_owned();
                    let path = if raw.starts_with('/') {
                        normalize(Path::new(&raw))
                    } else {
                        match std::fs::read_link(format!("/proc/{pid}/cwd")) {
                            Ok(c) => normalize(&c.join(raw)),
                            Err(_) => return Pending::Other,
                        }
                    };
                    Pending::Path(vec![(path, Use::Socket)])
                }
            }
            libc::AF_INET if b.len() >= 8 => Pending::Inet(InetUse {
                call: call.into(),
                port: u16::from_be_bytes([b[2], b[3]]),
                addr: std::net::Ipv4Addr::new(b[4], b[5], b[6], b[7]).to_string(),
                stream: is_stream(pid, fd),
            }),
            libc::AF_INET6 if b.len() >= 24 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(&b[8..24]);
                Pending::Inet(InetUse {
                    call: call.into(),
                    port: u16::from_be_bytes([b[2], b[3]]),
                    addr: std::net::Ipv6Addr::from(a).to_string(),
                    stream: is_stream(pid, fd),
                })
            }
            _ => Pending::Other,
        }
    }
}

const NS: [(u64, &str); 8] = [
    (0x0002_0000, "mount"),
    (0x0200_0000, "cgroup"),
    (0x0400_0000, "uts"),
    (0x0800_0000, "ipc"),
    (0x1000_0000, "user"),
    (0x2000_0000, "pid"),
    (0x4000_0000, "net"),
    (0x0000_0080, "time"),
];

fn open_use(flags: u64) -> Use {
    let acc = flags as i32 & libc::O_ACCMODE;
    if acc != libc::O_RDONLY || flags as i32 & (libc::O_CREAT | libc::O_TRUNC) != 0 {
        Use::Write
    } else if flags as i32 & libc::O_DIRECTORY != 0 {
        Use::Lookup
    } else {
        Use::Read
    }
}

/// TCP or not: asks the kernel with getsockopt on a duplicate of the tracee's socket taken
/// through pidfd_getfd (allowed to a tracer); unknown counts as TCP.
fn is_stream(pid: i32, fd: i32) -> bool {
    // SAFETY: pidfd_open/pidfd_getfd/getsockopt/close on descriptors we own.
    unsafe {
        let pidfd = libc::syscall(libc::SYS_pidfd_open, pid, 0) as i32;
        if pidfd < 0 {
            return true;
        }
        let dup = libc::syscall(libc::SYS_pidfd_getfd, pidfd, fd, 0) as i32;
        libc::close(pidfd);
        if dup < 0 {
            return true;
        }
        let mut ty: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        let r = libc::getsockopt(
            dup,
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&mut ty as *mut libc::c_int).cast(),
            &mut len,
        );
        libc::close(dup);
        r != 0 || ty == libc::SOCK_STREAM
    }
}

fn fd_path(pid: i32, fd: i32) -> Option<String> {
    let p = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok()?;
    let s = p.to_string_lossy().into_owned();
    s.starts_with('/').then_some(s)
}

/// `a/./b/../c` → `a/c`, lexically (the recorder cannot ask the tracee's view of symlinks).
pub fn normalize(p: &Path) -> String {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => out.push(n),
            _ => {}
        }
    }
    out.to_string_lossy().into_owned()
}

fn read_u64(pid: i32, addr: u64) -> Option<u64> {
    let b = read_mem(pid, addr, 8)?;
    (b.len() == 8).then(|| u64::from_ne_bytes(b.try_into().unwrap_or([0; 8])))
}

/// Reads up to `len` bytes of the tracee's memory at `addr`, page by page (a read across an
/// unmapped page fails as a whole).
fn read_mem(pid: i32, addr: u64, len: usize) -> Option<Vec<u8>> {
    if addr == 0 {
        return None;
    }
    let mut out = Vec::with_capacity(len);
    let mut at = addr;
    while out.len() < len {
        let page_left = 4096 - (at as usize % 4096);
        let want = page_left.min(len - out.len());
        let mut buf = vec![0u8; want];
        let local = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: want,
        };
        let remote = libc::iovec {
            iov_base: at as *mut libc::c_void,
            iov_len: want,
        };
        // SAFETY: reads into our own buffer of `want` bytes.
        let n = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
        if n <= 0 {
            break;
        }
        out.extend_from_slice(&buf[..n as usize]);
        at += n as u64;
    }
    (!out.is_empty()).then_some(out)
}

fn read_cstr(pid: i32, addr: u64) -> Option<String> {
    let mut out = Vec::new();
    let mut at = addr;
    while out.len() < 4096 {
        let chunk = read_mem(pid, at, 4096 - (at as usize % 4096))?;
        if let Some(end) = chunk.iter().position(|c| *c == 0) {
            out.extend_from_slice(&chunk[..end]);
            return Some(String::from_utf8_lossy(&out).into_owned());
        }
        at += chunk.len() as u64;
        out.extend_from_slice(&chunk);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_is_lexical() {
        assert_eq!(normalize(Path::new("/a/./b/../c")), "/a/c");
        assert_eq!(normalize(Path::new("/../x")), "/x");
    }

    #[test]
    fn open_flags() {
        assert_eq!(open_use(libc::O_RDONLY as u64), Use::Read);
        assert_eq!(
            open_use((libc::O_WRONLY | libc::O_CREAT) as u64),
            Use::Write
        );
        assert_eq!(
            open_use((libc::O_RDONLY | libc::O_DIRECTORY) as u64),
            Use::Lookup
        );
    }
}
