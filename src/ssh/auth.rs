//! Authentication of a handshaken connection, in OpenSSH's order: ssh-agent, keys (key text,
//! identity file or the default identities), password, keyboard-interactive. Keys are
//! decrypted once per context ([`KeyCache`]); passphrases the person typed are asked for once
//! per key file ([`Passphrases`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use russh::client::Handle;
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg};
use sha2::{Digest, Sha256};

use super::host_key::Client;
use super::{PassphrasePrompt, Secret, SshError, Target};

/// What identifies key material: the SHA-256 of the key's text.
type KeyId = [u8; 32];

/// Decrypted keys, so that a key used for 500 hosts is decrypted once (~120 ms each).
///
/// Keyed by the key's bytes, never by a passphrase: an encrypted key's entry holds a salted
/// digest of the passphrase that opened it, so a wrong passphrase still fails (it is tried
/// for real) and the right one is answered from the cache.
pub(super) struct KeyCache {
    /// Per cache, so the digests of two caches (and of two runs) differ.
    salt: [u8; 16],
    keys: Mutex<HashMap<KeyId, CachedKey>>,
}

struct CachedKey {
    key: Arc<PrivateKey>,
    /// `None`: the key is not encrypted (any passphrase, or none, gives it).
    opened_by: Option<[u8; 32]>,
}

/// 16 bytes nobody can guess: std's `RandomState` keys come from the OS's random source.
fn random_salt() -> [u8; 16] {
    use std::hash::{BuildHasher, Hasher};
    let mut salt = [0; 16];
    for (i, chunk) in salt.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(i);
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    salt
}

impl KeyCache {
    pub(super) fn new() -> KeyCache {
        KeyCache {
            salt: random_salt(),
            keys: Mutex::default(),
        }
    }

    fn digest(&self, id: &KeyId, passphrase: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.salt);
        h.update(id);
        h.update(passphrase.as_bytes());
        h.finalize().into()
    }

    /// The key in `text` (OpenSSH, PEM or PuTTY), decrypted with `passphrase` when encrypted.
    pub(super) fn decode(
        &self,
        text: &str,
        passphrase: Option<&str>,
    ) -> Result<Arc<PrivateKey>, russh::keys::Error> {
        let id: KeyId = Sha256::digest(text.as_bytes()).into();
        let known = self
            .keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .map(|c| (Arc::clone(&c.key), c.opened_by));
        match (known, passphrase) {
            (Some((key, None)), _) => return Ok(key),
            (Some((key, Some(opened_by))), Some(p)) if self.digest(&id, p) == opened_by => {
                return Ok(key);
            }
            // Encrypted, and no passphrase or another one: decrypting says which.
            (Some(_), _) => {
                return russh::keys::decode_secret_key(text, passphrase).map(Arc::new);
            }
            (None, _) => {}
        }
        // Without a passphrase first: parsing alone (no key derivation) tells whether the key
        // is encrypted, and so whether the passphrase matters for later lookups.
        let (key, opened_by) = match (russh::keys::decode_secret_key(text, None), passphrase) {
            (Ok(key), _) => (key, None),
            (Err(russh::keys::Error::KeyIsEncrypted), Some(p)) => (
                russh::keys::decode_secret_key(text, Some(p))?,
                Some(self.digest(&id, p)),
            ),
            (Err(e), _) => return Err(e),
        };
        let key = Arc::new(key);
        self.keys.lock().unwrap_or_else(|e| e.into_inner()).insert(
            id,
            CachedKey {
                key: Arc::clone(&key),
                opened_by,
            },
        );
        Ok(key)
    }

    /// The key in the file at `path` (see [`KeyCache::decode`]).
    pub(super) fn load(
        &self,
        path: &Path,
        passphrase: Option<&str>,
    ) -> Result<Arc<PrivateKey>, russh::keys::Error> {
        let text = std::fs::read_to_string(path)?;
        self.decode(&text, passphrase)
    }

    /// Keys held.
    pub(super) fn len(&self) -> usize {
        self.keys.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// The passphrase prompt of a context and the answers it got.
pub(super) struct Passphrases {
    prompt: Option<PassphrasePrompt>,
    /// One answer per key file; the lock is held across a prompt, so one prompt shows at a
    /// time and hosts waiting for the same key reuse its answer.
    answers: tokio::sync::Mutex<HashMap<PathBuf, Secret>>,
}

impl Passphrases {
    pub(super) fn new(prompt: Option<PassphrasePrompt>) -> Passphrases {
        Passphrases {
            prompt,
            answers: tokio::sync::Mutex::default(),
        }
    }

    /// Asks for (or recalls) the passphrase of `path`; `None` without a prompt or an answer.
    pub(super) async fn ask(&self, path: &Path) -> Option<Secret> {
        let prompt = self.prompt.clone()?;
        let mut answers = self.answers.lock().await;
        if let Some(known) = answers.get(path) {
            return Some(known.clone());
        }
        let shown = path.display().to_string();
        let answer = tokio::task::spawn_blocking(move || prompt(&shown))
            .await
            .ok()??;
        let secret = Secret(answer);
        answers.insert(path.to_path_buf(), secret.clone());
        Some(secret)
    }
}

/// `target` with the secrets its `*_env` variables hold (over the inline ones), read now:
/// the moment it is connected to, so an unset variable fails only this host.
pub(super) fn with_env_secrets(mut target: Target) -> Result<Target, SshError> {
    let read = |key: &'static str, var: &str| {
        std::env::var(var)
            .map(Secret)
            .map_err(|_| SshError::UnsetEnv {
                host: target.name.clone(),
                key,
                var: var.to_string(),
            })
    };
    if let Some(var) = &target.password_env {
        let password = read("password_env", var)?;
        target.password = Some(password);
    }
    if let Some(var) = &target.passphrase_env {
        let passphrase = read("identity_passphrase_env", var)?;
        target.passphrase = Some(passphrase);
    }
    Ok(target)
}

