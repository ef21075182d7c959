//! The command line (SPEC §1). `cargo xtask gen` renders man pages and completions from it.

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};

/// What `jail --version` prints after the name: the version and the commit it was built from
/// (build.rs; `unknown` outside git). `-V` and the man pages show the version alone.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("JAIL_COMMIT"),
    ")"
);

#[derive(Parser, Debug)]
#[command(
    name = "jail",
    version,
    long_version = LONG_VERSION,
    about = "Run an application in a sandbox described by a short TOML profile",
    long_about = "jail compiles a profile (namespaces, files shown, limits, seccomp and Landlock rules) into a plan \
and runs COMMAND inside it. `jail explain` prints the plan without running anything.",
    after_help = "Examples:\n  jail run -- /bin/true                       run under the built-in default profile\n  jail run --profile shell -- bash            an interactive shell with the home folder hidden\n  jail run --net host --ro-bind ~/src -- make a build that sees ~/src read-only\n  jail explain --profile default -- /bin/true print what would happen\n  jail check ./myapp.toml                     validate a profile file\n\nProfiles are looked up in $XDG_CONFIG_HOME/jail/profiles, /etc/jail/profiles, /usr/share/jail/profiles \
and the built-in collection (JAIL_PROFILE_PATH replaces the first three). See jail-profile(5)."
)]
pub struct Cli {
    /// Print each setup step as it happens, and the refusal report (the system calls the
    /// sandbox refused, with the profile lines that allow them) even when COMMAND succeeds
    #[arg(short, long, global = true, action = ArgAction::SetTrue, conflicts_with = "quiet")]
    pub verbose: bool,
    /// Print only errors (no refusal report)
    #[arg(short, long, global = true, action = ArgAction::SetTrue)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run COMMAND in a sandbox
    #[command(
        after_help = "Exit status: COMMAND's own; 128+N when it died of signal N; 125 when jail failed; \
126 when COMMAND is not executable; 127 when it was not found.\n\n\
When COMMAND fails or dies of a signal (always with -v, never with -q), jail prints a note for each system call the \
profile's seccomp rules refused: how often, which rule or group, the errno the app got, and the profile lines that \
allow it. An app that never exits (Firefox without its chroot rule) prints them when jail is stopped with SIGTERM."
    )]
    Run(RunArgs),
    /// Validate profiles; with none, every profile on the search path
    Check(CheckArgs),
    /// Print the compiled plan and run nothing
    Explain(ExplainArgs),
    /// List the profiles on the search path
    List(FormatArg),
    /// Exposure score of profiles: 0.0 (locked) … 10.0 (open), per check
    Audit(AuditArgs),
    /// What this kernel and session support, and how to fix what is missing
    Doctor(FormatArg),
    /// Install, remove or list .desktop wrappers that launch apps through jail
    Desktop(DesktopArgs),
    /// List running sandboxes
    Ps(FormatArg),
    /// Stop a running sandbox: SIGTERM, then SIGKILL to what is left after the grace period
    Stop(StopArgs),
    /// Run a command inside a running sandbox, with the same restrictions
    Enter(EnterArgs),
    /// Run COMMAND once in a permissive sandbox, record what it used, and write the smallest
    /// profile that lets it do the same again
    #[command(
        long_about = "Runs COMMAND in a permissive sandbox and writes a profile that grants only what the run used. \
The permissive sandbox shows the host's / read-only, hides the home's keys and credentials (~/.ssh, ~/.gnupg, keyrings, \
cloud tokens), keeps jail's policy folders read-only, throws every file write away (the home and the current folder are \
overlays with a throwaway upper layer, /tmp is private) and shares the host's \
network. It does not stop COMMAND from asking host services reachable through unix sockets or the network to act \
for it (a session bus can start systemd-run units outside): learn only programs you trust. A ptrace recorder notes every path COMMAND and its children opened, executed, wrote or listed, the unix \
sockets and internet ports they used, the syscalls and the namespaces they asked for. With xdg-dbus-proxy installed, \
the session and system buses are reached through a logging proxy that lets COMMAND talk to every name on them: the \
profile gets a talk entry for each name it called or heard signals from and an own entry for each name it asked \
to own (refused during the learn run, granted in the profile). The profile written includes \
the shared pieces that cover what was seen (base, network, x11 …) or BASE, grants the rest explicitly, and says \
on each line why it is there. Run COMMAND again with `jail run --profile FILE -- COMMAND`.",
        after_help = "Exit status: 0 when the profile was written (also when COMMAND failed, was killed or timed out: \
the file then says so at the top and jail warns); 125 when jail refused (COMMAND not found, FILE exists without \
--force, the sandbox could not be built, COMMAND killed the recorder, a secret resolves outside the home).\n\nNot seen: files a setuid helper opens (it cannot be traced), \
operations submitted through io_uring, D-Bus names without xdg-dbus-proxy (only the bus connection is seen), \
a name that appeared on a bus during the run and was reached only by its unique name, the environment variables \
it reads, and whatever a run did not do (another code path, another option)."
    )]
    Learn(LearnArgs),
    /// Internal: the recorder that `jail learn` starts inside the sandbox
    #[command(hide = true, name = "__learn-trace")]
    LearnTrace(LearnTraceArgs),
    /// Write the sandbox a profile describes for a container engine: an OCI bundle or a Pod
    #[command(
        after_help = "What the target cannot enforce (Landlock, D-Bus filtering, desktop sockets, some mounts and \
seccomp rules) is printed as notes on stderr and, for OCI, kept in the annotation org.jail.not-enforced.\n\
Exit status: 0 when written; 125 when jail refused (nothing is written then)."
    )]
    Export(ExportArgs),
    /// Convert firejail profiles (the ones installed on this machine) into jail profiles
    #[command(
        long_about = "Converts firejail profiles into jail profiles: NAME.toml in DIR (default: the user's profile folder, \
$XDG_CONFIG_HOME/jail/profiles). A NAME is looked up in ~/.config/firejail, then /etc/firejail; a FILE is a path. \
includes, .local and globals.local files are flattened, ignore, noblacklist and nowhitelist applied, ?COND: lines decided \
from firejail's defaults (HAS_NET, HAS_X11 and BROWSER_DISABLE_U2F true, the others false). firejail starts from the host \
and takes away; jail starts from nothing and grants: a home whitelist becomes a private home with a grant per folder \
(created when missing), no home whitelist grants the home with each blacklisted path hidden, blacklists of system paths \
are hidden, net none keeps jail's own network namespace (else the host's network), protocol becomes [seccomp] families. \
Every line with no jail equivalent is kept as a comment saying what was lost. A summary ends the output: converted, \
with losses (by kind), refused (why). A firejail profile named like one of jail's own (default, firefox, git …) is written as firejail-NAME.toml, so that it never takes the place of jail's (for default: of every jail run), unless --force. Includes are read only as firejail profiles: regular files of at most 1 MiB whose first command is firejail's. firejail's profiles are GPL-2.0: jail ships no converted copies.",
        after_help = "Exit status: 0 when every profile converted; 1 when some were refused (an unreadable file, a missing \
include, not a firejail profile, NAME.toml exists without --force); 125 when jail refused (nothing to import, DIR not writable).\n\
Each file is written to a temporary name and renamed: never a half-written profile."
    )]
    Import(ImportArgs),
    /// Internal: the words the shell completions offer (profile names, running sandboxes)
    #[command(hide = true, name = "__complete")]
    Complete(CompleteArgs),
}

