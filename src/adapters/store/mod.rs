//! Storage: everything guidebot persists goes through the [`Store`] trait.
//!
//! Three implementations: [`SledStore`] on disk (sled 0.34, the default, one
//! process per data folder), [`PostgresStore`] in a PostgreSQL database
//! that several processes may share, and [`MemoryStore`] for tests and
//! benchmarks. Which one a command opens is a [`Location`] (`sled:DIR`,
//! `postgres://…`); `guidebot migrate` copies one into another ([`copy`]).
//! Records, notes and outgoing messages are opaque bytes here; serialising
//! them is the caller's job, so this module never sees a domain type, and
//! never logs anything but user ids and update ids.
//!
//! # Guarantees
//!
//! The same for every store; the shared checks (`tests` below, through
//! `conformance_tests!`) run against each. Below, how sled keeps them; PostgreSQL's
//! way is in its own section.
//!
//! - One event is one [`Store::commit`]: the user's new record, the notes
//!   they added, the event id, the messages to send (the outbox) and the
//!   time of their next reminder are written together, and are on disk when
//!   it returns. Flushes are batched: one flusher thread serves every writer
//!   waiting at that moment (group commit, see `flusher.rs`). An async caller
//!   can take the write and the wait apart ([`Store::commit_deferred`] and a
//!   [`Durable`] to await), so that waiting for the disk holds no thread.
//! - An event id is applied once: a commit or erase whose id was applied
//!   before writes nothing and returns [`StoreError::AlreadyApplied`].
//! - Notes are appended under keys of their own: adding one never rewrites
//!   the others, so a long history costs the same per step as a short one.
//! - Outgoing messages stay in the outbox until [`Store::delivered`]; after a
//!   crash, [`Store::pending`] gives them back in order.
//! - `erase` leaves nothing readable that came from the user: every value is
//!   encrypted with the user's key, sled keys are random handles (never user
//!   ids), the reminder time lives in the user's key slot, and erase
//!   overwrites that slot in place once the removal is durable
//!   (crypto-shredding, see `slots.rs`). Event ids are kept: they say nothing
//!   about anyone, and keeping them stops a redelivered update from bringing
//!   an erased note back. Limitation: on copy-on-write filesystems or flash,
//!   overwriting in place does not guarantee the old blocks are gone.
//! - A write is refused, before anything reaches sled, while free space is
//!   below the reserve ([`StoreError::DiskFull`]); sled is never opened on a
//!   disk that is already that full. It goes on by itself once space is freed.
//! - A second process cannot open the same directory (sled's file lock);
//!   it gets [`StoreError::InUse`].
//!
//! # On-disk layout (schema version 4)
//!
//! ```text
//! <dir>/                      mode 0700 (tightened with a warning if looser)
//!   db/                       sled 0.34 database; locked while open
//!   keys/                     mode 0700; files 0600
//!     ring                    b"gbring02" ‖ data directory id (16) ‖ bucket secret (32)
//!     NNNN.slots              bucket NNNN (0000–1023) of 64-byte slots:
//!                             user id i64 BE ‖ handle (16) ‖ key (32) ‖ flags (1) ‖ next reminder (7)
//! ```
//!
//! A user's bucket is a keyed hash of their id (the secret in `ring`). The
//! handle is random; every sled key of the user's data starts with it.
//!
//! | tree      | key                                   | value |
//! |-----------|---------------------------------------|-------|
//! | `meta`    | `schema_version`, `db_id`             | u32 BE 4; the id also in `keys/ring` |
//! | `records` | handle                                | nonce (24) ‖ XChaCha20Poly1305(record), associated data handle ‖ 1 |
//! | `notes`   | handle ‖ note number u32 BE           | sealed note, associated data handle ‖ 2 |
//! | `outbox`  | bucket u16 BE ‖ handle ‖ seq u64 BE   | sealed item, associated data handle ‖ 3 |
//! | `updates` | event id, ordered i64                 | empty; the newest ~100 000 are kept |
//!
//! A record of 128 bytes or more is compressed before sealing when that
//! makes it shorter: zstd with a fixed dictionary of what records are made
//! of (`pack.rs`, `record.dict1`). How it was packed is in the last byte of
//! the associated data (kind + 0x40; kind + 0x80 for raw DEFLATE, written
//! by schema 3 and still read), so every form opens and none passes for
//! another. Records are small JSON that repeats itself (the `/back` history
//! holds the answers given at each question); packed, a typical one is
//! about a seventh of its size, and sled writes that much less at each step.
//! (The length of a compressed value hints at how repetitive it is; lengths
//! are seen only by someone who can read the database files, and only the
//! user writes into their own record.)
//!
//! Opening checks that `db` and `keys` belong together (the data directory
//! id): keys without a database, a database without keys, or a database
//! from elsewhere are refused with what to do, and nothing is changed. A
//! slot whose record was made durable once is marked live; if its record is
//! then missing, the database was rolled back or damaged and loading that
//! user fails rather than starting them afresh over their data. Records
//! whose slot is gone are never overwritten (a new slot has a new handle).
//!
//! Schemas 2 (no compression) and 3 (DEFLATE only) are the same otherwise;
//! opening them only writes the new version number, so that an older
//! guidebot refuses the directory rather than fail to read each record.
//!
//! Schema 1 (one key file per user, records keyed by user id, a plain
//! reminder index) is migrated on first open and its key files shredded.
//!
//! # PostgreSQL (`postgres/`, storage schema version 2)
//!
//! Tables in the connection's schema (the first of its `search_path`;
//! `?options=-csearch_path%3DNAME` in the URL picks another), created when
//! missing at open, under an advisory lock so that processes starting
//! together do not race:
//!
//! | table | columns | |
//! |-------|---------|---|
//! | `guidebot_meta` | `name` text key, `value` | `schema_version` = 1 |
//! | `guidebot_keys` | `handle` bytea key (16 random bytes), `user_id`, `farewell`, `key` bytea (32) | one per user (unique where not `farewell`), plus one per pending farewell |
//! | `guidebot_users` | `user_id` key, `handle` → keys (cascade), `record` sealed or NULL, `next_due` (indexed where set), `claimed_by`, `claim_until` | |
//! | `guidebot_notes` | (`user_id` → users (cascade), `n`) key, `value` sealed | |
//! | `guidebot_outbox` | `seq` identity key, `user_id`, `handle` → keys (cascade), `value` sealed | |
//! | `guidebot_updates` | `id` key | the newest ~100 000 are kept |
//!
//! Values are sealed as in sled (XChaCha20Poly1305 with the user's key,
//! associated data the key's handle and the kind; records compressed first).
//! How the guarantees are kept:
//!
//! - Every write is one SQL transaction, durable when `COMMIT` returns
//!   (keep `synchronous_commit` on). Commit and erase first take a
//!   transaction-level advisory lock on the user id (`pg_advisory_xact_lock`),
//!   so a user's writes from several processes apply one at a time; other
//!   users do not wait. The lock space is the database's: guidebot's locks
//!   are keyed by user id.
//! - The event id is inserted in the same transaction (`ON CONFLICT DO
//!   NOTHING`); if it was there, the transaction is rolled back:
//!   [`StoreError::AlreadyApplied`].
//! - A commit carries the version of the record it was made from
//!   ([`Change::versions`], `guidebot_users.version`, a random number
//!   written with each record); checked under the user's lock, a mismatch
//!   (another process stepped the user since this one read them) is
//!   [`StoreError::Stale`], and the app runs the step again on a fresh read.
//!   So each process may keep its copies of users, and a user's updates may
//!   reach any process.
//! - Each open store holds a session advisory lock of its own
//!   (`LIVE_LOCK_CLASS`, its random id) on a dedicated connection for as long
//!   as it lives: PostgreSQL drops it when the process stops, however it
//!   stops. That is how the others tell a stopped process from a busy one.
//! - Outbox rows carry the id of the store that queued them (`owner`), and
//!   that process delivers them. `pending` (at start) and `adopt` (every
//!   tick of the bot) claim rows whose owner no longer holds its lock, one
//!   process each: what a killed replica queued is sent by another within a
//!   tick. A message the killed one had sent but not yet marked may go out
//!   twice; none is lost.
//! - `due` hands each due user to one process: it claims the rows
//!   (`FOR UPDATE SKIP LOCKED`) for this store for 5 minutes, or until its
//!   lock is gone; this store's next commit for that user ends the claim.
//! - A lost connection fails the call (nothing is acknowledged that was not
//!   committed); the pool checks a connection before handing it out, so the
//!   next call connects again. If it is lost during `COMMIT` itself, the
//!   write may or may not have happened; a retry of the event is then either
//!   applied or refused as applied, never applied twice.
//! - Erase deletes the user's key row in one transaction with the event id;
//!   the record, notes and messages go with it (`ON DELETE CASCADE`).
//!   PostgreSQL keeps deleted rows in its files as dead row versions, and
//!   plain VACUUM only marks their space reusable without overwriting it, so
//!   after an erase guidebot rewrites the small `guidebot_keys` table with
//!   `VACUUM FULL` (a pause of the other commits: 20 to 50 ms with 10 000
//!   users, about 0.2 s with 100 000; skipped after 2 s of waiting for the
//!   table, and then done at the next erase). The sealed record and notes may linger in the other tables'
//!   files until their space is reused, unreadable without the key. Still
//!   outside guidebot's reach: the write-ahead log until its segments are
//!   recycled (and archived WAL, if archiving is on), replicas, backups, and
//!   blocks freed on copy-on-write filesystems or flash.

