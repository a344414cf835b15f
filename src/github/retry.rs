//! When to retry: the [`RetryPolicy`], rate-limit detection, and how long to wait before
//! the next try (server hints first, exponential backoff otherwise, always capped).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;

use super::client::Reply;

/// How long and how often to retry server errors and rate limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RetryPolicy {
    /// Total tries per request, including the first.
    pub(crate) max_attempts: u32,
    /// Upper bound on any single wait, including server-requested ones.
    pub(crate) max_wait: Duration,
    /// First backoff step; doubles on each retry.
    pub(crate) base_wait: Duration,
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

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// GitHub signals rate limits with 429, or 403 plus exhausted quota, `retry-after`, or a
/// "secondary rate limit" message; any other 403 is a real permission refusal.
pub(super) fn is_rate_limited(reply: &Reply) -> bool {
    reply.status == 429
        || (reply.status == 403
            && (header_u64(&reply.headers, "x-ratelimit-remaining") == Some(0)
                || reply.headers.contains_key("retry-after")
                || reply.text.to_lowercase().contains("rate limit")))
}

/// How long to wait before retrying `reply`, or `None` when it isn't worth retrying.
pub(super) fn retry_wait(reply: &Reply, attempt: u32, policy: &RetryPolicy) -> Option<Duration> {
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

pub(super) fn backoff(attempt: u32, policy: &RetryPolicy) -> Duration {
    let factor = 1u32 << attempt.saturating_sub(1).min(16);
    policy.base_wait.saturating_mul(factor).min(policy.max_wait)
}
