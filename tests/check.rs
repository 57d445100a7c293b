//! `guidebot check`: exit codes and `file:line:col: message` output, every
//! problem of a file at once in plain words, warnings, the size limit, what
//! is said outside the repository, the shipped dialogues, and the format
//! documentation's example. Also the command line's help and log output.

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
    assert!(stderr(&o).ends_with("\n1 problem found; fix it and run `guidebot check` again\n"), "{}", stderr(&o));
}

fn savings() -> String {
    std::fs::read_to_string(util::fixture("dialogues/savings.en.yaml")).expect("fixture")
}

/// `check` on `dialogues/` holding only `text` as savings.en.yaml: exit code and stderr lines.
fn check_savings(text: &str) -> (Option<i32>, Vec<String>) {
    let t = Test::new();
    t.write("dialogues/savings.en.yaml", text);
    let o = t.run(&["check"], "");
    (o.status.code(), stderr(&o).lines().map(str::to_owned).collect())
}

#[test]
fn unknown_keys_do_not_hide_the_problems_after_them() {
    let bad = savings()
        .replace("    label: Goal amount ", "    lable: Goal amount ")
        .replace("      type: money\n", "      type: currency\n")
        .replace("    goto: first\n", "    goto: frist\n")
        .replace("  done:\n    say:", "  done:\n    sya:");
    let (code, lines) = check_savings(&bad);
    assert_eq!(code, Some(1));
    let allowed_node_keys = "`append`, `ask`, `branch`, `checklist`, `choices`, `compute`, `end`, `goto`, `label`, `remind`, `say`, `set`, `stage`";
    assert_eq!(
        lines,
        [
            format!("dialogues/savings.en.yaml:20:5: `lable` is not a node key; did you mean `label`? Allowed here: {allowed_node_keys}"),
            "dialogues/savings.en.yaml:24:13: `ask.type` in node `amount` must be one of `text`, `number`, `money`, `date`; found `currency`".to_owned(),
            "dialogues/savings.en.yaml:33:11: node `months` goes to `frist`, which does not exist; did you mean `first`?".to_owned(),
            format!("dialogues/savings.en.yaml:49:5: `sya` is not a node key; did you mean `say`? Allowed here: {allowed_node_keys}"),
            "4 problems found; fix them and run `guidebot check` again".to_owned(),
        ]
    );
}

#[test]
fn a_repeated_node_id_is_refused_with_the_line_of_each() {
    let bad = savings().replace("  done:\n", "  months:\n    say: Again?\n    end: true\n  done:\n");
    let (code, lines) = check_savings(&bad);
    assert_eq!(code, Some(1));
    assert_eq!(
        lines,
        [
            "dialogues/savings.en.yaml:48:3: node id `months` is used 2 times (lines 28 and 48); only the last would count: give each node its own id",
            "1 problem found; fix it and run `guidebot check` again",
        ]
    );
}

#[test]
fn a_file_over_the_size_limit_is_refused_before_it_is_read() {
    let t = Test::new();
    let big = format!("{}# {}\n", savings(), "x".repeat(50 * 1024 * 1024));
    t.write("dialogues/savings.en.yaml", &big);
    let started = std::time::Instant::now();
    let o = t.run(&["check"], "");
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "took {:?}", started.elapsed());
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: dialogues/savings.en.yaml: this file is 50 MB, more than the 5 MB a dialogue file may have; it was not read. Split the guide into several files or remove what it does not need\n"
    );
}

/// Two nested loops over `range(100000)`: `check` warns with the line, and the node is
/// shown with an apology instead of hanging.
const RUNAWAY: &str = "\
guide: runaway
lang: zh
title: Loops
start: a
nodes:
  a:
    say: |
      Counting:
      {% for i in range(100000) %}{% for j in range(100000) %}{{ j }}{% endfor %}{% endfor %}
    choices:
      - label: Next
        goto: b
  b:
    say: Done
    end: true
";

#[test]
fn a_runaway_loop_is_warned_about_and_stops_with_an_apology() {
    let t = Test::new();
    t.write("dialogues/runaway.zh.yaml", RUNAWAY);
    let o = t.run(&["check"], "");
    assert_eq!(o.status.code(), Some(0), "warnings do not fail: {}", stderr(&o));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 3, "{err}");
    assert!(lines[0].starts_with("dialogues/runaway.zh.yaml:9:7: warning: a loop over `range(100000)` (100000 items) around another loop in `nodes.a.say`"), "{err}");
    assert!(
        lines[1].starts_with(
            "dialogues/runaway.zh.yaml:9:7: warning: a loop over `range(100000)` (100000 items) inside another loop"
        ),
        "{err}"
    );
    assert_eq!(lines[2], "2 warnings found; look at them before you go on");
    assert_eq!(stdout(&o), "ok: 2 files checked, 2 guides, no problems, 2 warnings\n");

    let started = std::time::Instant::now();
    let o = t.run(&["chat", "--guide", "runaway"], "");
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "took {:?}", started.elapsed());
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("抱歉，这部分内容现在无法显示。你可以继续，或发送 /back 返回上一步。"), "{out}");
    assert!(out.contains("Next"), "the buttons are still there: {out}");
    assert!(!out.contains("Counting"), "{out}");
}

