//! `guidebot export --user ID`: prints a user's case file. Only reads: the
//! engine runs on a copy of the saved state, which is not written back.

use std::process::ExitCode;

use anyhow::Result;

use super::{Args, load_dialogues};
use crate::adapters::terminal::sanitize::markdown_document;
use crate::app::ids::UserId;
use crate::app::{App, Clock, SystemClock, ctx_at, user_zone};
use crate::domain::engine::{Command, Event, step};

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The user's id: telegram:ID (or a bare Telegram user id), or the id
    /// used with `chat --user` (terminal:0 for the local user).
    #[arg(long)]
    pub user: UserId,
}

pub fn run(args: &Args, a: &ExportArgs) -> Result<ExitCode> {
    let lib = load_dialogues(&args.dialogues)?;
    let app = App::new(lib, super::open_store(args)?.shared());
    let state = app.state(a.user)?;
    let Some(guide) = &state.guide else {
        eprintln!("user {} has no saved progress in {}", a.user, args.data.display());
        return Ok(ExitCode::from(1));
    };
    let library = app.library();
    if library.pick(guide, state.lang.as_deref()).is_none() {
        eprintln!(
            "user {}'s guide `{}` is not in {} (--dialogues); pass the folder that holds it",
            a.user,
            crate::adapters::terminal::sanitize::clean(guide),
            args.dialogues.display()
        );
        return Ok(ExitCode::from(1));
    }
    let ctx = ctx_at(SystemClock.now(), &app.zone_of(&state, &user_zone()), None, None);
    // The pure engine on the loaded state; what it would change (a pending note, say) is dropped.
    let (_, out) = step(&library, &state, &Event::Command(Command::Export), &ctx);
    match out.document {
        Some(d) => {
            print!("{}", markdown_document(&d.content));
            Ok(ExitCode::SUCCESS)
        }
        None => {
            eprintln!("user {} has no case file yet", a.user);
            Ok(ExitCode::from(1))
        }
    }
}
