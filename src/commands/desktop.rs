//! `jail desktop install|remove|list [APP...]`: menu entries that launch APP through jail.
//!
//! `install` reads the system's `APP.desktop` (the `applications/` folder of each
//! `$XDG_DATA_DIRS` entry, default `/usr/local/share:/usr/share`) and writes a copy to
//! `$XDG_DATA_HOME/applications` (default `~/.local/share/applications`), which desktop menus
//! prefer over the system's file of the same name. In the copy every `Exec=` — of the entry
//! and of each `[Desktop Action …]` — runs `JAIL run --profile APP -- ORIGINAL`, with JAIL the
//! absolute path of this binary and ORIGINAL the old command line untouched (so its field codes
//! `%u %U %f %F …` still expand); `TryExec`, `Icon`, names and translations stay.
//! `DBusActivatable` is dropped: a menu would start a D-Bus activatable app through the session
//! bus, around the wrapper. The copy carries `X-Jail-Wrapper=true`; `list` and `remove` touch
//! only files that carry it, and `install` refuses to overwrite a file that does not. System
//! files are never written. Installing twice writes the same file.

use crate::cli::{DesktopAction, DesktopArgs};
use crate::host::Host;
use crate::profile::{load::Loader, SearchPath};
use std::path::{Path, PathBuf};

/// The key that marks jail's own files.
pub const MARKER: &str = "X-Jail-Wrapper";

const EXIT_FAIL: i32 = 1;
const EXIT_USAGE: i32 = 2;

fn error(msg: impl std::fmt::Display) {
    eprintln!("jail: error: {msg}");
}

pub fn run(a: DesktopArgs) -> i32 {
    let host = Host::probe();
    let apps_dir = host.data_home.join("applications");
    match a.action {
        DesktopAction::Install => {
            if a.apps.is_empty() {
                error("jail desktop install needs the applications to wrap, e.g. `jail desktop install firefox-esr`");
                return EXIT_USAGE;
            }
            let jail = match std::env::current_exe() {
                Ok(p) => p,
                Err(e) => {
                    error(format!("cannot find jail's own path: {e}"));
                    return EXIT_FAIL;
                }
            };
            let search = SearchPath::from_env(&host.config_home);
            let dirs = data_dirs(&host);
            let mut code = 0;
            for app in &a.apps {
                match install(app, &jail, &dirs, &apps_dir, &search) {
                    Ok(path) => println!("installed {app}: {}", path.display()),
                    Err(e) => {
                        error(format!("{app}: {e}"));
                        code = EXIT_FAIL;
                    }
                }
            }
            code
        }
        DesktopAction::Remove => {
            let targets: Vec<String> = if a.apps.is_empty() {
                // Without names: every wrapper jail wrote.
                wrappers(&apps_dir).into_iter().map(|w| w.app).collect()
            } else {
                a.apps.iter().map(|s| app_id(s).to_string()).collect()
            };
            let mut code = 0;
            for app in targets {
                let path = apps_dir.join(format!("{app}.desktop"));
                match std::fs::symlink_metadata(&path) {
                    Err(_) => println!("{app}: no jail wrapper installed"),
                    Ok(m) if !m.is_file() || !is_wrapper(&path) => {
                        error(format!(
                            "{app}: {} was not written by jail (no {MARKER}=true); left alone",
                            path.display()
                        ));
                        code = EXIT_FAIL;
                    }
                    Ok(_) => match std::fs::remove_file(&path) {
                        Ok(()) => println!("removed {app}: {}", path.display()),
                        Err(e) => {
                            error(format!("{app}: cannot remove {}: {e}", path.display()));
                            code = EXIT_FAIL;
                        }
                    },
                }
            }
            code
        }
        DesktopAction::List => {
            let list = wrappers(&apps_dir);
            let list: Vec<_> = if a.apps.is_empty() {
                list
            } else {
                list.into_iter()
                    .filter(|w| a.apps.iter().any(|x| app_id(x) == w.app))
                    .collect()
            };
            if list.is_empty() {
                eprintln!("no jail wrappers in {}", apps_dir.display());
                return 0;
            }
            let w = list.iter().map(|x| x.app.len()).max().unwrap_or(3).max(3);
            let wp = list
                .iter()
                .map(|x| x.profile.len())
                .max()
                .unwrap_or(7)
                .max(7);
            println!("{:w$}  {:wp$}  FILE", "APP", "PROFILE");
            for x in list {
                println!("{:w$}  {:wp$}  {}", x.app, x.profile, x.path.display());
            }
            0
        }
    }
}

/// `firefox-esr.desktop` and `firefox-esr` name the same application.
fn app_id(s: &str) -> &str {
    s.strip_suffix(".desktop").unwrap_or(s)
}

