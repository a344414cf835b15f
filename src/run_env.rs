//! The settings every job of a run shares, decided once by the command that starts the
//! run: below the agents and compile-once, which both read them.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use crate::supervise::env::BaseEnv;

/// Settings shared by every job of a run.
#[derive(Debug)]
pub(crate) struct RunEnv {
    /// This binary, passed to tasks as `CARGO_TEK`.
    pub(crate) tek_exe: OsString,
    /// The run directory; logs go under `logs/`.
    pub(crate) run_dir: PathBuf,
    /// cargo-tek's environment, scrubbed once for the run.
    pub(crate) base_env: BaseEnv,
    /// `--timeout`: applies when neither command nor hook sets one.
    pub(crate) default_timeout: Option<Duration>,
    pub(crate) grace: Duration,
    pub(crate) dry_run: bool,
    /// Where commands may run: the root and manifest.json's `allowed_cwds`, resolved once.
    pub(crate) cwd_bounds: crate::cwd::Bounds,
    /// `--color` as given to cargo-tek, passed on to child cargo commands as
    /// `CARGO_TERM_COLOR` (None: the task inherits whatever the environment says).
    pub(crate) color: Option<&'static str>,
    /// What `fail_on_new_warnings` hooks compare with.
    pub(crate) baselines: crate::cargo::baseline::Baselines,
}
