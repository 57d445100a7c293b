//! `guidebot chat`: the guide in the terminal, same engine and storage as the bot.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;

use super::{Args, load_dialogues};
use crate::adapters::store::SledStore;
use crate::adapters::terminal::Chat;
use crate::app::{App, SystemClock, user_zone};

#[derive(Debug, clap::Args)]
pub struct ChatArgs {
    /// Whose progress to use (0 is the local user; a Telegram user id resumes that user).
    #[arg(long, default_value_t = 0)]
    pub user: i64,
    /// Guide to open, by id.
    #[arg(long)]
    pub guide: Option<String>,
    /// Language of the guide (for example zh or en).
    #[arg(long)]
    pub lang: Option<String>,
}

pub fn run(args: &Args, a: &ChatArgs) -> Result<ExitCode> {
    let lib = load_dialogues(&args.dialogues)?;
    let store = SledStore::open(&args.data)?;
    let app = App::new(lib, Arc::new(store));
    let chat = Chat {
        app: &app,
        clock: &SystemClock,
        zone: user_zone(),
        user: a.user,
        guide: a.guide.clone(),
        lang: a.lang.clone(),
        styled: std::io::stdout().is_terminal(),
    };
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    chat.run(stdin.lock(), &mut stdout)?;
    Ok(ExitCode::SUCCESS)
}
