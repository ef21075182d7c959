//! The filesystem plan as data: the mount steps in build order, their access, the bounds of
//! the tmpfs mounts, and what a fresh procfs may write.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    /// Read-only, nosuid, nodev.
    Ro,
    /// Read-write, nosuid, nodev.
    Rw,
    /// Device access (nosuid): the mount is read-only, its nodes open for reading and writing
    /// but their modes, owners and times cannot change.
    Dev,
}

/// Default size of the private `/tmp`: room for unpacking archives and compiler temporaries, far
/// below the kernel's default of half the RAM.
pub const DEFAULT_TMP_SIZE: u64 = 1 << 30;
/// Default size of `/dev/shm`: browsers and Electron apps share rendering buffers there (64MiB,
/// Docker's default, is known to crash Chromium).
pub const DEFAULT_SHM_SIZE: u64 = 512 << 20;
/// Default size of each `tmpfs = [...]` entry and of a `[[filesystem.mount]]` tmpfs without size.
pub const DEFAULT_TMPFS_SIZE: u64 = 1 << 30;
/// Default size of the scratch tmpfs holding throwaway writable layers (image root, overlays).
pub const DEFAULT_SCRATCH_SIZE: u64 = 1 << 30;

/// The inode bound of a tmpfs of `size` bytes: one per 4KiB page (no more files than one page
/// each could fill), at least 1024. Without it the kernel allows half the RAM's page count, and
/// empty files, which the size does not count, could pin memory anyway.
pub fn inodes_for(size: u64) -> u64 {
    (size / 4096).max(1024)
}

/// Size and inode bound of a memory-backed filesystem of the sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Bound {
    pub size: u64,
    pub inodes: u64,
}

impl Bound {
    pub fn of(size: u64) -> Bound {
        Bound {
            size,
            inodes: inodes_for(size),
        }
    }
}

/// A size key of `[filesystem]`, or its default. 0 is refused: to tmpfs it means unlimited.
pub(super) fn size_key(
    v: &Option<L<crate::profile::Size>>,
    key: &str,
    default: u64,
) -> Result<u64, Error> {
    match v {
        None => Ok(default),
        Some(s) if s.v.0 == 0 => Err(Located::at(
            format!("{key} = 0 would make it unlimited: give a size such as \"256MiB\""),
            &s.at,
        )),
        Some(s) => Ok(s.v.0),
    }
}

/// Device nodes of `devices = "minimal"`, bound from the host's `/dev`.
pub const MINIMAL_DEVICES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

/// What a sandbox may write in its `/proc`.
///
/// Files under `/proc/sys` and the other host-wide entries check the caller's uid, not its
/// capabilities: a sandbox started by root runs as the host's uid 0 and could otherwise set
/// `kernel.core_pattern` and have the host kernel run a program as real root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProcWrites {
    /// The whole procfs is mounted read-only (the default).
    None,
    /// Only the processes' own folders (`/proc/PID/…`: `uid_map`, `setgroups`, `oom_score_adj`)
    /// are writable, for profiles whose COMMAND creates user namespaces (`nested = ["user"]`);
    /// every other entry is bound read-only over itself.
    OwnProcesses,
}

/// Entries of `/proc` masked in every sandbox (where the kernel has them): kernel memory and
/// page maps, the kernel log, every key and key user of the host, and timer and scheduler
/// dumps that name host processes.
pub const PROC_MASKED: [&str; 15] = [
    "kcore",
    "slabinfo",
    "vmallocinfo",
    "pagetypeinfo",
    "kmsg",
    "kallsyms",
    "keys",
    "key-users",
    "kpagecount",
    "kpageflags",
    "kpagecgroup",
    "timer_list",
    "timer_stats",
    "sched_debug",
    "latency_stats",
];

