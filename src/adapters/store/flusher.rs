//! Group commit: one thread owns `flush`, writers wait for a flush that
//! started after their write.
//!
//! Why a thread of our own: sled's `flush_async` can deadlock when called
//! concurrently (sled issue #1308), and one fsync per writer would cap the
//! bot at a few hundred saves per second. Here a writer registers after its
//! write and sleeps on a condvar; the flusher takes every registration that
//! is pending when it wakes, runs one `flush`, and wakes them all. A flush
//! that started after a write covers it, because sled's `flush` makes every
//! write that returned before the call durable.
//!
//! This module knows nothing about trees or keys; it only calls the flush
//! function it is given, which keeps it testable with a fake.

use std::{
    sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError},
    thread::{self, JoinHandle},
};

use super::StoreError;

/// The function the flusher calls: `db.flush()` in production.
pub(super) type FlushFn = Box<dyn FnMut() -> sled::Result<usize> + Send>;

/// Handle to the flusher thread; dropping it flushes once more and joins.
pub(super) struct Flusher {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the flusher: a writer registered, or shutdown.
    work: Condvar,
    /// Wakes writers: a flush completed, or the flusher stopped.
    done: Condvar,
}

struct State {
    /// A writer is waiting for a flush that has not started yet.
    requested: bool,
    /// Number of flushes started so far; flush `n` is the n-th.
    started: u64,
    /// Number of the last completed flush.
    completed: u64,
    /// Result of flush number `completed`.
    last: sled::Result<()>,
    /// Set by `Drop`: finish pending work, flush once more, exit.
    shutdown: bool,
    /// The thread has exited (or panicked): nobody will flush any more.
    stopped: bool,
}

impl Flusher {
    /// Starts the flusher thread around `flush`.
    pub(super) fn start(mut flush: FlushFn) -> Result<Self, StoreError> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                requested: false,
                started: 0,
                completed: 0,
                last: Ok(()),
                shutdown: false,
                stopped: false,
            }),
            work: Condvar::new(),
            done: Condvar::new(),
        });
        let for_thread = Arc::clone(&shared);
        let thread = thread::Builder::new()
            .name("store-flusher".to_owned())
            .spawn(move || run(&for_thread, &mut flush))
            .map_err(|source| StoreError::SpawnFlusher { source })?;
        Ok(Flusher { shared, thread: Some(thread) })
    }

    /// Blocks until a flush that started after this call has completed, and
    /// returns that flush's result. Call it after the write has returned.
    pub(super) fn wait_durable(&self) -> Result<(), StoreError> {
        let mut state = self.shared.lock();
        // Any flush numbered after the current count starts after our write,
        // which happened before we took the lock.
        let target = state.started + 1;
        if !state.stopped {
            state.requested = true;
            self.shared.work.notify_one();
        }
        while state.completed < target {
            if state.stopped {
                return Err(StoreError::FlusherStopped);
            }
            state = self.shared.done.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
        // If we slept through several flushes, the newest also started after
        // our write, so its result is a valid verdict for us.
        state.last.clone().map_err(|source| StoreError::Flush { source })
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.shared.lock().shutdown = true;
        self.shared.work.notify_one();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("store flusher thread panicked");
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding this lock; if something did, the state
        // is still a set of plain counters and stays usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Marks the flusher stopped when the thread ends, even by a panic inside
/// sled, so that waiting writers get an error instead of hanging.
struct StopOnExit<'a>(&'a Shared);

impl Drop for StopOnExit<'_> {
    fn drop(&mut self) {
        self.0.lock().stopped = true;
        self.0.done.notify_all();
    }
}

fn run(shared: &Shared, flush: &mut FlushFn) {
    let _stop = StopOnExit(shared);
    loop {
        let mut state = shared.lock();
        while !state.requested && !state.shutdown {
            state = shared.work.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
        if !state.requested {
            break; // shutdown with nobody waiting
        }
        state.requested = false;
        state.started += 1;
        let number = state.started;
        drop(state);

        let result = flush().map(drop);
        if let Err(e) = &result {
            tracing::error!(error = %e, "flushing the store failed");
        }

        let mut state = shared.lock();
        state.completed = number;
        state.last = result;
        drop(state);
        shared.done.notify_all();
    }
    // Writes that nobody waited for (none are expected) still reach the disk.
    if let Err(e) = flush() {
        tracing::error!(error = %e, "final flush of the store failed");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn counting(count: Arc<AtomicUsize>) -> FlushFn {
        Box::new(move || {
            count.fetch_add(1, Ordering::SeqCst);
            Ok(0)
        })
    }

    #[test]
    fn every_wait_gets_a_flush_and_drop_flushes_once_more() {
        let count = Arc::new(AtomicUsize::new(0));
        let flusher = Flusher::start(counting(Arc::clone(&count))).expect("spawn");
        flusher.wait_durable().expect("first");
        assert_eq!(count.load(Ordering::SeqCst), 1);
        flusher.wait_durable().expect("second");
        assert_eq!(count.load(Ordering::SeqCst), 2);
        drop(flusher);
        assert_eq!(count.load(Ordering::SeqCst), 3, "final flush on drop");
    }

    #[test]
    fn concurrent_waiters_share_flushes() {
        let count = Arc::new(AtomicUsize::new(0));
        let flusher = Flusher::start(counting(Arc::clone(&count))).expect("spawn");
        let waits = 8 * 50;
        thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..50 {
                        flusher.wait_durable().expect("flush ok");
                    }
                });
            }
        });
        // Each wait needs at least one flush of its own epoch, never more
        // than one flush per wait.
        let flushes = count.load(Ordering::SeqCst);
        assert!(flushes >= 50 && flushes <= waits, "{flushes} flushes for {waits} waits");
    }

    #[test]
    fn a_flush_error_reaches_the_waiter() {
        let calls = Arc::new(AtomicUsize::new(0));
        let for_flush = Arc::clone(&calls);
        let flusher = Flusher::start(Box::new(move || {
            // The first flush fails, later ones succeed.
            if for_flush.fetch_add(1, Ordering::SeqCst) == 0 {
                Err(sled::Error::Io(std::io::Error::other("disk full")))
            } else {
                Ok(0)
            }
        }))
        .expect("spawn");
        let err = flusher.wait_durable().expect_err("first flush fails");
        assert!(matches!(err, StoreError::Flush { .. }), "{err:?}");
        assert!(err.to_string().contains("disk full"), "{err}");
        flusher.wait_durable().expect("a later flush recovers");
    }

    #[test]
    fn a_panicking_flush_stops_waiters_instead_of_hanging() {
        let flusher = Flusher::start(Box::new(|| panic!("sled bug"))).expect("spawn");
        let err = flusher.wait_durable().expect_err("flusher died");
        assert!(matches!(err, StoreError::FlusherStopped), "{err:?}");
        // Later waits fail fast too.
        assert!(matches!(flusher.wait_durable(), Err(StoreError::FlusherStopped)));
    }
}
