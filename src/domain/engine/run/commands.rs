//! Every command: starting and choosing a guide, `/back`, `/restart`, notes,
//! `/progress`, `/lang`, `/delete`, and the yes/no confirmations they ask for.

use std::sync::Arc;

use super::{NOTES_LIMIT, Run};
use crate::domain::answer::TEXT_LIMIT;
use crate::domain::answer::text::too_long;
use crate::domain::engine::event::{Action, Command};
use crate::domain::engine::output::Message;
use crate::domain::engine::state::{Note, Pending, UserState};
use crate::domain::engine::texts::{Ui, ui};
use crate::domain::markup;

impl<'a> Run<'a> {
    pub(super) fn start(&mut self) {
        if self.guide.is_none() {
            self.choose_guide();
            return;
        }
        if self.st.node.is_none() {
            self.begin();
            return;
        }
        self.out.say(self.t(Ui::Resume));
        self.show_current();
    }

    fn begin(&mut self) {
        let Some(g) = self.guide else { return };
        if self.st.seq == 0 {
            // A fresh (or erased) user: start counting from the clock, so that buttons from
            // an erased earlier life can never match this one's.
            let t = self.ctx.now;
            let days = t.date().since(jiff::civil::date(2000, 1, 1)).map(|s| s.get_days()).unwrap_or(0);
            let secs = i64::from(days) * 86_400
                + i64::from(t.hour()) * 3600
                + i64::from(t.minute()) * 60
                + i64::from(t.second());
            self.st.seq = (secs.rem_euclid(1 << 30)) as u32;
        }
        self.st.vars = Arc::default();
        self.st.answers = Arc::default();
        self.st.history.clear();
        self.st.reminders = Arc::default();
        self.st.pending = None;
        self.st.finished = false;
        self.st.node = None;
        self.changed();
        self.enter(&g.file.start);
    }

    fn choose_guide(&mut self) {
        let ids: Vec<&str> = self.lib.guide_ids();
        match ids.as_slice() {
            [] => self.out.say(self.t(Ui::NoGuides)),
            [only] => self.select_guide(only),
            many => {
                self.st.seq = self.st.seq.wrapping_add(1);
                let hint = self.st.lang.clone().or(self.ctx.lang_hint.clone());
                let mut rows = Vec::new();
                for (i, id) in many.iter().enumerate() {
                    let Some(g) = self.lib.pick(id, hint.as_deref()) else { continue };
                    rows.push(vec![self.button("", g.file.title.clone(), Action::Guide(i as u16))]);
                }
                let text = ui(hint.as_deref().unwrap_or("en"), Ui::PickGuide).to_owned();
                self.out.messages.push(Message { text, buttons: rows, typed: false });
            }
        }
    }

    /// Goes to guide `id`: resumes it when it is the current one, asks first when leaving
    /// another guide's answers behind.
    pub(super) fn switch_guide(&mut self, id: &str) {
        if self.st.guide.as_deref() == Some(id) {
            return self.start();
        }
        if self.st.answers.is_empty() {
            return self.select_guide(id);
        }
        self.confirm(Pending::ConfirmSwitch(id.to_owned()), Ui::ConfirmSwitch);
    }

    fn select_guide(&mut self, id: &str) {
        let hint = self.st.lang.clone().or(self.ctx.lang_hint.clone());
        self.guide = self.lib.pick(id, hint.as_deref());
        let Some(g) = self.guide else { return };
        if let Some(name) = &self.ctx.first_name {
            self.st.first_name.clone_from(name);
        }
        self.st.guide = Some(id.to_owned());
        self.st.lang = Some(g.lang().to_owned());
        self.begin();
    }

