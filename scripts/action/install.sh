#!/usr/bin/env bash
# Install the cargo-tek binary (or reuse a cached / preset one).
#
# By default the action downloads the prebuilt release binary that
# release/SHA256SUMS (committed at the action's ref) pins for this runner, and
# checks its SHA-256 against that manifest before anything runs it: pinning the
# action's ref pins the binary. It builds from source only when asked to, when
# no binary is pinned for this runner, or for a version other than the pinned
# one (then from crates.io, whose index carries the crate's checksum).
#
# Environment:
#   TEK_BIN             when set, nothing is installed: it is checked and reused
#   TEK_VERSION         '' = the pinned version; else one exact version (X.Y.Z)
#   TEK_FROM_SOURCE     'true' = build from source even when a binary is pinned
#   TEK_INSTALL_ROOT    install root (default: $RUNNER_TOOL_CACHE/cargo-tek-action)
#   TEK_CACHE_HIT       'true' when the cache step restored the install root
#   TEK_DOWNLOAD_BASE   release download base (default:
#                       https://github.com/<action repository>/releases/download)
#   GITHUB_ACTION_PATH  the action's own checkout (manifest, source builds)
#   TEK_SOURCE_DIR      overrides GITHUB_ACTION_PATH (workflows outside the action)
# Outputs (to $GITHUB_OUTPUT): bin (absolute path or command name to run),
#   how (binary | source | crates | cache | preset), digest (tek_digest of the
#   binary and the scripts, checked again after the tasks have run)
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

if [[ -n ${TEK_BIN:-} ]]; then
  if ! command -v -- "$TEK_BIN" >/dev/null 2>&1; then
    tek_die "TEK_BIN is set to '${TEK_BIN}', which is not an executable"
  fi
  echo "Using preset TEK_BIN=${TEK_BIN}; skipping install." >&2
  tek_set_output bin "$TEK_BIN"
  tek_set_output how preset
  tek_set_output digest "$(tek_digest "$TEK_BIN")"
  exit 0
fi

tek_install_plan
root=$(tek_default_install_root)
cache_hit=$(tek_bool cache-hit "${TEK_CACHE_HIT:-false}")
bin="${root}/bin/cargo-tek"
src=${TEK_SOURCE_DIR:-${GITHUB_ACTION_PATH:-}}

# download URL FILE: fetch URL to FILE, failing on HTTP errors; retries cover
# a flaky network, never a wrong answer (the checksum decides that).
download() {
  local url=$1 out=$2
  if command -v curl >/dev/null 2>&1; then
    curl --fail --silent --show-error --location --retry 3 --retry-delay 1 \
      --connect-timeout 20 --max-time 300 --output "$out" -- "$url"
  elif command -v wget >/dev/null 2>&1; then
    wget --quiet --tries=3 --timeout=60 --output-document="$out" -- "$url"
  else
    tek_die "neither curl nor wget is available to download ${url}"
  fi
}

install_binary() {
  local base repo url tmp got dir
  # The action's own repository publishes the binaries; its Cargo.toml names
  # it when the runner does not (composite steps may see no
  # GITHUB_ACTION_REPOSITORY).
  repo=${GITHUB_ACTION_REPOSITORY:-}
  if [[ -z $repo && -f ${src}/Cargo.toml ]]; then
    repo=$(sed -n 's|^repository *= *"https://github.com/\([^"/]*/[^"/]*\)"$|\1|p' "${src}/Cargo.toml" | head -n 1)
  fi
  repo=${repo:-cargo-tek/cargo-tek}
  base=${TEK_DOWNLOAD_BASE:-https://github.com/${repo}/releases/download}
  url="${base%/}/v${plan_version}/${plan_file}"
  tmp=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/cargo-tek-install.XXXXXX")
  # shellcheck disable=SC2064 # expand now: tmp is local
  trap "rm -rf -- '${tmp}'" EXIT
  echo "Downloading cargo-tek ${plan_version} for ${plan_target} from ${url}" >&2
  if ! download "$url" "${tmp}/${plan_file}"; then
    tek_die "could not download ${url}; check that release v${plan_version} exists, or set 'install-from-source: true'"
  fi
  got=$(tek_sha256 "${tmp}/${plan_file}")
  if [[ $got != "$plan_sha256" ]]; then
    tek_die "checksum mismatch for ${plan_file}: expected ${plan_sha256} (release/SHA256SUMS at the action's ref), got ${got}; the download is corrupt or was tampered with, nothing was installed"
  fi
  mkdir -p -- "${tmp}/x"
  tar -xzf "${tmp}/${plan_file}" -C "${tmp}/x" \
    || tek_die "${plan_file} matched its checksum but is not a readable .tar.gz"
  dir="${tmp}/x/cargo-tek-v${plan_version}-${plan_target}"
  [[ -f ${dir}/cargo-tek && ! -L ${dir}/cargo-tek ]] \
    || tek_die "${plan_file} does not contain cargo-tek-v${plan_version}-${plan_target}/cargo-tek"
  mkdir -p -- "${root}/bin"
  # Copy under a temporary name, then rename: a half-written binary is never
  # left where the cache step would save it.
  cp -- "${dir}/cargo-tek" "${root}/bin/.cargo-tek.partial"
  chmod 0755 "${root}/bin/.cargo-tek.partial"
  mv -f -- "${root}/bin/.cargo-tek.partial" "$bin"
}

install_from_source() {
  command -v cargo >/dev/null 2>&1 \
    || tek_die "cargo is not on PATH; install a Rust toolchain before this action, or use a runner with a prebuilt binary (Linux or macOS, x86_64 or aarch64)"
  mkdir -p -- "$root"
  if [[ $plan_mode == source ]]; then
    [[ -n $src && -f $src/Cargo.toml ]] \
      || tek_die "GITHUB_ACTION_PATH / TEK_SOURCE_DIR ('${src}') does not contain the cargo-tek sources"
    echo "Building cargo-tek from the action source at ${src}" >&2
    # From the action's own directory, so that the caller's
    # rust-toolchain.toml and .cargo/config.toml do not apply.
    (cd -- "$src" && tek_clean_cargo_env cargo install --locked --path . --root "$root" --force)
  else
    echo "Installing cargo-tek ${plan_version} from crates.io" >&2
    local tmp
    tmp=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/cargo-tek-install.XXXXXX")
    (cd -- "$tmp" && tek_clean_cargo_env cargo install --locked cargo-tek --version "=${plan_version}" --root "$root" --force)
    rm -rf -- "$tmp"
  fi
}

started=$SECONDS
how=$plan_mode
if [[ $cache_hit == true && -x $bin ]]; then
  echo "cargo-tek restored from cache: ${bin}" >&2
  how=cache
elif [[ $plan_mode == binary ]]; then
  install_binary
else
  if [[ $plan_mode == source && ${TEK_FROM_SOURCE:-false} != true ]]; then
    tek_notice "no prebuilt cargo-tek is pinned for this runner ($(tek_target || true)); building from source"
  fi
  install_from_source
fi

[[ -x $bin ]] || tek_die "cargo-tek was not installed at ${bin}"
if ! version_line=$("$bin" tek --version 2>&1); then
  tek_die "the installed ${bin} does not run on this runner: ${version_line}"
fi
if [[ -n $plan_version && $version_line != "cargo-tek ${plan_version}" ]]; then
  tek_die "the installed binary says '${version_line}', expected cargo-tek ${plan_version}"
fi
echo "${version_line} ready (${how}, $((SECONDS - started)) s): ${bin}" >&2
tek_set_output bin "$bin"
tek_set_output how "$how"
tek_set_output digest "$(tek_digest "$bin")"
