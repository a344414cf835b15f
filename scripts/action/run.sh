#!/usr/bin/env bash
# Run `cargo tek <command>` for the action and record its outcome.
#
# Environment:
#   TEK_BIN               binary to run as "$TEK_BIN" tek ... (default: cargo-tek)
#   TEK_COMMAND           plan | check | run (default: run)
#   TEK_MAX_WORKERS       '' or a positive integer (run; plan with TEK_SHARDS:
#                         the workers each shard job will have)
#   TEK_SOT               '' or path of the source-of-truth Markdown file
#   TEK_DRY_RUN           true | false (default: false; run only)
#   TEK_AFFECTED          auto | true | false (default: auto = --affected on
#                         pull_request and pull_request_target events, and
#                         --affected <base_sha> on merge_group events; run, and
#                         plan with TEK_SHARDS: the plan records the affected set)
#   TEK_CACHE             true | false: --cache (run only)
#   TEK_CACHE_URL         '' or the remote cache's URL: --cache-url (implies TEK_CACHE)
#   TEK_CACHE_TEAM        '' or the remote cache's team id: --cache-team
#   TEK_CACHE_WRITE       auto | true | false (default: auto = write to the remote
#                         cache only on push to TEK_DEFAULT_BRANCH; else --cache-read-only)
#   TEK_DEFAULT_BRANCH    the repository's default branch (from the event)
#   TEK_WORKING_DIRECTORY directory to run in (default: .)
#   TEK_RUNS_DIR          '' = the tool's default (<workspace root>/.tek/runs), else
#                         passed as --runs-dir (run only)
#   TEK_SHARD             '' or K/N: run shard K of N (run only; --shard)
#   TEK_PLAN              '' or a plan file: run it (--plan); with merge and
#                         TEK_ALLOW_MISSING, the plan the shards ran; with TEK_SHARDS, where
#                         the plan is written (default: tek-plan.json)
#   TEK_SHARDS            '' or N: plan N shards and output the matrix (plan only)
#   TEK_DURATIONS         '' or a run.json / folder of runs whose durations balance
#                         the shards (plan only)
#   TEK_MERGE_PATH        folder of downloaded run artifacts (merge only)
#   TEK_ALLOW_MISSING     true | false: merge even when a shard has no run
# Outputs (to $GITHUB_OUTPUT):
#   status       ok | failed | error | interrupted
#   exit-code    the exit code of cargo tek
#   run-dir      absolute path of the run directory this run created ('' if none);
#                for merge, the merged run directory
#   matrix       plan with TEK_SHARDS: the matrix JSON (written by cargo tek)
#   plan-path    plan with TEK_SHARDS: absolute path of the plan file
#   report-path  where report.sh writes the Markdown report ('' if no run dir)
#   error-log    when cargo tek made no run (bad input, or plan/check), the
#                file holding its stderr, for report.sh ('' otherwise)
#   journal-key  run: the key that sealed the run's journal, for the report step
#                (CARGO_TEK_JOURNAL_KEY); masked in the log
#
# Exit code: 0 once the outcome is recorded, even when tasks failed: finish.sh
# propagates the failure after the report has been posted. Invalid inputs exit
# 1 before anything runs.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

bin=$(tek_bin_default)

# Tasks must never see GITHUB_TOKEN, not even through pass_env, whatever the
# caller's job env holds (the report step gets its own).
unset GITHUB_TOKEN
# The step's environment holds what no task may see (ACTIONS_ID_TOKEN_REQUEST_TOKEN,
# ACTIONS_RUNTIME_TOKEN, secrets a job-level env sets). A task can read the
# exec-time environment of every process above it (/proc/<pid>/environ), and this
# shell stays above cargo tek for the whole run. So it first re-executes itself
# without them, through the binary, which hands their values over in an anonymous
# file: cargo tek takes them (for pass_env) and empties it before its first task.
# action.yml execs this script, so no shell above holds them either. The
# file-command paths stay: this script writes GITHUB_OUTPUT, and all of them are
# restored after the run (below).
if [[ -z ${TEK_RUN_SCRUBBED:-} ]]; then
  export TEK_RUN_SCRUBBED=1
  exec "$bin" __tek-exec-scrubbed --keep GITHUB_OUTPUT --keep GITHUB_ENV --keep GITHUB_PATH \
    --keep GITHUB_STEP_SUMMARY --keep GITHUB_STATE -- bash "${BASH_SOURCE[0]}" "$@"
