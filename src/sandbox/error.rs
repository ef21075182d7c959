//! Setup errors: which step, the kernel's errno name, and the remedy where one is known.
//! The child sends them to the supervisor through a pipe, one record per failure.

use crate::util::errno_name;
use nix::errno::Errno;
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub struct StepError {
    pub step: String,
    pub errno: i32,
    pub detail: String,
}

impl StepError {
    pub fn new(step: impl Into<String>, errno: Errno) -> Self {
        StepError {
            step: step.into(),
            errno: errno as i32,
            detail: String::new(),
        }
    }
    pub fn detail(step: impl Into<String>, errno: Errno, detail: impl Into<String>) -> Self {
        StepError {
            step: step.into(),
            errno: errno as i32,
            detail: detail.into(),
        }
    }

    /// A failed `std::io` call: its errno (EIO when it has none).
    pub fn io(step: impl Into<String>, e: &std::io::Error, detail: impl Into<String>) -> Self {
        StepError::detail(step, io_errno(e), detail)
    }

    /// One record: `step \x1f errno \x1f detail`.
    pub fn encode(&self) -> Vec<u8> {
        format!("{}\x1f{}\x1f{}", self.step, self.errno, self.detail).into_bytes()
    }
    pub fn decode(b: &[u8]) -> Option<StepError> {
        let s = String::from_utf8_lossy(b);
        let mut it = s.splitn(3, '\x1f');
        let step = it.next()?.to_string();
        let errno = it.next()?.parse().ok()?;
        let detail = it.next().unwrap_or("").to_string();
        Some(StepError {
            step,
            errno,
            detail,
        })
    }

    /// The line for a failed exec: its own message when it has one ("X: not found in PATH …").
    pub fn exec_line(&self) -> String {
        if self.detail.is_empty() {
            self.to_string()
        } else {
            self.detail.clone()
        }
    }

    /// What a user can do about it, when jail knows.
    pub fn remedy(&self) -> Option<String> {
        let e = Errno::from_raw(self.errno);
        let apparmor =
            std::fs::read_to_string("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")
                .map(|s| s.trim() == "1")
                .unwrap_or(false);
        if apparmor
            && matches!(e, Errno::EPERM | Errno::EACCES)
            && (self.step.starts_with("mount")
                || self.step.contains("namespace")
                || self.step.contains("map"))
        {
            return Some(
                "Ubuntu's AppArmor restricts unprivileged user namespaces: allow jail with an AppArmor profile granting `userns,` \
(see `jail doctor`), or for a test `sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0`"
                    .into(),
            );
        }
        match (self.step.as_str(), e) {
            (s, Errno::EPERM | Errno::ENOSPC | Errno::EINVAL) if s.starts_with("create namespaces") => {
                let max = std::fs::read_to_string("/proc/sys/user/max_user_namespaces").unwrap_or_default();
                if max.trim() == "0" {
                    Some("user namespaces are disabled: `sudo sysctl user.max_user_namespaces=15000`".into())
                } else if std::fs::read_to_string("/proc/sys/kernel/unprivileged_userns_clone").map(|s| s.trim() == "0").unwrap_or(false) {
                    Some("unprivileged user namespaces are disabled: `sudo sysctl kernel.unprivileged_userns_clone=1`".into())
                } else {
                    Some("run `jail doctor` to see which namespace the kernel refuses".into())
                }
            }
            (s, Errno::EPERM) if s.starts_with("mount proc") => {
                Some("this host masks parts of /proc (a container?): set filesystem.proc = false or run jail outside the container".into())
            }
            (s, Errno::EACCES | Errno::ENOENT) if s.starts_with("chdir") => {
                Some("the working folder is not visible inside: grant it, or pass --chdir".into())
            }
            _ => None,
        }
    }
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.step, errno_name(self.errno))?;
        if !self.detail.is_empty() {
            write!(f, " ({})", self.detail)?;
        }
        Ok(())
    }
}

pub type Result<T> = std::result::Result<T, StepError>;

/// The errno of an `std::io::Error` (EIO when it carries none).
pub fn io_errno(e: &std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

/// Adds a step name to an `Errno` result.
pub trait Step<T> {
    fn step(self, step: impl FnOnce() -> String) -> Result<T>;
}

impl<T> Step<T> for std::result::Result<T, Errno> {
    fn step(self, step: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| StepError::new(step(), e))
    }
}

impl<T> Step<T> for std::io::Result<T> {
    fn step(self, step: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| StepError::new(step(), io_errno(&e)))
    }
}