/// `$XDG_DATA_DIRS`, default `/usr/local/share:/usr/share` (the XDG base directory spec).
fn data_dirs(host: &Host) -> Vec<PathBuf> {
    let v = host
        .env
        .get("XDG_DATA_DIRS")
        .filter(|s| !s.is_empty())
        .cloned()
        .unwrap_or_else(|| "/usr/local/share:/usr/share".into());
    v.split(':')
        .filter(|s| s.starts_with('/'))
        .map(PathBuf::from)
        .collect()
}

fn is_wrapper(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .map(|t| t.lines().any(|l| l.trim_end() == format!("{MARKER}=true")))
        .unwrap_or(false)
}

/// Finds the desktop file whose id is `app`: `applications/APP.desktop`, or a file in a
/// subfolder whose path with `/` read as `-` is the id (`kde4/okular.desktop` is `kde4-okular`).
fn find(app: &str, dirs: &[PathBuf]) -> Option<PathBuf> {
    fn walk(base: &Path, dir: &Path, app: &str, depth: u32) -> Option<PathBuf> {
        let direct = dir.join(format!("{app}.desktop"));
        if dir == base && direct.is_file() && !is_wrapper(&direct) {
            return Some(direct);
        }
        if depth == 0 {
            return None;
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                if let Some(f) = walk(base, &p, app, depth - 1) {
                    return Some(f);
                }
            } else if p.extension().is_some_and(|e| e == "desktop") {
                let rel = p.strip_prefix(base).ok()?.with_extension("");
                let id = rel.to_string_lossy().replace('/', "-");
                if id == app && !is_wrapper(&p) {
                    return Some(p);
                }
            }
        }
        None
    }
    dirs.iter().find_map(|d| {
        let base = d.join("applications");
        walk(&base, &base, app, 2)
    })
}

