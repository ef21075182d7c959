//! `jail import firejail`: converts firejail profiles the user has installed into jail
//! profiles (see parse.rs for reading firejail's format, translate.rs for the model change).

pub mod parse;
pub mod translate;

use crate::cli::ImportArgs;
use crate::host::Host;
use crate::profile::SearchPath;
use crate::util::printable;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

const SYSTEM_DIR: &str = "/etc/firejail";

fn fail(msg: impl AsRef<str>) -> i32 {
    eprintln!("jail: error: {}", printable(msg.as_ref(), false));
    125
}

pub fn run(a: ImportArgs) -> i32 {
    if a.from != "firejail" {
        return fail(format!(
            "cannot import from '{}': only 'firejail' is known",
            a.from
        ));
    }
    let mut host = Host::probe();
    // A profile is judged, not this session (as in `jail audit`).
    host.session_optional = true;
    let system = a
        .firejail_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(SYSTEM_DIR));
    let dirs = parse::Dirs {
        dirs: vec![host.config_home.join("firejail"), system.clone()],
    };
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| SearchPath::from_env(&host.config_home).dirs[0].clone());
    let mut wanted: Vec<PathBuf> = Vec::new();
    if a.all {
        let mut v: Vec<PathBuf> = match std::fs::read_dir(&system) {
            Ok(rd) => rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "profile"))
                .collect(),
            Err(e) => return fail(format!("{}: cannot read: {e}", system.display())),
        };
        v.sort();
        wanted.extend(v);
    }
    for n in &a.names {
        if n.contains('/') || n.ends_with(".profile") && Path::new(n).exists() {
            wanted.push(PathBuf::from(n));
        } else {
            match dirs.find(&format!("{n}.profile"), Path::new("/")) {
                Some(p) => wanted.push(p),
                None => {
                    return fail(format!(
                        "no firejail profile '{n}' in {} or {}",
                        dirs.dirs[0].display(),
                        system.display()
                    ))
                }
            }
        }
    }
    if wanted.is_empty() {
        return fail("nothing to import: name profiles or give --all");
    }
    if let Err(e) = std::fs::create_dir_all(&out) {
        return fail(format!("{}: cannot create: {e}", out.display()));
    }
    let mut converted = 0usize;
    let mut lossy = 0usize;
    let mut kinds: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut refused: Vec<(String, String)> = Vec::new();
    // jail audit's exposure of each written profile: tight below 5.0 / 10, loose from it.
    let (mut tight, mut loose, mut unscored) = (0usize, 0usize, 0usize);
    // Written as `firejail-NAME`: jail has a profile of that name.
    let mut renamed = 0usize;
    for src in &wanted {
        let name = src
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let flat = match parse::flatten(src, &dirs) {
            Ok(f) => f,
            Err(e) => {
                refused.push((name, e));
                continue;
            }
        };
        let c = translate::translate(&flat.lines, &flat.files);
        // A name jail has a profile of its own for (`default`, `firefox`, `git` …): the
        // converted profile would take its place for every `jail run` that names it — for
        // `default`, every `jail run` at all. Written beside it as `firejail-NAME` unless
        // `--force`.
        let shadows = crate::profile::load::EMBEDDED
            .iter()
            .any(|(n, _)| *n == name);
        let name = if shadows && !a.force {
            format!("firejail-{name}")
        } else {
            name
        };
        let dest = out.join(format!("{name}.toml"));
        if dest.exists() && !a.force {
            refused.push((
                name,
                format!("{}: exists (--force replaces it)", dest.display()),
            ));
            continue;
        }
        if let Err(e) = write_atomic(&dest, &c.toml) {
            return fail(format!("{}: cannot write: {e}", dest.display()));
        }
        converted += 1;
        if !c.losses.is_empty() {
            lossy += 1;
        }
        for (k, n) in &c.losses {
            let e = kinds.entry(k.clone()).or_default();
            e.0 += 1;
            e.1 += n;
        }
        let exposure = exposure(&dest, &host);
        match exposure {
            Some(x) if x < 5.0 => tight += 1,
            Some(_) => loose += 1,
            None => unscored += 1,
        }
        if shadows && !a.force {
            renamed += 1;
        }
        if !a.all {
            println!(
                "{}: written {}; jail audit exposure {}; firejail's profile enables {} of its 12 main protections; {} lines not converted",
                printable(&name, false),
                printable(&dest.display().to_string(), false),
                exposure.map(|x| format!("{x:.1} / 10")).unwrap_or_else(|| "not scored (jail check refuses it here)".into()),
                c.firejail_level,
                c.losses.values().sum::<usize>()
            );
        }
    }
    let total = wanted.len();
    println!("\nprofiles: {total}");
    println!(
        "converted: {converted} ({:.1}%), of them with losses: {lossy}",
        100.0 * converted as f64 / total as f64
    );
    if !kinds.is_empty() {
        println!("losses by kind (profiles, lines):");
        for (k, (p, n)) in &kinds {
            println!("  {k:<28} {p:>5} {n:>6}");
        }
    }
    if renamed > 0 {
        println!("written as firejail-NAME: {renamed} (jail has profiles of these names; --force replaces them instead)");
    }
    println!(
        "jail audit: {tight} tight (exposure < 5.0 / 10), {loose} loose, {unscored} not scored (the profile does not load on this host)"
    );
    if !refused.is_empty() {
        println!("refused: {}", refused.len());
        for (n, why) in &refused {
            println!("  {}: {}", printable(n, false), printable(why, false));
        }
        return 1;
    }
    0
}

/// `jail audit`'s exposure score of a written profile, when it loads and compiles here.
fn exposure(path: &Path, host: &Host) -> Option<f64> {
    let search = SearchPath::from_env(&host.config_home);
    let spec = path.to_str()?;
    let l = crate::profile::load(&search, spec, &crate::profile::Overrides::default()).ok()?;
    let plan = crate::plan::compile(&l, &["/bin/true".to_string()], host).ok()?;
    Some(crate::commands::audit::audit(&plan, host).score)
}

/// Writes `text` to a temporary file beside `dest` and renames it over: never a half-written
/// profile.
fn write_atomic(dest: &Path, text: &str) -> std::io::Result<()> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.jail-import-{}",
        dest.file_name()
            .map(|s| s.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    let r = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, dest)
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}
