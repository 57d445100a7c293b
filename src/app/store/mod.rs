//! The store as the core sees it: the [`Store`] trait, what one event
//! changes ([`Change`]), what is read back ([`Stored`], [`Queued`]), the
//! promise of a deferred write ([`Durable`]) and [`StoreError`]. The
//! implementations (sled, PostgreSQL, memory) and the guarantees each keeps
//! are in `adapters::store`; the core knows only this contract.

mod error;

use std::future::Future;
use std::pin::Pin;

pub use super::ids::{EventId, Front, UserId};
pub use error::{Cause, StoreError, chain};

/// Everything one event changes, written at once by [`Store::commit`].
#[derive(Debug, Default, Clone, Copy)]
pub struct Change<'a> {
    /// The user's new record; None when it did not change.
    pub record: Option<&'a [u8]>,
    /// Number of notes already stored: `notes` are appended after them.
    pub notes_from: usize,
    /// Notes added by this event.
    pub notes: &'a [Vec<u8>],
    /// The event's id, so that it is applied once.
    pub event: Option<EventId>,
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
    fn applied(&self, event: EventId) -> Result<bool, StoreError>;
    /// Writes one event's changes atomically and durably; returns the outbox
    /// sequence numbers of `change.outbox`, in order. An event id that was
    /// applied before (by this process or another sharing the store) makes
    /// it write nothing and return [`StoreError::AlreadyApplied`].
    fn commit(&self, user: UserId, change: &Change<'_>) -> Result<Vec<u64>, StoreError>;
    /// Erases everything of this user durably (record, notes, outbox,
    /// reminder time, key), records `event` as applied, and queues
    /// `farewell` for delivery (sealed with a fresh key that is cleared once
    /// it is delivered). An event applied before: as in [`Store::commit`].
    fn erase(&self, user: UserId, event: Option<EventId>, farewell: &[Vec<u8>]) -> Result<Vec<u64>, StoreError>;
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
    fn first_delivery(&self, event: EventId) -> Result<bool, StoreError>;

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

    /// Takes an item out of the outbox without asking for it to be durable
    /// soon: a store that defers durability makes it so with the next write
    /// anybody waits for. For calls that change nothing the person sees when
    /// made twice (a press answered, a message edited to what it shows),
    /// which a crash may then repeat.
    fn delivered_unhurried(&self, user: UserId, seq: u64) -> Result<(), StoreError> {
        self.delivered(user, seq)
    }
}

/// A write on its way to the disk, as a store hands it out: something to
/// wait for, blocking or not.
pub trait Pending: Send {
    /// Blocks until the write is durable, or the flush that should have made
    /// it so failed.
    fn wait(self: Box<Self>) -> Result<(), StoreError>;
    /// The same without holding a thread.
    fn settled(self: Box<Self>) -> Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send>>;
}

/// The promise that a write made by a `*_deferred` call reaches the disk:
/// wait for it before acting on the write (before sending a reply).
#[must_use = "a deferred write is not durable until its Durable is waited for"]
pub struct Durable(Option<Box<dyn Pending>>);

impl Durable {
    /// A write that is durable already.
    pub fn done() -> Durable {
        Durable(None)
    }

    /// A write that is durable once `pending` says so.
    pub fn after(pending: impl Pending + 'static) -> Durable {
        Durable(Some(Box::new(pending)))
    }

    /// Blocks until the write is durable, or the flush that should have made
    /// it so failed.
    pub fn wait(self) -> Result<(), StoreError> {
        match self.0 {
            Some(pending) => pending.wait(),
            None => Ok(()),
        }
    }

    /// Like [`Durable::wait`] without holding a thread.
    pub async fn settled(self) -> Result<(), StoreError> {
        match self.0 {
            Some(pending) => pending.settled().await,
            None => Ok(()),
        }
    }
}

impl std::fmt::Debug for Durable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Durable(pending)" } else { "Durable(done)" })
    }
}
