//! The profile's `[seccomp]` and `[landlock]` sections turned into their plans (the BPF filters
//! and the Landlock ruleset), with errors pointing at the key that caused them.

use super::*;

pub(super) fn compile_seccomp(
    p: &profile::Profile,
    nested: u64,
    host_pid: bool,
    mdwe: bool,
) -> Result<seccomp::SeccompPlan, Error> {
    use super::seccomp::*;
    let s = &p.seccomp;
    let conv = |a: profile::Action| match a {
        profile::Action::Allow => SeccompAction::Allow,
        profile::Action::Errno(e) => SeccompAction::Errno(e),
        profile::Action::Kill => SeccompAction::Kill,
        profile::Action::Trap => SeccompAction::Trap,
        profile::Action::Log => SeccompAction::Log,
    };
    let mut rules = vec![];
    for r in &s.rule {
        let r = &r.v;
        let op = match r.op.v {
            profile::CmpOp::Eq => CmpOp::Eq,
            profile::CmpOp::Ne => CmpOp::Ne,
            profile::CmpOp::Lt => CmpOp::Lt,
            profile::CmpOp::Le => CmpOp::Le,
            profile::CmpOp::Gt => CmpOp::Gt,
            profile::CmpOp::Ge => CmpOp::Ge,
            profile::CmpOp::MaskedEq => match &r.mask {
                Some(m) => CmpOp::MaskedEq { mask: m.v },
                None => return Err(Located::at("op = \"masked_eq\" needs mask = …", &r.op.at)),
            },
        };
        if r.arg.v > 5 {
            return Err(Located::at(
                "arg is the argument's index: 0 to 5",
                &r.arg.at,
            ));
        }
        // Without `width`, the argument's C type decides (32 bits for int-sized arguments,
        // which the kernel truncates); unknown types compare all 64 bits.
        let known = seccomp::arg_width(&r.syscall.v, r.arg.v);
        let width = match r.width.as_ref().map(|w| w.v) {
            None => known.unwrap_or(ArgWidth::W64),
            Some(64) if known == Some(ArgWidth::W32) => {
                return Err(Located::at(
                    format!(
                        "width = 64 on arg{} of {}, a 32-bit argument: the kernel ignores the upper half, so garbage there would slip past the rule; drop width",
                        r.arg.v, r.syscall.v
                    ),
                    &r.width.as_ref().unwrap().at,
                ))
            }
            Some(64) => ArgWidth::W64,
            Some(32) => ArgWidth::W32,
            Some(_) => {
                return Err(Located::at(
                    "width is 32 or 64",
                    &r.width.as_ref().unwrap().at,
                ))
            }
        };
        rules.push(ArgRuleSpec {
            syscall: r.syscall.v.clone(),
            arg: r.arg.v,
            op,
            value: r.value.v,
            width,
            action: conv(
                r.action
                    .as_ref()
                    .map(|a| a.v)
                    .unwrap_or(profile::Action::Errno(libc::EPERM)),
            ),
        });
    }
    let families = match &s.families {
        None => None,
        Some(f) => {
            let mut v = vec![];
            for name in &f.v {
                match seccomp::family(name) {
                    Some(n) if !v.contains(&n) => v.push(n),
                    Some(_) => {}
                    None => {
                        return Err(Located::at(
                            format!(
                                "unknown address family {name:?} in families: use {}",
                                seccomp::FAMILIES.map(|(n, _)| format!("{n:?}")).join(", ")
                            ),
                            &f.at,
                        ))
                    }
                }
            }
            Some(v)
        }
    };
    let spec = SeccompSpec {
        default: match s.default.as_ref().map(|d| d.v).unwrap_or_default() {
            profile::SeccompDefault::Allow => DefaultPolicy::Allow,
            profile::SeccompDefault::Deny => DefaultPolicy::Deny,
        },
        deny: s.deny.iter().map(|x| x.v.clone()).collect(),
        allow: s.allow.iter().map(|x| x.v.clone()).collect(),
        action: s.action.as_ref().map(|a| conv(a.v)),
        log: flag(&s.log, false),
        rules,
        nested,
        host_pid,
        families,
        mdwe,
        i386: flag(&s.i386, false),
    };
    let arch = Arch::native()
        .ok_or_else(|| Located::new("seccomp: jail supports x86_64 and aarch64 only", None))?;
    let report = flag(&s.report, true);
    seccomp::compile(&spec, arch)
        .map(|mut plan| {
            plan.report = report;
            plan
        })
        .map_err(|e| {
            let at: Option<Origin> = seccomp_error_origin(&e, p);
            Located::new(e.to_string(), at)
        })
}

