//! Policy paths reached through symlinks (GNU stow dotfiles), on pretend hosts: what they lead
//! to is protected too, and a walk that cannot be followed inside a grant is refused.

use super::tests::{host, plan_of};
use super::*;
use crate::host::{HostFs, Kind};
use crate::plan::landlock::PathClass;
use crate::plan::mounts::Access;

/// A pretend filesystem of real paths; symlinks hold what they point to (relative or not).
struct Links(Vec<(&'static str, Kind)>);
impl HostFs for Links {
    fn kind(&self, p: &Path) -> Option<Kind> {
        if p == Path::new("/") {
            return Some(Kind::Dir);
        }
        self.0
            .iter()
            .find(|(q, _)| Path::new(q) == p)
            .map(|(_, k)| k.clone())
    }
    fn canonicalize(&self, p: &Path) -> Option<PathBuf> {
        let f = self.follow(p).ok()?;
        self.kind(&f.real).map(|_| f.real)
    }
    fn owner_mode(&self, _: &Path) -> Option<(u32, u32)> {
        Some((1234, 0o755))
    }
    fn list(&self, p: &Path) -> Option<Vec<(std::ffi::OsString, Kind)>> {
        Some(
            self.0
                .iter()
                .filter(|(q, _)| Path::new(q).parent() == Some(p))
                .map(|(q, k)| (Path::new(q).file_name().unwrap().to_os_string(), k.clone()))
                .collect(),
        )
    }
}

fn d() -> Kind {
    Kind::Dir
}
fn f() -> Kind {
    Kind::File
}
fn l(to: &str) -> Kind {
    Kind::Symlink(PathBuf::from(to))
}

fn stow_host(extra: Vec<(&'static str, Kind)>) -> Host {
    let mut tree = vec![
        ("/home", d()),
        ("/home/ann", d()),
        ("/home/ann/dotfiles", d()),
        ("/home/ann/dotfiles/bashrc", f()),
        ("/home/ann/dotfiles/ssh", d()),
        ("/home/ann/.bashrc", l("/home/ann/dotfiles/bashrc")),
        ("/home/ann/.bash_aliases", l("dotfiles/bash_aliases")),
        ("/home/ann/.ssh", l("dotfiles/ssh")),
    ];
    tree.extend(extra);
    Host {
        fs: Box::new(Links(tree)),
        landlock_abi: Some(5),
        ..host(Some("/run/user/1234"))
    }
}

const GRANT: &str = "[filesystem]\nrw = [\"~/dotfiles\"]\n";

fn step_at<'a>(p: &'a Plan, at: &str) -> Option<&'a MountStep> {
    p.mounts.iter().find(|m| m.target() == Path::new(at))
}

/// The folders Landlock keeps from gaining entries.
fn guarded(p: &Plan) -> Vec<PathBuf> {
    p.landlock
        .path_rules
        .iter()
        .filter(|r| r.classes.contains(&PathClass::Guarded))
        .map(|r| r.path.clone())
        .collect()
}

fn compile_err(h: &Host, toml: &str) -> String {
    let loaded = Loaded {
        name: "p".into(),
        profile: toml::from_str(toml).unwrap(),
        ..Default::default()
    };
    compile(&loaded, &["/bin/true".into()], h)
        .unwrap_err()
        .to_string()
}

#[test]
fn targets_of_symlinked_dotfiles_are_protected() {
    let h = stow_host(vec![]);
    let p = plan_of(&h, GRANT);
    // An existing target: read-only, saying whose target it is.
    match step_at(&p, "/home/ann/dotfiles/bashrc") {
        Some(MountStep::Bind {
            access: Access::Ro,
            why,
            ..
        }) => assert!(why.contains("target of /home/ann/.bashrc"), "{why}"),
        s => panic!("bashrc not protected: {s:?}"),
    }
    assert!(matches!(
        step_at(&p, "/home/ann/dotfiles/ssh"),
        Some(MountStep::Bind {
            access: Access::Ro,
            ..
        })
    ));
    // A dangling one: what it names is kept from being created.
    assert!(matches!(
        step_at(&p, "/home/ann/dotfiles/bash_aliases"),
        Some(MountStep::Placeholder { dir: false, .. })
    ));
    // The grant itself stays writable (nothing guards its top level here).
    assert!(guarded(&p).is_empty(), "{:?}", guarded(&p));
    // After the grant (parent before child).
    let grant = p
        .mounts
        .iter()
        .position(|m| m.target() == Path::new("/home/ann/dotfiles"))
        .unwrap();
    let prot = p
        .mounts
        .iter()
        .position(|m| m.target() == Path::new("/home/ann/dotfiles/bashrc"))
        .unwrap();
    assert!(grant < prot);
}

#[test]
fn a_symlinked_config_folder_is_guarded_where_it_leads() {
    let h = Host {
        config_home: "/home/ann/.config".into(),
        ..stow_host(vec![
            ("/home/ann/.config", l("dotfiles/config")),
            ("/home/ann/dotfiles/config", d()),
            ("/home/ann/dotfiles/config/systemd", d()),
        ])
    };
    let p = plan_of(&h, GRANT);
    // Read-only as a whole (below the home's tmpfs Landlock cannot guard it), a mount point
    // that cannot be renamed away; nothing is made inside it, the grant's top stays open.
    match step_at(&p, "/home/ann/dotfiles/config") {
        Some(MountStep::Bind {
            access: Access::Ro,
            why,
            ..
        }) => assert!(why.contains("target of /home/ann/.config"), "{why}"),
        s => panic!("config not protected: {s:?}"),
    }
    assert!(!p.mounts.iter().any(
        |m| matches!(m, MountStep::Placeholder { target, .. } if target.starts_with("/home/ann/dotfiles/config"))
    ));
    assert!(guarded(&p).is_empty(), "{:?}", guarded(&p));
}

#[test]
fn config_home_set_inside_a_grant_is_read_only() {
    let h = Host {
        config_home: "/home/ann/dotfiles/config".into(),
        ..stow_host(vec![("/home/ann/dotfiles/config", d())])
    };
    let p = plan_of(&h, GRANT);
    assert!(matches!(
        step_at(&p, "/home/ann/dotfiles/config"),
        Some(MountStep::Bind {
            access: Access::Ro,
            ..
        })
    ));
}

#[test]
fn a_target_deep_in_a_grant_cannot_be_made_anew() {
    let h = Host {
        fs: Box::new(Links(vec![
            ("/home", d()),
            ("/home/ann", d()),
            ("/home/ann/dotfiles", d()),
            ("/home/ann/dotfiles/a", d()),
            ("/home/ann/.ssh", l("dotfiles/a/ssh")),
        ])),
        ..stow_host(vec![])
    };
    let p = plan_of(&h, GRANT);
    // `a` could be renamed and a fresh `a/ssh` made: nothing new in the grant's top level or
    // in `a` (so no placeholder is needed for the missing ssh).
    assert!(guarded(&p).contains(&PathBuf::from("/home/ann/dotfiles/a")));
    assert!(guarded(&p).contains(&PathBuf::from("/home/ann/dotfiles")));
}

#[test]
fn a_symlink_in_a_writable_home_is_kept_from_being_replaced() {
    let h = stow_host(vec![]);
    let p = plan_of(&h, "[filesystem]\nrw = [\"~\"]\n");
    // The home gains no entries: the symlinks cannot be swapped for files of the sandbox.
    assert!(guarded(&p).contains(&PathBuf::from("/home/ann")));
    assert!(step_at(&p, "/home/ann/dotfiles/bashrc").is_some());
}

#[test]
fn a_loop_inside_a_grant_is_refused() {
    let h = Host {
        fs: Box::new(Links(vec![
            ("/home", d()),
            ("/home/ann", d()),
            ("/home/ann/dotfiles", d()),
            ("/home/ann/.ssh", l("dotfiles/ssh")),
            ("/home/ann/dotfiles/ssh", l("/home/ann/.ssh")),
        ])),
        ..stow_host(vec![])
    };
    let e = compile_err(&h, GRANT);
    assert!(
        e.contains("/home/ann/.ssh cannot be followed") && e.contains("fix or remove"),
        "{e}"
    );
    assert!(!e.contains('\n'), "{e}");
    // Where no grant reaches it, the sandbox cannot change it: not refused.
    plan_of(&h, "[filesystem]\nro = [\"~/dotfiles\"]\n");
}
