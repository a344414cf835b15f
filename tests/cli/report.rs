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
                            "<details open>",
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
    // --strict: GitHub refused, which is its own exit code (4), not bad input.
    tokio::task::block_in_place(|| run(true)).expect_code(4);
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
    assert!(md.contains("1 task failed"), "{md}");
    assert!(md.contains("TASK&#45;002"), "{md}");
    assert!(
        md.contains("Queue A — Workspace Bootstrapping | 1/3 passed, 1 not run"),
        "{md}"
    );
}

/// A run directory with one failing task whose stdout log is `log`, as a crafted
/// artifact would have it; returns its path.
fn crafted_run(ws: &Workspace, log: &str, extra: &str) -> std::path::PathBuf {
    let dir = ws.join("artifact");
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    std::fs::write(
        dir.join("run.json"),
        format!(
            r#"{{"schema_version": 2, "status": "error", "started": "2026-01-01T00:00:00Z", "run_id": "r1"{extra},
            "results": [{{"task": "TASK-001", "queue": "Q", "agent": "shell", "status": "error",
            "commands": [{{"cmd": ["x"], "cwd": ".", "rc": 1, "log": "{log}"}}]}}]}}"#
        ),
    )
    .unwrap();
    dir
}

#[test]
fn report_never_follows_a_symlink_in_the_run_directory() {
    let ws = Workspace::new();
    // A symlinked log file.
    let dir = crafted_run(&ws, "logs/TASK-001/attempt1-cmd1.stdout.log", "");
    std::fs::create_dir_all(dir.join("logs/TASK-001")).unwrap();
    std::os::unix::fs::symlink(
        "/etc/passwd",
        dir.join("logs/TASK-001/attempt1-cmd1.stdout.log"),
    )
    .unwrap();
    let md = ws
        .tek(&["report", "--run", "artifact"])
        .output()
        .expect_code(0)
        .stdout();
    assert!(!md.contains("root:"), "{md}");
    assert!(md.contains("not a regular file"), "{md}");
    // A symlinked task folder.
    std::fs::remove_dir_all(dir.join("logs/TASK-001")).unwrap();
    std::os::unix::fs::symlink("/etc", dir.join("logs/TASK-001")).unwrap();
    let dir = crafted_run(&ws, "logs/TASK-001/passwd", "");
    let md = ws
        .tek(&["report", "--run", "artifact"])
        .output()
        .expect_code(0)
        .stdout();
    assert!(!md.contains("root:"), "{md}");
    assert!(md.contains("not a regular file"), "{md}");
    // A symlinked run.json.
    std::fs::rename(dir.join("run.json"), ws.join("real.json")).unwrap();
    std::os::unix::fs::symlink(ws.join("real.json"), dir.join("run.json")).unwrap();
    let out = ws
        .tek(&["report", "--run", "artifact"])
        .output()
        .expect_code(1);
    assert!(
        out.stderr().contains("not a regular file"),
        "{}",
        out.stderr()
    );
}

#[test]
fn a_task_that_swaps_its_log_for_proc_environ_leaks_nothing() {
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-001` swapper\n");
    ws.file(
        "config/hooks.json",
        r#"{"TASK-001": {"commands": [{"shell": "ln -sf /proc/self/environ \"$TEK_RUN_DIR/logs/TASK-001/attempt1-cmd1.stderr.log\"; ln -sf /proc/self/environ \"$TEK_RUN_DIR/logs/TASK-001/attempt1-cmd1.stdout.log\"; exit 1"}]}}"#,
    );
    let sentinel = "tek-sentinel-5f3a9c";
    let run = ws
        .tek(&["run"])
        .env("TEK_REPORT_SENTINEL", sentinel)
        .output()
        .expect_code(2);
    assert!(!run.stderr().contains(sentinel), "{}", run.stderr());
    assert!(!run.stdout().contains(sentinel), "{}", run.stdout());
    let junit = std::fs::read_to_string(ws.latest_run().join("junit.xml")).unwrap();
    assert!(!junit.contains(sentinel), "{junit}");
    let md = ws
        .tek(&["report"])
        .env("TEK_REPORT_SENTINEL", sentinel)
        .output()
        .expect_code(0)
        .stdout();
    assert!(!md.contains(sentinel), "{md}");
    assert!(md.contains("not a regular file"), "{md}");
}

#[test]
fn strings_from_run_json_are_escaped_everywhere() {
    let ws = Workspace::new();
    let hostile = r#"x` @org/team ![](https://e.example/i.png) <img src=x> `y"#;
    let escaped = hostile.replace('\\', "\\\\").replace('"', "\\\"");
    crafted_run(
        &ws,
        "logs/none.log",
        &format!(r#", "signal": "{escaped}", "run_id": "{escaped}""#),
    );
    std::fs::write(
        ws.join("artifact/run.json"),
        std::fs::read_to_string(ws.join("artifact/run.json"))
            .unwrap()
            .replacen(r#""status": "error""#, r#""status": "interrupted""#, 1)
            .replacen(r#""run_id": "r1""#, r#""x": 0"#, 1),
    )
    .unwrap();
    let md = ws
        .tek(&["report", "--run", "artifact"])
        .output()
        .expect_code(0)
        .stdout();
    assert!(md.contains("interrupted by"), "{md}");
    for text in ["@org", "![", "<img"] {
        assert!(!md.contains(text), "{text} in {md}");
    }
    // The job summary is nearly full, so the report shrinks and names the run id in its
    // note.
    let summary = ws.join("summary.md");
    std::fs::write(&summary, "x".repeat(1024 * 1024 - 250)).unwrap();
    ws.tek(&["report", "--run", "artifact", "--job-summary"])
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .expect_code(0);
    let text = std::fs::read_to_string(&summary).unwrap();
    let added = &text[1024 * 1024 - 250..];
    assert!(added.contains("Full evidence: run"), "{added}");
    assert!(!added.contains("@org"), "{added}");
    assert!(!added.contains("!["), "{added}");
    assert!(!added.contains("<img"), "{added}");
}

#[test]
fn junit_masks_secrets_like_the_report() {
    let ws = Workspace::new();
    let token = format!("ghs_{}", "Z9".repeat(18));
    let pat = format!("ghp_{}", "a1".repeat(18));
    ws.file("sot.md", "## Q\n- `TASK-1` leaky\n");
    ws.file(
        "config/hooks.json",
        format!(
            r#"{{"TASK-1": {{"commands": [{{"shell": "echo {token}; echo {pat} >&2; echo plain-secret-value; exit 1"}}]}}}}"#
        ),
    );
    ws.tek(&["run"])
        .env("GITHUB_TOKEN", "plain-secret-value")
        .output()
        .expect_code(2);
    let junit = std::fs::read_to_string(ws.latest_run().join("junit.xml")).unwrap();
    for secret in [token.as_str(), pat.as_str(), "plain-secret-value"] {
        assert!(!junit.contains(secret), "{secret} in {junit}");
    }
    assert!(junit.contains("***"), "{junit}");
}
