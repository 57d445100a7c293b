//! [`SledStore`]: the [`Store`] on disk, over sled 0.34.
//!
//! Owns the sled database under `<dir>/db` and, through [`Slots`], the key
//! slots under `<dir>/keys`. Every sled call of the application lives in
//! this module and its siblings (sled 0.34 is unmaintained upstream, so it
//! stays behind this one module). The layout is documented in the parent.

use std::{
    collections::{BTreeSet, HashMap},
    io,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex, PoisonError, RwLock,
        atomic::{AtomicU64, Ordering},
    },
};

use sled::{Transactional, transaction::TransactionError};

use super::{
    Change, Durable, EventId, Queued, Store, StoreError, Stored, UserId, encoding,
    flusher::{After, Flusher},
    encoding::Head,
    migrate,
    slots::{BucketGuard, HANDLE_LEN, Handle, Kind, NEVER, Slot, SlotRef, Slots, create_private_dir, flag},
    space::{DEFAULT_MIN_FREE, Space},
};

/// How many event ids are remembered: those of a front end within this
/// many of its newest. Telegram numbers a bot's updates one after another
/// and keeps an update for at most 24 hours, far fewer than this.
pub(super) const UPDATES_KEPT: i64 = 100_000;
/// Prune old event ids once every this many new ids.
pub(super) const PRUNE_EVERY: u64 = 100;
/// How far ahead of use [`encoding::SEQ_FLOOR_KEY`] is raised.
const SEQ_BLOCK: u64 = 1 << 20;
/// Largest record accepted; a step that would write more is refused.
pub const MAX_RECORD: usize = 256 * 1024;

/// How a store is opened.
#[derive(Debug, Clone, Copy)]
pub struct StoreOptions {
    /// Free space the filesystem must keep; writes are refused below it.
    pub min_free_bytes: u64,
    /// sled's page cache.
    pub cache_bytes: u64,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions { min_free_bytes: DEFAULT_MIN_FREE, cache_bytes: 64 * 1024 * 1024 }
    }
}

/// The store on disk. Cheap to share: put it in an `Arc`.
pub struct SledStore {
    dir: PathBuf,
    pub(super) db: sled::Db,
    pub(super) records: sled::Tree,
    pub(super) notes: sled::Tree,
    pub(super) outbox: sled::Tree,
    pub(super) updates: sled::Tree,
    pub(super) slots: Arc<Slots>,
    flusher: Flusher,
    space: Space,
    /// Writers hold it shared; a backup holds it alone, so it copies a
    /// state no write is halfway through.
    pub(super) pause: RwLock<()>,
    meta: sled::Tree,
    /// The next outbox sequence number.
    seq: AtomicU64,
    /// [`encoding::SEQ_FLOOR_KEY`] as written; raised (under the mutex)
    /// before a number reaches it.
    seq_floor: AtomicU64,
    seq_floor_write: Mutex<()>,
    /// [`encoding::HEADED_FROM_KEY`].
    headed_from: u64,
    new_updates: AtomicU64,
    /// Users by next reminder time; built on the first [`Store::due`] call
    /// (not at open, so that opening stays as fast for a million users).
    due: Arc<Mutex<Option<DueIndex>>>,
}

#[derive(Default)]
struct DueIndex {
    by_time: BTreeSet<(i64, UserId)>,
    of_user: HashMap<UserId, i64>,
}

