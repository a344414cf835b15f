//! A hook's `matrix`: named axes of string values. Each combination of values becomes a
//! task of its own (`TASK-010[toolchain=stable,features=all]`), whose commands get
//! `${matrix.NAME}` replaced in every argv element, `shell` script, `cwd` and env value.
//!
//! `exclude` and `include` follow GitHub Actions' documented semantics: the axes' product
//! first, then `exclude` removes every combination matching all of an entry's keys, then
//! each `include` entry extends the original combinations it matches (its keys that are
//! not axes become extra variables; an axis key must equal the combination's value), or,
//! when it matches none, is a combination of its own. Stricter than GitHub: a new
//! combination must give every axis a value, an `exclude` may only name axes and their
//! values, and an `include` key that is no axis is refused unless a command uses it.
//!
//! One concept per file: the types ([`model`]), their JSON form (`wire`), combination
//! ids (`id`), the known value `msrv` (`msrv`), expansion with `include`/`exclude` and the cap (`expand`), the hook's use
//! of variables (`check`), substitution (`substitute`) and pointing into hooks.json
//! (`locate`).

mod check;
mod expand;
mod id;
mod locate;
mod model;
mod msrv;
mod problem;
mod substitute;
#[cfg(test)]
mod testing;
mod wire;

pub(crate) use check::check;
pub(crate) use id::split_id;
pub(crate) use locate::locate;
pub(crate) use model::Matrix;
pub(crate) use msrv::resolved;
pub(crate) use msrv::{Known, PackageVersion, RustVersions};
pub(crate) use problem::Spot;
pub(crate) use substitute::substitute;
