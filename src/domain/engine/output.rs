//! What the engine asks a front end to show. Texts are in the dialogue
//! markup (`**bold**`, `_italic_`, code); front ends render it.

use super::event::Press;

/// Everything one event produced, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Output {
    /// Change the message whose button was pressed (before sending `messages`).
    pub edit: Option<Edit>,
    /// New messages, in order.
    pub messages: Vec<Message>,
    /// A file to send (the case file).
    pub document: Option<Document>,
    /// The user asked to erase everything: the store must forget them.
    pub erase: bool,
    /// Problems for the log (a template that failed at run time); never user data.
    pub problems: Vec<String>,
}

/// A message, with buttons when it asks something.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Message {
    pub text: String,
    /// Rows of buttons.
    pub buttons: Vec<Vec<Button>>,
    /// The message asks for a typed answer: a typed number is an answer, not a button's number.
    pub typed: bool,
}

/// One button.
#[derive(Debug, Clone, PartialEq)]
pub struct Button {
    pub label: String,
    pub press: Press,
}

/// A change to the message a button was pressed on.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// The question was answered: show this text, without buttons.
    Answered(String),
    /// A checklist item was toggled: show this message (same text, new ticks).
    Replace(Message),
}

/// A file for the user.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub filename: String,
    pub content: String,
}

impl Output {
    /// Adds a plain message.
    pub fn say(&mut self, text: impl Into<String>) {
        self.messages.push(Message { text: text.into(), ..Message::default() });
    }

    /// The buttons the user now sees: the last new message that has some, else a replaced one.
    pub fn last_keyboard(&self) -> Option<&Message> {
        if let Some(m) = self.messages.iter().rev().find(|m| !m.buttons.is_empty()) {
            return Some(m);
        }
        match &self.edit {
            Some(Edit::Replace(m)) => Some(m),
            _ => None,
        }
    }

    /// Every text this output shows, new messages and edits, in markup.
    pub fn texts(&self) -> Vec<&str> {
        let mut out = Vec::new();
        match &self.edit {
            Some(Edit::Answered(t)) => out.push(t.as_str()),
            Some(Edit::Replace(m)) => out.push(m.text.as_str()),
            None => {}
        }
        out.extend(self.messages.iter().map(|m| m.text.as_str()));
        out
    }
}
