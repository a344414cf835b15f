//! Tasks the predecessor planned and cargo-tek does not. cargo-tek reads Markdown as
//! Markdown; the predecessor read lines. Where they disagree (a `- Tasks:` line in an
//! HTML comment or a code fence, a section the predecessor read past a heading Markdown
//! sees), a team's task would silently stop running. Each such task is reported with
//! its line and the Markdown reason, so that the user can decide.

use std::collections::HashSet;
use std::ops::Range;

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};

use super::document::Document;
use super::predecessor::{self, PredecessorReading, PredecessorTask, SECTION_PREFIX};
use crate::source::{SourceDiagnostic, SourceFile};

/// A task the predecessor would have planned and cargo-tek does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LegacyGap {
    pub(crate) id: String,
    /// Where the id is written.
    pub(crate) range: Range<usize>,
    /// Why Markdown does not read it as a task, as a fragment ("is inside an HTML comment").
    pub(crate) reason: String,
}

impl LegacyGap {
    /// The warning (or, when strict, the error) for this gap.
    pub(crate) fn diagnostic(&self, src: &SourceFile) -> SourceDiagnostic {
        src.diagnostic(
            format!(
                "`{}` {}; the predecessor ran it, cargo-tek does not",
                self.id, self.reason
            ),
            vec![(self.range.clone(), "the predecessor planned this task".into())],
            Some(
                "move it where Markdown reads it as a task (or delete it), so both agree; `cargo tek check --strict-legacy` or `\"strict_legacy\": true` in manifest.json make this an error"
                    .into(),
            ),
        )
    }
}

