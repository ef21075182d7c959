//! Finding profiles (SPEC §2) and merging a profile with its includes and `.local` overlays.

use super::source::{Located, Origin, SourceMap};
use super::types::{Merge, Profile, L};
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/embedded_profiles.rs"));

/// Includes nest at most this deep; deeper is almost surely a mistake (or an attack on `check`).
const MAX_DEPTH: usize = 32;
/// Profile files larger than this are refused before parsing.
const MAX_FILE: u64 = 1 << 20;
/// One load reads at most this many profile files (includes and overlays counted): each file is
/// read once, so only a profile built to exhaust jail comes near.
pub const MAX_FILES: usize = 256;

/// The folders searched for `NAME.toml`, in priority order (the built-in collection comes last).
#[derive(Debug, Clone)]
pub struct SearchPath {
    pub dirs: Vec<PathBuf>,
    /// Whether the built-in collection is consulted (always, except in some unit tests).
    pub builtin: bool,
}

impl SearchPath {
    /// `JAIL_PROFILE_PATH` replaces the first three entries; otherwise
    /// `$XDG_CONFIG_HOME/jail/profiles`, `/etc/jail/profiles`, `/usr/share/jail/profiles`.
    pub fn from_env(config_home: &Path) -> SearchPath {
        let dirs = match std::env::var_os("JAIL_PROFILE_PATH") {
            Some(v) => std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect(),
            None => vec![
                config_home.join("jail/profiles"),
                PathBuf::from("/etc/jail/profiles"),
                PathBuf::from("/usr/share/jail/profiles"),
            ],
        };
        SearchPath {
            dirs,
            builtin: true,
        }
    }

    /// Whether a profile `name` exists anywhere on the path (without reading it).
    pub fn exists(&self, name: &str) -> bool {
        !self.find_all(name, "").is_empty()
    }

    /// Every place a profile `name` (or its `.local` overlay, with `suffix = ".local"`) exists,
    /// highest priority first.
    fn find_all(&self, name: &str, suffix: &str) -> Vec<Found> {
        let file = format!("{name}{suffix}.toml");
        let mut out: Vec<Found> = self
            .dirs
            .iter()
            .map(|d| d.join(&file))
            .filter(|p| p.is_file())
            .map(Found::File)
            .collect();
        if self.builtin {
            let key = format!("{name}{suffix}");
            if let Some((n, text)) = EMBEDDED.iter().find(|(n, _)| *n == key) {
                out.push(Found::Builtin(n, text));
            }
        }
        out
    }

    /// Every profile name on the path with where it comes from (the winning place).
    pub fn list(&self) -> Vec<(String, String)> {
        let mut names: Vec<(String, String)> = Vec::new();
        let mut push = |name: String, origin: String| {
            if !name.ends_with(".local") && !names.iter().any(|(n, _)| *n == name) {
                names.push((name, origin));
            }
        };
        for d in &self.dirs {
            let Ok(rd) = std::fs::read_dir(d) else {
                continue;
            };
            let mut files: Vec<PathBuf> = rd.filter_map(|e| e.ok()).map(|e| e.path()).collect();
            files.sort();
            for f in files {
                if f.extension().is_some_and(|e| e == "toml") {
                    if let Some(stem) = f.file_stem() {
                        push(stem.to_string_lossy().into_owned(), f.display().to_string());
                    }
                }
            }
        }
        if self.builtin {
            for (n, _) in EMBEDDED {
                push(n.to_string(), format!("builtin:{n}"));
            }
        }
        names.sort();
        names
    }
}

enum Found {
    File(PathBuf),
    Builtin(&'static str, &'static str),
}

/// A profile merged from its chain, with the sources its values point into.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// The profile's name (file stem for a path).
    pub name: String,
    pub profile: Profile,
    pub sources: SourceMap,
    /// Names of the files merged, in merge order, for `explain`.
    pub chain: Vec<String>,
}

fn is_toml(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "toml")
}

/// True when `spec` names a file rather than a profile on the search path.
pub fn is_path(spec: &str) -> bool {
    spec.contains('/') || spec.ends_with(".toml")
}