    pub(super) fn command(&mut self, c: &Command) {
        if matches!(self.st.pending, Some(Pending::Note)) {
            self.st.pending = None;
        }
        if let (None, Command::Note(Some(text))) = (self.guide, c) {
            // Keep a note written before any guide was chosen, then begin.
            self.add_note(text);
            if self.st.guide.is_none() {
                self.choose_guide();
            }
            return;
        }
        if self.guide.is_none()
            && !matches!(c, Command::Help | Command::Delete | Command::Notes | Command::Guides(Some(_)))
        {
            self.choose_guide();
            return;
        }
        match c {
            Command::Start => self.start(),
            Command::Back => self.back(),
            Command::Restart => self.ask_restart(),
            Command::Note(Some(text)) => self.add_note(text),
            Command::Note(None) => {
                self.st.pending = Some(Pending::Note);
                self.out.say(self.t(Ui::NoteAsk));
            }
            Command::Notes => self.list_notes(),
            Command::Progress => self.progress(),
            Command::Export => self.export(),
            Command::Delete => self.confirm(Pending::ConfirmDelete, Ui::ConfirmDelete),
            Command::Review => self.review(),
            Command::Help => self.out.say(self.t(Ui::Help)),
            Command::Lang(arg) => self.choose_lang(arg.as_deref()),
            Command::Guides(Some(id)) if self.lib.guide_ids().contains(&id.as_str()) => self.switch_guide(id),
            Command::Guides(_) => {
                if self.lib.guide_ids().len() > 1 {
                    self.choose_guide();
                } else {
                    self.start();
                }
            }
            Command::Unknown(_) => self.out.say(self.t(Ui::UnknownCommand)),
        }
    }

    pub(super) fn confirm(&mut self, what: Pending, prompt: Ui) {
        // The buttons name the question they answer, so a Yes kept from an earlier
        // question can never confirm this one.
        let question = confirm_key(&what);
        self.st.pending = Some(what);
        self.st.seq = self.st.seq.wrapping_add(1);
        let buttons = vec![vec![
            self.button(&question, self.t(Ui::Yes), Action::Yes),
            self.button(&question, self.t(Ui::No), Action::No),
        ]];
        self.out.messages.push(Message { text: self.t(prompt).to_owned(), buttons, typed: false });
    }

    pub(super) fn ask_restart(&mut self) {
        if self.st.answers.is_empty() {
            self.restart();
        } else {
            self.confirm(Pending::ConfirmRestart, Ui::ConfirmRestart);
        }
    }

    fn restart(&mut self) {
        self.st.pending = None;
        self.out.say(self.t(Ui::Restarted));
        self.begin();
    }

    pub(super) fn settle(&mut self, yes: bool) {
        let Some(p) = self.st.pending.take() else { return self.show_current() };
        match (p, yes) {
            (Pending::ConfirmSwitch(id), true) => self.select_guide(&id),
            (Pending::ConfirmSwitch(_), false) => {
                self.out.say(self.t(Ui::RestartKept));
                self.show_current();
            }
            (Pending::ConfirmDelete, true) => {
                let lang = self.lang().to_owned();
                self.st = UserState::default();
                self.out.erase = true;
                self.out.say(ui(&lang, Ui::Deleted));
            }
            (Pending::ConfirmRestart, true) => self.restart(),
            (Pending::ConfirmDelete, false) => {
                self.out.say(self.t(Ui::DeleteKept));
                self.show_current();
            }
            (Pending::ConfirmRestart, false) => {
                self.out.say(self.t(Ui::RestartKept));
                self.show_current();
            }
            (Pending::Note, _) => self.show_current(),
        }
    }

    fn back(&mut self) {
        if let Some(g) = self.guide {
            self.st.history.retain(|f| g.node(&f.node).is_some());
        }
        if self.st.history.len() < 2 {
            self.out.say(self.t(Ui::NothingBack));
            self.show_current();
            return;
        }
        self.st.history.pop();
        let Some(f) = self.st.history.last().cloned() else { return };
        self.st.node = Some(f.node);
        self.st.stage = f.stage;
        self.st.vars = f.vars;
        self.st.answers = f.answers;
        // Reminders scheduled after that question are taken back; those already sent stay sent.
        let mut reminders = (*f.reminders).clone();
        for (id, r) in self.st.reminders.iter().filter(|(_, r)| r.sent) {
            reminders.insert(id.clone(), r.clone());
        }
        self.st.reminders = Arc::new(reminders);
        self.st.seq = self.st.seq.wrapping_add(1);
        self.st.finished = false;
        self.changed();
        self.out.say(self.t(Ui::WentBack));
        self.show_current();
    }

