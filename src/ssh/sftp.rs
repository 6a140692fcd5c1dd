//! File transfer over a host's connection: one SFTP subsystem channel per connection, opened
//! lazily and shared by every task, beside the command channels.
//!
//! - Uploads are atomic: data goes to a temp file in the destination directory (a hidden
//!   `.NAME.drover-RANDOM.tmp`, which `*.conf`-style globs do not match), then
//!   `posix-rename@openssh.com` replaces the target in one step. On failure or cancellation
//!   the temp file is removed and the old file is left as it was; temp files orphaned by a
//!   dropped connection are removed, once stale, by the first upload of each connection to
//!   that directory.
//! - Data is pumped by our own loop with many requests in flight, on tokio's worker threads
//!   (not on the Lua thread): large reads from disk, large SFTP requests.
//! - Downloads write a local temp file beside the target and rename it into place.
//!
//! Symlinks in recursive copies are recreated as symlinks with the same target text (never
//! followed); other special files are refused.

use std::collections::VecDeque;
use std::hash::{BuildHasher, Hasher};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use russh_sftp::client::RawSftpSession;
use russh_sftp::client::error::Error as SftpProtoError;
use russh_sftp::protocol::{FileAttributes, FileType, OpenFlags, Packet, StatusCode};
use sha2::{Digest, Sha256};

use super::session::{ExecOptions, OutputSink, Session, shell_quote};
use super::{Secret, SshError};

/// Bytes per SFTP read or write request, at most (OpenSSH's sftp-server limit is 255 KiB; a
/// server announcing smaller limits through `limits@openssh.com` gets those). Large requests
/// took a third less client CPU per byte than 32 KiB ones in scripts/bench-sftp.sh.
const CHUNK: usize = 255 << 10;
/// What every SFTP server must accept (draft-ietf-secsh-filexfer-02).
const MIN_CHUNK: usize = 32 << 10;
/// Requests in flight per transfer.
const IN_FLIGHT: usize = 16;
/// Bytes read from a local file at once.
const LOCAL_READ: usize = 1 << 20;
/// Seconds the server may take to answer one request.
const REQUEST_TIMEOUT_SECS: u64 = 60;
/// Transfers at least this large report progress.
const PROGRESS_MIN: u64 = 1 << 20;
/// How often a transfer reports progress.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);
/// A temp file untouched this long belongs to an upload that died with its connection.
pub const STALE_TEMP_AFTER: Duration = Duration::from_secs(60);
/// Files of one recursive copy transferred at once.
const FILES_AT_ONCE: usize = 4;

/// The SFTP session of one connection.
pub struct Sftp {
    raw: Arc<RawSftpSession>,
    host: String,
    posix_rename: bool,
    /// Bytes per read and per write request.
    read_chunk: usize,
    write_chunk: usize,
    /// Directories whose stale temp files this session has already removed.
    cleaned_dirs: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Holds one of the connection's channel slots for as long as the session lives.
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl Drop for Sftp {
    fn drop(&mut self) {
        let _ = self.raw.close_session();
    }
}

/// What a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    File,
    Dir,
    Symlink,
    Other,
}

impl FileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::File => "file",
            FileKind::Dir => "dir",
            FileKind::Symlink => "symlink",
            FileKind::Other => "other",
        }
    }
}

/// Metadata of a remote path.
#[derive(Debug, Clone)]
pub struct FileStat {
    pub kind: FileKind,
    pub size: u64,
    /// Permission bits (`0o7777` at most).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: u32,
    pub atime: u32,
}

impl FileStat {
    fn from_attrs(a: &FileAttributes) -> FileStat {
        let kind = match a.file_type() {
            FileType::File => FileKind::File,
            FileType::Dir => FileKind::Dir,
            FileType::Symlink => FileKind::Symlink,
            FileType::Other => FileKind::Other,
        };
        FileStat {
            kind,
            size: a.size.unwrap_or(0),
            mode: a.permissions.unwrap_or(0) & 0o7777,
            uid: a.uid.unwrap_or(0),
            gid: a.gid.unwrap_or(0),
            mtime: a.mtime.unwrap_or(0),
            atime: a.atime.unwrap_or(0),
        }
    }
}

/// One directory entry.
#[derive(Debug, Clone)]
pub struct DirEntry {
    pub name: String,
    pub stat: FileStat,
}

/// How to upload (one struct for every caller).
#[derive(Debug, Clone)]
pub struct PutOptions {
    /// Permission bits of the new file; default: the local file's (0o644 for text).
    pub mode: Option<u32>,
    /// Owner and group (names or ids), set with `chown` before the file is moved into place.
    pub owner: Option<String>,
    pub group: Option<String>,
    /// Copy a directory tree.
    pub recursive: bool,
    /// Skip files whose remote copy has the same size and SHA-256.
    pub skip_same: bool,
    /// Move the file into place as root (`sudo install`), for root-owned destinations.
    pub sudo: bool,
    /// The user sudo runs as (default root).
    pub sudo_user: Option<String>,
    pub sudo_password: Option<Secret>,
    /// Where progress events go.
    pub sink: Option<Arc<dyn OutputSink>>,
}

impl Default for PutOptions {
    fn default() -> Self {
        PutOptions {
            mode: None,
            owner: None,
            group: None,
            recursive: false,
            skip_same: true,
            sudo: false,
            sudo_user: None,
            sudo_password: None,
            sink: None,
        }
    }
}

/// How to download.
#[derive(Debug, Clone, Default)]
pub struct GetOptions {
    pub recursive: bool,
    pub sink: Option<Arc<dyn OutputSink>>,
}

