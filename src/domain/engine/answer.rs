//! Typed answers: reading what a user typed for an `ask` (money, number, date,
//! text), checking it against the question's bounds, showing a stored answer
//! back, and the messages for an answer that will not do, each with an example
//! that the same question accepts today.
//!
//! This module decides nothing about the flow: `step` asks it whether an answer
//! is good and moves on or asks again.

use std::collections::HashSet;

use jiff::civil::Date;
use rust_decimal::Decimal;

use super::texts::{Ui, fill, ui};
use crate::domain::dates::{Bounds, DateError, example_date, format_date, parse_date_within, typed_form};
use crate::domain::dialogue::Guide;
use crate::domain::dialogue::format::{Ask, AskType};
use crate::domain::dialogue::templates::BUILTIN_NAMES;
use crate::domain::money::{
    AMOUNT_LIMIT, Currency, MoneyError, format_money_in, parse_money, parse_money_in, parse_number,
};
use crate::domain::value::Var;

/// Longest text answer kept when the question sets no `max`.
pub const TEXT_LIMIT: usize = 4000;

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
    pub guide: &'a Guide,
    pub lang: &'a str,
    pub today: Date,
}

impl Question<'_> {
    fn t(&self, key: Ui) -> &'static str {
        ui(self.lang, key)
    }

    fn currency(&self) -> Currency {
        self.guide.file.currency()
    }

    /// The value to store and how to show it, or why the answer will not do.
    pub fn parse(&self, text: &str) -> Result<(Var, String), Refusal> {
        match self.ask.kind {
            AskType::Money => self.money(text),
            AskType::Number => self.number(text),
            AskType::Date => self.date(text),
            AskType::Text => self.text(text),
        }
    }

    /// A stored answer as the user reads it: `¥3,500.00`, `15 Dec 2026`.
    pub fn show(&self, v: &Var) -> String {
        match (self.ask.kind, v) {
            (AskType::Money, v) => {
                v.as_decimal().map(|d| format_money_in(d, &self.currency())).unwrap_or_else(|| v.display())
            }
            (AskType::Date, Var::Str(s)) => {
                s.parse::<Date>().map(|d| format_date(d, self.lang)).unwrap_or_else(|_| s.clone())
            }
            _ => v.display(),
        }
    }

    /// Whether a stored answer may be kept as it is (the *Keep* button): a date that
    /// has since left the question's bounds, such as a due date now past, may not.
    pub fn keeps(&self, v: &Var) -> bool {
        match (self.ask.kind, v) {
            (AskType::Date, Var::Str(s)) => s.parse::<Date>().is_ok_and(|d| self.date_bounds().contains(d)),
            _ => v.is_set(),
        }
    }

    // ----- money and numbers ----------------------------------------------

    /// The question's `min` or `max` as an amount (authors write plain numbers).
    fn bound(&self, v: &Option<serde_yaml::Value>) -> Option<Decimal> {
        let text = bound_text(v)?;
        if self.ask.kind == AskType::Money { parse_money(&text) } else { parse_number(&text) }
    }

    /// The smallest and largest accepted amount or number: the question's, within the
    /// limit every answer keeps to.
    fn range(&self) -> (Decimal, Decimal) {
        let min = self.bound(&self.ask.min).map_or(-AMOUNT_LIMIT, |m| m.max(-AMOUNT_LIMIT));
        let max = self.bound(&self.ask.max).map_or(AMOUNT_LIMIT, |m| m.min(AMOUNT_LIMIT));
        let min = if self.ask.kind == AskType::Money { min.max(Decimal::ZERO) } else { min };
        (min, max)
    }

    fn money(&self, text: &str) -> Result<(Var, String), Refusal> {
        let currency = self.currency();
        let (min, max) = self.range();
        let d = match parse_money_in(text, &currency) {
            Ok(d) => d,
            Err(MoneyError::NotAnAmount) => return Err(Refusal::Unreadable(self.money_hint())),
            Err(MoneyError::OtherCurrency(found)) => {
                let example = format_money_in(money_example(min, max), &currency);
                return Err(Refusal::Refused(fill(
                    self.t(Ui::OtherCurrency),
                    &[("code", &currency.code), ("symbol", &currency.symbol), ("found", &found), ("example", &example)],
                )));
            }
            Err(MoneyError::TooLarge) => AMOUNT_LIMIT + Decimal::ONE,
        };
        let show = |d| format_money_in(d, &currency);
        if d < min {
            return Err(Refusal::Refused(fill(self.t(Ui::TooSmall), &[("limit", &show(min))])));
        }
        if d > max {
            return Err(Refusal::Refused(fill(self.t(Ui::TooLarge), &[("limit", &show(max))])));
        }
        Ok((Var::number(d), show(d)))
    }

    /// "Please type an amount, for example 3500 or ¥3,500.50", with amounts this
    /// question accepts.
    fn money_hint(&self) -> String {
        let (min, max) = self.range();
        let whole = money_example(min, max);
        let with_cents = clamp(whole + Decimal::new(50, 2), min, max);
        let shown = format_money_in(with_cents, &self.currency());
        fill(self.t(Ui::BadMoney), &[("example", &Var::number(whole).display()), ("shown", &shown)])
    }

    fn number(&self, text: &str) -> Result<(Var, String), Refusal> {
        let (min, max) = self.range();
        let example = number_example(min, max, self.ask.whole);
        let Some(d) = parse_number(text) else {
            return Err(Refusal::Unreadable(fill(self.t(Ui::BadNumber), &[("example", &example)])));
        };
        if self.ask.whole && !d.fract().is_zero() {
            return Err(Refusal::Unreadable(fill(self.t(Ui::BadWhole), &[("example", &example)])));
        }
        let show = |d| Var::number(d).display();
        if d < min {
            return Err(Refusal::Refused(fill(self.t(Ui::TooSmall), &[("limit", &show(min))])));
        }
        if d > max {
            return Err(Refusal::Refused(fill(self.t(Ui::TooLarge), &[("limit", &show(max))])));
        }
        Ok((Var::number(d), show(d)))
    }

    // ----- dates ------------------------------------------------------------

    /// The dates this question accepts today. A question without bounds whose answer
    /// a reminder is built from accepts today or later: a reminder about a past day
    /// would come at once, about something already over.
    pub fn date_bounds(&self) -> Bounds {
        let as_date = |v: &Option<serde_yaml::Value>| {
            let text = bound_text(v)?;
            if text == "today" { Some(self.today) } else { text.parse::<Date>().ok() }
        };
        let bounds = Bounds { min: as_date(&self.ask.min), max: as_date(&self.ask.max) };
        if bounds == Bounds::default() && feeds_reminders(self.guide, &self.ask.save) {
            return Bounds { min: Some(self.today), max: None };
        }
        bounds
    }

    fn date(&self, text: &str) -> Result<(Var, String), Refusal> {
        let bounds = self.date_bounds();
        match parse_date_within(text, self.today, bounds) {
            Ok(d) => Ok((Var::Str(d.to_string()), format_date(d, self.lang))),
            Err(DateError::NotADate) => {
                let example = example_date(self.today, bounds);
                let short = typed_form(example, self.today, bounds, self.lang);
                Err(Refusal::Unreadable(fill(
                    self.t(Ui::BadDate),
                    &[("example", &example.to_string()), ("short", &short)],
                )))
            }
            Err(DateError::OutOfRange(d)) => Err(Refusal::Refused(self.date_range_message(d, bounds))),
        }
    }

    /// What the question accepts, said in the plainest words that fit: "today or a
    /// later date" when the bound is today.
    fn date_range_message(&self, typed: Date, bounds: Bounds) -> String {
        let example = typed_form(example_date(self.today, bounds), self.today, bounds, self.lang);
        let show = |d: Option<Date>| d.map(|d| format_date(d, self.lang)).unwrap_or_default();
        let (min, max) = (show(bounds.min), show(bounds.max));
        let key = match (bounds.min, bounds.max) {
            (Some(_), Some(_)) => Ui::DateBetween,
            (Some(m), None) if m == self.today => Ui::DatePast,
            (Some(_), None) => Ui::DateFrom,
            (None, Some(m)) if m == self.today => Ui::DateFuture,
            (None, Some(_)) => Ui::DateUntil,
            // Nothing is out of range without bounds; say what a date looks like.
            (None, None) => return fill(self.t(Ui::BadDate), &[("example", &typed.to_string()), ("short", &example)]),
        };
        fill(self.t(key), &[("min", &min), ("max", &max), ("example", &example)])
    }

    // ----- text -----------------------------------------------------------------

    fn text(&self, text: &str) -> Result<(Var, String), Refusal> {
        let len = text.chars().count();
        if len == 0 {
            return Err(Refusal::Unreadable(self.t(Ui::BadText).to_owned()));
        }
        let min_len = bound_text(&self.ask.min).and_then(|m| m.parse::<usize>().ok()).unwrap_or(1);
        let max_len = bound_text(&self.ask.max).and_then(|m| m.parse::<usize>().ok()).unwrap_or(TEXT_LIMIT);
        if len < min_len {
            return Err(Refusal::Refused(fill(self.t(Ui::TooShort), &[("limit", &min_len.to_string())])));
        }
        if len > max_len {
            return Err(Refusal::Refused(fill(self.t(Ui::TooLong), &[("limit", &max_len.to_string())])));
        }
        Ok((Var::Str(text.to_owned()), text.to_owned()))
    }
}

