//! Making a [`Session`]: TCP connect (or a direct-tcpip channel through a ProxyJump host),
//! key exchange and host key check under the context's handshake caps, retried when the
//! server or the network dropped the connection midway; then authentication (`auth.rs`).

use std::io::ErrorKind;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use russh::client::{self, Handle};

use super::context::SshContext;
use super::host_key::Client;
use super::session::Session;
use super::{SshError, Target};

/// Attempts for a handshake that was reset or dropped.
const HANDSHAKE_ATTEMPTS: u32 = 6;

type Connected = (Handle<Client>, Option<Arc<Session>>, ServerId);

/// Why one handshake attempt failed.
enum AttemptError {
    /// The transport failed; the error is kept whole so that the retry decision reads its
    /// [`ErrorKind`], not its text.
    Transport { addr: String, error: russh::Error },
    /// Not worth another attempt: the host key was refused, the attempt timed out, or the
    /// ProxyJump host failed (its own connect already retried).
    Final(SshError),
}

/// The [`ErrorKind`] of a transport failure. russh reports a peer that closed the
/// connection before or during the key exchange as `Disconnect` (EOF while reading the
/// server's banner) or `HUP`, and a session task that died with its socket as a failed send
/// or receive; those count as `UnexpectedEof` and `BrokenPipe`. Protocol failures (no common
/// algorithm, a bad version line) have no kind.
fn io_kind(error: &russh::Error) -> Option<ErrorKind> {
    match error {
        russh::Error::IO(e) => Some(e.kind()),
        russh::Error::Disconnect | russh::Error::HUP => Some(ErrorKind::UnexpectedEof),
        russh::Error::SendError | russh::Error::RecvError => Some(ErrorKind::BrokenPipe),
        _ => None,
    }
}

/// Whether a handshake that failed with `kind` may succeed when tried again: the server
/// dropped it midway (OpenSSH's `MaxStartups` drops excess unauthenticated connections at
/// random) or the network reset it. A refusal, a timeout or an unreachable host is final.
fn is_transient(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::BrokenPipe
            | ErrorKind::UnexpectedEof
            | ErrorKind::Interrupted
    )
}

impl AttemptError {
    fn is_transient(&self) -> bool {
        match self {
            AttemptError::Transport { error, .. } => io_kind(error).is_some_and(is_transient),
            AttemptError::Final(_) => false,
        }
    }

    fn into_error(self, target: &Target) -> SshError {
        match self {
            AttemptError::Transport { addr, error } => SshError::Connect {
                host: target.name.clone(),
                addr,
                reason: error.to_string(),
            },
            AttemptError::Final(e) => e,
        }
    }
}

/// A little jitter without a random number generator: the clock's low bits.
fn jitter(max_ms: u64) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    Duration::from_millis(u64::from(nanos) % max_ms.max(1))
}

impl Session {
    /// Connects through `ctx` (its handshake caps, key cache, passphrase prompt, warnings and
    /// clean-ups), verifies the host key, and authenticates (agent, key text, identity file,
    /// password, keyboard-interactive).
    pub(crate) async fn connect(ctx: &SshContext, target: Target) -> Result<Session, SshError> {
        let target = super::auth::with_env_secrets(target)?;
        super::jump::check(&target)?;
        let (mut handle, jump, server_id) = handshake_with_retries(ctx, &target).await?;
        // (boxed: held only while authenticating, not for as long as the caller's future lives)
        Box::pin(super::auth::authenticate(
            &mut handle,
            &target,
            &ctx.keys,
            &ctx.passphrases,
        ))
        .await?;
        let mut session = Session::new(handle, target, jump, ctx.cleanups().clone());
        session.signals_reach_group = server_id.signals_reach_group();
        Ok(session)
    }
}

