//! A crafted run.json (from a fork's artifact) cannot make the report mention anyone,
//! link, embed an image or inject HTML: arbitrary strings go into every string field of
//! a `RunRecord` and into its logs, and the rendered Markdown is checked at every detail
//! level and when cut to fit.

use proptest::prelude::*;
use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use super::limit::Unit;
use super::{render_within, Renderer, Request};
use crate::evidence::{
    CommandRecord, Counts, LoadedRun, RunRecord, RunStatus, TaskResult, TaskStatus, ToolInfo,
};

/// Pieces an attacker would try, glued together at random with arbitrary text.
fn hostile() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        prop::sample::select(vec![
            "@org/team",
            "@user",
            "![img](https://e.example/a.png)",
            "[link](https://e.example)",
            "<https://e.example>",
            "<img src=x onerror=alert(1)>",
            "<script>",
            "</details>",
            "</summary>",
            "<details open>",
            "<!--",
            "-->",
            "#12",
            "GH-34",
            "owner/repo#5",
            "`",
            "```",
            "~~~",
            "\n",
            "\n\n",
            "|",
            "\\",
            "&#64;user",
            "&lt;b&gt;",
            "<code>",
            "＠user",
        ])
        .prop_map(str::to_owned),
        "[ -~]{0,10}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..6).prop_map(|parts| parts.concat())
}

fn command(s: &[String]) -> CommandRecord {
    CommandRecord {
        cmd: vec![s[0].clone(), s[1].clone()],
        cwd: s[2].clone(),
        rc: Some(1),
        log: Some("logs/T/out.log".into()),
        stderr_log: Some(s[3].clone()),
        signal: Some(s[4].clone()),
        duration_ms: 1,
        timed_out: false,
        leaked: false,
        leaked_pids: vec![],
        error: Some(s[5].clone()),
        env: vec![s[6].clone()],
        timeout_ms: None,
        continue_on_error: false,
    }
}

fn task(s: &[String], status: TaskStatus, carried: bool) -> TaskResult {
    TaskResult {
        task: s[7].clone(),
        queue: s[8].clone(),
        agent: s[9].clone(),
        status,
        title: s[10].clone(),
        layer: s[11].clone(),
        reason: Some(s[12].clone()),
        attempts: 2,
        duration_ms: 5,
        commands: vec![command(s)],
        line: Some(1),
        carried_from: carried.then(|| s[13].clone()),
        started: Some(s[13].clone()),
        wait_ms: 0,
        cargo: None,
        sandbox: None,
        cached: None,
    }
}

fn run(s: &[String], dir: &std::path::Path) -> LoadedRun {
    let statuses = [
        TaskStatus::Error,
        TaskStatus::Timeout,
        TaskStatus::Skipped,
        TaskStatus::Cancelled,
        TaskStatus::Flaky,
        TaskStatus::Ok,
    ];
    let results: Vec<TaskResult> = statuses
        .iter()
        .enumerate()
        .map(|(i, &status)| task(s, status, i % 2 == 1))
        .collect();
    LoadedRun {
        dir: dir.to_path_buf(),
        record: RunRecord {
            schema_version: 2,
            status: RunStatus::Interrupted,
            started: s[14].clone(),
            ended: Some(s[15].clone()),
            duration_ms: Some(1),
            compile_ms: Some(1),
            run_id: s[16].clone(),
            tool: Some(ToolInfo {
                name: s[17].clone(),
                version: s[18].clone(),
            }),
            source: Some(s[19].clone()),
            dry_run: true,
            plan_id: Some(s[20].clone()),
            rerun_failed: true,
            max_workers: Some(1),
            signal: Some(s[21].clone()),
            shard: None,
            affected: None,
            leg: Some(crate::evidence::leg::LegStamp {
                name: None,
                job: Some(s[24].clone()),
                matrix: [(s[25].clone(), s[26].clone())].into(),
                os: None,
            }),
            merge: None,
            counts: Counts::of(&results),
            results,
        },
        incomplete: true,
        not_run: Default::default(),
        notes: Vec::new(),
    }
}

/// Tags the built-in template writes itself.
const TEMPLATE_HTML: &[&str] = &[
    "<details>",
    "<details open>",
    "</details>",
    "<summary>",
    "</summary>",
    "<code>",
    "</code>",
    "<!-- m -->",
];

fn decode_entities(html: &str) -> String {
    let re = regex::Regex::new(r"&#([0-9]+);").unwrap();
    let decoded = re.replace_all(html, |c: &regex::Captures<'_>| {
        c[1].parse::<u32>()
            .ok()
            .and_then(char::from_u32)
            .map(String::from)
            .unwrap_or_default()
    });
    decoded
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

/// A sigil or `GH-` right before a name or number: GitHub would mention or link it.
pub(super) fn live_reference(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    chars.windows(2).enumerate().any(|(i, w)| {
        let sigil = matches!(w[0], '@' | '#' | '\u{FF20}' | '\u{FF03}');
        let gh = w[0] == '-'
            && i >= 2
            && chars[i - 2].eq_ignore_ascii_case(&'g')
            && chars[i - 1].eq_ignore_ascii_case(&'h');
        (sigil || gh) && w[1].is_alphanumeric()
    })
}

/// Why `markdown` is not inert, if it is not.
fn not_inert(markdown: &str) -> Option<String> {
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_GFM;
    let mut code = 0usize;
    for event in Parser::new_ext(markdown, options) {
        match event {
            Event::Start(Tag::Link { .. } | Tag::Image { .. }) => {
                return Some(format!("{event:?}"))
            }
            Event::Start(Tag::CodeBlock(_)) => code += 1,
            Event::End(TagEnd::CodeBlock) => code -= 1,
            Event::Html(h) | Event::InlineHtml(h) => {
                let mut rest = h.to_string();
                for tag in TEMPLATE_HTML {
                    rest = rest.replace(tag, "");
                }
                if rest.contains('<') {
                    return Some(format!("HTML {h:?}"));
                }
                if live_reference(&decode_entities(&rest)) {
                    return Some(format!("reference in HTML {h:?}"));
                }
            }
            Event::Text(t) if code == 0 && live_reference(&t) => {
                return Some(format!("reference in {t:?}"))
            }
            _ => {}
        }
    }
    None
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn no_string_from_run_json_becomes_markup(
        strings in prop::collection::vec(hostile(), 27),
        log in hostile(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("logs/T")).unwrap();
        std::fs::write(dir.path().join("logs/T/out.log"), &log).unwrap();
        let run = run(&strings, dir.path());
        let renderer = Renderer::new(None, None).unwrap();
        for limit in [usize::MAX, 3000, 900, 300] {
            let body = render_within(&renderer, &Request {
                run: &run,
                marker: Some("<!-- m -->".into()),
                ci_url: None,
                about: super::provenance::Provenance {
                    commit: Some(strings[22].clone()),
                    artifact_url: None,
                    run_url: None,
                    previous_failed: Some(vec![strings[23].clone()]),
                },
                secrets: &crate::redact::NONE,
                limit,
                unit: Unit::Chars,
            }).unwrap();
            if let Some(why) = not_inert(&body) {
                return Err(TestCaseError::fail(format!("limit {limit}: {why}\n{body}")));
            }
        }
    }
}

#[test]
fn the_checker_catches_what_it_should() {
    assert!(not_inert("hi @user").is_some());
    assert!(not_inert("![i](https://x)").is_some());
    assert!(not_inert("<b>x</b>").is_some());
    assert!(not_inert("<details><summary>&#64;user</summary>").is_some());
    assert!(not_inert("```\n@user\n```\n<details><summary>ok</summary>\n").is_none());
}
