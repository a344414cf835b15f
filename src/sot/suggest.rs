//! "Did you mean …?": the closest known name to a mistyped one, and the near misses of a
//! task id pattern (`task-010`, `TSK-052`, `TASK-20a`) that would otherwise be read as
//! prose and silently drop a task.

use super::IdPattern;

/// The candidate closest to `typed`, if one is close enough to be a plausible typo.
/// Case differences count as small, so `task-010` finds `TASK-010`.
pub(crate) fn closest<'a>(
    typed: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = typed.to_lowercase();
    let mut best: Option<(f64, &'a str)> = None;
    for candidate in candidates {
        let score = strsim::jaro_winkler(&lower, &candidate.to_lowercase());
        // Ties go to the smaller name, so the answer never depends on hash order.
        if best.is_none_or(|(b, c)| score > b || (score == b && candidate < c)) {
            best = Some((score, candidate));
        }
    }
    // Below this, suggestions are noise ("did you mean `TASK-1`?" for `hello`).
    best.filter(|(score, _)| *score >= 0.8).map(|(_, c)| c)
}

/// What a near miss of the id pattern should have been.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NearMiss {
    /// Why it does not match, as a fragment ("wrong case").
    pub(crate) why: &'static str,
    /// A spelling that matches the pattern, when one is obvious.
    pub(crate) suggestion: Option<String>,
}

/// Whether `text` (the first code span of a list item) looks like a task id that does
/// not match `ids`: the pattern matches it ignoring case, or it is a word, a separator
/// and a number-like tail whose word is close to a known id prefix (`prefixes`, e.g.
/// `TASK-`). Anything else (`cargo`, `x86_64`, `--release`) stays prose.
pub(crate) fn near_miss(text: &str, ids: &IdPattern, prefixes: &[String]) -> Option<NearMiss> {
    let text = text.trim();
    if text.is_empty() || ids.is_match(text) {
        return None;
    }
    let upper = text.to_uppercase();
    if ids.is_match(&upper) {
        return Some(NearMiss {
            why: "has the wrong case",
            suggestion: Some(upper),
        });
    }
    let (prefix, tail) = split(text)?;
    if !tail.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let digits: String = tail.chars().take_while(char::is_ascii_digit).collect();
    let known = prefixes
        .iter()
        .find(|p| p.eq_ignore_ascii_case(prefix))
        .or_else(|| {
            prefixes.iter().find(|p| {
                strsim::damerau_levenshtein(&p.to_uppercase(), &prefix.to_uppercase()) <= 2
                    && prefix.len() >= 2
            })
        })?;
    let fixed = format!("{known}{digits}");
    let suggestion = ids.is_match(&fixed).then_some(fixed);
    let why = if known.eq_ignore_ascii_case(prefix) {
        if tail.len() > digits.len() {
            "has letters in its number"
        } else {
            "does not match the id pattern"
        }
    } else {
        "has the wrong prefix"
    };
    Some(NearMiss { why, suggestion })
}

/// The id-like prefix of a task id: the letters and the separator before its number
/// (`TASK-` of `TASK-001`).
pub(crate) fn prefix(id: &str) -> Option<&str> {
    split(id).map(|(prefix, _)| prefix)
}

fn split(text: &str) -> Option<(&str, &str)> {
    let letters = text
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(text.len());
    if letters == 0 {
        return None;
    }
    let rest = &text[letters..];
    let sep = rest
        .find(|c: char| !matches!(c, '-' | '_' | '.' | '/' | '#'))
        .unwrap_or(rest.len());
    if sep > 1 {
        return None;
    }
    let tail = &rest[sep..];
    if tail.is_empty() || !tail.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    Some((&text[..letters + sep], tail))
}

/// The literal prefix a pattern starts with (`TASK-` of `TASK-[0-9]+`), if it is a plain
/// word and separator.
pub(crate) fn pattern_prefix(pattern: &str) -> Option<String> {
    let literal: String = pattern
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .collect();
    let letters = literal.trim_end_matches(|c: char| c.is_ascii_digit());
    (letters.len() == literal.len() && !literal.is_empty()).then_some(literal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefixes() -> Vec<String> {
        vec!["TASK-".into()]
    }

    #[test]
    fn near_misses_of_the_default_pattern() {
        let ids = IdPattern::default();
        let p = prefixes();
        let case = near_miss("task-010", &ids, &p).unwrap();
        assert_eq!(
            (case.why, case.suggestion.as_deref()),
            ("has the wrong case", Some("TASK-010"))
        );
        let prefix = near_miss("TSK-052", &ids, &p).unwrap();
        assert_eq!(
            (prefix.why, prefix.suggestion.as_deref()),
            ("has the wrong prefix", Some("TASK-052"))
        );
        let letters = near_miss("TASK-20a", &ids, &p).unwrap();
        assert_eq!(
            (letters.why, letters.suggestion.as_deref()),
            ("has letters in its number", Some("TASK-20"))
        );
    }

    #[test]
    fn prose_code_spans_are_not_near_misses() {
        let ids = IdPattern::default();
        let p = prefixes();
        for prose in [
            "cargo",
            "x86_64",
            "--release",
            "sha256",
            "TASK-001",
            "a b",
            "v1",
            "",
        ] {
            assert_eq!(near_miss(prose, &ids, &p), None, "{prose}");
        }
    }

    #[test]
    fn closest_finds_typos_and_ignores_noise() {
        let ids = ["TASK-010", "TASK-011", "TASK-100"];
        assert_eq!(closest("TASK-01O", ids), Some("TASK-010"));
        assert_eq!(closest("task-100", ids), Some("TASK-100"));
        assert_eq!(closest("hello world", ids), None);
        assert_eq!(closest("x", std::iter::empty()), None);
    }

    #[test]
    fn pattern_prefixes() {
        assert_eq!(pattern_prefix("TASK-[0-9]+").as_deref(), Some("TASK-"));
        assert_eq!(pattern_prefix("OPS-[0-9]+").as_deref(), Some("OPS-"));
        assert_eq!(pattern_prefix("[A-Z]+-[0-9]+"), None);
        assert_eq!(prefix("TASK-001"), Some("TASK-"));
    }
}
