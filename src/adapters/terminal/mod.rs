//! The terminal front end (`guidebot chat`): lines in, text out. Buttons are
//! numbered and chosen by number or label; everything else typed goes to
//! the engine as text. Reads until end of input, so it can be scripted.

use std::io::{BufRead, Write};

use crate::adapters::store::UserId;
use crate::app::{App, AppError, Clock, ctx_at};
use crate::domain::engine::{Edit, Event, Message, Output, Press};
use crate::domain::markup;

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
}

impl Chat<'_> {
    /// Runs until the input ends. State is saved after every line.
    pub fn run(&self, input: impl BufRead, out: &mut impl Write) -> Result<(), ChatError> {
        let mut keyboard = None;
        self.show_due_reminders(out)?;
        let state = self.app.state(self.user)?;
        let opening = match &self.guide {
            Some(g) if state.guide.as_deref() != Some(g) => Event::Text(format!("/guides {g}")),
            _ => Event::Start,
        };
        self.send(&opening, &mut keyboard, out)?;
        // The opening may already have picked the language (a new user gets it from --lang).
        let state = self.app.state(self.user)?;
        if let Some(l) = &self.lang
            && state.lang.as_deref() != Some(l)
        {
            self.send(&Event::Text(format!("/lang {l}")), &mut keyboard, out)?;
        }
        for line in input.lines() {
            let line = line.map_err(ChatError::Io)?;
            let text = line.trim();
            if text.is_empty() {
                continue;
            }
            let event = match keyboard.as_ref().and_then(|m| pick(m, text)) {
                Some(p) => Event::Press(p),
                None => Event::Text(text.to_owned()),
            };
            self.send(&event, &mut keyboard, out)?;
        }
        Ok(())
    }

    fn send(&self, event: &Event, keyboard: &mut Option<Message>, out: &mut impl Write) -> Result<(), ChatError> {
        let ctx = ctx_at(self.clock.now(), &self.zone, None, self.lang.clone());
        let output = self.app.handle(self.user, event, &ctx)?;
        for p in &output.problems {
            eprintln!("warning: {p}");
        }
        // Only the buttons on screen now can be pressed by number; with none, a number is
        // typed text (an answer), which the engine reads itself.
        *keyboard = output.last_keyboard().cloned();
        write!(out, "{}", self.render(&output)).map_err(ChatError::Io)?;
        out.flush().map_err(ChatError::Io)
    }

    fn show_due_reminders(&self, out: &mut impl Write) -> Result<(), ChatError> {
        // Shown here and now, so nothing goes to the outbox.
        let (due, _) = self.app.take_due_reminders(self.user, self.clock.now(), &|_| Vec::new())?;
        for m in &due.messages {
            writeln!(out, "{}\n", self.style(&m.text)).map_err(ChatError::Io)?;
        }
        Ok(())
    }

    fn style(&self, text: &str) -> String {
        if self.styled { markup::to_ansi(text) } else { markup::to_plain(text) }
    }

    /// What the user sees for one output.
    pub fn render(&self, output: &Output) -> String {
        render(output, self.styled)
    }
}

/// What the user sees for one output, with terminal styles or plain.
pub fn render(output: &Output, styled: bool) -> String {
    let view = View { styled };
    view.render(output)
}

struct View {
    styled: bool,
}

impl View {
    fn style(&self, text: &str) -> String {
        if self.styled { markup::to_ansi(text) } else { markup::to_plain(text) }
    }

    fn render(&self, output: &Output) -> String {
        let mut s = String::new();
        if let Some(Edit::Replace(m)) = &output.edit {
            // Same question, new ticks: the buttons are enough, as in Telegram's in-place edit.
            s.push_str(&self.buttons(m));
            s.push('\n');
        }
        for m in &output.messages {
            s.push_str(&self.message(m));
        }
        if let Some(d) = &output.document {
            s.push_str(&format!(
                "----- {} -----\n{}\n----- end of {} -----\n\n",
                d.filename,
                d.content.trim_end(),
                d.filename
            ));
        }
        s
    }

    fn message(&self, m: &Message) -> String {
        let mut s = self.style(&m.text);
        s.push('\n');
        s.push_str(&self.buttons(m));
        s.push('\n');
        s
    }

    fn buttons(&self, m: &Message) -> String {
        let mut s = String::new();
        let mut n = 0;
        for b in m.buttons.iter().flatten() {
            n += 1;
            let label = markup::to_plain(&b.label);
            if m.typed {
                // A typed number is an answer here, so these are chosen by name.
                s.push_str(&format!("  [{label}]\n"));
            } else {
                s.push_str(&format!("  {n}) {label}\n"));
            }
        }
        s
    }
}

/// The button `text` names: its number or its label (ticks ignored).
fn pick(m: &Message, text: &str) -> Option<Press> {
    let buttons: Vec<_> = m.buttons.iter().flatten().collect();
    if let Ok(n) = text.parse::<usize>()
        && !m.typed
    {
        return buttons.get(n.checked_sub(1)?).map(|b| b.press);
    }
    let want = text.to_lowercase();
    buttons
        .iter()
        .find(|b| {
            let label = markup::to_plain(&b.label).to_lowercase();
            let bare = label.trim_start_matches(['✅', '⬜']).trim().to_owned();
            let head = label.split(':').next().unwrap_or("").trim().to_owned();
            bare == want || head == want
        })
        .map(|b| b.press)
}

/// What stops a terminal session.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error(transparent)]
    App(#[from] AppError),
    #[error("terminal: {0}")]
    Io(std::io::Error),
}
