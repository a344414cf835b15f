//! `cargo tek check` for `covers`: crate names that are not workspace members, and path
//! globs that match no tracked file (a typo there would silently never run the task).

use std::path::Path;

use crate::config::Covers;

/// What `check` needs to know about the workspace, read once.
#[derive(Debug, Default)]
pub(crate) struct Known {
    /// Workspace member names; `None` when cargo could not say.
    pub(crate) members: Option<Vec<String>>,
    /// Tracked files relative to the workspace root; `None` outside a git repository.
    pub(crate) tracked: Option<Vec<String>>,
}

impl Known {
    /// Asks cargo and git about the workspace at `root`.
    pub(crate) fn read(root: &Path) -> Self {
        let members = cargo_metadata::MetadataCommand::new()
            .no_deps()
            .current_dir(root)
            .exec()
            .ok()
            .map(|m| {
                m.workspace_packages()
                    .iter()
                    .map(|p| p.name.to_string())
                    .collect()
            });
        let tracked = super::git::ls_files(root, ".").ok();
        Self { members, tracked }
    }
}

/// The problems of one hook's `covers`, each a message and its help.
pub(crate) fn validate(covers: &Covers, known: &Known) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(members) = &known.members {
        for name in covers.crates.iter().filter(|n| !members.contains(n)) {
            let help = match crate::sot::closest(name, members.iter().map(String::as_str)) {
                Some(near) => format!("did you mean `{near}`? `covers.crates` lists workspace members by package name"),
                None => format!("`covers.crates` lists workspace members by package name: {}", members.join(", ")),
            };
            out.push((
                format!("`covers` names crate `{name}`, which is not a workspace member"),
                help,
            ));
        }
    }
    for pattern in &covers.paths {
        match super::rules::glob(pattern) {
            Err(e) => out.push((
                format!("`covers` has an invalid glob `{pattern}`: {e}"),
                "globs are relative to the workspace root; `*` stays in one directory, `**` crosses them".into(),
            )),
            Ok(glob) => {
                let matcher = glob.compile_matcher();
                if let Some(tracked) = &known.tracked {
                    if !tracked.iter().any(|p| matcher.is_match(p)) {
                        out.push((
                            format!("`covers` glob `{pattern}` matches no tracked file"),
                            "globs are relative to the workspace root; `*` stays in one directory, `**` crosses them".into(),
                        ));
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_crates_and_empty_globs_are_named() {
        let known = Known {
            members: Some(vec!["core".into(), "util".into()]),
            tracked: Some(vec!["docs/a.md".into()]),
        };
        let covers = Covers {
            crates: vec!["cor".into(), "util".into()],
            paths: vec!["docs/**".into(), "doc/**".into()],
        };
        let problems = validate(&covers, &known);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].0.contains("`cor`") && problems[0].1.contains("`core`"));
        assert!(problems[1].0.contains("`doc/**` matches no tracked file"));
    }
}
