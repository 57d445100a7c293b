//! `guidebot check [PATH...]`: every problem of every dialogue file as
//! `file:line:col: what is wrong; what to do`, then warnings (allowed, but
//! almost surely not meant). Exit 1 on any problem, 0 with warnings only.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;

use super::{DialoguesArg, missing_dialogues, read_yaml, report_with_warnings, summary};
use crate::app::user_zone;
use crate::domain::dialogue::lint::warnings;
use crate::domain::dialogue::read_library;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Files or folders to check (default: the dialogues folder).
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub dialogues: DialoguesArg,
}

pub fn run(dialogues: &Path, a: &CheckArgs) -> Result<ExitCode> {
    let paths = if a.paths.is_empty() {
        if !dialogues.exists() {
            eprintln!("{}", missing_dialogues(dialogues));
            return Ok(ExitCode::from(2));
        }
        vec![dialogues.to_path_buf()]
    } else {
        a.paths.clone()
    };
    let files = read_yaml(&paths)?;
    if files.is_empty() {
        eprintln!(
            "no dialogue files (*.yaml) found in {}",
            paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        );
        return Ok(ExitCode::from(1));
    }
    let (guides, problems) = read_library(&files);
    let today = jiff::Zoned::now().with_time_zone(user_zone()).date();
    let warned = warnings(&guides, today);
    if !problems.is_empty() {
        eprintln!("{}", report_with_warnings(&problems, &warned));
        return Ok(ExitCode::from(1));
    }
    let mut ids: Vec<&str> = guides.iter().map(|g| g.id()).collect();
    ids.sort_unstable();
    ids.dedup();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    if !warned.is_empty() {
        eprintln!("{}", report_with_warnings(&[], &warned));
    }
    println!(
        "ok: {} file{} checked, {} guide{}, {}",
        files.len(),
        plural(files.len()),
        ids.len(),
        plural(ids.len()),
        if warned.is_empty() { summary(0, 0) } else { format!("no problems, {}", count(warned.len())) }
    );
    Ok(ExitCode::SUCCESS)
}

fn count(warnings: usize) -> String {
    if warnings == 1 { "1 warning".into() } else { format!("{warnings} warnings") }
}
