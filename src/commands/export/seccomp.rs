//! The plan's seccomp policy as an OCI `linux.seccomp` section (the format runc, crun, podman
//! and Kubernetes' `Localhost` profiles read).
//!
//! jail stacks three filters and the kernel keeps the most restrictive verdict; an OCI runtime
//! builds ONE filter with libseccomp, which resolves overlapping entries of one syscall by its
//! own rules (an unconditional entry swallows conditional ones). So every syscall is written
//! with entries that never overlap: the refused cases of an always-on check, and, when the
//! default refuses, the allowed rest spelled as masked comparisons (see [`complement`]).
//! libseccomp compares 64-bit values; jail's 32-bit comparisons become masked ones on the low
//! 32 bits, so high garbage in a register cannot slip past them.

use crate::plan::seccomp::{
    Arch, ArgRuleSpec, ArgWidth, CmpOp, Portable, SeccompAction, SeccompPlan, ALL_NAMESPACES,
    AT_EMPTY_PATH, CLONE_NEWTIME, MODE_ARGS, PID_TARGETED, SETID_BITS, STDIO_AT_CALLS, STDIO_FDS,
    STDIO_FD_CALLS, TIOCLINUX, TIOCSTI,
};
use oci_spec::runtime::{
    Arch as OciArch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArgBuilder,
    LinuxSeccompFilterFlag, LinuxSeccompOperator as Op, LinuxSyscall,
};
use std::collections::BTreeMap;

const LOW32: u64 = 0xffff_ffff;

/// One comparison of one argument (OCI: `value`, `valueTwo`, `op`).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Cmp {
    index: u8,
    op: Op,
    value: u64,
    value_two: Option<u64>,
}

fn masked(index: u8, mask: u64, value: u64) -> Cmp {
    Cmp {
        index,
        op: Op::ScmpCmpMaskedEq,
        value: mask,
        value_two: Some(value),
    }
}

fn plain(index: u8, op: Op, value: u64) -> Cmp {
    Cmp {
        index,
        op,
        value,
        value_two: None,
    }
}

/// What the always-on filter does to one syscall.
enum AlwaysOn {
    Refuse(SeccompAction),
    /// EPERM when any of `refuse` matches; `allow` covers exactly the other cases.
    Check {
        refuse: Vec<Cmp>,
        allow: Vec<Cmp>,
    },
    /// Refused with its errno when every comparison of one `refuse` entry holds (entries may
    /// overlap); `allow` entries (all their comparisons hold) cover exactly the other cases.
    Rules {
        refuse: Vec<(i32, Vec<Cmp>)>,
        allow: Vec<Vec<Cmp>>,
    },
}

/// Refused entries (errno, comparisons that all hold) and the allowed rest.
type Entries = (Vec<(i32, Vec<Cmp>)>, Vec<Vec<Cmp>>);

impl AlwaysOn {
    /// As refuse/allow entries of several comparisons each (a `Refuse` has none).
    fn rules(&self) -> Option<Entries> {
        match self {
            AlwaysOn::Refuse(_) => None,
            AlwaysOn::Check { refuse, allow } => Some((
                refuse.iter().map(|c| (libc::EPERM, vec![*c])).collect(),
                allow.iter().map(|c| vec![*c]).collect(),
            )),
            AlwaysOn::Rules { refuse, allow } => Some((refuse.clone(), allow.clone())),
        }
    }
}

