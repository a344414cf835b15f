//! GitHub integration: one sticky pull-request comment per key, and the job summary.
//!
//! Reads the GitHub Actions context ([`GitHubContext::from_env`]), then finds, updates or
//! creates our comment through the REST API ([`upsert_sticky_comment`]). octocrab is only the
//! HTTP transport here: its own retries are switched off so that this module decides what is
//! safe to repeat — a create is never blindly re-sent, because a lost response may hide a
//! comment that was in fact posted. [`append_job_summary`] writes `GITHUB_STEP_SUMMARY`.
//! This module never prints, and the token never appears in errors or `Debug` output.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, Method};
use octocrab::service::middleware::retry::RetryConfig;
use octocrab::Octocrab;
use serde::Deserialize;
use serde_json::{json, Value};

const DEFAULT_API_URL: &str = "https://api.github.com";
/// GitHub rejects comment bodies longer than this many characters.
pub const MAX_COMMENT_CHARS: usize = 65_536;
/// Room kept free under the limit for the marker line we may prepend.
const MARKER_MARGIN: usize = 256;
/// Login of the Actions `GITHUB_TOKEN`, which may not read `/user`.
const FALLBACK_LOGIN: &str = "github-actions[bot]";
/// Guards against a server that keeps sending `rel="next"` forever.
const MAX_PAGES: usize = 200;
const MAX_KEY_CHARS: usize = 100;

/// A credential whose `Debug` output never shows the value.
#[derive(Clone)]
struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where and as whom to talk to GitHub, as read from the Actions environment.
#[derive(Clone, Debug)]
pub struct GitHubContext {
    /// REST API root, without trailing slash; GHES roots keep their path (`.../api/v3`).
    pub api_url: String,
    /// `owner/name`.
    pub repository: String,
    /// Pull request number, when this run belongs to one.
    pub pr: Option<u64>,
    token: Option<Secret>,
}

impl GitHubContext {
    /// Reads `GITHUB_API_URL` (default `https://api.github.com`), `GITHUB_REPOSITORY`,
    /// `GITHUB_TOKEN`, and the PR number from `pr_override` or else from the event payload at
    /// `GITHUB_EVENT_PATH` (`pull_request.number`, `number`, or `issue.number` when
    /// `issue.pull_request` exists). `env` is the variable lookup, so tests need no process env.
    pub fn from_env(
        env: &dyn Fn(&str) -> Option<String>,
        pr_override: Option<u64>,
    ) -> Result<Self, GitHubError> {
        let var = |name: &str| {
            env(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let api_url = var("GITHUB_API_URL")
            .map(|u| u.trim_end_matches('/').to_string())
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| DEFAULT_API_URL.to_string());
        let repository = var("GITHUB_REPOSITORY")
            .filter(|r| valid_repository(r))
            .ok_or(GitHubError::NoRepository)?;
        let pr = match (pr_override, var("GITHUB_EVENT_PATH")) {
            (Some(pr), _) => Some(pr),
            (None, Some(path)) => pr_from_event(Path::new(&path))?,
            (None, None) => None,
        };
        Ok(Self {
            api_url,
            repository,
            pr,
            token: var("GITHUB_TOKEN").map(Secret),
        })
    }

    /// The token, so reports can mask it wherever it might show up.
    pub fn token_value(&self) -> Option<&str> {
        self.token.as_ref().map(|t| t.0.as_str())
    }
}

/// Characters that need no escaping in a URL path nor can end an HTML comment.
fn plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// A name made of plain characters can't reshape the API route it is put into.
fn valid_repository(repository: &str) -> bool {
    let ok = |s: &str| !s.is_empty() && s.chars().all(plain);
    matches!(repository.split_once('/'), Some((owner, name)) if ok(owner) && ok(name))
}

fn pr_from_event(path: &Path) -> Result<Option<u64>, GitHubError> {
    let fail = |message: String| GitHubError::Event {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    let event: Value =
        serde_json::from_str(&text).map_err(|e| fail(format!("invalid JSON: {e}")))?;
    let number = |v: &Value| v.get("number").and_then(Value::as_u64);
    // An issue comment event is about a PR only when the issue carries `pull_request`.
    let pr_issue = event
        .get("issue")
        .filter(|i| i.get("pull_request").is_some_and(|p| !p.is_null()));
    Ok(event
        .get("pull_request")
        .and_then(number)
        .or_else(|| number(&event))
        .or_else(|| pr_issue.and_then(number)))
}

/// The hidden first line that identifies our comment for `key`; the key is reduced to
/// `[A-Za-z0-9._-]` so it can never close the HTML comment early.
pub fn marker(key: &str) -> String {
    let key: String = key
        .chars()
        .take(MAX_KEY_CHARS)
        .map(|c| if plain(c) { c } else { '-' })
        .collect();
    let key = if key.is_empty() { "default" } else { &key };
    format!("<!-- cargo-tek:sticky-comment key={key} -->")
}

/// What [`upsert_sticky_comment`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommentOutcome {
    /// A new comment was posted.
    Created { id: u64, url: String },
    /// Our existing comment was edited in place.
    Updated { id: u64, url: String },
}

/// How long and how often to retry server errors and rate limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total tries per request, including the first.
    pub max_attempts: u32,
    /// Upper bound on any single wait, including server-requested ones.
    pub max_wait: Duration,
    /// First backoff step; doubles on each retry.
    pub base_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            max_wait: Duration::from_secs(60),
            base_wait: Duration::from_secs(1),
        }
    }
}

