//! The loader on real files: the input is split on lines `---` into up to four files, `a.toml`,
//! `b.toml`, `a.local.toml` and `c.toml`, in a private folder that is the whole search path (plus
//! the built-in profiles), so includes, cycles, `.local` overlays and `"!x"` removals against the
//! defaults all run; then the merged profile is compiled against the real host. No panic allowed.
#![no_main]

use jail::profile::{self, Overrides, SearchPath};
use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("jail-fuzz-loader-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    })
}

thread_local! {
    /// The real host, except for the cgroup probe (faked: no cgroupfs access per input).
    static HOST: jail::host::Host = {
        let mut h = jail::host::Host::probe();
        h.cgroup = fake_cgroup;
        h
    };
}

fn fake_cgroup(_: &jail::sandbox::cgroup::Limits) -> jail::sandbox::cgroup::Detection {
    jail::sandbox::cgroup::Detection {
        chosen: Some(jail::sandbox::cgroup::BackendKind::V2),
        reasons: vec!["fuzz: pretend cgroup v2".into()],
        remedy: None,
    }
}

fuzz_target!(|data: &[u8]| {
    let dir = dir();
    let names = ["a.toml", "b.toml", "a.local.toml", "c.toml"];
    for n in names {
        let _ = std::fs::remove_file(dir.join(n));
    }
    let text = String::from_utf8_lossy(data);
    for (part, name) in text.split("\n---\n").zip(names) {
        std::fs::write(dir.join(name), part).unwrap();
    }
    let search = SearchPath {
        dirs: vec![dir.clone()],
        builtin: true,
    };
    let loaded = match profile::load(&search, "a", &Overrides::default()) {
        Ok(l) => l,
        Err((e, sources)) => {
            if let Some(at) = &e.at {
                let _ = sources.render(at);
            }
            return;
        }
    };
    HOST.with(
        |host| match jail::plan::compile(&loaded, &["/bin/true".to_string()], host) {
            Ok(plan) => {
                let _ = jail::commands::explain::to_json(&plan);
            }
            Err(e) => {
                if let Some(at) = &e.at {
                    let _ = loaded.sources.render(at);
                }
            }
        },
    );
});
