//! [`MemoryStore`]: the [`Store`] in memory, for tests and benchmarks.
//!
//! Same behaviour as [`super::SledStore`] minus the disk: nothing is
//! encrypted, "durable" means "in this process". One mutex guards it all,
//! which is fine for tests and makes benchmarks measure the engine, not I/O.

use std::{
    collections::{BTreeSet, HashMap},
    sync::{Mutex, MutexGuard, PoisonError},
};

use super::{Reminder, Store, StoreError, UserId};

/// How many update ids are remembered, as in the sled store.
const UPDATES_KEPT: usize = 10_000;

/// The store in memory.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    records: HashMap<UserId, Vec<u8>>,
    updates: BTreeSet<i64>,
    /// Ordered like the sled tree: by time, then user, then id.
    reminders: BTreeSet<(i64, UserId, String)>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The maps stay consistent even if a holder panicked: every
        // operation is a single insert or remove.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Store for MemoryStore {
    fn load(&self, user: UserId) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().records.get(&user).cloned())
    }

    fn save(&self, user: UserId, record: &[u8]) -> Result<(), StoreError> {
        self.lock().records.insert(user, record.to_vec());
        Ok(())
    }

    fn erase(&self, user: UserId) -> Result<(), StoreError> {
        let mut inner = self.lock();
        inner.records.remove(&user);
        inner.reminders.retain(|(_, u, _)| *u != user);
        Ok(())
    }

    fn users(&self) -> Result<Vec<UserId>, StoreError> {
        Ok(self.lock().records.keys().copied().collect())
    }

    fn first_delivery(&self, update_id: i64) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        if !inner.updates.insert(update_id) {
            return Ok(false);
        }
        while inner.updates.len() > UPDATES_KEPT {
            inner.updates.pop_first();
        }
        Ok(true)
    }

    fn schedule_reminder(&self, at: i64, user: UserId, id: &str) -> Result<(), StoreError> {
        self.lock().reminders.insert((at, user, id.to_owned()));
        Ok(())
    }

    fn due_reminders(&self, now: i64) -> Result<Vec<Reminder>, StoreError> {
        Ok(self.lock().reminders.iter().take_while(|(at, _, _)| *at <= now).map(to_reminder).collect())
    }

    fn reminders_of(&self, user: UserId) -> Result<Vec<Reminder>, StoreError> {
        Ok(self.lock().reminders.iter().filter(|(_, u, _)| *u == user).map(to_reminder).collect())
    }

    fn remove_reminder(&self, r: &Reminder) -> Result<(), StoreError> {
        self.lock().reminders.remove(&(r.at, r.user, r.id.clone()));
        Ok(())
    }
}

fn to_reminder((at, user, id): &(i64, UserId, String)) -> Reminder {
    Reminder { at: *at, user: *user, id: id.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_the_shared_behaviour_checks() {
        super::super::tests::check_all(&MemoryStore::new());
    }

    #[test]
    fn keeps_only_the_newest_update_ids() {
        let store = MemoryStore::new();
        for id in 0..(UPDATES_KEPT as i64 + 5) {
            assert!(store.first_delivery(id).expect("first"));
        }
        assert_eq!(store.lock().updates.len(), UPDATES_KEPT);
        assert!(!store.first_delivery(UPDATES_KEPT as i64 + 4).expect("newest kept"));
        assert!(store.first_delivery(0).expect("oldest forgotten"));
    }
}
