//! The baseline for the bigsot benchmark: the least a planner must do to read its inputs.
//!
//! `tek-bench-rawparse SOT.md HOOKS.json` reads both files, iterates every
//! pulldown-cmark event of the Markdown (with source offsets, as a planner that reports
//! line and column needs), parses the hooks into a `serde_json::Value`, and prints
//! `<events> events, <hooks> hooks`. No plan is built, so this is a lower bound.

use std::process::ExitCode;

use pulldown_cmark::{Options, Parser};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [sot, hooks] = args.as_slice() else {
        eprintln!("usage: tek-bench-rawparse SOT.md HOOKS.json");
        return ExitCode::from(1);
    };
    let text = match std::fs::read_to_string(sot) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("tek-bench-rawparse: {sot}: {e}");
            return ExitCode::from(1);
        }
    };
    // The options cargo-tek's sot reader enables (task lists are what make `- [ ]` items).
    let options =
        Options::ENABLE_TASKLISTS | Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let events = Parser::new_ext(&text, options)
        .into_offset_iter()
        .count();
    let json = match std::fs::read_to_string(hooks) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("tek-bench-rawparse: {hooks}: {e}");
            return ExitCode::from(1);
        }
    };
    let value: serde_json::Value = match serde_json::from_str(&json) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("tek-bench-rawparse: {hooks}: {e}");
            return ExitCode::from(1);
        }
    };
    let n = value.as_object().map_or(0, |m| m.len());
    println!("{events} events, {n} hooks");
    ExitCode::SUCCESS
}
