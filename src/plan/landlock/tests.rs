use super::*;
use std::path::Path;

fn spec() -> LandlockSpec {
    LandlockSpec {
        enabled: true,
        ro: vec!["/usr".into(), "/etc".into()],
        rw: vec!["/tmp".into()],
        dev: vec!["/dev/null".into()],
        ..Default::default()
    }
}

fn tcp_spec(compat: Compat) -> LandlockSpec {
    LandlockSpec {
        compat,
        connect_tcp: Some(vec![443]),
        ..spec()
    }
}

#[test]
fn hard_without_tcp_abi_is_an_error_naming_abi_4() {
    let err = compile(&tcp_spec(Compat::Hard), Some(3)).unwrap_err();
    assert_eq!(
        err,
        LandlockError::Unsupported {
            needed_abi: 4,
            feature: "tcp".into(),
            have: Some(3)
        }
    );
    let msg = err.to_string();
    assert!(msg.contains("ABI 4"), "{msg}");
    assert!(msg.contains("ABI 3"), "{msg}");
    assert!(msg.contains("tcp"), "{msg}");
}

#[test]
fn hard_with_enough_abi_is_ok() {
    // dev is non-empty, so ioctl_dev (ABI 5) is requested too.
    assert!(matches!(
        compile(&tcp_spec(Compat::Hard), Some(4)),
        Err(LandlockError::Unsupported { needed_abi: 5, .. })
    ));
    let plan = compile(&tcp_spec(Compat::Hard), Some(5)).unwrap();
    assert_eq!(plan.outcome, PlanOutcome::Full);
    assert!(plan.handled_net.contains(&NetRight::ConnectTcp));
}

#[test]
fn best_effort_drops_tcp_and_says_so() {
    let plan = compile(&tcp_spec(Compat::BestEffort), Some(3)).unwrap();
    assert_eq!(plan.outcome, PlanOutcome::Partial);
    assert!(plan.enforce());
    assert!(plan.handled_net.is_empty());
    assert!(plan.net_rules.is_empty());
    let tcp = plan.dropped.iter().find(|d| d.feature == "tcp").unwrap();
    assert_eq!(tcp.needed_abi, 4);
    assert!(tcp.requested);
    assert!(
        plan.explain
            .iter()
            .any(|l| l.contains("dropped: tcp needs ABI 4") && l.contains("not enforced")),
        "{:#?}",
        plan.explain
    );
    // Truncate is still there on ABI 3, ioctl_dev is not.
    assert!(plan.handled_fs.contains(&FsRight::Truncate));
    assert!(!plan.handled_fs.contains(&FsRight::IoctlDev));
    assert!(plan
        .dropped
        .iter()
        .any(|d| d.feature == "ioctl_dev" && d.needed_abi == 5));
}

#[test]
fn none_hard_is_error_none_best_effort_enforces_nothing() {
    let err = compile(&spec().clone_with(Compat::Hard), None).unwrap_err();
    assert!(matches!(
        err,
        LandlockError::Unsupported {
            needed_abi: 1,
            have: None,
            ..
        }
    ));
    assert!(err.to_string().contains("no Landlock"), "{err}");

    let plan = compile(&spec(), None).unwrap();
    assert_eq!(plan.outcome, PlanOutcome::Unavailable);
    assert!(!plan.enforce());
    assert!(plan.path_rules.is_empty() && plan.handled_fs.is_empty());
    assert!(
        plan.explain[0].contains("Landlock not available: nothing enforced"),
        "{:#?}",
        plan.explain
    );
    // ABI 0 is the same as None.
    assert_eq!(compile(&spec(), Some(0)).unwrap(), plan);
}

