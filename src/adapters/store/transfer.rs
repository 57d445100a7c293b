//! `guidebot migrate`: copies one store into another of any kind (sled to
//! PostgreSQL and back) through the [`Store`] trait, plus the few things the
//! trait does not list ([`Transfer`]).
//!
//! What is copied: every user's record and notes, their next reminder time,
//! every message still to be sent (in order, per user), and the applied
//! event ids (so that an update Telegram sends again after the move is not
//! applied twice). Each user is written in one commit; a user's messages go
//! with them. Messages of a user who has no record (a farewell after an
//! erase, a reply to someone who never started a guide) are queued as an
//! erase's farewell is: under a key of their own, dropped once delivered.
//! Afterwards every user is read back from the target and compared.
//!
//! Values are opened with the source's keys and sealed again with the
//! target's: no key is carried over.

use std::collections::{BTreeMap, HashMap};

use super::{
    Change, EventId, SledStore, Store, StoreError, Stored, UserId, encoding,
    slots::{NEVER, flag},
};

/// What `guidebot migrate` needs of a store beyond [`Store`].
pub trait Transfer: Store {
    /// Every user with a next reminder time, and that time.
    fn reminder_times(&self) -> Result<Vec<(UserId, i64)>, StoreError>;
    /// Every applied event id the store keeps.
    fn applied_ids(&self) -> Result<Vec<EventId>, StoreError>;
    /// Records `ids` as applied, durably, in one write.
    fn import_applied(&self, ids: &[EventId]) -> Result<(), StoreError>;
    /// None when the store holds nothing at all; else what it holds, in words.
    fn contents(&self) -> Result<Option<String>, StoreError>;
}

/// What [`copy`] copied.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Copied {
    pub users: usize,
    pub notes: usize,
    pub reminders: usize,
    pub messages: usize,
    pub events: usize,
}

/// Users copied (and compared) at once: both stores serve several writers
/// at a time (sled flushes them together, PostgreSQL runs them side by side).
const WORKERS: usize = 4;

/// Copies everything in `from` into `to`, which must be empty (`to_name`
/// names it in the error), then reads every user back from `to` and
/// compares. `from` must not change meanwhile: stop the bots first.
pub fn copy(from: &dyn Transfer, to: &dyn Transfer, to_name: &str) -> Result<Copied, StoreError> {
    if let Some(detail) = to.contents()? {
        return Err(StoreError::TargetNotEmpty { target: to_name.to_owned(), detail });
    }
    let times: HashMap<UserId, i64> = from.reminder_times()?.into_iter().collect();
    let mut messages: BTreeMap<UserId, Vec<Vec<u8>>> = BTreeMap::new();
    for q in from.pending()? {
        messages.entry(q.user).or_default().push(q.item);
    }
    let mut users = from.users()?;
    users.sort_unstable();
    let mut copied = in_parallel(&users, |user| {
        let Some(stored) = from.load(user)? else { return Ok(Copied::default()) };
        let items = messages.get(&user).map_or(&[][..], Vec::as_slice);
        let next_due = times.get(&user).copied();
        let change = Change {
            record: Some(&stored.record),
            notes_from: 0,
            notes: &stored.notes,
            event: None,
            outbox: items,
            next_due,
            // A copy into an empty store: nothing to be stale against.
            versions: None,
        };
        to.commit(user, &change)?;
        Ok(Copied {
            users: 1,
            notes: stored.notes.len(),
            reminders: usize::from(next_due.is_some()),
            messages: items.len(),
            events: 0,
        })
    })?;
    for (user, items) in &messages {
        if users.binary_search(user).is_err() {
            to.erase(*user, None, items)?;
            copied.messages += items.len();
        }
    }
    let ids = from.applied_ids()?;
    to.import_applied(&ids)?;
    copied.events = ids.len();
    verify(from, to, &users)?;
    Ok(copied)
}