#[test]
fn outside_the_repository_check_and_test_say_how_to_find_the_dialogues() {
    let dir = tempfile::tempdir().expect("temp dir");
    for args in [&["check"][..], &["test"][..]] {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_guidebot"))
            .args(args)
            .current_dir(dir.path())
            .env_remove("GUIDEBOT_DIALOGUES")
            .output()
            .expect("runs");
        assert_eq!(o.status.code(), Some(2));
        let err = stderr(&o);
        assert!(err.contains("there is no dialogues folder `dialogues` (looked in "), "{args:?}: {err}");
        assert!(err.contains("point at it with --dialogues DIR or GUIDEBOT_DIALOGUES=DIR"), "{args:?}: {err}");
    }
}

#[test]
fn the_dialogues_folder_can_be_named_by_flag_or_environment() {
    let t = Test::new();
    std::fs::rename(t.path("dialogues"), t.path("guides")).expect("rename");
    let o = t.run(&["check", "--dialogues", "guides"], "");
    assert!(o.status.success(), "{}", stderr(&o));
    let o = t.cmd(&["check"]).env("GUIDEBOT_DIALOGUES", "guides").output().expect("runs");
    assert!(o.status.success(), "{}", stderr(&o));
    // Before the subcommand, as older scripts write it.
    let o = t.run(&["--dialogues", "guides", "check"], "");
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn folder_flags_show_only_where_they_apply_and_bot_help_lists_its_environment() {
    let t = Test::new();
    let help = |args: &[&str]| stdout(&t.run(args, ""));
    for sub in ["graph", "schema"] {
        let h = help(&[sub, "--help"]);
        assert!(!h.contains("--data") && !h.contains("--dialogues"), "{sub}: {h}");
    }
    let h = help(&["check", "--help"]);
    assert!(h.contains("--dialogues <DIR>") && !h.contains("--data"), "{h}");
    let h = help(&["--help"]);
    assert!(!h.contains("--data") && !h.contains("--dialogues"), "{h}");
    let h = help(&["bot", "--help"]);
    for var in [
        "TELOXIDE_TOKEN",
        "TELOXIDE_API_URL",
        "GUIDEBOT_ADMINS",
        "GUIDEBOT_TZ",
        "GUIDEBOT_DIALOGUES",
        "GUIDEBOT_DATA",
        "RUST_LOG",
    ] {
        assert!(h.contains(var), "{var} missing from bot --help:\n{h}");
    }
    assert!(h.contains("--data <DIR>"), "{h}");
}

#[test]
fn logs_have_no_colours_when_stderr_is_not_a_terminal() {
    let t = Test::new();
    let o = t.cmd(&["chat"]).env("RUST_LOG", "trace").stdin(std::process::Stdio::null()).output().expect("runs");
    let err = stderr(&o);
    assert!(err.contains("TRACE"), "something is logged: {err}");
    assert!(!err.contains('\u{1b}'), "{err}");
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

#[test]
fn the_readme_piped_example_gets_past_the_first_questions() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README");
    let line =
        readme.lines().find(|l| l.starts_with("printf '") && l.contains("| guidebot chat")).expect("the example");
    let input = line["printf '".len()..].split('\'').next().expect("printf's argument").replace("\\n", "\n");
    assert!(line.contains("--lang en --data"), "{line}");
    let t = Test::new();
    for lang in ["en", "zh"] {
        let name = format!("huabei-overdue.{lang}.yaml");
        t.write(
            &format!("dialogues/{name}"),
            &std::fs::read_to_string(root.join("dialogues").join(&name)).expect("guide"),
        );
    }
    std::fs::remove_file(t.path("dialogues/savings.en.yaml")).expect("only the shipped guide");
    let o = t.run(&["chat", "--lang", "en", "--data", "data"], &input);
    assert!(o.status.success(), "{}", stderr(&o));
    // Where the user now stands, read from the data folder the example wrote.
    let files = guidebot::cli::read_yaml(&[t.path("dialogues")]).expect("dialogues");
    let store = guidebot::adapters::store::SledStore::open(&t.path("data")).expect("data");
    let app = guidebot::app::App::new(load_library(&files).expect("loads"), std::sync::Arc::new(store));
    let state = app.state(guidebot::adapters::store::UserId::LOCAL).expect("state");
    assert_eq!(state.node.as_deref(), Some("bill_due"), "{}", stdout(&o));
    assert_eq!(state.vars.get("debt").map(|v| v.display()), Some("3500".to_owned()));
}