/// What a transfer did.
#[derive(Debug, Clone, Default)]
pub struct Transfer {
    /// Whether anything at the destination changed.
    pub changed: bool,
    /// Bytes sent or received.
    pub bytes: u64,
    /// Files (and symlinks) written.
    pub files: u64,
    pub elapsed: Duration,
}

impl Transfer {
    fn add(&mut self, other: &Transfer) {
        self.changed |= other.changed;
        self.bytes += other.bytes;
        self.files += other.files;
    }
}

/// Where upload data comes from.
#[derive(Debug, Clone)]
pub enum Source {
    Path(PathBuf),
    Bytes(Arc<Vec<u8>>),
}

/// A random-enough token for temp names.
fn token() -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

fn parent_and_name(path: &str) -> (String, String) {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rsplit_once('/') {
        Some(("", name)) => ("/".into(), name.into()),
        Some((dir, name)) => (dir.into(), name.into()),
        None => (".".into(), trimmed.into()),
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

fn temp_prefix(name: &str) -> String {
    format!(".{name}.drover-")
}

fn temp_name(dir: &str, name: &str) -> String {
    join(dir, &format!("{}{}.tmp", temp_prefix(name), token()))
}

fn ssh_string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a local source, computed off the async threads.
async fn local_sha256(src: &Source) -> std::io::Result<String> {
    match src {
        Source::Bytes(b) => Ok(hex(&Sha256::digest(b.as_slice()))),
        Source::Path(p) => {
            let p = p.clone();
            tokio::task::spawn_blocking(move || {
                let mut f = std::fs::File::open(&p)?;
                let mut hasher = Sha256::new();
                let mut buf = vec![0u8; LOCAL_READ];
                loop {
                    let n = std::io::Read::read(&mut f, &mut buf)?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buf[..n]);
                }
                Ok(hex(&hasher.finalize()))
            })
            .await
            .map_err(std::io::Error::other)?
        }
    }
}

/// Is this SFTP error "no such file"?
fn is_missing(e: &SftpProtoError) -> bool {
    matches!(e, SftpProtoError::Status(s) if s.status_code == StatusCode::NoSuchFile)
}

fn is_eof(e: &SftpProtoError) -> bool {
    matches!(e, SftpProtoError::Status(s) if s.status_code == StatusCode::Eof)
}

/// An SFTP failure as an error naming host, operation, path, cause and a hint.
fn sftp_error(host: &str, op: &str, path: &str, e: SftpProtoError) -> SshError {
    let (cause, hint) = match &e {
        SftpProtoError::Status(s) => match s.status_code {
            StatusCode::NoSuchFile => ("no such file or directory".to_string(), ""),
            StatusCode::PermissionDenied => (
                "permission denied".to_string(),
                if matches!(op, "put" | "write") {
                    " (pass sudo = true for root-owned destinations)"
                } else {
                    ""
                },
            ),
            _ if !s.error_message.is_empty() && s.error_message != "Failure" => {
                (s.error_message.clone(), "")
            }
            code => (code.to_string(), ""),
        },
        SftpProtoError::Timeout => (
            format!("no answer from the server within {REQUEST_TIMEOUT_SECS}s"),
            "",
        ),
        SftpProtoError::UnexpectedBehavior(m) if m.contains("closed") || m.contains("dropped") => {
            ("the connection was lost".to_string(), "")
        }
        other => (other.to_string(), ""),
    };
    SshError::Sftp {
        host: host.to_string(),
        op: op.to_string(),
        path: path.to_string(),
        cause,
        hint: hint.to_string(),
    }
}

/// "No such file" for `path`, for checks made before any request failed.
fn missing(host: &str, op: &str, path: &str) -> SshError {
    let status = russh_sftp::protocol::Status {
        id: 0,
        status_code: StatusCode::NoSuchFile,
        error_message: String::new(),
        language_tag: String::new(),
    };
    sftp_error(host, op, path, SftpProtoError::Status(status))
}

/// Aborts a spawned transfer when the caller's future is dropped (cancellation).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `fut` on tokio's worker threads; dropping the returned future aborts it.
async fn on_workers<T: Send + 'static>(
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
struct Progress {
    sink: Option<Arc<dyn OutputSink>>,
    host: String,
    path: String,
    total: u64,
    done: u64,
    last: Option<Instant>,
}

impl Progress {
    fn new(sink: &Option<Arc<dyn OutputSink>>, host: &str, path: &str, total: u64) -> Progress {
        Progress {
            sink: sink.clone().filter(|_| total >= PROGRESS_MIN),
            host: host.to_string(),
            path: path.to_string(),
            total,
            done: 0,
            last: None,
        }
    }

    fn advance(&mut self, n: u64) {
        self.done += n;
        if let Some(sink) = &self.sink
            && self.last.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY)
        {
            self.last = Some(Instant::now());
            sink.progress(&self.host, &self.path, self.done, self.total);
        }
    }

    fn finish(&mut self) {
        if let Some(sink) = &self.sink {
            sink.progress(&self.host, &self.path, self.done, self.total.max(self.done));
        }
    }
}

/// Removes a remote temp file (closing its handle first) unless disarmed: the cleanup of a
/// failed or cancelled upload.
struct RemoteTemp {
    raw: Arc<RawSftpSession>,
    path: Option<String>,
    handle: Option<String>,
    /// A staging directory to remove after the file.
    dir: Option<String>,
}

impl RemoteTemp {
    fn new(raw: &Arc<RawSftpSession>, path: &str, handle: &str) -> RemoteTemp {
        RemoteTemp {
            raw: Arc::clone(raw),
            path: Some(path.to_string()),
            handle: Some(handle.to_string()),
            dir: None,
        }
    }

