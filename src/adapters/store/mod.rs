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
//!   it returns: after a crash, all of it or none of it counts. (sled writes
//!   them one key after another, the record last but for the event id; the
//!   record's head says which notes and messages it vouches for and which
//!   event wrote it, see `encoding::Head`. sled recovers a prefix of its log,
//!   so whatever a head does not vouch for was never committed and is
//!   dropped at open. A sled transaction would cost two writes of sled's log
//!   buffer and its global lock, which waits for the flush in progress.)
//!   Flushes are batched: one flusher thread serves every writer
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
//! # On-disk layout (schema version 7)
//!
//! ```text
//! <dir>/                      mode 0700 (tightened with a warning if looser)
//!   db/                       sled 0.34 database; locked while open
//!   keys/                     mode 0700; files 0600
//!     ring                    b"gbring02" ‖ data directory id (16) ‖ bucket secret (32)
//!     NNNN.slots              bucket NNNN (0000–1023) of 64-byte slots:
//!                             user's number i64 BE ‖ handle (16) ‖ key (32) ‖
//!                             front end tag << 4 | flags (1) ‖ next reminder (7)
//! ```
//!
//! A user id is a front end and a number (`telegram:123`, [`UserId`]); the
//! slot keeps the front end's tag (Telegram 0, the terminal 1) in the high
//! half of the flags byte. A user's bucket is a keyed hash of their number
//! (the secret in `ring`). The handle is random; every sled key of the
//! user's data starts with it, but the outbox's, which is ordered by sequence
//! (its items live milliseconds; keyed by user they would touch leaves all
//! over the tree and leave dead copies of them in sled's log).
//!
//! | tree      | key                                   | value |
//! |-----------|---------------------------------------|-------|
//! | `meta`    | `schema_version`, `db_id`, `seq_floor`, `headed_from` | u32 BE 7; the id also in `keys/ring`; u64 BE: no outbox number at or above the floor was handed out; the first number schema 7 handed out |
//! | `records` | handle                                | nonce (24) ‖ XChaCha20Poly1305(head ‖ record), associated data handle ‖ 4 (before schema 7: the record alone, ‖ 1) |
//! | `notes`   | handle ‖ note number u32 BE           | sealed note, associated data handle ‖ 2 |
//! | `outbox`  | seq u64 BE ‖ bucket u16 BE ‖ handle   | sealed item, associated data handle ‖ 3 |
//! | `updates` | front end tag (1) ‖ event number, ordered i64 | empty; those within 100 000 of their front end's newest are kept |
//!
//! A value (record, note, outbox item) of 128 bytes or more is compressed
//! before sealing when that makes it shorter: zstd with a fixed dictionary
//! of what records are made of (`pack.rs`, `record.dict1`). How it was packed is in the last byte of
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
//! Schemas 2 (no compression) and 3 (DEFLATE only) are the same as 4
//! otherwise; opening them only writes the new version number, so that an
//! older guidebot refuses the directory rather than fail to read each
//! record. Schema 4's ids had no front end: moving to 5 rewrites the
//! `updates` keys as Telegram's and marks the slot of user 0 (the
//! terminal's local user) as the terminal's; every other slot already reads
//! as Telegram's (`migrate.rs`).
//!
//! Schema 7 puts a head in front of each record it writes: flags (1: an
//! event id follows; 2: a record follows the head), the event's `updates`
//! key (9), the user's outbox numbers below which items are committed (u64
//! BE), and their number of committed notes (u32 BE). A record from before
//! (sealed with kind 1) vouches for its user's items numbered below
//! `headed_from` and for all their notes; moving to 7 only writes
//! `headed_from` and the version.
//!
//! Schema 1 (one key file per user, records keyed by user id, a plain
//! reminder index) is migrated on first open and its key files shredded.
//!
//! # PostgreSQL (`postgres/`, storage schema version 3)
//!
//! Tables in the connection's schema (the first of its `search_path`;
//! `?options=-csearch_path%3DNAME` in the URL picks another), created when
//! missing at open, under an advisory lock so that processes starting
//! together do not race:
//!
//! | table | columns | |
//! |-------|---------|---|
//! | `guidebot_meta` | `name` text key, `value` | `schema_version` = 3 |
//! | `guidebot_keys` | `handle` bytea key (16 random bytes), `user_id` text (`telegram:123`), `farewell`, `key` bytea (32) | one per user (unique where not `farewell`), plus one per pending farewell |
//! | `guidebot_users` | `user_id` key, `handle` → keys (cascade), `record` sealed or NULL, `next_due` (indexed where set), `claimed_by`, `claim_until` | |
//! | `guidebot_notes` | (`user_id` → users (cascade), `n`) key, `value` sealed | |
//! | `guidebot_outbox` | `seq` identity key, `user_id`, `handle` → keys (cascade), `value` sealed | |
//! | `guidebot_updates` | (`front` text, `id` bigint) key | those within 100 000 of their front end's newest are kept |
//!
//! Values are sealed as in sled (XChaCha20Poly1305 with the user's key,
//! associated data the key's handle and the kind; records compressed first).
//! How the guarantees are kept:
//!
//! - Every write is one SQL transaction, durable when `COMMIT` returns
//!   (keep `synchronous_commit` on). Commit and erase first take a
//!   transaction-level advisory lock on a hash of the user id
//!   (`pg_advisory_xact_lock(hashtextextended(user_id, 0))`),
//!   so a user's writes from several processes apply one at a time; other
//!   users do not wait (two whose hashes meet wait for each other). The
//!   lock space is the database's: guidebot's one-number locks are keyed by
//!   these hashes. A database at schema 1 or 2 (ids were numbers) is moved
//!   to 3 at open, in the setup transaction (`sql::TO_3`).
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
//! - A server out of disk space (SQLSTATE 53100) rolls the write back: it
//!   is [`StoreError::DatabaseFull`], which the app treats as sled's full
//!   disk (nothing saved, the person told so); the log hears of it once
//!   until a write goes through again.
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

