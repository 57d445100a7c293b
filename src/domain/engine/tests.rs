//! Engine behaviour, driven through `step` with a small guide that has every node kind.

use std::path::PathBuf;

use super::*;
use crate::domain::dialogue::{Library, load_library};
use crate::domain::value::Var;

const GUIDE: &str = r#"
guide: t
lang: en
title: Test guide
start: welcome
stages:
  - { id: one, title: One }
  - { id: two, title: Two }
nodes:
  welcome:
    say: Hello {{ user.first_name }}
    choices:
      - label: Begin
        set: { began: true }
        goto: debt_q
      - label: Hidden
        when: began
        goto: bye
  debt_q:
    stage: one
    label: Debt
    say: How much?
    ask: { save: debt, type: money, min: 1, max: 100000 }
    goto: due_q
  due_q:
    stage: one
    label: Due date
    say: When was it due?
    ask: { save: due, type: date }
    goto: months_q
  months_q:
    stage: two
    label: Months
    say: Months?
    ask: { save: months, type: number, whole: true, min: 1, max: 36, invalid: Type months from 1 to 36 }
    goto: route
  route:
    branch:
      - when: debt > 10000
        goto: big
      - goto: docs
  big:
    stage: two
    say: That is a big one.
    goto: docs
  docs:
    stage: two
    label: Documents
    say: Tick what you have
    checklist:
      save: have
      items:
        - { id: payslip, label: Payslip }
        - { id: cert, label: Certificate, when: debt > 10000 }
      done: All done
    goto: plan
  plan:
    stage: two
    compute:
      plan: installments(debt, months, today)
      first: plan[0].amount
    say: "First: {{ first | money }}, due {{ plan[0].due }}"
    goto: bye
  bye:
    stage: two
    say: Bye
    end: true
"#;

fn lib_of(text: &str) -> Library {
    load_library(&[(PathBuf::from("t.en.yaml"), text.to_owned())]).expect("test guide loads")
}

fn ctx() -> Ctx {
    let today = jiff::civil::date(2026, 11, 28);
    Ctx { today, now: today.at(9, 30, 0, 0), first_name: Some("Li".into()), lang_hint: None }
}

/// A user talking to the engine, keeping the last keyboard like a front end.
struct User {
    lib: Library,
    st: UserState,
    last: Output,
}

impl User {
    fn new() -> User {
        User::with(GUIDE)
    }

    fn with(text: &str) -> User {
        let mut u = User { lib: lib_of(text), st: UserState::default(), last: Output::default() };
        u.ev(Event::Start);
        u
    }

    fn ev(&mut self, e: Event) -> &Output {
        let (st, out) = step(&self.lib, &self.st, &e, &ctx());
        assert!(out.problems.is_empty(), "{:?}", out.problems);
        self.st = st;
        self.last = out;
        &self.last
    }

    fn send(&mut self, t: &str) -> &Output {
        self.ev(Event::Text(t.into()))
    }

    fn buttons(&self) -> Vec<Button> {
        self.last.last_keyboard().map(|m| m.buttons.iter().flatten().cloned().collect()).unwrap_or_default()
    }

    fn press(&mut self, label: &str) -> &Output {
        let b = self
            .buttons()
            .into_iter()
            .find(|b| b.label.contains(label))
            .unwrap_or_else(|| panic!("no button {label:?} in {:?}", self.buttons()));
        self.ev(Event::Press(b.press))
    }

    fn text(&self) -> String {
        self.last.texts().join("\n")
    }

    fn node(&self) -> &str {
        self.st.node.as_deref().unwrap_or("")
    }

    fn var(&self, k: &str) -> String {
        self.st.vars.get(k).map(Var::display).unwrap_or_default()
    }

    /// Walks to the checklist with a debt of `debt`.
    fn walk_to_docs(&mut self, debt: &str) {
        self.press("Begin");
        self.send(debt);
        self.send("2026-10-01");
        self.send("3");
        assert_eq!(self.node(), "docs");
    }
}

