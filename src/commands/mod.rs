//! One module per verb. Each returns the process exit status.

pub mod audit;
pub mod check;
pub mod complete;
pub mod desktop;
pub mod doctor;
pub mod explain;
pub mod export;
pub mod import;
pub mod learn;
pub mod list;
pub mod ps;
pub mod run;

use crate::cli::{Cli, Command, SandboxOpts};
use crate::host::Host;
use crate::plan::{self, Plan};
use crate::profile::{self, Located, Overrides, SearchPath, SourceMap};
use crate::util::printable;

pub use crate::util::Verbosity;

pub fn dispatch(cli: Cli) -> i32 {
    let v = if cli.quiet {
        Verbosity::Quiet
    } else if cli.verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    match cli.command {
        Command::Run(a) => run::run(a, v),
        Command::Check(a) => check::run(a, v),
        Command::Explain(a) => explain::run(a, v),
        Command::List(a) => list::run(a),
        Command::Doctor(a) => doctor::run(a),
        Command::Audit(a) => audit::run(a),
        Command::Desktop(a) => desktop::run(a),
        Command::Ps(a) => ps::ps(a),
        Command::Stop(a) => ps::stop(a),
        Command::Enter(a) => ps::enter(a, v),
        Command::Learn(a) => learn::run(a, v),
        Command::LearnTrace(a) => crate::sandbox::trace::trace_main(
            std::path::Path::new(&a.record),
            a.timeout,
            &a.command,
        ),
        Command::Export(a) => export::run(a, v),
        Command::Complete(a) => complete::run(a),
        Command::Import(a) => import::run(a),
    }
}

/// Prints `jail: error: MSG` and, for an error in a file, `PATH:LINE:COL`, the line and a caret.
/// Control characters a profile put in the message or the file are shown escaped
/// ([`crate::util::printable`]): an error cannot rewrite the terminal.
pub fn print_error(e: &Located, sources: &SourceMap) {
    eprintln!("jail: error: {}", printable(&e.msg, false));
    if let Some(at) = &e.at {
        let ctx = sources.render(at);
        if !ctx.is_empty() {
            eprintln!("{}", printable(&ctx, true));
        }
    }
}

pub fn warn(v: Verbosity, msg: &str) {
    if v != Verbosity::Quiet {
        eprintln!("jail: warning: {}", printable(msg, false));
    }
}

impl From<&SandboxOpts> for Overrides {
    fn from(o: &SandboxOpts) -> Overrides {
        Overrides {
            net: o.net.clone(),
            bind: o.bind.clone(),
            ro_bind: o.ro_bind.clone(),
            tmpfs: o.tmpfs.clone(),
            hide: o.hide.clone(),
            env: o.env.clone(),
            unsetenv: o.unsetenv.clone(),
            memory: o.memory.clone(),
            cpus: o.cpus,
            pids: o.pids,
            best_effort: o.best_effort,
            tmp_size: o.tmp_size.clone(),
            shm_size: o.shm_size.clone(),
            hostname: o.hostname.clone(),
            chdir: o.chdir.clone(),
            rootfs: o.rootfs.clone(),
            init: o.init,
        }
    }
}

/// Loads and compiles the profile for a run or an explain; prints the error and returns None on
/// failure. A profile picked by COMMAND's name is said on stderr (unless quiet).
pub fn build_plan(
    opts: &SandboxOpts,
    command: &[String],
    host: &Host,
    v: Verbosity,
) -> Option<Plan> {
    // --image: the unpacked image is the root, as with --rootfs; its config is applied below.
    let image = match &opts.image {
        Some(r) => match crate::image::open(r) {
            Ok(i) => {
                if v == Verbosity::Verbose {
                    let how = if i.fresh {
                        "unpacked into"
                    } else {
                        "from the cache"
                    };
                    eprintln!("jail: image {}: {how} {}", i.reference, i.rootfs.display());
                }
                Some(i)
            }
            Err(e) => {
                eprintln!(
                    "jail: error: --image {}: {}",
                    printable(r, false),
                    printable(&e, false)
                );
                return None;
            }
        },
        None => None,
    };
    let mut overrides = Overrides::from(opts);
    if let Some(i) = &image {
        overrides.rootfs = Some(i.rootfs.display().to_string());
    }
    let search = SearchPath::from_env(&host.config_home);
    let spec = match &opts.profile {
        Some(p) => p.clone(),
        // An image is the system: the built-in `image` profile binds nothing of the host's
        // (SPEC §6).
        None if opts.rootfs.is_some() || opts.image.is_some() => "image".into(),
        // The profile named after COMMAND when it exists and COMMAND is the system's (a broken
        // one is reported, not skipped), else `default` (SPEC §1).
        None => {
            let (spec, by_name) = crate::cli::default_profile_for(command, |n| search.exists(n));
            if by_name && v != Verbosity::Quiet {
                eprintln!(
                    "jail: using profile {} (picked by the command's name; --profile to choose)",
                    printable(&spec, false)
                );
            }
            spec
        }
    };
    let mut loaded = match profile::load(&search, &spec, &overrides) {
        Ok(l) => l,
        Err((e, sources)) => {
            print_error(&e, &sources);
            return None;
        }
    };
    let mut applied = None;
    if let Some(i) = &image {
        match crate::image::apply::apply(&mut loaded, i, command) {
            Ok(a) => applied = Some(a),
            Err(e) => {
                eprintln!(
                    "jail: error: --image {}: {}",
                    i.reference,
                    printable(&e, false)
                );
                return None;
            }
        }
    }
    let command = applied.as_ref().map_or(command, |a| &a.command[..]);
    match plan::compile(&loaded, command, host) {
        Ok(mut p) => {
            let applied = applied.unwrap_or_default();
            // Made in the image's throwaway layer only, never in a host folder a grant binds.
            let in_grant = |w: &std::path::Path| {
                p.mounts.iter().any(|m| {
                    matches!(m, crate::plan::MountStep::Bind { target, .. } | crate::plan::MountStep::Overlay { target, .. } if w.starts_with(target))
                })
            };
            if let Some(w) = applied.make_workdir.filter(|w| !in_grant(w)) {
                p.mounts.push(crate::plan::MountStep::Dir {
                    target: w,
                    mode: 0o755,
                });
            }
            if let Some((uid, gid)) = applied.ids {
                // The image's User (or root, Docker's default): the one id mapped inside.
                if p.namespaces.user {
                    p.ids.uid_inside = uid;
                    p.ids.gid_inside = gid;
                } else if uid != 0 || gid != 0 {
                    p.warnings.push(format!(
                        "the image's User ({uid}:{gid}) is not applied: no user namespace"
                    ));
                }
            }
            Some(p)
        }
        Err(e) => {
            print_error(&e, &loaded.sources);
            None
        }
    }
}
