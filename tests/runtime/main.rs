//! The sandbox runtime, seen from inside: what a user would notice (issue 3).
#[path = "../common/mod.rs"]
mod common;

mod basics;
mod filesystem;
mod identity;
mod image;
mod namespaces;
mod primitives;
mod process;
mod regressions;
mod setup;
mod signals;
mod terminal;

use common::*;

// ---------------------------------------------------------------------------------------------
// Helpers of this file.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A string no other process on the machine has in its command line.
fn marker() -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    // `sleep` takes it as its duration: NNNN.MMMMM seconds.
    format!(
        "{}{:02}.{:05}",
        4000 + std::process::id() % 5000,
        n,
        std::process::id() % 100000
    )
}

/// Pids of every process on the host whose command line contains `needle`.
fn pgrep(needle: &str) -> Vec<u32> {
    let out = Command::new("pgrep")
        .args(["-f", needle])
        .output()
        .expect("run pgrep");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// Waits (up to a generous deadline, not a timing assertion) until no process matches `needle`.
fn gone(needle: &str) -> bool {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if pgrep(needle).is_empty() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Waits until some process matches `needle`.
fn appears(needle: &str) -> bool {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if !pgrep(needle).is_empty() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Waits for `child` up to a deadline; kills it and panics when it does not end.
fn wait_deadline(child: &mut Child, what: &str) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(st) = child.try_wait().expect("wait") {
            return st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0));
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: jail did not end");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads lines from `r` until one equals `want`.
fn wait_line(r: &mut impl BufRead, want: &str) {
    let mut line = String::new();
    loop {
        line.clear();
        let n = r.read_line(&mut line).expect("read jail's output");
        assert!(n > 0, "output ended before {want:?}");
        if line.trim_end() == want {
            return;
        }
    }
}

fn mountinfo_lines() -> usize {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .count()
}

fn host_sh(script: &str) -> String {
    let out = Command::new("/bin/sh")
        .args(["-c", script])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn s(p: &Path) -> String {
    p.display().to_string()
}
