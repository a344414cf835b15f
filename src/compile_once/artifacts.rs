//! What the shared compile built, read back from cargo's own JSON messages and
//! `cargo metadata`: each member's test executables (`compiler-artifact` with an
//! `executable`), what its build script left for its tests (`build-script-executed`:
//! `out_dir`, `rustc-env` variables, native search paths), the sysroot's library
//! directory, and, when the compile failed, which packages did not compile (their
//! first error), which members cannot be tested because they depend on one of those
//! (cargo metadata's resolve graph), and which were left unbuilt for another reason.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use cargo_metadata::{DependencyKind, Message, Metadata, MetadataCommand, PackageId};

use crate::cargo::findings::{finding, Places};
use crate::evidence::cargo::Finding;

/// One test executable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TestBinary {
    /// The target's name (`grep_cli`, `integration`).
    pub(crate) target: String,
    /// `lib`, `proc-macro`, `bin`, `test`, `example`, `bench`.
    pub(crate) kind: String,
    pub(crate) executable: PathBuf,
}

impl TestBinary {
    /// Its name in the evidence, as the cargo agent names it: `lib` for the library's
    /// unit tests, else the target's name.
    pub(crate) fn name(&self) -> String {
        crate::cargo::messages::binary_name(std::slice::from_ref(&self.kind), &self.target)
    }
}

/// A workspace member, as cargo describes it to its tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PackageInfo {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) manifest_path: PathBuf,
    pub(crate) authors: Vec<String>,
    pub(crate) description: String,
    pub(crate) homepage: String,
    pub(crate) repository: String,
    pub(crate) readme: String,
    pub(crate) license: String,
    pub(crate) license_file: String,
    pub(crate) rust_version: String,
    /// Its build script's `OUT_DIR`, when it has one that ran.
    pub(crate) out_dir: Option<PathBuf>,
    /// The variables its build script set with `cargo::rustc-env`.
    pub(crate) build_env: Vec<(String, String)>,
}

/// A package that did not compile.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Broken {
    pub(crate) package: String,
    /// Its errors (rustc's closing counts left out).
    pub(crate) errors: usize,
    /// The first, with its file relative to the workspace root.
    pub(crate) first: Finding,
}

/// What the compile built: each member's test executables, and what did not build.
#[derive(Debug, Clone, Default)]
pub(crate) struct Artifacts {
    pub(crate) packages: HashMap<String, (PackageInfo, Vec<TestBinary>)>,
    /// Build scripts' native search paths inside the target dir: cargo puts them first
    /// on a test's dynamic library path.
    pub(crate) native_dirs: Vec<PathBuf>,
    /// The sysroot's library directory for the host (`rustc --print target-libdir`),
    /// where `libstd-….so` is for proc-macro crates' tests.
    pub(crate) target_libdir: Option<PathBuf>,
    /// The `cargo` cargo tells its tests about (`CARGO`).
    pub(crate) cargo: Option<String>,
    /// Packages that did not compile, by name.
    pub(crate) broken: BTreeMap<String, Broken>,
    /// Members whose tests cannot build: the broken package each depends on.
    pub(crate) blocked: BTreeMap<String, String>,
    /// Members neither broken nor blocked whose test executables are not all there (the
    /// compile failed before it got to them).
    pub(crate) incomplete: BTreeSet<String>,
}

/// What the messages said, by package id.
#[derive(Default)]
struct Said {
    binaries: HashMap<PackageId, Vec<TestBinary>>,
    libs_built: HashSet<PackageId>,
    scripts: HashMap<PackageId, (PathBuf, Vec<(String, String)>)>,
    native_dirs: Vec<PathBuf>,
    /// Distinct errors: a file compiled for the library and its tests says it twice.
    errors: HashMap<PackageId, Vec<Finding>>,
}

