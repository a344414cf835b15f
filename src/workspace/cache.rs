//! A cache of what `cargo metadata` told us, so that `cargo tek` does not pay for a cargo
//! process (about 20 ms and 20 MiB here) on every invocation.
//!
//! An entry is used only when every input cargo reads to answer is unchanged since the
//! answer was recorded: the same directory and `--manifest-path`, the same `CARGO*`,
//! `RUSTUP*` and `HOME` variables, and, for every directory from the current one (and
//! the manifest's, and the workspace root's) up to `/`, the same `Cargo.toml`,
//! `.cargo/config.toml`, `.cargo/config`, `rust-toolchain` and `rust-toolchain.toml`,
//! present or absent, compared by device, inode, size, mtime and ctime (ctime cannot be
//! set back by hand), plus the config files in `CARGO_HOME`. Any difference is a miss,
//! and a miss simply runs cargo again. `cargo tek check` always asks cargo.
//!
//! The entry on disk names its question only by digest (SHA-256 of the directory, the
//! manifest path and the variables; of each watched path): the variables include tokens
//! (`CARGO_REGISTRY_TOKEN`, `CARGO_REGISTRIES_<name>_TOKEN`), and a cache file in the home
//! directory must never hold one. Only cargo's answer (root, target directory) is kept in
//! clear, because it is what the cache is for.
//!
//! Entries live in `$CARGO_TEK_CACHE_DIR`, else the user's cache directory
//! (`$XDG_CACHE_HOME/cargo-tek` or `~/.cache/cargo-tek`), one small JSON file per
//! directory and environment, the newest 256 kept. `CARGO_TEK_NO_CACHE=1` turns the cache off. Failing to
//! read or write the cache is never an error: cargo is asked instead.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Bumped whenever the entry format or what it covers changes (2: digests, not values;
/// 3: the members' rust-versions, and their manifests watched).
const FORMAT: u32 = 3;

/// How entry file names start. Format 1 entries (`workspace-…`, with the variables in
/// clear) are deleted by [`Cache::prune`] rather than left to age out.
const PREFIX: &str = "workspace2-";
const LEGACY_PREFIX: &str = "workspace-";

/// At most this many entries are kept; the least recently written go first. Test suites
/// that plan in fresh temp directories would otherwise grow the cache without end.
const MAX_ENTRIES: usize = 256;

/// Files cargo may read in every directory from the current one up to `/`.
const PER_DIRECTORY: [&str; 5] = [
    "Cargo.toml",
    ".cargo/config.toml",
    ".cargo/config",
    "rust-toolchain",
    "rust-toolchain.toml",
];

/// What we use from `cargo metadata`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CargoFacts {
    pub(crate) root: PathBuf,
    pub(crate) target_dir: PathBuf,
    /// `[workspace.metadata.tek]`, else the root package's `[package.metadata.tek]`.
    pub(crate) tek: Option<serde_json::Value>,
    /// The members' `rust-version`s, for a matrix value `msrv` (None when read without
    /// cargo). Their manifests are watched too.
    #[serde(default)]
    pub(crate) rust_versions: Option<crate::config::matrix::RustVersions>,
}

/// One file's identity and version, or `None` for "absent".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(path: &Path) -> Option<Self> {
        let m = std::fs::metadata(path).ok()?;
        Some(Self {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
        })
    }

    /// On a file system with coarse timestamps, a file changed in the same second as it
    /// was stamped could change again without a visible difference (git calls this
    /// "racily clean"). Such stamps are not trusted.
    fn is_racy(&self, now: Duration) -> bool {
        let coarse = self.ctime.1 == 0 || self.mtime.1 == 0;
        let changed = Duration::from_secs(self.ctime.0.max(self.mtime.0).max(0) as u64);
        coarse && now.saturating_sub(changed) < Duration::from_secs(2)
    }
}

/// What identifies a question to cargo: where it was asked from, and the environment.
/// Held in memory only; an entry stores its [`Key::digest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key {
    cwd: PathBuf,
    manifest: Option<PathBuf>,
    env: BTreeMap<String, String>,
}

