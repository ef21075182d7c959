//! Class 4: nested namespaces, setns, clone3, unshare and the new mount API are refused unless
//! the profile opts in with `namespaces.nested`.
use super::*;

fn ns(kind: &str) {
    each_user(|u| {
        let o = outside_ns(u, &["ns", kind]);
        works(&o, kind);
        let r = inside(u, &[], &["ns", kind]);
        refused(&r, kind);
    });
}

#[test]
fn unshare_user() {
    ns("user");
}
#[test]
fn unshare_mount() {
    ns("mount");
}
#[test]
fn unshare_net() {
    ns("net");
}
#[test]
fn unshare_pid() {
    ns("pid");
}
#[test]
fn unshare_uts() {
    ns("uts");
}
#[test]
fn unshare_ipc() {
    ns("ipc");
}
#[test]
fn unshare_cgroup() {
    ns("cgroup");
}
#[test]
fn clone_with_namespace_flag() {
    ns("clone");
}
#[test]
fn clone3() {
    ns("clone3");
}
#[test]
fn setns() {
    ns("setns");
}

/// The refusal is the policy's: with `nested = ["user"]` the same unshare works inside.
#[test]
fn nested_opt_in_allows_user() {
    each_user(|u| {
        let dir = tempdir(u);
        let p = profile_file(
            u,
            &dir,
            "nested",
            "include = [\"base\"]\n[namespaces]\nnested = [\"user\"]\n",
        );
        let r = inside(u, &["--profile", &p], &["ns", "user"]);
        assert_eq!(
            verdict(&r.stdout(), "user").as_deref(),
            Some("ok"),
            "[{}] nested = [\"user\"] did not allow unshare: {}{}",
            u.name,
            r.stdout(),
            r.stderr()
        );
        let r = inside(u, &["--profile", &p], &["ns", "mount"]);
        refused(&r, "mount");
    });
}

#[test]
fn new_mount_api() {
    each_user(|u| {
        let o = outside_ns(u, &["mountapi", "/mnt"]);
        for s in ["fsopen", "fsmount", "move_mount", "open_tree", "fspick"] {
            works(&o, s);
        }
        let r = inside(u, &["--env", "ESCAPE_THROWAWAY=1"], &["mountapi", "/tmp"]);
        for s in ["fsopen", "open_tree", "fspick"] {
            refused(&r, s);
        }
        assert!(
            verdict(&r.stdout(), "move_mount").is_none(),
            "[{}] ESCAPE: move_mount reached: {}",
            u.name,
            r.stdout()
        );
    });
}