    pub(super) fn add_note(&mut self, text: &str) {
        let text = text.trim();
        if text.is_empty() {
            self.out.say(self.t(Ui::NoteEmpty));
            return;
        }
        if text.chars().count() > TEXT_LIMIT {
            self.out.say(too_long(self.lang(), TEXT_LIMIT));
            return;
        }
        if self.st.notes.len() >= NOTES_LIMIT {
            self.out.say(self.t(Ui::NotesFull));
            return;
        }
        let text = text.to_owned();
        Arc::make_mut(&mut self.st.notes).push(Note {
            at: self.ctx.now.strftime("%Y-%m-%d %H:%M").to_string(),
            text,
            stage: self.st.stage.clone(),
        });
        self.out.say(self.t(Ui::NoteSaved));
    }

    pub(super) fn stage_title(&self, stage: Option<&str>) -> Option<String> {
        let g = self.guide?;
        let s = stage?;
        g.file.stages.iter().find(|x| x.id == s).map(|x| x.title.clone())
    }

    pub(super) fn list_notes(&mut self) {
        if self.st.notes.is_empty() {
            self.out.say(self.t(Ui::NoNotes));
            return;
        }
        let mut text = format!("**{}**", self.t(Ui::NotesTitle));
        for n in self.st.notes.iter() {
            let stage = self.stage_title(n.stage.as_deref()).map(|s| format!(" · {s}")).unwrap_or_default();
            text.push_str(&format!("\n\n_{}{}_\n{}", n.at, markup::escape(&stage), markup::escape(&n.text)));
        }
        self.out.say(text);
    }

    fn progress(&mut self) {
        let Some(g) = self.guide else { return self.out.say(self.t(Ui::NoProgress)) };
        let current = self.st.stage.as_deref().and_then(|s| g.stage_index(s));
        let n = g.file.stages.len();
        let mut text = format!("**{}** · {}", self.t(Ui::ProgressTitle), g.file.title);
        if let Some(i) = current {
            let label = if self.lang() == "zh" {
                format!("第 {} 阶段，共 {n} 个阶段", i + 1)
            } else {
                format!("Stage {} of {n}", i + 1)
            };
            text.push_str(&format!("\n{label}"));
        }
        for (i, s) in g.file.stages.iter().enumerate() {
            let mark = match current {
                _ if self.st.finished => "✅",
                Some(c) if i < c => "✅",
                Some(c) if i == c => "▶️",
                _ => "▫️",
            };
            let answered = g
                .file
                .nodes
                .iter()
                .filter(|(id, n)| n.stage.as_deref() == Some(&s.id) && self.st.answers.contains_key(*id))
                .count();
            let count = if answered > 0 { format!(" ({answered})") } else { String::new() };
            text.push_str(&format!("\n{mark} {}{count}", s.title));
        }
        self.out.say(text);
    }

    fn choose_lang(&mut self, arg: Option<&str>) {
        let Some(id) = self.st.guide.clone() else { return self.choose_guide() };
        let langs: Vec<String> = self.lib.langs(&id).into_iter().map(str::to_owned).collect();
        if langs.len() < 2 {
            self.out.say(self.t(Ui::OneLanguage));
            return;
        }
        if let Some(l) = arg.filter(|l| langs.iter().any(|x| x == l)) {
            return self.set_lang(l);
        }
        self.st.seq = self.st.seq.wrapping_add(1);
        let node = self.st.node.clone().unwrap_or_default();
        let rows = langs
            .iter()
            .enumerate()
            .map(|(i, l)| vec![self.button(&node, language_name(l), Action::Lang(i as u16))])
            .collect();
        self.out.messages.push(Message { text: self.t(Ui::PickLanguage).to_owned(), buttons: rows, typed: false });
    }

    pub(super) fn set_lang(&mut self, lang: &str) {
        let Some(id) = self.st.guide.clone() else { return };
        self.st.lang = Some(lang.to_owned());
        self.guide = self.lib.pick(&id, Some(lang));
        self.st.seq = self.st.seq.wrapping_add(1);
        self.out.say(self.t(Ui::LanguageSet));
        self.show_current();
    }
}

/// What a yes/no question's buttons carry in place of a node: which question they answer.
pub(super) fn confirm_key(p: &Pending) -> String {
    match p {
        Pending::ConfirmDelete => "?delete".into(),
        Pending::ConfirmRestart => "?restart".into(),
        Pending::ConfirmSwitch(g) => format!("?switch:{g}"),
        Pending::Note => "?note".into(),
    }
}

fn language_name(code: &str) -> String {
    match code {
        "zh" => "中文".into(),
        "en" => "English".into(),
        other => other.to_owned(),
    }
}
