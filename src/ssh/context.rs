//! Everything the SSH layer shares between connections, owned by one [`SshContext`] instead of
//! the process: handshake caps, decrypted keys, the passphrase prompt and its answers, the
//! warning sink, `~/.ssh/config` and known_hosts files read, and remote clean-ups. A runtime
//! makes one; two contexts in one process share nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

use super::auth::{KeyCache, Passphrases};
use super::cleanup::Cleanups;
use super::known_hosts::KnownHostsCache;
use super::ssh_config::ConfigCache;
use super::{PassphrasePrompt, WarningSink};

/// Handshakes in flight to one server (OpenSSH's `MaxStartups 10:30:100` drops excess
/// unauthenticated connections at random; 5 lost none in measurements) and in all.
pub(super) const HANDSHAKES_PER_SERVER: usize = 5;
pub(super) const HANDSHAKES_TOTAL: usize = 64;

/// What the embedding program lends the SSH layer (both optional).
#[derive(Clone, Default)]
pub(crate) struct SshHooks {
    /// Where warnings for a person go (host key checking off, a readable file of passwords);
    /// without one they are dropped.
    pub warn: Option<WarningSink>,
    /// Asks for the passphrase of an encrypted identity file given without one (the CLI
    /// installs one when stdin is a terminal). Asked once per key file, one prompt at a time.
    pub passphrase: Option<PassphrasePrompt>,
}

impl std::fmt::Debug for SshHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshHooks")
            .field("warn", &self.warn.is_some())
            .field("passphrase", &self.passphrase.is_some())
            .finish()
    }
}

/// The shared state of every connection made through it (see the module docs).
pub(crate) struct SshContext {
    total_handshakes: Arc<Semaphore>,
    handshakes_per_server: Mutex<HashMap<String, Arc<Semaphore>>>,
    pub(super) keys: KeyCache,
    pub(super) passphrases: Passphrases,
    warnings: Option<WarningSink>,
    ssh_configs: ConfigCache,
    cleanups: Cleanups,
    known_hosts: Arc<KnownHostsCache>,
}

impl SshContext {
    /// A context with nothing shared yet.
    pub(crate) fn new(hooks: SshHooks) -> Arc<SshContext> {
        Arc::new(SshContext {
            total_handshakes: Arc::new(Semaphore::new(HANDSHAKES_TOTAL)),
            handshakes_per_server: Mutex::default(),
            keys: KeyCache::new(),
            passphrases: Passphrases::new(hooks.passphrase),
            warnings: hooks.warn,
            ssh_configs: ConfigCache::default(),
            cleanups: Cleanups::default(),
            known_hosts: Arc::default(),
        })
    }

    /// The warning sink (host key checks hold a copy).
    pub(super) fn warnings(&self) -> Option<WarningSink> {
        self.warnings.clone()
    }

    /// The `~/.ssh/config` files read so far (each read once per context).
    /// known_hosts files parsed so far (read once, not once per handshake).
    pub(super) fn known_hosts(&self) -> Arc<KnownHostsCache> {
        Arc::clone(&self.known_hosts)
    }

    pub(crate) fn ssh_configs(&self) -> &ConfigCache {
        &self.ssh_configs
    }

    /// Remote clean-ups of sessions connected through this context.
    pub(crate) fn cleanups(&self) -> &Cleanups {
        &self.cleanups
    }

    /// Waits (at most `limit`) for the remote clean-ups of this context's sessions; says
    /// whether all finished. A run calls it before its connections close.
    pub(crate) async fn drain_cleanups(&self, limit: Duration) -> bool {
        self.cleanups.drain(limit).await
    }

    /// The handshake slots for `server` (`address:port`): the overall cap and the server's.
    pub(super) fn handshake_slots(&self, server: &str) -> (Arc<Semaphore>, Arc<Semaphore>) {
        let mut map = self
            .handshakes_per_server
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let per = map
            .entry(server.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(HANDSHAKES_PER_SERVER)));
        (Arc::clone(&self.total_handshakes), Arc::clone(per))
    }
}

