//! Button presses: refusing old and foreign buttons, the reminder's way back to
//! the menu, choices, checklist ticks, Keep and Skip.

use std::sync::Arc;

use super::Run;
use super::commands::confirm_key;
use crate::domain::dialogue::format::Node;
use crate::domain::engine::event::{Action, Press, node_hash};
use crate::domain::engine::output::Edit;
use crate::domain::engine::state::Pending;
use crate::domain::engine::texts::Ui;
use crate::domain::markup;
use crate::domain::value::{Var, get_path, remove_path, set_path};

impl<'a> Run<'a> {
    pub(super) fn press(&mut self, p: Press) {
        if self.st.guide.is_none() && !matches!(p.action, Action::Guide(_)) {
            // A button from before an erase (or from nowhere): say how to begin, store nothing.
            return self.out.say(self.t(Ui::NoProgress));
        }
        if p.action == Action::Menu {
            return self.open_menu(p.node);
        }
        if p.seq != self.st.seq {
            // A double tap (or Telegram's resend) of the press just applied: nothing to show.
            if self.st.last_press.as_deref() == Some(p.encode().as_str()) {
                return;
            }
            // A truly old button: one notice per step, never a pile of them.
            if self.st.notice_seq == Some(self.st.seq) {
                return;
            }
            self.st.notice_seq = Some(self.st.seq);
            return self.stale();
        }
        self.press_now(p);
        // Nothing is kept of someone who just erased everything.
        if !self.refused && !self.out.erase && self.st.guide.is_some() {
            self.st.last_press = Some(p.encode());
        }
    }

    /// A reminder's button: the guide's menu (`reminders.menu`), whatever step the user
    /// is at, since a reminder arrives days after the step that scheduled it.
    fn open_menu(&mut self, node: u32) {
        let menu = self.guide.and_then(|g| g.file.reminders.as_ref()).and_then(|r| r.menu.clone());
        match menu {
            Some(menu) if node_hash(&menu) == node && self.node(&menu).is_some() => {
                self.st.pending = None;
                self.st.finished = false;
                self.enter(&menu);
            }
            _ => self.stale(),
        }
    }

    /// Applies a press of the current step.
    fn press_now(&mut self, p: Press) {
        match p.action {
            Action::Yes | Action::No => match &self.st.pending {
                Some(pending) if node_hash(&confirm_key(pending)) == p.node => self.settle(p.action == Action::Yes),
                _ => self.stale(),
            },
            Action::Guide(i) => {
                let ids: Vec<String> = self.lib.guide_ids().into_iter().map(str::to_owned).collect();
                match ids.get(usize::from(i)) {
                    Some(id) => self.switch_guide(id),
                    None => self.stale(),
                }
            }
            Action::Lang(i) => {
                let Some(id) = self.st.guide.clone() else { return self.stale() };
                let langs: Vec<String> = self.lib.langs(&id).into_iter().map(str::to_owned).collect();
                match langs.get(usize::from(i)) {
                    Some(l) => self.set_lang(l),
                    None => self.stale(),
                }
            }
            Action::Review(i) => match self.answered_nodes().get(usize::from(i)).cloned() {
                Some(id) => self.enter(&id),
                None => self.stale(),
            },
            Action::Restart => self.ask_restart(),
            Action::Export => self.export(),
            Action::Notes => self.list_notes(),
            Action::Menu => self.open_menu(p.node),
            Action::Choice(_) | Action::Toggle(_) | Action::Done | Action::Keep | Action::Skip => {
                let Some((id, node)) = self.current() else { return self.stale() };
                if node_hash(&id) != p.node {
                    return self.stale();
                }
                self.act(&id, node, p.action);
            }
        }
    }

    fn stale(&mut self) {
        self.refused = true;
        self.out.say(self.t(Ui::Stale));
        match self.st.pending.clone() {
            Some(p @ Pending::ConfirmDelete) => self.confirm(p, Ui::ConfirmDelete),
            Some(p @ Pending::ConfirmRestart) => self.confirm(p, Ui::ConfirmRestart),
            Some(p @ Pending::ConfirmSwitch(_)) => self.confirm(p, Ui::ConfirmSwitch),
            _ => self.show_current(),
        }
    }

