//! `"sandbox"` on a hook (or manifest.json's default): where a task's processes may
//! write, what they may read, and whether they may use the network. The rules are
//! enforced by `supervise::sandbox`; this file is only what the user wrote, checked while
//! parsing so that a mistake points at its line and column.
//!
//! ```json
//! "sandbox": { "write": ["target", "out"], "net": "none" }
//! "sandbox": "cargo"
//! ```

use serde::{Deserialize, Serialize};

/// A hook's sandbox: its own rules, or a preset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub(crate) enum Sandbox {
    Rules(SandboxRules),
    Preset(Preset),
}

/// A named set of rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Preset {
    /// What a cargo build or test needs: writes to the target directory, `Cargo.lock`,
    /// cargo's caches and the temporary directory, reads everything but credentials, no
    /// network.
    Cargo,
}

/// The rules as written. Paths are relative to the workspace root or absolute, and may
/// start with `~/`, `$HOME`, `$TMPDIR`, `$CARGO_HOME` or `$CARGO_TARGET_DIR`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SandboxRules {
    /// The only places where files may be created, changed or deleted (besides the
    /// temporary directory and the task's own log directory). Absent: anywhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) write: Option<Vec<String>>,
    /// The only places that may be read (besides the system's own directories, the
    /// `write` places, the temporary and log directories). Absent: everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) read: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) net: Net,
    /// `false`: a rule this kernel cannot enforce is recorded as not enforced and the
    /// task runs without it, instead of failing.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub(crate) required: bool,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// The network a task may use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Net {
    /// No TCP connect or bind, no UDP, raw or other sockets but Unix ones.
    None,
    /// No restriction.
    #[default]
    All,
}

impl Net {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Net::None => "none",
            Net::All => "all",
        }
    }
}

impl<'de> Deserialize<'de> for Net {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let word = String::deserialize(d)?;
        match word.as_str() {
            "none" => Ok(Net::None),
            "all" => Ok(Net::All),
            // Refused rather than half done: Landlock allows or denies TCP by port, not
            // by address, so "loopback" would either block the loopback too or let the
            // task reach any host.
            "loopback" => Err(serde::de::Error::custom(
                "`net: \"loopback\"` cannot be enforced: Landlock restricts TCP by port, not by address, so a task allowed the loopback could reach any host; use \"none\" (local services stay reachable through Unix sockets) or \"all\"",
            )),
            other => Err(serde::de::Error::custom(format!(
                "unknown `net` value {other:?}: use \"none\" or \"all\""
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for Sandbox {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Either;
        impl<'de> serde::de::Visitor<'de> for Either {
            type Value = Sandbox;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a sandbox object such as {\"write\": [\"target\"], \"net\": \"none\"}, or the preset \"cargo\"",
                )
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Sandbox, E> {
                match text {
                    "cargo" => Ok(Sandbox::Preset(Preset::Cargo)),
                    other => Err(E::custom(format!(
                        "unknown sandbox preset {other:?}: the preset is \"cargo\", or write the rules as an object, {{\"write\": [\"target\"], \"net\": \"none\"}}"
                    ))),
                }
            }
            // Through the struct's own derive, so an unknown key keeps serde's message
            // and its position.
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Sandbox, A::Error> {
                SandboxRules::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(Sandbox::Rules)
            }
        }
        d.deserialize_any(Either)
    }
}

impl Sandbox {
    /// The rules this sandbox stands for.
    pub(crate) fn rules(&self) -> SandboxRules {
        match self {
            Sandbox::Rules(rules) => rules.clone(),
            Sandbox::Preset(Preset::Cargo) => SandboxRules {
                write: Some(vec![
                    "$CARGO_TARGET_DIR".into(),
                    "Cargo.lock".into(),
                    "$CARGO_HOME/registry".into(),
                    "$CARGO_HOME/git".into(),
                ]),
                // Everything; credentials are carved out of every `read` list.
                read: Some(vec!["/".into()]),
                net: Net::None,
                required: true,
            },
        }
    }

    /// The preset's name, if this is one.
    pub(crate) fn preset(&self) -> Option<&'static str> {
        match self {
            Sandbox::Preset(Preset::Cargo) => Some("cargo"),
            Sandbox::Rules(_) => None,
        }
    }
}

impl SandboxRules {
    /// The rules in a line, as failure reasons and `check` show them:
    /// `write: target, out; net: none`.
    pub(crate) fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(write) = &self.write {
            parts.push(format!("write: {}", list(write)));
        }
        if let Some(read) = &self.read {
            parts.push(format!("read: {}", list(read)));
        }
        if self.net != Net::All {
            parts.push(format!("net: {}", self.net.as_str()));
        }
        if parts.is_empty() {
            "no restrictions".into()
        } else {
            parts.join("; ")
        }
    }
}

fn list(paths: &[String]) -> String {
    if paths.is_empty() {
        "nothing".into()
    } else {
        paths.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Sandbox, serde_json::Error> {
        serde_json::from_str(text)
    }

    #[test]
    fn rules_a_preset_and_their_description() {
        let s = parse(r#"{"write": ["target", "out"], "net": "none"}"#).unwrap();
        assert_eq!(s.rules().describe(), "write: target, out; net: none");
        assert!(s.rules().required);
        let cargo = parse(r#""cargo""#).unwrap();
        assert_eq!(cargo.preset(), Some("cargo"));
        assert_eq!(cargo.rules().net, Net::None);
        assert_eq!(parse("{}").unwrap().rules().describe(), "no restrictions");
        let loose = parse(r#"{"read": [], "required": false}"#).unwrap();
        assert!(!loose.rules().required);
        assert_eq!(loose.rules().describe(), "read: nothing");
    }

    #[test]
    fn mistakes_say_what_to_write() {
        for (text, says) in [
            (r#"{"wirte": []}"#, "unknown field `wirte`"),
            (r#"{"net": "loopback"}"#, "by port, not by address"),
            (r#"{"net": "some"}"#, "use \"none\" or \"all\""),
            (r#""docker""#, "unknown sandbox preset \"docker\""),
            ("[]", "a sandbox object"),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(says), "{text}: {err}");
        }
    }
}
