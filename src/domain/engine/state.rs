//! What the engine remembers of one user between events. Serialised as a
//! whole by the store; every field has a default so that records written by
//! an older version still load.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::domain::value::Vars;

/// One user's progress, answers, notes and reminders.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserState {
    /// Guide id the user is in.
    pub guide: Option<String>,
    /// Language chosen (or taken from the user's client).
    pub lang: Option<String>,
    /// Node the user is at (a question or an end); None before the guide starts.
    pub node: Option<String>,
    /// Stage of that node (or the last stage seen), kept for recovery when a node disappears.
    pub stage: Option<String>,
    /// Shared with the history's snapshots until changed (copy on write), so that
    /// keeping a snapshot per question costs a pointer, not a copy.
    pub vars: Arc<Vars>,
    /// Node id → the answer given there, as shown (for `/review` and the case file).
    pub answers: Arc<BTreeMap<String, String>>,
    /// Questions shown so far, the current one last: what `/back` walks.
    pub history: Vec<Frame>,
    /// Kept by the store one by one (appending a note never rewrites the others),
    /// so never serialised with the rest; read for records written before that.
    #[serde(skip_serializing)]
    pub notes: Arc<Vec<Note>>,
    pub pending: Option<Pending>,
    /// Grows each time a new step is shown; buttons carry it, so an old button is recognised.
    pub seq: u32,
    pub finished: bool,
    pub first_name: String,
    /// Reminder id → reminder. Shared with the history's snapshots until changed.
    pub reminders: Arc<BTreeMap<String, Reminder>>,
    /// Stages the user has reached (for statistics).
    pub reached: BTreeSet<String>,
    /// Ids of the latest events applied (front ends' update ids), so that one delivered
    /// twice is applied once. Kept with the state, so both are saved in one write.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub applied: Vec<i64>,
    /// The last button press applied (its callback data): the same press again is a double tap.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_press: Option<String>,
    /// The step (`seq`) at which an "earlier step" notice was last shown: one per step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice_seq: Option<u32>,
}

/// A question as it was when shown: going back restores it exactly.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Frame {
    pub node: String,
    pub stage: Option<String>,
    pub vars: Arc<Vars>,
    pub answers: Arc<BTreeMap<String, String>>,
    /// Reminders as they were: `/back` takes back what later steps scheduled.
    pub reminders: Arc<BTreeMap<String, Reminder>>,
}

/// What the next typed text or button means, when it is not an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Pending {
    /// The next text is a note.
    Note,
    /// Waiting for yes/no before erasing everything.
    ConfirmDelete,
    /// Waiting for yes/no before starting over.
    ConfirmRestart,
    /// Waiting for yes/no before leaving this guide's answers for another guide.
    ConfirmSwitch(String),
}

/// A note the user wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    /// Local time, `YYYY-MM-DD HH:MM`.
    pub at: String,
    pub text: String,
    /// Stage the user was in.
    pub stage: Option<String>,
}

/// A message the bot will send on a day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reminder {
    /// Day to send it (ISO date, user's time zone).
    pub send_on: String,
    /// The date it is about.
    pub about: String,
    /// Text to send (markup).
    pub text: String,
    pub sent: bool,
    /// The `remind` entry that scheduled it (`node/index`).
    #[serde(default)]
    pub source: String,
}
