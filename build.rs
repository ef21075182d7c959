//! Embeds every `profiles/*.toml` into the binary so a freshly built `jail` works with no
//! files installed (SPEC §2, item 4 of the search path).
use std::{env, fs, path::Path};

fn main() {
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
