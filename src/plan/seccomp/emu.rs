//! Classic-BPF interpreter for the subset the assembler emits: runs a program on a
//! `seccomp_data`, evaluates a whole filter stack like the kernel, and mirrors the kernel's
//! action-cache check. The opcode semantics are written once, in [`step`]. Outside tests only
//! [`verdict`] is used: the supervisor's answer to a user notification (see
//! `sandbox::notify`) is what the errno version of the same program returns.

use super::bpf::{
    BPF_ALU_AND_K, BPF_JA, BPF_JEQ_K, BPF_JGE_K, BPF_JGT_K, BPF_JSET_K, BPF_LD_W_ABS, BPF_RET_K,
    OFF_ARCH, OFF_NR,
};
#[cfg(test)]
use super::SeccompPlan;
use super::{SockFilter, RET_ALLOW};

/// What one instruction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Continue at this instruction.
    Next(usize),
    /// The program returned this value.
    Ret(u32),
    /// A load of this `seccomp_data` offset that the caller's `load` could not answer.
    NoLoad(u32),
    /// An opcode the assembler never emits.
    Unknown(u16),
}

/// Executes instruction `i` at `pc` with accumulator `a`. `load(k)` is the 32-bit word at
/// offset `k` of `seccomp_data`, or None if the caller cannot (or will not) provide it.
pub fn step(i: SockFilter, pc: usize, a: &mut u32, load: impl Fn(u32) -> Option<u32>) -> Step {
    let cond = |c: bool| Step::Next(pc + 1 + if c { i.jt as usize } else { i.jf as usize });
    match i.code {
        BPF_LD_W_ABS => match load(i.k) {
            Some(v) => {
                *a = v;
                Step::Next(pc + 1)
            }
            None => Step::NoLoad(i.k),
        },
        BPF_ALU_AND_K => {
            *a &= i.k;
            Step::Next(pc + 1)
        }
        BPF_JA => Step::Next(pc + 1 + i.k as usize),
        BPF_JEQ_K => cond(*a == i.k),
        BPF_JGT_K => cond(*a > i.k),
        BPF_JGE_K => cond(*a >= i.k),
        BPF_JSET_K => cond(*a & i.k != 0),
        BPF_RET_K => Step::Ret(i.k),
        c => Step::Unknown(c),
    }
}

/// Runs `prog` on a seccomp_data; returns (return value, instructions executed).
#[cfg(test)]
pub fn run(prog: &[SockFilter], nr: u32, arch: u32, args: [u64; 6]) -> (u32, usize) {
    let mut data = [0u8; 64];
    data[0..4].copy_from_slice(&nr.to_le_bytes());
    data[4..8].copy_from_slice(&arch.to_le_bytes());
    for (i, a) in args.iter().enumerate() {
        data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
    }
    let load = |k: u32| {
        let k = k as usize;
        Some(u32::from_le_bytes(data.get(k..k + 4)?.try_into().ok()?))
    };
    let (mut pc, mut a, mut steps) = (0usize, 0u32, 0usize);
    loop {
        steps += 1;
        pc = match step(prog[pc], pc, &mut a, load) {
            Step::Next(next) => next,
            Step::Ret(v) => return (v, steps),
            Step::NoLoad(k) => panic!("load beyond seccomp_data at offset {k}"),
            Step::Unknown(c) => panic!("unexpected opcode {c:#x}"),
        };
    }
}

#[cfg(test)]
/// The kernel's verdict for the whole stack: the most restrictive action wins; on a tie
/// the most recently installed filter wins.
pub fn eval_arch(plan: &SeccompPlan, nr: u32, arch: u32, args: [u64; 6]) -> u32 {
    let mut ret = RET_ALLOW;
    for f in plan.filters.iter().rev() {
        let r = run(&f.program, nr, arch, args).0;
        if ((r & 0xffff_0000) as i32) < ((ret & 0xffff_0000) as i32) {
            ret = r;
        }
    }
    ret
}

#[cfg(test)]
pub fn eval(plan: &SeccompPlan, name: &str, args: [u64; 6]) -> u32 {
    eval_arch(
        plan,
        plan.arch.syscall_nr(name).unwrap(),
        plan.arch.audit_arch(),
        args,
    )
}

/// Mirrors the kernel's seccomp_is_const_allow(): can the action cache skip this filter
/// for `nr` (verdict ALLOW without looking at arguments)?
pub fn is_const_allow(prog: &[SockFilter], nr: u32, arch: u32) -> bool {
    // Only `nr` and `arch` are known: a load of an argument means "depends on arguments".
    let load = |k: u32| match k {
        OFF_NR => Some(nr),
        OFF_ARCH => Some(arch),
        _ => None,
    };
    let (mut pc, mut a) = (0usize, 0u32);
    loop {
        pc = match step(prog[pc], pc, &mut a, load) {
            Step::Next(next) => next,
            Step::Ret(v) => return v == RET_ALLOW,
            Step::NoLoad(_) | Step::Unknown(_) => return false,
        };
    }
}

/// What `prog` returns for the `seccomp_data` in `data` (64 bytes, as the kernel lays it out).
/// None for a program this interpreter does not know or that loads beyond the data; never
/// panics, and stops after `prog.len()` steps (classic BPF only jumps forward).
pub fn verdict(prog: &[SockFilter], data: &[u8; 64]) -> Option<u32> {
    let load = |k: u32| {
        let k = k as usize;
        Some(u32::from_le_bytes(data.get(k..k + 4)?.try_into().ok()?))
    };
    let (mut pc, mut a) = (0usize, 0u32);
    for _ in 0..=prog.len() {
        pc = match step(*prog.get(pc)?, pc, &mut a, load) {
            Step::Next(next) => next,
            Step::Ret(v) => return Some(v),
            Step::NoLoad(_) | Step::Unknown(_) => return None,
        };
    }
    None
}
