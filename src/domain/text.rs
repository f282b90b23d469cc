//! What text the service accepts: any Unicode except control characters, which no name, note or
//! code needs and which break storage (PostgreSQL refuses NUL), logs, terminals and spreadsheets.
//! Tab and line feed stay allowed: multi-line notes use them.

use serde_json::Value;

/// Whether `c` may not appear in a text field: the C0 controls other than tab and line feed
/// (NUL and carriage return included), DEL and the C1 controls.
pub fn is_forbidden(c: char) -> bool {
    c.is_control() && c != '\t' && c != '\n'
}

/// The first forbidden character of `text`, if any.
pub fn first_forbidden(text: &str) -> Option<char> {
    text.chars().find(|c| is_forbidden(*c))
}

/// The reason given for a field holding `c`.
pub fn forbidden_message(c: char) -> String {
    format!(
        "must not contain control characters (found U+{:04X}); only tab and line feed are allowed",
        u32::from(c)
    )
}

/// `text` with every control character (tab and line feed too) written as its Rust escape (`\n`,
/// `\u{1b}`), for logs and error messages that echo what a client sent.
pub fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

/// Every string of a JSON value (object keys included) that holds a forbidden character, as
/// `(path, reason)`. Paths read like `applicant.name` or `steps[1].name`, starting from `root`
/// (empty for the top level, where a bare string is reported as `root_name`).
pub fn forbidden_in_json(value: &Value, root_name: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    walk(value, String::new(), root_name, &mut found);
    found
}

fn walk(value: &Value, path: String, root_name: &str, found: &mut Vec<(String, String)>) {
    let named = |path: &str| {
        if path.is_empty() {
            root_name.to_owned()
        } else {
            path.to_owned()
        }
    };
    match value {
        Value::String(s) => {
            if let Some(c) = first_forbidden(s) {
                found.push((named(&path), forbidden_message(c)));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, format!("{path}[{i}]"), root_name, found);
            }
        }
        Value::Object(fields) => {
            for (key, item) in fields {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                if let Some(c) = first_forbidden(key) {
                    // The key itself is at fault: name it escaped, so the report stays readable.
                    let shown = if path.is_empty() {
                        key.escape_debug().to_string()
                    } else {
                        format!("{path}.{}", key.escape_debug())
                    };
                    found.push((shown, forbidden_message(c)));
                    continue;
                }
                walk(item, child, root_name, found);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_tab_and_line_feed_of_the_controls_are_allowed() {
        assert_eq!(first_forbidden("Nguyễn Văn A\tphòng 2\nghi chú"), None);
        for c in ['\0', '\r', '\u{1b}', '\u{7f}', '\u{85}', '\u{9f}', '\u{0b}'] {
            assert_eq!(first_forbidden(&format!("a{c}b")), Some(c), "{c:?}");
        }
        // Format characters and other non-controls are text.
        assert_eq!(first_forbidden("\u{200b}\u{2028}é"), None);
        assert!(forbidden_message('\0').contains("U+0000"));
    }

    #[test]
    fn escaping_keeps_text_and_shows_controls() {
        assert_eq!(
            escape_controls("Nguyễn\tA\n\u{1b}[31m"),
            "Nguyễn\\tA\\n\\u{1b}[31m"
        );
    }

    #[test]
    fn json_paths_name_every_offending_string() {
        let body = json!({
            "name": "ok",
            "applicant": {"name": "A\u{0}"},
            "steps": [{"name": "fine"}, {"name": "bad\r"}],
            "bad\u{1}key": 1,
        });
        let found: Vec<String> = forbidden_in_json(&body, "body")
            .into_iter()
            .map(|(path, _)| path)
            .collect();
        assert_eq!(found, ["applicant.name", "bad\\u{1}key", "steps[1].name"]);
        assert_eq!(forbidden_in_json(&json!("x\u{0}"), "body")[0].0, "body");
        assert!(forbidden_in_json(&json!({"a": [1, true, null, "b"]}), "body").is_empty());
    }
}
