//! jail: a declarative application sandbox for Linux.
//!
//! Data flows one way: `cli` → `commands` → [`profile::load`] → [`plan::compile`] →
//! [`sandbox::run`] → exit status. Only `sandbox` calls the kernel to change anything.

pub mod cli;
pub mod commands;
pub mod dbus_address;
pub mod host;
pub mod image;
pub mod plan;
pub mod profile;
pub mod sandbox;
pub mod util;

/// Exit status when jail itself failed (SPEC §1).
pub const EXIT_JAIL: i32 = 125;
/// COMMAND found but not executable.
pub const EXIT_NOEXEC: i32 = 126;
/// COMMAND not found.
pub const EXIT_NOTFOUND: i32 = 127;
