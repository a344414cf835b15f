//! Evidence of a run: run.json, the journal, per-task logs and JUnit, written so that a
//! crash at any moment leaves a readable run directory.

mod atomic;

pub use atomic::write_atomic;