#[test]
fn start_greets_by_name_and_hides_choices_whose_condition_fails() {
    let u = User::new();
    assert_eq!(u.last.messages[0].text, "Hello Li");
    let labels: Vec<String> = u.buttons().into_iter().map(|b| b.label).collect();
    assert_eq!(labels, ["Begin"]);
    assert_eq!(u.node(), "welcome");
}

#[test]
fn a_choice_applies_set_edits_the_question_and_moves_on() {
    let mut u = User::new();
    u.press("Begin");
    assert_eq!(u.last.edit, Some(Edit::Answered("Hello Li\n\n→ Begin".into())));
    assert_eq!(u.var("began"), "true");
    assert_eq!(u.node(), "debt_q");
    assert_eq!(u.last.messages[0].text, "How much?");
    assert!(u.last.messages[0].typed);
}

#[test]
fn money_answers_in_every_accepted_form() {
    for (typed, stored) in
        [("3500", "3500"), ("3,500.50", "3500.5"), ("¥3500", "3500"), ("3500元", "3500"), ("3.5万", "35000")]
    {
        let mut u = User::new();
        u.press("Begin");
        u.send(typed);
        assert_eq!(u.node(), "due_q", "{typed}");
        assert_eq!(u.var("debt"), stored, "{typed}");
    }
}

#[test]
fn bad_or_out_of_range_money_re_asks_and_saves_nothing() {
    let mut u = User::new();
    u.press("Begin");
    let seq = u.st.seq;
    for (typed, says) in [
        ("lots", "Please type an amount, for example 3500 or ¥3,500.50."),
        ("-5", "Please type an amount, for example 3500 or ¥3,500.50."),
        ("0", "That is less than the smallest accepted value: ¥1.00."),
        ("200000", "That is more than the largest accepted value: ¥100,000.00."),
        ("3.555", "Please type an amount, for example 3500 or ¥3,500.50."),
    ] {
        u.send(typed);
        assert_eq!(u.last.messages[0].text, says, "{typed}");
        assert_eq!(u.last.messages[1].text, "How much?", "{typed}: the same question again");
        assert_eq!(u.node(), "debt_q");
        assert!(!u.st.vars.contains_key("debt"));
        assert_eq!(u.st.seq, seq, "re-asking does not make the buttons stale");
    }
}

#[test]
fn dates_in_every_accepted_form() {
    for (typed, stored) in [
        ("2026-12-15", "2026-12-15"),
        ("12-15", "2026-12-15"),
        ("12月15日", "2026-12-15"),
        ("2026/12/15", "2026-12-15"),
    ] {
        let mut u = User::new();
        u.press("Begin");
        u.send("100");
        u.send(typed);
        assert_eq!(u.var("due"), stored, "{typed}");
    }
    let mut u = User::new();
    u.press("Begin");
    u.send("100");
    u.send("02-30");
    // The example is a month from today (28 Nov 2026), written both ways.
    assert_eq!(u.last.messages[0].text, "Please type a date, for example 2026-12-28 or 28 Dec.");
    assert_eq!(u.node(), "due_q");
}

#[test]
fn numbers_use_the_node_invalid_text() {
    let mut u = User::new();
    u.press("Begin");
    u.send("100");
    u.send("2026-10-01");
    for bad in ["2.5", "six"] {
        u.send(bad);
        assert_eq!(u.last.messages[0].text, "Type months from 1 to 36", "{bad}");
        assert_eq!(u.node(), "months_q");
    }
    // Out of range is no misreading: the built-in message names the limit.
    for (bad, says) in [
        ("0", "That is less than the smallest accepted value: 1."),
        ("40", "That is more than the largest accepted value: 36."),
    ] {
        u.send(bad);
        assert_eq!(u.last.messages[0].text, says, "{bad}");
        assert_eq!(u.node(), "months_q");
    }
    u.send("6个月");
    assert_eq!(u.var("months"), "6");
}

