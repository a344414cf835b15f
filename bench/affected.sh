#!/usr/bin/env bash
# Tasks run per change of the 20-crate affected corpus (tests/cli/affected.rs) against
# the full plan and a lockfile-keyed default, and the time `cargo tek affected` takes.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --test cli affected::bench_affected_corpus -- --nocapture 2>&1 | grep '^|'
