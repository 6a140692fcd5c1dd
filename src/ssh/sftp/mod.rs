//! File transfer over a host's connection: one SFTP subsystem channel per connection, opened
//! lazily ([`SftpSlot`], held beside the [`Session`] by whoever owns the connection) and shared
//! by every task, beside the command channels. This module uses the session; the session
//! knows nothing of SFTP.
//!
//! - Uploads are atomic: data goes to a temp file in the destination directory (a hidden
//!   `.NAME.drover-RANDOM.tmp`, which `*.conf`-style globs do not match), then
//!   `posix-rename@openssh.com` replaces the target in one step. On failure the temp file is
//!   removed before the call returns (on cancellation, by a clean-up tracked by the session's
//!   context, [`crate::ssh::cleanup`]) and the old file is left as it was; temp files orphaned by a
//!   dropped connection are removed, once stale, by the first upload of each connection to
//!   that directory.
//! - Data is pumped by our own loop with many requests in flight, on tokio's worker threads
//!   (not on the Lua thread): large reads from disk, large SFTP requests.
//! - Downloads write a local temp file beside the target and rename it into place. Every
//!   local name below the destination is created through directory descriptors without
//!   following symlinks (`local.rs`), so nothing a host sends can write outside it.
//! - Only regular files, directories and symlinks are transferred: devices, FIFOs and
//!   sockets are refused on either side before a byte is read, and a file is read up to the
//!   size it had when opened (so `/dev/zero` or a growing file cannot make a copy unbounded).
//!
//! Symlinks in recursive copies are recreated as symlinks with the same target text (never
//! followed).

mod channel;
mod download;
mod local;
mod pump;
mod temp;
mod upload;

pub(crate) use download::download_name;

use channel::SftpChannel;

use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use russh_sftp::client::error::Error as SftpProtoError;
use russh_sftp::protocol::{FileAttributes, FileType, Packet, StatusCode};

use super::OutputSink;
use super::cleanup::Cleanups;
use super::session::{ConnectionKeeper, Session};
use super::{Hint, HintOption, Secret, SshError};

/// Bytes per SFTP read or write request, at most (OpenSSH's sftp-server limit is 255 KiB; a
/// server announcing smaller limits through `limits@openssh.com` gets those). Large requests
/// took a third less client CPU per byte than 32 KiB ones in scripts/bench-sftp.sh.
const CHUNK: usize = 255 << 10;
/// What every SFTP server must accept (draft-ietf-secsh-filexfer-02).
const MIN_CHUNK: usize = 32 << 10;
/// Requests in flight per transfer.
const IN_FLIGHT: usize = 16;
/// Seconds the server may take to answer one request.
const REQUEST_TIMEOUT_SECS: u64 = 60;
/// Transfers at least this large report progress.
const PROGRESS_MIN: u64 = 1 << 20;
/// How often a transfer reports progress.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);
/// A temp file untouched this long belongs to an upload that died with its connection.
pub(crate) const STALE_TEMP_AFTER: Duration = Duration::from_secs(60);
/// Files of one recursive copy transferred at once.
const FILES_AT_ONCE: usize = 4;

/// The SFTP session of one connection.
pub(crate) struct Sftp {
    raw: Arc<SftpChannel>,
    host: String,
    posix_rename: bool,
    /// Bytes per read and per write request.
    read_chunk: usize,
    write_chunk: usize,
    /// Directories whose stale temp files this session has already removed.
    cleaned_dirs: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Holds one of the connection's channel slots for as long as the session lives.
    _slot: tokio::sync::OwnedSemaphorePermit,
    /// The connection, for clean-ups that outlive the session (see `temp.rs`).
    connection: ConnectionKeeper,
    /// Where those clean-ups go: the connection's context's.
    cleanups: Cleanups,
}

/// The SFTP session of one connection, opened on first use and then shared. Whoever holds a
/// connection holds its slot beside it (and a new slot with a new connection).
#[derive(Default)]
pub(crate) struct SftpSlot {
    sftp: tokio::sync::OnceCell<Arc<Sftp>>,
}

impl SftpSlot {
    /// The SFTP session on `session` (opened by the first caller; later callers wait for it).
    pub(crate) async fn get(&self, session: &Session) -> Result<Arc<Sftp>, SshError> {
        self.sftp
            .get_or_try_init(|| async { Sftp::open(session).await.map(Arc::new) })
            .await
            .cloned()
    }
}

