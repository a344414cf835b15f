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

use std::fmt;
use std::ops::Range;
use std::sync::OnceLock;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::hooks::{Command, Hook};
use super::json::UniqueMap;

/// The most combinations one matrix may have (GitHub's limit for a job matrix).
pub const MAX_COMBINATIONS: usize = 256;

/// The most combinations the axes' product may have before `exclude`: a product is
/// enumerated, so a typo that multiplies ten axes must fail before it eats memory.
const MAX_PRODUCT: usize = 65_536;

/// The prefix of a matrix variable: `${matrix.NAME}`.
const VARIABLE: &str = "${matrix.";

/// Axes, `include` and `exclude`, as written.
#[derive(Debug, Clone, Default)]
pub struct Matrix {
    /// Axes in the order hooks.json gives them.
    pub axes: Vec<(String, Vec<String>)>,
    pub include: Vec<Vec<(String, String)>>,
    pub exclude: Vec<Vec<(String, String)>>,
    /// The combinations, expanded on first use (the planner and every lookup of a
    /// combination's hook ask for them).
    expanded: OnceLock<Result<Vec<Combination>, Problem>>,
}

impl PartialEq for Matrix {
    fn eq(&self, other: &Self) -> bool {
        (&self.axes, &self.include, &self.exclude) == (&other.axes, &other.include, &other.exclude)
    }
}

/// One combination: the axis values in axis order, then any extra variables an
/// `include` entry added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Combination {
    /// Every variable, axes first.
    pub values: Vec<(String, String)>,
    /// How many of `values` are axes (the ones that name the combination).
    axes: usize,
}

impl Combination {
    /// The value of variable `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The axis values, which name the combination.
    pub fn axis_values(&self) -> &[(String, String)] {
        &self.values[..self.axes]
    }

    /// The task id of this combination of task `base`:
    /// `base[axis=value,...]`, with `%`, `,`, `=`, `[` and `]` in values percent-encoded so
    /// that two combinations never share an id.
    pub fn id(&self, base: &str) -> String {
        let mut id = format!("{base}[");
        for (i, (axis, value)) in self.axis_values().iter().enumerate() {
            if i > 0 {
                id.push(',');
            }
            id.push_str(axis);
            id.push('=');
            for c in value.chars() {
                match c {
                    '%' | ',' | '=' | '[' | ']' => id.push_str(&format!("%{:02X}", c as u32)),
                    c => id.push(c),
                }
            }
        }
        id.push(']');
        id
    }
}

/// Splits a combination id into its base id and its axis values (decoded), or None when
/// `id` is not of the form `base[axis=value,...]`.
pub fn split_id(id: &str) -> Option<(&str, Vec<(String, String)>)> {
    let inner = id.strip_suffix(']')?;
    let open = inner.find('[')?;
    let (base, values) = (&inner[..open], &inner[open + 1..]);
    if base.is_empty() {
        return None;
    }
    let pairs = values
        .split(',')
        .map(|pair| {
            let (axis, value) = pair.split_once('=')?;
            Some((axis.to_owned(), decode(value)?))
        })
        .collect::<Option<Vec<_>>>()?;
    Some((base, pairs))
}

