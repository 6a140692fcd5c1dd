//! The one place connection values are checked and converted, wherever they come from: an
//! inventory line, `-e KEY=VALUE`, `-H user@address:port`, or Lua's `ssh.connect`. Callers add
//! where the value was (file:line, the flag); the error says what is wrong with it. A leaf
//! (like `nodeset`): the inventory checks values with it as it scans (so errors name the
//! line), `ssh` builds targets with it, and neither imports the other.

use std::time::Duration;

use crate::nodeset::{MAX_NAME_BYTES, shown};

/// Longest `connect_timeout`: a day. Past that a typo (`1e20`) is likelier than intent, and
/// huge durations overflow deadlines.
pub(crate) const MAX_CONNECT_TIMEOUT_SECS: f64 = 86_400.0;

/// What to do with a server key that is not yet in known_hosts, or has changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// Record unknown keys, refuse changed ones (the default).
    AcceptNew,
    /// Refuse unknown and changed keys.
    Strict,
    /// Accept anything (warned about loudly).
    Off,
}

impl HostKeyPolicy {
    /// The spellings [`HostKeyPolicy::from_str`](std::str::FromStr::from_str) accepts.
    pub const ACCEPTED: &'static str = "accept-new, strict or off";
}

/// A host key policy that is none of [`HostKeyPolicy::ACCEPTED`] (the value as given).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("host_key_policy \"{value}\" must be {}", HostKeyPolicy::ACCEPTED)]
pub struct BadHostKeyPolicy {
    /// The value as given.
    pub value: String,
}

/// The one parser of a policy (inventory, `-e`, `ssh.connect` all come through here).
impl HostKeyPolicy {
    /// `accept-new`, `strict` or `off`, as inventories and `ssh.connect` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            HostKeyPolicy::AcceptNew => "accept-new",
            HostKeyPolicy::Strict => "strict",
            HostKeyPolicy::Off => "off",
        }
    }
}

impl std::str::FromStr for HostKeyPolicy {
    type Err = BadHostKeyPolicy;

    fn from_str(value: &str) -> Result<HostKeyPolicy, BadHostKeyPolicy> {
        match value {
            "accept-new" => Ok(HostKeyPolicy::AcceptNew),
            "strict" => Ok(HostKeyPolicy::Strict),
            "off" => Ok(HostKeyPolicy::Off),
            _ => Err(BadHostKeyPolicy {
                value: value.to_string(),
            }),
        }
    }
}

/// What is wrong with a connection value. Each variant carries the value as given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionError {
    #[error("bad port \"{0}\": not a port number (1-65535, digits only)")]
    /// A port that is not a number from 1 to 65535.
    Port(String),
    #[error(
        "connect_timeout \"{0}\" is not a number of seconds (more than 0, at most {MAX_CONNECT_TIMEOUT_SECS})"
    )]
    /// A connect timeout that is not a number of seconds in range.
    ConnectTimeout(String),
    #[error(transparent)]
    /// An unknown host key policy.
    HostKeyPolicy(BadHostKeyPolicy),
    #[error("{0} is empty")]
    /// A value that must not be empty is.
    Empty(&'static str),
    #[error("bad key \"{0}\": keys are single words (no spaces, not empty)")]
    /// A key that is not one word.
    Key(String),
    #[error("{what} \"{value}\" contains whitespace or a control character")]
    /// A value with whitespace or a control character.
    Unprintable {
        /// Which value.
        what: &'static str,
        /// The value as given.
        value: String,
    },
    #[error("host name \"{name}\" {reason}")]
    /// A host name drover cannot use.
    HostName {
        /// The name.
        name: String,
        /// Why.
        reason: &'static str,
    },
    #[error("no host (the address is empty)")]
    /// A destination without a host.
    NoHost,
    #[error("bad destination \"{spec}\": {cause}")]
    /// A `user@host:port` destination that does not parse.
    Destination {
        /// The destination as given.
        spec: String,
        /// What is wrong.
        cause: Box<ConnectionError>,
    },
}

/// Keys whose values must be checked (and are converted by `ssh::Target::from_vars`).
/// Other connection keys are paths, variable names or free text.
pub(crate) fn check_value(key: &str, value: &str) -> Result<(), ConnectionError> {
    match key {
        "port" => port(value).map(drop),
        "connect_timeout" => connect_timeout(value).map(drop),
        "host_key_policy" => host_key_policy(value).map(drop),
        "address" => address(value).map(drop),
        "user" => user(value).map(drop),
        "proxy_jump" => destination(value).map(drop),
        _ => Ok(()),
    }
}