#[test]
fn branch_routes_on_the_answer() {
    let mut u = User::new();
    u.walk_to_docs("20000");
    assert!(u.text().contains("That is a big one."));
    let labels: Vec<String> = u.buttons().into_iter().map(|b| b.label).collect();
    assert_eq!(labels, ["⬜ Payslip", "⬜ Certificate", "All done"]);
    let mut small = User::new();
    small.walk_to_docs("500");
    assert!(!small.text().contains("big one"));
    assert_eq!(small.buttons().len(), 2, "the certificate is hidden for small debts");
}

#[test]
fn checklist_toggles_in_place_and_saves_ticks() {
    let mut u = User::new();
    u.walk_to_docs("20000");
    let seq = u.st.seq;
    u.press("Certificate");
    match &u.last.edit {
        Some(Edit::Replace(m)) => assert_eq!(m.buttons[1][0].label, "✅ Certificate"),
        other => panic!("expected the keyboard to be replaced, got {other:?}"),
    }
    assert!(u.last.messages.is_empty(), "a toggle sends no new message");
    assert_eq!(u.st.seq, seq);
    assert_eq!(u.var("have"), "cert");
    u.press("Payslip");
    u.press("Certificate");
    assert_eq!(u.var("have"), "payslip");
    u.press("All done");
    assert_eq!(u.st.answers["docs"], "Payslip");
    assert_eq!(u.node(), "bye");
    // 20000 over 3 months from 2026-11-28: 6666.66, 6666.66, 6666.68.
    assert!(u.text().contains("First: ¥6,666.66, due 2026-11-28"), "{}", u.text());
}

#[test]
fn back_restores_the_answers_as_they_were() {
    let mut u = User::new();
    u.press("Begin");
    u.send("3500");
    assert_eq!(u.node(), "due_q");
    u.send("/back");
    assert_eq!(u.node(), "debt_q");
    assert!(!u.st.vars.contains_key("debt"), "the answer given at debt_q is undone");
    assert!(u.text().contains("Back to the previous question."));
    // The old value is not there to keep; a new one goes through.
    u.send("4000");
    u.send("2026-10-01");
    u.send("/back");
    assert_eq!(u.node(), "due_q");
    assert_eq!(u.var("debt"), "4000");
    assert!(!u.st.vars.contains_key("due"));
    u.send("/back");
    u.send("/back");
    assert_eq!(u.node(), "welcome");
    u.send("/back");
    assert!(u.text().contains("There is no earlier question"));
}

#[test]
fn restart_asks_first_and_keeps_notes() {
    let mut u = User::new();
    u.press("Begin");
    u.send("/note call back on Monday");
    u.send("3500");
    u.send("/restart");
    assert_eq!(u.st.pending, Some(Pending::ConfirmRestart));
    u.press("No");
    assert_eq!(u.node(), "due_q");
    assert_eq!(u.var("debt"), "3500");
    u.send("/restart");
    u.send("yes");
    assert_eq!(u.node(), "welcome");
    assert!(!u.st.vars.contains_key("debt"));
    assert_eq!(u.st.notes.len(), 1);
    assert_eq!(u.st.notes[0].text, "call back on Monday");
}

#[test]
fn note_alone_takes_the_next_text() {
    let mut u = User::new();
    u.press("Begin");
    u.send("/note");
    assert!(u.text().contains("Type your note"));
    u.send("agent was Wang");
    assert!(u.text().contains("Note saved."));
    assert_eq!(u.node(), "debt_q", "the note did not answer the question");
    assert!(!u.st.vars.contains_key("debt"));
    let n = &u.st.notes[0];
    assert_eq!(
        (n.text.as_str(), n.at.as_str(), n.stage.as_deref()),
        ("agent was Wang", "2026-11-28 09:30", Some("one"))
    );
    u.send("/notes");
    assert!(u.text().contains("agent was Wang"));
}

