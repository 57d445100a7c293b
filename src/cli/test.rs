//! `guidebot test [PATH...]`: runs scenario files.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;

use super::{Args, load_dialogues, read_yaml};
use crate::domain::scenario::run_all;

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Scenario files or folders (default: tests/scenarios/).
    pub paths: Vec<PathBuf>,
}

pub fn run(args: &Args, a: &TestArgs) -> Result<ExitCode> {
    let lib = load_dialogues(&args.dialogues)?;
    let paths = if a.paths.is_empty() { vec![PathBuf::from("tests/scenarios")] } else { a.paths.clone() };
    let files = read_yaml(&paths)?;
    let summary = run_all(&lib, &files);
    for (path, steps) in &summary.steps {
        println!("ok   {} ({steps} steps)", path.display());
    }
    for f in &summary.failures {
        println!("FAIL {f}");
    }
    println!("{} passed, {} failed", summary.passed, summary.failures.len());
    Ok(if summary.failures.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
