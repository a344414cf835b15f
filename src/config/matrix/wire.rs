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
