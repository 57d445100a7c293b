//! Reminders on Telegram: every so often, the users whose next reminder
//! time has come are asked of the app, which marks their due reminders sent
//! and saves the messages to the outbox in one write; the sender then
//! delivers them. A crash neither loses a reminder nor sends one twice.

use std::sync::Arc;
use std::time::Duration;

use teloxide::types::ChatId;
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use super::delivery::{Reply, Sender, encode, plan};
use crate::app::{App, Clock};

/// Queues every reminder due at `clock`'s now; returns how many users had some.
/// Failures are logged and leave the rest going: one user's broken record
/// does not hold up the others'.
pub async fn send_due_reminders(app: &Arc<App>, sender: &Sender, clock: &dyn Clock) -> usize {
    let now = clock.now();
    let app = Arc::clone(app);
    let metrics = sender.metrics().clone();
    let taken = tokio::task::spawn_blocking(move || {
        let users = match app.store().due(now.as_second()) {
            Ok(users) => users,
            Err(err) => {
                tracing::error!(error = %err, "could not read the due reminders");
                return Vec::new();
            }
        };
        let mut all = Vec::new();
        for user in users {
            let reply = Reply { chat: ChatId(user), pressed: None, callback: None };
            match app.take_due_reminders(user, now, &|out| encode(&plan(out, &reply))) {
                Ok((out, queued)) if !queued.is_empty() => {
                    tracing::info!(user, messages = queued.len(), "reminders queued");
                    metrics.reminders_sent(out.messages.len());
                    all.push(queued);
                }
                Ok(_) => {}
                Err(err) => tracing::error!(user, error = %err, "could not take the user's due reminders"),
            }
        }
        all
    })
    .await;
    match taken {
        Ok(all) => {
            let n = all.len();
            for queued in all {
                sender.enqueue(queued);
            }
            n
        }
        Err(err) => {
            tracing::error!(panicked = err.is_panic(), "reminder work stopped");
            0
        }
    }
}

/// Runs [`send_due_reminders`] every `every` (first at once) until `stop`
/// changes; each time, also takes over what a stopped process sharing the
/// store left undelivered ([`Sender::adopt`]).
pub(super) async fn remind_every(
    app: Arc<App>,
    sender: Sender,
    clock: Arc<dyn Clock>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(every.max(Duration::from_millis(10)));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                sender.adopt().await;
                send_due_reminders(&app, &sender, clock.as_ref()).await;
            }
            _ = stop.changed() => return,
        }
    }
}
