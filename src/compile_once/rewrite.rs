//! A split task's hook after the shared compile: one command per test executable of
//! its package, run as `cargo test` runs it — in the package's directory, with the
//! environment cargo gives a test (the dynamic library path with the target dir's
//! `deps` and the sysroot's library directory, `CARGO`, `CARGO_MANIFEST_DIR`,
//! `CARGO_PKG_*`, the build script's `OUT_DIR` and `rustc-env` variables) and the
//! arguments after `--` — in cargo's order (library, binaries, then integration
//! tests by name). The hook's own env, timeout, retries and resources stay; later
//! binaries run even when one fails, as `cargo test --no-fail-fast` would, so every
//! failing test is seen.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::artifacts::{Artifacts, PackageInfo, TestBinary};
use super::Split;
use crate::cargo::messages::LIB_KINDS;
use crate::config::{Command, Hook};

/// The hook that runs `split`'s package's test binaries, or why there is none.
pub(crate) fn rewrite(
    hook: &Hook,
    split: &Split,
    artifacts: &Artifacts,
    root: &Path,
    inherited_dylib_path: Option<&str>,
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
            k if LIB_KINDS.contains(&k) => 0,
            "bin" => 1,
            "test" => 2,
            _ => 3,
        };
        (rank, b.target.clone())
    });
    let original = &hook.commands[0];
    // cargo puts its directories before the path it was given; the hook's own wins
    // over cargo-tek's.
    let inherited = original
        .env
        .get(DYLIB_PATH)
        .or_else(|| hook.env.get(DYLIB_PATH))
        .map(String::as_str)
        .or(inherited_dylib_path);
    let commands = binaries
        .iter()
        .map(|binary| {
            let mut cmd = vec![binary.executable.to_string_lossy().into_owned()];
            cmd.extend(split.test_args.iter().cloned());
            let mut env = env.clone();
            if let Some(cargo) = &artifacts.cargo {
                env.insert("CARGO".to_owned(), cargo.clone());
            }
            env.extend(original.env.clone());
            env.insert(
                DYLIB_PATH.to_owned(),
                dylib_path(binary, artifacts, inherited),
            );
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

/// The variable of the dynamic loader's search path, as cargo sets it.
pub(crate) const DYLIB_PATH: &str = if cfg!(target_os = "macos") {
    "DYLD_FALLBACK_LIBRARY_PATH"
} else {
    "LD_LIBRARY_PATH"
};

/// The dynamic library path cargo gives `binary`: build scripts' native search paths
/// inside the target dir, the profile and `deps` directories the executable is in, the
/// sysroot's library directory (proc-macro crates' tests link `libstd` dynamically),
/// then the path cargo was given.
fn dylib_path(binary: &TestBinary, artifacts: &Artifacts, inherited: Option<&str>) -> String {
    let deps = binary.executable.parent().map(Path::to_path_buf);
    let profile = deps
        .as_deref()
        .and_then(Path::parent)
        .map(Path::to_path_buf);
    let target_dir = profile.as_deref().and_then(Path::parent);
    let mut dirs: Vec<PathBuf> = artifacts
        .native_dirs
        .iter()
        .filter(|d| target_dir.is_some_and(|t| d.starts_with(t)))
        .cloned()
        .collect();
    dirs.extend(profile);
    dirs.extend(deps);
    dirs.extend(artifacts.target_libdir.clone());
    let mut parts: Vec<String> = dirs
        .iter()
        .map(|d| d.to_string_lossy().into_owned())
        .collect();
    parts.extend(
        inherited
            .into_iter()
            .flat_map(|p| p.split(':'))
            .filter(|p| !p.is_empty())
            .map(str::to_owned),
    );
    parts.dedup();
    parts.join(":")
}

/// What cargo sets for a test it runs (measured against `cargo test`, which sets no
/// `CARGO_CRATE_NAME` for a test's run): the package's facts from `cargo metadata`,
/// and its build script's `OUT_DIR` and `rustc-env` variables from cargo's messages.
fn package_env(package: &PackageInfo, dir: &Path) -> BTreeMap<String, String> {
    let version = cargo_metadata::semver::Version::parse(&package.version).ok();
    let part = |f: fn(&cargo_metadata::semver::Version) -> String| {
        version.as_ref().map(f).unwrap_or_default()
    };
    let mut env: BTreeMap<String, String> = package.build_env.iter().cloned().collect();
    if let Some(out_dir) = &package.out_dir {
        env.insert("OUT_DIR".into(), out_dir.to_string_lossy().into_owned());
    }
    let facts = [
        ("CARGO_MANIFEST_DIR", dir.to_string_lossy().into_owned()),
        (
            "CARGO_MANIFEST_PATH",
            package.manifest_path.to_string_lossy().into_owned(),
        ),
        ("CARGO_PKG_NAME", package.name.clone()),
        ("CARGO_PKG_VERSION", package.version.clone()),
        ("CARGO_PKG_VERSION_MAJOR", part(|v| v.major.to_string())),
        ("CARGO_PKG_VERSION_MINOR", part(|v| v.minor.to_string())),
        ("CARGO_PKG_VERSION_PATCH", part(|v| v.patch.to_string())),
        ("CARGO_PKG_VERSION_PRE", part(|v| v.pre.to_string())),
        ("CARGO_PKG_AUTHORS", package.authors.join(":")),
        ("CARGO_PKG_DESCRIPTION", package.description.clone()),
        ("CARGO_PKG_HOMEPAGE", package.homepage.clone()),
        ("CARGO_PKG_REPOSITORY", package.repository.clone()),
        ("CARGO_PKG_README", package.readme.clone()),
        ("CARGO_PKG_LICENSE", package.license.clone()),
        ("CARGO_PKG_LICENSE_FILE", package.license_file.clone()),
        ("CARGO_PKG_RUST_VERSION", package.rust_version.clone()),
    ];
    env.extend(facts.into_iter().map(|(k, v)| (k.to_owned(), v)));
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifacts() -> Artifacts {
        let info = PackageInfo {
            name: "grep-cli".into(),
            version: "0.1.11".into(),
            manifest_path: "/ws/crates/cli/Cargo.toml".into(),
            out_dir: Some("/ws/target/debug/build/grep-cli-1/out".into()),
            build_env: vec![("FROM_BUILD".into(), "yes".into())],
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
            native_dirs: vec![
                "/ws/target/debug/build/x-1/out/lib".into(),
                "/usr/lib/x".into(),
            ],
            target_libdir: Some("/sysroot/lib/rustlib/host/lib".into()),
            cargo: Some("/bin/cargo".into()),
            ..Artifacts::default()
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
        let out = rewrite(
            &hook,
            &split,
            &artifacts(),
            Path::new("/ws"),
            Some("/opt/lib"),
        )
        .unwrap();
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
        // cargo's library path: native dirs inside the target dir, the profile and deps
        // dirs, the sysroot's, then the one it was given.
        assert_eq!(
            first.env[DYLIB_PATH],
            "/ws/target/debug/build/x-1/out/lib:/ws/target/debug:/ws/target/debug/deps:/sysroot/lib/rustlib/host/lib:/opt/lib"
        );
        assert_eq!(
            first.env["OUT_DIR"],
            "/ws/target/debug/build/grep-cli-1/out"
        );
        assert_eq!(first.env["FROM_BUILD"], "yes");
        assert_eq!(first.env["CARGO"], "/bin/cargo");
        assert!(
            !first.env.contains_key("CARGO_CRATE_NAME"),
            "cargo sets it for rustc only"
        );
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
        let err = rewrite(&hook, &split, &artifacts(), Path::new("/ws"), None).unwrap_err();
        assert!(
            err.contains("`nope` is not a member") && err.contains("grep-cli"),
            "{err}"
        );
    }
}
