//! Validation of the numbers Lua passes to the `task` module (seconds, sizes, counts).
//!
//! Every number a script passes ends here before it reaches `Duration`, `Instant` arithmetic or
//! a tokio `Semaphore`, which panic on values out of their range (a negative or huge float, an
//! `Instant` overflow, more than `MAX_PERMITS` permits). A bad value is a Lua error naming the
//! argument and showing it as Lua would print it.

use std::time::{Duration, Instant};

use mlua::{Table, Value};

/// The longest wait any `task` function accepts: one year (365 days), far beyond any real
/// deadline and far from `Instant`'s overflow.
pub(super) const MAX_SECONDS: u64 = 365 * 24 * 3600;

/// The largest pool or semaphore: tokio allocates nothing per permit, but a bound this high is
/// never a deliberate choice, and keeps sizes far from tokio's `MAX_PERMITS` (which panics).
pub(super) const MAX_SLOTS: i64 = 1_000_000;

fn runtime_error(text: String) -> mlua::Error {
    mlua::Error::RuntimeError(text)
}

/// Parses a duration in seconds: a finite number from 0 to `MAX_SECONDS` (a year).
pub(crate) fn seconds(value: &Value, what: &str) -> mlua::Result<Duration> {
    let secs = match value {
        Value::Integer(i) => *i as f64,
        Value::Number(n) => *n,
        other => {
            return Err(runtime_error(format!(
                "{what}: seconds must be a number, got {}",
                other.type_name()
            )));
        }
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(runtime_error(format!(
            "{what}: seconds must be a finite number >= 0, got {}",
            describe(value)
        )));
    }
    if secs > MAX_SECONDS as f64 {
        return Err(runtime_error(format!(
            "{what}: seconds must be at most {MAX_SECONDS} (365 days), got {}",
            describe(value)
        )));
    }
    Duration::try_from_secs_f64(secs)
        .map_err(|e| runtime_error(format!("{what}: invalid duration {}: {e}", describe(value))))
}

/// `now + d` for a `d` from [`seconds`]; saturates at a year from now instead of overflowing
/// (a bound of its own, so that no caller can make `Instant + Duration` panic).
pub(super) fn deadline_after(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d)
        .or_else(|| now.checked_add(Duration::from_secs(MAX_SECONDS)))
        .unwrap_or(now)
}

/// An integer from `min` to `max` (floats with no fraction are accepted).
pub(super) fn integer_in(value: &Value, min: i64, max: i64, what: &str) -> mlua::Result<i64> {
    let n = match value {
        Value::Integer(i) => Some(*i),
        // Exactly representable range only: beyond 2^53 a float is not a count anyone meant.
        Value::Number(n) if n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_992.0 => {
            Some(*n as i64)
        }
        _ => None,
    };
    match n {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        _ => {
            let range = if max == i64::MAX {
                format!(">= {min}")
            } else {
                format!(">= {min} and <= {max}")
            };
            Err(runtime_error(format!(
                "{what} must be an integer {range}, got {}",
                describe(value)
            )))
        }
    }
}

/// An integer of at least `min`, as a size.
pub(crate) fn integer_at_least(value: &Value, min: i64, what: &str) -> mlua::Result<usize> {
    let n = integer_in(value, min, i64::MAX, what)?;
    usize::try_from(n).map_err(|_| {
        runtime_error(format!(
            "{what} must be an integer >= 0, got {}",
            describe(value)
        ))
    })
}

/// A size from `min` to [`MAX_SLOTS`] (pools, semaphores).
pub(super) fn slots(value: &Value, min: i64, what: &str) -> mlua::Result<usize> {
    // In range by construction: min..=MAX_SLOTS fits usize.
    Ok(integer_in(value, min, MAX_SLOTS, what)? as usize)
}

/// A value as it appears in an error message: numbers as Lua prints them, others by type.
pub(super) fn describe(v: &Value) -> String {
    match v {
        Value::Integer(i) => i.to_string(),
        Value::Number(n) => crate::lua::errors::lua_number(*n),
        other => other.type_name().to_string(),
    }
}

/// Optional timeout argument: `nil` means wait forever.
pub(crate) fn opt_seconds(value: &Value, what: &str) -> mlua::Result<Option<Duration>> {
    match value {
        Value::Nil => Ok(None),
        v => seconds(v, what).map(Some),
    }
}

/// Rejects option keys that are not in `allowed`, naming the key.
pub(crate) fn check_options(opts: &Table, allowed: &[&str], what: &str) -> mlua::Result<()> {
    for pair in opts.pairs::<Value, Value>() {
        let (key, _) = pair?;
        let name = match &key {
            Value::String(s) => s.to_string_lossy(),
            other => format!("{other:?}"),
        };
        if !allowed.contains(&name.as_str()) {
            return Err(mlua::Error::RuntimeError(format!(
                "{what}: unknown option '{name}' (allowed: {})",
                allowed.join(", ")
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lua::errors::lua_number;

    #[test]
    fn lua_number_matches_lua_tostring() {
        for (n, text) in [
            (1e20, "1e+20"),
            (3.0, "3.0"),
            (-1.5, "-1.5"),
            (0.1, "0.1"),
            (100.0, "100.0"),
            (1e-5, "1e-05"),
            (123456789012345678.0, "1.2345678901235e+17"),
            (1e300, "1e+300"),
            (0.0, "0.0"),
            (f64::INFINITY, "inf"),
            (9.223372036854776e18, "9.2233720368548e+18"),
        ] {
            assert_eq!(lua_number(n), text, "{n}");
        }
    }

    #[test]
    fn seconds_rejects_what_would_panic_later() {
        let big = [
            Value::Number(1e20),
            Value::Integer(i64::MAX),
            Value::Number(MAX_SECONDS as f64 + 1.0),
        ];
        for v in &big {
            let err = seconds(v, "task.sleep").unwrap_err().to_string();
            assert!(
                err.contains("task.sleep: seconds must be at most 31536000"),
                "{err}"
            );
        }
        for v in [
            Value::Number(-1.0),
            Value::Number(f64::NAN),
            Value::Integer(-3),
        ] {
            let err = seconds(&v, "x").unwrap_err().to_string();
            assert!(err.contains("finite number >= 0"), "{err}");
        }
        assert_eq!(
            seconds(&Value::Integer(MAX_SECONDS as i64), "x").ok(),
            Some(Duration::from_secs(MAX_SECONDS))
        );
    }

    #[test]
    fn slots_are_bounded() {
        let err = slots(&Value::Number(1e20), 1, "task.pool: size")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("task.pool: size must be an integer >= 1 and <= 1000000, got 1e+20"),
            "{err}"
        );
        assert!(slots(&Value::Number(2.5), 1, "s").is_err());
        assert!(slots(&Value::Integer(0), 1, "s").is_err());
        assert_eq!(slots(&Value::Number(4.0), 1, "s").ok(), Some(4));
        assert_eq!(
            slots(&Value::Integer(MAX_SLOTS), 1, "s").ok(),
            Some(1_000_000)
        );
    }

    #[test]
    fn deadline_never_overflows() {
        let at = deadline_after(Duration::MAX);
        assert!(at > Instant::now());
    }
}
