//! `.github/workflows/cargo-tek.yml`: the plan run by the cargo-tek Action on pushes to
//! main and on pull requests, written to pass actionlint and zizmor: no permissions at
//! the workflow level, the job's own minimal (`pull-requests: write` only when it
//! comments), checkout without persisted credentials, third-party actions pinned by
//! commit SHA.

use std::fmt::Write;

/// The repository of the Action, as docs/action.md uses it.
pub(crate) const ACTION: &str = "cargo-tek/cargo-tek";

/// Which ref of the Action the workflow uses: the moving major tag, or a commit SHA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ActionRef(String);

impl ActionRef {
    /// The major tag releases move (docs/action.md).
    pub(crate) fn major() -> Self {
        Self("v1".into())
    }

    /// A tag, branch or commit SHA: letters, digits and `.`, `_`, `-`, `/`, so that it
    /// cannot break out of the YAML line or form a `${{ }}` expression.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let plain = !text.is_empty()
            && text.len() <= 100
            && !text.starts_with(['-', '/', '.'])
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'));
        if plain {
            Ok(Self(text.to_owned()))
        } else {
            Err(format!(
                "`{}` is not a tag or commit SHA of the Action (letters, digits, `.`, `_`, `-`, `/`)",
                text.escape_debug()
            ))
        }
    }

    /// A full commit SHA: what zizmor's `unpinned-uses` asks of third-party actions.
    fn is_sha(&self) -> bool {
        self.0.len() == 40 && self.0.bytes().all(|b| b.is_ascii_hexdigit())
    }
}

/// What the workflow says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Workflow {
    pub(crate) action_ref: ActionRef,
    /// Whether the job keeps the sticky PR comment (and so needs `pull-requests: write`).
    pub(crate) comment: bool,
    /// The workspace relative to the repository root, when it is not the root; only
    /// plain path characters (checked by [`Workflow::working_directory`]).
    pub(crate) working_directory: Option<String>,
}

impl Workflow {
    /// `rel` as the Action's `working-directory`, if it needs no quoting in YAML and
    /// holds nothing an expression could be made of.
    pub(crate) fn working_directory(rel: &str) -> Result<String, String> {
        let plain = rel.split('/').all(|part| {
            !part.is_empty()
                && part != ".."
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        });
        if plain && !rel.starts_with(['-', '.']) {
            Ok(rel.to_owned())
        } else {
            Err(format!(
                "the workspace's path in the repository, `{}`, has characters a workflow cannot carry unquoted; write the workflow by hand",
                rel.escape_debug()
            ))
        }
    }

    /// The workflow file.
    pub(crate) fn render(&self) -> String {
        let mut out = String::from(
            "# Written by `cargo tek init --workflow`: runs the gates of sot.md and config/\n\
             # with the cargo-tek Action (docs/action.md in cargo-tek's repository). Pull\n\
             # requests and merge-queue groups run only the tasks their change affects;\n\
             # pushes run every task.\n\
             name: cargo-tek\n\
             \n\
             on:\n  push:\n    branches: [main]\n  pull_request:\n  merge_group:\n\
             \n\
             permissions: {}\n\
             \n\
             concurrency:\n  group: cargo-tek-${{ github.ref }}\n  cancel-in-progress: ${{ github.event_name == 'pull_request' }}\n\
             \n\
             jobs:\n  tek:\n    name: cargo tek run\n    runs-on: ubuntu-latest\n    timeout-minutes: 60\n    permissions:\n      contents: read # check out the repository\n",
        );
        if self.comment {
            out.push_str("      pull-requests: write # the sticky PR comment\n");
        }
        out.push_str(
            "    steps:\n\
             \x20     - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\n\
             \x20       with:\n\
             \x20         persist-credentials: false\n\
             \x20         fetch-depth: 0 # the merge base, to measure what a pull request affects\n\
             \x20     - id: tek\n",
        );
        if self.action_ref.is_sha() {
            let _ = writeln!(out, "        uses: {ACTION}@{}", self.action_ref.0);
        } else {
            // A tag moves; zizmor's blanket policy wants a SHA for every third-party
            // action. The finding is accepted here on purpose, in the open, with the way
            // to pin instead.
            let _ = writeln!(
                out,
                "        # Pin a commit SHA instead: cargo tek init --workflow --force --action-ref <sha>\n        uses: {ACTION}@{} # zizmor: ignore[unpinned-uses]",
                self.action_ref.0
            );
        }
        out.push_str("        with:\n          command: run\n");
        if !self.comment {
            out.push_str("          comment: \"false\"\n");
        }
        if let Some(dir) = &self.working_directory {
            let _ = writeln!(out, "          working-directory: {dir}");
        }
        out.push_str(
            "      - if: always() && steps.tek.outputs.run-dir != ''\n\
             \x20       uses: actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02 # v4.6.2\n\
             \x20       with:\n\
             \x20         name: cargo-tek-run\n\
             \x20         path: ${{ steps.tek.outputs.run-dir }}\n",
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workflow(comment: bool, action_ref: &str, dir: Option<&str>) -> String {
        Workflow {
            action_ref: ActionRef::parse(action_ref).unwrap(),
            comment,
            working_directory: dir.map(|d| Workflow::working_directory(d).unwrap()),
        }
        .render()
    }

    #[test]
    fn permissions_follow_the_comment() {
        let with = workflow(true, "v1", None);
        assert!(with.contains("permissions: {}\n"), "{with}");
        assert!(with.contains("      pull-requests: write"), "{with}");
        assert!(with.contains("persist-credentials: false"), "{with}");
        assert!(
            with.contains("uses: cargo-tek/cargo-tek@v1 # zizmor: ignore[unpinned-uses]"),
            "{with}"
        );
        assert!(!with.contains("comment:"), "{with}");
        assert!(!with.contains("working-directory"), "{with}");
        let without = workflow(false, "v1", Some("rust/ws"));
        assert!(!without.contains("pull-requests"), "{without}");
        assert!(
            without.contains("          comment: \"false\"\n"),
            "{without}"
        );
        assert!(
            without.contains("          working-directory: rust/ws\n"),
            "{without}"
        );
    }

    #[test]
    fn a_sha_is_pinned_without_an_exception() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        let text = workflow(true, sha, None);
        assert!(
            text.contains(&format!("        uses: cargo-tek/cargo-tek@{sha}\n")),
            "{text}"
        );
        assert!(!text.contains("zizmor"), "{text}");
    }

    #[test]
    fn refs_and_paths_that_could_inject_yaml_or_expressions_are_refused() {
        for bad in [
            "",
            "v1 # x",
            "${{ github.token }}",
            "v1\nname: x",
            "-x",
            "a'b",
        ] {
            assert!(ActionRef::parse(bad).is_err(), "{bad:?}");
        }
        assert!(ActionRef::parse("release/v1.2").is_ok());
        for bad in ["a b", "../x", "${{x}}", "a//b", ".hidden", "x:y"] {
            assert!(Workflow::working_directory(bad).is_err(), "{bad:?}");
        }
    }
}
