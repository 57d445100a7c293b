//! `App`: the one place where events enter. It serialises the events of one
//! user (different users run in parallel), loads their state, runs the pure
//! engine, and persists the result before handing back what to show —
//! persist, then reply. Front ends (Telegram, terminal, scenarios, benches)
//! all go through here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use jiff::civil::Date;
use jiff::tz::TimeZone;

pub mod admin;
pub mod ids;
pub mod notify;
pub mod reminders;
pub mod store;

use crate::domain::dialogue::Library;
use crate::domain::dialogue::format::ReminderSettings;
use crate::domain::engine::{Ctx, Event, Note, Output, Reminder, UserState, reminder_message, step};
use store::{Change, Durable, EventId, Queued, Store, StoreError, UserId};

/// Time zone used when a guide names none.
pub const DEFAULT_TIME_ZONE: &str = "Asia/Shanghai";
/// Hour of day reminders go out at when a guide names none.
pub const DEFAULT_REMINDER_HOUR: u8 = 9;
/// Users whose state is kept in memory between their events.
const CACHED_USERS: usize = 20_000;
/// How many times a step is tried when other processes keep changing the
/// same user first (each try reads the user afresh).
const STALE_TRIES: usize = 5;

/// What can go wrong around the engine.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the stored record of user {user} cannot be read ({detail}); it was left untouched")]
    Corrupt { user: UserId, detail: String },
    #[error("the state of user {user} cannot be written: {detail}")]
    Encode { user: UserId, detail: String },
}

impl AppError {
    /// True when nothing was saved because the disk is (nearly) full.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, AppError::Store(StoreError::DiskFull { .. } | StoreError::DatabaseFull { .. }))
    }
}

/// Turns what the engine wants shown into the front end's outbox items
/// (opaque bytes), which are saved with the state they belong to.
pub type Plan<'a> = &'a (dyn Fn(&Output) -> Vec<Vec<u8>> + Sync);

/// What became of an event with an id.
#[derive(Debug)]
pub enum Delivery {
    /// Applied for the first time and persisted, with the outbox items saved
    /// with it (to deliver, then mark delivered).
    Applied { out: Output, queued: Vec<Queued> },
    /// Applied before: nothing changed, nothing new to send (whatever of its
    /// reply is undelivered is still in the outbox).
    Repeated,
}

/// A user's state as last saved, and how many of its notes the store holds.
#[derive(Clone, Default)]
struct Cached {
    state: UserState,
    stored_notes: usize,
    /// The stored record's version (see [`Change::versions`]); 0 for none.
    version: u64,
}

/// The engine with its storage and the loaded guides.
pub struct App {
    library: RwLock<Arc<Library>>,
    store: Arc<dyn Store>,
    locks: Mutex<HashMap<UserId, Arc<Mutex<()>>>>,
    /// States as this process last saved or read them, to spare a read and
    /// a decryption. A store that several processes share refuses a commit
    /// made from a copy another process has changed since (a version check);
    /// the step is then run again on a fresh read.
    cache: Mutex<HashMap<UserId, Cached>>,
    /// The zone of people whose guide sets none ([`user_zone`], read once).
    default_zone: TimeZone,
}

impl App {
    pub fn new(library: Library, store: Arc<dyn Store>) -> App {
        App {
            library: RwLock::new(Arc::new(library)),
            store,
            locks: Mutex::new(HashMap::new()),
            cache: Mutex::new(HashMap::new()),
            default_zone: user_zone(),
        }
    }

