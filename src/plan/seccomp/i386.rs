//! `[seccomp] i386 = true` on x86_64: the guard lets the i386 ABI through, and every other
//! filter becomes two programs behind one branch on `seccomp_data.arch`: the native one and
//! the same rules compiled in i386 numbers (i386 21 is `mount`, x86_64 21 is `access`: a filter
//! keyed on x86_64 numbers alone would let a 32-bit program past the deny list).

use super::bpf::{check_len, Asm, Target, BPF_JA, BPF_JEQ_K, BPF_JSET_K, BPF_LD_W_ABS, OFF_ARCH};
use super::bpf::{OFF_NR, RET_ALLOW, RET_KILL_PROCESS};
use super::{Arch, BpfFilter, SeccompError, SockFilter};

const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// The guard with i386 allowed: x86_64 (without the x32 bit) or i386, anything else killed.
pub(super) fn guard_filter_i386(lines: &mut Vec<String>) -> Result<BpfFilter, SeccompError> {
    let mut asm = Asm::default();
    let kill = Target::Ret(RET_KILL_PROCESS);
    let allow = Target::Ret(RET_ALLOW);
    asm.jump(BPF_JSET_K, X32_SYSCALL_BIT, kill, allow);
    let native = asm.stmt(BPF_LD_W_ABS, OFF_NR);
    let i386 = asm.jump(BPF_JEQ_K, Arch::I386.audit_arch(), allow, kill);
    asm.jump(BPF_JEQ_K, Arch::X86_64.audit_arch(), native, i386);
    asm.stmt(BPF_LD_W_ABS, OFF_ARCH);
    lines.push("x32 syscalls (number has bit 0x40000000) -> kill process".into());
    lines.push("syscalls from another ABI than x86_64 and i386 -> kill process".into());
    check_len("guard: arch + x32", asm.finish())
}

/// `native` (guard first) and `i386` (its guard dropped) filter by filter: each filter of
/// either list, by name, as `LD arch; JEQ i386 ? i386 part : native part`. A filter only one
/// side has gets `RET ALLOW` on the other (the guard already refused what no side allows).
pub(super) fn join(
    native: Vec<BpfFilter>,
    i386: Vec<BpfFilter>,
) -> Result<Vec<BpfFilter>, SeccompError> {
    let mut native = native.into_iter();
    let mut out = vec![native.next().expect("the guard comes first")];
    let mut rest: Vec<BpfFilter> = i386.into_iter().skip(1).collect();
    let allow = || {
        vec![SockFilter {
            code: super::bpf::BPF_RET_K,
            jt: 0,
            jf: 0,
            k: RET_ALLOW,
        }]
    };
    let mut pairs: Vec<(String, Vec<SockFilter>, Vec<SockFilter>)> = vec![];
    for f in native {
        let other = match rest.iter().position(|g| g.name == f.name) {
            Some(i) => rest.remove(i).program,
            None => allow(),
        };
        pairs.push((f.name, f.program, other));
    }
    // i386-only filters go before the policy, which must stay last (the refusal report).
    let last = pairs.pop();
    for g in rest {
        pairs.push((g.name, allow(), g.program));
    }
    pairs.extend(last);
    for (name, n, i) in pairs {
        let mut p = Vec::with_capacity(n.len() + i.len() + 3);
        p.push(SockFilter {
            code: BPF_LD_W_ABS,
            jt: 0,
            jf: 0,
            k: OFF_ARCH,
        });
        // i386: fall into the JA that skips the native part; else skip it.
        p.push(SockFilter {
            code: BPF_JEQ_K,
            jt: 0,
            jf: 1,
            k: Arch::I386.audit_arch(),
        });
        p.push(SockFilter {
            code: BPF_JA,
            jt: 0,
            jf: 0,
            k: n.len() as u32,
        });
        p.extend(n);
        p.extend(i);
        out.push(check_len(&name, p)?);
    }
    Ok(out)
}