/// One handshake after another while they fail transiently, with jittered backoff, each
/// under the caps.
async fn handshake_with_retries(ctx: &SshContext, target: &Target) -> Result<Connected, SshError> {
    let server = format!("{}:{}", target.address, target.port);
    let (total, per_server) = ctx.handshake_slots(&server);
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
            // Boxed, and made only once the slots are held: the handshake's future (russh's
            // connect_stream) is large, and hosts queued for a slot need not hold one.
            Box::pin(handshake(ctx, target)).await
        };
        match result {
            Ok(connected) => return Ok(connected),
            Err(e) if attempt < HANDSHAKE_ATTEMPTS && e.is_transient() => {
                tokio::time::sleep(backoff + jitter(backoff.as_millis() as u64)).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
                attempt += 1;
            }
            Err(e) => return Err(e.into_error(target)),
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

/// One attempt: TCP connect (or a channel through the jump host), key exchange, host key.
async fn handshake(ctx: &SshContext, target: &Target) -> Result<Connected, AttemptError> {
    let config = Arc::new(client::Config {
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
        warnings: ctx.warnings(),
        known_hosts: ctx.known_hosts(),
    };
    let addr = format!("{}:{}", target.address, target.port);
    let transport = |error| AttemptError::Transport {
        addr: addr.clone(),
        error,
    };
    let server_id = ServerId::default();
    let connect = async {
        match &target.proxy_jump {
            None => {
                let socket = tokio::net::TcpStream::connect((target.address.as_str(), target.port))
                    .await
                    .map_err(|e| transport(russh::Error::IO(e)))?;
                // as russh's own `connect` does with `nodelay`
                let _ = socket.set_nodelay(true);
                client::connect_stream(config, server_id.tap(socket), handler)
                    .await
                    .map(|h| (h, None, server_id.clone()))
                    .map_err(transport)
            }
            Some(via) => {
                let session = Box::pin(Session::connect(ctx, (**via).clone()))
                    .await
                    .map_err(|e| {
                        AttemptError::Final(SshError::Connect {
                            host: target.name.clone(),
                            addr: addr.clone(),
                            reason: e.to_string(),
                        })
                    })?;
                let channel = session
                    .handle
                    .channel_open_direct_tcpip(
                        target.address.clone(),
                        u32::from(target.port),
                        "127.0.0.1",
                        0,
                    )
                    .await
                    .map_err(transport)?;
                client::connect_stream(config, server_id.tap(channel.into_stream()), handler)
                    .await
                    .map(|h| (h, Some(Arc::new(session)), server_id.clone()))
                    .map_err(transport)
            }
        }
    };
    match tokio::time::timeout(target.connect_timeout, connect).await {
        Err(_) => Err(AttemptError::Final(SshError::Timeout {
            host: target.name.clone(),
            secs: target.connect_timeout.as_secs_f64(),
        })),
        Ok(Err(e)) => {
            // A refused host key ends the handshake with a generic error; the reason is ours.
            if let Some(refused) = refusal.lock().unwrap_or_else(|e| e.into_inner()).take() {
                return Err(AttemptError::Final(refused));
            }
            Err(e)
        }
        Ok(Ok(connected)) => Ok(connected),
    }
}

/// The server's identification line (`SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10`), read off
/// the stream as russh reads it: russh keeps it to itself.
#[derive(Clone, Default)]
struct ServerId(Arc<Mutex<Vec<u8>>>);

/// Bytes of the identification line kept at most (RFC 4253 allows 255).
const MAX_ID_LINE: usize = 255;

impl ServerId {
    fn tap<S>(&self, inner: S) -> IdTap<S> {
        IdTap {
            inner,
            id: self.clone(),
            done: false,
        }
    }

    fn line(&self) -> String {
        let id = self.0.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&id).trim_end().to_string()
    }

    /// Whether the server sends a `signal` request to the command's whole process group:
    /// OpenSSH's sshd answers it with `killpg` (seen on 9.2: "session_signal_req: signal
    /// TERM, killpg(..)"). Other servers, and OpenSSH before 9.2 (not checked), get the
    /// wrapper that forwards TERM to the group itself.
    fn signals_reach_group(&self) -> bool {
        openssh_version(&self.line()).is_some_and(|v| v >= (9, 2))
    }
}

/// OpenSSH's (major, minor) from an identification line; `None` for other servers.
fn openssh_version(line: &str) -> Option<(u32, u32)> {
    let software = line.strip_prefix("SSH-2.0-OpenSSH_")?;
    let mut parts = software.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// A stream that copies the first line the server sends into its [`ServerId`].
struct IdTap<S> {
    inner: S,
    id: ServerId,
    done: bool,
}

impl<S: AsyncRead + Unpin> AsyncRead for IdTap<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if !self.done {
            let this = &mut *self;
            let new = &buf.filled()[before..];
            let mut id = this.id.0.lock().unwrap_or_else(|e| e.into_inner());
            // lines before the identification line (RFC 4253 §4.2) are skipped
            for &b in new {
                if b == b'\n' {
                    if id.starts_with(b"SSH-") {
                        this.done = true;
                        break;
                    }
                    id.clear();
                } else if id.len() < MAX_ID_LINE {
                    id.push(b);
                }
            }
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for IdTap<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::ssh::SshHooks;

    fn loopback(port: u16) -> Target {
        let mut t = crate::ssh::jump::tests::target("127.0.0.1", None);
        t.port = port;
        t.name = format!("127.0.0.1:{port}");
        t.connect_timeout = Duration::from_secs(5);
        t
    }

    #[test]
    fn openssh_versions_from_identification_lines() {
        assert_eq!(
            openssh_version("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10"),
            Some((9, 2))
        );
        assert_eq!(openssh_version("SSH-2.0-OpenSSH_10.0"), Some((10, 0)));
        assert_eq!(
            openssh_version("SSH-2.0-OpenSSH_8.9p1 Ubuntu-3"),
            Some((8, 9))
        );
        assert_eq!(openssh_version("SSH-2.0-dropbear_2022.83"), None);
        assert_eq!(openssh_version("SSH-2.0-OpenSSH_"), None);
        assert_eq!(openssh_version("SSH-2.0-OpenSSH_x.y"), None);
        let id = |line: &str| ServerId(Arc::new(Mutex::new(line.as_bytes().to_vec())));
        assert!(id("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10").signals_reach_group());
        assert!(id("SSH-2.0-OpenSSH_10.2").signals_reach_group());
        assert!(!id("SSH-2.0-OpenSSH_8.9p1").signals_reach_group());
        assert!(!id("SSH-2.0-dropbear_2022.83").signals_reach_group());
        assert!(!id("").signals_reach_group());
    }

    /// The identification line is read off the stream as russh reads it, lines before it
    /// skipped, whatever the chunks.
    #[tokio::test]
    async fn the_tap_keeps_the_identification_line() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut server, client) = tokio::io::duplex(64);
        let id = ServerId::default();
        let mut tapped = id.tap(client);
        let sent = b"hello\r\nSSH-2.0-OpenSSH_9.2p1 Debian\r\n\x00\x01binary\n";
        let writer = tokio::spawn(async move {
            for chunk in sent.chunks(5) {
                server.write_all(chunk).await.expect("write");
            }
        });
        let mut got = Vec::new();
        tapped.read_to_end(&mut got).await.expect("read");
        writer.await.expect("writer");
        assert_eq!(got, sent.to_vec(), "the bytes pass unchanged");
        assert_eq!(id.line(), "SSH-2.0-OpenSSH_9.2p1 Debian");
    }

    #[test]
    fn retries_follow_the_io_kind() {
        let io = |kind: ErrorKind| russh::Error::IO(std::io::Error::from(kind));
        let transient = |e| io_kind(&e).is_some_and(is_transient);
        assert!(transient(io(ErrorKind::ConnectionReset)));
        assert!(transient(io(ErrorKind::ConnectionAborted)));
        assert!(transient(io(ErrorKind::BrokenPipe)));
        assert!(transient(io(ErrorKind::UnexpectedEof)));
        assert!(transient(russh::Error::Disconnect));
        assert!(transient(russh::Error::HUP));
        assert!(!transient(io(ErrorKind::ConnectionRefused)));
        assert!(!transient(io(ErrorKind::TimedOut)));
        assert!(!transient(io(ErrorKind::HostUnreachable)));
        assert!(!transient(russh::Error::Version));
        assert!(!transient(russh::Error::UnknownKey));
        let host_key = AttemptError::Final(SshError::HostKeyUnknown {
            host: "h".into(),
            key_type: "ed25519".into(),
            fingerprint: "SHA256:x".into(),
            file: "kh".into(),
        });
        assert!(!host_key.is_transient());
    }

    /// A server that drops every connection before its banner, as sshd does past
    /// `MaxStartups`: each attempt is retried, up to the limit.
    #[tokio::test]
    async fn dropped_handshakes_are_retried_refusals_are_not() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let accepted = Arc::new(AtomicU32::new(0));
        let count = Arc::clone(&accepted);
        let server = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                drop(socket);
            }
        });
        let ctx = SshContext::new(SshHooks::default());
        let e = handshake_with_retries(&ctx, &loopback(port))
            .await
            .err()
            .expect("fails");
        assert!(matches!(e, SshError::Connect { .. }), "{e}");
        assert_eq!(accepted.load(Ordering::SeqCst), HANDSHAKE_ATTEMPTS);
        server.abort();

        // a closed port: refused, and the real error says so by its kind
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = closed.local_addr().expect("addr").port();
        drop(closed);
        match handshake(&ctx, &loopback(port)).await {
            Err(AttemptError::Transport { error, .. }) => {
                assert_eq!(
                    io_kind(&error),
                    Some(ErrorKind::ConnectionRefused),
                    "{error}"
                );
            }
            Err(AttemptError::Final(e)) => panic!("not a transport error: {e}"),
            Ok(_) => panic!("connected to a closed port"),
        }
        let e = handshake_with_retries(&ctx, &loopback(port))
            .await
            .err()
            .expect("refused");
        assert!(e.to_string().contains("refused"), "{e}");
    }
}
