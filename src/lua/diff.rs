//! Unified diffs of file contents for operations' events (`--diff`), with every line that
//! contains a secret hidden, old or new (the `similar` crate makes the diff; this file decides
//! what of it may be shown). Pure: text in, text out.

use similar::TextDiff;

use crate::report::Secrets;

/// Past this many bytes on either side a diff is a sentence, not a listing.
const MAX_DIFF_BYTES: usize = 1 << 20;

/// What a hidden line shows instead of its text.
pub(crate) const HIDDEN_LINE: &str = "<line hidden: it contains a secret>";

/// `text` with every secret in it replaced by `<secret>` (a target or command shown in an
/// event).
pub(crate) fn mask(text: &str, secrets: &Secrets) -> String {
    secrets.redact(text).into_owned()
}

/// A unified diff from `old` (None: the file did not exist) to `new` (None: it goes away),
/// headed `--- label` / `+++ label`; `None` when they are equal. Lines containing a secret
/// are shown as [`HIDDEN_LINE`]; binary or very large contents are a sentence.
pub(crate) fn unified(
    old: Option<&[u8]>,
    new: Option<&[u8]>,
    label: &str,
    secrets: &Secrets,
) -> Option<String> {
    if old == new {
        return None;
    }
    let (a, b) = (old.unwrap_or_default(), new.unwrap_or_default());
    let label = mask(label, secrets);
    let header = |what: &str| format!("--- {label}\n+++ {label}\n{what}\n");
    if a.len() > MAX_DIFF_BYTES || b.len() > MAX_DIFF_BYTES {
        return Some(header("(content differs; too large to show)"));
    }
    let (Ok(a), Ok(b)) = (std::str::from_utf8(a), std::str::from_utf8(b)) else {
        return Some(header("(binary content differs)"));
    };
    let old_name = if old.is_some() {
        label.clone()
    } else {
        "/dev/null".into()
    };
    let new_name = if new.is_some() {
        label.clone()
    } else {
        "/dev/null".into()
    };
    let diff = TextDiff::from_lines(a, b);
    let text = diff
        .unified_diff()
        .context_radius(3)
        .header(&old_name, &new_name)
        .to_string();
    if text.is_empty() {
        // (an empty file made or removed: no line differs)
        return Some(format!("--- {old_name}\n+++ {new_name}\n(empty file)\n"));
    }
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let body = line.strip_suffix('\n').unwrap_or(line);
        let is_header =
            body.starts_with("--- ") || body.starts_with("+++ ") || body.starts_with("@@");
        if secrets.found_in(body) {
            if is_header {
                out.push_str(&mask(body, secrets));
            } else {
                let mark = body.chars().next().unwrap_or(' ');
                out.push(mark);
                out.push_str(HIDDEN_LINE);
            }
            out.push('\n');
        } else {
            out.push_str(body);
            out.push('\n');
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn none() -> Secrets {
        Secrets::default()
    }

    fn of(values: &[&str]) -> Secrets {
        let s = Secrets::default();
        values.iter().for_each(|v| s.add(v));
        s
    }

    #[test]
    fn changed_lines_with_context() {
        let d = unified(Some(b"a\nb\nc\n"), Some(b"a\nB\nc\n"), "/etc/x", &none()).unwrap();
        assert!(
            d.starts_with("--- /etc/x\n+++ /etc/x\n@@ -1,3 +1,3 @@\n"),
            "{d}"
        );
        assert!(d.contains("\n-b\n+B\n c\n"), "{d}");
        assert_eq!(unified(Some(b"same"), Some(b"same"), "/x", &none()), None);
    }

    #[test]
    fn a_new_file_is_from_dev_null() {
        let d = unified(None, Some(b"hello\n"), "/etc/x", &none()).unwrap();
        assert!(d.starts_with("--- /dev/null\n+++ /etc/x\n"), "{d}");
        assert!(d.contains("+hello\n"), "{d}");
        let d = unified(None, Some(b""), "/etc/empty", &none()).unwrap();
        assert_eq!(d, "--- /dev/null\n+++ /etc/empty\n(empty file)\n");
    }

    #[test]
    fn lines_with_a_secret_are_hidden_old_and_new() {
        let secrets = of(&["hunter2", ""]);
        let d = unified(
            Some(b"user=a\npass=hunter2\n"),
            Some(b"user=b\npass=hunter2x\n"),
            "/etc/app.conf",
            &secrets,
        )
        .unwrap();
        assert!(!d.contains("hunter2"), "{d}");
        assert!(d.contains(&format!("-{HIDDEN_LINE}\n")), "{d}");
        assert!(d.contains(&format!("+{HIDDEN_LINE}\n")), "{d}");
        assert!(d.contains("+user=b\n"), "{d}");
        // a multi-line secret: each of its lines
        let key = of(&["-----BEGIN KEY-----\nAAAAsecretline-of-a-key\n-----END KEY-----"]);
        let d = unified(None, Some(b"x\nAAAAsecretline-of-a-key\n"), "/k", &key).unwrap();
        assert!(!d.contains("AAAAsecretline"), "{d}");
    }

    #[test]
    fn binary_and_masked_targets() {
        let d = unified(Some(&[0xff, 0xfe]), Some(b"x"), "/bin/x", &none()).unwrap();
        assert!(d.contains("(binary content differs)"), "{d}");
        assert_eq!(
            mask("echo s3cret s3cret-long", &of(&["s3cret", "s3cret-long"])),
            "echo <secret> <secret>"
        );
    }

    proptest! {
        #[test]
        fn never_panics_and_never_shows_a_secret(
            old in proptest::collection::vec(any::<u8>(), 0..200),
            new in "[a-z\\n=]{0,200}",
            secret in "[a-z]{4,8}",
        ) {
            let new_text = format!("{new}\nk={secret}\n");
            let secrets = of(&[&secret]);
            if let Some(d) = unified(Some(&old), Some(new_text.as_bytes()), "/p", &secrets) {
                prop_assert!(!d.contains(&secret));
            }
        }
    }
}
