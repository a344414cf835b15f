//! README.md's examples are the first configuration a newcomer copies: they must pass
//! `check` as written (issue 23.3). The code blocks are read out of README.md itself, so
//! an edit that breaks one breaks this test.

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Parser, Tag, TagEnd};

use crate::harness::Workspace;

/// A fenced code block: its language, its text, and the `## ` section it is in.
struct Block {
    lang: String,
    text: String,
    section: String,
}

fn blocks() -> Vec<Block> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let mut out = Vec::new();
    let mut section = String::new();
    let mut heading: Option<String> = None;
    let mut block: Option<Block> = None;
    for event in Parser::new(&readme) {
        match event {
            Event::Start(Tag::Heading {
                level: HeadingLevel::H2 | HeadingLevel::H3,
                ..
            }) => heading = Some(String::new()),
            Event::End(TagEnd::Heading(_)) => {
                if let Some(h) = heading.take() {
                    section = h;
                }
            }
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(lang))) => {
                block = Some(Block {
                    lang: lang.to_string(),
                    text: String::new(),
                    section: section.clone(),
                })
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some(b) = &mut block {
                    b.text.push_str(&t);
                } else if let Some(h) = &mut heading {
                    h.push_str(&t);
                }
            }
            Event::End(TagEnd::CodeBlock) => out.extend(block.take()),
            _ => {}
        }
    }
    out
}

/// The one block of `lang` in the section titled `section`.
fn the_block(all: &[Block], lang: &str, section: &str) -> String {
    let found: Vec<&Block> = all
        .iter()
        .filter(|b| b.lang == lang && b.section == section)
        .collect();
    assert_eq!(found.len(), 1, "one `{lang}` block under `{section}`");
    found[0].text.clone()
}

#[test]
fn the_sot_hooks_and_manifest_examples_pass_check_together_without_a_warning() {
    let all = blocks();
    let ws = Workspace::new();
    ws.file("sot.md", the_block(&all, "markdown", "Native form"));
    ws.file(
        "config/hooks.json",
        the_block(&all, "json", "config/hooks.json"),
    );
    ws.file(
        "config/manifest.json",
        the_block(&all, "json", "config/manifest.json"),
    );
    let out = ws.tek(&["check"]).output().expect_code(0);
    let err = out.stderr();
    assert!(!err.contains("warning"), "{err}");
    assert!(err.contains("ok"), "{err}");
    // What the examples say runs is what runs: a dry run shows every command, no noop.
    let out = ws.tek(&["run", "--dry-run"]).output().expect_code(0);
    let err = out.stderr();
    assert!(!err.contains(" Noop ") && !err.contains(" noop"), "{err}");
    assert!(err.contains("6 would run"), "{err}");
    assert!(err.contains("$ cargo build --workspace"), "{err}");
}

#[test]
fn every_sot_example_plans() {
    let all = blocks();
    let sots: Vec<&Block> = all
        .iter()
        .filter(|b| b.lang == "markdown" && b.text.contains("`TASK-"))
        .collect();
    assert!(sots.len() >= 2, "the native and the legacy examples");
    for block in sots {
        let ws = Workspace::new();
        ws.file("sot.md", &block.text);
        let out = ws.tek(&["plan", "--format", "json"]).output();
        assert_eq!(
            out.code(),
            0,
            "the example under `{}` does not plan:\n{}\n{}",
            block.section,
            block.text,
            out.stderr()
        );
    }
}

#[test]
fn every_json_example_is_valid_json() {
    for block in blocks().iter().filter(|b| b.lang == "json") {
        serde_json::from_str::<serde_json::Value>(&block.text).unwrap_or_else(|e| {
            panic!(
                "the JSON under `{}` is not JSON ({e}):\n{}",
                block.section, block.text
            )
        });
    }
}