/// The predecessor's tasks that `document` lacks, first occurrence of each id.
pub(crate) fn find(src: &SourceFile, document: &Document) -> Vec<LegacyGap> {
    let text = &*src.text;
    let reading = predecessor::read(text);
    if reading.tasks.is_empty() {
        return Vec::new();
    }
    // The common case, both readings plan the same ids in the same order, needs no set.
    let same = reading.tasks.len() == document.tasks().count()
        && reading
            .tasks
            .iter()
            .zip(document.tasks())
            .all(|(p, (_, t))| text[p.id.clone()] == t.id);
    if same {
        return Vec::new();
    }
    let planned: HashSet<&str> = document.tasks().map(|(_, t)| t.id.as_str()).collect();
    let mut reported = HashSet::new();
    let missing: Vec<&PredecessorTask> = reading
        .tasks
        .iter()
        .filter(|t| {
            let id = &text[t.id.clone()];
            !planned.contains(id) && reported.insert(id)
        })
        .collect();
    if missing.is_empty() {
        return Vec::new();
    }
    // Only now is the document read a second time, to explain each gap.
    let map = MarkdownMap::new(&src.text);
    let queues: HashSet<&str> = document.queues.iter().map(|q| q.name.as_str()).collect();
    missing
        .into_iter()
        .map(|task| LegacyGap {
            id: text[task.id.clone()].to_owned(),
            range: task.range.clone(),
            reason: map.reason(src, task, &reading, &queues),
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    HtmlComment,
    Html,
    Fence,
    IndentedCode,
    BlockQuote,
    Table,
}

/// Where Markdown puts each part of the document: opaque blocks and headings.
struct MarkdownMap {
    containers: Vec<(Range<usize>, Container)>,
    /// Headings outside opaque blocks: level, range, text.
    headings: Vec<(u8, Range<usize>, String)>,
    /// Each code span (backticks included), in order.
    code_spans: Vec<Range<usize>>,
}

impl MarkdownMap {
    fn new(text: &str) -> Self {
        let options =
            Options::ENABLE_TASKLISTS | Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
        let mut containers = Vec::new();
        let mut headings: Vec<(u8, Range<usize>, String)> = Vec::new();
        let mut heading: Option<usize> = None;
        let mut code_spans = Vec::new();
        let mut opaque = 0usize;
        for (event, range) in Parser::new_ext(text, options).into_offset_iter() {
            match event {
                Event::Start(tag) => {
                    let kind = match tag {
                        Tag::CodeBlock(CodeBlockKind::Fenced(_)) => Some(Container::Fence),
                        Tag::CodeBlock(CodeBlockKind::Indented) => Some(Container::IndentedCode),
                        Tag::HtmlBlock if text[range.clone()].trim_start().starts_with("<!--") => {
                            Some(Container::HtmlComment)
                        }
                        Tag::HtmlBlock => Some(Container::Html),
                        Tag::BlockQuote(_) => Some(Container::BlockQuote),
                        Tag::Table(_) => Some(Container::Table),
                        Tag::Heading { level, .. } if opaque == 0 => {
                            headings.push((level as u8, range.clone(), String::new()));
                            heading = Some(headings.len() - 1);
                            None
                        }
                        _ => None,
                    };
                    if let Some(kind) = kind {
                        containers.push((range, kind));
                        opaque += 1;
                    }
                }
                Event::End(
                    TagEnd::CodeBlock | TagEnd::HtmlBlock | TagEnd::BlockQuote(_) | TagEnd::Table,
                ) => opaque = opaque.saturating_sub(1),
                Event::End(TagEnd::Heading(_)) => heading = None,
                // A comment inside a paragraph is inline HTML, possibly over many lines.
                Event::InlineHtml(html) | Event::Html(html) if html.starts_with("<!--") => {
                    let end = text[range.start..]
                        .find("-->")
                        .map_or(text.len(), |e| range.start + e + 3);
                    containers.push((range.start..end, Container::HtmlComment));
                }
                Event::Code(t) => {
                    code_spans.push(range.clone());
                    if let Some(h) = heading.and_then(|h| headings.get_mut(h)) {
                        h.2.push_str(&t);
                    }
                }
                Event::Text(t) => {
                    if let Some(h) = heading.and_then(|h| headings.get_mut(h)) {
                        h.2.push_str(&t);
                    }
                }
                _ => {}
            }
        }
        Self {
            containers,
            headings,
            code_spans,
        }
    }

    /// The innermost opaque block holding `offset`.
    fn container(&self, offset: usize) -> Option<&(Range<usize>, Container)> {
        self.containers
            .iter()
            .filter(|(r, _)| r.contains(&offset))
            .min_by_key(|(r, _)| r.len())
    }

    fn container_reason(&self, src: &SourceFile, offset: usize) -> Option<String> {
        let (range, kind) = self.container(offset)?;
        let line = src.line(range.start);
        Some(match kind {
            Container::HtmlComment => "is inside an HTML comment".to_owned(),
            Container::Html => format!("is inside an HTML block (from line {line})"),
            Container::Fence => format!("is inside a code block (the fence at line {line})"),
            Container::IndentedCode => {
                format!("is inside an indented code block (from line {line})")
            }
            Container::BlockQuote => format!("is inside a block quote (from line {line})"),
            Container::Table => format!("is inside a table (from line {line})"),
        })
    }

    fn reason(
        &self,
        src: &SourceFile,
        task: &PredecessorTask,
        reading: &PredecessorReading,
        queues: &HashSet<&str>,
    ) -> String {
        // Where the section line's text starts: an indented code block starts there.
        let predecessor_section = reading.section.map(|o| {
            o + src.text[o..]
                .find(|c: char| !c.is_whitespace())
                .unwrap_or(0)
        });
        if let Some(reason) = self.container_reason(src, task.range.start) {
            return reason;
        }
        let section = self
            .headings
            .iter()
            .position(|(_, _, text)| text.trim_start().starts_with(SECTION_PREFIX));
        match section {
            None => {
                let line = predecessor_section.map_or(0, |o| src.line(o));
                let why = predecessor_section
                    .and_then(|o| self.container_reason(src, o))
                    .map(|r| format!(" (it {r})"))
                    .unwrap_or_default();
                return format!(
                    "is under the `{SECTION_PREFIX}` line at line {line}, which is not a heading for Markdown{why}"
                );
            }
            Some(index) => {
                let (level, range, _) = &self.headings[index];
                if task.range.start < range.start {
                    return format!(
                        "is before the section heading Markdown reads (line {})",
                        src.line(range.start)
                    );
                }
                let end = self.headings[index + 1..]
                    .iter()
                    .find(|(l, _, _)| l <= level);
                if let Some((_, end, _)) = end {
                    if task.range.start >= end.start {
                        // The heading as written, so that an indented `## ` or a setext
                        // underline is recognisable.
                        let written = src.text[end.clone()].lines().next().unwrap_or("").trim();
                        return format!(
                            "is after the heading `{written}` at line {}, which ends the section for Markdown",
                            src.line(end.start)
                        );
                    }
                }
            }
        }
        let (queue, queue_offset) = &reading.queues[task.queue];
        if !queues.contains(queue.as_str()) {
            let line = src.line(*queue_offset);
            let why = self
                .container_reason(src, *queue_offset)
                .map(|r| format!(" (it {r})"))
                .unwrap_or_default();
            return format!(
                "belongs to `{queue}` (line {line}), which is not a queue for Markdown{why}"
            );
        }
        // The predecessor pairs backticks by its regex, Markdown by run length: in
        // `` `TASK-006``TASK-007` `` Markdown sees no code span at either id.
        let span = self
            .code_spans
            .binary_search_by_key(&task.range.start, |r| r.start)
            .map(|i| &self.code_spans[i]);
        if span != Ok(&task.range) {
            return "is not a code span for Markdown (its backticks pair differently)".to_owned();
        }
        "is not in a `Tasks:` list item for Markdown".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sot::{parse, IdPattern};

    fn gaps(md: &str) -> Vec<LegacyGap> {
        let src = SourceFile::from_bytes("sot.md".into(), md.as_bytes().to_vec()).unwrap();
        parse(&src, &IdPattern::default()).unwrap().legacy_gaps
    }

    const HEAD: &str =
        "### G. Execution Queue & Task Hooks\n\n1. **Queue A — Build**\n   - Tasks: `TASK-001`\n";

    #[test]
    fn an_html_comment_and_a_mismatched_fence_are_named() {
        let md = format!("{HEAD}<!--\n   - Tasks: `TASK-007`\n-->\n");
        let g = gaps(&md);
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].id, "TASK-007");
        assert_eq!(g[0].reason, "is inside an HTML comment");
        // The predecessor closes a ```` fence at ```; Markdown does not.
        let md = format!("{HEAD}\n````\n```\n   - Tasks: `TASK-008`\n````\n");
        let g = gaps(&md);
        assert_eq!(g[0].reason, "is inside a code block (the fence at line 6)");
    }

    #[test]
    fn a_heading_markdown_sees_and_the_predecessor_does_not() {
        let md = format!("{HEAD}  ## Notes\n2. **Queue B — Test**\n   - Tasks: `TASK-009`\n");
        let g = gaps(&md);
        assert_eq!(
            g[0].reason,
            "is after the heading `## Notes` at line 5, which ends the section for Markdown"
        );
    }

    #[test]
    fn backticks_markdown_pairs_differently_are_named() {
        let md = format!("{HEAD}   - Tasks: `TASK-006``TASK-007`\n");
        let g = gaps(&md);
        let ids: Vec<_> = g
            .iter()
            .map(|g| (g.id.as_str(), g.reason.as_str()))
            .collect();
        let why = "is not a code span for Markdown (its backticks pair differently)";
        assert_eq!(ids, [("TASK-006", why), ("TASK-007", why)]);
    }

    #[test]
    fn an_indented_section_line_is_named_as_code() {
        let md = "# Plan\n\n    ### G. Execution Queue & Task Hooks\n\n1. **Queue A — Build**\n   - Tasks: `TASK-001`\n";
        let src = SourceFile::from_bytes("sot.md".into(), md.as_bytes().to_vec()).unwrap();
        let err = parse(&src, &IdPattern::default()).unwrap_err();
        let text = format!("{err:?}");
        assert!(
            text.contains("is under the `G. Execution Queue & Task Hooks` line at line 3, which is not a heading for Markdown (it is inside an indented code block (from line 3))"),
            "{text}"
        );
    }

    #[test]
    fn a_clean_document_has_no_gaps() {
        assert!(gaps(HEAD).is_empty());
        assert!(gaps("## Q\n- `TASK-1` a\n").is_empty());
    }
}
