//! How the REPL shows a value: strings as they are at the top (as `print` would), inside
//! tables quoted; tables nested and indented when they do not fit on a line, array part
//! first, then the other keys sorted; a table met again on its own path shown as a cycle;
//! long tables and deep nesting cut with a count of what was left out. Values with a
//! `__tostring` (result sets, hosts, error values) show their own text.

use std::collections::HashSet;

use mlua::{Table, Value};

/// Entries shown per table before `... (N more)`.
const MAX_ITEMS: usize = 50;
/// Nesting shown before `{...}`.
const MAX_DEPTH: usize = 6;
/// A table fits on one line up to this width.
const LINE_WIDTH: usize = 72;

/// One value as the REPL prints it.
pub fn show(value: &Value) -> String {
    match value {
        Value::String(s) => s.to_string_lossy(),
        other => Printer::default().value(other, 0),
    }
}

/// A string as Lua source would write it.
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\{:03}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn is_identifier(s: &str) -> bool {
    const KEYWORDS: &[&str] = &[
        "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if",
        "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
    ];
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !KEYWORDS.contains(&s)
}

/// `tostring` of a value, honouring `__tostring` and `__name`; its type name when that fails.
fn text_of(value: &Value) -> String {
    value
        .to_string()
        .unwrap_or_else(|_| value.type_name().to_string())
}

fn has_tostring(t: &Table) -> bool {
    t.metatable()
        .and_then(|m| m.raw_get::<Value>("__tostring").ok())
        .is_some_and(|v| !v.is_nil())
}

#[derive(Default)]
struct Printer {
    /// Tables on the path from the top to the one being printed.
    path: HashSet<usize>,
}

impl Printer {
    fn value(&mut self, value: &Value, depth: usize) -> String {
        match value {
            Value::String(s) => quoted(&s.to_string_lossy()),
            Value::Table(t) if has_tostring(t) => text_of(value),
            Value::Table(t) => self.table(t, depth),
            other => text_of(other),
        }
    }

    fn key(&mut self, key: &Value, depth: usize) -> String {
        match key {
            Value::String(s) if is_identifier(&s.to_string_lossy()) => s.to_string_lossy(),
            other => format!("[{}]", self.value(other, depth)),
        }
    }

    fn table(&mut self, t: &Table, depth: usize) -> String {
        let id = t.to_pointer() as usize;
        if self.path.contains(&id) {
            return format!("<cycle: {}>", text_of(&Value::Table(t.clone())));
        }
        if depth >= MAX_DEPTH {
            return "{...}".to_string();
        }
        let len = t.raw_len();
        let mut others: Vec<(Value, Value)> = t
            .pairs::<Value, Value>()
            .filter_map(Result::ok)
            .filter(|(k, _)| !matches!(k, Value::Integer(i) if *i >= 1 && (*i as usize) <= len))
            .collect();
        others.sort_by_cached_key(|(k, _)| {
            let rank = match k {
                Value::Integer(_) | Value::Number(_) => 0,
                Value::String(_) => 1,
                _ => 2,
            };
            let num = k.as_f64().unwrap_or(0.0);
            (rank, (num * 1e6) as i64, text_of(k))
        });
        let total = len + others.len();
        if total == 0 {
            return "{}".to_string();
        }
        self.path.insert(id);
        let mut items = Vec::new();
        for i in 1..=len.min(MAX_ITEMS) {
            let v: Value = t.raw_get(i).unwrap_or(Value::Nil);
            items.push(self.value(&v, depth + 1));
        }
        for (k, v) in others.iter().take(MAX_ITEMS.saturating_sub(items.len())) {
            let key = self.key(k, depth + 1);
            items.push(format!("{key} = {}", self.value(v, depth + 1)));
        }
        self.path.remove(&id);
        if total > items.len() {
            items.push(format!("... ({} more)", total - items.len()));
        }
        let one_line = format!("{{ {} }}", items.join(", "));
        if one_line.len() <= LINE_WIDTH && !one_line.contains('\n') {
            return one_line;
        }
        // nested tables laid out their own lines for their depth: indent only each first line
        let indent = "  ".repeat(depth + 1);
        format!(
            "{{\n{}\n{}}}",
            items
                .iter()
                .map(|i| format!("{indent}{i}"))
                .collect::<Vec<_>>()
                .join(",\n"),
            "  ".repeat(depth)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(lua: &mlua::Lua, src: &str) -> String {
        show(&lua.load(src).eval::<Value>().expect("evaluates"))
    }

    #[test]
    fn values_print_nested_sorted_and_bounded() {
        let lua = mlua::Lua::new();
        assert_eq!(shown(&lua, "'plain'"), "plain");
        assert_eq!(shown(&lua, "42"), "42");
        assert_eq!(
            shown(&lua, "{1, 2, x = 'a\\n', [10] = true}"),
            "{ 1, 2, [10] = true, x = \"a\\n\" }"
        );
        assert_eq!(shown(&lua, "{}"), "{}");
        let cyclic = shown(&lua, "local t = {name = 'loop'}; t.self = t; return t");
        assert!(cyclic.contains("self = <cycle: table: "), "{cyclic}");
        let long = shown(&lua, "local t = {} for i = 1, 500 do t[i] = i end return t");
        assert!(long.contains("... (450 more)"), "{long}");
        assert!(long.lines().count() > 1, "too wide for one line: {long}");
        let deep = shown(&lua, "return {{{{{{{{1}}}}}}}}");
        assert!(deep.contains("{...}"), "{deep}");
        let own = shown(
            &lua,
            "return setmetatable({}, {__tostring = function() return 'mine' end})",
        );
        assert_eq!(own, "mine");
        assert_eq!(
            shown(&lua, "{['not id'] = 1, ['end'] = 2}"),
            "{ [\"end\"] = 2, [\"not id\"] = 1 }"
        );
    }
}
