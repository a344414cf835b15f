//! Reading the user's files: size cap, UTF-8 check, BOM handling, and turning byte
//! offsets into diagnostics that point at file, line and column.

use std::ops::Range;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use miette::{Diagnostic, LabeledSpan, NamedSource};

/// At most this many diagnostics (or labels of one diagnostic) are built for one list
/// of mistakes. Each carries a copy of its file, so a mistake repeated in every hook of
/// a 50,000-hook file must not build 50,000.
pub(crate) const SHOWN: usize = 50;

/// Inputs larger than this are refused rather than parsed: a runaway generated file
/// should fail fast with a clear message, not eat the CI machine's memory.
pub(crate) const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// A text file the user wrote, loaded and validated.
#[derive(Debug, Clone)]
pub(crate) struct SourceFile {
    /// How to name it in messages (usually relative to the workspace root).
    pub(crate) name: String,
    /// The text, with any UTF-8 byte-order mark removed.
    pub(crate) text: Arc<str>,
    /// Byte offset of each line's start, so locating an offset is a binary search
    /// rather than a scan (a 50,000-task plan asks for every task's line). Built on the
    /// first question: a 500,000-line hooks.json that is never located in needs none.
    line_starts: Arc<OnceLock<Box<[u32]>>>,
}

/// Problems reading a file, before any parsing.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub(crate) enum ReadError {
    /// The file could not be opened or read.
    #[error("failed to read `{name}`: {source}")]
    #[diagnostic(help("check that the path exists and is readable"))]
    Io {
        name: String,
        #[source]
        source: std::io::Error,
    },
    /// The file is bigger than [`MAX_INPUT_BYTES`].
    #[error("`{name}` is {size} bytes, over the {cap} byte limit")]
    #[diagnostic(help("split the file, or check that it is not a generated or binary file"))]
    TooLarge { name: String, size: u64, cap: u64 },
    /// The file is not valid UTF-8.
    #[error("`{name}` is not valid UTF-8 at {name}:{line}:{column}")]
    #[diagnostic(help("save the file as UTF-8"))]
    InvalidUtf8 {
        name: String,
        line: usize,
        column: usize,
    },
}

impl SourceFile {
    /// Reads `path`, refusing oversized or non-UTF-8 files.
    pub(crate) fn read(path: &Path, name: impl Into<String>) -> Result<Self, ReadError> {
        use std::io::Read;
        let name = name.into();
        let io = |source| ReadError::Io {
            name: name.clone(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut bytes = Vec::new();
        // Read one byte past the cap so a file that grows while we read is still caught.
        file.take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > MAX_INPUT_BYTES {
            let size = std::fs::metadata(path)
                .map(|m| m.len())
                .unwrap_or(bytes.len() as u64);
            return Err(ReadError::TooLarge {
                name,
                size,
                cap: MAX_INPUT_BYTES,
            });
        }
        Self::from_bytes(name, bytes)
    }

    /// Builds a source from bytes already in memory (used by tests and embedded defaults).
    pub(crate) fn from_bytes(name: String, bytes: Vec<u8>) -> Result<Self, ReadError> {
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(err) => {
                let valid = err.utf8_error().valid_up_to();
                let prefix = String::from_utf8_lossy(&err.as_bytes()[..valid]).into_owned();
                let (line, column) = line_col(&prefix, prefix.len());
                return Err(ReadError::InvalidUtf8 { name, line, column });
            }
        };
        let text = match text.strip_prefix('\u{feff}') {
            Some(rest) => rest.to_owned(),
            None => text,
        };
        Ok(Self {
            name,
            text: Arc::from(text),
            line_starts: Arc::default(),
        })
    }

    /// Offsets fit in `u32`: inputs are capped at [`MAX_INPUT_BYTES`].
    fn line_starts(&self) -> &[u32] {
        self.line_starts
            .get_or_init(|| std::iter::once(0).chain(newline_ends(&self.text)).collect())
    }

    /// 1-based line of a byte offset.
    pub(crate) fn line(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        self.line_starts()
            .partition_point(|&start| start as usize <= offset)
            .max(1)
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub(crate) fn line_col(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let starts = self.line_starts();
        let line = starts.partition_point(|&start| start as usize <= offset);
        let start = starts.get(line.wrapping_sub(1)).map_or(0, |&s| s as usize);
        (line.max(1), self.text[start..offset].chars().count() + 1)
    }

    /// `name:line:col` for a byte offset.
    pub(crate) fn location(&self, offset: usize) -> String {
        let (line, col) = self.line_col(offset);
        format!("{}:{line}:{col}", self.name)
    }

    /// A diagnostic pointing into this file.
    pub(crate) fn diagnostic(
        &self,
        message: impl Into<String>,
        labels: Vec<(Range<usize>, String)>,
        help: Option<String>,
    ) -> SourceDiagnostic {
        let location = labels
            .first()
            .map(|(range, _)| self.location(range.start))
            .unwrap_or_else(|| self.name.clone());
        let len = self.text.len();
        SourceDiagnostic {
            message: message.into(),
            location,
            src: CharColumns(NamedSource::new(self.name.clone(), self.text.clone())),
            labels: labels
                .into_iter()
                .enumerate()
                .map(|(i, (range, label))| {
                    let start = range.start.min(len);
                    let end = range.end.clamp(start, len);
                    // The first label is the one `location` names; miette's snippet
                    // header shows the primary label, else the earliest in the file.
                    if i == 0 {
                        LabeledSpan::new_primary_with_span(Some(label), start..end)
                    } else {
                        LabeledSpan::new(Some(label), start, end - start)
                    }
                })
                .collect(),
            help,
        }
    }
}

/// The offset after each newline of `text`.
fn newline_ends(text: &str) -> impl Iterator<Item = u32> + '_ {
    text.bytes()
        .enumerate()
        .filter(|&(_, b)| b == b'\n')
        .map(|(i, _)| (i + 1) as u32)
}

/// 1-based line and character column of `offset` in `text` (clamped to the text).
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// The source of a diagnostic, whose snippet header (`[sot.md:15:49]`) counts columns in
/// characters like our own `file:line:col` does; miette's own counts bytes, so the two
/// disagreed after an em dash.
#[derive(Debug)]
struct CharColumns(NamedSource<Arc<str>>);

impl miette::SourceCode for CharColumns {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let contents = self
            .0
            .read_span(span, context_lines_before, context_lines_after)?;
        let text = self.0.inner();
        let start = contents.span().offset();
        let line_start = text[..start.min(text.len())]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let column = contents.column().min(start.saturating_sub(line_start));
        let chars = text
            .get(start - column..start)
            .map_or(column, |s| s.chars().count());
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.0.name().to_owned(),
            contents.data(),
            *contents.span(),
            contents.line(),
            chars,
            contents.line_count(),
        )))
    }
}

