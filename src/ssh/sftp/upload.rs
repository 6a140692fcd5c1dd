//! Uploads: atomic (temp file beside the target, then posix-rename), through sudo (a private
//! staging copy installed as root), recursive trees and symlinks.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use russh_sftp::protocol::{FileAttributes, OpenFlags};

use super::pump::{Data, Progress, not_regular_local, on_workers, pump_up};
use super::temp::RemoteTemp;
use super::{
    FILES_AT_ONCE, FileKind, PutOptions, Sftp, Source, Transfer, join, parent_and_name, sftp_error,
    temp_name, token,
};
use crate::ssh::{ExecOptions, Session, shell_quote};
use crate::ssh::{Hint, HintOption, SshError};

impl Sftp {
    /// Writes `data` into the open remote `handle` on the worker threads, reporting progress
    /// as an upload to `dest`.
    async fn send(
        &self,
        handle: &str,
        data: Data,
        dest: &str,
        opts: &PutOptions,
    ) -> Result<u64, SshError> {
        let progress = Progress::new(&opts.sink, &self.host, dest, data.len());
        let (raw, chunk) = (Arc::clone(&self.raw), self.write_chunk);
        let (host, d, h) = (self.host.clone(), dest.to_string(), handle.to_string());
        on_workers(&self.host, async move {
            pump_up(raw, h, data, chunk, progress)
                .await
                .map_err(|e| sftp_error(&host, "put", &d, e))
        })
        .await
    }

