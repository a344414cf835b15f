//! The matrix as written (axes, `include`, `exclude`) and one combination of it.

use std::sync::OnceLock;

use super::problem::Problem;

/// The most combinations one matrix may have (GitHub's limit for a job matrix).
pub(crate) const MAX_COMBINATIONS: usize = 256;

/// The prefix of a matrix variable: `${matrix.NAME}`.
pub(super) const VARIABLE: &str = "${matrix.";

/// Axes, `include` and `exclude`, as written.
#[derive(Debug, Clone, Default)]
pub(crate) struct Matrix {
    /// Axes in the order hooks.json gives them.
    pub(crate) axes: Vec<(String, Vec<String>)>,
    pub(crate) include: Vec<Vec<(String, String)>>,
    pub(crate) exclude: Vec<Vec<(String, String)>>,
    /// The combinations, expanded on first use (the planner and every lookup of a
    /// combination's hook ask for them).
    pub(super) expanded: OnceLock<Result<Vec<Combination>, Problem>>,
}

impl PartialEq for Matrix {
    fn eq(&self, other: &Self) -> bool {
        (&self.axes, &self.include, &self.exclude) == (&other.axes, &other.include, &other.exclude)
    }
}

impl Matrix {
    /// The axis names, quoted for a message: `` `toolchain`, `features` ``.
    pub(super) fn axis_names(&self) -> String {
        let names: Vec<String> = self.axes.iter().map(|(a, _)| format!("`{a}`")).collect();
        names.join(", ")
    }
}

/// One combination: the axis values in axis order, then any extra variables an
/// `include` entry added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Combination {
    /// Every variable, axes first.
    pub(crate) values: Vec<(String, String)>,
    /// How many of `values` are axes (the ones that name the combination).
    pub(super) axes: usize,
}

impl Combination {
    /// The value of variable `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The axis values, which name the combination.
    pub(crate) fn axis_values(&self) -> &[(String, String)] {
        &self.values[..self.axes]
    }
}
