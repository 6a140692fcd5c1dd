//! Gather mode (`-b`): at the end, hosts grouped by identical output, outcome and error, each
//! group under a ClusterShell-style header (`web[01-07,09] (8) failed: command ...`), the
//! largest group first. Error texts carry no host name, so one failure on many hosts is one
//! group.

use std::collections::BTreeMap;
use std::io::Write;

use super::style::Style;
use super::{End, error_parts};
use crate::nodeset;
use crate::report::event::{LogLevel, Outcome, Stream};

/// What a line of a host's gathered block is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Mark {
    /// Its command's stdout (or its script's print).
    Out,
    /// Its command's stderr.
    Err,
    /// A `log` line of this level.
    Log(LogLevel),
}

impl From<Stream> for Mark {
    fn from(stream: Stream) -> Mark {
        match stream {
            Stream::Stdout => Mark::Out,
            Stream::Stderr => Mark::Err,
        }
    }
}

/// Each host's lines, in order, each marked with what it is.
pub(super) type Buffers = BTreeMap<String, Vec<(Mark, String)>>;

/// What makes hosts alike: their lines, exit code, outcome and error text.
type GroupKey = (Vec<(Mark, String)>, Option<u32>, Outcome, Option<String>);

/// Writes every group: a header between rules, then its lines and the rest of its error.
/// Each host's lines move into its group's key (taken from `buffers`, not copied: a large
/// `-b` output is held once).
pub(super) fn write_groups(
    out: &mut dyn Write,
    style: &Style,
    ends: &[End],
    buffers: &mut Buffers,
) {
    let mut groups: BTreeMap<GroupKey, Vec<String>> = BTreeMap::new();
    for e in ends {
        let lines = buffers.remove(&e.host).unwrap_or_default();
        groups
            .entry((lines, e.code, e.outcome, e.error.clone()))
            .or_default()
            .push(e.host.clone());
    }
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.1.cmp(&b.1)));
    for ((lines, code, outcome, error), hosts) in groups {
        let (first, rest) = error_parts(error.as_deref());
        let nodes = format!("{} ({})", nodeset::fold(&hosts), hosts.len());
        let (plain, coloured) = match (outcome, first) {
            (Outcome::Ok, _) => (String::new(), String::new()),
            (o, Some(first)) => {
                let text = format!(" {}: {first}", o.as_str());
                (text.clone(), style.outcome(o, &text))
            }
            (o, None) => {
                let text = format!(" {}", o.as_str());
                (text.clone(), style.outcome(o, &text))
            }
        };
        let code = match code {
            Some(c) if c != 0 && error.is_none() => format!("  exit {c}"),
            _ => String::new(),
        };
        let width = nodes.chars().count() + plain.chars().count() + code.chars().count();
        let rule = style.header(&"-".repeat(width.min(78)));
        let _ = writeln!(
            out,
            "{rule}\n{}{coloured}{code}\n{rule}",
            style.header(&nodes)
        );
        for (mark, line) in lines {
            let _ = match mark {
                Mark::Out => writeln!(out, "{line}"),
                Mark::Err => writeln!(out, "{}", style.stderr(&line)),
                Mark::Log(level) => writeln!(out, "{} {line}", style.level_tag(level)),
            };
        }
        for line in rest {
            let _ = writeln!(out, "{}", style.stderr(line));
        }
    }
    let _ = out.flush();
}
