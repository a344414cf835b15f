//! The workspace's configuration: `config/hooks.json` (which commands a task or queue
//! runs) and `config/manifest.json` (layers, agents, queue ordering).

mod covers;
mod duration;
mod hooks;
mod json;
mod manifest;
pub(crate) mod matrix;
mod sandbox;

pub(crate) use covers::Covers;
pub(crate) use duration::Duration;
pub(crate) use hooks::{Command, Hook, Hooks, MAX_RETRIES};
pub(crate) use json::{key_range, load_json, HashMap, JsonError, KeyIndex};
#[cfg(test)]
pub(crate) use manifest::LayerRule;
pub(crate) use manifest::Manifest;
pub(crate) use matrix::Matrix;
pub(crate) use sandbox::{Net, Sandbox, SandboxRules};