#[test]
fn stale_and_foreign_presses_change_nothing() {
    let mut u = User::new();
    let begin = u.buttons()[0].press;
    // Another button of the same (soon earlier) step.
    let later = Press { action: Action::Choice(1), ..begin };
    u.press("Begin");
    let before = u.st.clone();
    // The press just applied, again (a double tap, a resend): nothing to show, nothing changes.
    u.ev(Event::Press(begin));
    assert!(u.last.messages.is_empty() && u.last.edit.is_none(), "{:?}", u.last);
    assert_eq!(u.st, before);
    // Another button of that earlier step: one notice with the current question...
    u.ev(Event::Press(later));
    assert!(u.text().starts_with("That button belongs to an earlier step."));
    assert_eq!(u.node(), "debt_q");
    let noticed = u.st.clone();
    // ...and only one per step, however many old buttons follow.
    u.ev(Event::Press(later));
    assert!(u.last.messages.is_empty(), "{:?}", u.last);
    assert_eq!(u.st, noticed);
    let before = noticed;
    // Right seq, wrong node.
    let forged = Press { seq: u.st.seq, node: node_hash("nope"), action: Action::Choice(0) };
    u.ev(Event::Press(forged));
    assert_eq!(u.st, before);
    assert_eq!(u.node(), "debt_q");
}

#[test]
fn a_vanished_node_moves_the_user_to_the_start_of_their_stage() {
    let mut u = User::new();
    u.press("Begin");
    u.send("3500");
    assert_eq!(u.node(), "due_q");
    // The author removes due_q (and links around it).
    let edited = GUIDE
        .replace("    goto: due_q\n", "    goto: months_q\n")
        .replace("  due_q:\n    stage: one\n    label: Due date\n    say: When was it due?\n    ask: { save: due, type: date }\n    goto: months_q\n", "");
    u.lib = lib_of(&edited);
    u.send("2026-10-01");
    assert!(u.text().starts_with("This guide has been updated"), "{}", u.text());
    assert_eq!(u.node(), "debt_q", "first node of stage `one`");
    assert_eq!(u.var("debt"), "3500", "answers kept");
    assert!(!u.st.vars.contains_key("due"), "the text was not applied to another question");
}

#[test]
fn review_changes_one_answer_and_recomputes_what_follows() {
    let mut u = User::new();
    u.walk_to_docs("3000");
    u.press("All done");
    assert!(u.text().contains("First: ¥1,000.00"));
    u.send("/review");
    assert!(u.text().contains("Debt: ¥3,000.00"), "{}", u.text());
    u.press("Change · Debt");
    assert_eq!(u.node(), "debt_q");
    let keep: Vec<String> = u.buttons().into_iter().map(|b| b.label).collect();
    assert_eq!(keep, ["Keep: ¥3,000.00"]);
    u.send("6000");
    u.press("Keep");
    u.press("Keep");
    u.press("All done");
    assert!(u.text().contains("First: ¥2,000.00"), "{}", u.text());
}

#[test]
fn delete_asks_then_erases() {
    let mut u = User::new();
    u.press("Begin");
    u.send("/delete");
    u.send("no");
    assert!(!u.last.erase);
    assert_eq!(u.node(), "debt_q");
    u.send("/delete");
    u.press("Yes");
    assert!(u.last.erase);
    assert_eq!(u.st, UserState::default());
}

#[test]
fn export_lists_answers_by_stage_checklists_and_notes() {
    let mut u = User::new();
    u.walk_to_docs("20000");
    u.press("Payslip");
    u.press("All done");
    u.send("/note asked for *written* confirmation");
    u.send("/export");
    let doc = u.last.document.clone().expect("a document");
    assert_eq!(doc.filename, "t-2026-11-28.md");
    for want in [
        "# Test guide",
        "## One",
        "- **Debt**: ¥20,000.00",
        "## Two",
        "- **Months**: 3",
        "- [x] Payslip",
        "- [ ] Certificate",
        "## Your notes",
        "asked for \\*written\\* confirmation",
    ] {
        assert!(doc.content.contains(want), "{want:?} missing from:\n{}", doc.content);
    }
}

