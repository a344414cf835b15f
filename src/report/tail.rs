//! Log tails for the report with the noise that hides a cause taken out first: hundreds
//! of `test … ok` lines or `Compiling …` lines would otherwise fill the few KiB a report
//! can show and push the panic or the compiler error out of it.

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use crate::evidence::beneath::ReadError;
use crate::evidence::logs::{self, Layout};

/// How much more than the shown tail is read to make up for dropped lines.
const READ_FACTOR: usize = 16;
/// Never read more than this of one log for a tail.
const READ_CAP: usize = 256 * 1024;

/// Lines that say something went well (passing tests of libtest and nextest, cargo's
/// build progress) and the standard library's backtrace frames.
static NOISE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        concat!(
            r"^(test \S.* \.\.\. (ok|ignored)",
            r"|\s*PASS \[[^\]]*\] .*",
            r"|\s*(Compiling|Checking|Documenting|Downloaded|Downloading|Fresh|Blocking|Locking|Updating|Adding|Fetching|Unpacking) \S.*",
            // The standard library's frames of a backtrace: the test's own frames stay.
            r"|\s+at /rustc/[0-9a-f]+/library/.*",
            r"|\s+\d+: (__rustc|core|std|alloc|test)::.*",
            r"|\s+\d+: <.* as core::ops::function::Fn(Once|Mut)?<.*>>::call(_once|_mut)?",
            r")$"
        ),
    )
    .expect("the noise pattern is a valid regex")
});

/// The last `max` bytes of the log `rel` after noise lines are dropped (ANSI codes
/// ignored when matching), with one line saying how many were dropped. Reads at most
/// [`READ_CAP`] bytes, only from a regular file inside the run directory.
pub(crate) fn quiet_tail(
    run_dir: &Path,
    rel: &str,
    max: usize,
    layout: Layout,
) -> Result<String, ReadError> {
    let read = max
        .saturating_mul(READ_FACTOR)
        .clamp(max, READ_CAP.max(max));
    let raw = logs::tail(run_dir, rel, read, layout)?;
    Ok(quiet(&raw, max))
}

/// `text` without noise lines, cut to its last `max` bytes at a line start.
fn quiet(text: &str, max: usize) -> String {
    let mut kept = String::with_capacity(text.len().min(max * 2));
    let mut dropped = 0usize;
    for line in text.split_inclusive('\n') {
        let bare = console::strip_ansi_codes(line.trim_end_matches(['\n', '\r']));
        if NOISE.is_match(&bare) {
            dropped += 1;
        } else {
            kept.push_str(line);
        }
    }
    if kept.len() > max {
        let mut start = kept.len() - max;
        while !kept.is_char_boundary(start) {
            start += 1;
        }
        let cut = &kept[start..];
        let cut = cut.find('\n').map_or(cut, |nl| &cut[nl + 1..]);
        kept = cut.to_owned();
    }
    if dropped > 0 {
        format!(
            "({} of passing tests, build progress or std backtrace frames left out)\n{kept}",
            crate::text::count(dropped, "line", "lines")
        )
    } else {
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hundreds_of_passing_tests_do_not_push_the_panic_out() {
        let mut log = String::from("   Compiling demo v0.1.0 (/w)\n\u{1b}[1m\u{1b}[32m   Compiling\u{1b}[0m b v1\nrunning 801 tests\n");
        for i in 0..800 {
            log.push_str(&format!("test tests::t{i} ... ok\n"));
        }
        log.push_str("test tests::bad ... FAILED\n\nfailures:\n\n---- tests::bad stdout ----\n\nthread 'tests::bad' (7) panicked at src/lib.rs:9:5:\nassertion failed: false\n");
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("logs")).unwrap();
        std::fs::write(dir.path().join("logs/x.log"), &log).unwrap();
        let tail = quiet_tail(dir.path(), "logs/x.log", 1024, Layout::Raw).unwrap();
        assert!(
            regex::Regex::new(r"^\(\d{3} lines of passing tests, build progress or std backtrace frames left out\)\n")
                .unwrap()
                .is_match(&tail),
            "{tail}"
        );
        assert!(tail.contains("assertion failed: false"), "{tail}");
        assert!(tail.contains("test tests::bad ... FAILED"), "{tail}");
        assert!(
            !tail.contains("... ok") && !tail.contains("Compiling"),
            "{tail}"
        );
        // The plain cut would have shown nothing but passing tests.
        let plain = logs::tail(dir.path(), "logs/x.log", 100, Layout::Raw).unwrap();
        assert!(!plain.contains("test tests::t1 ... ok") || !plain.contains("panicked"));
    }

    #[test]
    fn a_quiet_log_is_cut_at_a_line_start_and_says_nothing_was_dropped() {
        assert_eq!(quiet("a\nbb\nccc\n", 5), "ccc\n");
        assert_eq!(quiet("error: x\n", 100), "error: x\n");
        assert_eq!(quiet("éé\néé\n", 3), "");
        let trace = "stack backtrace:\n   0: __rustc::rust_begin_unwind\n             at /rustc/5980761/library/std/src/panicking.rs:689:5\n   4: demo::tests::adds_wrong\n             at ./src/lib.rs:17:9\n   7: <fn() -> core::result::Result<(), alloc::string::String> as core::ops::function::FnOnce<()>>::call_once\n";
        assert_eq!(
            quiet(trace, 1000),
            "(3 lines of passing tests, build progress or std backtrace frames left out)\nstack backtrace:\n   4: demo::tests::adds_wrong\n             at ./src/lib.rs:17:9\n"
        );
    }
}