mod backup;
mod encoding;
mod error;
mod flusher;
mod location;
mod memory;
mod migrate;
mod pack;
mod postgres;
mod sled_store;
mod slots;
mod space;
mod transfer;

pub use backup::{request_backup, restore};
pub use error::StoreError;
pub use location::{Location, redact};
pub use memory::MemoryStore;
pub use postgres::{PostgresOptions, PostgresStore};
pub use sled_store::{SledStore, StoreOptions};
pub use transfer::{Copied, Transfer, copy};

/// A user (or chat) id of a front end.
pub type UserId = i64;

/// Everything one event changes, written at once by [`Store::commit`].
#[derive(Debug, Default, Clone, Copy)]
pub struct Change<'a> {
    /// The user's new record; None when it did not change.
    pub record: Option<&'a [u8]>,
    /// Number of notes already stored: `notes` are appended after them.
    pub notes_from: usize,
    /// Notes added by this event.
    pub notes: &'a [Vec<u8>],
    /// The event's id (a Telegram update id), so that it is applied once.
    pub event: Option<i64>,
    /// Messages to deliver, in order.
    pub outbox: &'a [Vec<u8>],
    /// Unix time of the user's next unsent reminder, if any.
    pub next_due: Option<i64>,
    /// `(base, next)`: the version of the user's record this change was
    /// made from ([`Stored::version`], 0 for no record) and the version the
    /// record gets if `record` is written (a fresh random number, so that a
    /// version is never seen twice). A store that several processes share
    /// refuses the change with [`StoreError::Stale`] when the user's stored
    /// version is no longer `base`: another process changed the user since
    /// this one read them. A store one process owns may ignore it (that
    /// process's copy cannot be stale). None: no check.
    pub versions: Option<(u64, u64)>,
}

