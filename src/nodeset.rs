//! ClusterShell-style node sets: `web[01-20,25].example.com` expands to 21 names, and a list of
//! names folds back into the shortest such form (`web[01-07,09]`).

use std::collections::BTreeMap;

/// Most names one node set may expand to: a typo such as `a[1-1000]b[1-1000]` must be an
/// error, not gigabytes of names.
pub(crate) const MAX_EXPANSION: usize = 100_000;

/// Longest name a node set may produce: a host name is a file name under `get`'s local
/// directory, and file names stop at 255 bytes.
pub(crate) const MAX_NAME_BYTES: usize = 255;

/// Why a node set cannot be expanded; each names the pattern (shortened when huge).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeSetError {
    #[error("unmatched '{bracket}' in \"{pattern}\"")]
    /// A bracket without its partner.
    Unmatched {
        /// The bracket without its partner.
        bracket: char,
        /// The node set as given.
        pattern: String,
    },
    #[error("empty range [] in \"{pattern}\"")]
    /// An empty `[]` range.
    EmptyRange {
        /// The node set as given.
        pattern: String,
    },
    #[error("bad range \"{part}\" in \"{pattern}\" (expected N or N-M, digits)")]
    /// A range part that is not `N` or `N-M`.
    BadRange {
        /// The offending part of the range.
        part: String,
        /// The node set as given.
        pattern: String,
    },
    #[error("range \"{part}\" in \"{pattern}\" runs backwards")]
    /// A range that runs backwards (`[5-1]`).
    Backwards {
        /// The offending part of the range.
        part: String,
        /// The node set as given.
        pattern: String,
    },
    #[error("\"{pattern}\" expands to more than {limit} hosts")]
    /// An expansion past the limit of names.
    TooMany {
        /// The node set as given.
        pattern: String,
        /// The limit.
        limit: usize,
    },
    #[error("\"{pattern}\" expands to names longer than {limit} bytes")]
    /// An expanded name past the length limit.
    NameTooLong {
        /// The node set as given.
        pattern: String,
        /// The limit.
        limit: usize,
    },
}

/// `n` in decimal, zero-padded to `width` digits (by hand: a format width past u16 panics).
pub(crate) fn padded(n: u64, width: usize) -> String {
    let digits = n.to_string();
    let mut out = "0".repeat(width.saturating_sub(digits.len()));
    out.push_str(&digits);
    out
}

/// A pattern for messages: whole when short, else its start and its length.
pub(crate) fn shown(s: &str) -> String {
    const KEEP: usize = 60;
    if s.len() <= KEEP {
        return s.to_string();
    }
    let mut cut = KEEP;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}... ({} bytes)", &s[..cut], s.len())
}

/// One bracket's values: (first, last, zero-padded width) per comma-separated part.
type Range = Vec<(u64, u64, usize)>;

