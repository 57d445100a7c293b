//! `guidebot chat`: the guide in the terminal, same engine and storage as the bot.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};

use super::{Args, load_dialogues, report};
use crate::adapters::reload::{Watch, watch};
use crate::adapters::terminal::{Chat, View, Width};
use crate::app::ids::UserId;
use crate::app::{App, Clock, SystemClock, ctx_at, user_zone};
use crate::domain::engine::Event;

#[derive(Debug, clap::Args)]
pub struct ChatArgs {
    /// Whose progress to use: terminal:0 (or 0) is the local user; telegram:ID
    /// (or a bare Telegram user id) resumes that Telegram user.
    #[arg(long, default_value = "terminal:0")]
    pub user: UserId,
    /// Guide to open, by id.
    #[arg(long)]
    pub guide: Option<String>,
    /// Language of the guide (for example zh or en).
    #[arg(long)]
    pub lang: Option<String>,
    /// Reload the dialogues whenever a file is saved, keeping your place.
    #[arg(long)]
    pub watch: bool,
    /// Wrap lines at this many columns (0: do not wrap). Default: the terminal's width, or 80.
    #[arg(long)]
    pub width: Option<usize>,
    /// Pretend today is DATE (for example 2026-12-31), at the real time of day.
    #[arg(long, value_name = "DATE")]
    pub today: Option<jiff::civil::Date>,
}

/// The real clock moved to another day, keeping the time of day (`--today`).
struct MovedClock(jiff::SignedDuration);

impl Clock for MovedClock {
    fn now(&self) -> jiff::Timestamp {
        SystemClock.now().saturating_add(self.0).unwrap_or_else(|_| SystemClock.now())
    }
}

/// The clock `--today` asks for: the real one, or one moved to that day.
fn clock_for(today: Option<jiff::civil::Date>) -> Result<Arc<dyn Clock>> {
    let Some(day) = today else { return Ok(Arc::new(SystemClock)) };
    let now = SystemClock.now();
    let moved = now.to_zoned(user_zone()).with().date(day).build().context("--today is outside the calendar")?;
    Ok(Arc::new(MovedClock(moved.timestamp().duration_since(now))))
}

pub fn run(args: &Args, a: &ChatArgs) -> Result<ExitCode> {
    let lib = load_dialogues(&args.dialogues)?;
    if let Some(g) = &a.guide
        && !lib.guide_ids().contains(&g.as_str())
    {
        anyhow::bail!(
            "there is no guide `{g}` in {} (--dialogues); the guides there are: {}",
            args.dialogues.display(),
            lib.guide_ids().join(", ")
        );
    }
    let store = super::open_store(args)?;
    if let Err(err) = store.serve_backups() {
        tracing::warn!(error = %err, "`guidebot backup` cannot reach this process");
    }
    let app = Arc::new(App::new(lib, store.shared()));
    let stdout = std::io::stdout();
    let styled = stdout.is_terminal();
    let width = match a.width {
        Some(n) => Width::Columns(n),
        None if styled => Width::Terminal,
        None => Width::Columns(80),
    };
    let clock = clock_for(a.today)?;
    let _watch = if a.watch {
        Some(watch_dialogues(&app, args, a, View { styled, width: None }, width, Arc::clone(&clock))?)
    } else {
        None
    };
    let stdin = std::io::stdin();
    let chat = Chat {
        app: &app,
        clock: clock.as_ref(),
        zone: user_zone(),
        user: a.user,
        guide: a.guide.clone(),
        lang: a.lang.clone(),
        styled,
        width,
        prompt: stdin.is_terminal(),
        dialogues: args.dialogues.clone(),
        data: args.data.clone(),
    };
    // Not locked for the whole run: the watcher prints from its own thread.
    chat.run(stdin.lock(), &mut std::io::stdout(), &mut std::io::stderr())?;
    Ok(ExitCode::SUCCESS)
}

/// On every save: a good file replaces the guide and the current step is shown again;
/// a broken one is reported and the old guide stays.
fn watch_dialogues(
    app: &Arc<App>,
    args: &Args,
    a: &ChatArgs,
    view: View,
    width: Width,
    clock: Arc<dyn Clock>,
) -> Result<Watch> {
    let app = Arc::clone(app);
    let (user, lang) = (a.user, a.lang.clone());
    let w = watch(&args.dialogues, move |result| match result {
        Ok(lib) => {
            app.install(lib);
            eprintln!("↻ dialogues reloaded");
            let ctx = ctx_at(clock.now(), &user_zone(), None, lang.clone());
            match app.handle(user, &Event::Refresh, &ctx) {
                Ok(out) => print!("{}", View { width: width.columns(), ..view }.render(&out, None)),
                Err(e) => eprintln!("error: {e}"),
            }
        }
        Err(diags) => eprintln!("✗ not reloaded, the previous version stays:\n{}", report(&diags)),
    })
    .with_context(|| format!("watching {}", args.dialogues.display()))?;
    Ok(w)
}