/// A user's stored data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub record: Vec<u8>,
    /// Notes, oldest first.
    pub notes: Vec<Vec<u8>>,
    /// The record's version (see [`Change::versions`]); 0 from a store that
    /// does not keep versions.
    pub version: u64,
}

/// An outbox item waiting for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub user: UserId,
    /// Its place in the order of delivery.
    pub seq: u64,
    pub item: Vec<u8>,
}

/// The one storage trait: everything the app persists goes through it.
pub trait Store: Send + Sync {
    /// The user's record and notes, or None for a user without a record.
    fn load(&self, user: UserId) -> Result<Option<Stored>, StoreError>;
    /// True when an event with this id was committed (or erased with).
    fn applied(&self, event: i64) -> Result<bool, StoreError>;
    /// Writes one event's changes atomically and durably; returns the outbox
    /// sequence numbers of `change.outbox`, in order. An event id that was
    /// applied before (by this process or another sharing the store) makes
    /// it write nothing and return [`StoreError::AlreadyApplied`].
    fn commit(&self, user: UserId, change: &Change<'_>) -> Result<Vec<u64>, StoreError>;
    /// Erases everything of this user durably (record, notes, outbox,
    /// reminder time, key), records `event` as applied, and queues
    /// `farewell` for delivery (sealed with a fresh key that is cleared once
    /// it is delivered). An event applied before: as in [`Store::commit`].
    fn erase(&self, user: UserId, event: Option<i64>, farewell: &[Vec<u8>]) -> Result<Vec<u64>, StoreError>;
    /// Every user with a record.
    fn users(&self) -> Result<Vec<UserId>, StoreError>;
    /// Users whose next reminder time is at or before `now`. A store shared
    /// by several processes hands each such user to one of them: the others
    /// are not given that user until the one that was commits for them (or,
    /// should it stop, for a few minutes). The same process is given them
    /// again at each call.
    fn due(&self, now: i64) -> Result<Vec<UserId>, StoreError>;
    /// Every outbox item not yet delivered, in order, that this process
    /// should deliver: called once at start. A store that several processes
    /// share leaves out what another live process queued (that one delivers
    /// it) and hands what a stopped one left to this one (as
    /// [`Store::adopt`]).
    fn pending(&self) -> Result<Vec<Queued>, StoreError>;
    /// Takes a delivered (or abandoned) item out of the outbox.
    fn delivered(&self, user: UserId, seq: u64) -> Result<(), StoreError>;
    /// Records an update id that never reaches the app (a sticker, a photo);
    /// Ok(true) the first time, Ok(false) if already seen.
    fn first_delivery(&self, update_id: i64) -> Result<bool, StoreError>;

    /// Outbox items that another process sharing the store queued and can no
    /// longer deliver (it stopped), now this process's to deliver; each is
    /// handed to one process. A store one process owns has none: its
    /// [`Store::pending`] at start gives everything.
    fn adopt(&self) -> Result<Vec<Queued>, StoreError> {
        Ok(Vec::new())
    }

    /// True when [`Store::commit_deferred`] and [`Store::delivered_deferred`]
    /// return without waiting for the disk or a network, so that an async
    /// caller may call them on its own thread and await the [`Durable`].
    /// False (the default) means: call the store from a blocking thread.
    fn defers_durability(&self) -> bool {
        false
    }

    /// [`Store::commit`] without the wait: the change is made and visible to
    /// this process, and is on disk once the returned [`Durable`] says so.
    /// Nothing may be shown to anyone before that. By default, commits and
    /// waits.
    fn commit_deferred(&self, user: UserId, change: &Change<'_>) -> Result<(Vec<u64>, Durable), StoreError> {
        Ok((self.commit(user, change)?, Durable::done()))
    }

    /// [`Store::delivered`] without the wait, like [`Store::commit_deferred`].
    fn delivered_deferred(&self, user: UserId, seq: u64) -> Result<Durable, StoreError> {
        self.delivered(user, seq).map(|()| Durable::done())
    }
}

/// The promise that a write made by a `*_deferred` call reaches the disk:
/// wait for it before acting on the write (before sending a reply).
#[must_use = "a deferred write is not durable until its Durable is waited for"]
pub struct Durable(Option<flusher::Ticket>);

impl Durable {
    /// A write that is durable already.
    pub fn done() -> Durable {
        Durable(None)
    }

