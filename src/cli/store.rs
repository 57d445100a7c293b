//! Which store a command opens: `--store URL` (or GUIDEBOT_STORE), else the
//! sled data folder of `--data` (or GUIDEBOT_DATA, else `data`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};

use super::Args;
use crate::adapters::store::{Location, PostgresStore, SledStore, Store, StoreError, StoreOptions, Transfer};

/// The store named by the flags: `--store` and `--data` exclude each other;
/// without either, GUIDEBOT_STORE, else GUIDEBOT_DATA, else `sled:data`.
pub(super) fn location(store: Option<&str>, data: Option<&Path>) -> Result<Location> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    match (store, data) {
        (Some(_), Some(_)) => anyhow::bail!("pass either --store or --data, not both (--data DIR is --store sled:DIR)"),
        (Some(url), None) => Ok(Location::parse(url)?),
        (None, Some(dir)) => Ok(Location::Sled(dir.to_path_buf())),
        (None, None) => match env("GUIDEBOT_STORE") {
            Some(url) => Location::parse(&url).context("in GUIDEBOT_STORE"),
            None => Ok(Location::Sled(env("GUIDEBOT_DATA").map_or_else(|| PathBuf::from("data"), PathBuf::from))),
        },
    }
}

/// An open store, with what only its kind can do.
pub enum OpenStore {
    Sled(Arc<SledStore>),
    Postgres(Arc<PostgresStore>),
}

impl OpenStore {
    /// The store for the app.
    pub fn shared(&self) -> Arc<dyn Store> {
        match self {
            OpenStore::Sled(s) => Arc::clone(s) as Arc<dyn Store>,
            OpenStore::Postgres(s) => Arc::clone(s) as Arc<dyn Store>,
        }
    }

    /// The store for `guidebot migrate`.
    pub fn transfer(&self) -> &dyn Transfer {
        match self {
            OpenStore::Sled(s) => s.as_ref(),
            OpenStore::Postgres(s) => s.as_ref(),
        }
    }

    /// Lets `guidebot backup` reach this process (a sled folder; PostgreSQL
    /// is backed up with its own tools).
    pub fn serve_backups(&self) -> Result<(), StoreError> {
        match self {
            OpenStore::Sled(s) => s.serve_backups(),
            OpenStore::Postgres(_) => Ok(()),
        }
    }
}

/// Opens `location`; a sled folder keeps `min_free_mb` free on its filesystem.
pub fn open(location: &Location, min_free_mb: u64) -> Result<OpenStore> {
    match location {
        Location::Sled(dir) => {
            let options =
                StoreOptions { min_free_bytes: min_free_mb.saturating_mul(1024 * 1024), ..Default::default() };
            let store = SledStore::open_with(dir, options)
                .with_context(|| format!("opening the data directory {}", dir.display()))?;
            Ok(OpenStore::Sled(Arc::new(store)))
        }
        Location::Postgres(url) => {
            // Its errors name the store (without the password) and say what to check.
            let store = PostgresStore::open(url)?;
            Ok(OpenStore::Postgres(Arc::new(store)))
        }
    }
}

/// Opens the store of `--store` / `--data` with the free-space reserve of `--min-free-mb`.
pub fn open_store(args: &Args) -> Result<OpenStore> {
    open(&args.store, args.min_free_mb)
}
