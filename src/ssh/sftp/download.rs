//! Downloads: a remote regular file (into memory for `read`) or directory tree to a local
//! destination. Below the
//! directory the caller chose, every local name is checked and written through
//! [`super::local`], so whatever the host sends stays inside it.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use russh_sftp::protocol::{FileAttributes, FileType, OpenFlags};

use super::local::{LocalDir, LocalTemp, NotADir, bad_name};
use super::pump::{Progress, Sink, UNSIZED_MAX, on_workers, pump_down};
use super::{FileKind, GetOptions, Sftp, Transfer, join, sftp_error, temp_prefix, token};
use crate::ssh::{Hint, HintOption, SshError};

/// Permission bits a downloaded file gets: the remote ones without set-user-id, set-group-id
/// and sticky, so a host cannot plant a set-id program on the controller.
fn local_file_mode(remote: u32) -> u32 {
    remote & 0o777
}

/// Permission bits a downloaded directory gets: the remote ones (no set-id or sticky bits),
/// always writable and searchable by us so the copy can be filled and updated.
fn local_dir_mode(remote: u32) -> u32 {
    (remote & 0o777) | 0o700
}

/// The name a download of `remote` is given locally, with `remote` normalised lexically
/// (empty and `.` components dropped, `..` taking back the name before it):
/// `/pub/./data/` gives `("/pub/data", "data")`. A path that does not end in a name of its
/// own (`/`, `/pub/..`, `.`) is an error, never a local `..` or `.`.
pub(crate) fn download_name(host: &str, remote: &str) -> Result<(String, String), SshError> {
    let absolute = remote.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in remote.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                _ if absolute => {}
                _ => parts.push(".."),
            },
            name => parts.push(name),
        }
    }
    let normal = match (absolute, parts.is_empty()) {
        (true, _) => format!("/{}", parts.join("/")),
        (false, true) => ".".to_string(),
        (false, false) => parts.join("/"),
    };
    match parts.last() {
        Some(name) if bad_name(name).is_none() => Ok((normal, name.to_string())),
        _ => Err(SshError::Sftp {
            host: host.to_string(),
            op: "get".into(),
            path: remote.to_string(),
            cause: format!("the path ({normal}) does not end in a name to give the local copy"),
            hint: Hint::text("name the file or directory itself, such as /srv/data"),
        }),
    }
}

impl Sftp {
    /// The whole content of a remote regular file (up to its size when opened).
    pub(crate) async fn read(&self, path: &str) -> Result<Vec<u8>, SshError> {
        let attrs = match self.raw.stat(path).await {
            Ok(a) => a.attrs,
            Err(e) => return Err(self.err("read", path, e)),
        };
        self.check_regular("read", path, &attrs)?;
        let progress = Progress::new(&None, &self.host, path, 0);
        match self
            .read_regular("read", path, Sink::Memory(Vec::new()), progress)
            .await?
        {
            (Sink::Memory(mut v), end, _) => {
                v.truncate(end as usize);
                Ok(v)
            }
            (Sink::File(_), _, _) => unreachable!("read pumps into memory"),
        }
    }

    /// Refuses to read what is not a regular file, before opening it: opening a FIFO
    /// would block the server's sftp session until a writer came, and a device has no end.
    fn check_regular(&self, op: &str, path: &str, attrs: &FileAttributes) -> Result<(), SshError> {
        match attrs.file_type() {
            FileType::File => Ok(()),
            FileType::Dir => Err(SshError::Sftp {
                host: self.host.clone(),
                op: op.to_string(),
                path: path.to_string(),
                cause: "is a directory".into(),
                hint: if op == "get" {
                    Hint::Pass {
                        option: HintOption::Recursive,
                        why: "to copy a tree",
                    }
                } else {
                    Hint::None
                },
            }),
            _ => Err(not_regular(&self.host, op, path, attrs.permissions)),
        }
    }

