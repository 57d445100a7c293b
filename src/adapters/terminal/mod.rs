//! The terminal front end (`guidebot chat`): lines in, text out. Reads until
//! end of input (or `/quit`), so it can be scripted.
//!
//! - Every option has a key. Buttons are numbered; at a question answered by
//!   typing, where a typed number is an answer, its Keep and Skip buttons are
//!   chosen with `/keep` and `/skip` instead. A unique start of a label works
//!   too (the same matching as scenario files).
//! - After a command that only shows something (`/help`, `/progress`, `/notes`,
//!   `/note TEXT`, …) the current question is shown again; under a side list
//!   (`/review`, `/lang`, `/guides`) `0` goes back to it.
//! - Input is read as bytes: a line that is not UTF-8 is skipped with a short
//!   message and the chat goes on.
//! - A saved user whose guide is not loaded is told which guide is missing and
//!   which flags choose the folders, and may start another guide (after
//!   confirming, since that clears their answers).
//! - Everything shown is cleaned of terminal control ([`sanitize::clean`]).

pub mod sanitize;
mod view;
mod words;
mod wrap;

use std::io::{BufRead, ErrorKind, Write};
use std::path::PathBuf;

pub use view::View;

use crate::adapters::store::UserId;
use crate::app::{App, AppError, Clock, ctx_at};
use crate::domain::engine::texts::{Ui, ui};
use crate::domain::engine::{Action, Button, Command, Edit, Event, Message, Output, Pending, Press, UserState};
use crate::domain::markup;
use crate::domain::numerals::fold_width;
use crate::domain::scenario::buttons_named;
use words::{Say, fill, say};

/// Longest input line read; a longer one is skipped (no answer is near this long).
const LINE_LIMIT: usize = 64 * 1024;

/// Columns to wrap at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    /// This many columns; 0 leaves lines as they are.
    Columns(usize),
    /// The terminal's width on standard output, read before each output (80 when unknown).
    Terminal,
}

impl Width {
    pub fn columns(self) -> Option<usize> {
        match self {
            Width::Columns(0) => None,
            Width::Columns(n) => Some(n),
            Width::Terminal => {
                Some(terminal_size::terminal_size_of(std::io::stdout()).map_or(80, |(w, _)| usize::from(w.0)).max(1))
            }
        }
    }
}

/// How the terminal session runs.
pub struct Chat<'a> {
    pub app: &'a App,
    pub clock: &'a dyn Clock,
    pub zone: jiff::tz::TimeZone,
    pub user: UserId,
    /// Guide to open (by id) when the user is not in it yet.
    pub guide: Option<String>,
    pub lang: Option<String>,
    /// Bold and italic as terminal styles.
    pub styled: bool,
    pub width: Width,
    /// Write a prompt (to `err`) before each line is read: a person is typing.
    pub prompt: bool,
    /// The folders in use, named when the user's guide is not among the dialogues.
    pub dialogues: PathBuf,
    pub data: PathBuf,
}

/// What the session remembers between lines.
#[derive(Default)]
struct Session {
    /// The buttons a number or a label chooses now (None after a message without any).
    keys: Option<Keys>,
    /// The last question or list shown, kept to show it again after a command.
    last: Option<Keys>,
    /// Set while the user's saved guide is not loaded.
    detour: Option<Detour>,
}

#[derive(Clone)]
struct Keys {
    message: Message,
    /// `0` leaves this list for the question (a review, language or guide list).
    back: bool,
    /// Shown by the terminal itself (while a guide is missing): its presses are handled here.
    local: bool,
}

struct Detour {
    /// The guide the saved record is in, which is not loaded.
    missing: String,
    /// The guide offered instead, waiting for a yes.
    target: Option<String>,
}

/// What a typed line means.
enum Input {
    Quit,
    Press(Press),
    Text(String),
    /// `0` under a side list.
    Back,
    /// The terminal answers itself (a number out of range, an ambiguous label).
    Say(String),
}

