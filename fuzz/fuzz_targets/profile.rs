//! Arbitrary bytes as a profile: parse, merge over the built-in defaults, compile against a fake
//! host. Any panic (or sanitizer report) is a bug: bad input must end in a `Located` error.
#![no_main]

use jail::host::{Host, HostFs, Kind};
use jail::profile::{self, Merge, Profile};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A pretend machine: a merged-/usr system, a home with a few dotfiles, some devices.
struct FakeFs;

impl HostFs for FakeFs {
    fn kind(&self, p: &Path) -> Option<Kind> {
        let s = p.to_str()?;
        match s {
            "/bin" => Some(Kind::Symlink("usr/bin".into())),
            "/lib" => Some(Kind::Symlink("usr/lib".into())),
            "/lib64" => Some(Kind::Symlink("usr/lib64".into())),
            "/sbin" => Some(Kind::Symlink("usr/sbin".into())),
            "/home/fuzz/link" => Some(Kind::Symlink("/nowhere".into())),
            "/home/fuzz/.ssh/id_rsa" | "/etc/shadow" | "/home/fuzz/.bashrc" => Some(Kind::File),
            "/dev/null" | "/dev/dri/card0" | "/dev/kvm" => Some(Kind::Device),
            "/run/user/1000/bus" => Some(Kind::Special),
            "/"
            | "/usr"
            | "/usr/bin"
            | "/usr/lib"
            | "/usr/lib64"
            | "/usr/sbin"
            | "/etc"
            | "/opt"
            | "/home"
            | "/home/fuzz"
            | "/home/fuzz/.ssh"
            | "/home/fuzz/work"
            | "/home/fuzz/Downloads"
            | "/home/fuzz/.config"
            | "/dev"
            | "/dev/dri"
            | "/tmp"
            | "/run"
            | "/run/user"
            | "/run/user/1000"
            | "/srv/image"
            | "/proc" => Some(Kind::Dir),
            _ => None,
        }
    }
    fn canonicalize(&self, p: &Path) -> Option<PathBuf> {
        let s = p.to_str()?;
        for (link, to) in [
            ("/bin", "/usr/bin"),
            ("/lib", "/usr/lib"),
            ("/lib64", "/usr/lib64"),
            ("/sbin", "/usr/sbin"),
        ] {
            if s == link || s.starts_with(&format!("{link}/")) {
                return Some(PathBuf::from(format!("{to}{}", &s[link.len()..])));
            }
        }
        match self.kind(p)? {
            Kind::Symlink(_) => None,
            _ => Some(p.to_path_buf()),
        }
    }
}

fn host() -> Host {
    Host {
        uid: 1000,
        gid: 1000,
        user: "fuzz".into(),
        home: "/home/fuzz".into(),
        real_home: "/home/fuzz".into(),
        canonical_homes: vec![],
        cwd: "/home/fuzz/work".into(),
        runtime_dir: Some("/run/user/1000".into()),
        config_home: "/home/fuzz/.config".into(),
        data_home: "/home/fuzz/.local/share".into(),
        downloads: "/home/fuzz/Downloads".into(),
        env: [
            ("PATH", "/usr/bin:/bin"),
            ("HOME", "/home/fuzz"),
            ("LANG", "C.UTF-8"),
            ("LC_ALL", "C"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        landlock_abi: Some(4),
        hard_rlimits: BTreeMap::from([("nofile", Some(4096)), ("core", None)]),
        fs: Box::new(FakeFs),
        cgroup: fake_cgroup,
        session_optional: false,
    }
}

/// A machine with cgroup v2 delegated: limits compile without touching the real cgroupfs.
fn fake_cgroup(_: &jail::sandbox::cgroup::Limits) -> jail::sandbox::cgroup::Detection {
    jail::sandbox::cgroup::Detection {
        chosen: Some(jail::sandbox::cgroup::BackendKind::V2),
        reasons: vec!["fuzz: pretend cgroup v2".into()],
        remedy: None,
    }
}

fuzz_target!(|data: &[u8]| {
    // The loader refuses non-UTF-8, NUL bytes and files over 1 MiB before parsing; mirror that.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.contains('\0') || text.len() > 1 << 20 {
        return;
    }
    let (parsed, mut sources) = match profile::load::parse_str("fuzz.toml", text) {
        Ok(x) => x,
        Err((e, sources)) => {
            // Rendering the error must not panic either (spans, multi-byte characters).
            if let Some(at) = &e.at {
                let _ = sources.render(at);
                let _ = sources.line_col(at);
            }
            return;
        }
    };
    let defaults_id = sources.add("built-in defaults".into(), profile::DEFAULTS.into());
    let mut merged: Profile = sources.parse(defaults_id).expect("built-in defaults parse");
    // Merged twice: the profile over the defaults, then itself again as if it were its own
    // `.local` overlay (exercises "!x" removals against a non-empty base).
    merged.absorb(parsed.clone());
    merged.absorb(parsed);
    let loaded = profile::Loaded {
        name: "fuzz".into(),
        profile: merged,
        sources,
        chain: vec!["fuzz.toml".into()],
    };
    let host = host();
    match jail::plan::compile(&loaded, &["/bin/sh".to_string()], &host) {
        Ok(plan) => {
            let _ = jail::commands::explain::to_text(&plan);
            let _ = jail::commands::explain::to_json(&plan);
        }
        Err(e) => {
            if let Some(at) = &e.at {
                let _ = loaded.sources.render(at);
            }
        }
    }
});