fn decode(value: &str) -> Option<String> {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '%' {
            let hex: String = chars.by_ref().take(2).collect();
            out.push(char::from(u8::from_str_radix(&hex, 16).ok()?));
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// What is wrong with a matrix, and where in the hook to point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub message: String,
    pub help: String,
    pub at: Spot,
}

/// Where a [`Problem`] is, found in the hook's text by [`locate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spot {
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

fn problem(message: String, help: impl Into<String>, at: Spot) -> Problem {
    Problem {
        message,
        help: help.into(),
        at,
    }
}

fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl Matrix {
    /// The combinations in order: the product with the first axis varying slowest, less
    /// `exclude`, then `include`'s new combinations in the order written.
    pub fn combinations(&self) -> Result<&[Combination], &Problem> {
        self.expanded
            .get_or_init(|| self.expand())
            .as_ref()
            .map(Vec::as_slice)
    }

    /// The combination whose axis values are `values`.
    pub fn find(&self, values: &[(String, String)]) -> Option<&Combination> {
        self.combinations()
            .ok()?
            .iter()
            .find(|c| c.axis_values() == values)
    }

    fn expand(&self) -> Result<Vec<Combination>, Problem> {
        if self.axes.is_empty() {
            return Err(problem(
                "the matrix has no axes".into(),
                "give at least one axis: \"matrix\": {\"toolchain\": [\"stable\", \"beta\"]}",
                Spot::Matrix,
            ));
        }
        let mut product = 1usize;
        for (axis, values) in &self.axes {
            if !is_name(axis) {
                return Err(problem(
                    format!("matrix axis name {axis:?} is not a plain name"),
                    "axis names are letters, digits, `_` and `-`, as `${matrix.NAME}` writes them",
                    Spot::Axis(axis.clone()),
                ));
            }
            if values.is_empty() {
                return Err(problem(
                    format!("matrix axis `{axis}` is empty"),
                    "give the axis at least one value, or remove it",
                    Spot::Axis(axis.clone()),
                ));
            }
            for (i, value) in values.iter().enumerate() {
                if value.chars().any(char::is_control) {
                    return Err(problem(
                        format!("a value of matrix axis `{axis}` contains a control character"),
                        "values name tasks and log folders; remove it",
                        Spot::Axis(axis.clone()),
                    ));
                }
                if values[..i].contains(value) {
                    return Err(problem(
                        format!("matrix axis `{axis}` lists {value:?} twice"),
                        "each value makes a task of its own; remove the duplicate",
                        Spot::Value {
                            axis: axis.clone(),
                            value: value.clone(),
                            nth: 1,
                        },
                    ));
                }
            }
            product = product.saturating_mul(values.len());
        }
        if product > MAX_PRODUCT {
            return Err(problem(
                format!("the matrix's axes make {product} combinations, more than the {MAX_COMBINATIONS} a matrix may have"),
                "remove axes or values; `exclude` cannot bring a product this large back under the limit",
                Spot::Matrix,
            ));
        }
        let axis_of = |key: &str| self.axes.iter().position(|(a, _)| a == key);
        for (index, entry) in self.exclude.iter().enumerate() {
            let at = || Spot::Entry {
                list: "exclude",
                index,
            };
            if entry.is_empty() {
                return Err(problem(
                    format!(
                        "`exclude` entry {} is empty: it would remove every combination",
                        index + 1
                    ),
                    "name the axis values to leave out: {\"toolchain\": \"msrv\"}",
                    at(),
                ));
            }
            for (key, value) in entry {
                let Some(a) = axis_of(key) else {
                    return Err(problem(
                        format!(
                            "`exclude` entry {} names `{key}`, which is not an axis of the matrix",
                            index + 1
                        ),
                        format!("the axes are {}", self.axis_names()),
                        at(),
                    ));
                };
                if !self.axes[a].1.contains(value) {
                    return Err(problem(
                        format!("`exclude` entry {} gives `{key}` the value {value:?}, which the axis does not have", index + 1),
                        format!("`{key}` has {}", quoted(&self.axes[a].1)),
                        at(),
                    ));
                }
            }
        }
        let mut originals = Vec::new();
        let mut digits = vec![0usize; self.axes.len()];
        'product: loop {
            let values: Vec<(String, String)> = self
                .axes
                .iter()
                .zip(&digits)
                .map(|((axis, values), &d)| (axis.clone(), values[d].clone()))
                .collect();
            let excluded = self
                .exclude
                .iter()
                .any(|entry| entry.iter().all(|pair| values.contains(pair)));
            if !excluded {
                originals.push(Combination {
                    axes: values.len(),
                    values,
                });
            }
            // Odometer, last axis fastest.
            for slot in (0..digits.len()).rev() {
                digits[slot] += 1;
                if digits[slot] < self.axes[slot].1.len() {
                    continue 'product;
                }
                digits[slot] = 0;
            }
            break;
        }
        let count = originals.len();
        let mut added: Vec<Combination> = Vec::new();
        for (index, entry) in self.include.iter().enumerate() {
            let at = || Spot::Entry {
                list: "include",
                index,
            };
            if entry.is_empty() {
                return Err(problem(
                    format!("`include` entry {} is empty", index + 1),
                    "give the values of a combination to add, or variables to add to matching ones",
                    at(),
                ));
            }
            if let Some((key, _)) = entry.iter().find(|(k, _)| !is_name(k)) {
                return Err(problem(
                    format!(
                        "`include` entry {} names {key:?}, which is not a plain name",
                        index + 1
                    ),
                    "variable names are letters, digits, `_` and `-`",
                    at(),
                ));
            }
            if let Some((key, _)) = entry.iter().find(|(_, v)| v.chars().any(char::is_control)) {
                return Err(problem(
                    format!(
                        "`include` entry {} gives `{key}` a value with a control character",
                        index + 1
                    ),
                    "values name tasks and log folders; remove it",
                    at(),
                ));
            }
            let matches = |c: &Combination| {
                entry
                    .iter()
                    .filter(|(k, _)| axis_of(k).is_some())
                    .all(|(k, v)| c.get(k) == Some(v))
            };
            let mut extended = false;
            for combination in originals[..count].iter_mut().filter(|c| matches(c)) {
                extended = true;
                for (key, value) in entry.iter().filter(|(k, _)| axis_of(k).is_none()) {
                    match combination.values.iter_mut().find(|(k, _)| k == key) {
                        Some(slot) => slot.1 = value.clone(),
                        None => combination.values.push((key.clone(), value.clone())),
                    }
                }
            }
            if extended {
                continue;
            }
            let mut values = Vec::with_capacity(entry.len());
            for (axis, _) in &self.axes {
                let Some((_, value)) = entry.iter().find(|(k, _)| k == axis) else {
                    let unknown: Vec<String> = entry
                        .iter()
                        .filter(|(k, _)| axis_of(k).is_none())
                        .map(|(k, _)| format!("`{k}`"))
                        .collect();
                    let named = match unknown.as_slice() {
                        [] => String::new(),
                        [one] => format!(" (it names {one}, which is not an axis)"),
                        many => format!(" (it names {}, which are not axes)", many.join(", ")),
                    };
                    return Err(problem(
                        format!("`include` entry {} matches no combination, so it is a new one, but it gives no value for axis `{axis}`{named}", index + 1),
                        format!("a new combination gives every axis a value ({}); to extend combinations, name values they have", self.axis_names()),
                        at(),
                    ));
                };
                values.push((axis.clone(), value.clone()));
            }
            let axes = values.len();
            values.extend(entry.iter().filter(|(k, _)| axis_of(k).is_none()).cloned());
            let new = Combination { values, axes };
            if added.iter().any(|c| c.axis_values() == new.axis_values()) {
                return Err(problem(
                    format!(
                        "`include` entry {} adds a combination an earlier entry already added",
                        index + 1
                    ),
                    "remove one of them",
                    at(),
                ));
            }
            added.push(new);
        }
        originals.extend(added);
        if originals.is_empty() {
            return Err(problem(
                "`exclude` removes every combination of the matrix".into(),
                "remove the hook, or an `exclude` entry",
                Spot::Matrix,
            ));
        }
        if originals.len() > MAX_COMBINATIONS {
            return Err(problem(
                format!(
                    "the matrix has {} combinations, more than the {MAX_COMBINATIONS} a matrix may have",
                    originals.len()
                ),
                "remove axes or values, or `exclude` combinations (GitHub's matrix has the same limit)",
                Spot::Matrix,
            ));
        }
        Ok(originals)
    }

    fn axis_names(&self) -> String {
        let names: Vec<String> = self.axes.iter().map(|(a, _)| format!("`{a}`")).collect();
        names.join(", ")
    }
}

