//! Sealing the journal: every line of `events.jsonl` carries an HMAC-SHA256 chained over
//! all lines before it, keyed by `CARGO_TEK_JOURNAL_KEY`, so that a task (which runs as
//! the same user and can append to the file) cannot add, change, drop or reorder records
//! that a report rebuilt after a `kill -9` would trust.
//!
//! A sealed line is the entry's JSON with one last member, `"mac"`: the MAC covers the
//! line as it would be without that member, after the previous line's MAC. The chain
//! starts from the run id, so a journal copied from another run under the same key does
//! not verify in this one's directory. Without a key nothing is sealed and a reader says
//! so: an unsealed journal is what any process could have written.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The environment variable holding the key, as hexadecimal digits.
pub(crate) const KEY_VAR: &str = "CARGO_TEK_JOURNAL_KEY";

/// Fewer hex digits than this (128 bits) is refused: a short key can be guessed.
const MIN_HEX: usize = 32;

/// What a sealed line ends with: `,"mac":"` + 64 hex digits + `"}`.
const MAC_HEX: usize = 64;
const PREFIX: &[u8] = b",\"mac\":\"";
const SUFFIX_LEN: usize = PREFIX.len() + MAC_HEX + 2;

/// A journal key. Its `Debug` never shows it.
#[derive(Clone)]
pub(crate) struct JournalKey(Vec<u8>);

impl std::fmt::Debug for JournalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JournalKey(..)")
    }
}

impl JournalKey {
    /// Parses the variable's value; the error says what a valid one looks like.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bytes = hex::decode(text).ok().filter(|_| text.len() >= MIN_HEX);
        bytes.map(Self).ok_or_else(|| {
            format!(
                "{KEY_VAR} must be at least {MIN_HEX} hexadecimal digits (an even number), \
                 e.g. from `od -An -N32 -tx1 /dev/urandom | tr -d ' \\n'`"
            )
        })
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes keys of any length.
        HmacSha256::new_from_slice(&self.0).expect("HMAC accepts every key length")
    }
}

/// The state of a chain: the MAC of the last line (or of the run id, before the first).
#[derive(Debug, Clone)]
pub(crate) struct Chain {
    key: JournalKey,
    last: Vec<u8>,
}

impl Chain {
    /// A chain for the journal of run `run_id`.
    pub(crate) fn new(key: JournalKey, run_id: &str) -> Self {
        let mut mac = key.mac();
        mac.update(b"cargo-tek journal v1\0");
        mac.update(run_id.as_bytes());
        let last = mac.finalize().into_bytes().to_vec();
        Self { key, last }
    }

    fn next(&self, body: &[u8]) -> Vec<u8> {
        let mut mac = self.key.mac();
        mac.update(&self.last);
        mac.update(body);
        mac.finalize().into_bytes().to_vec()
    }

    /// Seals `body` (one JSON object, no newline) and advances the chain.
    pub(crate) fn seal(&mut self, body: &[u8]) -> Vec<u8> {
        let tag = self.next(body);
        let mut line = body.to_vec();
        if line.last() == Some(&b'}') {
            line.pop();
        }
        // `{}` has no member to follow: the MAC becomes its first.
        if line.len() > 1 {
            line.extend_from_slice(PREFIX);
        } else {
            line.extend_from_slice(&PREFIX[1..]);
        }
        line.extend_from_slice(hex::encode(&tag).as_bytes());
        line.extend_from_slice(b"\"}");
        self.last = tag;
        line
    }

    /// Checks a sealed `line` and advances the chain; the error says what is wrong.
    pub(crate) fn open(&mut self, line: &[u8]) -> Result<(), &'static str> {
        let (body, tag) = split(line).ok_or("it carries no MAC")?;
        let tag = hex::decode(tag).map_err(|_| "its MAC is not hexadecimal")?;
        let mut mac = self.key.mac();
        mac.update(&self.last);
        mac.update(&body);
        // Constant time: the comparison must not tell how much of a forged tag was right.
        mac.verify_slice(&tag)
            .map_err(|_| "its MAC does not match (changed, inserted or reordered)")?;
        self.last = tag;
        Ok(())
    }
}

/// A sealed line's body (as it was MAC'd) and its MAC's hex digits.
fn split(line: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    if line.len() < SUFFIX_LEN || !line.ends_with(b"\"}") {
        return None;
    }
    let start = line.len() - SUFFIX_LEN;
    let tag = &line[start + PREFIX.len()..line.len() - 2];
    if &line[start..start + PREFIX.len()] == PREFIX {
        let mut body = line[..start].to_vec();
        body.push(b'}');
        Some((body, tag))
    } else if line[start + 1..start + PREFIX.len()] == PREFIX[1..] && line[start] == b'{' {
        Some((b"{}".to_vec(), tag))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> JournalKey {
        JournalKey::parse(&"ab".repeat(32)).unwrap()
    }

    #[test]
    fn sealed_lines_open_in_order_and_stay_json() {
        let mut w = Chain::new(key(), "run-1");
        let a = w.seal(br#"{"event":"a","n":1}"#);
        let b = w.seal(b"{}");
        for line in [&a, &b] {
            serde_json::from_slice::<serde_json::Value>(line).unwrap();
        }
        let mut r = Chain::new(key(), "run-1");
        r.open(&a).unwrap();
        r.open(&b).unwrap();
    }

    #[test]
    fn a_changed_reordered_or_foreign_line_fails() {
        let mut w = Chain::new(key(), "run-1");
        let a = w.seal(br#"{"status":"failed"}"#);
        let b = w.seal(br#"{"status":"ok"}"#);
        let forged = String::from_utf8(a.clone())
            .unwrap()
            .replace("failed", "ok")
            .into_bytes();
        assert!(Chain::new(key(), "run-1").open(&forged).is_err());
        assert!(Chain::new(key(), "run-1").open(&b).is_err(), "reordered");
        assert!(Chain::new(key(), "run-2").open(&a).is_err(), "another run");
        let other = JournalKey::parse(&"cd".repeat(32)).unwrap();
        assert!(Chain::new(other, "run-1").open(&a).is_err(), "another key");
        assert!(Chain::new(key(), "run-1")
            .open(br#"{"status":"ok"}"#)
            .is_err());
    }

    #[test]
    fn short_or_malformed_keys_are_refused_and_never_shown() {
        assert!(JournalKey::parse("abcd").is_err());
        assert!(JournalKey::parse(&"zz".repeat(32)).is_err());
        assert!(JournalKey::parse(&"a".repeat(33)).is_err(), "odd length");
        assert_eq!(format!("{:?}", key()), "JournalKey(..)");
    }
}
