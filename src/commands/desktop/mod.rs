//! `jail desktop install|remove|list [APP...]`: menu entries that launch APP through jail.
//!
//! `install` reads the system's `APP.desktop` (the `applications/` folder of each
//! `$XDG_DATA_DIRS` entry, default `/usr/local/share:/usr/share`) and writes a copy to
//! `$XDG_DATA_HOME/applications` (default `~/.local/share/applications`), which desktop menus
//! prefer over the system's file of the same name.
//!
//! The source file is untrusted (a package, a flatpak export, anything on `$XDG_DATA_DIRS`), so
//! the copy is rebuilt, not patched:
//! - every `Exec=` of every group (the entry, each `[Desktop Action …]`, any other group) becomes
//!   `JAIL run --profile APP -- ARGV…`: JAIL the installed jail (this binary when it is the
//!   `jail` of a `$PATH` folder, else the first `jail` on `$PATH`, else this binary), APP the profile
//!   jail chose (`--profile NAME`, else the one named after APP), ARGV the original command line split as the Desktop Entry Specification says
//!   and written back with every argument quoted, field codes (`%u %U %f %F …`) kept bare so
//!   they still expand. Nothing in the source is left in front of `--`: an `Exec=` that already
//!   names jail (with its own options) or a program whose name merely starts with jail's path
//!   runs after `--`, inside the sandbox. Shell syntax (`;`, `|`, `$(…)`) ends up quoted, so even
//!   a launcher that hands `Exec=` to `sh -c` runs only jail;
//! - `DBusActivatable` is dropped (a menu would start the app through the session bus, around
//!   the wrapper), and so are localized `Exec[xx]=` (not valid; a lax launcher might use one)
//!   and `X-KDE-SubstituteUID`/`X-KDE-Username` (a launcher would run the command as another
//!   user); `TryExec` (only tested for existence), `Icon`, names and translations stay;
//! - keys `X-Jail-*` of the source are dropped and jail writes its own (`X-Jail-Wrapper=true`,
//!   `X-Jail-Profile`, `X-Jail-Source`). A marker in a source file means nothing: jail's own files
//!   are those in the user's applications folder (where `install` writes), that folder is never
//!   read as a source, and a system file carrying a forged marker is wrapped like any other;
//! - a source that is not a regular file (after following symlinks, which distributions use),
//!   is larger than 1 MiB, is not UTF-8, holds a NUL byte or a line that is neither a group, a
//!   key nor a comment, or has an `Exec=` that does not parse, is refused.
//!
//! The copy is written to a fresh temporary file created with `O_EXCL|O_NOFOLLOW` in the
//! applications folder (opened once, `O_NOFOLLOW`: a symlink planted there is refused), then
//! renamed over the target (`RENAME_NOREPLACE` unless the target is jail's own wrapper).
//! `list` and `remove` touch only regular files there that carry `X-Jail-Wrapper=true`, and
//! `install` refuses to overwrite a file that does not. System files are never written.
//! Installing twice writes the same file.
//!
//! The pieces: `source` finds and reads the system's file, `exec` splits and quotes `Exec=`
//! values, `rewrite` rebuilds the file as a wrapper, `apps` writes, reads and lists the user's
//! applications folder, `launcher` judges whether the jail binary is safe to name.

mod apps;
mod exec;
mod launcher;
mod rewrite;
mod source;
#[cfg(test)]
mod tests;

pub use apps::Wrapper;
pub use exec::{exec_quote, parse_exec, unparse_exec, Piece};
pub use rewrite::wrap;
pub use source::read_source;

use crate::cli::{DesktopAction, DesktopArgs};
use crate::host::Host;
use crate::profile::SearchPath;
use apps::{dir_error, install, open_dir, read_at, wrappers};
use launcher::{launcher_for, launcher_is_safe};
use nix::errno::Errno;
use rewrite::is_wrapper_text;
use source::data_dirs;
use std::os::fd::AsFd;