#[test]
fn soft_skips_everything_when_a_requested_feature_is_missing() {
    let plan = compile(&tcp_spec(Compat::Soft), Some(3)).unwrap();
    assert_eq!(plan.outcome, PlanOutcome::SkippedSoft);
    assert!(!plan.enforce());
    assert!(plan.path_rules.is_empty() && plan.handled_fs.is_empty());
    assert!(plan
        .explain
        .iter()
        .any(|l| l.contains("whole Landlock step skipped")));
    // Without the tcp and dev requests, ABI 3 is enough for soft.
    let s = LandlockSpec {
        compat: Compat::Soft,
        dev: vec![],
        ..spec()
    };
    let plan = compile(&s, Some(3)).unwrap();
    assert_eq!(plan.outcome, PlanOutcome::Full);
    // ioctl_dev was not requested: listed as not handled, not as a drop.
    assert!(plan
        .explain
        .iter()
        .any(|l| l.starts_with("landlock: not handled: ioctl_dev needs ABI 5")));
}

#[test]
fn abi1_refer_quirk_and_abi2_truncate() {
    let plan = compile(&spec(), Some(1)).unwrap();
    assert_eq!(plan.outcome, PlanOutcome::Partial);
    let rw = plan
        .path_rules
        .iter()
        .find(|r| r.path == Path::new("/tmp"))
        .unwrap();
    assert!(!rw.access.contains(&FsRight::Refer));
    assert!(!rw.access.contains(&FsRight::Truncate));
    let feats: Vec<_> = plan.dropped.iter().map(|d| d.feature.as_str()).collect();
    assert_eq!(feats, ["refer", "truncate", "ioctl_dev"]);
    assert!(plan
        .explain
        .iter()
        .any(|l| l.contains("refer needs ABI 2") && l.contains("EXDEV")));

    let plan = compile(&spec(), Some(2)).unwrap();
    let rw = plan
        .path_rules
        .iter()
        .find(|r| r.path == Path::new("/tmp"))
        .unwrap();
    assert!(rw.access.contains(&FsRight::Refer));
    assert!(plan
        .explain
        .iter()
        .any(|l| l.contains("truncate needs ABI 3")));
}

#[test]
fn rights_per_class_and_merging() {
    let s = LandlockSpec {
        ro: vec!["/usr".into(), "/data".into()],
        rw: vec!["/data".into()],
        dev: vec!["/dev/null".into()],
        connect_tcp: Some(vec![80, 443, 80]),
        bind_tcp: Some(vec![443]),
        scope: vec![
            ScopeKind::Signal,
            ScopeKind::AbstractUnixSocket,
            ScopeKind::Signal,
        ],
        ..spec()
    };
    let plan = compile(&s, Some(7)).unwrap();
    assert_eq!(plan.outcome, PlanOutcome::Full);
    assert_eq!(plan.handled_fs.len(), 16);
    assert_eq!(
        plan.path_rules[0],
        PathRule {
            path: "/usr".into(),
            access: vec![FsRight::Execute, FsRight::ReadFile, FsRight::ReadDir],
            classes: vec![PathClass::Ro],
        }
    );
    let data = &plan.path_rules[1];
    assert_eq!(data.classes, [PathClass::Ro, PathClass::Rw]);
    assert_eq!(data.access.len(), 15);
    assert!(!data.access.contains(&FsRight::IoctlDev));
    let dev = &plan.path_rules[2];
    assert_eq!(
        dev.access,
        [
            FsRight::WriteFile,
            FsRight::ReadFile,
            FsRight::ReadDir,
            FsRight::IoctlDev
        ]
    );
    assert_eq!(
        plan.net_rules,
        [
            NetRule {
                port: 80,
                access: vec![NetRight::ConnectTcp]
            },
            NetRule {
                port: 443,
                access: vec![NetRight::BindTcp, NetRight::ConnectTcp]
            },
        ]
    );
    assert_eq!(
        plan.scopes,
        [ScopeKind::AbstractUnixSocket, ScopeKind::Signal]
    );
    assert!(plan.dropped.is_empty());
    assert!(plan
        .explain
        .iter()
        .any(|l| l == "landlock: tcp connect: allowed only to port(s) 80, 443"));
}

