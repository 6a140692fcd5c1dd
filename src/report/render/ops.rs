//! Operation lines and counts: `web1 ~ file.present /etc/app.conf: changed (created)` as an
//! [`Event::Op`](crate::report::Event::Op) arrives (`would change` in check mode, `would
//! run: CMD` for a command check mode skipped), and per host the counts the summary ends
//! with (`ok=12 changed=3`, Ansible's recap: `ok` counts every operation that finished,
//! `changed` those of them that changed the host, `unknown` those check mode could not
//! predict).

use std::collections::BTreeMap;

use super::style::Style;
use crate::report::event::Changed;

/// One host's operations so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct OpCounts {
    pub ok: usize,
    pub changed: usize,
    pub unknown: usize,
}

impl OpCounts {
    pub(super) fn add(&mut self, changed: Changed) {
        self.ok += 1;
        match changed {
            Changed::Yes => self.changed += 1,
            Changed::Unknown => self.unknown += 1,
            Changed::No => {}
        }
    }

    /// `ok=12 changed=3` (` unknown=1` when there are any).
    pub(super) fn text(&self, style: &Style) -> String {
        let changed = format!("changed={}", self.changed);
        let changed = match self.changed {
            0 => changed,
            _ => style.changed(&changed),
        };
        let mut text = format!("ok={} {changed}", self.ok);
        if self.unknown > 0 {
            text.push_str(&format!(" unknown={}", self.unknown));
        }
        text
    }
}

/// Per host (by name), its operation counts.
pub(super) type OpTally = BTreeMap<String, OpCounts>;

/// What one operation event says, as a line after `host ~ ` (without a host: as is).
pub(super) struct OpLine<'a> {
    pub module: &'a str,
    pub op: &'a str,
    pub target: &'a str,
    pub changed: Changed,
    pub reason: Option<&'a str>,
    pub check: bool,
}

impl OpLine<'_> {
    pub(super) fn text(&self, style: &Style) -> String {
        // a command or file write check mode skipped: its own words
        if self.check && matches!(self.module, "ssh" | "sftp") {
            let what = match (self.module, self.op) {
                ("ssh", "run") => "would run",
                _ => &format!("would {}", self.op),
            };
            return format!("{}: {}", style.changed(what), self.target);
        }
        let state = match (self.changed, self.check) {
            (Changed::Yes, false) => style.changed("changed"),
            (Changed::Yes, true) => style.changed("would change"),
            (Changed::No, _) => "ok".to_string(),
            (Changed::Unknown, _) => style.changed("unknown"),
        };
        let reason = self.reason.map(|r| format!(" ({r})")).unwrap_or_default();
        format!(
            "{}.{} {}: {state}{reason}",
            self.module, self.op, self.target
        )
    }
}
