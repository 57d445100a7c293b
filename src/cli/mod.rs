//! The command line: `guidebot <subcommand>`. One file per subcommand; this
//! one holds the shared flags and the helpers that read dialogue files.

mod backup;
mod bot;
mod chat;
mod check;
mod export;
mod graph;
mod schema;
mod stats;
mod test;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use crate::domain::dialogue::{Diagnostic, Library, load_library};

/// guidebot: a step-by-step guide as a conversation, in Telegram or the terminal.
#[derive(Debug, Parser)]
#[command(name = "guidebot", version, about)]
pub struct Args {
    /// Folder of dialogue files (`*.yaml`).
    #[arg(long, global = true, env = "GUIDEBOT_DIALOGUES", default_value = "dialogues")]
    pub dialogues: PathBuf,
    /// Folder where progress and notes are kept (created with mode 0700).
    #[arg(long, global = true, env = "GUIDEBOT_DATA", default_value = "data")]
    pub data: PathBuf,
    /// Free space (MB) to keep on the data directory's filesystem: below it nothing
    /// new is saved, and the store is not opened, so what is saved stays safe.
    #[arg(long, global = true, env = "GUIDEBOT_MIN_FREE_MB", default_value_t = 64)]
    pub min_free_mb: u64,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Run the Telegram bot (long polling; token in TELOXIDE_TOKEN).
    Bot(bot::BotArgs),
    /// Walk through a guide in the terminal (no Telegram token needed).
    Chat(chat::ChatArgs),
    /// Check dialogue files and report every problem as file:line:col.
    Check(check::CheckArgs),
    /// Run scenario files against the dialogues.
    Test(test::TestArgs),
    /// Print a user's case file (Markdown).
    Export(export::ExportArgs),
    /// Draw a dialogue's flow (SVG, Mermaid or DOT).
    Graph(graph::GraphArgs),
    /// Print the JSON Schema of dialogue files (for editors).
    Schema,
    /// Users per guide, stages reached, and where users stop.
    Stats,
    /// Copy the data directory (database and keys) to DEST, also while the bot runs.
    Backup(backup::BackupArgs),
    /// Copy a backup into a new or empty data directory (--data).
    Restore(backup::RestoreArgs),
}

/// Parses the command line and runs it.
pub fn run() -> Result<ExitCode> {
    let args = Args::parse();
    match &args.command {
        Cmd::Bot(a) => bot::run(&args, a),
        Cmd::Chat(a) => chat::run(&args, a),
        Cmd::Check(a) => check::run(&args, a),
        Cmd::Test(a) => test::run(&args, a),
        Cmd::Export(a) => export::run(&args, a),
        Cmd::Graph(a) => graph::run(a),
        Cmd::Schema => schema::run(),
        Cmd::Stats => stats::run(&args),
        Cmd::Backup(a) => backup::run_backup(&args, a),
        Cmd::Restore(a) => backup::run_restore(&args, a),
    }
}

/// Opens the store in `--data` with the free-space reserve of `--min-free-mb`.
pub fn open_store(args: &Args) -> Result<crate::adapters::store::SledStore> {
    let options = crate::adapters::store::StoreOptions {
        min_free_bytes: args.min_free_mb.saturating_mul(1024 * 1024),
        ..Default::default()
    };
    crate::adapters::store::SledStore::open_with(&args.data, options)
        .with_context(|| format!("opening the data directory {}", args.data.display()))
}

/// Every `*.yaml` file named, or directly inside a named folder (sorted), with its text.
pub fn read_yaml(paths: &[PathBuf]) -> Result<Vec<(PathBuf, String)>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("reading folder {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file() && f.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            found.sort();
            files.extend(found);
        } else if p.exists() {
            files.push(p.clone());
        } else {
            anyhow::bail!("{} does not exist", p.display());
        }
    }
    files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?;
            Ok((f, text))
        })
        .collect()
}

/// Loads and checks the dialogues folder; problems become one error listing them all.
pub fn load_dialogues(dir: &Path) -> Result<Library> {
    let files = read_yaml(&[dir.to_path_buf()])?;
    if files.is_empty() {
        anyhow::bail!("no dialogue files (*.yaml) in {}; pass --dialogues DIR", dir.display());
    }
    load_library(&files).map_err(|d| anyhow::anyhow!("{}", report(&d)))
}

/// Diagnostics, one per line, and a count.
pub fn report(diags: &[Diagnostic]) -> String {
    let mut s: String = diags.iter().map(|d| format!("{d}\n")).collect();
    s.push_str(&format!(
        "{} problem{} found; fix them and run `guidebot check` again",
        diags.len(),
        if diags.len() == 1 { "" } else { "s" }
    ));
    s
}