impl std::fmt::Debug for SshContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshContext")
            .field("keys", &self.keys.len())
            .field("cleanups", &self.cleanups)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::ssh::auth::tests::{keygen, temp_dir};

    #[test]
    fn handshake_caps_are_per_context() {
        let (a, b) = (
            SshContext::new(SshHooks::default()),
            SshContext::new(SshHooks::default()),
        );
        let (a_total, a_server) = a.handshake_slots("10.0.0.1:22");
        let _held_total = a_total
            .try_acquire_many(HANDSHAKES_TOTAL as u32)
            .expect("all");
        let _held_server = a_server
            .try_acquire_many(HANDSHAKES_PER_SERVER as u32)
            .expect("all");
        let (a_total, a_server) = a.handshake_slots("10.0.0.1:22");
        assert_eq!(a_total.available_permits(), 0, "a is exhausted");
        assert_eq!(a_server.available_permits(), 0);
        let (b_total, b_server) = b.handshake_slots("10.0.0.1:22");
        assert_eq!(
            b_total.available_permits(),
            HANDSHAKES_TOTAL,
            "b is untouched"
        );
        assert_eq!(b_server.available_permits(), HANDSHAKES_PER_SERVER);
    }

    #[test]
    fn key_caches_and_config_caches_are_per_context() {
        let dir = temp_dir("ctx-keys");
        let key = keygen(&dir, "plain", "");
        let (a, b) = (
            SshContext::new(SshHooks::default()),
            SshContext::new(SshHooks::default()),
        );
        a.keys.load(&key, None).expect("loads");
        assert_eq!((a.keys.len(), b.keys.len()), (1, 0));
        let config = dir.join("config");
        std::fs::write(&config, "Host web\n  User first\n").expect("write");
        let user_in = |ctx: &SshContext| {
            let mut t = crate::ssh::jump::tests::target("web", None);
            ctx.ssh_configs()
                .apply(&mut t, &config, Default::default())
                .expect("applies");
            t.user
        };
        assert_eq!(user_in(&a), "first");
        // a read its copy once; b reads the file as it is now
        std::fs::write(&config, "Host web\n  User second\n").expect("write");
        assert_eq!(user_in(&a), "first", "a's copy is cached");
        assert_eq!(user_in(&b), "second", "b shares nothing with a");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn each_context_asks_its_own_prompt_once_per_key() {
        let dir = temp_dir("ctx-prompt");
        let key = keygen(&dir, "enc", "pass-for-both");
        let asked = |answer: &'static str| {
            let count = Arc::new(AtomicUsize::new(0));
            let c = Arc::clone(&count);
            let prompt: PassphrasePrompt = Arc::new(move |_path: &str| {
                c.fetch_add(1, Ordering::SeqCst);
                Some(answer.to_string())
            });
            (count, prompt)
        };
        let (a_count, a_prompt) = asked("pass-for-both");
        let (b_count, b_prompt) = asked("wrong-answer");
        let a = SshContext::new(SshHooks {
            warn: None,
            passphrase: Some(a_prompt),
        });
        let b = SshContext::new(SshHooks {
            warn: None,
            passphrase: Some(b_prompt),
        });
        for _ in 0..3 {
            let answer = a.passphrases.ask(&key).await.expect("answered");
            a.keys
                .load(&key, Some(&answer.0))
                .expect("a's answer opens the key");
            let answer = b.passphrases.ask(&key).await.expect("answered");
            assert!(
                b.keys.load(&key, Some(&answer.0)).is_err(),
                "b's answer is b's"
            );
        }
        assert_eq!(a_count.load(Ordering::SeqCst), 1, "a asked once");
        assert_eq!(b_count.load(Ordering::SeqCst), 1, "b asked once");
        assert_eq!((a.keys.len(), b.keys.len()), (1, 0));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
