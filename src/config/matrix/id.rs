//! Combination ids: `base[axis=value,...]`, a valid log folder name through the
//! evidence's encoding, that two combinations never share and that splits back.

use super::model::Combination;

impl Combination {
    /// The task id of this combination of task `base`:
    /// `base[axis=value,...]`, with `%`, `,`, `=`, `[` and `]` in values percent-encoded so
    /// that two combinations never share an id.
    pub(crate) fn id(&self, base: &str) -> String {
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
pub(crate) fn split_id(id: &str) -> Option<(&str, Vec<(String, String)>)> {
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

#[cfg(test)]
mod tests {
    use super::super::testing::load;
    use super::*;

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
}
