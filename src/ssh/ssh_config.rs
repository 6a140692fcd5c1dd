//! `~/.ssh/config`: HostName, User, Port, IdentityFile, UserKnownHostsFile and ProxyJump for a
//! host alias. Values given explicitly (spec, inventory) win over the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::jump::JumpChain;
use super::{SshError, Target};

/// What the caller set explicitly (the file does not override those).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Explicit {
    pub user: bool,
    pub port: bool,
    pub identity: bool,
    pub known_hosts: bool,
    pub proxy_jump: bool,
}

/// The user's `~/.ssh/config` (applied only when it exists).
pub(crate) fn user_config() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".ssh/config"))
}

/// A config file read once per [`ConfigCache`], with its `Host` patterns compiled once.
///
/// russh-config compiles every `Host` pattern into a regex on each lookup: resolving 100,000
/// hosts took 3.5 s of the 4 s, where the same run without a config took 0.5 s. What a lookup
/// returns depends only on which `Host` entries match the alias, so hosts are put into classes
/// by that set (matched here with patterns compiled once, by the rules russh-config uses) and
/// russh-config is asked once per class.
struct ConfigFile {
    text: String,
    /// Per `Host` entry, in file order: its patterns and whether each is negated (`!pat`).
    entries: Vec<Vec<(globset::GlobMatcher, bool)>>,
    /// The settings for each set of matching entries, once russh-config gave them.
    by_class: Mutex<HashMap<Vec<bool>, russh_config::HostConfig>>,
}

impl ConfigFile {
    fn new(text: String) -> ConfigFile {
        // The same tokens russh-config reads: a trimmed line, its first space-separated word
        // `host` in any case, then patterns split on whitespace, `!` negating.
        let entries = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.split_once(' '))
            .filter(|(key, _)| key.eq_ignore_ascii_case("host"))
            .map(|(_, patterns)| {
                patterns
                    .split_ascii_whitespace()
                    .map(|p| match p.strip_prefix('!') {
                        Some(p) => (p, true),
                        None => (p, false),
                    })
                    .filter_map(|(p, negated)| {
                        // russh-config: a pattern that does not compile never matches.
                        globset::Glob::new(p)
                            .ok()
                            .map(|g| (g.compile_matcher(), negated))
                    })
                    .collect()
            })
            .collect();
        ConfigFile {
            text,
            entries,
            by_class: Mutex::default(),
        }
    }

    /// Which entries apply to `alias`: a negated match excludes the entry, any other match
    /// includes it.
    fn class_of(&self, alias: &str) -> Vec<bool> {
        self.entries
            .iter()
            .map(|patterns| {
                let mut matched = false;
                for (glob, negated) in patterns {
                    if glob.is_match(alias) {
                        if *negated {
                            return false;
                        }
                        matched = true;
                    }
                }
                matched
            })
            .collect()
    }

    /// The settings for `alias`.
    fn lookup(&self, alias: &str) -> Result<russh_config::HostConfig, russh_config::Error> {
        let class = self.class_of(alias);
        if let Some(known) = self
            .by_class
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&class)
        {
            return Ok(known.clone());
        }
        let hc = russh_config::parse(&self.text, alias)?.host_config;
        self.by_class
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(class, hc.clone());
        Ok(hc)
    }
}

/// One config file to apply, read through a cache (`~/.ssh/config` through the context's).
#[derive(Clone, Copy)]
pub(crate) struct SshConfig<'a> {
    pub cache: &'a ConfigCache,
    pub path: &'a Path,
}

impl SshConfig<'_> {
    /// Applies the file to `target` (see [`ConfigCache::apply`]).
    pub(crate) fn apply(&self, target: &mut Target, explicit: Explicit) -> Result<(), SshError> {
        self.cache.apply(target, self.path, explicit)
    }
}

/// The config files read so far, each once (an [`SshContext`](super::SshContext) holds one).
#[derive(Default)]
pub(crate) struct ConfigCache {
    files: Mutex<HashMap<PathBuf, Option<Arc<ConfigFile>>>>,
}

