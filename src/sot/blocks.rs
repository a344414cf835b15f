//! The one pass over pulldown-cmark's events: reduces a Markdown document to the few
//! block shapes the SoT grammars care about (headings and list items), each with the
//! inline segments of its first block and byte ranges into the source.
//!
//! Code blocks, HTML, tables and block quotes produce no blocks here, which is why a
//! task id inside them is never a task.

use std::ops::Range;

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// One inline piece of a heading or list item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    /// Plain text or an inline code span.
    pub(crate) kind: SegmentKind,
    /// The text (for code spans, without backticks).
    pub(crate) text: String,
    /// Byte range in the source.
    pub(crate) range: Range<usize>,
    /// Whether the text sits inside `**strong**` emphasis.
    pub(crate) strong: bool,
}

/// What a [`Segment`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SegmentKind {
    Text,
    Code,
}

/// A heading or a list item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Block {
    Heading {
        level: u8,
        segments: Vec<Segment>,
        range: Range<usize>,
    },
    Item {
        /// Nesting depth of the list item (1 for a top-level item).
        depth: usize,
        /// Whether the item's list is numbered.
        ordered: bool,
        /// `Some(done)` for a `- [ ]` / `- [x]` checkbox item.
        checked: Option<bool>,
        /// Inline content of the item's first paragraph only; nested lists come as
        /// their own items.
        segments: Vec<Segment>,
        range: Range<usize>,
    },
}

impl Block {
    /// The block's plain text (code spans included verbatim).
    pub(crate) fn text(&self) -> String {
        let segments = match self {
            Block::Heading { segments, .. } | Block::Item { segments, .. } => segments,
        };
        segments.iter().map(|s| s.text.as_str()).collect()
    }
}

struct OpenItem {
    block_index: usize,
    /// Still inside the item's first paragraph (collecting inline content).
    collecting: bool,
    seen_inline: bool,
}

/// Walks the document once and returns its headings and list items in order.
pub(crate) fn blocks(text: &str) -> Vec<Block> {
    let options =
        Options::ENABLE_TASKLISTS | Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut walk = Walk::default();
    for (event, range) in Parser::new_ext(text, options).into_offset_iter() {
        walk.event(event, range);
    }
    walk.out
}

/// What the walk knows between two events.
#[derive(Default)]
struct Walk {
    out: Vec<Block>,
    /// Whether each open list is numbered, innermost last.
    lists: Vec<bool>,
    items: Vec<OpenItem>,
    /// The heading being collected, as an index into `out`.
    heading: Option<usize>,
    strong_depth: usize,
    // Inside a table, code block or HTML block nothing is collected.
    opaque_depth: usize,
}

impl Walk {
    fn event(&mut self, event: Event<'_>, range: Range<usize>) {
        match event {
            Event::Start(
                Tag::Table(_) | Tag::CodeBlock(_) | Tag::HtmlBlock | Tag::BlockQuote(_),
            ) => {
                self.opaque_depth += 1;
                stop_collecting(&mut self.items);
            }
            Event::End(
                TagEnd::Table | TagEnd::CodeBlock | TagEnd::HtmlBlock | TagEnd::BlockQuote(_),
            ) => {
                self.opaque_depth = self.opaque_depth.saturating_sub(1);
            }
            _ if self.opaque_depth > 0 => {}
            Event::Start(Tag::Heading { level, .. }) => {
                self.out.push(Block::Heading {
                    level: level as u8,
                    segments: Vec::new(),
                    range,
                });
                self.heading = Some(self.out.len() - 1);
            }
            Event::End(TagEnd::Heading(_)) => self.heading = None,
            Event::Start(Tag::List(first)) => {
                self.lists.push(first.is_some());
                stop_collecting(&mut self.items);
            }
            Event::End(TagEnd::List(_)) => {
                self.lists.pop();
            }
            Event::Start(Tag::Item) => self.open_item(range),
            Event::End(TagEnd::Item) => {
                self.items.pop();
            }
            Event::End(TagEnd::Paragraph) => {
                if let Some(item) = self.items.last_mut() {
                    if item.seen_inline {
                        item.collecting = false;
                    }
                }
            }
            Event::TaskListMarker(done) => self.check(done),
            Event::Start(Tag::Strong) => self.strong_depth += 1,
            Event::End(TagEnd::Strong) => self.strong_depth = self.strong_depth.saturating_sub(1),
            // Inline HTML in a title is the user's literal text; reports escape it.
            Event::Text(t) | Event::InlineHtml(t) => self.push(SegmentKind::Text, &t, range),
            Event::Code(t) => self.push(SegmentKind::Code, &t, range),
            Event::SoftBreak | Event::HardBreak => self.push(SegmentKind::Text, " ", range),
            _ => {}
        }
    }

