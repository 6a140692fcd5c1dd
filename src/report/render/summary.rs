//! The summary at a run's end: hosts per outcome (`== 20 hosts: 17 ok (3 changed), 2 failed,
//! 1 unreachable`), then one line per distinct failure with the hosts it happened on folded
//! (`   failed web[01-02] (2): command ...`).

use std::collections::BTreeMap;
use std::io::Write;

use super::style::Style;
use super::{End, error_parts};
use crate::nodeset;
use crate::report::event::Outcome;

/// Writes the summary of `ends`; `changed` hosts changed something.
pub(super) fn write_summary(err: &mut dyn Write, style: &Style, ends: &[End], changed: usize) {
    let mut counts: BTreeMap<Outcome, usize> = BTreeMap::new();
    for e in ends {
        *counts.entry(e.outcome).or_default() += 1;
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(o, n)| {
            let text = style.outcome(*o, &format!("{n} {}", o.as_str()));
            if *o == Outcome::Ok && changed > 0 {
                format!("{text} ({})", style.changed(&format!("{changed} changed")))
            } else {
                text
            }
        })
        .collect();
    let noun = if ends.len() == 1 { "host" } else { "hosts" };
    let _ = writeln!(err, "== {} {noun}: {}", ends.len(), parts.join(", "));
    // (outcome, first line of the error) -> hosts
    let mut failures: BTreeMap<(Outcome, String), Vec<String>> = BTreeMap::new();
    for e in ends.iter().filter(|e| e.outcome != Outcome::Ok) {
        let (first, _) = error_parts(e.error.as_deref());
        failures
            .entry((e.outcome, first.unwrap_or_default().to_string()))
            .or_default()
            .push(e.host.clone());
    }
    let mut failures: Vec<_> = failures.into_iter().collect();
    failures.sort_by(|a, b| a.0.0.cmp(&b.0.0).then(a.1.cmp(&b.1)));
    for ((outcome, first), hosts) in failures {
        let nodes = match hosts.len() {
            1 => nodeset::fold(&hosts),
            n => format!("{} ({n})", nodeset::fold(&hosts)),
        };
        let what = style.outcome(outcome, outcome.as_str());
        let _ = writeln!(err, "   {what} {nodes}: {first}");
    }
    let _ = err.flush();
}