/// What a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    File,
    Dir,
    Symlink,
    Other,
}

impl FileKind {
    pub(crate) fn as_str(self) -> &'static str {
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
pub(crate) struct FileStat {
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
pub(crate) struct DirEntry {
    pub name: String,
    pub stat: FileStat,
}

/// How to upload (one struct for every caller).
#[derive(Debug, Clone)]
pub(crate) struct PutOptions {
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
pub(crate) struct GetOptions {
    pub recursive: bool,
    pub sink: Option<Arc<dyn OutputSink>>,
}

/// What a transfer did.
#[derive(Debug, Clone, Default)]
pub(crate) struct Transfer {
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
pub(crate) enum Source {
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

/// `.NAME.drover-`, with NAME cut to 200 bytes so a temp name stays within NAME_MAX (255).
fn temp_prefix(name: &str) -> String {
    let mut cut = name.len().min(200);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(".{}.drover-", &name[..cut])
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

/// Is this SFTP error "no such file"?
fn is_missing(e: &SftpProtoError) -> bool {
    matches!(e, SftpProtoError::Status(s) if s.status_code == StatusCode::NoSuchFile)
}

fn is_eof(e: &SftpProtoError) -> bool {
    matches!(e, SftpProtoError::Status(s) if s.status_code == StatusCode::Eof)
}

/// An SFTP failure as an error naming host, operation, path, cause and a hint; a request
/// the connection ended under is [`SshError::ConnectionLost`].
fn sftp_error(host: &str, op: &str, path: &str, e: SftpProtoError) -> SshError {
    if channel::is_lost(&e) {
        return SshError::ConnectionLost {
            host: host.to_string(),
            during: format!("sftp {op} {path}"),
        };
    }
    let (cause, hint) = match &e {
        SftpProtoError::Status(s) => match s.status_code {
            StatusCode::NoSuchFile => ("no such file or directory".to_string(), Hint::None),
            StatusCode::PermissionDenied => (
                "permission denied".to_string(),
                if matches!(op, "put" | "write") {
                    Hint::Pass {
                        option: HintOption::Sudo,
                        why: "for root-owned destinations",
                    }
                } else {
                    Hint::None
                },
            ),
            _ if !s.error_message.is_empty() && s.error_message != "Failure" => {
                (s.error_message.clone(), Hint::None)
            }
            code => (code.to_string(), Hint::None),
        },
        SftpProtoError::Timeout => (
            format!("no answer from the server within {REQUEST_TIMEOUT_SECS}s"),
            Hint::None,
        ),
        other => (other.to_string(), Hint::None),
    };
    SshError::Sftp {
        host: host.to_string(),
        op: op.to_string(),
        path: path.to_string(),
        cause,
        hint,
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

impl Sftp {
    /// Opens the `sftp` subsystem on `session`, taking one of its channel slots (share it
    /// through an [`SftpSlot`] rather than opening one per transfer).
    pub(crate) async fn open(session: &Session) -> Result<Sftp, SshError> {
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
        let raw = SftpChannel::new(channel.into_stream(), config, session.keep_open());
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
            connection: session.keep_open(),
            cleanups: session.cleanups().clone(),
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
            hint: Hint::None,
        }
    }

    /// Metadata of `path` (following symlinks unless `follow` is false); `None` if absent.
    pub(crate) async fn stat(
        &self,
        path: &str,
        follow: bool,
    ) -> Result<Option<FileStat>, SshError> {
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
    pub(crate) async fn list(&self, dir: &str) -> Result<Vec<DirEntry>, SshError> {
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
    pub(crate) async fn mkdir(
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
                        hint: Hint::None,
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
    pub(crate) async fn remove(&self, path: &str, recursive: bool) -> Result<(), SshError> {
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
                *hint = Hint::Pass {
                    option: HintOption::Recursive,
                    why: "to remove a directory that is not empty",
                };
            }
            err
        })
    }

    /// Renames `from` to `to`, replacing `to` if it exists (posix-rename where the server has it).
    pub(crate) async fn rename(&self, from: &str, to: &str) -> Result<(), SshError> {
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
    pub(crate) async fn chmod(&self, path: &str, mode: u32) -> Result<(), SshError> {
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
}