/// How reading a line went.
enum Line {
    End,
    Bytes(Vec<u8>),
    TooLong,
}

impl Chat<'_> {
    /// Runs until the input ends or the user types `/quit`. State is saved after every line.
    pub fn run(&self, mut input: impl BufRead, out: &mut dyn Write, err: &mut dyn Write) -> Result<(), ChatError> {
        let mut s = Session::default();
        self.show_due_reminders(out)?;
        let state = self.app.state(self.user)?;
        let hint = self.view().text(say(&self.start_lang(&state), Say::HowToQuit));
        writeln!(err, "{hint}").map_err(ChatError::Io)?;
        match self.missing_guide(&state) {
            Some(missing) => self.open_detour(&mut s, missing, out)?,
            None => self.open(&mut s, &state, out)?,
        }
        loop {
            if self.prompt {
                out.flush().map_err(ChatError::Io)?;
                write!(err, "> ").map_err(ChatError::Io)?;
                err.flush().map_err(ChatError::Io)?;
            }
            let bytes = match read_line(&mut input).map_err(ChatError::Io)? {
                Line::End => break,
                Line::TooLong => {
                    self.tell(out, Say::TooLong)?;
                    continue;
                }
                Line::Bytes(b) => b,
            };
            let Ok(line) = String::from_utf8(bytes) else {
                self.tell(out, Say::NotText)?;
                continue;
            };
            let text = line.trim();
            if text.is_empty() {
                continue;
            }
            let go_on =
                if s.detour.is_some() { self.detour_line(&mut s, text, out)? } else { self.line(&mut s, text, out)? };
            if !go_on {
                break;
            }
        }
        if self.prompt {
            // The shell's prompt then starts on a line of its own.
            writeln!(err).map_err(ChatError::Io)?;
        }
        Ok(())
    }

    /// The first output: the guide asked for, else where the user left off.
    fn open(&self, s: &mut Session, state: &UserState, out: &mut dyn Write) -> Result<(), ChatError> {
        let opening = match &self.guide {
            Some(g) if state.guide.as_deref() != Some(g) => Event::Text(format!("/guides {g}")),
            _ => Event::Start,
        };
        self.send(s, &opening, out)?;
        self.apply_lang(s, out)
    }

    /// `--lang`, when the guide is not in that language yet. The opening may already
    /// have picked it (a new user gets it from the flag).
    fn apply_lang(&self, s: &mut Session, out: &mut dyn Write) -> Result<(), ChatError> {
        let state = self.app.state(self.user)?;
        if let Some(l) = &self.lang
            && state.lang.as_deref() != Some(l)
            && state.guide.is_some()
        {
            self.send(s, &Event::Text(format!("/lang {l}")), out)?;
        }
        Ok(())
    }

    /// One line in the ordinary case; false to stop.
    fn line(&self, s: &mut Session, text: &str, out: &mut dyn Write) -> Result<bool, ChatError> {
        match self.interpret(s.keys.as_ref(), text) {
            Input::Quit => return Ok(false),
            Input::Say(msg) => self.write(out, &format!("{}\n\n", self.view().text(&msg)))?,
            Input::Back => {
                self.send(s, &Event::Refresh, out)?;
            }
            Input::Press(p) => {
                self.send(s, &Event::Press(p), out)?;
            }
            Input::Text(t) => {
                let output = self.send(s, &Event::Text(t.clone()), out)?;
                if t.starts_with('/') && prompt_of(&output).is_none() {
                    self.show_again(s, out)?;
                }
            }
        }
        Ok(true)
    }

    /// What `text` means with `keys` on screen.
    fn interpret(&self, keys: Option<&Keys>, text: &str) -> Input {
        let command = command_form(text);
        let lower = command.to_lowercase();
        if lower == "/quit" || lower == "/exit" {
            return Input::Quit;
        }
        let Some(k) = keys else { return Input::Text(command) };
        let buttons: Vec<&Button> = k.message.buttons.iter().flatten().collect();
        if k.message.typed {
            // Here a typed number or word is an answer; only the keys shown choose a button.
            return buttons
                .iter()
                .find(|b| view::typed_key(b.press.action) == lower)
                .map_or(Input::Text(command), |b| Input::Press(b.press));
        }
        let folded = fold_width(text);
        if let Ok(n) = folded.trim().parse::<usize>() {
            return match n.checked_sub(1).and_then(|i| buttons.get(i)) {
                Some(b) => Input::Press(b.press),
                None if n == 0 && k.back => Input::Back,
                None => Input::Say(fill(
                    say(&self.lang_now(), if k.back { Say::NoSuchOptionBack } else { Say::NoSuchOption }),
                    &[("n", &n.to_string()), ("max", &buttons.len().to_string())],
                )),
            };
        }
        if command.starts_with('/') {
            return Input::Text(command);
        }
        match buttons_named(&k.message, text).as_slice() {
            [one] => Input::Press(one.press),
            [] => Input::Text(text.to_owned()),
            many => {
                let options: Vec<String> = many
                    .iter()
                    .map(|b| {
                        let n = buttons.iter().position(|x| std::ptr::eq(*x, *b)).map_or(0, |i| i + 1);
                        format!("{n}) {}", markup::to_plain(&b.label))
                    })
                    .collect();
                let sep = if self.lang_now() == "zh" { "、" } else { ", " };
                Input::Say(fill(
                    say(&self.lang_now(), Say::Ambiguous),
                    &[("text", &markup::escape(text)), ("options", &options.join(sep))],
                ))
            }
        }
    }

    /// After a command that showed no question: the question (or the yes/no being asked) again.
    fn show_again(&self, s: &mut Session, out: &mut dyn Write) -> Result<(), ChatError> {
        let state = self.app.state(self.user)?;
        if state.node.is_none() {
            return Ok(());
        }
        match &state.pending {
            None => {
                self.send(s, &Event::Refresh, out)?;
            }
            Some(Pending::Note) => {}
            Some(_) => {
                // A confirmation is waiting: show it again while its buttons are still current.
                if let Some(last) = s.last.clone()
                    && last.message.buttons.iter().flatten().all(|b| b.press.seq == state.seq)
                {
                    self.write(out, &self.view().message(&last.message, None))?;
                    s.keys = Some(last);
                }
            }
        }
        Ok(())
    }

    /// Hands `event` to the app and shows what came out.
    fn send(&self, s: &mut Session, event: &Event, out: &mut dyn Write) -> Result<Output, ChatError> {
        let ctx = ctx_at(self.clock.now(), &self.app.zone_for(self.user, &self.zone), None, self.lang.clone());
        let output = match self.app.handle(self.user, event, &ctx) {
            Ok(output) => output,
            Err(e) if e.is_disk_full() => return self.not_saved(s, out),
            Err(e) => return Err(e.into()),
        };
        for p in &output.problems {
            eprintln!("warning: {}", sanitize::clean(p));
        }
        s.keys = match prompt_of(&output) {
            Some(m) => {
                let side = m
                    .buttons
                    .iter()
                    .flatten()
                    .all(|b| matches!(b.press.action, Action::Review(_) | Action::Lang(_) | Action::Guide(_)))
                    && !m.buttons.is_empty();
                let back = side && self.app.state(self.user)?.node.is_some();
                Some(Keys { message: m.clone(), back, local: false })
            }
            None => None,
        };
        if let Some(k) = &s.keys {
            s.last = Some(k.clone());
        }
        let back = s.keys.as_ref().filter(|k| k.back).map(|_| say(&self.lang_now(), Say::BackToQuestion));
        self.write(out, &self.view().render(&output, back))?;
        Ok(output)
    }

    /// Nothing was saved (the disk is nearly full; the store said so in the log):
    /// the person is told, and the question on screen stays the one to answer.
    /// The chat goes on, and saves again once there is space.
    fn not_saved(&self, s: &mut Session, out: &mut dyn Write) -> Result<Output, ChatError> {
        self.tell(out, Say::NothingSaved)?;
        let mut output = Output::default();
        if let Some(k) = &s.keys {
            self.write(out, &self.view().message(&k.message, None))?;
            // A prompt in the output: callers do not ask the engine to show it again.
            output.messages.push(k.message.clone());
        }
        Ok(output)
    }

    // ----- a saved guide that is not loaded ------------------------------------

    /// The user's guide, when they have one and it is not loaded.
    fn missing_guide(&self, state: &UserState) -> Option<String> {
        let g = state.guide.as_deref()?;
        self.app.library().pick(g, state.lang.as_deref()).is_none().then(|| g.to_owned())
    }

    /// Says which guide is missing and offers another: the one asked for with
    /// `--guide`, the only one loaded, or the list.
    fn open_detour(&self, s: &mut Session, missing: String, out: &mut dyn Write) -> Result<(), ChatError> {
        let lang = self.lang_now();
        let dialogues = self.dialogues.display().to_string();
        let data = self.data.display().to_string();
        let notice = fill(
            say(&lang, Say::GuideMissing),
            &[
                ("guide", &markup::escape(&missing)),
                ("dialogues", &markup::escape(&dialogues)),
                ("data", &markup::escape(&data)),
            ],
        );
        self.write(out, &format!("{}\n\n", self.view().text(&notice)))?;
        s.detour = Some(Detour { missing, target: None });
        match self.guide.clone().or_else(|| self.only_guide()) {
            Some(target) => self.offer(s, target, out),
            None => self.list_guides(s, out),
        }
    }

    fn only_guide(&self) -> Option<String> {
        match self.app.library().guide_ids().as_slice() {
            [one] => Some((*one).to_owned()),
            _ => None,
        }
    }

    /// Offers `target` in place of the missing guide: at once when there are no answers to lose.
    fn offer(&self, s: &mut Session, target: String, out: &mut dyn Write) -> Result<(), ChatError> {
        let state = self.app.state(self.user)?;
        if state.answers.is_empty() {
            return self.leave_detour(s, &target, out);
        }
        let lang = self.lang_now();
        let lib = self.app.library();
        let title = lib.pick(&target, state.lang.as_deref()).map_or(target.clone(), |g| g.file.title.clone());
        let missing = s.detour.as_ref().map(|d| d.missing.clone()).unwrap_or_default();
        let text = fill(say(&lang, Say::StartInstead), &[("title", &title), ("guide", &markup::escape(&missing))]);
        let local = |action| Press { seq: 0, node: 0, action };
        let buttons = vec![vec![
            Button { label: ui(&lang, Ui::Yes).into(), press: local(Action::Yes) },
            Button { label: ui(&lang, Ui::No).into(), press: local(Action::No) },
        ]];
        if let Some(d) = &mut s.detour {
            d.target = Some(target);
        }
        self.show_local(s, Message { text, buttons, typed: false }, out)
    }

    /// Every loaded guide, to start one in place of the missing guide.
    fn list_guides(&self, s: &mut Session, out: &mut dyn Write) -> Result<(), ChatError> {
        let lang = self.lang_now();
        let lib = self.app.library();
        let buttons = lib
            .guide_ids()
            .iter()
            .enumerate()
            .filter_map(|(i, id)| {
                let g = lib.pick(id, Some(&lang))?;
                Some(vec![Button {
                    label: g.file.title.clone(),
                    press: Press { seq: 0, node: 0, action: Action::Guide(i as u16) },
                }])
            })
            .collect();
        if let Some(d) = &mut s.detour {
            d.target = None;
        }
        let text = say(&lang, Say::OtherGuides).to_owned();
        self.show_local(s, Message { text, buttons, typed: false }, out)
    }

    fn show_local(&self, s: &mut Session, message: Message, out: &mut dyn Write) -> Result<(), ChatError> {
        self.write(out, &self.view().message(&message, None))?;
        let keys = Keys { message, back: false, local: true };
        s.keys = Some(keys.clone());
        s.last = Some(keys);
        Ok(())
    }

    /// Starts `target`: the answers of the missing guide are cleared (notes stay), as when
    /// switching guides, and the engine takes over.
    fn leave_detour(&self, s: &mut Session, target: &str, out: &mut dyn Write) -> Result<(), ChatError> {
        let mut state = self.app.state(self.user)?;
        state.guide = None;
        state.node = None;
        state.stage = None;
        state.pending = None;
        state.finished = false;
        state.vars = Default::default();
        state.answers = Default::default();
        state.history.clear();
        state.reminders = Default::default();
        self.app.put_state(self.user, &state)?;
        s.detour = None;
        s.keys = None;
        self.send(s, &Event::Text(format!("/guides {target}")), out)?;
        self.apply_lang(s, out)
    }

    /// One line while the user's guide is missing; false to stop.
    fn detour_line(&self, s: &mut Session, text: &str, out: &mut dyn Write) -> Result<bool, ChatError> {
        // The guide came back (`--watch` reloaded it): carry on where the user was.
        let state = self.app.state(self.user)?;
        if self.missing_guide(&state).is_none() {
            s.detour = None;
            self.send(s, &Event::Start, out)?;
            return self.line(s, text, out);
        }
        let local = s.keys.as_ref().is_some_and(|k| k.local);
        match self.interpret(s.keys.as_ref(), text) {
            Input::Quit => return Ok(false),
            Input::Say(msg) => self.write(out, &format!("{}\n\n", self.view().text(&msg)))?,
            Input::Press(p) if local => match p.action {
                Action::Guide(i) => {
                    let ids: Vec<String> = self.app.library().guide_ids().into_iter().map(str::to_owned).collect();
                    if let Some(id) = ids.get(usize::from(i)).cloned() {
                        self.offer(s, id, out)?;
                    }
                }
                Action::Yes => {
                    if let Some(target) = s.detour.as_mut().and_then(|d| d.target.take()) {
                        self.leave_detour(s, &target, out)?;
                    }
                }
                _ => {
                    self.tell(out, Say::NothingChanged)?;
                    self.detour_hint(s, out)?;
                }
            },
            Input::Press(p) => self.detour_engine(s, &Event::Press(p), out)?,
            Input::Back => self.detour_hint(s, out)?,
            Input::Text(t) => match Command::parse(&t) {
                Some(Command::Guides(Some(id))) if self.app.library().guide_ids().contains(&id.as_str()) => {
                    self.offer(s, id, out)?;
                }
                Some(Command::Guides(_) | Command::Start) => match self.only_guide() {
                    Some(only) => self.offer(s, only, out)?,
                    None => self.list_guides(s, out)?,
                },
                // What works without the guide: the engine answers these as usual.
                Some(Command::Help | Command::Notes | Command::Note(Some(_)) | Command::Delete) => {
                    self.detour_engine(s, &Event::Text(t), out)?;
                }
                _ if !local && s.keys.is_some() => self.detour_engine(s, &Event::Text(t), out)?,
                // Neither yes nor no: ask again, as the engine does.
                _ if local => {
                    if let Some(k) = s.keys.clone() {
                        let pick = ui(&self.lang_now(), Ui::PickOne);
                        self.write(
                            out,
                            &format!("{}\n\n{}", self.view().text(pick), self.view().message(&k.message, None)),
                        )?;
                    }
                }
                _ => self.detour_hint(s, out)?,
            },
        }
        Ok(true)
    }

    /// An event the engine handles while the guide is missing (help, notes, erasing).
    fn detour_engine(&self, s: &mut Session, event: &Event, out: &mut dyn Write) -> Result<(), ChatError> {
        let shown = self.send(s, event, out)?;
        let state = self.app.state(self.user)?;
        if self.missing_guide(&state).is_none() {
            // Erased: the record, and with it the missing guide, is gone.
            s.detour = None;
            return Ok(());
        }
        if prompt_of(&shown).is_none()
            && state.pending.is_none()
            && let Some(last) = s.last.clone().filter(|k| k.local)
        {
            self.write(out, &self.view().message(&last.message, None))?;
            s.keys = Some(last);
        }
        Ok(())
    }

    fn detour_hint(&self, s: &mut Session, out: &mut dyn Write) -> Result<(), ChatError> {
        let missing = s.detour.as_ref().map(|d| d.missing.clone()).unwrap_or_default();
        let text = fill(say(&self.lang_now(), Say::DetourHint), &[("guide", &markup::escape(&missing))]);
        self.write(out, &format!("{}\n\n", self.view().text(&text)))?;
        s.keys = None;
        if let Some(d) = &mut s.detour {
            d.target = None;
        }
        Ok(())
    }

    // ----- small helpers ---------------------------------------------------

    fn view(&self) -> View {
        View { styled: self.styled, width: self.width.columns() }
    }

    /// The user's language now: their saved one, else `--lang`, else English.
    fn lang_now(&self) -> String {
        self.app.state(self.user).ok().and_then(|s| s.lang).or_else(|| self.lang.clone()).unwrap_or_else(|| "en".into())
    }

    /// The language of the first words, before the opening: `--lang`, the saved one, or
    /// that of the guide about to open.
    fn start_lang(&self, state: &UserState) -> String {
        let lib = self.app.library();
        let guide = self.guide.clone().or_else(|| state.guide.clone()).or_else(|| self.only_guide());
        self.lang
            .clone()
            .or_else(|| state.lang.clone())
            .or_else(|| guide.and_then(|g| lib.pick(&g, None).map(|g| g.lang().to_owned())))
            .unwrap_or_else(|| "en".into())
    }

    fn tell(&self, out: &mut dyn Write, key: Say) -> Result<(), ChatError> {
        let text = self.view().text(say(&self.lang_now(), key));
        self.write(out, &format!("{text}\n\n"))
    }

    fn write(&self, out: &mut dyn Write, text: &str) -> Result<(), ChatError> {
        out.write_all(text.as_bytes()).map_err(ChatError::Io)?;
        out.flush().map_err(ChatError::Io)
    }

    fn show_due_reminders(&self, out: &mut dyn Write) -> Result<(), ChatError> {
        // Shown here and now, so nothing goes to the outbox.
        let due = match self.app.take_due_reminders(self.user, self.clock.now(), &|_| Vec::new()) {
            Ok((due, _)) => due,
            // Not marked sent, so they are shown at a later start; the first line
            // typed is told that the disk is full.
            Err(e) if e.is_disk_full() => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        for m in &due.messages {
            self.write(out, &format!("{}\n\n", self.view().text(&m.text)))?;
        }
        Ok(())
    }
}

