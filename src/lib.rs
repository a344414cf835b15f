//! cargo-tek: a task runner for Rust workspaces in CI.
//!
//! A workspace keeps its source of truth in Markdown (`sot.md`): queues of tasks with ids
//! like `TASK-001`. `config/hooks.json` says which commands a task or queue runs and
//! `config/manifest.json` sets layers, agents and queue ordering. This library turns that
//! into a plan (`plan`), runs it under supervision (`runner`), records evidence
//! (`evidence`) and renders it for reviewers (`report`, `github`).
//!
//! The binary is a thin shell over [`run_cli`]; everything here returns values or sends
//! events and never prints, except `output`, the one place that writes to the terminal.
//! The modules are private to the crate (see docs/ARCHITECTURE.md for their floors).

// Diagnostics carry their source snippet; they are built once on the error path, so
// their size does not matter and boxing them would only add noise.
#![allow(clippy::result_large_err)]

pub(crate) mod affected;
pub(crate) mod agent;
pub(crate) mod cache;
pub(crate) mod cargo;
pub(crate) mod check;
pub(crate) mod cli;
pub(crate) mod commands;
pub(crate) mod compile_once;
pub(crate) mod config;
pub(crate) mod cwd;
pub(crate) mod error;
pub(crate) mod evidence;
pub(crate) mod github;
pub(crate) mod hookless;
pub(crate) mod init;
pub(crate) mod output;
pub(crate) mod plan;
pub(crate) mod preflight;
pub(crate) mod project;
pub(crate) mod redact;
pub(crate) mod report;
pub(crate) mod run_env;
pub(crate) mod runner;
pub(crate) mod sot;
pub(crate) mod source;
pub(crate) mod supervise;
pub(crate) mod text;
pub(crate) mod workspace;

pub use commands::run_cli;

/// What the binary does before `run_cli`, on its own arguments: the internal entry
/// points (the watchdog, the scrubbed re-exec) and the isolation of secrets. The rest of
/// the library is private to it.
pub mod entry {
    pub use crate::commands::starts_tasks;
    pub use crate::supervise::secrets::{exec_scrubbed, isolate, EXEC_ARG};
    pub use crate::supervise::watchdog::{serve as serve_watchdog, ARG as WATCHDOG_ARG};
}

pub use error::ExitCode;
/// The shard-splitting algorithm, for `benches/shards.rs`; not a stable API.
#[doc(hidden)]
pub use plan::shard as shard_split;
