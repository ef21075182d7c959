//! Classic-BPF assembly for seccomp filters: opcodes and `seccomp_data` offsets, the
//! back-to-front assembler [`Asm`] (with `JA` trampolines for far jumps), the binary-search
//! dispatch on the syscall number, argument comparisons ([`condition`]) and [`merged`], which
//! concatenates a plan's filters into one program.

use super::{ArgWidth, BpfFilter, CmpOp, SeccompAction, SeccompError, SockFilter, MAX_INSNS};
use std::collections::{BTreeMap, HashMap};

// Classic BPF opcodes (linux/filter.h).
pub(super) const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD (0) | BPF_W (0) | BPF_ABS (0x20)
pub(super) const BPF_ALU_AND_K: u16 = 0x04 | 0x50; // BPF_ALU | BPF_AND | BPF_K
pub(super) const BPF_JA: u16 = 0x05; // BPF_JMP | BPF_JA
pub(super) const BPF_JEQ_K: u16 = 0x05 | 0x10;
pub(super) const BPF_JGT_K: u16 = 0x05 | 0x20;
pub(super) const BPF_JGE_K: u16 = 0x05 | 0x30;
pub(super) const BPF_JSET_K: u16 = 0x05 | 0x40;
pub(super) const BPF_RET_K: u16 = 0x06;

// struct seccomp_data offsets.
pub(super) const OFF_NR: u32 = 0;
pub(super) const OFF_ARCH: u32 = 4;
pub(super) fn off_arg_lo(arg: u8) -> u32 {
    16 + 8 * arg as u32 // little-endian: low word first (x86_64, aarch64)
}
pub(super) fn off_arg_hi(arg: u8) -> u32 {
    off_arg_lo(arg) + 4
}

// Return values.
pub const RET_KILL_PROCESS: u32 = 0x8000_0000;
pub const RET_TRAP: u32 = 0x0003_0000;
pub const RET_ERRNO: u32 = 0x0005_0000;
pub const RET_LOG: u32 = 0x7ffc_0000;
pub const RET_ALLOW: u32 = 0x7fff_0000;
/// SECCOMP_RET_USER_NOTIF: the call waits until the filter's listener answers it.
pub const RET_USER_NOTIF: u32 = 0x7fc0_0000;

pub(super) fn ret_value(a: SeccompAction) -> u32 {
    match a {
        SeccompAction::Allow => RET_ALLOW,
        SeccompAction::Errno(e) => RET_ERRNO | (e as u32 & 0xffff),
        SeccompAction::Kill => RET_KILL_PROCESS,
        SeccompAction::Trap => RET_TRAP,
        SeccompAction::Log => RET_LOG,
    }
}

/// Jump target while assembling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    /// An already emitted instruction (id = index in the reversed program).
    Label(usize),
    /// "return this value"; materialised on demand.
    Ret(u32),
}

/// Builds a program back to front, so every jump's destination is already placed and its
/// distance known. Conditional jumps whose destination is more than 255 instructions away
/// get a `JA` trampoline (32-bit offset) right behind them.
#[derive(Default)]
pub(super) struct Asm {
    rev: Vec<SockFilter>,
    rets: HashMap<u32, usize>,
}

