//! The Landlock access rights jail plans with, and the access classes of the path rules
//! (`ro`, `rw`, `dev`, `list`, `rw-no-create`) with the rights each one grants.

use serde::{Deserialize, Serialize};

/// A Landlock filesystem access right (names follow the kernel's `LANDLOCK_ACCESS_FS_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FsRight {
    Execute,
    WriteFile,
    ReadFile,
    ReadDir,
    RemoveDir,
    RemoveFile,
    MakeChar,
    MakeDir,
    MakeReg,
    MakeSock,
    MakeFifo,
    MakeBlock,
    MakeSym,
    Refer,
    Truncate,
    IoctlDev,
}

impl FsRight {
    /// Every right this module knows, in kernel bit order.
    pub const ALL: [FsRight; 16] = [
        FsRight::Execute,
        FsRight::WriteFile,
        FsRight::ReadFile,
        FsRight::ReadDir,
        FsRight::RemoveDir,
        FsRight::RemoveFile,
        FsRight::MakeChar,
        FsRight::MakeDir,
        FsRight::MakeReg,
        FsRight::MakeSock,
        FsRight::MakeFifo,
        FsRight::MakeBlock,
        FsRight::MakeSym,
        FsRight::Refer,
        FsRight::Truncate,
        FsRight::IoctlDev,
    ];

    /// First ABI that handles this right.
    pub fn min_abi(self) -> u32 {
        match self {
            FsRight::Refer => 2,
            FsRight::Truncate => 3,
            FsRight::IoctlDev => 5,
            _ => 1,
        }
    }

    /// Rights that the kernel accepts on a rule whose path is not a directory.
    pub fn applies_to_files(self) -> bool {
        matches!(
            self,
            FsRight::Execute
                | FsRight::WriteFile
                | FsRight::ReadFile
                | FsRight::Truncate
                | FsRight::IoctlDev
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FsRight::Execute => "execute",
            FsRight::WriteFile => "write_file",
            FsRight::ReadFile => "read_file",
            FsRight::ReadDir => "read_dir",
            FsRight::RemoveDir => "remove_dir",
            FsRight::RemoveFile => "remove_file",
            FsRight::MakeChar => "make_char",
            FsRight::MakeDir => "make_dir",
            FsRight::MakeReg => "make_reg",
            FsRight::MakeSock => "make_sock",
            FsRight::MakeFifo => "make_fifo",
            FsRight::MakeBlock => "make_block",
            FsRight::MakeSym => "make_sym",
            FsRight::Refer => "refer",
            FsRight::Truncate => "truncate",
            FsRight::IoctlDev => "ioctl_dev",
        }
    }
}

/// A Landlock network access right (ABI 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetRight {
    BindTcp,
    ConnectTcp,
}

impl NetRight {
    pub fn as_str(self) -> &'static str {
        match self {
            NetRight::BindTcp => "bind_tcp",
            NetRight::ConnectTcp => "connect_tcp",
        }
    }
}

/// Which spec list(s) a path rule came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PathClass {
    Ro,
    Rw,
    Dev,
    List,
    /// A folder of a writable grant that holds start-up files (a home): its existing entries
    /// may be read, written and removed, but nothing new may be created or renamed into it
    /// (so `~/.bash_profile` cannot be planted); its sub-folders get `rw` rules of their own.
    Guarded,
}

impl PathClass {
    pub fn as_str(self) -> &'static str {
        match self {
            PathClass::Ro => "ro",
            PathClass::Rw => "rw",
            PathClass::Dev => "dev",
            PathClass::List => "list",
            PathClass::Guarded => "rw-no-create",
        }
    }

    /// Rights granted by this class before intersecting with the handled set.
    pub(super) fn wanted(self) -> &'static [FsRight] {
        use FsRight::*;
        match self {
            PathClass::Ro => &[Execute, ReadFile, ReadDir],
            PathClass::Rw => &[
                Execute, WriteFile, ReadFile, ReadDir, RemoveDir, RemoveFile, MakeChar, MakeDir,
                MakeReg, MakeSock, MakeFifo, MakeBlock, MakeSym, Refer, Truncate,
            ],
            PathClass::Dev => &[ReadFile, WriteFile, ReadDir, IoctlDev],
            PathClass::List => &[ReadDir],
            // Nothing new appears, and nothing goes away (a symlinked dotfile or policy
            // folder deleted would take its protection, or a `.local` hardening, with it).
            PathClass::Guarded => &[Execute, WriteFile, ReadFile, ReadDir, Truncate],
        }
    }
}
