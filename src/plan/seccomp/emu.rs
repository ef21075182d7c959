//! Classic-BPF interpreter for the subset the assembler emits (tests only): runs a program on
//! a `seccomp_data`, evaluates a whole filter stack like the kernel, and mirrors the kernel's
//! action-cache check.

use super::bpf::{
    BPF_ALU_AND_K, BPF_JA, BPF_JEQ_K, BPF_JGE_K, BPF_JGT_K, BPF_JSET_K, BPF_LD_W_ABS, BPF_RET_K,
    OFF_ARCH, OFF_NR,
};
use super::{SeccompPlan, SockFilter, RET_ALLOW};

/// Runs `prog` on a seccomp_data; returns (return value, instructions executed).
pub fn run(prog: &[SockFilter], nr: u32, arch: u32, args: [u64; 6]) -> (u32, usize) {
    let mut data = [0u8; 64];
    data[0..4].copy_from_slice(&nr.to_le_bytes());
    data[4..8].copy_from_slice(&arch.to_le_bytes());
    for (i, a) in args.iter().enumerate() {
        data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
    }
    let (mut pc, mut a, mut steps) = (0usize, 0u32, 0usize);
    loop {
        let i = prog[pc];
        steps += 1;
        let cond = |c: bool| pc + 1 + if c { i.jt as usize } else { i.jf as usize };
        pc = match i.code {
            BPF_LD_W_ABS => {
                let k = i.k as usize;
                a = u32::from_le_bytes(data[k..k + 4].try_into().unwrap());
                pc + 1
            }
            BPF_ALU_AND_K => {
                a &= i.k;
                pc + 1
            }
            BPF_JA => pc + 1 + i.k as usize,
            BPF_JEQ_K => cond(a == i.k),
            BPF_JGT_K => cond(a > i.k),
            BPF_JGE_K => cond(a >= i.k),
            BPF_JSET_K => cond(a & i.k != 0),
            BPF_RET_K => return (i.k, steps),
            c => panic!("unexpected opcode {c:#x}"),
        };
    }
}

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
    let (mut pc, mut a) = (0usize, 0u32);
    loop {
        let i = prog[pc];
        let cond = |c: bool| pc + 1 + if c { i.jt as usize } else { i.jf as usize };
        pc = match i.code {
            BPF_LD_W_ABS if i.k == OFF_NR => {
                a = nr;
                pc + 1
            }
            BPF_LD_W_ABS if i.k == OFF_ARCH => {
                a = arch;
                pc + 1
            }
            BPF_LD_W_ABS => return false,
            BPF_ALU_AND_K => {
                a &= i.k;
                pc + 1
            }
            BPF_JA => pc + 1 + i.k as usize,
            BPF_JEQ_K => cond(a == i.k),
            BPF_JGT_K => cond(a > i.k),
            BPF_JGE_K => cond(a >= i.k),
            BPF_JSET_K => cond(a & i.k != 0),
            BPF_RET_K => return i.k == RET_ALLOW,
            _ => return false,
        };
    }
}
