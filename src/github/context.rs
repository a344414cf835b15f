//! The GitHub Actions context: API root, repository, pull request number and token, read
//! from the environment and the event payload. The token is kept in a [`Secret`] so that it
//! never shows up in `Debug` output.

use std::fmt;
use std::path::Path;

use serde_json::Value;

use super::error::GitHubError;
use super::stamp::RunStamp;

pub(super) const DEFAULT_API_URL: &str = "https://api.github.com";

/// A credential whose `Debug` output never shows the value.
#[derive(Clone)]
pub(super) struct Secret(pub(super) String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where and as whom to talk to GitHub, as read from the Actions environment.
#[derive(Clone, Debug)]
pub(crate) struct GitHubContext {
    /// REST API root, without trailing slash; GHES roots keep their path (`.../api/v3`).
    pub(crate) api_url: String,
    /// `owner/name`.
    pub(crate) repository: String,
    /// Pull request number, when this run belongs to one.
    pub(crate) pr: Option<u64>,
    /// The workflow run writing the comment, so that an older run never replaces a
    /// comment of a newer one.
    pub(crate) stamp: Option<RunStamp>,
    pub(super) token: Option<Secret>,
}

impl GitHubContext {
    /// Reads `GITHUB_API_URL` (default `https://api.github.com`), `GITHUB_REPOSITORY`,
    /// `GITHUB_TOKEN`, and the PR number from `pr_override` or else from the event payload at
    /// `GITHUB_EVENT_PATH` (`pull_request.number`, `number`, or `issue.number` when
    /// `issue.pull_request` exists). `env` is the variable lookup, so tests need no process env.
    pub(crate) fn from_env(
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
        // With `--pr`, the event only adds the head commit to the stamp; a broken
        // payload is then no reason to fail.
        let event = match var("GITHUB_EVENT_PATH").map(|p| read_event(Path::new(&p))) {
            Some(Ok(event)) => Some(event),
            Some(Err(e)) if pr_override.is_none() => return Err(e),
            Some(Err(_)) | None => None,
        };
        let pr = pr_override.or_else(|| event.as_ref().and_then(pr_of_event));
        let head_sha = event
            .as_ref()
            .and_then(|e| e.pointer("/pull_request/head/sha"))
            .and_then(Value::as_str);
        Ok(Self {
            api_url,
            repository,
            pr,
            stamp: RunStamp::from_env(env, head_sha),
            token: var("GITHUB_TOKEN").map(Secret),
        })
    }

    /// The token, so reports can mask it wherever it might show up.
    pub(crate) fn token_value(&self) -> Option<&str> {
        self.token.as_ref().map(|t| t.0.as_str())
    }
}

/// Characters that need no escaping in a URL path nor can end an HTML comment.
pub(super) fn plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// A name made of plain characters can't reshape the API route it is put into.
fn valid_repository(repository: &str) -> bool {
    let ok = |s: &str| !s.is_empty() && s.chars().all(plain);
    matches!(repository.split_once('/'), Some((owner, name)) if ok(owner) && ok(name))
}

fn read_event(path: &Path) -> Result<Value, GitHubError> {
    let fail = |message: String| GitHubError::Event {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| fail(format!("invalid JSON: {e}")))
}

fn pr_of_event(event: &Value) -> Option<u64> {
    let number = |v: &Value| v.get("number").and_then(Value::as_u64);
    // An issue comment event is about a PR only when the issue carries `pull_request`.
    let pr_issue = event
        .get("issue")
        .filter(|i| i.get("pull_request").is_some_and(|p| !p.is_null()));
    event
        .get("pull_request")
        .and_then(number)
        .or_else(|| number(event))
        .or_else(|| pr_issue.and_then(number))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::tests::TOKEN;
    use serde_json::json;

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
}
