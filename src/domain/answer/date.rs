//! `type: date`: a day (`2026-12-15`, `12月15日`, `15 Dec`, `tomorrow`), read
//! within the question's bounds, shown in the user's language.

use jiff::civil::Date;

use super::{Kind, Question, Refusal, Words, bound_text};
use crate::domain::dates::{Bounds, DateError, example_date, format_date, parse_date, parse_date_within, typed_form};
use crate::domain::value::Var;

/// `{example}`, `{short}`.
const BAD: Words = Words {
    en: "Please type a date, for example {example} or {short}.",
    zh: "请输入日期，例如 {example} 或 {short}。",
};
/// `{example}`: a date on or after today.
const PAST: Words = Words {
    en: "That date has already passed. Please type today or a later date, for example {example}.",
    zh: "这个日期已经过去了。请输入今天或以后的日期，例如 {example}。",
};
/// `{example}`: a date on or before today.
const FUTURE: Words = Words {
    en: "That date is still to come. Please type today or an earlier date, for example {example}.",
    zh: "这个日期还没到。请输入今天或之前的日期，例如 {example}。",
};
/// `{min}`, `{example}`.
const FROM: Words = Words {
    en: "Please type a date on or after {min}, for example {example}.",
    zh: "请输入 {min} 或以后的日期，例如 {example}。",
};
/// `{max}`, `{example}`.
const UNTIL: Words = Words {
    en: "Please type a date on or before {max}, for example {example}.",
    zh: "请输入 {max} 或之前的日期，例如 {example}。",
};
/// `{min}`, `{max}`, `{example}`.
const BETWEEN: Words = Words {
    en: "Please type a date from {min} to {max}, for example {example}.",
    zh: "请输入 {min} 到 {max} 之间的日期，例如 {example}。",
};

pub struct DateAnswer;

impl Kind for DateAnswer {
    fn name(&self) -> &'static str {
        "date"
    }

    fn bound_wanted(&self) -> &'static str {
        "`today` or a date like 2026-12-15"
    }

    fn valid_bound(&self, written: &str) -> bool {
        written == "today" || parse_date(written, jiff::civil::date(2000, 1, 1)).is_some() && written.len() == 10
    }

    fn parse(&self, q: &Question, text: &str) -> Result<(Var, String), Refusal> {
        let bounds = bounds(q);
        match parse_date_within(text, q.today, bounds) {
            Ok(d) => Ok((Var::Str(d.to_string()), format_date(d, q.lang))),
            Err(DateError::NotADate) => {
                let example = example_date(q.today, bounds);
                let short = typed_form(example, q.today, bounds, q.lang);
                Err(Refusal::Unreadable(BAD.fill(q.lang, &[("example", &example.to_string()), ("short", &short)])))
            }
            Err(DateError::OutOfRange(d)) => Err(Refusal::Refused(range_message(q, d, bounds))),
        }
    }

    fn show(&self, q: &Question, v: &Var) -> String {
        match v {
            Var::Str(s) => s.parse::<Date>().map(|d| format_date(d, q.lang)).unwrap_or_else(|_| s.clone()),
            _ => v.display(),
        }
    }

    /// A date that has since left the question's bounds, such as a due date now past, may not be kept.
    fn keeps(&self, q: &Question, v: &Var) -> bool {
        match v {
            Var::Str(s) => s.parse::<Date>().is_ok_and(|d| bounds(q).contains(d)),
            _ => v.is_set(),
        }
    }
}

/// The dates a question accepts today. A question without bounds whose answer a
/// reminder is built from accepts today or later: a reminder about a past day would
/// come at once, about something already over.
pub fn bounds(q: &Question) -> Bounds {
    let as_date = |v: &Option<serde_yaml::Value>| {
        let text = bound_text(v)?;
        if text == "today" { Some(q.today) } else { text.parse::<Date>().ok() }
    };
    let bounds = Bounds { min: as_date(&q.ask.min), max: as_date(&q.ask.max) };
    if bounds == Bounds::default() && q.guide.feeds_reminders(&q.ask.save) {
        return Bounds { min: Some(q.today), max: None };
    }
    bounds
}

/// What the question accepts, said in the plainest words that fit: "today or a
/// later date" when the bound is today.
fn range_message(q: &Question, typed: Date, bounds: Bounds) -> String {
    let example = typed_form(example_date(q.today, bounds), q.today, bounds, q.lang);
    let show = |d: Option<Date>| d.map(|d| format_date(d, q.lang)).unwrap_or_default();
    let (min, max) = (show(bounds.min), show(bounds.max));
    let words = match (bounds.min, bounds.max) {
        (Some(_), Some(_)) => BETWEEN,
        (Some(m), None) if m == q.today => PAST,
        (Some(_), None) => FROM,
        (None, Some(m)) if m == q.today => FUTURE,
        (None, Some(_)) => UNTIL,
        // Nothing is out of range without bounds; say what a date looks like.
        (None, None) => return BAD.fill(q.lang, &[("example", &typed.to_string()), ("short", &example)]),
    };
    words.fill(q.lang, &[("min", &min), ("max", &max), ("example", &example)])
}
