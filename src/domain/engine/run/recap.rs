//! What the user entered, shown back: the questions answered (for `/review`),
//! their short labels, and the case file (`/export`).

use minijinja::value::Value;

use super::Run;
use crate::domain::dialogue::format::Node;
use crate::domain::engine::event::Action;
use crate::domain::engine::output::{Document, Message};
use crate::domain::engine::texts::Ui;
use crate::domain::markup;

impl<'a> Run<'a> {
    /// Questions answered so far, by stage then file order.
    pub(super) fn answered_nodes(&self) -> Vec<String> {
        let Some(g) = self.guide else { return Vec::new() };
        // Questions that fill a record later appended to a list (a contact-log entry) are
        // left out: changing one would replay the append and log the entry twice.
        let records: Vec<&str> =
            g.file.nodes.values().filter_map(|n| n.append.as_ref()).map(|a| root_of(&a.from)).collect();
        let fills_record = |n: &Node| {
            n.ask.as_ref().is_some_and(|a| records.contains(&root_of(&a.save)))
                || n.choices
                    .iter()
                    .flatten()
                    .flat_map(|c| c.set.keys().chain(c.compute.keys()))
                    .any(|k| records.contains(&root_of(k)))
        };
        // A node without a stage sorts with the staged node before it in the file.
        let mut stage = 0;
        let mut ids: Vec<(usize, usize, String)> = Vec::new();
        for (pos, (id, n)) in g.file.nodes.iter().enumerate() {
            if let Some(i) = n.stage.as_deref().and_then(|s| g.stage_index(s)) {
                stage = i;
            }
            if records_answer(n) && !fills_record(n) && self.st.answers.contains_key(id) {
                ids.push((stage, pos, id.clone()));
            }
        }
        ids.sort();
        ids.into_iter().map(|(_, _, id)| id).collect()
    }

    /// Short name of a question: its `label`, else the first line of its text.
    fn question_label(&mut self, id: &str) -> String {
        if let Some(l) = self.node(id).and_then(|n| n.label.clone()) {
            return l;
        }
        let text = markup::to_plain(&self.render(&format!("nodes.{id}.say")));
        let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
        let mut short: String = first.chars().take(40).collect();
        if first.chars().count() > 40 {
            short.push('…');
        }
        short
    }

    pub(super) fn review(&mut self) {
        let ids = self.answered_nodes();
        if ids.is_empty() {
            self.out.say(self.t(Ui::NothingToReview));
            return;
        }
        self.st.seq = self.st.seq.wrapping_add(1);
        let node = self.st.node.clone().unwrap_or_default();
        let mut text = self.t(Ui::ReviewTitle).to_owned();
        let mut rows = Vec::new();
        let mut last_stage = None;
        for (i, id) in ids.iter().enumerate() {
            let label = self.question_label(id);
            let stage = self.node(id).and_then(|n| n.stage.clone());
            if stage != last_stage {
                if let Some(t) = self.stage_title(stage.as_deref()) {
                    text.push_str(&format!("\n\n**{t}**"));
                }
                last_stage = stage;
            }
            let answer = self.st.answers.get(id).cloned().unwrap_or_default();
            text.push_str(&format!("\n• {}: {}", markup::escape(&label), markup::escape(&answer)));
            rows.push(vec![self.button(&node, format!("{} · {label}", self.t(Ui::Change)), Action::Review(i as u16))]);
        }
        self.out.messages.push(Message { text, buttons: rows, typed: false });
    }

    pub(super) fn export(&mut self) {
        let Some(g) = self.guide else { return };
        let content = self.case_file();
        self.out.document = Some(Document { filename: format!("{}-{}.md", g.id(), self.ctx.today), content });
        self.out.say(self.t(Ui::ExportReady));
    }

    /// The case file, Markdown.
    pub(crate) fn case_file(&mut self) -> String {
        let Some(g) = self.guide else { return String::new() };
        let mut doc = format!(
            "# {}\n\n_{}: {}_\n\n",
            g.file.title,
            self.t(Ui::Exported),
            self.ctx.now.strftime("%Y-%m-%d %H:%M")
        );
        if g.file.export.is_some() {
            let notes = Value::from(
                self.st
                    .notes
                    .iter()
                    .map(|n| {
                        Value::from_iter([
                            ("at", n.at.clone()),
                            ("text", n.text.clone()),
                            ("stage", n.stage.clone().unwrap_or_default()),
                        ])
                    })
                    .collect::<Vec<_>>(),
            );
            let ctx = self.with_extra("notes", notes);
            doc.push_str(&self.render_in("export", &ctx));
            doc.push('\n');
        } else {
            doc.push_str(&self.default_case_body());
        }
        if !self.st.notes.is_empty() {
            doc.push_str(&format!("\n## {}\n\n", self.t(Ui::NotesTitle)));
            for n in self.st.notes.iter().cloned() {
                let stage = self.stage_title(n.stage.as_deref()).map(|s| format!(" ({s})")).unwrap_or_default();
                doc.push_str(&format!("- {}{}: {}\n", n.at, stage, markup::escape(&n.text)));
            }
        }
        doc
    }

    fn default_case_body(&mut self) -> String {
        if self.guide.is_none() {
            return String::new();
        }
        let mut body = String::new();
        let mut last_stage: Option<Option<String>> = None;
        for id in self.answered_nodes() {
            let Some(node) = self.node(&id) else { continue };
            if last_stage.as_ref() != Some(&node.stage) {
                let title = self.stage_title(node.stage.as_deref()).unwrap_or_else(|| self.t(Ui::Answers).to_owned());
                body.push_str(&format!("\n## {title}\n\n"));
                last_stage = Some(node.stage.clone());
            }
            let label = self.question_label(&id);
            if let Some(cl) = &node.checklist {
                body.push_str(&format!("**{}**\n\n", markup::escape(&label)));
                let ticked = self.ticked(&cl.save);
                for item in self.checklist_items(&id, node) {
                    let mark = if ticked.contains(&item.id) { "x" } else { " " };
                    body.push_str(&format!("- [{mark}] {}\n", item.label));
                }
                body.push('\n');
            } else {
                let answer = self.st.answers.get(&id).cloned().unwrap_or_default();
                body.push_str(&format!("- **{}**: {}\n", markup::escape(&label), markup::escape(&answer)));
            }
        }
        body
    }
}

/// Whether a node records an answer worth reviewing: a typed answer, a checklist, or
/// choices that set something (a plain "continue" button or a menu records nothing).
fn records_answer(n: &Node) -> bool {
    n.ask.is_some()
        || n.checklist.is_some()
        || n.choices.as_ref().is_some_and(|cs| cs.iter().any(|c| !c.set.is_empty() || !c.compute.is_empty()))
}

/// The variable a dotted path starts with.
fn root_of(path: &str) -> &str {
    path.split('.').next().unwrap_or(path)
}
