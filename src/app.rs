//! `App`: the one place where events enter. It serialises the events of one
//! user (different users run in parallel), loads their state, runs the pure
//! engine, and persists the result before handing back what to show —
//! persist, then reply. Front ends (Telegram, terminal, scenarios, benches)
//! all go through here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::adapters::store::{Store, StoreError, UserId};
use crate::domain::dialogue::Library;
use crate::domain::engine::{Ctx, Event, Output, Reminder, UserState, step};

/// Time zone used when a guide names none.
pub const DEFAULT_TIME_ZONE: &str = "Asia/Shanghai";
/// Event ids remembered per user: far more than can be in flight for one person.
const APPLIED_KEPT: usize = 64;
/// Hour of day reminders go out at when a guide names none.
pub const DEFAULT_REMINDER_HOUR: u8 = 9;

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

/// What became of an event with an id.
#[derive(Debug)]
pub enum Delivery {
    /// Applied for the first time (and persisted).
    Applied(Output),
    /// Applied before; nothing changed. The output shows the current step again.
    Repeated(Output),
}

/// The engine with its storage and the loaded guides.
pub struct App {
    library: RwLock<Arc<Library>>,
    store: Arc<dyn Store>,
    locks: Mutex<HashMap<UserId, Arc<Mutex<()>>>>,
}

impl App {
    pub fn new(library: Library, store: Arc<dyn Store>) -> App {
        App { library: RwLock::new(Arc::new(library)), store, locks: Mutex::new(HashMap::new()) }
    }

