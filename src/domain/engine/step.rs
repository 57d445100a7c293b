//! `step`: one event applied to one user's state. Pure: the guide, the state,
//! the event and the context (today, now, the user's name) go in; the new
//! state and what to show come out. Front ends and the store live elsewhere.

use std::collections::BTreeMap;
use std::sync::Arc;

use indexmap::IndexMap;
use minijinja::value::{Enumerator, Object, Value};

use super::answer::{Question, Refusal, TEXT_LIMIT};
use super::event::{Action, Command, Ctx, Event, Press, node_hash};
use super::output::{Button, Document, Edit, Message, Output};
use super::state::{Frame, Note, Pending, Reminder, UserState};
use super::texts::{Ui, fill, ui};
use crate::domain::dialogue::format::{Ask, Node};
use crate::domain::dialogue::{Guide, Library, templates};
use crate::domain::markup;
use crate::domain::value::{Var, get_path, remove_path, set_path};

/// How many questions `/back` can walk back through.
const HISTORY_LIMIT: usize = 200;
/// Automatic steps (messages, branches) one event may take before the engine stops a runaway loop.
const HOP_LIMIT: usize = 200;
/// Notes one user may keep: enough for months of calls, bounded so one person cannot fill the disk.
pub const NOTES_LIMIT: usize = 500;
/// Entries one list (`append`, e.g. the contact log) may hold.
pub const LIST_LIMIT: usize = 300;

/// Applies `event` to `state`.
///
/// # Example
/// ```
/// use guidebot::domain::dialogue::load_library;
/// use guidebot::domain::engine::{step, Ctx, Event, UserState};
/// let text = "guide: hi\nlang: en\ntitle: Hi\nstart: a\nnodes:\n  a:\n    say: Hello!\n    end: true\n";
/// let lib = load_library(&[("hi.en.yaml".into(), text.into())]).unwrap();
/// let ctx = Ctx {
///     today: jiff::civil::date(2026, 11, 28),
///     now: jiff::civil::date(2026, 11, 28).at(9, 0, 0, 0),
///     first_name: None,
///     lang_hint: None,
/// };
/// let (state, out) = step(&lib, &UserState::default(), &Event::Start, &ctx);
/// assert_eq!(out.messages[0].text, "Hello!");
/// assert_eq!(state.node.as_deref(), Some("a"));
/// ```
pub fn step(lib: &Library, state: &UserState, event: &Event, ctx: &Ctx) -> (UserState, Output) {
    let mut run = Run {
        lib,
        guide: None,
        st: state.clone(),
        out: Output::default(),
        ctx,
        values: None,
        scope: None,
        refused: false,
    };
    run.handle(event);
    (run.st, run.out)
}

struct Run<'a> {
    lib: &'a Library,
    guide: Option<&'a Guide>,
    st: UserState,
    out: Output,
    ctx: &'a Ctx,
    /// Each variable as MiniJinja sees it, converted once and kept in step with `st.vars`.
    values: Option<Arc<BTreeMap<String, Value>>>,
    /// The template context built from `values`, until the next change.
    scope: Option<Value>,
    /// A press was refused as belonging to another step.
    refused: bool,
}

/// The names a template sees: the user's variables plus built-ins.
#[derive(Debug)]
struct Scope {
    values: Arc<BTreeMap<String, Value>>,
    extra: Option<(String, Value)>,
}

impl Object for Scope {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let k = key.as_str()?;
        match &self.extra {
            Some((name, v)) if name == k => Some(v.clone()),
            _ => self.values.get(k).cloned(),
        }
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut keys: Vec<Value> = self.values.keys().map(|k| Value::from(k.as_str())).collect();
        if let Some((name, _)) = &self.extra {
            keys.push(Value::from(name.as_str()));
        }
        Enumerator::Values(keys)
    }
}

/// A checklist item as shown: its id and label.
struct ShownItem {
    id: String,
    label: String,
}

impl<'a> Run<'a> {
    fn lang(&self) -> &str {
        self.guide.map(Guide::lang).or(self.st.lang.as_deref()).or(self.ctx.lang_hint.as_deref()).unwrap_or("en")
    }

