//! One authenticated SSH connection and its channel slots. It is made by
//! [`Session::connect`] (`connect.rs`: handshake, caps, retries, ProxyJump; `auth.rs`:
//! authentication); commands run on it in `exec.rs`, SFTP sessions open on it in `sftp`.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use russh::Disconnect;
use russh::client::{self, Handle};

use super::cleanup::Cleanups;
use super::host_key::Client;
use super::{SshError, Target};

/// Channels one connection may have open at once (OpenSSH's `MaxSessions` default is 10, and
/// sshd frees slots with a lag; 5 was seen to be safe).
pub(super) const CHANNELS_PER_CONNECTION: usize = 5;

/// How long a connection's goodbye (SSH_MSG_DISCONNECT) may wait for room in russh's queue.
const GOODBYE_WAIT: Duration = Duration::from_secs(1);

/// How often [`Session::closed`] looks at the connection.
const CLOSED_POLL: Duration = Duration::from_millis(25);

/// An authenticated connection to one host.
pub(crate) struct Session {
    /// Shared with clean-ups in flight: the connection ends once the last holder is gone.
    pub(super) handle: Arc<Link>,
    pub(super) target: Target,
    /// A permit per open channel, released only once the server closed the channel.
    channels: Arc<tokio::sync::Semaphore>,
    /// The ProxyJump session carrying this one, kept open as long as this one is.
    _jump: Option<Arc<Session>>,
    /// Where drop guards of this connection's commands and uploads hand their clean-ups: the
    /// context's, which its run drains.
    cleanups: Cleanups,
    /// The server delivers a `signal` request to the command's whole process group (OpenSSH's
    /// sshd: `killpg`): commands then run without the TERM-forwarding wrapper shell.
    pub(super) signals_reach_group: bool,
}

impl Session {
    pub(super) fn new(
        handle: Handle<Client>,
        target: Target,
        jump: Option<Arc<Session>>,
        cleanups: Cleanups,
    ) -> Session {
        Session {
            handle: Arc::new(Link {
                handle: Some(handle),
                goodbye: tokio::runtime::Handle::try_current()
                    .ok()
                    .map(|runtime| (runtime, cleanups.clone())),
            }),
            target,
            channels: Arc::new(tokio::sync::Semaphore::new(CHANNELS_PER_CONNECTION)),
            _jump: jump,
            cleanups,
            signals_reach_group: false,
        }
    }

    /// Keeps the connection open while held, even after the session is dropped: a clean-up
    /// spawned by a drop guard needs it to reach the host (russh closes the connection as
    /// soon as its handle is dropped: replies to it then fail and end the session).
    pub(crate) fn keep_open(&self) -> ConnectionKeeper {
        ConnectionKeeper {
            handle: Arc::clone(&self.handle),
        }
    }

    /// Where clean-ups of this connection go.
    pub(crate) fn cleanups(&self) -> &Cleanups {
        &self.cleanups
    }

    /// Whether the connection has ended (dropped by the server or the network).
    pub(crate) fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// Resolves once the connection has ended. russh offers no future for this, only
    /// `is_closed`: it is polled, by the few waits that nothing else would end (a send
    /// waiting for window space), for as long as they wait.
    pub(super) async fn closed(&self) {
        while !self.handle.is_closed() {
            tokio::time::sleep(CLOSED_POLL).await;
        }
    }

    /// The host's display name.
    pub(crate) fn name(&self) -> &str {
        &self.target.name
    }

    /// Waits for a free channel slot on this connection.
    pub(super) async fn channel_slot(&self) -> Result<tokio::sync::OwnedSemaphorePermit, SshError> {
        Arc::clone(&self.channels)
            .acquire_owned()
            .await
            .map_err(|e| SshError::protocol(&self.target.name, "channel", e))
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
    handle: Arc<Link>,
}

impl ConnectionKeeper {
    /// Whether the connection has ended.
    pub(crate) fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }
}

/// A connection's russh handle that says goodbye: when its last holder lets go, it sends
/// SSH_MSG_DISCONNECT (by application) before the connection closes. russh itself only closes
/// the socket once every handle is gone, and OpenSSH's sshd answers a bare EOF by leaving its
/// server loop normally and calling `exit`, whose atexit clean-up of OpenSSL's tables touches
/// (and so copies, after the listener's fork) pages it shared with the listener; a DISCONNECT
/// ends it through `cleanup_exit` and `_exit` instead. Measured on OpenSSH 9.2 with `perf`
/// at 300 hosts: 24 % more page-fault samples in sshd (`EVP_CIPHER_free`, `_int_free`,
/// `_dl_fini` at exit) and about 1 ms more sshd CPU per host than asyncssh, which disconnects.
pub(super) struct Link {
    /// Always `Some` until dropped.
    handle: Option<Handle<Client>>,
    /// The runtime the connection was made on, which the goodbye is sent from, and the
    /// clean-ups it joins (so that a run's end waits for it before the process exits).
    goodbye: Option<(tokio::runtime::Handle, Cleanups)>,
}

impl Deref for Link {
    type Target = Handle<Client>;

    fn deref(&self) -> &Handle<Client> {
        match &self.handle {
            Some(handle) => handle,
            None => unreachable!("a link's handle is taken only when it is dropped"),
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        let (Some(handle), Some((runtime, cleanups))) = (self.handle.take(), self.goodbye.take())
        else {
            return;
        };
        if handle.is_closed() {
            return;
        }
        // The send waits for room in russh's queue, so it runs as a task (bounded: a stalled
        // connection just closes); the handle it owns is dropped after it, which then closes
        // the connection. A runtime that has shut down drops the task: the connection then
        // just closes, as it would without the goodbye.
        cleanups.spawn_on(
            async move {
                let goodbye = handle.disconnect(Disconnect::ByApplication, "", "en");
                let _ = tokio::time::timeout(GOODBYE_WAIT, goodbye).await;
            },
            &runtime,
        );
    }
}
