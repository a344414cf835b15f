#!/usr/bin/env python3
"""A `cargo` that runs the real one and notes how long it waited for a file lock.

bench/cargo.sh puts this first on PATH (as `cargo`). It passes stdout, the exit code and
signals through unchanged and copies stderr line by line; when cargo prints "Blocking
waiting for file lock", the time until its next line (cargo prints one as soon as it
has the lock) is appended, in seconds, to $BENCH_LOCKLOG.
"""
import os
import subprocess
import sys
import time

real = os.environ["BENCH_REAL_CARGO"]
log = os.environ.get("BENCH_LOCKLOG")
child = subprocess.Popen([real] + sys.argv[1:], stderr=subprocess.PIPE)
blocked_at = None
for line in iter(child.stderr.readline, b""):
    now = time.monotonic()
    if blocked_at is not None:
        with open(log, "a") as f:
            f.write(f"{now - blocked_at:.3f}\n")
        blocked_at = None
    if b"Blocking waiting for file lock" in line and log:
        blocked_at = now
    sys.stderr.buffer.write(line)
    sys.stderr.buffer.flush()
if blocked_at is not None and log:
    with open(log, "a") as f:
        f.write(f"{time.monotonic() - blocked_at:.3f}\n")
rc = child.wait()
sys.exit(rc if rc >= 0 else 128 - rc)
