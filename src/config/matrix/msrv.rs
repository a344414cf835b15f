//! The known value `msrv`: a matrix value `msrv` stands for the `rust-version` of the
//! package a command targets, so `"toolchain": ["stable", "msrv"]` keeps the id
//! readable (`toolchain=msrv`) while argv gets the version (`+1.70`).
//!
//! The versions come from the `cargo metadata` that finds the workspace (see
//! `workspace.rs`), never from a cargo process per task. A command targets the package
//! its argv names (`-p NAME`, `--package NAME`, `--manifest-path PATH`), else the
//! package whose directory holds its cwd; without a `rust-version` there, the
//! workspace's `[workspace.package] rust-version`, then the root package's, stand in.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::model::Combination;
use crate::config::hooks::{Command, Hook};

/// The value that is resolved rather than substituted as written.
pub(crate) const MSRV: &str = "msrv";

/// The `rust-version`s of a workspace, as cargo metadata and the root manifest say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RustVersions {
    /// The root `Cargo.toml`.
    pub(crate) manifest: PathBuf,
    /// `[workspace.package] rust-version`.
    pub(crate) workspace: Option<String>,
    /// The root package's name, when the root manifest has a `[package]`.
    pub(crate) root_package: Option<String>,
    pub(crate) packages: Vec<PackageVersion>,
}

/// One package's `rust-version` (inherited ones already resolved by cargo).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PackageVersion {
    pub(crate) name: String,
    pub(crate) manifest: PathBuf,
    pub(crate) rust_version: Option<String>,
}

/// What `msrv` can be resolved from, set on the hooks by the loader.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum Known {
    /// Nobody asked cargo (a command that holds a token): `msrv` is kept as written.
    #[default]
    Unread,
    /// There is no Cargo workspace (a bare `--sot`), around this directory.
    NoWorkspace(PathBuf),
    Read(RustVersions),
}

/// Why `msrv` has no version for a command, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Missing {
    pub(crate) message: String,
    pub(crate) help: String,
}

impl Known {
    /// The version `msrv` stands for in `command` (its variables already substituted),
    /// or None when nobody read the workspace.
    pub(crate) fn resolve(&self, command: &Command) -> Option<Result<String, Missing>> {
        self.resolve_in(target(command), command.cwd())
    }

    /// The version `msrv` stands for at the workspace root (for the hook's env).
    pub(crate) fn resolve_root(&self) -> Option<Result<String, Missing>> {
        self.resolve_in(Target::Cwd, ".")
    }

    fn resolve_in(&self, target: Target, cwd: &str) -> Option<Result<String, Missing>> {
        match self {
            Known::Unread => None,
            Known::NoWorkspace(dir) => Some(Err(Missing {
                message: format!(
                    "`msrv` is the `rust-version` of a Cargo package, but there is no Cargo.toml around `{}`",
                    dir.display()
                ),
                help: "run inside a Cargo workspace (or pass --manifest-path), or write the version instead of `msrv`".into(),
            })),
            Known::Read(versions) => Some(versions.resolve(target, cwd)),
        }
    }
}

impl RustVersions {
    fn root(&self) -> &Path {
        self.manifest.parent().unwrap_or(Path::new("/"))
    }

    fn resolve(&self, target: Target, cwd: &str) -> Result<String, Missing> {
        let package = match target {
            Target::Name(name) => Some(self.named(&name)?),
            Target::Manifest(path) => {
                let path = self.root().join(path);
                self.packages.iter().find(|p| p.manifest == path)
            }
            Target::Cwd => self.holding(&self.root().join(cwd)),
        };
        let root_package = self
            .root_package
            .as_deref()
            .and_then(|name| self.packages.iter().find(|p| p.name == name));
        let found = package
            .and_then(|p| p.rust_version.clone())
            .or_else(|| self.workspace.clone())
            .or_else(|| root_package.and_then(|p| p.rust_version.clone()));
        found.ok_or_else(|| self.missing(package))
    }

