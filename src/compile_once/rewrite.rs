//! A split task's hook after the shared compile: one command per test executable of
//! its package, run as `cargo test` runs it — in the package's directory, with the
//! variables cargo sets for a test (`CARGO_MANIFEST_DIR`, `CARGO_PKG_NAME`, ...) and
//! the arguments after `--` — in cargo's order (library, binaries, then integration
//! tests by name). The hook's own env, timeout, retries and resources stay; later
//! binaries run even when one fails, as `cargo test --no-fail-fast` would, so every
//! failing test is seen.

use std::collections::BTreeMap;
use std::path::Path;

use super::compile::{Artifacts, PackageInfo};
use super::Split;
use crate::config::{Command, Hook};

/// The hook that runs `split`'s package's test binaries, or why there is none.
pub fn rewrite(
    hook: &Hook,
    split: &Split,
    artifacts: &Artifacts,
    root: &Path,
) -> Result<Hook, String> {
    let Some((package, binaries)) = artifacts.packages.get(&split.package) else {
        let mut known: Vec<&str> = artifacts.packages.keys().map(String::as_str).collect();
        known.sort_unstable();
        return Err(format!(
            "`{}` is not a member of the workspace (members: {})",
            split.package,
            known.join(", ")
        ));
    };
    let dir = package.manifest_path.parent().unwrap_or(root).to_path_buf();
    let cwd = dir
        .strip_prefix(root)
        .map(|rel| match rel.as_os_str().is_empty() {
            true => ".".to_owned(),
            false => rel.to_string_lossy().into_owned(),
        })
        .unwrap_or_else(|_| dir.to_string_lossy().into_owned());
    let env = package_env(package, &dir);
    let mut binaries = binaries.clone();
    binaries.sort_by_key(|b| {
        let rank = match b.kind.as_str() {
            "lib" | "proc-macro" | "rlib" | "dylib" | "cdylib" | "staticlib" => 0,
            "bin" => 1,
            "test" => 2,
            _ => 3,
        };
        (rank, b.target.clone())
    });
    let original = &hook.commands[0];
    let commands = binaries
        .iter()
        .map(|binary| {
            let mut cmd = vec![binary.executable.to_string_lossy().into_owned()];
            cmd.extend(split.test_args.iter().cloned());
            let mut env = env.clone();
            env.extend(original.env.clone());
            Command {
                cmd,
                shell: None,
                cwd: Some(cwd.clone()),
                env,
                timeout: original.timeout,
                continue_on_error: true,
            }
        })
        .collect();
    Ok(Hook {
        commands,
        agent: None,
        ..hook.clone()
    })
}

/// What cargo sets for a test it runs.
fn package_env(package: &PackageInfo, dir: &Path) -> BTreeMap<String, String> {
    let version = cargo_metadata::semver::Version::parse(&package.version).ok();
    let part = |f: fn(&cargo_metadata::semver::Version) -> String| {
        version.as_ref().map(f).unwrap_or_default()
    };
    [
        ("CARGO_MANIFEST_DIR", dir.to_string_lossy().into_owned()),
        (
            "CARGO_MANIFEST_PATH",
            package.manifest_path.to_string_lossy().into_owned(),
        ),
        ("CARGO_PKG_NAME", package.name.clone()),
        ("CARGO_CRATE_NAME", package.name.replace('-', "_")),
        ("CARGO_PKG_VERSION", package.version.clone()),
        ("CARGO_PKG_VERSION_MAJOR", part(|v| v.major.to_string())),
        ("CARGO_PKG_VERSION_MINOR", part(|v| v.minor.to_string())),
        ("CARGO_PKG_VERSION_PATCH", part(|v| v.patch.to_string())),
        ("CARGO_PKG_VERSION_PRE", part(|v| v.pre.to_string())),
        ("CARGO_PKG_AUTHORS", package.authors.join(":")),
        ("CARGO_PKG_DESCRIPTION", package.description.clone()),
        ("CARGO_PKG_HOMEPAGE", package.homepage.clone()),
        ("CARGO_PKG_REPOSITORY", package.repository.clone()),
        ("CARGO_PKG_LICENSE", package.license.clone()),
        ("CARGO_PKG_RUST_VERSION", package.rust_version.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::super::compile::TestBinary;
    use super::*;

    fn artifacts() -> Artifacts {
        let info = PackageInfo {
            name: "grep-cli".into(),
            version: "0.1.11".into(),
            manifest_path: "/ws/crates/cli/Cargo.toml".into(),
            ..PackageInfo::default()
        };
        let bin = |target: &str, kind: &str| TestBinary {
            target: target.into(),
            kind: kind.into(),
            executable: format!("/ws/target/debug/deps/{target}-123").into(),
        };
        let binaries = vec![bin("zz", "test"), bin("grep_cli", "lib"), bin("aa", "test")];
        Artifacts {
            packages: [("grep-cli".to_owned(), (info, binaries))].into(),
        }
    }

    #[test]
    fn a_package_runs_its_binaries_in_cargos_order_where_cargo_would() {
        let hook: Hook = serde_json::from_str(
            r#"{"timeout": "5m", "retries": 1, "env": {"RUST_BACKTRACE": "1"},
                "commands": [{"cmd": ["cargo", "test", "-p", "grep-cli", "--", "--nocapture"]}]}"#,
        )
        .unwrap();
        let split = super::super::split(&hook).unwrap();
        let out = rewrite(&hook, &split, &artifacts(), Path::new("/ws")).unwrap();
        let argv: Vec<&str> = out.commands.iter().map(|c| c.cmd[0].as_str()).collect();
        assert_eq!(
            argv,
            [
                "/ws/target/debug/deps/grep_cli-123",
                "/ws/target/debug/deps/aa-123",
                "/ws/target/debug/deps/zz-123"
            ]
        );
        let first = &out.commands[0];
        assert_eq!(first.cmd[1..], ["--nocapture"]);
        assert_eq!(first.cwd.as_deref(), Some("crates/cli"));
        assert_eq!(first.env["CARGO_MANIFEST_DIR"], "/ws/crates/cli");
        assert_eq!(first.env["CARGO_PKG_NAME"], "grep-cli");
        assert_eq!(first.env["CARGO_PKG_VERSION_PATCH"], "11");
        assert!(first.continue_on_error, "every binary runs");
        assert_eq!(
            (out.retries, out.env.len()),
            (Some(1), 1),
            "the hook's own settings stay"
        );
    }

    #[test]
    fn an_unknown_package_is_named_with_the_members() {
        let hook: Hook =
            serde_json::from_str(r#"{"commands": [{"cmd": ["cargo", "test", "-p", "nope"]}]}"#)
                .unwrap();
        let split = super::super::split(&hook).unwrap();
        let err = rewrite(&hook, &split, &artifacts(), Path::new("/ws")).unwrap_err();
        assert!(
            err.contains("`nope` is not a member") && err.contains("grep-cli"),
            "{err}"
        );
    }
}
