//! Where a [`Spot`] is written in hooks.json, for errors at line:col.

use std::ops::Range;

use super::problem::Spot;

/// Where `spot` is written in `text`, searching from `from` (the hook's key).
pub(crate) fn locate(text: &str, from: usize, spot: &Spot) -> Range<usize> {
    let fallback = from..from;
    let find_key = |start: usize, key: &str| -> Option<Range<usize>> {
        let r = crate::config::key_range(text.get(start..)?, key);
        (!r.is_empty()).then(|| start + r.start..start + r.end)
    };
    let Some(matrix) = find_key(from, "matrix") else {
        return match spot {
            Spot::Text(t) => find_text(text, from, t).unwrap_or(fallback),
            _ => fallback,
        };
    };
    let found = match spot {
        Spot::Matrix => Some(matrix),
        Spot::Axis(axis) => find_key(matrix.end, axis),
        Spot::Value { axis, value, nth } => find_key(matrix.end, axis).and_then(|key| {
            let quoted = serde_json::to_string(value).ok()?;
            let mut at = key.end;
            let mut found = None;
            for _ in 0..=*nth {
                let start = at + text.get(at..)?.find(&quoted)?;
                at = start + quoted.len();
                found = Some(start..at);
            }
            found
        }),
        Spot::Entry { list, index } => {
            find_key(matrix.end, list).map(|key| nth_object(text, key.end, *index).unwrap_or(key))
        }
        Spot::Text(t) => find_text(text, from, t),
    };
    found.unwrap_or(fallback)
}

fn find_text(text: &str, from: usize, needle: &str) -> Option<Range<usize>> {
    let start = from + text.get(from..)?.find(needle)?;
    Some(start..start + needle.len())
}

/// The `index`th object of the array that starts after `from`, skipping strings.
fn nth_object(text: &str, from: usize, index: usize) -> Option<Range<usize>> {
    let bytes = text.as_bytes();
    let mut i = from + text.get(from..)?.find('[')? + 1;
    let (mut depth, mut seen, mut start) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' => {
                if depth == 0 {
                    start = i;
                }
                depth += 1;
            }
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    if seen == index {
                        return Some(start..i + 1);
                    }
                    seen += 1;
                }
            }
            b']' if depth == 0 => return None,
            _ => {}
        }
        i += 1;
    }
    None
}