/// A variable or connection key: one word, as in an inventory line or `-e KEY=VALUE`.
pub(crate) fn key(key: &str) -> Result<&str, ConnectionError> {
    if key.is_empty() || key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ConnectionError::Key(shown(key)));
    }
    Ok(key)
}

/// `1`..`65535`, digits only (no sign: `+22` is a typo, not a port).
pub(crate) fn port(value: &str) -> Result<u16, ConnectionError> {
    let bad = || ConnectionError::Port(shown(value));
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    value
        .parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(bad)
}

/// A port given as a number (Lua): 1..65535.
pub(crate) fn port_number(n: i64) -> Result<u16, ConnectionError> {
    u16::try_from(n)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| ConnectionError::Port(n.to_string()))
}

/// Seconds as text: a positive finite number, at most [`MAX_CONNECT_TIMEOUT_SECS`].
pub(crate) fn connect_timeout(value: &str) -> Result<Duration, ConnectionError> {
    let secs: f64 = value
        .trim()
        .parse()
        .map_err(|_| ConnectionError::ConnectTimeout(shown(value)))?;
    connect_timeout_secs(secs).map_err(|_| ConnectionError::ConnectTimeout(shown(value)))
}

/// Seconds as a number (Lua, or parsed text).
pub(crate) fn connect_timeout_secs(secs: f64) -> Result<Duration, ConnectionError> {
    bounded_seconds(secs, MAX_CONNECT_TIMEOUT_SECS)
        .ok_or_else(|| ConnectionError::ConnectTimeout(secs.to_string()))
}

/// `secs` as a Duration when it is finite, more than 0 and at most `max` (never panics,
/// unlike `Duration::from_secs_f64`).
pub(crate) fn bounded_seconds(secs: f64, max: f64) -> Option<Duration> {
    if !(secs > 0.0 && secs <= max) {
        return None; // also NaN and infinities
    }
    Duration::try_from_secs_f64(secs).ok()
}

/// A policy by [`HostKeyPolicy`]'s one parser, a long bad value shortened in the error.
pub(crate) fn host_key_policy(value: &str) -> Result<HostKeyPolicy, ConnectionError> {
    value.parse().map_err(|_| {
        ConnectionError::HostKeyPolicy(BadHostKeyPolicy {
            value: shown(value),
        })
    })
}

fn printable(what: &'static str, value: &str) -> Result<(), ConnectionError> {
    if value.is_empty() {
        return Err(ConnectionError::Empty(what));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ConnectionError::Unprintable {
            what,
            value: shown(value),
        });
    }
    Ok(())
}

/// A host's address: not empty (no silent fallback to the name), no whitespace.
pub(crate) fn address(value: &str) -> Result<&str, ConnectionError> {
    printable("address", value).map(|()| value)
}

/// A login user: printable, not empty.
pub(crate) fn user(value: &str) -> Result<&str, ConnectionError> {
    printable("user", value).map(|()| value)
}

/// A host name is also a directory name (`get` writes to `LOCAL_DIR/<host>/`): one safe path
/// component, not `.` or `..`, at most 255 bytes, no `/`, whitespace or control characters.
pub(crate) fn host_name(name: &str) -> Result<&str, ConnectionError> {
    let bad = |reason| {
        Err(ConnectionError::HostName {
            name: shown(name),
            reason,
        })
    };
    if name.is_empty() {
        return bad("is empty");
    }
    if name == "." || name == ".." {
        return bad("is not a usable directory name (get writes to LOCAL_DIR/<host>/)");
    }
    if name.len() > MAX_NAME_BYTES {
        return bad("is longer than 255 bytes (the limit of a file name)");
    }
    if name.contains('/') || name.contains('\\') {
        return bad("contains a slash");
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("contains whitespace or a control character");
    }
    Ok(name)
}

/// `[user@]address[:port]`, as given to `-H`, `proxy_jump` or `ssh.connect`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Destination {
    /// The user.
    pub user: Option<String>,
    /// The address.
    pub address: String,
    /// The port.
    pub port: Option<u16>,
}