/// The question or list an output leaves on screen: its last message with buttons or a
/// typed answer, else the message it replaced.
fn prompt_of(output: &Output) -> Option<&Message> {
    if let Some(m) = output.messages.iter().rev().find(|m| !m.buttons.is_empty() || m.typed) {
        return Some(m);
    }
    match &output.edit {
        Some(Edit::Replace(m)) => Some(m),
        _ => None,
    }
}

/// `text`, with a command typed in full-width characters (`／ｈｅｌｐ`, as Chinese input
/// methods may give) written as an ordinary one; the text after the command is kept as typed.
fn command_form(text: &str) -> String {
    if !text.starts_with('／') {
        return text.to_owned();
    }
    let end = text.find(|c: char| c.is_whitespace()).unwrap_or(text.len());
    format!("{}{}", fold_width(&text[..end]), &text[end..])
}

/// One line of at most [`LINE_LIMIT`] bytes, without its line break.
fn read_line(input: &mut impl BufRead) -> std::io::Result<Line> {
    let mut buf = Vec::new();
    loop {
        let chunk = match input.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(if buf.is_empty() { Line::End } else { Line::Bytes(buf) });
        }
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (chunk.len(), false),
        };
        let too_long = buf.len() + take > LINE_LIMIT;
        if !too_long {
            buf.extend_from_slice(&chunk[..take]);
        }
        input.consume(if done { take + 1 } else { take });
        if too_long {
            if !done {
                skip_line(input)?;
            }
            return Ok(Line::TooLong);
        }
        if done {
            return Ok(Line::Bytes(buf));
        }
    }
}