/// A `min:` or `max:` as written (`today`, `2026-12-15`, `0.01`, `36`).
fn bound_text(v: &Option<serde_yaml::Value>) -> Option<String> {
    v.as_ref().map(|v| match v {
        serde_yaml::Value::String(s) => s.trim().to_owned(),
        other => serde_yaml::to_string(other).unwrap_or_default().trim().to_owned(),
    })
}

fn clamp(d: Decimal, min: Decimal, max: Decimal) -> Decimal {
    d.max(min).min(max)
}

/// A whole amount near 3500 that the question accepts.
fn money_example(min: Decimal, max: Decimal) -> Decimal {
    let d = clamp(Decimal::from(3500), min.ceil(), max.floor());
    if d < min || d > max { min } else { d }
}

/// A number near 6 that the question accepts.
fn number_example(min: Decimal, max: Decimal, whole: bool) -> String {
    let (low, high) = if whole { (min.ceil(), max.floor()) } else { (min, max) };
    let d = clamp(Decimal::from(6), low, high);
    Var::number(if d < min || d > max { min } else { d }).display()
}

/// Whether a reminder is built from the variable `save` names: read by a `remind`
/// entry, or by a `compute` (or an `append`) whose result one reads, at any depth.
pub fn feeds_reminders(guide: &Guide, save: &str) -> bool {
    let root = save.split('.').next().unwrap_or(save);
    let t = &guide.templates;
    let builtin = |n: &String| BUILTIN_NAMES.contains(&n.as_str());
    let mut needed: HashSet<String> = HashSet::new();
    // (what is written, the expression that writes it)
    let mut writes: Vec<(String, String)> = Vec::new();
    for (id, node) in &guide.file.nodes {
        let p = format!("nodes.{id}");
        for i in 0..node.remind.len() {
            for part in ["on", "each", "when"] {
                needed.extend(t.undeclared(&format!("{p}.remind.{i}.{part}")).into_iter().filter(|n| !builtin(n)));
            }
        }
        for k in node.compute.keys() {
            writes.push((root_of(k), format!("{p}.compute.{k}")));
        }
        for (i, c) in node.choices.iter().flatten().enumerate() {
            for k in c.compute.keys() {
                writes.push((root_of(k), format!("{p}.choices.{i}.compute.{k}")));
            }
        }
    }
    let appends: Vec<(String, String)> = guide
        .file
        .nodes
        .values()
        .filter_map(|n| n.append.as_ref())
        .map(|a| (root_of(&a.to), root_of(&a.from)))
        .collect();
    loop {
        let before = needed.len();
        for (target, expr) in &writes {
            if needed.contains(target) {
                needed.extend(t.undeclared(expr).into_iter().filter(|n| !builtin(n) && n != target));
            }
        }
        for (to, from) in &appends {
            if needed.contains(to) {
                needed.insert(from.clone());
            }
        }
        if needed.contains(root) {
            return true;
        }
        if needed.len() == before {
            return false;
        }
    }
}

