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

/// A guide of one typed text question, whose answer is shown back and goes in the case file.
const ECHO: &str = "guide: savings\nlang: en\ntitle: Echo\nstart: memo\nnodes:\n  memo:\n    label: Memo\n    say: What should the plan's memo say?\n    ask: { save: memo, type: text }\n    goto: show\n  show:\n    say: 'You wrote: {{ memo }}'\n    end: true\n";

#[test]
fn a_line_that_is_not_utf8_is_skipped_and_the_chat_goes_on() {
    let t = Test::new();
    let o = t.run_bytes(&["chat"], b"1\n\xff\xfe5000\n5000\n");
    let out = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.contains("That line could not be read as text (it is not UTF-8), so it was skipped."), "{out}");
    assert!(out.contains("Over how many months?"), "the next line was read: {out}");

    // In Chinese for a Chinese guide.
    let t = Test::new();
    std::fs::remove_file(t.path("dialogues/savings.en.yaml")).expect("remove");
    t.write(
        "dialogues/cunqian.zh.yaml",
        "guide: cunqian\nlang: zh\ntitle: 存钱\nstart: a\nnodes:\n  a:\n    say: 想存多少钱？\n    ask: { save: goal, type: money }\n    goto: b\n  b:\n    say: '目标：{{ goal | money }}'\n    end: true\n",
    );
    let o = t.run_bytes(&["chat"], b"\xc3\x28\n3000\n");
    let out = stdout(&o);
    assert!(out.contains("这一行无法识别为文字"), "{out}");
    assert!(out.contains("目标：¥3,000.00"), "{out}");
}

#[test]
fn escape_sequences_typed_by_a_user_never_reach_the_terminal_or_the_case_file() {
    let t = Test::new();
    t.write("dialogues/savings.en.yaml", ECHO);
    let evil = "hi \x1b]52;c;cm0gLXJmIH4K\x07\x1b[2J\x1b]0;owned\x07\u{9b}1;1H<script>alert(1)</script> \u{202e}gnp.exe\x1bc\r\n";
    let o = t.run(&["chat"], &format!("{evil}/note \x1b[31mred\x1b[0m note\x07\n/notes\n"));
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    for bad in ['\x1b', '\u{9b}', '\u{202e}', '\x07', '\r'] {
        assert!(!out.contains(bad), "{bad:?} was printed: {out:?}");
    }
    assert!(out.contains("You wrote: hi <script>alert(1)</script> gnp.exe"), "{out}");
    assert!(out.contains("red note"), "{out}");

    let export = t.run(&["export", "--user", "0"], "");
    assert!(export.status.success(), "{}", stderr(&export));
    let doc = stdout(&export);
    for bad in ['\x1b', '\u{9b}', '\u{202e}', '\x07'] {
        assert!(!doc.contains(bad), "{bad:?} in the case file: {doc:?}");
    }
    assert!(doc.contains("- **Memo**: hi &lt;script>alert(1)&lt;/script> gnp.exe"), "{doc}");
    assert!(!doc.contains("<script>"), "{doc}");
    assert!(doc.contains("red note"), "{doc}");
}

#[test]
fn export_only_reads_a_pending_note_stays_pending() {
    let t = Test::new();
    let o = t.run(&["chat"], "1\n/note\n");
    assert!(stdout(&o).contains("Type your note."), "{}", stdout(&o));
    let export = t.run(&["export", "--user", "0"], "");
    assert!(export.status.success(), "{}", stderr(&export));
    // The next line is still taken as the note, not as an answer to the question.
    let o = t.run(&["chat"], "call back after 3pm\n/notes\n");
    let out = stdout(&o);
    assert!(out.contains("Note saved."), "{out}");
    assert!(out.contains("call back after 3pm"), "{out}");
    assert!(!out.contains("Please type an amount"), "{out}");
}