fn seccomp_error_origin(e: &seccomp::SeccompError, p: &profile::Profile) -> Option<Origin> {
    let (list, index) = seccomp::error_position(e)?;
    let s = &p.seccomp;
    match list {
        seccomp::ListKind::Deny => s.deny.get(index).map(|x| x.at.clone()),
        seccomp::ListKind::Allow => s.allow.get(index).map(|x| x.at.clone()),
        seccomp::ListKind::Rule => s.rule.get(index).map(|x| x.v.syscall.at.clone()),
    }
}

pub(super) fn compile_landlock(
    cx: &mut Ctx,
    p: &profile::Profile,
    sources: &profile::SourceMap,
    fs: &mounts::FsPlan,
    x11_host_net: bool,
) -> Result<landlock::LandlockPlan, Error> {
    use super::landlock::*;
    let l = &p.landlock;
    // The built-in defaults scope every sandbox (abstract unix sockets and signals stay
    // inside); a profile takes one back with "!x". What the defaults wrote is enforced
    // wherever the kernel can; what a profile wrote itself is requested (soft/hard apply).
    let mut scope = vec![];
    let mut default_scope = vec![];
    for s in &l.scope {
        let list = if sources.name(s.at.src) == profile::DEFAULTS_NAME {
            &mut default_scope
        } else {
            &mut scope
        };
        list.push(match s.v.as_str() {
            "abstract-unix-socket" => ScopeKind::AbstractUnixSocket,
            "signal" => ScopeKind::Signal,
            _ => {
                return Err(Located::at(
                    format!(
                        "unknown scope {:?}: use \"abstract-unix-socket\" or \"signal\"",
                        s.v
                    ),
                    &s.at,
                ))
            }
        });
    }
    let compat: Compat = l.compat.as_ref().map(|c| c.v).unwrap_or_default();
    let enabled = flag(&l.enabled, true);
    if !fs.landlock_guarded.is_empty() && (!enabled || cx.host.landlock_abi.is_none()) {
        // Only Landlock can keep a name from being created in a folder that is otherwise
        // writable; without it a writable home would let the sandbox plant ~/.bash_profile.
        return Err(Located::new(
            format!(
                "a writable grant holds your home folder {} and {}: without Landlock jail cannot keep start-up files that do not exist yet (~/.bash_profile, ~/.xsession …) from being planted; grant folders inside the home instead",
                fs.landlock_guarded[0].display(),
                if enabled { "this kernel has no Landlock" } else { "[landlock] enabled = false" }
            ),
            l.enabled.as_ref().map(|c| c.at.clone()),
        ));
    }
    // X11 clients (libxcb) connect to the abstract @/tmp/.X11-unix/XN first and fall back to
    // the socket file only on ENOENT/ECONNREFUSED; the scope's EPERM ends the attempt. With
    // the host network and gui.x11, the default abstract scope would break the display the
    // profile grants, so it is left out (the X server is granted anyway; audit shows the
    // other abstract sockets as reachable). A profile that writes the scope itself keeps it.
    let x11_unscoped = x11_host_net
        && default_scope.contains(&ScopeKind::AbstractUnixSocket)
        && !scope.contains(&ScopeKind::AbstractUnixSocket);
    if x11_unscoped {
        default_scope.retain(|k| *k != ScopeKind::AbstractUnixSocket);
    }
    let spec = LandlockSpec {
        enabled,
        compat,
        ro: fs.landlock_ro.clone(),
        rw: fs.landlock_rw.clone(),
        dev: fs.landlock_dev.clone(),
        list: fs.landlock_list.clone(),
        guarded: fs.landlock_guarded.clone(),
        noexec: fs.landlock_noexec.clone(),
        connect_tcp: l.connect_tcp.as_ref().map(|x| x.v.clone()),
        bind_tcp: l.bind_tcp.as_ref().map(|x| x.v.clone()),
        scope,
        default_scope,
    };
    let mut plan = landlock::compile(&spec, cx.host.landlock_abi).map_err(|e| {
        let at = l
            .compat
            .as_ref()
            .map(|c| c.at.clone())
            .or_else(|| l.enabled.as_ref().map(|c| c.at.clone()));
        Located::new(e.to_string(), at)
    })?;
    if x11_unscoped && plan.enforce() {
        plan.explain.push(X11_UNSCOPED.into());
    }
    Ok(plan)
}

/// Why the abstract-unix-socket scope is missing from an X11 profile on the host network.
pub const X11_UNSCOPED: &str = "landlock: abstract-unix-socket not scoped: gui.x11 with the host network (X11 clients try the abstract @/tmp/.X11-unix/X… socket first and give up on the scope's EPERM); the host's other abstract sockets stay reachable";
