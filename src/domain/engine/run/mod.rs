//! `step`: one event applied to one user's state. Pure: the guide, the state,
//! the event and the context (today, now, the user's name) go in; the new
//! state and what to show come out. Front ends and the store live elsewhere.
//!
//! Files by concern: `scope` (what templates see), `flow` (moving through nodes,
//! `set`/`compute`/`append`, scheduling reminders), `show` (a node as a message
//! with its buttons), `commands` (every `/command` and its confirmations), `recap`
//! (answers shown back: `/review` and the case file), `presses`
//! (button presses) and `input` (typed text: answers, labels, yes/no).

mod commands;
mod flow;
mod input;
mod presses;
mod recap;
mod scope;
mod show;

use std::collections::BTreeMap;
use std::sync::Arc;

use minijinja::value::Value;

use super::event::{Action, Command, Ctx, Event};
use super::output::Output;
use super::state::{Pending, UserState};
use super::texts::{Ui, ui};
use crate::domain::dialogue::{Guide, Library};

pub use flow::reminder_message;

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

/// One event being applied: the library, the user's guide, their state as it changes, and
/// what to show. Each file of this module adds the methods of its concern.
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
}