#[test]
fn newer_kernel_is_clamped_and_empty_port_list_denies() {
    let s = LandlockSpec {
        bind_tcp: Some(vec![]),
        ..spec()
    };
    let plan = compile(&s, Some(42)).unwrap();
    assert_eq!(plan.abi, Some(MAX_KNOWN_ABI));
    assert_eq!(plan.host_abi, Some(42));
    assert_eq!(plan.handled_net, [NetRight::BindTcp]);
    assert!(plan.net_rules.is_empty());
    assert!(plan
        .explain
        .iter()
        .any(|l| l == "landlock: tcp bind: denied for every port"));
    assert!(plan.explain[0].contains("kernel ABI 42, ruleset built for ABI 7"));
}

#[test]
fn disabled_and_relative_paths() {
    let s = LandlockSpec {
        enabled: false,
        compat: Compat::Hard,
        ..spec()
    };
    let plan = compile(&s, None).unwrap();
    assert_eq!(plan.outcome, PlanOutcome::Disabled);
    assert!(!plan.enforce());
    let s = LandlockSpec {
        rw: vec!["tmp".into()],
        ..spec()
    };
    assert!(matches!(
        compile(&s, Some(7)),
        Err(LandlockError::RelativePath { class: "rw", .. })
    ));
}

#[test]
fn spec_deserializes_from_profile_names_and_plan_serializes() {
    let s: LandlockSpec = serde_json::from_str(
        r#"{"enabled":true,"compat":"best-effort","ro":["/usr"],"connect_tcp":[443],
            "scope":["abstract-unix-socket","signal"]}"#,
    )
    .unwrap();
    assert_eq!(s.compat, Compat::BestEffort);
    assert_eq!(s.scope, [ScopeKind::AbstractUnixSocket, ScopeKind::Signal]);
    for (name, c) in [("soft", Compat::Soft), ("hard", Compat::Hard)] {
        let v: Compat = serde_json::from_str(&format!("\"{name}\"")).unwrap();
        assert_eq!(v, c);
    }
    let json = serde_json::to_value(compile(&s, Some(6)).unwrap()).unwrap();
    assert_eq!(json["outcome"], "full");
    assert_eq!(json["net_rules"][0]["access"][0], "connect_tcp");
    assert_eq!(json["scopes"][0], "abstract-unix-socket");
}

#[test]
fn default_scopes_are_enforced_where_possible_and_never_requested() {
    let s = LandlockSpec {
        default_scope: vec![ScopeKind::AbstractUnixSocket, ScopeKind::Signal],
        ..spec()
    };
    // ABI 6: enforced.
    let plan = compile(&s, Some(6)).unwrap();
    assert_eq!(
        plan.scopes,
        [ScopeKind::AbstractUnixSocket, ScopeKind::Signal]
    );
    // ABI 5: not enforced, said so, but neither soft nor hard trips over a default.
    for compat in [Compat::BestEffort, Compat::Soft, Compat::Hard] {
        let plan = compile(&s.clone_with(compat), Some(5)).unwrap();
        assert_eq!(plan.outcome, PlanOutcome::Full, "{compat}");
        assert!(plan.scopes.is_empty());
        assert!(
            plan.explain
                .iter()
                .any(|l| l.starts_with("landlock: not handled: scopes need ABI 6")),
            "{:#?}",
            plan.explain
        );
    }
    // Written by the profile itself: requested.
    let asked = LandlockSpec {
        scope: vec![ScopeKind::Signal],
        ..s.clone()
    };
    assert!(matches!(
        compile(&asked.clone_with(Compat::Hard), Some(5)),
        Err(LandlockError::Unsupported { needed_abi: 6, .. })
    ));
    assert_eq!(
        compile(&asked.clone_with(Compat::Soft), Some(5))
            .unwrap()
            .outcome,
        PlanOutcome::SkippedSoft
    );
}

impl LandlockSpec {
    fn clone_with(&self, compat: Compat) -> Self {
        LandlockSpec {
            compat,
            ..self.clone()
        }
    }
}
