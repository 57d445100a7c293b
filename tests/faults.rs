//! Faults, with the real binary: `guidebot bot` killed with SIGKILL between
//! saving a step and sending its reply, Telegram delivering an update again
//! after that, a disk that fills up under `guidebot chat` (on sled, and on
//! PostgreSQL, whose tables live on a small tmpfs), erasure checked on
//! the raw bytes of the data directory, permissions under a careless umask,
//! a backup taken while a chat holds the store, and a SIGTERM that comes
//! while the bot is still starting.
//!
//! Every wait has a deadline and waits for something that can be seen: a call
//! reaching the fake Bot API (`fake_bot_api`), a line printed by `chat`, a
//! process exiting. Negative checks ("nothing more was sent") are made after
//! a later update of the same chat was answered (one chat's updates and
//! replies go in order), or after a clean stop.
//!
//! A message is marked delivered after Telegram answered, and that mark is
//! made durable by the next write (it is not worth a flush of its own): a
//! kill right after a delivery may send that one message again. So a test
//! that counts a message delivered before a kill first lets a later step
//! be saved, which makes the mark durable; a message that is the last one
//! before a kill is counted as "at least once".

#[allow(dead_code)]
mod fake_bot_api;
mod util;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Duration;

use fake_bot_api::{Call, FakeBotApi, Person, TOKEN};
use serde_json::Value;
use util::Test;
use util::pg::TestSchema;
use util::process::{Proc, Tmpfs, bot_command, dialogues, entries_under, files_containing, is_root, mode};

const ANN: Person = Person { id: 4242, first_name: "Ann", lang: "en" };
const BOB: Person = Person { id: 5353, first_name: "Bob", lang: "en" };

/// How long a process may take to start, answer or stop.
const LIMIT: Duration = Duration::from_secs(30);

/// Words of the Huabei guide (en) and of the engine that the tests wait for.
const WELCOME: &str = "Take a breath";
const CHANNELS: &str = "reach customer service";
const PREP: &str = "Have these ready before you reach out";
const AMOUNT_Q: &str = "How much is the overdue bill?";
const NOTE_SAVED: &str = "Note saved.";
const NOTES_TITLE: &str = "Your notes";
const CONFIRM_DELETE: &str = "Erase everything you entered here";
const DELETED: &str = "Everything you entered has been erased.";

// ----- the bot -------------------------------------------------------------

/// `guidebot bot` on `t`'s data directory, talking to the fake Bot API, no pacing.
fn start_bot(t: &Test, api: &FakeBotApi) -> Proc {
    Proc::spawn(bot_command(t, &api.url(), TOKEN, &[]))
}

/// Successful sendMessage calls to `chat`.
fn delivered_to(api: &FakeBotApi, chat: i64) -> Vec<Call> {
    api.calls_of("sendMessage").into_iter().filter(|c| c.chat() == Some(chat) && c.ok()).collect()
}

/// How many messages to `chat` containing `needle` were delivered.
fn delivered_count(api: &FakeBotApi, chat: i64, needle: &str) -> usize {
    delivered_to(api, chat).iter().filter(|c| c.text().is_some_and(|t| t.contains(needle))).count()
}

/// Waits until `count` messages to `chat` containing `needle` were delivered; returns the last.
async fn delivered(api: &FakeBotApi, chat: i64, needle: &str, count: usize) -> Call {
    api.wait_for(&format!("message {count} to {chat} containing {needle:?}"), |calls| {
        let found: Vec<&Call> = calls
            .iter()
            .filter(|c| {
                c.method == "sendMessage"
                    && c.ok()
                    && c.chat() == Some(chat)
                    && c.text().is_some_and(|t| t.contains(needle))
            })
            .collect();
        (found.len() >= count).then(|| found[found.len() - 1].clone())
    })
    .await
}

/// Waits until a sendMessage to `chat` containing `needle` reached the API,
/// answered or not: the bot has saved the step it belongs to.
async fn arrived(api: &FakeBotApi, chat: i64, needle: &str) -> Call {
    api.wait_for(&format!("a sendMessage to {chat} containing {needle:?}"), |calls| {
        calls
            .iter()
            .find(|c| {
                c.method == "sendMessage" && c.chat() == Some(chat) && c.text().is_some_and(|t| t.contains(needle))
            })
            .cloned()
    })
    .await
}