/// The stdio rules of one call (`always_on.rs`: `stdio_fd` and the loops over
/// [`STDIO_FD_CALLS`] and [`STDIO_AT_CALLS`]) on top of what `m` already checks for it (the
/// set-ID mode check): refused on fd 0-2 (low 32 bits), with a NULL path or AT_EMPTY_PATH
/// for the *at calls.
fn add_stdio(
    m: &mut BTreeMap<&'static str, AlwaysOn>,
    name: &'static str,
    errno: i32,
    path: Option<u8>,
    flags: Option<u8>,
) {
    let (mut refuse, old_allow) = m
        .remove(name)
        .and_then(|a| a.rules())
        .unwrap_or((vec![], vec![vec![]]));
    let stdio: Vec<u64> = (0..STDIO_FDS as u64).collect();
    // What makes a call on fd 0-2 act on the descriptor itself (none: every call does), and
    // the other cases of a stdio fd (a path given, no AT_EMPTY_PATH).
    let mut conds: Vec<Vec<Cmp>> = vec![];
    let mut rest: Vec<Vec<Cmp>> = vec![];
    match (path, flags) {
        (None, None) => conds.push(vec![]),
        _ => {
            // The other cases of a stdio fd: a path given and no AT_EMPTY_PATH.
            let mut other = vec![];
            if let Some(a) = path {
                conds.push(vec![plain(a, Op::ScmpCmpEq, 0)]);
                other.push(plain(a, Op::ScmpCmpNe, 0));
            }
            if let Some(f) = flags {
                conds.push(vec![masked(f, AT_EMPTY_PATH as u64, AT_EMPTY_PATH as u64)]);
                other.push(masked(f, AT_EMPTY_PATH as u64, 0));
            }
            rest.push(other);
        }
    }
    let mut allow = vec![];
    for &fd in &stdio {
        let on_fd = masked(0, LOW32, fd);
        for c in &conds {
            let mut r = vec![on_fd];
            r.extend(c.iter().copied());
            refuse.push((errno, r));
        }
        for c in &rest {
            for a in &old_allow {
                let mut r = vec![on_fd];
                r.extend(c.iter().chain(a).copied());
                allow.push(r);
            }
        }
    }
    let fds: Vec<u32> = stdio.iter().map(|&f| f as u32).collect();
    for (mask, v) in complement(&fds) {
        for a in &old_allow {
            let mut r = vec![masked(0, mask as u64, v as u64)];
            r.extend(a.iter().copied());
            allow.push(r);
        }
    }
    m.insert(name, AlwaysOn::Rules { refuse, allow });
}

/// The CLONE_NEW* flags, as the always-on rules check them one by one.
fn ns_bits() -> impl Iterator<Item = u64> {
    crate::plan::seccomp::NS_FLAGS.iter().map(|&(f, _)| f)
}

fn flags_check(index: u8, forbidden: u64) -> AlwaysOn {
    AlwaysOn::Check {
        refuse: ns_bits()
            .filter(|f| forbidden & *f != 0)
            .map(|f| masked(index, f, f))
            .collect(),
        allow: vec![masked(index, forbidden, 0)],
    }
}

