//! The SFTP channel of a connection, and how its requests learn that the channel is gone.
//!
//! russh-sftp cannot tell by itself. Its writer task sends requests through russh's
//! `ChannelTx`, which waits for window space on a `Notify` that nothing wakes once the
//! session has ended: with a pipelined upload in flight when the connection dies, the writer
//! stays blocked for good, the request queue never closes, and every later request (the
//! removal of the upload's temp file, say) waits out the whole request timeout. So the stream
//! under russh-sftp is watched ([`WatchedStream`]): the end of its read side (no reply can
//! arrive after it) marks the channel lost and fails the blocked write, and every request
//! made through [`SftpChannel`] fails as soon as the channel is lost, whenever it was sent.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use russh_sftp::client::RawSftpSession;
use russh_sftp::client::error::Error as SftpProtoError;
use russh_sftp::client::rawsession::SftpResult;
use russh_sftp::extensions::LimitsExtension;
use russh_sftp::protocol::{
    Attrs, Data, FileAttributes, Handle, Name, OpenFlags, Packet, Status, Version,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::ssh::session::ConnectionKeeper;

/// The cause given to requests that failed because the connection ended ([`is_lost`]).
const CONNECTION_LOST: &str = "drover: the connection was lost";
/// The cause given to requests that failed because the server closed the SFTP channel while
/// the connection stayed up (sftp-server died, say).
const CHANNEL_CLOSED: &str = "the server closed the sftp channel";

/// Whether a request failed because the connection ended under it.
pub(super) fn is_lost(e: &SftpProtoError) -> bool {
    matches!(e, SftpProtoError::UnexpectedBehavior(m) if m == CONNECTION_LOST)
}

/// The SFTP channel, closed once nothing holds it any more: not the session alone, since a
/// clean-up that a cancelled upload's drop guard spawned (removing its temp file) still needs
/// the channel after the session was dropped.
pub(super) struct SftpChannel {
    raw: RawSftpSession,
    /// Cancelled once the channel can no longer answer (see the module docs).
    lost: CancellationToken,
    /// Tells a lost connection from a channel the server closed.
    connection: ConnectionKeeper,
}

impl Drop for SftpChannel {
    fn drop(&mut self) {
        let _ = self.raw.close_session();
    }
}

impl SftpChannel {
    /// Starts the SFTP client on `stream` (a subsystem channel of `connection`).
    pub(super) fn new<S>(
        stream: S,
        config: russh_sftp::client::Config,
        connection: ConnectionKeeper,
    ) -> SftpChannel
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let lost = CancellationToken::new();
        let watched = WatchedStream::new(stream, lost.clone());
        SftpChannel {
            raw: RawSftpSession::new_with_config(watched, config),
            lost,
            connection,
        }
    }

    /// Whether the channel can no longer answer requests.
    pub(super) fn is_lost(&self) -> bool {
        self.lost.is_cancelled()
    }

    /// Runs one request, failing it as soon as the channel is lost (biased towards a reply
    /// that already arrived). Transport failures of a lost channel ("session closed", "sender
    /// dropped", a timeout) all become the one lost error; a status the server sent is kept.
    async fn guarded<T>(&self, request: impl Future<Output = SftpResult<T>>) -> SftpResult<T> {
        let result = tokio::select! {
            biased;
            r = request => r,
            () = self.lost.cancelled() => Err(SftpProtoError::UnexpectedBehavior(String::new())),
        };
        match result {
            Err(SftpProtoError::Status(s)) => Err(SftpProtoError::Status(s)),
            Err(_) if self.is_lost() => Err(self.lost_error()),
            other => other,
        }
    }

    /// Why the channel is lost: the connection ended (russh marks its handle closed before
    /// it drops the channels, so this is known by the time the channel's stream ends), or
    /// only the channel was closed.
    fn lost_error(&self) -> SftpProtoError {
        let cause = if self.connection.is_closed() {
            CONNECTION_LOST
        } else {
            CHANNEL_CLOSED
        };
        SftpProtoError::UnexpectedBehavior(cause.to_string())
    }

    pub(super) async fn init(&self) -> SftpResult<Version> {
        self.guarded(self.raw.init()).await
    }

    pub(super) async fn limits(&self) -> SftpResult<LimitsExtension> {
        self.guarded(self.raw.limits()).await
    }

    pub(super) async fn open(
        &self,
        path: impl Into<String>,
        flags: OpenFlags,
        attrs: FileAttributes,
    ) -> SftpResult<Handle> {
        self.guarded(self.raw.open(path, flags, attrs)).await
    }

    pub(super) async fn close(&self, handle: impl Into<String>) -> SftpResult<Status> {
        self.guarded(self.raw.close(handle)).await
    }

    pub(super) async fn read(
        &self,
        handle: impl Into<String>,
        offset: u64,
        len: u32,
    ) -> SftpResult<Data> {
        self.guarded(self.raw.read(handle, offset, len)).await
    }

    pub(super) async fn write(
        &self,
        handle: impl Into<String>,
        offset: u64,
        data: Vec<u8>,
    ) -> SftpResult<Status> {
        self.guarded(self.raw.write(handle, offset, data)).await
    }

    pub(super) async fn stat(&self, path: impl Into<String>) -> SftpResult<Attrs> {
        self.guarded(self.raw.stat(path)).await
    }

    pub(super) async fn lstat(&self, path: impl Into<String>) -> SftpResult<Attrs> {
        self.guarded(self.raw.lstat(path)).await
    }

    pub(super) async fn fstat(&self, handle: impl Into<String>) -> SftpResult<Attrs> {
        self.guarded(self.raw.fstat(handle)).await
    }

    pub(super) async fn setstat(
        &self,
        path: impl Into<String>,
        attrs: FileAttributes,
    ) -> SftpResult<Status> {
        self.guarded(self.raw.setstat(path, attrs)).await
    }

    pub(super) async fn fsetstat(
        &self,
        handle: impl Into<String>,
        attrs: FileAttributes,
    ) -> SftpResult<Status> {
        self.guarded(self.raw.fsetstat(handle, attrs)).await
    }

    pub(super) async fn opendir(&self, path: impl Into<String>) -> SftpResult<Handle> {
        self.guarded(self.raw.opendir(path)).await
    }

    pub(super) async fn readdir(&self, handle: impl Into<String>) -> SftpResult<Name> {
        self.guarded(self.raw.readdir(handle)).await
    }

    pub(super) async fn remove(&self, path: impl Into<String>) -> SftpResult<Status> {
        self.guarded(self.raw.remove(path)).await
    }

    pub(super) async fn mkdir(
        &self,
        path: impl Into<String>,
        attrs: FileAttributes,
    ) -> SftpResult<Status> {
        self.guarded(self.raw.mkdir(path, attrs)).await
    }

    pub(super) async fn rmdir(&self, path: impl Into<String>) -> SftpResult<Status> {
        self.guarded(self.raw.rmdir(path)).await
    }

    pub(super) async fn rename(
        &self,
        from: impl Into<String>,
        to: impl Into<String>,
    ) -> SftpResult<Status> {
        self.guarded(self.raw.rename(from, to)).await
    }

    pub(super) async fn readlink(&self, path: impl Into<String>) -> SftpResult<Name> {
        self.guarded(self.raw.readlink(path)).await
    }

    pub(super) async fn symlink(
        &self,
        path: impl Into<String>,
        target: impl Into<String>,
    ) -> SftpResult<Status> {
        self.guarded(self.raw.symlink(path, target)).await
    }

    pub(super) async fn extended(
        &self,
        request: impl Into<String>,
        data: Vec<u8>,
    ) -> SftpResult<Packet> {
        self.guarded(self.raw.extended(request, data)).await
    }
}

