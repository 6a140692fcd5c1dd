//! One authenticated SSH connection and command execution on it.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::{self, Handle};
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKey};
use russh::{ChannelMsg, Sig};

use super::{HostKeyPolicy, SshError, Target};

/// How to run one command (one struct for every caller).
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// Environment variables, exported by the remote shell before the command.
    pub env: Vec<(String, String)>,
    /// Directory to run in.
    pub cwd: Option<String>,
    /// Bytes fed to the command's stdin (then EOF).
    pub stdin: Option<Vec<u8>>,
    /// Past this, the remote command is sent TERM and the call fails.
    pub timeout: Option<Duration>,
    /// Run through non-interactive `sudo -n` (as `sudo_user` when given).
    pub sudo: bool,
    pub sudo_user: Option<String>,
    /// sudo's password, fed on stdin ahead of the command's input (never on the command line).
    pub sudo_password: Option<super::Secret>,
    /// Bytes kept per stream (stdout, stderr); the rest is counted and dropped. 0: default.
    pub max_output: usize,
    /// Allocate a pseudo-terminal (stderr then arrives merged into stdout).
    pub pty: bool,
    /// Where to send output lines as they arrive (besides capturing them).
    pub sink: Option<Arc<dyn OutputSink>>,
}

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Receives output lines as they arrive (the renderer of the batch commands plugs in here).
pub trait OutputSink: Send + Sync {
    fn line(&self, host: &str, stream: Stream, line: &[u8]);
    /// A file transfer of `total` bytes on `host` has moved `done` bytes.
    fn progress(&self, _host: &str, _path: &str, _done: u64, _total: u64) {}
}

impl std::fmt::Debug for dyn OutputSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OutputSink")
    }
}

/// The default sink: `host | line` on stdout, `host ! line` on stderr, one write per line.
pub struct PrefixSink;

impl OutputSink for PrefixSink {
    fn line(&self, host: &str, stream: Stream, line: &[u8]) {
        use std::io::Write;
        let text = String::from_utf8_lossy(line);
        let _ = match stream {
            Stream::Stdout => writeln!(std::io::stdout().lock(), "{host} | {text}"),
            Stream::Stderr => writeln!(std::io::stderr().lock(), "{host} ! {text}"),
        };
    }

    /// `host ~ path 42% (42.0 of 100.0 MiB)` on stderr.
    fn progress(&self, host: &str, path: &str, done: u64, total: u64) {
        use std::io::Write;
        let mib = |b: u64| b as f64 / (1 << 20) as f64;
        let pct = (done * 100).checked_div(total).unwrap_or(100);
        let _ = writeln!(
            std::io::stderr().lock(),
            "{host} ~ {path} {pct}% ({:.1} of {:.1} MiB)",
            mib(done),
            mib(total)
        );
    }
}

/// Splits arriving bytes into lines for a sink. Each byte is looked at once (output without
/// newlines used to be rescanned on every chunk: 32 MB took 21 s), and a line longer than
/// [`MAX_LINE`] is passed on in pieces, so a stream without newlines still shows up live and
/// memory stays bounded.
#[derive(Default)]
struct LineSplitter {
    partial: Vec<u8>,
}

/// Bytes of one output line passed to a sink at most; longer lines arrive in pieces.
const MAX_LINE: usize = 64 << 10;

impl LineSplitter {
    fn feed(&mut self, mut data: &[u8], mut emit: impl FnMut(&[u8])) {
        while !data.is_empty() {
            let room = MAX_LINE - self.partial.len();
            let window = &data[..data.len().min(room)];
            match window.iter().position(|&b| b == b'\n') {
                Some(pos) => {
                    let line = &window[..pos];
                    if self.partial.is_empty() {
                        emit(line.strip_suffix(b"\r").unwrap_or(line));
                    } else {
                        self.partial.extend_from_slice(line);
                        let whole = std::mem::take(&mut self.partial);
                        emit(whole.strip_suffix(b"\r").unwrap_or(&whole));
                    }
                    data = &data[pos + 1..];
                }
                None => {
                    self.partial.extend_from_slice(window);
                    data = &data[window.len()..];
                    if self.partial.len() >= MAX_LINE {
                        emit(&std::mem::take(&mut self.partial));
                    }
                }
            }
        }
    }