#[test]
fn progress_shows_stage_i_of_n() {
    let mut u = User::new();
    u.press("Begin");
    u.send("100");
    u.send("2026-10-01");
    u.send("/progress");
    let t = u.text();
    assert!(t.contains("Stage 2 of 2"), "{t}");
    assert!(t.contains("✅ One (2)"), "{t}");
    assert!(t.contains("▶️ Two"), "{t}");
}

#[test]
fn typed_labels_choose_and_other_text_gets_a_hint() {
    let mut u = User::new();
    u.send("whatever");
    assert!(u.text().starts_with("Please pick one of the options below."));
    assert_eq!(u.node(), "welcome");
    u.send("begin");
    assert_eq!(u.node(), "debt_q");
}

#[test]
fn an_end_with_choices_shows_them_first_and_keeps_its_own_buttons() {
    let text = GUIDE.replace(
        "    say: Bye\n    end: true\n",
        "    say: Bye\n    end: true\n    choices:\n      - label: Back to the start\n        goto: welcome\n",
    );
    let mut u = User::with(&text);
    u.walk_to_docs("500");
    u.press("All done");
    assert_eq!(u.node(), "bye");
    assert!(u.st.finished);
    let labels: Vec<String> = u.buttons().into_iter().map(|b| b.label).collect();
    assert_eq!(labels, ["Back to the start", "Case file", "Notes", "Start over"]);
    u.send("/start");
    let labels: Vec<String> = u.buttons().into_iter().map(|b| b.label).collect();
    assert_eq!(labels[0], "Back to the start", "{labels:?}");
    u.send("case file");
    assert!(u.last.document.is_some(), "typing an end button's label works beside the choices");
    assert_eq!(u.node(), "bye");
    u.send("/start");
    u.press("Back to the start");
    assert_eq!(u.node(), "welcome");
    assert!(!u.st.finished);
}

#[test]
fn user_text_is_escaped_in_templates() {
    let text = "guide: t\nlang: en\ntitle: T\nstart: a\nnodes:\n  a:\n    say: Name?\n    ask: { save: name, type: text }\n    goto: b\n  b:\n    say: '**Bye** {{ name }}'\n    end: true\n";
    let mut u = User::with(text);
    u.send("**Li**");
    assert_eq!(u.last.messages[0].text, "**Bye** \\*\\*Li\\*\\*");
    assert_eq!(crate::domain::markup::to_plain(&u.last.messages[0].text), "Bye **Li**");
}

const REMIND: &str = r#"
guide: t
lang: en
title: R
start: months
reminders: { days_before: 2 }
nodes:
  months:
    say: Months?
    ask: { save: months, type: number, whole: true }
    goto: agreed
  agreed:
    compute:
      plan: installments(300, months, "2026-12-10")
    remind:
      - id: "due-{{ item.n }}"
        each: plan
        on: item.due
        say: "Pay {{ item.amount | money }} on {{ item.due }}"
    say: Agreed.
    choices:
      - label: Change
        goto: months
      - label: Paid
        goto: paid
  paid:
    set: { paid: ["1"] }
    remind:
      - id: "due-{{ item.n }}"
        each: plan
        on: item.due
        when: (item.n | string) not in paid
        say: "Pay {{ item.amount | money }} on {{ item.due }}"
    say: Noted.
    end: true
"#;