/// The press of the button whose label starts with `label` on the message of `sent`.
fn press(update: i64, who: &Person, sent: &Call, label: &str) -> Value {
    let data = sent
        .buttons()
        .into_iter()
        .find(|(l, _)| l.starts_with(label))
        .map(|(_, d)| d)
        .unwrap_or_else(|| panic!("no button {label:?} in {:?}", sent.buttons()));
    let message = sent.result.clone().expect("the message was delivered");
    fake_bot_api::press(update, who, &message, &data)
}

fn text(update: i64, who: &Person, text: &str) -> Value {
    fake_bot_api::text(update, who, text)
}

/// Stops the bot with SIGTERM; it must finish what it fetched and exit 0.
fn stop_bot(bot: &mut Proc) {
    let status = bot.terminate(LIMIT);
    assert!(status.success(), "the bot stops cleanly: {status:?}\n{}", bot.stderr());
}

/// 1. Killed after the step was saved, before its reply got through: the reply
///    goes out after the restart, once, and the same update delivered again
///    changes nothing and sends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_saved_before_a_kill_is_sent_once_after_the_restart() {
    let t = Test::new();
    let api = FakeBotApi::start().await;
    let mut bot = start_bot(&t, &api);
    api.push([text(1, &ANN, "/start")]);
    delivered(&api, ANN.id, WELCOME, 1).await;

    // Telegram stops answering: the reply to the note is saved, and never gets through.
    api.hold_messages_to(ANN.id, 0);
    let note = text(2, &ANN, "/note MARK-KILL-1");
    api.push([note.clone()]);
    let held = arrived(&api, ANN.id, NOTE_SAVED).await;
    assert_eq!(held.status, None, "the reply is held");
    bot.kill9();

    api.release(ANN.id);
    // The update again, as after a crash before its offset was confirmed, and one more.
    api.redeliver(note);
    api.push([text(3, &ANN, "/notes")]);
    let mut bot = start_bot(&t, &api);
    let notes = delivered(&api, ANN.id, NOTES_TITLE, 1).await;
    stop_bot(&mut bot);

    assert_eq!(delivered_count(&api, ANN.id, NOTE_SAVED), 1, "the reply arrives once:\n{}", api.summary());
    let listed = notes.text().expect("text");
    assert_eq!(listed.matches("MARK-KILL-1").count(), 1, "the note was applied once: {listed}");
    assert_eq!(delivered_count(&api, ANN.id, NOTES_TITLE), 1, "{}", api.summary());
    let texts: Vec<String> = delivered_to(&api, ANN.id).iter().filter_map(|c| c.text().map(str::to_owned)).collect();
    let saved_at = texts.iter().position(|t| t.contains(NOTE_SAVED)).expect("sent");
    let listed_at = texts.iter().position(|t| t.contains(NOTES_TITLE)).expect("sent");
    assert!(saved_at < listed_at, "what the crash left goes first: {texts:#?}");
    // The welcome was the last message delivered before the kill: at least once.
    assert!(delivered_count(&api, ANN.id, WELCOME) >= 1, "{}", api.summary());
}

