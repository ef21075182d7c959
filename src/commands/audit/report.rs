//! The text report of `jail audit`: the score and its level, then one line per check.

use super::{Check, Report};

/// The text report: exposed checks first, heaviest first, then the passed ones.
pub fn to_text(r: &Report, threshold: Option<f64>) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: exposure {:.1} / 10 ({}){}",
        r.profile,
        r.score,
        level(r.score),
        match threshold {
            Some(t) if r.score > t => format!(", above the threshold {t}"),
            _ => String::new(),
        }
    );
    if let Some(d) = &r.description {
        let _ = writeln!(out, "  {d}");
    }
    let mut checks: Vec<&Check> = r.checks.iter().collect();
    checks.sort_by(|a, b| {
        b.exposed.cmp(&a.exposed).then(
            b.weight
                .partial_cmp(&a.weight)
                .unwrap_or(std::cmp::Ordering::Equal),
        )
    });
    let _ = writeln!(out, "  {:<2} {:<18} {:>6}  WHY", "", "CHECK", "WEIGHT");
    for c in checks {
        let _ = writeln!(
            out,
            "  {:<2} {:<18} {:>6.1}  {}",
            if c.exposed { "✗" } else { "✓" },
            c.id,
            c.weight,
            c.why
        );
    }
    out
}

fn level(s: f64) -> &'static str {
    match s {
        s if s < 2.0 => "locked down",
        s if s < 4.0 => "mostly contained",
        s if s < 6.0 => "medium",
        s if s < 8.0 => "exposed",
        _ => "open",
    }
}