/// Why talking to GitHub failed. Messages never contain the token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GitHubError {
    #[error("GITHUB_REPOSITORY is not set to owner/name")]
    NoRepository,
    #[error("GITHUB_TOKEN is not set")]
    NoToken,
    #[error("no pull request number: not a pull_request event and none given")]
    NoPullRequest,
    #[error("token may not write comments (HTTP {status}): {message}")]
    ReadOnly { status: u16, message: String },
    #[error("comment body is too long even after shrinking")]
    TooLong,
    #[error("GitHub API error (HTTP {status}): {message}")]
    Api { status: u16, message: String },
    #[error("could not reach GitHub: {0}")]
    Transport(String),
    #[error("cannot read event payload {}: {message}", path.display())]
    Event { path: PathBuf, message: String },
}

impl GitHubError {
    /// True for a run that simply can't comment (fork PR, no token, not a PR): the caller
    /// should warn and keep the body instead of failing.
    pub fn is_permission_or_context(&self) -> bool {
        matches!(
            self,
            Self::ReadOnly { .. } | Self::NoToken | Self::NoPullRequest
        )
    }

    /// Defence in depth: a server or transport message might echo the credential.
    fn scrubbed(mut self, token: &str) -> Self {
        if let Self::ReadOnly { message, .. }
        | Self::Api { message, .. }
        | Self::Transport(message) = &mut self
        {
            *message = message.replace(token, "***");
        }
        self
    }
}

/// Upserts one sticky comment per PR and key. `render(limit)` returns a body of at most
/// `limit` characters; the marker line is prepended when the body doesn't start with it.
pub async fn upsert_sticky_comment(
    ctx: &GitHubContext,
    key: &str,
    render: &dyn Fn(usize) -> String,
    policy: &RetryPolicy,
) -> Result<CommentOutcome, GitHubError> {
    let pr = ctx.pr.ok_or(GitHubError::NoPullRequest)?;
    let token = ctx.token_value().ok_or(GitHubError::NoToken)?;
    upsert(ctx, token, pr, key, render, policy)
        .await
        .map_err(|e| e.scrubbed(token))
}

async fn upsert(
    ctx: &GitHubContext,
    token: &str,
    pr: u64,
    key: &str,
    render: &dyn Fn(usize) -> String,
    policy: &RetryPolicy,
) -> Result<CommentOutcome, GitHubError> {
    let client = Client::new(ctx, token, policy)?;
    let login = client.login().await?;
    let mark = marker(key);
    let mut limit = MAX_COMMENT_CHARS - MARKER_MARGIN;
    let mut body = with_marker(render(limit), &mark);
    let mut shrunk = false;
    let mut target = client.find_ours(pr, &login, &mark).await?;
    let create_url = client.url(&format!("{}/issues/{pr}/comments", client.repo));
    let mut attempt = 1;
    loop {
        let payload = json!({ "body": body });
        let outcome = match target {
            // An edit is idempotent, so it may be retried as is.
            Some(id) => {
                let url = client.url(&format!("{}/issues/comments/{id}", client.repo));
                client.call(Method::PATCH, &url, Some(&payload)).await
            }
            None => client.once(Method::POST, &create_url, Some(&payload)).await,
        };
        // A failed create is ambiguous (it may have been stored before the reply was lost),
        // so list again and update what is there rather than posting a duplicate.
        if let (None, Some(wait)) = (target, client.retry_after(&outcome, attempt)) {
            tokio::time::sleep(wait).await;
            attempt += 1;
            target = client.find_ours(pr, &login, &mark).await?;
            continue;
        }
        let reply = outcome?;
        if is_success(reply.status) {
            let comment: Comment = parse(&reply)?;
            let (id, url) = (comment.id, comment.html_url);
            return Ok(match target {
                Some(_) => CommentOutcome::Updated { id, url },
                None => CommentOutcome::Created { id, url },
            });
        }
        match reply.status {
            422 if reply.text.to_lowercase().contains("too long") => {
                if shrunk {
                    return Err(GitHubError::TooLong);
                }
                shrunk = true;
                limit /= 2;
                body = with_marker(render(limit), &mark);
            }
            403 | 404 if !is_rate_limited(&reply) => {
                let (status, message) = (reply.status, message_of(&reply));
                return Err(GitHubError::ReadOnly { status, message });
            }
            _ => return Err(api_error(&reply)),
        }
    }
}

