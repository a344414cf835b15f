//! The result cache: a task whose inputs did not change since it last passed is not run
//! again; its stored pass (result, logs, findings) is replayed into the run. Not to be
//! confused with `workspace::cache`, which keeps `cargo metadata`'s answers.
//!
//! A task's key ([`key`]) hashes everything that can change its result, as its
//! [`recipe`] lists it: the agent and hook (argv, cwd, env), the allowlisted
//! environment ([`env`]), the [`toolchain`], Cargo.lock, and the [`files`] of the
//! packages it covers and their local dependencies, plus `inputs`. Only clean passes
//! are stored ([`store`]), locally and in a Turborepo-compatible [`remote`] store;
//! [`session`] is what a run holds.

mod env;
mod files;
mod key;
mod recipe;
mod remote;
mod session;
mod store;
mod toolchain;

pub(crate) use key::{Key, FILE};
pub(crate) use recipe::LocalGraph;
pub(crate) use remote::{Remote, Settings as RemoteSettings, KEY_VAR, TOKEN_VAR};
pub(crate) use session::{Cache, Check, Explanation, Setup};