pub struct Loader<'a> {
    pub path: &'a SearchPath,
    pub sources: SourceMap,
    chain: Vec<String>,
    /// The include stack, for cycle detection.
    stack: Vec<String>,
    /// The folder of each file on the stack (None for built-ins), for relative include paths.
    dirs: Vec<Option<PathBuf>>,
    /// Profiles (same keys as `stack`) and files already merged: a second include of either is a
    /// no-op, like a C include guard, so a diamond of includes is read once per file, not once
    /// per path through it.
    done: std::collections::HashSet<String>,
    /// Files read so far, bounded by [`MAX_FILES`].
    reads: usize,
}

impl<'a> Loader<'a> {
    pub fn new(path: &'a SearchPath) -> Self {
        Loader {
            path,
            sources: SourceMap::default(),
            chain: vec![],
            stack: vec![],
            dirs: vec![],
            done: Default::default(),
            reads: 0,
        }
    }

    /// Loads `spec` (a NAME or a PATH) with includes and overlays merged.
    pub fn load(self, spec: &str) -> Result<Loaded, (Located, SourceMap)> {
        self.load_over(spec, Profile::default())
    }

    /// Loads `spec` merged over `base` (the built-in defaults): every file of the chain is
    /// merged into one accumulator in order, so a `"!x"` anywhere removes an `x` written by
    /// anything merged before it, the defaults included.
    pub fn load_over(mut self, spec: &str, base: Profile) -> Result<Loaded, (Located, SourceMap)> {
        let name = if is_path(spec) {
            Path::new(spec)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        } else {
            spec.to_string()
        };
        let mut profile = base;
        match self.load_one(spec, None, &mut profile) {
            Ok(()) => Ok(Loaded {
                name,
                profile,
                sources: self.sources,
                chain: self.chain,
            }),
            Err(e) => Err((e, self.sources)),
        }
    }

    fn read(&mut self, found: Found, from: Option<&Origin>) -> Result<u32, Located> {
        self.reads += 1;
        if self.reads > MAX_FILES {
            return Err(Located::new(
                format!("this profile and its includes read more than {MAX_FILES} files; is an include list gone wrong?"),
                from.cloned(),
            ));
        }
        match found {
            Found::Builtin(n, text) => {
                Ok(self.sources.add(format!("builtin:{n}"), text.to_string()))
            }
            Found::File(p) => {
                // A profile on the search path that is a symlink to another kind of file is
                // refused like a path to one (see `load_one`).
                if std::fs::canonicalize(&p).is_ok_and(|r| !is_toml(&r)) {
                    return Err(Located::new(
                        format!(
                            "profile file {}: a symlink to a file whose name does not end in .toml",
                            p.display()
                        ),
                        from.cloned(),
                    ));
                }
                // One descriptor, checked and read with a cap: a profile (or an include)
                // that is a FIFO, a device or grows while read cannot hang jail or exhaust it.
                let bytes = crate::util::read_trusted(&p, MAX_FILE, nix::unistd::getuid().as_raw())
                    .map_err(|e| {
                        Located::new(
                            format!(
                                "cannot read {}: {e} (a profile is a regular file of at most 1 MiB, yours or root's)",
                                p.display()
                            ),
                            None,
                        )
                    })?;
                let text = String::from_utf8(bytes).map_err(|e| {
                    Located::new(
                        format!(
                            "{}: not UTF-8 text (invalid byte at offset {})",
                            p.display(),
                            e.utf8_error().valid_up_to()
                        ),
                        None,
                    )
                })?;
                if let Some(i) = text.find('\0') {
                    return Err(Located::new(
                        format!(
                            "{}: binary data (NUL byte at offset {i}), not a TOML profile",
                            p.display()
                        ),
                        None,
                    ));
                }
                Ok(self.sources.add(p.display().to_string(), text))
            }
        }
    }

