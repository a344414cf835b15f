//! Masking secrets in text that cargo-tek writes anywhere: evidence (run.json, the
//! journal, logs, junit.xml), reports, the job summary, the PR comment and the terminal.
//!
//! A ground-floor module: it imports nothing of ours, so evidence, output and report all
//! use it downward. Which variables hold secrets is decided above (built-in names in
//! `supervise::env`, more in manifest.json `secrets`); what arrives here is one table of
//! values, [`Secrets`], resolved once per run or report and read by every writer.
//!
//! Values shorter than [`MIN_SECRET_LEN`] are never masked: masking `1` or `ok` would
//! shred every line while protecting nothing a guess would not find.

use std::io::{Read, Write};
use std::sync::{Arc, LazyLock};

use aho_corasick::AhoCorasick;
use regex::bytes::Regex;

/// Secrets shorter than this (in chars) are not masked: masking `a` or `ok` would shred
/// the output while protecting nothing.
pub(crate) const MIN_SECRET_LEN: usize = 4;

/// What a masked secret is replaced with, the same marker GitHub Actions uses.
pub(crate) const MASK: &str = "***";

/// GitHub token shapes: classic `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_` tokens and
/// fine-grained `github_pat_` tokens. No word boundary on purpose: a token glued to other
/// text (`TOKEN=ghp_…`, `xghp_…`) must still be caught. Masked even when no table holds
/// it: a token from elsewhere (a task's own `.netrc`) is no less a token.
static GITHUB_TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}")
        .expect("the GitHub token pattern is a valid constant regex")
});

/// The secret values of one run or one report. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub(crate) struct Secrets {
    inner: Option<Arc<Table>>,
}

/// The empty table, for callers that hold no secret (only token shapes are masked).
#[cfg(test)]
pub(crate) static NONE: Secrets = Secrets { inner: None };

#[derive(Debug)]
struct Table {
    /// Finds every occurrence of every value, overlapping ones included.
    finder: AhoCorasick,
    /// The longest value, in bytes: how much a streamed mask must hold back.
    longest: usize,
}

impl Secrets {
    /// The table of `values`; empty ones and those under [`MIN_SECRET_LEN`] chars are
    /// left out, duplicates are dropped.
    pub(crate) fn new(values: impl IntoIterator<Item = String>) -> Self {
        let mut values: Vec<String> = values
            .into_iter()
            .filter(|v| v.chars().count() >= MIN_SECRET_LEN)
            .collect();
        values.sort_unstable();
        values.dedup();
        if values.is_empty() {
            return Self::default();
        }
        let longest = values.iter().map(String::len).max().unwrap_or(0);
        // Standard match kind: the only one that reports overlapping matches.
        match AhoCorasick::new(&values) {
            Ok(finder) => Self {
                inner: Some(Arc::new(Table { finder, longest })),
            },
            // Only a table too large for the automaton fails; then nothing can be
            // masked reliably, and nothing would be worse than shredding the output.
            Err(_) => Self::default(),
        }
    }

    /// The values of the variables in `vars` whose name `is_secret` accepts.
    pub(crate) fn of_vars(
        vars: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
        is_secret: impl Fn(&str) -> bool,
    ) -> Self {
        Self::new(vars.into_iter().filter_map(|(k, v)| {
            is_secret(k.to_str()?)
                .then(|| v.into_string().ok())
                .flatten()
        }))
    }

    /// How many values the table holds (token shapes are masked besides).
    pub(crate) fn len(&self) -> usize {
        self.inner.as_ref().map_or(0, |t| t.finder.patterns_len())
    }

