//! One module per verb. Each returns the process exit status.

pub mod audit;
pub mod check;
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
    if opts.image.is_some() {
        eprintln!("jail: error: --image is not supported by this build yet; unpack the image and use --rootfs DIR");
        return None;
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
    let loaded = match profile::load(&search, &spec, &Overrides::from(opts)) {
        Ok(l) => l,
        Err((e, sources)) => {
            print_error(&e, &sources);
            return None;
        }
    };
    match plan::compile(&loaded, command, host) {
        Ok(p) => Some(p),
        Err(e) => {
            print_error(&e, &loaded.sources);
            None
        }
    }
}
