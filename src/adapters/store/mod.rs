//! Storage: everything guidebot persists goes through the [`Store`] trait.
//!
//! Two implementations: [`SledStore`] on disk (sled 0.34) and [`MemoryStore`]
//! for tests and benchmarks. Records are opaque bytes here; serialising
//! `Progress` and `Notes` is the caller's job, so this module never sees a
//! domain type, and never logs anything but user ids, update ids and
//! reminder ids.
//!
//! # Guarantees
//!
//! - Every change (`save`, `erase`, `first_delivery` returning `true`,
//!   `schedule_reminder`, `remove_reminder`) is flushed to disk before the
//!   call returns. Flushes are batched: one flusher thread serves every
//!   writer waiting at that moment (group commit, see `flusher.rs`).
//! - `erase` leaves nothing readable of what the user typed: the record is
//!   encrypted with a per-user key, and erase destroys that key after the
//!   removal is durable (crypto-shredding, see `keyring.rs`). Limitation: on
//!   copy-on-write filesystems or flash, overwriting the key file does not
//!   guarantee its old blocks are gone; removing it still takes it out of
//!   reach of anything that reads the directory.
//! - A second process cannot open the same directory (sled's file lock);
//!   it gets [`StoreError::InUse`].
//!
//! # On-disk layout (schema version 1)
//!
//! ```text
//! <dir>/                      mode 0700, created by `SledStore::open`
//!   db/                       sled 0.34 database (its own files: conf, db,
//!                             blobs/, snap.*); locked while open
//!   keys/                     mode 0700
//!     <user id>.key           mode 0600; exactly 32 random bytes, the
//!                             XChaCha20Poly1305 key of that user; the name is
//!                             the decimal i64 (may be negative: group chats)
//! ```
//!
//! sled trees (`BE` = big-endian; `ord` = big-endian with the sign bit
//! flipped, so that byte order is numeric order):
//!
//! | tree                | key                                   | value |
//! |---------------------|---------------------------------------|-------|
//! | `meta`              | `b"schema_version"`                   | u32 BE, currently 1 |
//! | `users`             | user id, i64 BE (8 bytes)             | nonce (24 bytes) ‖ XChaCha20Poly1305 ciphertext+tag of the record; associated data = user id as i64 BE |
//! | `reminders`         | at ord(i64) ‖ user ord(i64) ‖ id UTF-8 | empty |
//! | `reminders_by_user` | user ord(i64) ‖ at ord(i64) ‖ id UTF-8 | empty (index of `reminders`, kept in the same transaction) |
//! | `updates`           | update id ord(i64)                    | empty; only the newest ~10 000 are kept |
//!
//! `at` is a unix time in seconds. A record is written only after its key
//! file has been created and fsynced (file and directory). A record whose
//! key file is missing reads as absent. On open, key files of users without
//! a record are shredded: they are left over from an erase interrupted
//! between its flush and its shredding.
//!
//! Version rules: a new store gets version 1; a store with a higher version
//! is refused with [`StoreError::SchemaTooNew`]. A future version 2 must
//! migrate in `SledStore::open` and bump the number last.

mod encoding;
mod error;
mod flusher;
mod keyring;
mod memory;
mod sled_store;

pub use error::StoreError;
pub use memory::MemoryStore;
pub use sled_store::SledStore;

/// A Telegram user (or chat) id.
pub type UserId = i64;

/// A scheduled reminder. Holds ids only: no user-typed text is stored in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminder {
    /// Due time, unix seconds.
    pub at: i64,
    /// Whom to remind.
    pub user: UserId,
    /// Which reminder (a guide-defined id, not user text).
    pub id: String,
}

/// The one storage trait: everything the app persists goes through it.
pub trait Store: Send + Sync {
    /// The user's record (opaque bytes, already serialised by the caller), or None.
    fn load(&self, user: UserId) -> Result<Option<Vec<u8>>, StoreError>;
    /// Replace the user's record atomically; when it returns Ok the write is
    /// durable (flushed to disk).
    fn save(&self, user: UserId, record: &[u8]) -> Result<(), StoreError>;
    /// Erase everything of this user (record, reminders) durably, so that
    /// nothing they typed stays readable in the data directory.
    fn erase(&self, user: UserId) -> Result<(), StoreError>;
    /// Every user with a record.
    fn users(&self) -> Result<Vec<UserId>, StoreError>;
    /// Remember a Telegram update id; Ok(true) the first time (durable before
    /// returning), Ok(false) if already seen. Only the newest ~10 000 ids are
    /// kept, so a very old id counts as new again.
    fn first_delivery(&self, update_id: i64) -> Result<bool, StoreError>;
    /// Schedules a reminder for `user` at `at` (unix seconds), durably.
    /// Scheduling the same (at, user, id) twice keeps one.
    fn schedule_reminder(&self, at: i64, user: UserId, id: &str) -> Result<(), StoreError>;
    /// All reminders with `at <= now`, oldest first.
    fn due_reminders(&self, now: i64) -> Result<Vec<Reminder>, StoreError>;
    /// All reminders of one user, oldest first.
    fn reminders_of(&self, user: UserId) -> Result<Vec<Reminder>, StoreError>;
    /// Remove one reminder durably (after it was sent, or when cancelled).
    /// Removing a reminder that does not exist is not an error.
    fn remove_reminder(&self, r: &Reminder) -> Result<(), StoreError>;
}