fn with_marker(body: String, mark: &str) -> String {
    if body.lines().next().map(str::trim) == Some(mark) {
        body
    } else {
        format!("{mark}\n{body}")
    }
}

/// Appends `body` to the job summary file (creating it), ending with a newline.
pub fn append_job_summary(path: &Path, body: &str) -> std::io::Result<()> {
    let mut text = body.to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    // One write call, so concurrent steps appending to the same file don't interleave mid-body.
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(text.as_bytes())
}

#[derive(Deserialize)]
struct Comment {
    id: u64,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    html_url: String,
    #[serde(default)]
    user: Option<User>,
}

#[derive(Deserialize)]
struct User {
    login: String,
}

impl Comment {
    /// Ours means written by us AND starting with our marker: others may copy the marker.
    fn is_ours(&self, login: &str, mark: &str) -> bool {
        let by_us = self
            .user
            .as_ref()
            .is_some_and(|u| u.login.eq_ignore_ascii_case(login));
        let first = self.body.as_deref().and_then(|b| b.lines().next());
        by_us && first.map(str::trim) == Some(mark)
    }
}

/// A response read in full: status, headers and body text.
struct Reply {
    status: u16,
    headers: HeaderMap,
    text: String,
}

struct Client<'a> {
    octo: Octocrab,
    policy: &'a RetryPolicy,
    base: http::Uri,
    api_url: String,
    /// `/repos/{owner}/{name}`.
    repo: String,
}

impl<'a> Client<'a> {
    fn new(ctx: &GitHubContext, token: &str, policy: &'a RetryPolicy) -> Result<Self, GitHubError> {
        // octocrab panics on a token that isn't a valid header value; refuse it here instead.
        if http::HeaderValue::from_str(&format!("Bearer {token}")).is_err() {
            return Err(GitHubError::Transport(
                "GITHUB_TOKEN contains characters not allowed in an HTTP header".into(),
            ));
        }
        let api_url = ctx.api_url.trim_end_matches('/').to_string();
        let bad_url = || GitHubError::Transport(format!("invalid GitHub API URL {api_url:?}"));
        let base: http::Uri = api_url.parse().map_err(|_| bad_url())?;
        if base.scheme().is_none() || base.authority().is_none() {
            return Err(bad_url());
        }
        let octo = Octocrab::builder()
            .add_retry_config(RetryConfig::None)
            .set_connect_timeout(Some(Duration::from_secs(15)))
            .set_read_timeout(Some(Duration::from_secs(60)))
            .personal_token(token.to_string())
            .base_uri(base.clone())
            .map_err(transport)?
            .build()
            .map_err(transport)?;
        Ok(Self {
            octo,
            policy,
            base,
            api_url,
            repo: format!("/repos/{}", ctx.repository),
        })
    }

