//! Keeping report bodies under GitHub's size limits without breaking their Markdown.
//!
//! [`truncate_markdown`] cuts an over-long body at a line boundary where no code fence
//! and no `<details>` is open, so the truncation note it appends renders as a note and
//! not as the tail of a code block or a collapsed section. Two independent views decide
//! where a cut is safe, and both must agree:
//! - a line scanner following CommonMark's fence rules (char, length, indentation) and
//!   counting `<details>` lines, which is what GitHub's own parser sees at top level;
//! - pulldown-cmark, which also knows what a line scanner cannot: a "```" line inside an
//!   HTML block is not a fence, and `<!--`, `<pre>`, `<script>`… blocks run on until
//!   their end marker, through blank lines.

use std::ops::Range;

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag};

/// GitHub's limit for a pull-request or issue comment body, in characters
/// (`body is too long (maximum is 65536 characters)`): measure with [`Unit::Chars`].
pub(crate) const PR_COMMENT_LIMIT: usize = 65_536;

/// GitHub's limit for one step's job summary (`$GITHUB_STEP_SUMMARY`), in bytes: measure
/// with [`Unit::Bytes`].
pub(crate) const JOB_SUMMARY_LIMIT: usize = 1024 * 1024;

/// What a size limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Unit {
    /// Unicode scalar values (Rust `char`s), as GitHub counts comment bodies.
    Chars,
    /// UTF-8 bytes, as GitHub counts job summaries.
    Bytes,
}

impl Unit {
    /// The size of `text` in this unit.
    pub(crate) fn measure(self, text: &str) -> usize {
        match self {
            Unit::Chars => text.chars().count(),
            Unit::Bytes => text.len(),
        }
    }
}

/// Placeholder in the note replaced by the number of lines cut off.
pub(crate) const OMITTED_PLACEHOLDER: &str = "{omitted}";

/// Placeholder in the note replaced by the number of lines in the whole body.
pub(crate) const TOTAL_PLACEHOLDER: &str = "{total}";

/// Fits `body` into `max` units, cutting it at a safe line boundary and appending `note`.
///
/// A body of at most `max` units is returned unchanged. Otherwise the result is the
/// longest prefix of whole lines after which no code fence (```` ``` ````/`~~~`, any
/// length) and no `<details>` is open, then a blank line, then `note`, all within `max`.
/// When no such prefix fits, the result is `note` alone, itself cut to `max` if needed.
/// Cuts fall only between lines (or chars, for the note), so no UTF-8 char is split.
///
/// In `note`, [`OMITTED_PLACEHOLDER`] (`{omitted}`) and [`TOTAL_PLACEHOLDER`]
/// (`{total}`) become line counts, because only this function knows where it cut:
/// `"> ⚠️ Report truncated: {omitted} of {total} lines omitted. Full evidence: …"`.
/// The note is otherwise appended as given; it starts at column 0 after a blank line, so
/// it also ends any list, quote or table the kept prefix ends in.
pub(crate) fn truncate_markdown(body: &str, max: usize, unit: Unit, note: &str) -> String {
    if unit.measure(body) <= max {
        return body.to_owned();
    }
    let total = body.split_inclusive('\n').count();
    // The omitted count never has more digits than the total, so a note rendered with
    // the total in both places is an upper bound on the note's final size.
    let note_budget = unit.measure(&render_note(note, total, total));
    let Some(prefix_budget) = max.checked_sub(note_budget + 1) else {
        return note_only(note, total, max, unit);
    };

    let unsafe_spans = parsed_unsafe_spans(body);
    let mut spans = unsafe_spans.iter().peekable();
    let mut scanner = LineScanner::default();
    let (mut kept_lines, mut kept_bytes) = (0usize, 0usize);
    let (mut used, mut end) = (0usize, 0usize);
    for (index, line) in body.split_inclusive('\n').enumerate() {
        scanner.feed(line);
        used += unit.measure(line);
        end += line.len();
        if used > prefix_budget {
            break;
        }
        while spans.peek().is_some_and(|span| span.end <= end) {
            spans.next();
        }
        let parsed_safe = spans.peek().is_none_or(|span| span.start >= end);
        // A kept prefix must end with a line break, or the blank line before the note
        // would not be blank; only the body's last line can lack one, and it never fits.
        if scanner.is_safe() && parsed_safe && line.ends_with('\n') {
            kept_lines = index + 1;
            kept_bytes = end;
        }
    }
    if kept_lines == 0 {
        return note_only(note, total, max, unit);
    }

    let rendered = render_note(note, total - kept_lines, total);
    let mut out = String::with_capacity(kept_bytes + 1 + rendered.len());
    out.push_str(body.get(..kept_bytes).unwrap_or_default());
    out.push('\n');
    out.push_str(&rendered);
    out
}

