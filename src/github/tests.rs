//! End-to-end tests of the sticky comment against a wiremock GitHub: pagination, identity,
//! retries, create/update races, GHES paths, and keeping the token secret.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use wiremock::matchers::{any, method, path, path_regex, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate as Reply_};

use super::client::Client;
use super::comments::FALLBACK_LOGIN;
use super::context::Secret;
use super::stamp::RunStamp;
use super::*;

pub(super) const TOKEN: &str = "ghp_TopSecretTokenValue0123456789";
const ME: &str = "tek-bot";
const LIST: &str = "/repos/octo/repo/issues/7/comments";

fn ctx(api_url: String) -> GitHubContext {
    let (repository, token) = ("octo/repo".into(), Some(Secret(TOKEN.into())));
    GitHubContext {
        api_url,
        repository,
        pr: Some(7),
        stamp: None,
        token,
    }
}

fn fast() -> RetryPolicy {
    let (max_wait, base_wait) = (Duration::from_millis(20), Duration::from_millis(1));
    RetryPolicy {
        max_attempts: 4,
        max_wait,
        base_wait,
    }
}

fn comment(id: u64, login: &str, body: &str) -> Value {
    let html_url = format!("https://github.com/octo/repo/pull/7#issuecomment-{id}");
    let user = json!({ "login": login, "type": "Bot" });
    json!({ "id": id, "body": body, "user": user, "html_url": html_url })
}

/// `("created" | "updated", id)`, so each expectation fits one comparison.
fn done(out: Result<CommentOutcome, GitHubError>) -> Result<(&'static str, u64), GitHubError> {
    out.map(|o| match o {
        CommentOutcome::Created { id, .. } => ("created", id),
        CommentOutcome::Updated { id, .. } => ("updated", id),
        CommentOutcome::Superseded { id, .. } => ("superseded", id),
    })
}

fn ok(body: Value) -> Reply_ {
    Reply_::new(200).set_body_json(body)
}

fn status(code: u16, message: &str) -> Reply_ {
    Reply_::new(code).set_body_json(json!({ "message": message }))
}

fn on(verb: &str, route: &str, reply: Reply_) -> Mock {
    Mock::given(method(verb))
        .and(path(route))
        .respond_with(reply)
}

async fn upsert_r(c: &GitHubContext, p: &RetryPolicy) -> Result<CommentOutcome, GitHubError> {
    upsert_sticky_comment(c, "ci", &|_| "report".to_string(), p).await
}

/// A server whose catch-all fails the test on any request no mock expected.
async fn strict() -> MockServer {
    let server = MockServer::start().await;
    let stray = Mock::given(any()).respond_with(Reply_::new(418));
    stray.with_priority(u8::MAX).expect(0).mount(&server).await;
    server
}

async fn server(login: Option<&str>) -> MockServer {
    let server = strict().await;
    let user = match login {
        Some(login) => ok(json!({ "login": login, "id": 1 })),
        None => status(403, "Resource not accessible by integration"),
    };
    on("GET", "/user", user).mount(&server).await;
    server
}

/// Requests made with `verb`, after checking that every request carried the token.
async fn requests(server: &MockServer, verb: &str) -> Vec<Request> {
    let all = server.received_requests().await.unwrap_or_default();
    let bearer = format!("Bearer {TOKEN}");
    for r in &all {
        let auth = r.headers.get("authorization").map(|v| v.as_bytes());
        assert_eq!(auth, Some(bearer.as_bytes()), "{} {}", r.method, r.url);
    }
    all.into_iter()
        .filter(|r| r.method.as_str() == verb)
        .collect()
}

fn first_line(r: &Request) -> String {
    let body: Value = r.body_json().unwrap_or_default();
    let text = body["body"].as_str().unwrap_or_default();
    text.lines().next().unwrap_or_default().to_string()
}

/// Enough of GitHub's comment routes to remember what was posted between runs.
#[derive(Clone, Default)]
struct FakeIssue {
    comments: Arc<Mutex<Vec<Value>>>,
    lose_post_reply: Arc<AtomicBool>,
    /// Another job's create of the same key lands while ours is in flight.
    race_with: Arc<Mutex<Option<Value>>>,
}

