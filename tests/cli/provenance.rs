//! The PR comment says which commit, job and matrix leg it reports and when the run
//! ended, links the full logs instead of naming a path on the runner, and says what
//! newly fails and what was fixed since the previous comment of the same key — all
//! against a local GitHub stand-in that remembers comments between runs.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::harness::Workspace;

/// The comments of PR 7, as GitHub would keep them.
#[derive(Clone, Default)]
struct Issue(Arc<Mutex<Vec<Value>>>);

impl Respond for Issue {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut comments = self.0.lock().unwrap();
        let body: Value = req.body_json().unwrap_or_default();
        let comment = |id: u64, text: &str| {
            json!({"id": id, "body": text, "user": {"login": "tek-bot", "type": "Bot"},
                   "html_url": format!("https://github.example/o/r/pull/7#issuecomment-{id}")})
        };
        let id: Option<u64> = req
            .url
            .path()
            .rsplit('/')
            .next()
            .and_then(|s| s.parse().ok());
        match (req.method.as_str(), id) {
            ("GET", _) => ResponseTemplate::new(200).set_body_json(Value::Array(comments.clone())),
            ("POST", _) => {
                let new = comment(100 + comments.len() as u64, body["body"].as_str().unwrap());
                comments.push(new.clone());
                ResponseTemplate::new(201).set_body_json(new)
            }
            ("PATCH", Some(id)) => match comments.iter_mut().find(|c| c["id"] == id) {
                Some(c) => {
                    c["body"] = body["body"].clone();
                    ResponseTemplate::new(200).set_body_json(c.clone())
                }
                None => ResponseTemplate::new(404),
            },
            _ => ResponseTemplate::new(404),
        }
    }
}

async fn stand_in() -> (MockServer, Issue) {
    let server = MockServer::start().await;
    let me = json!({"login": "tek-bot", "id": 1, "type": "Bot"});
    Mock::given(method("GET"))
        .and(path("/user"))
        .respond_with(ResponseTemplate::new(200).set_body_json(me))
        .mount(&server)
        .await;
    let issue = Issue::default();
    Mock::given(path_regex(r"^/repos/o/r/issues/(7/comments|comments/\d+)$"))
        .respond_with(issue.clone())
        .mount(&server)
        .await;
    (server, issue)
}

/// Runs the tasks with `a` and `b` exiting with those codes, then reports to PR 7 as
/// workflow run `run_id` would.
fn run_and_comment(
    ws: &Workspace,
    api: &str,
    run_id: &str,
    a: i32,
    b: i32,
    artifact: Option<&str>,
) {
    ws.file(
        "config/hooks.json",
        format!(
            r#"{{"TASK-1": {{"commands": [{{"shell": "echo a; exit {a}"}}]}},
                "TASK-2": {{"commands": [{{"shell": "echo b; exit {b}"}}]}}}}"#
        ),
    );
    let code = if a == 0 && b == 0 { 0 } else { 2 };
    ws.tek(&["run"])
        .env("GITHUB_JOB", "test <b>@octocat</b>")
        .env(
            "CARGO_TEK_MATRIX",
            r#"{"os": "ubuntu-latest", "rust": "[x](https://evil)"}"#,
        )
        .output()
        .expect_code(code);
    let mut report = ws
        .tek(&["report", "--pr-comment", "--pr", "7"])
        .env("GITHUB_API_URL", api)
        .env("GITHUB_REPOSITORY", "o/r")
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_RUN_ID", run_id)
        .env("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
        .env("GITHUB_TOKEN", "tok-value-1234");
    if let Some(url) = artifact {
        report = report.env("CARGO_TEK_ARTIFACT_URL", url);
    }
    report.output().expect_code(0);
}

fn body(issue: &Issue) -> String {
    let comments = issue.0.lock().unwrap();
    assert_eq!(comments.len(), 1, "one sticky comment: {comments:?}");
    comments[0]["body"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_comment_says_where_it_came_from_and_what_changed() {
    let (server, issue) = stand_in().await;
    let ws = Workspace::new();
    ws.file("sot.md", "## Q\n- `TASK-1` first\n- `TASK-2` second\n");
    let api = server.uri();
    tokio::task::block_in_place(|| run_and_comment(&ws, &api, "41", 1, 0, None));
    let first = body(&issue);
    let provenance = first.lines().find(|l| l.starts_with("🔖 ")).expect(&first);
    assert!(provenance.starts_with("🔖 commit `0123456` · job test &lt;b&gt;\\@\u{200B}octocat&lt;\\/b&gt; (ubuntu\\-latest, \\[x\\]\\(https\\:\\/\\/evil\\)) · ended "), "{provenance}");
    assert!(provenance.ends_with(" UTC"), "{provenance}");
    assert!(
        !first.contains("newly failing"),
        "a first post has nothing to compare: {first}"
    );
    assert!(
        first.contains("full log: [in the CI run](https://github.com/o/r/actions/runs/41)"),
        "{first}"
    );
    assert!(
        first
            .trim_end()
            .ends_with("<!-- cargo-tek:failed ids=TASK-1 -->"),
        "{first}"
    );

    // The next push: A is fixed, B breaks; the same comment is updated.
    let artifact = "https://github.com/o/r/actions/runs/42/artifacts/977";
    tokio::task::block_in_place(|| run_and_comment(&ws, &api, "42", 0, 3, Some(artifact)));
    let second = body(&issue);
    assert!(
        second.contains("🆕 newly failing since the last report: TASK\\-2 · 🩹 fixed: TASK\\-1"),
        "{second}"
    );
    assert!(
        second.contains(&format!("full log: [in the uploaded artifact]({artifact})")),
        "{second}"
    );
    assert!(
        second
            .trim_end()
            .ends_with("<!-- cargo-tek:failed ids=TASK-2 -->"),
        "{second}"
    );
    // No path on the runner: neither the workspace nor a log file's name.
    let root = ws.path().to_string_lossy().into_owned();
    for text in [&first, &second] {
        assert!(!text.contains(&root), "{text}");
        assert!(!text.contains(".log"), "{text}");
        assert!(!text.contains("tok-value-1234"));
    }
}