    /// The guides now in force.
    pub fn library(&self) -> Arc<Library> {
        self.library.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Replaces the guides; every user sees the new ones at their next event.
    /// Returns true when a guide's reminder hour or time zone changed: the
    /// stored times of users' next reminders are then out of date, and
    /// [`App::refresh_reminder_times`] should run (it reads every user).
    pub fn replace_library(&self, library: Library) -> bool {
        let timing = |l: &Library| -> Vec<(String, String, Option<u8>, Option<String>)> {
            l.guides()
                .iter()
                .map(|g| {
                    let r = g.file.reminders.as_ref();
                    (
                        g.id().to_owned(),
                        g.lang().to_owned(),
                        r.and_then(|r| r.hour),
                        r.and_then(|r| r.time_zone.clone()),
                    )
                })
                .collect()
        };
        let new = Arc::new(library);
        let old =
            std::mem::replace(&mut *self.library.write().unwrap_or_else(PoisonError::into_inner), Arc::clone(&new));
        timing(&old) != timing(&new)
    }

    /// Puts `library` in force; when a guide's reminder hour or time zone
    /// changed, also the stored time of every user's next reminder (this
    /// reads every user, so call it from a blocking thread).
    pub fn install(&self, library: Library) {
        if self.replace_library(library) {
            match self.refresh_reminder_times() {
                Ok(n) => tracing::info!(users = n, "reminder times follow the guides' new hour or time zone"),
                Err(err) => tracing::error!(error = %err, "reminder times could not all be refreshed"),
            }
        }
    }

    /// Puts right the stored time of every user's next reminder after a
    /// guide's reminder hour or time zone changed (see [`App::replace_library`]).
    /// Reads every user: run it off the async threads. Returns how many
    /// users with reminders waiting were rewritten.
    pub fn refresh_reminder_times(&self) -> Result<usize, AppError> {
        let mut changed = 0;
        for user in self.store.users()? {
            let durable = self.with_user(user, || {
                let old = match self.cached(user) {
                    Ok(old) => old,
                    Err(err) => {
                        tracing::warn!(%user, error = %err, "reminder time not refreshed: the record cannot be read");
                        return Ok(None);
                    }
                };
                // Users without an unsent reminder have none stored either.
                if old.state.reminders.values().all(|r| r.sent) {
                    return Ok(None);
                }
                let change = Change { next_due: self.next_due(&old.state), ..Change::default() };
                self.store.commit_deferred(user, &change).map(|(_, durable)| Some(durable))
            })?;
            if let Some(durable) = durable {
                self.settle(user, durable)?;
                changed += 1;
            }
        }
        Ok(changed)
    }

    /// The store behind the app.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Runs `f` while holding `user`'s lock, so that one user's events apply in order.
    fn with_user<T>(&self, user: UserId, f: impl FnOnce() -> T) -> T {
        let lock = {
            let mut map = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
            map.entry(user).or_default().clone()
        };
        let result = {
            let _guard = lock.lock().unwrap_or_else(PoisonError::into_inner);
            f()
        };
        let mut map = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
        // Two references: the map's and ours. Nobody else waits, so forget the lock.
        if Arc::strong_count(&lock) == 2 {
            map.remove(&user);
        }
        result
    }

    /// Runs `attempt` holding `user`'s lock. When another process sharing
    /// the store changed the user after this one read them (the commit was
    /// refused as stale), the cached copy is dropped and `attempt` runs again
    /// on a fresh read: the engine is pure, so running a step twice is safe.
    fn with_fresh<T>(&self, user: UserId, mut attempt: impl FnMut() -> Result<T, AppError>) -> Result<T, AppError> {
        self.with_user(user, || {
            let mut tries = 1;
            loop {
                match attempt() {
                    Err(AppError::Store(StoreError::Stale { .. })) if tries < STALE_TRIES => {
                        self.remember(user, None);
                        tries += 1;
                    }
                    other => return other,
                }
            }
        })
    }

    /// The user's state (default when they have none). Only reads.
    pub fn state(&self, user: UserId) -> Result<UserState, AppError> {
        self.cached(user).map(|c| c.state)
    }

    fn cached(&self, user: UserId) -> Result<Cached, AppError> {
        if let Some(c) = self.cache.lock().unwrap_or_else(PoisonError::into_inner).get(&user) {
            return Ok(c.clone());
        }
        let Some(stored) = self.store.load(user)? else {
            return Ok(Cached::default());
        };
        // Where, not what: the record holds what the user typed.
        let corrupt = |e: serde_json::Error| AppError::Corrupt {
            user,
            detail: format!("{:?} error at line {} column {}", e.classify(), e.line(), e.column()),
        };
        let mut state: UserState = serde_json::from_slice(&stored.record).map_err(corrupt)?;
        if !stored.notes.is_empty() {
            let notes = Arc::make_mut(&mut state.notes);
            for n in &stored.notes {
                notes.push(serde_json::from_slice::<Note>(n).map_err(corrupt)?);
            }
        }
        // Notes inside the record (written before notes had keys of their own) are
        // not in the store's list yet: the next save moves them there.
        Ok(Cached { state, stored_notes: stored.notes.len(), version: stored.version })
    }

    fn remember(&self, user: UserId, cached: Option<Cached>) {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        match cached {
            Some(c) => {
                if cache.len() >= CACHED_USERS && !cache.contains_key(&user) {
                    // Forget an arbitrary half; the store has them all.
                    let keep: Vec<UserId> = cache.keys().copied().step_by(2).collect();
                    for k in keep {
                        cache.remove(&k);
                    }
                }
                cache.insert(user, c);
            }
            None => {
                cache.remove(&user);
            }
        }
    }

    /// Writes `next` (and the outbox items and event id) in one store commit,
    /// durable once the returned [`Durable`] says so.
    fn commit(
        &self,
        user: UserId,
        old: &Cached,
        next: UserState,
        event: Option<EventId>,
        items: &[Vec<u8>],
    ) -> Result<(Vec<Queued>, Durable), AppError> {
        let encode = |e: serde_json::Error| AppError::Encode { user, detail: e.to_string() };
        let record = if next != old.state || old.stored_notes < next.notes.len() {
            Some(serde_json::to_vec(&next).map_err(encode)?)
        } else {
            None
        };
        let from = old.stored_notes.min(next.notes.len());
        let notes = next.notes[from..].iter().map(serde_json::to_vec).collect::<Result<Vec<_>, _>>().map_err(encode)?;
        let fresh = new_version();
        let change = Change {
            record: record.as_deref(),
            notes_from: from,
            notes: &notes,
            event,
            outbox: items,
            next_due: self.next_due(&next),
            versions: Some((old.version, fresh)),
        };
        let (seqs, durable) = self.store.commit_deferred(user, &change)?;
        // Cached before it is durable: the next event of this user builds on it. If
        // the flush fails, `settle` forgets it again.
        let stored_notes = next.notes.len();
        let version = if record.is_some() { fresh } else { old.version };
        self.remember(user, Some(Cached { state: next, stored_notes, version }));
        Ok((queued(user, seqs, items), durable))
    }

    /// Waits until a deferred write is durable; if it cannot be, forgets the
    /// user's cached state so that nothing builds on what may be lost.
    fn settle(&self, user: UserId, durable: Durable) -> Result<(), AppError> {
        durable.wait().inspect_err(|_| self.remember(user, None)).map_err(AppError::from)
    }

    /// Replaces a user's whole state (an import, a migration, a test's starting point).
    /// Persisted when it returns.
    pub fn put_state(&self, user: UserId, state: &UserState) -> Result<(), AppError> {
        let durable = self.with_fresh(user, || {
            let old = self.cached(user)?;
            self.commit(user, &old, state.clone(), None, &[]).map(|(_, durable)| durable)
        })?;
        self.settle(user, durable)
    }

    /// Applies one event and persists the result; the output may then be shown.
    pub fn handle(&self, user: UserId, event: &Event, ctx: &Ctx) -> Result<Output, AppError> {
        let (delivery, durable) = self.apply(user, None, event, ctx, &|_| Vec::new())?;
        self.settle(user, durable)?;
        match delivery {
            Delivery::Applied { out, .. } => Ok(out),
            Delivery::Repeated => Ok(Output::default()),
        }
    }

    /// Like [`App::handle`] for an event with an id (a Telegram update's), with the
    /// front end's outbox items for the output. The id, the new state and the items are
    /// saved in one write: a crash can neither lose the event, nor apply it twice, nor
    /// lose its reply. An event whose id was already applied changes nothing.
    pub fn handle_once(
        &self,
        user: UserId,
        event_id: EventId,
        event: &Event,
        ctx: &Ctx,
        plan: Plan<'_>,
    ) -> Result<Delivery, AppError> {
        let (delivery, durable) = self.apply(user, Some(event_id), event, ctx, plan)?;
        self.settle(user, durable)?;
        Ok(delivery)
    }

    /// [`App::handle_once`] without the wait for the disk, for async front ends
    /// whose store defers durability ([`Store::defers_durability`]): the step
    /// runs on the caller's thread, and [`App::settled`] then waits for the
    /// flush without holding a thread. Nothing of the delivery may be shown
    /// before `settled` returns Ok.
    pub fn handle_once_deferred(
        &self,
        user: UserId,
        event_id: EventId,
        event: &Event,
        ctx: &Ctx,
        plan: Plan<'_>,
    ) -> Result<(Delivery, Durable), AppError> {
        self.apply(user, Some(event_id), event, ctx, plan)
    }

    /// Waits for a deferred write of `user`; if it cannot be made durable, the
    /// user's cached state is forgotten so that nothing builds on it.
    pub async fn settled(&self, user: UserId, durable: Durable) -> Result<(), AppError> {
        durable.settled().await.inspect_err(|_| self.remember(user, None)).map_err(AppError::from)
    }

    fn apply(
        &self,
        user: UserId,
        event_id: Option<EventId>,
        event: &Event,
        ctx: &Ctx,
        plan: Plan<'_>,
    ) -> Result<(Delivery, Durable), AppError> {
        self.with_fresh(user, || {
            if let Some(id) = event_id
                && self.store.applied(id)?
            {
                return Ok((Delivery::Repeated, Durable::done()));
            }
            let old = self.cached(user)?;
            let library = self.library();
            let (next, out) = step(&library, &old.state, event, ctx);
            let items = plan(&out);
            // Another process sharing the store may apply the same event between the
            // check above and the write: the store then refuses it, and it is a repeat.
            if out.erase {
                self.remember(user, None);
                let seqs = match self.store.erase(user, event_id, &items) {
                    Err(StoreError::AlreadyApplied { .. }) => return Ok((Delivery::Repeated, Durable::done())),
                    other => other?,
                };
                return Ok((Delivery::Applied { queued: queued(user, seqs, &items), out }, Durable::done()));
            }
            if next == old.state && items.is_empty() && event_id.is_none() {
                return Ok((Delivery::Applied { out, queued: Vec::new() }, Durable::done()));
            }
            let (queued, durable) = match self.commit(user, &old, next, event_id, &items) {
                Err(AppError::Store(StoreError::AlreadyApplied { .. })) => {
                    self.remember(user, None);
                    return Ok((Delivery::Repeated, Durable::done()));
                }
                other => other?,
            };
            Ok((Delivery::Applied { out, queued }, durable))
        })
    }

    /// Reminders of `user` whose time (their day, at the guide's hour, in the guide's zone)
    /// has come by `now` and that were not sent yet: marked sent and queued for delivery
    /// (through `plan`) in one write, so a crash neither loses nor repeats one.
    /// Returns the messages (for a front end that shows them at once) and the queued items.
    pub fn take_due_reminders(
        &self,
        user: UserId,
        now: jiff::Timestamp,
        plan: Plan<'_>,
    ) -> Result<(Output, Vec<Queued>), AppError> {
        let (out, queued, durable) = self.with_fresh(user, || {
            let old = self.cached(user)?;
            let state = &old.state;
            let due: Vec<(String, Reminder)> = state
                .reminders
                .iter()
                .filter(|(_, r)| !r.sent && self.reminder_time(state, r).is_some_and(|at| at <= now.as_second()))
                .map(|(id, r)| (id.clone(), r.clone()))
                .collect();
            let mut next = state.clone();
            let mut out = Output::default();
            for (id, reminder) in &due {
                if let Some(r) = Arc::make_mut(&mut next.reminders).get_mut(id) {
                    r.sent = true;
                }
                out.messages.push(reminder_message(&self.library(), state, &reminder.text));
            }
            let items = if due.is_empty() { Vec::new() } else { plan(&out) };
            // Also when nothing was due: the stored time of the next reminder is put right.
            let (queued, durable) = self.commit(user, &old, next, None, &items)?;
            Ok::<_, AppError>((out, queued, durable))
        })?;
        self.settle(user, durable)?;
        Ok((out, queued))
    }

    /// Unix time at which a reminder goes out: its day, at the guide's hour, in the guide's zone.
    pub fn reminder_time(&self, state: &UserState, reminder: &Reminder) -> Option<i64> {
        let library = self.library();
        let settings = guide_reminders(&library, state.guide.as_deref(), state.lang.as_deref());
        let tz = zone_in(settings, &self.default_zone);
        let hour = settings.and_then(|s| s.hour).unwrap_or(DEFAULT_REMINDER_HOUR).min(23);
        let day: Date = reminder.send_on.parse().ok()?;
        let zoned = day.at(hour as i8, 0, 0, 0).to_zoned(tz).ok()?;
        Some(zoned.timestamp().as_second())
    }

    /// The time zone of a person in `state`: their guide's `reminders.time_zone`
    /// when it sets one, else `default` (the operator's `GUIDEBOT_TZ`, see
    /// [`user_zone`]). It is the one zone for that person: what "today" is in
    /// their answers and templates, and the hour their reminders go out.
    pub fn zone_of(&self, state: &UserState, default: &TimeZone) -> TimeZone {
        let library = self.library();
        zone_in(guide_reminders(&library, state.guide.as_deref(), state.lang.as_deref()), default)
    }

    /// [`App::zone_of`] for `user` as stored (`default` for someone new, or
    /// whose record cannot be read): what a front end builds the [`Ctx`] of
    /// the user's next event with.
    pub fn zone_for(&self, user: UserId, default: &TimeZone) -> TimeZone {
        // The cached copy's guide, without copying the rest of the state.
        let cached = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&user)
            .map(|c| (c.state.guide.clone(), c.state.lang.clone()));
        let (guide, lang) = match cached {
            Some(known) => known,
            None => match self.cached(user) {
                Ok(c) => (c.state.guide, c.state.lang),
                Err(_) => return default.clone(),
            },
        };
        let library = self.library();
        zone_in(guide_reminders(&library, guide.as_deref(), lang.as_deref()), default)
    }

