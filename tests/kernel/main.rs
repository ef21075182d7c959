//! Real-kernel tests of jail's kernel-facing building blocks: seccomp filters, Landlock rulesets
//! and cgroups. Every case forks, installs something irreversible in the child or moves
//! processes between cgroups, so none of them may run in a thread of libtest's harness (a fork
//! of a threaded process can inherit a lock another thread held). This binary is its own
//! harness (`harness = false` in Cargo.toml): `main` re-executes itself once per case with
//! `JAIL_KERNEL_CASE=NAME` set, so each case runs alone in a fresh, single-threaded process.
//!
//! Command line, like libtest's: `cargo test --test kernel [FILTER…] [--exact] [--skip F]
//! [--ignored | --include-ignored] [--list] [--nocapture]`; unknown flags (`--test-threads=2`,
//! `-q` …) are accepted and ignored. A case that needs root or a facility this machine lacks
//! says SKIPPED and why, and counts as skipped; under `JAIL_TEST_STRICT=1` it fails instead.
#[path = "../common/mod.rs"]
mod common;

mod cgroup;
mod landlock;
mod seccomp;

use std::io::Write;
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// The variable that tells a re-executed copy of this binary which case to run.
const CASE_ENV: &str = "JAIL_KERNEL_CASE";
/// Exit status of a case process that skipped.
const SKIP_EXIT: i32 = 77;

/// One test case: a plain function that panics on failure.
pub struct Case {
    pub name: &'static str,
    pub run: fn(),
    /// Not run unless asked for (`--ignored`): helpers other cases start in a process of their
    /// own.
    pub ignored: bool,
}

/// `case!(f)` or `case!(f, ignored)`: the case named after the function `f`.
macro_rules! case {
    ($f:ident) => {
        $crate::Case {
            name: stringify!($f),
            run: $f,
            ignored: false,
        }
    };
    ($f:ident, ignored) => {
        $crate::Case {
            name: stringify!($f),
            run: $f,
            ignored: true,
        }
    };
}
pub(crate) use case;

/// Every case as `MODULE::FUNCTION`, in the order they run.
fn all_cases() -> Vec<(String, Case)> {
    let mut v = vec![];
    for (module, cases) in [
        ("seccomp", seccomp::cases()),
        ("landlock", landlock::cases()),
        ("cgroup", cgroup::cases()),
    ] {
        for c in cases {
            v.push((format!("{module}::{}", c.name), c));
        }
    }
    v
}

static SKIPPED: AtomicBool = AtomicBool::new(false);

/// Marks the running case as skipped because of `why` (it should return right after) and
/// returns false, for `if !(have() || skip("…")) { return; }`. Under JAIL_TEST_STRICT=1 a skip is
/// a failure: it panics.
pub fn skip(why: &str) -> bool {
    if common::strict() {
        panic!("{why} (a skip is a failure under JAIL_TEST_STRICT=1)");
    }
    eprintln!("SKIPPED: {why}");
    SKIPPED.store(true, Ordering::SeqCst);
    false
}

/// Like [`skip`], for a case that cannot go on at all: ends its process at once.
pub fn skip_now(why: &str) -> ! {
    skip(why);
    std::process::exit(SKIP_EXIT);
}

pub fn is_root() -> bool {
    common::euid() == 0
}

/// True as root; otherwise the case is skipped ("needs root").
pub fn root() -> bool {
    is_root() || skip("needs root")
}

/// Test support: a fresh folder `$TMPDIR/PREFIX-PID-N`, removed with everything in it when the
/// guard drops — at the end of the case, also when it panics — so cases leave nothing in /tmp.
pub struct ScratchDir(std::path::PathBuf);

impl ScratchDir {
    pub fn new(prefix: &str) -> ScratchDir {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("{prefix}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        ScratchDir(dir)
    }
}

impl std::ops::Deref for ScratchDir {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl AsRef<std::path::Path> for ScratchDir {
    fn as_ref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What the command line selected.
#[derive(Default)]
struct Args {
    filters: Vec<String>,
    skips: Vec<String>,
    exact: bool,
    list: bool,
    ignored: bool,
    include_ignored: bool,
    nocapture: bool,
}

impl Args {
    fn parse() -> Args {
        let mut a = Args::default();
        let mut it = std::env::args().skip(1);
        while let Some(arg) = it.next() {
            match arg.as_str() {
                "--exact" => a.exact = true,
                "--list" => a.list = true,
                "--ignored" => a.ignored = true,
                "--include-ignored" => a.include_ignored = true,
                "--nocapture" | "--no-capture" => a.nocapture = true,
                "--skip" => a.skips.extend(it.next()),
                // libtest flags that take a value in the next argument: accepted, ignored.
                "--test-threads" | "--format" | "--color" | "--logfile" | "-Z"
                | "--shuffle-seed" | "--report-time" => {
                    if !arg.contains('=') && arg != "--report-time" {
                        it.next();
                    }
                }
                s if s.starts_with('-') => {} // --test-threads=2, -q, --show-output …
                _ => a.filters.push(arg),
            }
        }
        a
    }

