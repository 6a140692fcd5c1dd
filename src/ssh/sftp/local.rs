//! The local side of downloads, confined by construction: below the directory the caller
//! chose, every directory, file and symlink is created, opened, renamed and chmod'ed relative
//! to an open directory descriptor (`openat`, `mkdirat`, `renameat`, `symlinkat`, `unlinkat`,
//! `fchmod`), one checked name at a time, and opened with `O_NOFOLLOW`. So no name a host
//! sends (`..`, `/`, ...) and no symlink an earlier download left can lead a write outside.
//!
//! The `libc` calls are used directly (the crate is already a dependency) rather than
//! `cap-std`: a handful of `*at` calls is all this needs.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Why `name` cannot be one entry of a local directory, if it cannot.
pub(super) fn bad_name(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("is empty")
    } else if name == "." || name == ".." {
        Some("is `.` or `..`")
    } else if name.contains('/') {
        Some("contains `/`")
    } else if name.contains('\0') {
        Some("contains a NUL byte")
    } else {
        None
    }
}

fn c_name(name: &str) -> io::Result<CString> {
    if let Some(why) = bad_name(name) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("the name {name:?} {why}"),
        ));
    }
    CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// What to do when a directory is to be opened at a name that holds something else.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum NotADir {
    /// Remove it (a file, or a symlink: never followed) and create the directory: a mirror
    /// replaces what the remote side replaced.
    Replace,
    /// Fail (for names drover did not create from remote data, such as the host directory).
    Refuse,
}

/// An open local directory.
pub(super) struct LocalDir {
    fd: OwnedFd,
    /// For messages only; never used to reach the directory.
    path: PathBuf,
}

impl LocalDir {
    /// Opens the directory at `path`, creating it and its parents if missing. `path` is the
    /// caller's own choice, resolved as usual (symlinks in it are followed).
    pub(super) fn open_trusted(path: &Path) -> io::Result<LocalDir> {
        let path = if path.as_os_str().is_empty() {
            Path::new(".")
        } else {
            path
        };
        std::fs::create_dir_all(path)?;
        let c = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: `c` is a NUL-terminated path; the result is checked.
        let fd = check(unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            )
        })?;
        Ok(LocalDir {
            // SAFETY: `fd` was just opened and is owned by nobody else.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            path: path.to_path_buf(),
        })
    }

    /// The path of `name` in this directory, for messages.
    pub(super) fn display(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The path of this directory, for messages.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the subdirectory `name` without following a symlink there, creating it (mode
    /// 0700 until [`LocalDir::chmod`]) if missing.
    pub(super) fn subdir(&self, name: &str, other: NotADir) -> io::Result<LocalDir> {
        let c = c_name(name)?;
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        for _ in 0..4 {
            // SAFETY: a valid directory descriptor and a NUL-terminated single name.
            let r = unsafe { libc::openat(self.fd.as_raw_fd(), c.as_ptr(), flags) };
            if r >= 0 {
                return Ok(LocalDir {
                    // SAFETY: `r` was just opened and is owned by nobody else.
                    fd: unsafe { OwnedFd::from_raw_fd(r) },
                    path: self.path.join(name),
                });
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::ENOENT) => {
                    // SAFETY: as above.
                    let made = unsafe { libc::mkdirat(self.fd.as_raw_fd(), c.as_ptr(), 0o700) };
                    if made < 0 {
                        let e = io::Error::last_os_error();
                        if e.raw_os_error() != Some(libc::EEXIST) {
                            return Err(e);
                        }
                    }
                }
                // ELOOP: a symlink (O_NOFOLLOW); ENOTDIR: a file or other non-directory.
                Some(libc::ELOOP) | Some(libc::ENOTDIR) => {
                    if other == NotADir::Refuse {
                        return Err(io::Error::other(
                            "exists and is not a directory (a symlink here is never followed)",
                        ));
                    }
                    self.remove(name)?;
                }
                _ => return Err(e),
            }
        }
        Err(io::Error::other("kept changing while being opened"))
    }

    /// Sets this directory's permission bits (on the descriptor: nothing is followed).
    pub(super) fn chmod(&self, mode: u32) -> io::Result<()> {
        // SAFETY: a valid descriptor.
        check(unsafe { libc::fchmod(self.fd.as_raw_fd(), mode as libc::mode_t) }).map(|_| ())
    }

    /// Creates the new file `name` (mode 0600; it must not exist, and a symlink there is not
    /// followed) and opens it for writing.
    pub(super) fn create_new(&self, name: &str) -> io::Result<File> {
        let c = c_name(name)?;
        let flags =
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        // SAFETY: a valid directory descriptor and a NUL-terminated single name.
        let fd = check(unsafe {
            libc::openat(
                self.fd.as_raw_fd(),
                c.as_ptr(),
                flags,
                0o600 as libc::c_uint,
            )
        })?;
        // SAFETY: `fd` was just opened and is owned by nobody else.
        Ok(unsafe { File::from_raw_fd(fd) })
    }

    /// Renames `from` to `to` in this directory, replacing a file or symlink at `to` (the
    /// entry itself: nothing is followed). A directory at `to` is never replaced.
    pub(super) fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let (f, t) = (c_name(from)?, c_name(to)?);
        let fd = self.fd.as_raw_fd();
        // SAFETY: valid descriptor, NUL-terminated single names.
        match check(unsafe { libc::renameat(fd, f.as_ptr(), fd, t.as_ptr()) }) {
            Err(e) if e.raw_os_error() == Some(libc::EISDIR) => Err(io::Error::other(
                "is a local directory, which is not replaced by a file or symlink",
            )),
            other => other.map(|_| ()),
        }
    }

    /// Creates the symlink `name` pointing at `target` (the text is stored, not resolved).
    pub(super) fn symlink(&self, target: &str, name: &str) -> io::Result<()> {
        let c = c_name(name)?;
        let t = CString::new(target).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "symlink target holds a NUL byte",
            )
        })?;
        // SAFETY: NUL-terminated target, valid descriptor, single name.
        check(unsafe { libc::symlinkat(t.as_ptr(), self.fd.as_raw_fd(), c.as_ptr()) }).map(|_| ())
    }

    /// Removes the file or symlink `name` (not a directory).
    pub(super) fn remove(&self, name: &str) -> io::Result<()> {
        let c = c_name(name)?;
        // SAFETY: valid descriptor, single name.
        check(unsafe { libc::unlinkat(self.fd.as_raw_fd(), c.as_ptr(), 0) }).map(|_| ())
    }
}