impl Respond for FakeIssue {
    fn respond(&self, req: &Request) -> Reply_ {
        let mut comments = self.comments.lock().unwrap();
        let body: Value = req.body_json().unwrap_or_default();
        let text = body["body"].as_str().unwrap_or_default();
        let id: Option<u64> = req
            .url
            .path()
            .rsplit('/')
            .next()
            .and_then(|s| s.parse().ok());
        let found = id.and_then(|id| comments.iter().position(|c| c["id"] == id));
        match (req.method.as_str(), found) {
            ("GET", _) => ok(Value::Array(comments.clone())),
            ("PATCH", Some(i)) => {
                comments[i]["body"] = json!(text);
                ok(comments[i].clone())
            }
            ("DELETE", Some(i)) => {
                comments.remove(i);
                Reply_::new(204)
            }
            ("POST", _) => {
                if let Some(other) = self.race_with.lock().unwrap().take() {
                    comments.insert(0, other);
                }
                let new = comment(100 + comments.len() as u64, FALLBACK_LOGIN, text);
                comments.push(new.clone());
                match self.lose_post_reply.swap(false, Ordering::SeqCst) {
                    true => Reply_::new(502).set_body_raw("<html>Bad gateway</html>", "text/html"),
                    false => Reply_::new(201).set_body_json(new),
                }
            }
            _ => Reply_::new(404),
        }
    }
}

async fn fake(lose_post_reply: bool) -> (MockServer, FakeIssue) {
    let (server, fake) = (server(None).await, FakeIssue::default());
    fake.lose_post_reply
        .store(lose_post_reply, Ordering::SeqCst);
    let routes = path_regex(r"^/repos/octo/repo/issues/(7/comments|comments/\d+)$");
    Mock::given(routes)
        .respond_with(fake.clone())
        .mount(&server)
        .await;
    (server, fake)
}

#[tokio::test]
async fn updates_oldest_own_comment_across_pages_and_removes_the_other() {
    let server = server(Some(ME)).await;
    let (uri, mark) = (server.uri(), marker("ci"));
    let link = |n: u32| format!("<{uri}{LIST}?per_page=100&page={n}>; rel=\"next\"");
    let (old, newer) = (format!("{mark}\nold"), format!("{mark}\r\nnew"));
    let pages = [
        (None, json!([comment(1, ME, &old), comment(2, "al", "hi")])),
        (Some("2"), json!([comment(3, ME, &format!("note\n{mark}"))])),
        (
            Some("3"),
            json!([comment(9, ME, &newer), comment(10, "x", &mark)]),
        ),
    ];
    for (n, (page, body)) in pages.into_iter().enumerate() {
        let reply = match n {
            2 => ok(body),
            _ => ok(body).insert_header("link", link(n as u32 + 2).as_str()),
        };
        let mock = Mock::given(method("GET"))
            .and(path(LIST))
            .and(query_param("per_page", "100"));
        let mock = match page {
            Some(p) => mock.and(query_param("page", p)),
            None => mock.and(query_param_is_missing("page")),
        };
        mock.respond_with(reply).expect(1).mount(&server).await;
    }
    let patch = on(
        "PATCH",
        "/repos/octo/repo/issues/comments/1",
        ok(comment(1, ME, "")),
    );
    patch.expect(1).mount(&server).await;
    let delete = on(
        "DELETE",
        "/repos/octo/repo/issues/comments/9",
        Reply_::new(204),
    );
    delete.expect(1).mount(&server).await;
    let out = upsert_r(&ctx(uri.clone()), &fast()).await;
    assert_eq!(done(out), Ok(("updated", 1)));
    assert_eq!(first_line(&requests(&server, "PATCH").await[0]), mark);
}

#[tokio::test]
async fn another_authors_marker_is_ignored() {
    let (server, mark) = (server(Some(ME)).await, marker("ci"));
    let page = json!([comment(5, "mallory", &mark), comment(6, ME, "other")]);
    on("GET", LIST, ok(page)).mount(&server).await;
    let created = Reply_::new(201).set_body_json(comment(11, ME, ""));
    on("POST", LIST, created).expect(1).mount(&server).await;
    let out = upsert_r(&ctx(server.uri()), &fast()).await;
    assert_eq!(done(out), Ok(("created", 11)));
    assert_eq!(first_line(&requests(&server, "POST").await[0]), mark);
}