fn quoted(values: &[String]) -> String {
    let values: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
    values.join(", ")
}

/// Every string of `hook` that `${matrix.NAME}` is replaced in.
fn texts(hook: &Hook) -> impl Iterator<Item = &str> {
    let commands = hook.commands.iter().flat_map(|c: &Command| {
        c.cmd
            .iter()
            .map(String::as_str)
            .chain(c.shell.as_deref())
            .chain(c.cwd.as_deref())
            .chain(c.env.values().map(String::as_str))
    });
    commands.chain(hook.env.values().map(String::as_str))
}

/// The variables `text` uses, in order, or the text of an unclosed one as the error.
fn variables(text: &str) -> Result<Vec<&str>, &str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(VARIABLE) {
        let after = &rest[start + VARIABLE.len()..];
        let Some(end) = after.find('}') else {
            return Err(&rest[start..]);
        };
        names.push(&after[..end]);
        rest = &after[end + 1..];
    }
    Ok(names)
}

/// What is wrong with `hook`'s matrix or its use of `${matrix.NAME}`, if anything.
pub fn check(hook: &Hook) -> Option<Problem> {
    let mut used: Vec<&str> = Vec::new();
    for text in texts(hook) {
        match variables(text) {
            Ok(names) => used.extend(names),
            Err(open) => {
                return Some(problem(
                    format!("`{open}` is not closed with `}}`"),
                    "write a matrix variable as `${matrix.NAME}`",
                    Spot::Text(VARIABLE.into()),
                ))
            }
        }
    }
    let Some(matrix) = &hook.matrix else {
        return used.first().map(|name| {
            problem(
                format!("`${{matrix.{name}}}` is used, but the hook has no matrix"),
                "declare the axis: \"matrix\": {\"NAME\": [\"value\", ...]}, or remove the variable",
                Spot::Text(format!("${{matrix.{name}}}")),
            )
        });
    };
    let combinations = match matrix.combinations() {
        Ok(c) => c,
        Err(problem) => return Some(problem.clone()),
    };
    for (index, entry) in matrix.include.iter().enumerate() {
        let unknown = entry
            .iter()
            .find(|(k, _)| !matrix.axes.iter().any(|(a, _)| a == k) && !used.contains(&k.as_str()));
        if let Some((key, _)) = unknown {
            return Some(problem(
                format!("`include` entry {} names `{key}`, which is not an axis of the matrix, and no command uses `${{matrix.{key}}}`", index + 1),
                format!("the axes are {}; a new key of `include` is a variable the commands use", matrix.axis_names()),
                Spot::Entry { list: "include", index },
            ));
        }
    }
    for name in used {
        if let Some(c) = combinations.iter().find(|c| c.get(name).is_none()) {
            let message = if combinations.iter().any(|c| c.get(name).is_some()) {
                format!("`${{matrix.{name}}}` has no value in combination `{}`: only some `include` entries set it", c.id("…"))
            } else {
                format!("`${{matrix.{name}}}` is not an axis of the matrix")
            };
            return Some(problem(
                message,
                format!("the axes are {}", matrix.axis_names()),
                Spot::Text(format!("${{matrix.{name}}}")),
            ));
        }
    }
    None
}

