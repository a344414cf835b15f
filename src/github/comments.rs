//! Sticky pull-request comments: the marker that identifies ours, listing the PR's comments
//! across `Link` pages, finding the token's login, and creating or updating the comment.

use http::{HeaderMap, Method};
use serde::Deserialize;
use serde_json::json;

use super::client::{is_success, parse, Client};
use super::context::{plain, GitHubContext};
use super::error::{api_error, message_of, GitHubError};
use super::retry::{is_rate_limited, RetryPolicy};
use super::stamp::RunStamp;

/// GitHub rejects comment bodies longer than this many characters.
pub(crate) const MAX_COMMENT_CHARS: usize = 65_536;
/// Room kept free under the limit for the marker line we may prepend.
const MARKER_MARGIN: usize = 256;
/// Login of the Actions `GITHUB_TOKEN`, which may not read `/user`.
pub(super) const FALLBACK_LOGIN: &str = "github-actions[bot]";
/// Guards against a server that keeps sending `rel="next"` forever.
const MAX_PAGES: usize = 200;
const MAX_KEY_CHARS: usize = 100;

/// The hidden first line that identifies our comment for `key`; the key is reduced to
/// `[A-Za-z0-9._-]` so it can never close the HTML comment early.
pub(crate) fn marker(key: &str) -> String {
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
pub(crate) enum CommentOutcome {
    /// A new comment was posted.
    Created { id: u64, url: String },
    /// Our existing comment was edited in place.
    Updated { id: u64, url: String },
    /// Left alone: a newer workflow run (or a later attempt) already wrote it.
    Superseded { id: u64, url: String, by: RunStamp },
}

/// One of our comments for the key, as found on the PR.
#[derive(Clone, Debug)]
struct Found {
    id: u64,
    url: String,
    stamp: Option<RunStamp>,
    /// The tasks that failed in the run it reports, from its hidden last line.
    failed: Option<Vec<String>>,
}

/// Upserts one sticky comment per PR and key. `render(limit)` returns a body of at most
/// `limit` characters; the marker line is prepended when the body doesn't start with it.
#[cfg(test)]
pub(super) async fn upsert_sticky_comment(
    ctx: &GitHubContext,
    key: &str,
    render: &(dyn Fn(usize) -> String + Sync),
    policy: &RetryPolicy,
) -> Result<CommentOutcome, GitHubError> {
    upsert_sticky_comment_since(ctx, key, &|limit, _| render(limit), policy).await
}

/// [`upsert_sticky_comment`], with `render(limit, previous)` also given the task ids that
/// failed according to the comment being replaced (see [`super::failed_mark`]), when it
/// has that mark: the report can then say what newly fails and what was fixed.
pub(crate) async fn upsert_sticky_comment_since(
    ctx: &GitHubContext,
    key: &str,
    render: &Previous<'_>,
    policy: &RetryPolicy,
) -> Result<CommentOutcome, GitHubError> {
    let pr = ctx.pr.ok_or(GitHubError::NoPullRequest)?;
    let token = ctx.token_value().ok_or(GitHubError::NoToken)?;
    upsert(ctx, token, pr, key, render, policy)
        .await
        .map_err(|e| e.scrubbed(token))
}

/// A renderer given the size limit and the previous comment's failed task ids.
pub(crate) type Previous<'a> = dyn Fn(usize, Option<&[String]>) -> String + Sync + 'a;

async fn upsert(
    ctx: &GitHubContext,
    token: &str,
    pr: u64,
    key: &str,
    render: &Previous<'_>,
    policy: &RetryPolicy,
) -> Result<CommentOutcome, GitHubError> {
    let client = Client::new(ctx, token, policy)?;
    let login = client.login().await?;
    let mark = marker(key);
    let stamp = ctx.stamp.as_ref();
    let mut limit = MAX_COMMENT_CHARS - MARKER_MARGIN;
    let mut found = client.find_ours(pr, &login, &mark).await?;
    if let Some(newer) = newer_than(&found, stamp) {
        return Ok(newer);
    }
    // The comment this run replaces is the previous run of the key.
    let previous = found.first().and_then(|f| f.failed.clone());
    let mut body = stamped(render(limit, previous.as_deref()), &mark, stamp);
    let mut shrunk = false;
    // The oldest of ours is the sticky one: two first posts that raced, or matrix legs
    // sharing a key, leave several, and the rest are removed once the oldest is written.
    let mut target = found.first().map(|f| f.id);
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
            found = client.find_ours(pr, &login, &mark).await?;
            if let Some(newer) = newer_than(&found, stamp) {
                return Ok(newer);
            }
            target = found.first().map(|f| f.id);
            continue;
        }
        let reply = outcome?;
        if is_success(reply.status) {
            let comment: Comment = parse(&reply)?;
            let (id, url) = (comment.id, comment.html_url);
            if target.is_some() {
                client.delete_all(found.iter().skip(1)).await?;
                return Ok(CommentOutcome::Updated { id, url });
            }
            return client
                .settle_created(pr, &login, &mark, &payload, id, url)
                .await;
        }
        match reply.status {
            422 if reply.text.to_lowercase().contains("too long") => {
                if shrunk {
                    return Err(GitHubError::TooLong);
                }
                shrunk = true;
                limit /= 2;
                body = stamped(render(limit, previous.as_deref()), &mark, stamp);
            }
            403 | 404 if !is_rate_limited(&reply) => {
                let (status, message) = (reply.status, message_of(&reply));
                return Err(GitHubError::ReadOnly { status, message });
            }
            _ => return Err(api_error(&reply)),
        }
    }
}

