//! The profile language and its compiler, seen from the command line (issue 2): merging,
//! includes, the search path, variables, sizes, optional paths, error messages, the bad-input
//! corpus of tests/bad-profiles/ and golden `explain` plans of every shipped profile
//! (tests/golden/, regenerate with `JAIL_BLESS=1 cargo test --test profiles golden`).
#[path = "../common/mod.rs"]
mod common;

mod completion;
mod corpus;
mod errors;
mod hostile;
mod includes;
mod merging;
mod plans;
mod search_path;
mod variables;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

const CRATE: &str = env!("CARGO_MANIFEST_DIR");

// ---------------------------------------------------------------------------------------------

/// `jail explain --format json --profile NAME -- /bin/true` as `u`, parsed.
fn plan(j: Jail) -> Value {
    let r = j.output();
    r.ok();
    serde_json::from_str(&r.stdout()).unwrap_or_else(|e| panic!("bad JSON ({e}):\n{}", r.stdout()))
}

fn explain_json(u: &User, name: &str, profiles: &[(&str, &str)]) -> Value {
    let mut j = Jail::new(u);
    for (n, t) in profiles {
        j = j.profile(n, t);
    }
    plan(j.args([
        "explain",
        "--format",
        "json",
        "--profile",
        name,
        "--",
        "/bin/true",
    ]))
}

/// Targets of the mount steps with operation `op`.
fn targets(p: &Value, op: &str) -> Vec<String> {
    p["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["op"] == op)
        .map(|m| m["target"].as_str().unwrap().to_string())
        .collect()
}

/// Asserts the error form of SPEC §1: no panic, `jail: error: …` first, and (when `at` is given)
/// `  --> PATH:LINE:COL`, the offending line and a caret under the column. Returns stderr.
#[track_caller]
fn assert_error(r: &Run, code: i32, at: Option<(&str, usize, usize)>) -> String {
    r.expect_code(code);
    let err = r.stderr();
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "[{}] panic:\n{err}",
        r.user
    );
    assert!(
        err.starts_with("jail: error: "),
        "[{}] first line is not `jail: error: `:\n{err}",
        r.user
    );
    assert_eq!(
        err.lines().next().unwrap().trim(),
        err.lines().next().unwrap(),
        "{err}"
    );
    if let Some((file, line, col)) = at {
        let lines: Vec<&str> = err.lines().collect();
        let want = format!("  --> {file}:{line}:{col}");
        let i = lines
            .iter()
            .position(|l| *l == want)
            .unwrap_or_else(|| panic!("[{}] no `{want}` in:\n{err}", r.user));
        let src = &lines[i + 2];
        assert!(src.starts_with(&format!("{line} | ")), "{err}");
        let caret = lines[i + 3];
        let bar = caret.find('|').unwrap();
        assert_eq!(
            caret[bar + 2..].find('^'),
            Some(col - 1),
            "caret not under column {col}:\n{err}"
        );
    }
    err
}