/// Reads up to and including the next line break.
fn skip_line(input: &mut impl BufRead) -> std::io::Result<()> {
    loop {
        let chunk = match input.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(());
        }
        match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => {
                input.consume(i + 1);
                return Ok(());
            }
            None => {
                let n = chunk.len();
                input.consume(n);
            }
        }
    }
}

/// What stops a terminal session.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error(transparent)]
    App(#[from] AppError),
    #[error("terminal: {0}")]
    Io(std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Vec<String> {
        let mut r = std::io::BufReader::with_capacity(7, input);
        let mut out = Vec::new();
        loop {
            match read_line(&mut r).expect("read") {
                Line::End => return out,
                Line::TooLong => out.push("(too long)".into()),
                Line::Bytes(b) => out.push(String::from_utf8_lossy(&b).into_owned()),
            }
        }
    }

    #[test]
    fn lines_are_read_as_bytes_and_long_ones_skipped_whole() {
        assert_eq!(lines(b"one\n\xff\xfe bad\nlast"), ["one", "\u{fffd}\u{fffd} bad", "last"]);
        let mut long = vec![b'x'; LINE_LIMIT + 10];
        long.extend_from_slice(b"\nafter\n");
        assert_eq!(lines(&long), ["(too long)", "after"]);
        let exact = [vec![b'y'; LINE_LIMIT], b"\n".to_vec()].concat();
        assert_eq!(lines(&exact)[0].len(), LINE_LIMIT);
    }

    #[test]
    fn a_person_at_a_terminal_gets_a_prompt_on_stderr_and_a_clean_end() {
        use crate::adapters::store::MemoryStore;
        use crate::app::FixedClock;
        use crate::domain::dialogue::load_library;
        use std::sync::Arc;

        let text = "guide: g\nlang: en\ntitle: G\nstart: a\nnodes:\n  a:\n    say: How much?\n    ask: { save: n, type: money }\n    goto: b\n  b:\n    say: Done\n    end: true\n";
        let lib = load_library(&[("g.en.yaml".into(), text.into())]).expect("loads");
        let app = App::new(lib, Arc::new(MemoryStore::default()));
        let clock = FixedClock::new("2026-11-28T02:00:00Z".parse().expect("time"));
        let chat = Chat {
            app: &app,
            clock: &clock,
            zone: jiff::tz::TimeZone::UTC,
            user: UserId::LOCAL,
            guide: None,
            lang: None,
            styled: false,
            width: Width::Columns(0),
            prompt: true,
            dialogues: "dialogues".into(),
            data: "data".into(),
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        chat.run(&b"\n300\n"[..], &mut out, &mut err).expect("runs");
        let out = String::from_utf8(out).expect("utf-8");
        let err = String::from_utf8(err).expect("utf-8");
        assert_eq!(out, "How much?\n\nDone\n  1) Case file\n  2) Notes\n  3) Start over\n\n");
        assert_eq!(err, format!("{}\n> > > \n", say("en", Say::HowToQuit)));
    }

    /// A store that takes `allowed` commits, then refuses every one as a full disk would.
    struct FillsUp {
        inner: crate::adapters::store::MemoryStore,
        allowed: std::sync::atomic::AtomicUsize,
    }

    impl crate::adapters::store::Store for FillsUp {
        fn load(&self, user: UserId) -> Result<Option<crate::adapters::store::Stored>, StoreError> {
            self.inner.load(user)
        }
        fn applied(&self, event: EventId) -> Result<bool, StoreError> {
            self.inner.applied(event)
        }
        fn commit(&self, user: UserId, change: &crate::adapters::store::Change<'_>) -> Result<Vec<u64>, StoreError> {
            use std::sync::atomic::Ordering;
            if self.allowed.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_err() {
                return Err(StoreError::DiskFull { dir: "data".into(), free_mb: 1, reserve_mb: 64 });
            }
            self.inner.commit(user, change)
        }
        fn erase(&self, user: UserId, event: Option<EventId>, farewell: &[Vec<u8>]) -> Result<Vec<u64>, StoreError> {
            self.inner.erase(user, event, farewell)
        }
        fn users(&self) -> Result<Vec<UserId>, StoreError> {
            self.inner.users()
        }
        fn due(&self, now: i64) -> Result<Vec<UserId>, StoreError> {
            self.inner.due(now)
        }
        fn pending(&self) -> Result<Vec<crate::adapters::store::Queued>, StoreError> {
            self.inner.pending()
        }
        fn delivered(&self, user: UserId, seq: u64) -> Result<(), StoreError> {
            self.inner.delivered(user, seq)
        }
        fn first_delivery(&self, event: EventId) -> Result<bool, StoreError> {
            self.inner.first_delivery(event)
        }
    }

    use crate::adapters::store::{EventId, StoreError};

    #[test]
    fn a_full_disk_is_told_the_question_stays_and_the_chat_goes_on() {
        use crate::app::FixedClock;
        use crate::domain::dialogue::load_library;
        use std::sync::Arc;

        let text = "guide: g\nlang: en\ntitle: G\nstart: a\nnodes:\n  a:\n    say: How much?\n    ask: { save: n, type: money }\n    goto: b\n  b:\n    say: Done\n    end: true\n";
        let lib = load_library(&[("g.en.yaml".into(), text.into())]).expect("loads");
        let store = Arc::new(FillsUp { inner: Default::default(), allowed: usize::MAX.into() });
        let app = App::new(lib, store.clone());
        let clock = FixedClock::new("2026-11-28T02:00:00Z".parse().expect("time"));
        let chat = Chat {
            app: &app,
            clock: &clock,
            zone: jiff::tz::TimeZone::UTC,
            user: UserId::LOCAL,
            guide: None,
            lang: None,
            styled: false,
            width: Width::Columns(0),
            prompt: false,
            dialogues: "dialogues".into(),
            data: "data".into(),
        };
        chat.run(&b""[..], &mut Vec::new(), &mut Vec::new()).expect("the guide starts");
        // The disk is full from now on.
        store.allowed.store(0, std::sync::atomic::Ordering::SeqCst);
        let mut out = Vec::new();
        chat.run(&b"300\n/note kept?\n"[..], &mut out, &mut Vec::new()).expect("the chat goes on to the end of input");
        let out = String::from_utf8(out).expect("utf-8");
        let again = format!("{}\n\nHow much?\n\n", say("en", Say::NothingSaved));
        assert!(out.ends_with(&format!("How much?\n\n{again}{again}")), "{out}");
        let state = app.state(UserId::LOCAL).expect("state");
        assert_eq!((state.node.as_deref(), state.notes.len()), (Some("a"), 0), "nothing of it was kept");
    }

    #[test]
    fn full_width_commands_are_read_as_commands() {
        assert_eq!(command_form("／ｈｅｌｐ"), "/help");
        assert_eq!(command_form("／ｎｏｔｅ　打了电话（客服）"), "/note　打了电话（客服）");
        assert_eq!(command_form("（不是命令）"), "（不是命令）");
    }
}
