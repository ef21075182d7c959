//! `jail run`: compile the profile and run COMMAND in the sandbox.

use super::{build_plan, warn, Verbosity};
use crate::cli::RunArgs;
use crate::host::Host;

pub fn run(a: RunArgs, v: Verbosity) -> i32 {
    let host = Host::probe();
    let Some(plan) = build_plan(&a.opts, &a.command, &host) else {
        return crate::EXIT_JAIL;
    };
    if a.dry_run {
        super::explain::print_plan(&plan, a.format);
        return 0;
    }
    if v == Verbosity::Verbose {
        for w in &plan.warnings {
            warn(v, w);
        }
    }
    crate::sandbox::run(&plan, v)
}