/// Behaviour every [`Store`] must show, written once and run against each
/// implementation from its own tests.
#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn reminder(at: i64, user: UserId, id: &str) -> Reminder {
        Reminder { at, user, id: id.to_owned() }
    }

    /// Runs every shared check on `store`, which must be empty.
    pub(crate) fn check_all(store: &dyn Store) {
        round_trip(store);
        overwrite(store);
        erase(store);
        first_delivery(store);
        reminders_order_and_due_boundaries(store);
    }

    fn round_trip(store: &dyn Store) {
        assert_eq!(store.load(10).expect("load"), None);
        store.save(10, b"{\"step\":\"start\"}").expect("save");
        assert_eq!(store.load(10).expect("load"), Some(b"{\"step\":\"start\"}".to_vec()));
        store.save(-10, b"").expect("save an empty record");
        assert_eq!(store.load(-10).expect("load"), Some(Vec::new()));
        let mut users = store.users().expect("users");
        users.sort_unstable();
        assert_eq!(users, vec![-10, 10]);
    }

    fn overwrite(store: &dyn Store) {
        store.save(20, b"first").expect("save");
        store.save(20, b"second, longer").expect("save");
        assert_eq!(store.load(20).expect("load"), Some(b"second, longer".to_vec()));
    }

    fn erase(store: &dyn Store) {
        store.save(30, b"SECRET-NOTE-4242").expect("save");
        store.save(31, b"neighbour").expect("save");
        store.schedule_reminder(100, 30, "a").expect("schedule");
        store.schedule_reminder(-100, 30, "b").expect("schedule");
        store.schedule_reminder(100, 31, "a").expect("schedule");

        store.erase(30).expect("erase");
        assert_eq!(store.load(30).expect("load"), None);
        assert_eq!(store.reminders_of(30).expect("reminders"), vec![]);
        assert!(!store.users().expect("users").contains(&30));
        // The neighbour is untouched.
        assert_eq!(store.load(31).expect("load"), Some(b"neighbour".to_vec()));
        assert_eq!(store.reminders_of(31).expect("reminders"), vec![reminder(100, 31, "a")]);
        store.erase(30).expect("erasing twice is fine");

        // A user can come back after erasure.
        store.save(30, b"fresh start").expect("save");
        assert_eq!(store.load(30).expect("load"), Some(b"fresh start".to_vec()));

        store.erase(31).expect("erase");
        store.erase(30).expect("erase");
    }

    fn first_delivery(store: &dyn Store) {
        assert!(store.first_delivery(7).expect("first"));
        assert!(!store.first_delivery(7).expect("second"));
        assert!(store.first_delivery(-7).expect("negative ids are distinct"));
        assert!(!store.first_delivery(-7).expect("second"));
    }

    fn reminders_order_and_due_boundaries(store: &dyn Store) {
        store.schedule_reminder(5, 2, "x").expect("schedule");
        store.schedule_reminder(-5, 2, "y").expect("schedule");
        store.schedule_reminder(0, 1, "z").expect("schedule");
        store.schedule_reminder(5, -1, "w").expect("schedule");
        store.schedule_reminder(i64::MIN, 1, "first").expect("schedule");
        store.schedule_reminder(i64::MAX, 1, "last").expect("schedule");
        store.schedule_reminder(5, 2, "x").expect("scheduling twice keeps one");

        assert_eq!(store.due_reminders(i64::MIN).expect("due"), vec![reminder(i64::MIN, 1, "first")]);
        assert_eq!(store.due_reminders(-6).expect("due").len(), 1);
        assert_eq!(store.due_reminders(-5).expect("due"), vec![reminder(i64::MIN, 1, "first"), reminder(-5, 2, "y"),]);
        assert_eq!(
            store.due_reminders(4).expect("due"),
            vec![reminder(i64::MIN, 1, "first"), reminder(-5, 2, "y"), reminder(0, 1, "z"),]
        );
        let at_five = vec![
            reminder(i64::MIN, 1, "first"),
            reminder(-5, 2, "y"),
            reminder(0, 1, "z"),
            reminder(5, -1, "w"),
            reminder(5, 2, "x"),
        ];
        assert_eq!(store.due_reminders(5).expect("due"), at_five);
        let mut all = at_five.clone();
        all.push(reminder(i64::MAX, 1, "last"));
        assert_eq!(store.due_reminders(i64::MAX).expect("due"), all);

        assert_eq!(
            store.reminders_of(1).expect("of"),
            vec![reminder(i64::MIN, 1, "first"), reminder(0, 1, "z"), reminder(i64::MAX, 1, "last"),]
        );
        assert_eq!(store.reminders_of(2).expect("of"), vec![reminder(-5, 2, "y"), reminder(5, 2, "x"),]);

        store.remove_reminder(&reminder(-5, 2, "y")).expect("remove");
        store.remove_reminder(&reminder(-5, 2, "y")).expect("removing twice is fine");
        assert_eq!(store.reminders_of(2).expect("of"), vec![reminder(5, 2, "x")]);
        assert_eq!(store.due_reminders(-5).expect("due"), vec![reminder(i64::MIN, 1, "first")]);
        for r in store.due_reminders(i64::MAX).expect("due") {
            store.remove_reminder(&r).expect("remove");
        }
        assert_eq!(store.due_reminders(i64::MAX).expect("due"), vec![]);
    }
}