    /// When the user's next unsent reminder goes out, if they have one.
    fn next_due(&self, state: &UserState) -> Option<i64> {
        state.reminders.values().filter(|r| !r.sent).filter_map(|r| self.reminder_time(state, r)).min()
    }
}

/// The reminder settings of `guide` (in `lang`), if it has any.
fn guide_reminders<'a>(library: &'a Library, guide: Option<&str>, lang: Option<&str>) -> Option<&'a ReminderSettings> {
    guide.and_then(|g| library.pick(g, lang)).and_then(|g| g.file.reminders.as_ref())
}

/// The zone `settings` name, else `default`.
fn zone_in(settings: Option<&ReminderSettings>, default: &TimeZone) -> TimeZone {
    settings.and_then(|s| TimeZone::get(s.time_zone.as_deref()?).ok()).unwrap_or_else(|| default.clone())
}

/// A version for a record about to be written: never the same twice, in
/// this process or another (a random start per process, then counting).
fn new_version() -> u64 {
    static NEXT: std::sync::OnceLock<std::sync::atomic::AtomicU64> = std::sync::OnceLock::new();
    let next = NEXT.get_or_init(|| {
        // Seeded by the OS's randomness, per process.
        use std::hash::BuildHasher;
        std::sync::atomic::AtomicU64::new(std::hash::RandomState::new().hash_one(std::process::id()))
    });
    // 0 means "no record": skip it.
    match next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) {
        0 => next.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        v => v,
    }
}

