//! Process supervision, below both agents and the runner: spawning a command in its own
//! process group and ending it (timeout, cancel, leaks), the scrubbed task environment,
//! and the signals sent to cargo-tek itself. It never prints.

pub mod env;
pub mod process;
pub mod signals;

pub use process::Cancel;