/// 2. A step with two messages, killed after the first was delivered: after
///    the restart only the second goes out, and the step delivered again adds nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_kill_only_the_missing_message_of_a_step_is_sent() {
    let t = Test::new();
    let api = FakeBotApi::start().await;
    let mut bot = start_bot(&t, &api);
    api.push([text(1, &ANN, "/start")]);
    let welcome = delivered(&api, ANN.id, WELCOME, 1).await;
    api.push([press(2, &ANN, &welcome, "OK")]);
    let channels = delivered(&api, ANN.id, CHANNELS, 1).await;
    api.push([press(3, &ANN, &channels, "Online chat")]);
    let online = api
        .wait_for("the online chat taps", |calls| {
            calls
                .iter()
                .rev()
                .find(|c| {
                    c.method == "sendMessage"
                        && c.ok()
                        && c.chat() == Some(ANN.id)
                        && c.buttons().iter().any(|(l, _)| l.starts_with("OK, gather"))
                })
                .cloned()
        })
        .await;

    // This press shows two messages: the first gets through, the second is held.
    api.hold_messages_to(ANN.id, 1);
    let step = press(4, &ANN, &online, "OK, gather");
    api.push([step.clone()]);
    delivered(&api, ANN.id, PREP, 1).await;
    let held = arrived(&api, ANN.id, AMOUNT_Q).await;
    assert_eq!(held.status, None, "the second message is held");
    // The first was marked delivered before the second was sent; another user's
    // step, saved and answered after that, makes the mark durable too.
    api.push([text(5, &BOB, "/start")]);
    delivered(&api, BOB.id, WELCOME, 1).await;
    bot.kill9();

    api.release(ANN.id);
    api.redeliver(step);
    api.push([text(6, &ANN, "/progress")]);
    let mut bot = start_bot(&t, &api);
    delivered(&api, ANN.id, AMOUNT_Q, 1).await;
    delivered(&api, ANN.id, "Your progress", 1).await;
    stop_bot(&mut bot);

    assert_eq!(delivered_count(&api, ANN.id, PREP), 1, "the first message is not sent again:\n{}", api.summary());
    assert_eq!(delivered_count(&api, ANN.id, AMOUNT_Q), 1, "the second arrives once:\n{}", api.summary());
    let texts: Vec<String> = delivered_to(&api, ANN.id).iter().filter_map(|c| c.text().map(str::to_owned)).collect();
    let amount_at = texts.iter().position(|t| t.contains(AMOUNT_Q)).expect("sent");
    assert!(texts[..amount_at].iter().any(|t| t.contains(PREP)), "in order: {texts:#?}");
    // Bob's welcome was the last message delivered before the kill: at least once.
    assert!(delivered_count(&api, BOB.id, WELCOME) >= 1, "{}", api.summary());
}

/// 5. A note written, everything erased, the bot killed, and Telegram delivering
///    all three updates again: the note does not come back, on screen or on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_delivered_again_after_delete_does_not_come_back() {
    const SECRET: &str = "SECRET-X-5150";
    let t = Test::new();
    let api = FakeBotApi::start().await;
    let mut bot = start_bot(&t, &api);
    api.push([text(1, &ANN, "/start")]);
    delivered(&api, ANN.id, WELCOME, 1).await;
    let note = text(2, &ANN, &format!("/note {SECRET}"));
    api.push([note.clone()]);
    delivered(&api, ANN.id, NOTE_SAVED, 1).await;
    let delete = text(3, &ANN, "/delete");
    api.push([delete.clone()]);
    let confirm = delivered(&api, ANN.id, CONFIRM_DELETE, 1).await;
    let yes = press(4, &ANN, &confirm, "Yes");
    api.push([yes.clone()]);
    delivered(&api, ANN.id, DELETED, 1).await;
    bot.kill9();
    let data = t.path("data");
    assert_eq!(files_containing(&data, SECRET.as_bytes()), Vec::<PathBuf>::new());

    for update in [note, delete, yes] {
        api.redeliver(update);
    }
    api.push([text(5, &ANN, "/notes")]);
    let mut bot = start_bot(&t, &api);
    let answer = delivered(&api, ANN.id, "No notes yet", 1).await;
    stop_bot(&mut bot);

    let after: Vec<String> =
        delivered_to(&api, ANN.id).iter().skip(4).filter_map(|c| c.text().map(str::to_owned)).collect();
    assert!(!after.iter().any(|t| t.contains(SECRET)), "{after:#?}");
    assert!(answer.text().is_some_and(|t| !t.contains(SECRET)), "{answer:?}");
    assert_eq!(delivered_count(&api, ANN.id, NOTE_SAVED), 1, "{}", api.summary());
    // The farewell was the last message delivered before the kill: at least once.
    assert!(delivered_count(&api, ANN.id, DELETED) >= 1, "{}", api.summary());
    assert_eq!(files_containing(&data, SECRET.as_bytes()), Vec::<PathBuf>::new());
}

/// A SIGTERM while the bot is still starting (here: waiting for Telegram to
/// answer getMe) stops it cleanly once it has started, like one later on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigterm_during_start_up_is_a_clean_stop() {
    let t = Test::new();
    let api = FakeBotApi::start().await;
    api.slow_down("getMe", Duration::from_secs(1));
    let mut bot = start_bot(&t, &api);
    api.wait_for("getMe", |calls| calls.iter().any(|c| c.method == "getMe").then_some(())).await;
    stop_bot(&mut bot);
}