fn root_of(path: &str) -> String {
    path.split('.').next().unwrap_or(path).to_owned()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use jiff::civil::date;

    use super::*;
    use crate::domain::dates::add_days;
    use crate::domain::dialogue::load_library;

    const GUIDE: &str = r#"
guide: t
lang: LANG
title: T
start: a
CURRENCY
nodes:
  a:
    say: a
    ask: { save: debt, type: money, min: 1, max: 100000 }
    goto: b
  b:
    say: b
    ask: { save: due, type: date, max: today }
    goto: c
  c:
    say: c
    ask: { save: first, type: date, min: today }
    goto: d
  d:
    say: d
    ask: { save: agreed_first, type: date }
    goto: e
  e:
    say: e
    ask: { save: when, type: date }
    goto: f
  f:
    say: f
    ask: { save: window, type: date, min: 2027-01-01, max: 2027-01-31 }
    goto: g
  g:
    say: g
    ask: { save: months, type: number, whole: true, min: 1, max: 36 }
    goto: h
  h:
    say: h
    ask: { save: any, type: money }
    goto: plan
  plan:
    compute:
      plan: installments(debt, months, agreed_first)
    remind:
      - id: "due-{{ item.n }}"
        each: plan
        on: item.due
        say: Pay {{ item.amount | money }} {{ when }}
    say: done
    end: true
"#;

    fn guide(lang: &str, currency: &str) -> crate::domain::dialogue::Library {
        let text = GUIDE.replace("LANG", lang).replace("CURRENCY", currency);
        load_library(&[(PathBuf::from(format!("t.{lang}.yaml")), text)]).expect("test guide loads")
    }

    fn ask<'a>(lib: &'a crate::domain::dialogue::Library, node: &str, today: Date) -> Question<'a> {
        let g = &lib.guides()[0];
        let ask = g.node(node).and_then(|n| n.ask.as_ref()).expect("an ask");
        Question { ask, guide: g, lang: g.lang(), today }
    }

    fn unreadable(r: Result<(Var, String), Refusal>) -> String {
        match r {
            Err(Refusal::Unreadable(m)) => m,
            other => panic!("expected not understood, got {other:?}"),
        }
    }

    fn refused(r: Result<(Var, String), Refusal>) -> String {
        match r {
            Err(Refusal::Refused(m)) => m,
            other => panic!("expected refused, got {other:?}"),
        }
    }

    #[test]
    fn a_date_answer_that_a_reminder_uses_refuses_past_dates() {
        let lib = guide("en", "");
        let today = date(2026, 12, 1);
        // `agreed_first` and `debt` make the plan the reminders are made from; `when`
        // only appears in their text, which decides nothing about when they come.
        assert!(feeds_reminders(&lib.guides()[0], "agreed_first"));
        assert!(feeds_reminders(&lib.guides()[0], "debt"));
        assert!(!feeds_reminders(&lib.guides()[0], "when"));
        assert!(!feeds_reminders(&lib.guides()[0], "due"));
        let agreed = ask(&lib, "d", today);
        assert_eq!(agreed.date_bounds(), Bounds { min: Some(today), max: None });
        assert_eq!(agreed.parse("10 Feb").map(|(v, _)| v.display()), Ok("2027-02-10".to_owned()));
        assert_eq!(
            refused(agreed.parse("2026-11-30")),
            "That date has already passed. Please type today or a later date, for example 1 Jan."
        );
        let free = ask(&lib, "e", today);
        assert_eq!(free.date_bounds(), Bounds::default());
        assert_eq!(free.parse("2026-11-30").map(|(v, _)| v.display()), Ok("2026-11-30".to_owned()));
    }

    #[test]
    fn not_a_date_and_out_of_range_are_told_apart_with_examples_of_today() {
        let lib = guide("en", "");
        let today = date(2026, 12, 1);
        let past = ask(&lib, "b", today);
        assert_eq!(unreadable(past.parse("soon")), "Please type a date, for example 2026-11-24 or 24 Nov.");
        assert_eq!(unreadable(past.parse("2月30日")), "Please type a date, for example 2026-11-24 or 24 Nov.");
        assert_eq!(
            refused(past.parse("tomorrow")),
            "That date is still to come. Please type today or an earlier date, for example 24 Nov."
        );
        let future = ask(&lib, "c", today);
        assert_eq!(unreadable(future.parse("soon")), "Please type a date, for example 2027-01-01 or 1 Jan.");
        let window = ask(&lib, "f", today);
        assert_eq!(
            refused(window.parse("2027-02-01")),
            "Please type a date from 1 Jan 2027 to 31 Jan 2027, for example 1 Jan."
        );
        let zh = guide("zh", "");
        let zh_past = ask(&zh, "b", date(2027, 1, 1));
        assert_eq!(unreadable(zh_past.parse("不知道")), "请输入日期，例如 2026-12-25 或 12月25日。");
        assert_eq!(refused(zh_past.parse("明天")), "这个日期还没到。请输入今天或之前的日期，例如 12月25日。");
        let zh_future = ask(&zh, "c", date(2026, 12, 31));
        assert_eq!(refused(zh_future.parse("昨天")), "这个日期已经过去了。请输入今天或以后的日期，例如 1月31日。");
    }

    #[test]
    fn every_example_in_a_message_is_accepted_by_its_question() {
        for lang in ["en", "zh"] {
            let lib = guide(lang, "");
            for today in [date(2026, 12, 31), date(2027, 1, 1), date(2028, 2, 28), date(2028, 2, 29), date(2026, 6, 15)]
            {
                for node in ["b", "c", "d", "e", "f"] {
                    let q = ask(&lib, node, today);
                    let bounds = q.date_bounds();
                    let example = example_date(today, bounds);
                    for typed in [example.to_string(), typed_form(example, today, bounds, lang)] {
                        assert!(q.parse(&typed).is_ok(), "{typed} for {node} on {today} in {lang}");
                    }
                }
            }
        }
    }

    #[test]
    fn money_examples_and_limits() {
        let lib = guide("en", "");
        let today = date(2026, 12, 1);
        let debt = ask(&lib, "a", today);
        assert_eq!(unreadable(debt.parse("lots")), "Please type an amount, for example 3500 or ¥3,500.50.");
        assert_eq!(refused(debt.parse("0")), "That is less than the smallest accepted value: ¥1.00.");
        assert_eq!(refused(debt.parse("200000")), "That is more than the largest accepted value: ¥100,000.00.");
        let any = ask(&lib, "h", today);
        assert_eq!(
            refused(any.parse("79228162514264337593543950335")),
            "That is more than the largest accepted value: ¥1,000,000,000,000.00."
        );
        assert_eq!(any.parse("1000000000000").map(|(_, s)| s), Ok("¥1,000,000,000,000.00".to_owned()));
        let months = ask(&lib, "g", today);
        assert_eq!(unreadable(months.parse("2.5")), "Please type a whole number, for example 6.");
        assert_eq!(refused(months.parse("40")), "That is more than the largest accepted value: 36.");
    }

    #[test]
    fn money_in_the_guide_currency() {
        let lib = guide("en", "currency: { code: GBP, symbol: \"£\" }");
        let today = date(2026, 12, 1);
        let debt = ask(&lib, "a", today);
        assert_eq!(debt.parse("£12.99").map(|(v, s)| (v.display(), s)), Ok(("12.99".to_owned(), "£12.99".to_owned())));
        assert_eq!(
            refused(debt.parse("¥3500")),
            "Amounts here are in GBP (£), so ¥ cannot be used. Please type the amount in GBP, for example £3,500.00."
        );
        assert_eq!(unreadable(debt.parse("lots")), "Please type an amount, for example 3500 or £3,500.50.");
        assert_eq!(debt.show(&Var::Int(5)), "£5.00");
        let zh = guide("zh", "currency: { code: GBP }");
        let zh_debt = ask(&zh, "a", today);
        assert_eq!(
            refused(zh_debt.parse("3500元")),
            "这里的金额以 GBP（£）计，不能用 元。请按 GBP 输入金额，例如 £3,500.00。"
        );
    }

    #[test]
    fn a_kept_date_must_still_fit() {
        let lib = guide("en", "");
        let today = date(2026, 12, 1);
        let agreed = ask(&lib, "d", today);
        assert!(agreed.keeps(&Var::Str("2026-12-01".into())));
        assert!(!agreed.keeps(&Var::Str(add_days(today, -7).to_string())));
        assert!(ask(&lib, "e", today).keeps(&Var::Str(add_days(today, -7).to_string())));
    }

    const LEFT: &str = r#"
