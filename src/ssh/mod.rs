//! SSH transport over russh: connect, authenticate, verify host keys, run commands.
//! Knows nothing of Lua.

mod auth;
pub(crate) mod cleanup;
mod connect;
mod context;
mod exec;
mod host_key;
mod jump;
mod known_hosts;
pub(crate) mod limits;
mod session;
pub(crate) mod sftp;
pub(crate) mod ssh_config;
mod target;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub(crate) use self::context::{SshContext, SshHooks};
pub(crate) use self::exec::{ExecOptions, LineSplitter, OutputSink, Stream, shell_quote};
pub(crate) use self::session::Session;
pub(crate) use self::target::expand_tilde;

pub use crate::connection::{BadHostKeyPolicy, HostKeyPolicy};

/// A secret (password, key text) that never shows in Debug output or errors.
#[derive(Clone)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<secret>")
    }
}

/// Receives warnings for a person (host key checking turned off, a readable file of passwords).
pub(crate) type WarningSink = Arc<dyn Fn(&str) + Send + Sync>;

/// Asks a person for the passphrase of the key at the given path (None: no answer).
pub(crate) type PassphrasePrompt = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct Target {
    /// Name used in messages (the inventory name, or `address:port`).
    pub name: String,
    /// The address to connect to.
    pub address: String,
    /// The SSH port.
    pub port: u16,
    /// The login user.
    pub user: String,
    /// A password for password or keyboard-interactive authentication.
    pub password: Option<Secret>,
    /// An environment variable holding the password (over `password`), read when connecting:
    /// unset, only a connection to this host fails.
    pub password_env: Option<String>,
    /// A private key file.
    pub identity: Option<PathBuf>,
    /// A private key as text.
    pub key_text: Option<Secret>,
    /// Passphrase for an encrypted identity or key text.
    pub passphrase: Option<Secret>,
    /// An environment variable holding the passphrase (over `passphrase`), read when
    /// connecting.
    pub passphrase_env: Option<String>,
    /// The known_hosts file the server key is checked against.
    pub known_hosts: PathBuf,
    /// ssh-agent socket: `None` uses `SSH_AUTH_SOCK`; `Some(None)` disables the agent.
    pub agent: Option<Option<PathBuf>>,
    /// What to do with unknown and changed server keys.
    pub host_key_policy: HostKeyPolicy,
    /// Reach this host through another one (a direct-tcpip channel, no extra process).
    pub proxy_jump: Option<Box<Target>>,
    /// How long the TCP connect and handshake may take.
    pub connect_timeout: Duration,
}

/// Why an SSH operation failed. Messages say what, why, and a hint; not which host (every
/// variant but `BadDestination` has a `host` field): reports show the host beside the message,
/// so identical failures on many hosts read alike and fold, and Lua's error values prefix it.
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    #[error("cannot connect to {addr}: {reason} (is sshd running and reachable?)")]
    Connect {
        host: String,
        addr: String,
        reason: String,
    },
    #[error("connect timed out after {secs}s")]
    Timeout { host: String, secs: f64 },
    #[error(
        "HOST KEY CHANGED: the server offers {key_type} key {fingerprint}, but {file}:{line} records another one; refusing to connect (remove that line if the change is expected)"
    )]
    HostKeyChanged {
        host: String,
        key_type: String,
        fingerprint: String,
        file: String,
        line: usize,
    },
    #[error(
        "unknown host key {key_type} {fingerprint} refused (host key policy is strict; add it to {file})"
    )]
    HostKeyUnknown {
        host: String,
        key_type: String,
        fingerprint: String,
        file: String,
    },
    #[error("cannot read known_hosts {file}: {reason}")]
    KnownHosts {
        host: String,
        file: String,
        reason: String,
    },
    #[error("authentication failed for user {user} (tried: {tried})")]
    Auth {
        host: String,
        user: String,
        tried: String,
    },
    #[error("{key} names {var}, which is not set")]
    UnsetEnv {
        host: String,
        key: &'static str,
        var: String,
    },
    #[error("cannot load identity {path}: {reason}")]
    Identity {
        host: String,
        path: String,
        reason: String,
    },
    #[error("command `{command}` timed out after {secs}s (the remote process was sent TERM)")]
    CommandTimeout {
        host: String,
        command: String,
        secs: f64,
    },
    #[error(
        "connection lost while {during} (the host or the network closed it; the command may or may not have finished)"
    )]
    ConnectionLost { host: String, during: String },
    #[error("bad destination \"{spec}\": {reason}")]
    BadDestination { spec: String, reason: String },
    #[error("sftp {op} {path}: {cause}{hint}")]
    Sftp {
        host: String,
        op: String,
        path: String,
        cause: String,
        hint: Hint,
    },
    #[error("{what}: {reason}")]
    Protocol {
        host: String,
        what: String,
        reason: String,
    },
}

