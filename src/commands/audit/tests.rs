use super::*;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

/// A fresh home with the folders the test profiles grant, and a Host that points at it;
/// all of it is removed when the returned guard drops.
fn setup() -> (PathBuf, Host, crate::util::ScratchDir) {
    let base = crate::util::ScratchDir::new("jail-audit");
    let home = base.join("home");
    for d in [".ssh", "Downloads", "work", ".profiles"] {
        std::fs::create_dir_all(home.join(d)).unwrap();
    }
    std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut host = Host::probe();
    // As `jail audit` itself: the profile is judged, not this session.
    host.session_optional = true;
    host.home = home.clone();
    host.cwd = base.to_path_buf();
    host.user_dirs
        .insert("DOWNLOADS".into(), home.join("Downloads"));
    host.config_home = home.join(".config");
    host.runtime_dir = Some(base.join("run"));
    (home, host, base)
}

fn report_of(toml: &str) -> Report {
    report_on(toml, |_| {})
}

/// The audit of `toml` on the test host as `adjust` changes it.
fn report_on(toml: &str, adjust: impl FnOnce(&mut Host)) -> Report {
    let (home, mut host, _base) = setup();
    adjust(&mut host);
    let dir = home.join(".profiles");
    std::fs::write(dir.join("t.toml"), toml).unwrap();
    let search = SearchPath {
        dirs: vec![dir],
        builtin: true,
    };
    let l = profile::load(&search, "t", &Overrides::default())
        .map_err(|(e, _)| e.msg)
        .unwrap();
    let plan = plan::compile(&l, &["/bin/true".into()], &host)
        .map_err(|e| e.msg)
        .unwrap();
    audit(&plan, &host)
}

fn exposed(r: &Report) -> Vec<&'static str> {
    r.checks
        .iter()
        .filter(|c| c.exposed)
        .map(|c| c.id)
        .collect()
}

const OPEN: &str = r#"
description = "everything a desktop app could ask for"
include = ["base"]
[namespaces]
net = false
[filesystem]
rw = ["~"]
"#;

#[test]
fn scopes_opted_out_or_missing_are_exposures() {
    let at = |toml: &str, abi: Option<u32>| report_on(toml, |h| h.landlock_abi = abi);
    let why = |r: &Report, id: &str| r.checks.iter().find(|c| c.id == id).unwrap().why.clone();
    let shared = "include = [\"base\"]\n[namespaces]\nnet = false\npid = false\n";
    // The defaults scope both: nothing exposed on a kernel with scopes.
    let r = at(shared, Some(6));
    assert!(
        !exposed(&r).contains(&"abstract-sockets"),
        "{:?}",
        exposed(&r)
    );
    assert!(!exposed(&r).contains(&"signal-host"), "{:?}", exposed(&r));
    // Opted out: exposed, and the why says so.
    let r = at(
        &format!("{shared}[landlock]\nscope = [\"!abstract-unix-socket\", \"!signal\"]\n"),
        Some(6),
    );
    assert!(exposed(&r).contains(&"abstract-sockets"));
    assert!(exposed(&r).contains(&"signal-host"));
    assert!(
        why(&r, "signal-host").contains("opts out"),
        "{}",
        why(&r, "signal-host")
    );
    // A kernel without scopes: exposed, with the kernel named.
    let r = at(shared, Some(5));
    assert!(exposed(&r).contains(&"abstract-sockets"));
    assert!(why(&r, "abstract-sockets").contains("ABI 6"));
    // Own namespaces: the scopes' absence costs nothing.
    let r = at(
        "include = [\"base\"]\n[landlock]\nscope = [\"!abstract-unix-socket\", \"!signal\"]\n",
        Some(6),
    );
    assert!(!exposed(&r).contains(&"abstract-sockets"));
    assert!(!exposed(&r).contains(&"signal-host"));
}

#[test]
fn every_check_has_a_weight_and_runs_once() {
    let r = report_of("include = [\"default\"]");
    assert_eq!(r.checks.len(), CHECKS.len());
    for def in CHECKS {
        let (id, w) = (def.id.name(), def.weight);
        assert!(w > 0.0 && w < 10.0, "{id}");
        assert_eq!(r.checks.iter().filter(|c| c.id == id).count(), 1, "{id}");
    }
}

#[test]
fn builtin_default_scores_low() {
    let r = report_of("include = [\"default\"]");
    assert!(
        r.score < 3.0,
        "default scores {}: {:?}",
        r.score,
        exposed(&r)
    );
    assert!(!exposed(&r).contains(&"home-read"), "{:?}", exposed(&r));
    assert!(!exposed(&r).contains(&"net-host"));
}