impl Key {
    /// The key for the current environment.
    pub(crate) fn new(cwd: &Path, manifest: Option<&Path>) -> Self {
        Self::with_env(cwd, manifest, std::env::vars_os())
    }

    fn with_env(
        cwd: &Path,
        manifest: Option<&Path>,
        vars: impl Iterator<Item = (OsString, OsString)>,
    ) -> Self {
        let env = vars
            .filter(|(k, _)| {
                let k = k.to_string_lossy();
                // cargo-tek's own variables (`CARGO_TEK` is set for tasks) mean
                // nothing to cargo.
                (k.starts_with("CARGO") || k.starts_with("RUSTUP") || k == "HOME")
                    && k != "CARGO_TEK"
                    && !k.starts_with("CARGO_TEK_")
            })
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.to_string_lossy().into_owned(),
                )
            })
            .collect();
        Self {
            cwd: cwd.to_path_buf(),
            manifest: manifest.map(Path::to_path_buf),
            env,
        }
    }

    /// Every file whose change could change cargo's answer.
    fn inputs(&self, root: Option<&Path>) -> BTreeSet<PathBuf> {
        let mut dirs: Vec<&Path> = vec![&self.cwd];
        if let Some(dir) = self.manifest.as_deref().and_then(Path::parent) {
            dirs.push(dir);
        }
        if let Some(root) = root {
            dirs.push(root);
        }
        let mut files = BTreeSet::new();
        for dir in dirs {
            for ancestor in dir.ancestors() {
                files.extend(PER_DIRECTORY.iter().map(|name| ancestor.join(name)));
            }
        }
        files.extend(self.manifest.clone());
        let cargo_home = self
            .env
            .get("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| dirs::home_dir().map(|home| home.join(".cargo")));
        if let Some(home) = cargo_home {
            files.insert(home.join("config.toml"));
            files.insert(home.join("config"));
        }
        files
    }

    /// SHA-256 of the whole key, hex. Each part is length-prefixed so that no two keys
    /// encode alike (`A=bc` and `Ab=c`).
    fn digest(&self) -> String {
        let mut hasher = Sha256::new();
        let mut part = |bytes: &[u8]| {
            hasher.update((bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        };
        part(self.cwd.as_os_str().as_encoded_bytes());
        match &self.manifest {
            Some(m) => part(m.as_os_str().as_encoded_bytes()),
            None => part(b"\0none"),
        }
        for (k, v) in &self.env {
            part(k.as_bytes());
            part(v.as_bytes());
        }
        hex(&hasher.finalize())
    }

    fn file_name(&self) -> String {
        // The entry repeats the whole digest and is checked, so 64 bits name it well enough.
        format!("{PREFIX}{}.json", &self.digest()[..16])
    }
}

/// Every file an entry for `key` with `facts` depends on: cargo's inputs up from the
/// root, and each member's manifest (its `rust-version` is in the facts).
fn watched(key: &Key, facts: &CargoFacts) -> BTreeSet<PathBuf> {
    let mut files = key.inputs(Some(&facts.root));
    if let Some(versions) = &facts.rust_versions {
        files.extend(versions.packages.iter().map(|p| p.manifest.clone()));
    }
    files
}

/// SHA-256 of a watched path, hex: paths under `CARGO_HOME` or `HOME` would otherwise
/// spell out those variables.
fn path_digest(path: &Path) -> String {
    hex(&Sha256::digest(path.as_os_str().as_encoded_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A stored answer.
#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    format: u32,
    /// [`Key::digest`].
    key: String,
    /// [`path_digest`] of each watched file, and its stamp.
    inputs: Vec<(String, Option<Stamp>)>,
    facts: CargoFacts,
}

/// Stamps taken before asking cargo, so that a change while cargo runs is a later miss.
pub(crate) struct Pending {
    key: Key,
    stamps: BTreeMap<PathBuf, Option<Stamp>>,
}

/// The cache directory.
#[derive(Debug, Clone)]
pub(crate) struct Cache {
    dir: PathBuf,
    /// Skip lookups (but still store): the answer must come from cargo now.
    refresh: bool,
}

impl Cache {
    /// The cache configured by the environment, if any.
    pub(crate) fn from_env() -> Option<Self> {
        if std::env::var_os("CARGO_TEK_NO_CACHE").is_some_and(|v| !v.is_empty() && v != "0") {
            return None;
        }
        let dir = match std::env::var_os("CARGO_TEK_CACHE_DIR") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => dirs::cache_dir()?.join("cargo-tek"),
        };
        Some(Self::in_dir(dir))
    }

    /// A cache in `dir`.
    pub(crate) fn in_dir(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            refresh: false,
        }
    }

    /// The same cache, but every lookup misses: cargo is asked and the entry rewritten.
    pub(crate) fn refreshing(&self) -> Self {
        Self {
            dir: self.dir.clone(),
            refresh: true,
        }
    }

    /// The recorded facts, if every input is unchanged.
    pub(crate) fn lookup(&self, key: &Key) -> Option<CargoFacts> {
        if self.refresh {
            return None;
        }
        let bytes = std::fs::read(self.dir.join(key.file_name())).ok()?;
        let entry: Entry = serde_json::from_slice(&bytes).ok()?;
        if entry.format != FORMAT || entry.key != key.digest() {
            return None;
        }
        // The recorded inputs must be exactly the ones we would watch now.
        let expected: BTreeMap<String, PathBuf> = watched(key, &entry.facts)
            .into_iter()
            .map(|p| (path_digest(&p), p))
            .collect();
        if entry.inputs.len() != expected.len() {
            return None;
        }
        for (digest, stamp) in &entry.inputs {
            match expected.get(digest) {
                Some(path) if Stamp::of(path) == *stamp => {}
                _ => return None,
            }
        }
        Some(entry.facts)
    }

    /// Stamps the inputs; call before asking cargo.
    pub(crate) fn begin(&self, key: &Key) -> Pending {
        Pending {
            key: key.clone(),
            stamps: key
                .inputs(None)
                .into_iter()
                .map(|p| {
                    let stamp = Stamp::of(&p);
                    (p, stamp)
                })
                .collect(),
        }
    }

    /// Records cargo's answer. Best effort: errors are ignored.
    pub(crate) fn store(&self, pending: Pending, facts: &CargoFacts) {
        let Pending { key, mut stamps } = pending;
        // The root's own chain (found through `package.workspace`, say) is watched too.
        for path in watched(&key, facts) {
            stamps
                .entry(path.clone())
                .or_insert_with(|| Stamp::of(&path));
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        if stamps.values().flatten().any(|s| s.is_racy(now)) {
            return;
        }
        let entry = Entry {
            format: FORMAT,
            inputs: stamps
                .into_iter()
                .map(|(path, stamp)| (path_digest(&path), stamp))
                .collect(),
            key: key.digest(),
            facts: facts.clone(),
        };
        if self.write(&entry, &key.file_name()).is_ok() {
            self.prune(MAX_ENTRIES);
        }
    }

    /// Removes the oldest entries beyond `keep`. Only runs after a miss, which has just
    /// paid for a cargo process, so listing the directory is cheap by comparison.
    fn prune(&self, keep: usize) {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut entries: Vec<(SystemTime, PathBuf)> = dir
            .flatten()
            .filter(|e| {
                let name = e.file_name();
                let name = name.to_string_lossy();
                if name.starts_with(LEGACY_PREFIX) && name.ends_with(".json") {
                    // It may hold a registry token in clear.
                    let _ = std::fs::remove_file(e.path());
                    return false;
                }
                name.starts_with(PREFIX) && name.ends_with(".json")
            })
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        if entries.len() <= keep {
            return;
        }
        entries.sort();
        let excess = entries.len() - keep;
        for (_, path) in entries.into_iter().take(excess) {
            let _ = std::fs::remove_file(path);
        }
    }

    fn write(&self, entry: &Entry, name: &str) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let bytes = serde_json::to_vec(entry).map_err(std::io::Error::other)?;
        // A temp file and a rename: concurrent runs see a whole entry or none.
        let mut tmp = tempfile::NamedTempFile::new_in(&self.dir)?;
        tmp.write_all(&bytes)?;
        tmp.persist(self.dir.join(name)).map_err(|e| e.error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(root: &Path) -> CargoFacts {
        CargoFacts {
            root: root.to_path_buf(),
            target_dir: root.join("target"),
            tek: Some(serde_json::json!({"sot": "plan.md"})),
            rust_versions: None,
        }
    }

    fn key(cwd: &Path, vars: &[(&str, &str)]) -> Key {
        Key::with_env(
            cwd,
            None,
            vars.iter()
                .map(|(k, v)| (OsString::from(k), OsString::from(v))),
        )
    }

    #[test]
    fn a_hit_needs_every_input_unchanged() {
        let ws = tempfile::tempdir().unwrap();
        let cache = Cache::in_dir(ws.path().join("cache"));
        std::fs::write(ws.path().join("Cargo.toml"), "[workspace]\n").unwrap();
        std::fs::create_dir_all(ws.path().join("crates/a")).unwrap();
        let cwd = ws.path().join("crates/a");
        let k = key(&cwd, &[("CARGO_HOME", "/nonexistent-home")]);

        assert_eq!(cache.lookup(&k), None, "empty cache");
        let pending = cache.begin(&k);
        cache.store(pending, &facts(ws.path()));
        assert_eq!(cache.lookup(&k), Some(facts(ws.path())));

        // Another environment is another question; cargo-tek's own variables are not.
        let other = key(&cwd, &[("CARGO_TARGET_DIR", "/elsewhere")]);
        assert_eq!(cache.lookup(&other), None);
        let ours = key(
            &cwd,
            &[
                ("CARGO_HOME", "/nonexistent-home"),
                ("CARGO_TEK", "/bin/cargo-tek"),
                ("CARGO_TEK_CACHE_DIR", "/elsewhere"),
            ],
        );
        assert_eq!(cache.lookup(&ours), Some(facts(ws.path())));

        // A manifest appearing between the cwd and the root changes the answer.
        std::fs::write(cwd.join("Cargo.toml"), "[package]\nname = \"a\"\n").unwrap();
        assert_eq!(cache.lookup(&k), None);
        cache.store(cache.begin(&k), &facts(ws.path()));
        assert!(cache.lookup(&k).is_some());

        // So does a config file anywhere up the tree, and editing the root manifest.
        std::fs::create_dir_all(ws.path().join(".cargo")).unwrap();
        std::fs::write(ws.path().join(".cargo/config.toml"), "[build]\n").unwrap();
        assert_eq!(cache.lookup(&k), None);
        cache.store(cache.begin(&k), &facts(ws.path()));
        assert!(cache.lookup(&k).is_some());
        std::fs::write(ws.path().join("Cargo.toml"), "[workspace]\n# edited\n").unwrap();
        assert_eq!(cache.lookup(&k), None);
    }

    #[test]
    fn a_change_while_cargo_runs_is_not_recorded_as_current() {
        let ws = tempfile::tempdir().unwrap();
        let cache = Cache::in_dir(ws.path().join("cache"));
        std::fs::write(ws.path().join("Cargo.toml"), "[workspace]\n").unwrap();
        let k = key(ws.path(), &[]);
        let pending = cache.begin(&k);
        // cargo read the old file; the user saved a new one before we stored the answer.
        std::fs::write(ws.path().join("Cargo.toml"), "[workspace]\nmembers = []\n").unwrap();
        cache.store(pending, &facts(ws.path()));
        assert_eq!(cache.lookup(&k), None);
    }

    #[test]
    fn a_corrupt_or_foreign_entry_is_a_miss() {
        let ws = tempfile::tempdir().unwrap();
        let cache = Cache::in_dir(ws.path().join("cache"));
        let k = key(ws.path(), &[]);
        std::fs::create_dir_all(ws.path().join("cache")).unwrap();
        std::fs::write(ws.path().join("cache").join(k.file_name()), "{not json").unwrap();
        assert_eq!(cache.lookup(&k), None);
        // An entry stored under this name for another key (a hash collision) is ignored.
        let other = key(ws.path(), &[("CARGO_HOME", "/x")]);
        cache.store(cache.begin(&other), &facts(ws.path()));
        std::fs::rename(
            ws.path().join("cache").join(other.file_name()),
            ws.path().join("cache").join(k.file_name()),
        )
        .unwrap();
        assert_eq!(cache.lookup(&k), None);
    }

    #[test]
    fn the_oldest_entries_are_pruned() {
        let ws = tempfile::tempdir().unwrap();
        let cache = Cache::in_dir(ws.path().join("cache"));
        let keys: Vec<Key> = (0..5)
            .map(|i| key(ws.path(), &[("CARGO_HOME", &format!("/home{i}"))]))
            .collect();
        for k in &keys {
            cache.store(cache.begin(k), &facts(ws.path()));
            // Distinct modification times, oldest first.
            std::thread::sleep(Duration::from_millis(10));
        }
        std::fs::write(ws.path().join("cache/unrelated.txt"), "kept").unwrap();
        let legacy = ws.path().join("cache/workspace-0123456789abcdef.json");
        std::fs::write(
            &legacy,
            r#"{"format":1,"key":{"env":{"CARGO_REGISTRY_TOKEN":"x"}}}"#,
        )
        .unwrap();
        cache.prune(3);
        assert!(
            !legacy.exists(),
            "a format 1 entry holds variables in clear"
        );
        let found: Vec<bool> = keys.iter().map(|k| cache.lookup(k).is_some()).collect();
        assert_eq!(found, [false, false, true, true, true]);
        assert!(ws.path().join("cache/unrelated.txt").exists());
    }

    #[test]
    fn the_entry_holds_no_value_of_the_variables_it_keys_on() {
        let ws = tempfile::tempdir().unwrap();
        let cache = Cache::in_dir(ws.path().join("cache"));
        std::fs::write(ws.path().join("Cargo.toml"), "[workspace]\n").unwrap();
        let vars = [
            ("CARGO_REGISTRY_TOKEN", "cio-registry-token-7f3a9c"),
            ("CARGO_REGISTRIES_CORP_TOKEN", "corp-registry-token-1b2c3d"),
            ("CARGO_HOME", "/nonexistent-cargo-home-5e6f"),
            ("RUSTUP_TOOLCHAIN", "toolchain-name-8a9b"),
            ("HOME", "/nonexistent-home-4d5e"),
        ];
        let k = key(ws.path(), &vars);
        cache.store(cache.begin(&k), &facts(ws.path()));
        assert_eq!(cache.lookup(&k), Some(facts(ws.path())), "still a cache");
        let stored = std::fs::read_to_string(ws.path().join("cache").join(k.file_name())).unwrap();
        for (name, value) in vars {
            assert!(!stored.contains(value), "{name}'s value is in {stored}");
        }
        // A changed token is another question, though the file never says what it was.
        let mut changed = vars;
        changed[0].1 = "another-token-0000";
        assert_eq!(cache.lookup(&key(ws.path(), &changed)), None);
    }

    #[test]
    fn coarse_recent_timestamps_are_not_trusted() {
        let now = Duration::from_secs(1_000_000);
        let stamp = |secs: i64, nsec: i64| Stamp {
            dev: 1,
            ino: 1,
            len: 1,
            mtime: (secs, nsec),
            ctime: (secs, nsec),
        };
        assert!(stamp(1_000_000, 0).is_racy(now));
        assert!(!stamp(1_000_000, 5).is_racy(now), "fine-grained timestamps");
        assert!(!stamp(999_990, 0).is_racy(now), "old enough");
    }
}
