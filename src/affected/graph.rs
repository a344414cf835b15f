//! Changed paths to affected crates: the package graphs of both commits (`cargo
//! metadata`), `determinator` for dependency version and feature changes, and the
//! reverse dependencies of everything changed.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::process::Command;

use determinator::Determinator;
use guppy::graph::{PackageGraph, PackageMetadata};
use guppy::PackageId;
use serde::Serialize;

use super::covers::Member;

/// Why a crate is affected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub(crate) enum CrateCause {
    /// A file inside it changed.
    Path { path: String },
    /// Its dependencies' versions or features changed (Cargo.lock, a manifest).
    Dependencies { detail: String },
    /// A crate it depends on is affected.
    DependsOn { name: String },
}

/// Reads a workspace's package graph (all dependencies) with `cargo metadata`.
pub(crate) fn load(manifest: &Path) -> Result<PackageGraph, String> {
    let out = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(manifest)
        .output()
        .map_err(|e| format!("failed to run cargo metadata: {e}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let message = stderr
            .lines()
            .find(|l| l.starts_with("error"))
            .unwrap_or(stderr.trim());
        return Err(format!(
            "`cargo metadata` failed for `{}`: {message}",
            manifest.display()
        ));
    }
    let json = String::from_utf8_lossy(&out.stdout);
    PackageGraph::from_json(json.as_ref())
        .map_err(|e| format!("failed to read cargo metadata: {e}"))
}

/// The local packages of `graph` (workspace members and path dependencies), deepest
/// directory first, with directories relative to `root`.
pub(crate) fn local_packages(graph: &PackageGraph, root: &Path) -> Vec<(Member, bool)> {
    let mut out: Vec<(Member, bool)> = graph
        .packages()
        .filter(|p| p.source().is_local())
        .filter_map(|p| {
            let dir = p.manifest_path().parent()?;
            let rel = dir.as_std_path().strip_prefix(root).ok()?;
            Some((
                Member {
                    name: p.name().to_owned(),
                    dir: rel.to_string_lossy().replace('\\', "/"),
                },
                p.in_workspace(),
            ))
        })
        .collect();
    out.sort_by(|a, b| {
        b.0.dir
            .len()
            .cmp(&a.0.dir.len())
            .then(a.0.name.cmp(&b.0.name))
    });
    out
}

/// The local package whose directory holds `path` (relative to the root), if any.
pub(crate) fn owner<'a>(packages: &'a [(Member, bool)], path: &str) -> Option<&'a Member> {
    packages
        .iter()
        .map(|(m, _)| m)
        .find(|m| m.dir.is_empty() || within(path, &m.dir))
}

/// Whether `path` is `dir` or inside it (both relative, `/`-separated).
pub(crate) fn within(path: &str, dir: &str) -> bool {
    path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The workspace members affected by `seeds` (local package name → the path that
/// changed inside it) and by dependency changes between `old` and `new`, each with why.
pub(crate) fn affected(
    old: &PackageGraph,
    new: &PackageGraph,
    seeds: &BTreeMap<String, String>,
) -> BTreeMap<String, CrateCause> {
    let mut causes: BTreeMap<String, CrateCause> = BTreeMap::new();
    let mut queue: VecDeque<&PackageId> = VecDeque::new();
    let local: BTreeMap<&str, PackageMetadata<'_>> = new
        .packages()
        .filter(|p| p.source().is_local())
        .map(|p| (p.name(), p))
        .collect();
    for (name, path) in seeds {
        if let Some(p) = local.get(name.as_str()) {
            causes.insert(name.clone(), CrateCause::Path { path: path.clone() });
            queue.push_back(p.id());
        }
    }
    // determinator's build simulations find members whose dependency versions or
    // feature sets differ between the two graphs (Cargo.lock bumps, feature changes).
    let mut determinator = Determinator::new(old, new);
    let options = Determinator::default_cargo_options();
    determinator.set_cargo_options(&options);
    let set = determinator.compute();
    for package in set
        .summary_changed_set
        .packages(guppy::graph::DependencyDirection::Forward)
    {
        if !causes.contains_key(package.name()) {
            causes.insert(
                package.name().to_owned(),
                CrateCause::Dependencies {
                    detail: dependency_change(old, package),
                },
            );
            queue.push_back(package.id());
        }
    }
    // Everything that depends on a changed crate: the reverse closure over normal and
    // build dependencies, keeping the first (shortest) chain for the explanation. A
    // dev-dependency counts one step: the package that declares it builds it for its
    // own tests, but its dependents build it as a library, without its dev-dependencies
    // (`cargo test -p dependent` never compiles them).
    let mut spread: std::collections::HashSet<&PackageId> = queue.iter().copied().collect();
    while let Some(id) = queue.pop_front() {
        let Ok(package) = new.metadata(id) else {
            continue;
        };
        for link in package.reverse_direct_links() {
            let from = link.from();
            if !from.source().is_local() {
                continue;
            }
            if !causes.contains_key(from.name()) {
                causes.insert(
                    from.name().to_owned(),
                    CrateCause::DependsOn {
                        name: package.name().to_owned(),
                    },
                );
            }
            if !link.dev_only() && spread.insert(from.id()) {
                queue.push_back(from.id());
            }
        }
    }
    // Never narrower than determinator: anything it found that the walk did not.
    for package in set
        .affected_set
        .packages(guppy::graph::DependencyDirection::Forward)
    {
        causes
            .entry(package.name().to_owned())
            .or_insert_with(|| CrateCause::Dependencies {
                detail: "determinator marks it affected".into(),
            });
    }
    let members: Vec<&str> = new.workspace().iter().map(|p| p.name()).collect();
    causes.retain(|name, _| members.contains(&name.as_str()) || seeds.contains_key(name));
    causes
}

/// Which direct dependency of `package` changed version or features, in words.
fn dependency_change(old: &PackageGraph, package: PackageMetadata<'_>) -> String {
    let old_pkg = old.workspace().iter().find(|p| p.name() == package.name());
    let Some(old_pkg) = old_pkg else {
        return "it is new".into();
    };
    let old_deps: BTreeMap<&str, (String, Vec<String>)> = old_pkg
        .direct_links()
        .map(|l| (l.to().name(), (l.to().version().to_string(), features(&l))))
        .collect();
    for link in package.direct_links() {
        let to = link.to();
        let now = (to.version().to_string(), features(&link));
        match old_deps.get(to.name()) {
            Some(before) if before.0 != now.0 => {
                return format!("`{}` {} → {}", to.name(), before.0, now.0)
            }
            Some(before) if before.1 != now.1 => {
                return format!(
                    "`{}` features [{}] → [{}]",
                    to.name(),
                    before.1.join(", "),
                    now.1.join(", ")
                )
            }
            None => return format!("new dependency `{}` {}", to.name(), now.0),
            _ => {}
        }
    }
    "the versions or features of its dependencies changed".into()
}

fn features(link: &guppy::graph::PackageLink<'_>) -> Vec<String> {
    let mut f: Vec<String> = link
        .normal()
        .features()
        .chain(link.dev().features())
        .chain(link.build().features())
        .map(|s| s.to_string())
        .collect();
    f.sort();
    f.dedup();
    f
}
