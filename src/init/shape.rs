//! What init needs to know about a workspace: its members, and which of them have a
//! library whose doctests `cargo test --doc` would run. Read from `cargo metadata`.

use std::path::Path;

use cargo_metadata::{Metadata, Target, TargetKind};

/// One workspace member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Member {
    /// The package name, as `cargo test -p` takes it.
    pub(crate) name: String,
    /// Whether it has a library target with doctests enabled.
    pub(crate) doctests: bool,
}

/// A workspace as init sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shape {
    /// What sot.md's title calls it: the root package, else the root directory's name.
    pub(crate) name: String,
    /// The members, in `cargo metadata`'s order (sorted by name for stable output).
    pub(crate) members: Vec<Member>,
}

impl Shape {
    /// The shape of the workspace `metadata` describes (from `cargo metadata
    /// --no-deps`: a virtual workspace has no root package, a single package is its
    /// own workspace).
    pub(crate) fn from_metadata(metadata: &Metadata) -> Self {
        let mut members: Vec<Member> = metadata
            .workspace_packages()
            .into_iter()
            .map(|package| Member {
                name: package.name.to_string(),
                doctests: package.targets.iter().any(has_doctests),
            })
            .collect();
        members.sort_by(|a, b| a.name.cmp(&b.name));
        let name = metadata
            .root_package()
            .map(|p| p.name.to_string())
            .unwrap_or_else(|| directory_name(metadata.workspace_root.as_std_path()));
        Self { name, members }
    }
}

/// Whether `cargo test --doc` would run `target`'s doctests: a Rust library (of any
/// linkable kind) that does not say `doctest = false`.
fn has_doctests(target: &Target) -> bool {
    target.doctest
        && target.kind.iter().any(|kind| {
            matches!(
                kind,
                TargetKind::Lib | TargetKind::RLib | TargetKind::DyLib | TargetKind::ProcMacro
            )
        })
}

/// The root directory's name, kept to characters that need no escaping in Markdown
/// (it lands in a heading); `workspace` when nothing is left.
fn directory_name(root: &Path) -> String {
    let name: String = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    if name.is_empty() {
        "workspace".into()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real `cargo metadata --no-deps` on a workspace made of `files`.
    fn shape_of(files: &[(&str, &str)]) -> Shape {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("my-ws");
        for (rel, text) in files {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let metadata = cargo_metadata::MetadataCommand::new()
            .no_deps()
            .manifest_path(root.join("Cargo.toml"))
            .exec()
            .unwrap();
        Shape::from_metadata(&metadata)
    }

    fn package(name: &str, extra: &str) -> String {
        format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n{extra}")
    }

    #[test]
    fn a_virtual_workspace_is_named_by_its_directory_and_bin_only_members_have_no_doctests() {
        let shape = shape_of(&[
            (
                "Cargo.toml",
                "[workspace]\nmembers = [\"crates/*\"]\nresolver = \"2\"\n",
            ),
            ("crates/zeta/Cargo.toml", &package("zeta", "")),
            ("crates/zeta/src/lib.rs", ""),
            ("crates/app/Cargo.toml", &package("app", "")),
            ("crates/app/src/main.rs", "fn main() {}\n"),
            (
                "crates/quiet/Cargo.toml",
                &package("quiet", "\n[lib]\ndoctest = false\n"),
            ),
            ("crates/quiet/src/lib.rs", ""),
            (
                "crates/mac/Cargo.toml",
                &package("mac", "\n[lib]\nproc-macro = true\n"),
            ),
            ("crates/mac/src/lib.rs", ""),
        ]);
        assert_eq!(shape.name, "my-ws");
        let members: Vec<(&str, bool)> = shape
            .members
            .iter()
            .map(|m| (m.name.as_str(), m.doctests))
            .collect();
        assert_eq!(
            members,
            [
                ("app", false),
                ("mac", true),
                ("quiet", false),
                ("zeta", true)
            ]
        );
    }

    #[test]
    fn a_single_package_is_its_own_workspace() {
        let shape = shape_of(&[
            ("Cargo.toml", &package("solo", "")),
            ("src/lib.rs", ""),
            ("src/main.rs", "fn main() {}\n"),
        ]);
        assert_eq!(shape.name, "solo");
        assert_eq!(
            shape.members,
            [Member {
                name: "solo".into(),
                doctests: true
            }]
        );
    }

    #[test]
    fn an_odd_directory_name_is_kept_to_plain_characters() {
        assert_eq!(directory_name(Path::new("/x/my `ws`\n")), "myws");
        assert_eq!(directory_name(Path::new("/")), "workspace");
    }
}