impl ConfigCache {
    /// The config file at `path` (`None` when there is none), read on first use.
    fn read(&self, path: &Path) -> std::io::Result<Option<Arc<ConfigFile>>> {
        if let Some(known) = self
            .files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(path)
        {
            return Ok(known.clone());
        }
        let file = match std::fs::read_to_string(path) {
            Ok(t) => Some(Arc::new(ConfigFile::new(t))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        self.files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(path.to_path_buf(), file.clone());
        Ok(file)
    }

    /// Applies the config file at `path` (if it exists) to `target`, whose `address` is the
    /// alias. ProxyJump hops get their own entries applied too.
    pub(crate) fn apply(
        &self,
        target: &mut Target,
        path: &Path,
        explicit: Explicit,
    ) -> Result<(), SshError> {
        let mut chain = JumpChain::to(target, format!("ProxyJump in {}", path.display()));
        self.apply_hop(target, path, explicit, &mut chain)
    }

    fn apply_hop(
        &self,
        target: &mut Target,
        path: &Path,
        explicit: Explicit,
        chain: &mut JumpChain,
    ) -> Result<(), SshError> {
        let what = || format!("ssh config {}", path.display());
        let Some(file) = self
            .read(path)
            .map_err(|e| SshError::protocol(&target.name, &what(), e))?
        else {
            return Ok(());
        };
        let alias = target.address.clone();
        let hc = file
            .lookup(&alias)
            .map_err(|e| SshError::protocol(&target.name, &what(), e))?;
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
            // "j1,j2": j1 first, then j2 through j1, then the target through j2.
            let mut via: Option<Box<Target>> = None;
            for hop in jumps.split(',').map(str::trim).filter(|h| !h.is_empty()) {
                let dest = crate::connection::destination(hop).map_err(|e| {
                    let reason = match e {
                        crate::connection::ConnectionError::Destination { cause, .. } => {
                            cause.to_string()
                        }
                        other => other.to_string(),
                    };
                    SshError::BadDestination {
                        spec: hop.to_string(),
                        reason,
                    }
                })?;
                let mut t = Target::at(dest, target);
                // The hop as written (an alias, before its own entry applies): aliases that
                // jump through each other are refused here instead of expanding forever.
                let mut hop_chain = chain.branch();
                hop_chain.through(&t.address, t.port)?;
                let explicit = Explicit {
                    user: hop.contains('@'),
                    port: hop.contains(':'),
                    ..Explicit::default()
                };
                self.apply_hop(&mut t, path, explicit, &mut hop_chain)?;
                t.proxy_jump = via.take();
                via = Some(Box::new(t));
            }
            target.proxy_jump = via;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_by_class_match_russh_config() {
        let text = "Host web* !web9\n  User deploy\n  Port 2200\n\
                    Host web9 db?\n  HostName 10.0.0.9\n  IdentityFile /k/db\n\
                    host *\n  User fallback\n  Port 22\n";
        let file = ConfigFile::new(text.to_string());
        for alias in ["web1", "web9", "web10", "db1", "db10", "other", "WEB1"] {
            let ours = file.lookup(alias).expect("lookup");
            let theirs = russh_config::parse(text, alias).expect("parse").host_config;
            let key = |h: &russh_config::HostConfig| {
                (
                    h.user.clone(),
                    h.port,
                    h.hostname.clone(),
                    h.identity_file.clone(),
                )
            };
            assert_eq!(key(&ours), key(&theirs), "alias {alias}");
        }
        // web1 and web10 share a class: one russh-config lookup served both
        assert_eq!(file.class_of("web1"), file.class_of("web10"));
        assert_ne!(file.class_of("web1"), file.class_of("web9"));
    }

    #[test]
    fn aliases_jumping_through_each_other_are_refused() {
        let dir = std::env::temp_dir().join(format!("drover-sshcfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("config");
        std::fs::write(
            &path,
            "Host a\n  ProxyJump b\nHost b\n  ProxyJump a\nHost c\n  ProxyJump b2,b1\n",
        )
        .expect("write");
        let cache = ConfigCache::default();
        let mut t = crate::ssh::jump::tests::target("a", None);
        let e = cache
            .apply(&mut t, &path, Explicit::default())
            .expect_err("a loop")
            .to_string();
        assert!(e.contains("the jump chain loops"), "{e}");
        assert!(
            e.contains(&format!("ProxyJump in {}", path.display())),
            "{e}"
        );
        // two hops in one line: c through b1 through b2
        let mut c = crate::ssh::jump::tests::target("c", None);
        cache
            .apply(&mut c, &path, Explicit::default())
            .expect("applies");
        let via = c.proxy_jump.as_deref().expect("a jump");
        assert_eq!(via.address, "b1");
        assert_eq!(
            via.proxy_jump.as_deref().map(|j| j.address.as_str()),
            Some("b2")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
