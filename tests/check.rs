//! `guidebot check`: exit codes and `file:line:col: message` output, the
//! shipped dialogues, and the format documentation's example.

mod util;

use std::path::Path;

use guidebot::domain::dialogue::load_library;
use util::{Test, stderr, stdout};

#[test]
fn good_files_pass_with_a_summary() {
    let t = Test::new();
    let o = t.run(&["check"], "");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), "ok: 1 file checked, 1 guide, no problems\n");
}

#[test]
fn every_problem_is_reported_with_its_place() {
    let t = Test::new();
    let good = std::fs::read_to_string(util::fixture("dialogues/savings.en.yaml")).expect("fixture");
    let bad = good
        .replace("    goto: months\n", "    goto: monts\n")
        .replace("stage: plan\n    label: Months", "stage: plann\n    label: Months");
    t.write("dialogues/savings.en.yaml", &bad);
    let o = t.run(&["check"], "");
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines.contains(&"dialogues/savings.en.yaml:27:11: node `amount` goes to `monts`, which does not exist; did you mean `months`?"), "{err}");
    assert!(lines.contains(&"dialogues/savings.en.yaml:29:12: node `months` is in stage `plann`, which `stages:` does not declare; did you mean `plan`?"), "{err}");
    assert!(err.trim_end().ends_with("2 problems found; fix them and run `guidebot check` again"), "{err}");
}

#[test]
fn a_yaml_typo_points_at_its_line() {
    let t = Test::new();
    t.write("broken/x.en.yaml", "guide: x\nlang: en\ntitle: X\nstart: a\nnodes:\n  a:\n    say: hi\n    edn: true\n");
    let o = t.run(&["check", "broken"], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).starts_with("broken/x.en.yaml:8:5: `edn` is not a node key; did you mean `end`?"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn shipped_dialogues_pass() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("dialogues");
    let files = guidebot::cli::read_yaml(&[dir]).expect("dialogues");
    assert!(!files.is_empty());
    if let Err(d) = load_library(&files) {
        panic!("{}", guidebot::cli::report(&d));
    }
}

#[test]
fn the_format_documentation_example_is_a_valid_dialogue() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("dialogues/README.md")).expect("README");
    let start = readme.find("```yaml\nguide: savings").expect("the example") + "```yaml\n".len();
    let end = start + readme[start..].find("```\n").expect("end of the example");
    let example = &readme[start..end];
    assert_eq!(
        example,
        std::fs::read_to_string(util::fixture("dialogues/savings.en.yaml")).expect("fixture"),
        "tests/fixtures/dialogues/savings.en.yaml is a copy of the README example"
    );
    load_library(&[("savings.en.yaml".into(), example.to_owned())]).expect("the example passes check");
}