/// Cuts `pattern` into literal text and ranges, checking every range and the size of the
/// product before anything is allocated for it.
fn parse(pattern: &str) -> Result<(Vec<String>, Vec<Range>), NodeSetError> {
    let p = || shown(pattern);
    let mut texts = Vec::new();
    let mut ranges = Vec::new();
    let mut count: usize = 1;
    let mut longest: usize = 0;
    let mut rest = pattern;
    loop {
        let Some(open) = rest.find('[') else {
            if rest.contains(']') {
                return Err(NodeSetError::Unmatched {
                    bracket: ']',
                    pattern: p(),
                });
            }
            if ranges.is_empty() {
                // no bracket: the name is as written, whatever its length
            } else if longest.saturating_add(rest.len()) > MAX_NAME_BYTES {
                return Err(NodeSetError::NameTooLong {
                    pattern: p(),
                    limit: MAX_NAME_BYTES,
                });
            }
            texts.push(rest.to_string());
            break;
        };
        if rest[..open].contains(']') {
            return Err(NodeSetError::Unmatched {
                bracket: ']',
                pattern: p(),
            });
        }
        let close =
            rest[open..]
                .find(']')
                .map(|i| open + i)
                .ok_or_else(|| NodeSetError::Unmatched {
                    bracket: '[',
                    pattern: p(),
                })?;
        let body = &rest[open + 1..close];
        if body.is_empty() {
            return Err(NodeSetError::EmptyRange { pattern: p() });
        }
        let mut range = Range::new();
        let mut size: usize = 0;
        for part in body.split(',') {
            let part = part.trim();
            let (lo, hi) = part.split_once('-').unwrap_or((part, part));
            let bad = || NodeSetError::BadRange {
                part: shown(part),
                pattern: p(),
            };
            let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            if !digits(lo) || !digits(hi) {
                return Err(bad());
            }
            let (a, b): (u64, u64) = (
                lo.parse().map_err(|_| bad())?,
                hi.parse().map_err(|_| bad())?,
            );
            if a > b {
                return Err(NodeSetError::Backwards {
                    part: shown(part),
                    pattern: p(),
                });
            }
            let width = if lo.len() > 1 && lo.starts_with('0') {
                lo.len()
            } else {
                0
            };
            // b - a + 1 cannot overflow usize past the limit check: compare before adding one.
            let too_many = || NodeSetError::TooMany {
                pattern: p(),
                limit: MAX_EXPANSION,
            };
            let n = usize::try_from(b - a).map_err(|_| too_many())?;
            if n >= MAX_EXPANSION {
                return Err(too_many());
            }
            size = size
                .checked_add(n + 1)
                .filter(|s| *s <= MAX_EXPANSION)
                .ok_or_else(too_many)?;
            range.push((a, b, width));
        }
        let widest = range
            .iter()
            .map(|(_, b, w)| padded(*b, 0).len().max(*w))
            .max()
            .unwrap_or(0);
        longest = longest.saturating_add(open).saturating_add(widest);
        if longest > MAX_NAME_BYTES {
            return Err(NodeSetError::NameTooLong {
                pattern: p(),
                limit: MAX_NAME_BYTES,
            });
        }
        count = count
            .checked_mul(size)
            .filter(|c| *c <= MAX_EXPANSION)
            .ok_or(NodeSetError::TooMany {
                pattern: p(),
                limit: MAX_EXPANSION,
            })?;
        texts.push(rest[..open].to_string());
        ranges.push(range);
        rest = &rest[close + 1..];
    }
    Ok((texts, ranges))
}

/// Expands every `[a-b,c]` range of `pattern` (several brackets give their product, at most
/// [`MAX_EXPANSION`] names). Numbers keep the zero padding of the range's first bound (`[01-10]`
/// gives `01`..`10`). Iterative, so any number of brackets is safe for the stack.
pub(crate) fn expand(pattern: &str) -> Result<Vec<String>, NodeSetError> {
    let (texts, ranges) = parse(pattern)?;
    // texts[i] precedes ranges[i]; the last text follows the last range.
    let mut out = vec![texts[0].clone()];
    for (range, text) in ranges.iter().zip(&texts[1..]) {
        let mut next = Vec::with_capacity(
            out.len()
                * range
                    .iter()
                    .map(|(a, b, _)| (b - a + 1) as usize)
                    .sum::<usize>(),
        );
        for head in &out {
            for &(a, b, width) in range {
                for n in a..=b {
                    next.push(format!("{head}{}{text}", padded(n, width)));
                }
            }
        }
        out = next;
    }
    Ok(out)
}

