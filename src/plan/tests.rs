use super::*;
use crate::host::{HostFs, Kind};

struct NoFs;
impl HostFs for NoFs {
    fn kind(&self, _: &Path) -> Option<Kind> {
        None
    }
    fn canonicalize(&self, _: &Path) -> Option<PathBuf> {
        None
    }
}

pub(super) fn host(runtime: Option<&str>) -> Host {
    Host {
        uid: 1234,
        gid: 1234,
        user: "ann".into(),
        home: "/home/ann".into(),
        real_home: "/home/ann".into(),
        canonical_homes: vec![],
        cwd: "/home/ann/src".into(),
        runtime_dir: runtime.map(PathBuf::from),
        config_home: "/home/ann/.config".into(),
        data_home: "/home/ann/.local/share".into(),
        user_dirs: [("DOWNLOADS".to_string(), PathBuf::from("/home/ann/Dl"))].into(),
        env: Default::default(),
        landlock_abi: None,
        hard_rlimits: Default::default(),
        fs: Box::new(NoFs),
        cgroup: crate::plan::cgroup::no_backend,
        session_optional: false,
        mdwe: true,
        pid: 4242,
    }
}

#[test]
fn expand_every_variable() {
    let h = host(Some("/run/user/1234"));
    for (from, to) in [
        ("~", "/home/ann"),
        ("~/x", "/home/ann/x"),
        ("/a/~", "/a/~"),
        ("~ann", "~ann"),
        ("${HOME}/.ssh", "/home/ann/.ssh"),
        ("/u/${USER}/${UID}", "/u/ann/1234"),
        ("${XDG_RUNTIME_DIR}/bus", "/run/user/1234/bus"),
        ("${XDG_CONFIG_HOME}", "/home/ann/.config"),
        ("${XDG_DATA_HOME}", "/home/ann/.local/share"),
        ("${DOWNLOADS}", "/home/ann/Dl"),
        ("${PWD}", "/home/ann/src"),
        ("$HOME", "$HOME"),
    ] {
        assert_eq!(expand(from, &h).as_deref(), Ok(to), "{from}");
    }
    assert!(expand("${SHELL}", &h)
        .unwrap_err()
        .contains("unknown variable ${SHELL}"));
    assert!(expand("${HOME", &h).unwrap_err().contains("unclosed"));
    assert!(expand("${}", &h).unwrap_err().contains("unknown variable"));
    let e = expand("${XDG_RUNTIME_DIR}", &host(None)).unwrap_err();
    assert!(e.contains("not set"), "{e}");
}

#[test]
fn paths_must_be_absolute_and_are_normalized() {
    let h = host(None);
    let cx = Ctx {
        host: &h,
        warnings: vec![],
    };
    let l = |s: &str| L::new(s.to_string(), Origin::default());
    assert_eq!(cx.path(&l("/a/./b/../c")).unwrap(), PathBuf::from("/a/c"));
    assert_eq!(cx.path(&l("/../../etc")).unwrap(), PathBuf::from("/etc"));
    assert_eq!(cx.path(&l("~/../x")).unwrap(), PathBuf::from("/home/x"));
    for bad in ["", "rel", "./x", "?/x"] {
        assert!(
            cx.path(&l(bad))
                .unwrap_err()
                .msg
                .contains("not an absolute path"),
            "{bad}"
        );
    }
}

/// Every path under /g exists as a folder and is its own real path.
struct BigFs;
impl HostFs for BigFs {
    fn kind(&self, p: &Path) -> Option<Kind> {
        (p.starts_with("/g") || p == Path::new("/")).then_some(Kind::Dir)
    }
    fn canonicalize(&self, p: &Path) -> Option<PathBuf> {
        self.kind(p).map(|_| p.to_path_buf())
    }
}

