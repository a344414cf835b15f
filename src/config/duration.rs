//! Durations in config files: a number of seconds or a humantime string ("90s", "5m").

use std::fmt;

/// The longest duration accepted anywhere (a timeout, a grace period): 30 days. Longer
/// ones are typos, and adding them to a clock would overflow.
pub(crate) const MAX: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// A duration read from config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Duration(pub std::time::Duration);

impl<'de> serde::Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Seconds(f64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Seconds(s) => seconds(s, &s.to_string()).map_err(serde::de::Error::custom),
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

/// A number of seconds, within `0..=MAX`.
fn seconds(secs: f64, text: &str) -> Result<Duration, String> {
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!(
            "invalid duration `{text}`: expected a non-negative number of seconds"
        ));
    }
    if secs > MAX.as_secs_f64() {
        return Err(too_long(text));
    }
    Ok(Duration(std::time::Duration::from_secs_f64(secs)))
}

fn too_long(text: &str) -> String {
    format!(
        "duration `{text}` is too long: at most {} is accepted",
        humantime::format_duration(MAX)
    )
}

/// Parses "90", "90s", "5m", "1h 30m"; at most [`MAX`].
pub(crate) fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<f64>() {
        return seconds(secs, text);
    }
    match humantime::parse_duration(text) {
        Ok(d) if d > MAX => Err(too_long(text)),
        Ok(d) => Ok(Duration(d)),
        // humantime reports an overflow for e.g. "300000000000y": still just too long.
        Err(humantime::DurationError::NumberOverflow) => Err(too_long(text)),
        Err(e) => Err(format!(
            "invalid duration `{text}`: {e} (expected e.g. 90, \"90s\" or \"5m\")"
        )),
    }
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

    #[test]
    fn durations_beyond_the_maximum_are_errors_not_overflows() {
        for text in [
            "300000000000y",
            "31days",
            "99999999999999999999",
            "1e300",
            "3000000",
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains("too long"), "{text}: {err}");
        }
        assert!(parse("30days").is_ok());
        assert!(serde_json::from_str::<Duration>("1e12").is_err());
        assert!(serde_json::from_str::<Duration>("\"300000000000y\"").is_err());
        assert!(parse("NaN").is_err());
    }
}
