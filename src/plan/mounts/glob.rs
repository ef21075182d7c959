//! Globs in the path lists (`ro`, `rw`, `dev`, `tmpfs`, `hide`, `noexec`): `*`, `?` and `[…]`
//! in an entry are matched against the host's folders (through [`crate::host::HostFs`], so
//! pretend hosts answer in tests) when the plan is compiled, and the entry stands for every
//! path it matched. A leading `?` keeps its meaning (optional entry); `?` elsewhere is a glob
//! character.
//!
//! Rules:
//! - A wildcard never walks through a symlink: a symlink matched by a component that is not
//!   the last is not descended into, and folders named after a wildcard must be real folders.
//!   A symlink matched by the last component is a match like any other path (the grant rules
//!   then judge it as they judge a written symlink); `hide` and `noexec` leave matched
//!   symlinks out with a note (a mount never goes through a symlink, and the link's target is
//!   not what the pattern named).
//! - In grants (`ro`, `rw`, `dev`, `tmpfs`) a wildcard does not match a leading dot, as in a
//!   shell (`~/.config/*` does not grant `~/.config/.secret`); in `hide` and `noexec` it does,
//!   since matching more takes more away.
//! - A pattern that matches nothing is an error in a grant, and a note in an optional
//!   (`"?…"`) entry, `hide` and `noexec`.

use super::paths::optional_entry;
use super::{Ctx, Error};
use crate::host::Kind;
use crate::plan::{expand_with, normalize};
use crate::profile::{Located, L};
use serde::Serialize;
use std::path::{Component, Path, PathBuf};

/// What one glob of a path list matched, shown by `jail explain`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GlobMatch {
    /// The list it was written in (`ro`, `hide` …).
    pub list: String,
    /// The entry as written.
    pub pattern: String,
    pub matched: Vec<PathBuf>,
}

/// One path of a list, after the optional marker and glob expansion.
pub(super) struct Entry<'a> {
    pub item: &'a L<String>,
    pub optional: bool,
    pub path: PathBuf,
}

/// More matches than this for one pattern is refused (a typo such as `/*/*/*` would otherwise
/// grant or hide most of the machine).
const MAX_MATCHES: usize = 10_000;

/// Whether an entry is a glob: `*` or `?` after the optional `?` marker, or a `[` closed by a
/// `]` (as in a shell, a `[` without one is an ordinary character).
pub fn is_glob(v: &str) -> bool {
    has_meta(v.strip_prefix('?').unwrap_or(v))
}

fn has_meta(v: &str) -> bool {
    v.contains(['*', '?']) || v.find('[').is_some_and(|i| v[i + 1..].contains(']'))
}

/// The paths of `list` (named `name` in messages). `marker`: the list takes the optional `?`
/// marker (every list but `tmpfs`). `restrict`: the list takes away (`hide`, `noexec`).
pub(super) fn entries<'a>(
    cx: &Ctx,
    name: &str,
    list: &'a [L<String>],
    marker: bool,
    restrict: bool,
    warnings: &mut Vec<String>,
    globs: &mut Vec<GlobMatch>,
) -> Result<Vec<Entry<'a>>, Error> {
    let mut out = vec![];
    for item in list {
        if !(if marker {
            is_glob(&item.v)
        } else {
            has_meta(&item.v)
        }) {
            if !marker {
                out.push(Entry {
                    item,
                    optional: false,
                    path: cx.path(item)?,
                });
            } else if let Some((optional, path)) = optional_entry(cx, item, warnings)? {
                out.push(Entry {
                    item,
                    optional,
                    path,
                });
            }
            continue;
        }
        let (optional, written) = match item.v.strip_prefix('?').filter(|_| marker) {
            Some(rest) => (true, rest),
            None => (false, item.v.as_str()),
        };
        let pattern = match expand_with(written, cx.host, |v| glob::Pattern::escape(&v)) {
            Ok(p) => p,
            Err(e) if optional && e.contains("is used but not set") => {
                warnings.push(format!("skipped optional {}: {e}", item.v));
                continue;
            }
            Err(e) => return Err(Located::at(e, &item.at)),
        };
        if !pattern.starts_with('/') {
            return Err(Located::at(
                format!("{written:?} is not an absolute path (start it with /, ~ or ${{HOME}})"),
                &item.at,
            ));
        }
        if pattern.contains('\0') {
            return Err(Located::at("a path cannot contain a NUL byte", &item.at));
        }
        let mut matched = expand(cx, &normalize(Path::new(&pattern)), restrict)
            .map_err(|e| Located::at(format!("{name} {written:?}: {e}"), &item.at))?;
        if restrict {
            // A mount never goes through a symlink; its target is not what the pattern named.
            matched.retain(|p| match cx.host.fs.kind(p) {
                Some(Kind::Symlink(_)) => {
                    warnings.push(format!(
                        "{name} {written}: {} is a symlink, left out (jail never mounts through one; hide what it points to by its own path)",
                        p.display()
                    ));
                    false
                }
                _ => true,
            });
        }
        if matched.is_empty() {
            if !(optional || restrict) {
                return Err(Located::at(
                    format!("{name} {written:?}: the pattern matches nothing (write \"?{written}\" to allow that)"),
                    &item.at,
                ));
            }
            warnings.push(format!("{name} {written}: the pattern matches nothing"));
        }
        globs.push(GlobMatch {
            list: name.to_string(),
            pattern: item.v.clone(),
            matched: matched.clone(),
        });
        out.extend(matched.into_iter().map(|path| Entry {
            item,
            optional,
            path,
        }));
    }
    Ok(out)
}

