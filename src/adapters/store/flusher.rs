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
//! A writer on an async thread does not sleep at all: it takes a [`Ticket`]
//! and awaits it ([`Ticket::settled`]), woken through a `watch` channel, so
//! a hundred writers waiting for one flush cost no parked threads. Work that
//! must wait until a write is durable (marking a key slot live) rides along
//! with the ticket and runs on the flusher thread, in the order the writes
//! were made, before any waiter of that flush is woken.
//!
//! This module knows nothing about trees or keys; it only calls the flush
//! function it is given, which keeps it testable with a fake.

use std::{
    sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError},
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use super::StoreError;
use crate::app::store::Pending;

/// The function the flusher calls: `db.flush()` in production.
pub(super) type FlushFn = Box<dyn FnMut() -> sled::Result<usize> + Send>;

/// Work to do once a write is durable; run on the flusher thread, only
/// after a successful flush, in the order the tickets were taken.
pub(super) type After = Box<dyn FnOnce() + Send>;

/// When the store is busy, a flush starts no sooner than a gap after the one
/// before it started, so that it covers more writes. Each sled flush hands
/// the log buffer to sled's I/O pool, which wakes all seven of its idle
/// threads (each two or three times, through parking_lot's requeue): about
/// 200 µs of CPU a flush on a 2-vCPU VM, more than a step's own work.
///
/// Busy means either of two things. A flush covered [`BUSY`] tickets or
/// more: the next waits [`BUSY_GAP`]. Where flushes come round quickly and
/// each covers only a few tickets, tickets came at [`BUSY_RATE`] a second or
/// more over the last [`RATE_WINDOW`]: the next waits [`RATE_GAP`]. Under a
/// steady load well below both (~500 steps/s, a commit and a mark each), a
/// gap would only delay replies: a threshold of two tickets gave p50/p99
/// 1.8/5.2 ms against 1.1/3.3 with twelve and 1.0/3.4 without a gap.
/// Measured, 100 users answering at once: on one machine flushes covered
/// dozens of tickets and the 2 ms gap gave 7,284 steps/s against 5,850
/// without; on a slower one they covered three, and the rate rule halved the
/// flushes (1,530 → 780 a second) and cut CPU per step by 2–20% in four
/// alternating pairs (398/381/373/401 → 313/359/366/365 µs), while at ~500
/// steps/s offered it does not trigger (the same flushes a second).
const BUSY: u32 = 12;
/// See [`BUSY`].
const BUSY_GAP: Duration = Duration::from_millis(2);
/// See [`BUSY`]: tickets a second (a step takes two) that make the store busy.
const BUSY_RATE: u64 = 3_000;
/// See [`BUSY`].
const RATE_WINDOW: Duration = Duration::from_millis(10);
/// See [`BUSY`].
const RATE_GAP: Duration = Duration::from_millis(1);

/// How busy the store is, from the tickets each flush covered: the gap the
/// next flush keeps after the start of the one before.
#[derive(Debug)]
struct Pace {
    window_from: Instant,
    tickets: u64,
    /// The last full window's rate reached [`BUSY_RATE`].
    fast: bool,
    /// The last flush covered [`BUSY`] tickets or more.
    crowded: bool,
}

impl Pace {
    fn new(now: Instant) -> Pace {
        Pace { window_from: now, tickets: 0, fast: false, crowded: false }
    }

    /// A flush started at `at`, covering `covered` tickets.
    fn flushed(&mut self, at: Instant, covered: u32) {
        self.tickets += u64::from(covered);
        let span = at.saturating_duration_since(self.window_from);
        if span >= RATE_WINDOW {
            let micros = u64::try_from(span.as_micros()).unwrap_or(u64::MAX);
            self.fast = self.tickets.saturating_mul(1_000_000) / micros >= BUSY_RATE;
            self.window_from = at;
            self.tickets = 0;
        }
        self.crowded = covered >= BUSY;
    }

    /// How long after the last flush started the next one may start.
    fn gap(&self) -> Duration {
        if self.crowded {
            BUSY_GAP
        } else if self.fast {
            RATE_GAP
        } else {
            Duration::ZERO
        }
    }
}

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
    /// The same news for async waiters: the number of the last completed
    /// flush, bumped (also to the same value) when the flusher stops.
    completed: tokio::sync::watch::Sender<u64>,
}

struct State {
    /// A writer is waiting for a flush that has not started yet.
    requested: bool,
    /// Tickets taken since the last flush started.
    asked: u32,
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
    /// Work waiting for flush number `.0` (or a later one).
    after: Vec<(u64, After)>,
}

/// A write's claim on a flush that starts after it: wait for it, blocking
/// ([`Ticket::wait`]) or async ([`Ticket::settled`]).
pub(super) struct Ticket {
    shared: Arc<Shared>,
    target: u64,
}

