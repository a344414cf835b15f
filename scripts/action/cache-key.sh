#!/usr/bin/env bash
# Compute the cache key and install root for the cargo-tek binary.
#
# Environment (all optional except GITHUB_ACTION_PATH for source builds):
#   GITHUB_ACTION_PATH  the action's own checkout (source of a build)
#   TEK_SOURCE_DIR      overrides GITHUB_ACTION_PATH (workflows outside the action)
#   TEK_VERSION         '' = the pinned version, else one exact version
#   TEK_FROM_SOURCE     'true' = build from source even when a binary is pinned
#   TEK_INSTALL_ROOT    install root (default: $RUNNER_TOOL_CACHE/cargo-tek-action)
#   TEK_BIN             when set, nothing is installed or cached (skip=true)
#   RUNNER_OS, RUNNER_ARCH, ImageOS  runner identity, part of the key
#   TEK_COMMAND, TEK_MAX_WORKERS, TEK_SOT, TEK_DRY_RUN, TEK_COMMENT,
#   TEK_COMMENT_FAILURE, TEK_SUMMARY, TEK_WORKING_DIRECTORY, TEK_REPORT_KEY
#                       the other inputs, only validated here (tek_validate_inputs)
# Outputs (to $GITHUB_OUTPUT): key, root, skip
#
# The key is computed here rather than with hashFiles() because hashFiles only
# sees files under GITHUB_WORKSPACE, and a remote action's files live outside it.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

# The action's first step: every input is checked here, before anything runs.
tek_validate_inputs

root=$(tek_default_install_root)

if [[ -n ${TEK_BIN:-} ]]; then
  tek_set_output skip true
  tek_set_output root "$root"
  tek_set_output key ""
  exit 0
fi

tek_install_plan

# ImageOS (e.g. ubuntu24) separates images with different glibc versions, which
# runner.os alone ("Linux") does not.
platform="${RUNNER_OS:-$(uname -s)}-${RUNNER_ARCH:-$(uname -m)}-${ImageOS:-unknown}"

case "$plan_mode" in
  binary)
    # The pinned checksum names the exact archive: a new pin is a new key.
    key="cargo-tek-${platform}-bin-v${plan_version}-${plan_sha256:0:16}"
    ;;
  source)
    src=${TEK_SOURCE_DIR:-${GITHUB_ACTION_PATH:-}}
    [[ -n $src ]] || tek_die "GITHUB_ACTION_PATH (or TEK_SOURCE_DIR) must point at the cargo-tek source"
    [[ -f $src/Cargo.lock ]] || tek_die "no Cargo.lock in the cargo-tek source directory ('${src}')"
    # Hash the lock file plus every file that goes into the build, so a new ref
    # of the action never reuses a binary built from other sources.
    digest=$(
      cd -- "$src"
      {
        printf '%s  Cargo.lock\n' "$(tek_sha256 Cargo.lock)"
        while IFS= read -r -d '' f; do
          printf '%s  %s\n' "$(tek_sha256 "$f")" "$f"
        done < <(find Cargo.toml build.rs src templates schemas config -type f -print0 2>/dev/null | LC_ALL=C sort -z)
      } | tek_sha256
    )
    key="cargo-tek-${platform}-src-${digest}"
    ;;
  crates)
    # An exact version (ranges are refused) built with --locked: the version
    # names the build.
    key="cargo-tek-${platform}-crates-v${plan_version}"
    ;;
esac

tek_set_output skip false
tek_set_output root "$root"
tek_set_output key "$key"