#[test]
fn empty_profile_exposes_only_the_missing_limits() {
    let r = report_of("");
    let e = exposed(&r);
    // Landlock is host-dependent; everything else is locked by default, but for the two
    // hardenings a profile opts into (noexec, memory-deny-write-execute).
    assert!(
        e.iter()
            .all(|id| ["limits", "landlock", "exec-writable", "wx-memory"].contains(id)),
        "{e:?}"
    );
    assert!(r.score <= 1.5, "{}", r.score);
    let limited = report_of("[limits]\npids = 64\nenforce = \"best-effort\"\n");
    assert!(limited.score < r.score, "{} !< {}", limited.score, r.score);
}

#[test]
fn host_network_rw_home_x11_dbus_host_scores_high() {
    // The session bus of a real session is a socket in the runtime folder; a bind of it is
    // what dbus = "host" amounts to, and audit counts it the same way.
    let (_home, host, _base) = setup();
    let rt = host.runtime_dir.clone().unwrap();
    std::fs::create_dir_all(&rt).unwrap();
    std::fs::write(rt.join("bus"), "").unwrap();
    let bus = rt.join("bus").display().to_string();
    let toml = OPEN.replace("rw = [\"~\"]", &format!("rw = [\"~\", \"{bus}\"]"));
    let dir = host.home.join(".profiles");
    let search = SearchPath {
        dirs: vec![dir.clone()],
        builtin: true,
    };
    let load = |text: &str, x11: bool| {
        std::fs::write(dir.join("t.toml"), text).unwrap();
        let l = profile::load(&search, "t", &Overrides::default())
            .map_err(|(e, _)| e.msg)
            .unwrap();
        let mut plan = plan::compile(&l, &["/bin/true".into()], &host)
            .map_err(|e| e.msg)
            .unwrap();
        // [gui] x11 is being wired up elsewhere; audit reads the switch from the plan.
        plan.gui.insert("x11".into(), x11);
        audit(&plan, &host)
    };
    let full = load(&toml, true);
    let e = exposed(&full);
    for id in ["net-host", "home-whole-rw", "x11", "dbus-session-host"] {
        assert!(e.contains(&id), "{id} not exposed: {e:?}");
    }
    assert!(full.score > 7.0, "{} {e:?}", full.score);

    // Removing any one exposure lowers the score.
    let fewer = [
        ("x11", load(&toml, false)),
        (
            "net-host",
            load(&toml.replace("net = false", "net = true"), true),
        ),
        (
            "home-whole-rw",
            load(&toml.replace("rw = [\"~\", ", "ro = [\"~\"]\nrw = ["), true),
        ),
        (
            "dbus-session-host",
            load(&toml.replace(&format!(", \"{bus}\""), ""), true),
        ),
    ];
    for (id, r) in fewer {
        assert!(!exposed(&r).contains(&id), "{id} still exposed");
        assert!(r.score < full.score, "{id}: {} !< {}", r.score, full.score);
    }
}

#[test]
fn hiding_secrets_and_narrowing_home_lower_the_score() {
    let whole = report_of("[filesystem]\nro = [\"~\"]\n");
    assert!(exposed(&whole).contains(&"home-secrets"));
    let hidden = report_of("[filesystem]\nro = [\"~\"]\nhide = [\"~/.ssh\"]\n");
    assert!(
        !exposed(&hidden).contains(&"home-secrets"),
        "{:?}",
        hidden.checks
    );
    assert!(hidden.score < whole.score);
    let narrow = report_of("[filesystem]\nrw = [\"~/Downloads\"]\n");
    let e = exposed(&narrow);
    assert!(
        e.contains(&"home-write") && !e.contains(&"home-whole-read"),
        "{e:?}"
    );
    assert!(narrow.score < report_of("[filesystem]\nrw = [\"~\"]\n").score);
}

