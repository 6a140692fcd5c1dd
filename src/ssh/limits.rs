//! File descriptor limit: one socket per connected host, so the soft `RLIMIT_NOFILE` (often
//! 1024) caps a fan-out. Raised to the hard limit at start.

/// Descriptors kept for everything that is not an SSH connection (stdio, files, sftp temp files).
pub const RESERVED_FDS: u64 = 64;

fn get() -> std::io::Result<libc::rlimit> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(lim)
}

/// Raises the soft open-files limit to the hard limit; returns the new soft limit.
pub fn raise_nofile_limit() -> std::io::Result<u64> {
    let lim = get()?;
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: setrlimit only reads the struct we pass.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(lim.rlim_max)
}

/// The current soft open-files limit.
pub fn nofile_limit() -> std::io::Result<u64> {
    Ok(get()?.rlim_cur)
}

/// How many hosts can be connected at once under a given open-files limit.
pub fn connection_cap(nofile: u64) -> u64 {
    nofile.saturating_sub(RESERVED_FDS).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raising_reaches_the_hard_limit() {
        let soft = raise_nofile_limit().expect("getrlimit works");
        let lim = get().expect("getrlimit works");
        assert_eq!(soft, lim.rlim_max);
        assert_eq!(lim.rlim_cur, lim.rlim_max);
        assert_eq!(connection_cap(1024), 960);
    }
}
