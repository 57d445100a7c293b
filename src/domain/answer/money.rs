//! `type: money`: an amount in the guide's currency (`3500`, `¥3,500.50`,
//! `3500元`, `£12.99`), never below zero, shown as the currency writes it.

use rust_decimal::Decimal;

use super::number::{clamp, range, within};
use super::{Kind, Question, Refusal, Words};
use crate::domain::money::{AMOUNT_LIMIT, MoneyError, format_money_in, parse_money, parse_money_in};
use crate::domain::value::Var;

/// `{example}`, `{shown}`.
const BAD: Words = Words {
    en: "Please type an amount, for example {example} or {shown}.",
    zh: "请输入金额，例如 {example} 或 {shown}。",
};
/// `{code}`, `{symbol}`, `{found}`, `{example}`.
const OTHER_CURRENCY: Words = Words {
    en: "Amounts here are in {code} ({symbol}), so {found} cannot be used. Please type the amount in {code}, for example {example}.",
    zh: "这里的金额以 {code}（{symbol}）计，不能用 {found}。请按 {code} 输入金额，例如 {example}。",
};

pub struct MoneyAnswer;

impl Kind for MoneyAnswer {
    fn name(&self) -> &'static str {
        "money"
    }

    fn bound_wanted(&self) -> &'static str {
        "an amount such as 100 or 0.01"
    }

    fn valid_bound(&self, written: &str) -> bool {
        parse_money(written).is_some()
    }

    fn parse(&self, q: &Question, text: &str) -> Result<(Var, String), Refusal> {
        let currency = q.guide.currency();
        let (min, max) = money_range(q);
        let d = match parse_money_in(text, &currency) {
            Ok(d) => d,
            Err(MoneyError::NotAnAmount) => return Err(Refusal::Unreadable(hint(q))),
            Err(MoneyError::OtherCurrency(found)) => {
                let example = format_money_in(example(min, max), &currency);
                return Err(Refusal::Refused(OTHER_CURRENCY.fill(
                    q.lang,
                    &[("code", &currency.code), ("symbol", &currency.symbol), ("found", &found), ("example", &example)],
                )));
            }
            Err(MoneyError::TooLarge) => AMOUNT_LIMIT + Decimal::ONE,
        };
        let show = |d| format_money_in(d, &currency);
        within(q.lang, d, min, max, show)?;
        Ok((Var::number(d), show(d)))
    }

    fn show(&self, q: &Question, v: &Var) -> String {
        v.as_decimal().map(|d| format_money_in(d, &q.guide.currency())).unwrap_or_else(|| v.display())
    }
}

/// The smallest and largest accepted amount: the question's, never below zero.
fn money_range(q: &Question) -> (Decimal, Decimal) {
    let (min, max) = range(q.ask, parse_money);
    (min.max(Decimal::ZERO), max)
}

/// "Please type an amount, for example 3500 or ¥3,500.50", with amounts this
/// question accepts.
fn hint(q: &Question) -> String {
    let (min, max) = money_range(q);
    let whole = example(min, max);
    let with_cents = clamp(whole + Decimal::new(50, 2), min, max);
    let shown = format_money_in(with_cents, &q.guide.currency());
    BAD.fill(q.lang, &[("example", &Var::number(whole).display()), ("shown", &shown)])
}

/// A whole amount near 3500 that the question accepts.
fn example(min: Decimal, max: Decimal) -> Decimal {
    let d = clamp(Decimal::from(3500), min.ceil(), max.floor());
    if d < min || d > max { min } else { d }
}
