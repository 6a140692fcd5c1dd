//! The data loops of transfers: pipelined SFTP reads and writes on tokio's worker threads,
//! bounded by the size each file had when it was opened, with progress reports.

use std::collections::VecDeque;
use std::fs::File;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use russh_sftp::client::error::Error as SftpProtoError;

use super::{IN_FLIGHT, PROGRESS_EVERY, PROGRESS_MIN, SftpChannel, is_eof};
use crate::ssh::{OutputSink, SshError};

/// A remote file that reports size 0 (a pseudo-file such as `/proc/cpuinfo`) is read to its
/// end, but no further than this: past it the read fails instead of running on.
pub(super) const UNSIZED_MAX: u64 = 64 << 20;
/// Bytes read from a local file at once while hashing it.
const LOCAL_READ: usize = 1 << 20;

/// Aborts a spawned transfer when the caller's future is dropped (cancellation).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `fut` on tokio's worker threads; dropping the returned future aborts it.
pub(super) async fn on_workers<T: Send + 'static>(
    host: &str,
    fut: impl std::future::Future<Output = Result<T, SshError>> + Send + 'static,
) -> Result<T, SshError> {
    let mut job = AbortOnDrop(tokio::spawn(fut));
    match (&mut job.0).await {
        Ok(r) => r,
        Err(e) => Err(SshError::protocol(host, "transfer", e)),
    }
}

/// Reports bytes done for one transfer, at most every [`PROGRESS_EVERY`].
pub(super) struct Progress {
    sink: Option<Arc<dyn OutputSink>>,
    host: String,
    path: String,
    total: u64,
    done: u64,
    last: Option<Instant>,
}

impl Progress {
    pub(super) fn new(
        sink: &Option<Arc<dyn OutputSink>>,
        host: &str,
        path: &str,
        total: u64,
    ) -> Progress {
        Progress {
            sink: sink.clone(),
            host: host.to_string(),
            path: path.to_string(),
            total,
            done: 0,
            last: None,
        }
    }

    /// The size, once known (a download learns it from the open handle).
    pub(super) fn set_total(&mut self, total: u64) {
        self.total = total;
    }

    fn sink(&self) -> Option<&Arc<dyn OutputSink>> {
        self.sink.as_ref().filter(|_| self.total >= PROGRESS_MIN)
    }

    fn advance(&mut self, n: u64) {
        self.done += n;
        if let Some(sink) = self.sink()
            && self.last.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY)
        {
            sink.progress(&self.host, &self.path, self.done, self.total);
            self.last = Some(Instant::now());
        }
    }

    fn finish(&mut self) {
        if let Some(sink) = self.sink() {
            sink.progress(&self.host, &self.path, self.done, self.total.max(self.done));
        }
    }
}

/// Upload data, opened: a local regular file (with its size when opened) or bytes.
#[derive(Clone)]
pub(super) enum Data {
    File(Arc<File>, u64),
    Bytes(Arc<Vec<u8>>),
}

impl Data {
    /// Opens a local path for upload, refusing anything but a regular file. The open does not
    /// block on a FIFO (O_NONBLOCK), and the type is checked on the open descriptor, so a
    /// path swapped since an earlier check cannot make the upload hang or run without end.
    pub(super) fn open(path: &Path) -> std::io::Result<Data> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(std::io::Error::other(not_regular_local(&meta)));
        }
        Ok(Data::File(Arc::new(file), meta.len()))
    }

    /// Bytes to send: the file's size when it was opened.
    pub(super) fn len(&self) -> u64 {
        match self {
            Data::File(_, len) => *len,
            Data::Bytes(b) => b.len() as u64,
        }
    }

    /// Up to `len` bytes from `at`, never past [`Data::len`] (fewer at the end).
    fn chunk(&self, at: u64, len: usize) -> std::io::Result<Vec<u8>> {
        let end = self.len().min(at.saturating_add(len as u64));
        let len = end.saturating_sub(at) as usize;
        match self {
            Data::File(f, _) => read_chunk_at(f, at, len),
            Data::Bytes(b) => Ok(b[at as usize..at as usize + len].to_vec()),
        }
    }

    /// SHA-256 of the data (of a file: of its first [`Data::len`] bytes), off the async
    /// threads.
    pub(super) async fn sha256(&self) -> std::io::Result<String> {
        use sha2::{Digest, Sha256};
        let data = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut hasher = Sha256::new();
            let mut at = 0;
            loop {
                let chunk = data.chunk(at, LOCAL_READ)?;
                if chunk.is_empty() {
                    break;
                }
                at += chunk.len() as u64;
                hasher.update(&chunk);
            }
            Ok(super::hex(&hasher.finalize()))
        })
        .await
        .map_err(std::io::Error::other)?
    }
}

