//! Host key checking for one handshake: known_hosts lookups by policy (accept-new records
//! unknown keys, strict refuses them, changed keys are always refused with file:line).

use std::sync::{Arc, Mutex};

use russh::client;
use russh::keys::{HashAlg, PublicKey};

use super::known_hosts::{KnownHostsCache, KnownKey};
use super::{HostKeyPolicy, SshError, Target, WarningSink};

pub(super) struct Client {
    pub(super) target: Target,
    /// Why the host key was refused, for the error message.
    pub(super) refusal: Arc<Mutex<Option<SshError>>>,
    /// The context's warning sink (a key accepted unverified is warned about).
    pub(super) warnings: Option<WarningSink>,
    /// The context's parsed known_hosts files.
    pub(super) known_hosts: Arc<KnownHostsCache>,
}

impl Client {
    fn verify(&self, key: &PublicKey) -> Result<bool, SshError> {
        let t = &self.target;
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        let key_type = key.algorithm().to_string();
        let file = t.known_hosts.display().to_string();
        if t.host_key_policy == HostKeyPolicy::Off {
            if let Some(warn) = &self.warnings {
                warn(&format!(
                    "WARNING: host key checking is off for {}: {key_type} {fingerprint} accepted unverified",
                    t.name
                ));
            }
            return Ok(true);
        }
        let learn = t.host_key_policy == HostKeyPolicy::AcceptNew;
        let known = self
            .known_hosts
            .check(&t.known_hosts, &t.address, t.port, key, learn)
            .map_err(|e| SshError::KnownHosts {
                host: t.name.clone(),
                file: file.clone(),
                reason: e.0,
            })?;
        match known {
            KnownKey::Known => Ok(true),
            KnownKey::Unknown => Err(SshError::HostKeyUnknown {
                host: t.name.clone(),
                key_type,
                fingerprint,
                file,
            }),
            KnownKey::Changed { line } => Err(SshError::HostKeyChanged {
                host: t.name.clone(),
                key_type,
                fingerprint,
                line,
                file,
            }),
        }
    }
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } = key else {
            *self.refusal.lock().unwrap_or_else(|e| e.into_inner()) = Some(SshError::protocol(
                &self.target.name,
                "host key",
                "host certificates are not supported yet",
            ));
            return Ok(false);
        };
        match self.verify(key) {
            Ok(ok) => Ok(ok),
            Err(e) => {
                *self.refusal.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
                Ok(false)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_and_bad_ones_list_the_accepted() {
        assert_eq!("accept-new".parse(), Ok(HostKeyPolicy::AcceptNew));
        assert_eq!("strict".parse(), Ok(HostKeyPolicy::Strict));
        assert_eq!("off".parse(), Ok(HostKeyPolicy::Off));
        let e = "Strict".parse::<HostKeyPolicy>().expect_err("case matters");
        assert_eq!(e.value, "Strict");
        assert_eq!(
            e.to_string(),
            "host_key_policy \"Strict\" must be accept-new, strict or off"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 256,
            failure_persistence: None,
            ..Default::default()
        })]

        /// Any text parses to a policy or to an error naming exactly that text, never a panic.
        #[test]
        fn any_text_parses_or_is_named(text in "\\PC{0,40}|accept-new|strict|off") {
            match text.parse::<HostKeyPolicy>() {
                Ok(_) => proptest::prop_assert!(["accept-new", "strict", "off"].contains(&text.as_str())),
                Err(e) => {
                    proptest::prop_assert_eq!(&e.value, &text);
                    proptest::prop_assert!(e.to_string().contains(HostKeyPolicy::ACCEPTED));
                }
            }
        }
    }
}
