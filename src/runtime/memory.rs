//! How much memory the Lua VM may allocate by default.

use super::LoadError;

/// Half the memory this process may use (the machine's, or less under a cgroup limit or
/// `RLIMIT_AS`), or `DROVER_LUA_MEMORY` (bytes, or with a K/M/G suffix; `0`
/// turns the limit off).
pub fn default_memory_limit() -> Result<usize, LoadError> {
    if let Some(v) = std::env::var_os("DROVER_LUA_MEMORY") {
        let text = v.to_string_lossy();
        if text.trim() == "0" {
            // No limit (mlua's 0), for benchmarks.
            return Ok(0);
        }
        return parse_size(&text).ok_or_else(|| {
            LoadError::Setup(format!(
                "DROVER_LUA_MEMORY={text}: expected a size such as 512M or 2G (at least 1M)"
            ))
        });
    }
    // SAFETY: sysconf reads system constants.
    let (pages, page) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    let physical = u64::try_from(pages)
        .ok()
        .zip(u64::try_from(page).ok())
        .map_or(8 << 30, |(n, p)| n.saturating_mul(p));
    // In a container the cgroup's limit (or an address-space rlimit) is what the process
    // really has: past it the kernel kills the process with no clean-up at all.
    let total = [Some(physical), cgroup_memory_max(), address_space_limit()]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(physical);
    Ok(usize::try_from(total / 2).unwrap_or(usize::MAX))
}

/// The cgroup v2 `memory.max` of this process's cgroup, when it sets one.
fn cgroup_memory_max() -> Option<u64> {
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = own.lines().find_map(|l| l.strip_prefix("0::"))?;
    let max = std::fs::read_to_string(format!("/sys/fs/cgroup{}/memory.max", path.trim())).ok()?;
    max.trim().parse().ok()
}

/// `RLIMIT_AS`, when one is set.
fn address_space_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut lim) } != 0 {
        return None;
    }
    (lim.rlim_cur != libc::RLIM_INFINITY).then_some(lim.rlim_cur)
}

/// `512M`, `2G`, `1048576`, `64MiB`: a size in bytes, at least 1 MiB.
fn parse_size(text: &str) -> Option<usize> {
    let t = text.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (digits, shift) = match t.char_indices().last()? {
        (i, 'k' | 'K') => (&t[..i], 10),
        (i, 'm' | 'M') => (&t[..i], 20),
        (i, 'g' | 'G') => (&t[..i], 30),
        (i, 't' | 'T') => (&t[..i], 40),
        _ => (t, 0),
    };
    let n: u64 = digits.trim().parse().ok()?;
    let bytes = n.checked_mul(1u64 << shift)?;
    usize::try_from(bytes).ok().filter(|b| *b >= 1 << 20)
}
