//! `guidebot chat`: the guide in the terminal, same engine and storage as the bot.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};

use super::{Args, load_dialogues, report};
use crate::adapters::reload::{Watch, watch};
use crate::adapters::terminal::{Chat, View, Width};
use crate::app::{App, Clock, SystemClock, ctx_at, user_zone};
use crate::domain::engine::Event;

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
    /// Reload the dialogues whenever a file is saved, keeping your place.
    #[arg(long)]
    pub watch: bool,
    /// Wrap lines at this many columns (0: do not wrap). Default: the terminal's width, or 80.
    #[arg(long)]
    pub width: Option<usize>,
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
    let store = Arc::new(super::open_store(args)?);
    if let Err(err) = store.serve_backups() {
        tracing::warn!(error = %err, "`guidebot backup` cannot reach this process");
    }
    let app = Arc::new(App::new(lib, store));
    let stdout = std::io::stdout();
    let styled = stdout.is_terminal();
    let width = match a.width {
        Some(n) => Width::Columns(n),
        None if styled => Width::Terminal,
        None => Width::Columns(80),
    };
    let _watch =
        if a.watch { Some(watch_dialogues(&app, args, a, View { styled, width: None }, width)?) } else { None };
    let stdin = std::io::stdin();
    let chat = Chat {
        app: &app,
        clock: &SystemClock,
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
fn watch_dialogues(app: &Arc<App>, args: &Args, a: &ChatArgs, view: View, width: Width) -> Result<Watch> {
    let app = Arc::clone(app);
    let (user, lang) = (a.user, a.lang.clone());
    let w = watch(&args.dialogues, move |result| match result {
        Ok(lib) => {
            app.replace_library(lib);
            eprintln!("↻ dialogues reloaded");
            let ctx = ctx_at(SystemClock.now(), &user_zone(), None, lang.clone());
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
