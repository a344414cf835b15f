//! The shared compile: `cargo test --workspace --no-run --message-format=json-render-diagnostics`
//! at the workspace root, supervised like any task command, its JSON messages kept in
//! the run directory and read back for the test executables (cargo_metadata's
//! `Artifact` messages), with `cargo metadata` for what cargo tells each test about its
//! package.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cargo_metadata::{Message, MetadataCommand};
use tokio::sync::watch;

use crate::agent::RunEnv;
use crate::evidence::{logs, CommandRecord};
use crate::supervise::{env::task_env, process, Cancel};

/// Where the compile's logs go in the run directory. `%` starts no folder a task id
/// could be given (see `logs::folder_name`).
pub const LOG_DIR: &str = "logs/%compile-once";

/// One test executable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestBinary {
    /// The target's name (`grep_cli`, `integration`).
    pub target: String,
    /// `lib`, `bin`, `test`, `example`, `bench`.
    pub kind: String,
    pub executable: PathBuf,
}

/// A workspace member, as cargo describes it to its tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageInfo {
    pub name: String,
    pub version: String,
    pub manifest_path: PathBuf,
    pub authors: Vec<String>,
    pub description: String,
    pub homepage: String,
    pub repository: String,
    pub license: String,
    pub rust_version: String,
}

/// What the compile built: each member's test executables.
#[derive(Debug, Clone, Default)]
pub struct Artifacts {
    pub packages: HashMap<String, (PackageInfo, Vec<TestBinary>)>,
}

/// The compile as it ran, and what it built (or why it failed).
#[derive(Debug, Clone)]
pub struct Compiled {
    pub record: CommandRecord,
    pub result: Result<Arc<Artifacts>, String>,
}

/// Runs the shared compile in `root` with `flags` (`--locked`, ...).
pub async fn compile(
    root: PathBuf,
    flags: Vec<String>,
    env: Arc<RunEnv>,
    mut cancel: watch::Receiver<Cancel>,
) -> Compiled {
    let mut argv: Vec<String> = [
        "cargo",
        "test",
        "--workspace",
        "--no-run",
        "--message-format=json-render-diagnostics",
    ]
    .map(String::from)
    .to_vec();
    argv.extend(flags);
    let (out, err) = (
        format!("{LOG_DIR}/cmd1.stdout.log"),
        format!("{LOG_DIR}/cmd1.stderr.log"),
    );
    let mut record = CommandRecord {
        cmd: argv.clone(),
        cwd: ".".into(),
        rc: None,
        log: Some(out.clone()),
        stderr_log: Some(err.clone()),
        signal: None,
        duration_ms: 0,
        timed_out: false,
        leaked: false,
        leaked_pids: Vec::new(),
        error: None,
        env: Vec::new(),
        timeout_ms: env.default_timeout.map(|t| t.as_millis() as u64),
        continue_on_error: false,
    };
    let fail = |mut record: CommandRecord, why: String| {
        record.error.get_or_insert_with(|| why.clone());
        Compiled {
            record,
            result: Err(why),
        }
    };
    let (stdout, stderr) = match logs::create_pair(&env.run_dir, (&out, &err)) {
        Ok(files) => files,
        Err(e) => return fail(record, format!("failed to create `{out}`: {e}")),
    };
    let mut extra: Vec<(&str, OsString)> = vec![("CARGO_TEK", env.tek_exe.clone())];
    if let Some(color) = env.color {
        extra.push(("CARGO_TERM_COLOR", color.into()));
    }
    // The root, entered through the handle opened when the run began (see `cwd`).
    let opened = match env.cwd_bounds.open(".") {
        Ok(opened) => opened,
        Err(e) => return fail(record, e.to_string()),
    };
    let spawn = process::Spawn {
        argv,
        cwd: root.clone(),
        dir: opened.dir,
        env: task_env(&env.base_env, &[], &[], &extra),
        timeout: env.default_timeout,
        grace: env.grace,
        stdout,
        stderr,
        // cargo-tek's own shared compile, not a hook: the tasks that run its test
        // binaries get their hooks' sandbox.
        confine: None,
    };
    let exit = process::run(spawn, &mut cancel).await;
    record.rc = exit.rc;
    record.signal = exit.signal.map(process::signal_name);
    record.duration_ms = exit.duration.as_millis() as u64;
    record.timed_out = exit.timed_out;
    record.error = exit.spawn_error.clone();
    if !exit.success() {
        let why = match (&exit.spawn_error, exit.rc) {
            (Some(e), _) => e.clone(),
            _ if exit.cancelled => "cancelled".into(),
            _ if exit.timed_out => "timed out".into(),
            (None, Some(rc)) => format!("exited with {rc}"),
            (None, None) => "was killed".into(),
        };
        return fail(record, format!("the workspace test compile {why}"));
    }
    let stdout_path = env.run_dir.join(&out);
    let artifacts = tokio::task::spawn_blocking(move || read(&root, &stdout_path)).await;
    match artifacts {
        Ok(Ok(artifacts)) => Compiled {
            record,
            result: Ok(Arc::new(artifacts)),
        },
        Ok(Err(why)) => fail(record, why),
        Err(e) => fail(record, format!("reading the compile's output failed: {e}")),
    }
}

/// Reads the test executables from the compile's JSON messages, grouped by member.
fn read(root: &Path, messages: &Path) -> Result<Artifacts, String> {
    let metadata = MetadataCommand::new()
        .no_deps()
        .current_dir(root)
        .exec()
        .map_err(|e| format!("`cargo metadata` failed: {e}"))?;
    let mut artifacts = Artifacts::default();
    let mut names = HashMap::new();
    for package in metadata.workspace_packages() {
        let info = PackageInfo {
            name: package.name.to_string(),
            version: package.version.to_string(),
            manifest_path: package.manifest_path.clone().into(),
            authors: package.authors.clone(),
            description: package.description.clone().unwrap_or_default(),
            homepage: package.homepage.clone().unwrap_or_default(),
            repository: package.repository.clone().unwrap_or_default(),
            license: package.license.clone().unwrap_or_default(),
            rust_version: package
                .rust_version
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        };
        names.insert(package.id.clone(), info.name.clone());
        artifacts
            .packages
            .insert(info.name.clone(), (info, Vec::new()));
    }
    let file = std::fs::File::open(messages)
        .map_err(|e| format!("failed to read `{}`: {e}", messages.display()))?;
    for message in Message::parse_stream(std::io::BufReader::new(file)) {
        let message = message.map_err(|e| format!("failed to read cargo's messages: {e}"))?;
        let Message::CompilerArtifact(artifact) = message else {
            continue;
        };
        let (Some(executable), true) = (&artifact.executable, artifact.profile.test) else {
            continue;
        };
        let Some(name) = names.get(&artifact.package_id) else {
            continue;
        };
        if let Some((_, binaries)) = artifacts.packages.get_mut(name) {
            binaries.push(TestBinary {
                target: artifact.target.name.clone(),
                kind: artifact
                    .target
                    .kind
                    .first()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                executable: executable.clone().into(),
            });
        }
    }
    Ok(artifacts)
}
