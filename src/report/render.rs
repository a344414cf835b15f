//! The minijinja environment: built-in templates embedded in the binary, overridable by a
//! file of the same name in the workspace's templates folder or by `--template FILE`, and
//! rendering that shrinks in steps to fit a size limit.

use std::path::{Path, PathBuf};

use minijinja::Environment;

use super::context::{build, ReportContext, MAX_DETAIL};
use super::escape::inline;
use super::limit::{truncate_markdown, Unit, OMITTED_PLACEHOLDER, TOTAL_PLACEHOLDER};
use crate::evidence::LoadedRun;
use crate::redact::Secrets;

/// Built-in templates: name and source.
pub(crate) const BUILTIN: &[(&str, &str)] =
    &[("report.md.j2", include_str!("../../templates/report.md.j2"))];

/// The template the report uses by default.
pub(crate) const DEFAULT_TEMPLATE: &str = "report.md.j2";

/// Failures to render.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(crate) enum ReportError {
    #[error("failed to read template `{path}`: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("template `{name}` line {line}: {message}")]
    #[diagnostic(help("see the README's \"Report templates\" section for the context"))]
    Template {
        name: String,
        line: usize,
        message: String,
    },
}

fn template_error(name: &str, err: minijinja::Error) -> ReportError {
    ReportError::Template {
        name: name.to_owned(),
        line: err.line().unwrap_or(0),
        message: err.to_string(),
    }
}

/// A loaded template, ready to render contexts.
pub(crate) struct Renderer {
    env: Environment<'static>,
    name: String,
}

impl Renderer {
    /// The template: `--template FILE` if given, else the workspace's override of the
    /// built-in, else the built-in.
    pub(crate) fn new(
        templates_dir: Option<&Path>,
        file: Option<&Path>,
    ) -> Result<Self, ReportError> {
        let mut env = Environment::new();
        // Markdown, not HTML: escaping is done explicitly, per Markdown's rules, in the
        // context builder.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        let (name, source) = match file {
            Some(path) => (path.display().to_string(), read(path)?),
            None => {
                let over = templates_dir
                    .map(|d| d.join(DEFAULT_TEMPLATE))
                    .filter(|p| p.is_file());
                match over {
                    Some(path) => (DEFAULT_TEMPLATE.to_owned(), read(&path)?),
                    None => (DEFAULT_TEMPLATE.to_owned(), BUILTIN[0].1.to_owned()),
                }
            }
        };
        env.add_template_owned(name.clone(), source)
            .map_err(|e| template_error(&name, e))?;
        Ok(Self { env, name })
    }

    /// Renders one context.
    pub(crate) fn render(&self, ctx: &ReportContext) -> Result<String, ReportError> {
        let template = self
            .env
            .get_template(&self.name)
            .map_err(|e| template_error(&self.name, e))?;
        template
            .render(minijinja::Value::from(minijinja::value::Serde(ctx)))
            .map_err(|e| template_error(&self.name, e))
    }
}

fn read(path: &Path) -> Result<String, ReportError> {
    std::fs::read_to_string(path).map_err(|source| ReportError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// What to render and how big it may get.
pub(crate) struct Request<'a> {
    pub(crate) run: &'a LoadedRun,
    pub(crate) marker: Option<String>,
    pub(crate) ci_url: Option<String>,
    /// Commit, artifact link and the previous comment's failures.
    pub(crate) about: super::provenance::Provenance,
    pub(crate) secrets: &'a Secrets,
    pub(crate) limit: usize,
    pub(crate) unit: Unit,
}

/// Renders at the most detailed level that fits the limit: log tails shrink first, then
/// go, then the per-task table; as a last resort the body is cut at a safe line.
pub(crate) fn render_within(renderer: &Renderer, req: &Request<'_>) -> Result<String, ReportError> {
    // A merge of several matrix legs: one section per leg, each shrunk to its share.
    if let Some(legs) = super::legs::split(req.run) {
        let body = super::legs::render(renderer, req, &legs)?;
        let note = format!("> ⚠️ Report truncated: {OMITTED_PLACEHOLDER} of {TOTAL_PLACEHOLDER} lines omitted. Full evidence: run {}.", inline(&req.secrets.mask(&req.run.record.run_id)));
        return Ok(truncate_markdown(&body, req.limit, req.unit, &note));
    }
    // Escaped like every other string from run.json; not in a code span, where
    // backslash escapes would show.
    let where_ = format!(
        "Full evidence: run {} (run.json, logs/).",
        inline(&req.secrets.mask(&req.run.record.run_id))
    );
    let mut last = String::new();
    for detail in 0..=MAX_DETAIL {
        let mut ctx = build(
            req.run,
            req.marker.clone(),
            req.ci_url.clone(),
            &req.about,
            req.secrets,
            detail,
        );
        if detail > 0 {
            ctx.note = Some(format!("> ℹ️ Detail reduced to fit GitHub's size limit (level {detail} of {MAX_DETAIL}). {where_}"));
        }
        let body = req.secrets.mask(&renderer.render(&ctx)?);
        if req.unit.measure(&body) <= req.limit {
            return Ok(body);
        }
        last = body;
    }
    let note = format!("> ⚠️ Report truncated: {OMITTED_PLACEHOLDER} of {TOTAL_PLACEHOLDER} lines omitted. {where_}");
    Ok(truncate_markdown(&last, req.limit, req.unit, &note))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> LoadedRun {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run-mixed");
        crate::evidence::load_run(&dir).unwrap()
    }

    fn request(run: &LoadedRun, limit: usize) -> Request<'_> {
        Request {
            run,
            marker: Some("<!-- m -->".into()),
            ci_url: None,
            about: Default::default(),
            secrets: &crate::redact::NONE,
            limit,
            unit: Unit::Chars,
        }
    }

    #[test]
    fn every_builtin_template_is_registered_and_renders() {
        let run = fixture();
        assert_eq!(
            BUILTIN.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            [DEFAULT_TEMPLATE]
        );
        for (name, source) in BUILTIN {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join(name), source).unwrap();
            for templates in [None, Some(dir.path())] {
                let renderer = Renderer::new(templates, None).unwrap();
                let body = render_within(&renderer, &request(&run, usize::MAX)).unwrap();
                assert!(
                    body.starts_with(
                        "<!-- m -->\n## ❌ cargo-tek: 1 task failed, 1 cancelled, 1 skipped"
                    ),
                    "{name}: {body}"
                );
                assert!(
                    body.contains("this looks like a bug"),
                    "{name} shows the failing log tail"
                );
            }
        }
    }

    #[test]
    fn shrinking_drops_detail_before_cutting() {
        let run = fixture();
        let renderer = Renderer::new(None, None).unwrap();
        let full = render_within(&renderer, &request(&run, usize::MAX)).unwrap();
        let limit = full.chars().count() - 1;
        let smaller = render_within(&renderer, &request(&run, limit)).unwrap();
        assert!(smaller.chars().count() <= limit);
        assert!(smaller.contains("Detail reduced"), "{smaller}");
        assert!(smaller.contains("TASK&#45;002"), "failures stay: {smaller}");
        let tiny = render_within(&renderer, &request(&run, 400)).unwrap();
        assert!(tiny.chars().count() <= 400, "{tiny}");
        assert!(tiny.contains("truncated"), "{tiny}");
    }
}
