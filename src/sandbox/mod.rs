//! The executor: the only place that changes anything in the kernel, and the only home of
//! `unsafe` (each block with a `// SAFETY:` line).
//!
//! `spawn` is the supervisor side (clone, id maps, cgroup placement, wait, signals, cleanup);
//! `child` runs inside (filesystem, host name, loopback, capabilities, no_new_privs, Landlock,
//! seccomp, execve — in that order); `init` is PID 1.

pub mod cgroup;
pub mod child;
pub mod create;
pub mod dbus;
pub mod dbus_proxy;
pub mod enter;
pub mod error;
pub mod fs;
pub mod gitwatch;
pub mod init;
pub mod landlock;
pub mod llaudit;
pub mod lockdown;
pub mod notify;
pub mod probe;
pub mod proxy_root;
pub mod pty;
pub mod relay;
pub mod seccomp;
pub mod spawn;
pub mod state;
pub mod sys;
pub mod trace;

pub use spawn::{run, RunOptions};
