//! `guidebot schema`: the JSON Schema of dialogue files (committed as `dialogues/schema.json`).

use std::process::ExitCode;

use anyhow::Result;

use crate::domain::dialogue::format::json_schema;

pub fn run() -> Result<ExitCode> {
    print!("{}", json_schema());
    Ok(ExitCode::SUCCESS)
}