    /// Loads one profile: its includes (in order), itself, then its `.local` overlays.
    fn load_one(
        &mut self,
        spec: &str,
        from: Option<&Origin>,
        merged: &mut Profile,
    ) -> Result<(), Located> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(Located::new(
                format!("includes nested deeper than {MAX_DEPTH} levels (at {spec:?}); is there a chain gone wrong?"),
                from.cloned(),
            ));
        }
        let (key, found, overlays): (String, Found, Vec<Found>) = if is_path(spec) {
            let mut p = PathBuf::from(spec);
            if p.is_relative() {
                if let Some(Some(dir)) = self.dirs.last() {
                    p = dir.join(p);
                }
            }
            if !p.is_file() {
                let what = if p.exists() {
                    "is not a regular file"
                } else {
                    "does not exist"
                };
                return Err(Located::new(
                    format!("profile file {spec} {what}"),
                    from.cloned(),
                ));
            }
            let real = std::fs::canonicalize(&p).unwrap_or(p.clone());
            // Only profile files are read: a path to any other file (`/etc/shadow`, or a
            // `.toml` symlink to it) is refused before it is opened, so an error can never
            // quote a line of it.
            if !is_toml(&p) || !is_toml(&real) {
                return Err(Located::new(
                        format!(
                            "profile file {spec}: not a .toml file{}; a profile file's name ends in .toml",
                            if is_toml(&p) { " (a symlink to another kind of file)" } else { "" }
                        ),
                        from.cloned(),
                    ));
            }
            (real.display().to_string(), Found::File(p), vec![])
        } else {
            if spec.is_empty() || spec.contains(['\0', '\n']) || spec.starts_with('.') {
                return Err(Located::new(
                    format!("{spec:?} is not a valid profile name"),
                    from.cloned(),
                ));
            }
            let mut all = self.path.find_all(spec, "");
            if all.is_empty() {
                let dirs: Vec<String> = self
                    .path
                    .dirs
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect();
                return Err(Located::new(
                    format!(
                        "no profile named {spec:?} (searched {}{}); `jail list` shows what exists",
                        dirs.join(", "),
                        if self.path.builtin {
                            " and the built-in profiles"
                        } else {
                            ""
                        }
                    ),
                    from.cloned(),
                ));
            }
            let mut overlays = self.path.find_all(spec, ".local");
            overlays.reverse(); // lowest priority first, so the user's own overlay is merged last
            (format!("name:{spec}"), all.remove(0), overlays)
        };
        if let Some(pos) = self.stack.iter().position(|k| *k == key) {
            let mut cycle: Vec<&str> = self.stack[pos..]
                .iter()
                .map(|k| k.trim_start_matches("name:"))
                .collect();
            cycle.push(key.trim_start_matches("name:"));
            return Err(Located::new(
                format!("include cycle: {}", cycle.join(" → ")),
                from.cloned(),
            ));
        }
        if !self.done.insert(key.clone()) {
            // Merged already (reached again through another include): first occurrence wins.
            return Ok(());
        }
        self.stack.push(key);
        for f in std::iter::once(found).chain(overlays) {
            let (dir, file_key) = match &f {
                Found::File(p) => (
                    p.parent().map(Path::to_path_buf),
                    format!(
                        "file:{}",
                        std::fs::canonicalize(p).unwrap_or(p.clone()).display()
                    ),
                ),
                Found::Builtin(n, _) => (None, format!("builtin:{n}")),
            };
            // The same file reached both by name and by path is merged once too.
            if !self.done.insert(file_key) {
                continue;
            }
            let id = self.read(f, from)?;
            self.dirs.push(dir);
            let mut p: Profile = self.sources.parse(id)?;
            for inc in std::mem::take(&mut p.include) {
                self.load_one(&inc.v, Some(&inc.at), merged)?;
            }
            self.dirs.pop();
            self.chain.push(self.sources.name(id).to_string());
            merged.absorb(p);
        }
        self.stack.pop();
        Ok(())
    }
}

/// Parses profile text that is not on disk (tests, the fuzzer).
pub fn parse_str(name: &str, text: &str) -> Result<(Profile, SourceMap), (Located, SourceMap)> {
    let mut sources = SourceMap::default();
    let id = sources.add(name.to_string(), text.to_string());
    match sources.parse::<Profile>(id) {
        Ok(p) => Ok((p, sources)),
        Err(e) => Err((e, sources)),
    }
}

