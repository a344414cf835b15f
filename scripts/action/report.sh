#!/usr/bin/env bash
# Render the report of a run: Markdown file, job summary and sticky PR comment.
# When cargo tek stopped on bad input before making a run, report that instead:
# the comment and the summary say the configuration is broken, with its message.
#
# Environment:
#   TEK_BIN               binary to run as "$TEK_BIN" tek ... (default: cargo-tek)
#   TEK_RUN_DIR           run directory to report on (or TEK_ERROR_LOG)
#   TEK_ERROR_LOG         stderr of a cargo tek command that stopped before making
#                         a run (run.sh's error-log output); used without a run dir
#   TEK_EXIT_CODE         that command's exit code (default: 1)
#   TEK_REPORT_PATH       Markdown output (default: $TEK_RUN_DIR/report.md)
#   TEK_SUMMARY           true | false: append to $GITHUB_STEP_SUMMARY (default true)
#   TEK_COMMENT           auto | true | false: upsert the sticky PR comment; auto
#                         (the default) comments on pull_request and
#                         pull_request_target events only
#   TEK_COMMENT_FAILURE   warn | fail: when the comment cannot be posted (an API
#                         outage, a read-only token), warn and keep the body, or
#                         fail the step (default: warn)
#   TEK_STRICT            true = TEK_COMMENT_FAILURE=fail (older name)
#   TEK_REPORT_KEY        sticky-comment key (default: cargo-tek)
#   TEK_PR                '' or the PR number (default: from GITHUB_EVENT_PATH)
#   TEK_SAVE_COMMENT      '' or where to save the body when it cannot be posted
#                         (default: the tool's, <run dir>/pr-comment.md)
#   TEK_WORKING_DIRECTORY directory to run in (default: .)
#   TEK_CI_URL            '' or the link to the CI run's job (publish mode: the run
#                         that made the artifacts, not this one)
#   TEK_CI_RUN_ID, TEK_CI_RUN_ATTEMPT
#                         '' or that run's id and attempt, stamped on the comment
#   GITHUB_TOKEN          token for the comment; dropped when no comment is made
#   GITHUB_REPOSITORY, GITHUB_API_URL, GITHUB_EVENT_PATH, GITHUB_EVENT_NAME,
#   GITHUB_STEP_SUMMARY, GITHUB_OUTPUT
#                         read by cargo tek itself
# Outputs (to $GITHUB_OUTPUT, written by cargo tek): comment-id, comment-url
# Exit code: that of `cargo tek report`.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

bin=$(tek_bin_default)
run_dir=${TEK_RUN_DIR:-}
error_log=${TEK_ERROR_LOG:-}
exit_code=${TEK_EXIT_CODE:-1}
summary=$(tek_bool summary "${TEK_SUMMARY:-true}")
comment=$(tek_comment_mode "${TEK_COMMENT:-auto}")
policy=$(tek_failure_policy "${TEK_COMMENT_FAILURE:-warn}")
if [[ $(tek_bool strict "${TEK_STRICT:-false}") == true ]]; then policy=fail; fi
key=${TEK_REPORT_KEY:-}
[[ -n $key ]] || key=cargo-tek
pr=${TEK_PR:-}
save_comment=${TEK_SAVE_COMMENT:-}
workdir=${TEK_WORKING_DIRECTORY:-.}

if [[ -z $run_dir && -z $error_log ]]; then
  tek_die "TEK_RUN_DIR is empty: there is no run directory to report on"
fi
[[ -z $run_dir || -d $run_dir ]] || tek_die "run directory does not exist: '${run_dir}'"
[[ -n $run_dir || -f $error_log ]] || tek_die "error log does not exist: '${error_log}'"
[[ $exit_code =~ ^[0-9]{1,3}$ ]] || tek_die "TEK_EXIT_CODE must be an exit code, got '${exit_code}'"
report_path=${TEK_REPORT_PATH:-}
if [[ -n $run_dir && -z $report_path ]]; then report_path="${run_dir}/report.md"; fi
for pair in "run-dir=${run_dir}" "error-log=${error_log}" "report-path=${report_path}" \
  "report-key=${key}" "save-comment=${save_comment}" "working-directory=${workdir}"; do
  if tek_has_control "$pair"; then
    tek_die "'${pair%%=*}' contains a control character"
  fi
done
if [[ -n $pr ]] && ! tek_is_uint "$pr"; then
  tek_die "PR number must be a positive integer, got '${pr}'"
fi
[[ -d $workdir ]] || tek_die "working directory does not exist: '${workdir}'"
ci_url=${TEK_CI_URL:-}
if [[ -n $ci_url ]]; then
  [[ $ci_url =~ ^https?://[A-Za-z0-9:/._-]+$ ]] || tek_die "TEK_CI_URL is not a plain URL: '${ci_url}'"
  export CARGO_TEK_CI_URL=$ci_url
fi
if [[ -n ${TEK_CI_RUN_ID:-} ]]; then
  [[ ${TEK_CI_RUN_ID} =~ ^[1-9][0-9]{0,19}$ ]] || tek_die "TEK_CI_RUN_ID is not a run id: '${TEK_CI_RUN_ID}'"
  export GITHUB_RUN_ID=${TEK_CI_RUN_ID}
  if [[ -n ${TEK_CI_RUN_ATTEMPT:-} ]]; then
    tek_is_uint "${TEK_CI_RUN_ATTEMPT}" || tek_die "TEK_CI_RUN_ATTEMPT is not an attempt number: '${TEK_CI_RUN_ATTEMPT}'"
    export GITHUB_RUN_ATTEMPT=${TEK_CI_RUN_ATTEMPT}
  fi
fi
cd -- "$workdir"

if [[ -n $run_dir ]]; then
  args=(report --run "$run_dir" --out "$report_path" --format markdown)
else
  args=(report --config-error "$error_log" --exit-code "$exit_code")
fi
if [[ $summary == true ]]; then
  if [[ -n ${GITHUB_STEP_SUMMARY:-} ]]; then
    args+=(--job-summary)
  else
    tek_warning "GITHUB_STEP_SUMMARY is not set; skipping the job summary"
  fi
fi
if [[ $comment == true ]]; then
  args+=(--pr-comment --key "$key")
  [[ -n $pr ]] && args+=(--pr "$pr")
  [[ -n $save_comment ]] && args+=(--save-comment "$save_comment")
  # Without --strict, cargo tek warns (::warning::) and exits 0 when the
  # comment cannot be posted, so an API outage cannot fail a green build.
  [[ $policy == fail ]] && args+=(--strict)
else
  if [[ ${TEK_COMMENT:-auto} == auto ]]; then
    echo "No pull request comment: event '${GITHUB_EVENT_NAME:-none}' is not a pull request (comment: auto)" >&2
  fi
  # No comment: the token has no use here, so the process never holds it.
  unset GITHUB_TOKEN
fi

printf '+ %q tek' "$bin" >&2
printf ' %q' "${args[@]}" >&2
printf '\n' >&2

code=0
"$bin" tek "${args[@]}" || code=$?
if [[ $code -ne 0 ]]; then
  tek_error "cargo tek report failed (exit ${code})"
  exit "$code"
fi
if [[ -n $report_path ]]; then
  echo "Report written to ${report_path}" >&2
fi