/// The note for a body of which nothing could be kept, cut to `max` if it must be.
fn note_only(note: &str, total: usize, max: usize, unit: Unit) -> String {
    let rendered = render_note(note, total, total);
    let end = match unit {
        Unit::Chars => rendered
            .char_indices()
            .nth(max)
            .map_or(rendered.len(), |(at, _)| at),
        Unit::Bytes => {
            let mut at = max.min(rendered.len());
            while !rendered.is_char_boundary(at) {
                at -= 1;
            }
            at
        }
    };
    rendered.get(..end).unwrap_or_default().to_owned()
}

/// `note` with its placeholders filled in.
fn render_note(note: &str, omitted: usize, total: usize) -> String {
    note.replace(OMITTED_PLACEHOLDER, &omitted.to_string())
        .replace(TOTAL_PLACEHOLDER, &total.to_string())
}

/// The line-by-line view: open fence and `<details>` nesting after each line.
#[derive(Debug, Default)]
struct LineScanner {
    /// The opening fence's char and length while inside a fenced code block.
    fence: Option<(u8, usize)>,
    /// How many `<details>` are open (stray closers do not go below zero).
    details: usize,
}

impl LineScanner {
    fn feed(&mut self, line: &str) {
        let line = line.trim_end_matches(['\n', '\r']);
        let marker = fence_marker(line);
        match (self.fence, marker) {
            (Some((ch, len)), Some((mch, mlen, rest))) => {
                // A closing fence: same char, at least as long, nothing but spaces after.
                if mch == ch && mlen >= len && rest.trim_matches([' ', '\t']).is_empty() {
                    self.fence = None;
                }
            }
            (Some(_), None) => {}
            (None, Some((mch, mlen, rest))) => {
                // A backtick fence's info string may not contain backticks: such a line
                // is an inline code span, not a fence.
                if mch != b'`' || !rest.contains('`') {
                    self.fence = Some((mch, mlen));
                }
            }
            (None, None) => {
                // Only lines that open an HTML block with the tag count: a `<details>`
                // quoted in the middle of prose is not structure.
                let lower = line.trim_start_matches(' ').to_ascii_lowercase();
                if lower.starts_with("<details") || lower.starts_with("</details") {
                    self.details = apply_details(self.details, &lower);
                }
            }
        }
    }

    fn is_safe(&self) -> bool {
        self.fence.is_none() && self.details == 0
    }
}

/// The fence char, run length and the rest of the line, if `line` (without its line
/// ending) starts with a fence: at most 3 spaces, then 3+ backticks or tildes. A tab
/// in the indentation reaches column 4, which makes an indented code line instead.
fn fence_marker(line: &str) -> Option<(u8, usize, &str)> {
    let indent = line.bytes().take_while(|&b| b == b' ').count();
    if indent > 3 {
        return None;
    }
    let rest = line.get(indent..)?;
    let ch = *rest.as_bytes().first()?;
    if ch != b'`' && ch != b'~' {
        return None;
    }
    let len = rest.bytes().take_while(|&b| b == ch).count();
    if len < 3 {
        return None;
    }
    Some((ch, len, rest.get(len..)?))
}

