//! `type: number`: a plain number (`whole: true` for whole numbers only), with
//! the range words money answers share.

use rust_decimal::Decimal;

use super::{Ask, Kind, Question, Refusal, Words, bound_text};
use crate::domain::money::{AMOUNT_LIMIT, parse_number};
use crate::domain::value::Var;

/// `{example}`.
const BAD: Words =
    Words { en: "Please type a number, for example {example}.", zh: "请输入一个数字，例如 {example}。" };
/// `{example}`.
const BAD_WHOLE: Words = Words {
    en: "Please type a whole number, for example {example}.",
    zh: "请输入一个整数，例如 {example}。",
};
/// `{limit}`.
const TOO_SMALL: Words = Words {
    en: "That is less than the smallest accepted value: {limit}.",
    zh: "数值低于允许的最小值：{limit}。",
};
/// `{limit}`.
const TOO_LARGE: Words = Words {
    en: "That is more than the largest accepted value: {limit}.",
    zh: "数值高于允许的最大值：{limit}。",
};

pub struct NumberAnswer;

impl Kind for NumberAnswer {
    fn name(&self) -> &'static str {
        "number"
    }

    fn bound_wanted(&self) -> &'static str {
        "a number"
    }

    fn valid_bound(&self, written: &str) -> bool {
        parse_number(written).is_some()
    }

    fn takes_whole(&self) -> bool {
        true
    }

    fn parse(&self, q: &Question, text: &str) -> Result<(Var, String), Refusal> {
        let (min, max) = range(q.ask, parse_number);
        let example = example(min, max, q.ask.whole);
        let Some(d) = parse_number(text) else {
            return Err(Refusal::Unreadable(BAD.fill(q.lang, &[("example", &example)])));
        };
        if q.ask.whole && !d.fract().is_zero() {
            return Err(Refusal::Unreadable(BAD_WHOLE.fill(q.lang, &[("example", &example)])));
        }
        let show = |d| Var::number(d).display();
        within(q.lang, d, min, max, show)?;
        Ok((Var::number(d), show(d)))
    }
}

/// The smallest and largest accepted value: the question's `min` and `max` (read by
/// `read`), within the limit every answer keeps to.
pub(super) fn range(ask: &Ask, read: fn(&str) -> Option<Decimal>) -> (Decimal, Decimal) {
    let bound = |v: &Option<serde_yaml::Value>| bound_text(v).and_then(|t| read(&t));
    let min = bound(&ask.min).map_or(-AMOUNT_LIMIT, |m| m.max(-AMOUNT_LIMIT));
    let max = bound(&ask.max).map_or(AMOUNT_LIMIT, |m| m.min(AMOUNT_LIMIT));
    (min, max)
}

/// `d` is within `min..=max`, or the refusal that names the limit it passed (shown by `show`).
pub(super) fn within(
    lang: &str,
    d: Decimal,
    min: Decimal,
    max: Decimal,
    show: impl Fn(Decimal) -> String,
) -> Result<(), Refusal> {
    if d < min {
        return Err(Refusal::Refused(TOO_SMALL.fill(lang, &[("limit", &show(min))])));
    }
    if d > max {
        return Err(Refusal::Refused(TOO_LARGE.fill(lang, &[("limit", &show(max))])));
    }
    Ok(())
}

pub(super) fn clamp(d: Decimal, min: Decimal, max: Decimal) -> Decimal {
    d.max(min).min(max)
}

/// A number near 6 that the question accepts.
fn example(min: Decimal, max: Decimal, whole: bool) -> String {
    let (low, high) = if whole { (min.ceil(), max.floor()) } else { (min, max) };
    let d = clamp(Decimal::from(6), low, high);
    Var::number(if d < min || d > max { min } else { d }).display()
}
