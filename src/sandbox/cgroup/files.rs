//! Small filesystem helpers (every error names the step) and the /proc and mountinfo parsing
//! the back ends share.

use super::*;

#[doc(hidden)]
pub fn write_file(path: &Path, value: &str, remedy: Option<&str>) -> Result<(), CgroupError> {
    let step = format!("writing {:?} to {}", value, path.display());
    let mut f = fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| CgroupError::io(step.clone(), &e, remedy))?;
    f.write_all(value.as_bytes())
        .map_err(|e| CgroupError::io(step, &e, remedy))
}

#[doc(hidden)]
pub fn read_file(path: &Path) -> Result<String, CgroupError> {
    fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|e| CgroupError::io(format!("reading {}", path.display()), &e, None))
}

pub(crate) fn read_u64(path: &Path) -> Option<u64> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Value of `key N` in a flat-keyed file such as memory.events or memory.oom_control.
#[doc(hidden)]
pub fn read_keyed(path: &Path, key: &str) -> Option<u64> {
    let s = fs::read_to_string(path).ok()?;
    s.lines().find_map(|l| {
        let mut it = l.split_whitespace();
        (it.next()? == key).then(|| it.next()?.parse().ok())?
    })
}

#[doc(hidden)]
pub fn read_pids(path: &Path) -> Vec<i32> {
    fs::read_to_string(path)
        .map(|s| s.lines().filter_map(|l| l.trim().parse().ok()).collect())
        .unwrap_or_default()
}

pub(crate) fn mkdir(path: &Path, remedy: Option<&str>) -> Result<(), CgroupError> {
    fs::create_dir(path)
        .map_err(|e| CgroupError::io(format!("creating cgroup {}", path.display()), &e, remedy))
}

/// rmdir, retrying briefly while the kernel still reports EBUSY (tasks finishing their exit).
pub(crate) fn rmdir_retry(path: &Path) -> Result<(), CgroupError> {
    let start = Instant::now();
    loop {
        match fs::remove_dir(path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e)
                if e.raw_os_error() == Some(libc::EBUSY)
                    && start.elapsed() < Duration::from_secs(3) =>
            {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(e) => {
                return Err(CgroupError::io(
                    format!("removing cgroup {}", path.display()),
                    &e,
                    None,
                ))
            }
        }
    }
}

pub(crate) fn page_size() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as u64
    } else {
        4096
    }
}

/// The kernel stores memory limits in pages; accept the value rounded down to a page.
pub(crate) fn mem_matches(read: u64, wanted: u64) -> bool {
    read == wanted || read == wanted / page_size() * page_size()
}

/// True if swap is configured at all (a swap limit is moot without it).
#[doc(hidden)]
pub fn system_has_swap() -> bool {
    fs::read_to_string("/proc/swaps")
        .map(|s| s.lines().count() > 1)
        .unwrap_or(true)
}

// ---------------------------------------------------------------------------------------------
// /proc parsing

/// Field 22 (starttime, clock ticks since boot) of /proc/PID/stat.
pub fn proc_start_time(pid: i32) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // comm (field 2) may contain spaces and parentheses: split after the LAST ')'.
    let rest = &s[s.rfind(')')? + 1..];
    // rest starts at field 3 (state); field 22 is the 20th from here.
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// `jail-<pid>-<starttime>` of the calling process.
pub(crate) fn owner_prefix() -> String {
    let pid = std::process::id() as i32;
    format!("jail-{pid}-{}", proc_start_time(pid).unwrap_or(0))
}

static SEQ: AtomicU32 = AtomicU32::new(0);

/// Keep names to characters that are safe in cgroup directory names and unit names.
pub(crate) fn sanitize(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if s.is_empty() {
        "sandbox".into()
    } else {
        s
    }
}

/// `jail-<pid>-<start>-<seq>-<name>` for a new sandbox cgroup of this supervisor.
#[doc(hidden)]
pub fn sandbox_dir_name(name: &str) -> String {
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    format!("{}-{seq}-{}", owner_prefix(), sanitize(name))
}

/// The leaf the supervisor moves itself into on v2 (see module docs).
#[doc(hidden)]
pub fn supervisor_leaf_name() -> String {
    format!("{}-supervisor", owner_prefix())
}

/// Parse `jail-<pid>-<start>-<rest>`; returns (pid, start).
pub fn parse_owner(dir_name: &str) -> Option<(i32, u64)> {
    let rest = dir_name.strip_prefix("jail-")?;
    let mut it = rest.splitn(3, '-');
    let pid: i32 = it.next()?.parse().ok()?;
    let start: u64 = it.next()?.parse().ok()?;
    let tail = it.next()?;
    if pid <= 0 || tail.is_empty() {
        return None;
    }
    Some((pid, start))
}

/// True if the process `pid` that started at `start` still exists.
pub fn owner_alive(pid: i32, start: u64) -> bool {
    proc_start_time(pid) == Some(start)
}

#[derive(Debug, Clone)]
#[doc(hidden)]
pub struct Mount {
    pub root: String,
    pub point: PathBuf,
    pub fstype: String,
    pub superopts: Vec<String>,
}

fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) fn cgroup_mounts() -> Vec<Mount> {
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut v = Vec::new();
    for line in text.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let pre: Vec<&str> = pre.split(' ').collect();
        let post: Vec<&str> = post.split(' ').collect();
        if pre.len() < 5 || post.len() < 3 {
            continue;
        }
        if post[0] != "cgroup" && post[0] != "cgroup2" {
            continue;
        }
        v.push(Mount {
            root: unescape_mountinfo(pre[3]),
            point: PathBuf::from(unescape_mountinfo(pre[4])),
            fstype: post[0].to_string(),
            superopts: post[2].split(',').map(str::to_string).collect(),
        });
    }
    v
}

/// (hierarchy-id, controllers, path) lines of /proc/PID/cgroup.
#[doc(hidden)]
pub fn proc_cgroups(pid: &str) -> Vec<(String, Vec<String>, String)> {
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ':');
            let id = it.next()?.to_string();
            let ctl = it.next()?;
            let path = it.next()?.to_string();
            let ctls = if ctl.is_empty() {
                vec![]
            } else {
                ctl.split(',').map(str::to_string).collect()
            };
            Some((id, ctls, path))
        })
        .collect()
}

/// Join a mount point with a /proc/PID/cgroup path, accounting for the mount's root.
pub(crate) fn join_cgroup_path(m: &Mount, cg_path: &str) -> PathBuf {
    let rel = if m.root != "/" {
        cg_path.strip_prefix(m.root.as_str()).unwrap_or(cg_path)
    } else {
        cg_path
    };
    let rel = rel.trim_start_matches('/');
    if rel.is_empty() {
        m.point.clone()
    } else {
        m.point.join(rel)
    }
}
