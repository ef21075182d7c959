//! Whether the jail binary a wrapper names is safe to run outside any sandbox.

/// Whether no sandbox can replace the launcher at `path`: the file and every folder above it
/// are root's and not writable by others (a root-owned sticky folder such as /tmp counts: only
/// root may rename what root owns in it), or it lies in a folder jail keeps read-only in every
/// sandbox (a `$PATH` folder of the home such as ~/.cargo/bin).
pub(super) fn launcher_is_safe(path: &std::path::Path, policy_dirs: &[std::path::PathBuf]) -> bool {
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
