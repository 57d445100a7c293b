//! `guidebot migrate`: a data folder filled through the app (the shipped
//! guide, users with answers, notes and a reminder) goes to PostgreSQL and
//! back to a new data folder, and every user's case file, the statistics and
//! the reminder come out the same.
//!
//! Needs a PostgreSQL database: `GUIDEBOT_TEST_POSTGRES` holds its URL
//! (`.ci/run` starts one and sets it). The test makes a schema of its own
//! there and drops it at the end. Without the variable it says so and passes,
//! except under CI, where it fails.

mod util;

use std::path::PathBuf;
use std::process::Output;

use guidebot::adapters::store::{PostgresStore, SledStore, Store, UserId};

use util::pg::TestSchema;
use util::{Test, stderr, stdout};

fn shipped_dialogues() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("dialogues").display().to_string()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "exit {:?}\n{}\n{}", o.status.code(), stdout(o), stderr(o));
    stdout(o)
}

/// `guidebot ARGS --dialogues <shipped> --store STORE`.
fn run(t: &Test, store: &str, args: &[&str], input: &str) -> Output {
    let dialogues = shipped_dialogues();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--dialogues", &dialogues, "--store", store]);
    t.run(&all, input)
}

/// Each user's case file (without the line that says when it was exported), and the statistics.
fn what_the_store_shows(t: &Test, store: &str) -> Vec<String> {
    let undated = |doc: String| {
        let kept: Vec<&str> =
            doc.lines().filter(|l| !(l.starts_with("_Exported: ") || l.starts_with("_导出时间: "))).collect();
        assert_eq!(doc.lines().count(), kept.len() + 1, "one export time in {doc}");
        kept.join("\n")
    };
    let mut shown: Vec<String> =
        [1, 2, 3].iter().map(|u| undated(ok(&run(t, store, &["export", "--user", &u.to_string()], "")))).collect();
    shown.push(ok(&run(t, store, &["stats"], "")));
    shown
}

#[test]
fn a_data_folder_goes_to_postgres_and_back_with_every_user_note_and_reminder() {
    let Some(db) = TestSchema::new("migrate") else { return };
    let t = Test::new();
    let first = format!("sled:{}", t.path("data").display());
    let day = ["--today", "2026-12-01"];

    // User 1, in English: the bill, the reason, a plan, a note, a logged contact with a follow-up reminder.
    let walk = [
        "OK, let's start",
        "Online chat",
        "OK, gather my bill details",
        "24000",
        "2026-11-20",
        "Li Wei, phone ends 5678",
        "Next: explain why",
        "I was ill",
        "That's all for now",
        "Sick pay",
        "6000",
        "4000",
        "Savings 3000",
        "As suggested",
        "Next: draft a repayment plan",
        "6 months",
        "2027-01-05",
        "Switch to 14 months",
        "This plan works",
        "Alipay automatic debit",
        "Saved it",
        "OK, start contacting and logging",
        "Open the contact menu",
        "/note called them, waiting MARKER-NOTE-1",
        "Log a contact",
        "today",
        "Phone hotline",
        "Agent 42",
        "Explained the illness",
        "Accepted 12 installments",
        "Skip",
        "No",
        "2026-12-08",
    ]
    .join("\n");
    let out = ok(&run(&t, &first, &[&["chat", "--user", "1", "--lang", "en"][..], &day].concat(), &walk));
    assert!(out.contains("I will remind you to follow up on 8 Dec 2026."), "{out}");
    // User 2, in Chinese: a first answer and two notes. User 3: only started.
    ok(&run(&t, &first, &[&["chat", "--user", "2"][..], &day].concat(), "1\n/note 先记一笔 MARKER-2\n/note 第二条\n"));
    ok(&run(&t, &first, &[&["chat", "--user", "3"][..], &day].concat(), "1\n"));

    let before = what_the_store_shows(&t, &first);
    assert!(before[0].contains("MARKER-NOTE-1") && before[0].contains("Agent 42"), "{}", before[0]);
    assert!(before[1].contains("MARKER-2") && before[1].contains("第二条"), "{}", before[1]);
    assert!(before[3].contains("Users: 3"), "{}", before[3]);
    let due_before = SledStore::open(&t.path("data")).expect("open").due(i64::MAX - 1).expect("due");
    assert_eq!(due_before, vec![UserId::telegram(1)], "user 1 has a reminder waiting");

    // sled → PostgreSQL.
    let migrated = ok(&t.run(&["migrate", "--from", &first, "--to", &db.url], ""));
    assert!(migrated.contains("3 users, 3 notes, 1 reminder time, 0 messages to send"), "{migrated}");
    assert!(migrated.contains("every user reads back the same"), "{migrated}");
    assert_eq!(what_the_store_shows(&t, &db.url), before, "the case files as read from PostgreSQL");
    assert_eq!(PostgresStore::open(&db.url).expect("open").due(i64::MAX - 1).expect("due"), vec![UserId::telegram(1)]);
    // A second run into the same database is refused and changes nothing.
    let again = t.run(&["migrate", "--from", &first, "--to", &db.url], "");
    assert_eq!(again.status.code(), Some(2));
    assert!(stderr(&again).contains("is not empty"), "{}", stderr(&again));

    // PostgreSQL → a new data folder.
    let last = format!("sled:{}", t.path("data-back").display());
    let back = ok(&t.run(&["migrate", "--from", &db.url, "--to", &last], ""));
    assert!(back.contains("3 users, 3 notes, 1 reminder time"), "{back}");
    assert_eq!(what_the_store_shows(&t, &last), before, "the case files after the round trip");
    assert_eq!(
        SledStore::open(&t.path("data-back")).expect("open").due(i64::MAX - 1).expect("due"),
        vec![UserId::telegram(1)]
    );
    // The reminder still goes out once its day has come (two days later: whatever the time of day).
    let later = ok(&run(&t, &last, &["chat", "--user", "1", "--today", "2026-12-10"], ""));
    assert!(later.starts_with("⏰ Today is the day you set to follow up"), "{later}");
}

