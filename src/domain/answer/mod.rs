//! Typed answers: the `ask:` of a dialogue file, and everything each answer
//! type means, one file per type (`text`, `number`, `money`, `date`): what its
//! `min` and `max` must look like (the authoring check `dialogue::check` runs),
//! reading what a user typed, its bounds, showing a stored answer back, and its
//! own words (in each language) for an answer that will not do, each with an
//! example that the same question accepts today.
//!
//! A new answer type is one file here that implements [`Kind`], registered in
//! [`AskType`] and in `kind_of`.
//!
//! This module decides nothing about the flow: the engine asks it whether an
//! answer is good and moves on or asks again. It knows nothing of the guide it
//! is asked in beyond [`Facts`], so the dialogue checker and the engine can both
//! use it.

pub mod date;
pub mod money;
pub mod number;
pub mod text;

use jiff::civil::Date;
use schemars::JsonSchema;
use serde::Deserialize;

use crate::domain::dates::Bounds;
use crate::domain::money::Currency;
use crate::domain::value::Var;

pub use text::TEXT_LIMIT;

/// A typed answer.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Ask {
    /// Variable (dotted path allowed) the answer is saved to.
    pub save: String,
    #[serde(rename = "type")]
    pub kind: AskType,
    /// Smallest accepted value (length for text; `today` or a date for dates).
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub min: Option<serde_yaml::Value>,
    /// Largest accepted value.
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub max: Option<serde_yaml::Value>,
    /// Text shown when the answer does not parse or is out of range.
    #[serde(default)]
    pub invalid: Option<String>,
    /// The question may be skipped (saves nothing, the guide goes on).
    #[serde(default)]
    pub optional: bool,
    /// Numbers only: the answer must be a whole number.
    #[serde(default)]
    pub whole: bool,
}

/// The kinds of typed answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AskType {
    Text,
    Number,
    Money,
    Date,
}

/// The answer types, by their name in a file: their registration.
fn kind_of(t: AskType) -> &'static dyn Kind {
    match t {
        AskType::Text => &text::TextAnswer,
        AskType::Number => &number::NumberAnswer,
        AskType::Money => &money::MoneyAnswer,
        AskType::Date => &date::DateAnswer,
    }
}

/// One answer type: everything that differs between `type: money` and `type: date`.
pub trait Kind {
    /// Its name in a file (`type: money`).
    fn name(&self) -> &'static str;

    /// What `min:` and `max:` must be, in an author's words ("a number").
    fn bound_wanted(&self) -> &'static str;

    /// Whether a `min:` or `max:` as written (`100`, `today`) means something for this type.
    fn valid_bound(&self, written: &str) -> bool;

    /// Whether `whole: true` means something for this type.
    fn takes_whole(&self) -> bool {
        false
    }

    /// The value to store and how to show it, or why the answer will not do.
    fn parse(&self, q: &Question, text: &str) -> Result<(Var, String), Refusal>;

    /// A stored answer as the user reads it.
    fn show(&self, _q: &Question, v: &Var) -> String {
        v.display()
    }

    /// Whether a stored answer may be kept as it is (the *Keep* button).
    fn keeps(&self, _q: &Question, v: &Var) -> bool {
        v.is_set()
    }
}

/// What a question needs to know about the guide it is asked in.
pub trait Facts {
    /// The currency the guide counts in.
    fn currency(&self) -> Currency;

    /// Whether a reminder is built from the variable `save` names.
    fn feeds_reminders(&self, save: &str) -> bool;
}

/// Why an answer was not taken, with the built-in message to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not understood as the type asked for: the question's `invalid` text, when it
    /// has one, replaces the message.
    Unreadable(String),
    /// Understood but not acceptable (out of range, another currency): the message
    /// names what is accepted, and is always the built-in one.
    Refused(String),
}

/// One `ask` as it stands for one user today.
pub struct Question<'a> {
    pub ask: &'a Ask,
    pub guide: &'a dyn Facts,
    pub lang: &'a str,
    pub today: Date,
}

impl Question<'_> {
    fn kind(&self) -> &'static dyn Kind {
        kind_of(self.ask.kind)
    }

    /// The value to store and how to show it, or why the answer will not do.
    pub fn parse(&self, text: &str) -> Result<(Var, String), Refusal> {
        self.kind().parse(self, text)
    }

    /// A stored answer as the user reads it: `¥3,500.00`, `15 Dec 2026`.
    pub fn show(&self, v: &Var) -> String {
        self.kind().show(self, v)
    }

    /// Whether a stored answer may be kept as it is (the *Keep* button): a date that
    /// has since left the question's bounds, such as a due date now past, may not.
    pub fn keeps(&self, v: &Var) -> bool {
        self.kind().keeps(self, v)
    }

    /// The dates this question accepts today (see [`date::bounds`]).
    pub fn date_bounds(&self) -> Bounds {
        date::bounds(self)
    }
}

/// The authoring mistakes of one `ask` that come from its type, as (key, what to
/// change): a `min` or `max` the type cannot read, `whole` where it means nothing.
pub fn check(ask: &Ask) -> Vec<(&'static str, String)> {
    let kind = kind_of(ask.kind);
    let mut out = Vec::new();
    for (key, v) in [("min", &ask.min), ("max", &ask.max)] {
        let Some(v) = v else { continue };
        let written = match v {
            serde_yaml::Value::String(s) => s.clone(),
            serde_yaml::Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        if !kind.valid_bound(&written) {
            out.push((key, format!("`{key}` of a {} question must be {}", kind.name(), kind.bound_wanted())));
        }
    }
    if ask.whole && !kind.takes_whole() {
        out.push(("whole", "`whole` applies to `type: number` only; remove it".into()));
    }
    out
}

/// A sentence in each language the engine speaks (English when the language is unknown).
struct Words {
    en: &'static str,
    zh: &'static str,
}

impl Words {
    fn get(&self, lang: &str) -> &'static str {
        if lang == "zh" { self.zh } else { self.en }
    }

    /// The sentence in `lang` with each `{name}` replaced by its value.
    fn fill(&self, lang: &str, values: &[(&str, &str)]) -> String {
        let mut out = self.get(lang).to_owned();
        for (name, value) in values {
            out = out.replace(&format!("{{{name}}}"), value);
        }
        out
    }
}

/// A `min:` or `max:` as written (`today`, `2026-12-15`, `0.01`, `36`).
fn bound_text(v: &Option<serde_yaml::Value>) -> Option<String> {
    v.as_ref().map(|v| match v {
        serde_yaml::Value::String(s) => s.trim().to_owned(),
        other => serde_yaml::to_string(other).unwrap_or_default().trim().to_owned(),
    })
}

#[cfg(test)]
mod tests;