    fn named(&self, name: &str) -> Result<&PackageVersion, Missing> {
        self.packages
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| {
                let names: Vec<String> =
                    self.packages.iter().map(|p| format!("`{}`", p.name)).collect();
                Missing {
                    message: format!(
                        "`msrv` is the `rust-version` of package `{name}`, which is not a member of the workspace of `{}`",
                        self.manifest.display()
                    ),
                    help: format!("the members are {}", names.join(", ")),
                }
            })
    }

    /// The package whose directory is the deepest ancestor of `dir`.
    fn holding(&self, dir: &Path) -> Option<&PackageVersion> {
        self.packages
            .iter()
            .filter(|p| p.manifest.parent().is_some_and(|d| dir.starts_with(d)))
            .max_by_key(|p| p.manifest.as_os_str().len())
    }

    /// A manifest's path as the user reads it: relative to the workspace root.
    fn shown(&self, manifest: &Path) -> String {
        manifest
            .strip_prefix(self.root())
            .unwrap_or(manifest)
            .display()
            .to_string()
    }

    fn missing(&self, package: Option<&PackageVersion>) -> Missing {
        let (manifest, whose) = match package {
            Some(p) => (self.shown(&p.manifest), format!("package `{}`", p.name)),
            None => (self.shown(&self.manifest), "the workspace".to_owned()),
        };
        let also = if package.is_some_and(|p| p.manifest != self.manifest) {
            " nor in the workspace's `Cargo.toml`".to_owned()
        } else {
            String::new()
        };
        Missing {
            message: format!(
                "`msrv` is the `rust-version` of {whose}, but none is set in `{manifest}`{also}"
            ),
            help: format!(
                "set `rust-version = \"1.70\"` under [package] in `{manifest}` (or under [workspace.package] in the root Cargo.toml), or write the version in the matrix instead of `msrv`"
            ),
        }
    }
}

/// Which package a command names.
enum Target {
    Name(String),
    Manifest(String),
    Cwd,
}

/// `-p NAME`, `-pNAME`, `--package NAME`, `--package=NAME` or `--manifest-path PATH`
/// in argv (a shell script is split at whitespace: a guess, but `-p` is a word there too).
fn target(command: &Command) -> Target {
    let words: Vec<&str> = match &command.shell {
        Some(script) => script.split_whitespace().collect(),
        None => command.cmd.iter().map(String::as_str).collect(),
    };
    let mut words = words.into_iter();
    while let Some(word) = words.next() {
        let value = |flag: &str, words: &mut std::vec::IntoIter<&str>| -> Option<String> {
            if word == flag {
                return words.next().map(str::to_owned);
            }
            let rest = word.strip_prefix(flag)?;
            let rest = if flag.starts_with("--") {
                rest.strip_prefix('=')?
            } else {
                rest
            };
            Some(rest.to_owned())
        };
        if let Some(name) = value("--package", &mut words).or_else(|| value("-p", &mut words)) {
            return Target::Name(name);
        }
        if let Some(path) = value("--manifest-path", &mut words) {
            return Target::Manifest(path);
        }
    }
    Target::Cwd
}

/// Whether `combination` has a value `msrv` (only then is anything resolved).
pub(crate) fn wants(combination: &Combination) -> bool {
    combination.values.iter().any(|(_, v)| v == MSRV)
}

/// `combination` with every `msrv` value replaced by `version`.
pub(crate) fn with_version(combination: &Combination, version: &str) -> Combination {
    let mut out = combination.clone();
    for (_, value) in &mut out.values {
        if value == MSRV {
            *value = version.to_owned();
        }
    }
    out
}

