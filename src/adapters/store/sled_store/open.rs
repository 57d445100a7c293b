//! Opening a data directory: checks that its parts belong together, moves
//! older schemas to the current one, and drops what a crash left half-written.

use std::{
    io,
    path::Path,
    sync::{Arc, Mutex, RwLock, atomic::AtomicU64},
};

use super::{SEQ_BLOCK, SledStore, StoreOptions};
use crate::adapters::store::{
    StoreError, encoding,
    flusher::Flusher,
    migrate,
    slots::{Slots, create_private_dir},
    space::Space,
};

impl SledStore {
    /// Opens the store in `dir` with the default options.
    pub fn open(dir: &Path) -> Result<SledStore, StoreError> {
        SledStore::open_with(dir, StoreOptions::default())
    }

    /// Opens the store in `dir`, creating `dir` (mode 0700) and an empty
    /// store if there is nothing there yet.
    ///
    /// Refuses, changing nothing: a directory in use by another process
    /// ([`StoreError::InUse`]); a filesystem below the free-space reserve
    /// ([`StoreError::DiskFull`]); keys without their database
    /// ([`StoreError::DatabaseMissing`]); a database without its keys or with
    /// another directory's keys ([`StoreError::KeysMismatch`]); a newer
    /// schema ([`StoreError::SchemaTooNew`]). Schema 1 is migrated.
    pub fn open_with(dir: &Path, options: StoreOptions) -> Result<SledStore, StoreError> {
        create_private_dir(dir)?;
        let space = Space::new(dir, options.min_free_bytes);
        space.check(1)?;
        let db_dir = dir.join("db");
        let keys_dir = dir.join("keys");
        let keys_present = Slots::exists(&keys_dir) || migrate::has_v1_keys(&keys_dir);
        if keys_present && !db_dir.join("conf").exists() {
            return Err(StoreError::DatabaseMissing { dir: dir.to_path_buf() });
        }
        let config = sled::Config::new()
            .path(&db_dir)
            .cache_capacity(options.cache_bytes)
            // We flush explicitly before acknowledging each change; a timer
            // would only add fsyncs.
            .flush_every_ms(None);
        // sled lets go of its file lock when the last of its I/O threads lets
        // go of the database, which may be a moment after the previous store
        // of this process was dropped: a lock held that briefly is waited for.
        let started = std::time::Instant::now();
        let db = loop {
            match config.open().map_err(|source| open_error(dir, source)) {
                Err(StoreError::InUse { .. }) if started.elapsed() < IN_USE_GRACE => {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                other => break other?,
            }
        };
        let meta = db.open_tree("meta").map_err(StoreError::db("opening tree `meta`"))?;
        let version = match meta.get(encoding::SCHEMA_VERSION_KEY).map_err(StoreError::db("reading the schema"))? {
            Some(v) => Some(encoding::decode_schema_version(&v)?),
            None => None,
        };
        let slots = match version {
            None if keys_present => return Err(StoreError::DatabaseMissing { dir: dir.to_path_buf() }),
            None => {
                let slots = Slots::open(&keys_dir, true)?;
                meta.insert(encoding::DB_ID_KEY, &slots.db_id).map_err(StoreError::db("writing the id"))?;
                meta.insert(encoding::SCHEMA_VERSION_KEY, &encoding::SCHEMA_VERSION.to_be_bytes())
                    .map_err(StoreError::db("writing the schema version"))?;
                db.flush().map_err(|source| StoreError::Flush { source: source.into() })?;
                slots
            }
            Some(1) => {
                let slots = Slots::open(&keys_dir, true)?;
                migrate::v1_to_v2(&db, &slots, &keys_dir)?;
                migrate::v4_to_v5(&db, &slots)?;
                migrate::v5_to_v6(&db)?;
                slots
            }
            Some(found @ (2..=7)) => {
                if !Slots::exists(&keys_dir) {
                    return Err(StoreError::KeysMismatch { dir: dir.to_path_buf(), detail: "keys/ring is missing" });
                }
                let slots = Slots::open(&keys_dir, false)?;
                let stored = meta.get(encoding::DB_ID_KEY).map_err(StoreError::db("reading the id"))?;
                if stored.as_deref() != Some(&slots.db_id[..]) {
                    return Err(StoreError::KeysMismatch {
                        dir: dir.to_path_buf(),
                        detail: "they belong to different data directories",
                    });
                }
                if found < 4 {
                    // Schemas 3 and 4 only add ways of compressing values, which
                    // the schema before cannot read: nothing is rewritten, but
                    // an older guidebot must now refuse this directory rather
                    // than fail on each user.
                    meta.insert(encoding::SCHEMA_VERSION_KEY, &4u32.to_be_bytes())
                        .map_err(StoreError::db("writing the schema version"))?;
                    db.flush().map_err(|source| StoreError::Flush { source: source.into() })?;
                    tracing::info!(
                        from = found,
                        "data directory moved to storage schema 4 (records compressed with a dictionary)"
                    );
                }
                if found < 5 {
                    migrate::v4_to_v5(&db, &slots)?;
                }
                if found < 6 {
                    migrate::v5_to_v6(&db)?;
                }
                slots
            }
            Some(found) if found > encoding::SCHEMA_VERSION => {
                return Err(StoreError::SchemaTooNew {
                    dir: dir.to_path_buf(),
                    found,
                    supported: encoding::SCHEMA_VERSION,
                });
            }
            Some(found) => {
                return Err(StoreError::Corrupt { tree: "meta", detail: format!("unknown schema version {found}") });
            }
        };
        match crate::adapters::store::slots::tighten_tree(dir) {
            Ok(0) => {}
            Ok(n) => {
                tracing::warn!(dir = %dir.display(), files = n, "files in the data directory were readable by others; made them private")
            }
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "could not check the permissions of the data directory")
            }
        }

