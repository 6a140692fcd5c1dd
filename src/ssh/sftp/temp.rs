//! Remote temp files of uploads: the guard that removes what a failed or cancelled upload
//! left, and the sweep of temp files orphaned by uploads that died with their connection.

use std::sync::Arc;

use super::{FileKind, STALE_TEMP_AFTER, Sftp, SftpChannel, join};
use crate::ssh::cleanup::Cleanups;
use crate::ssh::session::ConnectionKeeper;

/// What a failed or cancelled upload leaves remotely and must remove: an open handle (closed
/// first), a temp or staging file, a staging directory. Removal is awaited with
/// [`RemoteTemp::release`] on the success and error paths; only a dropped (cancelled) upload
/// hands it to the session's [`Cleanups`], which the end of its run waits for.
pub(super) struct RemoteTemp {
    pub(super) raw: Arc<SftpChannel>,
    /// Keeps the connection open for a removal spawned from `drop`.
    pub(super) connection: ConnectionKeeper,
    pub(super) cleanups: Cleanups,
    pub(super) path: Option<String>,
    pub(super) handle: Option<String>,
    /// A staging directory to remove after the file.
    pub(super) dir: Option<String>,
}

impl RemoteTemp {
    pub(super) fn new(sftp: &Sftp, path: &str, handle: &str) -> RemoteTemp {
        let mut guard = RemoteTemp::dir(sftp, None);
        guard.path = Some(path.to_string());
        guard.handle = Some(handle.to_string());
        guard
    }

    /// A guard of a staging directory (`None`: nothing yet), which learns what to remove
    /// inside it as it is made.
    pub(super) fn dir(sftp: &Sftp, dir: Option<&str>) -> RemoteTemp {
        RemoteTemp {
            raw: Arc::clone(&sftp.raw),
            connection: sftp.connection.clone(),
            cleanups: sftp.cleanups.clone(),
            path: None,
            handle: None,
            dir: dir.map(str::to_string),
        }
    }

    pub(super) fn disarm(&mut self) {
        self.path = None;
        self.handle = None;
        self.dir = None;
    }

    /// The removal of what is still held, taken out of the guard.
    fn take_work(&mut self) -> Option<impl std::future::Future<Output = ()> + Send + 'static> {
        let (handle, path, dir) = (self.handle.take(), self.path.take(), self.dir.take());
        if handle.is_none() && path.is_none() && dir.is_none() {
            return None;
        }
        let (raw, connection) = (Arc::clone(&self.raw), self.connection.clone());
        Some(async move {
            let _open = connection;
            if let Some(h) = handle {
                let _ = raw.close(h).await;
            }
            if let Some(p) = path {
                let _ = raw.remove(p).await;
            }
            if let Some(d) = dir {
                let _ = raw.rmdir(d).await;
            }
        })
    }

    /// Removes what is still held, before returning (best effort: a failure to clean up
    /// does not hide the upload's own result).
    pub(super) async fn release(mut self) {
        if let Some(work) = self.take_work() {
            work.await;
        }
    }
}

impl Drop for RemoteTemp {
    fn drop(&mut self) {
        if let Some(work) = self.take_work() {
            self.cleanups.spawn(work);
        }
    }
}

impl Sftp {
    /// Removes drover temp files in `dir` that nobody has written to for
    /// [`STALE_TEMP_AFTER`] (their upload died with its connection). Runs once per directory
    /// per session, at its first upload; `now` is the server's clock (the mtime of the temp
    /// file that upload just created), so the controller's clock does not matter.
    pub(super) async fn remove_stale_temps(&self, dir: &str, now: u32) {
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
}