/// `hook` with `${matrix.NAME}` replaced by `combination`'s values, and no matrix: what
/// the combination's task runs. Names the hook check refused never get here; any left
/// are kept as written.
pub fn substitute(hook: &Hook, combination: &Combination) -> Hook {
    let replace = |text: &str| -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find(VARIABLE) {
            let after = &rest[start + VARIABLE.len()..];
            let Some(end) = after.find('}') else { break };
            out.push_str(&rest[..start]);
            match combination.get(&after[..end]) {
                Some(value) => out.push_str(value),
                None => out.push_str(&rest[start..start + VARIABLE.len() + end + 1]),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    };
    let mut out = hook.clone();
    out.matrix = None;
    for command in &mut out.commands {
        for word in &mut command.cmd {
            *word = replace(word);
        }
        command.shell = command.shell.as_deref().map(replace);
        command.cwd = command.cwd.as_deref().map(replace);
        for value in command.env.values_mut() {
            *value = replace(value);
        }
    }
    for value in out.env.values_mut() {
        *value = replace(value);
    }
    out
}

/// Where `spot` is written in `text`, searching from `from` (the hook's key).
pub fn locate(text: &str, from: usize, spot: &Spot) -> Range<usize> {
    let fallback = from..from;
    let find_key = |start: usize, key: &str| -> Option<Range<usize>> {
        let r = super::json::key_range(text.get(start..)?, key);
        (!r.is_empty()).then(|| start + r.start..start + r.end)
    };
    let Some(matrix) = find_key(from, "matrix") else {
        return match spot {
            Spot::Text(t) => find_text(text, from, t).unwrap_or(fallback),
            _ => fallback,
        };
    };
    let found = match spot {
        Spot::Matrix => Some(matrix),
        Spot::Axis(axis) => find_key(matrix.end, axis),
        Spot::Value { axis, value, nth } => find_key(matrix.end, axis).and_then(|key| {
            let quoted = serde_json::to_string(value).ok()?;
            let mut at = key.end;
            let mut found = None;
            for _ in 0..=*nth {
                let start = at + text.get(at..)?.find(&quoted)?;
                at = start + quoted.len();
                found = Some(start..at);
            }
            found
        }),
        Spot::Entry { list, index } => {
            find_key(matrix.end, list).map(|key| nth_object(text, key.end, *index).unwrap_or(key))
        }
        Spot::Text(t) => find_text(text, from, t),
    };
    found.unwrap_or(fallback)
}

fn find_text(text: &str, from: usize, needle: &str) -> Option<Range<usize>> {
    let start = from + text.get(from..)?.find(needle)?;
    Some(start..start + needle.len())
}

/// The `index`th object of the array that starts after `from`, skipping strings.
fn nth_object(text: &str, from: usize, index: usize) -> Option<Range<usize>> {
    let bytes = text.as_bytes();
    let mut i = from + text.get(from..)?.find('[')? + 1;
    let (mut depth, mut seen, mut start) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' => {
                if depth == 0 {
                    start = i;
                }
                depth += 1;
            }
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    if seen == index {
                        return Some(start..i + 1);
                    }
                    seen += 1;
                }
            }
            b']' if depth == 0 => return None,
            _ => {}
        }
        i += 1;
    }
    None
}

