//! Cleaning up after launchers that were killed: their records, half-written temp records and
//! cgroup claims go once their owner (pid + start time) is provably gone.

use super::*;

/// Removes what launchers of this user that are gone left in the state folder: records,
/// half-written records, desktop helper folders, and (through their claims) their cgroups,
/// killing what still runs in those. Cheap enough for every launch: one `readdir`, and for each
/// entry one look at `/proc/PID/stat` of the launcher its name gives; nothing of a live launcher
/// is read. Only the caller's own files are touched.
pub fn sweep(dir: &Path) {
    let _ = sweep_dir(dir, false);
}

/// `PID.START` of a file name.
pub(super) fn owner_of(s: &str) -> Option<(i32, u64)> {
    let (p, t) = s.split_once('.')?;
    let pid: i32 = p.parse().ok()?;
    (pid > 0).then_some(())?;
    Some((pid, t.parse().ok()?))
}

/// What a state folder entry is, by its name.
#[derive(Debug, PartialEq)]
pub(super) enum Entry {
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

pub(super) fn classify(name: &str) -> Entry {
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
pub(super) const LEGACY_TEMP_AGE: std::time::Duration = std::time::Duration::from_secs(60);

/// How long a claim whose cgroups could not be removed waits before the next try.
pub(super) const CLAIM_RETRY: std::time::Duration = std::time::Duration::from_secs(60);

pub(super) fn sweep_dir(dir: &Path, read_live: bool) -> Result<Vec<Record>, String> {
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
                if crate::sandbox::cgroup::reap_owner(&bases, owner.0, owner.1).is_ok() {
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