    fn disarm(&mut self) {
        self.path = None;
        self.handle = None;
    }
}

impl Drop for RemoteTemp {
    fn drop(&mut self) {
        let (handle, path, dir) = (self.handle.take(), self.path.take(), self.dir.take());
        if handle.is_none() && path.is_none() && dir.is_none() {
            return;
        }
        let raw = Arc::clone(&self.raw);
        tokio::spawn(async move {
            if let Some(h) = handle {
                let _ = raw.close(h).await;
            }
            if let Some(p) = path {
                let _ = raw.remove(p).await;
            }
            if let Some(d) = dir {
                let _ = raw.rmdir(d).await;
            }
        });
    }
}

/// Removes a local temp file unless disarmed.
struct LocalTemp(Option<PathBuf>);

impl Drop for LocalTemp {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Up to `len` bytes of `f` from `at` (fewer only at the end of the file).
fn read_chunk_at(f: &std::fs::File, at: u64, len: usize) -> std::io::Result<Vec<u8>> {
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

/// Writes `src` at pipelined offsets to an open remote handle. Returns bytes sent.
async fn pump_up(
    raw: Arc<RawSftpSession>,
    handle: String,
    src: Source,
    chunk_len: usize,
    mut progress: Progress,
) -> Result<u64, SftpProtoError> {
    let mut file: Option<Arc<std::fs::File>> = None;
    let mut bytes: Option<Arc<Vec<u8>>> = None;
    match src {
        Source::Path(p) => file = Some(Arc::new(std::fs::File::open(&p)?)),
        Source::Bytes(b) => bytes = Some(b),
    }
    let mut offset = 0u64;
    let mut eof = false;
    let mut sent = 0u64;
    let mut inflight = FuturesUnordered::new();
    loop {
        while !eof && inflight.len() < IN_FLIGHT {
            let chunk = match (&file, &bytes) {
                (Some(f), _) => {
                    // Straight into the request's buffer, off the async threads.
                    let f = Arc::clone(f);
                    tokio::task::spawn_blocking(move || read_chunk_at(&f, offset, chunk_len))
                        .await
                        .map_err(std::io::Error::other)??
                }
                (None, Some(b)) => {
                    let start = (offset as usize).min(b.len());
                    b[start..(start + chunk_len).min(b.len())].to_vec()
                }
                (None, None) => Vec::new(),
            };
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
enum Sink {
    File(std::fs::File),
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

/// Reads an open remote handle to its end with pipelined requests. `size` (from fstat) says
/// how far to read ahead; reading goes on past it if the file grew.
async fn pump_down(
    raw: Arc<RawSftpSession>,
    handle: String,
    size: u64,
    chunk_len: usize,
    mut sink: Sink,
    mut progress: Progress,
) -> Result<(Sink, u64), SftpProtoError> {
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
            } else if next < eof_at && (next < size || inflight.is_empty()) {
                inflight.push(read(next, chunk_len as u32));
                next += chunk_len as u64;
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
                let n = d.data.len() as u64;
                sink.write_at(&d.data, at)?;
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

impl Sftp {
    /// Opens the `sftp` subsystem on `session`, taking one of its channel slots.
    pub(super) async fn open(session: &Session) -> Result<Sftp, SshError> {
        let host = session.name().to_string();
        let proto = |what: &str, e: &dyn std::fmt::Display| SshError::protocol(&host, what, e);
        let slot = session.channel_slot().await?;
        let mut channel = session
            .open_channel()
            .await
            .map_err(|e| proto("sftp channel", &e))?;
        channel
            .request_subsystem(true, "sftp")
            .await
            .map_err(|e| proto("sftp subsystem", &e))?;
        loop {
            match channel.wait().await {
                Some(russh::ChannelMsg::Success) => break,
                Some(russh::ChannelMsg::Failure) | None => {
                    return Err(proto(
                        "sftp",
                        &"the server refused the sftp subsystem (is `Subsystem sftp` set in its sshd_config?)",
                    ));
                }
                Some(_) => {}
            }
        }
        let config = russh_sftp::client::Config {
            request_timeout_secs: REQUEST_TIMEOUT_SECS,
            ..Default::default()
        };
        let raw = RawSftpSession::new_with_config(channel.into_stream(), config);
        let version = raw.init().await.map_err(|e| proto("sftp init", &e))?;
        let posix_rename = version.extensions.contains_key("posix-rename@openssh.com");
        let (mut read_chunk, mut write_chunk) = (MIN_CHUNK, MIN_CHUNK);
        if version.extensions.contains_key("limits@openssh.com")
            && let Ok(l) = raw.limits().await
        {
            let cap = |announced: u64| match announced {
                0 => MIN_CHUNK,
                n => (n as usize).clamp(MIN_CHUNK, CHUNK),
            };
            (read_chunk, write_chunk) = (cap(l.max_read_len), cap(l.max_write_len));
        }
        Ok(Sftp {
            raw: Arc::new(raw),
            host,
            posix_rename,
            read_chunk,
            write_chunk,
            cleaned_dirs: Default::default(),
            _slot: slot,
        })
    }

    fn err(&self, op: &str, path: &str, e: SftpProtoError) -> SshError {
        sftp_error(&self.host, op, path, e)
    }

    fn local_err(&self, op: &str, path: &Path, e: std::io::Error) -> SshError {
        SshError::Sftp {
            host: self.host.clone(),
            op: op.to_string(),
            path: path.display().to_string(),
            cause: format!("local: {e}"),
            hint: String::new(),
        }
    }

    /// Metadata of `path` (following symlinks unless `follow` is false); `None` if absent.
    pub async fn stat(&self, path: &str, follow: bool) -> Result<Option<FileStat>, SshError> {
        let r = if follow {
            self.raw.stat(path).await
        } else {
            self.raw.lstat(path).await
        };
        match r {
            Ok(a) => Ok(Some(FileStat::from_attrs(&a.attrs))),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(self.err("stat", path, e)),
        }
    }

    /// The entries of a directory (without `.` and `..`), sorted by name.
    pub async fn list(&self, dir: &str) -> Result<Vec<DirEntry>, SshError> {
        let handle = self
            .raw
            .opendir(dir)
            .await
            .map_err(|e| self.err("list", dir, e))?
            .handle;
        let mut out = Vec::new();
        let result = loop {
            match self.raw.readdir(handle.as_str()).await {
                Ok(name) => out.extend(
                    name.files
                        .into_iter()
                        .filter(|f| f.filename != "." && f.filename != "..")
                        .map(|f| DirEntry {
                            stat: FileStat::from_attrs(&f.attrs),
                            name: f.filename,
                        }),
                ),
                Err(e) if is_eof(&e) => break Ok(()),
                Err(e) => break Err(self.err("list", dir, e)),
            }
        };
        let _ = self.raw.close(handle).await;
        result?;
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Creates a directory (and its missing parents with `parents`). With `mode`, every
    /// directory it creates gets exactly that mode (the server's umask does not apply).
    pub async fn mkdir(
        &self,
        path: &str,
        parents: bool,
        mode: Option<u32>,
    ) -> Result<(), SshError> {
        let attrs = FileAttributes {
            permissions: mode,
            ..Default::default()
        };
        if !parents {
            self.raw
                .mkdir(path, attrs)
                .await
                .map_err(|e| self.err("mkdir", path, e))?;
            if let Some(m) = mode {
                self.chmod(path, m).await?;
            }
            return Ok(());
        }
        let mut prefix = if path.starts_with('/') {
            String::from("/")
        } else {
            String::new()
        };
        for part in path.split('/').filter(|p| !p.is_empty()) {
            prefix = if prefix.is_empty() {
                part.to_string()
            } else {
                join(&prefix, part)
            };
            match self.stat(&prefix, true).await? {
                Some(s) if s.kind == FileKind::Dir => continue,
                Some(_) => {
                    return Err(SshError::Sftp {
                        host: self.host.clone(),
                        op: "mkdir".into(),
                        path: prefix,
                        cause: "exists and is not a directory".into(),
                        hint: String::new(),
                    });
                }
                None => {}
            }
            match self.raw.mkdir(prefix.as_str(), attrs.clone()).await {
                Ok(_) => {
                    if let Some(m) = mode {
                        self.chmod(&prefix, m).await?;
                    }
                }
                // Another task may have created it meanwhile.
                Err(e) => {
                    if !matches!(self.stat(&prefix, true).await?, Some(s) if s.kind == FileKind::Dir)
                    {
                        return Err(self.err("mkdir", &prefix, e));
                    }
                }
            }
        }
        Ok(())
    }

    /// Removes a file, a symlink, an empty directory, or (with `recursive`) a whole tree.
    pub async fn remove(&self, path: &str, recursive: bool) -> Result<(), SshError> {
        let Some(st) = self.stat(path, false).await? else {
            return Err(missing(&self.host, "remove", path));
        };
        if st.kind != FileKind::Dir {
            return self
                .raw
                .remove(path)
                .await
                .map(|_| ())
                .map_err(|e| self.err("remove", path, e));
        }
        if recursive {
            for entry in self.list(path).await? {
                Box::pin(self.remove(&join(path, &entry.name), true)).await?;
            }
        }
        self.raw.rmdir(path).await.map(|_| ()).map_err(|e| {
            let mut err = self.err("remove", path, e);
            if !recursive && let SshError::Sftp { hint, .. } = &mut err {
                hint.push_str(" (a directory that is not empty needs recursive = true)");
            }
            err
        })
    }

    /// Renames `from` to `to`, replacing `to` if it exists (posix-rename where the server has it).
    pub async fn rename(&self, from: &str, to: &str) -> Result<(), SshError> {
        if !self.posix_rename {
            return self
                .raw
                .rename(from, to)
                .await
                .map(|_| ())
                .map_err(|e| self.err("rename", from, e));
        }
        let mut data = Vec::with_capacity(from.len() + to.len() + 8);
        ssh_string(&mut data, from);
        ssh_string(&mut data, to);
        match self.raw.extended("posix-rename@openssh.com", data).await {
            Ok(Packet::Status(s)) if s.status_code == StatusCode::Ok => Ok(()),
            Ok(Packet::Status(s)) => Err(self.err("rename", from, SftpProtoError::Status(s))),
            Ok(_) => Err(self.err("rename", from, SftpProtoError::UnexpectedPacket)),
            Err(e) => Err(self.err("rename", from, e)),
        }
    }

    /// Sets the permission bits of `path`.
    pub async fn chmod(&self, path: &str, mode: u32) -> Result<(), SshError> {
        let attrs = FileAttributes {
            permissions: Some(mode & 0o7777),
            ..Default::default()
        };
        self.raw
            .setstat(path, attrs)
            .await
            .map(|_| ())
            .map_err(|e| self.err("chmod", path, e))
    }

    /// The whole content of a remote file.
    pub async fn read(&self, path: &str) -> Result<Vec<u8>, SshError> {
        let handle = self
            .raw
            .open(path, OpenFlags::READ, FileAttributes::default())
            .await
            .map_err(|e| self.err("read", path, e))?
            .handle;
        let size = self
            .raw
            .fstat(handle.as_str())
            .await
            .map(|a| a.attrs.size.unwrap_or(0))
            .unwrap_or(0);
        let progress = Progress::new(&None, &self.host, path, size);
        let raw = Arc::clone(&self.raw);
        let chunk = self.read_chunk;
        let h = handle.clone();
        let result = on_workers(&self.host, {
            let host = self.host.clone();
            let path = path.to_string();
            async move {
                pump_down(raw, h, size, chunk, Sink::Memory(Vec::new()), progress)
                    .await
                    .map_err(|e| sftp_error(&host, "read", &path, e))
            }
        })
        .await;
        let _ = self.raw.close(handle).await;
        match result? {
            (Sink::Memory(mut v), end) => {
                v.truncate(end as usize);
                Ok(v)
            }
            (Sink::File(_), _) => unreachable!("read pumps into memory"),
        }
    }

    /// Removes drover temp files in `dir` that nobody has written to for
    /// [`STALE_TEMP_AFTER`] (their upload died with its connection). Runs once per directory
    /// per session, at its first upload; `now` is the server's clock (the mtime of the temp
    /// file that upload just created), so the controller's clock does not matter.
    async fn remove_stale_temps(&self, dir: &str, now: u32) {
        let first = self
            .cleaned_dirs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(dir.to_string());
        if !first {
            return;
        }
        let Ok(entries) = self.list(dir).await else {
            return;
        };
        for e in entries {
            let ours =
                e.name.starts_with('.') && e.name.contains(".drover-") && e.name.ends_with(".tmp");
            let stale = now.saturating_sub(e.stat.mtime) >= STALE_TEMP_AFTER.as_secs() as u32;
            if ours && stale && e.stat.kind == FileKind::File {
                let _ = self.raw.remove(join(dir, &e.name)).await;
            }
        }
    }

    /// Writes `src` into the open remote `handle` on the worker threads, reporting progress
    /// as an upload to `dest`.
    async fn send(
        &self,
        handle: &str,
        src: Source,
        total: u64,
        dest: &str,
        opts: &PutOptions,
    ) -> Result<u64, SshError> {
        let progress = Progress::new(&opts.sink, &self.host, dest, total);
        let (raw, chunk) = (Arc::clone(&self.raw), self.write_chunk);
        let (host, d, h) = (self.host.clone(), dest.to_string(), handle.to_string());
        on_workers(&self.host, async move {
            pump_up(raw, h, src, chunk, progress)
                .await
                .map_err(|e| sftp_error(&host, "put", &d, e))
        })
        .await
    }

    /// Uploads `src` to a new temp file beside `dest` and renames it over `dest`.
    async fn upload_atomic(
        &self,
        session: &Session,
        src: Source,
        total: u64,
        dest: &str,
        mode: u32,
        opts: &PutOptions,
    ) -> Result<u64, SshError> {
        let (dir, name) = parent_and_name(dest);
        let temp = temp_name(&dir, &name);
        let flags = OpenFlags::CREATE | OpenFlags::EXCLUDE | OpenFlags::WRITE | OpenFlags::TRUNCATE;
        let private = FileAttributes {
            permissions: Some(0o600),
            ..Default::default()
        };
        let handle = self
            .raw
            .open(temp.as_str(), flags, private)
            .await
            .map_err(|e| self.err("put", dest, e))?
            .handle;
        let mut guard = RemoteTemp::new(&self.raw, &temp, &handle);
        if let Ok(a) = self.raw.fstat(handle.as_str()).await
            && let Some(now) = a.attrs.mtime
        {
            self.remove_stale_temps(&dir, now).await;
        }
        let sent = self.send(&handle, src, total, dest, opts).await?;
        let attrs = FileAttributes {
            permissions: Some(mode & 0o7777),
            ..Default::default()
        };
        self.raw
            .fsetstat(handle.as_str(), attrs)
            .await
            .map_err(|e| self.err("put", dest, e))?;
        guard.handle = None;
        self.raw
            .close(handle)
            .await
            .map_err(|e| self.err("put", dest, e))?;
        if opts.owner.is_some() || opts.group.is_some() {
            let spec = format!(
                "{}{}",
                opts.owner.as_deref().unwrap_or(""),
                opts.group
                    .as_deref()
                    .map(|g| format!(":{g}"))
                    .unwrap_or_default()
            );
            let cmd = format!("chown -- {} {}", shell_quote(&spec), shell_quote(&temp));
            let out = session.exec(&cmd, &ExecOptions::default()).await?;
            if out.code != Some(0) {
                return Err(SshError::Sftp {
                    host: self.host.clone(),
                    op: "put".into(),
                    path: dest.to_string(),
                    cause: format!(
                        "cannot set owner {spec}: {}",
                        String::from_utf8_lossy(&out.stderr).trim()
                    ),
                    hint: " (pass sudo = true to set another owner)".into(),
                });
            }
        }
        self.rename(&temp, dest).await.map_err(|e| match e {
            SshError::Sftp {
                host, cause, hint, ..
            } => SshError::Sftp {
                host,
                op: "put".into(),
                path: dest.to_string(),
                cause,
                hint,
            },
            other => other,
        })?;
        guard.disarm();
        Ok(sent)
    }

    /// Uploads to a private temp path, then moves the file into place as root with
    /// `sudo install` and `mv` (one command; the password, if any, goes on stdin).
    async fn upload_sudo(
        &self,
        session: &Session,
        src: Source,
        total: u64,
        dest: &str,
        mode: u32,
        opts: &PutOptions,
    ) -> Result<u64, SshError> {
        // A private staging directory. sudo to a user other than root must be able to read
        // the file: then the directory is 0711 (not listable) and the file name unguessable.
        let to_root = opts.sudo_user.as_deref().is_none_or(|u| u == "root");
        let (dir_mode, file_mode) = if to_root {
            (0o700, 0o600)
        } else {
            (0o711, 0o644)
        };
        let staging_dir = format!("/tmp/.drover-put-{}", token());
        let dir_attrs = FileAttributes {
            permissions: Some(0o700),
            ..Default::default()
        };
        self.raw
            .mkdir(staging_dir.as_str(), dir_attrs)
            .await
            .map_err(|e| self.err("put", &staging_dir, e))?;
        let mut guard = RemoteTemp {
            raw: Arc::clone(&self.raw),
            path: None,
            handle: None,
            dir: Some(staging_dir.clone()),
        };
        self.chmod(&staging_dir, dir_mode).await?;
        let staging = format!("{staging_dir}/{}", token());
        let flags = OpenFlags::CREATE | OpenFlags::EXCLUDE | OpenFlags::WRITE;
        let attrs = FileAttributes {
            permissions: Some(file_mode),
            ..Default::default()
        };
        guard.path = Some(staging.clone());
        let handle = self
            .raw
            .open(staging.as_str(), flags, attrs)
            .await
            .map_err(|e| self.err("put", &staging, e))?
            .handle;
        guard.handle = Some(handle.clone());
        self.chmod(&staging, file_mode).await?;
        let sent = self.send(&handle, src, total, dest, opts).await?;
        guard.handle = None;
        self.raw
            .close(handle)
            .await
            .map_err(|e| self.err("put", dest, e))?;
        let (dir, name) = parent_and_name(dest);
        let temp = temp_name(&dir, &name);
        let mut install = format!("install -m {:o}", mode & 0o7777);
        if let Some(o) = &opts.owner {
            install.push_str(&format!(" -o {}", shell_quote(o)));
        }
        if let Some(g) = &opts.group {
            install.push_str(&format!(" -g {}", shell_quote(g)));
        }
        let cmd = format!(
            "t={t}; trap 'rm -f -- \"$t\"' EXIT; {install} -T -- {s} \"$t\" && mv -f -T -- \"$t\" {d}",
            t = shell_quote(&temp),
            s = shell_quote(&staging),
            d = shell_quote(dest),
        );
        let exec = ExecOptions {
            sudo: true,
            sudo_user: opts.sudo_user.clone(),
            sudo_password: opts.sudo_password.clone(),
            ..Default::default()
        };
        let out = session.exec(&cmd, &exec).await?;
        if out.code != Some(0) {
            return Err(SshError::Sftp {
                host: self.host.clone(),
                op: "put".into(),
                path: dest.to_string(),
                cause: format!(
                    "sudo install failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
                hint: String::new(),
            });
        }
        Ok(sent)
    }

    /// Size, mode and SHA-256 of a remote file, read by one command (through sudo if asked).
    async fn remote_digest(
        &self,
        session: &Session,
        path: &str,
        opts: &PutOptions,
    ) -> Result<Option<(u64, u32, String)>, SshError> {
        let q = shell_quote(path);
        let cmd = format!(
            "[ -f {q} ] && [ ! -L {q} ] || exit 3; stat -c '%s %a' -- {q} && (sha256sum -- {q} || shasum -a 256 -- {q}) | cut -c1-64"
        );
        let exec = ExecOptions {
            sudo: opts.sudo,
            sudo_user: opts.sudo_user.clone().filter(|_| opts.sudo),
            sudo_password: opts.sudo_password.clone(),
            ..Default::default()
        };
        let out = session.exec(&cmd, &exec).await?;
        if out.code != Some(0) {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let mut lines = text.lines();
        let (size, mode) = lines
            .next()
            .and_then(|l| l.split_once(' '))
            .and_then(|(s, m)| Some((s.parse().ok()?, u32::from_str_radix(m, 8).ok()?)))
            .unwrap_or((u64::MAX, 0));
        let hash = lines.next().unwrap_or("").trim().to_string();
        Ok(Some((size, mode, hash)))
    }

    /// Puts one file (or text) at `dest`.
    async fn put_one(
        &self,
        session: &Session,
        src: Source,
        dest: &str,
        opts: &PutOptions,
    ) -> Result<Transfer, SshError> {
        let (total, local_mode) = match &src {
            Source::Bytes(b) => (b.len() as u64, 0o644),
            Source::Path(p) => {
                let m = std::fs::metadata(p).map_err(|e| self.local_err("put", p, e))?;
                (m.len(), m.mode() & 0o7777)
            }
        };
        let mode = opts.mode.unwrap_or(local_mode);
        if opts.skip_same {
            let same = if opts.sudo {
                self.remote_digest(session, dest, opts).await?
            } else {
                match self.stat(dest, false).await {
                    Ok(Some(st)) if st.kind == FileKind::File && st.size == total => {
                        self.remote_digest(session, dest, opts).await?
                    }
                    _ => None,
                }
            };
            if let Some((size, remote_mode, hash)) = same
                && size == total
                && !hash.is_empty()
                && hash
                    == local_sha256(&src).await.map_err(|e| match &src {
                        Source::Path(p) => self.local_err("put", p, e),
                        Source::Bytes(_) => SshError::protocol(&self.host, "hash", e),
                    })?
                && opts.owner.is_none()
                && opts.group.is_none()
            {
                if remote_mode == mode {
                    return Ok(Transfer::default());
                }
                if !opts.sudo {
                    self.chmod(dest, mode).await?;
                    return Ok(Transfer {
                        changed: true,
                        ..Transfer::default()
                    });
                }
            }
        }
        let bytes = if opts.sudo {
            self.upload_sudo(session, src, total, dest, mode, opts)
                .await?
        } else {
            self.upload_atomic(session, src, total, dest, mode, opts)
                .await?
        };
        Ok(Transfer {
            changed: true,
            bytes,
            files: 1,
            elapsed: Duration::ZERO,
        })
    }

    /// Recreates a local symlink at `dest` (atomically: a temp link renamed over it).
    async fn put_symlink(&self, target: &str, dest: &str) -> Result<Transfer, SshError> {
        if let Ok(current) = self.raw.readlink(dest).await
            && current.files.first().map(|f| f.filename.as_str()) == Some(target)
        {
            return Ok(Transfer::default());
        }
        let (dir, name) = parent_and_name(dest);
        let temp = temp_name(&dir, &name);
        // OpenSSH's sftp-server takes SSH_FXP_SYMLINK's arguments in the reverse order of
        // the draft: (target, link path).
        self.raw
            .symlink(target, temp.as_str())
            .await
            .map_err(|e| self.err("put", dest, e))?;
        if let Err(e) = self.rename(&temp, dest).await {
            let _ = self.raw.remove(temp).await;
            return Err(e);
        }
        Ok(Transfer {
            changed: true,
            bytes: 0,
            files: 1,
            elapsed: Duration::ZERO,
        })
    }

    /// Mirrors the local directory `local` at `dest`.
    async fn put_tree(
        &self,
        session: &Session,
        local: &Path,
        dest: &str,
        opts: &PutOptions,
    ) -> Result<Transfer, SshError> {
        let meta = std::fs::metadata(local).map_err(|e| self.local_err("put", local, e))?;
        let mut total = Transfer::default();
        let dir_mode = meta.mode() & 0o7777;
        match self.stat(dest, true).await? {
            Some(st) if st.kind == FileKind::Dir => {
                if st.mode != dir_mode {
                    self.chmod(dest, dir_mode).await?;
                    total.changed = true;
                }
            }
            Some(_) => {
                return Err(SshError::Sftp {
                    host: self.host.clone(),
                    op: "put".into(),
                    path: dest.to_string(),
                    cause: "exists and is not a directory".into(),
                    hint: String::new(),
                });
            }
            None => {
                self.mkdir(dest, true, Some(dir_mode)).await?;
                total.changed = true;
            }
        }
        let mut entries: Vec<_> = std::fs::read_dir(local)
            .map_err(|e| self.local_err("put", local, e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.local_err("put", local, e))?;
        entries.sort_by_key(|e| e.file_name());
        let mut subdirs = Vec::new();
        let mut jobs = Vec::new();
        for entry in entries {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let target = join(dest, &name);
            let ft = entry
                .file_type()
                .map_err(|e| self.local_err("put", &path, e))?;
            if ft.is_dir() {
                subdirs.push((path, target));
            } else if ft.is_symlink() {
                let link =
                    std::fs::read_link(&path).map_err(|e| self.local_err("put", &path, e))?;
                jobs.push((None, Some(link.to_string_lossy().into_owned()), target));
            } else if ft.is_file() {
                jobs.push((Some(path), None, target));
            } else {
                return Err(SshError::Sftp {
                    host: self.host.clone(),
                    op: "put".into(),
                    path: path.display().to_string(),
                    cause: "not a regular file, directory or symlink".into(),
                    hint: String::new(),
                });
            }
        }
        let mut files = futures_util::stream::iter(jobs.into_iter().map(|(file, link, target)| {
            let per_file = PutOptions {
                recursive: false,
                mode: None,
                ..opts.clone()
            };
            async move {
                match (file, link) {
                    (Some(p), _) => {
                        self.put_one(session, Source::Path(p), &target, &per_file)
                            .await
                    }
                    (None, Some(l)) => self.put_symlink(&l, &target).await,
                    (None, None) => Ok(Transfer::default()),
                }
            }
        }))
        .buffer_unordered(FILES_AT_ONCE);
        while let Some(r) = files.next().await {
            total.add(&r?);
        }
        for (path, target) in subdirs {
            let t = Box::pin(self.put_tree(session, &path, &target, opts)).await?;
            total.add(&t);
        }
        Ok(total)
    }

    /// `sftp.put`: a file, text, or (with `recursive`) a directory tree.
    pub async fn put(
        &self,
        session: &Session,
        src: Source,
        dest: &str,
        opts: &PutOptions,
    ) -> Result<Transfer, SshError> {
        let started = Instant::now();
        let mut result = match &src {
            Source::Path(p) if p.is_dir() => {
                if !opts.recursive {
                    return Err(SshError::Sftp {
                        host: self.host.clone(),
                        op: "put".into(),
                        path: p.display().to_string(),
                        cause: "is a directory".into(),
                        hint: " (pass recursive = true to copy a tree)".into(),
                    });
                }
                if opts.sudo {
                    return Err(SshError::Sftp {
                        host: self.host.clone(),
                        op: "put".into(),
                        path: p.display().to_string(),
                        cause: "sudo is supported for single files only".into(),
                        hint: String::new(),
                    });
                }
                self.put_tree(session, p, dest, opts).await?
            }
            Source::Path(p) => {
                // Into an existing directory, like cp.
                // (A path we may not stat is not a directory we could write into; the
                // upload itself reports the permission problem, or sudo gets past it.)
                let dest = match self.stat(dest, true).await {
                    Ok(Some(st)) if st.kind == FileKind::Dir => {
                        let name = p
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default();
                        join(dest, &name)
                    }
                    _ => dest.to_string(),
                };
                self.put_one(session, src.clone(), &dest, opts).await?
            }
            Source::Bytes(_) => self
                .put_one(session, src.clone(), dest, opts)
                .await
                .map_err(|e| match e {
                    SshError::Sftp {
                        host,
                        path,
                        cause,
                        hint,
                        ..
                    } => SshError::Sftp {
                        host,
                        op: "write".into(),
                        path,
                        cause,
                        hint,
                    },
                    other => other,
                })?,
        };
        result.elapsed = started.elapsed();
        Ok(result)
    }

    /// Downloads one remote file to `local`, atomically (temp file beside it, then rename).
    async fn get_one(
        &self,
        remote: &str,
        local: &Path,
        st: &FileStat,
        opts: &GetOptions,
    ) -> Result<Transfer, SshError> {
        let dir = local
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = local
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = dir.join(format!("{}{}.tmp", temp_prefix(&name), token()));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)
            .map_err(|e| self.local_err("get", &temp, e))?;
        let mut guard = LocalTemp(Some(temp.clone()));
        let handle = self
            .raw
            .open(remote, OpenFlags::READ, FileAttributes::default())
            .await
            .map_err(|e| self.err("get", remote, e))?
            .handle;
        let size = st.size;
        let progress = Progress::new(&opts.sink, &self.host, remote, size);
        let raw = Arc::clone(&self.raw);
        let chunk = self.read_chunk;
        let (host, r) = (self.host.clone(), remote.to_string());
        let h = handle.clone();
        let result = on_workers(&self.host, async move {
            let (sink, end) = pump_down(raw, h, size, chunk, Sink::File(file), progress)
                .await
                .map_err(|e| sftp_error(&host, "get", &r, e))?;
            if let Sink::File(f) = sink {
                f.set_len(end).map_err(|e| SshError::Sftp {
                    host,
                    op: "get".into(),
                    path: r,
                    cause: format!("local: {e}"),
                    hint: String::new(),
                })?;
            }
            Ok(end)
        })
        .await;
        let _ = self.raw.close(handle).await;
        let bytes = result?;
        std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(st.mode))
            .map_err(|e| self.local_err("get", &temp, e))?;
        std::fs::rename(&temp, local).map_err(|e| self.local_err("get", local, e))?;
        guard.0 = None;
        Ok(Transfer {
            changed: true,
            bytes,
            files: 1,
            elapsed: Duration::ZERO,
        })
    }

    /// Mirrors the remote directory `remote` at the local path `local`.
    async fn get_tree(
        &self,
        remote: &str,
        local: &Path,
        mode: u32,
        opts: &GetOptions,
    ) -> Result<Transfer, SshError> {
        if !local.is_dir() {
            std::fs::create_dir_all(local).map_err(|e| self.local_err("get", local, e))?;
        }
        std::fs::set_permissions(local, std::fs::Permissions::from_mode(mode | 0o700))
            .map_err(|e| self.local_err("get", local, e))?;
        let mut total = Transfer::default();
        for entry in self.list(remote).await? {
            let r = join(remote, &entry.name);
            let l = local.join(&entry.name);
            match entry.stat.kind {
                FileKind::Dir => {
                    let t = Box::pin(self.get_tree(&r, &l, entry.stat.mode, opts)).await?;
                    total.add(&t);
                }
                FileKind::Symlink => {
                    let target = self
                        .raw
                        .readlink(r.as_str())
                        .await
                        .map_err(|e| self.err("get", &r, e))?
                        .files
                        .into_iter()
                        .next()
                        .map(|f| f.filename)
                        .unwrap_or_default();
                    let temp = local.join(format!("{}{}.tmp", temp_prefix(&entry.name), token()));
                    std::os::unix::fs::symlink(&target, &temp)
                        .and_then(|_| std::fs::rename(&temp, &l))
                        .map_err(|e| {
                            let _ = std::fs::remove_file(&temp);
                            self.local_err("get", &l, e)
                        })?;
                    total.add(&Transfer {
                        changed: true,
                        files: 1,
                        ..Transfer::default()
                    });
                }
                FileKind::File => {
                    let t = self.get_one(&r, &l, &entry.stat, opts).await?;
                    total.add(&t);
                }
                FileKind::Other => {}
            }
        }
        Ok(total)
    }

    /// `sftp.get`: a remote file (or, with `recursive`, a directory tree) to a local path. A
    /// file whose local destination is an existing directory goes inside it.
    pub async fn get(
        &self,
        remote: &str,
        local: &Path,
        opts: &GetOptions,
    ) -> Result<Transfer, SshError> {
        let started = Instant::now();
        let Some(st) = self.stat(remote, true).await? else {
            return Err(missing(&self.host, "get", remote));
        };
        let mut result = match st.kind {
            FileKind::Dir if !opts.recursive => {
                return Err(SshError::Sftp {
                    host: self.host.clone(),
                    op: "get".into(),
                    path: remote.to_string(),
                    cause: "is a directory".into(),
                    hint: " (pass recursive = true to copy a tree)".into(),
                });
            }
            FileKind::Dir => self.get_tree(remote, local, st.mode, opts).await?,
            _ => {
                let local = if local.is_dir() {
                    local.join(parent_and_name(remote).1)
                } else {
                    local.to_path_buf()
                };
                self.get_one(remote, &local, &st, opts).await?
            }
        };
        result.elapsed = started.elapsed();
        Ok(result)
    }
}
