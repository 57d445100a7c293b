//! The simulated users. Each walks the lost-card guide's eight steps again
//! and again: it sends an update (a text, or a press of a button on the last
//! keyboard it got), and the step is answered when the bot's next question
//! reaches its chat. Questions are recognised by the first words of their
//! text, so the same users drive guidebot and the teloxide yardsticks.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep, sleep_until};

use super::fake_api::{FakeApi, Reply, Sent, press_update, splitmix, text_update};

/// The cycle's questions, in the order the bot shows them, by the start of their text.
pub const QUESTIONS: [&str; 8] = [
    "Lost your bank card?",
    "Which card is it?",
    "When did you last use the card?",
    "How many payments on your statement",
    "What do those payments add up to?",
    "Have you blocked the card",
    "All set.",
    "Start the guide again?",
];

/// What a user does.
#[derive(Debug, Clone, Copy)]
pub enum Act {
    Text(&'static str),
    Press(&'static str),
}

/// What a user does when question `i` is shown; the bot then shows question `(i + 1) % 8`.
/// The count and the total are both valid amounts, so an answer applied twice
/// skips a question instead of hiding behind an error message.
pub const ACTIONS: [Act; 8] = [
    Act::Press("I lost it"),
    Act::Press("Debit card"),
    Act::Text("2026-11-30"),
    Act::Text("2"),
    Act::Text("250"),
    Act::Press("Yes, it is blocked"),
    Act::Press("Start over"),
    Act::Press("Yes"),
];

/// Messages that come with an answer without being a notice.
const EXTRAS: [&str; 1] = ["Starting again."];

/// After this long without the expected reply, a patient user types or presses again.
pub const RETRY_AFTER: Duration = Duration::from_secs(3);
/// A user with no reply for this long at the end is stuck.
pub const STUCK_AFTER: Duration = Duration::from_secs(10);

/// Which question a bot message is, if any.
pub fn question_of(text: &str) -> Option<usize> {
    QUESTIONS.iter().position(|q| text.starts_with(q))
}

/// How a user behaves.
#[derive(Debug, Clone, Copy)]
pub struct Behaviour {
    /// Pause about 2 s (1.5 to 2.5) before each step instead of answering at once.
    pub paced: bool,
    /// Send a new update with the same content when nothing came back within [`RETRY_AFTER`].
    pub retry: bool,
    /// On each bot restart, queue the update of an unanswered step again with its
    /// update_id (Telegram redelivers what the bot did not confirm).
    pub redeliver: bool,
    /// Print every update sent and every message received (for looking into a run).
    pub trace: bool,
}

/// What one user saw.
#[derive(Debug, Default, Clone)]
pub struct UserStats {
    /// Latency of every answered step, in microseconds.
    pub latencies: Vec<u64>,
    /// Steps answered within [`RETRY_AFTER`] of the first send.
    pub within_retry: u64,
    /// Steps answered only after the user sent them again as a new update.
    pub retyped_steps: u64,
    /// New updates sent again after [`RETRY_AFTER`] of silence.
    pub retypes: u64,
    /// Updates queued again with their own update_id after a restart.
    pub redelivered: u64,
    /// A question the user had already been answered with, received again.
    pub repeats: u64,
    /// A question other than the expected next one or the current one (the dialogue skipped or went back).
    pub out_of_step: u64,
    /// Messages that are no question of the guide (notices such as "That button belongs to an earlier step").
    pub notices: u64,
    /// The button to press was not on the last keyboard.
    pub missing_button: u64,
    /// Users with no reply for longer than [`STUCK_AFTER`] when the run ended.
    pub stuck: u64,
}

impl UserStats {
    pub fn merge(&mut self, other: &UserStats) {
        self.latencies.extend_from_slice(&other.latencies);
        self.within_retry += other.within_retry;
        self.retyped_steps += other.retyped_steps;
        self.retypes += other.retypes;
        self.redelivered += other.redelivered;
        self.repeats += other.repeats;
        self.out_of_step += other.out_of_step;
        self.notices += other.notices;
        self.missing_button += other.missing_button;
        self.stuck += other.stuck;
    }
}

/// A small deterministic random source per user.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(1);
        splitmix(self.0) % n.max(1)
    }
}

/// The update for `act` by user `chat`, if it can be made (a press needs its button).
fn update_for(api: &FakeApi, chat: i64, act: Act, keyboard: Option<&Value>) -> Option<(i64, Arc<str>)> {
    let id = api.update_id();
    let update = match act {
        Act::Text(text) => text_update(id, chat, text),
        Act::Press(label) => {
            let message = keyboard?;
            let rows = message.pointer("/reply_markup/inline_keyboard")?.as_array()?;
            let data = rows
                .iter()
                .filter_map(Value::as_array)
                .flatten()
                .find(|b| b["text"].as_str() == Some(label))?["callback_data"]
                .as_str()?;
            press_update(id, chat, message, data)
        }
    };
    Some((id, update.to_string().into()))
}

/// What the run tells every user.
#[derive(Debug, Clone)]
pub struct Signals {
    /// Becomes true when the measured window is over.
    pub stop: watch::Receiver<bool>,
    /// Counts the bot's restarts.
    pub restarts: watch::Receiver<u64>,
}

