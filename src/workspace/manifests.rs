//! Finding the workspace root by reading `Cargo.toml` files, without starting cargo.
//!
//! For the commands that hold a token (`report`, with `GITHUB_TOKEN` for the PR
//! comment): `cargo` on a CI runner is the rustup proxy, which honours the checkout's
//! `rust-toolchain.toml` (`path = "/evil"` names any program), so running it would start
//! code the pull request controls while the token is in reach. The report needs only
//! the run directory and the `[workspace.metadata.tek]` settings, both readable from
//! the manifests themselves.
//!
//! The rule is cargo's own, simplified: the nearest `Cargo.toml` from the start
//! directory up; if it names its root (`package.workspace = "…"`), that one; if it has
//! `[workspace]`, itself; else the nearest ancestor with `[workspace]`, else itself.
//! Member lists (`members`, `exclude`) are not evaluated: a package that an ancestor's
//! workspace excludes is reported as part of it. That can only change where the default
//! runs directory and templates are looked for, never what ran.

use std::path::{Path, PathBuf};

use super::cache::CargoFacts;

/// Why no root could be read.
#[derive(Debug)]
pub(crate) struct NotFound(pub(crate) String);

/// The workspace facts for `start` (a directory, or a `Cargo.toml` given by
/// `--manifest-path`), read from the manifests alone. The target directory is not
/// known without cargo; `<root>/target` stands in (nothing that reads only a run
/// directory uses it).
pub(crate) fn facts_without_cargo(start: &Path) -> Result<CargoFacts, NotFound> {
    let (nearest_path, nearest) = if start.is_file() {
        (start.to_path_buf(), read(start)?)
    } else {
        nearest_manifest(start)?
    };
    let root_manifest = match root_of(&nearest_path, &nearest)? {
        Some(found) => found,
        None => (nearest_path, nearest),
    };
    let (path, table) = root_manifest;
    let root = path.parent().unwrap_or(Path::new("/")).to_path_buf();
    let tek = tek_table(&table, "workspace").or_else(|| tek_table(&table, "package"));
    Ok(CargoFacts {
        target_dir: root.join("target"),
        root,
        tek,
        rust_versions: None,
    })
}

fn read(path: &Path) -> Result<toml::Table, NotFound> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| NotFound(format!("failed to read `{}`: {e}", path.display())))?;
    text.parse::<toml::Table>()
        .map_err(|e| NotFound(format!("`{}` is not valid TOML: {e}", path.display())))
}

fn nearest_manifest(start: &Path) -> Result<(PathBuf, toml::Table), NotFound> {
    for dir in start.ancestors() {
        let candidate = dir.join("Cargo.toml");
        if candidate.is_file() {
            return Ok((candidate.clone(), read(&candidate)?));
        }
    }
    Err(NotFound(format!(
        "could not find `Cargo.toml` in `{}` or any parent directory",
        start.display()
    )))
}

/// The workspace root's manifest when it is not `nearest` itself (`None`: it is).
#[allow(clippy::type_complexity)]
fn root_of(
    nearest_path: &Path,
    nearest: &toml::Table,
) -> Result<Option<(PathBuf, toml::Table)>, NotFound> {
    if nearest.contains_key("workspace") {
        return Ok(None);
    }
    let dir = nearest_path.parent().unwrap_or(Path::new("/"));
    let named = nearest
        .get("package")
        .and_then(|p| p.get("workspace"))
        .and_then(toml::Value::as_str);
    if let Some(named) = named {
        let manifest = dir.join(named).join("Cargo.toml");
        let table = read(&manifest)?;
        return Ok(Some((manifest, table)));
    }
    for ancestor in dir.ancestors().skip(1) {
        let candidate = ancestor.join("Cargo.toml");
        if candidate.is_file() {
            if let Ok(table) = read(&candidate) {
                if table.contains_key("workspace") {
                    return Ok(Some((candidate, table)));
                }
            }
        }
    }
    Ok(None)
}

/// `[<section>.metadata.tek]` as JSON, the shape `cargo metadata` gives it.
fn tek_table(table: &toml::Table, section: &str) -> Option<serde_json::Value> {
    let tek = table.get(section)?.get("metadata")?.get("tek")?;
    serde_json::to_value(tek).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn the_root_is_the_nearest_workspace_above_a_member() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            &root.join("Cargo.toml"),
            "[workspace]\nmembers = [\"crates/*\"]\n\n[workspace.metadata.tek]\nruns-dir = \"evidence\"\n",
        );
        write(
            &root.join("crates/a/Cargo.toml"),
            "[package]\nname = \"a\"\nversion = \"0.1.0\"\n",
        );
        let facts = facts_without_cargo(&root.join("crates/a/src")).unwrap();
        assert_eq!(facts.root, root);
        assert_eq!(facts.tek, Some(serde_json::json!({"runs-dir": "evidence"})));
        // --manifest-path names the member's manifest: the same root.
        let facts = facts_without_cargo(&root.join("crates/a/Cargo.toml")).unwrap();
        assert_eq!(facts.root, root);
    }

    #[test]
    fn a_single_package_keeps_its_settings_on_the_package() {
        let dir = tempfile::tempdir().unwrap();
        write(
            &dir.path().join("Cargo.toml"),
            "[package]\nname = \"p\"\nversion = \"0.1.0\"\n\n[package.metadata.tek]\ntemplates = \"t\"\n",
        );
        let facts = facts_without_cargo(dir.path()).unwrap();
        assert_eq!(facts.root, dir.path());
        assert_eq!(facts.tek, Some(serde_json::json!({"templates": "t"})));
    }

    #[test]
    fn package_workspace_names_the_root() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("ws/Cargo.toml"), "[workspace]\n");
        write(
            &dir.path().join("elsewhere/p/Cargo.toml"),
            "[package]\nname = \"p\"\nversion = \"0.1.0\"\nworkspace = \"../../ws\"\n",
        );
        let facts = facts_without_cargo(&dir.path().join("elsewhere/p")).unwrap();
        assert_eq!(facts.root, dir.path().join("elsewhere/p/../../ws"));
    }

    #[test]
    fn no_manifest_and_broken_toml_are_explained() {
        let dir = tempfile::tempdir().unwrap();
        let err = facts_without_cargo(dir.path()).unwrap_err();
        assert!(err.0.contains("could not find `Cargo.toml`"), "{}", err.0);
        write(&dir.path().join("Cargo.toml"), "[package\n");
        let err = facts_without_cargo(dir.path()).unwrap_err();
        assert!(err.0.contains("is not valid TOML"), "{}", err.0);
    }
}
