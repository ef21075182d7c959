//! Rebuilding an untrusted desktop file as a wrapper: every `Exec=` behind the jail command,
//! risky keys dropped, jail's marker keys added; and recognising jail's marker.

use super::exec::{escape_value, exec_quote, parse_exec, unparse_exec};
use super::MARKER;
use std::path::Path;

/// Whether `text` carries jail's marker: the key `X-Jail-Wrapper` (whole key, spaces around `=`
/// allowed) with the value `true` in the `[Desktop Entry]` group.
pub(super) fn is_wrapper_text(text: &str) -> bool {
    let mut group = "";
    for line in text.lines() {
        let t = line.trim();
        if let Some(g) = t.strip_prefix('[').and_then(|g| g.strip_suffix(']')) {
            group = g;
        } else if group == "Desktop Entry" {
            if let Some((k, v)) = t.split_once('=') {
                if k.trim_end() == MARKER && v.trim() == "true" {
                    return true;
                }
            }
        }
    }
    false
}

/// Keys dropped from every group of the copy (by their name without a `[locale]`).
fn dropped_key(base: &str, localized: bool) -> bool {
    let lower = base.to_ascii_lowercase();
    lower == "dbusactivatable"
        || (lower.starts_with("x-") && lower.contains("dbusactivatable"))
        || lower.starts_with("x-jail-")
        || lower == "x-kde-substituteuid"
        || lower == "x-kde-username"
        || (localized && (base == "Exec" || base == "TryExec"))
}

/// The wrapper's text: `text` rebuilt with each `Exec=` prefixed by the jail command, the keys
/// of [`dropped_key`] dropped, and jail's marker keys added. Never trusts the input: wrapping
/// an already wrapped file wraps it again. `app` is the profile the wrapper runs.
pub fn wrap(text: &str, app: &str, jail: &Path, source: &Path) -> Result<String, String> {
    let prefix = format!(
        "{} run --profile {} --",
        exec_quote(&jail.display().to_string()),
        exec_quote(app)
    );
    let src = source.display();
    let mut out = String::new();
    let mut group: Option<String> = None;
    let mut main_exec = false;
    let mut saw_main = false;
    for (n, line) in text.lines().enumerate() {
        let n = n + 1;
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('#') {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        if let Some(rest) = t.strip_prefix('[') {
            // A group header: `[NAME]`, only blanks after it (GLib's rule); NAME without
            // brackets or control characters.
            let name = rest
                .split_once(']')
                .filter(|(name, after)| {
                    after.trim_matches([' ', '\t']).is_empty()
                        && !name.chars().any(|c| c == '[' || c.is_control())
                })
                .map(|(name, _)| name.to_string())
                .ok_or_else(|| format!("{src}:{n}: not a valid group header"))?;
            out.push_str(&format!("[{name}]\n"));
            if name == "Desktop Entry" {
                if saw_main {
                    return Err(format!("{src}:{n}: a second [Desktop Entry] group"));
                }
                saw_main = true;
                out.push_str(&format!("{MARKER}=true\n"));
                out.push_str(&format!("X-Jail-Profile={app}\n"));
                out.push_str(&format!(
                    "X-Jail-Source={}\n",
                    escape_value(&src.to_string())
                ));
            }
            group = Some(name);
            continue;
        }
        let Some((k, v)) = t.split_once('=') else {
            return Err(format!(
                "{src}:{n}: a line that is neither a group, a key nor a comment"
            ));
        };
        let Some(group) = group.as_deref() else {
            return Err(format!("{src}:{n}: a key before the first group"));
        };
        let key = k.trim_end();
        let (base, localized) = match key.split_once('[') {
            Some((b, l)) if l.ends_with(']') => (b, true),
            Some(_) => return Err(format!("{src}:{n}: a malformed key {key:?}")),
            None => (key, false),
        };
        if base.is_empty()
            || !base
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(format!("{src}:{n}: a malformed key {key:?}"));
        }
        let v = v.trim_matches([' ', '\t']);
        if dropped_key(base, localized) {
            continue;
        }
        if base == "Exec" {
            let args = parse_exec(v)
                .map_err(|e| format!("{src}:{n}: Exec= in [{group}] cannot be read: {e}"))?;
            if group == "Desktop Entry" {
                main_exec = true;
            }
            out.push_str(&format!("Exec={prefix} {}\n", unparse_exec(&args)));
            continue;
        }
        if group == "Desktop Entry" && base == "Type" && !localized && v != "Application" {
            return Err(format!(
                "{src}:{n}: Type={v} (only applications can be wrapped)"
            ));
        }
        out.push_str(line);
        out.push('\n');
    }
    if !saw_main {
        return Err(format!("{src} has no [Desktop Entry] group"));
    }
    if !main_exec {
        return Err(format!(
            "{src} has no Exec= line (a link or a D-Bus-only application cannot be wrapped)"
        ));
    }
    Ok(out)
}
