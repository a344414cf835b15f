//! Making untrusted text (task titles from `sot.md`, task output) inert in GitHub-flavoured
//! Markdown. Masking secrets is [`crate::redact`]'s, below every writer.
//!
//! Three contexts, three functions:
//! - [`inline`]: prose and table cells. Every ASCII punctuation character is
//!   backslash-escaped (CommonMark §2.4: an escaped punctuation character is always a
//!   literal), `<`, `>`, `&` and `|` become entities, line breaks collapse to one space.
//! - [`html_text`]: text inside raw HTML such as `<summary>…</summary>`, where Markdown
//!   (and so backslash escapes) is not processed.
//! - [`code_block`]: long output, kept verbatim inside a fence it cannot close.
//!
//! GitHub links mentions and issue references *after* rendering, on the text nodes of the
//! HTML, so no Markdown or HTML escape (`\@`, `&#64;`) stops them: the decoded text still
//! reads `@user`. What does stop them is a character between the sigil and the name that
//! GitHub's patterns do not accept: see [`REF_BREAKER`].

/// The character inserted after `@`, `#` and `GH-` when a name or number follows, so
/// that GitHub neither mentions (`@user`, `@org/team`) nor links (`#123`, `GH-123`,
/// `owner/repo#1`) anyone.
///
/// U+200B ZERO WIDTH SPACE: it renders as nothing, so readers still see `@user`; GitHub's
/// mention and reference patterns need an ASCII letter or digit right after the sigil, so
/// the match fails; it is what Dependabot and Renovate insert for the same reason. U+200D
/// (zero width joiner) was rejected: it glues neighbouring emoji into ZWJ sequences.
pub(crate) const REF_BREAKER: char = '\u{200B}';

/// Escapes `text` for a line of prose or a table cell in GitHub Markdown.
///
/// The result is one line that renders as the original text and nothing else: no
/// mention, issue/PR link, HTML, link, image, autolink, emphasis, code span,
/// strikethrough, math, block structure (`#`, `>`, `-`, `1.`, `===`, indentation) or
/// table cell break. Runs of line breaks, tabs and spaces become one space and the ends
/// are trimmed; NUL and other control characters, and the bidirectional overrides used
/// for "Trojan Source" spoofing, become U+FFFD. Bare `https://…` URLs stay visible text.
///
/// Because `<`, `>` and `&` are entities, the result is also harmless inside raw HTML,
/// though backslashes would show there: use [`html_text`] for that context.
pub(crate) fn inline(text: &str) -> String {
    sanitize(text, |out, c| match c {
        // Entities rather than `\<`: they also hold in raw-HTML context, where
        // backslashes are not escapes.
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '&' => out.push_str("&amp;"),
        // The table row splitter runs before inline parsing and sees only raw `|`; an
        // entity is never a cell separator, in any GFM implementation.
        '|' => out.push_str("&#124;"),
        _ => {
            out.push('\\');
            out.push(c);
        }
    })
}

/// Escapes `text` for raw HTML such as `<summary>…</summary>` in a GitHub comment.
///
/// Same guarantees as [`inline`], but every ASCII punctuation character becomes a numeric
/// entity (`&#42;`), which reads correctly both where GitHub treats the line as an HTML
/// block and where it parses Markdown (an entity is never Markdown syntax).
pub(crate) fn html_text(text: &str) -> String {
    sanitize(text, |out, c| {
        out.push_str("&#");
        out.push_str(&u32::from(c).to_string());
        out.push(';');
    })
}

