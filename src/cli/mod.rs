//! The command line: `guidebot <subcommand>`. One file per subcommand; this
//! one holds the shared flags and the helpers that read dialogue files.

mod backup;
mod bot;
mod chat;
mod check;
mod export;
mod graph;
mod migrate;
mod ops;
mod schema;
mod stats;
mod store;
mod test;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
pub use store::{OpenStore, open_store};

use crate::adapters::store::Location;
use crate::domain::dialogue::load::{MAX_FILE_BYTES, too_big};
pub use crate::domain::dialogue::report::{report, report_with_warnings, summary};
use crate::domain::dialogue::{Library, load_library};

/// guidebot: a step-by-step guide as a conversation, in Telegram or the terminal.
#[derive(Debug, Parser)]
#[command(name = "guidebot", version, about)]
pub struct Cli {
    // Still accepted before the subcommand (`guidebot --data DIR bot`), as older
    // scripts write it, but shown only on the subcommands that use them.
    #[arg(long, hide = true, global = false)]
    dialogues: Option<PathBuf>,
    #[arg(long, hide = true, global = false)]
    data: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Cmd,
}

/// `--dialogues`, for the subcommands that only read dialogue files.
#[derive(Debug, Clone, clap::Args)]
pub struct DialoguesArg {
    /// Folder of dialogue files (*.yaml) [env: GUIDEBOT_DIALOGUES] [default: dialogues]
    #[arg(long, value_name = "DIR")]
    pub dialogues: Option<PathBuf>,
}

