//! `jail check`: load and compile profiles without running anything. Exit 0 when all are
//! valid, 1 when any is not.

use super::print_error;
use crate::cli::{CheckArgs, Format};
use crate::host::Host;
use crate::plan;
use crate::profile::{self, Overrides, SearchPath};

pub fn run(a: CheckArgs, v: super::Verbosity) -> i32 {
    let mut host = Host::probe();
    // A profile is judged, not this session: a [gui] socket this machine lacks is a note.
    host.session_optional = true;
    let search = SearchPath::from_env(&host.config_home);
    let names: Vec<String> = if a.profiles.is_empty() {
        search.list().into_iter().map(|(n, _)| n).collect()
    } else {
        a.profiles.clone()
    };
    let mut bad = 0;
    let mut results = vec![];
    for name in &names {
        let r = profile::load(&search, name, &Overrides::default()).and_then(|l| {
            plan::compile(&l, &["/bin/true".to_string()], &host)
                .map(|_| ())
                .map_err(|e| (e, l.sources))
        });
        match r {
            Ok(()) => {
                if a.format == Format::Text && v != super::Verbosity::Quiet {
                    println!("{}: ok", crate::util::printable(name, false));
                }
                results.push(serde_json::json!({"profile": name, "valid": true}));
            }
            Err((e, sources)) => {
                bad += 1;
                if a.format == Format::Text {
                    print_error(&e, &sources);
                }
                let at = e.at.as_ref().map(|o| {
                    let (line, col) = sources.line_col(o);
                    serde_json::json!({"file": sources.name(o.src), "line": line, "column": col})
                });
                results.push(
                    serde_json::json!({"profile": name, "valid": false, "error": e.msg, "at": at}),
                );
            }
        }
    }
    if a.format == Format::Json {
        println!(
            "{}",
            crate::util::printable_json(
                &serde_json::to_string_pretty(&results).unwrap_or_default()
            )
        );
    } else if names.len() > 1 && v != super::Verbosity::Quiet {
        println!("{} profile(s) checked, {} invalid", names.len(), bad);
    }
    i32::from(bad > 0)
}
