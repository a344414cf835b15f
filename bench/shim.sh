# Sourced by bench/cargo.sh and bench/tracing.sh (with `here` set to bench/): puts
# bench/cargo_shim.py first on PATH as `cargo`, which counts and times cargo's lock
# waits and runs the real cargo. Removed on exit.
shim=$(mktemp -d)
trap 'rm -rf "$shim"' EXIT
export BENCH_REAL_CARGO
BENCH_REAL_CARGO=$(command -v cargo)
ln -s "$here/cargo_shim.py" "$shim/cargo"
export BENCH_SHIM_DIR=$shim
