//! CLI tests: the real binary in temporary workspaces with a clean environment.

mod action;
mod action_honesty;
mod action_shards;
mod affected;
mod affected_hidden;
mod affected_shards;
mod cache;
mod cache_remote;
mod cargo_agent;
mod cause;
mod check;
mod compile_once;
mod containment;
mod cwd_race;
mod evidence;
mod gate;
#[allow(dead_code)] // not every helper is used by every topic
mod harness;
mod init;
mod install;
mod layers;
mod matrix;
mod matrix_legs;
mod matrix_msrv;
mod merge;
mod plan;
mod provenance;
mod readme_examples;
mod report;
mod run;
mod sandbox;
mod selection;
mod shard;
mod signals;
mod target_dir;
mod token;
