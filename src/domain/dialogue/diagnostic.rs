//! `Diagnostic`: one problem found in a dialogue file, with where it is, what
//! sort of problem it is, and what to do about it. Loading and `check` return
//! lists of these, never stop at the first.

use std::fmt;
use std::path::PathBuf;

/// One problem in a dialogue file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based.
    pub line: usize,
    /// 1-based.
    pub col: usize,
    /// What sort of problem it is: code decides on this, never on the message.
    pub kind: Kind,
    /// What is wrong and what to change, for the author.
    pub message: String,
}

/// What sort of problem a [`Diagnostic`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The file cannot be read: missing, too large, not YAML, or values that fit no type.
    Unreadable,
    /// The file against the JSON Schema: unknown keys, wrong kinds, missing or repeated keys.
    Shape,
    /// A template or expression that does not compile.
    Template,
    /// `start` or a `goto` names no node.
    BrokenLink,
    /// An id or a variable name that is not written as one.
    Name,
    /// A stage given twice, or one that `stages:` does not declare.
    Stage,
    /// A node whose parts do not fit together: its interactions, choices, branch,
    /// checklist, `say`, `goto` and `end`.
    Node,
    /// A question's `min`, `max` or `whole` its answer type cannot use.
    Answer,
    /// A variable used that no node saves, sets or computes.
    Variable,
    /// A guide-wide setting: the reminders' time zone, hour or menu.
    Setting,
    /// The flow as a whole: unreachable nodes, traps, loops without a question, no end.
    Flow,
    /// Files against each other: the file name, a guide given twice, the default translation.
    Files,
    /// Translations that differ in more than their texts.
    Translation,
    /// Warning: a loop large enough to be cut off at run time.
    LargeLoop,
    /// Warning: a reminder whose day is already past when it is scheduled.
    PastReminder,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file.display(), self.line, self.col, self.message)
    }
}