#[tokio::test]
async fn second_run_updates_in_place() {
    let (server, fake) = fake(false).await;
    let c = ctx(server.uri());
    let first = upsert_sticky_comment(&c, "ci", &|_| "one".into(), &fast()).await;
    let second = upsert_sticky_comment(&c, "ci", &|_| "two".into(), &fast()).await;
    assert_eq!(done(first), Ok(("created", 100)));
    assert_eq!(done(second), Ok(("updated", 100)));
    let comments = fake.comments.lock().unwrap().clone();
    assert_eq!(
        comments,
        [comment(
            100,
            FALLBACK_LOGIN,
            &format!("{}\ntwo", marker("ci"))
        )]
    );
    requests(&server, "GET").await;
}

#[tokio::test]
async fn lost_create_reply_lists_again_instead_of_reposting() {
    let (server, fake) = fake(true).await;
    let out = upsert_r(&ctx(server.uri()), &fast()).await;
    assert_eq!(done(out), Ok(("updated", 100)));
    assert_eq!(fake.comments.lock().unwrap().len(), 1);
    assert_eq!(requests(&server, "POST").await.len(), 1);
}

#[tokio::test]
async fn retries_502_html_then_succeeds() {
    let server = server(Some(ME)).await;
    let html = Reply_::new(502).set_body_raw("<html><h1>502 Bad Gateway</h1></html>", "text/html");
    on("GET", LIST, html)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    on("GET", LIST, ok(json!([]))).mount(&server).await;
    let created = Reply_::new(201).set_body_json(comment(12, ME, ""));
    on("POST", LIST, created).expect(1).mount(&server).await;
    let out = upsert_r(&ctx(server.uri()), &fast()).await;
    assert_eq!(done(out), Ok(("created", 12)));
    // /user, 502, retry, and the listing after the create that settles a race.
    assert_eq!(requests(&server, "GET").await.len(), 4);
}

#[tokio::test]
async fn forbidden_write_is_read_only() {
    let server = server(None).await;
    on("GET", LIST, ok(json!([]))).mount(&server).await;
    let denied = status(403, "Resource not accessible by integration");
    on("POST", LIST, denied).expect(1).mount(&server).await;
    let err = upsert_r(&ctx(server.uri()), &fast()).await.unwrap_err();
    assert!(
        matches!(err, GitHubError::ReadOnly { status: 403, .. }),
        "{err:?}"
    );
    assert!(err.is_permission_or_context());
    requests(&server, "GET").await;
}

/// Lists nothing and refuses the first `failures` creates as too long.
async fn too_long_server(failures: u64) -> MockServer {
    let server = server(Some(ME)).await;
    let detail = json!({ "resource": "IssueComment", "code": "custom", "field": "body",
            "message": "body is too long (maximum is 65536 characters)" });
    let refusal = json!({ "message": "Validation Failed", "errors": [detail] });
    on("GET", LIST, ok(json!([]))).mount(&server).await;
    let too_long = on("POST", LIST, Reply_::new(422).set_body_json(refusal));
    too_long
        .up_to_n_times(failures)
        .with_priority(1)
        .mount(&server)
        .await;
    let created = Reply_::new(201).set_body_json(comment(13, ME, ""));
    on("POST", LIST, created).mount(&server).await;
    server
}

#[tokio::test]
async fn too_long_body_is_rendered_smaller_once() {
    let server = too_long_server(1).await;
    let limits = Mutex::new(Vec::new());
    let render = |limit: usize| {
        limits.lock().unwrap().push(limit);
        "report".to_string()
    };
    let out = upsert_sticky_comment(&ctx(server.uri()), "ci", &render, &fast()).await;
    assert_eq!(done(out), Ok(("created", 13)));
    assert_eq!(*limits.lock().unwrap(), [65_280, 32_640]);
    let server = too_long_server(2).await;
    assert_eq!(
        upsert_r(&ctx(server.uri()), &fast()).await,
        Err(GitHubError::TooLong)
    );
    assert_eq!(requests(&server, "POST").await.len(), 2);
}