fi
unset TEK_RUN_SCRUBBED
# The handover descriptor goes to cargo tek only: every other program started here
# is run with it closed ({handoff}<&-), as it would be readable before cargo tek
# empties it.
handoff=${TEK_SCRUBBED_FD:-}
unset TEK_SCRUBBED_FD
if [[ -n $handoff && ! $handoff =~ ^[0-9]+$ ]]; then
  tek_die "TEK_SCRUBBED_FD is not a descriptor number: '${handoff}'"
fi
without_handoff() {
  if [[ -n $handoff ]]; then "$@" {handoff}<&-; else "$@"; fi
}

# A task can find this step's workflow-command files (they sit in
# $RUNNER_TEMP/_runner_file_commands) and append to them: a line in GITHUB_ENV
# (BASH_ENV=..., GITHUB_API_URL=...) would set the environment of the report
# step, which holds the token. What they hold now, before anything else runs, is
# kept in memory and written back once cargo tek has ended, and every task with
# it (containment leaves no survivor), before this script adds its own outputs.
declare -A file_commands=()
for var in GITHUB_ENV GITHUB_PATH GITHUB_OUTPUT GITHUB_STEP_SUMMARY GITHUB_STATE; do
  path=${!var:-}
  [[ -n $path ]] || continue
  if [[ -f $path ]]; then
    content=$(cat -- "$path" && printf x) || tek_die "cannot read \$${var} ('${path}')"
  else
    content=x
  fi
  file_commands[$var]=${content%x}
done
restore_file_commands() {
  local var path
  for var in "${!file_commands[@]}"; do
    path=${!var}
    # A fresh file: what a task left there may be a link to anywhere.
    rm -f -- "$path"
    printf '%s' "${file_commands[$var]}" >"$path"
  done
}
command_name=${TEK_COMMAND:-run}
max_workers=${TEK_MAX_WORKERS:-}
sot=${TEK_SOT:-}
dry_run=${TEK_DRY_RUN:-false}
affected=${TEK_AFFECTED:-auto}
cache=${TEK_CACHE:-false}
cache_url=${TEK_CACHE_URL:-}
cache_team=${TEK_CACHE_TEAM:-}
cache_write=${TEK_CACHE_WRITE:-auto}
workdir=${TEK_WORKING_DIRECTORY:-.}
runs_dir=${TEK_RUNS_DIR:-}

# The outcome is recorded even when validation fails, so that later steps can
# tell "bad input" from "never ran".
invalid() {
  tek_set_output status error
  tek_set_output exit-code 1
  tek_set_output run-dir ""
  tek_set_output report-path ""
  tek_set_output error-log ""
  tek_die "$1" 1
}

shard=${TEK_SHARD:-}
plan_file=${TEK_PLAN:-}
shards=${TEK_SHARDS:-}
durations=${TEK_DURATIONS:-}
merge_path=${TEK_MERGE_PATH:-}
allow_missing=${TEK_ALLOW_MISSING:-false}

case "$command_name" in
  plan | check | run | merge) ;;
  *) invalid "input 'command' must be one of plan, check, run, merge; got '${command_name}'" ;;
esac
case "${allow_missing,,}" in
  true | false) allow_missing=${allow_missing,,} ;;
  *) invalid "input 'allow-missing' must be 'true' or 'false', got '${allow_missing}'" ;;
esac
if [[ -n $shard ]] && ! tek_is_shard "$shard"; then
  invalid "input 'shard' must be K/N with 1 <= K <= N <= 256, got '${shard}'"
fi
if [[ -n $shards ]] && ! { tek_is_uint "$shards" && ((shards <= 256)); }; then
  invalid "input 'shards' must be a number of shards from 1 to 256, got '${shards}'"
fi
for pair in "plan=${plan_file}" "durations=${durations}" "merge-path=${merge_path}"; do
  if tek_has_control "$pair"; then
    invalid "input '${pair%%=*}' contains a control character"
  fi
  if [[ ${pair#*=} == -* ]]; then
    invalid "input '${pair%%=*}' must be a path, not an option: '${pair#*=}'"
  fi
done
if [[ $command_name == merge && ! -d $merge_path ]]; then
  invalid "input 'merge-path' is not a directory: '${merge_path}' (download the run artifacts there first)"
fi
case "${dry_run,,}" in
  true | false) dry_run=${dry_run,,} ;;
  *) invalid "input 'dry-run' must be 'true' or 'false', got '${dry_run}'" ;;
esac
case "${affected,,}" in
  auto)
    case "${GITHUB_EVENT_NAME:-}" in
      pull_request | pull_request_target) affected=auto-pr ;;
      # A merge queue's group: what it adds on top of the base branch it will land on.
      merge_group) affected=auto-mq ;;
      *) affected=false ;;
    esac
    ;;
  true | false) affected=${affected,,} ;;
  *) invalid "input 'affected' must be 'auto', 'true' or 'false', got '${affected}'" ;;
