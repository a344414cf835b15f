//! A task's cache key, computed when it is about to start: every part of its recipe
//! as a named digest (`file crates/a/src/lib.rs`, `env RUSTFLAGS`, `rustc -vV`, ...),
//! and the key the SHA-256 of all of them. Parts are kept by name so that a miss can
//! say which part changed since the last stored pass.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::env::Value;
use super::files::Tree;
use super::recipe::Recipe;

/// The version of what goes into a key: a change to it makes every old key unreachable.
const FORMAT: &str = "cargo-tek result cache 1";

/// A key and the parts it was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Key {
    /// SHA-256 (hex) over the parts.
    pub(crate) digest: String,
    /// Part name → digest (or a short value, for the task id).
    pub(crate) parts: BTreeMap<String, String>,
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The prefix of a file's part name.
pub(crate) const FILE: &str = "file ";

impl Key {
    /// The key of `recipe` with the files as they are now; ignored files (the
    /// `[workspace.metadata.tek.affected]` ignore globs) are left out of packages.
    pub(crate) fn now(
        recipe: &Recipe,
        tree: &Tree,
        ignored: &dyn Fn(&str) -> bool,
        globs: &globset::GlobSet,
        local_dirs: &[String],
    ) -> Result<Key, String> {
        let mut parts = BTreeMap::new();
        parts.insert("task".to_owned(), recipe.task.clone());
        parts.insert("definition".to_owned(), sha(recipe.definition.as_bytes()));
        for (name, value) in &recipe.env {
            let digest = match value {
                Value::Plain(v) => sha(v.as_bytes()),
                Value::Secret => "set (a secret: its value is not hashed)".to_owned(),
            };
            parts.insert(format!("env {name}"), digest);
        }
        parts.insert(
            "rustc -vV".to_owned(),
            sha(recipe.toolchain.rustc.as_bytes()),
        );
        parts.insert(
            "cargo -V".to_owned(),
            sha(recipe.toolchain.cargo.as_bytes()),
        );
        parts.insert("Cargo.lock".to_owned(), tree.hash("Cargo.lock"));
        let mut files: Vec<String> = Vec::new();
        for dir in recipe.packages.values() {
            // Another local package nested inside this one has files of its own.
            let nested: Vec<&str> = local_dirs
                .iter()
                .filter(|d| *d != dir && (dir.is_empty() || crate::affected::within_dir(d, dir)))
                .map(String::as_str)
                .collect();
            files.extend(
                tree.package_files(dir, &nested)?
                    .into_iter()
                    .filter(|f| !ignored(f)),
            );
        }
        files.extend(tree.matching(&recipe.globs, globs));
        files.sort();
        files.dedup();
        for (file, digest) in tree.hashes(files) {
            parts.insert(format!("{FILE}{file}"), digest);
        }
        Ok(Key {
            digest: digest_of(&parts),
            parts,
        })
    }
}

fn digest_of(parts: &BTreeMap<String, String>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(FORMAT.as_bytes());
    hasher.update(b"\n");
    for (name, value) in parts {
        // Neither may hold a NUL or a newline that would let two part lists collide:
        // names are paths and fixed words, values hex or a task id.
        hasher.update(name.as_bytes());
        hasher.update(b"\0");
        hasher.update(value.as_bytes());
        hasher.update(b"\n");
    }
    hex::encode(hasher.finalize())
}

/// How the parts of two keys differ.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Changes {
    pub(crate) changed: Vec<String>,
    pub(crate) added: Vec<String>,
    pub(crate) removed: Vec<String>,
}

impl Changes {
    /// What differs in `now` from `before`.
    pub(crate) fn between(
        before: &BTreeMap<String, String>,
        now: &BTreeMap<String, String>,
    ) -> Self {
        let mut out = Changes::default();
        for (name, digest) in now {
            match before.get(name) {
                Some(old) if old != digest => out.changed.push(name.clone()),
                None => out.added.push(name.clone()),
                _ => {}
            }
        }
        out.removed = before
            .keys()
            .filter(|k| !now.contains_key(*k))
            .cloned()
            .collect();
        out
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.added.is_empty() && self.removed.is_empty()
    }

    /// One line: the first few changes, and how many more.
    pub(crate) fn summary(&self) -> String {
        let mut words: Vec<String> = Vec::new();
        words.extend(self.changed.iter().map(|p| format!("{p} changed")));
        words.extend(self.added.iter().map(|p| format!("{p} is new")));
        words.extend(self.removed.iter().map(|p| format!("{p} is gone")));
        const SHOWN: usize = 3;
        let more = words.len().saturating_sub(SHOWN);
        words.truncate(SHOWN);
        let mut line = words.join(", ");
        if more > 0 {
            line.push_str(&format!(" and {more} more"));
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_rename_is_one_part_gone_and_one_new_and_changes_the_key() {
        let before = parts(&[("task", "T"), ("file a.rs", "1")]);
        let after = parts(&[("task", "T"), ("file b.rs", "1")]);
        assert_ne!(digest_of(&before), digest_of(&after));
        let changes = Changes::between(&before, &after);
        assert_eq!(changes.added, ["file b.rs"]);
        assert_eq!(changes.removed, ["file a.rs"]);
        assert_eq!(changes.summary(), "file b.rs is new, file a.rs is gone");
        assert!(Changes::between(&before, &before).is_empty());
    }
}
