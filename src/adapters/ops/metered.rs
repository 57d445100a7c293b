//! [`Metered`]: a [`Store`] that counts its failures. It wraps the store the
//! app is given, so every store call of the process, wherever it is made, is
//! counted at this one place (`guidebot_store_errors_total`). A deferred
//! write's flush failing later is not seen here (it reaches the caller
//! through its `Durable`).
//!
//! It forwards every method of the trait, those with a default included: a
//! method added to [`Store`] must be added here too (the test below checks
//! that the store's own answers come through).

use std::sync::Arc;

use super::Metrics;
use crate::adapters::store::{Change, Durable, EventId, Queued, Store, StoreError, Stored, UserId};

/// `inner`, with each failed call counted.
pub struct Metered {
    inner: Arc<dyn Store>,
    metrics: Metrics,
}

impl Metered {
    /// `store` as the app uses it, its failures counted in `metrics`.
    pub fn wrap(store: Arc<dyn Store>, metrics: &Metrics) -> Arc<dyn Store> {
        Arc::new(Metered { inner: store, metrics: metrics.clone() })
    }

    fn count<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        // A repeated event, or a user another process changed first, is refused
        // by design (the app then reads again): not a failure.
        if result.as_ref().is_err_and(|e| !matches!(e, StoreError::AlreadyApplied { .. } | StoreError::Stale { .. })) {
            self.metrics.store_error();
        }
        result
    }
}

impl Store for Metered {
    fn load(&self, user: UserId) -> Result<Option<Stored>, StoreError> {
        self.count(self.inner.load(user))
    }

    fn applied(&self, event: EventId) -> Result<bool, StoreError> {
        self.count(self.inner.applied(event))
    }

    fn commit(&self, user: UserId, change: &Change<'_>) -> Result<Vec<u64>, StoreError> {
        self.count(self.inner.commit(user, change))
    }

    fn erase(&self, user: UserId, event: Option<EventId>, farewell: &[Vec<u8>]) -> Result<Vec<u64>, StoreError> {
        self.count(self.inner.erase(user, event, farewell))
    }

    fn users(&self) -> Result<Vec<UserId>, StoreError> {
        self.count(self.inner.users())
    }

    fn due(&self, now: i64) -> Result<Vec<UserId>, StoreError> {
        self.count(self.inner.due(now))
    }

    fn pending(&self) -> Result<Vec<Queued>, StoreError> {
        self.count(self.inner.pending())
    }

    fn delivered(&self, user: UserId, seq: u64) -> Result<(), StoreError> {
        self.count(self.inner.delivered(user, seq))
    }

    fn first_delivery(&self, event: EventId) -> Result<bool, StoreError> {
        self.count(self.inner.first_delivery(event))
    }

    fn adopt(&self) -> Result<Vec<Queued>, StoreError> {
        self.count(self.inner.adopt())
    }

    // Every method, those with a default too: a default here would hide the store's own.
    fn defers_durability(&self) -> bool {
        self.inner.defers_durability()
    }

    fn commit_deferred(&self, user: UserId, change: &Change<'_>) -> Result<(Vec<u64>, Durable), StoreError> {
        self.count(self.inner.commit_deferred(user, change))
    }

    fn delivered_deferred(&self, user: UserId, seq: u64) -> Result<Durable, StoreError> {
        self.count(self.inner.delivered_deferred(user, seq))
    }

    fn delivered_unhurried(&self, user: UserId, seq: u64) -> Result<(), StoreError> {
        self.count(self.inner.delivered_unhurried(user, seq))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::store::MemoryStore;

    #[test]
    fn a_metered_store_behaves_like_the_store() {
        let metrics = Metrics::new();
        let store = Metered::wrap(Arc::new(MemoryStore::default()), &metrics);
        use crate::adapters::store::tests as shared;
        // Every shared check, each on a fresh store behind the wrapper.
        for check in [
            shared::round_trip,
            shared::notes_append,
            shared::events_apply_once,
            shared::an_applied_event_is_refused_and_writes_nothing,
            shared::outbox_in_order,
            shared::reminders_due,
            shared::erase,
            shared::first_delivery,
            shared::deferred,
        ] {
            check(Metered::wrap(Arc::new(MemoryStore::default()), &metrics).as_ref());
        }
        // MemoryStore defers durability (the trait's default does not): its answer comes through.
        assert!(store.defers_durability(), "the store's own answer, not the trait's default");
        assert!(metrics.render().contains("guidebot_store_errors_total 0"), "{}", metrics.render());
    }

    /// A store whose every read fails.
    struct Broken;

    impl Store for Broken {
        fn load(&self, user: UserId) -> Result<Option<Stored>, StoreError> {
            Err(StoreError::Decrypt { user })
        }
        fn applied(&self, _: EventId) -> Result<bool, StoreError> {
            Err(StoreError::Decrypt { user: UserId::LOCAL })
        }
        fn commit(&self, user: UserId, _: &Change<'_>) -> Result<Vec<u64>, StoreError> {
            Err(StoreError::Decrypt { user })
        }
        fn erase(&self, user: UserId, _: Option<EventId>, _: &[Vec<u8>]) -> Result<Vec<u64>, StoreError> {
            Err(StoreError::Decrypt { user })
        }
        fn users(&self) -> Result<Vec<UserId>, StoreError> {
            Ok(Vec::new())
        }
        fn due(&self, _: i64) -> Result<Vec<UserId>, StoreError> {
            Ok(Vec::new())
        }
        fn pending(&self) -> Result<Vec<Queued>, StoreError> {
            Ok(Vec::new())
        }
        fn delivered(&self, user: UserId, _: u64) -> Result<(), StoreError> {
            Err(StoreError::Decrypt { user })
        }
        fn first_delivery(&self, _: EventId) -> Result<bool, StoreError> {
            Ok(true)
        }
    }

    #[test]
    fn each_failed_call_is_counted_once() {
        let metrics = Metrics::new();
        let store = Metered::wrap(Arc::new(Broken), &metrics);
        assert!(store.load(UserId::telegram(1)).is_err());
        assert!(store.commit(UserId::telegram(1), &Change::default()).is_err());
        assert!(store.users().is_ok());
        assert!(metrics.render().contains("guidebot_store_errors_total 2"), "{}", metrics.render());
    }
}
