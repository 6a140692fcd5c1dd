//! The one guard of ProxyJump chains: no hop twice (a loop would connect forever), at most
//! [`MAX_JUMPS`] hops. `Session::connect` checks a finished chain with [`check`];
//! `ssh_config` walks hops with a [`JumpChain`] while it expands `ProxyJump` lines, since a
//! config whose aliases jump through each other would otherwise expand without end.

use super::{SshError, Target};

/// Most hops between the controller and a host.
pub(super) const MAX_JUMPS: usize = 8;

/// The hops of one chain so far, from the host being reached outwards.
pub(super) struct JumpChain {
    /// The host the chain leads to (named in the error).
    host: String,
    /// What set the chain up (`proxy_jump`, or the ssh config file).
    what: String,
    seen: Vec<(String, u16)>,
}

impl JumpChain {
    /// A chain leading to `target`, set up by `what`.
    pub(super) fn to(target: &Target, what: impl Into<String>) -> JumpChain {
        JumpChain {
            host: target.name.clone(),
            what: what.into(),
            seen: vec![(target.address.clone(), target.port)],
        }
    }

    /// Adds the next hop outwards; refuses one already in the chain or one too many.
    pub(super) fn through(&mut self, address: &str, port: u16) -> Result<(), SshError> {
        let hop = (address.to_string(), port);
        // `seen` holds the host itself besides its hops.
        if self.seen.contains(&hop) || self.seen.len() > MAX_JUMPS {
            return Err(SshError::Protocol {
                host: self.host.clone(),
                what: self.what.clone(),
                reason: format!(
                    "the jump chain loops or is longer than {MAX_JUMPS} hops (at {address}:{port})"
                ),
            });
        }
        self.seen.push(hop);
        Ok(())
    }

    /// A copy for one branch of an expansion (hops of one branch do not count against another).
    pub(super) fn branch(&self) -> JumpChain {
        JumpChain {
            host: self.host.clone(),
            what: self.what.clone(),
            seen: self.seen.clone(),
        }
    }
}

/// Refuses a `target` whose `proxy_jump` chain loops or is longer than [`MAX_JUMPS`].
pub(super) fn check(target: &Target) -> Result<(), SshError> {
    let mut chain = JumpChain::to(target, "proxy_jump");
    let mut hop = target.proxy_jump.as_deref();
    while let Some(jump) = hop {
        chain.through(&jump.address, jump.port)?;
        hop = jump.proxy_jump.as_deref();
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A target named and addressed `address`, reached through `via`.
    pub(crate) fn target(address: &str, via: Option<Target>) -> Target {
        Target {
            name: address.to_string(),
            address: address.to_string(),
            port: 22,
            user: "u".into(),
            password: None,
            password_env: None,
            identity: None,
            key_text: None,
            passphrase: None,
            passphrase_env: None,
            known_hosts: "/nonexistent".into(),
            agent: Some(None),
            host_key_policy: crate::ssh::HostKeyPolicy::Strict,
            proxy_jump: via.map(Box::new),
            connect_timeout: std::time::Duration::from_secs(1),
        }
    }

    #[test]
    fn loops_and_long_chains_are_refused_short_ones_pass() {
        let ok = target("c", Some(target("b", Some(target("a", None)))));
        assert!(check(&ok).is_ok());
        let looping = target("a", Some(target("b", Some(target("a", None)))));
        let e = check(&looping).expect_err("a loop").to_string();
        assert!(
            e.contains("the jump chain loops") && e.contains("(at a:22)"),
            "{e}"
        );
        let mut long = target("h0", None);
        for i in 1..=MAX_JUMPS + 1 {
            long = target(&format!("h{i}"), Some(long));
        }
        let e = check(&long).expect_err("too long").to_string();
        assert!(e.contains(&format!("longer than {MAX_JUMPS} hops")), "{e}");
        let mut longest = target("h0", None);
        for i in 1..=MAX_JUMPS {
            longest = target(&format!("h{i}"), Some(longest));
        }
        assert!(check(&longest).is_ok(), "{MAX_JUMPS} hops are allowed");
    }
}