/// `depth` after the `<details` openers and `</details` closers in `lower` (lowercase
/// HTML), in order, never going below zero.
fn apply_details(mut depth: usize, lower: &str) -> usize {
    let mut rest = lower;
    while let Some(at) = rest.find('<') {
        rest = rest.get(at + 1..).unwrap_or_default();
        let (closing, after) = match rest.strip_prefix('/') {
            Some(after) => (true, after),
            None => (false, rest),
        };
        let Some(after) = after.strip_prefix("details") else {
            continue;
        };
        // `<detailsx>` is another tag.
        if after
            .chars()
            .next()
            .is_some_and(|c| !matches!(c, '>' | '/' | ' ' | '\t' | '\n' | '\r'))
        {
            continue;
        }
        depth = if closing {
            depth.saturating_sub(1)
        } else {
            depth + 1
        };
    }
    depth
}

/// The parser's view: byte ranges of `body` that a cut must not fall strictly inside,
/// sorted by start. These are top-level fenced code blocks (an unclosed one runs to the
/// end), top-level HTML blocks that end only at a marker (`<!--`, `<?`, `<!X`,
/// `<![CDATA[`, `<pre`, `<script`, `<style`, `<textarea`), and every stretch where a
/// `<details>` seen as HTML is open. Fences nested in lists and quotes are left out on
/// purpose: the note at column 0 after a blank line closes their container, and the
/// container closes them.
fn parsed_unsafe_spans(body: &str) -> Vec<Range<usize>> {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_GFM;
    let mut spans = Vec::new();
    let mut depth = 0usize;
    let mut details = 0usize;
    let mut details_start = 0usize;
    for (event, range) in Parser::new_ext(body, options).into_offset_iter() {
        match &event {
            Event::Start(tag) => {
                if depth == 0 && ends_only_at_marker(tag, body.get(range.clone())) {
                    spans.push(range.clone());
                }
                depth += 1;
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Html(html) | Event::InlineHtml(html) => {
                let before = details;
                details = apply_details(details, &html.to_ascii_lowercase());
                if before == 0 && details > 0 {
                    details_start = range.start;
                } else if before > 0 && details == 0 {
                    spans.push(details_start..range.end);
                }
            }
            _ => {}
        }
    }
    if details > 0 {
        spans.push(details_start..body.len());
    }
    spans.sort_unstable_by_key(|span| span.start);
    spans
}

/// Whether a top-level block goes on until an end marker rather than a blank line, so
/// that cutting inside it would swallow the note.
fn ends_only_at_marker(tag: &Tag<'_>, source: Option<&str>) -> bool {
    match tag {
        Tag::CodeBlock(CodeBlockKind::Fenced(_)) => true,
        Tag::HtmlBlock => {
            let start: String = source
                .unwrap_or_default()
                .trim_start_matches(' ')
                .chars()
                .take(10)
                .collect::<String>()
                .to_ascii_lowercase();
            start.starts_with("<!")
                || start.starts_with("<?")
                || ["<pre", "<script", "<style", "<textarea"]
                    .iter()
                    .any(|tag| start.starts_with(tag))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use pulldown_cmark::TagEnd;

    const NOTE: &str = "> Zq9 truncated: {omitted} of {total} lines omitted.";

    fn note(omitted: usize, total: usize) -> String {
        render_note(NOTE, omitted, total)
    }

    #[test]
    fn body_at_the_limit_is_unchanged() {
        let body = "# Report\n\nété 🚀\n";
        let chars = Unit::Chars.measure(body);
        let bytes = Unit::Bytes.measure(body);
        assert!(bytes > chars);
        assert_eq!(truncate_markdown(body, chars, Unit::Chars, NOTE), body);
        assert_eq!(truncate_markdown(body, bytes, Unit::Bytes, NOTE), body);
    }

    #[test]
    fn one_unit_over_is_cut_at_a_line() {
        let body: String = (0..100).map(|i| format!("line {i}\n")).collect();
        for unit in [Unit::Chars, Unit::Bytes] {
            let max = unit.measure(&body) - 1;
            let out = truncate_markdown(&body, max, unit, NOTE);
            assert!(unit.measure(&out) <= max);
            let (kept, tail) = out.split_once("\n\n").expect("prefix, blank line, note");
            let kept_lines = kept.lines().count();
            assert!(body.starts_with(&format!("{kept}\n")));
            assert_eq!(tail, note(100 - kept_lines, 100));
            // The longest prefix that leaves room for the note was kept.
            assert!(kept_lines >= 90, "kept only {kept_lines} lines");
        }
    }

    #[test]
    fn cut_inside_a_fence_backs_off_before_it() {
        // A long tilde fence with a shorter tilde run and a backtick fence inside: neither
        // closes it, so no cut may fall before its real closing line.
        let inner: String = (0..50).map(|i| format!("output {i}\n")).collect();
        let body = format!("intro\n\n~~~~ text\n~~~\n```\n{inner}~~~~\nafter\n{inner}");
        let max = body.find("output 40").unwrap_or_default() + 60;
        let out = truncate_markdown(&body, max, Unit::Bytes, NOTE);
        assert_eq!(out, format!("intro\n\n\n{}", note(105, 107)));

        // Past the closing fence, the cut may land after it.
        let max = body.find("after").unwrap_or_default() + 80;
        let out = truncate_markdown(&body, max, Unit::Bytes, NOTE);
        assert!(out.contains("~~~~\nafter\n"), "{out}");
    }

    #[test]
    fn cut_inside_details_backs_off_before_it() {
        let lines: String = (0..40).map(|i| format!("- check {i}\n")).collect();
        let body =
            format!("# Report\n<details><summary>log</summary>\n\n{lines}\n</details>\n\nend\n");
        let out = truncate_markdown(&body, body.len() - 10, Unit::Bytes, NOTE);
        assert!(out.starts_with("# Report\n\n> Zq9"), "{out}");
    }

    #[test]
    fn parser_view_catches_what_lines_cannot() {
        // Inside `<div>` the first "```" is HTML; the blank line ends the block and the
        // second "```" opens a fence that never closes. The line view sees a closed
        // fence, the parser an open one: only the cut both accept remains.
        let tail: String = (0..30).map(|i| format!("x{i}\n")).collect();
        let body = format!("ok\n\n<div>\n```\n\n```\n{tail}");
        let out = truncate_markdown(&body, body.len() - 5, Unit::Bytes, NOTE);
        assert!(out.starts_with("ok\n\n<div>\n\n> Zq9"), "{out}");

        // An unclosed comment swallows everything after it.
        let body = format!("ok\n\n<!-- hidden\n\n{tail}");
        let out = truncate_markdown(&body, body.len() - 5, Unit::Bytes, NOTE);
        assert!(out.starts_with("ok\n\n\n> Zq9"), "{out}");
    }

    #[test]
    fn multi_byte_chars_at_the_boundary_stay_whole() {
        let body = "ab\n🚀🚀🚀\néé\n".repeat(5);
        let short = "N🚀";
        for max in 0..body.len() {
            for unit in [Unit::Chars, Unit::Bytes] {
                let out = truncate_markdown(&body, max, unit, short);
                assert!(unit.measure(&out) <= max, "{max} {unit:?}: {out:?}");
                if unit.measure(&body) > max && out.len() > short.len() {
                    assert!(out.ends_with("\n\nN🚀"));
                }
            }
        }
        // The note alone, cut inside its emoji: the emoji goes, not half of it.
        assert_eq!(truncate_markdown(&body, 3, Unit::Bytes, short), "N");
        assert_eq!(truncate_markdown(&body, 1, Unit::Chars, short), "N");
        assert_eq!(truncate_markdown(&body, 0, Unit::Chars, short), "");
    }

    #[test]
    fn no_safe_boundary_leaves_the_note_alone() {
        let body = format!("```\n{}", "x\n".repeat(100));
        let out = truncate_markdown(&body, 120, Unit::Chars, NOTE);
        assert_eq!(out, note(101, 101));
    }

    #[test]
    fn scanner_follows_commonmark_fences() {
        let fenced = |lines: &[&str]| {
            let mut scanner = LineScanner::default();
            for line in lines {
                scanner.feed(line);
            }
            scanner.fence.is_some()
        };
        assert!(fenced(&["```rust\n"]));
        assert!(fenced(&["   ~~~\n"]));
        assert!(!fenced(&["    ```\n"]), "4 spaces: indented code");
        assert!(!fenced(&["\t```\n"]), "a tab reaches column 4");
        assert!(!fenced(&["``` a `b`\n"]), "backtick in the info: code span");
        assert!(fenced(&["~~~ a `b`\n"]), "tilde fences allow backticks");
        assert!(fenced(&["````\n", "```\n"]), "shorter does not close");
        assert!(fenced(&["```\n", "~~~\n"]), "other char does not close");
        assert!(fenced(&["```\n", "``` x\n"]), "closing fence takes no info");
        assert!(!fenced(&["```\n", "  `````  \r\n"]));
        assert_eq!(apply_details(0, "<details open><summary>"), 1);
        assert_eq!(apply_details(1, "</details><details>"), 1);
        assert_eq!(apply_details(0, "</details></details><detailsx>"), 0);
    }

    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "```",
                "````",
                "```rust",
                "~~~",
                "~~~~",
                "   ```",
                "    ```",
                "\t```",
                "``` x ` y",
                "<details>",
                "<details open>",
                "<summary>s</summary>",
                "</details>",
                "<DETAILS>",
                "<!-- c",
                "-->",
                "<div>",
                "<pre>",
                "</pre>",
                "",
                "- item",
                "  ```",
                "> quote",
                "> ```",
                "| a | b |",
                "|---|---|",
                "1. one",
            ])
            .prop_map(str::to_owned),
            "[a-zé漢🚀 `~<>]{0,12}",
        ]
    }

    /// Whether `markdown` shows `marker` as text outside any code block, HTML block and
    /// open `<details>`.
    fn marker_renders(markdown: &str, marker: &str) -> bool {
        let options = Options::ENABLE_TABLES
            | Options::ENABLE_STRIKETHROUGH
            | Options::ENABLE_TASKLISTS
            | Options::ENABLE_FOOTNOTES
            | Options::ENABLE_GFM;
        let (mut code_or_html, mut details) = (0usize, 0usize);
        for event in Parser::new_ext(markdown, options) {
            match event {
                Event::Start(Tag::CodeBlock(_) | Tag::HtmlBlock) => code_or_html += 1,
                Event::End(TagEnd::CodeBlock | TagEnd::HtmlBlock) => code_or_html -= 1,
                Event::Html(h) | Event::InlineHtml(h) => {
                    details = apply_details(details, &h.to_ascii_lowercase());
                }
                Event::Text(t) if t.contains(marker) => return code_or_html == 0 && details == 0,
                _ => {}
            }
        }
        false
    }

    proptest! {
        #[test]
        fn output_fits_and_the_note_renders(
            lines in prop::collection::vec(line(), 0..40),
            crlf in any::<bool>(),
            final_newline in any::<bool>(),
            slack in 0usize..400,
            bytes in any::<bool>(),
        ) {
            let mut body = lines.join(if crlf { "\r\n" } else { "\n" });
            if final_newline {
                body.push('\n');
            }
            let unit = if bytes { Unit::Bytes } else { Unit::Chars };
            let max = (unit.measure(&body) + 20).saturating_sub(slack);
            let out = truncate_markdown(&body, max, unit, NOTE);
            prop_assert!(unit.measure(&out) <= max);
            if unit.measure(&body) <= max {
                prop_assert_eq!(out, body);
                return Ok(());
            }
            let total = body.split_inclusive('\n').count();
            let only_note = note(total, total);
            if only_note.starts_with(&out) {
                return Ok(());
            }
            let Some(at) = out.rfind("\n\n> Zq9") else {
                return Err(TestCaseError::fail(format!("no note: {out:?}")));
            };
            let kept = &out[..=at];
            prop_assert!(body.starts_with(kept));
            let mut scanner = LineScanner::default();
            kept.split_inclusive('\n').for_each(|l| scanner.feed(l));
            prop_assert!(scanner.is_safe(), "open fence or details in {:?}", kept);
            prop_assert!(marker_renders(&out, "Zq9"), "note swallowed in {:?}", out);
        }
    }
}