#[test]
fn export_of_a_guide_that_is_not_loaded_says_so() {
    let t = Test::new();
    t.run(&["chat"], "1\n");
    rename_guide(&t, "budget");
    let export = t.run(&["export", "--user", "0"], "");
    assert_eq!(export.status.code(), Some(1));
    let err = stderr(&export);
    assert!(err.contains("guide `savings` is not in dialogues (--dialogues)"), "{err}");
}

/// Money owed, then an optional second amount: a typed question with Skip, and Keep once answered.
const SKIP: &str = "guide: savings\nlang: en\ntitle: K\nstart: debt\nnodes:\n  debt:\n    label: Debt\n    say: How much do you owe?\n    ask: { save: debt, type: money }\n    goto: other\n  other:\n    label: Other debts\n    say: Any other debts? Type the amount.\n    ask: { save: other, type: money, optional: true }\n    goto: done\n  done:\n    say: 'Debt {{ debt | money }}, other {{ other | money if other is defined else \"none\" }}'\n    end: true\n";

#[test]
fn skip_and_keep_have_keys_and_a_typed_number_is_an_answer() {
    let t = Test::new();
    t.write("dialogues/savings.en.yaml", SKIP);
    let o = t.run(&["chat"], "6000\n1\n");
    let out = stdout(&o);
    assert!(out.contains("Any other debts? Type the amount.\n  /skip Skip\n"), "{out}");
    assert!(out.contains("Debt ¥6,000.00, other ¥1.00"), "1 is an answer here: {out}");

    // Changing that answer from /review shows what it is now, to keep.
    let o = t.run(&["chat"], "/review\n2\n/skip\n");
    let out = stdout(&o);
    assert!(out.contains("  1) Change · Debt\n  2) Change · Other debts\n  0) Back to the question\n"), "{out}");
    assert!(out.contains("Any other debts? Type the amount.\n  /keep Keep: ¥1.00\n  /skip Skip\n"), "{out}");
    assert!(out.contains("Debt ¥6,000.00, other none"), "{out}");

    let o = t.run(&["chat"], "/review\n1\n/keep\n/skip\n");
    let out = stdout(&o);
    assert!(out.contains("How much do you owe?\n  /keep Keep: ¥6,000.00\n"), "{out}");
    assert!(out.contains("Debt ¥6,000.00, other none"), "{out}");
    // The end has numbered buttons: every option has a key.
    assert!(out.contains("  1) Case file\n  2) Notes\n  3) Start over\n"), "{out}");
    assert!(!out.contains("  ["), "no option without a key: {out}");
}

const PAY: &str = "guide: savings\nlang: en\ntitle: P\nstart: how\nnodes:\n  how:\n    say: How would you like to pay?\n    choices:\n      - { label: Pay in full, goto: full }\n      - { label: Pay in installments, goto: inst }\n      - { label: Ask for more time, goto: time }\n  full: { say: Paying in full., end: true }\n  inst: { say: Paying in installments., end: true }\n  time: { say: Asking for time., end: true }\n";

#[test]
fn a_unique_start_of_a_label_chooses_it_and_an_ambiguous_one_is_explained() {
    let t = Test::new();
    t.write("dialogues/savings.en.yaml", PAY);
    let o = t.run(&["chat", "--width", "0"], "7\npay\nPAY IN I\n");
    let out = stdout(&o);
    assert!(out.contains("There is no option 7. Please type a number from 1 to 3."), "{out}");
    assert!(
        out.contains(
            "“pay” fits more than one option: 1) Pay in full, 2) Pay in installments. Please type its number."
        ),
        "{out}"
    );
    assert!(out.contains("Paying in installments."), "{out}");

    let t = Test::new();
    t.write("dialogues/savings.en.yaml", PAY);
    let o = t.run(&["chat"], "ask\n");
    assert!(stdout(&o).contains("Asking for time."), "{}", stdout(&o));

    // A number typed with a Chinese input method (full-width) is a number too.
    let t = Test::new();
    t.write("dialogues/savings.en.yaml", PAY);
    let o = t.run(&["chat"], "３\n");
    assert!(stdout(&o).contains("Asking for time."), "{}", stdout(&o));
}

