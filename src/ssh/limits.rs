//! File descriptor limit: one socket per connected host, so the soft `RLIMIT_NOFILE` (often
//! 1024) caps a fan-out. The library only reads it; raising it belongs to the program that
//! owns the process (the CLI raises it to the hard limit at start).

/// Descriptors kept for everything that is not an SSH connection (stdio, files, sftp temp files).
pub(crate) const RESERVED_FDS: u64 = 64;

/// The current soft open-files limit.
pub(crate) fn nofile_limit() -> std::io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(lim.rlim_cur)
}

/// How many hosts can be connected at once under a given open-files limit.
pub(crate) fn connection_cap(nofile: u64) -> u64 {
    nofile.saturating_sub(RESERVED_FDS).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_for_other_descriptors() {
        assert_eq!(connection_cap(1024), 960);
        assert_eq!(connection_cap(10), 1);
        assert!(nofile_limit().expect("getrlimit works") > 0);
    }
}
