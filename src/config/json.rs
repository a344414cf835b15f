//! Strict JSON loading: typed with serde, unknown fields and duplicate keys rejected, and
//! every error pointing at file, line and column.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Range;

/// Fast, non-cryptographic hashing for lookups keyed by the user's own ids.
pub(crate) type HashMap<K, V> = rustc_hash::FxHashMap<K, V>;

use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::source::{ReadError, SourceDiagnostic, SourceFile};

/// Failure to load a JSON config file.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(crate) enum JsonError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Invalid(#[from] SourceDiagnostic),
}

/// Parses `src` as `T`, turning serde_json's line/column into a diagnostic.
pub(crate) fn load_json<T: DeserializeOwned>(src: &SourceFile, help: &str) -> Result<T, JsonError> {
    // serde's "EOF while parsing a value" says nothing useful about an empty file.
    if src.text.trim().is_empty() {
        return Err(JsonError::Invalid(src.diagnostic(
            format!("`{}` is empty", src.name),
            vec![(0..0, "no JSON here".into())],
            Some(format!(
                "write a JSON object (`{{}}` at the least), or delete the file; {help}"
            )),
        )));
    }
    serde_json::from_str(&src.text).map_err(|err| {
        let offset = offset_of(&src.text, err.line(), err.column());
        let message = strip_position(&err.to_string());
        JsonError::Invalid(src.diagnostic(
            message,
            vec![(offset..offset + 1, "here".into())],
            Some(help.to_owned()),
        ))
    })
}

/// serde_json appends " at line L column C"; we show the position our own way.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// Byte offset of a 1-based line and column as serde_json reports them (column counts
/// bytes; 0 means the error is at the line's start).
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let mut offset = (line_start + column.saturating_sub(1)).min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// Where `"key"` is written as an object key in `text` (first occurrence), for
/// diagnostics about a key's meaning rather than its syntax.
pub(crate) fn key_range(text: &str, key: &str) -> Range<usize> {
    let quoted = serde_json::to_string(key).unwrap_or_default();
    let mut from = 0;
    while let Some(found) = text[from..].find(&quoted) {
        let start = from + found;
        let end = start + quoted.len();
        if text[end..].trim_start().starts_with(':') {
            return start..end;
        }
        from = end;
    }
    0..0
}

/// Where each key of a document's top-level object is written, found in one pass over
/// the text: locating every hook of a 50,000-hook file costs one scan, not 50,000.
#[derive(Debug, Default)]
pub(crate) struct KeyIndex {
    keys: HashMap<String, Range<usize>>,
}

impl KeyIndex {
    /// Scans `text` (already known to be valid JSON) once.
    pub(crate) fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut keys = HashMap::default();
        let mut depth = 0usize;
        let mut expect_key = false;
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'"' => {
                    let start = i;
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'"' {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                    let end = (i + 1).min(bytes.len());
                    if depth == 1 && expect_key {
                        if let Ok(key) = serde_json::from_str::<String>(&text[start..end]) {
                            keys.entry(key).or_insert(start..end);
                        }
                        expect_key = false;
                    }
                }
                b'{' | b'[' => {
                    depth += 1;
                    expect_key = depth == 1 && bytes[i] == b'{';
                }
                b'}' | b']' => depth = depth.saturating_sub(1),
                b',' if depth == 1 => expect_key = true,
                _ => {}
            }
            i += 1;
        }
        Self { keys }
    }

    /// Where `key` is written (empty at the start when it is not a top-level key).
    pub(crate) fn range(&self, key: &str) -> Range<usize> {
        self.keys.get(key).cloned().unwrap_or(0..0)
    }
}

/// A JSON object that keeps its keys in order and refuses duplicate keys (serde_json
/// would silently keep the last one, hiding a config mistake). The index built while
/// checking for duplicates doubles as the lookup table. An `IndexMap` holds each key
/// once: a 50,000-hook file keeps no second copy of its ids.
#[derive(Debug, Clone)]
pub(crate) struct UniqueMap<V> {
    entries: indexmap::IndexMap<String, V, rustc_hash::FxBuildHasher>,
}

impl<V> Default for UniqueMap<V> {
    fn default() -> Self {
        Self {
            entries: indexmap::IndexMap::default(),
        }
    }
}

impl<V> UniqueMap<V> {
    /// The value under `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&V> {
        self.entries.get(key)
    }

    /// Entries in file order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for UniqueMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor<V>(PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for MapVisitor<V> {
            type Value = UniqueMap<V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = indexmap::IndexMap::default();
                while let Some(key) = map.next_key::<String>()? {
                    if entries.contains_key(&key) {
                        return Err(serde::de::Error::custom(format!("duplicate key `{key}`")));
                    }
                    let value = map.next_value()?;
                    entries.insert(key, value);
                }
                // Room grown by doubling and never used: a quarter of a large file's size.
                entries.shrink_to_fit();
                Ok(UniqueMap { entries })
            }
        }
        deserializer.deserialize_map(MapVisitor(PhantomData))
    }
}

impl<V: serde::Serialize> serde::Serialize for UniqueMap<V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (k, v) in &self.entries {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &str) -> SourceFile {
        SourceFile::from_bytes("h.json".into(), text.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn duplicate_keys_are_rejected_with_position() {
        let s = src("{\n  \"a\": 1,\n  \"a\": 2\n}\n");
        let err = load_json::<UniqueMap<u32>>(&s, "fix it").unwrap_err();
        let JsonError::Invalid(d) = err else { panic!() };
        assert!(d.message.contains("duplicate key `a`"), "{}", d.message);
        assert!(d.location.starts_with("h.json:3:"), "{}", d.location);
    }

    #[test]
    fn key_index_finds_top_level_keys_only() {
        let text = "{\"x\": {\"T\\\"1\": [\"{\", \"T\"]}, \"T\\\"1\": {}, \"b\": \"}\", \"é\": 1}";
        let index = KeyIndex::new(text);
        let r = index.range("T\"1");
        assert_eq!(&text[r.clone()], "\"T\\\"1\"");
        assert!(r.start > 20, "the nested key comes first: {r:?}");
        assert_eq!(&text[index.range("é")], "\"é\"");
        assert_eq!(&text[index.range("b")], "\"b\"");
        assert_eq!(index.range("T"), 0..0);
    }

    #[test]
    fn an_empty_file_says_so() {
        let s = src(" \n");
        let JsonError::Invalid(d) = load_json::<UniqueMap<u32>>(&s, "fix it").unwrap_err() else {
            panic!()
        };
        assert!(d.message.contains("`h.json` is empty"), "{}", d.message);
    }

    #[test]
    fn key_range_finds_keys_not_values() {
        let text = r#"{"x": "TASK-1", "TASK-1": {}}"#;
        let r = key_range(text, "TASK-1");
        assert_eq!(&text[r.clone()], "\"TASK-1\"");
        assert_eq!(r.start, 16);
    }
}