impl Asm {
    fn push(&mut self, code: u16, jt: u8, jf: u8, k: u32) -> usize {
        self.rev.push(SockFilter { code, jt, jf, k });
        self.rev.len() - 1
    }
    /// Distance from the next pushed instruction to `id`.
    fn dist(&self, id: usize) -> usize {
        self.rev.len() - id - 1
    }
    pub(super) fn stmt(&mut self, code: u16, k: u32) -> Target {
        Target::Label(self.push(code, 0, 0, k))
    }
    pub(super) fn ret(&mut self, v: u32) -> usize {
        let id = self.push(BPF_RET_K, 0, 0, v);
        self.rets.insert(v, id);
        id
    }
    fn label(&mut self, t: Target) -> usize {
        match t {
            Target::Label(id) => id,
            Target::Ret(v) => match self.rets.get(&v) {
                Some(&id) if self.dist(id) <= 255 => id,
                _ => self.ret(v),
            },
        }
    }
    pub(super) fn jump(&mut self, code: u16, k: u32, jt: Target, jf: Target) -> Target {
        let mut t = self.label(jt);
        let mut f = self.label(jf);
        loop {
            if self.dist(t) > 255 {
                t = self.far(t);
            } else if self.dist(f) > 255 {
                f = self.far(f);
            } else {
                break;
            }
        }
        let (dt, df) = (self.dist(t) as u8, self.dist(f) as u8);
        Target::Label(self.push(code, dt, df, k))
    }
    fn far(&mut self, id: usize) -> usize {
        if let Some((&v, _)) = self.rets.iter().find(|(_, &r)| r == id) {
            return self.ret(v); // a fresh RET is as short as a JA
        }
        let d = self.dist(id) as u32;
        self.push(BPF_JA, 0, 0, d)
    }
    pub(super) fn finish(mut self) -> Vec<SockFilter> {
        self.rev.reverse();
        self.rev
    }
}

/// Emits `LD nr` + binary search over `per_nr` (syscalls with a non-default handler).
pub(super) fn dispatch(asm: &mut Asm, per_nr: &BTreeMap<u32, Target>, default: Target) {
    // Coalesce into ranges [start, next start) with one handler each, covering all of u32.
    let mut starts: BTreeMap<u32, Target> = BTreeMap::from([(0, default)]);
    for &nr in per_nr.keys() {
        if nr < u32::MAX && !per_nr.contains_key(&(nr + 1)) {
            starts.insert(nr + 1, default);
        }
    }
    starts.extend(per_nr.iter().map(|(&nr, &t)| (nr, t)));
    let mut segs: Vec<(u32, Target)> = starts.into_iter().collect();
    segs.dedup_by(|b, a| a.1 == b.1);
    fn tree(asm: &mut Asm, segs: &[(u32, Target)]) -> Target {
        if segs.len() == 1 {
            return segs[0].1;
        }
        let mid = segs.len() / 2;
        let right = tree(asm, &segs[mid..]);
        let left = tree(asm, &segs[..mid]);
        asm.jump(BPF_JGE_K, segs[mid].0, right, left)
    }
    // The load below falls through into the instruction pushed last: make that the root.
    match tree(asm, &segs) {
        Target::Label(id) if id + 1 == asm.rev.len() => {}
        Target::Label(id) => {
            let d = asm.dist(id) as u32;
            asm.push(BPF_JA, 0, 0, d);
        }
        Target::Ret(v) => {
            asm.ret(v);
        }
    }
    asm.stmt(BPF_LD_W_ABS, OFF_NR);
}

/// A resolved argument rule.
#[derive(Debug, Clone)]
pub(super) struct Rule {
    pub(super) arg: u8,
    pub(super) op: CmpOp,
    pub(super) value: u64,
    pub(super) width: ArgWidth,
    pub(super) action: SeccompAction,
}

