//! `guidebot bot`: the guides on Telegram, by long polling. The token comes
//! from TELOXIDE_TOKEN (never printed), the API address from
//! TELOXIDE_API_URL when set. Ctrl-C or SIGTERM stops it cleanly (exit 0).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};

use super::{Args, load_dialogues};
use crate::adapters::telegram::{Limits, Settings, bot_at, run_bot};
use crate::app::{App, SystemClock};

/// What to say when there is no token; exit code 2 follows.
const NO_TOKEN: &str = "\
guidebot bot needs a Telegram bot token in the TELOXIDE_TOKEN environment variable.

To get one:
  1. In Telegram, open a chat with @BotFather and send /newbot.
  2. Choose a display name, then a username ending in `bot`.
  3. BotFather answers with the token (it looks like 123456789:AAE...).
Then run:
  TELOXIDE_TOKEN='<the token>' guidebot bot --dialogues dialogues --data data

To try the guides without Telegram, run `guidebot chat`.";

#[derive(Debug, clap::Args)]
pub struct BotArgs {
    /// Messages per second over all chats; 0 switches overall pacing off. Telegram's
    /// free limit is about 30; with paid broadcasts raise it to what your plan allows.
    #[arg(long, env = "GUIDEBOT_MAX_PER_SECOND", default_value_t = 30)]
    pub max_per_second: u32,
    /// Messages per second in one chat (after a short burst); 0 switches it off
    /// (a local Bot API server, tests). Telegram's limit is 1.
    #[arg(long, env = "GUIDEBOT_PER_CHAT_PER_SECOND", default_value_t = 1)]
    pub per_chat_per_second: u32,
}

pub fn run(args: &Args, a: &BotArgs) -> Result<ExitCode> {
    let Some(token) = std::env::var("TELOXIDE_TOKEN").ok().filter(|t| !t.trim().is_empty()) else {
        eprintln!("{NO_TOKEN}");
        return Ok(ExitCode::from(2));
    };
    let api_url = std::env::var("TELOXIDE_API_URL").ok();
    let bot = bot_at(token.trim(), api_url.as_deref())?;
    let library = load_dialogues(&args.dialogues)?;
    let store = Arc::new(super::open_store(args)?);
    if let Err(err) = store.serve_backups() {
        tracing::warn!(error = %err, "`guidebot backup` cannot reach this process; stop it to back up");
    }
    let app = Arc::new(App::new(library, store));
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
    let limits = Limits {
        per_chat_per_second: a.per_chat_per_second,
        overall_per_second: a.max_per_second,
        ..Limits::default()
    };
    let settings = Settings { dialogues: Some(args.dialogues.clone()), limits, ..Settings::default() };
    runtime.block_on(run_bot(app, bot, Arc::new(SystemClock), settings, stop_signal()))?;
    Ok(ExitCode::SUCCESS)
}

/// Completes on Ctrl-C or SIGTERM (the signal systemd and Docker send).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
                return;
            }
            Err(err) => tracing::warn!(error = %err, "cannot listen for SIGTERM; Ctrl-C still stops the bot"),
        }
    }
    if let Err(err) = tokio::signal::ctrl_c().await {
        tracing::error!(error = %err, "cannot listen for Ctrl-C");
        std::future::pending::<()>().await;
    }
}