/// Removes a local temp file unless disarmed (a failed or cancelled download).
pub(super) struct LocalTemp<'a> {
    pub dir: &'a LocalDir,
    pub name: Option<String>,
}

impl Drop for LocalTemp<'_> {
    fn drop(&mut self) {
        if let Some(n) = self.name.take() {
            let _ = self.dir.remove(&n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "drover-local-test-{}-{}",
            std::process::id(),
            super::super::token()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn names_that_leave_the_directory_are_refused() {
        for bad in ["", ".", "..", "a/b", "/", "../x", "a\0b"] {
            assert!(bad_name(bad).is_some(), "{bad:?}");
        }
        for good in ["a", ".hidden", "...", "new\nline", "a b", "..x"] {
            assert_eq!(bad_name(good), None, "{good:?}");
        }
    }

    #[test]
    fn a_symlink_where_a_directory_goes_is_replaced_not_followed() {
        let root = scratch();
        let victim = scratch();
        std::os::unix::fs::symlink(&victim, root.join("sub")).unwrap();
        let dir = LocalDir::open_trusted(&root).unwrap();
        assert!(dir.subdir("sub", NotADir::Refuse).is_err());
        let sub = dir.subdir("sub", NotADir::Replace).unwrap();
        sub.create_new("evil.txt").unwrap();
        sub.chmod(0o755).unwrap();
        assert!(root.join("sub/evil.txt").is_file());
        assert!(
            !std::fs::symlink_metadata(root.join("sub"))
                .unwrap()
                .is_symlink()
        );
        assert_eq!(std::fs::read_dir(&victim).unwrap().count(), 0);
        std::fs::remove_dir_all(&root).unwrap();
        std::fs::remove_dir_all(&victim).unwrap();
    }

    #[test]
    fn a_file_renamed_over_a_symlink_replaces_the_link() {
        let root = scratch();
        let victim = scratch();
        std::fs::write(victim.join("f"), "keep").unwrap();
        std::os::unix::fs::symlink(victim.join("f"), root.join("f")).unwrap();
        let dir = LocalDir::open_trusted(&root).unwrap();
        assert!(
            dir.create_new("f").is_err(),
            "O_EXCL|O_NOFOLLOW refuses the link"
        );
        drop(dir.create_new("t").unwrap());
        dir.rename("t", "f").unwrap();
        assert_eq!(std::fs::read_to_string(victim.join("f")).unwrap(), "keep");
        assert!(
            !std::fs::symlink_metadata(root.join("f"))
                .unwrap()
                .is_symlink()
        );
        assert!(dir.rename("f", "..").is_err());
        std::fs::remove_dir_all(&root).unwrap();
        std::fs::remove_dir_all(&victim).unwrap();
    }
}
