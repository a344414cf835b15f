//! `cargo tek report`: rendering, escaping of hostile text, job summary, saved comment.

use crate::harness::Workspace;

#[test]
fn hostile_titles_and_output_are_inert_and_tokens_masked() {
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` ping @octocat #123 <img src=x onerror=alert(1)> </details> [x](http://evil)\n");
    ws.file("config/hooks.json", r#"{"TASK-1": {"commands": [{"shell": "echo '```'; echo '</details><!--'; echo ghp_abcdefghijklmnopqrstuvwxyz0123456789; echo super-secret-value; exit 1"}]}}"#);
    ws.tek(&["run"]).output().expect_code(2);
    let summary = ws.join("summary.md");
    let out = ws
        .tek(&["report", "--job-summary", "--save-comment", "comment.md"])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_TOKEN", "super-secret-value")
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_REPOSITORY", "o/r")
        .env("GITHUB_RUN_ID", "42")
        .output()
        .expect_code(0);
    let body = std::fs::read_to_string(&summary).unwrap();
    assert!(!out.stderr().contains("super-secret-value"));
    for text in [
        &body,
        &std::fs::read_to_string(ws.join("comment.md")).unwrap(),
    ] {
        assert!(!text.contains("super-secret-value"), "{text}");
        assert!(
            !text.contains("ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
            "{text}"
        );
        assert!(!text.contains("@octocat"), "{text}");
        assert!(!text.contains("<img"), "{text}");
        assert!(text.contains("https://github.com/o/r/actions/runs/42"));
        // Parse back: no links but ours, no raw HTML beyond our details/summary/code tags.
        use pulldown_cmark::{Event, Parser, Tag};
        for event in Parser::new_ext(text, pulldown_cmark::Options::all()) {
            match event {
                Event::Start(Tag::Link { dest_url, .. }) => assert!(
                    dest_url.starts_with("https://github.com/o/r/"),
                    "{dest_url}"
                ),
                Event::Start(Tag::Image { .. }) => panic!("image in {text}"),
                Event::Html(h) | Event::InlineHtml(h) => {
                    let h = h.trim();
                    assert!(
                        [
                            "<details>",
                            "</details>",
                            "<summary>",
                            "</summary>",
                            "<code>",
                            "</code>"
                        ]
                        .iter()
                        .any(|ok| h.starts_with(ok))
                            || h.starts_with("<!-- cargo-tek"),
                        "unexpected html {h:?} in {text}"
                    );
                }
                _ => {}
            }
        }
    }
    assert!(std::fs::read_to_string(ws.join("comment.md"))
        .unwrap()
        .starts_with("<!-- cargo-tek"));
}

#[test]
fn a_workspace_template_overrides_the_builtin() {
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` one\n");
    ws.tek(&["run", "--allow-noop"]).output().expect_code(0);
    ws.file(
        "templates/report.md.j2",
        "custom: {{ run.counts.total }} {% for q in queues %}{{ q.name }}{% endfor %}\n",
    );
    let out = ws.tek(&["report"]).output().expect_code(0).stdout();
    assert_eq!(out, "custom: 1 Q\n");
    ws.file("bad.j2", "{% for %}");
    let err = ws
        .tek(&["report", "--template", "bad.j2"])
        .output()
        .expect_code(1)
        .stderr();
    assert!(err.contains("bad.j2") && err.contains("line 1"), "{err}");
}

#[test]
fn rendered_report_matches_snapshot() {
    let ws = Workspace::new();
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/run-mixed");
    let out = ws
        .tek(&["report", "--run", fixture])
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_REPOSITORY", "acme/widgets")
        .env("GITHUB_RUN_ID", "123")
        .output()
        .expect_code(0);
    insta::assert_snapshot!("report_mixed", out.stdout());
}

/// A read-only token (fork PR, Dependabot): one warning, the body saved, exit 0 —
/// and with --strict, exit 1.
#[tokio::test(flavor = "multi_thread")]
async fn read_only_token_saves_the_body_and_warns() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/user"))
        .respond_with(ResponseTemplate::new(403).set_body_json(
            serde_json::json!({"message": "Resource not accessible by integration"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/o/r/issues/5/comments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/o/r/issues/5/comments"))
        .respond_with(ResponseTemplate::new(403).set_body_json(
            serde_json::json!({"message": "Resource not accessible by integration"}),
        ))
        .mount(&server)
        .await;
    let ws = Workspace::new();
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/run-mixed");
    let saved = ws.join("saved.md");
    let uri = server.uri();
    let run = |strict: bool| {
        let mut args = vec![
            "report",
            "--run",
            fixture,
            "--pr-comment",
            "--pr",
            "5",
            "--save-comment",
            "saved.md",
        ];
        if strict {
            args.push("--strict");
        }
        ws.tek(&args)
            .env("GITHUB_API_URL", &uri)
            .env("GITHUB_REPOSITORY", "o/r")
            .env("GITHUB_TOKEN", "ro-token-value")
            .output()
    };
    let out = tokio::task::block_in_place(|| run(false)).expect_code(0);
    assert!(
        out.stderr()
            .contains("warning: could not post the PR comment"),
        "{}",
        out.stderr()
    );
    assert!(!out.stderr().contains("ro-token-value"));
    let body = std::fs::read_to_string(&saved).unwrap();
    assert!(
        body.starts_with("<!-- cargo-tek:sticky-comment key=cargo-tek -->"),
        "{body}"
    );
    std::fs::remove_file(&saved).unwrap();
    tokio::task::block_in_place(|| run(true)).expect_code(1);
    assert!(
        saved.exists(),
        "the body is saved even when --strict fails the step"
    );
}

/// run.json files written by the predecessor render too.
#[test]
fn a_predecessor_run_renders() {
    let ws = Workspace::new();
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/run-predecessor"
    );
    let md = ws
        .tek(&["report", "--run", fixture])
        .output()
        .expect_code(0)
        .stdout();
    assert!(md.contains("1 task(s) failed"), "{md}");
    assert!(md.contains("TASK&#45;002"), "{md}");
    assert!(
        md.contains("Queue A — Workspace Bootstrapping | 1/3 passed, 1 not run"),
        "{md}"
    );
}
