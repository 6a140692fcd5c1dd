//! One authenticated SSH connection: handshake (caps, retries, ProxyJump), authentication
//! (agent, keys, password, keyboard-interactive) and channel slots. Commands run on it in
//! `exec.rs`; host keys are checked in `host_key.rs`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::{self, Handle};
use russh::keys::{HashAlg, PrivateKeyWithHashAlg};

use super::host_key::Client;
use super::{SshError, Target};

/// Channels one connection may have open at once (OpenSSH's `MaxSessions` default is 10, and
/// sshd frees slots with a lag; 5 was seen to be safe).
pub const CHANNELS_PER_CONNECTION: usize = 5;

/// Handshakes in flight to one server (OpenSSH's `MaxStartups 10:30:100` drops excess
/// unauthenticated connections at random; 5 lost none in measurements) and in all.
const HANDSHAKES_PER_SERVER: usize = 5;
const HANDSHAKES_TOTAL: usize = 64;
/// Attempts for a handshake that was reset or dropped.
const HANDSHAKE_ATTEMPTS: u32 = 6;

fn handshake_slots(server: &str) -> (Arc<tokio::sync::Semaphore>, Arc<tokio::sync::Semaphore>) {
    static TOTAL: std::sync::OnceLock<Arc<tokio::sync::Semaphore>> = std::sync::OnceLock::new();
    static PER_SERVER: std::sync::OnceLock<
        Mutex<std::collections::HashMap<String, Arc<tokio::sync::Semaphore>>>,
    > = std::sync::OnceLock::new();
    let total = TOTAL.get_or_init(|| Arc::new(tokio::sync::Semaphore::new(HANDSHAKES_TOTAL)));
    let mut map = PER_SERVER
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let per = map
        .entry(server.to_string())
        .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(HANDSHAKES_PER_SERVER)));
    (Arc::clone(total), Arc::clone(per))
}

/// A little jitter without a random number generator: the clock's low bits.
fn jitter(max_ms: u64) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    Duration::from_millis(u64::from(nanos) % max_ms.max(1))
}

/// TCP connect, key exchange and host key check, under the handshake caps, retrying resets
/// with jittered backoff. Refusals, timeouts and host key problems are not retried.
/// Refuses ProxyJump chains that loop or go absurdly deep.
fn check_jump_chain(target: &Target) -> Result<(), SshError> {
    let mut seen = vec![(target.address.clone(), target.port)];
    let mut cur = target.proxy_jump.as_deref();
    while let Some(jump) = cur {
        let hop = (jump.address.clone(), jump.port);
        if seen.contains(&hop) || seen.len() > 8 {
            return Err(SshError::Protocol {
                host: target.name.clone(),
                what: "proxy_jump".into(),
                reason: format!(
                    "the jump chain loops or is too long (at {}:{})",
                    hop.0, hop.1
                ),
            });
        }
        seen.push(hop);
        cur = jump.proxy_jump.as_deref();
    }
    Ok(())
}

type Connected = (Handle<Client>, Option<Arc<Session>>);