    /// Absolute URLs keep a GHES path prefix intact whatever octocrab's joining rules.
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api_url)
    }

    async fn once(
        &self,
        verb: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Reply, GitHubError> {
        let response = match verb {
            Method::POST => self.octo._post(url, body).await,
            Method::PATCH => self.octo._patch(url, body).await,
            _ => self.octo._get(url).await,
        }
        .map_err(transport)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = match self.octo.body_to_string(response).await {
            Ok(text) => text,
            // An unreadable error body still leaves a usable status.
            Err(_) if !is_success(status) => String::new(),
            Err(e) => return Err(transport(e)),
        };
        Ok(Reply {
            status,
            headers,
            text,
        })
    }

    /// Sends an idempotent request, retrying transport errors, 5xx and rate limits.
    async fn call(
        &self,
        verb: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Reply, GitHubError> {
        let mut attempt = 1;
        loop {
            let outcome = self.once(verb.clone(), url, body).await;
            match self.retry_after(&outcome, attempt) {
                Some(wait) => tokio::time::sleep(wait).await,
                None => return outcome,
            }
            attempt += 1;
        }
    }

    /// How long to wait before try `attempt + 1`, or `None` when there must not be one.
    fn retry_after(&self, outcome: &Result<Reply, GitHubError>, attempt: u32) -> Option<Duration> {
        if attempt >= self.policy.max_attempts {
            return None;
        }
        match outcome {
            Ok(reply) => retry_wait(reply, attempt, self.policy),
            Err(GitHubError::Transport(_)) => Some(backoff(attempt, self.policy)),
            Err(_) => None,
        }
    }

    /// The token's login; the Actions token can't read `/user`, so 403/404 means that bot.
    async fn login(&self) -> Result<String, GitHubError> {
        #[derive(Deserialize)]
        struct Me {
            login: String,
        }
        let reply = self.call(Method::GET, &self.url("/user"), None).await?;
        match reply.status {
            s if is_success(s) => Ok(parse::<Me>(&reply)?.login),
            403 | 404 => Ok(FALLBACK_LOGIN.to_string()),
            _ => Err(api_error(&reply)),
        }
    }

    /// Id of the newest comment of ours on the PR, reading every page.
    async fn find_ours(
        &self,
        pr: u64,
        login: &str,
        mark: &str,
    ) -> Result<Option<u64>, GitHubError> {
        let first = format!("{}/issues/{pr}/comments?per_page=100", self.repo);
        let mut next = Some(self.url(&first));
        let mut newest: Option<u64> = None;
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(GitHubError::Transport(format!(
                    "comment listing exceeded {MAX_PAGES} pages"
                )));
            }
            let reply = self.call(Method::GET, &url, None).await?;
            if !is_success(reply.status) {
                return Err(api_error(&reply));
            }
            for comment in parse::<Vec<Comment>>(&reply)? {
                if comment.is_ours(login, mark) && newest.is_none_or(|id| comment.id > id) {
                    newest = Some(comment.id);
                }
            }
            next = next_link(&reply.headers)
                .map(|link| self.same_host(link))
                .transpose()?;
        }
        Ok(newest)
    }

    /// octocrab only attaches the token for its base host; refuse to wander anywhere else.
    fn same_host(&self, link: String) -> Result<String, GitHubError> {
        let uri: http::Uri = link
            .parse()
            .map_err(|_| GitHubError::Transport(format!("invalid pagination link {link:?}")))?;
        if uri.scheme() == self.base.scheme() && uri.authority() == self.base.authority() {
            Ok(link)
        } else {
            Err(GitHubError::Transport(format!(
                "pagination link {link:?} leaves the API host"
            )))
        }
    }
}

/// The `rel="next"` target of a `Link` header, if any.
fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|part| {
            let mut pieces = part.split(';');
            let url = pieces.next()?.trim().strip_prefix('<')?.strip_suffix('>')?;
            let is_next = pieces.any(|p| {
                p.trim().strip_prefix("rel=").is_some_and(|rel| {
                    rel.trim_matches('"')
                        .split_whitespace()
                        .any(|r| r == "next")
                })
            });
            is_next.then(|| url.to_string())
        })
}

fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// GitHub signals rate limits with 429, or 403 plus exhausted quota, `retry-after`, or a
/// "secondary rate limit" message; any other 403 is a real permission refusal.
fn is_rate_limited(reply: &Reply) -> bool {
    reply.status == 429
        || (reply.status == 403
            && (header_u64(&reply.headers, "x-ratelimit-remaining") == Some(0)
                || reply.headers.contains_key("retry-after")
                || reply.text.to_lowercase().contains("rate limit")))
}

