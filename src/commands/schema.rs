//! `cargo tek schema`.

use crate::cli::{SchemaArgs, SchemaKind};
use crate::error::{Error, ExitCode};
use crate::evidence::RunRecord;
use crate::plan::Plan;

use super::Context;

pub(crate) fn run(ctx: &Context, args: SchemaArgs) -> Result<ExitCode, Error> {
    let schema = match args.which {
        SchemaKind::Plan => Plan::json_schema(),
        SchemaKind::Run => RunRecord::json_schema(),
    };
    let text = serde_json::to_string_pretty(&schema).map_err(|e| Error::Evidence(e.to_string()))?;
    ctx.output.stdout(&(text + "\n"));
    Ok(ExitCode::Success)
}
