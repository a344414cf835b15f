//! Task id patterns: `TASK-` and digits by default, configurable per workspace.

use regex::Regex;

/// The default id pattern.
pub(crate) const DEFAULT_ID_PATTERN: &str = "TASK-[0-9]+";

/// The longest task id, in bytes. An id names its log folder (`logs/<id>/`), which
/// percent-encodes every byte outside `[A-Za-z0-9._-]`: at most three bytes per byte,
/// so 80 bytes stay within the 255 bytes a file name may have on every common file
/// system. A longer id would pass `check` and then fail at run time, with no log.
pub(crate) const MAX_ID_BYTES: usize = 80;

/// How an id that is too long is shown in a message: its start, not all of it.
pub(crate) fn shortened(id: &str) -> String {
    const SHOWN: usize = 24;
    match id.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{}…", &id[..end]),
        None => id.to_owned(),
    }
}

/// A compiled, anchored task id pattern.
#[derive(Debug, Clone)]
pub(crate) struct IdPattern {
    source: String,
    regex: Regex,
}

impl IdPattern {
    /// Compiles `pattern` (a regular expression, matched against the whole id).
    pub(crate) fn new(pattern: &str) -> Result<Self, regex::Error> {
        let regex = Regex::new(&format!("^(?:{pattern})$"))?;
        Ok(Self {
            source: pattern.to_owned(),
            regex,
        })
    }

    /// Whether `candidate` is a task id.
    pub(crate) fn is_match(&self, candidate: &str) -> bool {
        self.regex.is_match(candidate)
    }

    /// The pattern as written.
    pub(crate) fn as_str(&self) -> &str {
        &self.source
    }
}

impl Default for IdPattern {
    fn default() -> Self {
        Self::new(DEFAULT_ID_PATTERN).expect("the default pattern is valid")
    }
}

/// The numeric part of an id (its last run of digits), used for layer ranges.
pub(crate) fn number(id: &str) -> Option<u64> {
    let end = id.rfind(|c: char| c.is_ascii_digit())? + 1;
    let start = id[..end]
        .rfind(|c: char| !c.is_ascii_digit())
        .map_or(0, |i| i + 1);
    id[start..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_pattern_is_anchored() {
        let p = IdPattern::default();
        assert!(p.is_match("TASK-001"));
        assert!(!p.is_match("TASK-"));
        assert!(!p.is_match("xTASK-1"));
        assert!(!p.is_match("TASK-1 "));
        let ops = IdPattern::new("OPS-[0-9]+").unwrap();
        assert!(ops.is_match("OPS-12") && !ops.is_match("TASK-1"));
    }

    #[test]
    fn a_shortened_id_keeps_its_start() {
        assert_eq!(shortened("TASK-1"), "TASK-1");
        let long = format!("TASK-{}", "1".repeat(300));
        assert_eq!(shortened(&long), format!("TASK-{}…", "1".repeat(19)));
    }

    #[test]
    fn number_takes_the_last_digits() {
        assert_eq!(number("TASK-021"), Some(21));
        assert_eq!(number("OPS-12"), Some(12));
        assert_eq!(number("X"), None);
    }
}
