//! [`GitHubError`], and how failed replies and transport errors are turned into one
//! without ever carrying the token.

use std::path::PathBuf;

use serde_json::Value;

use super::client::Reply;

/// Why talking to GitHub failed. Messages never contain the token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum GitHubError {
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
    pub(crate) fn is_permission_or_context(&self) -> bool {
        matches!(
            self,
            Self::ReadOnly { .. } | Self::NoToken | Self::NoPullRequest
        )
    }

    /// Defence in depth: a server or transport message might echo the credential.
    pub(super) fn scrubbed(mut self, token: &str) -> Self {
        if let Self::ReadOnly { message, .. }
        | Self::Api { message, .. }
        | Self::Transport(message) = &mut self
        {
            *message = message.replace(token, "***");
        }
        self
    }
}

/// GitHub's JSON `message` plus any per-field errors; a short excerpt for HTML pages.
pub(super) fn message_of(reply: &Reply) -> String {
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

pub(super) fn api_error(reply: &Reply) -> GitHubError {
    GitHubError::Api {
        status: reply.status,
        message: message_of(reply),
    }
}

pub(super) fn transport(error: octocrab::Error) -> GitHubError {
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
