//! Hashes that tie shards to one checkout: of the files a plan came from (sot.md,
//! hooks.json, manifest.json) and of the plan itself, so that every job of a matrix can
//! tell whether it runs the plan the others run.

use std::io::Write;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Plan, PlanQueue};

/// What an absent optional file hashes to.
pub(crate) const ABSENT: &str = "absent";

/// Hashes of the files a plan was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub(crate) struct InputHashes {
    pub(crate) sot: String,
    pub(crate) hooks: String,
    pub(crate) manifest: String,
}

/// A file whose hash differs from the plan's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Changed {
    pub(crate) file: &'static str,
    pub(crate) planned: String,
    pub(crate) now: String,
}

impl InputHashes {
    /// Hashes the three files as they are now (a missing hooks.json or manifest.json
    /// hashes to `absent`).
    pub(crate) fn of(sot: &Path, hooks: &Path, manifest: &Path) -> std::io::Result<Self> {
        Ok(Self {
            sot: file_hash(sot)?,
            hooks: file_hash(hooks)?,
            manifest: file_hash(manifest)?,
        })
    }

    /// The files that differ between the plan (`self`) and `now`.
    pub(crate) fn changed(&self, now: &Self) -> Vec<Changed> {
        [
            ("sot.md", &self.sot, &now.sot),
            ("hooks.json", &self.hooks, &now.hooks),
            ("manifest.json", &self.manifest, &now.manifest),
        ]
        .into_iter()
        .filter(|(_, a, b)| a != b)
        .map(|(file, a, b)| Changed {
            file,
            planned: a.clone(),
            now: b.clone(),
        })
        .collect()
    }
}

fn file_hash(path: &Path) -> std::io::Result<String> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(short(&Sha256::digest(&bytes))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ABSENT.to_owned()),
        Err(e) => Err(e),
    }
}

fn short(digest: &[u8]) -> String {
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// What the plan hash covers: everything in the plan but the time it was written and
/// the hash itself. Jobs planning the same inputs in place get the same hash.
#[derive(Serialize)]
struct Hashed<'a> {
    version: u32,
    schema_version: u32,
    source: &'a str,
    format: &'a Option<crate::sot::Format>,
    queues: &'a [PlanQueue],
    shards: Option<&'a super::sharding::ShardLayout>,
}

/// The hash of `plan`, including its shard layout and input hashes.
pub(crate) fn plan_hash(plan: &Plan) -> String {
    struct Hasher(Sha256);
    impl Write for Hasher {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.update(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut hasher = Hasher(Sha256::new());
    let hashed = Hashed {
        version: plan.version,
        schema_version: plan.schema_version,
        source: &plan.source,
        format: &plan.format,
        queues: &plan.queues,
        shards: plan.shards.as_ref().map(|s| &s.layout),
    };
    // Serialising plain data into a hasher cannot fail.
    let _ = serde_json::to_writer(&mut hasher, &hashed);
    short(&hasher.0.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixtures::{plan, queue, task};

    #[test]
    fn the_hash_ignores_the_time_and_sees_every_task() {
        let a = plan(vec![queue("Q", vec![task("A", &[])])]);
        let mut b = a.clone();
        b.generated_at = "later".into();
        assert_eq!(plan_hash(&a), plan_hash(&b));
        b.queues[0].tasks[0].after.push("B".into());
        assert_ne!(plan_hash(&a), plan_hash(&b));
        assert!(plan_hash(&a).starts_with("sha256:"));
    }

    #[test]
    fn changed_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let (sot, hooks) = (dir.path().join("sot.md"), dir.path().join("hooks.json"));
        std::fs::write(&sot, "a").unwrap();
        std::fs::write(&hooks, "{}").unwrap();
        let manifest = dir.path().join("missing.json");
        let before = InputHashes::of(&sot, &hooks, &manifest).unwrap();
        assert_eq!(before.manifest, ABSENT);
        std::fs::write(&sot, "b").unwrap();
        let after = InputHashes::of(&sot, &hooks, &manifest).unwrap();
        let changed = before.changed(&after);
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].file, "sot.md");
    }
}
