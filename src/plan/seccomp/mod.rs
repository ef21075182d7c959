//! Seccomp policy compiler: turns a profile's `[seccomp]` section into classic-BPF
//! programs. Pure: no syscalls, no global state.
//!
//! # Filter layout
//!
//! Every plan installs (in this order) up to three filters:
//!
//! 1. `guard: arch + x32` — `seccomp_data.arch` must be the plan's arch, else
//!    `KILL_PROCESS`; on x86_64 any syscall number with the x32 bit (`0x40000000`) set is
//!    `KILL_PROCESS` too (no legitimate program in an x86_64 jail issues x32 calls; killing is
//!    loud and cannot be mistaken for the kernel's own ENOSYS).
//! 2. `always-on` — the product guarantees, independent of the profile: TIOCSTI/TIOCLINUX
//!    ioctls → EPERM (low 32 bits of the request), `clone3` → ENOSYS, `clone`/`unshare`/`setns`
//!    with a namespace flag not granted by `nested` → EPERM, S_ISUID/S_ISGID in the mode of
//!    chmod/fchmod/fchmodat/fchmodat2/creat/open/openat/mknod/mknodat → EPERM (no set-ID file
//!    can be planted in a writable grant), `openat2` → ENOSYS (its mode is in memory).
//! 3. `policy` — the profile: default verdict, deny/allow list and argument rules, all in ONE
//!    filter. Omitted when it would allow everything.
//!
//! The kernel runs every stacked filter and keeps the most restrictive verdict
//! (KILL > TRAP > ERRNO > LOG > ALLOW), so the profile can only *add* restrictions to the
//! guard and always-on filters; it can never weaken them (an `allow` rule for
//! `ioctl(TIOCSTI)` in the profile does not re-enable it).
//!
//! Inside the policy filter, per syscall, argument rules are evaluated in profile order and
//! the first rule whose condition matches decides; when none matches the syscall gets its
//! list verdict (allow-listed / deny-listed / default). Because everything lives in one
//! filter, an `Allow` rule *can* carve an exception out of a denied syscall, e.g.
//! default = deny, `socket` not allowed, rule `socket arg0 eq AF_UNIX -> allow`.
//!
//! Dispatch on the syscall number is a binary search over ranges of equal verdict
//! (O(log n) instructions instead of seccompiler's linear scan). Syscalls whose verdict does
//! not depend on arguments only ever load `nr`/`arch` before returning, so the kernel's
//! seccomp action cache (5.11+) marks them "always allow" and skips the filters entirely.
//! Argument checks are confined to the few syscalls that need them.
//!
//! # Why not seccompiler
//! seccompiler 0.5 builds one linear filter per match action and never checks the x32 bit.
//! Expressing this layout with it needs at least 5 filters (guard, EPERM, ENOSYS, policy
//! action, one per extra rule action) and a linear scan: see the `measure_vs_seccompiler`
//! test for instruction counts.
//!
//! # Files
//!
//! - this file: the input ([`SeccompSpec`]), error and output ([`SeccompPlan`]) types;
//! - `compile.rs`: [`compile`], which checks a spec and builds the three filters;
//! - `groups.rs`: the `@group` tables (`@default-deny` …) and their expansion;
//! - `bpf.rs`: the classic-BPF assembler (binary-search dispatch, argument comparisons) and
//!   [`merged`];
//! - `always_on.rs`: the guard and always-on filters (namespace flags, set-ID modes,
//!   pid-targeted calls);
//! - `families.rs`: the profile-chosen extra filters `families` (socket address families)
//!   and `mdwe` (memory-deny-write-execute on kernels without PR_SET_MDWE);
//! - `i386.rs`: `[seccomp] i386`: the guard that admits i386 and the ABI branch joining each
//!   filter with its i386-numbered twin;
//! - `arg_types.rs`: which syscall arguments are 32-bit C types ([`arg_width`]);
//! - `emu.rs` (tests only): a BPF interpreter; `tests.rs`: the unit tests.

mod always_on;
mod arg_types;
mod bpf;
mod compile;
pub mod emu;
mod families;
mod groups;
mod i386;
#[cfg(test)]
mod tests;
pub(crate) mod twins;

