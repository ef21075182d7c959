//! The README's examples are tests, so the README cannot drift from what jail does. The format
//! of the examples is described in a comment at the top of README.md:
//!
//! - In a ```` ```console ```` or ```` ```sh ```` block, a line `$ jail …` is an example: it runs
//!   with `sh -c` (so `# comments`, quotes and `~` work as in a shell) with the built jail first
//!   on PATH, and the lines under it, up to the next `$ ` line or the end of the block, are what
//!   it must print (stdout and stderr together). A line `...` stands for any number of lines; a
//!   last line `[exit N]` is the exit status it must end with (0 when there is none). A
//!   `$ cargo build … && ./target/release/jail …` line runs its jail part with the jail the test
//!   built. Other `$ ` lines (`cargo test …`) are not run.
//! - A ```` ```toml ```` block whose first line is `# NAME.toml` (a plain file name) is a file
//!   the examples find in their working folder.
//! - In a ```` ```sh ```` block, a line `jail SUBCOMMAND …` without a prompt is a synopsis: it is
//!   not run (it needs a shell, a container image, files of yours…), but its subcommand must
//!   exist and every `--option` before ` -- ` must be one `jail SUBCOMMAND --help` lists.
//!
//! Every example runs once per test user (root and `JAIL_TEST_USER` when run as root), each in a
//! fresh working folder holding the README's files, with the user's fresh empty home of
//! tests/common and an empty profile path (the built-in profiles only).
//!
//! Own code rather than a crate such as trycmd: the examples must run as each test user, with a
//! hermetic HOME and folders owned by that user, which such a runner does not give.
mod common;
use common::*;
use std::collections::HashMap;
use std::process::Command;

const README: &str = include_str!("../README.md");

/// A fenced block of the README: its info string, first line number (1-based, of its first
/// content line) and lines.
struct Block {
    info: String,
    line: usize,
    lines: Vec<String>,
}

fn blocks() -> Vec<Block> {
    let mut v = vec![];
    let mut open: Option<Block> = None;
    for (i, l) in README.lines().enumerate() {
        match (&mut open, l.strip_prefix("```")) {
            (None, Some(info)) => {
                open = Some(Block {
                    info: info.trim().to_string(),
                    line: i + 2,
                    lines: vec![],
                })
            }
            (Some(_), Some(_)) => v.push(open.take().unwrap()),
            (Some(b), None) => b.lines.push(l.to_string()),
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "README.md has an unclosed ``` block");
    v
}

/// The README's files: `# NAME.toml` blocks.
fn files() -> Vec<(String, String)> {
    blocks()
        .into_iter()
        .filter(|b| b.info == "toml")
        .filter_map(|b| {
            let name = b.lines.first()?.strip_prefix("# ")?.trim().to_string();
            let plain = name.ends_with(".toml") && !name.contains('/') && !name.starts_with('~');
            plain.then(|| (name, b.lines.join("\n") + "\n"))
        })
        .collect()
}

/// One `$ jail …` example.
#[derive(Debug)]
struct Example {
    line: usize,
    command: String,
    expected: Vec<String>,
    code: i32,
}

fn examples() -> Vec<Example> {
    let mut v = vec![];
    for b in blocks()
        .into_iter()
        .filter(|b| b.info == "console" || b.info == "sh")
    {
        let mut i = 0;
        while i < b.lines.len() {
            let Some(cmd) = b.lines[i].strip_prefix("$ ") else {
                i += 1;
                continue;
            };
            let line = b.line + i;
            i += 1;
            let mut out = vec![];
            while i < b.lines.len() && !b.lines[i].starts_with("$ ") {
                out.push(b.lines[i].clone());
                i += 1;
            }
            let command = if cmd.starts_with("jail ") {
                cmd.to_string()
            } else if let Some((_, rest)) = cmd
                .strip_prefix("cargo build")
                .and_then(|c| c.split_once("&& ./target/release/jail "))
            {
                format!("jail {rest}")
            } else {
                continue; // cargo test …: not run here
            };
            let mut code = 0;
            if let Some(n) = out
                .last()
                .and_then(|l| l.strip_prefix("[exit "))
                .and_then(|l| l.strip_suffix(']'))
            {
                code = n
                    .parse()
                    .unwrap_or_else(|_| panic!("README.md:{line}: bad exit line [exit {n}]"));
                out.pop();
            }
            v.push(Example {
                line,
                command,
                expected: out,
                code,
            });
        }
    }
    v
}

/// True when `actual` is `expected`, where an expected line `...` matches any number of lines.
/// Trailing spaces and trailing empty lines do not count.
fn matches(expected: &[String], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((e, rest)) if e.trim_end() == "..." => {
            (0..=actual.len()).any(|k| matches(rest, &actual[k..]))
        }
        Some((e, rest)) => {
            !actual.is_empty()
                && actual[0].trim_end() == e.trim_end()
                && matches(rest, &actual[1..])
        }
    }
}