impl DueIndex {
    fn set(&mut self, user: UserId, at: i64) {
        if let Some(old) = self.of_user.remove(&user) {
            self.by_time.remove(&(old, user));
        }
        if at != NEVER {
            self.by_time.insert((at, user));
            self.of_user.insert(user, at);
        }
    }
}

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
        match super::slots::tighten_tree(dir) {
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
            tracing::info!(from = version, "data directory moved to storage schema 7 (records carry their commit's head)");
        }
        let seq_floor = next_seq + SEQ_BLOCK;
        meta.insert(encoding::SEQ_FLOOR_KEY, &seq_floor.to_be_bytes()).map_err(StoreError::db("writing `seq_floor`"))?;
        db.flush().map_err(|source| StoreError::Flush { source: source.into() })?;
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

    /// The data directory this store was opened on.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes the database and keys take on disk.
    pub fn disk_bytes(&self) -> io::Result<u64> {
        fn walk(p: &Path) -> io::Result<u64> {
            let mut total = 0;
            for entry in std::fs::read_dir(p)? {
                let entry = entry?;
                let meta = entry.metadata()?;
                total += if meta.is_dir() {
                    walk(&entry.path())?
                } else {
                    std::os::unix::fs::MetadataExt::blocks(&meta) * 512
                };
            }
            Ok(total)
        }
        walk(&self.dir)
    }

    /// Flushes and waits: the last writes are on disk when it returns.
    pub(super) fn flush_now(&self) -> Result<(), StoreError> {
        self.flusher.wait_durable()
    }

    /// The user's slot, finishing an erase that a crash interrupted; with
    /// `create`, a new slot when there is none.
    fn slot(
        &self,
        guard: &mut BucketGuard<'_>,
        user: UserId,
        create: bool,
    ) -> Result<Option<(SlotRef, Slot)>, StoreError> {
        if let Some((at, slot)) = guard.find(user).map(|(a, s)| (a, s.clone())) {
            if slot.flags & flag::ERASING == 0 {
                return Ok(Some((at, slot)));
            }
            self.remove_data(guard.number(), &slot.handle, None, &[])?;
            self.flusher.wait_durable()?;
            guard.put(at, None)?;
            self.set_due(user, NEVER);
        }
        if !create {
            return Ok(None);
        }
        guard.create(user, 0).map(Some)
    }

    /// Removes every value under `handle` (and inserts `insert` outbox
    /// entries and the event id) in one transaction; not yet flushed.
    fn remove_data(
        &self,
        bucket: u16,
        handle: &Handle,
        event: Option<EventId>,
        insert: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<(), StoreError> {
        let action = || "erasing a user's data".to_owned();
        let notes =
            self.notes.scan_prefix(handle).keys().collect::<Result<Vec<_>, _>>().map_err(StoreError::db(action()))?;
        let outbox = self.outbox_keys_of(bucket, handle)?;
        (&self.records, &self.notes, &self.outbox, &self.updates)
            .transaction(|(records, notes_t, outbox_t, updates)| {
                records.remove(&handle[..])?;
                for k in &notes {
                    notes_t.remove(k)?;
                }
                for k in &outbox {
                    outbox_t.remove(k)?;
                }
                for (k, v) in insert {
                    outbox_t.insert(k.as_slice(), v.as_slice())?;
                }
                if let Some(id) = event {
                    updates.insert(&encoding::update_key(id), &[] as &[u8])?;
                }
                Ok(())
            })
            .map_err(transaction_error(action()))
    }

    /// The outbox keys of the user with `handle` in `bucket`. The outbox is
    /// ordered by sequence number and holds only what is not delivered yet
    /// (a few items a user), so this reads it whole.
    fn outbox_keys_of(&self, bucket: u16, handle: &Handle) -> Result<Vec<sled::IVec>, StoreError> {
        let mut keys = Vec::new();
        for key in self.outbox.iter().keys() {
            let key = key.map_err(StoreError::db("reading the outbox"))?;
            let (of_bucket, of_handle, _) = encoding::decode_outbox_key(&key)?;
            if of_bucket == bucket && of_handle == *handle {
                keys.push(key);
            }
        }
        Ok(keys)
    }

    /// Hands out `n` consecutive outbox sequence numbers; the first is returned.
    /// The floor in `meta` is raised first when they reach it (a plain write
    /// ahead of the items that use the numbers, so never behind them on disk).
    fn take_seqs(&self, n: usize) -> Result<u64, StoreError> {
        let n = n as u64;
        let first = self.seq.fetch_add(n, Ordering::SeqCst);
        let end = first + n;
        if end > self.seq_floor.load(Ordering::SeqCst) {
            let _write = self.seq_floor_write.lock().unwrap_or_else(PoisonError::into_inner);
            if end > self.seq_floor.load(Ordering::SeqCst) {
                let floor = end + SEQ_BLOCK;
                self.meta
                    .insert(encoding::SEQ_FLOOR_KEY, &floor.to_be_bytes())
                    .map_err(StoreError::db("writing `seq_floor`"))?;
                self.seq_floor.store(floor, Ordering::SeqCst);
            }
        }
        Ok(first)
    }

    /// The user's stored record value opened: its head (one made up for a
    /// record written before heads existed) and the value, head included.
    fn open_record(&self, slot: &Slot, sealed: &[u8], user: UserId) -> Result<(Head, Vec<u8>, usize), StoreError> {
        match slot.key.open(&slot.handle, Kind::Headed, sealed, user) {
            Ok(plain) => Ok((encoding::decode_head(&plain)?, plain, encoding::HEAD_LEN)),
            Err(StoreError::Decrypt { .. }) => {
                let plain = slot.key.open(&slot.handle, Kind::Record, sealed, user)?;
                let head = Head { event: None, outbox_below: self.headed_from, notes: u32::MAX, has_record: true };
                Ok((head, plain, 0))
            }
            Err(e) => Err(e),
        }
    }

    /// The user's head and record as stored, if any.
    fn read_record(&self, slot: &Slot, user: UserId) -> Result<Option<(Head, Vec<u8>, usize)>, StoreError> {
        let sealed =
            self.records.get(slot.handle).map_err(StoreError::db(format!("loading the record of user {user}")))?;
        sealed.map(|sealed| self.open_record(slot, &sealed, user)).transpose()
    }

    /// Every outbox item a record vouches for (or a farewell's), oldest
    /// first. Items sealed with a key that is gone are removed; so are those
    /// no record vouches for when `at_open` (a step the process stopped in;
    /// later, they may be a step being written right now, and are only left out).
    fn committed_outbox(&self, at_open: bool) -> Result<Vec<Queued>, StoreError> {
        let mut out = Vec::new();
        let mut gone = Vec::new();
        let mut uncommitted = Vec::new();
        let mut below: HashMap<Handle, u64> = HashMap::new();
        for entry in self.outbox.iter() {
            let (key, value) = entry.map_err(StoreError::db("reading the outbox"))?;
            let (bucket, handle, seq) = encoding::decode_outbox_key(&key)?;
            let guard = self.slots.lock(bucket)?;
            let Some((_, slot)) = guard.find_handle(&handle) else {
                gone.push(key);
                continue;
            };
            let slot = slot.clone();
            drop(guard);
            if slot.flags & flag::FAREWELL == 0 {
                let limit = match below.get(&handle) {
                    Some(limit) => *limit,
                    None => {
                        let limit = self.read_record(&slot, slot.user)?.map_or(0, |(head, _, _)| head.outbox_below);
                        below.insert(handle, limit);
                        limit
                    }
                };
                if seq >= limit {
                    uncommitted.push(key);
                    continue;
                }
            }
            let item = slot.key.open(&handle, Kind::Outbox, &value, slot.user)?;
            out.push(Queued { user: slot.user, seq, item });
        }
        if !at_open {
            uncommitted.clear();
        }
        for key in gone.iter().chain(&uncommitted) {
            self.outbox.remove(key).map_err(StoreError::db("tidying the outbox"))?;
        }
        if !gone.is_empty() {
            // An erase or a farewell finished: unreadable, nothing to send.
            tracing::info!(count = gone.len(), "dropped outbox items whose key is gone");
        }
        if !uncommitted.is_empty() {
            tracing::info!(count = uncommitted.len(), "dropped outbox items of a step the process stopped in");
        }
        out.sort_by_key(|q| q.seq);
        Ok(out)
    }

    fn set_due(&self, user: UserId, at: i64) {
        if let Some(index) = self.due.lock().unwrap_or_else(PoisonError::into_inner).as_mut() {
            index.set(user, at);
        }
    }

    /// Counts a new event id; now and then drops the old ids of its front end.
    fn note_new_update(&self, event: EventId) -> Result<(), StoreError> {
        if self.new_updates.fetch_add(1, Ordering::Relaxed).is_multiple_of(PRUNE_EVERY) {
            self.prune_updates(event, UPDATES_KEPT)?;
        }
        Ok(())
    }

    /// Drops the ids of `newest`'s front end more than `keep` below it. Only
    /// the keys dropped are visited (the tree is never counted or scanned
    /// whole), so a prune costs what it removes.
    fn prune_updates(&self, newest: EventId, keep: i64) -> Result<(), StoreError> {
        let from = encoding::update_key(EventId::new(newest.front, i64::MIN));
        let below = encoding::update_key(EventId::new(newest.front, newest.id.saturating_sub(keep)));
        for key in self.updates.range(from..below).keys() {
            let key = key.map_err(StoreError::db("pruning update ids"))?;
            self.updates.remove(key).map_err(StoreError::db("pruning update ids"))?;
        }
        Ok(())
    }

    /// [`StoreError::AlreadyApplied`] when `event` was applied before.
    fn refuse_applied(&self, event: Option<EventId>) -> Result<(), StoreError> {
        match event {
            Some(id) if self.applied(id)? => Err(StoreError::AlreadyApplied { event: id }),
            _ => Ok(()),
        }
    }

    fn pause(&self) -> std::sync::RwLockReadGuard<'_, ()> {
        self.pause.read().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Store for SledStore {
    fn load(&self, user: UserId) -> Result<Option<Stored>, StoreError> {
        let mut guard = self.slots.lock_user(user)?;
        let Some((at, slot)) = self.slot(&mut guard, user, false)? else {
            return Ok(None);
        };
        let stored = self.read_record(&slot, user)?;
        let Some((head, mut record, from)) = stored.filter(|(head, _, _)| head.has_record) else {
            if slot.flags & flag::LIVE != 0 {
                return Err(StoreError::RecordMissing { user });
            }
            return Ok(None);
        };
        if slot.flags & flag::LIVE == 0 {
            // Saved, but the process stopped before marking it: mark now.
            let mut live = slot.clone();
            live.flags |= flag::LIVE;
            guard.put(at, Some(&live))?;
        }
        drop(guard);
        record.drain(..from);
        let mut notes = Vec::new();
        for entry in self.notes.scan_prefix(slot.handle) {
            let (key, value) = entry.map_err(StoreError::db(format!("loading the notes of user {user}")))?;
            if encoding::note_number(&key)? >= head.notes {
                break; // written by a step whose record never reached the disk
            }
            notes.push(slot.key.open(&slot.handle, Kind::Note, &value, user)?);
        }
        Ok(Some(Stored { record, notes, version: 0 }))
    }

    fn applied(&self, event: EventId) -> Result<bool, StoreError> {
        self.updates.contains_key(encoding::update_key(event)).map_err(StoreError::db("reading update ids"))
    }

    fn commit(&self, user: UserId, change: &Change<'_>) -> Result<Vec<u64>, StoreError> {
        let (seqs, durable) = self.commit_deferred(user, change)?;
        durable.wait()?;
        Ok(seqs)
    }

    fn defers_durability(&self) -> bool {
        true
    }

    fn commit_deferred(&self, user: UserId, change: &Change<'_>) -> Result<(Vec<u64>, Durable), StoreError> {
        if let Some(record) = change.record
            && record.len() > MAX_RECORD
        {
            return Err(StoreError::TooLarge { user, len: record.len(), limit: MAX_RECORD });
        }
        let _pause = self.pause();
        self.space.check(1)?;
        self.refuse_applied(change.event)?;
        let mut guard = self.slots.lock_user(user)?;
        let Some((at, mut slot)) = self.slot(&mut guard, user, true)? else {
            return Err(StoreError::Corrupt { tree: "keys", detail: "a new slot could not be made".to_owned() });
        };
        let next_due = change.next_due.unwrap_or(NEVER);
        if next_due < slot.next_due {
            // Earlier first: a crash after this write wakes the reminder
            // ticker for nothing, never misses a reminder.
            slot.next_due = next_due;
            guard.put(at, Some(&slot))?;
        }
        let bucket = guard.number();
        drop(guard);

        // The record as stored: its head names the event that wrote it (whose id
        // may not have reached `updates` before a crash), and a change without a
        // record keeps it under a new head.
        let stored = match (change.event, change.record) {
            (None, Some(_)) => None,
            _ => self.read_record(&slot, user)?,
        };
        if let (Some(event), Some((head, _, _))) = (change.event, &stored)
            && head.event == Some(encoding::update_key(event))
        {
            return Err(StoreError::AlreadyApplied { event });
        }
        let body: Option<&[u8]> = match (change.record, &stored) {
            (Some(record), _) => Some(record),
            (None, Some((head, plain, from))) if head.has_record => Some(&plain[*from..]),
            (None, _) => None,
        };
        let mut notes = Vec::with_capacity(change.notes.len());
        for (i, note) in change.notes.iter().enumerate() {
            let number = u32::try_from(change.notes_from + i).unwrap_or(u32::MAX);
            notes.push((encoding::note_key(&slot.handle, number), slot.key.seal(&slot.handle, Kind::Note, note)?));
        }
        let first = self.take_seqs(change.outbox.len())?;
        let seqs: Vec<u64> = (first..).take(change.outbox.len()).collect();
        let mut outbox = Vec::with_capacity(change.outbox.len());
        for (item, seq) in change.outbox.iter().zip(&seqs) {
            outbox.push((
                encoding::outbox_key(bucket, &slot.handle, *seq),
                slot.key.seal(&slot.handle, Kind::Outbox, item)?,
            ));
        }
        let head = Head {
            event: change.event.map(encoding::update_key),
            // Every number handed out so far: none of this user's is uncommitted
            // (those a crash left were dropped at open, those of a failed write
            // below are removed).
            outbox_below: self.seq.load(Ordering::SeqCst),
            notes: u32::try_from(change.notes_from + change.notes.len()).unwrap_or(u32::MAX),
            has_record: body.is_some(),
        };
        let sealed_record = slot.key.seal(&slot.handle, Kind::Headed, &encoding::encode_head(&head, body.unwrap_or(&[])))?;
        drop(stored);
        // One key after another, not a sled transaction: a transaction rolls
        // sled's log buffer twice (each roll a write and a `sync_file_range` on
        // sled's I/O threads) and holds sled's global write lock, which waits
        // for any flush in progress and holds every other reader and writer
        // behind it. The head makes the order safe (see `encoding::Head`).
        let action = || format!("saving the changes of user {user}");
        let written = (|| -> sled::Result<()> {
            for (k, v) in &notes {
                self.notes.insert(k.as_slice(), v.as_slice())?;
            }
            for (k, v) in &outbox {
                self.outbox.insert(k.as_slice(), v.as_slice())?;
            }
            self.records.insert(&slot.handle[..], sealed_record.as_slice())?;
            Ok(())
        })();
        if let Err(source) = written {
            // Items nobody will vouch for must not wait for a later record that would.
            for (k, _) in &outbox {
                if let Err(e) = self.outbox.remove(k.as_slice()) {
                    tracing::error!(error = %e, "could not take back an outbox item of a failed write");
                }
            }
            return Err(StoreError::db(action())(source));
        }
        if let Some(id) = change.event {
            self.updates
                .insert(&encoding::update_key(id), &[] as &[u8])
                .map_err(StoreError::db(format!("recording update {id}")))?;
        }
        if let Some(event) = change.event {
            self.note_new_update(event)?;
        }
        // Once durable, on the flusher thread and in the order of the writes,
        // so that an older commit's reminder time never overwrites a newer one's.
        let becomes_live = change.record.is_some() && slot.flags & flag::LIVE == 0;
        let slots = Arc::clone(&self.slots);
        let due = Arc::clone(&self.due);
        let after: After = Box::new(move || {
            if becomes_live || next_due != slot.next_due {
                let updated = slots.lock(bucket).and_then(|mut guard| {
                    match guard.find_handle(&slot.handle).map(|(a, s)| (a, s.clone())) {
                        Some((at, mut updated)) => {
                            updated.next_due = next_due;
                            if becomes_live {
                                updated.flags |= flag::LIVE;
                            }
                            guard.put(at, Some(&updated))
                        }
                        None => Ok(()),
                    }
                });
                if let Err(err) = updated {
                    // The slot keeps an earlier (or equal) reminder time: the
                    // ticker wakes for nothing, never misses one.
                    tracing::warn!(%user, error = %err, "could not update a key slot after a save");
                }
            }
            if let Some(index) = due.lock().unwrap_or_else(PoisonError::into_inner).as_mut() {
                index.set(user, next_due);
            }
        });
        Ok((seqs, Durable::after(self.flusher.ticket(Some(after)))))
    }

    fn erase(&self, user: UserId, event: Option<EventId>, farewell: &[Vec<u8>]) -> Result<Vec<u64>, StoreError> {
        let _pause = self.pause();
        self.space.check(2)?;
        self.refuse_applied(event)?;
        let mut guard = self.slots.lock_user(user)?;
        let bucket = guard.number();
        let existing = guard.find(user).map(|(a, s)| (a, s.clone()));
        // The farewell gets a slot of its own first, so that after a crash
        // it can still be opened and sent.
        let mut seqs = Vec::new();
        let mut insert = Vec::new();
        if !farewell.is_empty() {
            let (_, fw) = guard.create(user, flag::FAREWELL)?;
            for item in farewell {
                let seq = self.take_seqs(1)?;
                seqs.push(seq);
                insert.push((
                    encoding::outbox_key(bucket, &fw.handle, seq),
                    fw.key.seal(&fw.handle, Kind::Outbox, item)?,
                ));
            }
        }
        let Some((at, mut slot)) = existing else {
            // Nothing stored: record the event and queue the farewell.
            if event.is_some() || !insert.is_empty() {
                self.remove_data(bucket, &[0u8; HANDLE_LEN], event, &insert)?;
                self.flusher.wait_durable()?;
            }
            return Ok(seqs);
        };
        slot.flags |= flag::ERASING;
        guard.put(at, Some(&slot))?;
        self.remove_data(bucket, &slot.handle, event, &insert)?;
        self.flusher.wait_durable()?;
        // Only now that the removal is durable may the key go.
        guard.put(at, None)?;
        drop(guard);
        self.set_due(user, NEVER);
        tracing::info!(%user, "erased user");
        Ok(seqs)
    }

    fn users(&self) -> Result<Vec<UserId>, StoreError> {
        let mut users = Vec::new();
        for slot in self.slots.all()? {
            if slot.flags & (flag::FAREWELL | flag::ERASING) != 0 {
                continue;
            }
            // A live slot's record was saved once; only another one's is opened
            // to see whether it is a record or a head alone.
            let has_record = if slot.flags & flag::LIVE != 0 {
                self.records.contains_key(slot.handle).map_err(StoreError::db("listing users"))?
            } else {
                self.read_record(&slot, slot.user)?.is_some_and(|(head, _, _)| head.has_record)
            };
            if has_record {
                users.push(slot.user);
            }
        }
        Ok(users)
    }

    fn due(&self, now: i64) -> Result<Vec<UserId>, StoreError> {
        let mut index = self.due.lock().unwrap_or_else(PoisonError::into_inner);
        if index.is_none() {
            let mut built = DueIndex::default();
            for slot in self.slots.all()? {
                if slot.flags & (flag::FAREWELL | flag::ERASING) == 0 {
                    built.set(slot.user, slot.next_due);
                }
            }
            *index = Some(built);
        }
        let Some(index) = index.as_ref() else { return Ok(Vec::new()) };
        Ok(index.by_time.iter().take_while(|(at, _)| *at <= now).map(|(_, user)| *user).collect())
    }

    fn pending(&self) -> Result<Vec<Queued>, StoreError> {
        self.committed_outbox(false)
    }

    fn delivered(&self, user: UserId, seq: u64) -> Result<(), StoreError> {
        self.delivered_deferred(user, seq)?.wait()
    }

    fn delivered_deferred(&self, user: UserId, seq: u64) -> Result<Durable, StoreError> {
        let _pause = self.pause();
        self.space.check(2)?;
        let guard = self.slots.lock_user(user)?;
        let bucket = guard.number();
        let mine: Vec<(SlotRef, Slot)> =
            guard.slots().filter(|(_, s)| s.user == user).map(|(a, s)| (a, s.clone())).collect();
        for (at, slot) in mine {
            let key = encoding::outbox_key(bucket, &slot.handle, seq);
            if self.outbox.remove(&key).map_err(StoreError::db("marking a message sent"))?.is_none() {
                continue;
            }
            let farewell_done =
                slot.flags & flag::FAREWELL != 0 && self.outbox_keys_of(bucket, &slot.handle)?.is_empty();
            drop(guard);
            // Durable before the next message of the chat goes out: after a crash,
            // a message Telegram already has is not sent again. (A mark that waited
            // for somebody else's flush, up to 2 ms, let 14 messages in 206 kills of
            // the load test go out twice, against 1 with a flush of its own.)
            if farewell_done {
                self.flusher.wait_durable()?;
                self.slots.lock(bucket)?.put(at, None)?;
                return Ok(Durable::done());
            }
            return Ok(Durable::after(self.flusher.ticket(None)));
        }
        Ok(Durable::done())
    }

    fn first_delivery(&self, event: EventId) -> Result<bool, StoreError> {
        let _pause = self.pause();
        self.space.check(1)?;
        let swapped = self
            .updates
            .compare_and_swap(encoding::update_key(event), None::<&[u8]>, Some(&[] as &[u8]))
            .map_err(StoreError::db(format!("recording update {event}")))?;
        if swapped.is_err() {
            return Ok(false);
        }
        self.note_new_update(event)?;
        self.flusher.wait_durable()?;
        Ok(true)
    }
}

/// Maps sled's open error, recognising its lock failure.
///
/// sled 0.34 (`Config::try_lock`) turns fs2's `WouldBlock` into
/// `Error::Io(ErrorKind::Other, "could not acquire lock on ...")`, so the
/// message is the only reliable sign; `WouldBlock` is kept in case a build of
/// sled passes the io error through.
/// How long opening waits for a lock that another store is letting go of.
const IN_USE_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

fn open_error(dir: &Path, source: sled::Error) -> StoreError {
    if let sled::Error::Io(e) = &source
        && (e.kind() == io::ErrorKind::WouldBlock || e.to_string().contains("could not acquire lock"))
    {
        return StoreError::InUse { dir: dir.to_path_buf() };
    }
    StoreError::Open { dir: dir.to_path_buf(), source: source.into() }
}

pub(super) fn transaction_error(action: String) -> impl FnOnce(TransactionError<()>) -> StoreError {
    move |e| match e {
        TransactionError::Storage(source) => StoreError::Db { action, source: source.into() },
        // Our closures never abort.
        TransactionError::Abort(()) => StoreError::Db { action, source: "transaction aborted".into() },
    }
}

#[cfg(test)]
mod tests {
    use std::{fs, sync::Arc, thread};

    use super::super::tests::{self as shared, e, u};
    use super::*;

    fn open(dir: &Path) -> SledStore {
        SledStore::open_with(dir, StoreOptions { min_free_bytes: 0, ..StoreOptions::default() }).expect("open store")
    }

    fn save(store: &SledStore, user: UserId, record: &[u8]) {
        store.commit(user, &Change { record: Some(record), ..Change::default() }).expect("save");
    }

    shared::conformance_tests!(|| {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = open(tmp.path());
        Some(shared::Fresh { store: Box::new(store), keep: Box::new(tmp) })
    });

    /// Every file under `dir`, recursively.
    pub(crate) fn files_under(dir: &Path) -> Vec<PathBuf> {
        let mut files = Vec::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(d) = pending.pop() {
            for entry in fs::read_dir(&d).expect("read_dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    files.push(path);
                }
            }
        }
        files
    }

    fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
        files_under(dir)
            .into_iter()
            .filter(|f| {
                let bytes = fs::read(f).expect("read file");
                bytes.windows(needle.len()).any(|w| w == needle)
            })
            .collect()
    }

    #[test]
    fn nothing_of_a_user_reaches_the_disk_in_clear_and_erase_clears_their_slot() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let secret = b"SECRET-NOTE-4242";
        let user = u(0x1122_3344_5566_7788);
        {
            let store = open(tmp.path());
            let notes = [b"note SECRET-NOTE-4242".to_vec()];
            store
                .commit(
                    user,
                    &Change {
                        record: Some(b"{\"note\":\"SECRET-NOTE-4242\"}"),
                        notes: &notes,
                        outbox: &[b"reply SECRET-NOTE-4242".to_vec()],
                        next_due: Some(1_811_234_567),
                        event: Some(e(1)),
                        ..Change::default()
                    },
                )
                .expect("save");
            assert_eq!(files_containing(tmp.path(), secret), Vec::<PathBuf>::new());
            // The user id never goes into sled: only into the key slot.
            let id = user.id.to_be_bytes();
            let holding_id = files_containing(tmp.path(), &id);
            assert!(holding_id.iter().all(|f| f.extension().is_some_and(|e| e == "slots")), "{holding_id:?}");
            assert_eq!(holding_id.len(), 1);

            store.erase(user, Some(e(2)), &[]).expect("erase");
            assert_eq!(store.load(user).expect("load"), None);
            assert_eq!(store.pending().expect("pending"), vec![]);
            assert_eq!(files_containing(tmp.path(), &id), Vec::<PathBuf>::new(), "the slot was cleared");
        }
        assert_eq!(files_containing(tmp.path(), secret), Vec::<PathBuf>::new());
        let due = 1_811_234_567_i64.to_be_bytes();
        assert_eq!(files_containing(tmp.path(), &due[1..]), Vec::<PathBuf>::new(), "no reminder time left");
        let store = open(tmp.path());
        assert_eq!(store.load(user).expect("load"), None);
        assert!(store.applied(e(1)).expect("applied") && store.applied(e(2)).expect("applied"));
    }

    #[test]
    fn data_survives_a_reopen() {
        let tmp = tempfile::tempdir().expect("tempdir");
        {
            let store = open(tmp.path());
            save(&store, u(1), b"one");
            save(&store, u(-2), b"two");
            store
                .commit(u(1), &Change { next_due: Some(-3), outbox: &[b"hi".to_vec()], ..Change::default() })
                .expect("c");
            assert!(store.first_delivery(e(900)).expect("first"));
        }
        let store = open(tmp.path());
        assert_eq!(store.load(u(1)).expect("load").map(|s| s.record), Some(b"one".to_vec()));
        assert_eq!(store.load(u(-2)).expect("load").map(|s| s.record), Some(b"two".to_vec()));
        let mut users = store.users().expect("users");
        users.sort_unstable();
        assert_eq!(users, vec![u(-2), u(1)]);
        assert_eq!(store.due(0).expect("due"), vec![u(1)]);
        assert_eq!(store.pending().expect("pending").len(), 1);
        assert!(!store.first_delivery(e(900)).expect("seen before the reopen"));
        // New outbox items sort after the ones left from before.
        let seqs = store.commit(u(1), &Change { outbox: &[b"again".to_vec()], ..Change::default() }).expect("c");
        let pending = store.pending().expect("pending");
        assert_eq!(pending.last().map(|q| q.seq), Some(seqs[0]));
        assert_eq!(pending.last().map(|q| q.item.clone()), Some(b"again".to_vec()));
    }

    #[test]
    fn a_second_open_of_a_live_dir_is_refused_by_name() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("data");
        let first = open(&dir);
        let err = SledStore::open(&dir).err().expect("second open must fail");
        assert!(matches!(&err, StoreError::InUse { dir: d } if *d == dir), "{err:?}");
        let message = err.to_string();
        assert!(message.contains(&dir.display().to_string()), "{message}");
        assert!(message.contains("is `guidebot bot` already running?"), "{message}");
        drop(first);
        open(&dir);
    }

    #[test]
    fn open_makes_the_directory_tree_private_even_when_it_existed() {
        use std::os::unix::fs::PermissionsExt;

        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("a").join("b");
        let mode = |p: &Path| fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        {
            let store = open(&dir);
            save(&store, u(3), b"x");
            assert_eq!(store.dir(), dir);
        }
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).expect("chmod");
        for f in files_under(&dir) {
            fs::set_permissions(&f, fs::Permissions::from_mode(0o644)).expect("chmod");
        }
        drop(open(&dir));
        assert_eq!(mode(&dir), 0o700);
        for f in files_under(&dir) {
            assert_eq!(mode(&f), 0o600, "{}", f.display());
        }
    }

    #[test]
    fn schema_version_is_written_and_a_newer_one_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        drop(open(tmp.path()));
        {
            let db = sled::open(tmp.path().join("db")).expect("raw open");
            let meta = db.open_tree("meta").expect("meta");
            let version = meta.get("schema_version").expect("get").expect("written");
            assert_eq!(version.as_ref(), encoding::SCHEMA_VERSION.to_be_bytes());
            meta.insert("schema_version", &(encoding::SCHEMA_VERSION + 1).to_be_bytes()).expect("insert");
            db.flush().expect("flush");
        }
        let err = SledStore::open(tmp.path()).err().expect("newer schema");
        assert!(matches!(err, StoreError::SchemaTooNew { found: 8, supported: 7, .. }), "{err:?}");
        assert!(err.to_string().contains("upgrade guidebot"), "{err}");
    }

    #[test]
    fn a_schema_5_outbox_is_rekeyed_by_sequence_and_still_delivered_in_order() {
        let tmp = tempfile::tempdir().expect("tempdir");
        {
            let store = open(tmp.path());
            for (user, texts) in [(u(3), vec![b"a1".to_vec(), b"a2".to_vec()]), (u(4), vec![b"b1".to_vec()])] {
                store
                    .commit(user, &Change { record: Some(b"r"), outbox: &texts, ..Change::default() })
                    .expect("commit");
            }
            // As schema 5 keyed them: bucket ‖ handle ‖ seq.
            let items: Vec<_> = store.outbox.iter().map(|e| e.expect("item")).collect();
            assert_eq!(items.len(), 3);
            for (key, value) in items {
                let (bucket, handle, seq) = encoding::decode_outbox_key(&key).expect("key");
                let old = [&bucket.to_be_bytes()[..], &handle[..], &seq.to_be_bytes()[..]].concat();
                store.outbox.remove(&key).expect("remove");
                store.outbox.insert(old, value).expect("insert");
            }
            store
                .db
                .open_tree("meta")
                .expect("meta")
                .insert(encoding::SCHEMA_VERSION_KEY, &5u32.to_be_bytes())
                .expect("v5");
            store.db.flush().expect("flush");
        }
        let store = open(tmp.path());
        let pending = store.pending().expect("pending");
        let seen: Vec<(UserId, &[u8])> = pending.iter().map(|q| (q.user, q.item.as_slice())).collect();
        assert_eq!(seen, [(u(3), &b"a1"[..]), (u(3), &b"a2"[..]), (u(4), &b"b1"[..])]);
        store.delivered(u(3), pending[0].seq).expect("delivered");
        assert_eq!(store.pending().expect("pending").len(), 2);
        let next = store.commit(u(4), &Change { outbox: &[b"b2".to_vec()], ..Change::default() }).expect("commit");
        assert!(next[0] > pending[2].seq, "sequence numbers go on after the migrated ones");
    }

    #[test]
    fn a_schema_2_directory_opens_as_7_and_its_uncompressed_records_still_load() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let record = br#"{"node":"amount","answers":{"welcome":"OK"},"history":[]}"#.repeat(8);
        {
            let store = open(tmp.path());
            save(&store, u(7), &record);
            // As schema 2 wrote it: sealed whole, and the version 2.
            let slot = store.slots.lock_user(u(7)).expect("lock").find(u(7)).expect("slot").1.clone();
            let sealed = store.records.get(slot.handle).expect("get").expect("stored");
            assert!(sealed.len() < record.len() / 2, "stored compressed: {} of {}", sealed.len(), record.len());
            let old = slot.key.seal_as(&slot.handle, Kind::Record as u8, &record).expect("seal");
            store.records.insert(slot.handle, old).expect("insert");
            let meta = store.db.open_tree("meta").expect("meta");
            meta.insert(encoding::SCHEMA_VERSION_KEY, &2u32.to_be_bytes()).expect("insert");
            meta.remove(encoding::HEADED_FROM_KEY).expect("remove");
            store.db.flush().expect("flush");
        }
        let store = open(tmp.path());
        let meta = store.db.open_tree("meta").expect("meta");
        let version = meta.get(encoding::SCHEMA_VERSION_KEY).expect("get").expect("written");
        assert_eq!(version.as_ref(), encoding::SCHEMA_VERSION.to_be_bytes());
        assert_eq!(store.load(u(7)).expect("load").map(|s| s.record), Some(record.clone()));
        save(&store, u(7), &record);
        assert_eq!(store.load(u(7)).expect("load").map(|s| s.record), Some(record));
    }

    /// The writes of a step as far as a crash let them reach the disk: its
    /// notes and outbox items, but not its record.
    fn write_all_but_the_record(store: &SledStore, user: UserId, note_number: u32, item: &[u8]) -> u64 {
        let slot = store.slots.lock_user(user).expect("lock").find(user).expect("slot").1.clone();
        let bucket = store.slots.lock_user(user).expect("lock").number();
        let note = slot.key.seal(&slot.handle, Kind::Note, b"a note of the lost step").expect("seal");
        store.notes.insert(encoding::note_key(&slot.handle, note_number), note).expect("note");
        let seq = store.take_seqs(1).expect("seq");
        let sealed = slot.key.seal(&slot.handle, Kind::Outbox, item).expect("seal");
        store.outbox.insert(encoding::outbox_key(bucket, &slot.handle, seq), sealed).expect("item");
        store.db.flush().expect("flush");
        seq
    }

    #[test]
    fn what_a_step_cut_off_before_its_record_wrote_is_neither_sent_nor_shown() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let notes = [b"kept note".to_vec()];
        {
            let store = open(tmp.path());
            let change = Change { record: Some(b"r1"), notes: &notes, outbox: &[b"sent".to_vec()], ..Change::default() };
            store.commit(u(8), &change).expect("commit");
            write_all_but_the_record(&store, u(8), 1, b"reply of a step never saved");
        }
        let store = open(tmp.path());
        let pending: Vec<Vec<u8>> = store.pending().expect("pending").into_iter().map(|q| q.item).collect();
        assert_eq!(pending, [b"sent".to_vec()], "the cut-off step's reply is not sent");
        assert_eq!(store.outbox.len(), 1, "and it is gone from the outbox");
        let stored = store.load(u(8)).expect("load").expect("stored");
        assert_eq!((stored.record.as_slice(), stored.notes), (&b"r1"[..], notes.to_vec()));
        // The step, applied again, writes the same note number over the lost one.
        let again = [b"typed again".to_vec()];
        let change = Change { record: Some(b"r2"), notes_from: 1, notes: &again, ..Change::default() };
        store.commit(u(8), &change).expect("commit");
        assert_eq!(store.load(u(8)).expect("load").expect("stored").notes, [notes[0].clone(), again[0].clone()]);
    }

    #[test]
    fn an_event_whose_record_landed_but_not_its_id_is_not_applied_again() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let event = e(4711);
        {
            let store = open(tmp.path());
            let change = Change { record: Some(b"after 4711"), event: Some(event), ..Change::default() };
            store.commit(u(9), &change).expect("commit");
            // The crash came between the record and the event id.
            store.updates.remove(encoding::update_key(event)).expect("remove");
            store.db.flush().expect("flush");
        }
        let store = open(tmp.path());
        assert!(!store.applied(event).expect("applied"), "the id itself is not there");
        let change = Change { record: Some(b"4711 twice"), event: Some(event), ..Change::default() };
        assert!(matches!(store.commit(u(9), &change), Err(StoreError::AlreadyApplied { .. })));
        assert_eq!(store.load(u(9)).expect("load").expect("stored").record, b"after 4711");
        // A change without a record keeps the record under its new head.
        let next = e(4712);
        store.commit(u(9), &Change { event: Some(next), outbox: &[b"x".to_vec()], ..Change::default() }).expect("commit");
        assert_eq!(store.load(u(9)).expect("load").expect("stored").record, b"after 4711");
        assert!(store.applied(next).expect("applied"));
    }

    #[test]
    fn sequence_numbers_are_not_reused_after_a_restart_found_the_outbox_empty() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let first = {
            let store = open(tmp.path());
            let seqs = store.commit(u(2), &Change { record: Some(b"r"), outbox: &[b"a".to_vec()], ..Change::default() });
            let seq = seqs.expect("commit")[0];
            store.delivered(u(2), seq).expect("delivered");
            seq
        };
        let store = open(tmp.path());
        assert!(store.outbox.is_empty());
        let next = store.commit(u(2), &Change { outbox: &[b"b".to_vec()], ..Change::default() }).expect("commit");
        assert!(next[0] > first, "{} after {first}", next[0]);
    }

    #[test]
    fn a_schema_6_record_vouches_for_its_items_and_not_for_later_ones() {
        let tmp = tempfile::tempdir().expect("tempdir");
        {
            let store = open(tmp.path());
            let items = [b"old reply".to_vec()];
            store.commit(u(6), &Change { record: Some(b"r6"), outbox: &items, ..Change::default() }).expect("commit");
            // As schema 6 wrote it: the record without a head, and no `headed_from`.
            let slot = store.slots.lock_user(u(6)).expect("lock").find(u(6)).expect("slot").1.clone();
            let old = slot.key.seal(&slot.handle, Kind::Record, b"r6").expect("seal");
            store.records.insert(slot.handle, old).expect("insert");
            let meta = store.db.open_tree("meta").expect("meta");
            meta.insert(encoding::SCHEMA_VERSION_KEY, &6u32.to_be_bytes()).expect("v6");
            meta.remove(encoding::HEADED_FROM_KEY).expect("remove");
            meta.remove(encoding::SEQ_FLOOR_KEY).expect("remove");
            store.db.flush().expect("flush");
        }
        {
            let store = open(tmp.path());
            let pending: Vec<Vec<u8>> = store.pending().expect("pending").into_iter().map(|q| q.item).collect();
            assert_eq!(pending, [b"old reply".to_vec()]);
            assert_eq!(store.load(u(6)).expect("load").expect("stored").record, b"r6");
            // The first step under schema 7, cut off before its record.
            write_all_but_the_record(&store, u(6), 0, b"never committed");
        }
        let store = open(tmp.path());
        let pending: Vec<Vec<u8>> = store.pending().expect("pending").into_iter().map(|q| q.item).collect();
        assert_eq!(pending, [b"old reply".to_vec()]);
        // (Its note would show: a record without a head counts every note.)
    }

    #[test]
    fn a_missing_database_is_refused_and_the_keys_are_left_alone() {
        let tmp = tempfile::tempdir().expect("tempdir");
        {
            let store = open(tmp.path());
            save(&store, u(5), b"x");
        }
        let keys_before: Vec<(PathBuf, Vec<u8>)> =
            files_under(&tmp.path().join("keys")).into_iter().map(|f| (f.clone(), fs::read(&f).expect("r"))).collect();
        let aside = tmp.path().join("db-aside");
        fs::rename(tmp.path().join("db"), &aside).expect("move db away");
        let err = SledStore::open(tmp.path()).err().expect("refused");
        assert!(matches!(err, StoreError::DatabaseMissing { .. }), "{err:?}");
        assert!(err.to_string().contains("restore"), "{err}");
        // An empty database in its place is refused too.
        fs::create_dir_all(tmp.path().join("db")).expect("mkdir");
        drop(sled::open(tmp.path().join("db")).expect("empty sled"));
        let err = SledStore::open(tmp.path()).err().expect("refused");
        assert!(matches!(err, StoreError::DatabaseMissing { .. }), "{err:?}");
        for (f, bytes) in &keys_before {
            assert_eq!(&fs::read(f).expect("read"), bytes, "{} unchanged", f.display());
        }
        fs::remove_dir_all(tmp.path().join("db")).expect("rm");
        fs::rename(&aside, tmp.path().join("db")).expect("move back");
        assert_eq!(open(tmp.path()).load(u(5)).expect("load").map(|s| s.record), Some(b"x".to_vec()));
    }

    #[test]
    fn missing_keys_or_a_rolled_back_record_are_errors_not_new_users() {
        let tmp = tempfile::tempdir().expect("tempdir");
        {
            let store = open(tmp.path());
            save(&store, u(5), b"x");
            // As if the database lost the record (rolled back): the slot says it was saved.
            let handle = store.slots.lock_user(u(5)).expect("lock").find(u(5)).expect("slot").1.handle;
            store.records.remove(handle).expect("remove");
            let err = store.load(u(5)).expect_err("missing record");
            assert!(matches!(err, StoreError::RecordMissing { user } if user == u(5)), "{err:?}");
        }
        fs::rename(tmp.path().join("keys"), tmp.path().join("keys-aside")).expect("move keys away");
        let err = SledStore::open(tmp.path()).err().expect("refused");
        assert!(matches!(err, StoreError::KeysMismatch { .. }), "{err:?}");
    }

    #[test]
    fn a_full_disk_is_refused_before_sled_sees_a_write() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = open(tmp.path());
        save(&store, u(1), b"kept");
        let full = SledStore { space: Space::new(tmp.path(), u64::MAX), ..store };
        let err = full.commit(u(1), &Change { record: Some(b"new"), ..Change::default() }).expect_err("refused");
        assert!(matches!(err, StoreError::DiskFull { .. }), "{err:?}");
        assert_eq!(full.load(u(1)).expect("load").map(|s| s.record), Some(b"kept".to_vec()));
        drop(full);
        let err =
            SledStore::open_with(tmp.path(), StoreOptions { min_free_bytes: u64::MAX, ..StoreOptions::default() })
                .err()
                .expect("no open on a full disk");
        assert!(matches!(err, StoreError::DiskFull { .. }), "{err:?}");
    }

    #[test]
    fn concurrent_commits_of_many_users_are_all_durable() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let threads = 8i64;
        let per_thread = 25i64;
        {
            let store = Arc::new(open(tmp.path()));
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let store = Arc::clone(&store);
                    thread::spawn(move || {
                        for i in 0..per_thread {
                            let user = t * 1_000 + i;
                            let record = format!("record {user}");
                            store.commit(u(user), &Change { record: Some(record.as_bytes()), ..Change::default() })?;
                        }
                        Ok::<_, StoreError>(())
                    })
                })
                .collect();
            for h in handles {
                h.join().expect("thread").expect("saves");
            }
        }
        let store = open(tmp.path());
        assert_eq!(store.users().expect("users").len(), (threads * per_thread) as usize);
        for t in 0..threads {
            for i in 0..per_thread {
                let user = t * 1_000 + i;
                let record = store.load(u(user)).expect("load").map(|s| s.record);
                assert_eq!(record, Some(format!("record {user}").into_bytes()));
            }
        }
    }

    #[test]
    fn pruning_keeps_the_newest_update_ids() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = open(tmp.path());
        for id in -3..7 {
            assert!(store.first_delivery(e(id)).expect("first"));
        }
        let other = EventId::new(crate::adapters::store::Front::Terminal, -10);
        assert!(store.first_delivery(other).expect("first"));
        store.prune_updates(e(6), 4).expect("prune");
        assert_eq!(store.updates.len(), 6, "2 to 6 of Telegram, and the other front end's");
        assert!(!store.first_delivery(e(6)).expect("kept"));
        assert!(!store.first_delivery(e(2)).expect("kept"));
        assert!(store.first_delivery(e(1)).expect("pruned, so new again"));
        assert!(!store.first_delivery(other).expect("another front end's ids are its own to prune"));
    }

    #[test]
    fn a_store_written_by_schema_1_is_migrated_with_its_notes() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v1");
        super::super::backup::copy_tree(&fixture, tmp.path()).expect("copy the fixture");
        let store = open(tmp.path());
        let mut users = store.users().expect("users");
        users.sort_unstable();
        assert_eq!(users, vec![u(123_456_789), UserId::LOCAL]);
        let record = store.load(u(123_456_789)).expect("load").expect("migrated").record;
        assert!(String::from_utf8_lossy(&record).contains("MARKER-V1B"), "the notes came along");
        assert!(!tmp.path().join("keys/0.key").exists(), "schema-1 key files are shredded");
        assert_eq!(files_containing(tmp.path(), b"MARKER-V1"), Vec::<PathBuf>::new());
        drop(store);
        // A second open finds the current schema and changes nothing.
        assert_eq!(open(tmp.path()).users().expect("users").len(), 2);
    }
}
