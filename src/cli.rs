//! The command line (SPEC §1). `cargo xtask gen` renders man pages and completions from it.

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use std::path::Path;

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
    /// Print each setup step as it happens
    #[arg(short, long, global = true, action = ArgAction::SetTrue, conflicts_with = "quiet")]
    pub verbose: bool,
    /// Print only errors
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
126 when COMMAND is not executable; 127 when it was not found."
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
    /// Use a directory (e.g. a container image) as the read-only root
    #[arg(long, value_name = "DIR")]
    pub rootfs: Option<String>,
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
    /// The program to run and its arguments
    #[arg(
        required = true,
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
