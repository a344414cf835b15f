//! The workspace's configuration: `config/hooks.json` (which commands a task or queue
//! runs) and `config/manifest.json` (layers, agents, queue ordering).

mod covers;
mod duration;
mod hooks;
mod json;
mod manifest;
pub mod matrix;
mod sandbox;

pub use covers::Covers;
pub use duration::Duration;
pub use hooks::{Command, Hook, Hooks, MAX_RETRIES};
pub use json::{key_range, load_json, HashMap, JsonError, KeyIndex};
#[cfg(test)]
pub use manifest::LayerRule;
pub use manifest::Manifest;
pub use matrix::Matrix;
pub use sandbox::{Net, Sandbox, SandboxRules};