/// The key that marks jail's own files.
pub const MARKER: &str = "X-Jail-Wrapper";

/// Desktop files larger than this are refused (real ones are a few KiB; translations make the
/// largest ~100 KiB).
pub const MAX_DESKTOP_FILE: u64 = 1 << 20;

const EXIT_FAIL: i32 = 1;
const EXIT_USAGE: i32 = 2;

fn error(msg: impl std::fmt::Display) {
    eprintln!("jail: error: {msg}");
}

pub fn run(a: DesktopArgs) -> i32 {
    let host = Host::probe();
    let apps_dir = host.data_home.join("applications");
    if a.profile.is_some() && a.action != DesktopAction::Install {
        error("--profile is for `jail desktop install` (remove and list find the wrappers by APP)");
        return EXIT_USAGE;
    }
    match a.action {
        DesktopAction::Install => {
            if a.apps.is_empty() {
                error("jail desktop install needs the applications to wrap, e.g. `jail desktop install firefox-esr`");
                return EXIT_USAGE;
            }
            let jail = match std::env::current_exe() {
                Ok(me) => launcher_for(&me, std::env::var_os("PATH").as_deref()),
                Err(e) => {
                    error(format!("cannot find jail's own path: {e}"));
                    return EXIT_FAIL;
                }
            };
            // Every menu launch will run this file outside any sandbox: a sandbox that can
            // write it (a jail built in a project folder it is granted) would own them all.
            let search_dirs = SearchPath::from_env(&host.config_home).dirs;
            if !launcher_is_safe(&jail, &host.policy_dirs(&search_dirs)) {
                error(format!("{} could be replaced by a sandbox (it lies in a folder you can write): wrappers would run whatever is put there; install jail where only root can change it (the package, /usr/local/bin) or into a $PATH folder of your home (cargo install), then run that one", jail.display()));
                return EXIT_FAIL;
            }
            if std::env::current_exe().is_ok_and(|me| me != jail) {
                println!("the wrappers call {} (the jail on $PATH)", jail.display());
            }
            let search = SearchPath::from_env(&host.config_home);
            let dirs = data_dirs(&host);
            let mut code = 0;
            for app in &a.apps {
                let profile = a.profile.as_deref();
                match install(app, profile, &jail, &dirs, &apps_dir, &search) {
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
            let dir = match open_dir(&apps_dir) {
                Ok(d) => d,
                Err(Errno::ENOENT) => {
                    for app in targets {
                        println!("{app}: no jail wrapper installed");
                    }
                    return 0;
                }
                Err(e) => {
                    error(dir_error(&apps_dir, e));
                    return EXIT_FAIL;
                }
            };
            let mut code = 0;
            for app in targets {
                let name = format!("{app}.desktop");
                let path = apps_dir.join(&name);
                if !valid_app(&app) {
                    error(format!(
                        "{app:?} is not an application name (like firefox-esr)"
                    ));
                    code = EXIT_FAIL;
                    continue;
                }
                match read_at(&dir, &name) {
                    Err(Errno::ENOENT) => println!("{app}: no jail wrapper installed"),
                    Ok(t) if is_wrapper_text(&t) => {
                        match nix::unistd::unlinkat(
                            dir.as_fd(),
                            name.as_str(),
                            nix::unistd::UnlinkatFlags::NoRemoveDir,
                        ) {
                            Ok(()) => println!("removed {app}: {}", path.display()),
                            Err(e) => {
                                error(format!("{app}: cannot remove {}: {e}", path.display()));
                                code = EXIT_FAIL;
                            }
                        }
                    }
                    _ => {
                        error(format!(
                            "{app}: {} was not written by jail (no {MARKER}=true); left alone",
                            path.display()
                        ));
                        code = EXIT_FAIL;
                    }
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
pub(super) fn app_id(s: &str) -> &str {
    s.strip_suffix(".desktop").unwrap_or(s)
}

pub(super) fn valid_app(app: &str) -> bool {
    !app.is_empty()
        && !app.starts_with('.')
        && app
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}