/// Wraps `text` in a fenced code block that `text` cannot close, tagged with `info`.
///
/// The fence is backticks, one longer than the longest backtick run in `text` (at least
/// three), so no line of `text` can be a closing fence; `~~~` lines cannot close a
/// backtick fence either. Inside a code block GitHub links no mentions or references.
/// `info` keeps only `[A-Za-z0-9_-]`.
///
/// `text` is kept verbatim except that `\r\n` and a lone `\r` become `\n`: CommonMark
/// treats all three as line endings, and renderers disagree on whether a lone `\r` is
/// one, so normalising makes every renderer show the same lines. A final `\n` is added if
/// missing, because a code block's content always ends with one.
///
/// The block starts and ends with a line of its own and the result ends with `\n`. Put it
/// at column 0 outside lists and quotes: a container's end would end the block early.
pub(crate) fn code_block(text: &str, info: &str) -> String {
    let body = normalize_line_endings(text);
    let fence_len = longest_run(&body, '`').saturating_add(1).max(3);
    let fence = "`".repeat(fence_len);
    let info: String = info
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        .collect();

    let mut out = String::with_capacity(body.len() + 2 * fence_len + info.len() + 3);
    out.push_str(&fence);
    out.push_str(&info);
    out.push('\n');
    out.push_str(&body);
    if !body.is_empty() && !body.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&fence);
    out.push('\n');
    out
}

/// The common walk of [`inline`] and [`html_text`]: whitespace, control characters and
/// reference breaking; `punct` writes one ASCII punctuation character in escaped form.
fn sanitize(text: &str, punct: impl Fn(&mut String, char)) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let mut space_pending = false;
    let mut before_prev: Option<char> = None;
    let mut prev: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if is_line_space(c) {
            // Dropped at the start (leading spaces can make an indented code block)
            // and at the end (nothing to separate).
            space_pending = !out.is_empty();
        } else {
            if space_pending {
                out.push(' ');
                space_pending = false;
            }
            if is_unsafe_control(c) {
                out.push(char::REPLACEMENT_CHARACTER);
            } else if c.is_ascii_punctuation() {
                punct(&mut out, c);
            } else {
                out.push(c);
            }
            let name_follows = chars.peek().is_some_and(|n| n.is_alphanumeric());
            let sigil = matches!(c, '@' | '#' | '\u{FF20}' | '\u{FF03}');
            let gh_dash = c == '-'
                && before_prev.is_some_and(|g| g.eq_ignore_ascii_case(&'g'))
                && prev.is_some_and(|h| h.eq_ignore_ascii_case(&'h'));
            if name_follows && (sigil || gh_dash) {
                out.push(REF_BREAKER);
            }
        }
        before_prev = prev;
        prev = Some(c);
    }
    out
}

