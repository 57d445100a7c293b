//! A node as the user sees it: its text and buttons as they stand now (choices
//! whose `when` holds, Keep and Skip for a question, ticks of a checklist, the
//! end's own buttons).

use minijinja::value::Value;

use super::Run;
use crate::domain::answer::Question;
use crate::domain::dialogue::format::{Ask, Node};
use crate::domain::engine::event::{Action, Press, node_hash};
use crate::domain::engine::output::{Button, Message};
use crate::domain::engine::texts::Ui;
use crate::domain::markup;
use crate::domain::value::{Var, get_path};

/// A checklist item as shown: its id and label.
pub(super) struct ShownItem {
    pub(super) id: String,
    pub(super) label: String,
}

impl<'a> Run<'a> {
    fn press_for(&self, node: &str, action: Action) -> Press {
        Press { seq: self.st.seq, node: node_hash(node), action }
    }

    pub(super) fn button(&self, node: &str, label: impl Into<String>, action: Action) -> Button {
        Button { label: label.into(), press: self.press_for(node, action) }
    }

    /// The question `id` with its buttons, as it stands now.
    pub(super) fn node_message(&mut self, id: &str, node: &Node) -> Message {
        let text = self.render(&format!("nodes.{id}.say"));
        let mut rows = Vec::new();
        if let Some(choices) = &node.choices {
            for (i, c) in choices.iter().enumerate() {
                if c.when.is_some() && !self.holds(&format!("nodes.{id}.choices.{i}.when")) {
                    continue;
                }
                let label = self.render(&format!("nodes.{id}.choices.{i}.label"));
                rows.push(vec![self.button(id, label, Action::Choice(i as u16))]);
            }
        }
        if let Some(ask) = &node.ask {
            let mut row = Vec::new();
            if let Some(v) = get_path(&self.st.vars, &ask.save).filter(|v| self.question(ask).keeps(v)) {
                let shown = self.question(ask).show(v);
                row.push(self.button(id, format!("{}: {shown}", self.t(Ui::Keep)), Action::Keep));
            }
            if ask.optional {
                row.push(self.button(id, self.t(Ui::Skip), Action::Skip));
            }
            if !row.is_empty() {
                rows.push(row);
            }
        }
        if let Some(cl) = &node.checklist {
            let ticked = self.ticked(&cl.save);
            for (i, item) in self.checklist_items(id, node).into_iter().enumerate() {
                let mark = if ticked.contains(&item.id) { "✅" } else { "⬜" };
                rows.push(vec![self.button(id, format!("{mark} {}", item.label), Action::Toggle(i as u16))]);
            }
            let done = self.render(&format!("nodes.{id}.checklist.done"));
            rows.push(vec![self.button(id, done, Action::Done)]);
        }
        if node.end {
            // The guide's own choices (a way back to a menu) come first, starting over last:
            // it is the one button here that clears answers.
            rows.push(vec![
                self.button(id, self.t(Ui::CaseFile), Action::Export),
                self.button(id, self.t(Ui::Notes), Action::Notes),
                self.button(id, self.t(Ui::StartOver), Action::Restart),
            ]);
        }
        Message { text, buttons: rows, typed: node.ask.is_some() }
    }

    pub(super) fn show_current(&mut self) {
        match self.current() {
            Some((id, node)) => {
                let msg = self.node_message(&id, node);
                self.out.messages.push(msg);
            }
            // The user's guide is not loaded: nothing to show, and no reason to start another.
            None if self.st.guide.is_some() && self.guide.is_none() => self.out.say(self.t(Ui::GuideUnavailable)),
            None => self.start(),
        }
    }

    pub(super) fn checklist_items(&mut self, id: &str, node: &Node) -> Vec<ShownItem> {
        let Some(cl) = &node.checklist else { return Vec::new() };
        let mut out = Vec::new();
        for (i, it) in cl.items.iter().enumerate() {
            if it.when.is_some() && !self.holds(&format!("nodes.{id}.checklist.items.{i}.when")) {
                continue;
            }
            let label = self.render(&format!("nodes.{id}.checklist.items.{i}.label"));
            out.push(ShownItem { id: it.id.clone(), label });
        }
        if cl.items_from.is_some() {
            let list = self.eval(&format!("nodes.{id}.checklist.items_from.list"));
            let items: Vec<Value> = list.try_iter().map(|it| it.collect()).unwrap_or_default();
            for item in items {
                let ctx = self.with_item(item);
                let item_id = markup::to_plain(&self.render_in(&format!("nodes.{id}.checklist.items_from.id"), &ctx));
                let label = self.render_in(&format!("nodes.{id}.checklist.items_from.label"), &ctx);
                out.push(ShownItem { id: item_id, label });
            }
        }
        out
    }

    pub(super) fn ticked(&self, save: &str) -> Vec<String> {
        match get_path(&self.st.vars, save) {
            Some(Var::List(items)) => items.iter().map(Var::display).collect(),
            _ => Vec::new(),
        }
    }

    /// The question `ask` as it stands for this user today.
    pub(super) fn question<'q>(&'q self, ask: &'q Ask) -> Question<'q> {
        let guide = self.guide.expect("a question is only asked within a guide");
        Question { ask, guide, lang: self.lang(), today: self.ctx.today }
    }
}