/// The always-on filter by syscall name (`always_on.rs` is the BPF of the same rules).
fn always_on(arch: Arch, nested: u64, host_pid: bool) -> BTreeMap<&'static str, AlwaysOn> {
    let mut m = BTreeMap::new();
    let ioctl_bad = [TIOCSTI, TIOCLINUX];
    m.insert(
        "ioctl",
        AlwaysOn::Check {
            refuse: ioctl_bad
                .iter()
                .map(|&v| masked(1, LOW32, v as u64))
                .collect(),
            allow: complement(&ioctl_bad)
                .into_iter()
                .map(|(mask, v)| masked(1, mask as u64, v as u64))
                .collect(),
        },
    );
    m.insert(
        "clone3",
        AlwaysOn::Refuse(SeccompAction::Errno(libc::ENOSYS)),
    );
    m.insert(
        "openat2",
        AlwaysOn::Refuse(SeccompAction::Errno(libc::ENOSYS)),
    );
    let forbidden = ALL_NAMESPACES & !nested;
    if forbidden & !CLONE_NEWTIME != 0 {
        m.insert("clone", flags_check(0, forbidden & !CLONE_NEWTIME));
    }
    if forbidden != 0 {
        m.insert("unshare", flags_check(0, forbidden));
        let mut refuse = vec![masked(1, LOW32, 0)];
        if let AlwaysOn::Check { refuse: r, .. } = flags_check(1, forbidden) {
            refuse.extend(r);
        }
        let allow: Vec<Cmp> = ns_bits()
            .filter(|f| nested & *f != 0)
            .map(|f| masked(1, forbidden | f, f))
            .collect();
        m.insert(
            "setns",
            if allow.is_empty() {
                AlwaysOn::Refuse(SeccompAction::Errno(libc::EPERM))
            } else {
                AlwaysOn::Check { refuse, allow }
            },
        );
    }
    for &(name, arg) in MODE_ARGS {
        if arch.syscall_nr(name).is_some() {
            let bits = [SETID_BITS & 0o4000, SETID_BITS & 0o2000];
            m.insert(
                name,
                AlwaysOn::Check {
                    refuse: bits
                        .iter()
                        .map(|&b| masked(arg, b as u64, b as u64))
                        .collect(),
                    allow: vec![masked(arg, SETID_BITS as u64, 0)],
                },
            );
        }
    }
    for &name in STDIO_FD_CALLS {
        if arch.syscall_nr(name).is_some() {
            add_stdio(&mut m, name, libc::EPERM, None, None);
        }
    }
    for &(name, path, flags, errno) in STDIO_AT_CALLS {
        if arch.syscall_nr(name).is_some() {
            add_stdio(&mut m, name, errno, path, flags);
        }
    }
    if host_pid {
        for &(name, arg) in &PID_TARGETED {
            if arch.syscall_nr(name).is_some() {
                m.insert(
                    name,
                    AlwaysOn::Check {
                        refuse: vec![plain(arg, Op::ScmpCmpNe, 0)],
                        allow: vec![plain(arg, Op::ScmpCmpEq, 0)],
                    },
                );
            }
        }
    }
    m
}

/// Every 32-bit value except `values`, as (mask, value) pairs with `(x & mask) == value`, none
/// overlapping: a binary trie walked from the top bit, each branch without an excluded value
/// ending in one pair. Used where libseccomp has no "not equal on the low 32 bits".
pub(crate) fn complement(values: &[u32]) -> Vec<(u32, u32)> {
    fn walk(prefix: u32, bit: i32, vals: Vec<u32>, out: &mut Vec<(u32, u32)>) {
        if vals.is_empty() {
            let mask = if bit == 31 {
                0
            } else {
                !((1u64 << (bit + 1)) - 1) as u32
            };
            out.push((mask, prefix));
            return;
        }
        if bit < 0 {
            return;
        }
        let (ones, zeros): (Vec<u32>, Vec<u32>) = vals.into_iter().partition(|v| v >> bit & 1 == 1);
        walk(prefix, bit - 1, zeros, out);
        walk(prefix | 1 << bit, bit - 1, ones, out);
    }
    let mut out = vec![];
    let mut v = values.to_vec();
    v.sort_unstable();
    v.dedup();
    walk(0, 31, v, &mut out);
    out
}

fn action(a: SeccompAction) -> (LinuxSeccompAction, Option<u32>) {
    match a {
        SeccompAction::Allow => (LinuxSeccompAction::ScmpActAllow, None),
        SeccompAction::Errno(e) => (LinuxSeccompAction::ScmpActErrno, Some(e as u32)),
        SeccompAction::Kill => (LinuxSeccompAction::ScmpActKillProcess, None),
        SeccompAction::Trap => (LinuxSeccompAction::ScmpActTrap, None),
        SeccompAction::Log => (LinuxSeccompAction::ScmpActLog, None),
    }
}

fn refuses(a: SeccompAction) -> bool {
    !matches!(a, SeccompAction::Allow | SeccompAction::Log)
}

