//! `guidebot test [PATH...]`: runs scenario files.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;

use super::{DialoguesArg, load_dialogues, read_yaml};
use crate::domain::scenario::run_all;

/// Where scenario files are looked for when no path is given.
const DEFAULT_SCENARIOS: &str = "tests/scenarios";

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Scenario files or folders (default: tests/scenarios/).
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub dialogues: DialoguesArg,
}

pub fn run(dialogues: &Path, a: &TestArgs) -> Result<ExitCode> {
    let lib = load_dialogues(dialogues)?;
    let paths = if a.paths.is_empty() {
        let default = PathBuf::from(DEFAULT_SCENARIOS);
        if !default.exists() {
            anyhow::bail!(
                "there is no scenario folder `{DEFAULT_SCENARIOS}` here; name scenario files or folders: guidebot test PATH..."
            );
        }
        vec![default]
    } else {
        a.paths.clone()
    };
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