#[derive(Args, Debug)]
pub struct CompleteArgs {
    #[arg(value_enum)]
    pub what: CompleteWhat,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum CompleteWhat {
    /// The profile names on the search path
    Profiles,
    /// The names and ids of the caller's running sandboxes
    Sandboxes,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Where the profiles come from (only `firejail`)
    #[arg(value_name = "FROM")]
    pub from: String,
    /// firejail profile NAMEs (looked up in ~/.config/firejail, /etc/firejail) or FILEs
    #[arg(value_name = "NAME|FILE")]
    pub names: Vec<String>,
    /// Convert every .profile of /etc/firejail
    #[arg(long)]
    pub all: bool,
    /// The folder NAME.toml files are written to (default: the user's profile folder)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Replace NAME.toml when it exists (else that profile is refused), and write a profile
    /// named like one of jail's own under that name (else as firejail-NAME.toml)
    #[arg(long)]
    pub force: bool,
    /// The system's firejail folder (default /etc/firejail)
    #[arg(long, value_name = "DIR", hide = true)]
    pub firejail_dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct LearnArgs {
    /// The profile the learned one starts from (it is included, and only what it lacks is
    /// granted); default: the shared pieces base, network, x11 … that cover what was seen
    #[arg(short, long, value_name = "NAME|PATH")]
    pub profile: Option<String>,
    /// Where to write the learned profile
    #[arg(short, long, value_name = "FILE", required = true)]
    pub out: String,
    /// Stop COMMAND (and everything it started) after this many seconds and write what was
    /// recorded until then
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// Replace FILE when it exists
    #[arg(long)]
    pub force: bool,
    /// The program to learn and its arguments
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    #[command(subcommand)]
    pub target: ExportTarget,
}

#[derive(Subcommand, Debug)]
pub enum ExportTarget {
    /// Write DIR/config.json: an OCI runtime bundle that `runc run --bundle DIR` or `crun run
    /// --bundle DIR` starts, with the profile's namespaces, id maps, mounts, rlimits,
    /// capabilities, no_new_privs, seccomp filter and cgroup limits
    Oci(ExportOciArgs),
    /// Write DIR/PROFILE.yaml (a Pod) and DIR/PROFILE-seccomp.json (its Localhost seccomp
    /// profile, to copy to the kubelet's seccomp folder as jail/PROFILE-seccomp.json)
    Kubernetes(ExportKubeArgs),
}

#[derive(Args, Debug)]
pub struct ExportOciArgs {
    #[command(flatten)]
    pub opts: SandboxOpts,
    /// The bundle folder (created if missing; config.json and rootfs/ are written in it; an
    /// existing rootfs/ or files/ must be an empty real folder, not a symlink)
    #[arg(long, value_name = "DIR")]
    pub bundle: PathBuf,
    /// The program the bundle runs and its arguments
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
}

#[derive(Args, Debug)]
pub struct LearnTraceArgs {
    pub record: String,
    #[arg(long)]
    pub timeout: Option<u64>,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    pub command: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ExportKubeArgs {
    // The Pod's container image is --image NAME here (default: debian:stable-slim).
    #[command(flatten)]
    pub opts: SandboxOpts,
    /// The folder the manifest and the seccomp profile are written to (created if missing)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The program the Pod runs and its arguments
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct SandboxOpts {
    /// Profile NAME (looked up on the search path) or PATH (contains / or ends in .toml; a PATH
    /// must name a .toml file). Default: the profile named after COMMAND when COMMAND is a bare
    /// name (found on PATH) or an absolute path only root can change, else `default`
    #[arg(short, long, value_name = "NAME|PATH")]
    pub profile: Option<String>,
    /// Network: none (own loopback only) or host
    #[arg(long, value_name = "none|host")]
    pub net: Option<String>,
    /// Bind a host path read-write (at the same place, or at DST)
    #[arg(long, value_name = "SRC[:DST]")]
    pub bind: Vec<String>,
    /// Bind a host path read-only (at the same place, or at DST)
    #[arg(long, value_name = "SRC[:DST]")]
    pub ro_bind: Vec<String>,
    /// Mount a fresh empty writable folder
    #[arg(long, value_name = "DST")]
    pub tmpfs: Vec<String>,
    /// Mask a path: empty and unreadable
    #[arg(long, value_name = "PATH")]
    pub hide: Vec<String>,
    /// Set an environment variable
    #[arg(long, value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Remove an environment variable
    #[arg(long, value_name = "KEY")]
    pub unsetenv: Vec<String>,
    /// Memory limit of the whole sandbox (e.g. 512MiB, 2G)
    #[arg(long, value_name = "SIZE")]
    pub memory: Option<String>,
    /// CPU time limit, in CPUs (e.g. 0.5)
    #[arg(long, value_name = "N")]
    pub cpus: Option<f64>,
    /// Maximum number of processes and threads
    #[arg(long, value_name = "N")]
    pub pids: Option<u64>,
    /// Run even when no cgroup can enforce the limits: hold what rlimits can (RLIMIT_AS for
    /// --memory, RLIMIT_NPROC for --pids) and say so; same as [limits] enforce = "best-effort"
    #[arg(long)]
    pub best_effort: bool,
    /// Size of the private /tmp (default 1GiB)
    #[arg(long, value_name = "SIZE")]
    pub tmp_size: Option<String>,
    /// Size of /dev/shm (default 512MiB)
    #[arg(long, value_name = "SIZE")]
    pub shm_size: Option<String>,
    /// Host name inside
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// Working directory inside
    #[arg(long, value_name = "DIR")]
    pub chdir: Option<String>,
    /// Use a directory (an unpacked container image) as the root, with a throwaway writable
    /// layer: changes are kept in memory and dropped when the sandbox ends, the directory itself
    /// is never written. With no --profile the built-in `image` profile applies: nothing of the
    /// host's system is bound, COMMAND is PID 1
    #[arg(long, value_name = "DIR", conflicts_with = "image")]
    pub rootfs: Option<String>,
    /// Use a container image from local files as the root: oci:DIR[:TAG] (an OCI image layout,
    /// as skopeo copy, podman save --format oci-dir, umoci or buildah push write; TAG is the
    /// index's ref.name, default: latest or the only image), oci-archive:FILE[:TAG] (the same as
    /// one tar) or docker-archive:FILE.tar (as docker save or podman save write). Layers are checked against their digests and unpacked once
    /// into $XDG_CACHE_HOME/jail/images (~/.cache/jail/images); the root is used like --rootfs
    /// (read-only, with a throwaway writable layer). The image's Env, Entrypoint/Cmd, WorkingDir
    /// and User apply unless the profile or command line says otherwise; COMMAND is optional and
    /// replaces Cmd (Entrypoint is kept), as in docker run. Nothing is downloaded (no network
    /// fetch): get an image with your registry client first, e.g. skopeo copy
    /// docker://docker.io/library/busybox oci:DIR:latest
    #[arg(long, value_name = "REF")]
    pub image: Option<String>,
    /// Put jail's init in front of COMMAND as PID 1 (reaps orphans, forwards signals), as
    /// `docker run --init` does; same as [process] init = true
    #[arg(long)]
    pub init: bool,
}

#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub opts: SandboxOpts,
    /// Print the plan like `explain` and run nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Name of the sandbox for `jail ps`, `stop` and `enter` (default: the profile name and a short id; no control characters or `/`)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Write JSON status lines to this descriptor: one when the sandbox is up, one when it ends
    #[arg(long, value_name = "FD")]
    pub json_status_fd: Option<i32>,
    /// Output format of --dry-run
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// The program to run and its arguments (with --image: optional, replaces the image's Cmd)
    #[arg(
        required_unless_present = "image",
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub opts: SandboxOpts,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// The program that would run (optional)
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Profile names or files; none = every profile on the search path
    #[arg(value_name = "PROFILE|FILE")]
    pub profiles: Vec<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Args, Debug)]
pub struct FormatArg {
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Args, Debug)]
pub struct AuditArgs {
    /// Profile names or files
    #[arg(required = true, value_name = "PROFILE")]
    pub profiles: Vec<String>,
    /// Exit 1 when a profile scores above N
    #[arg(long, value_name = "N")]
    pub threshold: Option<f64>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum DesktopAction {
    /// Write wrappers to ~/.local/share/applications
    Install,
    /// Remove jail's wrappers
    Remove,
    /// List jail's wrappers
    List,
}

#[derive(Args, Debug)]
pub struct DesktopArgs {
    #[arg(value_enum)]
    pub action: DesktopAction,
    /// Applications (desktop file names without .desktop, e.g. firefox-esr)
    #[arg(value_name = "APP")]
    pub apps: Vec<String>,
    /// install: the profile the wrappers run (a name on the search path, or an absolute path
    /// to a .toml file); default: the profile named after each APP
    #[arg(long, short = 'p', value_name = "NAME")]
    pub profile: Option<String>,
}

#[derive(Args, Debug)]
pub struct StopArgs {
    /// Sandbox id or name (see `jail ps`)
    #[arg(value_name = "ID|NAME")]
    pub id: String,
    /// Seconds between SIGTERM and SIGKILL
    #[arg(long, value_name = "S", default_value_t = 5.0)]
    pub timeout: f64,
}

#[derive(Args, Debug)]
pub struct EnterArgs {
    /// Sandbox id or name (see `jail ps`)
    #[arg(value_name = "ID|NAME")]
    pub id: String,
    /// Command to run inside (default: the user's shell, or /bin/sh)
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
}

/// Built for xtask: the clap command tree.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// Where the profile of a run comes from when `--profile` is not given (SPEC §1): the profile
/// named after COMMAND when one exists and COMMAND is a program the system installed — a bare
/// name (found on PATH) or an absolute path to a file that only root can change — else
/// `default`. A program of the caller's own (`./curl`, `/tmp/x/curl`) never gets the permissive
/// profile of the tool it is named after. Returns the profile and whether COMMAND's name picked it.
pub fn default_profile_for(command: &[String], exists: impl Fn(&str) -> bool) -> (String, bool) {
    let Some(c) = command.first() else {
        return ("default".into(), false);
    };
    let name = if !c.contains('/') {
        Some(c.clone())
    } else if Path::new(c).is_absolute() && root_controlled(Path::new(c)) {
        Path::new(c)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
    } else {
        None
    };
    match name {
        Some(n) if !n.is_empty() && !n.starts_with('.') && exists(&n) => (n, true),
        _ => ("default".into(), false),
    }
}

/// Whether only root can change what `path` runs: the file (through any symlinks) and every
/// folder above it, both as written and as resolved, are owned by root and not writable by group
/// or others. A symlink in a folder the caller can write could be swapped after the check.
fn root_controlled(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let trusted = |p: &Path, file: bool| {
        std::fs::metadata(p).is_ok_and(|m| {
            m.uid() == 0 && m.mode() & 0o022 == 0 && if file { m.is_file() } else { m.is_dir() }
        })
    };
    let Ok(real) = std::fs::canonicalize(path) else {
        return false;
    };
    trusted(path, true)
        && [path, real.as_path()]
            .iter()
            .all(|p| p.ancestors().skip(1).all(|d| trusted(d, false)))
}