#[tokio::test]
async fn rate_limit_waits_are_honoured_and_capped() {
    let server = strict().await;
    let slow_down = Reply_::new(429).insert_header("retry-after", "1");
    on("GET", "/user", slow_down)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let reset = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let exhausted = status(403, "API rate limit exceeded")
        .insert_header("x-ratelimit-remaining", "0")
        .insert_header("x-ratelimit-reset", reset.to_string().as_str());
    on("GET", "/user", exhausted)
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    on("GET", "/user", ok(json!({ "login": ME })))
        .mount(&server)
        .await;
    let policy = RetryPolicy {
        max_wait: Duration::from_millis(1500),
        ..fast()
    };
    let client = Client::new(&ctx(server.uri()), TOKEN, &policy).unwrap();
    let started = std::time::Instant::now();
    assert_eq!(client.login().await, Ok(ME.to_string()));
    // 1 s from retry-after, then the hour until the reset capped at 1.5 s.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(2400), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    assert_eq!(requests(&server, "GET").await.len(), 3);
}

#[tokio::test]
async fn ghes_base_path_is_kept() {
    let server = strict().await;
    let (base, list) = (format!("{}/api/v3", server.uri()), format!("/api/v3{LIST}"));
    on("GET", "/api/v3/user", ok(json!({ "login": ME })))
        .mount(&server)
        .await;
    let next = format!("<{base}{LIST}?per_page=100&page=2>; rel=\"next\"");
    let page1 = ok(json!([])).insert_header("link", next.as_str());
    let first = Mock::given(method("GET"))
        .and(path(&list))
        .and(query_param_is_missing("page"));
    // Listed twice: before the create, and after it, to settle a concurrent create.
    first.respond_with(page1).expect(2).mount(&server).await;
    let second = Mock::given(method("GET"))
        .and(path(&list))
        .and(query_param("page", "2"));
    second
        .respond_with(ok(json!([])))
        .expect(2)
        .mount(&server)
        .await;
    let created = Reply_::new(201).set_body_json(comment(14, ME, ""));
    on("POST", &list, created).expect(1).mount(&server).await;
    let out = upsert_r(&ctx(base), &fast()).await;
    assert_eq!(done(out), Ok(("created", 14)));
    requests(&server, "GET").await;
}

#[tokio::test]
async fn token_never_appears_in_errors_or_debug() {
    let server = MockServer::start().await;
    let echo = status(500, &format!("token {TOKEN} exploded"));
    Mock::given(any())
        .respond_with(echo)
        .expect(2)
        .mount(&server)
        .await;
    let (c, policy) = (
        ctx(server.uri()),
        RetryPolicy {
            max_attempts: 2,
            ..fast()
        },
    );
    let err = upsert_r(&c, &policy).await.unwrap_err();
    assert!(
        matches!(err, GitHubError::Api { status: 500, .. }),
        "{err:?}"
    );
    requests(&server, "GET").await;
    let down = GitHubContext {
        api_url: "http://127.0.0.1:9".into(),
        ..c.clone()
    };
    let down_err = upsert_r(&down, &policy).await.unwrap_err();
    assert!(
        matches!(down_err, GitHubError::Transport(_)),
        "{down_err:?}"
    );
    for text in [
        err.to_string(),
        format!("{err:?} {down_err} {down_err:?} {c:?}"),
    ] {
        assert!(!text.contains(TOKEN), "{text}");
    }
    assert!(format!("{c:?}").contains("***") && c.token_value() == Some(TOKEN));
    let no_token = GitHubContext {
        token: None,
        ..c.clone()
    };
    assert_eq!(
        upsert_r(&no_token, &policy).await,
        Err(GitHubError::NoToken)
    );
    let no_pr = GitHubContext { pr: None, ..c };
    assert!(upsert_r(&no_pr, &policy)
        .await
        .is_err_and(|e| e.is_permission_or_context()));
}

fn stamp(run_id: u64, attempt: u64) -> RunStamp {
    RunStamp {
        run_id,
        attempt,
        sha: "abc".into(),
    }
}

fn stamped_ctx(uri: String, run_id: u64, attempt: u64) -> GitHubContext {
    GitHubContext {
        stamp: Some(stamp(run_id, attempt)),
        ..ctx(uri)
    }
}

fn bodies(fake: &FakeIssue) -> Vec<(u64, String)> {
    let comments = fake.comments.lock().unwrap();
    comments
        .iter()
        .map(|c| {
            let id = c["id"].as_u64().unwrap();
            (id, c["body"].as_str().unwrap_or_default().to_string())
        })
        .collect()
}

