//! COMMAND's environment: start from nothing (or everything with `clear = false`), keep the
//! listed variables (`LC_*` globs), set, then unset.

use super::Error;
use crate::host::Host;
use crate::profile::{Env, Located};
use std::collections::BTreeMap;

/// The PATH given when the caller has none and the profile sets none.
pub const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

fn valid_name(k: &str) -> bool {
    !k.is_empty() && !k.contains(['=', '\0']) && !k.starts_with(|c: char| c.is_ascii_digit())
}

pub fn compile(e: &Env, host: &Host) -> Result<BTreeMap<String, String>, Error> {
    let clear = e.clear.as_ref().map(|x| x.v).unwrap_or(true);
    let mut out: BTreeMap<String, String> = if clear {
        host.env
            .iter()
            .filter(|(k, _)| e.keep.iter().any(|p| matches(&p.v, k)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    } else {
        host.env.clone()
    };
    for (k, v) in &e.set {
        if !valid_name(k) {
            return Err(Located::at(
                format!("{k:?} is not a valid environment variable name"),
                &v.at,
            ));
        }
        if v.v.contains('\0') {
            return Err(Located::at(
                "an environment value cannot contain a NUL byte",
                &v.at,
            ));
        }
        out.insert(k.clone(), v.v.clone());
    }
    for u in &e.unset {
        out.retain(|k, _| !matches(&u.v, k));
    }
    out.entry("PATH".into())
        .or_insert_with(|| DEFAULT_PATH.into());
    Ok(out)
}
