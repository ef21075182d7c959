//! The profile schema of SPEC §3, as serde types.
//!
//! Every value is wrapped in [`L`] so it keeps its place in the file, every table denies unknown
//! keys, and modes/types/actions are enums. Lists stay lists of strings until the compiler,
//! because `"!x"` removals, `"?path"` optional entries and `"+path"` created ones are written in
//! the same lists.

use super::source::Origin;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A value and where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct L<T> {
    pub v: T,
    pub at: Origin,
}

impl<T> L<T> {
    pub fn new(v: T, at: Origin) -> Self {
        L { v, at }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for L<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = toml::Spanned::<T>::deserialize(d)?;
        let span = s.span();
        Ok(L {
            v: s.into_inner(),
            at: Origin::current(span),
        })
    }
}

/// Merging of SPEC §3: tables key by key, a scalar set later wins, lists are appended with
/// duplicates dropped, and a list entry `"!X"` removes `X` added earlier.
pub trait Merge {
    fn absorb(&mut self, later: Self);
}

impl<T> Merge for Option<L<T>> {
    fn absorb(&mut self, later: Self) {
        if later.is_some() {
            *self = later;
        }
    }
}

/// Strips the optional (`?`) or create (`+`) marker so `"!?/lib64"` and `"!/lib64"` both
/// remove `"?/lib64"`, and `"!?~/.mozilla"` removes `"+~/.mozilla"`.
fn list_key(s: &str) -> &str {
    s.strip_prefix(['?', '+']).unwrap_or(s)
}

/// Appends `later` to `base` with the list rules; also used for the first file (empty base).
///
/// Linear in the two lists (profiles of thousands of grants merge in milliseconds): entries are
/// indexed by value and by removal key, removed ones leave a hole that is closed at the end, so
/// the order is exactly that of pushing and removing one by one.
pub fn merge_list(base: &mut Vec<L<String>>, later: Vec<L<String>>) {
    use std::collections::{HashMap, HashSet};
    if later.is_empty() {
        return;
    }
    let mut slots: Vec<Option<L<String>>> = std::mem::take(base).into_iter().map(Some).collect();
    let mut present: HashSet<String> = HashSet::with_capacity(slots.len() + later.len());
    let mut by_key: HashMap<String, Vec<usize>> = HashMap::with_capacity(slots.len());
    for (i, x) in slots.iter().enumerate() {
        let x = x.as_ref().map(|x| x.v.as_str()).unwrap_or_default();
        crate::plan::work(1);
        present.insert(x.to_string());
        by_key.entry(list_key(x).to_string()).or_default().push(i);
    }
    for item in later {
        crate::plan::work(1);
        if let Some(removed) = item.v.strip_prefix('!') {
            for i in by_key.remove(list_key(removed)).unwrap_or_default() {
                if let Some(x) = slots[i].take() {
                    present.remove(&x.v);
                }
            }
        } else if present.contains(&item.v) {
            // Written again later: it keeps its place and takes the later origin, so what
            // a profile writes itself is not mistaken for a built-in default (SPEC §3).
            let idx = by_key.get(list_key(&item.v)).cloned().unwrap_or_default();
            for i in idx {
                if let Some(x) = slots[i].as_mut().filter(|x| x.v == item.v) {
                    x.at = item.at.clone();
                }
            }
        } else {
            present.insert(item.v.clone());
            by_key
                .entry(list_key(&item.v).to_string())
                .or_default()
                .push(slots.len());
            slots.push(Some(item));
        }
    }
    *base = slots.into_iter().flatten().collect();
}

impl Merge for Vec<L<String>> {
    fn absorb(&mut self, later: Self) {
        merge_list(self, later)
    }
}

impl<T: PartialEq> Merge for Vec<L<T>>
where
    T: Table,
{
    fn absorb(&mut self, later: Self) {
        for item in later {
            if !self.iter().any(|x| x.v == item.v) {
                self.push(item);
            }
        }
    }
}

/// Array-of-tables entries (`[[filesystem.mount]]`, `[[seccomp.rule]]`): appended in order.
pub trait Table {}

impl<V> Merge for BTreeMap<String, V> {
    fn absorb(&mut self, later: Self) {
        self.extend(later);
    }
}

