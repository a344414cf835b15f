#!/usr/bin/env bash
# Render the report of a run: Markdown file, job summary and sticky PR comment.
#
# Environment:
#   TEK_BIN               binary to run as "$TEK_BIN" tek ... (default: cargo-tek)
#   TEK_RUN_DIR           run directory to report on (required)
#   TEK_REPORT_PATH       Markdown output (default: $TEK_RUN_DIR/report.md)
#   TEK_SUMMARY           true | false: append to $GITHUB_STEP_SUMMARY (default true)
#   TEK_COMMENT           true | false: upsert the sticky PR comment (default true)
#   TEK_REPORT_KEY        sticky-comment key (default: cargo-tek)
#   TEK_PR                '' or the PR number (default: from GITHUB_EVENT_PATH)
#   TEK_SAVE_COMMENT      '' or where to save the body when it cannot be posted
#                         (default: the tool's, <run dir>/pr-comment.md)
#   TEK_STRICT            true | false: fail when the comment cannot be posted
#   TEK_WORKING_DIRECTORY directory to run in (default: .)
#   GITHUB_TOKEN          token for the comment; dropped when TEK_COMMENT=false
#   GITHUB_REPOSITORY, GITHUB_API_URL, GITHUB_EVENT_PATH, GITHUB_STEP_SUMMARY
#                         read by cargo tek itself
# Exit code: that of `cargo tek report`.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

bin=$(tek_bin_default)
run_dir=${TEK_RUN_DIR:-}
summary=$(tek_bool summary "${TEK_SUMMARY:-true}")
comment=$(tek_bool comment "${TEK_COMMENT:-true}")
strict=$(tek_bool strict "${TEK_STRICT:-false}")
key=${TEK_REPORT_KEY:-}
[[ -n $key ]] || key=cargo-tek
pr=${TEK_PR:-}
save_comment=${TEK_SAVE_COMMENT:-}
workdir=${TEK_WORKING_DIRECTORY:-.}

[[ -n $run_dir ]] || tek_die "TEK_RUN_DIR is empty: there is no run directory to report on"
[[ -d $run_dir ]] || tek_die "run directory does not exist: '${run_dir}'"
report_path=${TEK_REPORT_PATH:-"${run_dir}/report.md"}
for pair in "run-dir=${run_dir}" "report-path=${report_path}" "report-key=${key}" \
  "save-comment=${save_comment}" "working-directory=${workdir}"; do
  if tek_has_control "$pair"; then
    tek_die "'${pair%%=*}' contains a control character"
  fi
done
if [[ -n $pr ]] && ! tek_is_uint "$pr"; then
  tek_die "PR number must be a positive integer, got '${pr}'"
fi
[[ -d $workdir ]] || tek_die "working directory does not exist: '${workdir}'"
cd -- "$workdir"

args=(report --run "$run_dir" --out "$report_path" --format markdown)
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
  [[ $strict == true ]] && args+=(--strict)
else
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
echo "Report written to ${report_path}" >&2
