//! State records of running sandboxes, for `jail ps`, `stop` and `enter`.
//!
//! One JSON file per sandbox in the user's state folder (`$XDG_RUNTIME_DIR/jail`, `/run/jail`
//! for root), folder 0700 and owned by the user, each file written atomically (temp + rename)
//! and removed when the sandbox ends. A record is never trusted on its own: before acting on
//! one, jail checks that its supervisor and init are alive with the start times recorded (so a
//! recycled pid is refused), that they belong to the caller, and — for `enter` — that the
//! namespace inodes of the init match the record (a forged record is refused).
//!
//! Readers trust the folder no more than the writer does: it is opened without following a
//! symlink and judged by `fstat` of that descriptor (a 0700 folder the caller owns, else
//! refused with the remedy: `/tmp/jail-UID` may have been made by somebody else first), and
//! records are read through it as regular files of the caller's, without blocking, at most
//! 1 MiB. `ps` shows a record only when its processes are alive, the caller's, its jail process
//! runs jail's program and init is that process's child; cgroup folders it names are kept only
//! when they are jail's cgroups of the caller's, below the cgroup file system.
//!
//! What a launcher leaves in the folder is named after it (pid and start time), so that a
//! launcher that was killed can be told from a live one without reading anything:
//!
//! | file                    | what                                                         |
//! |-------------------------|--------------------------------------------------------------|
//! | `ID.PID.START.json`     | the record of a running sandbox                              |
//! | `.ID.PID.START.tmp`     | a record being written (renamed to the above at once)        |
//! | `PID.START.cgroups`     | "this launcher may have cgroups": the folders it makes them in |
//! | `session-PID/`          | the desktop helpers' files (see `dbus_proxy`)                |
//!
//! [`sweep`] (every `jail run`, `ps`, `stop`, `enter`) removes what launchers that are gone left:
//! their records, half-written records and helper folders, and kills and removes their cgroups.
//! It only ever touches files owned by the caller whose writer (that pid with that start time)
//! is dead.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

mod procs;
mod sweep;
pub use procs::*;
pub use sweep::*;

/// Namespace files of /proc/PID/ns recorded at start.
pub const NS_NAMES: [&str; 7] = ["user", "mnt", "pid", "net", "ipc", "uts", "cgroup"];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Record {
    pub id: String,
    pub name: String,
    pub profile: String,
    pub command: Vec<String>,
    pub uid: u32,
    /// jail's own process and its start time (field 22 of /proc/PID/stat).
    pub supervisor_pid: i32,
    pub supervisor_start: u64,
    /// The sandbox's first process (init, or COMMAND when init = false), as the host sees it.
    pub init_pid: i32,
    pub init_start: u64,
    /// COMMAND's process when the sandbox came up. `enter` joins through it: init is not
    /// dumpable (so COMMAND cannot reach jail's binary through it), which also closes it to
    /// setns by its owner.
    pub member_pid: i32,
    pub member_start: u64,
    /// Namespace inodes of the init, by name (only the new ones).
    pub namespaces: BTreeMap<String, u64>,
    /// The sandbox's cgroup folders, when it has any.
    pub cgroups: Vec<PathBuf>,
    /// Seconds since the epoch.
    pub started: u64,
    /// `jail run`'s arguments and working folder, so `enter` compiles the very same policy.
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    /// Fingerprint of the restrictions (seccomp, Landlock, capabilities, nested namespaces):
    /// `enter` refuses when the policy compiled again differs.
    pub policy_hash: u64,
}

/// Fingerprint of what a process inside is allowed: seccomp filters, Landlock rules,
/// capabilities and the namespaces it may create.
pub fn policy_hash(plan: &crate::plan::Plan) -> u64 {
    use std::hash::{Hash, Hasher};
    let text = serde_json::to_string(&(
        &plan.seccomp.filters,
        &plan.landlock,
        &plan.capabilities,
        &plan.namespaces.nested,
    ))
    .unwrap_or_default();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

/// Opens the state folder without following a symlink and judges that descriptor: it must be a
/// folder owned by the caller that nobody else may enter (0700). None when it does not exist.
/// Everything jail reads from the folder is then read through this descriptor.
pub fn open_dir(path: &Path) -> Result<Option<std::fs::File>, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(refusal(
                path,
                &format!("it cannot be opened as a folder ({e})"),
            ))
        }
    };
    let m = f
        .metadata()
        .map_err(|e| refusal(path, &format!("fstat: {e}")))?;
    // SAFETY: geteuid never fails.
    let me = unsafe { libc::geteuid() };
    if !m.is_dir() || m.uid() != me || m.mode() & 0o077 != 0 {
        return Err(refusal(
            path,
            &format!(
                "it is owned by uid {} with mode {:04o}",
                m.uid(),
                m.mode() & 0o7777
            ),
        ));
    }
    Ok(Some(f))
}

fn refusal(path: &Path, why: &str) -> String {
    format!(
        "{} is not a private folder of yours ({why}; it must be a 0700 folder you own): set XDG_RUNTIME_DIR to a private folder of yours (such as /run/user/UID), or have it removed",
        path.display()
    )
}

