//! `guidebot chat`: the terminal front end as a process — scripted input,
//! resuming after a restart, a clean end at end of input, and a data
//! directory already in use.

mod util;

use std::io::{BufRead, BufReader, Write};

use util::{Test, stderr, stdout};

#[test]
fn resumes_where_the_last_run_stopped() {
    let t = Test::new();
    // The start date below must be today or later: pin the day the test runs on.
    let first = t.run(&["chat", "--today", "2026-12-01"], "1\n5000\n");
    assert!(first.status.success(), "{}", stderr(&first));
    let out = stdout(&first);
    assert!(out.contains("Let's make a plan."), "{out}");
    assert!(out.contains("  1) Let's go"), "{out}");
    assert!(out.contains("Over how many months?"), "{out}");

    // A new process, same data: it shows where the user left off and goes on.
    let second = t.run(&["chat", "--today", "2026-12-01"], "10\n2026-12-15\n");
    assert!(second.status.success(), "{}", stderr(&second));
    let out = stdout(&second);
    assert!(out.starts_with("Welcome back. Here is where you left off:\n\nOver how many months?"), "{out}");
    assert!(out.contains("1. 15 Dec 2026: ¥500.00"), "{out}");
    assert!(out.contains("10. 15 Sep 2027: ¥500.00"), "{out}");

    // The case file of that user holds the answers.
    let export = t.run(&["export", "--user", "0"], "");
    assert!(export.status.success(), "{}", stderr(&export));
    let doc = stdout(&export);
    assert!(doc.contains("- **Goal amount**: ¥5,000.00"), "{doc}");
    assert!(doc.contains("- **Months**: 10"), "{doc}");
}

#[test]
fn plain_text_when_not_a_terminal() {
    let t = Test::new();
    let o = t.run(&["chat"], "1\n");
    let out = stdout(&o);
    assert!(!out.contains('\x1b'), "no terminal styles in a pipe: {out:?}");
}

#[test]
fn bad_answers_are_re_asked_and_nothing_is_lost() {
    let t = Test::new();
    let o = t.run(&["chat"], "1\nabout five grand\n5000\n");
    let out = stdout(&o);
    assert!(out.contains("Please type an amount, for example 5000."), "{out}");
    let o = t.run(&["chat"], "");
    assert!(stdout(&o).contains("Over how many months?"), "the good answer was kept");
}

#[test]
fn users_are_kept_apart() {
    let t = Test::new();
    t.run(&["chat", "--user", "7"], "1\n5000\n");
    let o = t.run(&["chat", "--user", "8"], "");
    let out = stdout(&o);
    assert!(out.contains("Let's make a plan."), "user 8 starts fresh: {out}");
    assert!(!out.contains("Welcome back"), "{out}");
}

#[test]
fn a_second_process_on_the_same_data_gets_a_clear_message() {
    let t = Test::new();
    let mut first = t.spawn(&["chat"]);
    let mut stdin = first.stdin.take().expect("stdin");
    // Once the first process has printed its first step, it holds the store.
    let mut reader = BufReader::new(first.stdout.take().expect("stdout"));
    let mut line = String::new();
    reader.read_line(&mut line).expect("first line");
    assert!(line.contains("Let's make a plan."), "{line}");
    let second = t.run(&["chat"], "");
    let err = stderr(&second);
    assert_eq!(second.status.code(), Some(2), "{err}");
    assert!(err.contains("is in use by another process"), "{err}");
    assert!(err.contains("data"), "names the directory: {err}");
    writeln!(stdin, "1").expect("write");
    drop(stdin);
    assert!(first.wait().expect("wait").success());
}

#[test]
fn reports_broken_dialogues_instead_of_starting() {
    let t = Test::new();
    t.write(
        "dialogues/savings.en.yaml",
        &std::fs::read_to_string(util::fixture("dialogues/savings.en.yaml"))
            .expect("read")
            .replace("goto: months", "goto: monts"),
    );
    let o = t.run(&["chat"], "");
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("dialogues/savings.en.yaml:"), "{err}");
    assert!(err.contains("goes to `monts`, which does not exist; did you mean `months`?"), "{err}");
}

