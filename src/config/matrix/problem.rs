//! What is wrong with a matrix, and which part of the hook to point at.

/// What is wrong with a matrix, and where in the hook to point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub(crate) message: String,
    pub(crate) help: String,
    pub(crate) at: Spot,
}

/// Where a [`Problem`] is, found in the hook's text by [`super::locate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Spot {
    /// The `matrix` key.
    Matrix,
    /// The key of an axis.
    Axis(String),
    /// The `nth` (0-based) time `value` is written after axis `axis`'s key.
    Value {
        axis: String,
        value: String,
        nth: usize,
    },
    /// Entry `index` (0-based) of `include` or `exclude`.
    Entry { list: &'static str, index: usize },
    /// Literal text of the hook, such as `${matrix.x}`.
    Text(String),
}

pub(super) fn problem(message: String, help: impl Into<String>, at: Spot) -> Problem {
    Problem {
        message,
        help: help.into(),
        at,
    }
}

/// Whether `name` can be written as `${matrix.NAME}`.
pub(super) fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}
