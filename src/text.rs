//! Text for people at a terminal: counted nouns ("1 task", "2 tasks") and text from the
//! user's files made safe to print (a title holding ESC must not drive the terminal).

use std::borrow::Cow;

/// `n` and the noun in the right number: `count(1, "task", "tasks")` is "1 task".
pub(crate) fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `text` with control characters (ESC, NUL, CR, …) and bidirectional overrides shown
/// escaped (`\u{1b}`, `\0`), so that titles, ids and queue names from sot.md cannot move
/// the cursor, recolour the screen or reorder what is shown.
pub(crate) fn sanitize(text: &str) -> Cow<'_, str> {
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_debug());
            if c.escape_debug().len() == 1 {
                // escape_debug leaves some format characters alone; spell them out.
                out.pop();
                out.extend(c.escape_unicode());
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Quotes argv for display only (never executed).
pub(crate) fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals() {
        assert_eq!(count(0, "task", "tasks"), "0 tasks");
        assert_eq!(count(1, "task", "tasks"), "1 task");
        assert_eq!(count(2, "task", "tasks"), "2 tasks");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(sanitize("plain — title"), "plain — title");
        assert!(matches!(sanitize("plain"), Cow::Borrowed(_)));
        assert_eq!(sanitize("a\u{1b}[2Jb\0c\r"), "a\\u{1b}[2Jb\\0c\\r");
        assert_eq!(sanitize("x\u{202e}y"), "x\\u{202e}y");
    }
}
