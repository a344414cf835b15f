//! From axes to combinations: the product (first axis slowest), less `exclude`, then
//! `include` extending or adding, capped at [`MAX_COMBINATIONS`].

use super::model::{Combination, Matrix, MAX_COMBINATIONS};
use super::problem::{is_name, problem, Problem, Spot};

/// The most combinations the axes' product may have before `exclude`: a product is
/// enumerated, so a typo that multiplies ten axes must fail before it eats memory.
const MAX_PRODUCT: usize = 65_536;

impl Matrix {
    /// The combinations in order: the product with the first axis varying slowest, less
    /// `exclude`, then `include`'s new combinations in the order written.
    pub(crate) fn combinations(&self) -> Result<&[Combination], &Problem> {
        self.expanded
            .get_or_init(|| self.expand())
            .as_ref()
            .map(Vec::as_slice)
    }

    /// The combination whose axis values are `values`.
    pub(crate) fn find(&self, values: &[(String, String)]) -> Option<&Combination> {
        self.combinations()
            .ok()?
            .iter()
            .find(|c| c.axis_values() == values)
    }

    fn expand(&self) -> Result<Vec<Combination>, Problem> {
        self.check_axes()?;
        self.check_exclude()?;
        let mut combinations = self.product();
        let count = combinations.len();
        let mut added: Vec<Combination> = Vec::new();
        for (index, entry) in self.include.iter().enumerate() {
            check_include_entry(index, entry)?;
            if self.extend(&mut combinations[..count], entry) {
                continue;
            }
            let new = self.new_combination(index, entry)?;
            if added.iter().any(|c| c.axis_values() == new.axis_values()) {
                return Err(problem(
                    format!(
                        "`include` entry {} adds a combination an earlier entry already added",
                        index + 1
                    ),
                    "remove one of them",
                    Spot::Entry {
                        list: "include",
                        index,
                    },
                ));
            }
            added.push(new);
        }
        combinations.extend(added);
        cap(combinations)
    }

    fn axis_of(&self, key: &str) -> Option<usize> {
        self.axes.iter().position(|(a, _)| a == key)
    }

    /// Names, values and the size of the product, before anything is enumerated.
    fn check_axes(&self) -> Result<(), Problem> {
        if self.axes.is_empty() {
            return Err(problem(
                "the matrix has no axes".into(),
                "give at least one axis: \"matrix\": {\"toolchain\": [\"stable\", \"beta\"]}",
                Spot::Matrix,
            ));
        }
        let mut product = 1usize;
        for (axis, values) in &self.axes {
            check_axis(axis, values)?;
            product = product.saturating_mul(values.len());
        }
        if product > MAX_PRODUCT {
            return Err(problem(
                format!("the matrix's axes make {product} combinations, more than the {MAX_COMBINATIONS} a matrix may have"),
                "remove axes or values; `exclude` cannot bring a product this large back under the limit",
                Spot::Matrix,
            ));
        }
        Ok(())
    }

    /// Every `exclude` entry names axes and values they have.
    fn check_exclude(&self) -> Result<(), Problem> {
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
                let Some(a) = self.axis_of(key) else {
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
        Ok(())
    }

    /// The axes' product, first axis slowest, without the excluded combinations.
    fn product(&self) -> Vec<Combination> {
        let mut out = Vec::new();
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
                out.push(Combination {
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
            return out;
        }
    }

    /// Adds `entry`'s variables that are no axes to every combination whose axis
    /// values it matches; whether any matched.
    fn extend(&self, combinations: &mut [Combination], entry: &[(String, String)]) -> bool {
        let matches = |c: &Combination| {
            entry
                .iter()
                .filter(|(k, _)| self.axis_of(k).is_some())
                .all(|(k, v)| c.get(k) == Some(v))
        };
        let mut extended = false;
        for combination in combinations.iter_mut().filter(|c| matches(c)) {
            extended = true;
            for (key, value) in entry.iter().filter(|(k, _)| self.axis_of(k).is_none()) {
                match combination.values.iter_mut().find(|(k, _)| k == key) {
                    Some(slot) => slot.1 = value.clone(),
                    None => combination.values.push((key.clone(), value.clone())),
                }
            }
        }
        extended
    }

    /// `include` entry `index`, which matched no combination, as a combination of its
    /// own: it must give every axis a value.
    fn new_combination(
        &self,
        index: usize,
        entry: &[(String, String)],
    ) -> Result<Combination, Problem> {
        let mut values = Vec::with_capacity(entry.len());
        for (axis, _) in &self.axes {
            let Some((_, value)) = entry.iter().find(|(k, _)| k == axis) else {
                let unknown: Vec<String> = entry
                    .iter()
                    .filter(|(k, _)| self.axis_of(k).is_none())
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
                    Spot::Entry { list: "include", index },
                ));
            };
            values.push((axis.clone(), value.clone()));
        }
        let axes = values.len();
        values.extend(
            entry
                .iter()
                .filter(|(k, _)| self.axis_of(k).is_none())
                .cloned(),
        );
        Ok(Combination { values, axes })
    }
}

/// One axis: a plain name and distinct values without control characters.
fn check_axis(axis: &str, values: &[String]) -> Result<(), Problem> {
    if !is_name(axis) {
        return Err(problem(
            format!("matrix axis name {axis:?} is not a plain name"),
            "axis names are letters, digits, `_` and `-`, as `${matrix.NAME}` writes them",
            Spot::Axis(axis.to_owned()),
        ));
    }
    if values.is_empty() {
        return Err(problem(
            format!("matrix axis `{axis}` is empty"),
            "give the axis at least one value, or remove it",
            Spot::Axis(axis.to_owned()),
        ));
    }
    for (i, value) in values.iter().enumerate() {
        if value.chars().any(char::is_control) {
            return Err(problem(
                format!("a value of matrix axis `{axis}` contains a control character"),
                "values name tasks and log folders; remove it",
                Spot::Axis(axis.to_owned()),
            ));
        }
        if values[..i].contains(value) {
            return Err(problem(
                format!("matrix axis `{axis}` lists {value:?} twice"),
                "each value makes a task of its own; remove the duplicate",
                Spot::Value {
                    axis: axis.to_owned(),
                    value: value.clone(),
                    nth: 1,
                },
            ));
        }
    }
    Ok(())
}

/// An `include` entry is not empty and its keys and values can name a task.
fn check_include_entry(index: usize, entry: &[(String, String)]) -> Result<(), Problem> {
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
    Ok(())
}

/// At least one and at most [`MAX_COMBINATIONS`] combinations.
fn cap(combinations: Vec<Combination>) -> Result<Vec<Combination>, Problem> {
    if combinations.is_empty() {
        return Err(problem(
            "`exclude` removes every combination of the matrix".into(),
            "remove the hook, or an `exclude` entry",
            Spot::Matrix,
        ));
    }
    if combinations.len() > MAX_COMBINATIONS {
        return Err(problem(
            format!(
                "the matrix has {} combinations, more than the {MAX_COMBINATIONS} a matrix may have",
                combinations.len()
            ),
            "remove axes or values, or `exclude` combinations (GitHub's matrix has the same limit)",
            Spot::Matrix,
        ));
    }
    Ok(combinations)
}

fn quoted(values: &[String]) -> String {
    let values: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
    values.join(", ")
}

#[cfg(test)]
mod tests {
    use super::super::testing::{ids, load, refused};
    use crate::config::JsonError;

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
