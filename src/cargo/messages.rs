//! What a cargo command wrote (its stdout and stderr in one file, so their order is
//! kept) turned into the task's human-readable log plus structured evidence: cargo's
//! JSON messages, parsed with cargo_metadata's types, become their rendering in the log
//! and [`Finding`]s; for `cargo test`, the test binaries' output becomes one
//! [`TestOutcome`] per test, each attributed to its package and binary by cargo's
//! `Running …` lines and the artifacts it built.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, Read, Write};
use std::sync::LazyLock;

use cargo_metadata::Message;
use regex::Regex;

use super::command::Kind;
use super::findings::{finding, Places};
use super::libtest;
use crate::evidence::cargo::{Finding, TestOutcome};

/// Findings kept per command; a workspace with thousands of warnings keeps the first.
pub(crate) const MAX_FINDINGS: usize = 1000;
/// Bytes of one line read at most; the rest of a longer line is skipped.
const MAX_LINE: usize = 4 * 1024 * 1024;

static RUNNING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*Running (?:unittests )?.*\((.+)\)$").expect("a valid constant regex")
});
/// A status line of cargo's own (`   Compiling a v0.1.0`, `     Running …`).
static STATUS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:Compiling|Checking|Documenting|Fresh|Finished|Running|Doc-tests|Blocking|Locking|Adding|Updating|Downloading|Downloaded|Executable) ")
        .expect("a valid constant regex")
});
static DOC_TESTS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*Doc-tests (\S+)$").expect("a valid constant regex"));

/// How to read one command's output.
#[derive(Debug, Clone)]
pub(crate) struct Reading {
    pub(crate) kind: Kind,
    /// Record warnings as findings, not only errors.
    pub(crate) warnings: bool,
    /// Keep rustc's colours in the log.
    pub(crate) color: bool,
    /// The command asked cargo to be quiet: its status lines (`Compiling`, `Running`, …),
    /// which cargo-tek asked for anyway, stay out of the log.
    pub(crate) quiet: bool,
    pub(crate) places: Places,
}

/// What one command's output said.
#[derive(Debug, Default)]
pub(crate) struct Said {
    pub(crate) findings: Vec<Finding>,
    pub(crate) tests: Vec<TestOutcome>,
    /// Findings beyond [`MAX_FINDINGS`].
    pub(crate) dropped: usize,
    /// Packages compiled (artifacts that were not fresh), as `name@version`.
    pub(crate) compiled: BTreeSet<String>,
}

/// Reads `raw` (cargo's interleaved output), writes what a person would have seen to
/// `log`, and returns the evidence.
pub(crate) fn read(
    mut raw: impl BufRead,
    log: &mut impl Write,
    how: &Reading,
) -> std::io::Result<Said> {
    let mut reader = Reader {
        how,
        said: Said::default(),
        binaries: HashMap::new(),
        crates: HashMap::new(),
        tests: libtest::Parser::new("", ""),
    };
    let mut bytes = Vec::new();
    while next_line(&mut raw, &mut bytes)? {
        let line = String::from_utf8_lossy(&bytes);
        reader.line(line.trim_end_matches(['\n', '\r']), log)?;
    }
    Ok(reader.finish())
}

/// Reads the next line into `bytes`, at most [`MAX_LINE`] of it (the rest of a longer
/// line is skipped); false at the end.
fn next_line(raw: &mut impl BufRead, bytes: &mut Vec<u8>) -> std::io::Result<bool> {
    bytes.clear();
    if raw
        .by_ref()
        .take(MAX_LINE as u64)
        .read_until(b'\n', bytes)?
        == 0
    {
        return Ok(false);
    }
    if bytes.len() == MAX_LINE && !bytes.ends_with(b"\n") {
        raw.skip_until(b'\n')?;
    }
    Ok(true)
}

/// One command's output being read.
struct Reader<'a> {
    how: &'a Reading,
    said: Said,
    /// Test binaries by file name (`alpha-1a2b3c`): their package and target.
    binaries: Binaries,
    /// Packages by their library's crate name, which `Doc-tests` names.
    crates: HashMap<String, String>,
    tests: libtest::Parser,
}

