//! Path rules: which changed paths make every task run, which are ignored, and the
//! user's overrides in `[workspace.metadata.tek.affected]`.

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Deserialize;

/// `[workspace.metadata.tek.affected]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub(crate) struct AffectedRules {
    /// Globs (relative to the workspace root) of paths whose changes affect nothing,
    /// e.g. `["*.md"]` when no task reads the Markdown at the root.
    #[serde(default)]
    pub(crate) ignore: Vec<String>,
    /// Globs of paths whose changes affect every task (a shared script, a data file
    /// every test reads).
    #[serde(default)]
    pub(crate) everything: Vec<String>,
}

/// Paths that change the build or the run of every task. Relative to the workspace
/// root, except the workflow files, which are relative to the repository.
pub(crate) const BUILTIN_EVERYTHING: &[&str] = &[
    "**/rust-toolchain",
    "**/rust-toolchain.toml",
    "**/.cargo/config",
    "**/.cargo/config.toml",
];

/// Workflow files, relative to the repository's top level.
const WORKFLOWS: &[&str] = &[".github/workflows/**", ".github/actions/**", "action.yml"];

/// Files no build reads.
const BUILTIN_IGNORE: &[&str] = &["**/.gitignore"];

/// Git attributes, at any depth of the repository: line endings and filters change the
/// bytes checked out, so no file's own diff shows what they do to it.
const ATTRIBUTES: &str = "**/.gitattributes";

/// Paths each built-in "everything" rule stands for, to find the user's `ignore` globs
/// that match one: such a glob never makes that change affect nothing, because the
/// built-in rule wins, and a reader of the glob would expect otherwise.
const OVERRIDE_PROBES: &[(&str, &str)] = &[
    (".github/workflows/ci.yml", "a workflow file"),
    (".github/actions/setup/action.yml", "a workflow file"),
    ("action.yml", "a workflow file"),
    (".gitattributes", "`.gitattributes`"),
    ("rust-toolchain.toml", "the toolchain file"),
    ("rust-toolchain", "the toolchain file"),
    (".cargo/config.toml", "cargo's configuration"),
    (".cargo/config", "cargo's configuration"),
];

/// The user's `ignore` globs that match a path a built-in rule makes affect every task,
/// each with the path and what it is. The built-in rule wins over them (see
/// [`Rules::classify`]), so they are dead for that path.
pub(crate) fn ignores_overruled(user: &AffectedRules) -> Vec<(String, &'static str, &'static str)> {
    user.ignore
        .iter()
        .filter_map(|pattern| {
            let set = one(pattern).ok()?;
            OVERRIDE_PROBES
                .iter()
                .find(|(path, _)| set.is_match(path))
                .map(|&(path, what)| (pattern.clone(), path, what))
        })
        .collect()
}

/// A glob: `*` stays within a path component, `**` crosses them.
pub(crate) fn glob(pattern: &str) -> Result<Glob, globset::Error> {
    GlobBuilder::new(pattern).literal_separator(true).build()
}

/// The rules, compiled.
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    everything: Vec<(String, GlobSet)>,
    workflows: GlobSet,
    attributes: GlobSet,
    ignore: Vec<(String, GlobSet)>,
}

/// A rule a path matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RuleMatch {
    /// Every task runs; the string names the rule.
    Everything(String),
    /// The path affects nothing; the string names the rule.
    Ignored(String),
}

fn one(pattern: &str) -> Result<GlobSet, globset::Error> {
    let mut b = GlobSetBuilder::new();
    b.add(glob(pattern)?);
    b.build()
}

