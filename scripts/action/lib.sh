#!/usr/bin/env bash
# Shared helpers for the cargo-tek composite action scripts.
#
# Sourced by the other scripts in this directory; not meant to be run on its
# own. Everything here only reads environment variables that the caller set:
# no GitHub expression is ever interpolated into shell code.
set -euo pipefail

# Encode a message for a workflow command (::error:: and friends), so that a
# value coming from an input cannot start a second command on a new line.
tek_escape_data() {
  local s=$1
  s=${s//'%'/'%25'}
  s=${s//$'\r'/'%0D'}
  s=${s//$'\n'/'%0A'}
  printf '%s' "$s"
}

tek_error() { printf '::error::%s\n' "$(tek_escape_data "$*")" >&2; }
tek_warning() { printf '::warning::%s\n' "$(tek_escape_data "$*")" >&2; }
tek_notice() { printf '::notice::%s\n' "$(tek_escape_data "$*")" >&2; }

# tek_die MESSAGE [EXIT_CODE]: report an error and exit (default code 1).
tek_die() {
  tek_error "$1"
  exit "${2:-1}"
}

# tek_bool NAME VALUE: print "true" or "false" for a boolean input, or fail
# with a clear error naming the input.
tek_bool() {
  local name=$1 value=$2
  case "${value,,}" in
    true) printf 'true' ;;
    false) printf 'false' ;;
    *) tek_die "input '${name}' must be 'true' or 'false', got '${value}'" ;;
  esac
}

# tek_is_uint VALUE: true when VALUE is a positive decimal integer without a
# leading zero and at most 9 digits (so it fits every integer type in use).
tek_is_uint() {
  [[ $1 =~ ^[1-9][0-9]{0,8}$ ]]
}

# tek_has_control VALUE: true when VALUE contains a control character
# (newline, carriage return, tab, NUL-adjacent bytes, escape, ...).
tek_has_control() {
  [[ $1 == *[[:cntrl:]]* ]]
}

tek_random_hex() {
  od -An -N16 -tx1 /dev/urandom | tr -d ' \n'
}

# tek_set_output NAME VALUE: append one step output to $GITHUB_OUTPUT using the
# multi-line form with a random delimiter. Values containing a newline or
# carriage return are refused outright (no output of ours is multi-line), so
# nothing a task wrote can forge a second output. Without GITHUB_OUTPUT (a
# local run) the pair is echoed to stderr instead.
tek_set_output() {
  local name=$1 value=$2 delim
  if [[ $value == *$'\n'* || $value == *$'\r'* ]]; then
    tek_die "refusing to write output '${name}': value contains a line break"
  fi
  if [[ -z ${GITHUB_OUTPUT:-} ]]; then
    printf 'output %s=%s\n' "$name" "$value" >&2
    return 0
  fi
  delim="ghadelimiter_$(tek_random_hex)"
  {
    printf '%s<<%s\n' "$name" "$delim"
    printf '%s\n' "$value"
    printf '%s\n' "$delim"
  } >>"$GITHUB_OUTPUT"
}

# tek_sha256 [FILE...]: hex SHA-256 of the files' contents (or stdin), on
# Linux, macOS and Git Bash on Windows alike.
# shellcheck disable=SC2120 # FILE is optional: tek_digest hashes stdin
tek_sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$@" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$@" | cut -d' ' -f1
  else
    tek_die "neither sha256sum nor shasum is available"
  fi
}

# tek_digest BIN: one SHA-256 over the binary (a path or a command on PATH) and
# the scripts that run after the tasks (lib.sh, report.sh, finish.sh). The install
# step records it before any task runs; action.yml's "Check cargo-tek is
# unchanged" step computes the same inline (it cannot trust these files) once the
# tasks have ended, before the steps that run them, one with the token.
tek_digest() {
  local dir f exe
  dir=$(dirname -- "${BASH_SOURCE[0]}")
  exe=$(command -v -- "$1") || tek_die "'$1' is not an executable"
  for f in "$exe" "$dir/lib.sh" "$dir/report.sh" "$dir/finish.sh"; do
    tek_sha256 <"$f"
  done | tek_sha256
}

# tek_abs_dir DIR: the absolute, physical path of an existing directory.
tek_abs_dir() {
  (cd -- "$1" && pwd -P)
}

# tek_bin_default: the binary to invoke as "$TEK_BIN" tek ...
tek_bin_default() {
  printf '%s' "${TEK_BIN:-cargo-tek}"
}