/// Runs `each` for every user on [`WORKERS`] threads; the counts added up,
/// or the first error.
fn in_parallel(
    users: &[UserId],
    each: impl Fn(UserId) -> Result<Copied, StoreError> + Sync,
) -> Result<Copied, StoreError> {
    let each = &each;
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                scope.spawn(move || {
                    let mut sum = Copied::default();
                    for &user in users.iter().skip(w).step_by(WORKERS) {
                        let c = each(user)?;
                        sum.users += c.users;
                        sum.notes += c.notes;
                        sum.reminders += c.reminders;
                        sum.messages += c.messages;
                    }
                    Ok(sum)
                })
            })
            .collect();
        let mut total = Copied::default();
        for worker in workers {
            let sum: Copied = worker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            total.users += sum.users;
            total.notes += sum.notes;
            total.reminders += sum.reminders;
            total.messages += sum.messages;
        }
        Ok(total)
    })
}

/// Every user of `users` reads back from `to` as from `from`, with the same reminder time.
fn verify(from: &dyn Transfer, to: &dyn Transfer, users: &[UserId]) -> Result<(), StoreError> {
    let differ = |detail: String| StoreError::Corrupt { tree: "the copy", detail };
    let mut copied = to.users()?;
    copied.sort_unstable();
    if copied != users {
        return Err(differ(format!("{} users were copied, {} read back", users.len(), copied.len())));
    }
    in_parallel(users, |user| {
        // Versions are each store's own; what the user holds must be the same.
        let contents = |s: Option<Stored>| s.map(|s| (s.record, s.notes));
        if contents(from.load(user)?) == contents(to.load(user)?) {
            Ok(Copied::default())
        } else {
            Err(differ(format!("user {user} reads back differently")))
        }
    })?;
    let mut a = from.reminder_times()?;
    let mut b = to.reminder_times()?;
    a.sort_unstable();
    b.sort_unstable();
    if a != b {
        return Err(differ("the reminder times read back differently".to_owned()));
    }
    Ok(())
}

impl Transfer for SledStore {
    fn reminder_times(&self) -> Result<Vec<(UserId, i64)>, StoreError> {
        Ok(self
            .slots
            .all()?
            .into_iter()
            .filter(|s| s.flags & (flag::FAREWELL | flag::ERASING) == 0 && s.next_due != NEVER)
            .map(|s| (s.user, s.next_due))
            .collect())
    }

    fn applied_ids(&self) -> Result<Vec<EventId>, StoreError> {
        self.updates
            .iter()
            .keys()
            .map(|k| encoding::decode_update_key(&k.map_err(StoreError::db("reading update ids"))?))
            .collect()
    }

    fn import_applied(&self, ids: &[EventId]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for id in ids {
            batch.insert(&encoding::update_key(*id), &[] as &[u8]);
        }
        self.updates.apply_batch(batch).map_err(StoreError::db("recording update ids"))?;
        self.flush_now()
    }

