//! `guidebot bot`: the guides on Telegram, by long polling or a webhook
//! (`--webhook-url`, see `ops.rs`). The token comes
//! from TELOXIDE_TOKEN (never printed), the API address from
//! TELOXIDE_API_URL when set. Ctrl-C or SIGTERM stops it cleanly (exit 0).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};

use super::{Args, load_dialogues};
use crate::adapters::ops::{Metered, Metrics};
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
    /// Seconds between two looks for reminders that have come due (and, with
    /// a store shared by replicas, for messages a stopped replica left
    /// undelivered).
    #[arg(long, env = "GUIDEBOT_TICK_SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub tick_seconds: u64,
    #[command(flatten)]
    pub ops: super::ops::OpsArgs,
}

pub fn run(args: &Args, a: &BotArgs) -> Result<ExitCode> {
    let Some(token) = std::env::var("TELOXIDE_TOKEN").ok().filter(|t| !t.trim().is_empty()) else {
        eprintln!("{NO_TOKEN}");
        return Ok(ExitCode::from(2));
    };
    let api_url = std::env::var("TELOXIDE_API_URL").ok();
    let bot = bot_at(token.trim(), api_url.as_deref())?;
    let (webhook, metrics) = (a.ops.webhook()?, Metrics::new());
    let library = load_dialogues(&args.dialogues)?;
    let store = super::open_store(args)?;
    if let Err(err) = store.serve_backups() {
        tracing::warn!(error = %err, "`guidebot backup` cannot reach this process; stop it to back up");
    }
    let app = Arc::new(App::new(library, Metered::wrap(store.shared(), &metrics)));
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
    let limits = Limits {
        per_chat_per_second: a.per_chat_per_second,
        overall_per_second: a.max_per_second,
        ..Limits::default()
    };
    let settings = Settings {
        dialogues: Some(args.dialogues.clone()),
        limits,
        webhook,
        metrics: metrics.clone(),
        reminder_every: std::time::Duration::from_secs(a.tick_seconds),
        ..Settings::default()
    };
    let stop = {
        let _in_runtime = runtime.enter();
        stop_signal()
    };
    runtime.block_on(async {
        a.ops.serve_metrics(&app, &bot, &metrics).await?;
        run_bot(app, bot, Arc::new(SystemClock), settings, stop).await.map_err(anyhow::Error::from)
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Completes on Ctrl-C or SIGTERM (the signal systemd and Docker send). The
/// handlers are installed when it is called (inside the runtime), not when it
/// is first polled: a signal that comes while the bot is still starting
/// (connecting, resending what a crash left) is kept, and stops it cleanly
/// once it has started, instead of ending the process on the spot.
fn stop_signal() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
            (Ok(mut term), Ok(mut int)) => {
                return boxed(async move {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                });
            }
            (Err(err), _) | (_, Err(err)) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM or SIGINT; Ctrl-C may still stop the bot")
            }
        }
    }
    boxed(async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    })
}

/// Both ways of waiting as one type.
fn boxed(
    f: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    Box::pin(f)
}