    /// A button of the current node.
    pub(super) fn act(&mut self, id: &str, node: &'a Node, action: Action) {
        match action {
            Action::Choice(i) => self.choose(id, node, usize::from(i), true),
            Action::Toggle(i) => {
                if self.toggle(id, node, usize::from(i)) {
                    let msg = self.node_message(id, node);
                    self.out.edit = Some(Edit::Replace(msg));
                } else {
                    self.stale();
                }
            }
            Action::Done => self.finish_checklist(id, node, true),
            Action::Keep => {
                let Some(ask) = &node.ask else { return self.stale() };
                let Some(v) = get_path(&self.st.vars, &ask.save).filter(|v| self.question(ask).keeps(v)).cloned()
                else {
                    return self.stale();
                };
                let shown = self.question(ask).show(&v);
                self.answered(id, shown, node.goto.clone(), true);
            }
            Action::Skip => {
                let Some(ask) = node.ask.as_ref().filter(|a| a.optional) else { return self.stale() };
                remove_path(Arc::make_mut(&mut self.st.vars), &ask.save);
                self.touch(&ask.save);
                self.answered(id, "—".into(), node.goto.clone(), true);
            }
            _ => self.stale(),
        }
    }

    pub(super) fn choose(&mut self, id: &str, node: &'a Node, i: usize, edit: bool) {
        let Some(c) = node.choices.as_ref().and_then(|c| c.get(i)) else { return self.stale() };
        if c.when.is_some() && !self.holds(&format!("nodes.{id}.choices.{i}.when")) {
            return self.stale();
        }
        let label = markup::to_plain(&self.render(&format!("nodes.{id}.choices.{i}.label")));
        if edit {
            let question = self.render(&format!("nodes.{id}.say"));
            self.out.edit = Some(Edit::Answered(format!("{question}\n\n→ {}", markup::escape(&label))));
        }
        self.set_and_compute(&format!("nodes.{id}.choices.{i}"), &c.set, &c.compute);
        let next = c.goto.clone().or_else(|| node.goto.clone());
        self.answered(id, label, next, false);
    }

    pub(super) fn toggle(&mut self, id: &str, node: &'a Node, i: usize) -> bool {
        let Some(cl) = &node.checklist else { return false };
        let items = self.checklist_items(id, node);
        let Some(item) = items.get(i) else { return false };
        let mut ticked = self.ticked(&cl.save);
        if let Some(pos) = ticked.iter().position(|t| *t == item.id) {
            ticked.remove(pos);
        } else {
            ticked.push(item.id.clone());
        }
        set_path(
            Arc::make_mut(&mut self.st.vars),
            &cl.save,
            Var::List(Arc::new(ticked.into_iter().map(Var::Str).collect())),
        );
        self.touch(&cl.save);
        true
    }

    pub(super) fn finish_checklist(&mut self, id: &str, node: &'a Node, edit: bool) {
        let Some(cl) = &node.checklist else { return self.stale() };
        let ticked = self.ticked(&cl.save);
        set_path(
            Arc::make_mut(&mut self.st.vars),
            &cl.save,
            Var::List(Arc::new(ticked.iter().cloned().map(Var::Str).collect())),
        );
        self.touch(&cl.save);
        let labels: Vec<String> = self
            .checklist_items(id, node)
            .into_iter()
            .filter(|it| ticked.contains(&it.id))
            .map(|it| markup::to_plain(&it.label))
            .collect();
        let answer = if labels.is_empty() { "—".to_owned() } else { labels.join(", ") };
        if edit {
            let msg = self.node_message(id, node);
            self.out.edit = Some(Edit::Answered(format!("{}\n\n→ {}", msg.text, markup::escape(&answer))));
        }
        self.answered(id, answer, node.goto.clone(), false);
    }
}
