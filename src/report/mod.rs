//! Rendering evidence for reviewers: Markdown escaping, size limits, secret masking and
//! the minijinja templates.

mod alike;
pub(crate) mod broken;
pub(crate) mod context;
pub(crate) mod escape;
mod legs;
pub(crate) mod limit;
mod matrix_table;
pub(crate) mod provenance;
mod render;
mod tail;

#[cfg(test)]
mod hostile_run;

pub(crate) use render::{render_within, Renderer, ReportError, Request};
