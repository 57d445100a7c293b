//! Moving through the guide: entering a node and going on through messages and
//! branches until one waits for the user; `set`, `compute`, `append`; scheduling
//! reminders; arriving (history for `/back`); moving on after an answer.

use std::sync::Arc;

use indexmap::IndexMap;
use minijinja::value::Value;

use super::{HISTORY_LIMIT, HOP_LIMIT, LIST_LIMIT, Run};
use crate::domain::dialogue::Library;
use crate::domain::dialogue::format::Node;
use crate::domain::engine::event::{Action, Press, node_hash};
use crate::domain::engine::output::{Button, Edit, Message};
use crate::domain::engine::state::{Frame, Reminder, UserState};
use crate::domain::engine::texts::{Ui, ui};
use crate::domain::markup;
use crate::domain::value::{Var, get_path, remove_path, set_path};

impl<'a> Run<'a> {
    pub(super) fn node(&self, id: &str) -> Option<&'a Node> {
        self.guide.and_then(|g| g.node(id))
    }

    pub(super) fn current(&self) -> Option<(String, &'a Node)> {
        let id = self.st.node.clone()?;
        let node = self.node(&id)?;
        Some((id, node))
    }

    /// Enters `id` and moves on through message and branch nodes until one waits for the user.
    pub(super) fn enter(&mut self, id: &str) {
        let mut id = id.to_owned();
        for _ in 0..HOP_LIMIT {
            let Some(node) = self.node(&id) else {
                self.out.problems.push(format!("node `{id}` does not exist"));
                return;
            };
            if let Some(s) = &node.stage {
                self.st.stage = Some(s.clone());
                self.st.reached.insert(s.clone());
            }
            self.apply_entry(&id, node);
            if let Some(arms) = &node.branch {
                if node.say.is_some() {
                    let text = self.render(&format!("nodes.{id}.say"));
                    if !text.is_empty() {
                        self.out.say(text);
                    }
                }
                let mut next = None;
                for (i, arm) in arms.iter().enumerate() {
                    if arm.when.is_none() || self.holds(&format!("nodes.{id}.branch.{i}.when")) {
                        next = Some(arm.goto.clone());
                        break;
                    }
                }
                match next {
                    Some(n) => {
                        id = n;
                        continue;
                    }
                    None => {
                        self.out.problems.push(format!("branch `{id}` had no matching entry"));
                        return;
                    }
                }
            }
            if node.is_interactive() || node.end {
                self.arrive(&id, node);
                let msg = self.node_message(&id, node);
                self.out.messages.push(msg);
                return;
            }
            let text = self.render(&format!("nodes.{id}.say"));
            if !text.is_empty() {
                self.out.say(text);
            }
            match &node.goto {
                Some(next) => id = next.clone(),
                None => return,
            }
        }
        self.out.problems.push(format!("stopped after {HOP_LIMIT} automatic steps at `{id}`"));
    }

    /// Stores `set`'s literals, then each `compute` expression (compiled under `{owner}.compute.{var}`) in order.
    pub(super) fn set_and_compute(
        &mut self,
        owner: &str,
        set: &IndexMap<String, serde_yaml::Value>,
        compute: &IndexMap<String, String>,
    ) {
        for (k, v) in set {
            set_path(Arc::make_mut(&mut self.st.vars), k, Var::from_yaml(v));
            self.touch(k);
        }
        for k in compute.keys() {
            let v = self.eval(&format!("{owner}.compute.{k}"));
            let var = Var::try_from_value(&v).unwrap_or_else(|_| {
                // Past what money can be: say so, rather than leave a blank figure.
                self.out.problems.push(format!("`{owner}.compute.{k}` gave a number too large to keep"));
                if !self.out.texts().contains(&self.t(Ui::TooLargeToWorkOut)) {
                    self.out.say(self.t(Ui::TooLargeToWorkOut));
                }
                Var::Null
            });
            set_path(Arc::make_mut(&mut self.st.vars), k, var);
            self.touch(k);
        }
    }

    /// `set`, `compute`, `append`, `remind`, in that order.
    fn apply_entry(&mut self, id: &str, node: &Node) {
        self.set_and_compute(&format!("nodes.{id}"), &node.set, &node.compute);
        if let Some(a) = &node.append {
            let record = remove_path(Arc::make_mut(&mut self.st.vars), &a.from).unwrap_or_default();
            let mut list = match get_path(&self.st.vars, &a.to) {
                Some(Var::List(l)) => l.to_vec(),
                _ => Vec::new(),
            };
            if list.len() >= LIST_LIMIT {
                self.out.say(self.t(Ui::ListFull));
            } else {
                list.push(record);
                set_path(Arc::make_mut(&mut self.st.vars), &a.to, Var::List(Arc::new(list)));
            }
            self.touch(&a.from);
            self.touch(&a.to);
        }
        for i in 0..node.remind.len() {
            self.schedule(id, node, i);
        }
    }

    /// Schedules the reminders of entry `i` of `node.remind`. A reminder with the id of an
    /// earlier one replaces it; an entry with `each` replaces everything it scheduled before
    /// (its unsent reminders are dropped first); and a `when` that is false cancels the unsent
    /// reminder of the same id.
    fn schedule(&mut self, id: &str, node: &Node, i: usize) {
        let r = &node.remind[i];
        let p = format!("nodes.{id}.remind.{i}");
        let source = format!("{id}/{i}");
        if r.each.is_some() {
            // A list is scheduled anew as a whole: items no longer in it lose their reminders.
            Arc::make_mut(&mut self.st.reminders).retain(|_, old| old.sent || old.source != source);
        }
        let items: Vec<Option<Value>> = if r.each.is_some() {
            match self.eval(&format!("{p}.each")).try_iter() {
                Ok(it) => it.map(Some).collect(),
                Err(_) => Vec::new(),
            }
        } else {
            vec![None]
        };
        let default_days = self.guide.and_then(|g| g.file.reminders.as_ref()).and_then(|s| s.days_before).unwrap_or(1);
        for item in items {
            let ctx = match item {
                Some(v) => self.with_item(v),
                None => self.scope(),
            };
            let rid = markup::to_plain(&self.render_in(&format!("{p}.id"), &ctx));
            if r.when.is_some() && !self.eval_in(&format!("{p}.when"), &ctx).is_true() {
                if self.st.reminders.get(&rid).is_some_and(|old| !old.sent) {
                    Arc::make_mut(&mut self.st.reminders).remove(&rid);
                }
                continue;
            }
            let on = self.eval_in(&format!("{p}.date"), &ctx).to_string();
            let text = self.render_in(&format!("{p}.say"), &ctx);
            let Ok(about) = on.parse::<jiff::civil::Date>() else {
                self.out.problems.push(format!("reminder `{rid}` in `{id}`: `date` gave no date"));
                continue;
            };
            let days = i64::from(r.days_before.unwrap_or(default_days));
            let send_on = about.checked_sub(jiff::Span::new().days(days)).unwrap_or(about);
            let sent = self.st.reminders.get(&rid).is_some_and(|old| old.sent && old.about == about.to_string());
            Arc::make_mut(&mut self.st.reminders).insert(
                rid,
                Reminder { send_on: send_on.to_string(), about: about.to_string(), text, sent, source: source.clone() },
            );
        }
    }

    /// The user now waits at `id`.
    fn arrive(&mut self, id: &str, node: &Node) {
        self.st.node = Some(id.to_owned());
        self.st.seq = self.st.seq.wrapping_add(1);
        self.st.finished = node.end;
        self.st.pending = None;
        self.st.history.push(Frame {
            node: id.to_owned(),
            stage: self.st.stage.clone(),
            vars: self.st.vars.clone(),
            answers: self.st.answers.clone(),
            reminders: self.st.reminders.clone(),
        });
        if self.st.history.len() > HISTORY_LIMIT {
            let extra = self.st.history.len() - HISTORY_LIMIT;
            self.st.history.drain(..extra);
        }
    }

    /// Moves on from the current node to `next` after an answer.
    pub(super) fn answered(&mut self, node_id: &str, answer: String, next: Option<String>, edit: bool) {
        Arc::make_mut(&mut self.st.answers).insert(node_id.to_owned(), answer.clone());
        if edit {
            let question = self.render(&format!("nodes.{node_id}.say"));
            self.out.edit = Some(Edit::Answered(format!("{question}\n\n→ {}", markup::escape(&answer))));
        }
        match next {
            Some(n) => self.enter(&n),
            None => self.show_current(),
        }
    }

    pub(super) fn recover_stale_node(&mut self) -> bool {
        let Some(g) = self.guide else { return false };
        let Some(node) = self.st.node.clone() else { return false };
        if g.node(&node).is_some() {
            return false;
        }
        let target =
            self.st.stage.as_deref().and_then(|s| g.first_node_of_stage(s)).unwrap_or(&g.file.start).to_owned();
        self.st.history.retain(|f| g.node(&f.node).is_some());
        self.st.pending = None;
        self.out.say(self.t(Ui::GuideChanged));
        self.enter(&target);
        true
    }
}

/// The message a due reminder is sent as: its text, and a button back to the guide's
/// menu when the guide names one (`reminders.menu`).
pub fn reminder_message(lib: &Library, state: &UserState, text: &str) -> Message {
    let guide = state.guide.as_deref().and_then(|g| lib.pick(g, state.lang.as_deref()));
    let menu = guide.and_then(|g| {
        g.file.reminders.as_ref().and_then(|r| r.menu.as_ref()).filter(|m| g.file.nodes.contains_key(*m))
    });
    let lang = state.lang.as_deref().or(guide.map(|g| g.file.lang.as_str())).unwrap_or("en");
    let buttons = menu
        .map(|m| {
            let press = Press { seq: state.seq, node: node_hash(m), action: Action::Menu };
            vec![vec![Button { label: ui(lang, Ui::BackToMenu).to_owned(), press }]]
        })
        .unwrap_or_default();
    Message { text: format!("⏰ {text}"), buttons, typed: false }
}