    /// The guides now in force.
    pub fn library(&self) -> Arc<Library> {
        self.library.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Replaces the guides; every user sees the new ones at their next event.
    pub fn replace_library(&self, library: Library) {
        *self.library.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(library);
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

    /// The user's state (default when they have none).
    pub fn state(&self, user: UserId) -> Result<UserState, AppError> {
        match self.store.load(user)? {
            None => Ok(UserState::default()),
            Some(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| AppError::Corrupt {
                    user,
                    // Where, not what: the record holds what the user typed.
                    detail: format!("{:?} error at line {} column {}", e.classify(), e.line(), e.column()),
                })
            }
        }
    }

    fn save(&self, user: UserId, old: &UserState, new: &UserState) -> Result<(), AppError> {
        let bytes = serde_json::to_vec(new).map_err(|e| AppError::Encode { user, detail: e.to_string() })?;
        self.store.save(user, &bytes)?;
        self.sync_reminders(user, old, new)?;
        Ok(())
    }

    /// Replaces a user's whole state (an import, a migration, a test's starting point),
    /// keeping the reminder index in step. Persisted when it returns.
    pub fn put_state(&self, user: UserId, state: &UserState) -> Result<(), AppError> {
        self.with_user(user, || {
            let old = self.state(user)?;
            self.save(user, &old, state)
        })
    }

    /// Applies one event and persists the result; the output may then be shown.
    pub fn handle(&self, user: UserId, event: &Event, ctx: &Ctx) -> Result<Output, AppError> {
        self.with_user(user, || {
            let state = self.state(user)?;
            let library = self.library();
            let (next, out) = step(&library, &state, event, ctx);
            if out.erase {
                self.store.erase(user)?;
            } else if next != state {
                self.save(user, &state, &next)?;
            }
            Ok(out)
        })
    }

    /// Like [`App::handle`] for an event with an id (a Telegram update id). The id is saved
    /// in the same write as the state it changed, so a crash can neither lose the event nor
    /// apply it twice. An event whose id was already applied changes nothing; the user is
    /// shown where they are, since the reply to the first delivery may have been lost in the
    /// crash that caused the second.
    pub fn handle_once(&self, user: UserId, event_id: i64, event: &Event, ctx: &Ctx) -> Result<Delivery, AppError> {
        self.with_user(user, || {
            let state = self.state(user)?;
            if state.applied.contains(&event_id) {
                let (_, out) = step(&self.library(), &state, &Event::Refresh, ctx);
                return Ok(Delivery::Repeated(out));
            }
            let library = self.library();
            let (mut next, out) = step(&library, &state, event, ctx);
            if out.erase {
                self.store.erase(user)?;
            } else if next != state {
                next.applied.push(event_id);
                let extra = next.applied.len().saturating_sub(APPLIED_KEPT);
                next.applied.drain(..extra);
                self.save(user, &state, &next)?;
            }
            Ok(Delivery::Applied(out))
        })
    }

    /// Reminders of `user` whose time (their day, at the guide's hour, in the guide's zone)
    /// has come by `now` and that were not sent yet — marked sent and persisted first, so
    /// that a crash between marking and sending loses one rather than sending it twice.
    pub fn take_due_reminders(&self, user: UserId, now: jiff::Timestamp) -> Result<Vec<(String, Reminder)>, AppError> {
        self.with_user(user, || {
            let state = self.state(user)?;
            let due: Vec<(String, Reminder)> = state
                .reminders
                .iter()
                .filter(|(_, r)| !r.sent && self.reminder_time(&state, r).is_some_and(|at| at <= now.as_second()))
                .map(|(id, r)| (id.clone(), r.clone()))
                .collect();
            if due.is_empty() {
                return Ok(due);
            }
            let mut next = state.clone();
            for (id, _) in &due {
                if let Some(r) = Arc::make_mut(&mut next.reminders).get_mut(id) {
                    r.sent = true;
                }
            }
            self.save(user, &state, &next)?;
            Ok(due)
        })
    }

    /// Unix time at which a reminder goes out: its day, at the guide's hour, in the guide's zone.
    pub fn reminder_time(&self, state: &UserState, reminder: &Reminder) -> Option<i64> {
        let library = self.library();
        let settings = state
            .guide
            .as_deref()
            .and_then(|g| library.pick(g, state.lang.as_deref()))
            .and_then(|g| g.file.reminders.clone())
            .unwrap_or_default();
        let zone = settings.time_zone.as_deref().unwrap_or(DEFAULT_TIME_ZONE);
        let tz = TimeZone::get(zone).ok()?;
        let hour = settings.hour.unwrap_or(DEFAULT_REMINDER_HOUR).min(23);
        let day: Date = reminder.send_on.parse().ok()?;
        let zoned = day.at(hour as i8, 0, 0, 0).to_zoned(tz).ok()?;
        Some(zoned.timestamp().as_second())
    }

    /// Keeps the store's reminder index (ids and times only) in step with the state.
    fn sync_reminders(&self, user: UserId, old: &UserState, new: &UserState) -> Result<(), AppError> {
        if old.reminders == new.reminders && old.guide == new.guide && old.lang == new.lang {
            return Ok(());
        }
        self.index_reminders(user, new)
    }

    /// Makes the store's reminder index for `user` hold exactly what `state` wants sent.
    fn index_reminders(&self, user: UserId, new: &UserState) -> Result<(), AppError> {
        let wanted: Vec<(i64, &String)> = new
            .reminders
            .iter()
            .filter(|(_, r)| !r.sent)
            .filter_map(|(id, r)| self.reminder_time(new, r).map(|at| (at, id)))
            .collect();
        for r in self.store.reminders_of(user)? {
            if !wanted.iter().any(|(at, id)| *at == r.at && **id == r.id) {
                self.store.remove_reminder(&r)?;
            }
        }
        let have = self.store.reminders_of(user)?;
        for (at, id) in wanted {
            if !have.iter().any(|r| r.at == at && r.id == *id) {
                self.store.schedule_reminder(at, user, id)?;
            }
        }
        Ok(())
    }
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

/// The users' time zone: `GUIDEBOT_TZ` when set and known, else Asia/Shanghai.
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
    /// Rebuilds the reminder index from every user's state. The state and its index entry
    /// are two writes; run at start-up so that one lost between them (a crash) comes back.
    /// Returns how many users were looked at.
    pub fn rebuild_reminder_index(&self) -> Result<usize, AppError> {
        let users = self.store.users()?;
        for &user in &users {
            self.with_user(user, || match self.state(user) {
                Ok(state) => self.index_reminders(user, &state),
                Err(e) => {
                    tracing::warn!(user, "reminders of this user not indexed: {e}");
                    Ok(())
                }
            })?;
        }
        Ok(users.len())
    }

    /// Every user's state (records that cannot be read are skipped and counted in the log).
    pub fn all_states(&self) -> Result<Vec<UserState>, AppError> {
        let mut out = Vec::new();
        for user in self.store.users()? {
            match self.state(user) {
                Ok(s) => out.push(s),
                Err(e) => tracing::warn!(user, "skipping a record in statistics: {e}"),
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

    fn app() -> App {
        let text = "guide: g\nlang: en\ntitle: G\nstart: a\nnodes:\n  a:\n    say: How much?\n    ask: { save: debt, type: money }\n    goto: b\n  b:\n    say: Done\n    end: true\n";
        App::new(load_library(&[("g.en.yaml".into(), text.into())]).expect("loads"), Arc::new(MemoryStore::default()))
    }

    fn ctx() -> Ctx {
        ctx_at("2026-11-28T02:00:00Z".parse().expect("time"), &TimeZone::UTC, None, None)
    }

    #[test]
    fn an_event_id_is_applied_once_and_saved_with_the_state() {
        let app = app();
        assert!(matches!(app.handle_once(1, 10, &Event::Start, &ctx()).expect("start"), Delivery::Applied(_)));
        let first = app.handle_once(1, 11, &Event::Text("300".into()), &ctx()).expect("answer");
        assert!(matches!(first, Delivery::Applied(_)));
        assert_eq!(app.state(1).expect("state").node.as_deref(), Some("b"));
        // Delivered again: skipped, and the state is as it was.
        let before = app.state(1).expect("state");
        match app.handle_once(1, 11, &Event::Text("300".into()), &ctx()).expect("again") {
            Delivery::Repeated(out) => assert_eq!(out.messages[0].text, "Done", "the current step is shown again"),
            Delivery::Applied(_) => panic!("applied twice"),
        }
        assert_eq!(app.state(1).expect("state"), before);
        assert!(before.applied.contains(&11));
    }

    #[test]
    fn a_lost_reminder_index_entry_is_rebuilt() {
        let text = "guide: g\nlang: en\ntitle: G\nstart: a\nnodes:\n  a:\n    say: Hi\n    remind:\n      - { id: r, on: '\"2027-01-02\"', say: Pay }\n    end: true\n";
        let store = Arc::new(MemoryStore::default());
        let app = App::new(load_library(&[("g.en.yaml".into(), text.into())]).expect("loads"), store.clone());
        app.handle(3, &Event::Start, &ctx()).expect("start");
        let entries = store.reminders_of(3).expect("index");
        assert_eq!(entries.len(), 1);
        // As if the process died between saving the state and writing its index entry.
        store.remove_reminder(&entries[0]).expect("remove");
        assert_eq!(app.rebuild_reminder_index().expect("rebuild"), 1);
        assert_eq!(store.reminders_of(3).expect("index"), entries);
    }

    #[test]
    fn only_the_latest_ids_are_kept() {
        let app = app();
        app.handle_once(2, 0, &Event::Start, &ctx()).expect("start");
        for id in 1..100 {
            app.handle_once(2, id, &Event::Text("/note n".into()), &ctx()).expect("note");
        }
        let st = app.state(2).expect("state");
        assert_eq!(st.applied.len(), APPLIED_KEPT);
        assert_eq!(st.applied.last(), Some(&99));
    }
}