    /// Opens the remote regular file `path`, checks again on the open handle that it is one
    /// (a swap since the caller's stat cannot make the read endless), and reads it into
    /// `sink`: never past the size it had when opened; a file reporting size 0 (a pseudo-file
    /// such as `/proc/cpuinfo`) to its end, but at most [`UNSIZED_MAX`] bytes. Returns the
    /// sink, the bytes read and the file's attributes at open.
    async fn read_regular(
        &self,
        op: &str,
        path: &str,
        sink: Sink,
        mut progress: Progress,
    ) -> Result<(Sink, u64, FileAttributes), SshError> {
        let handle = self
            .raw
            .open(path, OpenFlags::READ, FileAttributes::default())
            .await
            .map_err(|e| self.err(op, path, e))?
            .handle;
        let attrs = match self.raw.fstat(handle.as_str()).await {
            Ok(a) => a.attrs,
            Err(e) => {
                let _ = self.raw.close(handle).await;
                return Err(self.err(op, path, e));
            }
        };
        if let Err(e) = self.check_regular(op, path, &attrs) {
            let _ = self.raw.close(handle).await;
            return Err(e);
        }
        let size = attrs.size.unwrap_or(0);
        progress.set_total(size);
        let raw = Arc::clone(&self.raw);
        let chunk = self.read_chunk;
        let h = handle.clone();
        let result = on_workers(&self.host, {
            let (host, op, path) = (self.host.clone(), op.to_string(), path.to_string());
            async move {
                pump_down(raw, h, size, chunk, sink, progress)
                    .await
                    .map_err(|e| sftp_error(&host, &op, &path, e))
            }
        })
        .await;
        let _ = self.raw.close(handle).await;
        let (sink, end) = result?;
        if size == 0 && end > UNSIZED_MAX {
            return Err(SshError::Sftp {
                host: self.host.clone(),
                op: op.to_string(),
                path: path.to_string(),
                cause: format!(
                    "reports size 0 but holds more than {} MiB; refusing to read further",
                    UNSIZED_MAX >> 20
                ),
                hint: Hint::None,
            });
        }
        Ok((sink, end, attrs))
    }

    /// The attributes of the download source `remote` (symlinks followed), refusing a
    /// directory without `recursive` and anything but regular files and directories.
    async fn source_attrs(
        &self,
        remote: &str,
        opts: &GetOptions,
    ) -> Result<FileAttributes, SshError> {
        let attrs = match self.raw.stat(remote).await {
            Ok(a) => a.attrs,
            Err(e) => return Err(self.err("get", remote, e)),
        };
        if !(opts.recursive && attrs.file_type() == FileType::Dir) {
            self.check_regular("get", remote, &attrs)?;
        }
        Ok(attrs)
    }

    /// Downloads one remote regular file to `name` in `dir`, atomically (a temp file beside
    /// it, then a rename that replaces a file or symlink there, never following it).
    async fn get_file(
        &self,
        remote: &str,
        dir: &LocalDir,
        name: &str,
        opts: &GetOptions,
    ) -> Result<Transfer, SshError> {
        let temp = format!("{}{}.tmp", temp_prefix(name), token());
        let local_err = |path: &str, e| self.local_err("get", &dir.display(path), e);
        let file = dir.create_new(&temp).map_err(|e| local_err(&temp, e))?;
        let mut guard = LocalTemp {
            dir,
            name: Some(temp.clone()),
        };
        let progress = Progress::new(&opts.sink, &self.host, remote, 0);
        let (sink, bytes, attrs) = self
            .read_regular("get", remote, Sink::File(file), progress)
            .await?;
        let Sink::File(file) = sink else {
            unreachable!("get pumps into a file")
        };
        file.set_len(bytes).map_err(|e| local_err(&temp, e))?;
        // On the descriptor: nothing is followed.
        let mode = local_file_mode(attrs.permissions.unwrap_or(0o600));
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(|e| local_err(&temp, e))?;
        drop(file);
        dir.rename(&temp, name).map_err(|e| local_err(name, e))?;
        guard.name = None;
        Ok(Transfer {
            changed: true,
            bytes,
            files: 1,
            elapsed: Duration::ZERO,
        })
    }

    /// Recreates the remote symlink `remote` as `name` in `dir` (same target text; a temp
    /// link renamed into place).
    async fn get_symlink(
        &self,
        remote: &str,
        dir: &LocalDir,
        name: &str,
    ) -> Result<Transfer, SshError> {
        let target = self
            .raw
            .readlink(remote)
            .await
            .map_err(|e| self.err("get", remote, e))?
            .files
            .into_iter()
            .next()
            .map(|f| f.filename)
            .unwrap_or_default();
        let temp = format!("{}{}.tmp", temp_prefix(name), token());
        dir.symlink(&target, &temp)
            .and_then(|_| {
                dir.rename(&temp, name).inspect_err(|_| {
                    let _ = dir.remove(&temp);
                })
            })
            .map_err(|e| self.local_err("get", &dir.display(name), e))?;
        Ok(Transfer {
            changed: true,
            files: 1,
            ..Transfer::default()
        })
    }