guide: m
lang: en
title: M
start: income
nodes:
  income:
    say: Income?
    ask: { save: income, type: money }
    goto: expenses
  expenses:
    say: Expenses?
    ask: { save: expenses, type: money }
    goto: left
  left:
    compute:
      left: income - expenses
      yearly: left * 12
      wild: income * 1e300 * 1e300
    say: "Left {{ left | money }}, a year {{ yearly | money }}."
    end: true
"#;

    fn talk(answers: &[&str]) -> crate::domain::engine::Output {
        use crate::domain::engine::{Ctx, Event, UserState, step};
        let lib = load_library(&[(PathBuf::from("m.en.yaml"), LEFT.to_owned())]).expect("loads");
        let today = date(2026, 12, 1);
        let ctx = Ctx { today, now: today.at(9, 0, 0, 0), first_name: None, lang_hint: None };
        let (mut st, mut out) = step(&lib, &UserState::default(), &Event::Start, &ctx);
        for a in answers {
            (st, out) = step(&lib, &st, &Event::Text((*a).to_owned()), &ctx);
        }
        out
    }

    #[test]
    fn the_largest_amounts_still_give_every_figure() {
        let out = talk(&["1,000,000,000,000", "0"]);
        let texts = out.texts();
        assert!(texts.iter().all(|t| !t.trim().is_empty()), "{texts:?}");
        assert!(texts.contains(&"Left ¥1,000,000,000,000.00, a year ¥12,000,000,000,000.00."), "{texts:?}");
        // The only figure past what money can be is the one made to be.
        assert_eq!(out.problems, ["`nodes.left.compute.wild` gave a number too large to keep"]);
        assert!(texts.contains(&ui("en", Ui::TooLargeToWorkOut)), "{texts:?}");
    }

    #[test]
    fn an_answer_past_the_limit_is_refused_not_blanked() {
        let out = talk(&["79228162514264337593543950335"]);
        assert_eq!(out.texts(), ["That is more than the largest accepted value: ¥1,000,000,000,000.00.", "Income?"]);
        assert!(out.problems.is_empty());
    }
}