/// Authenticates `handle` as `target.user`; the error lists what was tried.
pub(super) async fn authenticate(
    handle: &mut Handle<Client>,
    target: &Target,
    keys: &KeyCache,
    passphrases: &Passphrases,
) -> Result<(), SshError> {
    match try_methods(handle, target, keys, passphrases).await {
        // russh answers an attempt on a connection that ended as a refusal (its reply queue
        // closed) or a failed send: that is a lost connection, not a wrong key.
        Err(SshError::Auth { .. } | SshError::Protocol { .. }) if handle.is_closed() => {
            Err(SshError::Connect {
                host: target.name.clone(),
                addr: format!("{}:{}", target.address, target.port),
                reason: format!(
                    "the connection closed while authenticating as {}",
                    target.user
                ),
            })
        }
        done => done,
    }
}

/// Each method in OpenSSH's order until one is accepted.
async fn try_methods(
    handle: &mut Handle<Client>,
    target: &Target,
    keys: &KeyCache,
    passphrases: &Passphrases,
) -> Result<(), SshError> {
    let mut tried = Vec::new();
    let host = target.name.as_str();
    if try_agent(handle, target, &mut tried).await {
        return Ok(());
    }
    for (label, key) in candidate_keys(target, keys, passphrases).await? {
        tried.push(label);
        let hash = rsa_hash(handle, key.algorithm().is_rsa()).await;
        let auth = handle
            .authenticate_publickey(&target.user, PrivateKeyWithHashAlg::new(key, hash))
            .await
            .map_err(|e| SshError::protocol(host, "publickey auth", e))?;
        if auth.success() {
            return Ok(());
        }
    }
    if let Some(password) = &target.password {
        tried.push("password".into());
        let auth = handle
            .authenticate_password(&target.user, &password.0)
            .await
            .map_err(|e| SshError::protocol(host, "password auth", e))?;
        if auth.success() {
            return Ok(());
        }
        tried.push("keyboard-interactive".into());
        if keyboard_interactive(handle, &target.user, &password.0).await {
            return Ok(());
        }
    }
    let tried = if tried.is_empty() {
        "nothing: give a key, an identity file or a password".into()
    } else {
        tried.join(", ")
    };
    Err(SshError::Auth {
        host: host.to_string(),
        user: target.user.clone(),
        tried,
    })
}

/// The keys to offer, each with the label the error lists: the key text, the identity file
/// (its passphrase asked for when it is encrypted and none was given), or else OpenSSH's
/// default identities that load.
async fn candidate_keys(
    target: &Target,
    keys: &KeyCache,
    passphrases: &Passphrases,
) -> Result<Vec<(String, Arc<PrivateKey>)>, SshError> {
    let given = target.passphrase.as_ref().map(|p| p.0.as_str());
    let identity_error = |path: String, e: russh::keys::Error| SshError::Identity {
        host: target.name.clone(),
        path,
        reason: e.to_string(),
    };
    let mut out = Vec::new();
    if let Some(text) = &target.key_text {
        let key = keys
            .decode(&text.0, given)
            .map_err(|e| identity_error("(key text)".into(), e))?;
        out.push(("key text".to_string(), key));
    }
    if target.identity.is_none() && target.key_text.is_none() {
        // OpenSSH's defaults, when present and loadable (an encrypted one needs a passphrase).
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default();
        for name in ["id_ed25519", "id_ecdsa", "id_rsa"] {
            let path = home.join(".ssh").join(name);
            if let Ok(key) = keys.load(&path, given) {
                out.push((format!("identity {}", path.display()), key));
            }
        }
    }
    if let Some(path) = &target.identity {
        let mut loaded = keys.load(path, given);
        if given.is_none()
            && matches!(loaded, Err(russh::keys::Error::KeyIsEncrypted))
            && let Some(answer) = passphrases.ask(path).await
        {
            loaded = keys.load(path, Some(answer.0.as_str()));
        }
        let key = loaded.map_err(|e| identity_error(path.display().to_string(), e))?;
        out.push((format!("identity {}", path.display()), key));
    }
    Ok(out)
}