    fn finish(&mut self, mut emit: impl FnMut(&[u8])) {
        if !self.partial.is_empty() {
            emit(&std::mem::take(&mut self.partial));
        }
    }
}

/// Bytes of stdout (and of stderr) kept by default.
pub const DEFAULT_MAX_OUTPUT: usize = 128 << 20;

/// Quotes `s` for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

impl ExecOptions {
    /// The command line sent to the server.
    pub fn command_line(&self, command: &str) -> String {
        let mut prefix = String::new();
        if let Some(cwd) = &self.cwd {
            prefix.push_str(&format!("cd {} && ", shell_quote(cwd)));
        }
        for (k, v) in &self.env {
            prefix.push_str(&format!("export {k}={}; ", shell_quote(v)));
        }
        let inner = format!("{prefix}{command}");
        let line = if self.sudo || self.sudo_user.is_some() {
            let user = self
                .sudo_user
                .as_deref()
                .map(|u| format!("-u {} ", shell_quote(u)))
                .unwrap_or_default();
            // -S reads the password from stdin, -p '' keeps the prompt out of stderr;
            // without a password, -n fails at once instead of waiting for one.
            let mode = if self.sudo_password.is_some() {
                "-S -p ''"
            } else {
                "-n"
            };
            format!("sudo {mode} {user}-- sh -c {}", shell_quote(&inner))
        } else {
            inner
        };
        // sshd signals only the session's shell; a TERM must reach every process the command
        // started. The shell runs the command as a job (its stdin kept through fd 3: a job's
        // stdin is /dev/null otherwise) and, on TERM, passes it to its whole process group
        // (sshd made the session a process group).
        format!(
            "trap 'trap - TERM; kill -TERM 0' TERM; exec 3<&0; {{ {line}\n}} <&3 3<&- & wait $!"
        )
    }
}

/// Channels one connection may have open at once (OpenSSH's `MaxSessions` default is 10, and
/// sshd frees slots with a lag; 5 was seen to be safe).
pub const CHANNELS_PER_CONNECTION: usize = 5;

/// The outcome of one remote command.
#[derive(Debug, Default, Clone)]
pub struct ExecOutput {
    pub code: Option<u32>,
    pub signal: Option<String>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Output went past `max_output` and was cut there.
    pub truncated: bool,
}

/// Appends `data` to `buf` up to `cap` bytes; says whether anything was dropped.
fn append_capped(buf: &mut Vec<u8>, data: &[u8], cap: usize) -> bool {
    let room = cap.saturating_sub(buf.len());
    buf.extend_from_slice(&data[..data.len().min(room)]);
    data.len() > room
}

struct Client {
    target: Target,
    /// Why the host key was refused, for the error message.
    refusal: Arc<Mutex<Option<SshError>>>,
}

/// russh numbers known_hosts entries without counting `#` comment lines; this maps its number
/// back to the line a user sees in an editor.
fn file_line(path: &Path, russh_line: usize) -> usize {
    let Ok(text) = std::fs::read_to_string(path) else {
        return russh_line;
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.starts_with('#'))
        .nth(russh_line.saturating_sub(1))
        .map_or(russh_line, |(i, _)| i + 1)
}

