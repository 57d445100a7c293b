//! Typed text: a note being written, yes or no to a confirmation, an answer to
//! the current question, or a button named by its number or label.

use std::sync::Arc;

use super::Run;
use crate::domain::answer::Refusal;
use crate::domain::dialogue::format::{Ask, Node};
use crate::domain::engine::event::Action;
use crate::domain::engine::output::{Button, Message};
use crate::domain::engine::state::Pending;
use crate::domain::engine::texts::Ui;
use crate::domain::markup;
use crate::domain::value::set_path;

impl<'a> Run<'a> {
    pub(super) fn text(&mut self, raw: &str) {
        let text = raw.trim();
        match self.st.pending.clone() {
            Some(Pending::Note) => {
                self.st.pending = None;
                self.add_note(text);
                if !self.st.notes.is_empty() {
                    self.show_current();
                }
                return;
            }
            Some(p @ (Pending::ConfirmDelete | Pending::ConfirmRestart | Pending::ConfirmSwitch(_))) => {
                match yes_no(text) {
                    Some(answer) => self.settle(answer),
                    None => {
                        let prompt = match p {
                            Pending::ConfirmDelete => Ui::ConfirmDelete,
                            Pending::ConfirmSwitch(_) => Ui::ConfirmSwitch,
                            _ => Ui::ConfirmRestart,
                        };
                        self.confirm(p, prompt);
                    }
                }
                return;
            }
            None => {}
        }
        let Some((id, node)) = self.current() else { return self.start() };
        if let Some(ask) = &node.ask {
            return self.typed_answer(&id, node, ask, text);
        }
        if node.choices.is_some() {
            let msg = self.node_message(&id, node);
            match find_button(&msg, text) {
                Some(Action::Choice(i)) => self.choose(&id, node, usize::from(i), false),
                Some(a @ (Action::Restart | Action::Export | Action::Notes)) if node.end => self.act_end(a),
                _ => {
                    self.out.say(self.t(Ui::PickOne));
                    self.out.messages.push(msg);
                }
            }
            return;
        }
        if node.checklist.is_some() {
            let msg = self.node_message(&id, node);
            match find_button(&msg, text) {
                Some(Action::Toggle(i)) => {
                    self.toggle(&id, node, usize::from(i));
                    self.show_current();
                }
                Some(Action::Done) => self.finish_checklist(&id, node, false),
                _ => {
                    self.out.say(self.t(Ui::ChecklistHint));
                    self.out.messages.push(msg);
                }
            }
            return;
        }
        if node.end {
            let msg = self.node_message(&id, node);
            if let Some(a) = find_button(&msg, text) {
                return self.act_end(a);
            }
            self.out.say(self.t(Ui::EndHint));
        }
    }

    fn act_end(&mut self, a: Action) {
        match a {
            Action::Restart => self.ask_restart(),
            Action::Export => self.export(),
            Action::Notes => self.list_notes(),
            _ => self.out.say(self.t(Ui::EndHint)),
        }
    }

    fn typed_answer(&mut self, id: &str, node: &'a Node, ask: &Ask, text: &str) {
        let msg = self.node_message(id, node);
        if let Some(a @ (Action::Keep | Action::Skip)) = find_button(&msg, text) {
            return self.act(id, node, a);
        }
        match self.question(ask).parse(text) {
            Ok((value, shown)) => {
                set_path(Arc::make_mut(&mut self.st.vars), &ask.save, value);
                self.touch(&ask.save);
                self.answered(id, shown, node.goto.clone(), false);
            }
            Err(refusal) => {
                let message = match refusal {
                    Refusal::Unreadable(_) if ask.invalid.is_some() => self.render(&format!("nodes.{id}.ask.invalid")),
                    Refusal::Unreadable(m) | Refusal::Refused(m) => m,
                };
                self.out.say(message);
                self.out.messages.push(msg);
            }
        }
    }
}

/// The button a typed text names: its number in the message (1-based) or its label.
fn find_button(msg: &Message, text: &str) -> Option<Action> {
    let buttons: Vec<&Button> = msg.buttons.iter().flatten().collect();
    if let Ok(n) = text.trim().parse::<usize>()
        && !msg.typed
    {
        return buttons.get(n.checked_sub(1)?).map(|b| b.press.action);
    }
    let wanted = normalise(text);
    buttons
        .iter()
        .find(|b| {
            let label = normalise(&markup::to_plain(&b.label));
            let bare = label.trim_start_matches(['✅', '⬜']).trim();
            // "Keep: ¥3,500.00" is also pressed by typing "keep".
            let head = label.split(':').next().unwrap_or("").trim();
            label == wanted || bare == wanted || head == wanted
        })
        .map(|b| b.press.action)
}

fn normalise(s: &str) -> String {
    s.trim().to_lowercase()
}

fn yes_no(text: &str) -> Option<bool> {
    match normalise(text).as_str() {
        "yes" | "y" | "是" | "确定" | "好" | "对" => Some(true),
        "no" | "n" | "否" | "不" | "取消" | "不要" => Some(false),
        _ => None,
    }
}