/// A located `String` for values that come from the command line.
pub fn cli_value(sources: &mut SourceMap, option: &str, value: &str) -> L<String> {
    let text = format!("{option} {value}");
    let id = sources.add("command line".into(), text.clone());
    L::new(
        value.to_string(),
        Origin {
            src: id,
            span: option.len() + 1..text.len(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{load as load_profile, Overrides};

    /// A search path over a fresh folder holding `files` (name, text), without the built-ins
    /// unless `builtin`.
    /// The folder is removed when the returned guard drops.
    fn path_with(files: &[(&str, &str)], builtin: bool) -> (SearchPath, crate::util::ScratchDir) {
        let dir = crate::util::ScratchDir::new("jail-load-test");
        for (name, text) in files {
            std::fs::write(dir.join(format!("{name}.toml")), text).unwrap();
        }
        let sp = SearchPath {
            dirs: vec![dir.to_path_buf()],
            builtin,
        };
        (sp, dir)
    }

    fn strings(v: &[L<String>]) -> Vec<&str> {
        v.iter().map(|x| x.v.as_str()).collect()
    }

    #[test]
    fn bang_removes_what_the_defaults_and_includes_added() {
        let (sp, _dir) = path_with(
            &[
                ("inc", "[filesystem]\nhide = [\"/a\", \"/b\"]\n"),
                ("p", "include = [\"inc\"]\n[env]\nkeep = [\"!TERM\", \"FOO\"]\n[seccomp]\ndeny = [\"!@default-deny\", \"ptrace\"]\n[filesystem]\nhide = [\"!/a\"]\n"),
            ],
            false,
        );
        let l = load_profile(&sp, "p", &Overrides::default())
            .map_err(|e| e.0)
            .unwrap();
        let keep = strings(&l.profile.env.keep);
        assert!(
            !keep.contains(&"TERM") && keep.contains(&"PATH") && keep.contains(&"FOO"),
            "{keep:?}"
        );
        assert_eq!(strings(&l.profile.seccomp.deny), ["ptrace"]);
        assert_eq!(strings(&l.profile.filesystem.hide), ["/b"]);
    }

    #[test]
    fn locals_merge_lowest_priority_first_and_includes_before_the_profile() {
        let (low, _low) = path_with(
            &[("p.local", "[process]\nhostname = \"low\"\ncwd = \"/low\"\n")],
            false,
        );
        let (high, _high) = path_with(
            &[
                (
                    "i",
                    "[process]\nhostname = \"inc\"\ncwd = \"/inc\"\ninit = false\n",
                ),
                ("p", "include = [\"i\"]\n[process]\nhostname = \"prof\"\n"),
                ("p.local", "[process]\nhostname = \"high\"\n"),
            ],
            false,
        );
        let sp = SearchPath {
            dirs: vec![high.dirs[0].clone(), low.dirs[0].clone()],
            builtin: false,
        };
        let l = Loader::new(&sp).load("p").map_err(|e| e.0).unwrap();
        let pr = &l.profile.process;
        assert_eq!(pr.hostname.as_ref().unwrap().v, "high");
        assert_eq!(pr.cwd.as_ref().unwrap().v, "/low");
        assert!(!pr.init.as_ref().unwrap().v);
        let names: Vec<&str> = l
            .chain
            .iter()
            .map(|c| c.rsplit('/').next().unwrap())
            .collect();
        assert_eq!(names, ["i.toml", "p.toml", "p.local.toml", "p.local.toml"]);
        assert!(l.chain[2].starts_with(&low.dirs[0].display().to_string()));
    }

    #[test]
    fn cycles_and_depth_are_errors_with_a_place() {
        let (sp, _dir) = path_with(
            &[("a", "include = [\"b\"]\n"), ("b", "\ninclude = [\"a\"]\n")],
            false,
        );
        let (e, sources) = Loader::new(&sp).load("a").unwrap_err();
        assert_eq!(e.msg, "include cycle: a → b → a");
        let at = e.at.unwrap();
        assert!(sources.name(at.src).ends_with("/b.toml"));
        assert_eq!(sources.line_col(&at), (2, 12));

        let mut files: Vec<(String, String)> = (0..40)
            .map(|i| (format!("l{i}"), format!("include = [\"l{}\"]\n", i + 1)))
            .collect();
        files.push(("l40".into(), String::new()));
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        let (sp, _dir) = path_with(&refs, false);
        let (e, _) = Loader::new(&sp).load("l0").unwrap_err();
        assert!(e.msg.contains("nested deeper than 32"), "{}", e.msg);
        assert!(e.at.is_some());
        assert!(Loader::new(&sp).load("l20").is_ok());
    }

    #[test]
    fn a_user_profile_shadows_a_builtin_one() {
        let (sp, _dir) = path_with(&[("default", "description = \"mine\"\n")], true);
        let l = Loader::new(&sp).load("default").map_err(|e| e.0).unwrap();
        assert_eq!(l.profile.description.unwrap().v, "mine");
        let list = sp.list();
        let (_, origin) = list.iter().find(|(n, _)| n == "default").unwrap();
        assert!(origin.ends_with("/default.toml"), "{origin}");
        let (_, origin) = list.iter().find(|(n, _)| n == "base").unwrap();
        assert_eq!(origin, "builtin:base");
    }
}