impl Flusher {
    /// Starts the flusher thread around `flush`.
    pub(super) fn start(mut flush: FlushFn) -> Result<Self, StoreError> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                requested: false,
                asked: 0,
                started: 0,
                completed: 0,
                last: Ok(()),
                shutdown: false,
                stopped: false,
                after: Vec::new(),
            }),
            work: Condvar::new(),
            done: Condvar::new(),
            completed: tokio::sync::watch::Sender::new(0),
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
        self.ticket(None).wait()
    }

    /// Asks for a flush that starts after this call (so after a write that
    /// has returned), with `after` to run once it has succeeded.
    pub(super) fn ticket(&self, after: Option<After>) -> Ticket {
        let mut state = self.shared.lock();
        // Any flush numbered after the current count starts after our write,
        // which happened before we took the lock.
        let target = state.started + 1;
        if !state.stopped {
            state.requested = true;
            state.asked = state.asked.saturating_add(1);
            if let Some(after) = after {
                state.after.push((target, after));
            }
            self.shared.work.notify_one();
        }
        Ticket { shared: Arc::clone(&self.shared), target }
    }
}

#[cfg(test)]
impl Flusher {
    /// How many flushes were asked for and started so far.
    pub(super) fn started(&self) -> u64 {
        self.shared.lock().started
    }
}

impl Ticket {
    /// The verdict once the flush is done; `None` while it is not.
    fn verdict(&self, state: &State) -> Option<Result<(), StoreError>> {
        if state.completed >= self.target {
            // If several flushes went by, the newest also started after our
            // write, so its result is a valid verdict for us.
            Some(state.last.clone().map_err(|source| StoreError::Flush { source: source.into() }))
        } else if state.stopped {
            Some(Err(StoreError::FlusherStopped))
        } else {
            None
        }
    }

