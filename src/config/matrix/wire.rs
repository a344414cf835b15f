//! The JSON form of a matrix: axes in file order, then `exclude` and `include`.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::model::Matrix;
use crate::config::json::UniqueMap;

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
                            let value: serde_json::Value = map.next_value()?;
                            let values = axis_values(&key, value).map_err(A::Error::custom)?;
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

/// An axis's values, or what to write instead: a newcomer's `"includes": [{…}]` or
/// `"toolchain": "stable"` gets told what the key is taken for and what it needs.
fn axis_values(key: &str, value: serde_json::Value) -> Result<Vec<String>, String> {
    use serde_json::Value;
    let Value::Array(items) = &value else {
        return Err(format!(
            "axis `{key}` must be a list of strings, e.g. `\"{key}\": [\"a\", \"b\"]`"
        ));
    };
    if items.iter().all(Value::is_string) {
        return Ok(items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect());
    }
    let near = if items.iter().any(Value::is_object) {
        crate::sot::closest(key, ["include", "exclude"])
    } else {
        None
    };
    Err(match near {
        Some(list) => format!(
            "`{key}` is taken for an axis, whose values are strings; did you mean `{list}`?"
        ),
        None => format!("axis `{key}` must list strings only (write numbers as \"1\")"),
    })
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

    fn parse(json: &str) -> Result<Matrix, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn a_misspelt_include_is_named_not_taken_for_an_axis() {
        let err = parse(r#"{"a": ["1"], "includes": [{"a": "2"}]}"#).unwrap_err();
        assert!(err.contains("did you mean `include`?"), "{err}");
        let err = parse(r#"{"a": ["1"], "exlude": [{"a": "1"}]}"#).unwrap_err();
        assert!(err.contains("did you mean `exclude`?"), "{err}");
    }

    #[test]
    fn an_axis_that_is_not_a_list_of_strings_says_what_it_needs() {
        let err = parse(r#"{"toolchain": "stable"}"#).unwrap_err();
        assert!(
            err.contains("axis `toolchain` must be a list of strings"),
            "{err}"
        );
        let err = parse(r#"{"n": [1, 2]}"#).unwrap_err();
        assert!(err.contains("write numbers as \"1\""), "{err}");
        let matrix = parse(r#"{"toolchain": ["stable", "beta"]}"#).unwrap();
        assert_eq!(
            matrix.axes,
            [(
                "toolchain".to_owned(),
                vec!["stable".to_owned(), "beta".to_owned()]
            )]
        );
    }
}