/// An error located in one of the user's files, rendered with the line shown and the
/// offending span underlined.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{location}: {message}")]
pub(crate) struct SourceDiagnostic {
    /// What is wrong, as a lowercase fragment.
    pub(crate) message: String,
    /// `file:line:col` of the first label.
    pub(crate) location: String,
    #[source_code]
    src: CharColumns,
    #[label(collection)]
    labels: Vec<LabeledSpan>,
    #[help]
    help: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_not_bytes() {
        let text = "ab\n—é`x`";
        let offset = text.find('`').unwrap();
        assert_eq!(line_col(text, offset), (2, 3));
        assert_eq!(line_col(text, 0), (1, 1));
        // Offsets past the end or inside a character are clamped, never panic.
        assert_eq!(line_col(text, 10_000).0, 2);
        assert_eq!(line_col(text, 4), (2, 1));
    }

    #[test]
    fn invalid_utf8_names_the_position() {
        let err = SourceFile::from_bytes("sot.md".into(), b"ok\nab\xffc".to_vec()).unwrap_err();
        assert_eq!(err.to_string(), "`sot.md` is not valid UTF-8 at sot.md:2:3");
    }

    #[test]
    fn indexed_line_col_agrees_with_the_scan() {
        let text = "ab\n—é`x`\n\nlast";
        let src = SourceFile::from_bytes("x".into(), text.as_bytes().to_vec()).unwrap();
        for offset in 0..=text.len() + 2 {
            assert_eq!(
                src.line_col(offset),
                line_col(text, offset),
                "offset {offset}"
            );
        }
    }

    #[test]
    fn snippet_header_and_location_count_the_same_columns() {
        let text = "## Queue A — x\n- `TASK-1` a — after `TASK-9`\n";
        let src = SourceFile::from_bytes("sot.md".into(), text.as_bytes().to_vec()).unwrap();
        let start = text.find("`TASK-9`").unwrap();
        let d = src.diagnostic("m", vec![(start..start + 8, "here".into())], None);
        assert_eq!(d.location, "sot.md:2:22");
        let rendered = crate::output::render_diagnostic(&d, false);
        assert!(rendered.contains("[sot.md:2:22]"), "{rendered}");
        // With several labels, the header names the first (as `location` does), not the
        // earliest in the file.
        let first = text.find("`TASK-1`").unwrap();
        let d = src.diagnostic(
            "m",
            vec![
                (start..start + 8, "later".into()),
                (first..first + 8, "earlier".into()),
            ],
            None,
        );
        let rendered = crate::output::render_diagnostic(&d, false);
        assert!(rendered.contains("[sot.md:2:22]"), "{rendered}");
    }

    #[test]
    fn bom_is_stripped() {
        let src = SourceFile::from_bytes("s".into(), b"\xef\xbb\xbf# hi".to_vec()).unwrap();
        assert_eq!(&*src.text, "# hi");
    }

    #[test]
    fn oversized_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.md");
        let f = std::fs::File::create(&path).unwrap();
        f.set_len(MAX_INPUT_BYTES + 1).unwrap();
        let err = SourceFile::read(&path, "big.md").unwrap_err();
        assert!(matches!(err, ReadError::TooLarge { .. }), "{err}");
    }
}
