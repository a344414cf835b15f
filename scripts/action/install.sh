#!/usr/bin/env bash
# Install the cargo-tek binary (or reuse a cached / preset one).
#
# Environment:
#   TEK_BIN             when set, nothing is installed: it is checked and reused
#   TEK_VERSION         '' = `cargo install --locked --path "$GITHUB_ACTION_PATH"`,
#                       else `cargo install --locked cargo-tek --version X`
#   TEK_INSTALL_ROOT    install root (default: $RUNNER_TOOL_CACHE/cargo-tek-action)
#   TEK_CACHE_HIT       'true' when the cache step restored the install root
#   GITHUB_ACTION_PATH  the action's own source (for source builds)
#   TEK_SOURCE_DIR      overrides GITHUB_ACTION_PATH (workflows outside the action)
# Outputs (to $GITHUB_OUTPUT): bin  (absolute path or command name to run)
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

if [[ -n ${TEK_BIN:-} ]]; then
  if ! command -v -- "$TEK_BIN" >/dev/null 2>&1; then
    tek_die "TEK_BIN is set to '${TEK_BIN}', which is not an executable"
  fi
  echo "Using preset TEK_BIN=${TEK_BIN}; skipping install." >&2
  tek_set_output bin "$TEK_BIN"
  exit 0
fi

version=${TEK_VERSION:-}
tek_check_version "$version"
root=$(tek_default_install_root)
cache_hit=$(tek_bool cache-hit "${TEK_CACHE_HIT:-false}")

exe=cargo-tek
case "${RUNNER_OS:-$(uname -s)}" in
  Windows | MINGW* | MSYS* | CYGWIN*) exe=cargo-tek.exe ;;
esac
bin="${root}/bin/${exe}"

if [[ $cache_hit == true && -x $bin ]]; then
  echo "cargo-tek restored from cache: ${bin}" >&2
else
  command -v cargo >/dev/null 2>&1 \
    || tek_die "cargo is not on PATH; install a Rust toolchain before this action"
  mkdir -p -- "$root"
  if [[ -z $version ]]; then
    src=${TEK_SOURCE_DIR:-${GITHUB_ACTION_PATH:-}}
    [[ -n $src && -f $src/Cargo.toml ]] \
      || tek_die "GITHUB_ACTION_PATH / TEK_SOURCE_DIR ('${src}') does not contain the cargo-tek sources"
    echo "Building cargo-tek from the action source at ${src}" >&2
    cargo install --locked --path "$src" --root "$root" --force
  else
    echo "Installing cargo-tek ${version} from crates.io" >&2
    cargo install --locked cargo-tek --version "$version" --root "$root"
  fi
fi

[[ -x $bin ]] || tek_die "cargo-tek was not installed at ${bin}"
tek_set_output bin "$bin"