/// The state folder, created 0700 if missing; refused if it is not a real folder of ours.
pub fn dir(path: &Path) -> Result<PathBuf, String> {
    if open_dir(path)?.is_none() {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        use std::os::unix::fs::DirBuilderExt;
        match std::fs::DirBuilder::new().mode(0o700).create(path) {
            Ok(()) => {}
            // Made by somebody else meanwhile: judged below like any folder found.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(format!("cannot create {}: {e}", path.display())),
        }
        if open_dir(path)?.is_none() {
            return Err(format!("{} vanished while it was made", path.display()));
        }
    }
    Ok(path.to_path_buf())
}

/// Largest record read: a real one is a few KiB.
const MAX_RECORD: u64 = 1 << 20;

/// Reads a file of the (checked) state folder: opened without following a symlink and without
/// blocking (a FIFO cannot hang jail), accepted only as a regular file owned by the caller, and
/// read no further than [`MAX_RECORD`].
fn read_own(path: &Path) -> Option<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(path)
        .ok()?;
    let m = f.metadata().ok()?;
    // SAFETY: geteuid never fails.
    let me = unsafe { libc::geteuid() };
    if !m.is_file() || m.uid() != me || m.len() > MAX_RECORD {
        return None;
    }
    let mut s = String::new();
    f.take(MAX_RECORD).read_to_string(&mut s).ok()?;
    Some(s)
}

/// The parent pid of a process (field 4 of /proc/PID/stat).
fn ppid(pid: i32) -> Option<i32> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The program a process runs, as the kernel names it (" (deleted)" dropped: a jail upgraded
/// while its sandbox runs is still jail).
fn exe_of(pid: &str) -> Option<PathBuf> {
    let p = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
    let s = p.to_string_lossy();
    Some(PathBuf::from(s.strip_suffix(" (deleted)").unwrap_or(&s)))
}

/// A cgroup folder a record may name: a real folder (no symlink on the way) below the cgroup
/// file system, made by jail (`jail-…` in its path) and owned by the caller.
fn cgroup_ok(p: &Path) -> bool {
    let plain = p.components().all(|c| {
        matches!(
            c,
            std::path::Component::RootDir | std::path::Component::Normal(_)
        )
    });
    // SAFETY: geteuid never fails.
    let me = unsafe { libc::geteuid() };
    plain
        && p.is_absolute()
        && p.starts_with("/sys/fs/cgroup")
        && p.to_string_lossy().contains("jail-")
        && std::fs::canonicalize(p).is_ok_and(|c| c == p)
        && std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir() && m.uid() == me)
}

impl Record {
    /// `ID.PID.START.json`: the record names its supervisor, so that [`sweep`] can tell a stale
    /// record from a live one without reading it.
    pub fn file(&self, dir: &Path) -> PathBuf {
        dir.join(format!(
            "{}.{}.{}.json",
            self.id, self.supervisor_pid, self.supervisor_start
        ))
    }

    /// Writes the record atomically (temp file + rename), readable by the user only. The temp
    /// file names its writer too: one left by a writer that was killed is removed by [`sweep`].
    pub fn save(&self, dir: &Path) -> Result<(), String> {
        let tmp = dir.join(format!(
            ".{}.{}.{}.tmp",
            self.id, self.supervisor_pid, self.supervisor_start
        ));
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode_0600()
                .open(&tmp)
                .map_err(|e| format!("write {}: {e}", tmp.display()))?;
            f.write_all(text.as_bytes())
                .map_err(|e| format!("write {}: {e}", tmp.display()))?;
        }
        std::fs::rename(&tmp, self.file(dir)).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("rename into {}: {e}", dir.display())
        })
    }

    pub fn remove(&self, dir: &Path) {
        let _ = std::fs::remove_file(self.file(dir));
    }

    /// The supervisor and init are still the processes recorded.
    pub fn is_live(&self) -> bool {
        alive(self.supervisor_pid, self.supervisor_start) && alive(self.init_pid, self.init_start)
    }

    /// What `ps`, `stop` and `enter` require of a record before they even show it: it is the
    /// caller's, its jail process and init are alive as recorded and the caller's, that jail
    /// process runs jail's own program and init is its child. Cgroup folders that are not jail's
    /// and the caller's are dropped from it.
    fn plausible(mut self) -> Option<Record> {
        // SAFETY: getuid never fails.
        let me = unsafe { libc::getuid() };
        let ok = self.uid == me
            && !self.id.is_empty()
            && self.id.len() <= 64
            && self.id.chars().all(|c| c.is_ascii_alphanumeric())
            && self.is_live()
            && proc_uid(self.supervisor_pid) == Some(me)
            && proc_uid(self.init_pid) == Some(me)
            && ppid(self.init_pid) == Some(self.supervisor_pid)
            && exe_of(&self.supervisor_pid.to_string()).is_some()
            && exe_of(&self.supervisor_pid.to_string()) == exe_of("self");
        if !ok {
            return None;
        }
        self.cgroups.retain(|p| cgroup_ok(p));
        Some(self)
    }

    /// Everything `enter` and `stop` must be sure of before touching the sandbox. (The sandbox's
    /// init is not dumpable, so its namespace links cannot be read by its owner: `enter` checks
    /// the inodes on its own process once it has joined, see [`Record::check_joined`].)
    pub fn verify(&self) -> Result<(), String> {
        // SAFETY: getuid never fails.
        let me = unsafe { libc::getuid() };
        if self.uid != me {
            return Err(format!(
                "sandbox {} belongs to uid {}, not to you",
                self.id, self.uid
            ));
        }
        if !alive(self.supervisor_pid, self.supervisor_start) {
            return Err(format!(
                "sandbox {} is no longer running (its jail process {} is gone)",
                self.id, self.supervisor_pid
            ));
        }
        if !alive(self.init_pid, self.init_start) {
            return Err(format!("sandbox {}: process {} is not the sandbox recorded (it ended, or the pid was reused)", self.id, self.init_pid));
        }
        if proc_uid(self.supervisor_pid) != Some(me) || proc_uid(self.init_pid) != Some(me) {
            return Err(format!(
                "sandbox {}: its processes do not belong to you",
                self.id
            ));
        }
        Ok(())
    }
}