impl Rules {
    /// Compiles the built-in rules and the user's. A bad glob is an error naming it.
    pub(crate) fn new(user: &AffectedRules) -> Result<Self, String> {
        let compile = |patterns: &mut dyn Iterator<Item = (String, String)>| {
            patterns
                .map(|(label, p)| {
                    one(&p)
                        .map(|set| (label, set))
                        .map_err(|e| format!("invalid glob `{p}`: {e}"))
                })
                .collect::<Result<Vec<_>, String>>()
        };
        let everything = compile(
            &mut user
                .everything
                .iter()
                .map(|p| {
                    (
                        format!("`{p}` in [workspace.metadata.tek.affected] everything"),
                        p.clone(),
                    )
                })
                .chain(BUILTIN_EVERYTHING.iter().map(|p| {
                    (
                        format!("`{p}` (toolchain or cargo configuration)"),
                        (*p).to_owned(),
                    )
                })),
        )?;
        let ignore = compile(
            &mut user
                .ignore
                .iter()
                .map(|p| {
                    (
                        format!("`{p}` in [workspace.metadata.tek.affected] ignore"),
                        p.clone(),
                    )
                })
                .chain(
                    BUILTIN_IGNORE
                        .iter()
                        .map(|p| (format!("`{p}` (built in)"), (*p).to_owned())),
                ),
        )?;
        let mut workflows = GlobSetBuilder::new();
        for p in WORKFLOWS {
            workflows.add(glob(p).map_err(|e| e.to_string())?);
        }
        Ok(Self {
            everything,
            workflows: workflows.build().map_err(|e| e.to_string())?,
            attributes: one(ATTRIBUTES).map_err(|e| e.to_string())?,
            ignore,
        })
    }

    /// The rule `path` matches, if any: `repo_path` is relative to the repository,
    /// `ws_path` to the workspace root (`None` outside it, where globs match
    /// `repo_path`). "Everything" rules win over
    /// ignores, so an ignore can never hide a toolchain change.
    pub(crate) fn classify(&self, repo_path: &str, ws_path: Option<&str>) -> Option<RuleMatch> {
        if self.workflows.is_match(repo_path) {
            return Some(RuleMatch::Everything("a workflow file".into()));
        }
        if self.attributes.is_match(repo_path) {
            return Some(RuleMatch::Everything(
                "`.gitattributes` (line endings and filters change the checked-out bytes)".into(),
            ));
        }
        // Outside the workspace (a Rust workspace in a subdirectory of a larger
        // repository) the user's globs see the path relative to the repository.
        let path = ws_path.unwrap_or(repo_path);
        if let Some((label, _)) = self.everything.iter().find(|(_, g)| g.is_match(path)) {
            return Some(RuleMatch::Everything(label.clone()));
        }
        self.ignore
            .iter()
            .find(|(_, g)| g.is_match(path))
            .map(|(label, _)| RuleMatch::Ignored(label.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toolchain_and_workflows_affect_everything_and_win_over_ignores() {
        let rules = Rules::new(&AffectedRules {
            ignore: vec!["**".into()],
            everything: vec!["scripts/*.sh".into()],
        })
        .unwrap();
        let everything = |r: Option<RuleMatch>| matches!(r, Some(RuleMatch::Everything(_)));
        assert!(everything(
            rules.classify("rust-toolchain.toml", Some("rust-toolchain.toml"))
        ));
        assert!(everything(rules.classify(".github/workflows/ci.yml", None)));
        assert!(everything(
            rules.classify("scripts/gen.sh", Some("scripts/gen.sh"))
        ));
        assert!(matches!(
            rules.classify("notes.txt", Some("notes.txt")),
            Some(RuleMatch::Ignored(_))
        ));
    }

    #[test]
    fn outside_the_workspace_globs_match_the_repository_path() {
        let rules = Rules::new(&AffectedRules {
            ignore: vec!["web/**".into()],
            everything: vec![],
        })
        .unwrap();
        assert!(matches!(
            rules.classify("web/app.js", None),
            Some(RuleMatch::Ignored(_))
        ));
        assert_eq!(rules.classify("ops/deploy.sh", None), None);
    }

    #[test]
    fn a_star_stays_in_one_directory() {
        let rules = Rules::new(&AffectedRules {
            ignore: vec!["*.md".into()],
            everything: vec![],
        })
        .unwrap();
        assert!(rules.classify("README.md", Some("README.md")).is_some());
        assert!(rules
            .classify("docs/guide.md", Some("docs/guide.md"))
            .is_none());
    }

    #[test]
    fn a_bad_glob_is_named() {
        let err = Rules::new(&AffectedRules {
            ignore: vec!["a[".into()],
            everything: vec![],
        })
        .unwrap_err();
        assert!(err.contains("`a[`"), "{err}");
    }
}