/// The comment of ours that a newer run wrote, when there is one: it is left alone.
fn newer_than(found: &[Found], ours: Option<&RunStamp>) -> Option<CommentOutcome> {
    let ours = ours?;
    found.iter().find_map(|f| {
        let theirs = f.stamp.as_ref()?;
        theirs
            .is_newer_than(ours)
            .then(|| CommentOutcome::Superseded {
                id: f.id,
                url: f.url.clone(),
                by: theirs.clone(),
            })
    })
}

/// The body with our marker first and this run's stamp right after it.
fn stamped(body: String, mark: &str, stamp: Option<&RunStamp>) -> String {
    let body = with_marker(body, mark);
    match stamp {
        Some(stamp) => {
            let rest = body.split_once('\n').map_or("", |(_, rest)| rest);
            format!("{mark}\n{}\n{rest}", stamp.line())
        }
        None => body,
    }
}

fn with_marker(body: String, mark: &str) -> String {
    if body.lines().next().map(str::trim) == Some(mark) {
        body
    } else {
        format!("{mark}\n{body}")
    }
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

impl Client<'_> {
    /// The token's login; the Actions token can't read `/user`, so 403/404 means that bot.
    pub(super) async fn login(&self) -> Result<String, GitHubError> {
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

    /// Our comments for the key on the PR, oldest first, reading every page.
    async fn find_ours(&self, pr: u64, login: &str, mark: &str) -> Result<Vec<Found>, GitHubError> {
        let first = format!("{}/issues/{pr}/comments?per_page=100", self.repo);
        let mut next = Some(self.url(&first));
        let mut ours = Vec::new();
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
                if comment.is_ours(login, mark) {
                    ours.push(Found {
                        id: comment.id,
                        stamp: comment.body.as_deref().and_then(RunStamp::parse),
                        failed: comment.body.as_deref().and_then(super::failed_mark::parse),
                        url: comment.html_url,
                    });
                }
            }
            next = next_link(&reply.headers)
                .map(|link| self.same_host(link))
                .transpose()?;
        }
        ours.sort_by_key(|f| f.id);
        ours.dedup_by_key(|f| f.id);
        Ok(ours)
    }

    /// Removes duplicates of our comment; one already gone (another job healed it) is fine.
    async fn delete_all(&self, extra: impl Iterator<Item = &Found>) -> Result<(), GitHubError> {
        for f in extra {
            let url = self.url(&format!("{}/issues/comments/{}", self.repo, f.id));
            let reply = self.call(Method::DELETE, &url, None).await?;
            if !is_success(reply.status) && reply.status != 404 {
                return Err(api_error(&reply));
            }
        }
        Ok(())
    }

    /// After a create, looks again: when another job created the key's comment at the
    /// same time, the older one stays, gets this body, and ours goes.
    async fn settle_created(
        &self,
        pr: u64,
        login: &str,
        mark: &str,
        payload: &serde_json::Value,
        id: u64,
        url: String,
    ) -> Result<CommentOutcome, GitHubError> {
        let found = self.find_ours(pr, login, mark).await?;
        let stamp = RunStamp::parse(payload["body"].as_str().unwrap_or(""));
        if let Some(newer) = newer_than(&found, stamp.as_ref()) {
            self.delete_all(found.iter().filter(|f| f.id == id)).await?;
            return Ok(newer);
        }
        let Some(oldest) = found.first().filter(|f| f.id < id) else {
            return Ok(CommentOutcome::Created { id, url });
        };
        let patch = self.url(&format!("{}/issues/comments/{}", self.repo, oldest.id));
        let reply = self.call(Method::PATCH, &patch, Some(payload)).await?;
        if !is_success(reply.status) {
            return Err(api_error(&reply));
        }
        let kept: Comment = parse(&reply)?;
        self.delete_all(found.iter().filter(|f| f.id != oldest.id))
            .await?;
        Ok(CommentOutcome::Updated {
            id: kept.id,
            url: kept.html_url,
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::client::Reply;
    use crate::github::retry::retry_wait;
    use std::time::Duration;

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
