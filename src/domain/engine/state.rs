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
    /// Stored as changes from one frame to the next (see [`history_codec`]).
    #[serde(with = "history_codec")]
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

/// How the `/back` history is stored: each frame as what changed since the
/// frame before it (the first one since nothing), so that a record grows by
/// one answer per question rather than by a copy of every answer so far.
/// Records written before carry whole frames (`vars`, `answers`,
/// `reminders`); they still load, and are written the new way at the next save.
/// In memory, a part that did not change is shared with the frame before.
mod history_codec {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{Frame, Reminder};
    use crate::domain::value::Var;

    /// What changed in one map between two frames.
    #[derive(Serialize, Deserialize)]
    #[serde(bound(serialize = "V: Serialize", deserialize = "V: Deserialize<'de>"))]
    struct Delta<V> {
        #[serde(default = "BTreeMap::new", skip_serializing_if = "BTreeMap::is_empty")]
        set: BTreeMap<String, V>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        unset: Vec<String>,
    }

    impl<V: Clone + PartialEq> Delta<V> {
        fn between(before: &BTreeMap<String, V>, after: &BTreeMap<String, V>) -> Option<Delta<V>> {
            let set: BTreeMap<String, V> =
                after.iter().filter(|(k, v)| before.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect();
            let unset: Vec<String> = before.keys().filter(|k| !after.contains_key(*k)).cloned().collect();
            (!set.is_empty() || !unset.is_empty()).then_some(Delta { set, unset })
        }

        fn apply(self, before: &Arc<BTreeMap<String, V>>) -> Arc<BTreeMap<String, V>> {
            let mut after = before.as_ref().clone();
            for k in &self.unset {
                after.remove(k);
            }
            after.extend(self.set);
            Arc::new(after)
        }
    }

    /// One stored frame: the new form (`dv`, `da`, `dr`: changes) or the old
    /// one (`vars`, `answers`, `reminders`: everything).
    #[derive(Serialize, Deserialize)]
    struct Stored {
        node: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stage: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dv: Option<Delta<Var>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        da: Option<Delta<String>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dr: Option<Delta<Reminder>>,
        #[serde(default, skip_serializing)]
        vars: Option<Arc<BTreeMap<String, Var>>>,
        #[serde(default, skip_serializing)]
        answers: Option<Arc<BTreeMap<String, String>>>,
        #[serde(default, skip_serializing)]
        reminders: Option<Arc<BTreeMap<String, Reminder>>>,
    }

    pub(super) fn serialize<S: Serializer>(history: &[Frame], serializer: S) -> Result<S::Ok, S::Error> {
        let empty = Frame::default();
        let stored: Vec<Stored> = history
            .iter()
            .scan(&empty, |before, frame| {
                let delta = Stored {
                    node: frame.node.clone(),
                    stage: frame.stage.clone(),
                    dv: Delta::between(&before.vars, &frame.vars),
                    da: Delta::between(&before.answers, &frame.answers),
                    dr: Delta::between(&before.reminders, &frame.reminders),
                    vars: None,
                    answers: None,
                    reminders: None,
                };
                *before = frame;
                Some(delta)
            })
            .collect();
        stored.serialize(serializer)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Frame>, D::Error> {
        let stored = Vec::<Stored>::deserialize(deserializer)?;
        let mut frames: Vec<Frame> = Vec::with_capacity(stored.len());
        for s in stored {
            let before = frames.last().cloned().unwrap_or_default();
            fn part<V: Clone + PartialEq>(
                whole: Option<Arc<BTreeMap<String, V>>>,
                delta: Option<Delta<V>>,
                before: &Arc<BTreeMap<String, V>>,
            ) -> Arc<BTreeMap<String, V>> {
                match (whole, delta) {
                    (Some(whole), _) => whole,
                    (None, Some(delta)) => delta.apply(before),
                    (None, None) => Arc::clone(before),
                }
            }
            frames.push(Frame {
                vars: part(s.vars, s.dv, &before.vars),
                answers: part(s.answers, s.da, &before.answers),
                reminders: part(s.reminders, s.dr, &before.reminders),
                node: s.node,
                stage: s.stage,
            });
        }
        Ok(frames)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::value::Var;

    fn reminder(day: &str) -> Reminder {
        Reminder { send_on: day.into(), about: day.into(), text: "pay".into(), sent: false, source: "n/0".into() }
    }

    /// A user five questions in: each frame adds an answer; one changes a
    /// variable, one takes an answer back, one schedules and one drops a reminder.
    fn walked() -> UserState {
        let mut state = UserState { guide: Some("g".into()), node: Some("q5".into()), ..UserState::default() };
        let mut frame = Frame::default();
        for i in 1..=5 {
            frame.node = format!("q{i}");
            frame.stage = Some(format!("stage {}", i / 2));
            let answers = Arc::make_mut(&mut frame.answers);
            answers.insert(format!("q{}", i - 1), format!("answer {i}"));
            if i == 4 {
                answers.remove("q1");
            }
            if i == 2 {
                Arc::make_mut(&mut frame.vars).insert("debt".into(), Var::Int(3500));
            }
            if i == 3 {
                Arc::make_mut(&mut frame.vars).insert("debt".into(), Var::Str("3,600".into()));
                Arc::make_mut(&mut frame.reminders).insert("due-1".into(), reminder("2027-01-05"));
            }
            if i == 5 {
                Arc::make_mut(&mut frame.reminders).clear();
            }
            state.history.push(frame.clone());
        }
        state.answers = Arc::clone(&frame.answers);
        state.vars = Arc::clone(&frame.vars);
        state
    }

    #[test]
    fn the_history_round_trips_as_changes() {
        let state = walked();
        let json = serde_json::to_string(&state).expect("serialise");
        let back: UserState = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, state);
        // Each answer is written once in the history, not once per later frame.
        assert_eq!(json.matches("answer 3").count(), 2, "history once, live answers once: {json}");
        // Parts that did not change are shared in memory, as before saving.
        assert!(Arc::ptr_eq(&back.history[3].vars, &back.history[4].vars));
    }

    #[test]
    fn records_with_whole_frames_still_load() {
        let state = walked();
        // The form records had before: every frame complete.
        let mut old = serde_json::to_value(&state).expect("serialise");
        old["history"] = serde_json::Value::Array(
            state
                .history
                .iter()
                .map(|f| {
                    serde_json::json!({
                        "node": f.node, "stage": f.stage, "vars": f.vars,
                        "answers": f.answers, "reminders": f.reminders,
                    })
                })
                .collect(),
        );
        let back: UserState = serde_json::from_value(old).expect("old form loads");
        assert_eq!(back, state);
    }
}
