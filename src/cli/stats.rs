//! `guidebot stats`: users per guide, stages reached, and where users stop.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;

use super::{Args, load_dialogues};
use crate::app::App;

pub fn run(args: &Args) -> Result<ExitCode> {
    let lib = load_dialogues(&args.dialogues)?;
    let app = App::new(lib, Arc::new(super::open_store(args)?));
    print!("{}", app.stats_report()?);
    Ok(ExitCode::SUCCESS)
}