#[test]
fn kernel_surface_checks() {
    let r = report_of(
        "[namespaces]\nnested = [\"user\", \"pid\"]\npid = false\n[capabilities]\nkeep = [\"CAP_NET_RAW\"]\n[seccomp]\naction = \"log\"\n[landlock]\nenabled = false\n[process]\nuid = \"root\"\n",
    );
    let e = exposed(&r);
    for id in [
        "nested-user",
        "nested-other",
        "pid-host",
        "capabilities",
        "seccomp",
        "landlock",
    ] {
        assert!(e.contains(&id), "{id}: {e:?}");
    }
    if Host::probe().uid != 0 {
        assert!(e.contains(&"uid-root"));
    }
    let s = r.checks.iter().find(|c| c.id == "seccomp").unwrap();
    assert!(s.why.contains("log"), "{}", s.why);
    // A deny-by-default filter that allows nothing dangerous is fine.
    let d =
        report_of("[seccomp]\ndefault = \"deny\"\nallow = [\"read\", \"write\", \"exit_group\"]\n");
    assert!(!exposed(&d).contains(&"seccomp"), "{:?}", exposed(&d));
    let d = report_of("[seccomp]\ndefault = \"deny\"\nallow = [\"read\", \"bpf\"]\n");
    assert!(exposed(&d).contains(&"seccomp"));
}

#[test]
fn huge_tmpfs_raises_the_score() {
    let base = report_of("");
    assert!(
        !exposed(&base).contains(&"tmpfs-memory"),
        "{:?}",
        exposed(&base)
    );
    let why = &base
        .checks
        .iter()
        .find(|c| c.id == "tmpfs-memory")
        .unwrap()
        .why;
    assert!(why.contains("1.5 GiB"), "{why}");
    for toml in [
        "[filesystem]\ntmp_size = \"8GiB\"\n",
        "[filesystem]\ntmpfs = [\"/a\", \"/b\", \"/c\", \"/d\"]\n",
        "[filesystem]\ntmpfs_size = \"3GiB\"\ntmpfs = [\"/a\"]\n",
    ] {
        let r = report_of(toml);
        assert!(
            exposed(&r).contains(&"tmpfs-memory"),
            "{toml}: {:?}",
            exposed(&r)
        );
        assert!(
            r.score > base.score,
            "{toml}: {} <= {}",
            r.score,
            base.score
        );
    }
}

#[test]
fn score_formula() {
    let c = |id, weight, exposed| Check {
        id,
        weight,
        exposed,
        why: String::new(),
    };
    assert_eq!(score(&[]), 0.0);
    assert_eq!(score(&[c("a", 2.5, true)]), 2.5);
    assert_eq!(score(&[c("a", 2.5, false)]), 0.0);
    // 10 − 10 × 0.75 × 0.5 = 6.25 → 6.3 (rounded half away from zero)
    assert_eq!(score(&[c("a", 2.5, true), c("b", 5.0, true)]), 6.3);
    let all: Vec<Check> = CHECKS
        .iter()
        .map(|def| c(def.id.name(), def.weight, true))
        .collect();
    assert!(score(&all) <= 10.0 && score(&all) > 9.0);
}

#[test]
fn i386_and_unlimited_socket_families_on_the_host_network_are_exposures() {
    let net = "[namespaces]\nnet = false\n";
    let r = report_of(net);
    assert!(exposed(&r).contains(&"families"), "{:?}", exposed(&r));
    let limited = report_of(&format!(
        "{net}[seccomp]\nfamilies = [\"unix\", \"inet\"]\n"
    ));
    assert!(!exposed(&limited).contains(&"families"));
    assert!(limited.score < r.score, "{} !< {}", limited.score, r.score);
    // In its own network namespace the families matter little: no exposure.
    assert!(!exposed(&report_of("")).contains(&"families"));
    if crate::plan::seccomp::Arch::native() == Some(crate::plan::seccomp::Arch::X86_64) {
        let r = report_of("[seccomp]\ni386 = true\n");
        assert!(exposed(&r).contains(&"i386"), "{:?}", exposed(&r));
        assert!(r.score > report_of("").score);
    }
}

#[test]
fn noexec_on_every_writable_place_and_mdwe_lower_the_exposure() {
    let r = report_of("");
    assert!(exposed(&r).contains(&"exec-writable"), "{:?}", exposed(&r));
    assert!(exposed(&r).contains(&"wx-memory"), "{:?}", exposed(&r));
    // The private /tmp is the only writable place of an empty profile.
    let nx = report_of("[filesystem]\nnoexec = [\"/tmp\"]\n");
    assert!(!exposed(&nx).contains(&"exec-writable"), "{:?}", nx.checks);
    assert!(nx.score < r.score, "{} !< {}", nx.score, r.score);
    // A tmpfs left executable keeps the exposure.
    let part = report_of("[filesystem]\ntmpfs = [\"/scratch\"]\nnoexec = [\"/tmp\"]\n");
    assert!(exposed(&part).contains(&"exec-writable"));
    let m = report_of("[process]\nmemory_deny_write_execute = true\n");
    assert!(!exposed(&m).contains(&"wx-memory"));
    assert!(m.score < r.score);
}