#[test]
fn lines_wrap_at_the_width_without_splitting_words() {
    let long = "Before you call customer service, have your bill, your ID card and any letters about the debt at hand, and keep a pen ready to write down exactly what they agree to.";
    let zh = "打电话之前，请准备好账单、身份证和所有与这笔欠款有关的信件，再拿一支笔，把客服答应的内容一字一句记下来。";
    let t = Test::new();
    t.write(
        "dialogues/savings.en.yaml",
        &format!("guide: savings\nlang: en\ntitle: W\nstart: a\nnodes:\n  a:\n    say: \"{long}\\n\\n{zh}\"\n    choices:\n      - label: A choice with a label long enough that it has to be wrapped onto two lines, even on a wide screen\n        goto: b\n  b:\n    say: Done\n    end: true\n"),
    );
    for (args, width) in [(vec!["chat"], 80), (vec!["chat", "--width", "40"], 40)] {
        let o = t.run(&args, "");
        let out = stdout(&o);
        let lines: Vec<&str> = out.lines().collect();
        for l in &lines {
            assert!(unicode_width::UnicodeWidthStr::width(*l) <= width, "wider than {width}: {l:?}\n{out}");
        }
        for word in long.split(' ') {
            assert!(lines.iter().any(|l| l.split(' ').any(|w| w == word)), "{word:?} was split at {width}:\n{out}");
        }
        let joined: String = lines.iter().map(|l| l.trim()).collect();
        assert!(joined.contains(zh), "every character of the Chinese text, in order:\n{out}");
        assert!(lines.iter().any(|l| l.starts_with("  1) A choice")), "{out}");
        assert!(
            lines.iter().any(|l| l.starts_with("     ") && !l.starts_with("      ")),
            "hangs under the label:\n{out}"
        );
    }
    let o = t.run(&["chat", "--width", "0"], "");
    assert!(stdout(&o).contains(long), "--width 0 leaves lines whole");
}

#[test]
fn the_question_is_shown_again_after_commands_that_only_show_something() {
    let t = Test::new();
    let o = t.run(&["chat"], "1\n/help\n/progress\n/notes\n/note call at 3\n/review\n/frobnicate\n");
    let out = stdout(&o);
    assert!(!out.contains("Tap a button"), "{out}");
    assert!(out.contains("Type the number of an option"), "{out}");
    assert_eq!(out.matches("How much do you want to save?").count(), 7, "{out}");
    let after_help = &out[out.find("/back: previous question").expect("help shown")..];
    assert!(after_help.contains("How much do you want to save?"), "{out}");

    // Leaving the review list with 0 shows the question again, with working buttons.
    let o = t.run(&["chat"], "5000\n/review\n0\n/back\n");
    let out = stdout(&o);
    assert!(out.contains("  1) Change · Goal amount\n  0) Back to the question\n"), "{out}");
    assert!(!out.contains("There is no option"), "{out}");
    let after_review = &out[out.find("0) Back to the question").expect("review shown")..];
    assert!(after_review.contains("Over how many months?"), "{out}");
    assert!(out.contains("Back to the previous question."), "{out}");

    // A number under the review list is an option; one out of range says how to leave.
    let o = t.run(&["chat", "--width", "0"], "5000\n/review\n12\n0\n12\n");
    let out = stdout(&o);
    assert!(
        out.contains("There is no option 12. Please type a number from 1 to 1, or 0 to go back to the question."),
        "{out}"
    );
    assert!(out.ends_with("Over how many months?\n\nWhen do you start? (for example 2026-12-15)\n\n"), "{out}");
}

#[test]
fn quit_ends_the_chat_and_the_start_says_how() {
    let t = Test::new();
    let o = t.run(&["chat", "--width", "0"], "1\n/quit\n5000\n");
    assert!(o.status.success());
    assert!(stderr(&o).contains("/quit or Ctrl-D ends the chat; your progress is saved."), "{}", stderr(&o));
    let o = t.run(&["chat"], "");
    assert!(stdout(&o).contains("How much do you want to save?"), "5000 was not read after /quit");
}