/// Emits code that jumps to `yes` if the rule's condition holds, else to `no`.
pub(super) fn condition(asm: &mut Asm, r: &Rule, yes: Target, no: Target) -> Target {
    let (lo_v, hi_v) = (r.value as u32, (r.value >> 32) as u32);
    // Lt/Le/Ne are the negations of Ge/Gt/Eq.
    let (op, yes, no) = match r.op {
        CmpOp::Lt => (CmpOp::Ge, no, yes),
        CmpOp::Le => (CmpOp::Gt, no, yes),
        CmpOp::Ne => (CmpOp::Eq, no, yes),
        op => (op, yes, no),
    };
    let lo_code = match op {
        CmpOp::Gt => BPF_JGT_K,
        CmpOp::Ge => BPF_JGE_K,
        _ => BPF_JEQ_K,
    };
    // Low word.
    let lo_k = match op {
        CmpOp::MaskedEq { mask } => lo_v & mask as u32,
        _ => lo_v,
    };
    asm.jump(lo_code, lo_k, yes, no);
    if let CmpOp::MaskedEq { mask } = op {
        asm.stmt(BPF_ALU_AND_K, mask as u32);
    }
    let lo = asm.stmt(BPF_LD_W_ABS, off_arg_lo(r.arg));
    if r.width == ArgWidth::W32 {
        return lo;
    }
    // High word decides unless equal.
    match op {
        CmpOp::Gt | CmpOp::Ge => {
            let eq = asm.jump(BPF_JEQ_K, hi_v, lo, no);
            asm.jump(BPF_JGT_K, hi_v, yes, eq);
        }
        CmpOp::MaskedEq { mask } => {
            let m = (mask >> 32) as u32;
            asm.jump(BPF_JEQ_K, hi_v & m, lo, no);
            asm.stmt(BPF_ALU_AND_K, m);
        }
        _ => {
            asm.jump(BPF_JEQ_K, hi_v, lo, no);
        }
    }
    asm.stmt(BPF_LD_W_ABS, off_arg_hi(r.arg))
}

pub(super) fn check_len(name: &str, program: Vec<SockFilter>) -> Result<BpfFilter, SeccompError> {
    if program.len() > MAX_INSNS {
        return Err(SeccompError::TooLong {
            name: name.to_string(),
            len: program.len(),
        });
    }
    Ok(BpfFilter {
        name: name.to_string(),
        program,
    })
}

/// The plan's filters as ONE program, in install order: every `RET ALLOW` of a part becomes a
/// jump to the next part's first instruction (each part starts by loading what it needs, and
/// its jumps are relative, so parts concatenate as they are). A syscall that no part inspects
/// runs one filter instead of three (the kernel runs every stacked filter for a syscall its
/// action cache cannot answer), and constant verdicts stay cacheable.
///
/// The one difference from stacking: a part that refuses decides at once, where a stack would
/// pick the most restrictive refusal of all parts; a call refused either way is still refused.
/// None when the sum would exceed the kernel's 4096 instructions (install then stacks).
pub fn merged(filters: &[BpfFilter]) -> Option<Vec<SockFilter>> {
    let total: usize = filters.iter().map(|f| f.program.len()).sum();
    if total == 0 || total > MAX_INSNS {
        return None;
    }
    let mut out = Vec::with_capacity(total);
    for (i, f) in filters.iter().enumerate() {
        let last = i + 1 == filters.len();
        for (j, ins) in f.program.iter().enumerate() {
            if !last && ins.code == BPF_RET_K && ins.k == RET_ALLOW {
                let rest = (f.program.len() - j - 1) as u32;
                out.push(SockFilter {
                    code: BPF_JA,
                    jt: 0,
                    jf: 0,
                    k: rest,
                });
            } else {
                out.push(*ins);
            }
        }
    }
    Some(out)
}

/// `prog` with every errno verdict from instruction `from` on turned into [`RET_USER_NOTIF`];
/// every other instruction, and so every allow, kill and trap, as it is. Used for the policy
/// filter (the last part of a merged program) when the refusal report is on: the supervisor
/// answers with the errno the original program names. The guard and always-on parts before
/// `from` keep their plain errno (clone3's ENOSYS is no refusal to report).
pub fn notifying(prog: &[SockFilter], from: usize) -> Vec<SockFilter> {
    prog.iter()
        .enumerate()
        .map(|(n, i)| {
            if n >= from && i.code == BPF_RET_K && i.k & 0xffff_0000 == RET_ERRNO {
                SockFilter {
                    k: RET_USER_NOTIF,
                    ..*i
                }
            } else {
                *i
            }
        })
        .collect()
}