/// In a list that takes away (`dotfiles` is set for those), a folder that cannot be listed
/// stands for what a pattern names in it.
fn restrict_unlistable(fs: &dyn crate::host::HostFs, dir: &Path, restrict: bool) -> bool {
    restrict && fs.kind(dir) == Some(Kind::Dir)
}

/// The existing host paths `pattern` (absolute, normalized, variables already escaped)
/// matches, sorted.
fn expand(cx: &Ctx, pattern: &Path, dotfiles: bool) -> Result<Vec<PathBuf>, String> {
    let opts = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: !dotfiles,
    };
    let fs = &cx.host.fs;
    let comps: Vec<String> = pattern
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    let mut cands = vec![PathBuf::from("/")];
    let mut wild = false;
    for (i, c) in comps.iter().enumerate() {
        let last = i + 1 == comps.len();
        let pat = match glob::Pattern::new(c) {
            Ok(p) if has_meta(c) => Some(p),
            // No glob character, or an unclosed `[` (an ordinary character, as in a shell).
            _ => None,
        };
        let Some(pat) = pat else {
            for p in &mut cands {
                p.push(c);
            }
            if wild && !last {
                // Under a wildcard, only real folders lead on (never a symlink).
                cands.retain(|p| {
                    crate::plan::work(1);
                    fs.kind(p) == Some(Kind::Dir)
                });
            }
            continue;
        };
        wild = true;
        let mut next = vec![];
        let push = |next: &mut Vec<PathBuf>, p: PathBuf| {
            next.push(p);
            if next.len() > MAX_MATCHES {
                return Err(format!("the pattern matches more than {MAX_MATCHES} paths"));
            }
            Ok(())
        };
        if c == "**" {
            // Any number of folders, none included: every real folder below (never through a
            // symlink; in grants, not into dot-folders). Last, it is the folder itself, which
            // holds everything below.
            if last {
                continue;
            }
            let mut todo: Vec<PathBuf> = std::mem::take(&mut cands);
            while let Some(dir) = todo.pop() {
                push(&mut next, dir.clone())?;
                // One that cannot be listed is still matched itself (what follows is looked
                // for in it, and stands for it in `hide` and `noexec`).
                for (n, kind) in fs.list(&dir).unwrap_or_default() {
                    crate::plan::work(1);
                    if kind == Kind::Dir && (dotfiles || !n.to_string_lossy().starts_with('.')) {
                        todo.push(dir.join(n));
                    }
                }
            }
            cands = next;
            continue;
        }
        for dir in &cands {
            let before = next.len();
            match fs.list(dir) {
                Some(mut names) => {
                    names.sort_by(|a, b| a.0.cmp(&b.0));
                    for (n, kind) in names {
                        crate::plan::work(1);
                        if !pat.matches_with(&n.to_string_lossy(), opts) {
                            continue;
                        }
                        if !last && kind != Kind::Dir {
                            continue; // a file cannot lead on; a symlink is never walked through
                        }
                        push(&mut next, dir.join(n))?;
                    }
                }
                // A folder that cannot be listed may still be entered (mode 0711): in `hide`
                // and `noexec` what the pattern names there is covered by the folder itself,
                // rather than by nothing.
                None if restrict_unlistable(fs.as_ref(), dir, dotfiles) => {
                    push(&mut next, dir.clone())?;
                    continue;
                }
                None => {}
            }
            // A name with brackets may be literal (`Foo [1]`): as in a shell, the name as
            // written when the pattern matched nothing; in `hide` and `noexec`, also beside
            // what it matched.
            let literal = dir.join(c);
            if (dotfiles || next.len() == before)
                && !next[before..].contains(&literal)
                && fs.kind(&literal).is_some()
                && (last || fs.kind(&literal) == Some(Kind::Dir))
            {
                push(&mut next, literal)?;
            }
        }
        cands = next;
    }
    cands.retain(|p| fs.kind(p).is_some());
    cands.sort();
    cands.dedup();
    Ok(cands)
}
