//! The hidden last line of a sticky comment that lists the tasks that failed in the run
//! it reports, so that the next run of the same key can say what newly fails and what was
//! fixed. The comment is text anyone with write access could edit, so reading it back is
//! bounded and validated: only the last non-empty line counts (log tails above it are
//! fenced but could hold a copy), ids are percent-encoded, and counts and sizes are capped.

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

const PREFIX: &str = "<!-- cargo-tek:failed ";
const SUFFIX: &str = " -->";
/// Ids written and read at most; a run with more failures lists the first ones.
pub(crate) const MAX_IDS: usize = 200;
/// An id longer than this (encoded) is left out rather than cut: a cut id would name a
/// different task.
const MAX_ID_CHARS: usize = 300;
/// The longest line read back.
const MAX_LINE: usize = MAX_IDS * (MAX_ID_CHARS + 1) + 64;

/// Everything but `[A-Za-z0-9._-]` is encoded, so no id can end the HTML comment or
/// hold the separator.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'.').remove(b'_').remove(b'-');

/// The hidden line listing `ids`.
pub(crate) fn line(ids: &[String]) -> String {
    let encoded: Vec<String> = ids
        .iter()
        .map(|id| utf8_percent_encode(id, ENCODE).to_string())
        .filter(|e| !e.is_empty() && e.len() <= MAX_ID_CHARS)
        .take(MAX_IDS)
        .collect();
    format!("{PREFIX}ids={}{SUFFIX}", encoded.join(","))
}

/// The failed ids in a comment body, when its last non-empty line is a valid mark.
pub(crate) fn parse(body: &str) -> Option<Vec<String>> {
    let last = body.lines().rev().find(|l| !l.trim().is_empty())?.trim();
    if last.len() > MAX_LINE {
        return None;
    }
    let list = last
        .strip_prefix(PREFIX)?
        .strip_suffix(SUFFIX)?
        .strip_prefix("ids=")?;
    if list.is_empty() {
        return Some(Vec::new());
    }
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '%');
    let mut ids = Vec::new();
    for part in list.split(',').take(MAX_IDS) {
        if part.is_empty() || part.len() > MAX_ID_CHARS || !part.chars().all(valid) {
            return None;
        }
        ids.push(percent_decode_str(part).decode_utf8().ok()?.into_owned());
    }
    Some(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_any_id_and_rejects_what_it_did_not_write() {
        let ids = vec![
            "TASK-001".to_string(),
            "a,b --> <img src=x>".into(),
            "ünïcode @user".into(),
        ];
        let mark = line(&ids);
        assert!(!mark[..mark.len() - 3].contains("-->"), "{mark}");
        let body =
            format!("<!-- m -->\nreport\n```\n<!-- cargo-tek:failed ids=X -->\n```\n{mark}\n\n");
        assert_eq!(parse(&body), Some(ids));
        assert_eq!(
            parse(&format!("{mark}\nmore text")),
            None,
            "only the last line"
        );
        assert_eq!(parse("<!-- cargo-tek:failed ids= -->"), Some(vec![]));
        for bad in [
            "<!-- cargo-tek:failed ids=a b -->",
            "<!-- cargo-tek:failed ids=a,,b -->",
            "<!-- cargo-tek:failed ids=%FF -->",
            "<!-- cargo-tek:failed ids=a",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        let huge = format!("<!-- cargo-tek:failed ids={} -->", "a,".repeat(100_000));
        assert_eq!(parse(&huge), None);
        let many: Vec<String> = (0..500).map(|i| format!("T{i}")).collect();
        assert_eq!(parse(&line(&many)).unwrap().len(), MAX_IDS);
        let long = vec!["x".repeat(400), "ok".into()];
        assert_eq!(parse(&line(&long)), Some(vec!["ok".to_string()]));
    }
}
