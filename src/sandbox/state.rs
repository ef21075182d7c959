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

/// SIGKILLs everything in a sandbox's cgroups (`cgroup.kill` where the kernel has it).
pub fn kill_cgroups(cgroups: &[PathBuf]) {
    for d in cgroups {
        if d.join("cgroup.kill").exists() {
            let _ = std::fs::write(d.join("cgroup.kill"), "1");
        } else if let Ok(procs) = std::fs::read_to_string(d.join("cgroup.procs")) {
            let pids = procs.lines().filter_map(|l| l.trim().parse::<i32>().ok());
            // Never 0 or below: kill(2) would read that as a process group.
            for p in pids.filter(|&p| p > 0) {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(p),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}

/// Sends `sig` through a pidfd opened while `pid` is verifiably the recorded process, so a
/// recycled pid is never signalled.
pub fn pidfd_kill(pid: i32, start: u64, sig: i32) -> bool {
    // SAFETY: plain syscalls on a descriptor we open and close here.
    unsafe {
        let fd = libc::syscall(libc::SYS_pidfd_open, pid, 0) as i32;
        if fd < 0 {
            return false;
        }
        let ok = alive(pid, start)
            && libc::syscall(libc::SYS_pidfd_send_signal, fd, sig, 0usize, 0u32) == 0;
        libc::close(fd);
        ok
    }
}

/// Field 22 of /proc/PID/stat: the start time in clock ticks since boot.
pub fn start_time(pid: i32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    let rest = &s[s.rfind(')')? + 2..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The real uid of a process.
pub fn proc_uid(pid: i32) -> Option<u32> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// Namespace inodes of a process, for the namespaces that differ from jail's own.
pub fn namespaces_of(pid: i32) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for n in NS_NAMES {
        let theirs = std::fs::metadata(format!("/proc/{pid}/ns/{n}")).map(|m| m.ino());
        let ours = std::fs::metadata(format!("/proc/self/ns/{n}")).map(|m| m.ino());
        if let (Ok(t), Ok(o)) = (theirs, ours) {
            if t != o {
                m.insert(n.to_string(), t);
            }
        }
    }
    m
}

/// The children of a process (readable even when it is not dumpable).
pub fn children(pid: i32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .map(|s| {
            s.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// `process alive with that start time`: false for a dead, dying (zombie) or recycled pid.
pub fn alive(pid: i32, start: u64) -> bool {
    if pid <= 0 {
        return false;
    }
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let Some(rest) = s.rfind(')').map(|i| &s[i + 2..]) else {
        return false;
    };
    let mut f = rest.split_whitespace();
    let state = f.next().unwrap_or("X");
    !matches!(state, "Z" | "X" | "x")
        && f.nth(18).and_then(|v| v.parse::<u64>().ok()) == Some(start)
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

/// Removes what launchers of this user that are gone left in the state folder: records,
/// half-written records, desktop helper folders, and (through their claims) their cgroups,
/// killing what still runs in those. Cheap enough for every launch: one `readdir`, and for each
/// entry one look at `/proc/PID/stat` of the launcher its name gives; nothing of a live launcher
/// is read. Only the caller's own files are touched.
pub fn sweep(dir: &Path) {
    let _ = sweep_dir(dir, false);
}

/// `PID.START` of a file name.
fn owner_of(s: &str) -> Option<(i32, u64)> {
    let (p, t) = s.split_once('.')?;
    let pid: i32 = p.parse().ok()?;
    (pid > 0).then_some(())?;
    Some((pid, t.parse().ok()?))
}

/// What a state folder entry is, by its name.
#[derive(Debug, PartialEq)]
enum Entry {
    /// A record; the owner is None for a record named `ID.json` (older jail).
    Record(Option<(i32, u64)>),
    /// A record being written; the owner is None for `.ID.tmp` (older jail).
    Temp(Option<(i32, u64)>),
    /// A launcher's cgroup claim.
    Claim((i32, u64)),
    /// The desktop helpers' folder of launcher PID.
    Session(i32),
    Other,
}

fn classify(name: &str) -> Entry {
    if let Some(stem) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")) {
        return Entry::Temp(stem.split_once('.').and_then(|(_, o)| owner_of(o)));
    }
    if name.starts_with('.') {
        return Entry::Other;
    }
    if let Some(stem) = name.strip_suffix(".json") {
        return Entry::Record(stem.split_once('.').and_then(|(_, o)| owner_of(o)));
    }
    if let Some(o) = name.strip_suffix(".cgroups").and_then(owner_of) {
        return Entry::Claim(o);
    }
    if let Some(pid) = name
        .strip_prefix("session-")
        .and_then(|p| p.parse::<i32>().ok())
    {
        return Entry::Session(pid);
    }
    Entry::Other
}

/// A temp record of an older jail (no writer in its name) older than this was left by a
/// writer that died: writing one takes microseconds.
const LEGACY_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(60);

/// How long a claim whose cgroups could not be removed waits before the next try.
const CLAIM_RETRY: std::time::Duration = std::time::Duration::from_secs(60);

fn sweep_dir(dir: &Path, read_live: bool) -> Result<Vec<Record>, String> {
    let Some(fd) = open_dir(dir)? else {
        return Ok(vec![]);
    };
    // Everything below goes through the descriptor just checked, never through `dir` again.
    use std::os::fd::AsRawFd;
    let base = PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()));
    let Ok(rd) = std::fs::read_dir(&base) else {
        return Ok(vec![]);
    };
    // SAFETY: geteuid never fails.
    let me = unsafe { libc::geteuid() };
    let mut live = vec![];
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        let kind = classify(name);
        if kind == Entry::Other {
            continue;
        }
        // lstat: never follows a symlink; only our own files are ever removed.
        let Ok(meta) = e.metadata() else { continue };
        let ours = meta.uid() == me;
        let p = e.path();
        let gone = |(pid, start): (i32, u64)| !alive(pid, start);
        match kind {
            Entry::Record(Some(owner)) if ours && gone(owner) => {
                let _ = std::fs::remove_file(&p);
            }
            Entry::Record(Some(owner)) if !read_live || gone(owner) => {}
            Entry::Record(_) => {
                let rec: Option<Record> = read_own(&p).and_then(|t| serde_json::from_str(&t).ok());
                match rec.map(|r| (r.is_live(), r.plausible())) {
                    Some((_, Some(r))) => live.push(r),
                    // A record of a live sandbox that is not plausible stays (it may be a
                    // record being checked by the user); a dead one of ours goes.
                    Some((true, None)) => {}
                    _ if ours && meta.is_file() => {
                        let _ = std::fs::remove_file(&p);
                    }
                    _ => {}
                }
            }
            Entry::Temp(owner) => {
                let stale = match owner {
                    Some(o) => gone(o),
                    None => meta
                        .modified()
                        .ok()
                        .and_then(|m| m.elapsed().ok())
                        .is_some_and(|age| age > LEGACY_TEMP_AGE),
                };
                if stale && ours {
                    let _ = std::fs::remove_file(&p);
                }
            }
            // A claim whose cgroups could not be removed (a process that does not die) is
            // dated into the future: tried again at most once a minute, not at every launch.
            Entry::Claim(owner)
                if ours
                    && gone(owner)
                    && meta
                        .modified()
                        .is_ok_and(|m| m <= std::time::SystemTime::now()) =>
            {
                let bases: Vec<PathBuf> = read_own(&p)
                    .unwrap_or_default()
                    .lines()
                    .map(PathBuf::from)
                    .collect();
                if super::cgroup::reap_owner(&bases, owner.0, owner.1).is_ok() {
                    let _ = std::fs::remove_file(&p);
                } else if let Ok(f) = std::fs::File::options().write(true).open(&p) {
                    let _ = f.set_modified(std::time::SystemTime::now() + CLAIM_RETRY);
                }
            }
            // Only the pid is in the name: the folder goes once no such process exists.
            Entry::Session(pid)
                if ours && meta.is_dir() && !Path::new(&format!("/proc/{pid}")).exists() =>
            {
                let _ = std::fs::remove_dir_all(&p);
            }
            _ => {}
        }
    }
    drop(fd);
    Ok(live)
}

/// Notes, before any cgroup is made, that this launcher may leave cgroups in `bases`: when it
/// is killed, [`sweep`] kills and removes them. Returns the claim to [`unclaim`] once they are
/// gone.
pub fn claim_cgroups(dir: &Path, bases: &[PathBuf]) -> Option<PathBuf> {
    let (pid, start) = me()?;
    let p = dir.join(format!("{pid}.{start}.cgroups"));
    let mut text = String::new();
    for b in bases {
        text.push_str(&b.to_string_lossy());
        text.push('\n');
    }
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode_0600()
        .open(&p)
        .ok()?;
    f.write_all(text.as_bytes()).ok()?;
    Some(p)
}

/// Removes a claim of [`claim_cgroups`].
pub fn unclaim(claim: &Path) {
    let _ = std::fs::remove_file(claim);
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
