//! Scenario files: every `tests/scenarios/*.yaml` against the shipped
//! dialogues, the fixtures against theirs, and how a failure is reported.

mod util;

use std::path::{Path, PathBuf};

use guidebot::cli::read_yaml;
use guidebot::domain::dialogue::load_library;
use guidebot::domain::scenario::{run, run_all};
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
    assert_eq!(f.to_string(), "s.yaml:4: expected `goal` to be \"600\", but it is \"500\"");
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
    assert_eq!(f.to_string(), "s.yaml:3: no single button labelled \"Nope\"; the buttons were: \"Let's go\"");
}

#[test]
fn the_test_subcommand_reports_and_exits_non_zero_on_failure() {
    let t = Test::new();
    t.write("tests/scenarios/ok.yaml", "steps:\n  - send: /start\n    expect: make a plan\n");
    t.write("tests/scenarios/bad.yaml", "steps:\n  - send: /start\n    node: months\n");
    let o = t.run(&["test"], "");
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("ok   tests/scenarios/ok.yaml (1 steps)"), "{out}");
    assert!(
        out.contains("FAIL tests/scenarios/bad.yaml:2: expected to be at node `months`, but the user is at `welcome`"),
        "{out}"
    );
    assert!(out.ends_with("1 passed, 1 failed\n"), "{out}");
}
