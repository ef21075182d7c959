//! `jail audit PROFILE...`: how exposed an app is under a profile, as a score from 0.0 (locked)
//! to 10.0 (open), in the spirit of `systemd-analyze security`.
//!
//! Each profile is loaded and compiled exactly like `jail check` does (so the audit reads the
//! [`Plan`] that `jail run` would execute, on this host), then the table of [`CHECKS`] is
//! evaluated on the plan, in its order. Each check has a weight `w` from 0 to 10: how much of what is left of
//! the sandbox's protection that one exposure gives away.
//!
//! # The formula
//!
//! ```text
//! protection = 10 × Π over exposed checks of (1 − w/10)
//! score      = 10 − protection        (rounded to one decimal)
//! ```
//!
//! A plan with no exposure keeps all its protection (0.0); every exposed check takes the share
//! `w/10` of the protection still left, so:
//! - the score only grows when a check becomes exposed (monotonic) and strictly drops when one
//!   is removed, whatever else is exposed (no cap is ever reached: a check of weight 10 would be
//!   "game over", and none has that weight);
//! - the order of the checks does not matter;
//! - one check alone scores exactly its weight (`net-host` alone → 2.5), so the weights read
//!   like the score of that single exposure.
//!
//! Some exposures come in grades (home readable → home writable → the whole home writable):
//! each grade is its own check, so a worse grant fails more checks and scores higher.
//!
//! What is audited is the plan on this host: optional paths that are absent here are not
//! counted, and `landlock` fails on a kernel without Landlock, whatever the profile says.

mod checks;
pub(crate) mod facts;
mod filesystem;
mod kernel;
mod network;
mod report;
mod session;
#[cfg(test)]
mod tests;

pub use checks::{CheckDef, CheckId, Finding, CHECKS};
pub use report::to_text;

use super::print_error;
use crate::cli::{AuditArgs, Format};
use crate::host::Host;
use crate::plan::{self, Plan};
use crate::profile::{self, Overrides, SearchPath};
use facts::Facts;
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Check {
    pub id: &'static str,
    pub weight: f64,
    pub exposed: bool,
    pub why: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub profile: String,
    pub description: Option<String>,
    pub score: f64,
    pub checks: Vec<Check>,
}

/// The score of a list of checks (see the formula at the top of this file).
pub fn score(checks: &[Check]) -> f64 {
    let protection: f64 = checks
        .iter()
        .filter(|c| c.exposed)
        .map(|c| 1.0 - c.weight / 10.0)
        .product();
    ((10.0 - 10.0 * protection) * 10.0).round() / 10.0
}

/// Runs every check of [`CHECKS`] on `plan`; `host` says where the home and the runtime folder
/// are.
pub fn audit(plan: &Plan, host: &Host) -> Report {
    let facts = Facts::new(plan, host);
    let checks: Vec<Check> = CHECKS
        .iter()
        .map(|def| {
            let (exposed, why) = (def.eval)(&facts);
            Check {
                id: def.id.name(),
                weight: def.weight,
                exposed,
                why,
            }
        })
        .collect();
    Report {
        profile: plan.profile.clone(),
        description: plan.description.clone(),
        score: score(&checks),
        checks,
    }
}

pub fn run(a: AuditArgs) -> i32 {
    let mut host = Host::probe();
    // A profile is judged, not this session: a [gui] socket this machine lacks is a note.
    host.session_optional = true;
    let search = SearchPath::from_env(&host.config_home);
    let mut reports = vec![];
    let mut broken = false;
    for name in &a.profiles {
        let r = profile::load(&search, name, &Overrides::default()).and_then(|l| {
            plan::compile(&l, &["/bin/true".to_string()], &host).map_err(|e| (e, l.sources))
        });
        match r {
            Ok(plan) => reports.push(audit(&plan, &host)),
            Err((e, sources)) => {
                broken = true;
                print_error(&e, &sources);
            }
        }
    }
    match a.format {
        Format::Json => println!(
            "{}",
            crate::util::printable_json(
                &serde_json::to_string_pretty(&reports).unwrap_or_default()
            )
        ),
        Format::Text => {
            for (i, r) in reports.iter().enumerate() {
                if i > 0 {
                    println!();
                }
                print!("{}", crate::util::printable(&to_text(r, a.threshold), true));
            }
        }
    }
    if broken {
        return crate::EXIT_JAIL;
    }
    match a.threshold {
        Some(t) if reports.iter().any(|r| r.score > t) => 1,
        _ => 0,
    }
}