/// Lines a child prints, collected on a thread so the test can wait with a deadline.
fn lines_of(r: impl std::io::Read + Send + 'static) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn wait_for(rx: &std::sync::mpsc::Receiver<String>, what: &str) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                let hit = line.contains(what);
                seen.push(line);
                if hit {
                    return seen;
                }
            }
            Err(_) => break,
        }
    }
    panic!("never saw {what:?}; saw:\n{}", seen.join("\n"));
}

#[test]
fn watch_reloads_on_save_and_keeps_the_old_version_when_broken() {
    let t = Test::new();
    let mut child = t.spawn(&["chat", "--watch"]);
    let mut stdin = child.stdin.take().expect("stdin");
    let out = lines_of(child.stdout.take().expect("stdout"));
    let err = lines_of(child.stderr.take().expect("stderr"));
    wait_for(&out, "Let's make a plan.");
    writeln!(stdin, "1").expect("write");
    wait_for(&out, "How much do you want to save?");

    let path = t.path("dialogues/savings.en.yaml");
    let good = std::fs::read_to_string(&path).expect("read");
    std::fs::write(&path, good.replace("How much do you want to save?", "What amount are you aiming for?"))
        .expect("write");
    wait_for(&err, "dialogues reloaded");
    wait_for(&out, "What amount are you aiming for?");

    std::fs::write(&path, good.replace("    goto: months\n", "    goto: nowhere\n")).expect("write");
    let lines = wait_for(&err, "goes to `nowhere`, which does not exist");
    assert!(lines.iter().any(|l| l.contains("not reloaded, the previous version stays")), "{lines:?}");
    // The old (good) version still serves: the answer moves on to `months`.
    writeln!(stdin, "5000").expect("write");
    wait_for(&out, "Over how many months?");
    drop(stdin);
    assert!(child.wait().expect("wait").success());
}

#[test]
fn due_reminders_are_shown_when_chat_starts_and_only_once() {
    let t = Test::new();
    t.write(
        "dialogues/savings.en.yaml",
        "guide: savings\nlang: en\ntitle: R\nstart: a\nnodes:\n  a:\n    say: Plan made.\n    remind:\n      - id: first\n        on: '\"2020-01-02\"'\n        say: Pay the first installment today.\n    goto: b\n  b:\n    say: Bye\n    end: true\n",
    );
    let first = t.run(&["chat"], "");
    assert!(first.status.success(), "{}", util::stderr(&first));
    assert!(!stdout(&first).contains("⏰"), "scheduled, not shown yet: {}", stdout(&first));
    let second = t.run(&["chat"], "");
    assert!(stdout(&second).starts_with("⏰ Pay the first installment today."), "{}", stdout(&second));
    let third = t.run(&["chat"], "");
    assert!(!stdout(&third).contains("⏰"), "sent once: {}", stdout(&third));
}

#[test]
fn a_number_typed_for_a_number_question_is_an_answer() {
    let t = Test::new();
    t.write(
        "dialogues/savings.en.yaml",
        "guide: savings\nlang: en\ntitle: N\nstart: a\nnodes:\n  a:\n    say: Pick\n    choices:\n      - { label: One, goto: n }\n      - { label: Two, goto: n }\n  n:\n    say: How many months?\n    ask: { save: months, type: number }\n    goto: z\n  z:\n    say: 'Months: {{ months }}'\n    end: true\n",
    );
    // "2" answers the number question; it must not press the old "Two" button.
    let o = t.run(&["chat"], "1\n2\n");
    let out = stdout(&o);
    assert!(!out.contains("earlier step"), "{out}");
    assert!(out.contains("Months: 2"), "{out}");
}

#[test]
fn today_can_be_any_day() {
    let t = Test::new();
    let o = t.run(&["chat", "--today", "2026-12-31"], "1\n5000\n10\n5 Jan\n");
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    // On New Year's Eve, 5 January is next year's.
    assert!(out.contains("1. 5 Jan 2027: ¥500.00"), "{out}");
    assert!(out.contains("10. 5 Oct 2027: ¥500.00"), "{out}");
    let o = t.run(&["chat", "--today", "tomorrow"], "");
    assert!(!o.status.success(), "a day that is not a date is refused");
}
