//! The new-warnings gate: a task's warnings compared with those a baseline run recorded
//! for the same task, so that a workspace with hundreds of existing warnings can still
//! fail on the ones a change adds.
//!
//! Warnings are matched by lint code, message and file, counted (two identical warnings
//! in a file are two): line numbers move with every edit above them, so they do not
//! count. The baseline is `--baseline DIR` (a run directory, or a runs directory whose
//! newest run is taken), else the newest earlier run in the same runs directory that
//! recorded the task's warnings.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::evidence::cargo::{Finding, WarningGate};
use crate::evidence::{load_run, run_dir, LoadedRun};

/// Earlier runs looked through for a task's warnings when no `--baseline` is given.
const RUNS_SEARCHED: usize = 20;

/// One run's recorded warnings, per task.
#[derive(Debug, Clone)]
struct Recorded {
    run: String,
    tasks: HashMap<String, Vec<Finding>>,
}

impl Recorded {
    fn of(run: &LoadedRun) -> Self {
        Recorded {
            run: run
                .dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            tasks: run
                .record
                .results
                .iter()
                .filter_map(|r| {
                    let cargo = r.cargo.as_ref().filter(|c| c.warnings_recorded)?;
                    let warnings = cargo
                        .findings
                        .iter()
                        .filter(|f| f.level == "warning")
                        .cloned()
                        .collect();
                    Some((r.task.clone(), warnings))
                })
                .collect(),
        }
    }
}

/// Where a run's baseline comes from; earlier runs are read once, when a task first
/// asks.
#[derive(Debug, Default)]
pub(crate) struct Baselines {
    /// `--baseline`, already loaded.
    given: Option<Recorded>,
    /// The runs directory searched otherwise, and this run's own directory (skipped).
    search: Option<(PathBuf, PathBuf)>,
    found: OnceLock<Vec<Recorded>>,
}

impl Baselines {
    /// The baseline named by `--baseline`: a run directory, or a runs directory whose
    /// newest readable run is taken. An error says what is wrong with it.
    pub(crate) fn given(dir: &Path) -> Result<Self, String> {
        let run = match load_run(dir) {
            Ok(run) if dir.join(crate::evidence::RUN_JSON).is_file() => run,
            _ => run_dir::newest_readable(dir).0.ok_or_else(|| {
                format!(
                    "`--baseline {}` is neither a run directory (with run.json) nor a runs directory holding one",
                    dir.display()
                )
            })?,
        };
        Ok(Baselines {
            given: Some(Recorded::of(&run)),
            ..Baselines::default()
        })
    }

    /// Earlier runs in `runs_dir`, other than `this_run`.
    pub(crate) fn earlier(runs_dir: &Path, this_run: &Path) -> Self {
        Baselines {
            search: Some((runs_dir.to_path_buf(), this_run.to_path_buf())),
            ..Baselines::default()
        }
    }

    /// The baseline warnings of `task` and the run they come from.
    fn of(&self, task: &str) -> Option<(&str, &[Finding])> {
        let runs: &[Recorded] = match &self.given {
            Some(given) => std::slice::from_ref(given),
            None => self.found.get_or_init(|| self.read_earlier()),
        };
        runs.iter()
            .find_map(|r| Some((r.run.as_str(), r.tasks.get(task)?.as_slice())))
    }

    fn read_earlier(&self) -> Vec<Recorded> {
        let Some((runs_dir, this_run)) = &self.search else {
            return Vec::new();
        };
        run_dir::newest_first(runs_dir)
            .into_iter()
            .filter(|dir| dir.file_name() != this_run.file_name())
            .take(RUNS_SEARCHED)
            .filter_map(|dir| load_run(&dir).ok())
            .filter(|run| !run.incomplete)
            .map(|run| Recorded::of(&run))
            .filter(|r| !r.tasks.is_empty())
            .collect()
    }

    /// Marks `findings`' warnings that the baseline of `task` lacks as `new`, and says
    /// what was compared.
    pub(crate) fn judge(&self, task: &str, findings: &mut [Finding]) -> WarningGate {
        let Some((run, base)) = self.of(task) else {
            return WarningGate {
                note: Some(
                    "no baseline run recorded this task's warnings: nothing to compare with (this run is the baseline for the next)"
                        .into(),
                ),
                ..WarningGate::default()
            };
        };
        let mut left: HashMap<Key, usize> = HashMap::new();
        for f in base {
            *left.entry(key(f)).or_default() += 1;
        }
        let mut new_warnings = 0;
        for f in findings.iter_mut().filter(|f| f.level == "warning") {
            match left.get_mut(&key(f)) {
                Some(n) if *n > 0 => *n -= 1,
                _ => {
                    f.new = true;
                    new_warnings += 1;
                }
            }
        }
        WarningGate {
            baseline: Some(run.to_owned()),
            new_warnings,
            note: None,
        }
    }
}

/// What makes two warnings the same one: code, message, file.
type Key = (Option<String>, String, Option<String>);

fn key(f: &Finding) -> Key {
    (f.code.clone(), f.message.clone(), f.file.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warning(code: &str, message: &str, file: &str, line: u32) -> Finding {
        Finding {
            level: "warning".into(),
            code: Some(code.into()),
            message: message.into(),
            file: Some(file.into()),
            line: Some(line),
            ..Finding::default()
        }
    }

    #[test]
    fn only_warnings_beyond_the_baselines_count_are_new() {
        let base = Baselines {
            given: Some(Recorded {
                run: "r1".into(),
                tasks: HashMap::from([(
                    "T".to_owned(),
                    vec![warning(
                        "unused_variables",
                        "unused variable: `x`",
                        "a.rs",
                        3,
                    )],
                )]),
            }),
            ..Baselines::default()
        };
        let mut now = vec![
            // Moved down by an edit: still the old warning.
            warning("unused_variables", "unused variable: `x`", "a.rs", 9),
            warning("unused_variables", "unused variable: `x`", "a.rs", 12),
            warning("dead_code", "function `f` is never used", "a.rs", 20),
            Finding {
                level: "error".into(),
                ..Finding::default()
            },
        ];
        let gate = base.judge("T", &mut now);
        assert_eq!(gate.baseline.as_deref(), Some("r1"));
        assert_eq!(gate.new_warnings, 2);
        let new: Vec<bool> = now.iter().map(|f| f.new).collect();
        assert_eq!(new, [false, true, true, false]);
        let other = base.judge("U", &mut now[..1]);
        assert_eq!((other.new_warnings, other.baseline), (0, None));
        assert!(other.note.unwrap().contains("no baseline"));
    }
}
