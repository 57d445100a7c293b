//! `Diagnostic`: one problem found in a dialogue file, with where it is and
//! what to do about it. Loading and `check` return lists of these, never stop
//! at the first.

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
    /// What is wrong and what to change.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file.display(), self.line, self.col, self.message)
    }
}
