//! The summary at a run's end: hosts per outcome (`== 20 hosts: 17 ok (3 changed), 2 failed,
//! 1 unreachable`), then one line per distinct failure with the hosts it happened on folded
//! (`   failed web[01-02] (2): command ...`), then, when the run had operations, their counts
//! per host, hosts with the same counts folded (`   ops web[01-17] (17): ok=12 changed=3`).

use std::collections::BTreeMap;
use std::io::Write;

use super::ops::{OpCounts, OpTally};
use super::style::Style;
use super::{End, error_parts};
use crate::nodeset;
use crate::report::event::Outcome;

/// Writes the summary of `ends` and the operation counts of `ops`; `check`: they were
/// check-mode predictions.
pub(super) fn write_summary(
    err: &mut dyn Write,
    style: &Style,
    ends: &[End],
    ops: &OpTally,
    check: bool,
) {
    let changed = ops.values().filter(|c| c.changed > 0).count();
    let changed_word = if check { "would change" } else { "changed" };
    let mut counts: BTreeMap<Outcome, usize> = BTreeMap::new();
    for e in ends {
        *counts.entry(e.outcome).or_default() += 1;
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(o, n)| {
            let text = style.outcome(*o, &format!("{n} {}", o.as_str()));
            if *o == Outcome::Ok && changed > 0 {
                format!(
                    "{text} ({})",
                    style.changed(&format!("{changed} {changed_word}"))
                )
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
    // counts -> hosts, in the order of the hosts' names
    let mut by_counts: BTreeMap<OpCounts, Vec<String>> = BTreeMap::new();
    for (host, counts) in ops {
        by_counts.entry(*counts).or_default().push(host.clone());
    }
    let mut by_counts: Vec<_> = by_counts.into_iter().collect();
    by_counts.sort_by(|a, b| a.1.cmp(&b.1));
    for (counts, hosts) in by_counts {
        let nodes = match hosts.len() {
            1 => nodeset::fold(&hosts),
            n => format!("{} ({n})", nodeset::fold(&hosts)),
        };
        let _ = writeln!(err, "   ops {nodes}: {}", counts.text(style));
    }
    let _ = err.flush();
}
