//! `jail list`: the profiles on the search path, where each comes from, its description.

use crate::cli::{Format, FormatArg};
use crate::host::Host;
use crate::profile::{load::Loader, SearchPath};
use crate::util::{printable, printable_json};

pub fn run(a: FormatArg) -> i32 {
    let host = Host::probe();
    let search = SearchPath::from_env(&host.config_home);
    let rows: Vec<(String, String, String)> = search
        .list()
        .into_iter()
        .map(|(name, origin)| {
            let desc = Loader::new(&search)
                .load(&name)
                .ok()
                .and_then(|l| l.profile.description.map(|d| d.v))
                .unwrap_or_default();
            (name, origin, desc)
        })
        .collect();
    match a.format {
        Format::Json => {
            let v: Vec<_> = rows
                .iter()
                .map(|(n, o, d)| serde_json::json!({"name": n, "origin": o, "description": d}))
                .collect();
            let json = serde_json::to_string_pretty(&v).unwrap_or_default();
            println!("{}", printable_json(&json));
        }
        Format::Text => {
            // Names come from file names and descriptions from files: shown, never obeyed.
            let rows: Vec<(String, String, String)> = rows
                .into_iter()
                .map(|(n, o, d)| {
                    let p = |s: &str| printable(s, false).into_owned();
                    (p(&n), p(&o), p(&d))
                })
                .collect();
            let w = rows.iter().map(|r| r.0.len()).max().unwrap_or(4).max(4);
            let wo = rows.iter().map(|r| r.1.len()).max().unwrap_or(6).max(6);
            println!("{:w$}  {:wo$}  DESCRIPTION", "NAME", "ORIGIN");
            for (n, o, d) in rows {
                println!("{n:w$}  {o:wo$}  {d}");
            }
        }
    }
    0
}
