//! Embeds every `profiles/*.toml` into the binary so a freshly built `jail` works with no
//! files installed (SPEC §2, item 4 of the search path), and sets `JAIL_COMMIT` (shown by
//! `jail --version`) to the commit being built.
use std::{env, fs, path::Path, process::Command};

fn main() {
    commit();
    let dir = Path::new("profiles");
    println!("cargo:rerun-if-changed=profiles");
    let mut entries: Vec<_> = fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    entries.retain(|p| p.extension().is_some_and(|e| e == "toml"));
    entries.sort();
    let mut out = String::from("/// (file name without .toml, contents), sorted by name.\npub static EMBEDDED: &[(&str, &str)] = &[\n");
    for p in &entries {
        println!("cargo:rerun-if-changed={}", p.display());
        let name = p.file_stem().unwrap().to_string_lossy();
        let abs = fs::canonicalize(p).unwrap();
        out.push_str(&format!(
            "    ({:?}, include_str!({:?})),\n",
            name,
            abs.display().to_string()
        ));
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").unwrap()).join("embedded_profiles.rs");
    fs::write(dest, out).unwrap();
}

/// `JAIL_COMMIT`: `$JAIL_COMMIT` when set (a build from a tarball can name its commit), else the
/// short hash of HEAD with `-dirty` when tracked files differ from it, else `unknown` (no git, or
/// not a repository). Re-run only when HEAD, the branch it names or the index moves, so a build
/// of a given tree always says the same.
fn commit() {
    println!("cargo:rerun-if-env-changed=JAIL_COMMIT");
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let value = match env::var("JAIL_COMMIT") {
        Ok(v) if !v.is_empty() => v,
        _ => match git(&["rev-parse", "--short=7", "HEAD"]) {
            Some(hash) if !hash.is_empty() => {
                for (what, rel) in [("--git-dir", "HEAD"), ("--git-dir", "index")] {
                    if let Some(d) = git(&["rev-parse", what]) {
                        println!("cargo:rerun-if-changed={d}/{rel}");
                    }
                }
                if let (Some(d), Some(r)) = (
                    git(&["rev-parse", "--git-common-dir"]),
                    git(&["symbolic-ref", "-q", "HEAD"]),
                ) {
                    let loose = Path::new(&d).join(&r);
                    let watched = if loose.exists() {
                        loose
                    } else {
                        Path::new(&d).join("packed-refs")
                    };
                    println!("cargo:rerun-if-changed={}", watched.display());
                }
                let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                    .is_some_and(|s| !s.is_empty());
                format!("{hash}{}", if dirty { "-dirty" } else { "" })
            }
            _ => "unknown".into(),
        },
    };
    println!("cargo:rustc-env=JAIL_COMMIT={value}");
}