/// "is a character device, not a regular file ...", for a local path.
pub(super) fn not_regular_local(meta: &std::fs::Metadata) -> String {
    use std::os::unix::fs::FileTypeExt;
    let ft = meta.file_type();
    let what = if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_dir() {
        "a directory"
    } else {
        "of an unknown type"
    };
    format!("is {what}, not a regular file; refusing to read it")
}

/// Up to `len` bytes of `f` from `at` (fewer only at the end of the file).
fn read_chunk_at(f: &File, at: u64, len: usize) -> std::io::Result<Vec<u8>> {
    let mut chunk = vec![0u8; len];
    let mut filled = 0;
    while filled < len {
        match f.read_at(&mut chunk[filled..], at + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    chunk.truncate(filled);
    Ok(chunk)
}

/// Writes `data` at pipelined offsets to an open remote handle. Returns bytes sent.
pub(super) async fn pump_up(
    raw: Arc<SftpChannel>,
    handle: String,
    data: Data,
    chunk_len: usize,
    mut progress: Progress,
) -> Result<u64, SftpProtoError> {
    let data = Arc::new(data);
    let mut offset = 0u64;
    let mut eof = false;
    let mut sent = 0u64;
    let mut inflight = FuturesUnordered::new();
    loop {
        while !eof && inflight.len() < IN_FLIGHT {
            // Straight into the request's buffer, off the async threads.
            let d = Arc::clone(&data);
            let chunk = tokio::task::spawn_blocking(move || d.chunk(offset, chunk_len))
                .await
                .map_err(std::io::Error::other)??;
            if chunk.is_empty() {
                eof = true;
                break;
            }
            let n = chunk.len() as u64;
            let at = offset;
            offset += n;
            let (raw, h) = (Arc::clone(&raw), handle.clone());
            inflight.push(async move { raw.write(h, at, chunk).await.map(|_| n) });
        }
        match inflight.next().await {
            None => break,
            Some(r) => {
                let n = r?;
                sent += n;
                progress.advance(n);
            }
        }
    }
    progress.finish();
    Ok(sent)
}

/// Where downloaded bytes go.
pub(super) enum Sink {
    File(File),
    Memory(Vec<u8>),
}

impl Sink {
    fn write_at(&mut self, data: &[u8], at: u64) -> std::io::Result<()> {
        match self {
            Sink::File(f) => f.write_all_at(data, at),
            Sink::Memory(v) => {
                let end = at as usize + data.len();
                if v.len() < end {
                    v.resize(end, 0);
                }
                v[at as usize..end].copy_from_slice(data);
                Ok(())
            }
        }
    }
}

/// Reads an open remote handle with pipelined requests, never past `size` (from fstat at
/// open: a file that grows is copied as it was when opened). A handle reporting size 0 is
/// read one request at a time to its end, up to [`UNSIZED_MAX`] + 1 bytes so the caller can
/// tell it went over. Returns the sink and the end of the data read.
pub(super) async fn pump_down(
    raw: Arc<SftpChannel>,
    handle: String,
    size: u64,
    chunk_len: usize,
    mut sink: Sink,
    mut progress: Progress,
) -> Result<(Sink, u64), SftpProtoError> {
    let limit = if size > 0 { size } else { UNSIZED_MAX + 1 };
    let mut next = 0u64;
    let mut eof_at = u64::MAX;
    let mut end = 0u64;
    let mut retry: VecDeque<(u64, u32)> = VecDeque::new();
    let mut inflight = FuturesUnordered::new();
    let read = |at: u64, len: u32| {
        let (raw, h) = (Arc::clone(&raw), handle.clone());
        async move { (at, len, raw.read(h, at, len).await) }
    };
    loop {
        while inflight.len() < IN_FLIGHT {
            if let Some((at, len)) = retry.pop_front() {
                inflight.push(read(at, len));
            } else if next < limit.min(eof_at) && (size > 0 || inflight.is_empty()) {
                let len = (limit - next).min(chunk_len as u64) as u32;
                inflight.push(read(next, len));
                next += u64::from(len);
            } else {
                break;
            }
        }
        let Some((at, len, r)) = inflight.next().await else {
            break;
        };
        match r {
            Ok(d) if d.data.is_empty() => eof_at = eof_at.min(at),
            Ok(d) => {
                // A server sending more than asked for does not get it written.
                let n = d.data.len().min(len as usize);
                sink.write_at(&d.data[..n], at)?;
                let n = n as u64;
                end = end.max(at + n);
                progress.advance(n);
                if n < u64::from(len) {
                    retry.push_back((at + n, len - n as u32));
                }
            }
            Err(e) if is_eof(&e) => eof_at = eof_at.min(at),
            Err(e) => return Err(e),
        }
    }
    progress.finish();
    Ok((sink, end.min(eof_at)))
}