# tek_check_version VALUE: accept an empty value (the version the action pins)
# or one exact version such as 0.1.0 or 1.0.0-rc.1. Ranges (^0.1, ~0.1, 0.1)
# are refused: a cache keyed on a range would keep serving the first version
# it ever resolved.
tek_check_version() {
  local v=$1
  [[ -z $v ]] && return 0
  if [[ ! $v =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$ ]]; then
    tek_die "input 'version' must be empty or one exact version such as 0.1.0 (no ranges), got '${v}'"
  fi
}

# tek_target: the release target for this runner (RUNNER_OS/RUNNER_ARCH, else
# uname), or nothing when no prebuilt binary exists for it. Linux binaries are
# static (musl), so they run on every distribution and glibc version.
tek_target() {
  local os=${RUNNER_OS:-$(uname -s)} arch=${RUNNER_ARCH:-$(uname -m)}
  case "${os}/${arch}" in
    Linux/X64 | Linux/x86_64) printf 'x86_64-unknown-linux-musl' ;;
    Linux/ARM64 | Linux/aarch64 | Linux/arm64) printf 'aarch64-unknown-linux-musl' ;;
    macOS/X64 | Darwin/x86_64) printf 'x86_64-apple-darwin' ;;
    macOS/ARM64 | Darwin/arm64) printf 'aarch64-apple-darwin' ;;
    *) ;;
  esac
}

# tek_is_windows: true on a Windows runner (or Git Bash / MSYS).
tek_is_windows() {
  case "${RUNNER_OS:-$(uname -s)}" in
    Windows | MINGW* | MSYS* | CYGWIN*) return 0 ;;
    *) return 1 ;;
  esac
}

# tek_pinned_release MANIFEST TARGET: read the checksum manifest committed in
# the action's repository (release/SHA256SUMS, the release's own SHA256SUMS)
# and print "VERSION SHA256 FILE" for TARGET, or nothing when the manifest pins
# no binary for it. The manifest travels with the action's ref, so pinning the
# ref pins the binary; it is never fetched from the release it vouches for.
tek_pinned_release() {
  local manifest=$1 target=$2 line hash file version pinned=''
  [[ -f $manifest ]] || return 0
  while IFS= read -r line || [[ -n $line ]]; do
    [[ -z $line || $line == '#'* ]] && continue
    if [[ ! $line =~ ^([0-9a-f]{64})\ [\ *](cargo-tek-v[0-9A-Za-z.+_-]+\.tar\.gz)$ ]]; then
      tek_die "${manifest}: malformed line '${line}' (expected '<sha256>  cargo-tek-v<version>-<target>.tar.gz')"
    fi
    hash=${BASH_REMATCH[1]} file=${BASH_REMATCH[2]}
    [[ $file == *-"${target}.tar.gz" ]] || continue
    version=${file#cargo-tek-v}
    version=${version%-"${target}.tar.gz"}
    [[ -n $pinned ]] && tek_die "${manifest}: more than one archive for ${target}"
    pinned="${version} ${hash} ${file}"
  done <"$manifest"
  printf '%s' "$pinned"
}

# tek_install_plan: decide how cargo-tek is installed, from TEK_VERSION,
# TEK_FROM_SOURCE, the runner and the pinned manifest. Sets the globals
#   plan_mode     binary | source | crates
#   plan_version  the version (empty for a source build of the action)
#   plan_target   the release target (binary only)
#   plan_sha256   the pinned checksum of the archive (binary only)
#   plan_file     the archive's file name (binary only)
# cache-key.sh and install.sh both call it, so the key always names what is
# installed.
# shellcheck disable=SC2034 # the plan_* globals are read by the caller
tek_install_plan() {
  local wanted=${TEK_VERSION:-} src pinned from_source
  tek_check_version "$wanted"
  from_source=$(tek_bool install-from-source "${TEK_FROM_SOURCE:-false}")
  if tek_is_windows; then
    tek_die "cargo-tek does not support Windows runners yet; run this job on ubuntu-* or macos-* (see docs/action.md)"
  fi
  src=${TEK_SOURCE_DIR:-${GITHUB_ACTION_PATH:-}}
  plan_mode='' plan_version='' plan_target='' plan_sha256='' plan_file=''
  if [[ $from_source == false ]]; then
    plan_target=$(tek_target)
    if [[ -n $plan_target && -n $src ]]; then
      pinned=$(tek_pinned_release "${src}/release/SHA256SUMS" "$plan_target")
      if [[ -n $pinned ]]; then
        read -r plan_version plan_sha256 plan_file <<<"$pinned"
        if [[ -z $wanted || $wanted == "$plan_version" ]]; then
          plan_mode=binary
          return 0
        fi
      fi
    fi
  fi
  plan_target='' plan_sha256='' plan_file=''
  if [[ -n $wanted ]]; then
    plan_mode=crates
    plan_version=$wanted
  else
    plan_mode=source
    plan_version=''
  fi
}

# tek_clean_cargo_env CMD...: run CMD without the caller's Rust build
# settings, so that a source build of cargo-tek does not inherit the project's
# RUSTFLAGS, target or toolchain override.
tek_clean_cargo_env() {
  env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS -u RUSTDOCFLAGS -u CARGO_BUILD_RUSTFLAGS \
    -u CARGO_BUILD_TARGET -u CARGO_TARGET_DIR -u CARGO_BUILD_TARGET_DIR -u RUSTUP_TOOLCHAIN \
    -u RUSTC -u RUSTC_WRAPPER -u CARGO_BUILD_RUSTC_WRAPPER -u CARGO_PROFILE_RELEASE_DEBUG "$@"
}

# tek_default_install_root: where the installed binary lives (and what the
# cache step saves/restores).
tek_default_install_root() {
  if [[ -n ${TEK_INSTALL_ROOT:-} ]]; then
    printf '%s' "$TEK_INSTALL_ROOT"
  elif [[ -n ${RUNNER_TOOL_CACHE:-} ]]; then
    printf '%s' "${RUNNER_TOOL_CACHE}/cargo-tek-action"
  else
    printf '%s' "${HOME:-/tmp}/.cache/cargo-tek-action"
  fi
}

# tek_comment_mode VALUE: the 'comment' input resolved for this event: "true" or
# "false". 'auto' comments on pull_request and pull_request_target events and
# quietly skips every other event (a push has no pull request to comment on).
tek_comment_mode() {
  local value=$1
  case "${value,,}" in
    auto)
      case "${GITHUB_EVENT_NAME:-}" in
        pull_request | pull_request_target) printf 'true' ;;
        *) printf 'false' ;;
      esac
      ;;
    true | false) printf '%s' "${value,,}" ;;
    *) tek_die "input 'comment' must be 'auto', 'true' or 'false', got '${value}'" ;;
  esac
}