impl Client {
    fn verify(&self, key: &PublicKey) -> Result<bool, SshError> {
        let t = &self.target;
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        let key_type = key.algorithm().to_string();
        let file = t.known_hosts.display().to_string();
        if t.host_key_policy == HostKeyPolicy::Off {
            eprintln!(
                "drover: WARNING: host key checking is off for {}: {key_type} {fingerprint} accepted unverified",
                t.name
            );
            return Ok(true);
        }
        // russh reads a known_hosts file it cannot open as empty: out of descriptors
        // (EMFILE) or without permission, every key would look unknown ("add it to
        // known_hosts" under strict, a duplicate entry under accept-new). Open it first.
        let known = match std::fs::File::open(&t.known_hosts) {
            Ok(_) => russh::keys::check_known_hosts_path(&t.address, t.port, key, &t.known_hosts),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => {
                return Err(SshError::KnownHosts {
                    host: t.name.clone(),
                    file,
                    reason: e.to_string(),
                });
            }
        };
        match known {
            Ok(true) => Ok(true),
            Ok(false) if t.host_key_policy == HostKeyPolicy::AcceptNew => {
                russh::keys::known_hosts::learn_known_hosts_path(
                    &t.address,
                    t.port,
                    key,
                    &t.known_hosts,
                )
                .map_err(|e| SshError::KnownHosts {
                    host: t.name.clone(),
                    file: file.clone(),
                    reason: e.to_string(),
                })?;
                Ok(true)
            }
            Ok(false) => Err(SshError::HostKeyUnknown {
                host: t.name.clone(),
                key_type,
                fingerprint,
                file,
            }),
            Err(russh::keys::Error::KeyChanged { line }) => Err(SshError::HostKeyChanged {
                host: t.name.clone(),
                key_type,
                fingerprint,
                line: file_line(&t.known_hosts, line),
                file,
            }),
            Err(e) => Err(SshError::KnownHosts {
                host: t.name.clone(),
                file,
                reason: e.to_string(),
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
    handle: Arc<Handle<Client>>,
    target: Target,
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

    /// Runs `command`; collects stdout, stderr and the exit status. On timeout, or if the
    /// future is dropped (cancellation), the remote process is sent TERM and the channel closed.
    pub async fn exec(&self, command: &str, opts: &ExecOptions) -> Result<ExecOutput, SshError> {
        match opts.timeout {
            None => self.exec_inner(command, opts).await,
            Some(d) => match tokio::time::timeout(d, self.exec_inner(command, opts)).await {
                Ok(r) => r,
                Err(_) => Err(SshError::CommandTimeout {
                    host: self.target.name.clone(),
                    command: command.to_string(),
                    secs: d.as_secs_f64(),
                }),
            },
        }
    }

    async fn exec_inner(&self, command: &str, opts: &ExecOptions) -> Result<ExecOutput, SshError> {
        let host = self.target.name.clone();
        let proto = |what: &str, e: russh::Error| SshError::protocol(&host, what, e);
        let permit = self.channel_slot().await?;
        let channel = self
            .open_channel()
            .await
            .map_err(|e| proto("open channel", e))?;
        let mut guard = TermOnDrop {
            channel: Some(channel),
            permit: Some(permit),
            connection: self.keep_open(),
        };
        let channel = guard.channel.as_mut().expect("held");
        if opts.pty {
            channel
                .request_pty(true, "xterm", 80, 24, 0, 0, &[])
                .await
                .map_err(|e| proto("request pty", e))?;
        }
        channel
            .exec(true, opts.command_line(command))
            .await
            .map_err(|e| proto("exec", e))?;
        if let Some(password) = &opts.sudo_password {
            let mut line = password.0.clone().into_bytes();
            line.push(b'\n');
            channel
                .data_bytes(line)
                .await
                .map_err(|e| proto("sudo password", e))?;
        }
        if let Some(input) = &opts.stdin {
            channel
                .data_bytes(input.clone())
                .await
                .map_err(|e| proto("stdin", e))?;
        }
        channel.eof().await.map_err(|e| proto("stdin eof", e))?;
        let mut out = ExecOutput::default();
        let cap = if opts.max_output == 0 {
            DEFAULT_MAX_OUTPUT
        } else {
            opts.max_output
        };
        let (mut out_lines, mut err_lines) = (LineSplitter::default(), LineSplitter::default());
        let sink = opts.sink.as_deref();
        let name = self.target.name.as_str();
        while let Some(msg) = guard.channel.as_mut().expect("held").wait().await {
            match msg {
                ChannelMsg::Data { data } => {
                    if let Some(sink) = sink {
                        out_lines.feed(&data, |l| sink.line(name, Stream::Stdout, l));
                    }
                    out.truncated |= append_capped(&mut out.stdout, &data, cap)
                }
                ChannelMsg::ExtendedData { data, ext: 1 } => {
                    if let Some(sink) = sink {
                        err_lines.feed(&data, |l| sink.line(name, Stream::Stderr, l));
                    }
                    out.truncated |= append_capped(&mut out.stderr, &data, cap)
                }
                ChannelMsg::ExitStatus { exit_status } => out.code = Some(exit_status),
                ChannelMsg::ExitSignal { signal_name, .. } => {
                    out.signal = Some(format!("{signal_name:?}"))
                }
                _ => {}
            }
        }
        if let Some(sink) = sink {
            out_lines.finish(|l| sink.line(name, Stream::Stdout, l));
            err_lines.finish(|l| sink.line(name, Stream::Stderr, l));
        }
        // The server closed the channel: its slot is free again.
        guard.channel = None;
        if out.code.is_none() && out.signal.is_none() && self.connection_ended().await {
            return Err(SshError::ConnectionLost {
                host,
                during: format!("running `{command}`"),
            });
        }
        Ok(out)
    }

    /// Whether the connection is gone, waiting briefly: a channel that ended without an exit
    /// status is the first sign of a connection that is going down.
    async fn connection_ended(&self) -> bool {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(250);
        while !self.handle.is_closed() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        true
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

/// Signals TERM to the remote command if the exec future is dropped before it finished
/// (dropping a channel alone leaves the remote process running).
struct TermOnDrop {
    channel: Option<russh::Channel<client::Msg>>,
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
    connection: ConnectionKeeper,
}

/// Holds a connection open (see [`Session::keep_open`]).
#[derive(Clone)]
pub(crate) struct ConnectionKeeper {
    _handle: Arc<Handle<Client>>,
}

impl Drop for TermOnDrop {
    fn drop(&mut self) {
        let permit = self.permit.take();
        let connection = self.connection.clone();
        if let Some(mut channel) = self.channel.take() {
            super::cleanup::spawn(async move {
                let _open = connection;
                let _ = channel.signal(Sig::TERM).await;
                let _ = channel.close().await;
                // Keep the slot until the server confirms the close.
                let deadline = tokio::time::sleep(Duration::from_secs(5));
                tokio::pin!(deadline);
                loop {
                    tokio::select! {
                        msg = channel.wait() => if msg.is_none() { break },
                        _ = &mut deadline => break,
                    }
                }
                drop(permit);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut lines = Vec::new();
        let mut splitter = LineSplitter::default();
        for c in chunks {
            splitter.feed(c, |l| lines.push(l.to_vec()));
        }
        splitter.finish(|l| lines.push(l.to_vec()));
        lines
    }

    #[test]
    fn lines_across_chunks_crlf_and_a_last_partial_line() {
        let got = split(&[b"ab", b"c\r\nd", b"\n\nlast"]);
        assert_eq!(
            got,
            vec![
                b"abc".to_vec(),
                b"d".to_vec(),
                b"".to_vec(),
                b"last".to_vec()
            ]
        );
    }

    #[test]
    fn output_without_newlines_is_linear_and_cut_into_bounded_pieces() {
        // 32 MiB in 32 KiB chunks took 21 s when each chunk rescanned the whole buffer.
        let chunk = vec![b'y'; 32 << 10];
        let started = std::time::Instant::now();
        let mut splitter = LineSplitter::default();
        let (mut pieces, mut bytes, mut longest) = (0usize, 0usize, 0usize);
        for _ in 0..1024 {
            splitter.feed(&chunk, |l| {
                pieces += 1;
                bytes += l.len();
                longest = longest.max(l.len());
            });
        }
        splitter.finish(|l| {
            pieces += 1;
            bytes += l.len();
        });
        assert_eq!(bytes, 32 << 20);
        assert_eq!(longest, MAX_LINE);
        assert_eq!(pieces, (32 << 20) / MAX_LINE);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }
}
