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
/// by that set (matched here with one set of patterns compiled once, by the rules russh-config
/// uses) and russh-config is asked once per class, given only the entries of that class: a
/// generated config with one entry per host would otherwise compile every host's pattern for
/// every host (10⁶ compiles at 1,000 hosts).
struct ConfigFile {
    /// Per `Host` entry, in file order: its text (the `Host` line and the settings under it).
    blocks: Vec<String>,
    /// Every entry's patterns, in one set (`None` if the set could not be built: then
    /// `matchers` one by one), each owned by `owners[i]` = (entry, negated).
    set: Option<globset::GlobSet>,
    matchers: Vec<globset::GlobMatcher>,
    owners: Vec<(usize, bool)>,
    /// Why russh-config refuses the whole file, if it does: every lookup says so, as it did
    /// when each lookup read the whole file.
    invalid: Option<String>,
    /// The settings for each set of matching entries, once russh-config gave them.
    by_class: Mutex<HashMap<Vec<usize>, russh_config::HostConfig>>,
}

impl ConfigFile {
    fn new(text: String) -> ConfigFile {
        // The same tokens russh-config reads: a trimmed line, its first space-separated word
        // `host` in any case, then patterns split on whitespace, `!` negating.
        let mut blocks: Vec<String> = Vec::new();
        let mut set = globset::GlobSetBuilder::new();
        let mut matchers = Vec::new();
        let mut owners = Vec::new();
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some((key, patterns)) = line.split_once(' ')
                && key.eq_ignore_ascii_case("host")
            {
                let entry = blocks.len();
                blocks.push(String::new());
                for p in patterns.split_ascii_whitespace() {
                    let (p, negated) = match p.strip_prefix('!') {
                        Some(p) => (p, true),
                        None => (p, false),
                    };
                    // russh-config: a pattern that does not compile never matches.
                    if let Ok(glob) = globset::Glob::new(p) {
                        matchers.push(glob.compile_matcher());
                        set.add(glob);
                        owners.push((entry, negated));
                    }
                }
            }
            if let Some(block) = blocks.last_mut() {
                block.push_str(line);
                block.push('\n');
            }
        }
        let invalid = russh_config::parse(&text, "").err().map(|e| e.to_string());
        ConfigFile {
            blocks,
            set: set.build().ok(),
            matchers,
            owners,
            invalid,
            by_class: Mutex::default(),
        }
    }

    /// Which entries apply to `alias`, in file order: a negated match excludes the entry,
    /// any other match includes it.
    fn class_of(&self, alias: &str) -> Vec<usize> {
        let hits: Vec<usize> = match &self.set {
            Some(set) => set.matches(alias),
            None => (0..self.matchers.len())
                .filter(|&i| self.matchers[i].is_match(alias))
                .collect(),
        };
        let mut included = Vec::new();
        let mut excluded = Vec::new();
        for hit in hits {
            let (entry, negated) = self.owners[hit];
            if negated {
                excluded.push(entry);
            } else {
                included.push(entry);
            }
        }
        included.retain(|e| !excluded.contains(e));
        included.sort_unstable();
        included.dedup();
        included
    }

    /// The settings for `alias`.
    fn lookup(&self, alias: &str) -> Result<russh_config::HostConfig, String> {
        if let Some(invalid) = &self.invalid {
            return Err(invalid.clone());
        }
        let class = self.class_of(alias);
        if let Some(known) = self
            .by_class
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&class)
        {
            return Ok(known.clone());
        }
        let text: String = class.iter().map(|&e| self.blocks[e].as_str()).collect();
        let hc = russh_config::parse(&text, alias)
            .map_err(|e| e.to_string())?
            .host_config;
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

    fn settings(h: &russh_config::HostConfig) -> (Option<String>, Option<u16>, Option<String>) {
        (h.user.clone(), h.port, h.hostname.clone())
    }

    #[test]
    fn a_generated_config_with_an_entry_per_host_resolves_each_host_by_its_own_entry() {
        let mut text = String::from("Host *.internal\n  User ops\n");
        for i in 0..2000 {
            text.push_str(&format!(
                "Host h{i}\n  HostName 10.0.{}.{}\n  Port {}\n",
                i / 256,
                i % 256,
                2000 + i
            ));
        }
        text.push_str("Host *\n  User fallback\n");
        let file = ConfigFile::new(text.clone());
        for alias in ["h0", "h1999", "h77", "nope", "h5.internal"] {
            let ours = file.lookup(alias).expect("lookup");
            let theirs = russh_config::parse(&text, alias)
                .expect("parse")
                .host_config;
            assert_eq!(settings(&ours), settings(&theirs), "alias {alias}");
        }
        assert_eq!(file.class_of("h77"), vec![78, 2001]);
    }

    #[test]
    fn settings_before_any_host_entry_fail_every_lookup_as_russh_config_does() {
        let text = "User early\nHost web1\n  Port 2200\n";
        let russh = russh_config::parse(text, "web1")
            .map(|_| ())
            .map_err(|e| e.to_string());
        let file = ConfigFile::new(text.to_string());
        assert_eq!(file.lookup("web1").map(|_| ()), russh);
        assert!(russh.is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 256,
            failure_persistence: None,
            ..Default::default()
        })]

        /// Any config of Host entries (globs, negations, odd spacing) gives every alias what
        /// russh-config itself gives it.
        #[test]
        fn lookups_agree_with_russh_config(
            entries in proptest::collection::vec(
                (proptest::collection::vec("!?(web|db|\\*|w\\?b|[a-c])[0-9*]?", 1..4), "[a-z]{1,4}", 1u16..9000),
                0..8,
            ),
            aliases in proptest::collection::vec("(web|db|wab|a|b|c)[0-9]?", 1..6),
        ) {
            let mut text = String::new();
            for (patterns, user, port) in &entries {
                text.push_str(&format!("Host {}\n  User {user}\n   Port {port}\n", patterns.join(" ")));
            }
            let file = ConfigFile::new(text.clone());
            for alias in &aliases {
                let ours = file.lookup(alias).map(|h| settings(&h));
                let theirs = russh_config::parse(&text, alias).map(|c| settings(&c.host_config)).map_err(|e| e.to_string());
                proptest::prop_assert_eq!(ours, theirs, "alias {} in\n{}", alias, text);
            }
        }
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