#[tokio::test]
async fn a_comment_of_a_newer_run_is_never_replaced() {
    let (server, fake) = fake(false).await;
    let newer = format!("{}\n{}\n✅ newer", marker("ci"), stamp(500, 1).line());
    fake.comments
        .lock()
        .unwrap()
        .push(comment(7, FALLBACK_LOGIN, &newer));
    let out = upsert_r(&stamped_ctx(server.uri(), 400, 3), &fast()).await;
    assert_eq!(done(out), Ok(("superseded", 7)));
    assert_eq!(bodies(&fake), vec![(7, newer)]);
    assert!(requests(&server, "PATCH").await.is_empty());
    assert!(requests(&server, "POST").await.is_empty());
}

#[tokio::test]
async fn a_later_attempt_replaces_and_stamps_the_comment() {
    let (server, fake) = fake(false).await;
    let older = format!("{}\n{}\n❌ attempt 1", marker("ci"), stamp(500, 1).line());
    let unstamped = format!("{}\nfrom a local report", marker("ci"));
    fake.comments.lock().unwrap().extend([
        comment(7, FALLBACK_LOGIN, &older),
        comment(8, FALLBACK_LOGIN, &unstamped),
    ]);
    let out = upsert_r(&stamped_ctx(server.uri(), 500, 2), &fast()).await;
    assert_eq!(done(out), Ok(("updated", 7)));
    let now = bodies(&fake);
    assert_eq!(now.len(), 1, "the duplicate is removed: {now:?}");
    let lines: Vec<&str> = now[0].1.lines().collect();
    assert_eq!(lines[0], marker("ci"));
    assert_eq!(RunStamp::parse(&now[0].1), Some(stamp(500, 2)));
    assert_eq!(lines[2], "report");
}

#[tokio::test]
async fn two_first_posts_at_once_settle_on_the_older_comment() {
    let (server, fake) = fake(false).await;
    let theirs = format!("{}\n{}\nother leg", marker("ci"), stamp(500, 1).line());
    *fake.race_with.lock().unwrap() = Some(comment(50, FALLBACK_LOGIN, &theirs));
    let out = upsert_r(&stamped_ctx(server.uri(), 500, 1), &fast()).await;
    assert_eq!(done(out), Ok(("updated", 50)));
    let now = bodies(&fake);
    assert_eq!(now.len(), 1, "{now:?}");
    assert_eq!(now[0].0, 50);
    assert!(now[0].1.ends_with("report"), "{now:?}");
    assert_eq!(requests(&server, "DELETE").await.len(), 1);
}

#[tokio::test]
async fn an_update_is_given_the_failures_of_the_comment_it_replaces() {
    let (server, fake) = fake(false).await;
    let c = stamped_ctx(server.uri(), 500, 1);
    let seen: Mutex<Vec<Option<Vec<String>>>> = Mutex::default();
    let render = |failed: &'static [&'static str]| {
        let seen = &seen;
        move |_: usize, previous: Option<&[String]>| {
            seen.lock().unwrap().push(previous.map(<[String]>::to_vec));
            let ids: Vec<String> = failed.iter().map(|s| s.to_string()).collect();
            format!("report\n{}", super::failed_mark::line(&ids))
        }
    };
    let first = upsert_sticky_comment_since(&c, "ci", &render(&["A", "B --> x"]), &fast()).await;
    assert_eq!(done(first), Ok(("created", 100)));
    let later = stamped_ctx(server.uri(), 501, 1);
    let second = upsert_sticky_comment_since(&later, "ci", &render(&["C"]), &fast()).await;
    assert_eq!(done(second), Ok(("updated", 100)));
    let third = upsert_sticky_comment_since(&later, "other", &render(&[]), &fast()).await;
    assert_eq!(done(third), Ok(("created", 101)));
    assert_eq!(
        *seen.lock().unwrap(),
        [None, Some(vec!["A".to_string(), "B --> x".into()]), None],
        "a first post has no previous run; another key is another comment"
    );
    let now = bodies(&fake);
    assert!(
        now[0].1.ends_with("<!-- cargo-tek:failed ids=C -->"),
        "{now:?}"
    );
}
