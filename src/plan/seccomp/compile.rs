//! [`compile`]: checks a [`SeccompSpec`] (names, groups, argument rules, actions) and builds
//! the plan's filters, plus the helpers `jail explain` and profile errors use.

use super::always_on::{always_on_filter, guard_filter, ALL_NAMESPACES};
use super::arg_types::arg_width;
use super::bpf::{check_len, condition, dispatch, ret_value, Asm, Rule, Target, RET_ALLOW};
use super::groups::{expand_group, group_path};
use super::twins;
use super::{
    action_text, other_arch_having, refuses, Arch, ArgRuleSpec, ArgWidth, CmpOp, DefaultPolicy,
    ListKind, NamedSyscall, Portable, SeccompAction, SeccompError, SeccompPlan, SeccompSpec,
    SeccompSummary,
};
use std::collections::BTreeMap;

/// The `personality(2)` values that pass when a group (`@default-deny`) denies personality:
/// the list Docker's default profile allows. PER_LINUX (0), PER_LINUX32 (8), UNAME26
/// (0x20000), UNAME26|PER_LINUX32 and 0xffffffff (query, changes nothing). Everything else
/// (READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE, MMAP_PAGE_ZERO, foreign execution domains) is
/// refused. The kernel takes `unsigned int persona`, so the low 32 bits are compared: a value
/// with high bits set is the same request to the kernel as its low half.
pub const PERSONALITY_OK: [u64; 5] = [0x0, 0x8, 0x2_0000, 0x2_0008, 0xffff_ffff];

const EXEC_CALLS: [&str; 2] = ["execve", "execveat"];

/// Resolves one list entry to (nr, name) pairs on `arch` (on i386 with each name's twins,
/// see twins.rs).
fn resolve(
    entry: &str,
    arch: Arch,
    list: ListKind,
    index: usize,
    warnings: &mut Vec<String>,
) -> Result<BTreeMap<u32, String>, SeccompError> {
    let mut out: BTreeMap<u32, String> = if entry.starts_with('@') {
        expand_group(entry, arch)
            .map(|m| m.into_iter().map(|(nr, n)| (nr, n.to_string())).collect())
            .ok_or_else(|| SeccompError::UnknownGroup {
                list,
                index,
                name: entry.to_string(),
            })?
    } else if let Some(nr) = arch.syscall_nr(entry) {
        BTreeMap::from([(nr, entry.to_string())])
    } else if arch == Arch::I386 && !twins::twins(entry).is_empty() {
        BTreeMap::new() // `newfstatat` is `fstatat64` there
    } else {
        return match other_arch_having(entry) {
            Some(other) => {
                warnings.push(format!(
                    "{list}[{index}]: {entry} does not exist on {arch} (only on e.g. {other}), skipped"
                ));
                Ok(BTreeMap::new())
            }
            None => Err(SeccompError::UnknownName {
                list,
                index,
                name: entry.to_string(),
            }),
        };
    };
    if arch == Arch::I386 {
        let names: Vec<String> = if entry.starts_with('@') {
            out.values().cloned().collect()
        } else {
            vec![entry.to_string()]
        };
        for n in names {
            for t in twins::twins(&n) {
                if let Some(nr) = arch.syscall_nr(t) {
                    out.entry(nr).or_insert_with(|| t.to_string());
                }
            }
        }
    }
    Ok(out)
}

fn check_errno(a: SeccompAction) -> bool {
    !matches!(a, SeccompAction::Errno(e) if !(1..=4095).contains(&e))
}

