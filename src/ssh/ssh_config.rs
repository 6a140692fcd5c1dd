//! `~/.ssh/config`: HostName, User, Port, IdentityFile, UserKnownHostsFile and ProxyJump for a
//! host alias. Values given explicitly (spec, inventory) win over the file.

use std::path::{Path, PathBuf};

use super::{SshError, Target};

/// What the caller set explicitly (the file does not override those).
#[derive(Debug, Default, Clone, Copy)]
pub struct Explicit {
    pub user: bool,
    pub port: bool,
    pub identity: bool,
    pub known_hosts: bool,
    pub proxy_jump: bool,
}

/// The user's `~/.ssh/config` (applied only when it exists).
pub fn user_config() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".ssh/config"))
}

/// Deepest ProxyJump chain followed.
const MAX_JUMPS: usize = 8;

/// Applies the config file at `path` (if it exists) to `target`, whose `address` is the alias.
pub fn apply(target: &mut Target, path: &Path, explicit: Explicit) -> Result<(), SshError> {
    apply_depth(target, path, explicit, 0)
}

fn apply_depth(
    target: &mut Target,
    path: &Path,
    explicit: Explicit,
    depth: usize,
) -> Result<(), SshError> {
    if !path.exists() {
        return Ok(());
    }
    let alias = target.address.clone();
    let config = russh_config::parse_path(path, &alias).map_err(|e| {
        SshError::protocol(&target.name, &format!("ssh config {}", path.display()), e)
    })?;
    let hc = config.host_config;
    if let Some(hostname) = hc.hostname {
        target.address = hostname;
    }
    if !explicit.user
        && let Some(user) = hc.user
    {
        target.user = user;
    }
    if !explicit.port
        && let Some(port) = hc.port
    {
        target.port = port;
    }
    if !explicit.identity
        && let Some(first) = hc.identity_file.and_then(|files| files.into_iter().next())
    {
        target.identity = Some(first);
    }
    if !explicit.known_hosts
        && let Some(file) = hc.user_known_hosts_file
    {
        target.known_hosts = file;
    }
    if !explicit.proxy_jump
        && let Some(jumps) = hc.proxy_jump.filter(|j| !j.eq_ignore_ascii_case("none"))
    {
        if depth >= MAX_JUMPS {
            return Err(SshError::Protocol {
                host: target.name.clone(),
                what: "proxy_jump".into(),
                reason: format!(
                    "ProxyJump chain in {} is longer than {MAX_JUMPS} hops or loops",
                    path.display()
                ),
            });
        }
        // "j1,j2": j1 first, then j2 through j1, then the target through j2.
        let mut via: Option<Box<Target>> = None;
        for hop in jumps.split(',').map(str::trim).filter(|h| !h.is_empty()) {
            let mut t = Target::parse(hop, target)?;
            let explicit = Explicit {
                user: hop.contains('@'),
                port: hop.contains(':'),
                ..Explicit::default()
            };
            apply_depth(&mut t, path, explicit, depth + 1)?;
            t.proxy_jump = via.take();
            via = Some(Box::new(t));
        }
        target.proxy_jump = via;
    }
    Ok(())
}
