//! Process supervision, below both agents and the runner: spawning a command in its own
//! process group and ending it (timeout, cancel, leaks), the scrubbed task environment,
//! and the signals sent to cargo-tek itself. It never prints.

pub(crate) mod cgroup;
pub(crate) mod containment;
pub(crate) mod env;
#[cfg(target_os = "linux")]
pub(crate) mod launch;
pub(crate) mod process;
pub(crate) mod sandbox;
pub(crate) mod scope;
pub(crate) mod secrets;
pub(crate) mod signals;
pub(crate) mod spawner;
pub(crate) mod subreaper;
pub(crate) mod watchdog;

pub(crate) use containment::Containment;
pub(crate) use process::Cancel;