    fn open_item(&mut self, range: Range<usize>) {
        self.out.push(Block::Item {
            depth: self.lists.len(),
            ordered: self.lists.last().copied().unwrap_or(false),
            checked: None,
            segments: Vec::new(),
            range,
        });
        self.items.push(OpenItem {
            block_index: self.out.len() - 1,
            collecting: true,
            seen_inline: false,
        });
    }

    /// A checkbox counts only at the very start of the item's first paragraph.
    fn check(&mut self, done: bool) {
        if let Some(item) = self.items.last_mut() {
            if item.collecting && !item.seen_inline {
                if let Some(Block::Item { checked, .. }) = self.out.get_mut(item.block_index) {
                    *checked = Some(done);
                }
            }
        }
    }

    /// Adds inline text to the heading or item being collected, if any.
    fn push(&mut self, kind: SegmentKind, text: &str, range: Range<usize>) {
        let strong = self.strong_depth > 0;
        let index = match (self.heading, self.items.last_mut()) {
            (Some(index), _) => index,
            (None, Some(item)) if item.collecting => {
                item.seen_inline = true;
                item.block_index
            }
            _ => return,
        };
        let segments = match self.out.get_mut(index) {
            Some(Block::Heading { segments, .. } | Block::Item { segments, .. }) => segments,
            None => return,
        };
        // pulldown-cmark splits text at escapes and entities; merge neighbours so grammar
        // rules can look at whole phrases.
        if let Some(last) = segments.last_mut() {
            if kind == SegmentKind::Text && last.kind == SegmentKind::Text && last.strong == strong
            {
                last.text.push_str(text);
                last.range.end = range.end.max(last.range.end);
                return;
            }
        }
        segments.push(Segment {
            kind,
            text: text.to_owned(),
            range,
            strong,
        });
    }
}

fn stop_collecting(items: &mut [OpenItem]) {
    if let Some(item) = items.last_mut() {
        item.collecting = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_carry_checkbox_depth_and_first_paragraph_only() {
        let md = "# T\n\n- [x] `A-1` one\n  - nested `B`\n1. **Queue A — x**\n";
        let blocks = blocks(md);
        assert_eq!(blocks.len(), 4);
        match &blocks[1] {
            Block::Item {
                depth,
                checked,
                segments,
                ..
            } => {
                assert_eq!((*depth, *checked), (1, Some(true)));
                assert_eq!(segments[0].kind, SegmentKind::Code);
                assert_eq!(&md[segments[0].range.clone()], "`A-1`");
                assert_eq!(blocks[1].text(), "A-1 one");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            &blocks[2],
            Block::Item {
                depth: 2,
                checked: None,
                ..
            }
        ));
        match &blocks[3] {
            Block::Item {
                ordered, segments, ..
            } => {
                assert!(*ordered);
                assert!(segments[0].strong);
                assert_eq!(segments[0].text, "Queue A — x");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn code_blocks_tables_html_and_quotes_yield_nothing() {
        let md = "```\n- `TASK-1` x\n```\n\n| a |\n|---|\n| `TASK-2` |\n\n<!--\n- `TASK-3`\n-->\n\n> - `TASK-4` q\n";
        assert!(blocks(md).is_empty(), "{:?}", blocks(md));
    }
}