esac
if [[ -n $max_workers ]] && ! tek_is_uint "$max_workers"; then
  invalid "input 'max-workers' must be a positive integer, got '${max_workers}'"
fi
for pair in "sot=${sot}" "working-directory=${workdir}" "runs-dir=${runs_dir}"; do
  if tek_has_control "$pair"; then
    invalid "input '${pair%%=*}' contains a control character"
  fi
done
if [[ -n $sot && $sot == -* ]]; then
  invalid "input 'sot' must be a path, not an option: '${sot}'"
fi
[[ -d $workdir ]] || invalid "input 'working-directory' is not a directory: '${workdir}'"

cd -- "$workdir"

if [[ $command_name == merge ]]; then
  args=(report)
else
  args=("$command_name")
fi
if [[ -n $sot && $command_name != merge ]]; then
  args+=(--sot "$sot")
fi

newest_run_dir() {
  local dir=$1 newest="" d
  [[ -d $dir ]] || return 0
  for d in "$dir"/*/; do
    [[ -d $d ]] || continue
    d=${d%/}
    d=${d##*/}
    if [[ -z $newest || $d > "$newest" ]]; then newest=$d; fi
  done
  printf '%s' "$newest"
}

# --affected for a run, and for a plan of shards: the plan job then decides once,
# plan.json records the affected tasks, and each shard runs its part of them.
affected_flag() {
  # The base comes from GITHUB_BASE_REF (origin/<base>), else origin/HEAD. 'auto'
  # outside a git checkout runs everything; an explicit 'true' lets cargo tek refuse.
  if [[ $affected == auto-pr ]] && ! without_handoff git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    tek_warning "input 'affected' is auto but '${workdir}' is not a git checkout; every task runs"
    affected=false
  fi
  [[ $affected == true || $affected == auto-pr ]] && args+=(--affected)
  if [[ $affected == auto-mq ]]; then
    # GITHUB_BASE_REF is empty for merge_group: the base is the event's base_sha,
    # the tip of the branch the group lands on. Unknown or out of this checkout's
    # history (a shallow clone), every task runs: never fewer than a push would.
    local event_file=${GITHUB_EVENT_PATH:-} base=""
    if [[ -n $event_file && -f $event_file ]]; then
      base=$(sed -n 's/.*"base_sha"[[:space:]]*:[[:space:]]*"\([0-9a-f]\{40,64\}\)".*/\1/p' "$event_file" | head -n 1)
    fi
    if [[ -z $base ]]; then
      tek_warning "merge_group event without a base_sha in GITHUB_EVENT_PATH; every task runs"
    elif ! without_handoff git merge-base "$base" HEAD >/dev/null 2>&1; then
      tek_warning "merge_group base ${base} is not in this checkout's history (check out with fetch-depth: 0); every task runs"
    else
      args+=(--affected "$base")
    fi
  fi
  return 0
}

# The result cache. A remote one is written only by trusted refs: what a pull request
# stores, main would later replay as passed (Nx's CREEP, CVE-2025-36852).
cache_flags() {
  case "${cache,,}" in
    true) args+=(--cache) ;;
    false) ;;
    *) invalid "input 'cache' must be 'true' or 'false', got '${cache}'" ;;
  esac
  [[ -z $cache_url ]] && return 0
  args+=(--cache-url "$cache_url")
  [[ -n $cache_team ]] && args+=(--cache-team "$cache_team")
  local writes=false
  case "${cache_write,,}" in
    auto)
      if [[ ${GITHUB_EVENT_NAME:-} == push && -n ${TEK_DEFAULT_BRANCH:-} \
        && ${GITHUB_REF:-} == "refs/heads/${TEK_DEFAULT_BRANCH}" ]]; then
        writes=true
      fi
      ;;
    true) writes=true ;;
    false) ;;
    *) invalid "input 'cache-write' must be 'auto', 'true' or 'false', got '${cache_write}'" ;;
  esac
  [[ $writes == true ]] || args+=(--cache-read-only)
  return 0
}

