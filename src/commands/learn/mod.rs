//! `jail learn`: run COMMAND once in a permissive sandbox under the recorder
//! ([`crate::sandbox::trace`]), then write the smallest profile that covers what it used
//! ([`writer`]).
//!
//! The permissive sandbox (`sandbox.rs`) shows the host read-only, keeps secrets hidden and
//! throws file writes away (host services COMMAND asks to act for it are not stopped: learn
//! trusted programs only). The tracer runs inside it as COMMAND's parent (`jail __learn-trace`)
//! and leaves its record in the one sub-folder of this run's private folder bound into the
//! sandbox; jail's own files sit beside it, out of reach, and the writer reads the record
//! outside, only after the recorder ended cleanly.

mod dbus;
mod sandbox;
mod writer;

use super::{print_error, warn, Verbosity};
use crate::cli::LearnArgs;
use crate::host::Host;
use crate::profile::{self, Overrides, SearchPath};
use crate::sandbox::trace::record::Record;
use std::path::{Path, PathBuf};

fn fail(msg: impl AsRef<str>) -> i32 {
    eprintln!(
        "jail: error: {}",
        crate::util::printable(msg.as_ref(), false)
    );
    crate::EXIT_JAIL
}

pub fn run(a: LearnArgs, v: Verbosity) -> i32 {
    let out = PathBuf::from(&a.out);
    if out.symlink_metadata().is_ok() && !a.force {
        return fail(format!(
            "learn: {} exists; choose another --out or add --force to replace it",
            out.display()
        ));
    }
    if out.is_dir() {
        return fail(format!("learn: --out {} is a folder", out.display()));
    }
    if a.timeout == Some(0) {
        return fail("learn: --timeout must be at least 1 second");
    }
    let host = Host::probe();
    let Some(program) = find_program(&a.command[0], &host) else {
        return fail(format!("learn: {}: command not found", a.command[0]));
    };
    let search = SearchPath::from_env(&host.config_home);
    // The base the learned profile starts from must load now, not after the run.
    if let Some(b) = &a.profile {
        if let Err((e, sources)) = profile::load(&search, b, &Overrides::default()) {
            print_error(&e, &sources);
            return crate::EXIT_JAIL;
        }
    }
    let work = match sandbox::WorkDir::new() {
        Ok(w) => w,
        Err(e) => return fail(format!("learn: cannot make a private folder in /tmp: {e}")),
    };
    let buses = dbus::probe(&host);
    let Some(plan) = sandbox::plan(&work, &host, &a, &search, &buses) else {
        return crate::EXIT_JAIL;
    };
    if v != Verbosity::Quiet {
        eprintln!(
            "jail: learning {} (every syscall is traced; file writes are thrown away)",
            crate::util::printable(&a.command.join(" "), false)
        );
    }
    let opts = crate::sandbox::RunOptions {
        verbosity: v,
        name: Some(format!("learn-{}", std::process::id())),
        json_status_fd: None,
        state_dir: Some(host.state_dir()),
    };
    let code = crate::sandbox::run(&plan, &opts);
    // The recorder ends with 0 only after it wrote the whole record; COMMAND runs in the same
    // sandbox and can kill it (leaving a record it forged) or fail its write.
    if code != 0 {
        return fail(format!(
            "learn: the recorder was killed or failed (the sandbox ended with status {code}); nothing written"
        ));
    }
    let rec: Record = match read_record(&work.record()) {
        Ok(r) => r,
        Err(e) => {
            return fail(format!(
                "learn: the recorder left no usable record ({e}); nothing written"
            ))
        }
    };
    if !rec.complete {
        return fail(
            "learn: the record has no end marker (the recorder was killed); nothing written",
        );
    }
    if rec.ending.status == Some(127)
        && !rec
            .paths
            .values()
            .any(|u| u.ok.contains_key(&crate::sandbox::trace::record::Use::Exec))
    {
        return fail(format!(
            "learn: {}: could not be started inside; nothing written",
            a.command[0]
        ));
    }
    // What the proxy logged (none when the run had no filtered bus), as far as its cap.
    let dbus_seen = plan
        .helpers
        .as_ref()
        .and_then(|h| h.proxy.as_ref())
        .map(|_| {
            use std::io::Read;
            let mut text = String::new();
            if let Ok(f) = std::fs::File::open(work.dbus_log()) {
                let mut bytes = vec![];
                let _ = f.take(dbus::LOG_LIMIT).read_to_end(&mut bytes);
                text = String::from_utf8_lossy(&bytes).into_owned();
            }
            dbus::parse_log(&text, &buses)
        });
    let e = &rec.ending;
    let note = if e.timed_out {
        Some(format!(
            "stopped after --timeout {}s: only what it did until then is granted",
            a.timeout.unwrap_or(0)
        ))
    } else if let Some(s) = e.signal {
        Some(format!(
            "killed by signal {s}: only what it did until then is granted"
        ))
    } else {
        e.status
            .filter(|s| *s != 0)
            .map(|s| format!("exited with status {s}: check that the run did its task"))
    };
    if let Some(n) = &note {
        warn(v, &format!("learn: {} {n}", a.command[0]));
    }
    // What the include chain already shows, as a plan.
    let base = a.profile.clone().unwrap_or_else(|| "base".into());
    let include = format!("include = [{}]\n", toml::Value::String(base.clone()));
    let Some(coverage) = compile_text(&work, "coverage.toml", &include, &a.command, &host, &search)
    else {
        return crate::EXIT_JAIL;
    };
    let ctx = writer::Context {
        host: &host,
        coverage: &coverage,
        base: a.profile.clone(),
        command: a.command.clone(),
        note,
        dbus: dbus_seen,
    };
    let text = match writer::write(&rec, &ctx) {
        Ok(t) => t,
        Err(e) => return fail(format!("learn: {e}; nothing written")),
    };
    // The written profile must load and compile as `jail check` would have it.
    if compile_text(&work, "learned.toml", &text, &a.command, &host, &search).is_none() {
        return fail(
            "learn: the learned profile does not compile (a bug in jail learn); nothing written",
        );
    }
    let _ = program;
    match write_atomic(&out, &text) {
        Ok(()) => {
            if v != Verbosity::Quiet {
                eprintln!(
                    "jail: wrote {}; run it with: jail run --profile {} -- {}",
                    out.display(),
                    out.display(),
                    crate::util::printable(&a.command.join(" "), false)
                );
            }
            0
        }
        Err(e) => fail(format!("learn: writing {}: {e}", out.display())),
    }
}