/// Keyboard-interactive auth answering every prompt with the password (servers that do
/// passwords through PAM offer only this). At most a few rounds.
async fn keyboard_interactive(handle: &mut Handle<Client>, user: &str, password: &str) -> bool {
    use russh::client::KeyboardInteractiveAuthResponse as R;
    let Ok(mut step) = handle
        .authenticate_keyboard_interactive_start(user, None::<String>)
        .await
    else {
        return false;
    };
    for _ in 0..4 {
        match step {
            R::Success => return true,
            R::Failure { .. } => return false,
            R::InfoRequest { prompts, .. } => {
                let answers = prompts.iter().map(|_| password.to_string()).collect();
                match handle
                    .authenticate_keyboard_interactive_respond(answers)
                    .await
                {
                    Ok(next) => step = next,
                    Err(_) => return false,
                }
            }
        }
    }
    false
}

/// The signature hash for an RSA key: the best the server supports (plain ssh-rsa/SHA-1 is
/// refused by OpenSSH 9); `None` for other key types.
async fn rsa_hash(handle: &Handle<Client>, is_rsa: bool) -> Option<HashAlg> {
    if !is_rsa {
        return None;
    }
    handle
        .best_supported_rsa_hash()
        .await
        .ok()
        .flatten()
        .flatten()
}

/// Public key auth through ssh-agent (OpenSSH tries it first). Agent trouble is not fatal:
/// other methods follow.
async fn try_agent(handle: &mut Handle<Client>, target: &Target, tried: &mut Vec<String>) -> bool {
    use russh::keys::agent::AgentIdentity;
    use russh::keys::agent::client::AgentClient;
    let mut agent = match &target.agent {
        Some(None) => return false,
        Some(Some(path)) => match AgentClient::connect_uds(path).await {
            Ok(a) => a.dynamic(),
            Err(_) => return false,
        },
        None => {
            // empty is unset, as OpenSSH reads it (and no socket is tried per host)
            if std::env::var_os("SSH_AUTH_SOCK").is_none_or(|path| path.is_empty()) {
                return false;
            }
            match AgentClient::connect_env().await {
                Ok(a) => a.dynamic(),
                Err(_) => return false,
            }
        }
    };
    let Ok(identities) = agent.request_identities().await else {
        return false;
    };
    for identity in identities {
        let AgentIdentity::PublicKey { key, comment } = identity else {
            continue;
        };
        tried.push(format!("agent key {comment}"));
        let hash = rsa_hash(handle, key.algorithm().is_rsa()).await;
        if let Ok(auth) = handle
            .authenticate_publickey_with(&target.user, key, hash, &mut agent)
            .await
            && auth.success()
        {
            return true;
        }
    }
    false
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A fresh ed25519 key from ssh-keygen, encrypted with `passphrase` ("" for none).
    pub(crate) fn keygen(dir: &Path, name: &str, passphrase: &str) -> PathBuf {
        let path = dir.join(name);
        let status = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", passphrase, "-f"])
            .arg(&path)
            .status()
            .expect("ssh-keygen runs");
        assert!(status.success());
        path
    }

    pub(crate) fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("drover-auth-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    #[test]
    fn cache_checks_passphrases_without_keeping_them() {
        let dir = temp_dir("cache");
        let path = keygen(&dir, "enc", "right-pass-1");
        let cache = KeyCache::new();
        assert!(matches!(
            cache.load(&path, None),
            Err(russh::keys::Error::KeyIsEncrypted)
        ));
        assert!(cache.load(&path, Some("wrong")).is_err(), "wrong fails");
        assert_eq!(cache.len(), 0, "nothing cached by failures");
        let first = cache
            .load(&path, Some("right-pass-1"))
            .expect("right opens");
        assert_eq!(cache.len(), 1);
        // after the right one: a wrong passphrase and none still fail
        assert!(
            cache.load(&path, Some("wrong")).is_err(),
            "wrong still fails"
        );
        assert!(matches!(
            cache.load(&path, None),
            Err(russh::keys::Error::KeyIsEncrypted)
        ));
        let again = cache
            .load(&path, Some("right-pass-1"))
            .expect("right again");
        assert!(Arc::ptr_eq(&first, &again), "served from the cache");
        // the same bytes as key text are the same key material: one entry
        let text = std::fs::read_to_string(&path).expect("read");
        let from_text = cache.decode(&text, Some("right-pass-1")).expect("text");
        assert!(Arc::ptr_eq(&first, &from_text));
        assert_eq!(cache.len(), 1);
        // the passphrase is kept only as a digest salted per cache: another cache opened
        // by the same passphrase holds another digest
        let other = KeyCache::new();
        other.load(&path, Some("right-pass-1")).expect("opens");
        let opened_by = |c: &KeyCache| {
            let keys = c.keys.lock().expect("lock");
            keys.values().next().and_then(|e| e.opened_by)
        };
        assert!(opened_by(&cache).is_some());
        assert_ne!(opened_by(&cache), opened_by(&other));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_unencrypted_key_ignores_passphrases() {
        let dir = temp_dir("plain");
        let path = keygen(&dir, "plain", "");
        let cache = KeyCache::new();
        let a = cache.load(&path, None).expect("loads");
        let b = cache.load(&path, Some("anything")).expect("loads");
        assert!(Arc::ptr_eq(&a, &b));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
