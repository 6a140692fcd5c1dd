//! The one way to make a [`Target`]: the defaults ([`Target::default_for`]), a
//! `user@address:port` over a base ([`Target::at`]), or a host's merged connection values
//! ([`Target::from_vars`]: converted by [`connection`], the same checks the inventory scan,
//! `-e`, `-H` and `ssh.connect` use, with `~/.ssh/config` filling what none of them set).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::ssh_config::{Explicit, SshConfig};
use super::{HostKeyPolicy, Secret, Target};
use crate::connection::{self, ConnectionError, Destination};

/// Why a host's variables give no target.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TargetError {
    #[error(transparent)]
    /// A bad connection value.
    Connection(#[from] ConnectionError),
    #[error("{0}")]
    /// `~/.ssh/config` could not be applied.
    SshConfig(String),
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"))
}

/// `~/rest` under the home directory; other paths as they are.
pub(crate) fn expand_tilde(p: &str) -> PathBuf {
    match p.strip_prefix("~/") {
        Some(rest) => home().join(rest),
        None => PathBuf::from(p),
    }
}

impl Target {
    /// A target for `dest` over `base` (user and everything else from `base`); named `address`,
    /// or `address:port` when the port is not 22.
    pub(crate) fn at(dest: Destination, base: &Target) -> Target {
        let port = dest.port.unwrap_or(22);
        Target {
            name: if port == 22 {
                dest.address.clone()
            } else {
                format!("{}:{port}", dest.address)
            },
            address: dest.address,
            port,
            user: dest.user.unwrap_or_else(|| base.user.clone()),
            proxy_jump: None,
            ..base.clone()
        }
    }

    /// The target a host gets when nothing sets its values.
    pub(crate) fn default_for(name: &str) -> Target {
        Target {
            name: name.to_string(),
            address: name.to_string(),
            port: 22,
            user: std::env::var("USER").unwrap_or_else(|_| "root".into()),
            password: None,
            password_env: None,
            identity: None,
            key_text: None,
            passphrase: None,
            passphrase_env: None,
            known_hosts: home().join(".ssh/known_hosts"),
            agent: None,
            host_key_policy: HostKeyPolicy::AcceptNew,
            proxy_jump: None,
            connect_timeout: Duration::from_secs(10),
        }
    }

    /// The target of host `name` from its connection values, under the `~/.ssh/config` of
    /// the user (read once per context).
    pub(crate) fn for_host(
        ssh: &super::SshContext,
        name: &str,
        vars: &BTreeMap<String, String>,
    ) -> Result<Target, TargetError> {
        let path = super::ssh_config::user_config();
        let config = path.as_deref().map(|path| SshConfig {
            cache: ssh.ssh_configs(),
            path,
        });
        Target::from_vars(name, vars, config)
    }

    /// The connection target for `name` from merged variables, `~/.ssh/config` under them. Empty
    /// values of path and variable-name keys mean unset; the others were refused when read.
    pub(crate) fn from_vars(
        name: &str,
        vars: &BTreeMap<String, String>,
        ssh_config: Option<SshConfig<'_>>,
    ) -> Result<Target, TargetError> {
        let get = |k: &str| vars.get(k).filter(|v| !v.is_empty());
        let mut t = Target::default_for(name);
        if let Some(a) = vars.get("address") {
            t.address = connection::address(a)?.to_string();
        }
        let explicit = Explicit {
            user: get("user").is_some(),
            port: get("port").is_some(),
            identity: get("identity").is_some(),
            known_hosts: get("known_hosts").is_some(),
            proxy_jump: get("proxy_jump").is_some(),
        };
        if let Some(config) = ssh_config {
            config
                .apply(&mut t, explicit)
                .map_err(|e| TargetError::SshConfig(e.to_string()))?;
        }
        if let Some(p) = vars.get("port") {
            t.port = connection::port(p)?;
        }
        if let Some(u) = vars.get("user") {
            t.user = connection::user(u)?.to_string();
        }
        if let Some(p) = get("password") {
            t.password = Some(Secret(p.clone()));
        }
        // read when connecting: an unset variable fails only a host that is connected to
        if let Some(var) = get("password_env") {
            t.password_env = Some(var.clone());
        }
        if let Some(i) = get("identity") {
            t.identity = Some(expand_tilde(i));
        }
        if let Some(k) = get("key_text") {
            t.key_text = Some(Secret(k.clone()));
        }
        if let Some(p) = get("identity_passphrase") {
            t.passphrase = Some(Secret(p.clone()));
        }
        if let Some(var) = get("identity_passphrase_env") {
            t.passphrase_env = Some(var.clone());
        }
        if let Some(k) = get("known_hosts") {
            t.known_hosts = expand_tilde(k);
        }
        if let Some(s) = vars.get("connect_timeout") {
            t.connect_timeout = connection::connect_timeout(s)?;
        }
        if let Some(p) = vars.get("host_key_policy") {
            t.host_key_policy = connection::host_key_policy(p)?;
        }
        if let Some(j) = get("proxy_jump") {
            t.proxy_jump = Some(Box::new(Target::at(connection::destination(j)?, &t)));
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KEYS: &[&str] = &[
        "address",
        "port",
        "user",
        "password",
        "identity",
        "proxy_jump",
        "known_hosts",
        "connect_timeout",
        "host_key_policy",
        "key_text",
        "identity_passphrase",
        "password_env",
        "identity_passphrase_env",
    ];

    #[test]
    fn values_become_the_target() {
        let vars = BTreeMap::from(
            [
                ("address", "10.0.0.9"),
                ("port", "2222"),
                ("user", "deploy"),
                ("proxy_jump", "jump@bastion:2200"),
                ("host_key_policy", "strict"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let t = Target::from_vars("db1", &vars, None).expect("valid values");
        assert_eq!((t.name.as_str(), t.address.as_str()), ("db1", "10.0.0.9"));
        assert_eq!((t.port, t.user.as_str()), (2222, "deploy"));
        assert_eq!(t.host_key_policy, HostKeyPolicy::Strict);
        let j = t.proxy_jump.expect("a jump host");
        assert_eq!(
            (j.name.as_str(), j.user.as_str(), j.port),
            ("bastion:2200", "jump", 2200)
        );
        let bad = BTreeMap::from([("port".to_string(), "http".to_string())]);
        assert!(Target::from_vars("db1", &bad, None).is_err());
    }

    #[test]
    fn env_keys_are_kept_as_names_for_connect_time() {
        let vars = BTreeMap::from(
            [
                ("password", "inline"),
                ("password_env", "DROVER_TEST_SURELY_UNSET_1"),
                ("identity_passphrase_env", "DROVER_TEST_SURELY_UNSET_2"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let t = Target::from_vars("db1", &vars, None).expect("unset variables resolve");
        assert_eq!(
            t.password_env.as_deref(),
            Some("DROVER_TEST_SURELY_UNSET_1")
        );
        assert_eq!(
            t.passphrase_env.as_deref(),
            Some("DROVER_TEST_SURELY_UNSET_2")
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
        /// Any values (unchecked, as an embedder may pass them) give a target or an error.
        #[test]
        fn any_values_give_a_target_or_an_error(
            values in proptest::collection::vec((0..KEYS.len(), ".{0,40}"), 0..8)
        ) {
            let vars: BTreeMap<String, String> =
                values.into_iter().map(|(k, v)| (KEYS[k].to_string(), v)).collect();
            let _ = Target::from_vars("h", &vars, None);
        }
    }
}
