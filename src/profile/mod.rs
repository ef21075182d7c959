//! The profile language: what a user writes (SPEC §2, §3).
//!
//! [`load`] finds a profile on the search path, merges the built-in defaults, its includes, the
//! profile itself, its `.local` overlays and the command-line overrides, in that order, keeping
//! the origin of every value for error messages.

pub mod load;
pub mod source;
pub mod types;

pub use load::{is_path, Loaded, SearchPath};
pub use source::{Located, Origin, SourceMap};
pub use types::*;

/// The defaults every profile starts from (SPEC §3: env keep list, `@default-deny`).
pub const DEFAULTS: &str = include_str!("defaults.toml");
/// The source name of [`DEFAULTS`] in a [`SourceMap`]: a value whose origin has this name is
/// jail's default, not something a profile asked for.
pub const DEFAULTS_NAME: &str = "built-in defaults";

/// Command-line options that change the profile (SPEC §1), applied after every file.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--net none|host`
    pub net: Option<String>,
    /// `--bind SRC[:DST]`
    pub bind: Vec<String>,
    /// `--ro-bind SRC[:DST]`
    pub ro_bind: Vec<String>,
    pub tmpfs: Vec<String>,
    pub hide: Vec<String>,
    /// `--env KEY=VALUE`
    pub env: Vec<String>,
    pub unsetenv: Vec<String>,
    pub memory: Option<String>,
    pub cpus: Option<f64>,
    pub pids: Option<u64>,
    /// `--best-effort`: `[limits] enforce = "best-effort"`
    pub best_effort: bool,
    /// `--tmp-size SIZE`, `--shm-size SIZE`
    pub tmp_size: Option<String>,
    pub shm_size: Option<String>,
    pub hostname: Option<String>,
    pub chdir: Option<String>,
    pub rootfs: Option<String>,
    /// `--init`: `[process] init = true`
    pub init: bool,
}

/// Builds the profile layer of the command-line options; errors name the option.
fn overrides_layer(o: &Overrides, sources: &mut SourceMap) -> Result<Profile, Located> {
    use load::cli_value;
    let mut p = Profile::default();
    if let Some(net) = &o.net {
        let v = cli_value(sources, "--net", net);
        let isolated = match net.as_str() {
            "none" => true,
            "host" => false,
            _ => return Err(Located::at("--net takes \"none\" or \"host\"", &v.at)),
        };
        p.namespaces.net = Some(L::new(isolated, v.at));
    }
    for (list, opt, ro) in [(&o.bind, "--bind", false), (&o.ro_bind, "--ro-bind", true)] {
        for b in list {
            let v = cli_value(sources, opt, b);
            match b.split_once(':') {
                None => (if ro {
                    &mut p.filesystem.ro
                } else {
                    &mut p.filesystem.rw
                })
                .push(v),
                Some((src, dst)) => {
                    if src.is_empty() || dst.is_empty() {
                        return Err(Located::at(format!("{opt} takes SRC or SRC:DST"), &v.at));
                    }
                    let at = v.at.clone();
                    p.filesystem.mount.push(L::new(
                        Mount {
                            kind: L::new(
                                if ro {
                                    MountType::RoBind
                                } else {
                                    MountType::Bind
                                },
                                at.clone(),
                            ),
                            source: Some(L::new(src.to_string(), at.clone())),
                            target: L::new(dst.to_string(), at.clone()),
                            mode: None,
                            size: None,
                            content: None,
                            optional: None,
                            lower: vec![],
                            upper: None,
                            work: None,
                        },
                        at,
                    ));
                }
            }
        }
    }
    for t in &o.tmpfs {
        p.filesystem.tmpfs.push(cli_value(sources, "--tmpfs", t));
    }
    for h in &o.hide {
        p.filesystem.hide.push(cli_value(sources, "--hide", h));
    }
    for e in &o.env {
        let v = cli_value(sources, "--env", e);
        let Some((k, val)) = e.split_once('=') else {
            return Err(Located::at("--env takes KEY=VALUE", &v.at));
        };
        p.env
            .set
            .insert(k.to_string(), L::new(val.to_string(), v.at));
    }
    for u in &o.unsetenv {
        p.env.unset.push(cli_value(sources, "--unsetenv", u));
    }
    if let Some(m) = &o.memory {
        let v = cli_value(sources, "--memory", m);
        let size = Size::parse(m).map_err(|e| Located::at(e, &v.at))?;
        p.limits.memory = Some(L::new(size, v.at));
    }
    if let Some(c) = o.cpus {
        let v = cli_value(sources, "--cpus", &c.to_string());
        p.limits.cpus = Some(L::new(c, v.at));
    }
    if let Some(n) = o.pids {
        let v = cli_value(sources, "--pids", &n.to_string());
        p.limits.pids = Some(L::new(n, v.at));
    }
    if o.best_effort {
        let v = cli_value(sources, "--best-effort", "best-effort");
        p.limits.enforce = Some(L::new(Enforce::BestEffort, v.at));
    }
    for (opt, value, key) in [
        ("--tmp-size", &o.tmp_size, &mut p.filesystem.tmp_size),
        ("--shm-size", &o.shm_size, &mut p.filesystem.shm_size),
    ] {
        if let Some(m) = value {
            let v = cli_value(sources, opt, m);
            let size = Size::parse(m).map_err(|e| Located::at(e, &v.at))?;
            *key = Some(L::new(size, v.at));
        }
    }
    if let Some(h) = &o.hostname {
        p.process.hostname = Some(cli_value(sources, "--hostname", h));
    }
    if let Some(c) = &o.chdir {
        p.process.cwd = Some(cli_value(sources, "--chdir", c));
    }
    if let Some(r) = &o.rootfs {
        p.filesystem.rootfs = Some(cli_value(sources, "--rootfs", r));
    }
    if o.init {
        let v = cli_value(sources, "--init", "true");
        p.process.init = Some(L::new(true, v.at));
    }
    Ok(p)
}

/// Loads `spec` with defaults first and `overrides` last.
pub fn load(
    path: &SearchPath,
    spec: &str,
    overrides: &Overrides,
) -> Result<Loaded, (Located, SourceMap)> {
    // The defaults are the first layer of the one accumulator every file is merged into, so a
    // profile's "!x" can take back what they add (SPEC §3).
    let mut loader = load::Loader::new(path);
    let defaults_id = loader.sources.add(DEFAULTS_NAME.into(), DEFAULTS.into());
    let defaults: Profile = match loader.sources.parse(defaults_id) {
        Ok(p) => p,
        Err(e) => return Err((e, std::mem::take(&mut loader.sources))),
    };
    let mut loaded = loader.load_over(spec, defaults)?;
    let mut sources = std::mem::take(&mut loaded.sources);
    match overrides_layer(overrides, &mut sources) {
        Ok(o) => loaded.profile.absorb(o),
        Err(e) => return Err((e, sources)),
    }
    loaded.sources = sources;
    Ok(loaded)
}
