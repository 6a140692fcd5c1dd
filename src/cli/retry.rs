//! Re-running what failed: every run over hosts records the hosts that did not end `ok` in
//! `$XDG_STATE_HOME/drover/failed` (else `~/.local/state/drover/failed`), one name a line;
//! `-H @failed` reads them back, `-H @FILE` reads any such list (`-H @-`: stdin).

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use drover::report::{Outcome, RunReport};

/// The list name `-H @failed` stands for.
const FAILED: &str = "failed";

/// Why a host list could not be used; names the list, and the line when there is one.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("-H @{list}: cannot read {file}: {cause}")]
    Read {
        list: String,
        file: String,
        cause: std::io::Error,
    },
    #[error(
        "{file}:{line}: \"{text}\" is not one host (expected a host name or user@address:port, one a line)"
    )]
    BadLine {
        file: String,
        line: usize,
        text: String,
    },
    #[error("-H @{list}: {file} names no host{hint}")]
    Empty {
        list: String,
        file: String,
        hint: &'static str,
    },
    #[error("-H @failed: no run has recorded its failed hosts yet ({file} does not exist)")]
    NoFailedFile { file: String },
    #[error("-H @failed: neither $XDG_STATE_HOME nor $HOME is set")]
    NoStateDir,
    #[error("-H @-: stdin can be read only once")]
    StdinTwice,
}

/// A host read from a list, with where it came from.
#[derive(Debug, Clone)]
pub struct Listed {
    pub host: String,
    pub file: String,
    pub line: usize,
}

/// Where failed hosts are recorded: `$XDG_STATE_HOME/drover/failed` (an absolute
/// `$XDG_STATE_HOME` only, as the XDG spec says), else `$HOME/.local/state/drover/failed`.
pub fn failed_file() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".local/state"))
        })?;
    Some(state.join("drover").join(FAILED))
}

/// The hosts of list `list` (`failed`, `-` for stdin, else a file), blank lines and `#`
/// comments skipped; `stdin_read` keeps stdin from being read twice.
pub fn read_list(list: &str, stdin_read: &mut bool) -> Result<Vec<Listed>, ListError> {
    let read_error = |file: &Path, cause| ListError::Read {
        list: list.to_string(),
        file: file.display().to_string(),
        cause,
    };
    let (file, text) = match list {
        "-" => {
            if std::mem::replace(stdin_read, true) {
                return Err(ListError::StdinTwice);
            }
            let mut text = String::new();
            for line in std::io::stdin().lock().lines() {
                let line = line.map_err(|e| read_error(Path::new("stdin"), e))?;
                text.push_str(&line);
                text.push('\n');
            }
            ("stdin".to_string(), text)
        }
        FAILED => {
            let path = failed_file().ok_or(ListError::NoStateDir)?;
            match std::fs::read_to_string(&path) {
                Ok(text) => (path.display().to_string(), text),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(ListError::NoFailedFile {
                        file: path.display().to_string(),
                    });
                }
                Err(e) => return Err(read_error(&path, e)),
            }
        }
        path => {
            let text = std::fs::read_to_string(path).map_err(|e| read_error(Path::new(path), e))?;
            (path.to_string(), text)
        }
    };
    let hosts = parse_list(&file, &text)?;
    if hosts.is_empty() {
        // an empty list must not turn a per-host run into one without targets
        let hint = if list == FAILED {
            " (the last run had no failed hosts)"
        } else {
            ""
        };
        return Err(ListError::Empty {
            list: list.to_string(),
            file,
            hint,
        });
    }
    Ok(hosts)
}

/// One host a line (a name, a node set or `user@address:port`); blank lines and lines
/// starting with `#` skipped.
pub fn parse_list(file: &str, text: &str) -> Result<Vec<Listed>, ListError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let host = raw.trim();
        if host.is_empty() || host.starts_with('#') {
            continue;
        }
        // one host: no spaces, no list, no nested @list
        if host.chars().any(|c| c.is_whitespace() || c.is_control())
            || host.starts_with('@')
            || (host.contains(',') && !host.contains('['))
        {
            return Err(ListError::BadLine {
                file: file.to_string(),
                line: i + 1,
                text: host.escape_debug().to_string(),
            });
        }
        out.push(Listed {
            host: host.to_string(),
            file: file.to_string(),
            line: i + 1,
        });
    }
    Ok(out)
}

/// Records the hosts of `report` that did not end `ok` (an all-ok run: an empty file),
/// replacing the file at once (a reader never sees half of it). Only a warning when it
/// cannot: the run itself is done.
pub fn record_failed(report: &RunReport) {
    if report.hosts.is_empty() {
        return;
    }
    let Some(path) = failed_file() else {
        eprintln!(
            "drover: warning: cannot record failed hosts: neither $XDG_STATE_HOME nor $HOME is set"
        );
        return;
    };
    let mut text = String::new();
    for h in report.hosts.iter().filter(|h| h.outcome != Outcome::Ok) {
        text.push_str(&h.host);
        text.push('\n');
    }
    if let Err(e) = write_atomically(&path, text.as_bytes()) {
        eprintln!(
            "drover: warning: cannot record failed hosts in {}: {e}",
            path.display()
        );
    }
}

/// Writes `path` through a temporary file in its directory and a rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".failed.{}.tmp", std::process::id()));
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    match written.and_then(|()| std::fs::rename(&tmp, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lists_skip_blanks_and_comments_and_name_bad_lines() {
        let hosts = parse_list(
            "f",
            "# failed\n\nweb1\n  deploy@10.0.0.5:2222  \nweb[01-02]\n",
        )
        .expect("a good list");
        let got: Vec<_> = hosts.iter().map(|l| (l.host.as_str(), l.line)).collect();
        assert_eq!(
            got,
            [("web1", 3), ("deploy@10.0.0.5:2222", 4), ("web[01-02]", 5)]
        );
        for bad in ["web1 web2", "a,b", "@other", "x\u{7}y"] {
            let e = parse_list("hosts.txt", &format!("ok1\n{bad}\n")).expect_err(bad);
            assert!(e.to_string().starts_with("hosts.txt:2: "), "{e}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
        /// Any text gives hosts or an error naming its line, never a panic.
        #[test]
        fn any_text_gives_hosts_or_a_line_error(text in "(?s).{0,200}") {
            match parse_list("f", &text) {
                Ok(hosts) => prop_assert!(hosts.iter().all(|l| !l.host.is_empty())),
                Err(e) => prop_assert!(e.to_string().starts_with("f:")),
            }
        }
    }
}