fn queued(user: UserId, seqs: Vec<u64>, items: &[Vec<u8>]) -> Vec<Queued> {
    seqs.into_iter().zip(items).map(|(seq, item)| Queued { user, seq, item: item.clone() }).collect()
}

/// Where the time comes from: the system clock in production, a settable one in tests.
pub trait Clock: Send + Sync {
    fn now(&self) -> jiff::Timestamp;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
}

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct FixedClock(Mutex<jiff::Timestamp>);

impl FixedClock {
    pub fn new(at: jiff::Timestamp) -> FixedClock {
        FixedClock(Mutex::new(at))
    }

    pub fn set(&self, at: jiff::Timestamp) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = at;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> jiff::Timestamp {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The operator's time zone for people whose guide sets none: `GUIDEBOT_TZ`
/// when set and known, else Asia/Shanghai. (A guide's `reminders.time_zone`,
/// when given, is its people's zone instead: see [`App::zone_of`].)
pub fn user_zone() -> TimeZone {
    std::env::var("GUIDEBOT_TZ")
        .ok()
        .and_then(|name| TimeZone::get(&name).ok())
        .or_else(|| TimeZone::get(DEFAULT_TIME_ZONE).ok())
        .unwrap_or(TimeZone::UTC)
}

/// The engine's context at `now` in `zone`.
pub fn ctx_at(now: jiff::Timestamp, zone: &TimeZone, first_name: Option<String>, lang_hint: Option<String>) -> Ctx {
    let local = now.to_zoned(zone.clone()).datetime();
    Ctx { today: local.date(), now: local, first_name, lang_hint }
}

impl App {
    /// Every user's state (records that cannot be read are skipped and counted in the log).
    pub fn all_states(&self) -> Result<Vec<UserState>, AppError> {
        let mut out = Vec::new();
        for user in self.store.users()? {
            match self.state(user) {
                Ok(s) => out.push(s),
                Err(e) => tracing::warn!(%user, "skipping a record in statistics: {e}"),
            }
        }
        Ok(out)
    }

    /// The statistics report authors and admins see.
    pub fn stats_report(&self) -> Result<String, AppError> {
        let states = self.all_states()?;
        Ok(crate::domain::stats::stats(&states).render(&self.library()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::store::MemoryStore;
    use crate::domain::dialogue::load_library;

    fn u(n: i64) -> UserId {
        UserId::telegram(n)
    }

    fn e(n: i64) -> EventId {
        EventId::telegram(n)
    }

    fn app() -> App {
        let text = "guide: g\nlang: en\ntitle: G\nstart: a\nnodes:\n  a:\n    say: How much?\n    ask: { save: debt, type: money }\n    goto: b\n  b:\n    say: Done\n    end: true\n";
        App::new(load_library(&[("g.en.yaml".into(), text.into())]).expect("loads"), Arc::new(MemoryStore::default()))
    }

    fn ctx() -> Ctx {
        ctx_at("2026-11-28T02:00:00Z".parse().expect("time"), &TimeZone::UTC, None, None)
    }

    fn texts(items: &[Vec<u8>]) -> Vec<String> {
        items.iter().map(|i| String::from_utf8_lossy(i).into_owned()).collect()
    }

    /// A plan that turns every message into an item holding its text.
    fn plan(out: &Output) -> Vec<Vec<u8>> {
        out.messages.iter().map(|m| m.text.clone().into_bytes()).collect()
    }

    #[test]
    fn an_event_id_is_applied_once_and_saved_with_its_reply() {
        let app = app();
        assert!(matches!(
            app.handle_once(u(1), e(10), &Event::Start, &ctx(), &plan).expect("start"),
            Delivery::Applied { .. }
        ));
        let first = app.handle_once(u(1), e(11), &Event::Text("300".into()), &ctx(), &plan).expect("answer");
        let Delivery::Applied { queued, .. } = first else { panic!("not applied") };
        assert_eq!(texts(&queued.iter().map(|q| q.item.clone()).collect::<Vec<_>>()), ["Done"]);
        assert_eq!(app.state(u(1)).expect("state").node.as_deref(), Some("b"));
        // The reply is in the outbox until delivered.
        let pending: Vec<u64> = app.store().pending().expect("pending").iter().map(|q| q.seq).collect();
        assert!(pending.contains(&queued[0].seq));
        // Delivered again: nothing applied, nothing new queued.
        let before = app.state(u(1)).expect("state");
        assert!(matches!(
            app.handle_once(u(1), e(11), &Event::Text("300".into()), &ctx(), &plan).expect("again"),
            Delivery::Repeated
        ));
        assert_eq!(app.state(u(1)).expect("state"), before);
        assert_eq!(app.store().pending().expect("pending").len(), pending.len());
    }

    /// One zone per person: their guide's when it sets one (for "today" and for
    /// the reminder hour alike), else the operator's default.
    #[test]
    fn a_guides_time_zone_is_its_peoples_for_today_and_for_reminders() {
        let guide = |zone: &str| {
            format!(
                "guide: g\nlang: en\ntitle: G\nstart: a\n{zone}nodes:\n  a:\n    say: Which day?\n    ask: {{ save: day, type: date }}\n    goto: b\n  b:\n    say: You said {{{{ day }}}}, today is {{{{ today }}}}.\n    remind:\n      - {{ id: r, date: day, days_before: 0, say: Now. }}\n    end: true\n"
            )
        };
        let shanghai = TimeZone::get("Asia/Shanghai").expect("zone");
        // 2026-11-28 22:00 in Honolulu is already the 29th in Shanghai.
        let at: jiff::Timestamp = "2026-11-29T08:00:00Z".parse().expect("time");
        for (zone_line, today, hour_utc) in [
            ("reminders: { hour: 9, time_zone: Pacific/Honolulu }\n", "2026-11-28", 19),
            ("reminders: { hour: 9 }\n", "2026-11-29", 1),
        ] {
            let app = App::new(
                load_library(&[("g.en.yaml".into(), guide(zone_line))]).expect("loads"),
                Arc::new(MemoryStore::default()),
            );
            // Someone new has the default zone until they are in the guide.
            assert_eq!(app.zone_for(u(1), &shanghai), shanghai);
            app.handle(u(1), &Event::Start, &ctx_at(at, &shanghai, None, None)).expect("start");
            let zone = app.zone_for(u(1), &shanghai);
            let out = app.handle(u(1), &Event::Text("today".into()), &ctx_at(at, &zone, None, None)).expect("answer");
            let said = &out.messages[0].text;
            assert!(said.contains(&format!("You said {today}, today is {today}")), "{zone_line}: {said}");
            let state = app.state(u(1)).expect("state");
            let reminder = state.reminders.get("r").expect("scheduled");
            let when = jiff::Timestamp::from_second(app.reminder_time(&state, reminder).expect("a time")).expect("ts");
            assert_eq!(when.to_zoned(TimeZone::UTC).hour(), hour_utc, "{zone_line}: 9 o'clock in the same zone");
        }
    }

    /// A store another process also writes to, which applies each event just
    /// after this process has checked it: `applied` always says no.
    struct CheckedTooEarly(Arc<MemoryStore>);

    impl Store for CheckedTooEarly {
        fn load(&self, user: UserId) -> Result<Option<crate::adapters::store::Stored>, StoreError> {
            self.0.load(user)
        }
        fn applied(&self, _event: EventId) -> Result<bool, StoreError> {
            Ok(false)
        }
        fn commit(&self, user: UserId, change: &Change<'_>) -> Result<Vec<u64>, StoreError> {
            self.0.commit(user, change)
        }
        fn erase(&self, user: UserId, event: Option<EventId>, farewell: &[Vec<u8>]) -> Result<Vec<u64>, StoreError> {
            self.0.erase(user, event, farewell)
        }
        fn users(&self) -> Result<Vec<UserId>, StoreError> {
            self.0.users()
        }
        fn due(&self, now: i64) -> Result<Vec<UserId>, StoreError> {
            self.0.due(now)
        }
        fn pending(&self) -> Result<Vec<Queued>, StoreError> {
            self.0.pending()
        }
        fn delivered(&self, user: UserId, seq: u64) -> Result<(), StoreError> {
            self.0.delivered(user, seq)
        }
        fn first_delivery(&self, event: EventId) -> Result<bool, StoreError> {
            self.0.first_delivery(event)
        }
    }

    /// Two processes on one shared store, a user's updates going to either in
    /// turn: each step builds on the last one saved, whoever saved it.
    #[test]
    fn a_step_on_a_copy_another_process_changed_is_run_again_on_a_fresh_read() {
        let text = "guide: g\nlang: en\ntitle: G\nstart: a\nnodes:\n  a:\n    say: How much?\n    ask: { save: debt, type: money }\n    goto: b\n  b:\n    say: How many months?\n    ask: { save: months, type: number }\n    goto: c\n  c:\n    say: Done\n    end: true\n";
        let shared = Arc::new(MemoryStore::default());
        let lib = || load_library(&[("g.en.yaml".into(), text.into())]).expect("loads");
        let (a, b) = (App::new(lib(), shared.clone()), App::new(lib(), shared.clone()));
        a.handle_once(u(1), e(10), &Event::Start, &ctx(), &plan).expect("start on a");
        b.handle_once(u(1), e(11), &Event::Text("300".into()), &ctx(), &plan).expect("amount on b");
        // a's copy is still at the amount question: "3" must go to the months.
        let Delivery::Applied { queued, .. } =
            a.handle_once(u(1), e(12), &Event::Text("3".into()), &ctx(), &plan).expect("a")
        else {
            panic!("not applied")
        };
        assert_eq!(texts(&queued.iter().map(|q| q.item.clone()).collect::<Vec<_>>()), ["Done"]);
        // As stored, read by a third process (b's copy is b's until its next step).
        for app in [&a, &App::new(lib(), shared.clone())] {
            let state = app.state(u(1)).expect("state");
            assert_eq!(state.node.as_deref(), Some("c"));
            assert_eq!(state.answers.get("a").map(String::as_str), Some("¥300.00"));
            assert_eq!(state.answers.get("b").map(String::as_str), Some("3"));
        }
    }

    #[test]
    fn an_event_another_process_applied_meanwhile_is_a_repeat() {
        let text = "guide: g\nlang: en\ntitle: G\nstart: a\nnodes:\n  a:\n    say: How much?\n    ask: { save: debt, type: money }\n    goto: b\n  b:\n    say: Done\n    end: true\n";
        let shared = Arc::new(MemoryStore::default());
        let lib = || load_library(&[("g.en.yaml".into(), text.into())]).expect("loads");
        let (a, b) = (App::new(lib(), shared.clone()), App::new(lib(), Arc::new(CheckedTooEarly(shared.clone()))));
        a.handle_once(u(1), e(10), &Event::Start, &ctx(), &plan).expect("start");
        b.state(u(1)).expect("b reads the user too");
        a.handle_once(u(1), e(11), &Event::Text("300".into()), &ctx(), &plan).expect("answer");
        let pending = shared.pending().expect("pending").len();
        // b gets the same update: its check comes too early, the store refuses the write.
        let again = b.handle_once(u(1), e(11), &Event::Text("300".into()), &ctx(), &plan).expect("no error");
        assert!(matches!(again, Delivery::Repeated), "{again:?}");
        assert_eq!(shared.pending().expect("pending").len(), pending, "no second reply");
        assert_eq!(b.state(u(1)).expect("state").node.as_deref(), Some("b"), "b reads the state a saved");
        // The same for an erase: b asked, another process applies the confirmation first.
        let ask = b.handle(u(1), &Event::Command(crate::domain::engine::Command::Delete), &ctx()).expect("ask");
        let yes = Event::Press(ask.messages[0].buttons[0][0].press);
        let other = App::new(lib(), shared.clone());
        assert!(matches!(
            other.handle_once(u(1), e(13), &yes, &ctx(), &plan).expect("erase"),
            Delivery::Applied { .. }
        ));
        assert_eq!(shared.load(u(1)).expect("load"), None, "erased");
        let pending = shared.pending().expect("pending").len();
        let repeat = b.handle_once(u(1), e(13), &yes, &ctx(), &plan).expect("no error");
        assert!(matches!(repeat, Delivery::Repeated), "{repeat:?}");
        assert_eq!(shared.pending().expect("pending").len(), pending, "no second farewell");
    }

    #[test]
    fn notes_are_appended_not_rewritten_and_come_back_after_a_restart() {
        let store = Arc::new(MemoryStore::default());
        let text = "guide: g\nlang: en\ntitle: G\nstart: a\nnodes:\n  a:\n    say: Hi\n    end: true\n";
        let lib = || load_library(&[("g.en.yaml".into(), text.into())]).expect("loads");
        let app = App::new(lib(), store.clone());
        app.handle(u(2), &Event::Start, &ctx()).expect("start");
        for i in 0..3 {
            app.handle(u(2), &Event::Text(format!("/note n{i}")), &ctx()).expect("note");
        }
        let stored = store.load(u(2)).expect("load").expect("stored");
        assert_eq!(stored.notes.len(), 3);
        assert!(!String::from_utf8_lossy(&stored.record).contains("n0"), "the record holds no note");
        let again = App::new(lib(), store);
        let notes: Vec<String> = again.state(u(2)).expect("state").notes.iter().map(|n| n.text.clone()).collect();
        assert_eq!(notes, ["n0", "n1", "n2"]);
    }

    #[test]
    fn a_due_reminder_is_marked_sent_and_queued_in_one_write() {
        let text = "guide: g\nlang: en\ntitle: G\nstart: a\nnodes:\n  a:\n    say: Hi\n    remind:\n      - { id: r, on: '\"2027-01-02\"', say: Pay }\n    end: true\n";
        let store = Arc::new(MemoryStore::default());
        let app = App::new(load_library(&[("g.en.yaml".into(), text.into())]).expect("loads"), store.clone());
        app.handle(u(3), &Event::Start, &ctx()).expect("start");
        let st = app.state(u(3)).expect("state");
        let reminder = st.reminders.values().next().expect("scheduled");
        let at = jiff::Timestamp::from_second(app.reminder_time(&st, reminder).expect("time")).expect("ts");
        assert_eq!(store.due(at.as_second() - 1).expect("due"), Vec::<UserId>::new());
        assert_eq!(store.due(at.as_second()).expect("due"), vec![u(3)]);
        let (_, queued) = app.take_due_reminders(u(3), at, &plan).expect("take");
        assert_eq!(texts(&queued.iter().map(|q| q.item.clone()).collect::<Vec<_>>()), ["⏰ Pay"]);
        assert_eq!(store.due(i64::MAX - 1).expect("due"), Vec::<UserId>::new(), "nothing left to send");
        assert!(app.take_due_reminders(u(3), at, &plan).expect("again").1.is_empty(), "sent once");
    }

    #[test]
    fn a_new_reminder_hour_moves_every_stored_reminder_time() {
        let guide = |hour: u8| {
            let text = format!(
                "guide: g\nlang: en\ntitle: G\nstart: a\nreminders: {{ hour: {hour}, time_zone: Asia/Shanghai }}\nnodes:\n  a:\n    say: Hi\n    remind:\n      - {{ id: r, on: '\"2027-01-02\"', say: Pay }}\n    end: true\n"
            );
            load_library(&[("g.en.yaml".into(), text)]).expect("loads")
        };
        let store = Arc::new(MemoryStore::default());
        let app = App::new(guide(9), store.clone());
        for user in 1..=3 {
            app.handle(u(user), &Event::Start, &ctx()).expect("start");
        }
        let at = |app: &App| {
            let st = app.state(u(1)).expect("state");
            app.reminder_time(&st, st.reminders.values().next().expect("scheduled")).expect("time")
        };
        let nine = at(&app);
        let mut due = store.due(nine).expect("due");
        due.sort_unstable();
        assert_eq!(due, vec![u(1), u(2), u(3)]);
        assert!(!app.replace_library(guide(9)), "same hour and zone: nothing to refresh");
        assert!(app.replace_library(guide(15)), "a new hour");
        let three_pm = at(&app);
        assert_eq!(three_pm - nine, 6 * 3600);
        assert_eq!(app.refresh_reminder_times().expect("refresh"), 3);
        assert_eq!(store.due(nine).expect("due"), Vec::<UserId>::new(), "nobody is woken at the old hour");
        let mut due = store.due(three_pm).expect("due");
        due.sort_unstable();
        assert_eq!(due, vec![u(1), u(2), u(3)]);
    }

    #[test]
    fn ten_thousand_note_attempts_stay_within_fifty_megabytes() {
        use crate::adapters::store::{SledStore, StoreOptions};
        let tmp = tempfile::tempdir().expect("tempdir");
        let options = StoreOptions { min_free_bytes: 0, ..StoreOptions::default() };
        let store = Arc::new(SledStore::open_with(tmp.path(), options).expect("open"));
        let text = "guide: g\nlang: en\ntitle: G\nstart: a\nnodes:\n  a:\n    say: Hi\n    end: true\n";
        let app = App::new(load_library(&[("g.en.yaml".into(), text.into())]).expect("loads"), store.clone());
        app.handle_once(u(7), e(0), &Event::Start, &ctx(), &plan).expect("start");
        // Notes of 4,000 characters that do not compress away: a different letter sequence each time.
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut times = Vec::new();
        for id in 1..=10_000i64 {
            let note: String = (0..4_000)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    char::from(b'a' + (seed % 26) as u8)
                })
                .collect();
            let started = std::time::Instant::now();
            let Delivery::Applied { queued, .. } =
                app.handle_once(u(7), e(id), &Event::Text(format!("/note {note}")), &ctx(), &plan).expect("note")
            else {
                panic!("applied once")
            };
            // As the bot does once each reply is delivered.
            for q in queued {
                store.delivered(q.user, q.seq).expect("delivered");
            }
            times.push(started.elapsed());
        }
        let state = app.state(u(7)).expect("state");
        assert_eq!(state.notes.len(), crate::domain::engine::NOTES_LIMIT, "the rest were refused");
        drop(app);
        let bytes = store.disk_bytes().expect("size");
        assert!(bytes < 50 * 1024 * 1024, "{} MB on disk", bytes / 1024 / 1024);
        let median = |t: &mut [std::time::Duration]| {
            t.sort();
            t[t.len() / 2]
        };
        eprintln!(
            "10,000 note attempts: {} MB on disk; median step {:?} for the first 500, {:?} for the last 500",
            bytes / 1024 / 1024,
            median(&mut times[..500].to_vec()),
            median(&mut times[9_500..].to_vec())
        );
    }
}
