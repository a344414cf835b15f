//! The HTTP client: octocrab as a bare transport (its own retries off), one request read in
//! full as a [`Reply`], and retrying of idempotent requests under the [`RetryPolicy`].

use std::time::Duration;

use http::{HeaderMap, Method};
use octocrab::service::middleware::retry::RetryConfig;
use octocrab::Octocrab;
use serde_json::Value;

use super::context::GitHubContext;
use super::error::{transport, GitHubError};
use super::retry::{backoff, retry_wait, RetryPolicy};

/// A response read in full: status, headers and body text.
pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) headers: HeaderMap,
    pub(super) text: String,
}

pub(super) struct Client<'a> {
    octo: Octocrab,
    policy: &'a RetryPolicy,
    pub(super) base: http::Uri,
    api_url: String,
    /// `/repos/{owner}/{name}`.
    pub(super) repo: String,
}

impl<'a> Client<'a> {
    pub(super) fn new(
        ctx: &GitHubContext,
        token: &str,
        policy: &'a RetryPolicy,
    ) -> Result<Self, GitHubError> {
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
    pub(super) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api_url)
    }

    pub(super) async fn once(
        &self,
        verb: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Reply, GitHubError> {
        let response = match verb {
            Method::POST => self.octo._post(url, body).await,
            Method::PATCH => self.octo._patch(url, body).await,
            Method::DELETE => self.octo._delete(url, body).await,
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
    pub(super) async fn call(
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
    pub(super) fn retry_after(
        &self,
        outcome: &Result<Reply, GitHubError>,
        attempt: u32,
    ) -> Option<Duration> {
        if attempt >= self.policy.max_attempts {
            return None;
        }
        match outcome {
            Ok(reply) => retry_wait(reply, attempt, self.policy),
            Err(GitHubError::Transport(_)) => Some(backoff(attempt, self.policy)),
            Err(_) => None,
        }
    }
}

pub(super) fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

pub(super) fn parse<T: serde::de::DeserializeOwned>(reply: &Reply) -> Result<T, GitHubError> {
    serde_json::from_str(&reply.text).map_err(|e| GitHubError::Api {
        status: reply.status,
        message: format!("unexpected response body: {e}"),
    })
}