pub use always_on::{
    ALL_NAMESPACES, AT_EMPTY_PATH, CLONE_NEWTIME, MODE_ARGS, NS_FLAGS, PID_TARGETED, SETID_BITS,
    STDIO_AT_CALLS, STDIO_FDS, STDIO_FD_CALLS, TIOCLINUX, TIOCSTI,
};
pub use arg_types::arg_width;
pub use bpf::{
    merged, notifying, RET_ALLOW, RET_ERRNO, RET_KILL_PROCESS, RET_LOG, RET_TRAP, RET_USER_NOTIF,
};
pub use compile::{compile, error_position, explain_lines, PERSONALITY_OK};
pub use families::{family, FAMILIES};
pub use groups::{group_names, group_path, groups, GroupInfo};

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// Kernel limit on instructions per filter (BPF_MAXINSNS).
pub const MAX_INSNS: usize = 4096;

// ---------------------------------------------------------------------------------------------
// Input types
// ---------------------------------------------------------------------------------------------

/// What a matching syscall gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SeccompAction {
    Allow,
    /// Fail with this errno (1..=4095) without running the syscall.
    Errno(i32),
    /// Kill the whole process (SECCOMP_RET_KILL_PROCESS, looks like death by SIGSYS).
    Kill,
    /// Deliver SIGSYS to the thread.
    Trap,
    /// Allow, but log in the kernel audit log.
    Log,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DefaultPolicy {
    #[default]
    Allow,
    Deny,
}

/// Comparison of a syscall argument with `value`, unsigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `(arg & mask) == value`
    MaskedEq {
        mask: u64,
    },
}