/// An option a hint tells a person to pass, worded by each front end: `sudo = true` in a
/// script, `--sudo` on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HintOption {
    /// Upload through sudo.
    Sudo,
    /// Copy or remove a directory tree.
    Recursive,
}

impl HintOption {
    /// How a Lua script passes it.
    pub fn lua(self) -> &'static str {
        match self {
            HintOption::Sudo => "sudo = true",
            HintOption::Recursive => "recursive = true",
        }
    }

    /// How the command line passes it.
    pub fn cli(self) -> &'static str {
        match self {
            HintOption::Sudo => "--sudo",
            HintOption::Recursive => "-r",
        }
    }
}

/// What an SFTP error suggests, shown in parentheses after its cause.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Hint {
    /// Nothing to suggest.
    #[default]
    None,
    /// Advice that names no option.
    Text(&'static str),
    /// "pass OPTION WHY": the option is worded by the front end.
    Pass {
        /// The option.
        option: HintOption,
        /// What it is for (`for root-owned destinations`).
        why: &'static str,
    },
}

impl Hint {
    /// Advice that names no option.
    pub fn text(advice: &'static str) -> Hint {
        Hint::Text(advice)
    }

    /// ` (advice)` with options worded by `word`, or nothing.
    pub fn worded(&self, word: fn(HintOption) -> &'static str) -> String {
        match self {
            Hint::None => String::new(),
            Hint::Text(t) => format!(" ({t})"),
            Hint::Pass { option, why } => format!(" (pass {} {why})", word(*option)),
        }
    }
}

/// Lua's wording, the default one.
impl std::fmt::Display for Hint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.worded(HintOption::lua))
    }
}

impl SshError {
    /// The message as the command line words it: hints name its flags (`--sudo`, `-r`)
    /// rather than the Lua options.
    pub fn cli_message(&self) -> String {
        match self {
            SshError::Sftp {
                op,
                path,
                cause,
                hint,
                ..
            } => format!("sftp {op} {path}: {cause}{}", hint.worded(HintOption::cli)),
            other => other.to_string(),
        }
    }

    /// A protocol-level failure of `what` on `host`.
    pub fn protocol(host: &str, what: &str, reason: impl std::fmt::Display) -> SshError {
        SshError::Protocol {
            host: host.to_string(),
            what: what.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// What kind of failure an error is, by the cause a script would act on: scripts read it as
/// `err.kind` (the [`ErrorKind::as_str`] name) and reports name a host's failure by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// No SSH session could be opened: connection refused, no route, connect timeout, or the
    /// SSH handshake failed.
    Unreachable,
    /// The server refused every credential tried, or the identity could not be loaded.
    Auth,
    /// The server's host key was refused (changed, or unknown under the strict policy), or
    /// known_hosts could not be read.
    HostKey,
    /// A command ran past its `timeout` (the remote process was sent TERM).
    Timeout,
    /// A command ended with a non-zero exit code or a signal. Raised by the Lua layer
    /// (`host:run` unless `check = false`), never by an [`SshError`].
    Exit,
    /// A file operation failed (missing file, permission denied, not a directory ...).
    Sftp,
    /// The connection ended while in use; a command may or may not have finished.
    ConnectionLost,
    /// The SSH layer failed in a way the other kinds do not cover (a channel refused ...).
    Protocol,
    /// A destination (`user@host:port`) that cannot be parsed.
    BadDestination,
}

impl ErrorKind {
    /// Every kind, in the order of the documentation.
    pub const ALL: [ErrorKind; 9] = [
        ErrorKind::Unreachable,
        ErrorKind::Auth,
        ErrorKind::HostKey,
        ErrorKind::Timeout,
        ErrorKind::Exit,
        ErrorKind::Sftp,
        ErrorKind::ConnectionLost,
        ErrorKind::Protocol,
        ErrorKind::BadDestination,
    ];

    /// The name scripts compare `err.kind` with.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Unreachable => "unreachable",
            ErrorKind::Auth => "auth",
            ErrorKind::HostKey => "host_key",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Exit => "exit",
            ErrorKind::Sftp => "sftp",
            ErrorKind::ConnectionLost => "connection_lost",
            ErrorKind::Protocol => "protocol",
            ErrorKind::BadDestination => "bad_destination",
        }
    }

