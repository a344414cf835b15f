//! Process supervision, below both agents and the runner: spawning a command in its own
//! process group and ending it (timeout, cancel, leaks), the scrubbed task environment,
//! and the signals sent to cargo-tek itself. It never prints.

pub mod cgroup;
pub mod containment;
pub mod env;
#[cfg(target_os = "linux")]
pub mod launch;
pub mod process;
pub mod sandbox;
pub mod scope;
pub mod secrets;
pub mod signals;
pub mod spawner;
pub mod subreaper;
pub mod watchdog;

pub use containment::Containment;
pub use process::Cancel;