/// How many bits of the argument are compared. Use `W32` for C `int`/`unsigned int`
/// arguments: the kernel ignores the upper half of the register for those, so a 64-bit
/// comparison could be bypassed with garbage in the high bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArgWidth {
    W32,
    W64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArgRuleSpec {
    pub syscall: String,
    /// Argument index, 0..=5.
    pub arg: u8,
    pub op: CmpOp,
    pub value: u64,
    pub width: ArgWidth,
    pub action: SeccompAction,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct SeccompSpec {
    pub default: DefaultPolicy,
    /// Syscall names and `@group`s refused when `default = Allow`.
    pub deny: Vec<String>,
    /// Syscall names and `@group`s permitted when `default = Deny`.
    pub allow: Vec<String>,
    /// What a refused call gets. `None`: Errno(EPERM) for Allow-default, Errno(ENOSYS) for
    /// Deny-default (so libc fallbacks for newer syscalls keep working).
    pub action: Option<SeccompAction>,
    /// Install with SECCOMP_FILTER_FLAG_LOG: refused calls are logged by the kernel.
    pub log: bool,
    pub rules: Vec<ArgRuleSpec>,
    /// CLONE_NEW* flags COMMAND may still use itself (clone/unshare/setns). 0 = none.
    pub nested: u64,
    /// The sandbox shares the host's pid namespace (`namespaces.pid = false`): calls that act
    /// on another process by pid without a signal or ptrace check are refused.
    pub host_pid: bool,
    /// `[seccomp] families`: the only address families `socket`/`socketpair` may use (`AF_*`
    /// numbers); None = every family.
    pub families: Option<Vec<u32>>,
    /// Memory-deny-write-execute by seccomp (kernels without PR_SET_MDWE).
    pub mdwe: bool,
    /// `[seccomp] i386 = true` (x86_64 only): 32-bit x86 programs may run; every filter then
    /// also holds its rules in i386 numbers.
    pub i386: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arch {
    #[serde(rename = "x86_64")]
    X86_64,
    Aarch64,
    /// The 32-bit x86 ABI (`int 0x80`) of an x86_64 kernel: never a plan's own arch; its
    /// numbers are compiled into the filters of a plan with `[seccomp] i386 = true`.
    I386,
}

impl Arch {
    /// The architecture this binary runs on, if jail supports it.
    pub fn native() -> Option<Arch> {
        if cfg!(target_arch = "x86_64") {
            Some(Arch::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Arch::Aarch64)
        } else {
            None
        }
    }

    /// AUDIT_ARCH_* value the kernel puts in `seccomp_data.arch`.
    pub fn audit_arch(self) -> u32 {
        match self {
            Arch::X86_64 => 0xC000_003E,
            Arch::Aarch64 => 0xC000_00B7,
            Arch::I386 => 0x4000_0003,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::I386 => "i386",
        }
    }

    /// Syscall number of `name` on this arch.
    pub fn syscall_nr(self, name: &str) -> Option<u32> {
        match self {
            Arch::X86_64 => name
                .parse::<syscalls::x86_64::Sysno>()
                .ok()
                .map(|s| s.id() as u32),
            Arch::Aarch64 => name
                .parse::<syscalls::aarch64::Sysno>()
                .ok()
                .map(|s| s.id() as u32),
            Arch::I386 => name
                .parse::<syscalls::x86::Sysno>()
                .ok()
                .map(|s| s.id() as u32),
        }
    }

    /// Syscall name of `nr` on this arch.
    pub fn syscall_name(self, nr: u32) -> Option<&'static str> {
        match self {
            Arch::X86_64 => syscalls::x86_64::Sysno::new(nr as usize).map(|s| s.name()),
            Arch::Aarch64 => syscalls::aarch64::Sysno::new(nr as usize).map(|s| s.name()),
            Arch::I386 => syscalls::x86::Sysno::new(nr as usize).map(|s| s.name()),
        }
    }

    /// Argument index holding the flags of `clone` (CLONE_BACKWARDS2 arches such as s390
    /// would use 1; both supported arches use 0).
    fn clone_flags_arg(self) -> u8 {
        match self {
            Arch::X86_64 | Arch::Aarch64 | Arch::I386 => 0,
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Architectures consulted to tell "exists elsewhere" (warning) from "exists nowhere" (error).
fn other_arch_having(name: &str) -> Option<&'static str> {
    macro_rules! probe {
        ($($m:ident),*) => {
            // The crate spells keyword-named syscalls as raw identifiers (x86 `r#break`).
            $( if name.parse::<syscalls::$m::Sysno>().is_ok() || format!("r#{name}").parse::<syscalls::$m::Sysno>().is_ok() {
                return Some(stringify!($m));
            } )*
        };
    }
    probe!(
        x86_64,
        aarch64,
        x86,
        arm,
        riscv64,
        riscv32,
        loongarch64,
        powerpc64,
        powerpc,
        s390x,
        mips64,
        mips,
        sparc64,
        sparc
    );
    None
}

// ---------------------------------------------------------------------------------------------
// Actions as text
// ---------------------------------------------------------------------------------------------

fn refuses(a: SeccompAction) -> bool {
    !matches!(a, SeccompAction::Allow | SeccompAction::Log)
}

fn action_text(a: SeccompAction) -> String {
    match a {
        SeccompAction::Allow => "allow".into(),
        SeccompAction::Errno(e) => format!("errno {}", crate::util::errno_name(e)),
        SeccompAction::Kill => "kill process".into(),
        SeccompAction::Trap => "SIGSYS trap".into(),
        SeccompAction::Log => "allow+log".into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ListKind {
    Deny,
    Allow,
    Rule,
}

impl fmt::Display for ListKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ListKind::Deny => "seccomp.deny",
            ListKind::Allow => "seccomp.allow",
            ListKind::Rule => "seccomp.rules",
        })
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SeccompError {
    #[error("{list}[{index}]: system call {name:?} exists on no known architecture (typo?)")]
    UnknownName {
        list: ListKind,
        index: usize,
        name: String,
    },
    #[error(
        "{list}[{index}]: unknown system call group {name:?} (`jail explain --format json` lists the groups)"
    )]
    UnknownGroup {
        list: ListKind,
        index: usize,
        name: String,
    },
    #[error(
        "{list}[{index}]: {name:?} refuses {syscall}, but jail installs the filter right before it \
         execs COMMAND, so COMMAND could never start; remove {syscall} from this entry"
    )]
    DeniesExec {
        list: ListKind,
        index: usize,
        name: String,
        syscall: &'static str,
    },
    #[error("seccomp.rules[{index}]: {reason}")]
    BadArg { index: usize, reason: String },
    #[error("seccomp.action: errno {errno} is out of range 1..=4095")]
    BadAction { errno: i32 },
    #[error("seccomp.nested: {value:#x} contains bits that are not CLONE_NEW* namespace flags")]
    BadNested { value: u64 },
    #[error("seccomp filter {name:?} needs {len} BPF instructions, the kernel allows {MAX_INSNS}")]
    TooLong { name: String, len: usize },
}

// ---------------------------------------------------------------------------------------------
// Output types
// ---------------------------------------------------------------------------------------------

/// One classic-BPF instruction; same layout as `libc::sock_filter`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SockFilter {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

