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
    encoding::Head,
    flusher::{After, Flusher},
    slots::{BucketGuard, HANDLE_LEN, Handle, Kind, NEVER, Slot, SlotRef, Slots, flag},
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
    /// record written before heads existed) and the record behind it.
    fn open_record(&self, slot: &Slot, sealed: &[u8], user: UserId) -> Result<(Head, Vec<u8>), StoreError> {
        match slot.key.open(&slot.handle, Kind::Headed, sealed, user) {
            Ok(mut plain) => {
                let head = encoding::decode_head(&plain)?;
                plain.drain(..encoding::HEAD_LEN);
                Ok((head, plain))
            }
            Err(StoreError::Decrypt { .. }) => {
                let plain = slot.key.open(&slot.handle, Kind::Record, sealed, user)?;
                Ok((Head { event: None, outbox_below: self.headed_from, notes: u32::MAX, has_record: true }, plain))
            }
            Err(e) => Err(e),
        }
    }

    /// The user's head and record as stored, if any.
    fn read_record(&self, slot: &Slot, user: UserId) -> Result<Option<(Head, Vec<u8>)>, StoreError> {
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
                        let limit = self.read_record(&slot, slot.user)?.map_or(0, |(head, _)| head.outbox_below);
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

    /// Takes `seq` out of `user`'s outbox; with `hurry`, a flush is asked for
    /// and the mark is durable once the returned promise is, else it becomes
    /// durable with the next flush anyone asks for.
    fn mark_delivered(&self, user: UserId, seq: u64, hurry: bool) -> Result<Durable, StoreError> {
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
            // A message in the chat is marked `hurry`: durable before the next one
            // goes out, so that after a crash a message Telegram already has is not
            // sent again. (A mark that waited for somebody else's flush, up to 2 ms,
            // let 14 messages in 206 kills of the load test go out twice, against 1
            // with a flush of its own.)
            if farewell_done {
                self.flusher.wait_durable()?;
                self.slots.lock(bucket)?.put(at, None)?;
                return Ok(Durable::done());
            }
            return Ok(if hurry { Durable::after(self.flusher.ticket(None)) } else { Durable::done() });
        }
        Ok(Durable::done())
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
        let Some((head, record)) = stored.filter(|(head, _)| head.has_record) else {
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
        // record keeps it under a new head. A record this process wrote is not
        // read back: the event its head names is known.
        let (stored, head_event) = match (change.event, change.record, slot.wrote) {
            (None, Some(_), _) => (None, None),
            (Some(_), Some(_), Some(event)) => (None, event),
            _ => {
                let stored = self.read_record(&slot, user)?;
                let event = stored.as_ref().and_then(|(head, _)| head.event);
                (stored, event)
            }
        };
        if let Some(event) = change.event
            && head_event == Some(encoding::update_key(event))
        {
            return Err(StoreError::AlreadyApplied { event });
        }
        let body: Option<&[u8]> = match (change.record, &stored) {
            (Some(record), _) => Some(record),
            (None, Some((head, record))) if head.has_record => Some(record.as_slice()),
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
        let sealed_record =
            slot.key.seal(&slot.handle, Kind::Headed, &encoding::encode_head(&head, body.unwrap_or(&[])))?;
        // One key after another, not a sled transaction: a transaction rolls
        // sled's log buffer twice (each roll a write and a `sync_file_range` on
        // sled's I/O threads) and holds sled's global write lock, which waits
        // for any flush in progress and holds every other reader and writer
        // behind it. The head makes the order safe (see `encoding::Head`).
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
            return Err(StoreError::db(format!("saving the changes of user {user}"))(source));
        }
        self.slots.lock(bucket)?.note_written(&slot.handle, head.event);
        if let Some(id) = change.event {
            self.updates
                .insert(encoding::update_key(id), &[] as &[u8])
                .map_err(StoreError::db(format!("recording update {id}")))?;
            self.note_new_update(id)?;
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
                self.read_record(&slot, slot.user)?.is_some_and(|(head, _)| head.has_record)
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
        self.mark_delivered(user, seq, true)
    }

    fn delivered_unhurried(&self, user: UserId, seq: u64) -> Result<(), StoreError> {
        self.mark_delivered(user, seq, false).map(drop)
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

pub(super) fn transaction_error(action: String) -> impl FnOnce(TransactionError<()>) -> StoreError {
    move |e| match e {
        TransactionError::Storage(source) => StoreError::Db { action, source: source.into() },
        // Our closures never abort.
        TransactionError::Abort(()) => StoreError::Db { action, source: "transaction aborted".into() },
    }
}

mod open;
#[cfg(test)]
mod tests;