async fn handshake_with_retries(target: &Target) -> Result<Connected, SshError> {
    let server = format!("{}:{}", target.address, target.port);
    let (total, per_server) = handshake_slots(&server);
    let mut backoff = Duration::from_millis(20);
    let mut attempt = 1;
    loop {
        let result = {
            let _total = total
                .acquire()
                .await
                .map_err(|e| SshError::protocol(&target.name, "handshake", e))?;
            let _server = per_server
                .acquire()
                .await
                .map_err(|e| SshError::protocol(&target.name, "handshake", e))?;
            handshake(target).await
        };
        match result {
            Err(SshError::Connect { reason, .. })
                if attempt < HANDSHAKE_ATTEMPTS && !reason.contains("refused") =>
            {
                tokio::time::sleep(backoff + jitter(backoff.as_millis() as u64)).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// AES-GCM first when the CPU has AES instructions (about twice chacha20's throughput for file
/// transfers); chacha20 first otherwise. Both stay offered, as do OpenSSH's CTR fallbacks.
fn cipher_order() -> &'static [russh::cipher::Name] {
    use russh::cipher::{AES_128_CTR, AES_128_GCM, AES_256_CTR, AES_256_GCM, CHACHA20_POLY1305};
    const AES_FIRST: &[russh::cipher::Name] = &[
        AES_128_GCM,
        AES_256_GCM,
        CHACHA20_POLY1305,
        AES_256_CTR,
        AES_128_CTR,
    ];
    const CHACHA_FIRST: &[russh::cipher::Name] = &[
        CHACHA20_POLY1305,
        AES_128_GCM,
        AES_256_GCM,
        AES_256_CTR,
        AES_128_CTR,
    ];
    if cpu_has_aes() {
        AES_FIRST
    } else {
        CHACHA_FIRST
    }
}

fn cpu_has_aes() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("aes")
            && std::arch::is_x86_feature_detected!("pclmulqdq")
    }
    #[cfg(target_arch = "aarch64")]
    {
        std::arch::is_aarch64_feature_detected!("aes")
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        false
    }
}

async fn handshake(target: &Target) -> Result<Connected, SshError> {
    let config = Arc::new(client::Config {
        nodelay: true,
        preferred: russh::Preferred {
            cipher: std::borrow::Cow::Borrowed(cipher_order()),
            ..Default::default()
        },
        ..Default::default()
    });
    let refusal = Arc::new(Mutex::new(None));
    let handler = Client {
        target: target.clone(),
        refusal: Arc::clone(&refusal),
    };
    let addr = format!("{}:{}", target.address, target.port);
    let mut jump = None;
    let connect = async {
        match &target.proxy_jump {
            None => client::connect(config, (target.address.as_str(), target.port), handler).await,
            Some(via) => {
                let via: Target = (**via).clone();
                let session = Box::pin(Session::connect(via))
                    .await
                    .map_err(|e| russh::Error::IO(std::io::Error::other(e.to_string())))?;
                let channel = session
                    .handle
                    .channel_open_direct_tcpip(
                        target.address.clone(),
                        u32::from(target.port),
                        "127.0.0.1",
                        0,
                    )
                    .await?;
                jump = Some(Arc::new(session));
                client::connect_stream(config, channel.into_stream(), handler).await
            }
        }
    };
    let result = tokio::time::timeout(target.connect_timeout, connect).await;
    match result.map(|r| r.map(|h| (h, jump.take()))) {
        Err(_) => Err(SshError::Timeout {
            host: target.name.clone(),
            secs: target.connect_timeout.as_secs_f64(),
        }),
        Ok(Err(e)) => {
            if let Some(refused) = refusal.lock().unwrap_or_else(|e| e.into_inner()).take() {
                return Err(refused);
            }
            Err(SshError::Connect {
                host: target.name.clone(),
                addr,
                reason: e.to_string(),
            })
        }
        Ok(Ok(h)) => Ok(h),
    }
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

/// Loads an identity file once per process (decrypting a key costs ~120 ms; parsing one for
/// each of 500 hosts adds up); later loads share the same key.
fn load_key(
    path: &std::path::Path,
    passphrase: Option<&str>,
) -> Result<Arc<russh::keys::PrivateKey>, russh::keys::Error> {
    // Keyed by the passphrase too: a wrong one must still fail after a right one worked.
    type Cache = Mutex<
        std::collections::HashMap<
            (std::path::PathBuf, Option<String>),
            Arc<russh::keys::PrivateKey>,
        >,
    >;
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let id = (path.to_path_buf(), passphrase.map(str::to_string));
    if let Some(key) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&id) {
        return Ok(Arc::clone(key));
    }
    let key = Arc::new(russh::keys::load_secret_key(path, passphrase)?);
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id, Arc::clone(&key));
    Ok(key)
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
            if std::env::var_os("SSH_AUTH_SOCK").is_none() {
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

/// An authenticated connection to one host.
pub struct Session {
    /// Shared with clean-ups in flight: russh ends the connection once the handle is gone.
    pub(super) handle: Arc<Handle<Client>>,
    pub(super) target: Target,
    /// A permit per open channel, released only once the server closed the channel.
    channels: Arc<tokio::sync::Semaphore>,
    /// The ProxyJump session carrying this one, kept open as long as this one is.
    _jump: Option<Arc<Session>>,
    /// The SFTP subsystem, opened on first use and shared.
    sftp: tokio::sync::OnceCell<Arc<super::sftp::Sftp>>,
}

impl Session {
    /// Connects, verifies the host key, and authenticates (key text, identity file, password).
    pub async fn connect(target: Target) -> Result<Session, SshError> {
        check_jump_chain(&target)?;
        let (mut handle, jump) = handshake_with_retries(&target).await?;
        let new = |handle, target| Session::new(handle, target, jump.clone());
        let mut tried = Vec::new();
        let host = target.name.clone();
        if try_agent(&mut handle, &target, &mut tried).await {
            return Ok(new(handle, target));
        }
        let keys = Self::keys(&target).await?;
        for (label, key) in keys {
            tried.push(label);
            let hash = rsa_hash(&handle, key.algorithm().is_rsa()).await;
            let auth = handle
                .authenticate_publickey(&target.user, PrivateKeyWithHashAlg::new(key, hash))
                .await
                .map_err(|e| SshError::protocol(&host, "publickey auth", e))?;
            if auth.success() {
                return Ok(new(handle, target));
            }
        }
        if let Some(password) = &target.password {
            tried.push("password".into());
            let auth = handle
                .authenticate_password(&target.user, &password.0)
                .await
                .map_err(|e| SshError::protocol(&host, "password auth", e))?;
            if auth.success() {
                return Ok(new(handle, target));
            }
            tried.push("keyboard-interactive".into());
            if keyboard_interactive(&mut handle, &target.user, &password.0).await {
                return Ok(new(handle, target));
            }
        }
        let tried = if tried.is_empty() {
            "nothing: give a key, an identity file or a password".into()
        } else {
            tried.join(", ")
        };
        Err(SshError::Auth {
            host,
            user: target.user.clone(),
            tried,
        })
    }

    fn new(handle: Handle<Client>, target: Target, jump: Option<Arc<Session>>) -> Session {
        Session {
            handle: Arc::new(handle),
            target,
            channels: Arc::new(tokio::sync::Semaphore::new(CHANNELS_PER_CONNECTION)),
            _jump: jump,
            sftp: tokio::sync::OnceCell::new(),
        }
    }

    /// Keeps the connection open while held, even after the session is dropped: a clean-up
    /// spawned by a drop guard needs it to reach the host (russh closes the connection as
    /// soon as its handle is dropped: replies to it then fail and end the session).
    pub(crate) fn keep_open(&self) -> ConnectionKeeper {
        ConnectionKeeper {
            _handle: Arc::clone(&self.handle),
        }
    }

    /// Whether the connection has ended (dropped by the server or the network).
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// The host's display name.
    pub fn name(&self) -> &str {
        &self.target.name
    }

    /// This connection's SFTP session (opened on first use, then shared).
    pub async fn sftp(&self) -> Result<Arc<super::sftp::Sftp>, SshError> {
        self.sftp
            .get_or_try_init(|| async { super::sftp::Sftp::open(self).await.map(Arc::new) })
            .await
            .cloned()
    }

    /// Waits for a free channel slot on this connection.
    pub(super) async fn channel_slot(&self) -> Result<tokio::sync::OwnedSemaphorePermit, SshError> {
        Arc::clone(&self.channels)
            .acquire_owned()
            .await
            .map_err(|e| SshError::protocol(&self.target.name, "channel", e))
    }

    async fn keys(
        target: &Target,
    ) -> Result<Vec<(String, Arc<russh::keys::PrivateKey>)>, SshError> {
        let mut keys = Vec::new();
        if let Some(text) = &target.key_text {
            let key = russh::keys::decode_secret_key(
                &text.0,
                target.passphrase.as_ref().map(|p| p.0.as_str()),
            )
            .map_err(|e| SshError::Identity {
                host: target.name.clone(),
                path: "(key text)".into(),
                reason: e.to_string(),
            })?;
            keys.push(("key text".to_string(), Arc::new(key)));
        }
        if target.identity.is_none() && target.key_text.is_none() {
            // OpenSSH's defaults, when present and loadable (an encrypted one needs a passphrase).
            let home = std::env::var_os("HOME")
                .map(std::path::PathBuf::from)
                .unwrap_or_default();
            for name in ["id_ed25519", "id_ecdsa", "id_rsa"] {
                let path = home.join(".ssh").join(name);
                if let Ok(key) = load_key(&path, target.passphrase.as_ref().map(|p| p.0.as_str())) {
                    keys.push((format!("identity {}", path.display()), key));
                }
            }
        }
        if let Some(path) = &target.identity {
            let given = target.passphrase.as_ref().map(|p| p.0.as_str());
            let mut loaded = load_key(path, given);
            if given.is_none()
                && matches!(loaded, Err(russh::keys::Error::KeyIsEncrypted))
                && let Some(answer) = super::prompt_passphrase(path).await
            {
                loaded = load_key(path, Some(answer.0.as_str()));
            }
            let key = loaded.map_err(|e| SshError::Identity {
                host: target.name.clone(),
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            keys.push((format!("identity {}", path.display()), key));
        }
        Ok(keys)
    }

    /// Opens a session channel, retrying refusals with backoff (sshd frees slots with a lag).
    pub(super) async fn open_channel(&self) -> Result<russh::Channel<client::Msg>, russh::Error> {
        let mut delay = Duration::from_millis(5);
        for _ in 0..8 {
            match self.handle.channel_open_session().await {
                Err(russh::Error::ChannelOpenFailure(_)) => {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_millis(500));
                }
                other => return other,
            }
        }
        self.handle.channel_open_session().await
    }
}

/// Holds a connection open (see [`Session::keep_open`]).
#[derive(Clone)]
pub(crate) struct ConnectionKeeper {
    _handle: Arc<Handle<Client>>,
}