/// What `msrv` stands for in `combination` of `hook`: each variable whose value is
/// `msrv` with the version of the first command that uses it, or the variable and why
/// a command that uses it has no version. Empty when nothing is resolved (no `msrv`,
/// or nobody read the workspace).
pub(crate) fn resolved(
    hook: &Hook,
    combination: &Combination,
    known: &Known,
) -> Result<Vec<(String, String)>, (String, Missing)> {
    let names: Vec<&str> = combination
        .values
        .iter()
        .filter(|(_, v)| v == MSRV)
        .map(|(k, _)| k.as_str())
        .collect();
    let mut out: Vec<(String, String)> = Vec::new();
    for name in names {
        let variable = format!("${{matrix.{name}}}");
        let uses = |text: &str| text.contains(&variable);
        for command in &hook.commands {
            let texts = command.cmd.iter().map(String::as_str);
            let mut texts = texts
                .chain(command.shell.as_deref())
                .chain(command.cwd.as_deref())
                .chain(command.env.values().map(String::as_str));
            if !texts.any(uses) {
                continue;
            }
            let mut filled = command.clone();
            super::substitute::fill(&mut filled, combination);
            match known.resolve(&filled) {
                None => return Ok(Vec::new()),
                Some(Err(missing)) => return Err((name.to_owned(), missing)),
                Some(Ok(version)) if !out.iter().any(|(n, _)| n == name) => {
                    out.push((name.to_owned(), version))
                }
                Some(Ok(_)) => {}
            }
        }
        if hook.env.values().any(|v| uses(v)) {
            match known.resolve_root() {
                None => return Ok(Vec::new()),
                Some(Err(missing)) => return Err((name.to_owned(), missing)),
                Some(Ok(version)) if !out.iter().any(|(n, _)| n == name) => {
                    out.push((name.to_owned(), version))
                }
                Some(Ok(_)) => {}
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(cmd: &[&str], cwd: Option<&str>) -> Command {
        let mut json = serde_json::json!({ "cmd": cmd });
        if let Some(cwd) = cwd {
            json["cwd"] = cwd.into();
        }
        serde_json::from_value(json).unwrap()
    }

    fn versions(workspace: Option<&str>) -> RustVersions {
        let package = |name: &str, dir: &str, v: Option<&str>| PackageVersion {
            name: name.into(),
            manifest: PathBuf::from(format!("/w/{dir}Cargo.toml")),
            rust_version: v.map(str::to_owned),
        };
        RustVersions {
            manifest: "/w/Cargo.toml".into(),
            workspace: workspace.map(str::to_owned),
            root_package: Some("root".into()),
            packages: vec![
                package("root", "", Some("1.60")),
                package("a", "crates/a/", Some("1.70")),
                package("b", "crates/b/", None),
            ],
        }
    }

    #[test]
    fn the_package_named_in_argv_or_holding_the_cwd_gives_the_version() {
        let v = versions(None);
        let resolve = |cmd: &[&str], cwd| {
            let c = command(cmd, cwd);
            v.resolve(target(&c), c.cwd())
        };
        assert_eq!(
            resolve(&["cargo", "test", "-p", "a"], None).unwrap(),
            "1.70"
        );
        assert_eq!(
            resolve(&["cargo", "test", "--package=a"], None).unwrap(),
            "1.70"
        );
        assert_eq!(resolve(&["cargo", "test", "-pa"], None).unwrap(), "1.70");
        assert_eq!(
            resolve(
                &["cargo", "t", "--manifest-path", "crates/a/Cargo.toml"],
                None
            )
            .unwrap(),
            "1.70"
        );
        assert_eq!(
            resolve(&["cargo", "test"], Some("crates/a/src")).unwrap(),
            "1.70"
        );
        assert_eq!(resolve(&["cargo", "test"], None).unwrap(), "1.60");
        // `b` has none: the root package's stands in, or the workspace's before it.
        assert_eq!(
            resolve(&["cargo", "test", "-p", "b"], None).unwrap(),
            "1.60"
        );
        let v = versions(Some("1.65"));
        assert_eq!(v.resolve(Target::Name("b".into()), ".").unwrap(), "1.65");
    }

    #[test]
    fn no_version_anywhere_names_the_manifest_and_an_unknown_package_the_members() {
        let mut v = versions(None);
        v.packages[0].rust_version = None;
        let err = v.resolve(Target::Name("b".into()), ".").unwrap_err();
        assert!(err.message.contains("package `b`"), "{}", err.message);
        assert!(
            err.message.contains("`crates/b/Cargo.toml`"),
            "{}",
            err.message
        );
        assert!(err.message.contains("nor in the workspace's `Cargo.toml`"));
        assert!(err.help.contains("rust-version = "), "{}", err.help);
        let err = v.resolve(Target::Name("zz".into()), ".").unwrap_err();
        assert!(err.message.contains("package `zz`"), "{}", err.message);
        assert!(err.help.contains("`a`, `b`"), "{}", err.help);
    }
}
