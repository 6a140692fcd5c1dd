//! One authenticated SSH connection and command execution on it.

use std::sync::{Arc, Mutex};

use russh::client::{self, Handle};
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKey};
use russh::{ChannelMsg, Sig};

use super::{HostKeyPolicy, SshError, Target};

/// The outcome of one remote command.
#[derive(Debug, Default, Clone)]
pub struct ExecOutput {
    pub code: Option<u32>,
    pub signal: Option<String>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

struct Client {
    target: Target,
    /// Why the host key was refused, for the error message.
    refusal: Arc<Mutex<Option<SshError>>>,
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
        let known = if t.known_hosts.exists() {
            russh::keys::check_known_hosts_path(&t.address, t.port, key, &t.known_hosts)
        } else {
            Ok(false)
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
                file,
                line,
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
            *self.refusal.lock().unwrap_or_else(|e| e.into_inner()) = Some(SshError::Protocol {
                host: self.target.name.clone(),
                what: "host key".into(),
                reason: "host certificates are not supported yet".into(),
            });
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

/// An authenticated connection to one host.
pub struct Session {
    handle: Handle<Client>,
    target: Target,
}

impl Session {
    /// Connects, verifies the host key, and authenticates (key text, identity file, password).
    pub async fn connect(target: Target) -> Result<Session, SshError> {
        let config = Arc::new(client::Config {
            nodelay: true,
            ..Default::default()
        });
        let refusal = Arc::new(Mutex::new(None));
        let handler = Client {
            target: target.clone(),
            refusal: Arc::clone(&refusal),
        };
        let addr = format!("{}:{}", target.address, target.port);
        let connect = client::connect(config, (target.address.as_str(), target.port), handler);
        let mut handle = match tokio::time::timeout(target.connect_timeout, connect).await {
            Err(_) => {
                return Err(SshError::Timeout {
                    host: target.name.clone(),
                    secs: target.connect_timeout.as_secs_f64(),
                });
            }
            Ok(Err(e)) => {
                if let Some(refused) = refusal.lock().unwrap_or_else(|e| e.into_inner()).take() {
                    return Err(refused);
                }
                return Err(SshError::Connect {
                    host: target.name.clone(),
                    addr,
                    reason: e.to_string(),
                });
            }
            Ok(Ok(h)) => h,
        };
        let mut tried = Vec::new();
        let host = target.name.clone();
        let keys = Self::keys(&target)?;
        for (label, key) in keys {
            tried.push(label);
            let hash = if key.algorithm().is_rsa() {
                handle
                    .best_supported_rsa_hash()
                    .await
                    .ok()
                    .flatten()
                    .flatten()
            } else {
                None
            };
            let auth = handle
                .authenticate_publickey(
                    &target.user,
                    PrivateKeyWithHashAlg::new(Arc::new(key), hash),
                )
                .await
                .map_err(|e| SshError::Protocol {
                    host: host.clone(),
                    what: "publickey auth".into(),
                    reason: e.to_string(),
                })?;
            if auth.success() {
                return Ok(Session { handle, target });
            }
        }
        if let Some(password) = &target.password {
            tried.push("password".into());
            let auth = handle
                .authenticate_password(&target.user, &password.0)
                .await
                .map_err(|e| SshError::Protocol {
                    host: host.clone(),
                    what: "password auth".into(),
                    reason: e.to_string(),
                })?;
            if auth.success() {
                return Ok(Session { handle, target });
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

    fn keys(target: &Target) -> Result<Vec<(String, russh::keys::PrivateKey)>, SshError> {
        let mut keys = Vec::new();
        if let Some(text) = &target.key_text {
            let key =
                russh::keys::decode_secret_key(&text.0, None).map_err(|e| SshError::Identity {
                    host: target.name.clone(),
                    path: "(key text)".into(),
                    reason: e.to_string(),
                })?;
            keys.push(("key text".to_string(), key));
        }
        if let Some(path) = &target.identity {
            let key = russh::keys::load_secret_key(path, None).map_err(|e| SshError::Identity {
                host: target.name.clone(),
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            keys.push((format!("identity {}", path.display()), key));
        }
        Ok(keys)
    }

    /// The host this session is connected to.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Runs `command`; collects stdout, stderr and the exit status. If the future is dropped
    /// (timeout, cancellation) the remote process is sent TERM.
    pub async fn exec(&self, command: &str) -> Result<ExecOutput, SshError> {
        let host = self.target.name.clone();
        let proto = |what: &str, e: russh::Error| SshError::Protocol {
            host: host.clone(),
            what: what.into(),
            reason: e.to_string(),
        };
        let channel = self
            .handle
            .channel_open_session()
            .await
            .map_err(|e| proto("open channel", e))?;
        channel
            .exec(true, command)
            .await
            .map_err(|e| proto("exec", e))?;
        let mut guard = TermOnDrop {
            channel: Some(channel),
        };
        let mut out = ExecOutput::default();
        while let Some(msg) = guard
            .channel
            .as_mut()
            .expect("channel is held until the end")
            .wait()
            .await
        {
            match msg {
                ChannelMsg::Data { data } => out.stdout.extend_from_slice(&data),
                ChannelMsg::ExtendedData { data, ext: 1 } => out.stderr.extend_from_slice(&data),
                ChannelMsg::ExitStatus { exit_status } => out.code = Some(exit_status),
                ChannelMsg::ExitSignal { signal_name, .. } => {
                    out.signal = Some(format!("{signal_name:?}"))
                }
                _ => {}
            }
        }
        guard.channel = None;
        Ok(out)
    }
}

/// Signals TERM to the remote command if the exec future is dropped before it finished
/// (dropping a channel alone leaves the remote process running).
struct TermOnDrop {
    channel: Option<russh::Channel<client::Msg>>,
}

impl Drop for TermOnDrop {
    fn drop(&mut self) {
        if let Some(channel) = self.channel.take() {
            tokio::spawn(async move {
                let _ = channel.signal(Sig::TERM).await;
                let _ = channel.close().await;
            });
        }
    }
}