impl From<SockFilter> for libc::sock_filter {
    fn from(i: SockFilter) -> Self {
        libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BpfFilter {
    /// Why this filter exists, e.g. "guard: arch + x32".
    pub name: String,
    pub program: Vec<SockFilter>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamedSyscall {
    pub name: String,
    pub nr: u32,
}

/// Human-oriented description of a plan for `jail explain`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeccompSummary {
    pub default: DefaultPolicy,
    /// What refused calls get.
    pub refuse_action: SeccompAction,
    /// default = Allow: the syscalls refused.
    pub denied: Vec<NamedSyscall>,
    /// default = Deny: the syscalls let through (including the implicit ones).
    pub allowed: Vec<NamedSyscall>,
    /// One line per argument rule that made it into the filter.
    pub rules: Vec<String>,
    /// The always-on guarantees, one line each.
    pub always_on: Vec<String>,
    /// Things the compiler added or dropped on purpose.
    pub notes: Vec<String>,
    /// Probably not what the profile author meant (e.g. names missing on this arch).
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeccompPlan {
    pub arch: Arch,
    /// Filters in installation order.
    pub filters: Vec<BpfFilter>,
    pub summary: SeccompSummary,
    /// Install with SECCOMP_FILTER_FLAG_LOG.
    pub log: bool,
    /// `[seccomp] report` (default on): the policy filter's errno verdicts go to jail's
    /// supervisor as user notifications, which it answers with the same errno and counts for
    /// the refusal report. Shown in plans only when off.
    #[serde(skip_serializing_if = "is_true")]
    pub report: bool,
    /// Why each listed syscall is refused, for the refusal report (`@mount in @default-deny`).
    /// Derived from the lists, so not part of the serialized plan.
    #[serde(skip)]
    pub origins: BTreeMap<u32, String>,
    /// The same in i386 numbers (`[seccomp] i386`).
    #[serde(skip)]
    pub origins_i386: BTreeMap<u32, String>,
    /// The policy by syscall name, for `jail export` (other runtimes take names, not BPF).
    /// Not part of the JSON plan: the filters and the summary say the same.
    #[serde(skip)]
    pub portable: Portable,
}

fn is_true(b: &bool) -> bool {
    *b
}

/// The resolved policy filter by name: what `jail export` turns into an OCI seccomp section.
/// The guard and always-on filters are not listed: they follow from `arch`, `nested` and
/// `host_pid` (the constants of `always_on.rs`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Portable {
    /// What a syscall that is not listed gets (Allow for a deny list).
    pub default: Option<SeccompAction>,
    /// Listed syscalls and their verdict (the refuse action, or Allow for an allow list).
    pub listed: Vec<(String, SeccompAction)>,
    /// Argument rules in evaluation order (the profile's, then the personality values of
    /// `@default-deny`); per syscall the first match decides, else its list verdict.
    pub rules: Vec<ArgRuleSpec>,
    pub nested: u64,
    pub host_pid: bool,
    /// `[seccomp] families` (see [`SeccompSpec::families`]).
    pub families: Option<Vec<u32>>,
    /// `[seccomp] i386`: the i386 ABI is allowed (its calls under the same rules).
    pub i386: bool,
}

impl SeccompPlan {
    pub fn instruction_count(&self) -> usize {
        self.filters.iter().map(|f| f.program.len()).sum()
    }

    /// Multi-line text for `jail explain`.
    pub fn explain(&self) -> String {
        use std::fmt::Write;
        let s = &self.summary;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "seccomp ({}), default {:?}, refused calls get {}",
            self.arch,
            s.default,
            action_text(s.refuse_action)
        );
        let list = |v: &[NamedSyscall]| {
            v.iter()
                .map(|n| format!("{}({})", n.name, n.nr))
                .collect::<Vec<_>>()
                .join(" ")
        };
        if !s.denied.is_empty() {
            let _ = writeln!(out, "  denied ({}): {}", s.denied.len(), list(&s.denied));
        }
        if !s.allowed.is_empty() {
            let _ = writeln!(out, "  allowed ({}): {}", s.allowed.len(), list(&s.allowed));
        }
        for r in &s.rules {
            let _ = writeln!(out, "  rule: {r}");
        }
        for r in &s.always_on {
            let _ = writeln!(out, "  always: {r}");
        }
        for n in &s.notes {
            let _ = writeln!(out, "  note: {n}");
        }
        for w in &s.warnings {
            let _ = writeln!(out, "  warning: {w}");
        }
        let _ = writeln!(
            out,
            "  filters: {}{}",
            self.filters
                .iter()
                .map(|f| format!("[{}: {} insns]", f.name, f.program.len()))
                .collect::<Vec<_>>()
                .join(" "),
            if self.log {
                " (installed with SECCOMP_FILTER_FLAG_LOG)"
            } else {
                ""
            }
        );
        if !self.report {
            let _ = writeln!(
                out,
                "  report: off (refused calls get their errno from the kernel; jail names none)"
            );
        }
        out
    }
}