#[test]
fn reminders_are_scheduled_replaced_and_cancelled() {
    let mut u = User::with(REMIND);
    u.send("3");
    let ids: Vec<&String> = u.st.reminders.keys().collect();
    assert_eq!(ids, ["due-1", "due-2", "due-3"]);
    let r = &u.st.reminders["due-2"];
    assert_eq!(
        (r.send_on.as_str(), r.about.as_str(), r.text.as_str()),
        ("2027-01-08", "2027-01-10", "Pay ¥100.00 on 2027-01-10")
    );
    // A shorter agreement replaces the earlier schedule.
    u.press("Change");
    u.send("2");
    let ids: Vec<&String> = u.st.reminders.keys().collect();
    assert_eq!(ids, ["due-1", "due-2"]);
    assert_eq!(u.st.reminders["due-1"].text, "Pay ¥150.00 on 2026-12-10");
    // Marking the first paid cancels its reminder only.
    u.press("Paid");
    let ids: Vec<&String> = u.st.reminders.keys().collect();
    assert_eq!(ids, ["due-2"]);
    // Two days before, as the file's default says; the app sends it on that day.
    assert_eq!(u.st.reminders["due-2"].send_on, "2027-01-08");
}

#[test]
fn review_lists_only_questions_that_record_something() {
    let mut u = User::new();
    u.walk_to_docs("500");
    u.send("/review");
    let labels: Vec<String> = u.buttons().into_iter().map(|b| b.label).collect();
    // `welcome`'s "Begin" sets a variable, so it counts; debt, due date and months too.
    assert_eq!(labels, ["Change · Hello Li", "Change · Debt", "Change · Due date", "Change · Months"]);
}

#[test]
fn a_note_before_any_guide_is_kept() {
    let lib = lib_of(GUIDE);
    let (st, out) = step(&lib, &UserState::default(), &Event::Text("/note bill arrived on the 3rd".into()), &ctx());
    assert_eq!(st.notes.len(), 1);
    assert_eq!(st.notes[0].text, "bill arrived on the 3rd");
    assert_eq!(st.node.as_deref(), Some("welcome"), "and the guide begins");
    assert!(out.texts().contains(&"Note saved."));
}

#[test]
fn old_buttons_after_an_erase_store_nothing() {
    let mut u = User::new();
    let old = u.buttons()[0].press;
    u.send("/delete");
    u.press("Yes");
    assert_eq!(u.st, UserState::default());
    u.ev(Event::Press(old));
    assert_eq!(u.st, UserState::default(), "nothing is re-created");
    assert_eq!(u.text(), "You have not started a guide yet. Send /start.");
}

#[test]
fn a_guide_missing_from_the_library_keeps_everything() {
    let mut u = User::new();
    u.press("Begin");
    u.send("3500");
    let before = u.st.clone();
    // The folder is being replaced: another guide only, for a moment.
    u.lib = renamed();
    u.send("2026-10-01");
    assert_eq!(
        u.text(),
        "This guide is being updated and is not available right now. Everything you entered is kept; please try again in a little while."
    );
    assert_eq!(u.st, before);
    u.send("/note still here");
    assert_eq!(u.st.notes.len(), 1, "notes work without the guide");
    u.lib = lib_of(GUIDE);
    u.send("2026-10-01");
    assert_eq!(u.node(), "months_q", "back where they were once it returns");
}

#[test]
fn keeping_everything_while_the_guide_is_missing_starts_no_other_guide() {
    let mut u = User::new();
    u.press("Begin");
    u.send("3500");
    u.lib = renamed();
    u.send("/delete");
    u.press("No");
    assert_eq!(u.st.guide.as_deref(), Some("t"), "still in the missing guide");
    assert_eq!(u.var("debt"), "3500", "nothing was cleared");
    assert!(u.text().starts_with("Nothing was erased."), "{}", u.text());
    assert!(u.text().contains("This guide is being updated"), "{}", u.text());
}

/// The same guide under another id, as if its file had been renamed.
fn renamed() -> Library {
    let text = GUIDE.replace("guide: t\n", "guide: other\n");
    load_library(&[(PathBuf::from("other.en.yaml"), text)]).expect("loads")
}

