//! The `cargo` agent: runs a hook's commands exactly as `shell` does (same supervision,
//! same logs), and for the cargo commands it understands reads what cargo said. build,
//! check, clippy, doc and test get `--message-format=json-diagnostic-rendered-ansi`,
//! `cargo nextest run` its libtest-json events (and a hook with `"nextest": true` has
//! its `cargo test` run by nextest when installed);
//! their stdout and stderr go, in order, into one file (`…cmdN.cargo.log`), from which
//! the command's log gets the human-readable text and run.json the findings and one
//! outcome per test. A hook with `fail_on_new_warnings` fails on warnings its baseline
//! run did not have.
//!
//! Chosen for a hook whose commands run cargo, unless the hook (or its queue or layer)
//! names another agent.

use std::ffi::OsString;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::shell::{self, Around, Streams};
use super::{Agent, BoxFuture, Job, Outcome};
use crate::cargo::command::{self, Kind};
use crate::cargo::findings::Places;
use crate::cargo::messages::{self, Reading};
use crate::cargo::nextest;
use crate::evidence::cargo::CargoEvidence;
use crate::evidence::{beneath, logs, CommandRecord, TaskStatus};

/// Runs cargo commands and reads their messages.
pub(crate) struct CargoAgent;

impl Agent for CargoAgent {
    fn name(&self) -> &'static str {
        "cargo"
    }

    fn run(&self, job: Job) -> BoxFuture<'_, Outcome> {
        Box::pin(run(job))
    }
}

async fn run(job: Job) -> Outcome {
    let hook = job.hook.clone();
    let gate = hook.as_ref().is_some_and(|h| h.fail_on_new_warnings);
    let env = job.env.clone();
    let mut reader = Reader {
        warnings: gate || hook.as_ref().is_some_and(|h| h.warnings),
        color: env.color == Some("always"),
        nextest: hook.as_ref().is_some_and(|h| h.nextest) && which::which("cargo-nextest").is_ok(),
        root: env.cwd_bounds.root().to_path_buf(),
        kind: Kind::Other,
        quiet: false,
        pending: None,
        evidence: None,
    };
    let task = job.task.id.clone();
    let mut outcome = shell::run(job, &mut reader).await;
    let Some(mut evidence) = reader.evidence else {
        return outcome;
    };
    evidence.warnings_recorded = reader.warnings;
    if gate && !env.dry_run {
        let verdict = env.baselines.judge(&task, &mut evidence.findings);
        if verdict.new_warnings > 0 && outcome.status.is_success() {
            let first = evidence.findings.iter().find(|f| f.new);
            let at = first
                .and_then(|f| {
                    Some(format!(
                        " (first: {} at {}:{})",
                        f.message,
                        f.file.as_ref()?,
                        f.line?
                    ))
                })
                .unwrap_or_default();
            outcome.status = TaskStatus::Error;
            outcome.reason = Some(format!(
                "{} compared with run {}{at}",
                crate::text::count(verdict.new_warnings, "new warning", "new warnings"),
                verdict.baseline.as_deref().unwrap_or("?"),
            ));
        }
        evidence.gate = Some(verdict);
    }
    outcome.cargo = Some(Box::new(evidence));
    outcome
}

/// What the agent adds around each command.
struct Reader {
    warnings: bool,
    color: bool,
    /// The hook prefers nextest and it is installed.
    nextest: bool,
    root: PathBuf,
    /// The kind of the command about to run.
    kind: Kind,
    /// It asked cargo to be quiet.
    quiet: bool,
    /// The command running: its raw output file, its log, its directory.
    pending: Option<(String, String, PathBuf)>,
    /// Set once a cargo command with messages has run.
    evidence: Option<CargoEvidence>,
}

impl Around for Reader {
    fn argv(&mut self, argv: Vec<String>) -> Vec<String> {
        let argv = match self.nextest.then(|| command::as_nextest(&argv)).flatten() {
            Some(nextest) => nextest,
            None => argv,
        };
        let (kind, spawned) = command::prepare(&argv);
        self.kind = kind;
        self.quiet = command::quiet(&argv);
        spawned
    }

    fn env(&self) -> Vec<(&'static str, OsString)> {
        match self.kind {
            Kind::Nextest => vec![(nextest::ENABLE.0, nextest::ENABLE.1.into())],
            _ => Vec::new(),
        }
    }

    fn streams(
        &mut self,
        run_dir: &Path,
        dir: &Path,
        out: &str,
        err: &str,
    ) -> std::io::Result<Streams> {
        if self.kind == Kind::Other {
            let (stdout, stderr) = logs::create_pair(run_dir, (out, err))?;
            return Ok(Streams {
                stdout,
                stderr,
                log: Some(out.to_owned()),
                stderr_log: Some(err.to_owned()),
            });
        }
        // One file for both streams, so cargo's `Running` lines stay before the output
        // of the test binary they announce.
        let raw_rel = raw_path(out);
        let raw = beneath::create(run_dir, &raw_rel)?;
        let stderr = raw.try_clone()?;
        self.pending = Some((raw_rel, out.to_owned(), dir.to_path_buf()));
        Ok(Streams {
            stdout: raw,
            stderr,
            log: Some(out.to_owned()),
            stderr_log: None,
        })
    }

    fn ended(&mut self, run_dir: &Path, _: &mut CommandRecord) {
        let Some((raw_rel, out, dir)) = self.pending.take() else {
            return;
        };
        let how = Reading {
            kind: self.kind,
            warnings: self.warnings,
            color: self.color,
            quiet: self.quiet,
            places: Places {
                root: self.root.clone(),
                cwd: dir,
            },
        };
        let evidence = self.evidence.get_or_insert_with(CargoEvidence::default);
        let Ok(log) = beneath::create(run_dir, &out) else {
            return;
        };
        let mut log = BufWriter::new(log);
        let said = beneath::open(run_dir, &raw_rel)
            .map_err(|e| std::io::Error::other(e.to_string()))
            .and_then(|raw| messages::read(BufReader::new(raw), &mut log, &how));
        match said {
            Ok(said) => {
                evidence.findings.extend(said.findings);
                evidence.tests.extend(said.tests);
                evidence.findings_dropped += said.dropped;
                evidence.compiled.extend(said.compiled);
                evidence.compiled.sort_unstable();
                evidence.compiled.dedup();
            }
            Err(e) => {
                let _ = writeln!(
                    log,
                    "cargo-tek: could not read cargo's output in `{raw_rel}`: {e}"
                );
            }
        }
        let _ = log.flush();
    }
}

/// `logs/T/attempt1-cmd1.stdout.log` → `logs/T/attempt1-cmd1.cargo.log`.
fn raw_path(out: &str) -> String {
    match out.strip_suffix(".stdout.log") {
        Some(base) => format!("{base}.cargo.log"),
        None => format!("{out}.cargo"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_raw_file_sits_beside_the_log() {
        assert_eq!(
            super::raw_path("logs/T/attempt1-cmd2.stdout.log"),
            "logs/T/attempt1-cmd2.cargo.log"
        );
    }
}