    /// Blocks until the write is durable, or the flush that should have made
    /// it so failed.
    pub fn wait(self) -> Result<(), StoreError> {
        match self.0 {
            Some(ticket) => ticket.wait(),
            None => Ok(()),
        }
    }

    /// Like [`Durable::wait`] without holding a thread.
    pub async fn settled(self) -> Result<(), StoreError> {
        match self.0 {
            Some(ticket) => ticket.settled().await,
            None => Ok(()),
        }
    }
}

impl std::fmt::Debug for Durable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Durable(pending)" } else { "Durable(done)" })
    }
}

/// Behaviour every [`Store`] must show, written once and run against each
/// implementation: `conformance_tests!(fresh)` in a store's tests makes one
/// test per check, each on a fresh, empty store from `fresh()` (which
/// returns None, after printing why, when that store cannot be had here).
#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A fresh, empty store and whatever it needs to live (a temporary
    /// folder, a schema): `store` is dropped first.
    pub(crate) struct Fresh {
        pub store: Box<dyn Store>,
        #[expect(dead_code, reason = "held only to be dropped after the store")]
        pub keep: Box<dyn std::any::Any>,
    }

    /// One `#[test]` per shared check, in a module `conformance`.
    macro_rules! conformance_tests {
        ($fresh:expr) => {
            mod conformance {
                #[allow(unused_imports)]
                use super::*;
                use crate::adapters::store::tests as shared;

                fn run(check: fn(&dyn crate::adapters::store::Store)) {
                    let fresh: fn() -> Option<shared::Fresh> = $fresh;
                    if let Some(fresh) = fresh() {
                        check(&*fresh.store);
                    }
                }

                #[test]
                fn round_trip() {
                    run(shared::round_trip)
                }
                #[test]
                fn notes_append() {
                    run(shared::notes_append)
                }
                #[test]
                fn events_apply_once() {
                    run(shared::events_apply_once)
                }
                #[test]
                fn an_applied_event_is_refused_and_writes_nothing() {
                    run(shared::an_applied_event_is_refused_and_writes_nothing)
                }
                #[test]
                fn outbox_in_order() {
                    run(shared::outbox_in_order)
                }
                #[test]
                fn reminders_due() {
                    run(shared::reminders_due)
                }
                #[test]
                fn deferred() {
                    run(shared::deferred)
                }
                #[test]
                fn erase() {
                    run(shared::erase)
                }
                #[test]
                fn first_delivery() {
                    run(shared::first_delivery)
                }
                #[test]
                fn parallel_commits_of_many_users() {
                    run(shared::parallel_commits_of_many_users)
                }
            }
        };
    }
    pub(crate) use conformance_tests;

    fn change<'a>(record: &'a [u8]) -> Change<'a> {
        Change { record: Some(record), ..Change::default() }
    }

    pub(crate) fn deferred(store: &dyn Store) {
        let items = [b"q".to_vec()];
        let change = Change { record: Some(b"deferred"), event: Some(4_000), outbox: &items, ..Change::default() };
        let (seqs, durable) = store.commit_deferred(60, &change).expect("write");
        // Visible to this process at once, durable once waited for.
        assert_eq!(store.load(60).expect("load").map(|s| s.record), Some(b"deferred".to_vec()));
        assert!(store.applied(4_000).expect("applied"));
        durable.wait().expect("durable");
        store.delivered_deferred(60, seqs[0]).expect("mark").wait().expect("durable");
        assert!(store.pending().expect("pending").iter().all(|q| q.user != 60));
    }

    pub(crate) fn round_trip(store: &dyn Store) {
        assert_eq!(store.load(10).expect("load"), None);
        store.commit(10, &change(b"{\"step\":\"start\"}")).expect("save");
        assert_eq!(store.load(10).expect("load").map(|s| s.record), Some(b"{\"step\":\"start\"}".to_vec()));
        store.commit(-10, &change(b"")).expect("save an empty record");
        assert_eq!(store.load(-10).expect("load").map(|s| s.record), Some(Vec::new()));
        store.commit(10, &change(b"second, longer")).expect("overwrite");
        assert_eq!(store.load(10).expect("load").map(|s| s.record), Some(b"second, longer".to_vec()));
        let mut users = store.users().expect("users");
        users.sort_unstable();
        assert_eq!(users, vec![-10, 10]);
        // A commit without a record keeps the one stored.
        store.commit(10, &Change { next_due: Some(5), ..Change::default() }).expect("commit");
        assert_eq!(store.load(10).expect("load").map(|s| s.record), Some(b"second, longer".to_vec()));
        // Someone who never had a record has none, whatever else was written for them.
        store.commit(11, &Change { outbox: &[b"hi".to_vec()], ..Change::default() }).expect("commit");
        assert_eq!(store.load(11).expect("load"), None);
        assert!(!store.users().expect("users").contains(&11));
    }

    pub(crate) fn notes_append(store: &dyn Store) {
        let first = [b"one".to_vec(), b"two".to_vec()];
        store.commit(20, &Change { record: Some(b"r"), notes: &first, ..Change::default() }).expect("notes");
        let third = [b"three".to_vec()];
        store.commit(20, &Change { notes_from: 2, notes: &third, ..Change::default() }).expect("more");
        let loaded = store.load(20).expect("load").expect("stored");
        assert_eq!(loaded.record, b"r");
        assert_eq!(loaded.notes, vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]);
    }

    pub(crate) fn events_apply_once(store: &dyn Store) {
        assert!(!store.applied(700).expect("applied"));
        store.commit(21, &Change { record: Some(b"x"), event: Some(700), ..Change::default() }).expect("commit");
        assert!(store.applied(700).expect("applied"));
        // An event that changed nothing but was answered is recorded too.
        store.commit(21, &Change { event: Some(-701), ..Change::default() }).expect("commit");
        assert!(store.applied(-701).expect("applied"));
        assert_eq!(store.load(21).expect("load").map(|s| s.record), Some(b"x".to_vec()));
    }

    pub(crate) fn an_applied_event_is_refused_and_writes_nothing(store: &dyn Store) {
        let reply = [b"reply".to_vec()];
        store
            .commit(60, &Change { record: Some(b"first"), event: Some(800), outbox: &reply, ..Change::default() })
            .expect("commit");
        let pending = store.pending().expect("pending");
        let again = Change {
            record: Some(b"second"),
            notes: &[b"note".to_vec()],
            event: Some(800),
            outbox: &reply,
            next_due: Some(1),
            ..Change::default()
        };
        let refused = |r: Result<Vec<u64>, StoreError>| match r {
            Err(StoreError::AlreadyApplied { event }) => event,
            other => panic!("expected AlreadyApplied, got {other:?}"),
        };
        assert_eq!(refused(store.commit(60, &again)), 800);
        assert_eq!(refused(store.commit(61, &again)), 800, "whoever it is for");
        assert_eq!(refused(store.erase(60, Some(800), &reply)), 800, "erase too");
        let kept = store.load(60).expect("load").expect("stored");
        assert_eq!((kept.record.as_slice(), kept.notes.len()), (&b"first"[..], 0));
        assert_eq!(store.load(61).expect("load"), None);
        assert_eq!(store.pending().expect("pending"), pending, "no message was queued");
        assert_eq!(store.due(i64::MAX - 1).expect("due"), Vec::<UserId>::new(), "no reminder was set");
        // An id seen by first_delivery counts as applied.
        assert!(store.first_delivery(801).expect("first"));
        assert_eq!(refused(store.commit(60, &Change { event: Some(801), ..again })), 801);
    }

    pub(crate) fn outbox_in_order(store: &dyn Store) {
        let items = [b"a".to_vec(), b"b".to_vec()];
        let first = store.commit(30, &Change { record: Some(b"r"), outbox: &items, ..Change::default() }).expect("c");
        let second = store.commit(31, &Change { outbox: &[b"c".to_vec()], ..Change::default() }).expect("c");
        assert_eq!(first.len(), 2);
        assert!(first[0] < first[1] && first[1] < second[0], "{first:?} {second:?}");
        let pending = store.pending().expect("pending");
        let seen: Vec<(UserId, &[u8])> = pending.iter().map(|q| (q.user, q.item.as_slice())).collect();
        assert_eq!(seen, vec![(30, &b"a"[..]), (30, &b"b"[..]), (31, &b"c"[..])]);
        store.delivered(30, first[0]).expect("delivered");
        store.delivered(30, first[0]).expect("twice is fine");
        store.delivered(31, first[1]).expect("another user's number changes nothing");
        let left: Vec<u64> = store.pending().expect("pending").iter().map(|q| q.seq).collect();
        assert_eq!(left, vec![first[1], second[0]]);
        store.delivered(30, first[1]).expect("delivered");
        store.delivered(31, second[0]).expect("delivered");
        assert_eq!(store.pending().expect("pending"), vec![]);
    }

    pub(crate) fn reminders_due(store: &dyn Store) {
        store.commit(40, &Change { record: Some(b"r"), next_due: Some(100), ..Change::default() }).expect("c");
        store.commit(41, &Change { record: Some(b"r"), next_due: Some(-5), ..Change::default() }).expect("c");
        store.commit(42, &Change { record: Some(b"r"), next_due: None, ..Change::default() }).expect("c");
        let due = |now| {
            let mut d = store.due(now).expect("due");
            d.sort_unstable();
            d
        };
        assert_eq!(due(-6), Vec::<UserId>::new());
        assert_eq!(due(-5), vec![41]);
        assert_eq!(due(100), vec![40, 41]);
        assert_eq!(due(100), vec![40, 41], "asking again gives the same");
        store.commit(41, &Change { next_due: None, ..Change::default() }).expect("c");
        assert_eq!(due(i64::MAX - 1), vec![40]);
        store.commit(40, &Change { next_due: Some(i64::MIN + 1), ..Change::default() }).expect("c");
        assert_eq!(due(0), vec![40]);
        store.commit(40, &Change { next_due: None, ..Change::default() }).expect("c");
    }

    pub(crate) fn erase(store: &dyn Store) {
        let notes = [b"SECRET-NOTE-4242".to_vec()];
        store
            .commit(50, &Change { record: Some(b"rec"), notes: &notes, next_due: Some(5), ..Change::default() })
            .expect("save");
        store.commit(51, &change(b"neighbour")).expect("save");
        store.commit(50, &Change { outbox: &[b"unsent".to_vec()], ..Change::default() }).expect("queue");

        let farewell = store.erase(50, Some(900), &[b"bye".to_vec()]).expect("erase");
        assert_eq!(store.load(50).expect("load"), None);
        assert!(!store.users().expect("users").contains(&50));
        assert!(!store.due(i64::MAX - 1).expect("due").contains(&50));
        assert!(store.applied(900).expect("applied"), "the erasing event stays applied");
        let pending = store.pending().expect("pending");
        assert_eq!(pending, vec![Queued { user: 50, seq: farewell[0], item: b"bye".to_vec() }], "only the farewell");
        store.delivered(50, farewell[0]).expect("delivered");
        assert_eq!(store.pending().expect("pending"), vec![]);
        assert_eq!(store.load(51).expect("load").map(|s| s.record), Some(b"neighbour".to_vec()));
        store.erase(50, None, &[]).expect("erasing twice is fine");

        // A user can come back after erasure, with nothing of before.
        store.commit(50, &change(b"fresh start")).expect("save");
        let back = store.load(50).expect("load").expect("stored");
        assert_eq!((back.record.as_slice(), back.notes.len()), (&b"fresh start"[..], 0));
        store.erase(50, None, &[]).expect("erase");
        store.erase(51, None, &[]).expect("erase");
        assert_eq!(store.users().expect("users"), Vec::<UserId>::new());
    }

    pub(crate) fn first_delivery(store: &dyn Store) {
        assert!(store.first_delivery(7).expect("first"));
        assert!(!store.first_delivery(7).expect("second"));
        assert!(store.first_delivery(-7).expect("negative ids are distinct"));
        assert!(!store.first_delivery(-7).expect("second"));
    }

    pub(crate) fn parallel_commits_of_many_users(store: &dyn Store) {
        let (threads, per_thread) = (6i64, 20i64);
        std::thread::scope(|scope| {
            for t in 0..threads {
                scope.spawn(move || {
                    for i in 0..per_thread {
                        let user = 1_000 + t * 100 + i;
                        let record = format!("record {user}");
                        let note = [format!("note {user}").into_bytes()];
                        let change = Change {
                            record: Some(record.as_bytes()),
                            notes: &note,
                            event: Some(user),
                            next_due: Some(user),
                            ..Change::default()
                        };
                        store.commit(user, &change).expect("commit");
                    }
                });
            }
        });
        let mut users = store.users().expect("users");
        users.sort_unstable();
        let expected: Vec<UserId> =
            (0..threads).flat_map(|t| (0..per_thread).map(move |i| 1_000 + t * 100 + i)).collect();
        assert_eq!(users, expected);
        for user in expected {
            let stored = store.load(user).expect("load").expect("stored");
            assert_eq!(stored.record, format!("record {user}").into_bytes());
            assert_eq!(stored.notes, vec![format!("note {user}").into_bytes()]);
            assert!(store.applied(user).expect("applied"));
        }
        assert_eq!(store.due(1_000 + 99).expect("due").len(), per_thread as usize);
    }
}
