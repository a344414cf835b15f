//! Durations in config files: a number of seconds or a humantime string ("90s", "5m").

use std::fmt;

/// A duration read from config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Duration(pub std::time::Duration);

impl<'de> serde::Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Seconds(f64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Seconds(s) if (0.0..1e9).contains(&s) => {
                Ok(Duration(std::time::Duration::from_secs_f64(s)))
            }
            Raw::Seconds(s) => Err(serde::de::Error::custom(format!(
                "invalid duration {s}: expected a non-negative number of seconds"
            ))),
            Raw::Text(t) => parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

impl serde::Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

/// Parses "90", "90s", "5m", "1h 30m".
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<f64>() {
        if secs.is_finite() && (0.0..1e9).contains(&secs) {
            return Ok(Duration(std::time::Duration::from_secs_f64(secs)));
        }
    }
    humantime::parse_duration(text).map(Duration).map_err(|e| {
        format!("invalid duration `{text}`: {e} (expected e.g. 90, \"90s\" or \"5m\")")
    })
}

impl std::str::FromStr for Duration {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_seconds_and_humantime() {
        assert_eq!(parse("90").unwrap().0.as_secs(), 90);
        assert_eq!(parse("5m").unwrap().0.as_secs(), 300);
        assert_eq!(parse("1.5").unwrap().0.as_millis(), 1500);
        assert!(parse("soon").is_err());
        assert!(parse("-3").is_err());
        let d: Duration = serde_json::from_str("\"90s\"").unwrap();
        assert_eq!(d.0.as_secs(), 90);
        let d: Duration = serde_json::from_str("2").unwrap();
        assert_eq!(d.0.as_secs(), 2);
    }
}
