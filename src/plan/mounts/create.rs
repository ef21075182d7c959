//! Folders the supervisor creates before the sandbox is built: `"+path"` grants that are absent
//! (`rw = ["+~/.mozilla"]`, so an app's first run keeps its settings) and the persistent
//! private home of `home = "private"`. The compiler only decides; the executor creates each
//! one component by component under its home, never through a symlink (sandbox/create.rs).

use super::*;

/// A folder to create when missing, owned by the caller, mode 0700.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CreateDir {
    /// The folder (absolute, normalized).
    pub path: PathBuf,
    /// The home it lies in: every folder from here down must be a real folder of the caller.
    pub base: PathBuf,
}

/// True for a `"+path"` entry (create when missing).
pub(super) fn creates(item: &L<String>) -> bool {
    item.v.starts_with('+')
}

/// Checks a `"+path"` grant whose path is absent and returns what to create. Only writable
/// grants (`rw`) strictly inside the home create; a symlink on the way is refused here and,
/// against races, again when the folder is made.
pub(super) fn plan_create(
    cx: &Ctx,
    item: &L<String>,
    path: &Path,
    access: Access,
) -> Result<CreateDir, Error> {
    if access != Access::Rw {
        return Err(Located::at(
            format!(
                "{:?}: \"+\" (create when missing) is for rw grants only; write it in rw = […]",
                item.v
            ),
            &item.at,
        ));
    }
    inside_home(cx, item, path)
}

/// The home that `path` lies strictly inside, with no symlink from the home down to what of
/// `path` exists.
pub(super) fn inside_home(cx: &Ctx, item: &L<String>, path: &Path) -> Result<CreateDir, Error> {
    let home = &cx.host.home;
    if !under(path, home) || path == home.as_path() {
        return Err(Located::at(
            format!(
                "{:?}: jail creates missing folders only inside your home ({}); create {} yourself, or write \"?{}\" to skip it when absent",
                item.v,
                home.display(),
                path.display(),
                item.v.trim_start_matches(['+', '?'])
            ),
            &item.at,
        ));
    }
    for d in path.ancestors().filter(|d| under(d, home)) {
        match cx.host.fs.kind(d) {
            Some(Kind::Symlink(_)) => {
                return Err(Located::at(
                    format!(
                        "{:?}: {} is a symlink: jail does not create folders through a symlink (a sandbox could have planted it); remove it or grant the real path",
                        item.v,
                        d.display()
                    ),
                    &item.at,
                ))
            }
            Some(Kind::Dir) | None => {}
            Some(_) => {
                return Err(Located::at(
                    format!("{:?}: {} is not a folder", item.v, d.display()),
                    &item.at,
                ))
            }
        }
    }
    Ok(CreateDir {
        path: path.to_path_buf(),
        base: home.clone(),
    })
}

/// The `why` of the private home's bind (the audit tells it from a bind of the host's home).
pub const PRIVATE_HOME_WHY: &str = "home = \"private\"";

/// Where the persistent private home of profile `app` is kept.
pub fn private_home_dir(home: &Path, app: &str) -> PathBuf {
    home.join(".local/share/jail/homes").join(app)
}

/// `home = "private"`: the folder kept for `app`, created when missing and bound at `$HOME`.
pub(super) fn private_home(
    cx: &Ctx,
    f: &Filesystem,
    app: &str,
) -> Result<Option<CreateDir>, Error> {
    let Some(h) = f.home.as_ref().filter(|h| h.v == Home::Private) else {
        return Ok(None);
    };
    let valid = !app.is_empty()
        && !app.starts_with('.')
        && app
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !valid {
        return Err(Located::at(
            format!("home = \"private\" keeps the home under the profile's name, and {app:?} cannot name a folder"),
            &h.at,
        ));
    }
    let path = private_home_dir(&cx.host.home, app);
    let item = L::new(path.display().to_string(), h.at.clone());
    inside_home(cx, &item, &path).map(Some)
}
