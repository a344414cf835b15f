//! The `rust-version`s a matrix value `msrv` resolves to, read from the same
//! `cargo metadata --no-deps` that finds the workspace (and cached with it), plus
//! `[workspace.package] rust-version`, which metadata does not report.

use std::path::{Path, PathBuf};

use crate::config::matrix::{PackageVersion, RustVersions};

/// The versions of `metadata`'s workspace members.
pub(crate) fn of(metadata: &cargo_metadata::Metadata) -> RustVersions {
    let manifest = PathBuf::from(metadata.workspace_root.as_std_path()).join("Cargo.toml");
    let members: Vec<PackageVersion> = metadata
        .workspace_packages()
        .into_iter()
        .map(|p| PackageVersion {
            name: p.name.to_string(),
            manifest: p.manifest_path.clone().into_std_path_buf(),
            rust_version: p.rust_version.as_ref().map(short),
        })
        .collect();
    RustVersions {
        workspace: workspace_package(&manifest),
        root_package: metadata.root_package().map(|p| p.name.to_string()),
        packages: members,
        manifest,
    }
}

/// `1.70.0` as written `1.70`: what rustup's `+1.70` and the manifest say. Cargo reports
/// a `rust-version` with the patch filled in; a `0` patch the user never wrote would
/// ask rustup for a toolchain by another name.
fn short(version: &cargo_metadata::semver::Version) -> String {
    if version.patch == 0 {
        format!("{}.{}", version.major, version.minor)
    } else {
        version.to_string()
    }
}

/// `[workspace.package] rust-version` of the root manifest, if it has one.
fn workspace_package(manifest: &Path) -> Option<String> {
    let text = std::fs::read_to_string(manifest).ok()?;
    let table: toml::Table = text.parse().ok()?;
    table
        .get("workspace")?
        .get("package")?
        .get("rust-version")?
        .as_str()
        .map(str::to_owned)
}
