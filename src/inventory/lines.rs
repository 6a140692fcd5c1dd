//! The inventory's line scan: section headers, `key = value` lines and their values, each with
//! its line number, so every error names file:line. It rejects what a lenient INI reader would
//! accept silently: a line without `=` (rust-ini glues it to the next key), duplicate sections
//! or keys, unknown section kinds, keys with spaces, a secret cut short by an inline comment.
//!
//! Values: the text after the first `=`, trimmed. ` ;` or ` #` (after whitespace, or at the
//! start of the value) begins a comment. A value that starts with `"` (or `'`) runs to the
//! next `"` (or `'`) and keeps everything between verbatim (`;`, `#`, `=`, spaces,
//! backslashes); only whitespace or a comment may follow the closing quote. There are no
//! escapes. rust-ini then reads the same text, and must agree on every value.

use std::collections::{BTreeMap, HashMap};

use super::{InventoryError, Section};
use crate::connection;
use crate::nodeset::shown;

/// Which section a line belongs to, as written in its header.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Kind {
    Defaults,
    Group(String),
    Host(String),
}

/// Characters allowed in group and host names (no glob or pattern characters).
pub(super) fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-[],@:".contains(c))
}

/// A value as written: its text, and whether an inline comment followed it.
#[derive(Debug, PartialEq, Eq)]
struct Value {
    text: String,
    quoted: bool,
    comment: bool,
}

/// Where a comment starts in unquoted text: `;` or `#` at the start or after whitespace.
fn comment_start(v: &str) -> Option<usize> {
    let mut prev_blank = true;
    for (i, c) in v.char_indices() {
        if (c == ';' || c == '#') && prev_blank {
            return Some(i);
        }
        prev_blank = c == ' ' || c == '\t';
    }
    None
}

fn value(raw: &str) -> Result<Value, String> {
    let v = raw.trim();
    // rust-ini takes single quotes as quotes too; so does the scan, so both read alike.
    if let Some(quote) = v.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let inner = &v[1..];
        let Some(end) = inner.find(quote) else {
            return Err(format!(
                "unterminated quote: a value that starts with {quote} ends with {quote} on the same line"
            ));
        };
        let after = inner[end + 1..].trim_start();
        if !after.is_empty() && !after.starts_with([';', '#']) {
            return Err(format!(
                "unexpected text after the quoted value: \"{}\"",
                shown(after)
            ));
        }
        return Ok(Value {
            text: inner[..end].to_string(),
            quoted: true,
            comment: !after.is_empty(),
        });
    }
    Ok(match comment_start(v) {
        Some(i) => Value {
            text: v[..i].trim_end().to_string(),
            quoted: false,
            comment: true,
        },
        None => Value {
            text: v.to_string(),
            quoted: false,
            comment: false,
        },
    })
}

/// Scans `text` (a leading UTF-8 BOM already removed) into sections in file order.
pub(super) fn scan(text: &str, file: &str) -> Result<Vec<(Kind, Section)>, InventoryError> {
    let at = |line: usize, cause: String| InventoryError::At {
        file: file.to_string(),
        line,
        cause,
    };
    let mut sections: Vec<(Kind, Section)> = Vec::new();
    let mut seen: HashMap<Kind, usize> = HashMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let t = raw.trim();
        if t.is_empty() || t.starts_with(';') || t.starts_with('#') {
            continue;
        }
        if let Some(rest) = t.strip_prefix('[') {
            let kind = header(rest, t).map_err(|cause| at(line, cause))?;
            if let Some(first) = seen.get(&kind) {
                let inner = rest.split_once(']').map_or(rest, |(h, _)| h);
                return Err(at(
                    line,
                    format!("duplicate section [{inner}] (first at line {first})"),
                ));
            }
            seen.insert(kind.clone(), line);
            sections.push((
                kind,
                Section {
                    line,
                    values: BTreeMap::new(),
                },
            ));
            continue;
        }
        let Some((key, rest)) = t.split_once('=') else {
            return Err(at(
                line,
                format!(
                    "\"{}\" is not `key = value` (a host list goes in `hosts = a, b, c`)",
                    shown(t)
                ),
            ));
        };
        let key = key.trim();
        connection::key(key).map_err(|e| at(line, e.to_string()))?;
        let Some((_, section)) = sections.last_mut() else {
            return Err(at(
                line,
                format!(
                    "key \"{key}\" is outside any section (start with [defaults], [group NAME] or [host NAME])"
                ),
            ));
        };
        if let Some((_, first)) = section.values.get(key) {
            return Err(at(
                line,
                format!("duplicate key \"{key}\" (first at line {first})"),
            ));
        }
        let v = value(rest).map_err(|cause| at(line, format!("{key}: {cause}")))?;
        if rest.trim_end().ends_with('\\') || v.text.ends_with('\\') {
            // rust-ini joins the next line to it, quoted or not.
            return Err(at(
                line,
                format!(
                    "the value of {key} ends with a backslash, which INI readers take as a line continuation: a value cannot end in one"
                ),
            ));
        }
        if v.comment && !v.quoted && connection::holds_secret(key) {
            // `password = Pw #x` must not quietly become `Pw`.
            return Err(at(
                line,
                format!(
                    "the value of {key} holds \" #\" or \" ;\", which would start a comment: quote the value ({key} = \"...\") or put the comment on its own line"
                ),
            ));
        }
        section.values.insert(key.to_string(), (v.text, line));
    }
    read_with_ini(text, file, &sections)?;
    Ok(sections)
}