impl<'de> Deserialize<'de> for Matrix {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MatrixVisitor;
        impl<'de> Visitor<'de> for MatrixVisitor {
            type Value = Matrix;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of axes, e.g. {\"toolchain\": [\"stable\", \"beta\"]}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Matrix, A::Error> {
                use serde::de::Error;
                let mut matrix = Matrix::default();
                let mut seen: Vec<String> = Vec::new();
                let entries = |list: Vec<UniqueMap<String>>| -> Vec<Vec<(String, String)>> {
                    list.iter()
                        .map(|m| m.iter().map(|(k, v)| (k.to_owned(), v.clone())).collect())
                        .collect()
                };
                while let Some(key) = map.next_key::<String>()? {
                    if seen.contains(&key) {
                        return Err(A::Error::custom(format!("duplicate key `{key}`")));
                    }
                    seen.push(key.clone());
                    match key.as_str() {
                        "include" => matrix.include = entries(map.next_value()?),
                        "exclude" => matrix.exclude = entries(map.next_value()?),
                        _ => {
                            let values: Vec<String> = map.next_value()?;
                            matrix.axes.push((key, values));
                        }
                    }
                }
                Ok(matrix)
            }
        }
        deserializer.deserialize_map(MatrixVisitor)
    }
}

impl Serialize for Matrix {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let object = |entry: &Vec<(String, String)>| -> serde_json::Map<String, serde_json::Value> {
            entry
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect()
        };
        let mut map = serializer.serialize_map(None)?;
        for (axis, values) in &self.axes {
            map.serialize_entry(axis, values)?;
        }
        if !self.exclude.is_empty() {
            let list: Vec<_> = self.exclude.iter().map(object).collect();
            map.serialize_entry("exclude", &list)?;
        }
        if !self.include.is_empty() {
            let list: Vec<_> = self.include.iter().map(object).collect();
            map.serialize_entry("include", &list)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Hooks, JsonError};
    use crate::source::{SourceDiagnostic, SourceFile};

    fn load(text: &str) -> Result<Hooks, JsonError> {
        Hooks::load(SourceFile::from_bytes("hooks.json".into(), text.as_bytes().to_vec()).unwrap())
    }

    fn refused(text: &str) -> SourceDiagnostic {
        match load(text) {
            Err(JsonError::Invalid(d)) => d,
            other => panic!("{text} was not refused: {other:?}"),
        }
    }

    /// The ids of hook `T`'s combinations.
    fn ids(matrix: &str) -> Vec<String> {
        let hooks = load(&format!(
            r#"{{"T": {{"matrix": {matrix}, "commands": [{{"cmd": ["true"]}}]}}}}"#
        ))
        .unwrap();
        let combinations = hooks
            .get("T")
            .unwrap()
            .matrix
            .as_ref()
            .unwrap()
            .combinations();
        combinations.unwrap().iter().map(|c| c.id("T")).collect()
    }

