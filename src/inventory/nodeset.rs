//! ClusterShell-style node sets: `web[01-20,25].example.com` expands to 21 names, and a list of
//! names folds back into the shortest such form (`web[01-07,09]`).

use std::collections::BTreeMap;

/// Expands every `[a-b,c]` range of `pattern` (several brackets give their product). Numbers
/// keep the zero padding of the range's first bound (`[01-10]` gives `01`..`10`).
pub fn expand(pattern: &str) -> Result<Vec<String>, String> {
    let Some(open) = pattern.find('[') else {
        if pattern.contains(']') {
            return Err(format!("unmatched ']' in \"{pattern}\""));
        }
        return Ok(vec![pattern.to_string()]);
    };
    let close = pattern[open..]
        .find(']')
        .map(|i| open + i)
        .ok_or_else(|| format!("unmatched '[' in \"{pattern}\""))?;
    let (prefix, body, rest) = (
        &pattern[..open],
        &pattern[open + 1..close],
        &pattern[close + 1..],
    );
    if body.is_empty() {
        return Err(format!("empty range [] in \"{pattern}\""));
    }
    let tails = expand(rest)?;
    let mut out = Vec::new();
    for part in body.split(',') {
        let part = part.trim();
        let (lo, hi) = part.split_once('-').unwrap_or((part, part));
        let bad = || format!("bad range \"{part}\" in \"{pattern}\" (expected N or N-M, digits)");
        if lo.is_empty() || !lo.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        if hi.is_empty() || !hi.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let (a, b): (u64, u64) = (
            lo.parse().map_err(|_| bad())?,
            hi.parse().map_err(|_| bad())?,
        );
        if a > b {
            return Err(format!("range \"{part}\" in \"{pattern}\" runs backwards"));
        }
        if b - a > 100_000 {
            return Err(format!("range \"{part}\" in \"{pattern}\" is too large"));
        }
        let width = if lo.len() > 1 && lo.starts_with('0') {
            lo.len()
        } else {
            0
        };
        for n in a..=b {
            for tail in &tails {
                out.push(format!("{prefix}{n:0width$}{tail}"));
            }
        }
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
pub fn fold(names: &[String]) -> String {
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
            let padded: std::collections::BTreeSet<usize> = values
                .iter()
                .filter(|s| s.len() > 1 && s.starts_with('0'))
                .map(|s| s.len())
                .collect();
            let mut classes: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
            for s in &values {
                let width = if padded.contains(&s.len()) {
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
                    out.push(format!("{pre}{:0width$}{suf}", nums[0]));
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
                        format!("{:0width$}", nums[i])
                    } else {
                        format!("{:0width$}-{:0width$}", nums[i], nums[j])
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
        assert!(expand("web[3-1]").unwrap_err().contains("backwards"));
        assert!(expand("web[01-").unwrap_err().contains("unmatched '['"));
        assert!(expand("web[a-b]").unwrap_err().contains("bad range"));
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
