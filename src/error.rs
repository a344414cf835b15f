//! The top-level error of a command: owns the exit code. A failed task is not an error of
//! the tool; it is data in the run, reported with exit code 2 by the run command.

use crate::project::LoadError;
use crate::workspace::WorkspaceError;

/// Process exit codes, as documented in the README and `--help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Everything passed (noop counts as passed).
    Success,
    /// Bad input or usage.
    BadInput,
    /// One or more tasks failed or timed out.
    TasksFailed,
    /// Evidence (run.json, the journal, logs, junit.xml) could not be written in full, or
    /// another file could not be read or written (the run directory, the job summary):
    /// the input was fine, the machine was not.
    EvidenceIo,
    /// GitHub's API could not be used (after retries) for the PR comment.
    GitHubFailed,
    /// cargo-tek itself failed (a worker panicked, the runtime did not start): a bug.
    Internal,
    /// Interrupted by a signal: 128 + its number.
    Interrupted(i32),
}

impl ExitCode {
    /// The numeric code.
    pub fn code(self) -> i32 {
        match self {
            ExitCode::Success => 0,
            ExitCode::BadInput => 1,
            ExitCode::TasksFailed => 2,
            ExitCode::EvidenceIo => 3,
            ExitCode::GitHubFailed => 4,
            ExitCode::Internal => 5,
            ExitCode::Interrupted(signal) => 128 + signal,
        }
    }
}

/// Everything that can stop a command.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(crate) enum Error {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Workspace(#[from] WorkspaceError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Load(#[from] LoadError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    #[diagnostic(help("re-create the file with cargo-tek, or point at the right one"))]
    Evidence(String),
    /// Writing a run's evidence failed (a full disk, say): not the user's input.
    #[error("{context}: {source}")]
    EvidenceIo {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{} found", crate::text::count(*.0, "error", "errors"))]
    CheckFailed(usize),
    #[error(transparent)]
    #[diagnostic(transparent)]
    NothingWouldRun(#[from] crate::hookless::NothingWouldRun),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Report(#[from] crate::report::ReportError),
    #[error("failed to post the PR comment: {0}")]
    #[diagnostic(help("check GITHUB_TOKEN's permissions (pull-requests: write), or drop --strict to save the body instead"))]
    GitHub(crate::github::GitHubError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Init(#[from] crate::init::InitError),
    #[error("{0}")]
    #[diagnostic(help("this is a bug in cargo-tek; please report it with the run directory"))]
    Internal(String),
    #[error("interrupted by {}", crate::supervise::process::signal_name(*.0))]
    Interrupted(i32),
}

impl Error {
    /// The exit code this error ends the process with.
    pub(crate) fn exit_code(&self) -> ExitCode {
        match self {
            Error::Io { .. } | Error::EvidenceIo { .. } => ExitCode::EvidenceIo,
            Error::GitHub(_) => ExitCode::GitHubFailed,
            Error::Internal(_) => ExitCode::Internal,
            Error::Interrupted(signal) => ExitCode::Interrupted(*signal),
            // Refusing to overwrite is about the input; a failed write, the machine.
            Error::Init(err) if err.is_refusal() => ExitCode::BadInput,
            Error::Init(_) => ExitCode::EvidenceIo,
            Error::Usage(_)
            | Error::Workspace(_)
            | Error::Load(_)
            | Error::Evidence(_)
            | Error::CheckFailed(_)
            | Error::NothingWouldRun(_)
            | Error::Report(_) => ExitCode::BadInput,
        }
    }

    /// An I/O error with what we were doing.
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| Error::Io { context, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_failing_path_has_its_own_code() {
        let io = Error::io("failed to write evidence")(std::io::Error::other("disk full"));
        let codes = [
            Error::Usage("x".into()).exit_code().code(),
            ExitCode::TasksFailed.code(),
            io.exit_code().code(),
            Error::GitHub(crate::github::GitHubError::NoRepository)
                .exit_code()
                .code(),
            Error::Internal("x".into()).exit_code().code(),
            Error::Interrupted(15).exit_code().code(),
        ];
        assert_eq!(codes, [1, 2, 3, 4, 5, 143]);
    }
}
