//! `guidebot check [PATH...]`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::{Args, read_yaml, report};
use crate::domain::dialogue::load_library;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Files or folders to check (default: the dialogues folder).
    pub paths: Vec<PathBuf>,
}

pub fn run(args: &Args, a: &CheckArgs) -> Result<ExitCode> {
    let paths = if a.paths.is_empty() { vec![args.dialogues.clone()] } else { a.paths.clone() };
    let files = read_yaml(&paths)?;
    if files.is_empty() {
        eprintln!(
            "no dialogue files (*.yaml) found in {}",
            paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        );
        return Ok(ExitCode::from(1));
    }
    match load_library(&files) {
        Ok(lib) => {
            let guides = lib.guide_ids().len();
            println!(
                "ok: {} file{} checked, {guides} guide{}, no problems",
                files.len(),
                if files.len() == 1 { "" } else { "s" },
                if guides == 1 { "" } else { "s" }
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(diags) => {
            eprintln!("{}", report(&diags));
            Ok(ExitCode::from(1))
        }
    }
}