/// A name cut into text and digit runs: `node001.dc1` → ["node", "001", ".dc", "1"].
fn runs(name: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = name.as_bytes();
    for i in 1..=bytes.len() {
        if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[i - 1].is_ascii_digit() {
            out.push(&name[start..i]);
            start = i;
        }
    }
    out
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Folds names into node sets, e.g. `web01 web02 web03 web05 db1` → `db1, web[01-03,05]`.
/// Names of the same shape fold on the digit run that varies (`node[001-250].dc1`). The
/// result is sorted and expands back to exactly the input set.
pub(crate) fn fold(names: &[String]) -> String {
    // shape (text parts, digit runs marked) -> names
    let mut shapes: BTreeMap<Vec<String>, Vec<Vec<&str>>> = BTreeMap::new();
    for name in names {
        let r = runs(name);
        let shape = r
            .iter()
            .map(|p| {
                if is_digits(p) {
                    "#".to_string()
                } else {
                    p.to_string()
                }
            })
            .collect();
        shapes.entry(shape).or_default().push(r);
    }
    let mut out: Vec<String> = Vec::new();
    for (_, members) in shapes {
        let n_runs = members[0].len();
        let varying = (0..n_runs)
            .rev()
            .find(|&i| is_digits(members[0][i]) && members.iter().any(|m| m[i] != members[0][i]));
        let Some(v) = varying else {
            out.push(members[0].concat());
            continue;
        };
        // (prefix, suffix) with the other runs fixed -> the varying run's values
        let mut groups: BTreeMap<(String, String), Vec<&str>> = BTreeMap::new();
        for m in &members {
            let key = (m[..v].concat(), m[v + 1..].concat());
            groups.entry(key).or_default().push(m[v]);
        }
        for ((pre, suf), values) in groups {
            let padded_widths: std::collections::BTreeSet<usize> = values
                .iter()
                .filter(|s| s.len() > 1 && s.starts_with('0'))
                .map(|s| s.len())
                .collect();
            let mut classes: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
            for s in &values {
                let width = if padded_widths.contains(&s.len()) {
                    s.len()
                } else {
                    0
                };
                match s.parse::<u64>() {
                    Ok(n) => classes.entry(width).or_default().push(n),
                    Err(_) => out.push(format!("{pre}{s}{suf}")),
                }
            }
            for (width, mut nums) in classes {
                nums.sort_unstable();
                nums.dedup();
                if nums.len() == 1 {
                    out.push(format!("{pre}{}{suf}", padded(nums[0], width)));
                    continue;
                }
                let mut parts = Vec::new();
                let mut i = 0;
                while i < nums.len() {
                    let mut j = i;
                    while j + 1 < nums.len() && nums[j + 1] == nums[j] + 1 {
                        j += 1;
                    }
                    parts.push(if i == j {
                        padded(nums[i], width)
                    } else {
                        format!("{}-{}", padded(nums[i], width), padded(nums[j], width))
                    });
                    i = j + 1;
                }
                out.push(format!("{pre}[{}]{suf}", parts.join(",")));
            }
        }
    }
    out.sort();
    out.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn expands_ranges_with_padding_and_products() {
        assert_eq!(
            expand("web[01-03,10].example.com").unwrap(),
            names(&[
                "web01.example.com",
                "web02.example.com",
                "web03.example.com",
                "web10.example.com"
            ])
        );
        assert_eq!(
            expand("r[1-2]n[8-9]").unwrap(),
            names(&["r1n8", "r1n9", "r2n8", "r2n9"])
        );
        assert_eq!(expand("plain").unwrap(), names(&["plain"]));
        let err = |p: &str| expand(p).unwrap_err().to_string();
        assert!(err("web[3-1]").contains("backwards"));
        assert!(err("web[01-").contains("unmatched '['"));
        assert!(err("web]1[").contains("unmatched ']'"));
        assert!(err("web[a-b]").contains("bad range"));
    }

    #[test]
    fn folds_and_round_trips() {
        let input = names(&[
            "web01", "web02", "web03", "web05", "web09", "web10", "db1", "db2", "lb",
        ]);
        let folded = fold(&input);
        assert_eq!(folded, "db[1-2], lb, web[01-03,05,09-10]");
        let mut back: Vec<String> = folded
            .split(", ")
            .flat_map(|p| expand(p).unwrap())
            .collect();
        back.sort();
        let mut want = input.clone();
        want.sort();
        assert_eq!(back, want);
        let big = expand("node[001-250].dc1").unwrap();
        assert_eq!(fold(&big), "node[001-250].dc1");
    }
}