/// The channel's stream as russh-sftp sees it: it marks the channel lost when the read side
/// ends or fails, or a write fails, and from then on fails writes, including one already
/// waiting for window space that will never come.
struct WatchedStream<S> {
    inner: S,
    lost: CancellationToken,
    /// Wakes a write that is waiting in `inner` when the channel is lost.
    lost_wait: Pin<Box<WaitForCancellationFutureOwned>>,
}

impl<S> WatchedStream<S> {
    fn new(inner: S, lost: CancellationToken) -> WatchedStream<S> {
        WatchedStream {
            inner,
            lost_wait: Box::pin(lost.clone().cancelled_owned()),
            lost,
        }
    }
}

fn lost_io_error() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the sftp channel is gone")
}

impl<S: AsyncRead + Unpin> AsyncRead for WatchedStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        let ended = match &r {
            Poll::Ready(Ok(())) => buf.filled().len() == before && buf.remaining() > 0,
            Poll::Ready(Err(_)) => true,
            Poll::Pending => false,
        };
        if ended {
            this.lost.cancel();
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WatchedStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.lost.is_cancelled() {
            return Poll::Ready(Err(lost_io_error()));
        }
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(Err(e)) => {
                this.lost.cancel();
                Poll::Ready(Err(e))
            }
            Poll::Pending => match this.lost_wait.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(lost_io_error())),
                Poll::Pending => Poll::Pending,
            },
            ready => ready,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.lost.is_cancelled() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