/// Compiles `spec` for `arch`. The result is deterministic and needs no kernel.
pub fn compile(spec: &SeccompSpec, arch: Arch) -> Result<SeccompPlan, SeccompError> {
    if spec.nested & !ALL_NAMESPACES != 0 {
        return Err(SeccompError::BadNested { value: spec.nested });
    }
    let refuse = spec.action.unwrap_or(match spec.default {
        DefaultPolicy::Allow => SeccompAction::Errno(libc::EPERM),
        DefaultPolicy::Deny => SeccompAction::Errno(libc::ENOSYS),
    });
    if let SeccompAction::Errno(errno) = refuse {
        if !check_errno(refuse) {
            return Err(SeccompError::BadAction { errno });
        }
    }
    let mut warnings = Vec::new();
    let mut notes = Vec::new();
    let clone3 = arch.syscall_nr("clone3");

    // The list that matters for this default.
    let (kind, entries, ignored, ignored_kind) = match spec.default {
        DefaultPolicy::Allow => (ListKind::Deny, &spec.deny, &spec.allow, ListKind::Allow),
        DefaultPolicy::Deny => (ListKind::Allow, &spec.allow, &spec.deny, ListKind::Deny),
    };
    if !ignored.is_empty() {
        warnings.push(format!(
            "{ignored_kind} is ignored because default = {:?}",
            spec.default
        ));
    }
    let mut listed: BTreeMap<u32, String> = BTreeMap::new();
    // Why a syscall is refused, for the refusal report.
    let mut origins: BTreeMap<u32, String> = BTreeMap::new();
    let personality = arch.syscall_nr("personality");
    // personality denied through a group: the PERSONALITY_OK values still pass; named on
    // its own: refused entirely.
    let (mut personality_by_group, mut personality_by_name) = (false, false);
    for (index, entry) in entries.iter().enumerate() {
        let resolved = resolve(entry, arch, kind, index, &mut warnings)?;
        if personality.is_some_and(|nr| resolved.contains_key(&nr)) {
            if entry.starts_with('@') {
                personality_by_group = true;
            } else {
                personality_by_name = true;
            }
        }
        if kind == ListKind::Deny && refuses(refuse) {
            if let Some(sys) = EXEC_CALLS
                .iter()
                .find(|s| resolved.values().any(|n| n == *s))
            {
                return Err(SeccompError::DeniesExec {
                    list: kind,
                    index,
                    name: entry.clone(),
                    syscall: sys,
                });
            }
        }
        for (&nr, name) in &resolved {
            origins
                .entry(nr)
                .or_insert_with(|| match group_path(entry, name) {
                    Some(path) => {
                        let mut p: Vec<&str> = path;
                        p.reverse();
                        p.join(" in ")
                    }
                    None => kind.to_string(),
                });
        }
        listed.extend(resolved);
    }
    if let Some(nr) = clone3 {
        if kind == ListKind::Deny && listed.remove(&nr).is_some() {
            notes.push("clone3 is always refused with ENOSYS by the always-on filter (so libc falls back to clone); its deny entry was dropped".into());
        }
    }
    if kind == ListKind::Allow {
        for sys in EXEC_CALLS {
            if let Some(nr) = arch.syscall_nr(sys) {
                if listed.insert(nr, sys.to_string()).is_none() {
                    notes.push(format!("{sys} added to the allow list: jail execs COMMAND after installing the filter"));
                }
            }
        }
        for sys in ["exit_group", "rt_sigreturn"] {
            if arch
                .syscall_nr(sys)
                .is_some_and(|nr| !listed.contains_key(&nr))
            {
                warnings.push(format!(
                    "allow list lacks {sys}; COMMAND will likely misbehave"
                ));
            }
        }
    }
    if !refuses(refuse) && kind == ListKind::Deny && !listed.is_empty() {
        warnings.push(format!(
            "seccomp.action is {}: the deny list refuses nothing",
            action_text(refuse)
        ));
    }

    if let Some(nr) = arch.syscall_nr("io_uring_setup") {
        let listed_here = listed.contains_key(&nr);
        let passes = !refuses(refuse)
            || match kind {
                ListKind::Deny => !listed_here,
                _ => listed_here,
            };
        if passes {
            warnings.push("io_uring_setup is allowed: io_uring operations (openat with a setuid mode, socket, connect …) run in the kernel without passing seccomp, so they escape the deny list, the argument rules and the always-on checks; keep @default-deny unless COMMAND needs io_uring".into());
        }
    }

    // Argument rules.
    let mut rules: BTreeMap<u32, Vec<Rule>> = BTreeMap::new();
    let mut rule_lines = Vec::new();
    for (index, r) in spec.rules.iter().enumerate() {
        let bad = |reason: String| SeccompError::BadArg { index, reason };
        if r.syscall.starts_with('@') {
            return Err(bad(format!(
                "rules apply to one system call, not to group {}",
                r.syscall
            )));
        }
        if r.arg > 5 {
            return Err(bad(format!(
                "arg {} out of range, system calls have arguments 0..=5",
                r.arg
            )));
        }
        if !check_errno(r.action) {
            return Err(bad(format!(
                "action {:?}: errno must be in 1..=4095",
                r.action
            )));
        }
        let mask = match r.op {
            CmpOp::MaskedEq { mask } => mask,
            _ => u64::MAX,
        };
        let known = arg_width(&r.syscall, r.arg);
        if r.width == ArgWidth::W64 && known == Some(ArgWidth::W32) {
            return Err(bad(format!(
                "arg{} of {} is a 32-bit C type and the kernel ignores the upper half of the \
                 register, so a 64-bit comparison is bypassed by garbage in the high bits; \
                 drop width = 64",
                r.arg, r.syscall
            )));
        }
        if r.width == ArgWidth::W32
            && (r.value > u32::MAX as u64 || (mask != u64::MAX && mask > u32::MAX as u64))
        {
            return Err(bad(if known == Some(ArgWidth::W32) {
                format!(
                    "value {:#x} (or mask) does not fit arg{} of {}, a 32-bit argument; give the \
                     low 32 bits the kernel sees (e.g. 0xffffff9c for -100)",
                    r.value, r.arg, r.syscall
                )
            } else {
                format!(
                    "value {:#x} (or mask) does not fit a 32-bit argument; use width = 64",
                    r.value
                )
            }));
        }
        if r.value & !mask != 0 {
            return Err(bad(format!(
                "value {:#x} has bits outside mask {mask:#x}, the rule could never match",
                r.value
            )));
        }
        let resolved = resolve(&r.syscall, arch, ListKind::Rule, index, &mut warnings)?;
        if arch == Arch::I386 && refuses(r.action) && !twins::multiplexed(&r.syscall).is_empty() {
            warnings.push(format!("{}[{index}]: on i386, {} is also reached through a multiplexer (socketcall or ipc) whose arguments are in memory: the rule does not hold there", ListKind::Rule, r.syscall));
        }
        for (&nr, name) in &resolved {
            if arch == Arch::I386 && name == &r.syscall && twins::IN_MEMORY.contains(&name.as_str())
            {
                // i386's own `mmap` and `select` are the old calls, their arguments in
                // memory: a refusing rule cannot look at them, so it refuses the old call
                // outright (glibc uses mmap2 and _newselect, which get the rule).
                if refuses(r.action) {
                    rule_lines.push(format!(
                        "{name}({nr}, i386's old call, arguments in memory): any -> {}",
                        action_text(r.action)
                    ));
                    rules.entry(nr).or_default().push(Rule {
                        arg: 0,
                        op: CmpOp::Ge,
                        value: 0,
                        width: ArgWidth::W32,
                        action: r.action,
                    });
                }
                continue;
            }
            if name != &r.syscall && twins::OTHER_ARGS.contains(&name.as_str()) {
                if refuses(r.action) {
                    warnings.push(format!("{}[{index}]: on i386, {name} does what {} does with its arguments elsewhere: the rule does not hold for it", ListKind::Rule, r.syscall));
                }
                continue;
            }
            if EXEC_CALLS.contains(&r.syscall.as_str()) && refuses(r.action) {
                return Err(SeccompError::DeniesExec {
                    list: ListKind::Rule,
                    index,
                    name: r.syscall.clone(),
                    syscall: if r.syscall == "execve" {
                        "execve"
                    } else {
                        "execveat"
                    },
                });
            }
            if Some(nr) == clone3 {
                warnings.push(format!(
                    "{}[{index}]: clone3 is always ENOSYS (always-on), rule skipped",
                    ListKind::Rule
                ));
                continue;
            }
            let w = match (r.width, known) {
                (ArgWidth::W32, _) => "32-bit",
                (ArgWidth::W64, Some(_)) => "64-bit",
                (ArgWidth::W64, None) => "64-bit, argument type unknown to jail",
            };
            let op = match r.op {
                CmpOp::Eq => "==".to_string(),
                CmpOp::Ne => "!=".into(),
                CmpOp::Lt => "<".into(),
                CmpOp::Le => "<=".into(),
                CmpOp::Gt => ">".into(),
                CmpOp::Ge => ">=".into(),
                CmpOp::MaskedEq { mask } => format!("& {mask:#x} =="),
            };
            rule_lines.push(format!(
                "{}({nr}): arg{} {op} {:#x} ({w}) -> {}",
                name,
                r.arg,
                r.value,
                action_text(r.action)
            ));
            if refuses(r.action) && !(kind == ListKind::Deny && listed.contains_key(&nr)) {
                origins.insert(nr, format!("a [[seccomp.rule]] on {}", r.syscall));
            }
            rules.entry(nr).or_default().push(Rule {
                arg: r.arg,
                op: r.op,
                value: r.value,
                width: r.width,
                action: r.action,
            });
        }
    }
    if arch == Arch::I386 {
        // The socket and System V IPC calls a list names are also reached through their
        // multiplexers: the same verdict for that call number in arg0, after the profile's
        // own rules; the multiplexer listed itself decides for every call already.
        let verdict = match kind {
            ListKind::Deny => refuse,
            _ => SeccompAction::Allow,
        };
        // By every name the list reaches: in i386 numbers, and as written (i386 has no
        // direct `accept`, `send`, `recv` or `semop`: only the multiplexers reach them).
        let mut names: std::collections::BTreeSet<String> = listed.values().cloned().collect();
        for e in entries {
            match expand_group(e, Arch::X86_64) {
                Some(m) if e.starts_with('@') => names.extend(m.into_values().map(str::to_string)),
                _ if !e.starts_with('@') => {
                    names.insert(e.clone());
                }
                _ => {}
            }
        }
        let mux: Vec<(String, &str, u64, u64)> = names
            .iter()
            .flat_map(|n| {
                twins::multiplexed(n)
                    .into_iter()
                    .map(move |(m, v, mask)| (n.clone(), m, v, mask))
            })
            .filter({
                let mut seen = std::collections::BTreeSet::new();
                move |(_, m, v, _)| seen.insert((*m, *v))
            })
            .collect();
        for (name, m, value, mask) in mux {
            let Some(mnr) = arch.syscall_nr(m) else {
                continue;
            };
            if listed.contains_key(&mnr) || (kind == ListKind::Deny && !refuses(refuse)) {
                continue;
            }
            rule_lines.push(format!(
                "{m}({mnr}): arg0{} == {value} ({name}) -> {}",
                if mask == 0xffff { " & 0xffff" } else { "" },
                action_text(verdict)
            ));
            if kind == ListKind::Deny {
                let why = origins
                    .get(&arch.syscall_nr(&name).unwrap_or(u32::MAX))
                    .cloned();
                origins
                    .entry(mnr)
                    .or_insert_with(|| why.unwrap_or_else(|| kind.to_string()));
            }
            rules.entry(mnr).or_default().push(Rule {
                arg: 0,
                op: if mask == 0xffff {
                    CmpOp::MaskedEq { mask }
                } else {
                    CmpOp::Eq
                },
                value,
                width: ArgWidth::W32,
                action: verdict,
            });
        }
    }
    if !rules.is_empty() {
        notes.push("argument rules: per system call, the first matching rule (profile order) decides, otherwise the list verdict applies; they cannot loosen the always-on filter".into());
    }
    if let Some(nr) = personality.filter(|nr| {
        kind == ListKind::Deny
            && refuses(refuse)
            && personality_by_group
            && !personality_by_name
            && listed.contains_key(nr)
    }) {
        // After the profile's own rules, so a profile can allow more (e.g. ADDR_NO_RANDOMIZE
        // for a debugger) with a rule of its own.
        let list = rules.entry(nr).or_default();
        for v in PERSONALITY_OK {
            list.push(Rule {
                arg: 0,
                op: CmpOp::Eq,
                value: v,
                width: ArgWidth::W32,
                action: SeccompAction::Allow,
            });
        }
        let vals: Vec<String> = PERSONALITY_OK.iter().map(|v| format!("{v:#x}")).collect();
        rule_lines.push(format!(
            "personality({nr}): arg0 one of {} (32-bit) -> allow, any other value -> {} (@default-deny)",
            vals.join(", "),
            action_text(refuse)
        ));
    }

    // Build the filters.
    let mut always_on = Vec::new();
    let i386 = spec.i386 && arch == Arch::X86_64;
    let mut filters = vec![
        if i386 {
            super::i386::guard_filter_i386(&mut always_on)?
        } else {
            guard_filter(arch, &mut always_on)?
        },
        always_on_filter(arch, spec.nested, spec.host_pid, &mut always_on)?,
    ];
    if let Some(f) = &spec.families {
        filters.push(super::families::families_filter(arch, f, &mut always_on)?);
    }
    if spec.mdwe {
        filters.push(super::families::mdwe_filter(arch, &mut always_on)?);
    }

    let (listed_v, default_v) = match kind {
        ListKind::Deny => (ret_value(refuse), RET_ALLOW),
        _ => (RET_ALLOW, ret_value(refuse)),
    };
    let mut per_nr: BTreeMap<u32, Target> = listed
        .keys()
        .map(|&nr| (nr, Target::Ret(listed_v)))
        .collect();
    if let (Some(nr), ListKind::Allow) = (clone3, kind) {
        // Let the always-on filter's ENOSYS be the answer, whatever the default action is
        // (glibc's pthread_create only falls back to clone on ENOSYS).
        per_nr.insert(nr, Target::Ret(RET_ALLOW));
        notes.push("clone3 passes the policy filter so the always-on ENOSYS answers it (glibc then falls back to clone)".into());
    }
    let mut asm = Asm::default();
    for (nr, list) in rules.iter().rev() {
        let mut tail = per_nr.get(nr).copied().unwrap_or(Target::Ret(default_v));
        for r in list.iter().rev() {
            tail = condition(&mut asm, r, Target::Ret(ret_value(r.action)), tail);
        }
        per_nr.insert(*nr, tail);
    }
    per_nr.retain(|_, t| *t != Target::Ret(default_v));
    if !(per_nr.is_empty() && default_v == RET_ALLOW) {
        dispatch(&mut asm, &per_nr, Target::Ret(default_v));
        let name = match kind {
            ListKind::Deny => format!(
                "policy: allow by default, deny list -> {}",
                action_text(refuse)
            ),
            _ => format!(
                "policy: allow list, everything else -> {}",
                action_text(refuse)
            ),
        };
        filters.push(check_len(&name, asm.finish())?);
    }

    let named = |m: &BTreeMap<u32, String>| {
        m.iter()
            .map(|(&nr, n)| NamedSyscall {
                name: n.clone(),
                nr,
            })
            .collect::<Vec<_>>()
    };
    let (denied, allowed) = match kind {
        ListKind::Deny => (named(&listed), Vec::new()),
        _ => (Vec::new(), named(&listed)),
    };
    let verdict = |v: u32| match v {
        RET_ALLOW => SeccompAction::Allow,
        _ => refuse,
    };
    let name_of = |nr: u32| arch.syscall_name(nr).unwrap_or_default().to_string();
    let portable = Portable {
        default: Some(verdict(default_v)),
        listed: listed
            .values()
            .map(|n| (n.clone(), verdict(listed_v)))
            .collect(),
        rules: rules
            .iter()
            .flat_map(|(&nr, list)| {
                list.iter().map(move |r| ArgRuleSpec {
                    syscall: name_of(nr),
                    arg: r.arg,
                    op: r.op,
                    value: r.value,
                    width: r.width,
                    action: r.action,
                })
            })
            .collect(),
        nested: spec.nested,
        host_pid: spec.host_pid,
        families: spec.families.clone(),
        i386: spec.i386,
    };
    let mut origins_i386 = BTreeMap::new();
    if i386 {
        // The same spec in i386 numbers, each filter behind a branch on the ABI.
        let other = compile(
            &SeccompSpec {
                i386: false,
                ..spec.clone()
            },
            Arch::I386,
        )?;
        filters = super::i386::join(filters, other.filters)?;
        origins_i386 = other.origins;
        // What holds only partly for 32-bit programs (rules through the multiplexers, twins
        // taking their arguments elsewhere) is said in the plan too.
        for w in other.summary.warnings {
            if w.contains("on i386") && !warnings.contains(&w) {
                warnings.push(w);
            }
        }
        always_on.push("i386 calls (int 0x80, 32-bit programs): allowed, under every rule above and the policy in i386 numbers (socketcall's socket and socketpair -> errno EAFNOSUPPORT when families is set: their family is in memory)".into());
    } else if spec.i386 {
        warnings.push(format!("i386 = true is ignored on {arch}"));
    }
    Ok(SeccompPlan {
        arch,
        filters,
        portable,
        summary: SeccompSummary {
            default: spec.default,
            refuse_action: refuse,
            denied,
            allowed,
            rules: rule_lines,
            always_on,
            notes,
            warnings,
        },
        log: spec.log,
        report: true,
        origins,
        origins_i386,
    })
}

/// Which list entry an error is about, so the caller can point at the profile line.
pub fn error_position(e: &SeccompError) -> Option<(ListKind, usize)> {
    match e {
        SeccompError::UnknownName { list, index, .. }
        | SeccompError::UnknownGroup { list, index, .. }
        | SeccompError::DeniesExec { list, index, .. } => Some((*list, *index)),
        SeccompError::BadArg { index, .. } => Some((ListKind::Rule, *index)),
        _ => None,
    }
}

/// The lines `jail explain` shows for seccomp.
pub fn explain_lines(plan: &SeccompPlan) -> Vec<String> {
    plan.explain()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim_end().to_string())
        .collect()
}
