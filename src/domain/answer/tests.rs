//! Each answer type against a small guide: examples that their own questions accept,
//! bounds, currencies, and the largest amounts.

use std::path::PathBuf;

use jiff::civil::date;

use super::*;
use crate::domain::dates::{add_days, example_date, typed_form};
use crate::domain::dialogue::{feeds_reminders, load_library};
use crate::domain::engine::texts::{Ui, ui};

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
        for today in [date(2026, 12, 31), date(2027, 1, 1), date(2028, 2, 28), date(2028, 2, 29), date(2026, 6, 15)] {
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
