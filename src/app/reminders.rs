//! The reminder service: every so often, what stopped processes left in a
//! shared outbox is taken over, and the users whose next reminder time has
//! come are asked of the store; for each, [`App::take_due_reminders`] marks
//! the due reminders sent and saves their messages to the outbox in one
//! write, and the [`Notifier`] delivers them. A crash neither loses a
//! reminder nor sends one twice. Any front end plugs in with its notifier.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use super::notify::Notifier;
use super::{App, Clock};

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// Outbox items taken over from stopped processes.
    pub adopted: usize,
    /// Users who had reminders due.
    pub users: usize,
    /// Reminder messages queued.
    pub messages: usize,
}

/// One round at `now`, blocking (call it from a blocking thread). Failures
/// are logged and leave the rest going: one user's broken record does not
/// hold up the others'.
pub fn remind(app: &App, notifier: &dyn Notifier, now: jiff::Timestamp) -> Round {
    let mut round = Round::default();
    match app.store().adopt() {
        Ok(items) => {
            let mine: Vec<_> = items.into_iter().filter(|q| q.user.front == notifier.front()).collect();
            if !mine.is_empty() {
                tracing::info!(items = mine.len(), "sending what a stopped process left undelivered");
                round.adopted = mine.len();
                notifier.deliver(mine);
            }
        }
        Err(err) => tracing::warn!(error = %err, "could not look for undelivered messages of stopped processes"),
    }
    let users = match app.store().due(now.as_second()) {
        Ok(users) => users,
        Err(err) => {
            tracing::error!(error = %err, "could not read the due reminders");
            return round;
        }
    };
    // Another front end's users are its own service's to remind.
    for user in users.into_iter().filter(|u| u.front == notifier.front()) {
        match app.take_due_reminders(user, now, &|out| notifier.plan(user, out)) {
            Ok((out, queued)) if !queued.is_empty() => {
                tracing::info!(%user, messages = queued.len(), "reminders queued");
                round.users += 1;
                round.messages += out.messages.len();
                notifier.deliver(queued);
            }
            Ok(_) => {}
            Err(err) => tracing::error!(%user, error = %err, "could not take the user's due reminders"),
        }
    }
    notifier.reminders_queued(round.messages);
    round
}

/// Runs [`remind`] every `every` (first at once), on a blocking thread,
/// until `stop` changes.
pub async fn remind_every(
    app: Arc<App>,
    notifier: Arc<dyn Notifier>,
    clock: Arc<dyn Clock>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(every.max(Duration::from_millis(10)));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let (app, notifier, now) = (Arc::clone(&app), Arc::clone(&notifier), clock.now());
                if let Err(err) = tokio::task::spawn_blocking(move || remind(&app, notifier.as_ref(), now)).await {
                    tracing::error!(panicked = err.is_panic(), "reminder work stopped");
                }
            }
            _ = stop.changed() => return,
        }
    }
}
