//! Rendering evidence for reviewers: Markdown escaping, size limits, secret masking and
//! the minijinja templates.

pub mod escape;
pub mod limit;