/// A profile rule's comparison; `lost` hears about a 32-bit order comparison that libseccomp
/// can only make on 64 bits.
fn rule_cmp(r: &ArgRuleSpec, invert: bool, lost: &mut Vec<String>) -> Option<Cmp> {
    let op = match (r.op, invert) {
        (CmpOp::Eq, false) | (CmpOp::Ne, true) => Op::ScmpCmpEq,
        (CmpOp::Ne, false) | (CmpOp::Eq, true) => Op::ScmpCmpNe,
        (CmpOp::Lt, false) | (CmpOp::Ge, true) => Op::ScmpCmpLt,
        (CmpOp::Le, false) | (CmpOp::Gt, true) => Op::ScmpCmpLe,
        (CmpOp::Gt, false) | (CmpOp::Le, true) => Op::ScmpCmpGt,
        (CmpOp::Ge, false) | (CmpOp::Lt, true) => Op::ScmpCmpGe,
        (CmpOp::MaskedEq { mask }, false) => return Some(masked(r.arg, mask, r.value)),
        (CmpOp::MaskedEq { .. }, true) => return None,
    };
    if r.width == ArgWidth::W32 {
        if op == Op::ScmpCmpEq {
            return Some(masked(r.arg, LOW32, r.value));
        }
        lost.push(format!(
            "{}: a 32-bit comparison of arg{} is made on 64 bits by libseccomp",
            r.syscall, r.arg
        ));
    }
    Some(plain(r.arg, op, r.value))
}

/// The entries of one syscall whose policy has argument rules and no always-on check.
fn with_rules(
    list: SeccompAction,
    default: SeccompAction,
    rules: &[&ArgRuleSpec],
    lost: &mut Vec<String>,
) -> Vec<(SeccompAction, Vec<Cmp>)> {
    let name = &rules[0].syscall;
    if list == default {
        let acts: std::collections::BTreeSet<String> = rules
            .iter()
            .filter(|r| r.action != default)
            .map(|r| format!("{:?}", r.action))
            .collect();
        if acts.len() > 1 {
            lost.push(format!("{name}: its rules have different actions; libseccomp does not keep jail's first-match order when they overlap"));
        }
        return rules
            .iter()
            .filter(|r| r.action != default)
            .filter_map(|r| rule_cmp(r, false, lost).map(|c| (r.action, vec![c])))
            .collect();
    }
    if rules.iter().all(|r| r.action == default) {
        if let [r] = rules {
            if let Some(c) = rule_cmp(r, true, lost) {
                return vec![(list, vec![c])];
            }
        }
        let arg = rules[0].arg;
        if rules
            .iter()
            .all(|r| r.op == CmpOp::Eq && r.width == ArgWidth::W32 && r.arg == arg)
        {
            let vals: Vec<u32> = rules.iter().map(|r| r.value as u32).collect();
            return complement(&vals)
                .into_iter()
                .map(|(m, v)| (list, vec![masked(arg, m as u64, v as u64)]))
                .collect();
        }
    }
    lost.push(format!(
        "{name}: its argument rules cannot be written without overlapping entries; it gets its list verdict ({list:?}) for every argument"
    ));
    vec![(list, vec![])]
}