/// Parses `[user@]address[:port]`. A bare IPv6 address (several colons) has no port.
pub(crate) fn destination(spec: &str) -> Result<Destination, ConnectionError> {
    let wrap = |cause| ConnectionError::Destination {
        spec: shown(spec),
        cause: Box::new(cause),
    };
    let (user_part, rest) = match spec.rsplit_once('@') {
        Some((u, r)) => (Some(u), r),
        None => (None, spec),
    };
    let (addr, port_part) = match rest.rsplit_once(':') {
        Some((a, p)) if !a.contains(':') => (a, Some(p)),
        _ => (rest, None),
    };
    let user = user_part
        .map(|u| user(u).map(String::from))
        .transpose()
        .map_err(wrap)?;
    if addr.is_empty() {
        return Err(wrap(ConnectionError::NoHost));
    }
    address(addr).map_err(wrap)?;
    let port = port_part.map(port).transpose().map_err(wrap)?;
    Ok(Destination {
        user,
        address: addr.to_string(),
        port,
    })
}

/// Whether a variable's name says it holds a secret (`db_password`, `api_token`,
/// `SecretKey`, `smtp_pass`, `aws_credentials`): such values are shown as `<secret>`.
/// (`pass` alone only as a whole word: `bypass_proxy` and `compass` are not secrets.)
pub fn is_secret_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [
        "password",
        "passphrase",
        "passwd",
        "secret",
        "token",
        "credential",
        "key_text",
    ]
    .iter()
    .any(|w| lower.contains(w))
        || lower
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|word| word == "pass")
}

/// Whether a variable's value is itself a secret: a secret name, but not a `*_env` one
/// (`password_env` names the environment variable that holds the password).
pub fn holds_secret(name: &str) -> bool {
    is_secret_name(name) && !name.to_ascii_lowercase().ends_with("_env")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for name in [
            "password",
            "db_pass",
            "SMTP_PASS",
            "api_token",
            "aws_credentials",
            "passwd",
            "key_text",
            "password_env",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in [
            "bypass_proxy",
            "compass",
            "passenger_count",
            "private_ip",
            "user",
        ] {
            assert!(!is_secret_name(name), "{name}");
        }
        assert!(holds_secret("db_password") && !holds_secret("db_password_env"));
        assert!(!holds_secret("colour"));
    }

    #[test]
    fn ports() {
        assert_eq!(port("22"), Ok(22));
        assert_eq!(port("65535"), Ok(65535));
        for bad in ["0", "+22", "-1", "65536", "", " 22", "2 2", "http", "0x16"] {
            assert_eq!(port(bad), Err(ConnectionError::Port(bad.into())), "{bad:?}");
        }
        assert!(port_number(0).is_err() && port_number(70000).is_err() && port_number(-1).is_err());
        assert_eq!(port_number(2222), Ok(2222));
    }

    #[test]
    fn timeouts() {
        assert_eq!(connect_timeout("2.5"), Ok(Duration::from_millis(2500)));
        assert_eq!(connect_timeout("86400"), Ok(Duration::from_secs(86_400)));
        for bad in [
            "0", "-1", "NaN", "nan", "inf", "1e400", "1e20", "86401", "", "ten",
        ] {
            assert!(connect_timeout(bad).is_err(), "{bad:?}");
        }
        assert!(
            bounded_seconds(f64::MAX, f64::MAX).is_none(),
            "overflows Duration"
        );
    }

    #[test]
    fn policies_names_and_keys() {
        assert_eq!(host_key_policy("strict"), Ok(HostKeyPolicy::Strict));
        assert!(host_key_policy("stirct").is_err() && host_key_policy("").is_err());
        assert_eq!(
            check_value("address", ""),
            Err(ConnectionError::Empty("address"))
        );
        assert!(check_value("colour", "").is_ok(), "variables are free text");
        for bad in [".", "..", "", "a/b", "a b", &"x".repeat(256)] {
            assert!(host_name(bad).is_err(), "{bad:?}");
        }
        assert!(host_name("web01.example.com").is_ok() && host_name("me@h:22").is_ok());
        assert!(key("bad key").is_err() && key("").is_err() && key("good_key").is_ok());
        assert!(is_secret_name("DB_Password") && is_secret_name("api_token"));
        assert!(!is_secret_name("colour"));
    }

    #[test]
    fn destinations() {
        let d = destination("me@10.0.0.9:2222").unwrap();
        assert_eq!(
            (d.user.as_deref(), d.address.as_str(), d.port),
            (Some("me"), "10.0.0.9", Some(2222))
        );
        assert_eq!(destination("::1").unwrap().port, None);
        for bad in ["u@addr:0", "u@:22", "@h", "h:", "h:+22", "u@", ""] {
            assert!(destination(bad).is_err(), "{bad:?}");
        }
        let msg = destination("u@addr:0").unwrap_err().to_string();
        assert!(
            msg.contains("\"u@addr:0\"") && msg.contains("port \"0\""),
            "{msg}"
        );
    }
}