/// Characters that end a line or indent one: all become a single separating space.
fn is_line_space(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// Control characters (NUL among them: CommonMark itself replaces it with U+FFFD) and
/// the bidirectional embeddings, overrides and isolates that can make text display in an
/// order other than the one it is read in.
fn is_unsafe_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` with `\r\n` and lone `\r` turned into `\n`.
fn normalize_line_endings(text: &str) -> String {
    if !text.contains('\r') {
        return text.to_owned();
    }
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// Length in chars of the longest run of `ch` in `text`.
fn longest_run(text: &str, ch: char) -> usize {
    let (mut longest, mut current) = (0usize, 0usize);
    for c in text.chars() {
        current = if c == ch { current + 1 } else { 0 };
        longest = longest.max(current);
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

    /// Text that tries every way out of a table cell, a sentence or a code block.
    const HOSTILE: &[&str] = &[
        "@user",
        "ping @org/team and @octocat.",
        "fixes #123, GH-45, gh-6 and owner/repo#1 and owner/repo@abc1234",
        "<img src=x onerror=alert(1)>",
        "</details>",
        "<!-- hidden",
        "<script>alert(1)</script>",
        "[click](http://evil)",
        "](http://evil)",
        "![x](http://evil/x.png)",
        "<http://evil.example>",
        "see https://example.com/path?q=1",
        "[ref]: http://evil",
        "```\nbreakout\n```",
        "~~~\nbreakout\n~~~",
        "a | b | c",
        "*bold* _em_ **strong** `code` ~~strike~~ ~single~",
        "# heading",
        "> quote",
        "- item",
        "+ item",
        "1. item",
        "2) item",
        "===",
        "---",
        "    indented code",
        "trailing backslash \\",
        "\\*not escaped\\*",
        "line one\r\nline two\rline three\nline four",
        "nul\0here",
        "$x^2$ and $$y$$",
        "&amp; &lt; &#64;user &#35;1",
        "- [ ] task",
        "[^1] footnote",
        "> [!WARNING]\n> alert",
        "unicode: héllo 漢字 🚀 \u{202E}reversed\u{202C} ＠user ＃12",
        "   ",
        "",
    ];

    fn options() -> Options {
        Options::ENABLE_TABLES
            | Options::ENABLE_STRIKETHROUGH
            | Options::ENABLE_TASKLISTS
            | Options::ENABLE_FOOTNOTES
            | Options::ENABLE_MATH
            | Options::ENABLE_GFM
    }

    fn events(markdown: &str) -> Vec<Event<'static>> {
        Parser::new_ext(markdown, options())
            .map(Event::into_static)
            .collect()
    }

    /// What a reader should see for `text` in prose: whitespace collapsed, controls
    /// replaced, without the invisible reference breakers.
    fn visible(text: &str) -> String {
        let mapped: String = text
            .chars()
            .filter(|&c| c != REF_BREAKER)
            .map(|c| if is_line_space(c) { ' ' } else { c })
            .map(|c| {
                if is_unsafe_control(c) {
                    char::REPLACEMENT_CHARACTER
                } else {
                    c
                }
            })
            .collect();
        mapped
            .split(' ')
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// What a code block made from `text` should contain.
    fn code_content(text: &str) -> String {
        let mut body = normalize_line_endings(text);
        if !body.is_empty() && !body.ends_with('\n') {
            body.push('\n');
        }
        body
    }

    fn text_of(events: &[Event<'_>]) -> String {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Text(t) => Some(t.as_ref()),
                _ => None,
            })
            .collect()
    }

    /// Asserts `events` (the inside of a paragraph or cell) are plain text only.
    fn assert_plain(events: &[Event<'_>], original: &str) {
        for e in events {
            assert!(
                matches!(e, Event::Text(_)),
                "{original:?} produced markup {e:?}"
            );
        }
        let text = text_of(events);
        assert_eq!(visible(&text), visible(original), "{original:?}");
        assert!(
            !crate::report::hostile_run::live_reference(&text),
            "{original:?} -> {text:?}"
        );
    }

    /// The events strictly between the first `Start` matching `open` and its `End`.
    fn inside(events: &[Event<'static>], open: fn(&Event<'_>) -> bool) -> Vec<Event<'static>> {
        let Some(start) = events.iter().position(open) else {
            return Vec::new();
        };
        let mut depth = 0usize;
        let mut out = Vec::new();
        for e in &events[start + 1..] {
            match e {
                Event::Start(_) => depth += 1,
                Event::End(_) if depth == 0 => break,
                Event::End(_) => depth -= 1,
                _ => {}
            }
            out.push(e.clone());
        }
        out
    }

    #[test]
    fn hostile_text_is_inert_in_prose_table_and_details() {
        for &hostile in HOSTILE {
            let doc = format!(
                "Task {} failed.\n\n| task | title |\n|---|---|\n| T-1 | {} |\n\n\
                 <details>\n<summary>{}</summary>\n\n{}\n</details>\n",
                inline(hostile),
                inline(hostile),
                html_text(hostile),
                code_block(hostile, "text"),
            );
            let evs = events(&doc);

            for e in &evs {
                if let Event::Html(h) | Event::InlineHtml(h) = e {
                    let h = h.trim();
                    let ours = h == "<details>"
                        || h == "</details>"
                        || (h.starts_with("<summary>") && h.ends_with("</summary>"));
                    assert!(ours, "{hostile:?} injected HTML {h:?} in\n{doc}");
                    if let Some(summary) = h.strip_prefix("<summary>") {
                        let inner = summary.trim_end_matches("</summary>");
                        assert!(!inner.contains(['<', '>']), "{hostile:?}: {h:?}");
                    }
                }
                let forbidden = matches!(
                    e,
                    Event::Start(
                        Tag::Link { .. }
                            | Tag::Image { .. }
                            | Tag::Emphasis
                            | Tag::Strong
                            | Tag::Strikethrough
                            | Tag::Heading { .. }
                            | Tag::BlockQuote(_)
                            | Tag::List(_)
                            | Tag::FootnoteDefinition(_)
                    ) | Event::Code(_)
                        | Event::InlineMath(_)
                        | Event::DisplayMath(_)
                        | Event::FootnoteReference(_)
                        | Event::TaskListMarker(_)
                        | Event::SoftBreak
                        | Event::HardBreak
                );
                assert!(!forbidden, "{hostile:?} produced {e:?} in\n{doc}");
            }
            let closes = evs
                .iter()
                .filter(|e| matches!(e, Event::Html(h) if h.trim() == "</details>"))
                .count();
            assert_eq!(closes, 1, "{hostile:?} closed <details> early:\n{doc}");

            // The sentence keeps its words around the escaped text.
            let para = inside(&evs, |e| matches!(e, Event::Start(Tag::Paragraph)));
            let para_text = visible(&text_of(&para));
            let expected = visible(&format!("Task {hostile} failed."));
            assert_eq!(para_text, expected, "{hostile:?}");
            assert_plain(&para, &format!("Task {hostile} failed."));

            // The table keeps two columns in the header and in the row.
            let Some(Event::Start(Tag::Table(aligns))) = evs
                .iter()
                .find(|e| matches!(e, Event::Start(Tag::Table(_))))
            else {
                panic!("{hostile:?} broke the table:\n{doc}");
            };
            assert_eq!(aligns.len(), 2, "{hostile:?}");
            let row = inside(&evs, |e| matches!(e, Event::Start(Tag::TableRow)));
            let cells = row
                .iter()
                .filter(|e| matches!(e, Event::Start(Tag::TableCell)))
                .count();
            assert_eq!(cells, 2, "{hostile:?} changed the column count:\n{doc}");
            let title = inside(&row, |e| matches!(e, Event::Start(Tag::TableCell)));
            let title_cell: Vec<_> = row
                .iter()
                .skip_while(|e| !matches!(e, Event::End(TagEnd::TableCell)))
                .skip(2)
                .take_while(|e| !matches!(e, Event::End(TagEnd::TableCell)))
                .cloned()
                .collect();
            assert_eq!(text_of(&title), "T-1");
            assert_plain(&title_cell, hostile);

            // The code block holds the text itself, line endings normalised.
            let code = inside(
                &evs,
                |e| matches!(e, Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(i))) if i.as_ref() == "text"),
            );
            assert_eq!(text_of(&code), code_content(hostile), "{hostile:?}");
        }
    }

    #[test]
    fn mentions_and_references_keep_their_words_but_do_not_link() {
        let user = inline("@user");
        assert_eq!(user, "\\@\u{200B}user");
        assert!(!user.contains("@user"));
        let team = inline("@org/team");
        assert!(team.contains("org") && team.contains("team") && !team.contains("@org"));
        let issue = inline("#123");
        assert!(issue.contains("123") && !issue.contains("#123"));
        let gh = inline("GH-123");
        assert_eq!(gh, "GH\\-\u{200B}123");
        // Sigils not followed by a name are left alone.
        assert_eq!(inline("a @ b # c"), "a \\@ b \\# c");
        assert_eq!(inline("a-b"), "a\\-b");
        assert_eq!(inline("<b>&|"), "&lt;b&gt;&amp;&#124;");
        assert_eq!(html_text("@user <b>"), "&#64;\u{200B}user &#60;b&#62;");
        assert_eq!(inline("  a \r\n\t b  "), "a b");
        assert_eq!(inline("a\0b"), "a\u{FFFD}b");
    }

    #[test]
    fn code_block_fence_outgrows_backticks_and_sanitizes_info() {
        assert_eq!(code_block("x", "rust"), "```rust\nx\n```\n");
        assert_eq!(code_block("", "sh; rm -rf /"), "```shrm-rf\n```\n");
        assert_eq!(code_block("a\n````\nb\n", ""), "`````\na\n````\nb\n`````\n");
        assert_eq!(code_block("a\r\nb", "t`x~"), "```tx\na\nb\n```\n");
    }

    fn markdownish() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[-@#<>&|\\[\\]()!*_`~\\\\ \\n\\r\\t.=+:$^{}0-9a-zA-Z/é🚀\u{200B}\u{0}]{0,40}",
            prop::collection::vec(
                prop_oneof![
                    Just("@user".to_owned()),
                    Just("#12".to_owned()),
                    Just("GH-1".to_owned()),
                    Just("<details>".to_owned()),
                    Just("<!--".to_owned()),
                    Just("](http://x)".to_owned()),
                    Just("```".to_owned()),
                    Just("\n".to_owned()),
                    Just("    ".to_owned()),
                    Just("1. ".to_owned()),
                    Just("&amp;".to_owned()),
                    "[a-z ]{0,5}",
                ],
                0..8
            )
            .prop_map(|parts| parts.concat()),
        ]
    }

    proptest! {
        #[test]
        fn inline_is_one_plain_paragraph(text in markdownish()) {
            let out = inline(&text);
            prop_assert!(!out.contains(['\n', '\r']));
            let evs = events(&out);
            if out.is_empty() {
                prop_assert!(evs.is_empty());
            } else {
                prop_assert!(evs.len() >= 2, "{:?} -> {:?}", out, evs);
                prop_assert_eq!(&evs[0], &Event::Start(Tag::Paragraph));
                prop_assert_eq!(&evs[evs.len() - 1], &Event::End(TagEnd::Paragraph));
                assert_plain(&evs[1..evs.len() - 1], &text);
            }
        }

        #[test]
        fn inline_in_a_table_cell_stays_in_its_cell(text in markdownish()) {
            let doc = format!("| a | b |\n|---|---|\n| {} | z |\n", inline(&text));
            let evs = events(&doc);
            let row = inside(&evs, |e| matches!(e, Event::Start(Tag::TableRow)));
            let cells = row.iter().filter(|e| matches!(e, Event::Start(Tag::TableCell))).count();
            prop_assert_eq!(cells, 2, "{}", doc);
            let cell = inside(&row, |e| matches!(e, Event::Start(Tag::TableCell)));
            assert_plain(&cell, &text);
        }

        #[test]
        fn html_text_is_plain_in_markdown(text in markdownish()) {
            let out = html_text(&text);
            let evs = events(&out);
            if !out.is_empty() {
                assert_plain(&evs[1..evs.len() - 1], &text);
            }
        }

        #[test]
        fn code_block_round_trips(text in markdownish(), info in any::<String>()) {
            let doc = code_block(&text, &info);
            let evs = events(&doc);
            let Some(Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(got_info)))) = evs.first() else {
                return Err(TestCaseError::fail(format!("no code block: {doc:?}")));
            };
            prop_assert!(got_info.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
            prop_assert_eq!(evs.last(), Some(&Event::End(TagEnd::CodeBlock)));
            let body = &evs[1..evs.len() - 1];
            prop_assert!(body.iter().all(|e| matches!(e, Event::Text(_))), "{:?}", body);
            prop_assert_eq!(text_of(body), code_content(&text));
        }
    }
}