/// The work of compiling a profile of `n` read-only grants, `n/10` writable ones, `n/10`
/// tmpfs, `n/10` hides inside grants, merged over a base that a `.local` trims by `n/10`
/// `!X` removals: path comparisons and index probes, counted (not timed).
fn compile_work(n: usize) -> u64 {
    use crate::profile::Merge;
    let q = |v: Vec<String>| {
        v.iter()
            .map(|s| format!("{s:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let ro: Vec<String> = (0..n).map(|i| format!("/g/ro{i}")).collect();
    let rw: Vec<String> = (0..n / 10).map(|i| format!("/g/rw{i}")).collect();
    let tmpfs: Vec<String> = (0..n / 10).map(|i| format!("/g/t{i}")).collect();
    let hide: Vec<String> = (0..n / 10)
        .map(|i| format!("/g/ro{}/secret", i * 7))
        .collect();
    let base = format!(
        "[filesystem]\nro = [{}]\nrw = [{}]\ntmpfs = [{}]\nhide = [{}]\n",
        q(ro),
        q(rw),
        q(tmpfs),
        q(hide)
    );
    let local = format!(
        "[filesystem]\nro = [{}]\n",
        q((0..n / 10)
            .map(|i| format!("!/g/ro{}", i * 3 + 1))
            .collect())
    );
    let h = Host {
        fs: Box::new(BigFs),
        ..host(None)
    };
    let start = work_done();
    let mut p = profile::Profile::default();
    p.absorb(toml::from_str(&base).unwrap());
    p.absorb(toml::from_str(&local).unwrap());
    let loaded = Loaded {
        name: "big".into(),
        profile: p,
        ..Default::default()
    };
    let plan = compile(&loaded, &["/bin/true".into()], &h).unwrap();
    assert!(plan.mounts.len() > n, "{} steps", plan.mounts.len());
    work_done() - start
}

#[test]
fn an_argument_with_a_nul_byte_is_refused() {
    let loaded = Loaded {
        name: "nul".into(),
        ..Default::default()
    };
    let e = compile(&loaded, &["/bin/echo".into(), "a\0b".into()], &host(None)).unwrap_err();
    assert!(
        e.to_string()
            .contains("argument 1 of COMMAND contains a NUL byte"),
        "{e}"
    );
}

#[test]
fn compile_work_grows_linearly_with_the_grants() {
    let small = compile_work(1_000);
    let big = compile_work(10_000);
    // Linear work gives 10x (plus a little for deeper sorting); the quadratic merge,
    // hide and Landlock loops of before gave ~100x.
    assert!(
        big <= small * 12,
        "10,000 grants cost {big} comparisons, 1,000 cost {small}: {:.1}x",
        big as f64 / small as f64
    );
}

#[test]
fn root_with_nested_user_namespaces_is_an_ordinary_id_inside() {
    let h = Host {
        uid: 0,
        gid: 0,
        ..host(None)
    };
    let plan_of = |toml: &str| plan_of(&h, toml);
    let p = plan_of("[namespaces]\nnested = [\"user\"]\n");
    assert_eq!((p.ids.uid_inside, p.ids.uid_outside), (ROOT_NESTED_ID, 0));
    assert_eq!(p.ids.gid_inside, ROOT_NESTED_ID);
    let p = plan_of("");
    assert_eq!((p.ids.uid_inside, p.ids.uid_outside), (0, 0));
}

#[test]
fn no_refusal_report_under_a_cpu_limit() {
    let h = host(None);
    let plan_of_host = plan_of;
    let plan_of = |toml: &str| plan_of_host(&h, toml);
    assert!(plan_of("").seccomp.report);
    let p = plan_of("[limits]\ncpus = 0.5\nenforce = \"best-effort\"\n");
    assert!(!p.seccomp.report);
    assert!(
        p.warnings.iter().any(|w| w.contains("no refusal report")),
        "{:?}",
        p.warnings
    );
    // Under `ulimit -n 16` the report's socket would not fit.
    let mut low = host(None);
    low.hard_rlimits
        .insert(profile::RlimitResource::Nofile, Some(16));
    let p = plan_of_host(&low, "");
    assert!(!p.seccomp.report);
    assert!(
        p.warnings.iter().any(|w| w.contains("fewer than 64")),
        "{:?}",
        p.warnings
    );
}

/// The plan of a one-file profile for `/bin/true`.
pub(super) fn plan_of(h: &Host, toml: &str) -> Plan {
    let loaded = Loaded {
        name: "p".into(),
        profile: toml::from_str(toml).unwrap(),
        ..Default::default()
    };
    compile(&loaded, &["/bin/true".into()], h).unwrap()
}

/// A pretend filesystem holding exactly `entries` (and the folders above them).
struct MapFs(Vec<(PathBuf, Kind)>);
impl HostFs for MapFs {
    fn kind(&self, p: &Path) -> Option<Kind> {
        self.0
            .iter()
            .find(|(q, _)| q == p)
            .map(|(_, k)| k.clone())
            .or_else(|| {
                self.0
                    .iter()
                    .any(|(q, _)| q.starts_with(p))
                    .then_some(Kind::Dir)
            })
    }
    fn canonicalize(&self, p: &Path) -> Option<PathBuf> {
        self.kind(p).map(|_| p.to_path_buf())
    }
}

fn host_with(entries: &[(&str, Kind)]) -> Host {
    let mut h = host(None);
    h.fs = Box::new(MapFs(
        entries
            .iter()
            .map(|(p, k)| (PathBuf::from(p), k.clone()))
            .collect(),
    ));
    h
}

fn compile_err(h: &Host, toml: &str) -> String {
    let loaded = Loaded {
        name: "p".into(),
        profile: toml::from_str(toml).unwrap(),
        ..Default::default()
    };
    compile(&loaded, &["/bin/true".into()], h).unwrap_err().msg
}

#[test]
fn a_plus_grant_creates_what_is_missing_inside_the_home_only() {
    let h = host_with(&[("/home/ann/.cache", Kind::Dir)]);
    let p = plan_of(
        &h,
        "[filesystem]\nrw = [\"+~/.mozilla\", \"+~/.cache/mozilla\"]",
    );
    let made: Vec<&Path> = p.create.iter().map(|c| c.path.as_path()).collect();
    assert_eq!(
        made,
        [
            Path::new("/home/ann/.mozilla"),
            Path::new("/home/ann/.cache/mozilla")
        ]
    );
    assert!(p.create.iter().all(|c| c.base == Path::new("/home/ann")));
    // Bound like any grant, once it exists.
    assert!(p.mounts.iter().any(|m| matches!(m,
        MountStep::Bind { source, access: mounts::Access::Rw, .. } if source == Path::new("/home/ann/.mozilla"))));
    // Present: nothing to create, the same bind.
    let h = host_with(&[("/home/ann/.mozilla", Kind::Dir)]);
    let p = plan_of(&h, "[filesystem]\nrw = [\"+~/.mozilla\"]");
    assert!(p.create.is_empty());
    assert!(p
        .mounts
        .iter()
        .any(|m| m.target() == Path::new("/home/ann/.mozilla")));
    // Outside the home, through a symlink, or not rw: refused.
    let h = host_with(&[("/home/ann/.mozilla", Kind::Symlink("/elsewhere".into()))]);
    let e = compile_err(&h, "[filesystem]\nrw = [\"+~/.mozilla/firefox\"]");
    assert!(e.contains("/home/ann/.mozilla is a symlink"), "{e}");
    let h = host_with(&[]);
    let e = compile_err(&h, "[filesystem]\nrw = [\"+/opt/app\"]");
    assert!(e.contains("only inside your home"), "{e}");
    let e = compile_err(&h, "[filesystem]\nrw = [\"+~\"]");
    assert!(e.contains("only inside your home"), "{e}");
    let e = compile_err(&h, "[filesystem]\nro = [\"+~/.mozilla\"]");
    assert!(e.contains("for rw grants only"), "{e}");
}

#[test]
fn a_removal_takes_back_a_plus_grant() {
    let h = host_with(&[]);
    let mut base: crate::profile::Profile =
        toml::from_str("[filesystem]\nrw = [\"+~/.mozilla\"]").unwrap();
    let later: crate::profile::Profile =
        toml::from_str("[filesystem]\nrw = [\"!?~/.mozilla\"]").unwrap();
    crate::profile::Merge::absorb(&mut base, later);
    assert!(base.filesystem.rw.is_empty());
    let p = plan_of(&h, "");
    assert!(p.create.is_empty());
}

#[test]
fn a_private_home_is_kept_under_the_profiles_name_below_the_grants() {
    let h = host_with(&[]);
    let p = plan_of(
        &h,
        "[filesystem]\nhome = \"private\"\ntmpfs = [\"~\"]\nrw = [\"+~/.mozilla\"]",
    );
    let kept = Path::new("/home/ann/.local/share/jail/homes/p");
    assert!(p.create.iter().any(|c| c.path == kept));
    let at = |t: &str| p.mounts.iter().position(|m| m.target() == Path::new(t));
    let home = at("/home/ann").expect("the home is bound");
    assert!(matches!(&p.mounts[home],
        MountStep::Bind { source, access: mounts::Access::Rw, .. } if source == kept));
    // No empty tmpfs over it, and the grant comes after it (so it shows on top).
    assert!(!p
        .mounts
        .iter()
        .any(|m| matches!(m, MountStep::Tmpfs { .. }) && m.target() == Path::new("/home/ann")));
    assert!(at("/home/ann/.mozilla").unwrap() > home);
    // Nothing re-binds it read-only, though it lies in jail's data folder.
    assert!(!p.mounts.iter().any(|m| matches!(m,
        MountStep::Bind { source, access: mounts::Access::Ro, .. } if source == kept)));
    // A name that cannot be a folder is refused.
    let loaded = Loaded {
        name: "../x".into(),
        profile: toml::from_str("[filesystem]\nhome = \"private\"").unwrap(),
        ..Default::default()
    };
    let e = compile(&loaded, &["/bin/true".into()], &h).unwrap_err().msg;
    assert!(e.contains("cannot name a folder"), "{e}");
}