/// The OCI seccomp section of `plan`, and the jail rules it loses (one line each).
pub fn to_oci(plan: &SeccompPlan) -> (LinuxSeccomp, Vec<String>) {
    let p: &Portable = &plan.portable;
    let default = p.default.unwrap_or(SeccompAction::Allow);
    let mut lost = vec![];
    let aon = always_on(plan.arch, p.nested, p.host_pid);
    let listed: BTreeMap<&str, SeccompAction> =
        p.listed.iter().map(|(n, a)| (n.as_str(), *a)).collect();
    let mut rules: BTreeMap<&str, Vec<&ArgRuleSpec>> = BTreeMap::new();
    for r in &p.rules {
        rules.entry(r.syscall.as_str()).or_default().push(r);
    }
    let mut names: Vec<&str> = listed.keys().chain(rules.keys()).copied().collect();
    names.extend(aon.keys());
    names.sort_unstable();
    names.dedup();

    let mut entries: Vec<(String, SeccompAction, Vec<Cmp>)> = vec![];
    for name in names {
        let list = listed.get(name).copied().unwrap_or(default);
        let out: Vec<(SeccompAction, Vec<Cmp>)> = match (aon.get(name), rules.get(name)) {
            (Some(AlwaysOn::Refuse(x)), _) => {
                let v = if matches!(list, SeccompAction::Kill | SeccompAction::Trap) {
                    list
                } else {
                    *x
                };
                vec![(v, vec![])]
            }
            (Some(a @ (AlwaysOn::Check { .. } | AlwaysOn::Rules { .. })), r) => {
                if r.is_some() {
                    lost.push(format!("{name}: the profile's argument rules are dropped (jail also checks {name} always); it gets its list verdict ({list:?})"));
                }
                if refuses(list) {
                    vec![(list, vec![])]
                } else {
                    let (refuse, allow) = a.rules().unwrap_or_default();
                    let mut v: Vec<_> = refuse
                        .into_iter()
                        .map(|(e, c)| (SeccompAction::Errno(e), c))
                        .collect();
                    if list != default {
                        v.extend(allow.into_iter().map(|c| (list, c)));
                    }
                    v
                }
            }
            (None, Some(r)) => with_rules(list, default, r, &mut lost),
            (None, None) => vec![(list, vec![])],
        };
        entries.extend(
            out.into_iter()
                .filter(|(a, c)| !(c.is_empty() && *a == default))
                .map(|(a, c)| (name.to_string(), a, c)),
        );
    }

    // Entries with the same action and comparisons share one `names` list.
    let mut merged: Vec<(Vec<String>, SeccompAction, Vec<Cmp>)> = vec![];
    for (n, a, c) in entries {
        match merged.iter_mut().find(|(_, a2, c2)| *a2 == a && *c2 == c) {
            Some(e) => e.0.push(n),
            None => merged.push((vec![n], a, c)),
        }
    }
    let syscalls = merged
        .into_iter()
        .map(|(names, a, cmps)| {
            let (act, errno) = action(a);
            let mut s = LinuxSyscall::default();
            s.set_names(names);
            s.set_action(act);
            s.set_errno_ret(errno);
            if !cmps.is_empty() {
                s.set_args(Some(
                    cmps.iter()
                        .map(|c| {
                            let a = LinuxSeccompArgBuilder::default()
                                .index(c.index as usize)
                                .op(c.op)
                                .value(c.value);
                            match c.value_two {
                                Some(v) => a.value_two(v),
                                None => a,
                            }
                            .build()
                            .expect("every field set")
                        })
                        .collect(),
                ));
            }
            s
        })
        .collect();
    let (def, def_errno) = action(default);
    let mut sec = LinuxSeccomp::default();
    sec.set_default_action(def);
    sec.set_default_errno_ret(def_errno);
    let mut arches = vec![match plan.arch {
        Arch::X86_64 => OciArch::ScmpArchX86_64,
        Arch::Aarch64 => OciArch::ScmpArchAarch64,
        Arch::I386 => OciArch::ScmpArchX86,
    }];
    // `[seccomp] i386`: the runtime resolves the same names in i386 numbers.
    if plan.portable.i386 && plan.arch == Arch::X86_64 {
        arches.push(OciArch::ScmpArchX86);
    }
    sec.set_architectures(Some(arches));
    if plan.log {
        sec.set_flags(Some(vec![LinuxSeccompFilterFlag::SeccompFilterFlagLog]));
    }
    sec.set_syscalls(Some(syscalls));
    lost.sort();
    lost.dedup();
    (sec, lost)
}

#[cfg(test)]
mod tests {
    use super::complement;

    #[test]
    fn complement_covers_everything_else_once() {
        let bad = [0x5412u32, 0x541C, 0, 0xffff_ffff];
        let pairs = complement(&bad);
        let hits = |x: u32| pairs.iter().filter(|(m, v)| x & m == *v).count();
        for x in bad {
            assert_eq!(hits(x), 0, "{x:#x}");
        }
        for x in [
            1u32,
            0x5413,
            0x541D,
            0x5410,
            0x8000_0000,
            0xffff_fffe,
            0x1_0000,
        ] {
            assert_eq!(hits(x), 1, "{x:#x}");
        }
        assert!(pairs.len() <= 32 * bad.len());
        assert_eq!(complement(&[]), vec![(0, 0)]);
    }
}