// ----- the terminal --------------------------------------------------------

/// What `chat` prints when a line could not be saved (en).
const NOT_SAVED: &str = "was not saved";

/// `guidebot chat` on `data` with the Huabei guide, no wrapping, and `extra` flags.
fn chat_cmd(t: &Test, data: &Path, extra: &[&str]) -> Command {
    let dialogues = dialogues();
    let mut args = vec![
        "chat",
        "--dialogues",
        dialogues.to_str().expect("utf-8 path"),
        "--data",
        data.to_str().expect("utf-8 path"),
        "--width",
        "0",
    ];
    args.extend_from_slice(extra);
    t.cmd(&args)
}

/// Runs `chat` with `lines` as its whole input; waits for its exit.
fn chat_once(t: &Test, data: &Path, extra: &[&str], lines: &[&str]) -> (ExitStatus, String, String) {
    let mut chat = Proc::spawn(chat_cmd(t, data, extra));
    for l in lines {
        chat.line(l);
    }
    chat.close_stdin();
    let status = chat.wait_exit(LIMIT);
    (status, chat.stdout(), chat.stderr())
}

/// Sends one line to a running chat and waits until it was either saved or
/// refused; true when saved. `saved` and `refused` count what came before.
fn note_and_wait(chat: &mut Proc, text: &str, saved: &mut usize, refused: &mut usize) -> bool {
    chat.line(text);
    let (s0, r0) = (*saved, *refused);
    chat.wait_stdout(&format!("an answer to {:.30}", text), LIMIT, |o| {
        o.matches(NOTE_SAVED).count() + o.matches(NOT_SAVED).count() > s0 + r0
    });
    let out = chat.stdout();
    *saved = out.matches(NOTE_SAVED).count();
    *refused = out.matches(NOT_SAVED).count();
    assert_eq!(*saved + *refused, s0 + r0 + 1, "one answer per line:\n{out}");
    *saved > s0
}

/// On a full disk: `refusals` notes (numbered from `n`) are refused; then
/// `filler` goes and the next one is saved by the same process. Returns the
/// number of the saved note; `n` is past it.
fn refused_until_space_is_back(
    chat: &mut Proc,
    note: &dyn Fn(usize) -> String,
    n: &mut usize,
    refusals: usize,
    filler: &Path,
    (saved, refused): (&mut usize, &mut usize),
) -> usize {
    for _ in 0..refusals {
        assert!(!note_and_wait(chat, &note(*n), saved, refused), "saved on a full disk");
        *n += 1;
    }
    fs::remove_file(filler).expect("remove the filler");
    assert!(note_and_wait(chat, &note(*n), saved, refused), "not saved once space was back");
    *n += 1;
    *n - 1
}

/// `len` letters that look random (xorshift from `seed`), so that they do not compress.
fn noise(seed: u64, len: usize) -> String {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'a' + (x % 26) as u8)
        })
        .collect()
}

/// A file taking all free space on `disk` but `leave` bytes.
fn fill(disk: &Tmpfs, path: &Path, leave: u64) {
    let size = disk.free().checked_sub(leave).expect("more free than to leave");
    let file = fs::File::create(path).expect("create the filler");
    fs2::FileExt::allocate(&file, size).expect("allocate the filler");
    file.sync_all().expect("sync the filler");
}