/// Reads the compile's messages in `messages`; `failed` says the compile failed, so
/// that what did not build is worked out too (with the full `cargo metadata`, run with
/// `flags`).
pub(super) fn read(
    root: &Path,
    messages: &Path,
    failed: bool,
    flags: &[String],
    rustc: Option<OsString>,
) -> Result<Artifacts, String> {
    let said = said(root, messages)?;
    let mut command = MetadataCommand::new();
    command.current_dir(root).other_options(flags.to_vec());
    if !failed {
        command.no_deps();
    }
    let metadata = command
        .exec()
        .map_err(|e| format!("`cargo metadata` failed: {e}"))?;
    let mut artifacts = Artifacts {
        native_dirs: said.native_dirs.clone(),
        target_libdir: target_libdir(root, rustc),
        cargo: which::which("cargo")
            .ok()
            .map(|p| p.to_string_lossy().into_owned()),
        ..Artifacts::default()
    };
    for package in metadata.workspace_packages() {
        let script = said.scripts.get(&package.id);
        let info = PackageInfo {
            name: package.name.to_string(),
            version: package.version.to_string(),
            manifest_path: package.manifest_path.clone().into(),
            authors: package.authors.clone(),
            description: package.description.clone().unwrap_or_default(),
            homepage: package.homepage.clone().unwrap_or_default(),
            repository: package.repository.clone().unwrap_or_default(),
            readme: package
                .readme
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            license: package.license.clone().unwrap_or_default(),
            license_file: package
                .license_file
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            rust_version: package
                .rust_version
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            out_dir: script.map(|(dir, _)| dir.clone()),
            build_env: script.map(|(_, env)| env.clone()).unwrap_or_default(),
        };
        let binaries = said.binaries.get(&package.id).cloned().unwrap_or_default();
        artifacts
            .packages
            .insert(info.name.clone(), (info, binaries));
    }
    if failed {
        what_did_not_build(&metadata, &said, &mut artifacts);
    }
    Ok(artifacts)
}

/// Reads cargo's messages.
fn said(root: &Path, messages: &Path) -> Result<Said, String> {
    let file = std::fs::File::open(messages)
        .map_err(|e| format!("failed to read `{}`: {e}", messages.display()))?;
    let places = Places {
        root: root.to_path_buf(),
        cwd: root.to_path_buf(),
    };
    let mut said = Said::default();
    for message in Message::parse_stream(std::io::BufReader::new(file)) {
        let message = message.map_err(|e| format!("failed to read cargo's messages: {e}"))?;
        match message {
            Message::CompilerArtifact(artifact) => {
                let kinds: Vec<String> =
                    artifact.target.kind.iter().map(|k| k.to_string()).collect();
                let lib = kinds.iter().any(|k| crate::cargo::messages::is_lib(k));
                if lib && !artifact.profile.test {
                    said.libs_built.insert(artifact.package_id.clone());
                }
                let (Some(executable), true) = (&artifact.executable, artifact.profile.test) else {
                    continue;
                };
                let binaries = said
                    .binaries
                    .entry(artifact.package_id.clone())
                    .or_default();
                if !binaries.iter().any(|b| b.executable == *executable) {
                    binaries.push(TestBinary {
                        target: artifact.target.name.clone(),
                        kind: kinds.first().cloned().unwrap_or_default(),
                        executable: executable.clone().into(),
                    });
                }
            }
            Message::BuildScriptExecuted(script) => {
                for path in &script.linked_paths {
                    // `native=/p`, `all=/p`, or a bare path; `framework=` and
                    // `crate=`/`dependency=` are not for the dynamic loader.
                    let text = path.as_str();
                    let dir = match text.split_once('=') {
                        Some(("native" | "all", dir)) => dir,
                        Some(_) => continue,
                        None => text,
                    };
                    let dir = PathBuf::from(dir);
                    if !said.native_dirs.contains(&dir) {
                        said.native_dirs.push(dir);
                    }
                }
                said.scripts.insert(
                    script.package_id.clone(),
                    (script.out_dir.clone().into(), script.env.clone()),
                );
            }
            Message::CompilerMessage(m) => {
                let Some(f) = finding(&m.message, false, &places) else {
                    continue;
                };
                let errors = said.errors.entry(m.package_id.clone()).or_default();
                if !errors.contains(&f) {
                    errors.push(f);
                }
            }
            _ => {}
        }
    }
    Ok(said)
}