if [[ $command_name == run ]]; then
  [[ -n $max_workers ]] && args+=(--max-workers "$max_workers")
  cache_flags
  [[ $dry_run == true ]] && args+=(--dry-run)
  affected_flag
  if [[ -z $runs_dir ]]; then
    # The tool's own default, made explicit so the directory searched below is
    # the one the run writes to: <workspace root>/.tek/runs.
    workspace_root=$(without_handoff cargo metadata --format-version 1 --no-deps 2>/dev/null \
      | sed -n 's/.*"workspace_root":"\([^"]*\)".*/\1/p' | sed 's/\\\\/\\/g' || true)
    runs_dir="${workspace_root:-.}/.tek/runs"
  fi
  args+=(--runs-dir "$runs_dir")
  [[ -n $plan_file ]] && args+=(--plan "$plan_file")
  [[ -n $shard ]] && args+=(--shard "$shard")
elif [[ $command_name == merge ]]; then
  # The merged run gets a runs directory of its own, so it is the only run there.
  tmp_root=${RUNNER_TEMP:-${TMPDIR:-/tmp}}
  runs_dir=$(mktemp -d "${tmp_root%/}/cargo-tek-merged.XXXXXX")
  args+=(--merge "$merge_path" --runs-dir "$runs_dir" --format json --out "${runs_dir}/merged.json")
  if [[ $allow_missing == true ]]; then
    args+=(--allow-missing)
    # The plan the shards ran names the tasks of a missing shard.
    [[ -n $plan_file ]] && args+=(--plan "$plan_file")
  fi
else
  if [[ $command_name == plan && -n $shards ]]; then
    plan_file=${plan_file:-tek-plan.json}
    args+=(--shards "$shards" --out "$plan_file" --format matrix --github-output matrix)
    [[ -n $durations ]] && args+=(--durations "$durations")
    # The shard jobs' workers, for the estimates.
    [[ -n $max_workers ]] && args+=(--max-workers "$max_workers")
    affected_flag
  elif [[ -n $max_workers ]]; then
    tek_warning "input 'max-workers' only applies to command 'run' (and 'plan' with shards); ignored"
  fi
  if [[ $dry_run == true ]]; then
    tek_warning "input 'dry-run' only applies to command 'run'; ignored"
  fi
fi

before=""
if [[ $command_name == run || $command_name == merge ]]; then
  before=$(newest_run_dir "$runs_dir")
fi

printf '+ %q tek' "$bin" >&2
printf ' %q' "${args[@]}" >&2
printf '\n' >&2

# Run in the background and forward INT/TERM/HUP, so that a cancelled job
# lets cargo tek finish its run directory (it exits 130/143/129) and we still
# record the outcome.
child=""
sig_seen=0
# shellcheck disable=SC2329 # invoked by the traps below
forward() {
  sig_seen=1
  if [[ -n $child ]]; then kill -s "$1" "$child" 2>/dev/null || true; fi
}
trap 'forward INT' INT
trap 'forward TERM' TERM
trap 'forward HUP' HUP

