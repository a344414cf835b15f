//! The runner: scheduling, the worker pool and process supervision.