/// With a failed compile: the broken packages, the members that depend on one, and the
/// members whose test executables are not all there.
fn what_did_not_build(metadata: &Metadata, said: &Said, artifacts: &mut Artifacts) {
    let name = |id: &PackageId| {
        metadata.packages.iter().find(|p| p.id == *id).map_or_else(
            || crate::cargo::messages::package_name(&id.repr),
            |p| p.name.to_string(),
        )
    };
    for (id, errors) in &said.errors {
        let (package, Some(first)) = (name(id), errors.first()) else {
            continue;
        };
        artifacts.broken.insert(
            package.clone(),
            Broken {
                package,
                errors: errors.len(),
                first: first.clone(),
            },
        );
    }
    // A package is in the way when it reported errors and its library did not build.
    let in_the_way: HashSet<&PackageId> = said
        .errors
        .keys()
        .filter(|id| !said.libs_built.contains(*id))
        .collect();
    let nodes: HashMap<&PackageId, &cargo_metadata::Node> = metadata
        .resolve
        .iter()
        .flat_map(|r| r.nodes.iter())
        .map(|n| (&n.id, n))
        .collect();
    for member in metadata.workspace_packages() {
        let own = name(&member.id);
        if artifacts.broken.contains_key(&own) {
            continue;
        }
        if let Some(broken) = first_broken_dependency(&member.id, &nodes, &in_the_way) {
            artifacts.blocked.insert(own, name(broken));
            continue;
        }
        // Every target `cargo test` tests by default must have its executable.
        let built = said.binaries.get(&member.id);
        let missing = member
            .targets
            .iter()
            .filter(|t| t.test)
            .any(|t| !built.is_some_and(|bins| bins.iter().any(|b| b.target == t.name)));
        if missing {
            artifacts.incomplete.insert(own);
        }
    }
}

/// The first package in the way that `member` depends on: through any of its own
/// dependencies (dev-dependencies too: its tests need them), then through the normal
/// and build dependencies of those.
fn first_broken_dependency<'a>(
    member: &'a PackageId,
    nodes: &HashMap<&'a PackageId, &'a cargo_metadata::Node>,
    in_the_way: &HashSet<&PackageId>,
) -> Option<&'a PackageId> {
    let mut seen: HashSet<&PackageId> = HashSet::from([member]);
    let mut queue: VecDeque<(&PackageId, bool)> = VecDeque::from([(member, true)]);
    while let Some((id, own)) = queue.pop_front() {
        let Some(node) = nodes.get(id) else { continue };
        for dep in &node.deps {
            let followed = own
                || dep
                    .dep_kinds
                    .iter()
                    .any(|k| k.kind != DependencyKind::Development);
            if !followed || !seen.insert(&dep.pkg) {
                continue;
            }
            if in_the_way.contains(&dep.pkg) {
                return Some(&dep.pkg);
            }
            queue.push_back((&dep.pkg, false));
        }
    }
    None
}

/// The host's sysroot library directory, from the rustc cargo would use (`RUSTC`, else
/// `rustc` as found from the workspace root, so a `rust-toolchain.toml` applies).
fn target_libdir(root: &Path, rustc: Option<OsString>) -> Option<PathBuf> {
    let out = std::process::Command::new(rustc.unwrap_or_else(|| "rustc".into()))
        .args(["--print", "target-libdir"])
        .current_dir(root)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let dir = String::from_utf8(out.stdout).ok()?;
    let dir = dir.trim();
    (out.status.success() && !dir.is_empty()).then(|| PathBuf::from(dir))
}