/// Runs one user until `stop` says so (or its channel closes) and returns what it saw.
/// Steps answered after `window_end` are not counted.
pub async fn user(
    index: usize,
    chat: i64,
    api: Arc<FakeApi>,
    mut replies: mpsc::UnboundedReceiver<Reply>,
    behaviour: Behaviour,
    window_end: Instant,
    signals: Signals,
) -> UserStats {
    let Signals { mut stop, mut restarts } = signals;
    let mut stats = UserStats::default();
    let mut rng = Rng(index as u64 * 7919);
    let mut last_progress = Instant::now();
    // The question the user is looking at; None before /start.
    let mut at: Option<usize> = None;
    // The last message with buttons (what a press is made on).
    let mut keyboard: Option<Value> = None;
    let mut listen_restarts = behaviour.redeliver;
    if behaviour.paced {
        // Spread the first steps over one pause.
        let wait = Duration::from_millis(rng.below(2000));
        tokio::select! {
            _ = sleep(wait) => {}
            _ = stop.changed() => return finish(stats, last_progress),
        }
    }
    'steps: while !*stop.borrow() {
        if behaviour.paced && at.is_some() {
            let wait = Duration::from_millis(1500 + rng.below(1001));
            tokio::select! {
                _ = sleep(wait) => {}
                _ = stop.changed() => break 'steps,
            }
        }
        let act = at.map_or(Act::Text("/start"), |q| ACTIONS[q]);
        let expect = at.map_or(0, |q| (q + 1) % QUESTIONS.len());
        let Some((mut id, mut update)) = update_for(&api, chat, act, keyboard.as_ref()) else {
            // Ask the bot where we are: /start shows the current question again.
            stats.missing_button += 1;
            at = None;
            continue;
        };
        // Restarts before this update was sent have nothing of it to redeliver.
        restarts.borrow_and_update();
        api.push(id, Arc::clone(&update));
        let sent = Instant::now();
        if behaviour.trace {
            eprintln!("user {index}: update {id} {act:?} (at {at:?}, expecting {expect})");
        }
        let mut last_send = sent;
        let mut retyped = false;
        loop {
            tokio::select! {
                reply = replies.recv() => {
                    let Some(reply) = reply else { break 'steps };
                    if behaviour.trace {
                        let text: String = reply.text.chars().take(50).collect();
                        eprintln!("user {index}: {:?} {text:?} ({} ms)", reply.sent, reply.at.saturating_duration_since(sent).as_millis());
                    }
                    // Edits mark an answered question; only new messages move the dialogue.
                    if reply.sent != Sent::Message {
                        continue;
                    }
                    match question_of(&reply.text) {
                        Some(q) if q == expect => {
                            if reply.has_buttons {
                                keyboard = Some(reply.message);
                            }
                            at = Some(q);
                            last_progress = reply.at;
                            if reply.at <= window_end {
                                let latency = reply.at.saturating_duration_since(sent);
                                stats.latencies.push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
                                if latency <= RETRY_AFTER {
                                    stats.within_retry += 1;
                                }
                                if retyped {
                                    stats.retyped_steps += 1;
                                }
                            }
                            break;
                        }
                        Some(q) if Some(q) == at => {
                            stats.repeats += 1;
                            if reply.has_buttons {
                                keyboard = Some(reply.message);
                            }
                        }
                        Some(q) => {
                            // The bot is elsewhere: go on from where it is.
                            stats.out_of_step += 1;
                            if reply.has_buttons {
                                keyboard = Some(reply.message);
                            }
                            at = Some(q);
                            last_progress = reply.at;
                            break;
                        }
                        None if EXTRAS.iter().any(|e| reply.text.starts_with(e)) => {}
                        None => stats.notices += 1,
                    }
                }
                _ = sleep_until(last_send + RETRY_AFTER), if behaviour.retry => {
                    let Some((again, fresh)) = update_for(&api, chat, act, keyboard.as_ref()) else { break };
                    api.push(again, Arc::clone(&fresh));
                    if behaviour.trace {
                        eprintln!("user {index}: update {again} {act:?} again, as new");
                    }
                    (id, update) = (again, fresh);
                    last_send = Instant::now();
                    retyped = true;
                    stats.retypes += 1;
                }
                changed = restarts.changed(), if listen_restarts => {
                    if changed.is_ok() {
                        api.push(id, Arc::clone(&update));
                        if behaviour.trace {
                            eprintln!("user {index}: update {id} redelivered after a restart");
                        }
                        stats.redelivered += 1;
                    } else {
                        listen_restarts = false;
                    }
                }
                _ = stop.changed() => break 'steps,
            }
        }
    }
    finish(stats, last_progress)
}

fn finish(mut stats: UserStats, last_progress: Instant) -> UserStats {
    stats.stuck = u64::from(last_progress.elapsed() > STUCK_AFTER);
    stats
}

/// One user sending 100 messages at once after `delay`, then reading what comes back.
pub async fn flooder(
    chat: i64,
    api: Arc<FakeApi>,
    mut replies: mpsc::UnboundedReceiver<Reply>,
    delay: Duration,
    mut stop: watch::Receiver<bool>,
) -> u64 {
    tokio::select! {
        _ = sleep(delay) => {}
        _ = stop.changed() => return 0,
    }
    let updates: Vec<(i64, Arc<str>)> = (1..=100)
        .map(|i| {
            let id = api.update_id();
            (id, text_update(id, chat, &format!("hello {i}")).to_string().into())
        })
        .collect();
    api.push_all(updates);
    let mut received = 0;
    loop {
        tokio::select! {
            reply = replies.recv() => match reply {
                Some(_) => received += 1,
                None => return received,
            },
            _ = stop.changed() => return received,
        }
    }
}