    fn selects(&self, name: &str) -> bool {
        let hit = |f: &String| {
            if self.exact {
                name == f
            } else {
                name.contains(f.as_str())
            }
        };
        (self.filters.is_empty() || self.filters.iter().any(hit)) && !self.skips.iter().any(hit)
    }
}

/// Runs `case` in this process (we are the re-executed copy): exit 0 passed, [`SKIP_EXIT`]
/// skipped, and a panic exits 101 after printing its message.
fn run_here(name: &str) -> ExitCode {
    let Some((_, case)) = all_cases().into_iter().find(|(n, _)| n == name) else {
        eprintln!("no kernel test case named {name}");
        return ExitCode::from(2);
    };
    (case.run)();
    if SKIPPED.load(Ordering::SeqCst) {
        ExitCode::from(SKIP_EXIT as u8)
    } else {
        ExitCode::SUCCESS
    }
}

enum Verdict {
    Passed,
    Failed(String),
    Skipped(String),
}

/// Runs case `name` in a fresh copy of this binary.
fn run_child(name: &str, nocapture: bool) -> Verdict {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut cmd = Command::new(exe);
    cmd.env(CASE_ENV, name).stdin(Stdio::null());
    if nocapture {
        cmd.stdout(Stdio::inherit()).stderr(Stdio::inherit());
    }
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) => return Verdict::Failed(format!("cannot start the case's process: {e}")),
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    match out.status.code() {
        Some(0) => Verdict::Passed,
        Some(SKIP_EXIT) => Verdict::Skipped(
            text.lines()
                .filter_map(|l| l.strip_prefix("SKIPPED: "))
                .next_back()
                .unwrap_or("no reason given")
                .to_string(),
        ),
        _ => Verdict::Failed(format!("{text}(the case's process ended: {})", out.status)),
    }
}

fn main() -> ExitCode {
    if let Ok(name) = std::env::var(CASE_ENV) {
        // A case that runs this binary again (a helper case) must get the harness, not itself.
        std::env::remove_var(CASE_ENV);
        return run_here(&name);
    }
    let args = Args::parse();
    let cases = all_cases();
    let total = cases.len();
    let chosen: Vec<(String, Case)> = cases
        .into_iter()
        .filter(|(n, c)| args.selects(n) && (!args.ignored || c.ignored))
        .collect();
    let filtered_out = total - chosen.len();
    if args.list {
        for (n, _) in &chosen {
            println!("{n}: test");
        }
        println!("\n{} tests, 0 benchmarks", chosen.len());
        return ExitCode::SUCCESS;
    }
    println!("\nrunning {} tests", chosen.len());
    let start = Instant::now();
    let (mut passed, mut skipped, mut ignored) = (0, 0, 0);
    let mut failures: Vec<(String, String)> = vec![];
    for (name, case) in &chosen {
        if case.ignored && !(args.ignored || args.include_ignored) {
            println!("test {name} ... ignored");
            ignored += 1;
            continue;
        }
        print!("test {name} ... ");
        let _ = std::io::stdout().flush();
        match run_child(name, args.nocapture) {
            Verdict::Passed => {
                println!("ok");
                passed += 1;
            }
            Verdict::Skipped(why) => {
                println!("skipped ({why})");
                skipped += 1;
            }
            Verdict::Failed(text) => {
                println!("FAILED");
                failures.push((name.clone(), text));
            }
        }
    }
    if !failures.is_empty() {
        println!("\nfailures:\n");
        for (name, text) in &failures {
            println!("---- {name} ----\n{text}\n");
        }
        println!("failures:");
        for (name, _) in &failures {
            println!("    {name}");
        }
    }
    println!(
        "\ntest result: {}. {passed} passed; {} failed; {skipped} skipped; {ignored} ignored; \
         0 measured; {filtered_out} filtered out; finished in {:.2}s\n",
        if failures.is_empty() { "ok" } else { "FAILED" },
        failures.len(),
        start.elapsed().as_secs_f64()
    );
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
