#!/usr/bin/env bash
# Check the artifact of a pull_request run before pr-comment.yml posts it.
#
# Everything in the artifact was produced by code from the pull request, so it
# is untrusted: the PR number must be a plain integer, the bundle must hold
# only regular files and directories, and the PR it names must really be the
# one whose head commit the triggering run tested (asked of the API, not of the
# artifact).
#
# Environment:
#   TEK_ARTIFACT_DIR       downloaded artifact(s): pr-number, head-sha, and run/
#                          or the run directories of shards and legs
#   TEK_CI_RUN_ID          '' or the triggering run's id (trusted), to link its job
#   TEK_CI_RUN_ATTEMPT     '' or its attempt (default 1)
#   TEK_EXPECTED_HEAD_SHA  github.event.workflow_run.head_sha (trusted)
#   GITHUB_TOKEN           token with pull-requests: read
#   GITHUB_API_URL         API root (default: https://api.github.com)
#   GITHUB_REPOSITORY      owner/name of this repository
# Outputs (to $GITHUB_OUTPUT):
#   post     'true' when the comment may be posted, else 'false'
#   pr       the verified PR number ('' unless post=true)
#   run-dir  absolute path of the run directory in the artifact (run/), or of
#            the artifact folder holding several
#   ci-url   the triggering run's job that made the artifact (the job named by
#            the artifact's job-name file, else the first failed job, else the
#            first job), or the run; '' without TEK_CI_RUN_ID
# Exit code: 0 with post=false when the PR moved on (stale run); 1 when the
# artifact is malformed or does not match the PR.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

dir=${TEK_ARTIFACT_DIR:?TEK_ARTIFACT_DIR must name the downloaded artifact}
expected_sha=${TEK_EXPECTED_HEAD_SHA:-}
api=${GITHUB_API_URL:-https://api.github.com}
repo=${GITHUB_REPOSITORY:?GITHUB_REPOSITORY must be set}

[[ -d $dir ]] || tek_die "artifact directory does not exist: '${dir}'"
[[ $expected_sha =~ ^[0-9a-f]{40}$ ]] || tek_die "TEK_EXPECTED_HEAD_SHA is not a commit SHA: '${expected_sha}'"
[[ $repo =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] || tek_die "GITHUB_REPOSITORY is malformed: '${repo}'"
command -v jq >/dev/null 2>&1 || tek_die "jq is required"
command -v curl >/dev/null 2>&1 || tek_die "curl is required"

odd=$(find "$dir" ! -type f ! -type d -print -quit)
[[ -z $odd ]] || tek_die "artifact contains something other than regular files and directories: '${odd}'"

pr_file="$dir/pr-number"
[[ -f $pr_file ]] || tek_die "artifact has no pr-number file"
[[ $(wc -c <"$pr_file") -le 16 ]] || tek_die "artifact pr-number file is too large"
pr=$(tr -d '\n' <"$pr_file")
tek_is_uint "$pr" || tek_die "artifact pr-number is not a positive integer"

if [[ -d $dir/run ]]; then
  run_dir="$dir/run"
  [[ -f $run_dir/run.json ]] || tek_die "artifact has no run/run.json"
else
  # Shards and legs: cargo tek report --merge finds their run directories.
  run_dir=$dir
  [[ -n $(find "$dir" -mindepth 2 -maxdepth 4 -name run.json -type f -print -quit) ]] \
    || tek_die "artifact has no run directory (run.json)"
fi
run_dir=$(tek_abs_dir "$run_dir")

if [[ -f $dir/head-sha ]]; then
  artifact_sha=$(head -c 64 "$dir/head-sha" | tr -d '\n')
  if [[ $artifact_sha != "$expected_sha" ]]; then
    tek_die "artifact head-sha does not match the triggering run's head commit"
  fi
fi

# The PR named by the artifact must target this repository and have, as its
# head, the very commit the triggering run built.
body=$(
  printf 'header = "Authorization: Bearer %s"\n' "${GITHUB_TOKEN:-}" \
    | curl --config - -fsS --retry 3 \
      -H 'Accept: application/vnd.github+json' \
      -H 'X-GitHub-Api-Version: 2022-11-28' \
      "${api%/}/repos/${repo}/pulls/${pr}"
) || tek_die "could not fetch pull request #${pr}"
head_sha=$(jq -r '.head.sha // empty' <<<"$body")
base_repo=$(jq -r '.base.repo.full_name // empty' <<<"$body")

if [[ $base_repo != "$repo" ]]; then
  tek_die "pull request #${pr} does not target ${repo}"
fi
if [[ $head_sha != "$expected_sha" ]]; then
  tek_warning "pull request #${pr} has moved on to another commit; not posting results for ${expected_sha}"
  tek_set_output post false
  tek_set_output pr ""
  tek_set_output run-dir "$run_dir"
  exit 0
fi

# The link for "View the CI run": the job that ran the tasks, asked of the API.
ci_url=""
run_id=${TEK_CI_RUN_ID:-}
if [[ -n $run_id ]]; then
  [[ $run_id =~ ^[1-9][0-9]{0,19}$ ]] || tek_die "TEK_CI_RUN_ID is not a run id: '${run_id}'"
  attempt=${TEK_CI_RUN_ATTEMPT:-1}
  tek_is_uint "$attempt" || tek_die "TEK_CI_RUN_ATTEMPT is not an attempt number: '${attempt}'"
  server=${GITHUB_SERVER_URL:-https://github.com}
  ci_url="${server%/}/${repo}/actions/runs/${run_id}/attempts/${attempt}"
  job_name=""
  if [[ -f $dir/job-name ]]; then
    job_name=$(head -c 256 "$dir/job-name" | tr -d '\n')
  fi
  jobs=$(
    printf 'header = "Authorization: Bearer %s"\n' "${GITHUB_TOKEN:-}" \
      | curl --config - -fsS --retry 3 \
        -H 'Accept: application/vnd.github+json' \
        -H 'X-GitHub-Api-Version: 2022-11-28' \
        "${api%/}/repos/${repo}/actions/runs/${run_id}/attempts/${attempt}/jobs?per_page=100"
  ) || jobs=""
  if [[ -n $jobs ]]; then
    job_url=$(jq -r --arg name "$job_name" '
      [.jobs[]? | select(.html_url | type == "string")] as $j
      | (($j | map(select(.name == $name)) | first)
         // ($j | map(select(.conclusion == "failure")) | first)
         // ($j | first)
         // {}) | .html_url // empty' <<<"$jobs")
    # Only a link into this repository's runs is used.
    if [[ $job_url =~ ^https?://[A-Za-z0-9:/._-]+$ && $job_url == "${server%/}/${repo}/"* ]]; then
      ci_url=$job_url
    fi
  fi
fi

tek_set_output pr "$pr"
tek_set_output run-dir "$run_dir"
tek_set_output ci-url "$ci_url"
tek_set_output post true
echo "Verified: artifact belongs to pull request #${pr} at ${expected_sha}" >&2
