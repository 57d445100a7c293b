//! `guidebot stats`: users per guide, stages reached, and where users stop.

use anyhow::Result;
use std::process::ExitCode;

use super::{Args, load_dialogues};
use crate::app::App;

pub fn run(args: &Args) -> Result<ExitCode> {
    let lib = load_dialogues(&args.dialogues)?;
    let app = App::new(lib, super::open_store(args)?.shared());
    print!("{}", app.stats_report()?);
    Ok(ExitCode::SUCCESS)
}
