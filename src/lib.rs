//! cargo-tek: a task runner for Rust workspaces in CI.
//!
//! A workspace keeps its source of truth in Markdown (`sot.md`): queues of tasks with ids
//! like `TASK-001`. `config/hooks.json` says which commands a task or queue runs and
//! `config/manifest.json` sets layers, agents and queue ordering. This library turns that
//! into a plan ([`plan`]), runs it under supervision ([`runner`]), records evidence
//! ([`evidence`]) and renders it for reviewers ([`report`], [`github`]).
//!
//! The binary is a thin shell over [`run_cli`]; everything here returns values or sends
//! events and never prints, except [`output`], the one place that writes to the terminal.

// Diagnostics carry their source snippet; they are built once on the error path, so
// their size does not matter and boxing them would only add noise.
#![allow(clippy::result_large_err)]

pub mod agent;
pub mod check;
pub mod cli;
pub mod commands;
pub mod config;
pub mod cwd;
pub mod error;
pub mod evidence;
pub mod github;
pub mod hookless;
pub mod output;
pub mod plan;
pub mod preflight;
pub mod project;
pub mod report;
pub mod runner;
pub mod sot;
pub mod source;
pub mod supervise;
pub mod workspace;

pub use commands::run_cli;
pub use error::{Error, ExitCode};