    fn t(&self, key: Ui) -> &'static str {
        ui(self.lang(), key)
    }

    fn handle(&mut self, event: &Event) {
        // Someone who has not started (or has erased everything) leaves nothing behind
        // until they begin a guide: their name is kept only from then on.
        if let Some(name) = &self.ctx.first_name
            && self.st.guide.is_some()
        {
            self.st.first_name.clone_from(name);
        }
        if let Some(id) = self.st.guide.clone() {
            self.guide = self.lib.pick(&id, self.st.lang.as_deref());
            if self.guide.is_none() {
                // The guide is not loaded (being replaced, or renamed). Everything the user
                // entered stays as it is until it comes back; only what needs no guide works.
                match event {
                    Event::Command(c @ (Command::Notes | Command::Note(Some(_)) | Command::Delete | Command::Help)) => {
                        self.command(c)
                    }
                    Event::Text(t)
                        if matches!(
                            Command::parse(t),
                            Some(Command::Notes | Command::Delete | Command::Help | Command::Note(Some(_)))
                        ) =>
                    {
                        if let Some(c) = Command::parse(t) {
                            self.command(&c);
                        }
                    }
                    Event::Press(p)
                        if matches!(p.action, Action::Yes | Action::No)
                            && self.st.pending == Some(Pending::ConfirmDelete) =>
                    {
                        self.press(*p)
                    }
                    _ => self.out.say(self.t(Ui::GuideUnavailable)),
                }
                return;
            }
        }
        if self.recover_stale_node() && !matches!(event, Event::Command(_)) {
            return;
        }
        match event {
            Event::Start => self.start(),
            Event::Refresh => self.show_current(),
            Event::Command(c) => self.command(c),
            Event::Text(t) => match Command::parse(t) {
                Some(c) => self.command(&c),
                None => self.text(t),
            },
            Event::Press(p) => self.press(*p),
        }
    }

    // ----- templates -------------------------------------------------------

    fn values(&mut self) -> Arc<BTreeMap<String, Value>> {
        let (st, ctx) = (&self.st, self.ctx);
        self.values
            .get_or_insert_with(|| {
                let mut map: BTreeMap<String, Value> = st.vars.iter().map(|(k, v)| (k.clone(), v.to_value())).collect();
                map.insert("user".into(), Value::from_iter([("first_name", Value::from(st.first_name.clone()))]));
                map.insert("today".into(), Value::from(ctx.today.to_string()));
                map.insert("now".into(), Value::from(ctx.now.strftime("%Y-%m-%d %H:%M").to_string()));
                Arc::new(map)
            })
            .clone()
    }

    fn scope(&mut self) -> Value {
        if let Some(s) = &self.scope {
            return s.clone();
        }
        let v = Value::from_object(Scope { values: self.values(), extra: None });
        self.scope = Some(v.clone());
        v
    }

    fn with_extra(&mut self, name: &str, v: Value) -> Value {
        Value::from_object(Scope { values: self.values(), extra: Some((name.to_owned(), v)) })
    }

    fn with_item(&mut self, item: Value) -> Value {
        self.with_extra("item", item)
    }

    /// The variable at `path` changed: refresh its root's value only.
    fn touch(&mut self, path: &str) {
        self.scope = None;
        let root = path.split('.').next().unwrap_or(path);
        let fresh = self.st.vars.get(root).map(Var::to_value);
        if let Some(values) = &mut self.values {
            // Copies the map only when a template context still holds it.
            let values = Arc::make_mut(values);
            match fresh {
                Some(v) => values.insert(root.to_owned(), v),
                None => values.remove(root),
            };
        }
    }

    /// Many variables changed at once.
    fn changed(&mut self) {
        self.scope = None;
        self.values = None;
    }

    fn render_in(&mut self, name: &str, ctx: &Value) -> String {
        let Some(g) = self.guide else { return String::new() };
        match g.templates.render(name, ctx) {
            Ok(s) => s.trim().to_owned(),
            Err(e) => {
                self.out.problems.push(format!("{}: `{name}` failed: {e}", g.path.display()));
                if templates::ran_out(&e) { self.t(Ui::TextUnavailable).to_owned() } else { String::new() }
            }
        }
    }

    fn render(&mut self, name: &str) -> String {
        let ctx = self.scope();
        self.render_in(name, &ctx)
    }

    fn eval_in(&mut self, name: &str, ctx: &Value) -> Value {
        let Some(g) = self.guide else { return Value::UNDEFINED };
        match g.templates.eval(name, ctx) {
            Ok(v) => v,
            Err(e) => {
                self.out.problems.push(format!("{}: `{name}` failed: {e}", g.path.display()));
                Value::UNDEFINED
            }
        }
    }

    fn eval(&mut self, name: &str) -> Value {
        let ctx = self.scope();
        self.eval_in(name, &ctx)
    }

    fn holds(&mut self, name: &str) -> bool {
        self.eval(name).is_true()
    }

    // ----- moving through the guide -----------------------------------------

    fn node(&self, id: &str) -> Option<&'a Node> {
        self.guide.and_then(|g| g.node(id))
    }

    fn current(&self) -> Option<(String, &'a Node)> {
        let id = self.st.node.clone()?;
        let node = self.node(&id)?;
        Some((id, node))
    }

    /// Enters `id` and moves on through message and branch nodes until one waits for the user.
    fn enter(&mut self, id: &str) {
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
    fn set_and_compute(
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

    fn press_for(&self, node: &str, action: Action) -> Press {
        Press { seq: self.st.seq, node: node_hash(node), action }
    }

    fn button(&self, node: &str, label: impl Into<String>, action: Action) -> Button {
        Button { label: label.into(), press: self.press_for(node, action) }
    }

    /// The question `id` with its buttons, as it stands now.
    fn node_message(&mut self, id: &str, node: &Node) -> Message {
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

    fn show_current(&mut self) {
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

    fn checklist_items(&mut self, id: &str, node: &Node) -> Vec<ShownItem> {
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

    fn ticked(&self, save: &str) -> Vec<String> {
        match get_path(&self.st.vars, save) {
            Some(Var::List(items)) => items.iter().map(Var::display).collect(),
            _ => Vec::new(),
        }
    }

    /// The question `ask` as it stands for this user today.
    fn question<'q>(&'q self, ask: &'q Ask) -> Question<'q> {
        let guide = self.guide.expect("a question is only asked within a guide");
        Question { ask, guide, lang: self.lang(), today: self.ctx.today }
    }

    /// Moves on from the current node to `next` after an answer.
    fn answered(&mut self, node_id: &str, answer: String, next: Option<String>, edit: bool) {
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

    fn recover_stale_node(&mut self) -> bool {
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

    // ----- events ----------------------------------------------------------

    fn start(&mut self) {
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
    fn switch_guide(&mut self, id: &str) {
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

    fn command(&mut self, c: &Command) {
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

    fn confirm(&mut self, what: Pending, prompt: Ui) {
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

    fn ask_restart(&mut self) {
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

    fn settle(&mut self, yes: bool) {
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

    fn add_note(&mut self, text: &str) {
        let text = text.trim();
        if text.is_empty() {
            self.out.say(self.t(Ui::NoteEmpty));
            return;
        }
        if text.chars().count() > TEXT_LIMIT {
            self.out.say(fill(self.t(Ui::TooLong), &[("limit", &TEXT_LIMIT.to_string())]));
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

    fn stage_title(&self, stage: Option<&str>) -> Option<String> {
        let g = self.guide?;
        let s = stage?;
        g.file.stages.iter().find(|x| x.id == s).map(|x| x.title.clone())
    }

    fn list_notes(&mut self) {
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

    fn set_lang(&mut self, lang: &str) {
        let Some(id) = self.st.guide.clone() else { return };
        self.st.lang = Some(lang.to_owned());
        self.guide = self.lib.pick(&id, Some(lang));
        self.st.seq = self.st.seq.wrapping_add(1);
        self.out.say(self.t(Ui::LanguageSet));
        self.show_current();
    }

    /// Questions answered so far, by stage then file order.
    fn answered_nodes(&self) -> Vec<String> {
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

    fn review(&mut self) {
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

    fn export(&mut self) {
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

    fn press(&mut self, p: Press) {
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
    fn act(&mut self, id: &str, node: &'a Node, action: Action) {
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

    fn choose(&mut self, id: &str, node: &'a Node, i: usize, edit: bool) {
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

    fn toggle(&mut self, id: &str, node: &'a Node, i: usize) -> bool {
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

    fn finish_checklist(&mut self, id: &str, node: &'a Node, edit: bool) {
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

    fn text(&mut self, raw: &str) {
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

/// Whether a node records an answer worth reviewing: a typed answer, a checklist, or
/// choices that set something (a plain "continue" button or a menu records nothing).
fn records_answer(n: &Node) -> bool {
    n.ask.is_some()
        || n.checklist.is_some()
        || n.choices.as_ref().is_some_and(|cs| cs.iter().any(|c| !c.set.is_empty() || !c.compute.is_empty()))
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

/// The variable a dotted path starts with.
fn root_of(path: &str) -> &str {
    path.split('.').next().unwrap_or(path)
}

/// What a yes/no question's buttons carry in place of a node: which question they answer.
fn confirm_key(p: &Pending) -> String {
    match p {
        Pending::ConfirmDelete => "?delete".into(),
        Pending::ConfirmRestart => "?restart".into(),
        Pending::ConfirmSwitch(g) => format!("?switch:{g}"),
        Pending::Note => "?note".into(),
    }
}

fn yes_no(text: &str) -> Option<bool> {
    match normalise(text).as_str() {
        "yes" | "y" | "是" | "确定" | "好" | "对" => Some(true),
        "no" | "n" | "否" | "不" | "取消" | "不要" => Some(false),
        _ => None,
    }
}

fn language_name(code: &str) -> String {
    match code {
        "zh" => "中文".into(),
        "en" => "English".into(),
        other => other.to_owned(),
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
