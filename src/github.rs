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

use http::HeaderMap;
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

/// Only characters that need no escaping in a URL path, so the name can't reshape a route.
fn valid_repository(repository: &str) -> bool {
    let ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
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
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
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

impl CommentOutcome {
    /// The comment's id.
    pub fn id(&self) -> u64 {
        match self {
            Self::Created { id, .. } | Self::Updated { id, .. } => *id,
        }
    }

    /// The comment's web address.
    pub fn url(&self) -> &str {
        match self {
            Self::Created { url, .. } | Self::Updated { url, .. } => url,
        }
    }
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
    fn scrubbed(self, token: &str) -> Self {
        let clean = |s: String| s.replace(token, "***");
        match self {
            Self::ReadOnly { status, message } => Self::ReadOnly {
                status,
                message: clean(message),
            },
            Self::Api { status, message } => Self::Api {
                status,
                message: clean(message),
            },
            Self::Transport(message) => Self::Transport(clean(message)),
            other => other,
        }
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
        let reply = match &target {
            // An edit is idempotent, so it may be retried as is.
            Some(id) => {
                let url = client.url(&format!("{}/issues/comments/{id}", client.repo));
                client.call(Verb::Patch, &url, Some(&payload)).await?
            }
            None => match client.once(Verb::Post, &create_url, Some(&payload)).await {
                Ok(reply) => reply,
                Err(GitHubError::Transport(_)) if attempt < policy.max_attempts => {
                    // The comment may have been posted before the connection broke.
                    tokio::time::sleep(backoff(attempt, policy)).await;
                    attempt += 1;
                    target = client.find_ours(pr, &login, &mark).await?;
                    continue;
                }
                Err(e) => return Err(e),
            },
        };
        if is_success(reply.status) {
            let comment: Comment = parse(&reply)?;
            let (id, url) = (comment.id, comment.html_url);
            return Ok(match target {
                Some(_) => CommentOutcome::Updated { id, url },
                None => CommentOutcome::Created { id, url },
            });
        }
        if target.is_none() && attempt < policy.max_attempts {
            if let Some(wait) = retry_wait(&reply, attempt, policy) {
                // A 5xx on create is ambiguous: list again rather than risk a duplicate.
                tokio::time::sleep(wait).await;
                attempt += 1;
                target = client.find_ours(pr, &login, &mark).await?;
                continue;
            }
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
            403 if !is_rate_limited(&reply) => return Err(read_only(&reply)),
            404 => return Err(read_only(&reply)),
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

#[derive(Clone, Copy)]
enum Verb {
    Get,
    Post,
    Patch,
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
        verb: Verb,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Reply, GitHubError> {
        let response = match verb {
            Verb::Get => self.octo._get(url).await,
            Verb::Post => self.octo._post(url, body).await,
            Verb::Patch => self.octo._patch(url, body).await,
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
        verb: Verb,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Reply, GitHubError> {
        let mut attempt = 1;
        loop {
            let outcome = self.once(verb, url, body).await;
            let wait = match &outcome {
                Ok(reply) => retry_wait(reply, attempt, self.policy),
                Err(GitHubError::Transport(_)) => Some(backoff(attempt, self.policy)),
                Err(_) => None,
            };
            match wait {
                Some(wait) if attempt < self.policy.max_attempts => {
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                _ => return outcome,
            }
        }
    }

    /// The token's login; the Actions token can't read `/user`, so 403/404 means that bot.
    async fn login(&self) -> Result<String, GitHubError> {
        #[derive(Deserialize)]
        struct Me {
            login: String,
        }
        let reply = self.call(Verb::Get, &self.url("/user"), None).await?;
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
            let reply = self.call(Verb::Get, &url, None).await?;
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
    let excerpt: String = reply.text.split_whitespace().collect::<Vec<_>>().join(" ");
    let excerpt: String = excerpt.chars().take(200).collect();
    if excerpt.is_empty() {
        http::StatusCode::from_u16(reply.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("no response body")
            .to_string()
    } else {
        excerpt
    }
}

fn api_error(reply: &Reply) -> GitHubError {
    GitHubError::Api {
        status: reply.status,
        message: message_of(reply),
    }
}

fn read_only(reply: &Reply) -> GitHubError {
    GitHubError::ReadOnly {
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
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    use wiremock::matchers::{any, method, path, path_regex, query_param, query_param_is_missing};
    use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

    const TOKEN: &str = "ghp_TopSecretTokenValue0123456789";
    const ME: &str = "tek-bot";
    const LIST: &str = "/repos/octo/repo/issues/7/comments";

    fn ctx(api_url: String) -> GitHubContext {
        let token = Some(Secret(TOKEN.into()));
        GitHubContext {
            api_url,
            repository: "octo/repo".into(),
            pr: Some(7),
            token,
        }
    }

    fn fast() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            max_wait: Duration::from_millis(20),
            base_wait: Duration::from_millis(1),
        }
    }

    fn comment(id: u64, login: &str, body: &str) -> Value {
        json!({ "id": id, "body": body, "user": { "login": login, "type": "Bot" },
                "html_url": format!("https://github.com/octo/repo/pull/7#issuecomment-{id}"),
                "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z" })
    }

    fn ok(body: Value) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(body)
    }

    /// A server whose catch-all fails the test on any request no mock expected.
    async fn server(login: Option<&str>) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(418))
            .with_priority(u8::MAX)
            .expect(0)
            .named("unexpected request")
            .mount(&server)
            .await;
        let user = match login {
            Some(login) => ok(json!({ "login": login, "id": 1 })),
            None => ResponseTemplate::new(403)
                .set_body_json(json!({ "message": "Resource not accessible by integration" })),
        };
        Mock::given(method("GET"))
            .and(path("/user"))
            .respond_with(user)
            .mount(&server)
            .await;
        server
    }

    async fn requests(server: &MockServer, verb: &str) -> Vec<Request> {
        let all = server.received_requests().await.unwrap_or_default();
        // Every request, whatever its route, must carry the token.
        for r in &all {
            let auth = r.headers.get("authorization").and_then(|v| v.to_str().ok());
            assert_eq!(
                auth,
                Some(format!("Bearer {TOKEN}").as_str()),
                "{} {}",
                r.method,
                r.url
            );
        }
        all.into_iter()
            .filter(|r| r.method.as_str() == verb)
            .collect()
    }

    fn first_line(r: &Request) -> String {
        let body: Value = r.body_json().unwrap_or_default();
        body["body"]
            .as_str()
            .unwrap_or_default()
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    }

    /// Enough of GitHub's comment routes to remember what was posted between runs.
    #[derive(Clone, Default)]
    struct FakeIssue {
        comments: Arc<Mutex<Vec<Value>>>,
        next_id: Arc<AtomicU64>,
        lose_post_reply: Arc<AtomicBool>,
    }

    impl Respond for FakeIssue {
        fn respond(&self, req: &Request) -> ResponseTemplate {
            let mut comments = self.comments.lock().unwrap();
            let text = req
                .body_json::<Value>()
                .ok()
                .and_then(|b| b["body"].as_str().map(String::from));
            match (req.method.as_str(), text) {
                ("GET", _) => ok(Value::Array(comments.clone())),
                ("POST", Some(text)) => {
                    let c = comment(
                        100 + self.next_id.fetch_add(1, Ordering::SeqCst),
                        FALLBACK_LOGIN,
                        &text,
                    );
                    comments.push(c.clone());
                    match self.lose_post_reply.swap(false, Ordering::SeqCst) {
                        true => ResponseTemplate::new(502)
                            .set_body_string("<html><body>Bad gateway</body></html>"),
                        false => ResponseTemplate::new(201).set_body_json(c),
                    }
                }
                ("PATCH", Some(text)) => {
                    let id: u64 = req
                        .url
                        .path()
                        .rsplit('/')
                        .next()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0);
                    match comments.iter_mut().find(|c| c["id"] == id) {
                        Some(c) => {
                            c["body"] = json!(text);
                            ok(c.clone())
                        }
                        None => ResponseTemplate::new(404),
                    }
                }
                _ => ResponseTemplate::new(400),
            }
        }
    }

    async fn fake(lose_post_reply: bool) -> (MockServer, FakeIssue) {
        let server = server(None).await;
        let fake = FakeIssue::default();
        fake.lose_post_reply
            .store(lose_post_reply, Ordering::SeqCst);
        Mock::given(path_regex(
            r"^/repos/octo/repo/issues/(7/comments|comments/\d+)$",
        ))
        .respond_with(fake.clone())
        .mount(&server)
        .await;
        (server, fake)
    }

    #[tokio::test]
    async fn updates_newest_own_comment_found_on_page_three() {
        let server = server(Some(ME)).await;
        let (uri, mark) = (server.uri(), marker("ci"));
        let link = |page: u32| {
            format!("<{uri}{LIST}?per_page=100&page={page}>; rel=\"next\", <{uri}{LIST}?per_page=100&page=3>; rel=\"last\"")
        };
        let pages = [
            (
                None,
                json!([
                    comment(1, ME, &format!("{mark}\nold")),
                    comment(2, "alice", "hi")
                ]),
                Some(link(2)),
            ),
            (
                Some("2"),
                json!([comment(3, ME, &format!("note\n{mark}"))]),
                Some(link(3)),
            ),
            (
                Some("3"),
                json!([
                    comment(9, ME, &format!("{mark}\r\nnewer")),
                    comment(10, "mallory", &mark)
                ]),
                None,
            ),
        ];
        for (page, body, link) in pages {
            let mock = Mock::given(method("GET"))
                .and(path(LIST))
                .and(query_param("per_page", "100"));
            let mock = match page {
                Some(p) => mock.and(query_param("page", p)),
                None => mock.and(query_param_is_missing("page")),
            };
            let reply = ok(body);
            let reply = match link {
                Some(l) => reply.insert_header("link", l.as_str()),
                None => reply,
            };
            mock.respond_with(reply).expect(1).mount(&server).await;
        }
        Mock::given(method("PATCH"))
            .and(path("/repos/octo/repo/issues/comments/9"))
            .respond_with(ok(comment(9, ME, "x")))
            .expect(1)
            .mount(&server)
            .await;
        let out =
            upsert_sticky_comment(&ctx(uri.clone()), "ci", &|_| "report".into(), &fast()).await;
        assert_eq!(out.map(|o| o.id()), Ok(9));
        assert_eq!(first_line(&requests(&server, "PATCH").await[0]), mark);
    }

    #[tokio::test]
    async fn another_authors_marker_is_ignored() {
        let server = server(Some(ME)).await;
        let mark = marker("ci");
        Mock::given(method("GET"))
            .and(path(LIST))
            .respond_with(ok(json!([
                comment(5, "mallory", &format!("{mark}\nfake")),
                comment(6, ME, "other")
            ])))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(LIST))
            .respond_with(ResponseTemplate::new(201).set_body_json(comment(11, ME, "x")))
            .expect(1)
            .mount(&server)
            .await;
        let out =
            upsert_sticky_comment(&ctx(server.uri()), "ci", &|_| "report".into(), &fast()).await;
        assert!(
            matches!(out, Ok(CommentOutcome::Created { id: 11, .. })),
            "{out:?}"
        );
        assert_eq!(first_line(&requests(&server, "POST").await[0]), mark);
    }

    #[tokio::test]
    async fn second_run_updates_in_place() {
        let (server, fake) = fake(false).await;
        let c = ctx(server.uri());
        let first = upsert_sticky_comment(&c, "ci", &|_| "one".into(), &fast()).await;
        let second = upsert_sticky_comment(&c, "ci", &|_| "two".into(), &fast()).await;
        assert!(
            matches!(first, Ok(CommentOutcome::Created { id: 100, .. })),
            "{first:?}"
        );
        assert!(
            matches!(second, Ok(CommentOutcome::Updated { id: 100, .. })),
            "{second:?}"
        );
        let comments = fake.comments.lock().unwrap().clone();
        assert_eq!(comments.len(), 1);
        assert_eq!(comments[0]["body"], json!(format!("{}\ntwo", marker("ci"))));
        requests(&server, "GET").await;
    }

    #[tokio::test]
    async fn lost_create_reply_lists_again_instead_of_reposting() {
        let (server, fake) = fake(true).await;
        let out = upsert_sticky_comment(&ctx(server.uri()), "ci", &|_| "one".into(), &fast()).await;
        assert!(
            matches!(out, Ok(CommentOutcome::Updated { id: 100, .. })),
            "{out:?}"
        );
        assert_eq!(fake.comments.lock().unwrap().len(), 1);
        assert_eq!(requests(&server, "POST").await.len(), 1);
    }

    #[tokio::test]
    async fn retries_502_html_then_succeeds() {
        let server = server(Some(ME)).await;
        Mock::given(method("GET"))
            .and(path(LIST))
            .respond_with(
                ResponseTemplate::new(502)
                    .set_body_raw("<html><h1>502 Bad Gateway</h1></html>", "text/html"),
            )
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(LIST))
            .respond_with(ok(json!([])))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(LIST))
            .respond_with(ResponseTemplate::new(201).set_body_json(comment(12, ME, "x")))
            .expect(1)
            .mount(&server)
            .await;
        let out = upsert_sticky_comment(&ctx(server.uri()), "ci", &|_| "r".into(), &fast()).await;
        assert!(
            matches!(out, Ok(CommentOutcome::Created { id: 12, .. })),
            "{out:?}"
        );
        assert_eq!(requests(&server, "GET").await.len(), 3); // /user + 502 + retry
    }

    #[tokio::test]
    async fn forbidden_write_is_read_only() {
        let server = server(None).await;
        Mock::given(method("GET"))
            .and(path(LIST))
            .respond_with(ok(json!([])))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(LIST))
            .respond_with(
                ResponseTemplate::new(403)
                    .set_body_json(json!({ "message": "Resource not accessible by integration" })),
            )
            .expect(1)
            .mount(&server)
            .await;
        let err = upsert_sticky_comment(&ctx(server.uri()), "ci", &|_| "r".into(), &fast())
            .await
            .unwrap_err();
        assert!(
            matches!(err, GitHubError::ReadOnly { status: 403, .. })
                && err.is_permission_or_context(),
            "{err:?}"
        );
        requests(&server, "GET").await;
    }

    async fn too_long_server(failures: u64) -> MockServer {
        let server = server(Some(ME)).await;
        let too_long = json!({ "message": "Validation Failed", "errors": [{ "resource": "IssueComment",
            "code": "custom", "field": "body", "message": "body is too long (maximum is 65536 characters)" }] });
        Mock::given(method("GET"))
            .and(path(LIST))
            .respond_with(ok(json!([])))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(LIST))
            .respond_with(ResponseTemplate::new(422).set_body_json(too_long))
            .up_to_n_times(failures)
            .with_priority(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(LIST))
            .respond_with(ResponseTemplate::new(201).set_body_json(comment(13, ME, "x")))
            .mount(&server)
            .await;
        server
    }

    #[tokio::test]
    async fn too_long_body_is_rendered_smaller_once() {
        let server = too_long_server(1).await;
        let limits = RefCell::new(Vec::new());
        let render = |limit: usize| {
            limits.borrow_mut().push(limit);
            "r".to_string()
        };
        let out = upsert_sticky_comment(&ctx(server.uri()), "ci", &render, &fast()).await;
        assert!(
            matches!(out, Ok(CommentOutcome::Created { id: 13, .. })),
            "{out:?}"
        );
        assert_eq!(*limits.borrow(), [65_280, 32_640]);
        let server = too_long_server(2).await;
        let out = upsert_sticky_comment(&ctx(server.uri()), "ci", &|_| "r".into(), &fast()).await;
        assert_eq!(out, Err(GitHubError::TooLong));
        assert_eq!(requests(&server, "POST").await.len(), 2);
    }

    #[tokio::test]
    async fn rate_limit_waits_are_honoured_and_capped() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/user"))
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&server)
            .await;
        let reset = (SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 3600)
            .to_string();
        Mock::given(method("GET"))
            .and(path("/user"))
            .respond_with(
                ResponseTemplate::new(403)
                    .insert_header("x-ratelimit-remaining", "0")
                    .insert_header("x-ratelimit-reset", reset.as_str())
                    .set_body_json(json!({ "message": "API rate limit exceeded" })),
            )
            .up_to_n_times(1)
            .with_priority(2)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/user"))
            .respond_with(ok(json!({ "login": ME })))
            .mount(&server)
            .await;
        let policy = RetryPolicy {
            max_wait: Duration::from_millis(1500),
            ..fast()
        };
        let client = Client::new(&ctx(server.uri()), TOKEN, &policy).unwrap();
        let started = std::time::Instant::now();
        assert_eq!(client.login().await, Ok(ME.to_string()));
        // 1 s from retry-after, then the hour-long reset capped at 1.5 s.
        let elapsed = started.elapsed();
        assert!(
            elapsed >= Duration::from_millis(2400) && elapsed < Duration::from_secs(10),
            "{elapsed:?}"
        );
        assert_eq!(requests(&server, "GET").await.len(), 3);
    }

    #[tokio::test]
    async fn ghes_base_path_is_kept() {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(418))
            .with_priority(u8::MAX)
            .expect(0)
            .mount(&server)
            .await;
        let base = format!("{}/api/v3", server.uri());
        let list = format!("/api/v3{LIST}");
        Mock::given(method("GET"))
            .and(path("/api/v3/user"))
            .respond_with(ok(json!({ "login": ME })))
            .mount(&server)
            .await;
        let next = format!("<{base}{LIST}?per_page=100&page=2>; rel=\"next\"");
        Mock::given(method("GET"))
            .and(path(list.as_str()))
            .and(query_param_is_missing("page"))
            .respond_with(ok(json!([])).insert_header("link", next.as_str()))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(list.as_str()))
            .and(query_param("page", "2"))
            .respond_with(ok(json!([])))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(list.as_str()))
            .respond_with(ResponseTemplate::new(201).set_body_json(comment(14, ME, "x")))
            .expect(1)
            .mount(&server)
            .await;
        let out = upsert_sticky_comment(&ctx(base), "ci", &|_| "r".into(), &fast()).await;
        assert!(
            matches!(out, Ok(CommentOutcome::Created { id: 14, .. })),
            "{out:?}"
        );
        requests(&server, "GET").await;
    }

    #[tokio::test]
    async fn token_never_appears_in_errors_or_debug() {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(
                ResponseTemplate::new(500)
                    .set_body_json(json!({ "message": format!("token {TOKEN} exploded") })),
            )
            .expect(2)
            .mount(&server)
            .await;
        let c = ctx(server.uri());
        let policy = RetryPolicy {
            max_attempts: 2,
            ..fast()
        };
        let err = upsert_sticky_comment(&c, "ci", &|_| "r".into(), &policy)
            .await
            .unwrap_err();
        assert!(
            matches!(err, GitHubError::Api { status: 500, .. }),
            "{err:?}"
        );
        for text in [err.to_string(), format!("{err:?}"), format!("{c:?}")] {
            assert!(!text.contains(TOKEN), "{text}");
        }
        assert!(format!("{c:?}").contains("***"));
        assert_eq!(c.token_value(), Some(TOKEN));
        requests(&server, "GET").await;
        let gone = GitHubContext {
            api_url: "http://127.0.0.1:9".into(),
            ..c.clone()
        };
        let err = upsert_sticky_comment(&gone, "ci", &|_| "r".into(), &policy)
            .await
            .unwrap_err();
        assert!(
            matches!(err, GitHubError::Transport(_)) && !format!("{err} {err:?}").contains(TOKEN)
        );
        let no_token = GitHubContext {
            token: None,
            ..c.clone()
        };
        assert_eq!(
            upsert_sticky_comment(&no_token, "ci", &|_| "r".into(), &policy).await,
            Err(GitHubError::NoToken)
        );
        let no_pr = GitHubContext { pr: None, ..c };
        assert!(
            upsert_sticky_comment(&no_pr, "ci", &|_| "r".into(), &policy)
                .await
                .is_err_and(|e| e.is_permission_or_context())
        );
    }

    fn env_from(vars: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn from_env_reads_event_payload() {
        let dir = tempfile::tempdir().unwrap();
        let event = |name: &str, payload: Value| {
            let file = dir.path().join(name);
            std::fs::write(&file, payload.to_string()).unwrap();
            file.display().to_string()
        };
        let pr_event = event(
            "pr.json",
            json!({ "action": "opened", "number": 5, "pull_request": { "number": 42 } }),
        );
        let env = env_from(vec![
            ("GITHUB_REPOSITORY", "octo/repo".into()),
            ("GITHUB_EVENT_PATH", pr_event),
            ("GITHUB_TOKEN", TOKEN.into()),
            ("GITHUB_API_URL", "https://ghe.example.com/api/v3/".into()),
        ]);
        let c = GitHubContext::from_env(&env, None).unwrap();
        assert_eq!(
            (c.api_url.as_str(), c.repository.as_str(), c.pr),
            ("https://ghe.example.com/api/v3", "octo/repo", Some(42))
        );
        assert_eq!(c.token_value(), Some(TOKEN));
        assert_eq!(GitHubContext::from_env(&env, Some(3)).unwrap().pr, Some(3));
        let pr_of = |payload: Value| {
            let env = env_from(vec![
                ("GITHUB_REPOSITORY", "o/r".into()),
                ("GITHUB_EVENT_PATH", event("e.json", payload)),
            ]);
            GitHubContext::from_env(&env, None)
                .map(|c| (c.pr, c.token_value().is_none(), c.api_url))
        };
        let default_url = DEFAULT_API_URL.to_string();
        assert_eq!(
            pr_of(json!({ "issue": { "number": 8, "pull_request": {} } })),
            Ok((Some(8), true, default_url.clone()))
        );
        assert_eq!(
            pr_of(json!({ "issue": { "number": 8 } })),
            Ok((None, true, default_url.clone()))
        );
        assert_eq!(
            pr_of(json!({ "ref": "refs/heads/main" })),
            Ok((None, true, default_url))
        );
        let bad = env_from(vec![
            ("GITHUB_REPOSITORY", "o/r".into()),
            (
                "GITHUB_EVENT_PATH",
                event("bad.json", json!(0)).replace("bad", "missing"),
            ),
        ]);
        assert!(matches!(
            GitHubContext::from_env(&bad, None),
            Err(GitHubError::Event { .. })
        ));
        for repo in ["", "noslash", "a/b/c", "a/b?x"] {
            let env = env_from(vec![("GITHUB_REPOSITORY", repo.into())]);
            assert_eq!(
                GitHubContext::from_env(&env, Some(1)).unwrap_err(),
                GitHubError::NoRepository
            );
        }
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
    fn helpers() {
        assert_eq!(
            marker("ci/linux x86 -->"),
            "<!-- cargo-tek:sticky-comment key=ci-linux-x86----- -->"
        );
        assert_eq!(marker(""), "<!-- cargo-tek:sticky-comment key=default -->");
        assert_eq!(
            with_marker("<!-- m -->\nx".into(), "<!-- m -->"),
            "<!-- m -->\nx"
        );
        let mut headers = HeaderMap::new();
        headers.insert(
            "link",
            "<https://a/x?page=1>; rel=\"prev\", <https://a/x?page=3>; rel=\"next\""
                .parse()
                .unwrap(),
        );
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
        assert_eq!(
            retry_wait(
                &reply(
                    403,
                    r#"{"message":"You have exceeded a secondary rate limit"}"#
                ),
                1,
                &p
            ),
            Some(p.max_wait)
        );
        assert_eq!(
            retry_wait(&reply(403, r#"{"message":"Forbidden"}"#), 1, &p),
            None
        );
        assert_eq!(retry_wait(&reply(422, ""), 1, &p), None);
    }
}
