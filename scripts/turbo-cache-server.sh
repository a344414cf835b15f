#!/usr/bin/env bash
# Installs the self-hosted Turborepo remote cache the result cache's remote tests start
# (tests/cli/cache_remote.rs), from npm, pinned, into a folder of its own; prints the
# path of its entry point. Nothing is installed globally.
#
#   DIR=$(bash scripts/turbo-cache-server.sh)   # node "$DIR" starts the server
#
# Environment: TURBO_CACHE_SERVER_DIR (default: $CARGO_TARGET_DIR, else target, then
# /turbo-cache-server).
set -euo pipefail
cd "$(dirname "$0")/.."
version=2.12.0
dir=${TURBO_CACHE_SERVER_DIR:-${CARGO_TARGET_DIR:-target}/turbo-cache-server}
entry="$dir/node_modules/turborepo-remote-cache/dist/cli.js"
# Written last: a folder without it is a half-done install, replaced whole.
marker="$dir/.installed-$version"
if [[ ! -f $marker ]]; then
  command -v npm >/dev/null || { echo "npm is not installed" >&2; exit 1; }
  mkdir -p "$(dirname "$dir")"
  staging=$(mktemp -d "$dir.staging.XXXXXX")
  trap 'rm -rf "$staging"' EXIT
  npm install --prefix "$staging" --no-audit --no-fund --no-save --loglevel=error \
    "turborepo-remote-cache@$version" >&2
  touch "$staging/.installed-$version"
  rm -rf "$dir"
  mv "$staging" "$dir"
fi
echo "$(cd "$(dirname "$entry")" && pwd)/cli.js"
