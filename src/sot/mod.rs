//! The Markdown source of truth (`sot.md`): queues of tasks, in the predecessor's legacy
//! form or the native form. See the README for both grammars.

mod blocks;
mod document;
mod ids;
mod legacy;
mod legacy_gaps;
mod native;
mod predecessor;
mod robustness;
mod suggest;

pub(crate) use document::{parse, Document, Format, Task};
pub(crate) use ids::{number as ids_number, shortened as shortened_id, IdPattern, MAX_ID_BYTES};
pub(crate) use legacy::default_layer as legacy_layer;
pub(crate) use suggest::closest;