    /// The byte ranges to mask in `bytes`, sorted and merged (overlapping or touching
    /// matches become one, so no fragment of either secret survives).
    fn spans(&self, bytes: &[u8]) -> Vec<(usize, usize)> {
        let mut spans: Vec<(usize, usize)> = GITHUB_TOKEN
            .find_iter(bytes)
            .map(|m| (m.start(), m.end()))
            .collect();
        if let Some(table) = &self.inner {
            spans.extend(
                table
                    .finder
                    .find_overlapping_iter(bytes)
                    .map(|m| (m.start(), m.end())),
            );
        }
        spans.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
        for (start, end) in spans {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        merged
    }

    /// `bytes` with every span replaced by [`MASK`].
    fn apply(bytes: &[u8], spans: &[(usize, usize)], out: &mut Vec<u8>) {
        let mut copied = 0;
        for &(start, end) in spans {
            out.extend_from_slice(&bytes[copied..start]);
            out.extend_from_slice(MASK.as_bytes());
            copied = end;
        }
        out.extend_from_slice(&bytes[copied..]);
    }

    /// `text` with every value of the table, and anything shaped like a GitHub token
    /// (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_` and 36+ alphanumerics; `github_pat_` and
    /// 22+ of `[A-Za-z0-9_]`), replaced by [`MASK`].
    pub(crate) fn mask(&self, text: &str) -> String {
        let spans = self.spans(text.as_bytes());
        if spans.is_empty() {
            return text.to_owned();
        }
        let mut out = Vec::with_capacity(text.len());
        Self::apply(text.as_bytes(), &spans, &mut out);
        // Values are UTF-8 and the token shapes ASCII, so every span starts and ends on
        // a char boundary of `text` (UTF-8 is self-synchronising).
        String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into())
    }

