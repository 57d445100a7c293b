//! `guidebot backup DEST` and `guidebot restore SRC`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::{Args, OpenStore, open_store};
use crate::adapters::store::{Location, StoreError, request_backup, restore};

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// Where to write the copy: a new or empty directory. It holds the keys: keep it private.
    pub dest: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// A directory written by `guidebot backup`.
    pub src: PathBuf,
}

/// Backups and restores copy a sled data folder; PostgreSQL has its own tools.
fn sled_only(args: &Args, what: &str) -> Result<()> {
    match &args.store {
        Location::Sled(_) => Ok(()),
        Location::Postgres(_) => Err(not_sled(args, what)),
    }
}

fn not_sled(args: &Args, what: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "guidebot {what} works on a sled data folder; a PostgreSQL store ({}) is backed up and restored \
         with PostgreSQL's own tools (pg_dump, pg_restore)",
        args.store
    )
}

pub fn run_backup(args: &Args, a: &BackupArgs) -> Result<ExitCode> {
    sled_only(args, "backup")?;
    match open_store(args) {
        Ok(OpenStore::Sled(store)) => {
            store.backup(&a.dest).with_context(|| format!("backing up into {}", a.dest.display()))?
        }
        Ok(OpenStore::Postgres(_)) => return Err(not_sled(args, "backup")),
        Err(err) if matches!(err.downcast_ref::<StoreError>(), Some(StoreError::InUse { .. })) => {
            // A bot or chat has it open: it makes the copy, pausing its writes meanwhile.
            request_backup(&args.data, &a.dest).map_err(anyhow::Error::msg).context("backing up the running bot")?;
        }
        Err(err) => return Err(err),
    }
    println!("backed up {} into {}", args.data.display(), a.dest.display());
    Ok(ExitCode::SUCCESS)
}

pub fn run_restore(args: &Args, a: &RestoreArgs) -> Result<ExitCode> {
    sled_only(args, "restore")?;
    restore(&a.src, &args.data)
        .with_context(|| format!("restoring {} into {}", a.src.display(), args.data.display()))?;
    println!("restored {} into {}", a.src.display(), args.data.display());
    Ok(ExitCode::SUCCESS)
}