    fn contents(&self) -> Result<Option<String>, StoreError> {
        let slots = self.slots.all()?.len();
        let (outbox, updates) = (self.outbox.len(), self.updates.len());
        Ok((slots + outbox + updates > 0)
            .then(|| format!("it holds {slots} key slots, {outbox} messages to send and {updates} update ids")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::store::tests::{e, u};
    use crate::adapters::store::{MemoryStore, StoreOptions};

    fn sled(dir: &std::path::Path) -> SledStore {
        SledStore::open_with(dir, StoreOptions { min_free_bytes: 0, ..StoreOptions::default() }).expect("open")
    }

    /// A store with two users (notes, a reminder, an unsent message), a
    /// farewell of an erased user, and applied ids.
    pub(crate) fn fill(store: &dyn Store) {
        let notes = [b"n1".to_vec(), b"n2".to_vec()];
        store
            .commit(
                u(1),
                &Change {
                    record: Some(b"one"),
                    notes: &notes,
                    next_due: Some(1_900_000_000),
                    outbox: &[b"to one".to_vec(), b"again".to_vec()],
                    event: Some(e(10)),
                    ..Change::default()
                },
            )
            .expect("c");
        store.commit(u(-2), &Change { record: Some(b"two"), event: Some(e(11)), ..Change::default() }).expect("c");
        store.commit(u(3), &Change { record: Some(b"three"), ..Change::default() }).expect("c");
        store.erase(u(3), Some(e(12)), &[b"bye".to_vec()]).expect("erase");
        assert!(store.first_delivery(e(13)).expect("first"));
    }

    /// `to` holds what [`fill`] wrote.
    pub(crate) fn check_filled(to: &dyn Transfer) {
        let mut users = to.users().expect("users");
        users.sort_unstable();
        assert_eq!(users, vec![u(-2), u(1)]);
        let one = to.load(u(1)).expect("load").expect("user 1");
        assert_eq!((one.record.as_slice(), one.notes.len()), (&b"one"[..], 2));
        assert_eq!(to.reminder_times().expect("times"), vec![(u(1), 1_900_000_000)]);
        let pending: Vec<(UserId, Vec<u8>)> =
            to.pending().expect("pending").into_iter().map(|q| (q.user, q.item)).collect();
        assert_eq!(pending, vec![(u(1), b"to one".to_vec()), (u(1), b"again".to_vec()), (u(3), b"bye".to_vec())]);
        for id in [10, 11, 12, 13] {
            assert!(to.applied(e(id)).expect("applied"), "{id}");
        }
    }

    #[test]
    fn sled_to_memory_to_sled_keeps_everything_and_refuses_a_non_empty_target() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let source = sled(&tmp.path().join("a"));
        fill(&source);
        let middle = MemoryStore::new();
        let copied = copy(&source, &middle, "memory").expect("copy");
        assert_eq!(copied, Copied { users: 2, notes: 2, reminders: 1, messages: 3, events: 4 });
        check_filled(&middle);
        let back = sled(&tmp.path().join("b"));
        copy(&middle, &back, "sled:b").expect("copy back");
        check_filled(&back);
        // The farewell still drops its key once delivered.
        let farewell = back.pending().expect("pending").into_iter().find(|q| q.user == u(3)).expect("farewell");
        back.delivered(u(3), farewell.seq).expect("delivered");
        assert!(back.slots.all().expect("slots").iter().all(|s| s.user != u(3)), "no slot of the erased user is left");

        let err = copy(&source, &back, "sled:b").expect_err("not empty");
        assert!(matches!(&err, StoreError::TargetNotEmpty { target, .. } if target == "sled:b"), "{err:?}");
        assert!(err.to_string().contains("migrate only into a new or empty store"), "{err}");
    }

    #[test]
    fn sled_to_postgres_to_sled_keeps_everything() {
        let Some(schema) = crate::adapters::store::postgres::tests::TestSchema::new() else { return };
        let tmp = tempfile::tempdir().expect("tempdir");
        let source = sled(&tmp.path().join("a"));
        fill(&source);
        let pg = schema.open();
        let copied = copy(&source, &pg, "pg").expect("copy");
        assert_eq!(copied, Copied { users: 2, notes: 2, reminders: 1, messages: 3, events: 4 });
        check_filled(&pg);
        let err = copy(&source, &pg, "pg").expect_err("not empty");
        assert!(matches!(err, StoreError::TargetNotEmpty { .. }), "{err:?}");
        let back = sled(&tmp.path().join("b"));
        copy(&pg, &back, "sled:b").expect("copy back");
        check_filled(&back);
        // In PostgreSQL too the farewell's key goes with its message.
        let farewell = pg.pending().expect("pending").into_iter().find(|q| q.user == u(3)).expect("farewell");
        pg.delivered(u(3), farewell.seq).expect("delivered");
        let keys: i64 = schema
            .client()
            .query_one("SELECT count(*) FROM guidebot_keys WHERE user_id = 'telegram:3'", &[])
            .expect("q")
            .get(0);
        assert_eq!(keys, 0);
    }
}