fn install(
    app: &str,
    jail: &Path,
    dirs: &[PathBuf],
    apps_dir: &Path,
    search: &SearchPath,
) -> Result<PathBuf, String> {
    let app = app_id(app);
    if app.is_empty()
        || !app
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        || app.starts_with('.')
    {
        return Err(format!(
            "{app:?} is not an application name (like firefox-esr)"
        ));
    }
    // The wrapper runs `--profile APP`: a launcher that fails at every click helps no one.
    if let Err((e, _)) = Loader::new(search).load(app) {
        return Err(format!(
            "no usable profile named {app:?} ({}); write one (e.g. ~/.config/jail/profiles/{app}.toml) or see `jail list`",
            e.msg
        ));
    }
    let source = find(app, dirs).ok_or_else(|| {
        format!(
            "no {app}.desktop in {}",
            dirs.iter()
                .map(|d| d.join("applications").display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    let text = std::fs::read_to_string(&source)
        .map_err(|e| format!("cannot read {}: {e}", source.display()))?;
    let out = wrap(&text, app, jail, &source)?;

    let target = apps_dir.join(format!("{app}.desktop"));
    if let Ok(m) = std::fs::symlink_metadata(&target) {
        if !m.is_file() || !is_wrapper(&target) {
            return Err(format!(
                "{} exists and was not written by jail; move it away first",
                target.display()
            ));
        }
    }
    std::fs::create_dir_all(apps_dir)
        .map_err(|e| format!("cannot create {}: {e}", apps_dir.display()))?;
    let tmp = apps_dir.join(format!(".{app}.desktop.jail-tmp"));
    let _ = std::fs::remove_file(&tmp);
    std::fs::write(&tmp, out).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &target).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write {}: {e}", target.display())
    })?;
    Ok(target)
}

/// Quotes one argument for an `Exec=` value (Desktop Entry Specification, "The Exec key"):
/// reserved characters need double quotes, inside which `"`, `` ` ``, `$` and `\` take a
/// backslash; `%` is always doubled. The result is already in the escaped form of a string value.
pub fn exec_quote(arg: &str) -> String {
    const RESERVED: &str = " \t\n\"'\\><~|&;$*?#()`";
    let body = arg.replace('%', "%%");
    if !body.is_empty() && !body.chars().any(|c| RESERVED.contains(c)) {
        return body;
    }
    let mut q = String::from("\"");
    for c in body.chars() {
        if "\"`$\\".contains(c) {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    // The general string escapes apply on top: each backslash is written twice, a newline as \n.
    q.replace('\\', "\\\\").replace('\n', "\\n")
}

/// The wrapper's text: `text` with each `Exec=` of the entry and its actions prefixed by the
/// jail command, `DBusActivatable` dropped, and the marker keys added.
pub fn wrap(text: &str, app: &str, jail: &Path, source: &Path) -> Result<String, String> {
    let prefix = format!(
        "{} run --profile {} --",
        exec_quote(&jail.display().to_string()),
        exec_quote(app)
    );
    let jail_s = jail.display().to_string();
    let mut out = String::new();
    let mut group = String::new();
    let mut main_exec = false;
    let mut saw_main = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') && t.ends_with(']') {
            group = t[1..t.len() - 1].to_string();
            out.push_str(line);
            out.push('\n');
            if group == "Desktop Entry" {
                saw_main = true;
                out.push_str(&format!("{MARKER}=true\n"));
                out.push_str(&format!("X-Jail-Profile={app}\n"));
                out.push_str(&format!("X-Jail-Source={}\n", source.display()));
            }
            continue;
        }
        let wrapped_group = group == "Desktop Entry" || group.starts_with("Desktop Action ");
        let key = t.split_once('=').map(|(k, _)| k.trim());
        match key {
            Some("Exec") if wrapped_group => {
                let (_, v) = line.split_once('=').unwrap_or(("", ""));
                let v = v.trim_start();
                if v.is_empty() {
                    return Err(format!("{}: an empty Exec= in [{group}]", source.display()));
                }
                if group == "Desktop Entry" {
                    main_exec = true;
                }
                if v.starts_with(&jail_s) || v.starts_with(&format!("\"{jail_s}")) {
                    out.push_str(&format!("Exec={v}\n")); // already through jail
                } else {
                    out.push_str(&format!("Exec={prefix} {v}\n"));
                }
            }
            Some("DBusActivatable") if group == "Desktop Entry" => {}
            Some(k) if wrapped_group && (k == MARKER || k.starts_with("X-Jail-")) => {}
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    if !saw_main {
        return Err(format!("{} has no [Desktop Entry] group", source.display()));
    }
    if !main_exec {
        return Err(format!(
            "{} has no Exec= line (a link or a D-Bus-only application cannot be wrapped)",
            source.display()
        ));
    }
    Ok(out)
}

/// One of jail's wrappers.
pub struct Wrapper {
    pub app: String,
    pub profile: String,
    pub path: PathBuf,
}

fn wrappers(apps_dir: &Path) -> Vec<Wrapper> {
    let Ok(rd) = std::fs::read_dir(apps_dir) else {
        return vec![];
    };
    let mut v: Vec<Wrapper> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "desktop")
                && std::fs::symlink_metadata(p)
                    .map(|m| m.is_file())
                    .unwrap_or(false)
                && is_wrapper(p)
        })
        .map(|p| {
            let profile = std::fs::read_to_string(&p)
                .ok()
                .and_then(|t| {
                    t.lines().find_map(|l| {
                        l.strip_prefix("X-Jail-Profile=")
                            .map(|s| s.trim().to_string())
                    })
                })
                .unwrap_or_default();
            Wrapper {
                app: p
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                profile,
                path: p,
            }
        })
        .collect();
    v.sort_by(|a, b| a.app.cmp(&b.app));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_follows_the_desktop_entry_spec() {
        assert_eq!(exec_quote("/usr/bin/jail"), "/usr/bin/jail");
        assert_eq!(exec_quote("/opt/my apps/jail"), "\"/opt/my apps/jail\"");
        assert_eq!(exec_quote("/opt/a$b"), "\"/opt/a\\\\$b\"");
        assert_eq!(exec_quote("/opt/100%"), "/opt/100%%");
    }

    #[test]
    fn wrap_keeps_field_codes_and_actions() {
        let src = "[Desktop Entry]\nName=Fox\nName[de]=Fuchs\nExec=fox %u\nTryExec=fox\nIcon=fox\nDBusActivatable=true\nActions=new;\n\n[Desktop Action new]\nName=New\nExec=fox --new-window %U\n";
        let out = wrap(
            src,
            "fox",
            Path::new("/usr/bin/jail"),
            Path::new("/usr/share/applications/fox.desktop"),
        )
        .unwrap();
        assert!(
            out.contains("\nExec=/usr/bin/jail run --profile fox -- fox %u\n"),
            "{out}"
        );
        assert!(
            out.contains("\nExec=/usr/bin/jail run --profile fox -- fox --new-window %U\n"),
            "{out}"
        );
        assert!(
            out.contains("TryExec=fox\n")
                && out.contains("Icon=fox\n")
                && out.contains("Name[de]=Fuchs\n")
        );
        assert!(!out.contains("DBusActivatable"));
        assert!(out.contains("X-Jail-Wrapper=true\n"));
        // Wrapping a wrapper changes nothing more.
        let again = wrap(
            &out,
            "fox",
            Path::new("/usr/bin/jail"),
            Path::new("/usr/share/applications/fox.desktop"),
        )
        .unwrap();
        assert_eq!(again, out);
        assert!(wrap(
            "[Desktop Entry]\nType=Link\nURL=x\n",
            "l",
            Path::new("/j"),
            Path::new("/l")
        )
        .is_err());
    }
}
