//! What one traced run did, as `jail learn` reads it back: plain data, written by the tracer
//! inside the permissive sandbox as JSON and read by the profile writer outside.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// How a path was used. One path can have several uses (read, then written).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Use {
    /// Opened for reading.
    Read,
    /// Opened for writing, created, removed, renamed, its metadata changed.
    Write,
    /// Executed.
    Exec,
    /// Its entries listed (getdents).
    List,
    /// Only looked up (stat, access, readlink, chdir).
    Lookup,
    /// A unix socket connected to or bound.
    Socket,
}

/// Counts per path and use, and whether any of them succeeded.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct PathUse {
    /// Successful uses.
    pub ok: BTreeMap<Use, u32>,
    /// Failed uses (the errno of the last one).
    pub failed: BTreeMap<Use, i32>,
}

/// An internet address connected to, bound or sent to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct InetUse {
    /// "connect", "bind" or "sendto".
    pub call: String,
    pub addr: String,
    pub port: u16,
    /// SOCK_STREAM (TCP) or not.
    pub stream: bool,
}

/// How the traced command ended.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Ending {
    /// Exit status, when it exited.
    pub status: Option<i32>,
    /// The signal that killed it.
    pub signal: Option<i32>,
    /// Killed by jail after `--timeout`.
    pub timed_out: bool,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Record {
    pub paths: BTreeMap<String, PathUse>,
    /// Abstract unix socket names connected to (without the leading NUL).
    pub abstract_sockets: BTreeSet<String>,
    pub inet: BTreeSet<InetUse>,
    /// Syscall names used (entered), with counts.
    pub syscalls: BTreeMap<String, u64>,
    /// Syscall names that returned success at least once, with counts (a call that never
    /// returns, like exit, is not here).
    pub syscalls_ok: BTreeMap<String, u64>,
    /// Namespaces it asked for with unshare/clone/setns ("user", "net" …), with whether the
    /// kernel granted it.
    pub namespaces: BTreeMap<String, bool>,
    pub ending: Ending,
    /// The command could not be started (errno of execve).
    pub exec_error: Option<i32>,
    /// Set by the recorder when the traced run ended and the record is whole.
    #[serde(default)]
    pub complete: bool,
}

impl Record {
    pub fn path(&mut self, path: String, how: Use, result: Result<(), i32>) {
        let e = self.paths.entry(path).or_default();
        match result {
            Ok(()) => *e.ok.entry(how).or_default() += 1,
            Err(errno) => {
                e.failed.insert(how, errno);
            }
        }
    }
}