impl Reader<'_> {
    fn line(&mut self, line: &str, log: &mut impl Write) -> std::io::Result<()> {
        let json = line.starts_with('{');
        if json && self.how.kind == Kind::Nextest {
            if let Some(test) = super::nextest::outcome(line) {
                self.said.tests.push(test);
                return Ok(());
            }
            // Suite and start events: nextest's own output on stderr says it for people.
            if line.contains("\"type\":\"") && !line.contains("\"reason\":") {
                return Ok(());
            }
        }
        let message = if json {
            serde_json::from_str::<Message>(line).ok()
        } else {
            None
        };
        match message {
            Some(Message::CompilerMessage(m)) => self.compiler_message(&m.message, log)?,
            Some(Message::CompilerArtifact(a)) => self.artifact(&a),
            Some(_) => {}
            None => {
                let status = STATUS.is_match(&console::strip_ansi_codes(line));
                if !(self.how.quiet && status) {
                    log.write_all(line.as_bytes())?;
                    log.write_all(b"\n")?;
                }
                if self.how.kind == Kind::Test {
                    test_line(&mut self.tests, (&self.binaries, &self.crates), line);
                }
            }
        }
        Ok(())
    }

    /// rustc's rendering goes to the log; the diagnostic becomes a finding.
    fn compiler_message(
        &mut self,
        message: &cargo_metadata::diagnostic::Diagnostic,
        log: &mut impl Write,
    ) -> std::io::Result<()> {
        if let Some(rendered) = &message.rendered {
            if self.how.color {
                log.write_all(rendered.as_bytes())?;
            } else {
                log.write_all(console::strip_ansi_codes(rendered).as_bytes())?;
            }
        }
        let Some(f) = finding(message, self.how.warnings, &self.how.places) else {
            return Ok(());
        };
        if self.said.findings.contains(&f) {
            // The same file compiled for lib and test targets says it twice.
        } else if self.said.findings.len() < MAX_FINDINGS {
            self.said.findings.push(f);
        } else {
            self.said.dropped += 1;
        }
        Ok(())
    }

    /// What was compiled, and which package each test binary and library crate is.
    fn artifact(&mut self, a: &cargo_metadata::Artifact) {
        if !a.fresh {
            self.said
                .compiled
                .insert(package_at_version(&a.package_id.repr));
        }
        let kinds: Vec<String> = a.target.kind.iter().map(ToString::to_string).collect();
        if kinds.iter().any(|k| is_lib(k)) {
            self.crates.insert(
                a.target.name.replace('-', "_"),
                package_name(&a.package_id.repr),
            );
        }
        if let Some(name) = a.executable.as_ref().and_then(|e| e.file_name()) {
            let binary = binary_name(&kinds, &a.target.name);
            let package = package_name(&a.package_id.repr);
            self.binaries.insert(name.to_owned(), (package, binary));
        }
    }

    fn finish(mut self) -> Said {
        self.said.tests.extend(self.tests.finish());
        // No `Running` line said whose tests these are (a format of the hook's own, a
        // harness run directly): with one test binary there is no doubt.
        let only = (self.binaries.len() == 1)
            .then(|| self.binaries.values().next())
            .flatten();
        for test in &mut self.said.tests {
            if let (true, Some((package, binary))) = (test.package.is_empty(), only) {
                test.package = package.clone();
                test.binary = binary.clone();
            }
            // Printed relative to the cargo workspace; kept as printed when not found.
            if let Some(rel) = test
                .file
                .as_deref()
                .and_then(|f| self.how.places.relative(f))
            {
                test.file = Some(rel);
            }
        }
        self.said
    }
}

/// Test binaries by file name: their package and binary name.
type Binaries = HashMap<String, (String, String)>;

/// One line of `cargo test`'s text: a new binary starting, or libtest's output.
fn test_line(
    tests: &mut libtest::Parser,
    (binaries, crates): (&Binaries, &HashMap<String, String>),
    line: &str,
) {
    let plain = console::strip_ansi_codes(line);
    if let Some(c) = RUNNING.captures(&plain) {
        let path = c[1].trim();
        let file = path.rsplit(['/', '\\']).next().unwrap_or(path);
        match binaries.get(file) {
            Some((package, binary)) => tests.switch_to(package, binary),
            // Built before this run with nothing said about it: the name before the hash.
            None => {
                let stem = file.rsplit_once('-').map_or(file, |(stem, _)| stem);
                tests.switch_to(stem, stem);
            }
        }
    } else if let Some(c) = DOC_TESTS.captures(&plain) {
        // cargo names the crate (`alpha_beta`); the evidence names packages.
        let package = crates.get(&c[1]).map_or(&c[1], String::as_str);
        tests.switch_to(package, "doctests");
    } else {
        tests.line(line);
    }
}

