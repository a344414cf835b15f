//! Compile once for the workspace: per-crate `cargo test -p X` tasks share one
//! `cargo test --workspace --no-run` compile, then each runs its own crate's test
//! binaries directly, in parallel and outside cargo's lock (manifest.json
//! `"compile_once": true`).
//!
//! `cargo test -p X` resolves features for X alone, so ten such tasks can build shared
//! dependencies several times over, and each holds the target dir's lock while it
//! builds and while its tests run. One workspace compile unifies features as a
//! workspace build does and builds everything once; the test binaries then need no
//! cargo at all. Each crate keeps its own task (in sot.md, the report and JUnit).
//! Doctests are not part of `--no-run`: a task of its own runs them
//! (`cargo test --workspace --doc`).

mod advice;
mod artifacts;
mod compile;
mod cost;
mod detect;
mod rewrite;

pub(crate) use advice::advise;
pub(crate) use artifacts::{Artifacts, Broken, TestBinary};
pub(crate) use compile::{compile, Compiled};
pub(crate) use cost::newest as split_cost;
pub(crate) use cost::SplitCost;
pub(crate) use detect::{split, Split};
pub(crate) use rewrite::rewrite;
pub(crate) use rewrite::DYLIB_PATH;