/// 3. A real full disk under `chat`: writes are refused with a clear word to
///    the person and the chat goes on; the store is not opened on a full
///    disk; nothing acknowledged is lost; once space is back, notes save
///    again without a restart.
#[test]
fn a_full_disk_refuses_writes_says_so_and_loses_nothing() {
    if !is_root() {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let disk = match Tmpfs::mount(&tmp.path().join("disk"), "16m") {
        Ok(disk) => disk,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let t = Test::new();
    let data = disk.dir.join("data");
    let filler = disk.dir.join("filler");
    const MB: u64 = 1024 * 1024;
    let note = |n: usize| format!("/note NOTE-{n:04}-MARK {}", "a long line of notes ".repeat(150));
    let marker = |n: usize| format!("NOTE-{n:04}-MARK");

    let mut chat = Proc::spawn(chat_cmd(&t, &data, &["--min-free-mb", "4", "--lang", "en"]));
    chat.wait_stdout("the welcome", LIMIT, |o| o.contains(WELCOME));
    // Many notes piped at once, all saved while there is room.
    let batch = 40;
    for n in 0..batch {
        chat.line(&note(n));
    }
    chat.wait_stdout("40 notes saved", LIMIT, |o| o.matches(NOTE_SAVED).count() == batch);
    let mut acked: Vec<usize> = (0..batch).collect();
    let (mut saved, mut refused) = (batch, 0);
    let mut n = batch;

    // The disk fills up: below the 4 MB reserve nothing is written, and the person is told.
    fill(&disk, &filler, 2 * MB);
    assert!(disk.free() < 4 * MB, "{} bytes free", disk.free());
    acked.push(refused_until_space_is_back(&mut chat, &note, &mut n, 3, &filler, (&mut saved, &mut refused)));
    // Full again; the end of input ends the chat cleanly.
    fill(&disk, &filler, 2 * MB);
    assert!(!note_and_wait(&mut chat, &note(n), &mut saved, &mut refused), "saved on a full disk");
    n += 1;
    chat.close_stdin();
    let status = chat.wait_exit(LIMIT);
    assert!(status.success(), "{status:?}\n{}", chat.stderr());
    assert!(chat.stderr().contains("below the reserve of 4 MB"), "{}", chat.stderr());

    // The store is not opened on the still-full disk.
    let (status, out, err) = chat_once(&t, &data, &["--min-free-mb", "4", "--lang", "en"], &["/notes"]);
    assert!(!status.success(), "opened on a full disk:\n{out}");
    assert!(err.contains("MB are free") && err.contains("below the reserve of 4 MB"), "{err}");
    assert!(!out.contains(WELCOME), "{out}");

    // Space again: every acknowledged note is there, once; none of the refused ones.
    fs::remove_file(&filler).expect("remove the filler");
    let (status, out, err) =
        chat_once(&t, &data, &["--min-free-mb", "4", "--lang", "en"], &["/notes", "/note NOTE-AFTER-MARK", "/notes"]);
    assert!(status.success(), "{status:?}\n{err}");
    let listing = &out[out.find(NOTES_TITLE).expect("the notes are listed")..];
    for k in 0..n {
        let expected = usize::from(acked.contains(&k)) * 2;
        assert_eq!(listing.matches(&marker(k)).count(), expected, "note {k} (listed twice in the output)");
    }
    assert_eq!(out.matches(NOTE_SAVED).count(), 1, "{out}");
    assert_eq!(listing.matches("NOTE-AFTER-MARK").count(), 1);
}

/// A tablespace on a small tmpfs, made for one test. Dropped (with the
/// test's schema, whose tables it holds) and checkpointed before the tmpfs is
/// unmounted; if that fails, the tmpfs stays mounted: a server that lost a
/// tablespace's files under its feet stops at its next checkpoint.
struct Tablespace {
    name: String,
    schema: String,
    client: postgres::Client,
    disk: Option<Tmpfs>,
}

impl Drop for Tablespace {
    fn drop(&mut self) {
        // One statement at a time: DROP TABLESPACE cannot run in a transaction.
        let statements = [
            format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema),
            format!("DROP TABLESPACE IF EXISTS {}", self.name),
            "CHECKPOINT".to_owned(),
        ];
        for sql in &statements {
            if let Err(e) = self.client.batch_execute(sql) {
                let why = e.as_db_error().map_or(e.to_string(), |d| d.to_string());
                eprintln!("{sql} failed ({why}); the tmpfs under tablespace {} stays mounted", self.name);
                std::mem::forget(self.disk.take());
                return;
            }
        }
    }
}

/// 3b. The same under PostgreSQL: the server's disk fills up (guidebot's
///     tables are made in a tablespace on a small tmpfs, through
///     `default_tablespace` in the store URL). Each refused note is told to
///     the person, the chat goes on, nothing acknowledged is lost, and once
///     space is back notes save again without a restart.
#[test]
fn a_full_database_disk_refuses_writes_says_so_and_loses_nothing() {
    if !is_root() {
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    fs::set_permissions(tmp.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    let disk = match Tmpfs::mount(&tmp.path().join("disk"), "8m") {
        Ok(disk) => disk,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let Some(db) = TestSchema::new("full_db") else { return };
    let dir = disk.dir.clone();
    let location = dir.join("tablespace");
    fs::create_dir(&location).expect("mkdir");
    let owned = Command::new("chown").args(["-R", "postgres:"]).arg(&dir).status().is_ok_and(|s| s.success());
    if !owned {
        eprintln!("skipped: no postgres user to own the tablespace directory");
        return;
    }
    let name = format!("gbt_full_{}", std::process::id());
    let mut client = db.client();
    if let Err(e) = client.batch_execute(&format!("CREATE TABLESPACE {name} LOCATION '{}'", location.display())) {
        eprintln!("skipped: the test server cannot make a tablespace here (is it on this machine?): {e}");
        return;
    }
    let space = Tablespace { name: name.clone(), schema: db.name().to_owned(), client, disk: Some(disk) };
    let disk = space.disk.as_ref().expect("mounted");
    let url = format!("{}%20-c%20default_tablespace%3D{name}", db.url);

    let t = Test::new();
    let dialogues = dialogues();
    let chat_on_db = || {
        let dialogues = dialogues.to_str().expect("utf-8 path");
        t.cmd(&["chat", "--dialogues", dialogues, "--store", &url, "--width", "0", "--lang", "en"])
    };
    // Letters that do not compress (notes are packed before they are stored), 3 KB a note.
    let note = |n: usize| format!("/note NOTE-{n:04}-MARK {}", noise(n as u64, 3000));
    let marker = |n: usize| format!("NOTE-{n:04}-MARK");
    let mut chat = Proc::spawn(chat_on_db());
    chat.wait_stdout("the welcome", LIMIT, |o| o.contains(WELCOME));
    let (mut saved, mut refused) = (0, 0);
    let mut acked = Vec::new();
    let mut n = 0;
    for _ in 0..5 {
        assert!(note_and_wait(&mut chat, &note(n), &mut saved, &mut refused), "not saved with room to spare");
        acked.push(n);
        n += 1;
    }

    // Nearly full: notes go in while there is room, then are refused.
    let filler = dir.join("filler");
    fill(disk, &filler, 256 * 1024);
    while refused == 0 {
        assert!(n < 400, "256 KB took 400 notes of 3 KB without a refusal");
        if note_and_wait(&mut chat, &note(n), &mut saved, &mut refused) {
            acked.push(n);
        }
        n += 1;
    }
    acked.push(refused_until_space_is_back(&mut chat, &note, &mut n, 2, &filler, (&mut saved, &mut refused)));
    chat.close_stdin();
    let status = chat.wait_exit(LIMIT);
    assert!(status.success(), "{status:?}\n{}", chat.stderr());
    assert!(chat.stderr().contains("the PostgreSQL server has no disk space left"), "{}", chat.stderr());

    // Every acknowledged note is there, once; none of the refused ones.
    let mut chat = Proc::spawn(chat_on_db());
    chat.line("/notes");
    chat.close_stdin();
    let status = chat.wait_exit(LIMIT);
    let out = chat.stdout();
    assert!(status.success(), "{status:?}\n{}", chat.stderr());
    let listing = &out[out.find(NOTES_TITLE).expect("the notes are listed")..];
    for k in 0..n {
        assert_eq!(listing.matches(&marker(k)).count(), usize::from(acked.contains(&k)), "note {k}");
    }
}

/// 4. After /delete, nothing the person typed, nothing derived from it and not
///    their id is left in any file of the data directory, in any form.
#[test]
fn erasure_leaves_nothing_of_the_person_in_any_file() {
    let t = Test::new();
    let data = t.path("data");
    let user = "987654321";
    // Dates that work whatever today is: the bill was due last year, the plan starts next year.
    let this_year = jiff::Zoned::now().year();
    let (due_year, plan_year) = (this_year - 1, this_year + 1);
    let plan_date = format!("{plan_year}-05-19");
    let due_date = format!("{due_year}年5月19日");
    let texts = ["MARK-NAME-4711", "MARK-REASON-4711", "MARK-SRC-4711", "MARK-NOTE-4711A", "MARK-NOTE-4711B"];
    let lines = [
        "1".to_owned(),
        "1".to_owned(),
        "1".to_owned(),
        "35000".to_owned(),
        due_date.clone(),
        format!("name {}", texts[0]),
        "1".to_owned(),
        "5".to_owned(),
        format!("reason {}", texts[1]),
        "4".to_owned(),
        format!("sources {}", texts[2]),
        "3500.50".to_owned(),
        "1000".to_owned(),
        "/skip".to_owned(),
        // Keep the suggested margin, go on to the plan, three months.
        "1".to_owned(),
        "1".to_owned(),
        "1".to_owned(),
        plan_date.clone(),
        "2".to_owned(),
        format!("/note {}", texts[3]),
        format!("/note {}", texts[4]),
    ];
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let (status, out, err) = chat_once(&t, &data, &["--user", user], &lines);
    assert!(status.success(), "{err}");
    // Every answer was taken: the plan shows the dates and amounts typed.
    for shown in [
        &format!("应还款日：{due_year}年5月19日"),
        &format!("第 1 期　{plan_year}年5月19日　¥11,666.66"),
        "每月收入 ¥3,500.50",
        "合计 ¥35,000.00",
        texts[0],
        texts[2],
    ] {
        assert!(out.contains(shown), "{shown:?} not shown:\n{out}");
    }
    assert_eq!(out.matches("笔记已保存").count(), 2, "{out}");
    // What was typed is encrypted on disk.
    for marker in texts {
        assert_eq!(files_containing(&data, marker.as_bytes()), Vec::<PathBuf>::new(), "{marker} in clear");
    }

    let (status, out, err) = chat_once(&t, &data, &["--user", user], &["/delete", "1"]);
    assert!(status.success(), "{err}");
    assert!(out.contains("你输入的全部内容已清除"), "{out}");

    let mut needles: Vec<String> = texts.iter().map(|s| (*s).to_owned()).collect();
    needles.push(user.to_owned());
    // The amounts typed and computed from them, in every way they could be written.
    for amount in [
        "35000",
        "35,000",
        "35000.00",
        "35,000.00",
        "3500.50",
        "3,500.50",
        "3500.5",
        "1000.00",
        "1,000.00",
        "2500.50",
        "2,500.50",
        "2500.5",
        "11666.66",
        "11,666.66",
        "11666.68",
        "11,666.68",
    ] {
        needles.push(amount.to_owned());
    }
    // The dates, with and without their year, and the later installments'.
    for (year, month) in [(due_year, 5), (plan_year, 5), (plan_year, 6), (plan_year, 7)] {
        needles.push(format!("{year}-{month:02}-19"));
        needles.push(format!("{year}年{month}月19日"));
        needles.push(format!("{year}{month:02}19"));
        needles.push(format!("{year}/{month:02}/19"));
        needles.push(format!("{month}月19日"));
        needles.push(format!("{month:02}-19"));
        needles.push(format!("{month}/19"));
    }
    needles.extend(["19 May", "May 19", "19 Jun", "Jun 19", "19 Jul", "Jul 19"].map(str::to_owned));
    for needle in &needles {
        assert_eq!(files_containing(&data, needle.as_bytes()), Vec::<PathBuf>::new(), "{needle:?} left on disk");
    }
    // And the person is gone: a new chat starts from the beginning.
    let (status, out, _) = chat_once(&t, &data, &["--user", user, "--lang", "en"], &["/notes"]);
    assert!(status.success());
    assert!(out.contains("No notes yet") && !out.contains("Welcome back"), "{out}");
}

/// Modes of `data` and everything under it that are looser than private.
fn loose_modes(data: &Path) -> Vec<(PathBuf, u32)> {
    let mut loose = Vec::new();
    if mode(data) != 0o700 {
        loose.push((data.to_path_buf(), mode(data)));
    }
    for p in entries_under(data) {
        let m = mode(&p);
        let meta = fs::symlink_metadata(&p).expect("metadata");
        let ok = if meta.is_dir() {
            m == 0o700
        } else if meta.is_file() {
            m == 0o600
        } else {
            m & 0o077 == 0
        };
        if !ok {
            loose.push((p, m));
        }
    }
    loose
}

/// 6. Under `umask 000` the data directory is 0700 and its files 0600, while
///    the process runs and after; a directory left open to others is tightened.
#[test]
fn the_data_directory_is_private_whatever_the_umask() {
    let t = Test::new();
    let data = t.path("data");
    let chat_args = chat_cmd(&t, &data, &["--lang", "en"]);
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(r#"umask 000; exec "$0" "$@""#).arg(chat_args.get_program()).args(chat_args.get_args());
    cmd.current_dir(t.dir.path()).env("GUIDEBOT_TZ", "Asia/Shanghai").env_remove("GUIDEBOT_DATA");
    let mut chat = Proc::spawn(cmd);
    chat.line("/note private");
    chat.wait_stdout("the note saved", LIMIT, |o| o.contains(NOTE_SAVED));
    assert_eq!(loose_modes(&data), vec![], "while running");
    chat.close_stdin();
    assert!(chat.wait_exit(LIMIT).success(), "{}", chat.stderr());
    assert_eq!(loose_modes(&data), vec![], "after the end");

    // Someone opened it up: the next start closes it again.
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&data, fs::Permissions::from_mode(0o755)).expect("chmod");
    for p in entries_under(&data) {
        let loose = if p.is_dir() { 0o755 } else { 0o644 };
        fs::set_permissions(&p, fs::Permissions::from_mode(loose)).expect("chmod");
    }
    let (status, out, err) = chat_once(&t, &data, &["--lang", "en"], &["/notes"]);
    assert!(status.success(), "{err}");
    assert!(out.contains("private"), "the data is intact: {out}");
    assert_eq!(loose_modes(&data), vec![]);
}

/// 7. `backup` while a chat holds the store, `restore` into a new directory,
///    and `export` from there shows the notes; a restore into a non-empty
///    directory is refused and touches nothing.
#[test]
fn a_backup_taken_while_a_chat_runs_restores_with_the_notes() {
    let t = Test::new();
    let data = t.path("data");
    let mut chat = Proc::spawn(chat_cmd(&t, &data, &["--lang", "en"]));
    chat.line("/note BACKUP-MARK-1");
    chat.line("/note BACKUP-MARK-2");
    chat.wait_stdout("two notes saved", LIMIT, |o| o.matches(NOTE_SAVED).count() == 2);

    let run = |args: &[&str]| {
        let mut p = Proc::spawn(t.cmd(args));
        p.close_stdin();
        let status = p.wait_exit(LIMIT);
        (status, p.stdout(), p.stderr())
    };
    let dialogues = dialogues();
    let dialogues = dialogues.to_str().expect("utf-8 path");
    let (status, out, err) = run(&["backup", "copy", "--data", "data"]);
    assert!(status.success(), "backup while the chat runs: {out}{err}");
    assert!(out.contains("backed up"), "{out}");
    // The chat goes on after the copy; what it saves now is not in the copy.
    chat.line("/note BACKUP-MARK-3");
    chat.wait_stdout("the third note saved", LIMIT, |o| o.matches(NOTE_SAVED).count() == 3);

    let (status, out, err) = run(&["restore", "copy", "--data", "restored"]);
    assert!(status.success(), "restore: {out}{err}");
    let (status, out, err) = run(&["export", "--user", "0", "--data", "restored", "--dialogues", dialogues]);
    assert!(status.success(), "export: {out}{err}");
    assert!(out.contains("BACKUP-MARK-1") && out.contains("BACKUP-MARK-2"), "{out}");
    assert!(!out.contains("BACKUP-MARK-3"), "{out}");

    fs::create_dir(t.path("busy")).expect("mkdir");
    fs::write(t.path("busy/keep.txt"), "mine").expect("write");
    for target in ["busy", "restored"] {
        let (status, out, err) = run(&["restore", "copy", "--data", target]);
        assert!(!status.success(), "restored into the non-empty {target}: {out}");
        assert!(err.contains("not empty"), "{err}");
    }
    assert_eq!(fs::read_to_string(t.path("busy/keep.txt")).expect("read"), "mine");
    assert_eq!(fs::read_dir(t.path("busy")).expect("read_dir").count(), 1);

    chat.close_stdin();
    assert!(chat.wait_exit(LIMIT).success(), "{}", chat.stderr());
    let (status, out, _) = chat_once(&t, &data, &["--lang", "en"], &["/notes"]);
    assert!(status.success() && out.contains("BACKUP-MARK-3"), "{out}");
}
