//! `jail run`: compile the profile and run COMMAND in the sandbox.

use super::{build_plan, warn, Verbosity};
use crate::cli::RunArgs;
use crate::host::Host;

pub fn run(a: RunArgs, v: Verbosity) -> i32 {
    if let Some(n) = &a.name {
        let shown = crate::util::printable(n, false);
        if n.is_empty() || n.contains('/') || shown != n.as_str() {
            eprintln!(
                "jail: error: --name '{shown}': a sandbox name must not be empty nor hold '/' or control characters"
            );
            return crate::EXIT_JAIL;
        }
    }
    let host = Host::probe();
    let Some(plan) = build_plan(&a.opts, &a.command, &host, v) else {
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
    let opts = crate::sandbox::RunOptions {
        verbosity: v,
        name: a.name.clone(),
        json_status_fd: a.json_status_fd,
        state_dir: Some(host.state_dir()),
    };
    crate::sandbox::run(&plan, &opts)
}
