//! The renderer's colours: one per host from a 256-colour palette, given in order of first
//! appearance so that hosts listed next to each other never share one; outcomes, stderr and
//! `-b` headers marked. Everything is plain text when colour is off.

use std::collections::HashMap;

use crate::report::event::{LogLevel, Outcome};

/// Host colours (xterm 256-colour codes), neighbours far apart in hue and all readable on dark
/// and light backgrounds; the 13th host reuses the first colour.
const HOST_COLOURS: [u8; 12] = [33, 208, 35, 170, 178, 39, 203, 71, 141, 166, 37, 163];

/// SGR codes of the marks.
const RED: &str = "31";
const BOLD: &str = "1";

/// Colour on or off, and the colours given to hosts so far.
#[derive(Debug, Default)]
pub(super) struct Style {
    on: bool,
    hosts: HashMap<String, u8>,
}

impl Style {
    pub(super) fn new(on: bool) -> Style {
        Style {
            on,
            hosts: HashMap::new(),
        }
    }

    /// Gives hosts their colours in this order (a run's host list), before any of them
    /// prints, so that neighbours in the list differ.
    pub(super) fn assign(&mut self, hosts: &[String]) {
        for h in hosts {
            self.colour_of(h);
        }
    }

    fn colour_of(&mut self, host: &str) -> u8 {
        let next = self.hosts.len();
        *self
            .hosts
            .entry(host.to_string())
            .or_insert(HOST_COLOURS[next % HOST_COLOURS.len()])
    }

    fn paint(&self, sgr: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{sgr}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// A host's name in its colour.
    pub(super) fn host(&mut self, host: &str) -> String {
        if !self.on {
            return host.to_string();
        }
        let c = self.colour_of(host);
        self.paint(&format!("38;5;{c}"), host)
    }

    /// A stderr line's mark and text (`! text`), red.
    pub(super) fn stderr(&self, text: &str) -> String {
        self.paint(RED, &format!("! {text}"))
    }

    /// An outcome's name (or any text about it) in the outcome's colour.
    pub(super) fn outcome(&self, outcome: Outcome, text: &str) -> String {
        let sgr = match outcome {
            Outcome::Ok => "32",
            Outcome::Failed => "1;31",
            Outcome::Unreachable => "1;35",
            Outcome::TimedOut => "1;33",
            Outcome::Cancelled => "2",
        };
        self.paint(sgr, text)
    }

    /// `changed`, yellow (Ansible's colour for it).
    pub(super) fn changed(&self, text: &str) -> String {
        self.paint("33", text)
    }

    /// A `-b` header's rule or host set, bold.
    pub(super) fn header(&self, text: &str) -> String {
        self.paint(BOLD, text)
    }

    /// `[warn]`, in yellow (warn) or red (error); other levels plain.
    pub(super) fn level_tag(&self, level: LogLevel) -> String {
        let tag = format!("[{}]", level.as_str());
        match level {
            LogLevel::Warn => self.paint("33", &tag),
            LogLevel::Error => self.paint(RED, &tag),
            _ => tag,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_get_different_colours_in_order_of_appearance() {
        let mut style = Style::new(true);
        let hosts: Vec<String> = (1..=30).map(|i| format!("web{i:02}")).collect();
        style.assign(&hosts);
        let colours: Vec<String> = hosts.iter().map(|h| style.host(h)).collect();
        for pair in colours.windows(2) {
            let code = |s: &str| s.split('m').next().map(str::to_string);
            assert_ne!(code(&pair[0]), code(&pair[1]), "{pair:?}");
        }
        // the first twelve hosts all differ
        let first: std::collections::HashSet<u8> =
            hosts[..12].iter().map(|h| style.colour_of(h)).collect();
        assert_eq!(first.len(), 12);
        assert_eq!(style.host("web01"), "\x1b[38;5;33mweb01\x1b[0m");
    }

    #[test]
    fn colour_off_is_plain_text() {
        let mut style = Style::new(false);
        assert_eq!(style.host("web1"), "web1");
        assert_eq!(style.stderr("oops"), "! oops");
        assert_eq!(style.outcome(Outcome::Failed, "failed"), "failed");
        assert_eq!(style.level_tag(LogLevel::Warn), "[warn]");
    }
}