/// How long to wait before retrying `reply`, or `None` when it isn't worth retrying.
fn retry_wait(reply: &Reply, attempt: u32, policy: &RetryPolicy) -> Option<Duration> {
    let limited = is_rate_limited(reply);
    if !limited && reply.status < 500 {
        return None;
    }
    let headers = &reply.headers;
    let hinted = header_u64(headers, "retry-after")
        .map(Duration::from_secs)
        .or_else(|| {
            let exhausted = header_u64(headers, "x-ratelimit-remaining") == Some(0);
            let reset = header_u64(headers, "x-ratelimit-reset").filter(|_| exhausted)?;
            let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
            Some(Duration::from_secs(reset.saturating_sub(now)))
        });
    // GitHub asks for at least a minute on an unexplained rate limit; the cap still applies.
    let fallback = if limited {
        policy.max_wait
    } else {
        backoff(attempt, policy)
    };
    Some(hinted.unwrap_or(fallback).min(policy.max_wait))
}

fn backoff(attempt: u32, policy: &RetryPolicy) -> Duration {
    let factor = 1u32 << attempt.saturating_sub(1).min(16);
    policy.base_wait.saturating_mul(factor).min(policy.max_wait)
}

fn parse<T: serde::de::DeserializeOwned>(reply: &Reply) -> Result<T, GitHubError> {
    serde_json::from_str(&reply.text).map_err(|e| GitHubError::Api {
        status: reply.status,
        message: format!("unexpected response body: {e}"),
    })
}

/// GitHub's JSON `message` plus any per-field errors; a short excerpt for HTML pages.
fn message_of(reply: &Reply) -> String {
    if let Ok(value) = serde_json::from_str::<Value>(&reply.text) {
        if let Some(message) = value.get("message").and_then(Value::as_str) {
            let details: Vec<&str> = value
                .get("errors")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|e| e.get("message").and_then(Value::as_str))
                .collect();
            return match details.is_empty() {
                true => message.to_string(),
                false => format!("{message}: {}", details.join("; ")),
            };
        }
    }
    // An HTML error page from a proxy: a short, single-line excerpt is enough.
    let excerpt = reply.text.split_whitespace().collect::<Vec<_>>().join(" ");
    format!(
        "non-JSON response: {}",
        excerpt.chars().take(200).collect::<String>()
    )
}

fn api_error(reply: &Reply) -> GitHubError {
    GitHubError::Api {
        status: reply.status,
        message: message_of(reply),
    }
}

