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
use crate::domain::engine::{Ctx, Event, Output, Reminder, UserState, due_reminders, step};

/// Time zone used when a guide names none.
pub const DEFAULT_TIME_ZONE: &str = "Asia/Shanghai";
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
                serde_json::from_slice(&bytes).map_err(|e| AppError::Corrupt { user, detail: e.to_string() })
            }
        }
    }

    fn save(&self, user: UserId, old: &UserState, new: &UserState) -> Result<(), AppError> {
        let bytes = serde_json::to_vec(new).map_err(|e| AppError::Encode { user, detail: e.to_string() })?;
        self.store.save(user, &bytes)?;
        self.sync_reminders(user, old, new)?;
        Ok(())
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

    /// Reminders of `user` due by `today` and not sent yet, marked sent (and persisted) first.
    pub fn take_due_reminders(&self, user: UserId, today: Date) -> Result<Vec<(String, Reminder)>, AppError> {
        self.with_user(user, || {
            let state = self.state(user)?;
            let due = due_reminders(&state, today);
            if due.is_empty() {
                return Ok(due);
            }
            let mut next = state.clone();
            for (id, _) in &due {
                if let Some(r) = next.reminders.get_mut(id) {
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