pub use crate::app::store::{Change, Durable, EventId, Front, Queued, Store, StoreError, Stored, UserId, chain};
pub use backup::{request_backup, restore};
pub use location::{Location, redact};
pub use memory::MemoryStore;
pub use postgres::{PostgresOptions, PostgresStore};
pub use sled_store::{SledStore, StoreOptions};
pub use transfer::{Copied, Transfer, copy};

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

    /// A Telegram user, as most tests use.
    pub(crate) fn u(n: i64) -> UserId {
        UserId::telegram(n)
    }

    /// A Telegram update id.
    pub(crate) fn e(n: i64) -> EventId {
        EventId::telegram(n)
    }

    fn change<'a>(record: &'a [u8]) -> Change<'a> {
        Change { record: Some(record), ..Change::default() }
    }

    /// Saves a user whose record, note and message all carry
    /// `SECRET-NOTE-4242`, with a reminder time and event 1: what the
    /// erasure tests then look for on disk.
    pub(crate) fn commit_secret(store: &dyn Store, user: UserId) {
        let notes = [b"note SECRET-NOTE-4242".to_vec()];
        let change = Change {
            record: Some(b"{\"note\":\"SECRET-NOTE-4242\"}"),
            notes: &notes,
            outbox: &[b"reply SECRET-NOTE-4242".to_vec()],
            next_due: Some(1_811_234_567),
            event: Some(e(1)),
            ..Change::default()
        };
        store.commit(user, &change).expect("save");
    }

    pub(crate) fn deferred(store: &dyn Store) {
        let items = [b"q".to_vec()];
        let change = Change { record: Some(b"deferred"), event: Some(e(4_000)), outbox: &items, ..Change::default() };
        let (seqs, durable) = store.commit_deferred(u(60), &change).expect("write");
        // Visible to this process at once, durable once waited for.
        assert_eq!(store.load(u(60)).expect("load").map(|s| s.record), Some(b"deferred".to_vec()));
        assert!(store.applied(e(4_000)).expect("applied"));
        durable.wait().expect("durable");
        store.delivered_deferred(u(60), seqs[0]).expect("mark").wait().expect("durable");
        assert!(store.pending().expect("pending").iter().all(|q| q.user != u(60)));
    }

    pub(crate) fn round_trip(store: &dyn Store) {
        assert_eq!(store.load(u(10)).expect("load"), None);
        store.commit(u(10), &change(b"{\"step\":\"start\"}")).expect("save");
        assert_eq!(store.load(u(10)).expect("load").map(|s| s.record), Some(b"{\"step\":\"start\"}".to_vec()));
        store.commit(u(-10), &change(b"")).expect("save an empty record");
        assert_eq!(store.load(u(-10)).expect("load").map(|s| s.record), Some(Vec::new()));
        store.commit(u(10), &change(b"second, longer")).expect("overwrite");
        assert_eq!(store.load(u(10)).expect("load").map(|s| s.record), Some(b"second, longer".to_vec()));
        let mut users = store.users().expect("users");
        users.sort_unstable();
        assert_eq!(users, vec![u(-10), u(10)]);
        // A commit without a record keeps the one stored.
        store.commit(u(10), &Change { next_due: Some(5), ..Change::default() }).expect("commit");
        assert_eq!(store.load(u(10)).expect("load").map(|s| s.record), Some(b"second, longer".to_vec()));
        // Someone who never had a record has none, whatever else was written for them.
        store.commit(u(11), &Change { outbox: &[b"hi".to_vec()], ..Change::default() }).expect("commit");
        assert_eq!(store.load(u(11)).expect("load"), None);
        assert!(!store.users().expect("users").contains(&u(11)));
    }

    pub(crate) fn notes_append(store: &dyn Store) {
        let first = [b"one".to_vec(), b"two".to_vec()];
        store.commit(u(20), &Change { record: Some(b"r"), notes: &first, ..Change::default() }).expect("notes");
        let third = [b"three".to_vec()];
        store.commit(u(20), &Change { notes_from: 2, notes: &third, ..Change::default() }).expect("more");
        let loaded = store.load(u(20)).expect("load").expect("stored");
        assert_eq!(loaded.record, b"r");
        assert_eq!(loaded.notes, vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]);
    }

    pub(crate) fn events_apply_once(store: &dyn Store) {
        assert!(!store.applied(e(700)).expect("applied"));
        store.commit(u(21), &Change { record: Some(b"x"), event: Some(e(700)), ..Change::default() }).expect("commit");
        assert!(store.applied(e(700)).expect("applied"));
        // An event that changed nothing but was answered is recorded too.
        store.commit(u(21), &Change { event: Some(e(-701)), ..Change::default() }).expect("commit");
        assert!(store.applied(e(-701)).expect("applied"));
        assert_eq!(store.load(u(21)).expect("load").map(|s| s.record), Some(b"x".to_vec()));
    }

    pub(crate) fn an_applied_event_is_refused_and_writes_nothing(store: &dyn Store) {
        let reply = [b"reply".to_vec()];
        store
            .commit(u(60), &Change { record: Some(b"first"), event: Some(e(800)), outbox: &reply, ..Change::default() })
            .expect("commit");
        let pending = store.pending().expect("pending");
        let again = Change {
            record: Some(b"second"),
            notes: &[b"note".to_vec()],
            event: Some(e(800)),
            outbox: &reply,
            next_due: Some(1),
            ..Change::default()
        };
        let refused = |r: Result<Vec<u64>, StoreError>| match r {
            Err(StoreError::AlreadyApplied { event }) => event,
            other => panic!("expected AlreadyApplied, got {other:?}"),
        };
        assert_eq!(refused(store.commit(u(60), &again)), e(800));
        assert_eq!(refused(store.commit(u(61), &again)), e(800), "whoever it is for");
        assert_eq!(refused(store.erase(u(60), Some(e(800)), &reply)), e(800), "erase too");
        let kept = store.load(u(60)).expect("load").expect("stored");
        assert_eq!((kept.record.as_slice(), kept.notes.len()), (&b"first"[..], 0));
        assert_eq!(store.load(u(61)).expect("load"), None);
        assert_eq!(store.pending().expect("pending"), pending, "no message was queued");
        assert_eq!(store.due(i64::MAX - 1).expect("due"), Vec::<UserId>::new(), "no reminder was set");
        // An id seen by first_delivery counts as applied.
        assert!(store.first_delivery(e(801)).expect("first"));
        assert_eq!(refused(store.commit(u(60), &Change { event: Some(e(801)), ..again })), e(801));
    }

    pub(crate) fn outbox_in_order(store: &dyn Store) {
        let items = [b"a".to_vec(), b"b".to_vec()];
        let first =
            store.commit(u(30), &Change { record: Some(b"r"), outbox: &items, ..Change::default() }).expect("c");
        let second = store.commit(u(31), &Change { outbox: &[b"c".to_vec()], ..Change::default() }).expect("c");
        assert_eq!(first.len(), 2);
        assert!(first[0] < first[1] && first[1] < second[0], "{first:?} {second:?}");
        let pending = store.pending().expect("pending");
        let seen: Vec<(UserId, &[u8])> = pending.iter().map(|q| (q.user, q.item.as_slice())).collect();
        assert_eq!(seen, vec![(u(30), &b"a"[..]), (u(30), &b"b"[..]), (u(31), &b"c"[..])]);
        store.delivered(u(30), first[0]).expect("delivered");
        store.delivered(u(30), first[0]).expect("twice is fine");
        store.delivered(u(31), first[1]).expect("another user's number changes nothing");
        let left: Vec<u64> = store.pending().expect("pending").iter().map(|q| q.seq).collect();
        assert_eq!(left, vec![first[1], second[0]]);
        store.delivered(u(30), first[1]).expect("delivered");
        store.delivered(u(31), second[0]).expect("delivered");
        assert_eq!(store.pending().expect("pending"), vec![]);
    }

    pub(crate) fn reminders_due(store: &dyn Store) {
        store.commit(u(40), &Change { record: Some(b"r"), next_due: Some(100), ..Change::default() }).expect("c");
        store.commit(u(41), &Change { record: Some(b"r"), next_due: Some(-5), ..Change::default() }).expect("c");
        store.commit(u(42), &Change { record: Some(b"r"), next_due: None, ..Change::default() }).expect("c");
        let due = |now| {
            let mut d = store.due(now).expect("due");
            d.sort_unstable();
            d
        };
        assert_eq!(due(-6), Vec::<UserId>::new());
        assert_eq!(due(-5), vec![u(41)]);
        assert_eq!(due(100), vec![u(40), u(41)]);
        assert_eq!(due(100), vec![u(40), u(41)], "asking again gives the same");
        store.commit(u(41), &Change { next_due: None, ..Change::default() }).expect("c");
        assert_eq!(due(i64::MAX - 1), vec![u(40)]);
        store.commit(u(40), &Change { next_due: Some(i64::MIN + 1), ..Change::default() }).expect("c");
        assert_eq!(due(0), vec![u(40)]);
        store.commit(u(40), &Change { next_due: None, ..Change::default() }).expect("c");
    }

    pub(crate) fn erase(store: &dyn Store) {
        let notes = [b"SECRET-NOTE-4242".to_vec()];
        store
            .commit(u(50), &Change { record: Some(b"rec"), notes: &notes, next_due: Some(5), ..Change::default() })
            .expect("save");
        store.commit(u(51), &change(b"neighbour")).expect("save");
        store.commit(u(50), &Change { outbox: &[b"unsent".to_vec()], ..Change::default() }).expect("queue");

        let farewell = store.erase(u(50), Some(e(900)), &[b"bye".to_vec()]).expect("erase");
        assert_eq!(store.load(u(50)).expect("load"), None);
        assert!(!store.users().expect("users").contains(&u(50)));
        assert!(!store.due(i64::MAX - 1).expect("due").contains(&u(50)));
        assert!(store.applied(e(900)).expect("applied"), "the erasing event stays applied");
        let pending = store.pending().expect("pending");
        assert_eq!(pending, vec![Queued { user: u(50), seq: farewell[0], item: b"bye".to_vec() }], "only the farewell");
        store.delivered(u(50), farewell[0]).expect("delivered");
        assert_eq!(store.pending().expect("pending"), vec![]);
        assert_eq!(store.load(u(51)).expect("load").map(|s| s.record), Some(b"neighbour".to_vec()));
        store.erase(u(50), None, &[]).expect("erasing twice is fine");

        // A user can come back after erasure, with nothing of before.
        store.commit(u(50), &change(b"fresh start")).expect("save");
        let back = store.load(u(50)).expect("load").expect("stored");
        assert_eq!((back.record.as_slice(), back.notes.len()), (&b"fresh start"[..], 0));
        store.erase(u(50), None, &[]).expect("erase");
        store.erase(u(51), None, &[]).expect("erase");
        assert_eq!(store.users().expect("users"), Vec::<UserId>::new());
    }

    pub(crate) fn first_delivery(store: &dyn Store) {
        assert!(store.first_delivery(e(7)).expect("first"));
        assert!(!store.first_delivery(e(7)).expect("second"));
        assert!(store.first_delivery(e(-7)).expect("negative ids are distinct"));
        assert!(!store.first_delivery(e(-7)).expect("second"));
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
                            event: Some(e(user)),
                            next_due: Some(user),
                            ..Change::default()
                        };
                        store.commit(u(user), &change).expect("commit");
                    }
                });
            }
        });
        let mut users = store.users().expect("users");
        users.sort_unstable();
        let expected: Vec<i64> = (0..threads).flat_map(|t| (0..per_thread).map(move |i| 1_000 + t * 100 + i)).collect();
        assert_eq!(users, expected.iter().map(|&n| u(n)).collect::<Vec<_>>());
        for user in expected {
            let stored = store.load(u(user)).expect("load").expect("stored");
            assert_eq!(stored.record, format!("record {user}").into_bytes());
            assert_eq!(stored.notes, vec![format!("note {user}").into_bytes()]);
            assert!(store.applied(e(user)).expect("applied"));
        }
        assert_eq!(store.due(1_000 + 99).expect("due").len(), per_thread as usize);
    }
}
