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
tek_sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$@" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$@" | cut -d' ' -f1
  else
    tek_die "neither sha256sum nor shasum is available"
  fi
}

# tek_abs_dir DIR: the absolute, physical path of an existing directory.
tek_abs_dir() {
  (cd -- "$1" && pwd -P)
}

# tek_bin_default: the binary to invoke as "$TEK_BIN" tek ...
tek_bin_default() {
  printf '%s' "${TEK_BIN:-cargo-tek}"
}

# tek_check_version VALUE: accept an empty value (build from source) or a
# crates.io version / version requirement such as 0.1.0, =0.1.0, ^0.1, ~0.1.2,
# 1.0.0-rc.1; anything else is rejected before it reaches cargo.
tek_check_version() {
  local v=$1
  [[ -z $v ]] && return 0
  if [[ ! $v =~ ^[=^~]?[0-9]+(\.[0-9]+){0,2}(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$ ]]; then
    tek_die "input 'version' must be empty or a crates.io version such as 0.1.0, got '${v}'"
  fi
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
