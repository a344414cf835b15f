//! The report for a command that made no run: bad input (exit 1), such as a malformed
//! `sot.md` or `hooks.json`, or a `plan`/`check` that passed (exit 0). Without it, a pull
//! request whose configuration broke would keep showing the previous run's "✅ all tasks
//! passed", and one fixed since would keep showing "broken".
//!
//! The error output is cargo-tek's own stderr, captured by the action; it quotes the
//! user's files, so it is untrusted text: colour codes stripped, secrets masked, and
//! fenced with [`code_block`] so it cannot render as Markdown, mention anyone or close
//! the fence.

use minijinja::Environment;
use serde::Serialize;

use super::escape::code_block;
use super::limit::{truncate_markdown, Unit};
use super::render::ReportError;
use crate::redact::Secrets;

/// The built-in template for a broken configuration (not overridable: it must render
/// even when the workspace's own templates are what broke).
pub(crate) const BROKEN_TEMPLATE: (&str, &str) =
    ("broken.md.j2", include_str!("../../templates/broken.md.j2"));

/// Tails of the error output tried, longest first, until the body fits its limit.
const TAILS: [usize; 4] = [16 * 1024, 4 * 1024, 1024, 256];

#[derive(Debug, Serialize)]
struct BrokenContext {
    marker: Option<String>,
    emoji: &'static str,
    headline: String,
    explanation: &'static str,
    ci_url: Option<String>,
    /// The fenced error output.
    message: String,
    /// Bytes shown when the output was cut, else 0.
    cut: usize,
}

/// What the command that stopped said, and how it ended.
pub(crate) struct Broken<'a> {
    /// Its stderr, as captured (may hold colour codes and secrets).
    pub(crate) output: &'a str,
    /// Its exit code.
    pub(crate) exit_code: i32,
}

/// Renders the broken-configuration report within `limit` (`unit`s).
pub(crate) fn render_broken(
    broken: &Broken<'_>,
    marker: Option<String>,
    ci_url: Option<String>,
    secrets: &Secrets,
    limit: usize,
    unit: Unit,
) -> Result<String, ReportError> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    let (name, source) = BROKEN_TEMPLATE;
    let fail = |e: minijinja::Error| ReportError::Template {
        name: name.to_owned(),
        line: e.line().unwrap_or(0),
        message: e.to_string(),
    };
    env.add_template(name, source).map_err(fail)?;
    let template = env.get_template(name).map_err(fail)?;
    let clean = secrets.mask(&console::strip_ansi_codes(broken.output));
    let clean = clean.trim_matches('\n');
    let (emoji, headline, explanation) = match broken.exit_code {
        // `plan` or `check` succeeded: say so, or a fixed PR would keep "broken".
        0 => (
            "✅",
            "the configuration is valid".to_owned(),
            "Planned and checked only: no task ran.",
        ),
        1 => (
            "❌",
            "the configuration is broken".to_owned(),
            "No task ran: cargo-tek stopped on bad input. Fix what the message below points at (file:line:column), then push again.",
        ),
        code => (
            "❌",
            format!("stopped with an error (exit {code})"),
            "No task ran: cargo-tek stopped before starting any task.",
        ),
    };
    let mut last = String::new();
    for max in TAILS {
        let (text, cut) = tail(clean, max);
        let message = match text.trim().is_empty() {
            true if broken.exit_code == 0 => String::new(),
            true => code_block(
                "(cargo-tek printed no error message; see the CI log)",
                "text",
            ),
            false => code_block(text, "text"),
        };
        let ctx = BrokenContext {
            marker: marker.clone(),
            emoji,
            headline: headline.clone(),
            explanation,
            ci_url: ci_url.clone(),
            message,
            cut: if cut { text.len() } else { 0 },
        };
        let body = secrets.mask(
            &template
                .render(minijinja::Value::from(minijinja::value::Serde(&ctx)))
                .map_err(fail)?,
        );
        if unit.measure(&body) <= limit {
            return Ok(body);
        }
        last = body;
    }
    Ok(truncate_markdown(
        &last,
        limit,
        unit,
        "> ⚠️ Error output truncated; see the CI log.",
    ))
}

/// The last `max` bytes of `text` starting at a line, and whether anything was cut.
fn tail(text: &str, max: usize) -> (&str, bool) {
    if text.len() <= max {
        return (text, false);
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let rest = &text[start..];
    // Start at a whole line when one begins inside the tail.
    let rest = match rest.find('\n') {
        Some(i) if i + 1 < rest.len() => &rest[i + 1..],
        _ => rest,
    };
    (rest, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIAGNOSTIC: &str = "\u{1b}[31merror\u{1b}[0m: unknown field `cmdz` in hooks.json\n  ╭─[config/hooks.json:3:7]\n 3 │ {\"cmdz\": [\"@here\"]} ```\n  ╰────\n";

    fn render(output: &str, code: i32, limit: usize) -> String {
        let broken = Broken {
            output,
            exit_code: code,
        };
        render_broken(
            &broken,
            Some("<!-- m -->".into()),
            None,
            &Secrets::new(["s3cr3t-value".to_string()]),
            limit,
            Unit::Chars,
        )
        .unwrap()
    }

    #[test]
    fn the_message_is_fenced_masked_and_uncoloured() {
        let body = render(
            &format!("{DIAGNOSTIC}token s3cr3t-value ghp_{}\n", "a".repeat(36)),
            1,
            usize::MAX,
        );
        assert!(
            body.starts_with("<!-- m -->\n## ❌ cargo-tek: the configuration is broken\n"),
            "{body}"
        );
        assert!(body.contains("config/hooks.json:3:7"), "{body}");
        assert!(!body.contains('\u{1b}'), "{body}");
        assert!(
            !body.contains("s3cr3t") && !body.contains("ghp_aaa"),
            "{body}"
        );
        // The output holds a ``` run, so the fence is longer and cannot be closed.
        assert!(body.contains("````text\n"), "{body}");
        let other = render("boom", 3, usize::MAX);
        assert!(other.contains("stopped with an error (exit 3)"), "{other}");
        let empty = render("", 1, usize::MAX);
        assert!(empty.contains("printed no error message"), "{empty}");
        let valid = render("", 0, usize::MAX);
        assert!(
            valid.contains("## ✅ cargo-tek: the configuration is valid") && !valid.contains("```"),
            "{valid}"
        );
    }

    #[test]
    fn a_long_message_keeps_its_end_within_the_limit() {
        let mut output = "noise line\n".repeat(10_000);
        output.push_str("error: the real cause at sot.md:9:1\n");
        let body = render(&output, 1, 3_000);
        assert!(body.chars().count() <= 3_000, "{}", body.len());
        assert!(body.contains("sot.md:9:1"), "{body}");
        assert!(body.contains("Only the last"), "{body}");
        assert_eq!(tail("ab\ncd\nef", 4), ("ef", true));
        assert_eq!(tail("é", 1), ("", true));
    }
}
