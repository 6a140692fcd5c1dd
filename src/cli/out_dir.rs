//! `--out-dir DIR`: each host's stdout and stderr lines also go to `DIR/<host>.out` and
//! `DIR/<host>.err` (as pssh's `-o`/`-e`). A sink in front of the renderer: the library
//! knows nothing of it. Files are opened relative to a handle on DIR, never following a
//! symlink, and only for names that are one plain path component.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::ffi::CString;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Mutex;

use drover::report::{Event, EventSink, SharedSink, Stream};

/// Longest host name that still leaves room for `.out` in a 255-byte file name.
const MAX_NAME_BYTES: usize = 250;

/// Why `--out-dir` cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("--out-dir {dir}: {cause}")]
pub struct OutDirError {
    dir: String,
    cause: std::io::Error,
}

/// Writes host output under a directory, then passes every event on.
pub struct OutDir {
    dir: File,
    inner: SharedSink,
    /// Files per host and stream.
    files: Mutex<HashMap<(String, Stream), Slot>>,
}

/// One host's file for one stream.
enum Slot {
    Open(File),
    /// Its host finished: closed, so descriptors follow `--forks`, not the fleet's size. A
    /// late line (from a task the host left running) reopens it for appending.
    Closed,
    /// It could not be opened (warned once).
    Failed,
}

/// Whether `host` can name a file in DIR: one component, not `.`/`..`, no slash or NUL.
fn safe_name(host: &str) -> bool {
    !host.is_empty()
        && host != "."
        && host != ".."
        && host.len() <= MAX_NAME_BYTES
        && !host.contains(['/', '\0'])
}

impl OutDir {
    /// Creates `dir` (and its parents) when missing and opens it.
    pub fn open(dir: &Path, inner: SharedSink) -> Result<OutDir, OutDirError> {
        let bad = |cause| OutDirError {
            dir: dir.display().to_string(),
            cause,
        };
        std::fs::create_dir_all(dir).map_err(bad)?;
        let dir = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(dir)
            .map_err(bad)?;
        Ok(OutDir {
            dir,
            inner,
            files: Mutex::new(HashMap::new()),
        })
    }

    /// `name` in DIR, created or truncated (or appended to), opened without following a
    /// symlink.
    fn create(&self, name: &str, append: bool) -> std::io::Result<File> {
        let c_name = CString::new(name)
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
        let keep = if append {
            libc::O_APPEND
        } else {
            libc::O_TRUNC
        };
        let flags = libc::O_WRONLY | libc::O_CREAT | keep | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        // SAFETY: the directory fd is open for the life of `self`, the name is NUL-terminated.
        let fd = unsafe { libc::openat(self.dir.as_raw_fd(), c_name.as_ptr(), flags, 0o644) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: `fd` was just opened and is owned by nobody else.
        Ok(unsafe { File::from_raw_fd(fd) })
    }

    /// The file for `host`'s `stream`, opened on first use (and again after its host
    /// finished); `close` drops it afterwards.
    fn with_file(&self, host: &str, stream: Stream, close: bool, write: impl FnOnce(&mut File)) {
        let Ok(mut files) = self.files.lock() else {
            return;
        };
        // a first open truncates; a reopen after the host finished appends
        let slot = match files.entry((host.to_string(), stream)) {
            Entry::Vacant(v) => v.insert(self.open_slot(host, stream, false)),
            Entry::Occupied(o) => {
                let slot = o.into_mut();
                if let Slot::Closed = slot {
                    *slot = self.open_slot(host, stream, true);
                }
                slot
            }
        };
        if let Slot::Open(file) = slot {
            write(file);
            if close {
                *slot = Slot::Closed;
            }
        }
    }

    fn open_slot(&self, host: &str, stream: Stream, append: bool) -> Slot {
        let suffix = match stream {
            Stream::Stdout => "out",
            Stream::Stderr => "err",
        };
        let name = format!("{host}.{suffix}");
        let opened = if safe_name(host) {
            self.create(&name, append)
        } else {
            Err(std::io::Error::other(
                "the host name is not one plain file name",
            ))
        };
        match opened {
            Ok(file) => Slot::Open(file),
            Err(e) => {
                self.warn(format!("--out-dir: cannot write {name}: {e}"));
                Slot::Failed
            }
        }
    }

    fn warn(&self, message: String) {
        self.inner.event(&Event::Warning { message });
    }
}

impl EventSink for OutDir {
    fn event(&self, event: &Event) {
        match event {
            Event::Line { host, stream, line } => self.with_file(host, *stream, false, |f| {
                // one write per line: a line is never split between writes
                let _ = f.write_all(format!("{line}\n").as_bytes());
            }),
            // every host finished gets both files, empty when it printed nothing, and closes
            // them
            Event::HostFinished { host, .. } => {
                for stream in [Stream::Stdout, Stream::Stderr] {
                    self.with_file(host, stream, true, |_| {});
                }
            }
            _ => {}
        }
        self.inner.event(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_are_files() {
        for good in ["web1", "deploy@10.0.0.5:2222", "a.b"] {
            assert!(safe_name(good), "{good}");
        }
        for bad in ["", ".", "..", "a/b", "../x", "a\0b", &"x".repeat(251)] {
            assert!(!safe_name(bad), "{bad:?}");
        }
    }
}
