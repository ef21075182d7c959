//! Two filters of the profile's own choosing, stacked after the always-on one (the kernel
//! keeps the most restrictive verdict, so each can only refuse more).
//!
//! `[seccomp] families`: `socket` and `socketpair` with an address family the profile does not
//! name fail with `EAFNOSUPPORT` (as firejail's `protocol` does). Its own filter, stacked after
//! the always-on one: the kernel keeps the most restrictive verdict of all filters, so this
//! can only refuse more, never let through a `socket` the profile's policy denies.

use super::bpf::{
    check_len, dispatch, off_arg_lo, Asm, Target, BPF_JEQ_K, BPF_JSET_K, BPF_LD_W_ABS,
};
use super::bpf::{BPF_ALU_AND_K, RET_ALLOW, RET_ERRNO};
use super::{Arch, BpfFilter, SeccompError};
use std::collections::BTreeMap;

/// The family names a profile may write, with their `AF_*` numbers.
pub const FAMILIES: [(&str, u32); 6] = [
    ("unix", libc::AF_UNIX as u32),
    ("inet", libc::AF_INET as u32),
    ("inet6", libc::AF_INET6 as u32),
    ("netlink", libc::AF_NETLINK as u32),
    ("packet", libc::AF_PACKET as u32),
    ("bluetooth", libc::AF_BLUETOOTH as u32),
];

/// The number of a family name, None for an unknown one.
pub fn family(name: &str) -> Option<u32> {
    FAMILIES.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// The name of family number `f`.
fn name_of(f: u32) -> String {
    FAMILIES
        .iter()
        .find(|(_, x)| *x == f)
        .map(|(n, _)| n.to_string())
        .unwrap_or_else(|| f.to_string())
}

/// The filter refusing every other family than `allowed` in `socket`/`socketpair` (the
/// domain, arg0, is a C `int`: its low 32 bits are compared).
pub(super) fn families_filter(
    arch: Arch,
    allowed: &[u32],
    lines: &mut Vec<String>,
) -> Result<BpfFilter, SeccompError> {
    let refuse = Target::Ret(RET_ERRNO | libc::EAFNOSUPPORT as u32);
    let allow = Target::Ret(RET_ALLOW);
    let mut asm = Asm::default();
    let mut per_nr = BTreeMap::new();
    for call in ["socket", "socketpair"] {
        let Some(nr) = arch.syscall_nr(call) else {
            continue;
        };
        if allowed.is_empty() {
            per_nr.insert(nr, refuse);
            continue;
        }
        let mut next = refuse;
        for f in allowed.iter().rev() {
            next = asm.jump(BPF_JEQ_K, *f, allow, next);
        }
        per_nr.insert(nr, asm.stmt(BPF_LD_W_ABS, off_arg_lo(0)));
    }
    if let Some(nr) = arch.syscall_nr("socketcall") {
        // i386's multiplexer: the family is in memory, so its socket and socketpair are
        // refused outright (SYS_SOCKET = 1, SYS_SOCKETPAIR = 8 in arg0).
        let pair = asm.jump(BPF_JEQ_K, 8, refuse, allow);
        asm.jump(BPF_JEQ_K, 1, refuse, pair);
        per_nr.insert(nr, asm.stmt(BPF_LD_W_ABS, off_arg_lo(0)));
    }
    let names: Vec<String> = allowed.iter().map(|f| name_of(*f)).collect();
    lines.push(format!(
        "socket, socketpair with another address family than {} -> errno EAFNOSUPPORT",
        if names.is_empty() {
            "none (every family refused)".to_string()
        } else {
            names.join(", ")
        }
    ));
    dispatch(&mut asm, &per_nr, allow);
    check_len("families", asm.finish())
}

/// The personality flag that makes readable memory executable.
const READ_IMPLIES_EXEC: u32 = 0x0040_0000;

/// `[process] memory_deny_write_execute` where the kernel lacks PR_SET_MDWE: systemd's
/// MemoryDenyWriteExecute rules. `mmap` with PROT_WRITE and PROT_EXEC, `mprotect` and
/// `pkey_mprotect` with PROT_EXEC (whatever the mapping was), `shmat` with SHM_EXEC → EPERM.
/// The protection arguments are C ints: their low 32 bits are tested.
pub(super) fn mdwe_filter(arch: Arch, lines: &mut Vec<String>) -> Result<BpfFilter, SeccompError> {
    let eperm = Target::Ret(RET_ERRNO | libc::EPERM as u32);
    let allow = Target::Ret(RET_ALLOW);
    let (w, x) = (libc::PROT_WRITE as u32, libc::PROT_EXEC as u32);
    let mut asm = Asm::default();
    let mut per_nr = BTreeMap::new();
    if arch == Arch::I386 {
        // old_mmap: its arguments are in memory (glibc uses mmap2, checked below).
        if let Some(nr) = arch.syscall_nr("mmap") {
            per_nr.insert(nr, eperm);
        }
    }
    for call in ["mmap", "mmap2"] {
        let Some(nr) = arch.syscall_nr(call) else {
            continue;
        };
        if arch == Arch::I386 && call == "mmap" {
            continue;
        }
        let both = asm.jump(BPF_JSET_K, w, eperm, allow);
        asm.jump(BPF_JSET_K, x, both, allow);
        per_nr.insert(nr, asm.stmt(BPF_LD_W_ABS, off_arg_lo(2)));
    }
    for call in ["mprotect", "pkey_mprotect"] {
        if let Some(nr) = arch.syscall_nr(call) {
            asm.jump(BPF_JSET_K, x, eperm, allow);
            per_nr.insert(nr, asm.stmt(BPF_LD_W_ABS, off_arg_lo(2)));
        }
    }
    if let Some(nr) = arch.syscall_nr("shmat") {
        asm.jump(BPF_JSET_K, libc::SHM_EXEC as u32, eperm, allow);
        per_nr.insert(nr, asm.stmt(BPF_LD_W_ABS, off_arg_lo(2)));
    }
    if let Some(nr) = arch.syscall_nr("personality") {
        // READ_IMPLIES_EXEC makes every readable mapping executable.
        asm.jump(BPF_JSET_K, READ_IMPLIES_EXEC, eperm, allow);
        per_nr.insert(nr, asm.stmt(BPF_LD_W_ABS, off_arg_lo(0)));
    }
    if arch == Arch::I386 {
        if let Some(nr) = arch.syscall_nr("ipc") {
            // i386's ipc(SHMAT = 21, id, shmflg, …): the call in arg0's low 16 bits.
            asm.jump(BPF_JSET_K, libc::SHM_EXEC as u32, eperm, allow);
            let shmflg = asm.stmt(BPF_LD_W_ABS, off_arg_lo(2));
            asm.jump(BPF_JEQ_K, 21, shmflg, allow);
            asm.stmt(BPF_ALU_AND_K, 0xffff);
            per_nr.insert(nr, asm.stmt(BPF_LD_W_ABS, off_arg_lo(0)));
        }
    }
    lines.push("memory-deny-write-execute (no PR_SET_MDWE in this kernel): mmap with PROT_WRITE|PROT_EXEC, mprotect/pkey_mprotect with PROT_EXEC, shmat (and i386's ipc SHMAT) with SHM_EXEC, personality with READ_IMPLIES_EXEC -> errno EPERM".into());
    dispatch(&mut asm, &per_nr, allow);
    check_len("mdwe", asm.finish())
}
