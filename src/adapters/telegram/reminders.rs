//! Reminders on Telegram: every so often, the reminders whose time has come
//! are marked sent (and persisted) by the app, then sent. Marking first
//! means a crash between the two loses a reminder rather than sending it
//! twice; after a restart nothing is sent again.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use teloxide::types::ChatId;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use super::outbox::Outbox;
use crate::adapters::store::{Reminder, UserId};
use crate::app::{App, Clock};

/// Sends every reminder due at `clock`'s now; returns how many were sent.
/// Failures are logged and leave the rest going: one user's broken record
/// does not hold up the others'.
pub async fn send_due_reminders(app: &Arc<App>, outbox: &Outbox, clock: &dyn Clock) -> usize {
    let now = clock.now();
    let due = {
        let app = Arc::clone(app);
        blocking(move || app.store().due_reminders(now.as_second())).await
    };
    let due = match due {
        Some(Ok(due)) => due,
        Some(Err(err)) => {
            tracing::error!(error = %err, "could not read the due reminders");
            return 0;
        }
        None => return 0,
    };
    let users: BTreeSet<UserId> = due.iter().map(|r| r.user).collect();
    let mut sent = 0;
    for user in users {
        let entries: Vec<Reminder> = due.iter().filter(|r| r.user == user).cloned().collect();
        sent += remind(app, outbox, user, now, entries).await;
    }
    sent
}

/// Takes and sends the due reminders of one user, then drops the index
/// entries their state no longer wants.
async fn remind(app: &Arc<App>, outbox: &Outbox, user: UserId, now: jiff::Timestamp, entries: Vec<Reminder>) -> usize {
    let taken = {
        let app = Arc::clone(app);
        blocking(move || app.take_due_reminders(user, now)).await
    };
    let taken = match taken {
        Some(Ok(taken)) => taken,
        Some(Err(err)) => {
            tracing::error!(user, error = %err, "could not take the user's due reminders");
            return 0;
        }
        None => return 0,
    };
    let mut sent = 0;
    for (id, reminder) in &taken {
        match outbox.say(ChatId(user), &format!("⏰ {}", reminder.text)).await {
            Ok(()) => {
                sent += 1;
                tracing::info!(user, reminder = %id, "reminder sent");
            }
            Err(err) => tracing::warn!(user, reminder = %id, error = %outbox.describe(&err), "reminder not delivered"),
        }
    }
    let app = Arc::clone(app);
    let cleaned = blocking(move || -> Result<(), crate::app::AppError> {
        let state = app.state(user)?;
        for entry in entries {
            // Still wanted (rescheduled, or not yet due): the app keeps its index entry.
            let wanted = state.reminders.get(&entry.id).is_some_and(|r| !r.sent);
            if !wanted {
                app.store().remove_reminder(&entry)?;
            }
        }
        Ok(())
    })
    .await;
    if let Some(Err(err)) = cleaned {
        tracing::warn!(user, error = %err, "could not tidy the reminder index");
    }
    sent
}

/// Runs [`send_due_reminders`] every `every` (first at once) until `stop` changes.
pub(super) async fn remind_every(
    app: Arc<App>,
    outbox: Outbox,
    clock: Arc<dyn Clock>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(every.max(Duration::from_millis(10)));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                send_due_reminders(&app, &outbox, clock.as_ref()).await;
            }
            _ = stop.changed() => return,
        }
    }
}

/// Runs blocking store work off the async threads; None (logged) if it panicked.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => Some(value),
        Err(err) => {
            tracing::error!(panicked = err.is_panic(), "reminder work stopped");
            None
        }
    }
}
