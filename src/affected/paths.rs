//! Sorting the changed paths: rules that run everything, cargo-tek's own files, the root
//! Cargo.toml, the crate each path belongs to, and paths nothing owns.

use std::collections::BTreeMap;
use std::path::Path;

use super::covers;
use super::explain::Reason;
use super::git::{Changes, Link, Repo};
use super::graph;
use super::rules::{RuleMatch, Rules};

/// What a look at the changed paths found.
#[derive(Default)]
pub(super) struct Classified {
    pub(super) everything: Option<Reason>,
    pub(super) seeds: BTreeMap<String, String>,
    /// Paths no crate owns, to be claimed by a task's glob or else run everything.
    pub(super) loose: Vec<String>,
    /// Paths inside a crate, which tasks' globs may match too.
    pub(super) owned: Vec<String>,
    pub(super) hooks_changed: bool,
    pub(super) sot_changed: bool,
}

/// Paths of cargo-tek's own files, relative to the workspace root.
pub(super) struct SpecialFiles {
    pub(super) sot: Option<String>,
    pub(super) hooks: Option<String>,
    pub(super) manifest: Option<String>,
}

/// Whether `ws_path` is a file whose change no `ignore` glob may hide: cargo-tek's
/// sot.md, hooks.json and manifest.json, and every `Cargo.toml` and `Cargo.lock`.
fn never_ignored(ws_path: Option<&str>, files: &SpecialFiles) -> bool {
    let Some(path) = ws_path else { return false };
    let own = [&files.sot, &files.hooks, &files.manifest];
    own.iter().any(|f| f.as_deref() == Some(path))
        || Path::new(path)
            .file_name()
            .is_some_and(|n| n == "Cargo.toml" || n == "Cargo.lock")
}

pub(super) fn classify(
    repo: &Repo,
    merge_base: &str,
    prefix: &Path,
    changes: &Changes,
    rules: &Rules,
    packages: &[(covers::Member, bool)],
    files: &SpecialFiles,
) -> Classified {
    let mut out = Classified::default();
    for repo_path in &changes.paths {
        let ws_path = Path::new(repo_path)
            .strip_prefix(prefix)
            .ok()
            .map(|p| p.to_string_lossy().into_owned());
        let everything = |rule: &str| Reason::Everything {
            path: ws_path.clone().unwrap_or_else(|| repo_path.clone()),
            rule: rule.to_owned(),
        };
        match rules.classify(repo_path, ws_path.as_deref()) {
            Some(RuleMatch::Everything(rule)) => {
                out.everything.get_or_insert(everything(&rule));
                continue;
            }
            // An `ignore` glob is about the user's files, never cargo-tek's own or the
            // manifests cargo builds from: a base rule `*.md` must not hide a task
            // added to a root sot.md, nor `**/*.toml` a dependency change.
            Some(RuleMatch::Ignored(_)) if !never_ignored(ws_path.as_deref(), files) => continue,
            _ => {}
        }
        let Some(path) = ws_path.clone() else {
            out.everything
                .get_or_insert(everything("outside the workspace, and no `ignore` glob of [workspace.metadata.tek.affected] (relative to the repository there) matches it"));
            continue;
        };
        if Some(&path) == files.manifest.as_ref() {
            out.everything.get_or_insert(everything(
                "cargo-tek's manifest.json applies to every task",
            ));
            continue;
        }
        if Some(&path) == files.hooks.as_ref() {
            out.hooks_changed = true;
            continue;
        }
        if Some(&path) == files.sot.as_ref() {
            out.sot_changed = true;
            continue;
        }
        if path == "Cargo.lock" {
            // determinator compares the dependency graphs of both commits.
            continue;
        }
        if path == "Cargo.toml" {
            if let Some(rule) = root_manifest_change(repo, merge_base, repo_path, prefix) {
                out.everything.get_or_insert(everything(&rule));
                continue;
            }
            // The rest (workspace dependencies) is measured by determinator, through
            // the package graphs; a root package is changed itself.
            if let Some(root) = packages.iter().find(|(m, _)| m.dir.is_empty()) {
                out.seeds
                    .entry(root.0.name.clone())
                    .or_insert_with(|| path.clone());
            }
            continue;
        }
        if changes.submodules.contains(repo_path) {
            // A bumped submodule changes every crate whose files are in it; git shows
            // the gitlink, never the files. With none in it, the crate around it (or
            // a task's glob, or everything) decides, as for any other path.
            let inside: Vec<&covers::Member> = packages
                .iter()
                .map(|(m, _)| m)
                .filter(|m| !m.dir.is_empty() && graph::within(&m.dir, &path))
                .collect();
            if !inside.is_empty() {
                for member in inside {
                    out.seeds
                        .entry(member.name.clone())
                        .or_insert_with(|| path.clone());
                }
                out.owned.push(path);
                continue;
            }
        }
        match graph::owner(packages, &path) {
            Some(member) => {
                out.seeds
                    .entry(member.name.clone())
                    .or_insert_with(|| path.clone());
                out.owned.push(path);
            }
            None => out.loose.push(path),
        }
    }
    out
}

/// Crates that read a changed file through a symlink of theirs: a link inside crate A
/// to a file (or directory) of crate B makes a change there a change of A too. cargo
/// and git both see only B's path. A link outside every crate adds nothing here.
pub(super) fn through_links(
    out: &mut Classified,
    changes: &Changes,
    links: &[Link],
    prefix: &Path,
    packages: &[(covers::Member, bool)],
) {
    let ws = |p: &str| {
        Path::new(p)
            .strip_prefix(prefix)
            .ok()
            .map(|r| r.to_string_lossy().into_owned())
    };
    for changed in &changes.paths {
        for link in links {
            if !link.reaches.iter().any(|t| graph::within(changed, t)) {
                continue;
            }
            let Some(at) = ws(&link.path) else { continue };
            if let Some(member) = graph::owner(packages, &at) {
                let shown = ws(changed).unwrap_or_else(|| changed.clone());
                out.seeds
                    .entry(member.name.clone())
                    .or_insert_with(|| format!("{shown} (through the symlink {at})"));
            }
        }
    }
}

/// Whether a change to the root Cargo.toml reaches beyond what determinator measures:
/// anything in `[workspace]` but its `dependencies`, or a table that is not the root
/// package's (`[profile]`, `[patch]`, `[replace]`). Returns the rule that fired.
pub(super) fn root_manifest_change(
    repo: &Repo,
    merge_base: &str,
    repo_path: &str,
    prefix: &Path,
) -> Option<String> {
    let old = repo.show(merge_base, repo_path);
    let new = std::fs::read(repo.top.join(prefix).join("Cargo.toml")).ok();
    let parse =
        |b: Option<Vec<u8>>| -> Option<toml::Table> { String::from_utf8(b?).ok()?.parse().ok() };
    let (Some(mut old), Some(mut new)) = (parse(old), parse(new)) else {
        return Some("the root Cargo.toml (added, removed or unreadable)".into());
    };
    const PACKAGE_TABLES: &[&str] = &[
        "package",
        "dependencies",
        "dev-dependencies",
        "build-dependencies",
        "target",
        "lib",
        "bin",
        "test",
        "bench",
        "example",
        "features",
        "badges",
        "lints",
    ];
    for table in [&mut old, &mut new] {
        for key in PACKAGE_TABLES {
            table.remove(*key);
        }
        if let Some(toml::Value::Table(ws)) = table.get_mut("workspace") {
            ws.remove("dependencies");
        }
    }
    (old != new).then(|| "the root Cargo.toml's [workspace] (or [profile], [patch]) changed".into())
}