    /// Uploads `data` to a new temp file beside `dest` and renames it over `dest`. On
    /// failure the temp file is removed before this returns.
    async fn upload_atomic(
        &self,
        session: &Session,
        data: Data,
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
        let handle = match self.raw.open(temp.as_str(), flags, private).await {
            Ok(h) => h.handle,
            // A missing directory is not a permission problem (OpenSSH may say either).
            Err(e) => match self.stat(&dir, true).await {
                Ok(None) => return Err(self.no_such_directory(dest, &dir)),
                _ => return Err(self.err("put", dest, e)),
            },
        };
        let mut guard = RemoteTemp::new(self, &temp, &handle);
        let result: Result<u64, SshError> = async {
            if let Ok(a) = self.raw.fstat(handle.as_str()).await
                && let Some(now) = a.attrs.mtime
            {
                self.remove_stale_temps(&dir, now).await;
            }
            let sent = self.send(&handle, data, dest, opts).await?;
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
                .close(handle.as_str())
                .await
                .map_err(|e| self.err("put", dest, e))?;
            if opts.owner.is_some() || opts.group.is_some() {
                self.chown_temp(session, &temp, dest, opts).await?;
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
            Ok(sent)
        }
        .await;
        match result {
            Ok(sent) => {
                guard.disarm();
                Ok(sent)
            }
            Err(e) => {
                guard.release().await;
                Err(e)
            }
        }
    }

    /// An upload to `dest` whose directory `dir` does not exist.
    fn no_such_directory(&self, dest: &str, dir: &str) -> SshError {
        SshError::Sftp {
            host: self.host.clone(),
            op: "put".into(),
            path: dest.to_string(),
            cause: format!("no such directory {}", dir.trim_end_matches('/')),
            hint: Hint::text("create it first; drover does not create parent directories"),
        }
    }

    /// Gives the uploaded temp file its owner and group (`chown`, as the login user).
    async fn chown_temp(
        &self,
        session: &Session,
        temp: &str,
        dest: &str,
        opts: &PutOptions,
    ) -> Result<(), SshError> {
        let spec = format!(
            "{}{}",
            opts.owner.as_deref().unwrap_or(""),
            opts.group
                .as_deref()
                .map(|g| format!(":{g}"))
                .unwrap_or_default()
        );
        let cmd = format!("chown -- {} {}", shell_quote(&spec), shell_quote(temp));
        let out = session.exec(&cmd, &ExecOptions::default()).await?;
        if out.code == Some(0) {
            return Ok(());
        }
        Err(SshError::Sftp {
            host: self.host.clone(),
            op: "put".into(),
            path: dest.to_string(),
            cause: format!(
                "cannot set owner {spec}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            hint: Hint::Pass {
                option: HintOption::Sudo,
                why: "to set another owner",
            },
        })
    }

    /// Uploads to a private staging file, then moves it into place as root with
    /// `sudo install` and `mv` (one command; the password, if any, goes on stdin). The
    /// staging file and directory are removed before this returns, whatever happened, so
    /// an upload that is a script's last statement leaves nothing in `/tmp`.
    async fn upload_sudo(
        &self,
        session: &Session,
        data: Data,
        dest: &str,
        mode: u32,
        opts: &PutOptions,
    ) -> Result<u64, SshError> {
        let staging_dir = format!("/tmp/.drover-put-{}", token());
        let dir_attrs = FileAttributes {
            permissions: Some(0o700),
            ..Default::default()
        };
        self.raw
            .mkdir(staging_dir.as_str(), dir_attrs)
            .await
            .map_err(|e| self.err("put", &staging_dir, e))?;
        let mut guard = RemoteTemp::dir(self, Some(&staging_dir));
        let result = self
            .stage_and_install(session, &mut guard, &staging_dir, data, dest, mode, opts)
            .await;
        guard.release().await;
        result
    }

    /// The body of [`Sftp::upload_sudo`] once its staging directory exists; `guard` learns
    /// each remote thing to remove as it is made.
    #[allow(clippy::too_many_arguments)]
    async fn stage_and_install(
        &self,
        session: &Session,
        guard: &mut RemoteTemp,
        staging_dir: &str,
        data: Data,
        dest: &str,
        mode: u32,
        opts: &PutOptions,
    ) -> Result<u64, SshError> {
        // sudo to a user other than root must be able to read the file: then the directory
        // is 0711 (not listable) and the file name unguessable.
        let to_root = opts.sudo_user.as_deref().is_none_or(|u| u == "root");
        let (dir_mode, file_mode) = if to_root {
            (0o700, 0o600)
        } else {
            (0o711, 0o644)
        };
        self.chmod(staging_dir, dir_mode).await?;
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
        let sent = self.send(&handle, data, dest, opts).await?;
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
                hint: Hint::None,
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
        let (data, local_mode) = match &src {
            Source::Bytes(b) => (Data::Bytes(Arc::clone(b)), 0o644),
            Source::Path(p) => {
                let data = Data::open(p).map_err(|e| self.local_err("put", p, e))?;
                let Data::File(f, _) = &data else {
                    unreachable!("a path opens as a file")
                };
                let m = f.metadata().map_err(|e| self.local_err("put", p, e))?;
                (data, m.mode() & 0o7777)
            }
        };
        let total = data.len();
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
                    == data.sha256().await.map_err(|e| match &src {
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
            self.upload_sudo(session, data, dest, mode, opts).await?
        } else {
            self.upload_atomic(session, data, dest, mode, opts).await?
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
                    hint: Hint::None,
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
                    hint: Hint::None,
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
    pub(crate) async fn put(
        &self,
        session: &Session,
        src: Source,
        dest: &str,
        opts: &PutOptions,
    ) -> Result<Transfer, SshError> {
        let started = Instant::now();
        // A device or FIFO is refused before anything happens remotely.
        if let Source::Path(p) = &src
            && let Ok(meta) = std::fs::metadata(p)
            && !meta.is_file()
            && !meta.is_dir()
        {
            return Err(SshError::Sftp {
                host: self.host.clone(),
                op: "put".into(),
                path: p.display().to_string(),
                cause: format!("local: {}", not_regular_local(&meta)),
                hint: Hint::text("drover copies only regular files, directories and symlinks"),
            });
        }
        let mut result = match &src {
            Source::Path(p) if p.is_dir() => {
                if !opts.recursive {
                    return Err(SshError::Sftp {
                        host: self.host.clone(),
                        op: "put".into(),
                        path: p.display().to_string(),
                        cause: "is a directory".into(),
                        hint: Hint::Pass {
                            option: HintOption::Recursive,
                            why: "to copy a tree",
                        },
                    });
                }
                if opts.sudo {
                    return Err(SshError::Sftp {
                        host: self.host.clone(),
                        op: "put".into(),
                        path: p.display().to_string(),
                        cause: "sudo is supported for single files only".into(),
                        hint: Hint::None,
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
                    // `dir/` names a directory: one that is missing is not created.
                    Ok(_) if dest.ends_with('/') && dest.len() > 1 => {
                        return Err(self.no_such_directory(dest, dest));
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
}