        let tree = |name: &'static str| db.open_tree(name).map_err(StoreError::db(format!("opening tree `{name}`")));
        let outbox = tree("outbox")?;
        let meta_u64 = |key: &[u8], name: &str| -> Result<Option<u64>, StoreError> {
            match meta.get(key).map_err(StoreError::db(format!("reading `{name}`")))? {
                Some(v) => encoding::decode_meta_u64(&v, name).map(Some),
                None => Ok(None),
            }
        };
        let after_outbox = match outbox.last().map_err(StoreError::db("reading the outbox"))? {
            Some((key, _)) => encoding::decode_outbox_key(&key)?.2 + 1,
            None => 0,
        };
        let next_seq = after_outbox.max(meta_u64(encoding::SEQ_FLOOR_KEY, "seq_floor")?.unwrap_or(0));
        // Schema 7: records carry a head. The first number schema 7 hands out
        // is written before the version, so that a record without a head
        // vouches only for the items written before it.
        let headed_from = match meta_u64(encoding::HEADED_FROM_KEY, "headed_from")? {
            Some(from) => from,
            None => {
                meta.insert(encoding::HEADED_FROM_KEY, &next_seq.to_be_bytes())
                    .map_err(StoreError::db("writing `headed_from`"))?;
                next_seq
            }
        };
        if version.is_some_and(|v| v < encoding::SCHEMA_VERSION) {
            meta.insert(encoding::SCHEMA_VERSION_KEY, &encoding::SCHEMA_VERSION.to_be_bytes())
                .map_err(StoreError::db("writing the schema version"))?;
            tracing::info!(
                from = version,
                "data directory moved to storage schema 7 (records carry their commit's head)"
            );
        }
        let seq_floor = next_seq + SEQ_BLOCK;
        // Not flushed here: these writes come before any item that uses a
        // number or any record with a head, and sled recovers a prefix of its
        // log, so whatever depends on them reaches the disk only after them.
        meta.insert(encoding::SEQ_FLOOR_KEY, &seq_floor.to_be_bytes())
            .map_err(StoreError::db("writing `seq_floor`"))?;
        let store = SledStore {
            dir: dir.to_path_buf(),
            records: tree("records")?,
            notes: tree("notes")?,
            outbox,
            updates: tree("updates")?,
            slots: Arc::new(slots),
            flusher: {
                let db = db.clone();
                Flusher::start(Box::new(move || db.flush()))?
            },
            db,
            space,
            pause: RwLock::new(()),
            meta,
            seq: AtomicU64::new(next_seq),
            seq_floor: AtomicU64::new(seq_floor),
            seq_floor_write: Mutex::new(()),
            headed_from,
            new_updates: AtomicU64::new(0),
            due: Arc::new(Mutex::new(None)),
        };
        // Items a crash left behind their record are dropped before any
        // new record could vouch for them.
        store.committed_outbox(true)?;
        Ok(store)
    }
}

/// How long opening waits for a lock that another store is letting go of.
const IN_USE_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

/// Maps sled's open error, recognising its lock failure.
///
/// sled 0.34 (`Config::try_lock`) turns fs2's `WouldBlock` into
/// `Error::Io(ErrorKind::Other, "could not acquire lock on ...")`, so the
/// message is the only reliable sign; `WouldBlock` is kept in case a build of
/// sled passes the io error through.
fn open_error(dir: &Path, source: sled::Error) -> StoreError {
    if let sled::Error::Io(e) = &source
        && (e.kind() == io::ErrorKind::WouldBlock || e.to_string().contains("could not acquire lock"))
    {
        return StoreError::InUse { dir: dir.to_path_buf() };
    }
    StoreError::Open { dir: dir.to_path_buf(), source: source.into() }
}
