//! GitHub integration: one sticky pull-request comment per key, and the job summary.
//!
//! Reads the GitHub Actions context ([`GitHubContext::from_env`]), then finds, updates or
//! creates our comment through the REST API ([`upsert_sticky_comment_since`]). octocrab is only the
//! HTTP transport here: its own retries are switched off so that this module decides what is
//! safe to repeat — a create is never blindly re-sent, because a lost response may hide a
//! comment that was in fact posted. [`append_job_summary`] writes `GITHUB_STEP_SUMMARY`, [`append_step_outputs`] `GITHUB_OUTPUT`.
//! This module never prints, and the token never appears in errors or `Debug` output.

mod client;
mod comments;
mod context;
mod error;
pub(crate) mod failed_mark;
mod outputs;
mod retry;
mod stamp;
mod summary;
#[cfg(test)]
mod tests;

#[cfg(test)]
use comments::upsert_sticky_comment;
pub(crate) use comments::{marker, upsert_sticky_comment_since, CommentOutcome};
pub(crate) use context::GitHubContext;
pub(crate) use error::GitHubError;
pub(crate) use outputs::append_step_outputs;
pub(crate) use retry::RetryPolicy;
pub(crate) use summary::append_job_summary;