fn trimmed(text: &str) -> Vec<&str> {
    let mut v: Vec<&str> = text.lines().collect();
    while v.last().is_some_and(|l| l.trim().is_empty()) {
        v.pop();
    }
    v
}

/// Runs `example` as `user` in a fresh folder holding `files`.
fn run(user: &User, example: &Example, files: &[(String, String)]) -> (i32, String) {
    let cwd = tempdir(user);
    for (name, text) in files {
        write_file(user, &cwd, name, text);
    }
    let bin_dir = jail_bin().parent().unwrap().to_path_buf();
    let mut cmd = session_command("/bin/sh", user, &cwd);
    cmd.arg("-c")
        .arg(format!("exec 2>&1\n{}", example.command))
        .env(
            "PATH",
            format!(
                "{}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
                bin_dir.display()
            ),
        );
    let out = cmd.output().expect("start sh");
    use std::os::unix::process::ExitStatusExt;
    let code = out
        .status
        .code()
        .unwrap_or_else(|| 128 + out.status.signal().unwrap_or(0));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (code, text)
}

#[test]
fn readme_examples_print_what_the_readme_shows() {
    let examples = examples();
    let files = files();
    // The README's own examples: the sandbox of the first section, the error of `jail check`.
    assert!(
        examples.len() >= 2,
        "README.md lost its examples: {examples:?}"
    );
    assert!(
        files.iter().any(|(n, _)| n == "broken.toml"),
        "README.md lost broken.toml"
    );
    each_user(|u| {
        for ex in &examples {
            eprintln!("README.md:{}: $ {}", ex.line, ex.command);
            let (code, out) = run(u, ex, &files);
            assert!(
                code == ex.code && matches(&ex.expected, &trimmed(&out)),
                "[{}] README.md:{}: $ {}\n--- README shows (exit {})\n{}\n--- jail printed (exit {code})\n{out}",
                u.name,
                ex.line,
                ex.command,
                ex.code,
                ex.expected.join("\n"),
            );
        }
    });
}

/// Every `--option` of `jail SUB …` (before a lone `--`).
fn options(words: &[&str]) -> Vec<String> {
    words
        .iter()
        .take_while(|w| **w != "--")
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(|w| w.split('=').next().unwrap().to_string())
        .collect()
}

/// True when `help` lists `opt` as a whole word (not as the start of a longer option).
fn lists(help: &str, opt: &str) -> bool {
    help.match_indices(opt).any(|(i, _)| {
        let next = help[i + opt.len()..].chars().next();
        !matches!(next, Some(c) if c.is_alphanumeric() || c == '-' || c == '_')
    })
}

#[test]
fn readme_synopsis_lines_name_real_subcommands_and_options() {
    let mut help: HashMap<String, String> = HashMap::new();
    let mut checked = 0;
    for b in blocks().into_iter().filter(|b| b.info == "sh") {
        for (i, l) in b.lines.iter().enumerate() {
            if !l.starts_with("jail ") {
                continue;
            }
            let line = b.line + i;
            let code = l.split(" #").next().unwrap();
            for part in code.split(';') {
                let words: Vec<&str> = part.split_whitespace().collect();
                if words.first() != Some(&"jail") || words.len() < 2 {
                    continue;
                }
                let sub = words[1];
                let text = help.entry(sub.to_string()).or_insert_with(|| {
                    let out = Command::new(env!("CARGO_BIN_EXE_jail"))
                        .args([sub, "--help"])
                        .env("COLUMNS", "200")
                        .output()
                        .expect("run jail --help");
                    assert!(
                        out.status.success(),
                        "README.md:{line}: `jail {sub}` is not a subcommand:\n{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    String::from_utf8_lossy(&out.stdout).into_owned()
                });
                for opt in options(&words[2..]) {
                    assert!(
                        lists(text, &opt),
                        "README.md:{line}: `jail {sub} --help` has no {opt}:\n{text}"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(
        checked >= 10,
        "README.md's tour lost its options ({checked} checked)"
    );
}

#[test]
fn the_matcher_takes_dots_for_any_lines() {
    let e = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(matches(&e(&["a", "...", "b"]), &["a", "b"]));
    assert!(matches(&e(&["a", "...", "b"]), &["a", "x", "y", "b"]));
    assert!(!matches(&e(&["a", "...", "b"]), &["a", "x"]));
    assert!(!matches(&e(&["a"]), &["a", "b"]));
    assert!(matches(&e(&["..."]), &[]));
    assert!(lists("  --net <NET>", "--net"));
    assert!(!lists("  --network", "--net"));
}
