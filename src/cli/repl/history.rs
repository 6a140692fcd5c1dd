//! Where the REPL keeps its history, and which lines never go there: anything that sets or
//! passes a password or a passphrase.

use std::path::PathBuf;

/// `$XDG_STATE_HOME/drover/history`, else `~/.local/state/drover/history`; none without a
/// home directory.
pub fn path() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".local/state"))
        })?;
    Some(state.join("drover").join("history"))
}

/// Words that mark a line as holding a secret.
const SECRET_WORDS: &[&str] = &["password", "passphrase", "passwd", "secret"];

/// Whether `line` may be written to the history file.
pub fn may_keep(line: &str) -> bool {
    let lower = line.to_lowercase();
    !line.trim().is_empty() && !SECRET_WORDS.iter().any(|w| lower.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_stay_out() {
        assert!(may_keep("!uptime"));
        assert!(!may_keep(
            "h = ssh.connect{address = 'x', password = 'hunter2'}"
        ));
        assert!(!may_keep("PASSPHRASE = 'x'"));
        assert!(!may_keep("  "));
    }
}