    /// Mirrors the remote directory `remote` into the open local directory `dir`.
    async fn get_tree(
        &self,
        remote: &str,
        dir: &LocalDir,
        mode: u32,
        opts: &GetOptions,
    ) -> Result<Transfer, SshError> {
        dir.chmod(local_dir_mode(mode))
            .map_err(|e| self.local_err("get", dir.path(), e))?;
        let mut total = Transfer::default();
        for entry in self.list(remote).await? {
            let r = join(remote, &entry.name);
            let refuse = |cause: String| SshError::Sftp {
                host: self.host.clone(),
                op: "get".into(),
                path: r.clone(),
                cause,
                hint: Hint::None,
            };
            if let Some(why) = bad_name(&entry.name) {
                return Err(refuse(format!(
                    "the host sent the entry name {:?}, which {why}; refusing it",
                    entry.name
                )));
            }
            let t = match entry.stat.kind {
                FileKind::Dir => {
                    let sub = dir
                        .subdir(&entry.name, NotADir::Replace)
                        .map_err(|e| self.local_err("get", &dir.display(&entry.name), e))?;
                    Box::pin(self.get_tree(&r, &sub, entry.stat.mode, opts)).await?
                }
                FileKind::Symlink => self.get_symlink(&r, dir, &entry.name).await?,
                FileKind::File => self.get_file(&r, dir, &entry.name, opts).await?,
                FileKind::Other => {
                    return Err(refuse(
                        "is not a regular file, directory or symlink (a device, FIFO or \
                         socket); refusing to copy it"
                            .into(),
                    ));
                }
            };
            total.add(&t);
        }
        Ok(total)
    }

    /// Downloads `remote` (a file, or with `recursive` a tree) to the entry `name` of the
    /// trusted directory `base`, opened first through `subdirs`.
    async fn get_at(
        &self,
        remote: &str,
        attrs: &FileAttributes,
        base: &Path,
        subdirs: &[&str],
        name: &str,
        opts: &GetOptions,
    ) -> Result<Transfer, SshError> {
        let started = Instant::now();
        let mut at = base.to_path_buf();
        for n in subdirs.iter().chain([&name]) {
            at.push(n);
            if let Some(why) = bad_name(n) {
                return Err(SshError::Sftp {
                    host: self.host.clone(),
                    op: "get".into(),
                    path: remote.to_string(),
                    cause: format!("the local name {n:?} {why}; refusing to write there"),
                    hint: Hint::None,
                });
            }
        }
        let mut dir = LocalDir::open_trusted(base).map_err(|e| self.local_err("get", base, e))?;
        for n in subdirs {
            dir = dir
                .subdir(n, NotADir::Refuse)
                .map_err(|e| self.local_err("get", &dir.display(n), e))?;
        }
        let mut result = if attrs.file_type() == FileType::Dir {
            let root = dir
                .subdir(name, NotADir::Replace)
                .map_err(|e| self.local_err("get", &at, e))?;
            let mode = attrs.permissions.unwrap_or(0o700);
            self.get_tree(remote, &root, mode, opts).await?
        } else {
            self.get_file(remote, &dir, name, opts).await?
        };
        result.elapsed = started.elapsed();
        Ok(result)
    }