const TWO: &str = "guide: b\nlang: en\ntitle: Bee\nstart: x\nnodes:\n  x:\n    say: In b\n    ask: { save: n, type: number }\n    goto: y\n  y:\n    say: Done b\n    end: true\n";

fn two_guides() -> Library {
    load_library(&[(PathBuf::from("t.en.yaml"), GUIDE.to_owned()), (PathBuf::from("b.en.yaml"), TWO.to_owned())])
        .expect("loads")
}

#[test]
fn choosing_the_current_guide_resumes_and_another_asks_first() {
    let mut u = User { lib: two_guides(), st: UserState::default(), last: Output::default() };
    u.ev(Event::Start);
    u.press("Test guide");
    u.press("Begin");
    u.send("3500");
    u.send("/guides");
    u.press("Test guide");
    assert_eq!(u.node(), "due_q", "resumed, nothing cleared");
    assert_eq!(u.var("debt"), "3500");
    u.send("/guides");
    u.press("Bee");
    assert!(u.text().contains("Switch to that guide?"), "{}", u.text());
    u.press("No");
    assert_eq!(u.var("debt"), "3500");
    u.send("/guides");
    u.press("Bee");
    u.press("Yes");
    assert_eq!(u.node(), "x");
}

#[test]
fn a_yes_kept_from_another_question_confirms_nothing() {
    let mut u = User::new();
    u.press("Begin");
    u.send("3500");
    u.send("/restart");
    let old_yes = u.buttons().into_iter().find(|b| b.label == "Yes").expect("yes").press;
    u.press("No");
    u.send("/delete");
    // Forge the old restart "Yes" onto the delete question's step.
    let forged = Press { seq: u.st.seq, ..old_yes };
    u.ev(Event::Press(forged));
    assert!(!u.last.erase, "a restart's Yes does not erase");
    assert!(u.text().starts_with("That button belongs to an earlier step."));
}

#[test]
fn back_takes_back_reminders_scheduled_after_that_question() {
    let mut u = User::with(REMIND);
    u.send("3");
    assert_eq!(u.st.reminders.len(), 3);
    u.send("/back");
    assert_eq!(u.node(), "months");
    assert!(u.st.reminders.is_empty(), "{:?}", u.st.reminders.keys().collect::<Vec<_>>());
}

#[test]
fn a_reminder_offers_the_menu_and_its_button_works_days_later() {
    let text = "guide: t\nlang: en\ntitle: T\nstart: menu\nreminders: { menu: menu }\nnodes:\n  menu:\n    say: What now?\n    choices:\n      - { label: Log a call, goto: amount }\n      - { label: Finish, goto: bye }\n  bye:\n    say: Bye\n    end: true\n  amount:\n    say: How much?\n    ask: { save: debt, type: money }\n    goto: menu\n";
    let mut u = User::with(text);
    u.press("Log a call");
    assert_eq!(u.node(), "amount");
    let message = crate::domain::engine::reminder_message(&u.lib, &u.st, "Pay tomorrow");
    assert_eq!(message.text, "⏰ Pay tomorrow");
    let button = message.buttons[0][0].clone();
    assert_eq!(button.label, "Back to the menu");
    // Days later, after other steps: the button still leads to the menu.
    u.send("300");
    u.press("Log a call");
    u.ev(Event::Press(button.press));
    assert_eq!(u.node(), "menu");
    assert!(u.text().contains("What now?"), "{}", u.text());
    // A menu press naming another node is an old button like any other.
    let forged = Press { node: node_hash("amount"), ..button.press };
    u.press("Log a call");
    u.ev(Event::Press(forged));
    assert!(u.text().starts_with("That button belongs to an earlier step."), "{}", u.text());
    // Without `reminders.menu`, a reminder is text alone.
    let plain = User::new();
    assert!(crate::domain::engine::reminder_message(&plain.lib, &plain.st, "x").buttons.is_empty());
}