    /// Whether a host whose run failed with this kind counts as unreachable (no session could
    /// be opened, or it was lost) rather than failed: the fan-out's outcome.
    pub fn makes_host_unreachable(self) -> bool {
        matches!(
            self,
            ErrorKind::Unreachable
                | ErrorKind::Auth
                | ErrorKind::HostKey
                | ErrorKind::ConnectionLost
        )
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl SshError {
    /// The kind of this failure (one per variant family).
    pub fn kind(&self) -> ErrorKind {
        match self {
            SshError::Connect { .. } | SshError::Timeout { .. } => ErrorKind::Unreachable,
            SshError::HostKeyChanged { .. }
            | SshError::HostKeyUnknown { .. }
            | SshError::KnownHosts { .. } => ErrorKind::HostKey,
            SshError::Auth { .. } | SshError::Identity { .. } | SshError::UnsetEnv { .. } => {
                ErrorKind::Auth
            }
            SshError::CommandTimeout { .. } => ErrorKind::Timeout,
            SshError::ConnectionLost { .. } => ErrorKind::ConnectionLost,
            SshError::BadDestination { .. } => ErrorKind::BadDestination,
            SshError::Sftp { .. } => ErrorKind::Sftp,
            SshError::Protocol { .. } => ErrorKind::Protocol,
        }
    }

    /// The host the failure is about (none for a destination that did not parse).
    pub fn host(&self) -> Option<&str> {
        match self {
            SshError::Connect { host, .. }
            | SshError::Timeout { host, .. }
            | SshError::HostKeyChanged { host, .. }
            | SshError::HostKeyUnknown { host, .. }
            | SshError::KnownHosts { host, .. }
            | SshError::Auth { host, .. }
            | SshError::Identity { host, .. }
            | SshError::UnsetEnv { host, .. }
            | SshError::CommandTimeout { host, .. }
            | SshError::ConnectionLost { host, .. }
            | SshError::Sftp { host, .. }
            | SshError::Protocol { host, .. } => Some(host),
            SshError::BadDestination { .. } => None,
        }
    }
}

#[cfg(test)]
mod error_kind_tests {
    use super::*;

    #[test]
    fn kind_names_are_distinct_snake_case_words() {
        let names: std::collections::BTreeSet<&str> =
            ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), ErrorKind::ALL.len());
        for name in names {
            assert!(
                name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{name}"
            );
        }
    }

    #[test]
    fn every_variant_family_has_its_kind_and_host() {
        let h = || "web1".to_string();
        let s = || "x".to_string();
        let cases = [
            (
                SshError::Connect {
                    host: h(),
                    addr: s(),
                    reason: s(),
                },
                ErrorKind::Unreachable,
            ),
            (
                SshError::Timeout {
                    host: h(),
                    secs: 1.0,
                },
                ErrorKind::Unreachable,
            ),
            (
                SshError::HostKeyUnknown {
                    host: h(),
                    key_type: s(),
                    fingerprint: s(),
                    file: s(),
                },
                ErrorKind::HostKey,
            ),
            (
                SshError::Auth {
                    host: h(),
                    user: s(),
                    tried: s(),
                },
                ErrorKind::Auth,
            ),
            (
                SshError::CommandTimeout {
                    host: h(),
                    command: s(),
                    secs: 1.0,
                },
                ErrorKind::Timeout,
            ),
            (
                SshError::ConnectionLost {
                    host: h(),
                    during: s(),
                },
                ErrorKind::ConnectionLost,
            ),
            (
                SshError::protocol("web1", "channel", "no"),
                ErrorKind::Protocol,
            ),
        ];
        for (err, kind) in cases {
            assert_eq!(err.kind(), kind, "{err}");
            assert_eq!(err.host(), Some("web1"), "{err}");
        }
        let bad = SshError::BadDestination {
            spec: "u@".into(),
            reason: "no host".into(),
        };
        assert_eq!((bad.kind(), bad.host()), (ErrorKind::BadDestination, None));
    }
}