    /// `sftp.get`: a remote regular file (or, with `recursive`, a directory tree) to the
    /// local path `local`, the caller's own choice. A file whose `local` is an existing
    /// directory goes inside it (named after the remote path); a tree is mirrored into
    /// `local`. Names the host sends are confined below `local` (see `sftp/local.rs`).
    pub(crate) async fn get(
        &self,
        remote: &str,
        local: &Path,
        opts: &GetOptions,
    ) -> Result<Transfer, SshError> {
        let started = Instant::now();
        let attrs = self.source_attrs(remote, opts).await?;
        if attrs.file_type() == FileType::Dir {
            let root =
                LocalDir::open_trusted(local).map_err(|e| self.local_err("get", local, e))?;
            let mode = attrs.permissions.unwrap_or(0o700);
            let mut result = self.get_tree(remote, &root, mode, opts).await?;
            result.elapsed = started.elapsed();
            return Ok(result);
        }
        let (base, name) = if local.is_dir() {
            (local.to_path_buf(), download_name(&self.host, remote)?.1)
        } else {
            let name = local.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
                self.local_err(
                    "get",
                    local,
                    std::io::Error::other("does not end in a file name (UTF-8) to write to"),
                )
            })?;
            let parent = local.parent().unwrap_or(Path::new("."));
            (parent.to_path_buf(), name.to_string())
        };
        self.get_at(remote, &attrs, &base, &[], &name, opts).await
    }

    /// Downloads `remote` (a file, or with `recursive` a tree) to
    /// `base/names[0]/.../names[last]`. `base` is the caller's directory (created if
    /// missing); every name below it must be a plain file name (no `/`, `.`, `..`), and the
    /// directories between are created but never reached through a symlink.
    pub(crate) async fn get_confined(
        &self,
        remote: &str,
        base: &Path,
        names: &[&str],
        opts: &GetOptions,
    ) -> Result<Transfer, SshError> {
        let Some((name, subdirs)) = names.split_last() else {
            return Err(self.local_err(
                "get",
                base,
                std::io::Error::other("no local name to write to"),
            ));
        };
        let attrs = self.source_attrs(remote, opts).await?;
        self.get_at(remote, &attrs, base, subdirs, name, opts).await
    }
}

/// What a file that is not a regular one is, for refusals ("a character device").
fn special_kind(perms: Option<u32>) -> &'static str {
    match perms.unwrap_or(0) & 0o170000 {
        0o020000 => "a character device",
        0o060000 => "a block device",
        0o010000 => "a FIFO",
        0o140000 => "a socket",
        0o040000 => "a directory",
        0o120000 => "a symlink",
        0 => "of unknown type (the server sent no file type)",
        _ => "of an unknown type",
    }
}

/// The refusal of a device, FIFO, socket or other special file.
fn not_regular(host: &str, op: &str, path: &str, perms: Option<u32>) -> SshError {
    SshError::Sftp {
        host: host.to_string(),
        op: op.to_string(),
        path: path.to_string(),
        cause: format!(
            "is {}, not a regular file; refusing to read it",
            special_kind(perms)
        ),
        hint: Hint::text("drover copies only regular files, directories and symlinks"),
    }
}

#[cfg(test)]
mod tests {
    use super::download_name;

    #[test]
    fn download_names_are_single_safe_names() {
        let ok = |r: &str| download_name("h", r).map_err(|e| e.to_string());
        assert_eq!(
            ok("/pub/./data/").unwrap(),
            ("/pub/data".into(), "data".into())
        );
        assert_eq!(ok("/a/b/..").unwrap(), ("/a".into(), "a".into()));
        assert_eq!(ok("x/../y").unwrap(), ("y".into(), "y".into()));
        assert_eq!(ok("../../z").unwrap(), ("../../z".into(), "z".into()));
        assert_eq!(ok("/../../etc").unwrap(), ("/etc".into(), "etc".into()));
        for bad in [
            "/", "/pub/..", ".", "..", "", "a/..", "../..", "//", "/a/../..",
        ] {
            let e = ok(bad).unwrap_err();
            assert!(e.contains("does not end in a name"), "{bad:?}: {e}");
        }
    }

    /// Every path of up to 5 components drawn from `""`, `.`, `..`, `a` and a newline (with
    /// and without a leading `/`): never a panic, and a name is always one safe component,
    /// the normalised path's last.
    #[test]
    fn download_name_of_every_short_path_is_safe() {
        let parts = ["", ".", "..", "a", "\n"];
        let mut paths = vec![String::new()];
        for _ in 0..5 {
            let mut longer = Vec::new();
            for p in &paths {
                for part in parts {
                    longer.push(format!("{p}/{part}"));
                }
            }
            paths.extend(longer);
        }
        for path in paths
            .iter()
            .flat_map(|p| [p.clone(), p.trim_start_matches('/').to_string()])
        {
            if let Ok((normal, name)) = download_name("h", &path) {
                assert_eq!(super::bad_name(&name), None, "{path:?}");
                assert!(normal.ends_with(&name), "{path:?} -> {normal:?}");
                assert!(
                    !normal.split('/').any(|c| c == "."),
                    "{path:?} -> {normal:?}"
                );
            }
        }
    }

    #[test]
    fn set_id_bits_are_never_copied() {
        assert_eq!(super::local_file_mode(0o104755), 0o755);
        assert_eq!(super::local_dir_mode(0o41000), 0o700);
    }
}
