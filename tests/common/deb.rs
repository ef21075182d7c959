//! The Debian package, built once per test run with `cargo deb` (the cargo-deb crate; .ci/run
//! installs it) from this tree, for tests/package.rs and the VM test that installs it.
//!
//! `JAIL_DEB=FILE` uses a package built beforehand instead. The build has a target folder of its
//! own (`<target>/package`, a release build), so it never waits on the test build's lock; a
//! second call in the same run finds the build done and only repacks.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The outer target folder: `<target>/debug/jail` → `<target>`.
fn target_dir() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_jail"));
    bin.parent().and_then(Path::parent).unwrap().to_path_buf()
}

/// The .deb to test: `$JAIL_DEB`, else built now. `None` (after saying it skipped) when
/// cargo-deb is missing; under JAIL_TEST_STRICT=1 that fails the test.
pub fn package() -> Option<PathBuf> {
    // Once per test process: its tests run in parallel and would repack one file at once.
    static DEB: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    DEB.get_or_init(build).clone()
}

fn build() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("JAIL_DEB") {
        let p = PathBuf::from(p);
        assert!(p.is_file(), "JAIL_DEB={} is not a file", p.display());
        return Some(p);
    }
    if !super::need("cargo-deb") {
        return None;
    }
    let dir = target_dir().join("package");
    let out = dir.join("jail.deb");
    let t0 = std::time::Instant::now();
    let st = Command::new("cargo")
        .args(["deb", "--quiet", "--output"])
        .arg(&out)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", &dir)
        .status()
        .expect("starting cargo deb");
    assert!(st.success(), "cargo deb failed ({st})");
    eprintln!(
        "built {} with cargo deb in {:.0} s",
        out.display(),
        t0.elapsed().as_secs_f64()
    );
    Some(out)
}