    /// Blocks until the flush is done; its result.
    pub(super) fn wait(self) -> Result<(), StoreError> {
        let mut state = self.shared.lock();
        loop {
            if let Some(verdict) = self.verdict(&state) {
                return verdict;
            }
            state = self.shared.done.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Waits, without holding a thread, until the flush is done; its result.
    pub(super) async fn settled(self) -> Result<(), StoreError> {
        // Subscribed before looking, so a flush that completes in between
        // still wakes us.
        let mut completed = self.shared.completed.subscribe();
        loop {
            if let Some(verdict) = self.verdict(&self.shared.lock()) {
                return verdict;
            }
            if completed.changed().await.is_err() {
                // The sender lives in `Shared`, which we hold: not reached.
                return Err(StoreError::FlusherStopped);
            }
        }
    }
}

impl Pending for Ticket {
    fn wait(self: Box<Self>) -> Result<(), StoreError> {
        Ticket::wait(*self)
    }

    fn settled(self: Box<Self>) -> std::pin::Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send>> {
        Box::pin(Ticket::settled(*self))
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
        let mut state = self.0.lock();
        state.stopped = true;
        state.after.clear();
        let completed = state.completed;
        drop(state);
        self.0.done.notify_all();
        self.0.completed.send_replace(completed);
    }
}

fn run(shared: &Shared, flush: &mut FlushFn) {
    let _stop = StopOnExit(shared);
    // When the store is busy, the next flush waits for more writes.
    let mut pace = Pace::new(Instant::now());
    let mut last: Option<Instant> = None;
    loop {
        let mut state = shared.lock();
        while !state.requested && !state.shutdown {
            state = shared.work.wait(state).unwrap_or_else(PoisonError::into_inner);
        }
        if let Some(at) = last
            && !state.shutdown
            && let Some(rest) = pace.gap().checked_sub(at.elapsed())
            && !rest.is_zero()
        {
            drop(state);
            thread::sleep(rest);
            state = shared.lock();
        }
        if !state.requested {
            break; // shutdown with nobody waiting
        }
        let now = Instant::now();
        pace.flushed(now, std::mem::take(&mut state.asked));
        last = Some(now);
        state.requested = false;
        state.started += 1;
        let number = state.started;
        drop(state);

        let result = flush().map(drop);
        if let Err(e) = &result {
            tracing::error!(error = %e, "flushing the store failed");
        }

        // Work registered before this flush started; the rest waits for the next.
        let mut state = shared.lock();
        let split = state.after.partition_point(|(target, _)| *target <= number);
        let ready: Vec<(u64, After)> = state.after.drain(..split).collect();
        drop(state);
        if result.is_ok() {
            for (_, after) in ready {
                after();
            }
        }

        let mut state = shared.lock();
        state.completed = number;
        state.last = result;
        drop(state);
        shared.done.notify_all();
        shared.completed.send_replace(number);
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
    fn after_a_busy_flush_the_next_waits_to_cover_more() {
        let starts = Arc::new(Mutex::new(Vec::new()));
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let flusher = {
            let (starts, gate) = (Arc::clone(&starts), Arc::clone(&gate));
            Flusher::start(Box::new(move || {
                let mut starts = starts.lock().expect("starts");
                starts.push(Instant::now());
                let first = starts.len() == 1;
                drop(starts);
                if first {
                    // The first flush waits until the test let more writers in.
                    let (open, cv) = &*gate;
                    let mut open = open.lock().expect("gate");
                    while !*open {
                        open = cv.wait(open).expect("gate");
                    }
                }
                Ok(0)
            }))
            .expect("spawn")
        };
        let first = flusher.ticket(None);
        while starts.lock().expect("starts").is_empty() {
            thread::yield_now();
        }
        // BUSY writers while the first flush runs: the second flush covers them all.
        let busy: Vec<Ticket> = (0..BUSY).map(|_| flusher.ticket(None)).collect();
        *gate.0.lock().expect("gate") = true;
        gate.1.notify_all();
        first.wait().expect("first");
        for t in busy {
            t.wait().expect("busy");
        }
        flusher.wait_durable().expect("third");
        let starts = starts.lock().expect("starts").clone();
        assert_eq!(starts.len(), 3, "one flush each: the first, the busy one, the last");
        assert!(starts[2] - starts[1] >= BUSY_GAP, "{:?} after a busy flush", starts[2] - starts[1]);
    }

    #[test]
    fn a_fast_stream_of_tickets_spaces_flushes_and_a_slow_one_does_not() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        // ~500 steps/s: two tickets every 2 ms, 1,000 a second.
        let mut slow = Pace::new(t0);
        for i in 1..=20 {
            slow.flushed(ms(2 * i), 2);
            assert_eq!(slow.gap(), Duration::ZERO, "flush {i}");
        }
        // Three tickets every 0.6 ms: 5,000 a second, busy once a window is seen.
        let mut fast = Pace::new(t0);
        let mut at = t0;
        for _ in 0..20 {
            at += Duration::from_micros(600);
            fast.flushed(at, 3);
        }
        assert_eq!(fast.gap(), RATE_GAP);
        // The load falls away: the next full window clears it.
        fast.flushed(at + Duration::from_millis(50), 1);
        assert_eq!(fast.gap(), Duration::ZERO);
        // One crowded flush waits the longer gap, whatever the rate.
        fast.flushed(at + Duration::from_millis(51), BUSY);
        assert_eq!(fast.gap(), BUSY_GAP);
        fast.flushed(at + Duration::from_millis(52), 1);
        assert_eq!(fast.gap(), Duration::ZERO);
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
    fn work_after_a_flush_runs_in_order_before_the_waiters_wake() {
        let ran = Arc::new(Mutex::new(Vec::new()));
        let flusher = Flusher::start(Box::new(|| Ok(0))).expect("spawn");
        let tickets: Vec<Ticket> = (0..20)
            .map(|i| {
                let ran = Arc::clone(&ran);
                flusher.ticket(Some(Box::new(move || ran.lock().expect("lock").push(i))))
            })
            .collect();
        let last = tickets.into_iter().last().expect("tickets");
        last.wait().expect("flushed");
        assert_eq!(*ran.lock().expect("lock"), (0..20).collect::<Vec<_>>());
    }

    #[test]
    fn failed_flushes_skip_the_work_after_them() {
        let ran = Arc::new(AtomicUsize::new(0));
        let flusher =
            Flusher::start(Box::new(|| Err(sled::Error::Io(std::io::Error::other("disk full"))))).expect("spawn");
        let counter = Arc::clone(&ran);
        let ticket = flusher.ticket(Some(Box::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        })));
        assert!(matches!(ticket.wait(), Err(StoreError::Flush { .. })));
        assert_eq!(ran.load(Ordering::SeqCst), 0, "nothing durable, nothing done after");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn async_waiters_share_flushes_and_hold_no_thread() {
        let count = Arc::new(AtomicUsize::new(0));
        let flusher = Arc::new(Flusher::start(counting(Arc::clone(&count))).expect("spawn"));
        // Far more waiters than threads: each awaits its own flush.
        let mut tasks = Vec::new();
        for _ in 0..500 {
            let flusher = Arc::clone(&flusher);
            tasks.push(tokio::spawn(async move { flusher.ticket(None).settled().await }));
        }
        for task in tasks {
            task.await.expect("joined").expect("flushed");
        }
        let flushes = count.load(Ordering::SeqCst);
        assert!((1..=500).contains(&flushes), "{flushes} flushes for 500 waiters");
    }

    #[tokio::test]
    async fn an_async_waiter_learns_that_the_flusher_died() {
        let flusher = Flusher::start(Box::new(|| panic!("sled bug"))).expect("spawn");
        let err = flusher.ticket(None).settled().await.expect_err("flusher died");
        assert!(matches!(err, StoreError::FlusherStopped), "{err:?}");
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