# tek_failure_policy VALUE: the 'comment-failure' input, "warn" or "fail".
tek_failure_policy() {
  local value=$1
  case "${value,,}" in
    warn | fail) printf '%s' "${value,,}" ;;
    *) tek_die "input 'comment-failure' must be 'warn' or 'fail', got '${value}'" ;;
  esac
}

# tek_validate_inputs: check every input of the action, from its TEK_* variable,
# in the action's first step, so that a typo fails the job before anything is
# installed or any task runs. Every problem is reported, as one ::error:: each,
# then the step exits 1. The run and report steps check again for themselves:
# they also run on their own, outside the action.
# tek_is_shard VALUE: true when VALUE is K/N with 1 <= K <= N <= 256.
tek_is_shard() {
  [[ $1 =~ ^([1-9][0-9]{0,2})/([1-9][0-9]{0,2})$ ]] || return 1
  ((BASH_REMATCH[1] <= BASH_REMATCH[2] && BASH_REMATCH[2] <= 256))
}

tek_validate_inputs() {
  local problems=() pair value
  case "${TEK_COMMAND:-run}" in
    plan | check | run | merge | publish) ;;
    *) problems+=("input 'command' must be one of plan, check, run, merge, publish; got '${TEK_COMMAND}'") ;;
  esac
  value=${TEK_SHARD:-}
  if [[ -n $value ]] && ! tek_is_shard "$value"; then
    problems+=("input 'shard' must be K/N with 1 <= K <= N <= 256 (e.g. \${{ matrix.shard }} from the plan job), got '${value}'")
  fi
  value=${TEK_SHARDS:-}
  if [[ -n $value ]] && ! { tek_is_uint "$value" && ((value <= 256)); }; then
    problems+=("input 'shards' must be a number of shards from 1 to 256, got '${value}'")
  fi
  if [[ -n ${TEK_SHARD:-} && ${TEK_COMMAND:-run} != run ]]; then
    problems+=("input 'shard' only applies to command 'run'")
  fi
  if [[ -n ${TEK_SHARDS:-} && ${TEK_COMMAND:-run} != plan ]]; then
    problems+=("input 'shards' only applies to command 'plan'")
  fi
  if [[ ${TEK_COMMAND:-run} == merge && -z ${TEK_MERGE_PATH:-} ]]; then
    problems+=("input 'merge-path' must name the folder the run artifacts were downloaded to")
  fi
  for pair in "plan=${TEK_PLAN:-}" "merge-path=${TEK_MERGE_PATH:-}" "durations=${TEK_DURATIONS:-}"; do
    if [[ ${pair#*=} == -* ]]; then
      problems+=("input '${pair%%=*}' must be a path, not an option: '${pair#*=}'")
    fi
  done
  # What cargo-tek itself accepts as a link (src/report/provenance.rs): checked here
  # so that a typo fails the job at once instead of the link quietly going elsewhere.
  value=${TEK_ARTIFACT_URL:-}
  if [[ -n $value ]] && ! [[ $value =~ ^https?://[A-Za-z0-9:/._-]+$ && ${#value} -le 2048 ]]; then
    problems+=("input 'artifact-url' must be a plain http(s) URL (the artifact-url output of actions/upload-artifact), got '${value}'")
  fi
  case "${TEK_ALLOW_MISSING:-false}" in
    [Tt][Rr][Uu][Ee] | [Ff][Aa][Ll][Ss][Ee]) ;;
    *) problems+=("input 'allow-missing' must be 'true' or 'false', got '${TEK_ALLOW_MISSING}'") ;;
  esac
  value=${TEK_MAX_WORKERS:-}
  if [[ -n $value ]] && ! tek_is_uint "$value"; then
    problems+=("input 'max-workers' must be a positive integer, got '${value}'")
  fi
  case "${TEK_AFFECTED:-auto}" in
    [Aa][Uu][Tt][Oo] | [Tt][Rr][Uu][Ee] | [Ff][Aa][Ll][Ss][Ee]) ;;
    *) problems+=("input 'affected' must be 'auto', 'true' or 'false', got '${TEK_AFFECTED}'") ;;
  esac
  for pair in "dry-run=${TEK_DRY_RUN:-false}" "summary=${TEK_SUMMARY:-true}" \
    "install-from-source=${TEK_FROM_SOURCE:-false}"; do
    case "${pair#*=}" in
      [Tt][Rr][Uu][Ee] | [Ff][Aa][Ll][Ss][Ee]) ;;
      *) problems+=("input '${pair%%=*}' must be 'true' or 'false', got '${pair#*=}'") ;;
    esac
  done
  case "${TEK_COMMENT:-auto}" in
    [Aa][Uu][Tt][Oo] | [Tt][Rr][Uu][Ee] | [Ff][Aa][Ll][Ss][Ee]) ;;
    *) problems+=("input 'comment' must be 'auto', 'true' or 'false', got '${TEK_COMMENT}'") ;;
  esac
  case "${TEK_COMMENT_FAILURE:-warn}" in
    [Ww][Aa][Rr][Nn] | [Ff][Aa][Ii][Ll]) ;;
    *) problems+=("input 'comment-failure' must be 'warn' or 'fail', got '${TEK_COMMENT_FAILURE}'") ;;
  esac
  for pair in "sot=${TEK_SOT:-}" "working-directory=${TEK_WORKING_DIRECTORY:-.}" \
    "report-key=${TEK_REPORT_KEY:-}" "plan=${TEK_PLAN:-}" "merge-path=${TEK_MERGE_PATH:-}" \
    "durations=${TEK_DURATIONS:-}" "artifact-pattern=${TEK_ARTIFACT_PATTERN:-}"; do
    if tek_has_control "$pair"; then
      problems+=("input '${pair%%=*}' contains a control character")
    fi
  done
  if [[ ${TEK_SOT:-} == -* ]]; then
    problems+=("input 'sot' must be a path, not an option: '${TEK_SOT}'")
  fi
  if [[ ! -d ${TEK_WORKING_DIRECTORY:-.} ]]; then
    problems+=("input 'working-directory' is not a directory: '${TEK_WORKING_DIRECTORY}'")
  fi
  value=${TEK_VERSION:-}
  if [[ -n $value && ! $value =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$ ]]; then
    problems+=("input 'version' must be empty or one exact version such as 0.1.0 (no ranges), got '${value}'")
  fi
  ((${#problems[@]} == 0)) && return 0
  for value in "${problems[@]}"; do
    tek_error "$value"
  done
  exit 1
}
