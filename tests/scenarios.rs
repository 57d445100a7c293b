//! Scenario files: every `tests/scenarios/*.yaml` against the shipped
//! dialogues, the fixtures against theirs, and how a failure is reported.

mod util;

use std::path::{Path, PathBuf};

use guidebot::cli::read_yaml;
use guidebot::domain::dialogue::load_library;
use guidebot::domain::scenario::{DEFAULT_DAYS, run, run_all, run_on};
use util::{Test, stdout};

fn root(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

#[test]
fn shipped_scenarios_pass() {
    let lib = load_library(&read_yaml(&[root("dialogues")]).expect("dialogues")).expect("shipped dialogues pass check");
    let files = read_yaml(&[root("tests/scenarios")]).expect("scenarios");
    assert!(!files.is_empty(), "tests/scenarios has scenario files");
    let summary = run_all(&lib, &files);
    let failures: Vec<String> = summary.failures.iter().map(|f| f.to_string()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert_eq!(summary.passed, files.len());
}

#[test]
fn fixture_scenarios_pass() {
    let lib = load_library(&read_yaml(&[util::fixture("dialogues")]).expect("fixtures")).expect("fixtures load");
    let files = read_yaml(&[util::fixture("scenarios")]).expect("scenarios");
    let summary = run_all(&lib, &files);
    let failures: Vec<String> = summary.failures.iter().map(|f| f.to_string()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_failure_names_the_file_the_step_line_and_what_came() {
    let lib = load_library(&read_yaml(&[util::fixture("dialogues")]).expect("fixtures")).expect("fixtures load");
    let text = "steps:\n  - send: /start\n  - press: Let's go\n  - send: \"500\"\n    vars: { goal: 600 }\n";
    let f = run(&lib, Path::new("s.yaml"), text).unwrap_err();
    assert_eq!(f.line, 4);
    // A scenario that pins no day runs on several: the failure says on which.
    assert_eq!(f.to_string(), "s.yaml:4: [2026-06-15] expected `goal` to be \"600\", but it is \"500\"");
    let text = "steps:\n  - send: /start\n    expect: Goodbye\n";
    let f = run(&lib, Path::new("s.yaml"), text).unwrap_err();
    assert_eq!(f.line, 2);
    assert!(
        f.message.starts_with("expected to see \"Goodbye\", but the replies were:\n    Hi ! Let's make a plan."),
        "{}",
        f.message
    );
    let text = "steps:\n  - send: /start\n  - press: Nope\n";
    let f = run(&lib, Path::new("s.yaml"), text).unwrap_err();
    assert_eq!(
        f.to_string(),
        "s.yaml:3: [2026-06-15] no single button labelled \"Nope\"; the buttons were: \"Let's go\""
    );
}

#[test]
fn the_test_subcommand_reports_and_exits_non_zero_on_failure() {
    let t = Test::new();
    t.write("tests/scenarios/ok.yaml", "steps:\n  - send: /start\n    expect: make a plan\n");
    t.write("tests/scenarios/bad.yaml", "steps:\n  - send: /start\n    node: months\n");
    let o = t.run(&["test"], "");
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("ok   tests/scenarios/ok.yaml (1 steps on 5 days)"), "{out}");
    assert!(
        out.contains(
            "FAIL tests/scenarios/bad.yaml:2: [2026-06-15] expected to be at node `months`, but the user is at `welcome`"
        ),
        "{out}"
    );
    assert!(out.ends_with("1 passed, 1 failed\n"), "{out}");
}

/// A start date answered relative to the day the scenario runs on.
const RELATIVE: &str = r#"steps:
  - send: /start
  - press: Let's go
  - send: "1000"
  - send: "2"
  - send: "{{ day(-1) }}"
    expect: That date has already passed
  - send: "{{ day(40) | short }}"
    node: done
    vars: { start_on: "{{ day(40) }}" }
    expect:
      - "1. {{ day(40) | date }}: {{ 500 | money }}"
      - "2. {{ add_months(day(40), 1) | date }}: ¥500.00"
"#;

#[test]
fn a_scenario_without_a_day_runs_on_each_default_day_with_dates_relative_to_it() {
    let lib = load_library(&read_yaml(&[util::fixture("dialogues")]).expect("fixtures")).expect("fixtures load");
    let ran = run_on(&lib, Path::new("r.yaml"), RELATIVE, &DEFAULT_DAYS).expect("passes on every day");
    assert_eq!((ran.steps, ran.days), (6, 5));
    // The same expectations written with fixed dates hold on some days only, and a
    // failure says on which day it came.
    let pinned = RELATIVE.replace("day(40)", "'2027-02-10'");
    let f = run(&lib, Path::new("p.yaml"), &format!("days: [2027-01-01, 2027-03-01]\n{pinned}")).unwrap_err();
    assert_eq!(f.day, Some(jiff::civil::date(2027, 3, 1)));
    assert!(f.message.starts_with("expected to see \"1. 10 Feb 2027: ¥500.00\""), "{}", f.message);
    let f = run(&lib, Path::new("p.yaml"), &format!("today: 2027-03-01\n{pinned}")).unwrap_err();
    assert_eq!(f.day, None, "a single day is not repeated in the message");
    let days = format!("days: [2026-12-31, 2027-01-01]\n{RELATIVE}");
    assert_eq!(run_on(&lib, Path::new("d.yaml"), &days, &DEFAULT_DAYS).expect("passes").days, 2);
    let both = format!("today: 2027-01-01\ndays: [2026-12-31]\n{RELATIVE}");
    let f = run(&lib, Path::new("b.yaml"), &both).unwrap_err();
    assert_eq!(f.to_string(), "b.yaml:2: give `today` or `days`, not both");
    let bad = RELATIVE.replace("day(-1)", "day('x')");
    let f = run(&lib, Path::new("x.yaml"), &bad).unwrap_err();
    assert_eq!(f.line, 6);
    assert!(f.message.starts_with("`{{ day('x') }}` does not render"), "{}", f.message);
}

#[test]
fn the_test_subcommand_runs_on_the_days_it_is_given() {
    let t = Test::new();
    t.write("tests/scenarios/relative.yaml", RELATIVE);
    // A scenario written for 1 December only.
    let fixed = "today: 2026-12-01\nsteps:\n  - send: /start\n  - press: Let's go\n  - send: \"1000\"\n  - send: \"2\"\n  - send: 10 Feb\n    vars: { start_on: 2027-02-10 }\n";
    t.write("tests/scenarios/fixed.yaml", fixed);
    let o = t.run(&["test", "--today", "2028-02-29", "--today", "2026-12-31"], "");
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("ok   tests/scenarios/relative.yaml (6 steps on 2 days)"), "{out}");
    assert!(out.contains("ok   tests/scenarios/fixed.yaml (5 steps)"), "{out}");
    let o = t.run(&["test", "--today", "31 Dec"], "");
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
}
