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

/// Keys copied into the wrapper (by their name without a `[locale]`); every other key is
/// dropped. An allowlist, because a key a launcher acts on can reach outside the sandbox:
/// `Path=` is the folder the launcher changes to before running the wrapper (a profile that
/// grants `${PWD}` would grant it), `TerminalOptions=` is put on the terminal's command line
/// outside the sandbox, `DBusActivatable=` and `X-KDE-*` keys start the program another way.
/// `Exec=` is rewritten; `TryExec=` is dropped (the wrapper always runs jail).
const KEPT_KEYS: &[&str] = &[
    "Type",
    "Version",
    "Name",
    "GenericName",
    "Comment",
    "Icon",
    "Categories",
    "MimeType",
    "Keywords",
    "StartupWMClass",
    "StartupNotify",
    "Actions",
    "NoDisplay",
    "Hidden",
    "OnlyShowIn",
    "NotShowIn",
    "Terminal",
];

/// Keys of [`KEPT_KEYS`] that keep their `[locale]` forms (values meant to be translated).
const LOCALIZED_KEYS: &[&str] = &["Name", "GenericName", "Comment", "Icon", "Keywords"];

/// Whether the key `base` (with a `[locale]` when `localized`) is copied into the wrapper.
fn kept_key(base: &str, localized: bool) -> bool {
    if localized {
        LOCALIZED_KEYS.contains(&base)
    } else {
        KEPT_KEYS.contains(&base)
    }
}

/// Whether the group `name` is copied: the main group and the actions; any other group (an
/// extension's, e.g. `[X-KDE-...]`) is dropped with its keys.
fn kept_group(name: &str) -> bool {
    name == "Desktop Entry" || name.starts_with("Desktop Action ")
}

/// The wrapper's text: `text` rebuilt with each `Exec=` prefixed by the jail command, only the
/// keys of [`kept_key`] in the groups of [`kept_group`] kept, and jail's marker keys added. Never trusts the input: wrapping
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
            if kept_group(&name) {
                out.push_str(&format!("[{name}]\n"));
            }
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
        if !kept_group(group) {
            continue;
        }
        if base == "Exec" && !localized {
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
        if !kept_key(base, localized) {
            continue;
        }
        out.push_str(&format!("{key}={v}\n"));
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