#[test]
fn store_urls_choose_the_store_and_bad_ones_say_what_to_write() {
    let t = Test::new();
    // sled:DIR is --data DIR.
    ok(&t.run(&["chat", "--store", "sled:here"], "1\n5000\n"));
    let doc = ok(&t.run(&["export", "--user", "0", "--data", "here"], ""));
    assert!(doc.contains("¥5,000.00"), "{doc}");
    let doc = ok(&t.cmd(&["export", "--user", "0"]).env("GUIDEBOT_STORE", "sled:here").output().expect("run"));
    assert!(doc.contains("¥5,000.00"), "GUIDEBOT_STORE is read: {doc}");

    let refused = |args: &[&str], says: &[&str]| {
        let o = t.run(args, "");
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        for s in says {
            assert!(stderr(&o).contains(s), "{args:?} should say {s:?}: {}", stderr(&o));
        }
        assert!(!stderr(&o).contains("hunter2"), "a password was shown: {}", stderr(&o));
    };
    refused(&["stats", "--store", "here"], &["no kind given; for a data folder write sled:here"]);
    refused(&["stats", "--store", "mysql://u:hunter2@h/db"], &["unknown kind `mysql`", "postgres://USER"]);
    refused(&["stats", "--store", "sled:here", "--data", "here"], &["pass either --store or --data, not both"]);
    refused(
        &["stats", "--store", "postgres://guidebot:hunter2@127.0.0.1:1/guidebot"],
        &[
            "cannot reach PostgreSQL at postgres://guidebot:***@127.0.0.1:1/guidebot",
            "check that the server is running",
        ],
    );
    refused(&["backup", "copy", "--store", "postgres://guidebot:hunter2@127.0.0.1:1/g"], &["pg_dump"]);
    refused(&["migrate", "--from", "sled:nowhere", "--to", "sled:new"], &["no guidebot data folder at nowhere"]);
    refused(&["migrate", "--from", "sled:here", "--to", "sled:here"], &["the same store"]);
    refused(&["migrate", "--from", "sled:here", "--to", "sled:dialogues"], &["is not empty"]);
}