/// `--dialogues` and `--data` (or `--store`), for the subcommands that run guides for users.
#[derive(Debug, Clone, clap::Args)]
pub struct DirArgs {
    #[command(flatten)]
    pub dialogues: DialoguesArg,
    /// Folder where progress and notes are kept, created with mode 0700 [env: GUIDEBOT_DATA] [default: data]
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Where progress and notes are kept, instead of --data: sled:DIR (a data folder, the
    /// default) or postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE [env: GUIDEBOT_STORE]
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Free space (MB) to keep on the data folder's filesystem: below it nothing new is
    /// saved, and the store is not opened, so what is saved stays safe.
    #[arg(long, value_name = "MB", env = "GUIDEBOT_MIN_FREE_MB", default_value_t = 64)]
    pub min_free_mb: u64,
}

/// The folders a subcommand works with, resolved: the flag, else the environment, else the default.
#[derive(Debug, Clone)]
pub struct Args {
    pub dialogues: PathBuf,
    /// The sled data folder; for PostgreSQL, the store's URL without its password (for messages).
    pub data: PathBuf,
    /// The store: `--store`, else `--data` as `sled:DIR`.
    pub store: Location,
    /// The free-space reserve, in MB.
    pub min_free_mb: u64,
}

/// Environment variables of `guidebot bot`, shown under its `--help`.
const BOT_ENV: &str = "\
Environment:
  TELOXIDE_TOKEN      the bot's token from @BotFather (required; never printed or logged)
  TELOXIDE_API_URL    another Bot API server, for example a local one
  GUIDEBOT_ADMINS     comma-separated Telegram user ids (123 or telegram:123) allowed to use /stats and /reload
  GUIDEBOT_TZ         the users' time zone where a guide sets none (default Asia/Shanghai)
  GUIDEBOT_DIALOGUES  the dialogues folder, when --dialogues is not given
  GUIDEBOT_DATA       the data folder, when --data is not given
  GUIDEBOT_STORE      the store (sled:DIR or postgres://...), when neither --store nor --data is given
  GUIDEBOT_WEBHOOK_URL, GUIDEBOT_LISTEN, GUIDEBOT_WEBHOOK_SECRET, GUIDEBOT_METRICS_LISTEN
                      the flags of the same names
  RUST_LOG            what to log on standard error, e.g. guidebot=info (default: warn)";

/// `guidebot bot`: the folders, then the bot's own flags.
#[derive(Debug, clap::Args)]
pub struct BotCmd {
    #[command(flatten)]
    pub bot: bot::BotArgs,
    #[command(flatten)]
    pub dirs: DirArgs,
}

/// `guidebot backup`: where to, and the data folder.
#[derive(Debug, clap::Args)]
pub struct BackupCmd {
    #[command(flatten)]
    pub backup: backup::BackupArgs,
    #[command(flatten)]
    pub dirs: DirArgs,
}

/// `guidebot restore`: from where, and the (new or empty) data folder.
#[derive(Debug, clap::Args)]
pub struct RestoreCmd {
    #[command(flatten)]
    pub restore: backup::RestoreArgs,
    #[command(flatten)]
    pub dirs: DirArgs,
}

/// `guidebot chat`: the folders, then the chat's own flags.
#[derive(Debug, clap::Args)]
pub struct ChatCmd {
    #[command(flatten)]
    pub chat: chat::ChatArgs,
    #[command(flatten)]
    pub dirs: DirArgs,
}

/// `guidebot export`: the folders, then the user.
#[derive(Debug, clap::Args)]
pub struct ExportCmd {
    #[command(flatten)]
    pub export: export::ExportArgs,
    #[command(flatten)]
    pub dirs: DirArgs,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Run the Telegram bot (long polling, or a webhook; token in TELOXIDE_TOKEN).
    #[command(after_help = BOT_ENV)]
    Bot(BotCmd),
    /// Walk through a guide in the terminal (no Telegram token needed).
    Chat(ChatCmd),
    /// Check dialogue files and report every problem as file:line:col.
    Check(check::CheckArgs),
    /// Run scenario files against the dialogues.
    Test(test::TestArgs),
    /// Print a user's case file (Markdown).
    Export(ExportCmd),
    /// Draw a dialogue's flow (SVG, Mermaid or DOT).
    Graph(graph::GraphArgs),
    /// Print the JSON Schema of dialogue files (for editors).
    Schema,
    /// Users per guide, stages reached, and where users stop.
    Stats(DirArgs),
    /// Copy the data directory (database and keys) to DEST, also while the bot runs.
    Backup(BackupCmd),
    /// Copy a backup into a new or empty data folder.
    Restore(RestoreCmd),
    /// Copy every user, note, reminder and unsent message from one store into a new one
    /// (sled to PostgreSQL or back).
    Migrate(migrate::MigrateArgs),
}

impl Cli {
    /// The dialogues folder: `--dialogues` after the subcommand, else before it, else
    /// GUIDEBOT_DIALOGUES, else `dialogues`.
    fn dialogues(&self, arg: &DialoguesArg) -> PathBuf {
        arg.dialogues
            .clone()
            .or_else(|| self.dialogues.clone())
            .or_else(|| std::env::var_os("GUIDEBOT_DIALOGUES").filter(|v| !v.is_empty()).map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("dialogues"))
    }

    /// The dialogues folder and the store (`--store`, `--data`, GUIDEBOT_STORE, GUIDEBOT_DATA, `data`).
    fn dirs(&self, arg: &DirArgs) -> Result<Args> {
        let store = store::location(arg.store.as_deref(), arg.data.as_deref().or(self.data.as_deref()))?;
        let data = match &store {
            Location::Sled(dir) => dir.clone(),
            Location::Postgres(_) => PathBuf::from(store.to_string()),
        };
        Ok(Args { dialogues: self.dialogues(&arg.dialogues), data, store, min_free_mb: arg.min_free_mb })
    }
}

/// Parses the command line and runs it.
pub fn run() -> Result<ExitCode> {
    let cli = Cli::parse();
    match &cli.command {
        Cmd::Bot(a) => bot::run(&cli.dirs(&a.dirs)?, &a.bot),
        Cmd::Chat(a) => chat::run(&cli.dirs(&a.dirs)?, &a.chat),
        Cmd::Check(a) => check::run(&cli.dialogues(&a.dialogues), a),
        Cmd::Test(a) => test::run(&cli.dialogues(&a.dialogues), a),
        Cmd::Export(a) => export::run(&cli.dirs(&a.dirs)?, &a.export),
        Cmd::Graph(a) => graph::run(a),
        Cmd::Schema => schema::run(),
        Cmd::Stats(a) => stats::run(&cli.dirs(a)?),
        Cmd::Backup(a) => backup::run_backup(&cli.dirs(&a.dirs)?, &a.backup),
        Cmd::Restore(a) => backup::run_restore(&cli.dirs(&a.dirs)?, &a.restore),
        Cmd::Migrate(a) => migrate::run(a),
    }
}

/// What to say when the dialogues folder is missing: where it was looked for and how to point at it.
pub fn missing_dialogues(dir: &Path) -> String {
    let cwd = std::env::current_dir().map(|d| format!(" (looked in {})", d.display())).unwrap_or_default();
    format!(
        "there is no dialogues folder `{}`{cwd}; run guidebot in the folder that holds `dialogues/`, or point at it with --dialogues DIR or GUIDEBOT_DIALOGUES=DIR",
        dir.display()
    )
}

/// Every `*.yaml` file named, or directly inside a named folder (sorted), with its text.
/// A file over [`MAX_FILE_BYTES`] is refused before it is read.
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
            let size = std::fs::metadata(&f).with_context(|| format!("reading {}", f.display()))?.len();
            if size > MAX_FILE_BYTES as u64 {
                anyhow::bail!("{}: {}", f.display(), too_big(size));
            }
            let text = std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?;
            Ok((f, text))
        })
        .collect()
}

/// Loads and checks the dialogues folder; problems become one error listing them all.
pub fn load_dialogues(dir: &Path) -> Result<Library> {
    if !dir.exists() {
        anyhow::bail!("{}", missing_dialogues(dir));
    }
    let files = read_yaml(&[dir.to_path_buf()])?;
    if files.is_empty() {
        anyhow::bail!("no dialogue files (*.yaml) in {}; pass --dialogues DIR", dir.display());
    }
    load_library(&files).map_err(|d| anyhow::anyhow!("{}", report(&d)))
}