/// Loads and compiles a profile `text` (saved as `name` in the work folder) for COMMAND;
/// prints the error and returns None when it fails.
fn compile_text(
    work: &sandbox::WorkDir,
    name: &str,
    text: &str,
    command: &[String],
    host: &Host,
    search: &SearchPath,
) -> Option<crate::plan::Plan> {
    let file = match work.write(name, text) {
        Ok(f) => f,
        Err(e) => {
            fail(format!("learn: {e}"));
            return None;
        }
    };
    let loaded = match profile::load(search, &file.to_string_lossy(), &Overrides::default()) {
        Ok(l) => l,
        Err((e, sources)) => {
            print_error(&e, &sources);
            return None;
        }
    };
    match crate::plan::compile(&loaded, command, host) {
        Ok(p) => Some(p),
        Err(e) => {
            print_error(&e, &loaded.sources);
            None
        }
    }
}

/// The largest record read back (a record that big is a forged or runaway one).
const RECORD_MAX: u64 = 256 << 20;

/// Reads the record without following a symlink or blocking on a FIFO COMMAND left in its
/// place: a regular file of at most [`RECORD_MAX`] bytes.
fn read_record(p: &Path) -> Result<Record, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(p)
        .map_err(|e| e.to_string())?;
    let m = f.metadata().map_err(|e| e.to_string())?;
    if !m.is_file() {
        return Err("not a regular file".into());
    }
    if m.len() > RECORD_MAX {
        return Err(format!("larger than {} MiB", RECORD_MAX >> 20));
    }
    let mut b = vec![];
    f.take(RECORD_MAX + 1)
        .read_to_end(&mut b)
        .map_err(|e| e.to_string())?;
    if b.len() as u64 > RECORD_MAX {
        return Err(format!("larger than {} MiB", RECORD_MAX >> 20));
    }
    serde_json::from_slice(&b).map_err(|e| format!("not a record: {e}"))
}

/// COMMAND as execvp would find it on the host (the permissive sandbox shows the same files).
fn find_program(c: &str, host: &Host) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let exec = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if c.contains('/') {
        let p = host.cwd.join(c);
        return exec(&p).then_some(p);
    }
    let path = host
        .env
        .get("PATH")
        .cloned()
        .unwrap_or_else(|| "/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(c))
        .find(|p| p.is_absolute() && exec(p))
}

/// Writes `text` to a temporary file beside `out`, then renames it over `out`: a reader sees
/// the old file or the whole new one, never a half-written profile.
fn write_atomic(out: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.jail-learn-{}", std::process::id()));
    let r = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, out)
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}