fn transport(error: octocrab::Error) -> GitHubError {
    // The top-level message is often generic; the source chain says what actually broke.
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    GitHubError::Transport(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use wiremock::matchers::{any, method, path, path_regex, query_param, query_param_is_missing};
    use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate as Reply_};

    const TOKEN: &str = "ghp_TopSecretTokenValue0123456789";
    const ME: &str = "tek-bot";
    const LIST: &str = "/repos/octo/repo/issues/7/comments";

    fn ctx(api_url: String) -> GitHubContext {
        let (repository, token) = ("octo/repo".into(), Some(Secret(TOKEN.into())));
        GitHubContext {
            api_url,
            repository,
            pr: Some(7),
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
                ("POST", _) => {
                    let new = comment(100 + comments.len() as u64, FALLBACK_LOGIN, text);
                    comments.push(new.clone());
                    match self.lose_post_reply.swap(false, Ordering::SeqCst) {
                        true => {
                            Reply_::new(502).set_body_raw("<html>Bad gateway</html>", "text/html")
                        }
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
    async fn updates_newest_own_comment_found_on_page_three() {
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
            "/repos/octo/repo/issues/comments/9",
            ok(comment(9, ME, "")),
        );
        patch.expect(1).mount(&server).await;
        let out = upsert_r(&ctx(uri.clone()), &fast()).await;
        assert_eq!(done(out), Ok(("updated", 9)));
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
        let html =
            Reply_::new(502).set_body_raw("<html><h1>502 Bad Gateway</h1></html>", "text/html");
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
        assert_eq!(requests(&server, "GET").await.len(), 3); // /user, 502, retry
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
        let limits = RefCell::new(Vec::new());
        let render = |limit: usize| {
            limits.borrow_mut().push(limit);
            "report".to_string()
        };
        let out = upsert_sticky_comment(&ctx(server.uri()), "ci", &render, &fast()).await;
        assert_eq!(done(out), Ok(("created", 13)));
        assert_eq!(*limits.borrow(), [65_280, 32_640]);
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
        first.respond_with(page1).expect(1).mount(&server).await;
        let second = Mock::given(method("GET"))
            .and(path(&list))
            .and(query_param("page", "2"));
        second
            .respond_with(ok(json!([])))
            .expect(1)
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

    #[test]
    fn from_env_reads_event_payload() {
        let dir = tempfile::tempdir().unwrap();
        let context = |payload: Option<Value>, extra: &[(&str, &str)]| {
            let file = dir.path().join("event.json");
            if let Some(payload) = payload {
                std::fs::write(&file, payload.to_string()).unwrap();
            }
            let file = file.display().to_string();
            let vars = [
                ("GITHUB_REPOSITORY", "octo/repo"),
                ("GITHUB_EVENT_PATH", file.as_str()),
            ];
            let env = |name: &str| {
                let mut all = vars.iter().chain(extra).rev();
                all.find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
            };
            GitHubContext::from_env(&env, None)
        };
        let pr = json!({ "action": "opened", "number": 5, "pull_request": { "number": 42 } });
        let ghes = [
            ("GITHUB_API_URL", "https://ghe.example.com/api/v3/"),
            ("GITHUB_TOKEN", TOKEN),
        ];
        let c = context(Some(pr), &ghes).unwrap();
        assert_eq!(
            (c.api_url.as_str(), c.pr),
            ("https://ghe.example.com/api/v3", Some(42))
        );
        assert_eq!(
            (c.repository.as_str(), c.token_value()),
            ("octo/repo", Some(TOKEN))
        );
        let pr_of = |payload| context(Some(payload), &[]).map(|c| c.pr);
        assert_eq!(
            pr_of(json!({ "issue": { "number": 8, "pull_request": {} } })),
            Ok(Some(8))
        );
        assert_eq!(pr_of(json!({ "issue": { "number": 8 } })), Ok(None));
        let c = context(Some(json!({ "ref": "refs/heads/main" })), &[]).unwrap();
        assert_eq!(
            (c.api_url.as_str(), c.pr, c.token_value()),
            (DEFAULT_API_URL, None, None)
        );
        std::fs::write(dir.path().join("event.json"), "{ not json").unwrap();
        assert!(matches!(context(None, &[]), Err(GitHubError::Event { .. })));
        for repo in ["", "noslash", "a/b/c", "a/b?x"] {
            let env = |name: &str| (name == "GITHUB_REPOSITORY").then(|| repo.to_string());
            let err = GitHubContext::from_env(&env, Some(1)).unwrap_err();
            assert_eq!(err, GitHubError::NoRepository);
        }
        let env = |name: &str| (name == "GITHUB_REPOSITORY").then(|| "o/r".to_string());
        assert_eq!(
            GitHubContext::from_env(&env, Some(3)).map(|c| c.pr),
            Ok(Some(3))
        );
    }

    #[test]
    fn append_job_summary_appends() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("summary.md");
        append_job_summary(&file, "# One").unwrap();
        append_job_summary(&file, "two\n").unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "# One\ntwo\n");
    }

    #[test]
    fn marker_links_and_waits() {
        let prefix = "<!-- cargo-tek:sticky-comment key=";
        assert_eq!(
            marker("ci/linux x86 -->"),
            format!("{prefix}ci-linux-x86---- -->")
        );
        assert_eq!(marker(""), format!("{prefix}default -->"));
        assert_eq!(
            with_marker("<!-- m -->\nx".into(), "<!-- m -->"),
            "<!-- m -->\nx"
        );
        let mut headers = HeaderMap::new();
        let link = "<https://a/x?page=1>; rel=\"prev\", <https://a/x?page=3>; rel=\"next\"";
        headers.insert("link", http::HeaderValue::from_static(link));
        assert_eq!(next_link(&headers).as_deref(), Some("https://a/x?page=3"));
        let reply = |status, text: &str| Reply {
            status,
            headers: HeaderMap::new(),
            text: text.into(),
        };
        let p = RetryPolicy::default();
        assert_eq!(
            retry_wait(&reply(503, ""), 3, &p),
            Some(Duration::from_secs(4))
        );
        let secondary = r#"{"message":"You have exceeded a secondary rate limit"}"#;
        assert_eq!(retry_wait(&reply(403, secondary), 1, &p), Some(p.max_wait));
        assert_eq!(
            retry_wait(&reply(403, r#"{"message":"Forbidden"}"#), 1, &p),
            None
        );
        assert_eq!(retry_wait(&reply(422, ""), 1, &p), None);
    }
}