impl Record {
    /// After joining through a pidfd: this process's namespaces are exactly the recorded ones.
    pub fn check_joined(&self) -> Result<(), String> {
        for (n, ino) in &self.namespaces {
            let mine = std::fs::metadata(format!("/proc/self/ns/{n}"))
                .map(|m| m.ino())
                .map_err(|e| format!("read /proc/self/ns/{n}: {e}"))?;
            if mine != *ino {
                return Err(format!("sandbox {}: its {n} namespace is not the one recorded (forged or stale record)", self.id));
            }
        }
        Ok(())
    }
}

trait Mode0600 {
    fn mode_0600(&mut self) -> &mut Self;
}
impl Mode0600 for std::fs::OpenOptions {
    fn mode_0600(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.mode(0o600)
    }
}

/// Every live record in the folder, oldest first; what launchers that are gone left is removed
/// on the way ([`sweep`]).
/// Refused (with the remedy) when the folder is not a private folder of the caller's.
pub fn list(dir: &Path) -> Result<Vec<Record>, String> {
    let mut v = sweep_dir(dir, true)?;
    v.sort_by_key(|r| r.started);
    Ok(v)
}

/// This process's pid and start time, read once.
pub fn me() -> Option<(i32, u64)> {
    static ME: std::sync::OnceLock<Option<(i32, u64)>> = std::sync::OnceLock::new();
    *ME.get_or_init(|| {
        let pid = std::process::id() as i32;
        start_time(pid).map(|s| (pid, s))
    })
}

/// The record with this id or name.
pub fn find(dir: &Path, key: &str) -> Result<Record, String> {
    let all = list(dir)?;
    if let Some(r) = all.iter().find(|r| r.id == key) {
        return Ok(r.clone());
    }
    let named: Vec<&Record> = all.iter().filter(|r| r.name == key).collect();
    match named.len() {
        1 => Ok(named[0].clone()),
        0 => Err(format!("no running sandbox {key:?} (`jail ps` lists them)")),
        n => Err(format!(
            "{n} sandboxes are named {key:?}: use the id (`jail ps`)"
        )),
    }
}

/// 8 hex digits from the kernel's random source.
pub fn new_id() -> String {
    let mut b = [0u8; 4];
    // getrandom never blocks for 4 bytes after boot; on failure fall back to pid and time.
    // SAFETY: the buffer is valid for 4 bytes.
    let n = unsafe { libc::getrandom(b.as_mut_ptr().cast(), b.len(), 0) };
    if n != 4 {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        b = (t ^ std::process::id()).to_le_bytes();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_told_apart_by_name() {
        assert_eq!(
            classify("0a1b2c3d.42.999.json"),
            Entry::Record(Some((42, 999)))
        );
        assert_eq!(classify("0a1b2c3d.json"), Entry::Record(None));
        assert_eq!(
            classify(".0a1b2c3d.42.999.tmp"),
            Entry::Temp(Some((42, 999)))
        );
        assert_eq!(classify(".0a1b2c3d.tmp"), Entry::Temp(None));
        assert_eq!(classify("42.999.cgroups"), Entry::Claim((42, 999)));
        assert_eq!(classify("session-42"), Entry::Session(42));
        for other in [
            "Xauthority",
            ".hidden",
            "x.cgroups",
            "session-x",
            "0.1.cgroups",
        ] {
            assert_eq!(classify(other), Entry::Other, "{other}");
        }
    }

    #[test]
    fn own_start_time_and_namespaces() {
        let me = std::process::id() as i32;
        let st = start_time(me).expect("start time of self");
        assert!(alive(me, st));
        assert!(!alive(me, st + 1));
        assert!(
            namespaces_of(me).is_empty(),
            "a process shares all namespaces with itself"
        );
    }
}