/// Declares a profile table: all fields optional, unknown keys refused, and a key-by-key merge.
macro_rules! table {
    ($(#[$m:meta])* pub struct $name:ident { $( $(#[$fm:meta])* pub $f:ident : $t:ty ),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Default, Clone, PartialEq, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name { $( $(#[$fm])* #[serde(default)] pub $f: $t ),* }
        impl Merge for $name {
            fn absorb(&mut self, later: Self) { $( self.$f.absorb(later.$f); )* }
        }
    };
}

table! {
    /// One profile file. `include` is consumed by the loader and never merged.
    pub struct Profile {
        pub description: Option<L<String>>,
        pub include: Vec<L<String>>,
        pub namespaces: Namespaces,
        pub process: Process,
        pub filesystem: Filesystem,
        pub env: Env,
        pub limits: Limits,
        pub rlimits: Rlimits,
        pub capabilities: Capabilities,
        pub seccomp: Seccomp,
        pub landlock: Landlock,
        pub gui: Gui,
        pub dbus: Dbus,
    }
}

table! {
    pub struct Namespaces {
        pub user: Option<L<bool>>,
        pub pid: Option<L<bool>>,
        pub mount: Option<L<bool>>,
        pub ipc: Option<L<bool>>,
        pub uts: Option<L<bool>>,
        pub net: Option<L<bool>>,
        pub cgroup: Option<L<bool>>,
        pub time: Option<L<bool>>,
        pub nested: Vec<L<String>>,
    }
}

table! {
    pub struct Process {
        pub hostname: Option<L<String>>,
        pub cwd: Option<L<String>>,
        pub init: Option<L<bool>>,
        pub new_session: Option<L<bool>>,
        pub die_with_parent: Option<L<bool>>,
        pub uid: Option<L<UidMode>>,
        /// No memory may become both writable and executable, nor executable after being
        /// writable (PR_SET_MDWE, else seccomp rules like systemd's).
        pub memory_deny_write_execute: Option<L<bool>>,
        /// `"host"` (default): the host's /etc/machine-id shows; `"random"`: a fresh one per
        /// sandbox.
        pub machine_id: Option<L<MachineId>>,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum MachineId {
    #[default]
    Host,
    Random,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum UidMode {
    /// The caller's own ids inside.
    #[default]
    User,
    /// The caller maps to 0 inside.
    Root,
}

table! {
    pub struct Filesystem {
        pub rootfs: Option<L<String>>,
        pub ro: Vec<L<String>>,
        pub rw: Vec<L<String>>,
        pub dev: Vec<L<String>>,
        pub tmpfs: Vec<L<String>>,
        pub hide: Vec<L<String>>,
        /// Paths (grants, tmpfs, /tmp, /dev/shm) where nothing may be executed: mounted noexec
        /// and without Landlock's execute right.
        pub noexec: Vec<L<String>>,
        /// Size of the private /tmp (default 1GiB).
        pub tmp_size: Option<L<Size>>,
        /// Size of /dev/shm (default 512MiB).
        pub shm_size: Option<L<Size>>,
        /// Size of each `tmpfs` entry and of a `[[mount]]` tmpfs without `size` (default 1GiB).
        pub tmpfs_size: Option<L<Size>>,
        /// Size of the scratch tmpfs holding the throwaway writable layer of a `rootfs` image and
        /// of overlays without `upper` (default 1GiB).
        pub scratch_size: Option<L<Size>>,
        pub proc: Option<L<bool>>,
        pub devices: Option<L<Devices>>,
        /// `"private"`: the home is a folder kept for this profile under
        /// `~/.local/share/jail/homes/NAME`, bound at `$HOME` (grants into the home still apply).
        pub home: Option<L<Home>>,
        /// What a writable grant shows of the repository at its top: `"read-only"` (default,
        /// the whole `.git`) or `"commit"` (git may commit; what steers git stays read-only).
        pub repositories: Option<L<Repositories>>,
        pub mount: Vec<L<Mount>>,
    }
}

/// What a writable grant shows of the git repository at its top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Repositories {
    /// The whole `.git` read-only (the default).
    #[default]
    ReadOnly,
    /// `.git` writable (objects, refs, the index, HEAD, logs), but its configuration, hooks,
    /// `info`, `commondir`, `modules`, `worktrees` and `objects/info` read-only.
    Commit,
}

/// What the sandbox's home folder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Home {
    /// Only what the grants show of the host's home (the default).
    #[default]
    Host,
    /// A persistent folder of this profile's own, bound at `$HOME`.
    Private,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Devices {
    #[default]
    Minimal,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MountType {
    Bind,
    RoBind,
    DevBind,
    Tmpfs,
    Proc,
    Mqueue,
    Dir,
    File,
    Symlink,
    Overlay,
}

/// One `[[filesystem.mount]]` entry.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mount {
    #[serde(rename = "type")]
    pub kind: L<MountType>,
    pub source: Option<L<String>>,
    pub target: L<String>,
    pub mode: Option<L<String>>,
    pub size: Option<L<Size>>,
    pub content: Option<L<String>>,
    pub optional: Option<L<bool>>,
    #[serde(default)]
    pub lower: Vec<L<String>>,
    pub upper: Option<L<String>>,
    pub work: Option<L<String>>,
}
impl Table for Mount {}

table! {
    pub struct Env {
        pub clear: Option<L<bool>>,
        pub keep: Vec<L<String>>,
        pub set: BTreeMap<String, L<String>>,
        pub unset: Vec<L<String>>,
    }
}

table! {
    pub struct Limits {
        pub memory: Option<L<Size>>,
        pub swap: Option<L<Size>>,
        pub cpus: Option<L<f64>>,
        pub cpu_weight: Option<L<u64>>,
        pub pids: Option<L<u64>>,
        pub enforce: Option<L<Enforce>>,
        /// Without a cgroup (best-effort), hold `memory` by RLIMIT_AS (default true); false for
        /// programs that reserve large address ranges (browsers, JIT runtimes), which
        /// RLIMIT_AS would make crash.
        pub memory_fallback: Option<L<bool>>,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Enforce {
    #[default]
    Required,
    BestEffort,
}

impl std::fmt::Display for Enforce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Enforce::Required => "required",
            Enforce::BestEffort => "best-effort",
        })
    }
}

mod values;
pub use values::*;

table! {
    pub struct Capabilities {
        pub keep: Vec<L<String>>,
    }
}

table! {
    pub struct Seccomp {
        pub default: Option<L<SeccompDefault>>,
        pub deny: Vec<L<String>>,
        pub allow: Vec<L<String>>,
        pub action: Option<L<Action>>,
        pub log: Option<L<bool>>,
        pub report: Option<L<bool>>,
        pub rule: Vec<L<Rule>>,
        /// The only address families `socket()` may use (`"unix"`, `"inet"` …); absent: all.
        /// A value, not a merged list: a later file's list replaces it, and `[]` refuses every
        /// family.
        pub families: Option<L<Vec<String>>>,
        /// Allow 32-bit x86 programs (the i386 ABI), under the same rules in i386 numbers.
        pub i386: Option<L<bool>>,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum SeccompDefault {
    #[default]
    Allow,
    Deny,
}

/// What a refused call gets: `errno` (EPERM), `errno:NAME`, `kill`, `trap`, `log`, or `allow`
/// (argument rules only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Action {
    Allow,
    Errno(i32),
    Kill,
    Trap,
    Log,
}

impl Action {
    pub fn parse(s: &str) -> Result<Action, String> {
        match s {
            "allow" => Ok(Action::Allow),
            "errno" => Ok(Action::Errno(libc::EPERM)),
            "kill" => Ok(Action::Kill),
            "trap" => Ok(Action::Trap),
            "log" => Ok(Action::Log),
            _ => match s.strip_prefix("errno:") {
                Some(name) => crate::util::errno_from_name(name)
                    .map(Action::Errno)
                    .ok_or_else(|| format!("unknown errno name {name:?} (e.g. EPERM, ENOSYS, EACCES)")),
                None => Err(format!(
                    "unknown action {s:?}: expected \"errno\", \"errno:NAME\", \"kill\", \"trap\" or \"log\""
                )),
            },
        }
    }
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Action::parse(&s).map_err(de::Error::custom)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    MaskedEq,
}

/// One `[[seccomp.rule]]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub syscall: L<String>,
    pub arg: L<u8>,
    pub op: L<CmpOp>,
    pub value: L<u64>,
    pub mask: Option<L<u64>>,
    /// Compare 32 or 64 bits of the argument (default 64).
    pub width: Option<L<u8>>,
    pub action: Option<L<Action>>,
}
impl Table for Rule {}

table! {
    pub struct Landlock {
        pub enabled: Option<L<bool>>,
        pub connect_tcp: Option<L<Vec<u16>>>,
        pub bind_tcp: Option<L<Vec<u16>>>,
        pub scope: Vec<L<String>>,
        pub compat: Option<L<Compat>>,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Compat {
    #[default]
    BestEffort,
    Soft,
    Hard,
}

impl Compat {
    pub fn as_str(self) -> &'static str {
        match self {
            Compat::BestEffort => "best-effort",
            Compat::Soft => "soft",
            Compat::Hard => "hard",
        }
    }
}

impl fmt::Display for Compat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

table! {
    pub struct Gui {
        /// `"auto"`: Wayland when the session has it, else X11, else none (headless).
        pub display: Option<L<Pick>>,
        /// `"auto"`: PulseAudio (or pipewire-pulse) when the session has it, else PipeWire,
        /// else none.
        pub sound: Option<L<Pick>>,
        pub wayland: Option<L<Switch>>,
        pub x11: Option<L<Switch>>,
        pub pulseaudio: Option<L<Switch>>,
        pub pipewire: Option<L<Switch>>,
        pub gpu: Option<L<Switch>>,
    }
}

table! {
    pub struct Dbus {
        pub session: Option<L<DbusMode>>,
        pub system: Option<L<DbusMode>>,
        /// A bus (filtered or host) the session does not have, or a filtered one without
        /// xdg-dbus-proxy installed, is left out with a note instead of refusing to run.
        pub optional: Option<L<bool>>,
        /// xdg-desktop-portal: the app gets an identity the portals accept (`/.flatpak-info`,
        /// also for its proxy), the portal names and its document portal folder.
        pub portal: Option<L<bool>>,
        pub talk: Vec<L<String>>,
        pub own: Vec<L<String>>,
        pub call: Vec<L<String>>,
        pub see: Vec<L<String>>,
    }
}

/// A `[gui]` switch: `true`, `false`, or `"optional"` (granted when the session has it, skipped
/// with a note when it does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Switch {
    #[default]
    Off,
    On,
    Optional,
}

impl<'de> Deserialize<'de> for Switch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Switch;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("true, false or \"optional\"")
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Switch, E> {
                Ok(if b { Switch::On } else { Switch::Off })
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Switch, E> {
                match s {
                    "optional" => Ok(Switch::Optional),
                    _ => Err(E::custom(format!(
                        "expected true, false or \"optional\", found {s:?}"
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// `[gui] display` and `sound`: pick what the session has (`"auto"`), or nothing (`"none"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Pick {
    #[default]
    None,
    Auto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DbusMode {
    #[default]
    None,
    Filtered,
    Host,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(Size::parse("64MiB"), Ok(Size(64 << 20)));
        assert_eq!(Size::parse("2G"), Ok(Size(2 << 30)));
        assert_eq!(Size::parse("4096"), Ok(Size(4096)));
        assert_eq!(Size::parse("1K"), Ok(Size(1024)));
        assert!(Size::parse("12 parsecs")
            .unwrap_err()
            .contains("unknown unit"));
        assert!(Size::parse("MiB").is_err());
        assert!(Size::parse("99999999999999999999G").is_err());
        assert!(Size::parse("-1").is_err());
    }

    fn at() -> Origin {
        Origin::default()
    }

    #[test]
    fn list_merge_appends_dedups_and_removes() {
        let s = |v: &str| L::new(v.to_string(), at());
        let mut base = vec![];
        merge_list(&mut base, vec![s("/usr"), s("?/lib64"), s("~/.ssh")]);
        merge_list(
            &mut base,
            vec![s("/usr"), s("!/lib64"), s("/opt"), s("!~/.ssh")],
        );
        let got: Vec<_> = base.iter().map(|x| x.v.as_str()).collect();
        assert_eq!(got, ["/usr", "/opt"]);
    }

    #[test]
    fn scalars_later_wins_tables_by_key() {
        let a: Profile = toml::from_str("[namespaces]\nnet = true\npid = false\n").unwrap();
        let b: Profile = toml::from_str("[namespaces]\nnet = false\n").unwrap();
        let mut m = a;
        m.absorb(b);
        assert_eq!(m.namespaces.net.as_ref().map(|x| x.v), Some(false));
        assert_eq!(m.namespaces.pid.as_ref().map(|x| x.v), Some(false));
    }

    #[test]
    fn actions_and_rlimits() {
        assert_eq!(
            Action::parse("errno:ENOSYS"),
            Ok(Action::Errno(libc::ENOSYS))
        );
        assert!(Action::parse("errno:EWHAT").is_err());
        let p: Profile =
            toml::from_str("[rlimits]\nnofile = [1024, 4096]\ncore = 0\nstack = \"unlimited\"\n")
                .unwrap();
        assert_eq!(
            p.rlimits.nofile.unwrap().v,
            Rlimit {
                soft: Some(1024),
                hard: Some(4096)
            }
        );
        assert_eq!(
            p.rlimits.stack.unwrap().v,
            Rlimit {
                soft: None,
                hard: None
            }
        );
        assert!(toml::from_str::<Profile>("[rlimits]\nnofile = -3\n").is_err());
        assert!(toml::from_str::<Profile>("[rlimits]\nfiles = 3\n").is_err());
    }
}