/// Target kinds of a library (its unit tests are the `lib` binary).
pub(crate) const LIB_KINDS: &[&str] =
    &["lib", "rlib", "dylib", "cdylib", "staticlib", "proc-macro"];

/// Whether a target kind is a library's (`lib`, `proc-macro`, `rlib`, ...).
pub(crate) fn is_lib(kind: &str) -> bool {
    LIB_KINDS.contains(&kind)
}

/// A test binary's name in the evidence (and JUnit's suites, `alpha/lib`): `lib` for a
/// library's unit tests, proc-macro libraries too, else the target's name.
pub(crate) fn binary_name(kinds: &[String], target: &str) -> String {
    match kinds.iter().any(|k| is_lib(k)) {
        true => "lib".to_owned(),
        false => target.to_owned(),
    }
}

/// A package's name from its id: `path+file:///ws/crates/a#alpha@0.1.0`,
/// `path+file:///ws/crates/alpha#0.1.0` or the older `alpha 0.1.0 (path+file://…)`.
pub(crate) fn package_name(id: &str) -> String {
    match id.rsplit_once('#') {
        Some((url, fragment)) => match fragment.split_once('@') {
            Some((name, _)) => name.to_owned(),
            None => url.rsplit('/').next().unwrap_or(url).to_owned(),
        },
        None => id.split(' ').next().unwrap_or(id).to_owned(),
    }
}

/// `name@version` from a package id (as [`package_name`] reads them); the name alone
/// when the id has no version.
pub(crate) fn package_at_version(id: &str) -> String {
    let name = package_name(id);
    let version = match id.rsplit_once('#') {
        Some((_, fragment)) => fragment.rsplit('@').next().unwrap_or(fragment),
        None => id.split(' ').nth(1).unwrap_or(""),
    };
    match version.is_empty() || version == name {
        true => name,
        false => format!("{name}@{version}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names_from_ids() {
        assert_eq!(
            package_name("path+file:///ws/crates/a#alpha@0.1.0"),
            "alpha"
        );
        assert_eq!(package_name("path+file:///ws/crates/alpha#0.1.0"), "alpha");
        assert_eq!(
            package_name("registry+https://x/index#serde@1.0.1"),
            "serde"
        );
        assert_eq!(package_name("alpha 0.1.0 (path+file:///ws)"), "alpha");
        for (id, at) in [
            ("path+file:///ws/crates/a#alpha@0.1.0", "alpha@0.1.0"),
            ("path+file:///ws/crates/alpha#0.1.0", "alpha@0.1.0"),
            ("registry+https://x/index#serde@1.0.1", "serde@1.0.1"),
            ("alpha 0.1.0 (path+file:///ws)", "alpha@0.1.0"),
        ] {
            assert_eq!(package_at_version(id), at);
        }
    }

    #[test]
    fn compiled_packages_are_those_not_fresh() {
        let artifact = |id: &str, fresh: bool| {
            format!(
                r#"{{"reason":"compiler-artifact","package_id":"{id}","manifest_path":"/ws/Cargo.toml","target":{{"kind":["lib"],"crate_types":["lib"],"name":"x","src_path":"/ws/src/lib.rs","edition":"2021","doc":true,"doctest":true,"test":true}},"profile":{{"opt_level":"0","debuginfo":2,"debug_assertions":true,"overflow_checks":true,"test":false}},"features":[],"filenames":[],"executable":null,"fresh":{fresh}}}"#
            )
        };
        let raw = [
            artifact("registry+https://x/index#serde@1.0.1", false),
            artifact("registry+https://x/index#serde@1.0.1", false),
            artifact("registry+https://x/index#libc@0.2.0", true),
            artifact("path+file:///ws#alpha@0.1.0", false),
        ]
        .join("\n");
        let how = Reading {
            kind: Kind::Compile,
            warnings: false,
            color: false,
            quiet: false,
            places: Places {
                root: "/ws".into(),
                cwd: "/ws".into(),
            },
        };
        let said = read(raw.as_bytes(), &mut Vec::new(), &how).unwrap();
        assert_eq!(
            said.compiled.into_iter().collect::<Vec<_>>(),
            ["alpha@0.1.0", "serde@1.0.1"]
        );
    }
}
