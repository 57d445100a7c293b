//! `guidebot export --user ID`: prints a user's case file.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;

use super::{Args, load_dialogues};
use crate::app::{App, Clock, SystemClock, ctx_at, user_zone};
use crate::domain::engine::{Command, Event};

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The user's id (a Telegram user id, or the id used with `chat --user`).
    #[arg(long)]
    pub user: i64,
}

pub fn run(args: &Args, a: &ExportArgs) -> Result<ExitCode> {
    let lib = load_dialogues(&args.dialogues)?;
    let store = super::open_store(args)?;
    let app = App::new(lib, Arc::new(store));
    let state = app.state(a.user)?;
    if state.guide.is_none() {
        eprintln!("user {} has no saved progress in {}", a.user, args.data.display());
        return Ok(ExitCode::from(1));
    }
    let ctx = ctx_at(SystemClock.now(), &user_zone(), None, None);
    let out = app.handle(a.user, &Event::Command(Command::Export), &ctx)?;
    match out.document {
        Some(d) => {
            print!("{}", d.content);
            Ok(ExitCode::SUCCESS)
        }
        None => {
            eprintln!("user {} has no case file yet", a.user);
            Ok(ExitCode::from(1))
        }
    }
}