# A run's journal is sealed with a key of its own (CARGO_TEK_JOURNAL_KEY), so that
# the report step trusts only evidence cargo tek wrote, never what a task appended
# or rewrote before killing it. cargo tek takes the key out of its environment
# before its first task (as it does every scrubbed variable); only this shell's
# memory holds it during the run, and the report step gets it as an output once
# cargo tek and its tasks have ended.
journal_key=""
if [[ $command_name == run ]]; then
  journal_key="$(tek_random_hex)$(tek_random_hex)"
  [[ ${#journal_key} -eq 64 ]] || tek_die "failed to draw a journal key from /dev/urandom"
fi

# cargo tek's stderr is shown live and also kept, so that a command stopped by
# bad input can be published (report.sh --config-error) instead of leaving the
# previous run's comment up. tee ignores the job's signals: it must outlive
# cargo tek to copy its last words, and it ends at the end of its input.
tmp_dir=${RUNNER_TEMP:-${TMPDIR:-/tmp}}
error_log=$(mktemp "${tmp_dir%/}/cargo-tek-stderr.XXXXXX" 2>/dev/null || mktemp)
tee_done="${error_log}.done"

# A background job of a non-interactive shell starts with SIGINT and SIGQUIT
# ignored; restore the defaults so cargo tek (and its tasks) see them.
# cargo tek's own step outputs (plan --github-output) go to a file of its own,
# appended to GITHUB_OUTPUT after the restore.
own_output=$(mktemp "${tmp_dir%/}/cargo-tek-output.XXXXXX")
(
  trap - INT QUIT
  if [[ -n $handoff ]]; then export TEK_SCRUBBED_FD=$handoff; fi
  if [[ -n $journal_key ]]; then export CARGO_TEK_JOURNAL_KEY=$journal_key; fi
  GITHUB_OUTPUT=$own_output exec "$bin" tek "${args[@]}" 2> >(
    trap '' INT TERM HUP
    tee -- "$error_log" >&2
    : >"$tee_done"
  )
) &
child=$!
# cargo tek has the descriptor now; this shell needs it no more.
if [[ -n $handoff ]]; then exec {handoff}<&-; fi
code=""
while :; do
  sig_seen=0
  rc=0
  wait "$child" || rc=$?
  # 127 after a first result: the child was already reaped; keep its code.
  if [[ $rc -eq 127 && -n $code ]]; then break; fi
  code=$rc
  # wait was cut short by one of our traps while the child still runs.
  if [[ $sig_seen -eq 1 && $rc -gt 128 ]]; then continue; fi
  break
done
trap - INT TERM HUP
# Let tee copy what is still in the pipe (bounded: a task that kept the pipe
# open past cargo tek's exit must not hang the step).
for _ in {1..50}; do
  [[ -e $tee_done ]] && break
  sleep 0.1
done
rm -f -- "$tee_done"

# cargo tek has ended, and its tasks with it: undo whatever they wrote to the
# workflow-command files, then add cargo tek's own outputs.
restore_file_commands
own=$(cat -- "$own_output" && printf x) || own=x
rm -f -- "$own_output"
if [[ -n ${GITHUB_OUTPUT:-} ]]; then
  printf '%s' "${own%x}" >>"$GITHUB_OUTPUT"
else
  printf '%s' "${own%x}" >&2
fi

case "$code" in
  0) status=ok ;;
  2) status=failed ;;
  129 | 130 | 143) status=interrupted ;;
  *) status=error ;;
esac

run_dir=""
report_path=""
if [[ $command_name == run || $command_name == merge ]]; then
  after=$(newest_run_dir "$runs_dir")
  if [[ -n $after && $after != "$before" ]]; then
    run_dir="$(tek_abs_dir "$runs_dir")/${after}"
    report_path="${run_dir}/report.md"
  fi
fi
# A merge that succeeded reports the merged run's own outcome: failed tasks or a
# shard cut short fail the action as the run of one machine would.
if [[ $command_name == merge && $code -eq 0 && -n $run_dir ]]; then
  merged_status=$(sed -n 's/^  "status": "\([a-z]*\)",$/\1/p' "${run_dir}/run.json" | head -n 1)
  case "$merged_status" in
    ok) ;;
    interrupted) status=interrupted code=2 ;;
    *) status=failed code=2 ;;
  esac
fi
if [[ $command_name == plan && -n $shards && $code -eq 0 ]]; then
  tek_set_output plan-path "$(tek_abs_dir "$(dirname -- "$plan_file")")/$(basename -- "$plan_file")"
fi

# No run (bad input, or a plan/check): the report step publishes this output.
if [[ -z $run_dir && ($status == error || $status == ok) ]]; then
  tek_set_output error-log "$error_log"
else
  rm -f -- "$error_log"
  tek_set_output error-log ""
fi
tek_set_output status "$status"
tek_set_output exit-code "$code"
tek_set_output run-dir "$run_dir"
tek_set_output report-path "$report_path"
if [[ -n $journal_key && -n ${GITHUB_OUTPUT:-} ]]; then
  # Masked: the report step's environment is printed in the job's log.
  echo "::add-mask::${journal_key}"
  tek_set_output journal-key "$journal_key"
fi

# Notices, not errors: the last step (finish.sh) fails the action with the
# ::error::, and an error annotation here would take one of the ten that
# GitHub shows for this step from cargo tek's own.
case "$status" in
  ok) echo "cargo tek ${command_name}: ok" >&2 ;;
  failed) tek_notice "cargo tek ${command_name}: tasks failed (exit ${code}); the action fails after the report" ;;
  interrupted) tek_warning "cargo tek ${command_name}: interrupted (exit ${code})" ;;
  *) tek_notice "cargo tek ${command_name}: stopped with exit ${code}; the action fails after the report" ;;
esac
exit 0
