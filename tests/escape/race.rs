//! Class 15 (issue 12, finding 2): time-of-check/time-of-use between planning and mounting.
//! A racer swaps a granted folder (or a folder above it) for a symlink to `/` in a loop while
//! jail launches with that grant; the sandbox must never see anything but the grant's own
//! content there (a launch may be refused: that is the fail-closed answer to a race).
use super::*;
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Host folders that no sandbox of this test is granted.
const HOST_ONLY: &str = "/boot /var /srv /mnt /work /sys";

/// Atomically exchanges two names (renameat2 RENAME_EXCHANGE), as fast as it can, until told
/// to stop.
fn racer(a: PathBuf, b: PathBuf, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let (ca, cb) = (
            CString::new(a.as_os_str().as_encoded_bytes()).unwrap(),
            CString::new(b.as_os_str().as_encoded_bytes()).unwrap(),
        );
        let mut n = 0u64;
        while !stop.load(Ordering::Relaxed) {
            // SAFETY: plain syscall on two NUL-terminated paths that outlive it.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_renameat2,
                    libc::AT_FDCWD,
                    ca.as_ptr(),
                    libc::AT_FDCWD,
                    cb.as_ptr(),
                    libc::RENAME_EXCHANGE,
                )
            };
            if r == 0 {
                n += 1;
            }
        }
        n
    })
}

/// Launches `launches` sandboxes granting `grant` read-only while `swap_a` and `swap_b` are
/// exchanged; returns (launches that ran, launches refused).
fn race(u: &User, grant: &Path, swap_a: &Path, swap_b: &Path, launches: usize) -> (usize, usize) {
    let stop = Arc::new(AtomicBool::new(false));
    let h = racer(swap_a.into(), swap_b.into(), stop.clone());
    let g = grant.to_string_lossy().into_owned();
    let (mut ran, mut refused) = (0, 0);
    for i in 0..launches {
        let script = format!(
            "ls -a {g}; for p in {HOST_ONLY}; do test -e $p && echo VISIBLE $p; done; true"
        );
        let r = Jail::new(u)
            .args([
                "run",
                "--chdir",
                "/",
                "--ro-bind",
                &g,
                "--",
                "/bin/sh",
                "-c",
                &script,
            ])
            .output();
        if r.code() == 0 {
            ran += 1;
            let names: Vec<String> = r.stdout().lines().map(str::to_string).collect();
            assert!(
                names.iter().all(|n| n == "." || n == ".." || n == "granted-only"),
                "[{}] ESCAPE at launch {i}: the sandbox showed {names:?} (the host's / or a folder outside the grant)",
                u.name
            );
        } else {
            assert_eq!(
                r.code(),
                125,
                "[{}] unexpected exit: {}",
                u.name,
                r.stderr()
            );
            refused += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let swaps = h.join().unwrap();
    assert!(swaps > 1000, "the racer barely ran ({swaps} swaps)");
    (ran, refused)
}

fn setup(u: &User) -> PathBuf {
    let d = tempdir(u);
    write_file(u, &d.join("mid/etc"), "granted-only", "x");
    std::os::unix::fs::symlink("/", d.join("evil")).unwrap();
    std::os::unix::fs::symlink("/", d.join("evilmid")).unwrap();
    d
}

#[test]
fn grant_swapped_for_symlink_during_launches() {
    each_user(|u| {
        let d = setup(u);
        // The proof: the racer's symlink leads to the host's / when followed.
        let seen: Vec<String> = std::fs::read_dir(d.join("evil"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(seen.iter().any(|n| n == "proc") && seen.iter().any(|n| n == "etc"));
        let grant = d.join("mid/etc");
        let (ran, refused) = race(u, &grant, &grant, &d.join("evil"), 300);
        eprintln!("[{}] grant swap: {ran} ran, {refused} refused", u.name);
        // A folder above the grant swapped instead: mid/etc then is the host's /etc.
        let (ran, refused) = race(u, &grant, &d.join("mid"), &d.join("evilmid"), 250);
        eprintln!("[{}] parent swap: {ran} ran, {refused} refused", u.name);
        let _ = std::fs::remove_dir_all(&d);
    });
}