    /// Masks every string in `value`, keys included, leaving its structure intact: a
    /// secret can never straddle a quote and leave a fragment, and the JSON stays valid.
    pub(crate) fn mask_json(&self, value: &mut serde_json::Value) {
        use serde_json::Value;
        match value {
            Value::String(s) => {
                if !self.spans(s.as_bytes()).is_empty() {
                    *s = self.mask(s);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.mask_json(v)),
            Value::Object(map) => {
                let masked: serde_json::Map<String, Value> = std::mem::take(map)
                    .into_iter()
                    .map(|(k, mut v)| {
                        self.mask_json(&mut v);
                        (self.mask(&k), v)
                    })
                    .collect();
                *map = masked;
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// `item` with every string in it masked (see [`Secrets::mask_json`]); `item` itself
    /// when it does not survive the round trip through JSON.
    pub(crate) fn mask_serde<T>(&self, item: &T) -> Option<T>
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
    {
        let mut value = serde_json::to_value(item).ok()?;
        self.mask_json(&mut value);
        serde_json::from_value(value).ok()
    }

    /// Copies `input` to `output` masked, in chunks, holding back only what a match
    /// still in progress needs: a file of any size is masked in bounded memory. Returns
    /// whether anything was masked.
    pub(crate) fn mask_stream(
        &self,
        mut input: impl Read,
        mut output: impl Write,
    ) -> std::io::Result<bool> {
        const CHUNK: usize = 64 * 1024;
        // A token shape has no upper length; one longer than this is cut into masked
        // pieces (a fragment of a 1 MiB "token" reveals nothing).
        const MAX_HELD: usize = 1 << 20;
        let hold = self
            .inner
            .as_ref()
            .map_or(0, |t| t.longest)
            .max(128)
            .saturating_sub(1);
        let mut buf: Vec<u8> = Vec::with_capacity(CHUNK + hold);
        let mut out = Vec::with_capacity(CHUNK + hold);
        let mut masked = false;
        let mut chunk = vec![0; CHUNK];
        loop {
            let n = input.read(&mut chunk)?;
            let eof = n == 0;
            buf.extend_from_slice(&chunk[..n]);
            let spans = self.spans(&buf);
            // Everything before `cut` is final: a value starting there ends inside the
            // buffer, and a span reaching the buffer's end may still grow.
            let mut cut = if eof {
                buf.len()
            } else {
                buf.len().saturating_sub(hold)
            };
            // Spans are disjoint, so at most one holds `cut`: keep it whole for the next
            // round (it may still grow), unless the buffer is already at its bound.
            if let Some(&(start, end)) = spans.iter().find(|&&(s, e)| s < cut && e > cut) {
                cut = if buf.len() < MAX_HELD { start } else { end };
            }
            let done: Vec<(usize, usize)> = spans
                .iter()
                .copied()
                .filter(|&(_, end)| end <= cut)
                .collect();
            masked |= !done.is_empty();
            out.clear();
            Self::apply(&buf[..cut], &done, &mut out);
            output.write_all(&out)?;
            buf.drain(..cut);
            if eof {
                return Ok(masked);
            }
        }
    }
}

/// Whether the variable `name` matches `pattern`: the name itself, or with `*` standing
/// for any run of characters (`DEPLOY_*`, `*_TOKEN`, `CARGO_REGISTRIES_*_TOKEN`).
pub(crate) fn name_matches(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let mut parts: Vec<&str> = parts.collect();
    let Some(last) = parts.pop() else {
        // No `*`: the whole name.
        return rest.is_empty();
    };
    for part in parts {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(values: &[&str]) -> Secrets {
        Secrets::new(values.iter().map(|v| v.to_string()))
    }

    #[test]
    fn values_and_token_shapes_are_masked() {
        let classic = format!("ghp_{}", "a1B2".repeat(9));
        let fine = format!("github_pat_{}", "x_Y9".repeat(6));
        let text = format!("token={classic} pat {fine}; pass hunter22 and hunter22!");
        assert_eq!(
            table(&["hunter22", "", "abc"]).mask(&text),
            "token=*** pat ***; pass *** and ***!"
        );
        // Too short to be a token shape, too short to be a secret.
        assert_eq!(table(&["abc"]).mask("ghp_short abc"), "ghp_short abc");
        // Overlapping secrets leave no fragment, whatever their order.
        assert_eq!(table(&["abcd", "cdef"]).mask("xxabcdefyy"), "xx***yy");
        assert_eq!(table(&["cdef", "abcdef"]).mask("xxabcdefyy"), "xx***yy");
        assert_eq!(table(&["aaaa"]).mask("aaaaa"), "***");
        assert_eq!(table(&["secret€"]).mask("é€secret€é"), "é€***é");
        for prefix in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"] {
            let token = format!("{prefix}{}", "Z".repeat(36));
            assert_eq!(Secrets::default().mask(&format!("[{token}]")), "[***]");
        }
    }

    #[test]
    fn json_keeps_its_shape() {
        let mut value = serde_json::json!({
            "reason": "exit 1: s3cr3t-value",
            "s3cr3t-value": ["a\"s3cr3t-value\"b", 3, null],
        });
        table(&["s3cr3t-value"]).mask_json(&mut value);
        assert_eq!(
            value,
            serde_json::json!({"reason": "exit 1: ***", "***": ["a\"***\"b", 3, null]})
        );
    }

    #[test]
    fn a_stream_is_masked_across_chunk_boundaries() {
        let secret = "0123456789-secret-value-0123456789";
        let secrets = table(&[secret, "another"]);
        // Put occurrences on and around every 64 KiB boundary.
        let mut text = String::new();
        for i in 0..6 {
            let pad = 64 * 1024 * (i + 1) - text.len() - i * 7;
            text.push_str(&"x".repeat(pad));
            text.push_str(secret);
            text.push_str("another");
        }
        let token = format!("ghp_{}", "Q".repeat(200_000));
        text.push_str(&token);
        text.push_str(" end");
        let mut out = Vec::new();
        assert!(secrets.mask_stream(text.as_bytes(), &mut out).unwrap());
        let out = String::from_utf8(out).unwrap();
        assert_eq!(out, secrets.mask(&text));
        assert!(!out.contains(secret) && !out.contains("another") && !out.contains("ghp_"));
        assert!(out.ends_with("*** end"));

        let mut clean = Vec::new();
        assert!(!secrets
            .mask_stream(&b"nothing here"[..], &mut clean)
            .unwrap());
        assert_eq!(clean, b"nothing here");
    }

    #[test]
    fn names_match_with_wildcards() {
        assert!(name_matches("MY_API_KEY", "MY_API_KEY"));
        assert!(!name_matches("MY_API_KEY", "MY_API_KEY2"));
        assert!(name_matches("DEPLOY_*", "DEPLOY_KEY"));
        assert!(name_matches("DEPLOY_*", "DEPLOY_"));
        assert!(!name_matches("DEPLOY_*", "XDEPLOY_KEY"));
        assert!(name_matches(
            "CARGO_REGISTRIES_*_TOKEN",
            "CARGO_REGISTRIES_CORP_TOKEN"
        ));
        assert!(!name_matches(
            "CARGO_REGISTRIES_*_TOKEN",
            "CARGO_REGISTRIES_TOKEN"
        ));
        assert!(name_matches("*_TOKEN", "A_TOKEN"));
        assert!(!name_matches("A*A", "A"));
    }
}
