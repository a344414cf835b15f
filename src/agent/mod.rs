//! Agents: what runs a task (shell, noop, and any registered extension).