/// The section name rust-ini sees for `kind`.
fn ini_name(kind: &Kind) -> String {
    match kind {
        Kind::Defaults => "defaults".to_string(),
        Kind::Group(n) => format!("group {n}"),
        Kind::Host(n) => format!("host {n}"),
    }
}

/// rust-ini reads the file too (escapes off: `C:\temp\new` stays as written), and must read
/// every value as the scan did: where the two disagree the text is ambiguous, and the key's
/// line says so rather than one reading winning silently.
fn read_with_ini(
    text: &str,
    file: &str,
    sections: &[(Kind, Section)],
) -> Result<(), InventoryError> {
    let at = |line: usize, cause: String| InventoryError::At {
        file: file.to_string(),
        line,
        cause,
    };
    let opts = ini::ParseOption {
        enabled_quote: true,
        enabled_escape: false,
        enabled_indented_mutiline_value: false,
        enabled_preserve_key_leading_whitespace: false,
    };
    let parsed =
        ini::Ini::load_from_str_opt(text, opts).map_err(|e| at(e.line, e.msg.to_string()))?;
    let by_name: HashMap<String, &Section> =
        sections.iter().map(|(k, s)| (ini_name(k), s)).collect();
    for (name, props) in parsed.iter() {
        let Some(name) = name else { continue };
        let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
        let Some(section) = by_name.get(&name) else {
            continue;
        };
        for (key, ini_value) in props.iter() {
            let key = key.trim();
            let Some((scanned, line)) = section.values.get(key) else {
                return Err(at(
                    section.line,
                    format!(
                        "[{name}]: key \"{}\" is read differently by the INI reader",
                        shown(key)
                    ),
                ));
            };
            // rust-ini keeps a comment that starts right after `=` as the value; the scan
            // reads that as empty (then `address = ; todo` says "address is empty").
            let comment_only = scanned.is_empty() && ini_value.starts_with([';', '#']);
            if ini_value != scanned && !comment_only {
                return Err(at(
                    *line,
                    format!(
                        "the value of {key} is ambiguous (quote it: {key} = \"...\", and put comments on their own line)"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// `[defaults]`, `[group NAME]` or `[host NAME]` (`rest` follows the `[`, `t` is the line).
fn header(rest: &str, t: &str) -> Result<Kind, String> {
    let (inner, tail) = rest
        .split_once(']')
        .map(|(h, tail)| (h, tail.trim()))
        .ok_or_else(|| format!("section header \"{}\" lacks ']'", shown(t)))?;
    if !tail.is_empty() && !tail.starts_with(';') && !tail.starts_with('#') {
        return Err(format!(
            "unexpected text after the section header: \"{}\"",
            shown(tail)
        ));
    }
    let words: Vec<&str> = inner.split_whitespace().collect();
    match words.as_slice() {
        ["defaults"] => Ok(Kind::Defaults),
        ["group", name] if valid_name(name) => Ok(Kind::Group(name.to_string())),
        ["host", name] if valid_name(name) => Ok(Kind::Host(name.to_string())),
        ["group" | "host", ..] => Err(format!(
            "bad section header [{}]: expected one name after \"{}\" (letters, digits, _ . - @ :)",
            shown(inner),
            words[0]
        )),
        _ => Err(format!(
            "unknown section [{}]: sections are [defaults], [group NAME] and [host NAME]",
            shown(inner)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(raw: &str) -> Result<(String, bool), String> {
        value(raw).map(|v| (v.text, v.comment))
    }

    #[test]
    fn values_quotes_and_comments() {
        assert_eq!(v(" plain ").unwrap(), ("plain".into(), false));
        assert_eq!(v(" a ; note").unwrap(), ("a".into(), true));
        assert_eq!(v(" a\t# note").unwrap(), ("a".into(), true));
        assert_eq!(
            v(" a#b;c").unwrap(),
            ("a#b;c".into(), false),
            "no blank before"
        );
        assert_eq!(
            v(" \"Pw #x ; y\" ; note").unwrap(),
            ("Pw #x ; y".into(), true)
        );
        assert_eq!(v(" \" spaced \"").unwrap(), (" spaced ".into(), false));
        assert_eq!(v(" ; only a comment").unwrap(), ("".into(), true));
        assert!(v(" \"open").unwrap_err().contains("unterminated quote"));
        assert!(v(" \"a\" b").unwrap_err().contains("unexpected text"));
        assert_eq!(v(" 'single' ; c").unwrap(), ("single".into(), true));
    }

    #[test]
    fn rust_ini_must_read_values_as_the_scan_does() {
        // rust-ini reads `"a"#b` as `a#b`; the scan as `a` and a comment: ambiguous.
        let err = scan("[host a]\nnote = \"a\"#b\n", "inv.ini")
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("inv.ini:2: the value of note is ambiguous"),
            "{err}"
        );
        for text in [
            "[host a]\nidentity = /keys/my\\\nport = 22\n",
            "[host a]\nidentity = \"/keys/my\\\"\n",
        ] {
            let err = scan(text, "inv.ini").map(|_| ()).unwrap_err().to_string();
            assert!(
                err.starts_with("inv.ini:2: the value of identity ends with a backslash"),
                "{err}"
            );
        }
        let sections = scan(
            "[host a]\nnote = 'single' ; c\npath = C:\\temp\\new\n",
            "inv.ini",
        )
        .unwrap();
        let values = &sections[0].1.values;
        assert_eq!(values["note"].0, "single");
        assert_eq!(values["path"].0, "C:\\temp\\new");
    }
}
