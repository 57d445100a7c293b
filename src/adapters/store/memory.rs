//! [`MemoryStore`]: the [`Store`] in memory, for tests and benchmarks.
//!
//! Same behaviour as [`super::SledStore`] minus the disk: nothing is
//! encrypted, "durable" means "in this process". One mutex guards it all,
//! which is fine for tests and makes benchmarks measure the engine, not I/O.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{Mutex, MutexGuard, PoisonError},
};

use super::{Change, EventId, Queued, Store, StoreError, Stored, UserId, transfer::Transfer};

/// The store in memory.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    users: HashMap<UserId, Stored>,
    due: HashMap<UserId, i64>,
    updates: BTreeSet<EventId>,
    outbox: BTreeMap<u64, (UserId, Vec<u8>)>,
    seq: u64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every operation leaves the maps consistent before it can panic.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn queue(inner: &mut Inner, user: UserId, items: &[Vec<u8>]) -> Vec<u64> {
        items
            .iter()
            .map(|item| {
                let seq = inner.seq;
                inner.seq += 1;
                inner.outbox.insert(seq, (user, item.clone()));
                seq
            })
            .collect()
    }
}

impl Store for MemoryStore {
    fn load(&self, user: UserId) -> Result<Option<Stored>, StoreError> {
        Ok(self.lock().users.get(&user).cloned())
    }

    fn applied(&self, event: EventId) -> Result<bool, StoreError> {
        Ok(self.lock().updates.contains(&event))
    }

    fn commit(&self, user: UserId, change: &Change<'_>) -> Result<Vec<u64>, StoreError> {
        let mut inner = self.lock();
        if let Some(event) = change.event.filter(|id| inner.updates.contains(id)) {
            return Err(StoreError::AlreadyApplied { event });
        }
        // Checked as a shared store does, so that tests can run several apps on one.
        if let Some((base, _)) = change.versions
            && inner.users.get(&user).map_or(0, |s| s.version) != base
        {
            return Err(StoreError::Stale { user });
        }
        if change.record.is_some() || inner.users.contains_key(&user) {
            let stored =
                inner.users.entry(user).or_insert_with(|| Stored { record: Vec::new(), notes: Vec::new(), version: 0 });
            if let Some(record) = change.record {
                stored.record = record.to_vec();
                stored.version = change.versions.map_or(stored.version.wrapping_add(1), |(_, next)| next);
            }
            stored.notes.truncate(change.notes_from);
            stored.notes.extend(change.notes.iter().cloned());
        }
        match change.next_due {
            Some(at) => inner.due.insert(user, at),
            None => inner.due.remove(&user),
        };
        if let Some(id) = change.event {
            inner.updates.insert(id);
        }
        Ok(Self::queue(&mut inner, user, change.outbox))
    }

    fn erase(&self, user: UserId, event: Option<EventId>, farewell: &[Vec<u8>]) -> Result<Vec<u64>, StoreError> {
        let mut inner = self.lock();
        if let Some(event) = event.filter(|id| inner.updates.contains(id)) {
            return Err(StoreError::AlreadyApplied { event });
        }
        inner.users.remove(&user);
        inner.due.remove(&user);
        inner.outbox.retain(|_, (u, _)| *u != user);
        if let Some(id) = event {
            inner.updates.insert(id);
        }
        Ok(Self::queue(&mut inner, user, farewell))
    }

    fn users(&self) -> Result<Vec<UserId>, StoreError> {
        Ok(self.lock().users.keys().copied().collect())
    }

    fn due(&self, now: i64) -> Result<Vec<UserId>, StoreError> {
        Ok(self.lock().due.iter().filter(|(_, at)| **at <= now).map(|(u, _)| *u).collect())
    }

    fn pending(&self) -> Result<Vec<Queued>, StoreError> {
        Ok(self
            .lock()
            .outbox
            .iter()
            .map(|(seq, (user, item))| Queued { user: *user, seq: *seq, item: item.clone() })
            .collect())
    }

    fn delivered(&self, user: UserId, seq: u64) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if inner.outbox.get(&seq).is_some_and(|(u, _)| *u == user) {
            inner.outbox.remove(&seq);
        }
        Ok(())
    }

    fn first_delivery(&self, event: EventId) -> Result<bool, StoreError> {
        Ok(self.lock().updates.insert(event))
    }

    fn defers_durability(&self) -> bool {
        // Nothing here waits for anything.
        true
    }
}

impl Transfer for MemoryStore {
    fn reminder_times(&self) -> Result<Vec<(UserId, i64)>, StoreError> {
        Ok(self.lock().due.iter().map(|(u, at)| (*u, *at)).collect())
    }

    fn applied_ids(&self) -> Result<Vec<EventId>, StoreError> {
        Ok(self.lock().updates.iter().copied().collect())
    }

    fn import_applied(&self, ids: &[EventId]) -> Result<(), StoreError> {
        self.lock().updates.extend(ids);
        Ok(())
    }

    fn contents(&self) -> Result<Option<String>, StoreError> {
        let inner = self.lock();
        let (users, outbox, updates) = (inner.users.len(), inner.outbox.len(), inner.updates.len());
        Ok((users + outbox + updates > 0)
            .then(|| format!("it holds {users} users, {outbox} messages to send and {updates} update ids")))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests as shared;
    use super::*;

    shared::conformance_tests!(|| Some(shared::Fresh { store: Box::new(MemoryStore::new()), keep: Box::new(()) }));
}
