//! `jail __complete profiles|sandboxes` (hidden): one word a line for the shell completions
//! (completions/, made by `cargo xtask gen`). Never fails loudly: a completion that cannot
//! list anything offers nothing.

use crate::cli::{CompleteArgs, CompleteWhat};
use crate::host::Host;
use crate::profile::SearchPath;
use crate::sandbox::state;

/// A word a shell can offer as is: no blanks, quotes, control characters or shell syntax
/// (names come from file names and records, which are shown, never obeyed).
fn offerable(w: &str) -> bool {
    !w.is_empty()
        && w.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '@' | ':' | ','))
}

pub fn words(what: CompleteWhat, host: &Host) -> Vec<String> {
    let mut v: Vec<String> = match what {
        CompleteWhat::Profiles => SearchPath::from_env(&host.config_home)
            .list()
            .into_iter()
            .map(|(name, _)| name)
            .collect(),
        CompleteWhat::Sandboxes => state::list(&host.state_dir())
            .unwrap_or_default()
            .into_iter()
            .flat_map(|r| [r.name, r.id])
            .collect(),
    };
    v.retain(|w| offerable(w));
    v.sort();
    v.dedup();
    v
}

pub fn run(a: CompleteArgs) -> i32 {
    let host = Host::probe();
    for w in words(a.what, &host) {
        println!("{w}");
    }
    0
}
