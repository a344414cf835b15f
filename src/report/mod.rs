//! Rendering evidence for reviewers: Markdown escaping, size limits, secret masking and
//! the minijinja templates.

pub mod broken;
pub mod context;
pub mod escape;
mod legs;
pub mod limit;
mod matrix_table;
pub mod provenance;
mod render;
mod tail;

#[cfg(test)]
mod hostile_run;

pub use render::{render_within, Renderer, ReportError, Request};
