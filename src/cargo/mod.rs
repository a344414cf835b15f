//! Understanding the cargo commands a task runs: which subcommand an argv is, cargo's
//! JSON messages turned into findings and a human log, libtest's and nextest's output
//! turned into one outcome per test, and the new-warnings gate against a baseline run.
//! The cargo agent (`agent/cargo.rs`) drives these; they do no process work themselves.

pub(crate) mod baseline;
pub(crate) mod command;
pub(crate) mod findings;
pub(crate) mod libtest;
pub(crate) mod messages;
pub(crate) mod nextest;