    #[test]
    fn axes_expand_in_file_order_the_first_slowest() {
        assert_eq!(
            ids(r#"{"z": ["1", "2"], "a": ["x", "y"]}"#),
            ["T[z=1,a=x]", "T[z=1,a=y]", "T[z=2,a=x]", "T[z=2,a=y]"]
        );
    }

    #[test]
    fn exclude_removes_matches_and_include_extends_or_adds() {
        let m = r#"{"os": ["linux", "mac"], "tc": ["stable", "msrv"],
                    "exclude": [{"os": "mac", "tc": "msrv"}],
                    "include": [{"tc": "stable", "extra": "--all"},
                                {"os": "win", "tc": "stable"}]}"#;
        let hooks = load(&format!(
            r#"{{"T": {{"matrix": {m}, "commands": [{{"cmd": ["x", "${{matrix.os}}"]}}]}}}}"#
        ));
        // `extra` is no axis and no command uses it: a typo, refused.
        let Err(JsonError::Invalid(d)) = hooks else {
            panic!("{hooks:?}")
        };
        assert!(
            d.message.contains("`include` entry 1 names `extra`"),
            "{}",
            d.message
        );
        assert_eq!(d.location, "hooks.json:3:33");

        let hooks = load(&format!(
            r#"{{"T": {{"matrix": {m}, "commands": [{{"cmd": ["x", "${{matrix.os}}"], "env": {{"E": "${{matrix.extra}}"}}}}]}}}}"#
        ));
        // The `msrv` combination gets no `extra`, and the command uses it everywhere.
        let Err(JsonError::Invalid(d)) = hooks else {
            panic!("{hooks:?}")
        };
        assert!(
            d.message.contains("no value in combination"),
            "{}",
            d.message
        );

        let m = r#"{"os": ["linux", "mac"], "tc": ["stable", "msrv"],
                    "exclude": [{"os": "mac", "tc": "msrv"}],
                    "include": [{"tc": "stable", "extra": "--all"},
                                {"tc": "msrv", "extra": "--lib"},
                                {"os": "win", "tc": "stable", "extra": "--bins"}]}"#;
        let hooks = load(&format!(
            r#"{{"T": {{"matrix": {m}, "commands": [{{"cmd": ["x", "${{matrix.extra}}"]}}]}}}}"#
        ))
        .unwrap();
        let matrix = hooks.get("T").unwrap().matrix.as_ref().unwrap();
        let got: Vec<(String, Option<&str>)> = matrix
            .combinations()
            .unwrap()
            .iter()
            .map(|c| (c.id("T"), c.get("extra")))
            .collect();
        assert_eq!(
            got,
            [
                ("T[os=linux,tc=stable]".into(), Some("--all")),
                ("T[os=linux,tc=msrv]".into(), Some("--lib")),
                ("T[os=mac,tc=stable]".into(), Some("--all")),
                ("T[os=win,tc=stable]".into(), Some("--bins")),
            ]
        );
    }

    #[test]
    fn substitution_reaches_argv_shell_cwd_and_env() {
        let hooks = load(
            r#"{"T": {"matrix": {"tc": ["stable"], "f": ["all"]},
                "env": {"H": "h-${matrix.tc}"},
                "commands": [
                  {"cmd": ["cargo", "+${matrix.tc}", "test", "--${matrix.f}-features"], "cwd": "crates/${matrix.f}", "env": {"C": "${matrix.tc}${matrix.f}"}},
                  {"shell": "echo ${matrix.tc} $HOME"}]}}"#,
        )
        .unwrap();
        let hook = hooks.get("T").unwrap();
        let combination = &hook.matrix.as_ref().unwrap().combinations().unwrap()[0];
        let out = substitute(hook, combination);
        assert_eq!(
            out.commands[0].cmd,
            ["cargo", "+stable", "test", "--all-features"]
        );
        assert_eq!(out.commands[0].cwd(), "crates/all");
        assert_eq!(out.commands[0].env["C"], "stableall");
        assert_eq!(out.commands[1].argv()[2], "echo stable $HOME");
        assert_eq!(out.env["H"], "h-stable");
        assert!(out.matrix.is_none());
    }

    #[test]
    fn ids_encode_separators_and_split_back() {
        let hooks = load(
            r#"{"T": {"matrix": {"f": ["serde,std", "a=b%[c]"]}, "commands": [{"cmd": ["x", "${matrix.f}"]}]}}"#,
        )
        .unwrap();
        let matrix = hooks.get("T").unwrap().matrix.as_ref().unwrap();
        let combinations = matrix.combinations().unwrap();
        assert_eq!(combinations[0].id("T"), "T[f=serde%2Cstd]");
        assert_eq!(combinations[1].id("T"), "T[f=a%3Db%25%5Bc%5D]");
        for c in combinations {
            let id = c.id("T");
            let (base, values) = split_id(&id).unwrap();
            assert_eq!(base, "T");
            assert_eq!(matrix.find(&values), Some(c));
        }
        assert_eq!(split_id("TASK-1"), None);
        assert_eq!(split_id("[a=b]"), None);
    }

    #[test]
    fn mistakes_are_refused_at_their_line_and_column() {
        let cases = [
            // An unknown variable, at the variable.
            (
                "{\n\"T\": {\"matrix\": {\"tc\": [\"a\"]},\n  \"commands\": [{\"cmd\": [\"x\", \"${matrix.tx}\"]}]}}",
                "`${matrix.tx}` is not an axis",
                "hooks.json:3:31",
            ),
            // A variable in a hook without a matrix.
            (
                "{\"T\": {\"commands\": [{\"shell\": \"echo ${matrix.os}\"}]}}",
                "the hook has no matrix",
                "hooks.json:1:37",
            ),
            // An empty axis, at its key.
            (
                "{\"T\": {\"matrix\": {\"tc\": [\"a\"],\n \"f\": []}, \"commands\": [{\"cmd\": [\"x\"]}]}}",
                "matrix axis `f` is empty",
                "hooks.json:2:2",
            ),
            // A duplicate value, at its second time.
            (
                "{\"T\": {\"matrix\": {\"tc\": [\"a\",\n \"b\", \"a\"]}, \"commands\": [{\"cmd\": [\"x\"]}]}}",
                "lists \"a\" twice",
                "hooks.json:2:7",
            ),
            // A new combination in `include` naming an axis the matrix does not have.
            (
                "{\"T\": {\"matrix\": {\"tc\": [\"a\"], \"include\": [{\"tc\": \"a\"},\n {\"toolchain\": \"b\"}]}, \"commands\": [{\"cmd\": [\"x\", \"${matrix.tc}\"]}]}}",
                "`include` entry 2 names `toolchain`, which is not an axis",
                "hooks.json:2:2",
            ),
            // An exclude naming an unknown axis.
            (
                "{\"T\": {\"matrix\": {\"tc\": [\"a\"], \"exclude\": [{\"os\": \"a\"}]}, \"commands\": [{\"cmd\": [\"x\"]}]}}",
                "`exclude` entry 1 names `os`",
                "hooks.json:1:",
            ),
            // A new combination that leaves an axis out.
            (
                "{\"T\": {\"matrix\": {\"tc\": [\"a\"], \"f\": [\"x\"], \"include\": [{\"tc\": \"b\"}]}, \"commands\": [{\"cmd\": [\"x\"]}]}}",
                "gives no value for axis `f`",
                "hooks.json:1:",
            ),
            (
                "{\"T\": {\"matrix\": {}, \"commands\": [{\"cmd\": [\"x\"]}]}}",
                "has no axes",
                "hooks.json:1:8",
            ),
            (
                "{\"T\": {\"matrix\": {\"tc\": [\"a\"], \"exclude\": [{\"tc\": \"a\"}]}, \"commands\": [{\"cmd\": [\"x\"]}]}}",
                "removes every combination",
                "hooks.json:1:8",
            ),
        ];
        for (text, message, location) in cases {
            let d = refused(text);
            assert!(d.message.contains(message), "{text}: {}", d.message);
            assert!(d.message.starts_with("hook `T`: "), "{}", d.message);
            assert!(d.location.starts_with(location), "{text}: {}", d.location);
        }
    }

    #[test]
    fn more_than_256_combinations_are_refused() {
        let values: Vec<String> = (0..17).map(|i| format!("\"{i}\"")).collect();
        let axis = format!("[{}]", values.join(","));
        let text = format!(
            r#"{{"T": {{"matrix": {{"a": {axis}, "b": {axis}}}, "commands": [{{"cmd": ["x"]}}]}}}}"#
        );
        let d = refused(&text);
        assert!(
            d.message.contains("289 combinations, more than the 256"),
            "{}",
            d.message
        );
        // Excluding enough of them brings it under the cap.
        let text = text.replace(
            "\"b\"",
            "\"exclude\": [{\"a\": \"0\"}, {\"a\": \"1\"}], \"b\"",
        );
        assert_eq!(
            ids(&text[text.find("{\"a\"").unwrap()..text.find(", \"commands\"").unwrap()]).len(),
            255
        );
        // A product too large to enumerate is refused before it is built.
        let many: Vec<String> = (0..10).map(|i| format!("\"x{i}\": {axis}")).collect();
        let d = refused(&format!(
            r#"{{"T": {{"matrix": {{{}}}, "commands": [{{"cmd": ["x"]}}]}}}}"#,
            many.join(",")
        ));
        assert!(d.message.contains("more than the 256"), "{}", d.message);
    }
}