/// One step of building the sandbox's filesystem. Paths are absolute, as seen inside.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum MountStep {
    /// An empty tmpfs becomes `/`; read-only once everything is in place.
    RootTmpfs,
    /// A directory of the host becomes `/`, read-only; changes go to a throwaway layer.
    RootImage {
        source: PathBuf,
    },
    /// A fresh procfs of the sandbox's pid namespace. Host-wide kernel state in it (`sys`,
    /// `sysrq-trigger`, `irq`, `bus`, …: everything that is not a process's own folder) is never
    /// writable, and [`PROC_MASKED`] entries are masked.
    Proc {
        target: PathBuf,
        writes: ProcWrites,
    },
    /// A tmpfs `/dev` holding the listed host device nodes, a new devpts instance, `/dev/shm`,
    /// and the usual symlinks (`fd`, `stdin`, `stdout`, `stderr`, `ptmx`).
    Dev {
        target: PathBuf,
        nodes: Vec<String>,
        /// Bound of `/dev/shm` (None: the kernel default, half the RAM).
        shm: Option<Bound>,
    },
    Tmpfs {
        target: PathBuf,
        /// Bytes (None: the kernel default, half the RAM).
        size: Option<u64>,
        /// Inodes (None: the kernel default).
        inodes: Option<u64>,
        mode: u32,
    },
    Bind {
        source: PathBuf,
        target: PathBuf,
        access: Access,
        why: String,
    },
    /// Masks `target`: an empty read-only folder or file nobody can read.
    Hide {
        target: PathBuf,
        dir: bool,
    },
    /// A fresh random machine id (32 hex digits and a newline, made when the sandbox is built)
    /// bound read-only over `target` (`[process] machine_id = "random"`).
    MachineId {
        target: PathBuf,
    },
    /// Nothing under `target` (what the steps before showed there, every mount below
    /// included) may be executed: a recursive clone of it with `MOUNT_ATTR_NOEXEC` is put over
    /// it (`[filesystem] noexec`).
    Noexec {
        target: PathBuf,
        dir: bool,
    },
    /// Masks every file and folder under `target` that others may not read (a sandbox started
    /// by root would read them as the host's uid 0); found when the sandbox is built.
    MaskPrivate {
        target: PathBuf,
    },
    /// Keeps a missing policy file or folder from being created through a writable grant: an
    /// empty one is made there and an empty, readable, read-only folder or file is put over it.
    Placeholder {
        target: PathBuf,
        dir: bool,
    },
    Symlink {
        target: PathBuf,
        to: PathBuf,
    },
    Dir {
        target: PathBuf,
        mode: u32,
    },
    File {
        target: PathBuf,
        content: String,
        mode: u32,
    },
    Mqueue {
        target: PathBuf,
    },
    Overlay {
        target: PathBuf,
        lower: Vec<PathBuf>,
        upper: Option<PathBuf>,
        work: Option<PathBuf>,
    },
}

impl MountStep {
    pub fn target(&self) -> &Path {
        match self {
            MountStep::RootTmpfs | MountStep::RootImage { .. } => Path::new("/"),
            MountStep::Proc { target, .. }
            | MountStep::Dev { target, .. }
            | MountStep::Tmpfs { target, .. }
            | MountStep::Bind { target, .. }
            | MountStep::Hide { target, .. }
            | MountStep::Noexec { target, .. }
            | MountStep::MachineId { target }
            | MountStep::Placeholder { target, .. }
            | MountStep::MaskPrivate { target }
            | MountStep::Symlink { target, .. }
            | MountStep::Dir { target, .. }
            | MountStep::File { target, .. }
            | MountStep::Mqueue { target }
            | MountStep::Overlay { target, .. } => target,
        }
    }
}

/// The compiled filesystem and what other parts of the plan derive from it.
pub struct FsPlan {
    pub steps: Vec<MountStep>,
    /// Bound of the scratch tmpfs (throwaway writable layers).
    pub scratch: Bound,
    pub default_cwd: PathBuf,
    pub landlock_ro: Vec<PathBuf>,
    pub landlock_rw: Vec<PathBuf>,
    pub landlock_dev: Vec<PathBuf>,
    /// Folders that may only be listed (the empty tmpfs root).
    pub landlock_list: Vec<PathBuf>,
    /// Folders of writable grants where nothing new may be created (homes).
    pub landlock_guarded: Vec<PathBuf>,
    /// Paths whose Landlock rules (theirs and those beneath) lose the execute right.
    pub landlock_noexec: Vec<PathBuf>,
    /// What each glob of the path lists matched.
    pub globs: Vec<super::glob::GlobMatch>,
    /// Folders the supervisor creates before the build (absent `"+path"` grants, the private
    /// home).
    pub create: Vec<create::CreateDir>,
    /// Host `.git` folders writable under `repositories = "commit"` (see `Plan::git_watch`).
    pub git_watch: Vec<PathBuf>,
    pub warnings: Vec<String>,
}
