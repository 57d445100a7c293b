//! `guidebot test [PATH...] [--today DATE...]`: runs scenario files.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use jiff::civil::Date;

use super::{DialoguesArg, load_dialogues, read_yaml};
use crate::domain::scenario::{DEFAULT_DAYS, run_all_on};

/// Where scenario files are looked for when no path is given.
const DEFAULT_SCENARIOS: &str = "tests/scenarios";

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Scenario files or folders (default: tests/scenarios/).
    pub paths: Vec<PathBuf>,
    /// Run the scenarios that pin no day on this day (repeat for several) instead
    /// of New Year's Eve and Day, 28 and 29 February 2028 and 15 June 2026.
    #[arg(long, value_name = "DATE")]
    pub today: Vec<Date>,
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
    let days = if a.today.is_empty() { DEFAULT_DAYS.to_vec() } else { a.today.clone() };
    let summary = run_all_on(&lib, &files, &days);
    for (path, ran) in &summary.ran {
        let on = if ran.days > 1 { format!(" on {} days", ran.days) } else { String::new() };
        println!("ok   {} ({} steps{on})", path.display(), ran.steps);
    }
    for f in &summary.failures {
        println!("FAIL {f}");
    }
    println!("{} passed, {} failed", summary.passed, summary.failures.len());
    Ok(if summary.failures.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