#[test]
fn an_unknown_guide_flag_lists_the_guides() {
    let t = Test::new();
    let o = t.run(&["chat", "--guide", "savngs"], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("there is no guide `savngs` in dialogues (--dialogues); the guides there are: savings"),
        "{}",
        stderr(&o)
    );
}

/// The fixture guide under another id and title.
fn renamed(id: &str) -> String {
    std::fs::read_to_string(util::fixture("dialogues/savings.en.yaml"))
        .expect("read")
        .replace("guide: savings ", &format!("guide: {id} "))
        .replace("title: Start a savings plan", &format!("title: Plan {id}"))
}

/// The `savings` guide replaced by the same guide under the id `id`, as if its file had been renamed.
fn rename_guide(t: &Test, id: &str) {
    std::fs::remove_file(t.path("dialogues/savings.en.yaml")).expect("remove");
    t.write(&format!("dialogues/{id}.en.yaml"), &renamed(id));
}

#[test]
fn a_user_whose_guide_is_missing_is_told_and_can_start_another_after_saying_yes() {
    let t = Test::new();
    t.run(&["chat"], "1\n5000\n");
    rename_guide(&t, "budget");

    // One guide loaded: it is offered; no clears nothing, and nothing gets "being updated".
    let o = t.run(&["chat", "--width", "0"], "/help\n/start\n2\n");
    let out = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        out.contains("The guide “savings” you were using is not in dialogues (the folder given by --dialogues)"),
        "{out}"
    );
    assert!(out.contains("still saved in data (--data)"), "{out}");
    assert!(out.contains("Start “Plan budget” instead? The answers you gave in “savings” will be cleared"), "{out}");
    assert!(out.contains("/back: previous question"), "help works: {out}");
    assert!(out.contains("Nothing was changed; your answers are kept."), "{out}");
    assert!(!out.contains("being updated"), "{out}");
    // Back with the right folder, the answers are all there.
    std::fs::remove_file(t.path("dialogues/budget.en.yaml")).expect("remove");
    t.write("dialogues/savings.en.yaml", &renamed("savings"));
    let o = t.run(&["chat"], "");
    assert!(
        stdout(&o).contains("Welcome back. Here is where you left off:\n\nOver how many months?"),
        "{}",
        stdout(&o)
    );

    // Two other guides: the list, then yes.
    rename_guide(&t, "budget");
    t.write("dialogues/other.en.yaml", &renamed("other"));
    let o = t.run(&["chat", "--width", "0"], "/guides\n2\nyes\n");
    let out = stdout(&o);
    assert!(
        out.contains("Or start another guide (--guide ID opens one directly):\n  1) Plan budget\n  2) Plan other\n"),
        "{out}"
    );
    assert!(out.contains("Start “Plan other” instead?"), "{out}");
    assert!(out.ends_with("Hi ! Let's make a plan.\n  1) Let's go\n\n"), "{out}");
    let o = t.run(&["chat"], "");
    assert!(stdout(&o).starts_with("Welcome back."), "now in the other guide: {}", stdout(&o));
}

#[test]
fn the_guide_flag_is_offered_in_place_of_a_missing_guide() {
    let t = Test::new();
    t.run(&["chat"], "1\n5000\n");
    rename_guide(&t, "budget");
    t.write("dialogues/other.en.yaml", &renamed("other"));
    let o = t.run(&["chat", "--guide", "other"], "1\n1\n");
    let out = stdout(&o);
    assert!(out.contains("not in dialogues"), "{out}");
    assert!(out.contains("Start “Plan other” instead?"), "{out}");
    assert!(!out.contains("Or start another guide"), "{out}");
    assert!(out.contains("How much do you want to save?"), "started and answered the first question: {out}");
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
