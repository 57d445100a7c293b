//! `guidebot bot` end to end: the real handler tree and `run_bot`, against a
//! fake Bot API on loopback (`fake_bot_api`), with a small guide written to
//! a temporary folder and a sled store there. Each test waits for what it
//! expects by watching the calls the bot makes; negative checks ("nothing
//! else was sent") are made after a later update of the same chat has been
//! answered (one chat's updates are handled in order) or after a clean stop
//! (which finishes every update fetched).

mod fake_bot_api;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use fake_bot_api::{Call, FakeBotApi, Person, TOKEN};
use guidebot::adapters::store::{Change, EventId, SledStore, UserId};
use guidebot::adapters::telegram::{
    BotError, Limits, Outbox, Retry, Sender, Settings, TelegramNotifier, bot_at, run_bot,
};
use guidebot::app::admin::Admins;
use guidebot::app::reminders;
use guidebot::app::{App, Clock, FixedClock};
use jiff::tz::TimeZone;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const GUIDE_EN: &str = r#"
guide: debt
lang: en
default: true
title: Debt guide
start: welcome
stages:
  - { id: one, title: Getting started }
nodes:
  welcome:
    stage: one
    say: "Hello {{ user.first_name }}! Where do we start?"
    choices:
      - label: Begin
        goto: amount
      - label: Later
        goto: bye
  amount:
    stage: one
    label: Amount
    say: How much do you owe?
    ask: { save: debt, type: money, min: 1 }
    goto: due
  due:
    stage: one
    label: Due date
    say: When is the payment due?
    ask: { save: due, type: date }
    goto: docs
  docs:
    stage: one
    label: Documents
    say: Tick the papers you have.
    remind:
      - id: pay
        on: due
        days_before: 1
        say: "Your payment is due tomorrow ({{ due }})."
    checklist:
      save: have
      items:
        - { id: payslip, label: Payslip }
        - { id: contract, label: Contract }
      done: All done
    goto: bye
  bye:
    stage: one
    say: That is all for now.
    end: true
"#;

const GUIDE_ZH: &str = r#"
guide: debt
lang: zh
title: 债务指南
start: welcome
stages:
  - { id: one, title: 开始 }
nodes:
  welcome:
    stage: one
    say: "{{ user.first_name }}，你好！我们从哪里开始？"
    choices:
      - label: 开始
        goto: amount
      - label: 以后再说
        goto: bye
  amount:
    stage: one
    label: 金额
    say: 你欠多少钱？
    ask: { save: debt, type: money, min: 1 }
    goto: due
  due:
    stage: one
    label: 到期日
    say: 什么时候到期？
    ask: { save: due, type: date }
    goto: docs
  docs:
    stage: one
    label: 材料
    say: 勾选你手上有的材料。
    remind:
      - id: pay
        on: due
        days_before: 1
        say: "明天（{{ due }}）要还款。"
    checklist:
      save: have
      items:
        - { id: payslip, label: 工资单 }
        - { id: contract, label: 合同 }
      done: 完成
    goto: bye
  bye:
    stage: one
    say: 先到这里。
    end: true
"#;

/// A Telegram user's id in the store.
fn u(id: i64) -> UserId {
    UserId::telegram(id)
}

const ANN: Person = Person { id: 4242, first_name: "Ann", lang: "en" };

const WELCOME: &str = "Hello Ann! Where do we start?";
const AMOUNT_Q: &str = "How much do you owe?";
const DUE_Q: &str = "When is the payment due?";
const DOCS_Q: &str = "Tick the papers you have.";

/// One "Telegram" (the fake API), one data folder and one clock, shared by
/// the bot instances a test starts one after the other.
struct World {
    dir: tempfile::TempDir,
    api: FakeBotApi,
    clock: Arc<FixedClock>,
    next_update: AtomicI64,
}

/// A bot instance running in the background.
struct Running {
    app: Arc<App>,
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), BotError>>,
}

fn settings() -> Settings {
    Settings {
        poll_timeout: Duration::from_secs(1),
        reminder_every: Duration::from_secs(3600),
        zone: TimeZone::get("Asia/Shanghai").expect("zone"),
        limits: Limits { per_chat_burst: 100, per_chat_per_second: 100, overall_per_second: 1000 },
        retry: Retry { attempts: 4, first_backoff: Duration::from_millis(100), max_backoff: Duration::from_secs(2) },
        admins: Vec::new(),
        dialogues: None,
        drain: Duration::from_secs(5),
        ..Settings::default()
    }
}

impl World {
    async fn new() -> World {
        let dir = tempfile::tempdir().expect("temp dir");
        let dialogues = dir.path().join("dialogues");
        std::fs::create_dir(&dialogues).expect("dialogues folder");
        std::fs::write(dialogues.join("debt.en.yaml"), GUIDE_EN).expect("write guide");
        std::fs::write(dialogues.join("debt.zh.yaml"), GUIDE_ZH).expect("write guide");
        let now: jiff::Timestamp = "2026-12-01T01:00:00Z".parse().expect("timestamp");
        World {
            dir,
            api: FakeBotApi::start().await,
            clock: Arc::new(FixedClock::new(now)),
            next_update: AtomicI64::new(1),
        }
    }

    fn start(&self) -> Running {
        self.start_with(settings())
    }

    fn start_with(&self, settings: Settings) -> Running {
        self.launch(settings, self.clock.clone())
    }

    fn launch(&self, settings: Settings, clock: Arc<dyn Clock>) -> Running {
        let library = guidebot::cli::load_dialogues(&self.dir.path().join("dialogues")).expect("the test guide loads");
        let store = SledStore::open(&self.dir.path().join("data")).expect("the store opens");
        let app = Arc::new(App::new(library, Arc::new(store)));
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            // A dropped sender stops the bot too.
            let _ = stopped.await;
        };
        let task = tokio::spawn(run_bot(Arc::clone(&app), self.bot(), clock, settings, shutdown));
        Running { app, stop, task }
    }

    fn bot(&self) -> teloxide::Bot {
        bot_at(TOKEN, Some(&self.api.url())).expect("a bot for the fake API")
    }

    fn update_id(&self) -> i64 {
        self.next_update.fetch_add(1, Ordering::Relaxed)
    }

    /// Ann types `text`.
    fn say(&self, text: &str) {
        self.api.push([fake_bot_api::text(self.update_id(), &ANN, text)]);
    }

    /// Ann presses the button labelled `label` on the message the bot sent in `sent`.
    fn press(&self, sent: &Call, label: &str) {
        let data = data_of(sent, label);
        self.press_data(sent, &data);
    }

    /// Ann's client sends a press with any `data` on the message of `sent`.
    fn press_data(&self, sent: &Call, data: &str) {
        let message = sent.result.clone().expect("the message was sent");
        self.api.push([fake_bot_api::press(self.update_id(), &ANN, &message, data)]);
    }

    /// Waits for a successful sendMessage to Ann containing `needle`; returns it.
    async fn sent(&self, needle: &str) -> Call {
        self.api
            .wait_for(&format!("a message containing {needle:?}"), |calls| {
                calls
                    .iter()
                    .rev()
                    .find(|c| c.method == "sendMessage" && c.ok() && c.text().is_some_and(|t| t.contains(needle)))
                    .cloned()
            })
            .await
    }

    /// Ann sends /start and presses Begin; returns the amount question.
    async fn begin(&self) -> Call {
        self.say("/start");
        let welcome = self.sent(WELCOME).await;
        self.press(&welcome, "Begin");
        self.sent(AMOUNT_Q).await
    }

    /// Starts the guide and walks it with typed answers up to the checklist.
    async fn walk_to_checklist(&self) -> Call {
        self.begin().await;
        self.say("3500");
        self.sent(DUE_Q).await;
        self.say("2026-12-15");
        self.sent(DOCS_Q).await
    }

    /// Sends /progress and waits for its answer: every earlier update of
    /// Ann's chat has been handled once it arrives.
    async fn settle(&self) {
        let before = self.count(|c| c.method == "sendMessage" && c.text().is_some_and(|t| t.contains("Your progress")));
        self.say("/progress");
        self.api
            .wait_for("the answer to /progress", |calls| {
                let now = calls
                    .iter()
                    .filter(|c| {
                        c.method == "sendMessage" && c.ok() && c.text().is_some_and(|t| t.contains("Your progress"))
                    })
                    .count();
                (now > before).then_some(())
            })
            .await;
    }

    fn count(&self, f: impl Fn(&Call) -> bool) -> usize {
        self.api.calls().iter().filter(|c| f(c)).count()
    }

    /// Texts of the messages sent to Ann, in order.
    fn texts(&self) -> Vec<String> {
        self.api
            .calls_of("sendMessage")
            .iter()
            .filter(|c| c.chat() == Some(ANN.id) && c.ok())
            .filter_map(|c| c.text().map(str::to_owned))
            .collect()
    }
}

impl Running {
    /// Stops like Ctrl-C or SIGTERM would and waits for a clean end; returns
    /// the app so the test can look at what was stored.
    async fn stop(self) -> Arc<App> {
        let _ = self.stop.send(());
        let ended = tokio::time::timeout(Duration::from_secs(20), self.task).await.expect("the bot stops within 20 s");
        ended.expect("the bot task did not panic").expect("the bot stops cleanly");
        self.app
    }

    fn node(&self, user: i64) -> Option<String> {
        self.app.state(u(user)).expect("state").node
    }
}

fn data_of(sent: &Call, label: &str) -> String {
    sent.buttons()
        .into_iter()
        .find(|(l, _)| l == label)
        .map(|(_, d)| d)
        .unwrap_or_else(|| panic!("no button {label:?} in {:?}", sent.buttons()))
}

fn message_id(sent: &Call) -> i64 {
    sent.result.as_ref().and_then(|m| m["message_id"].as_i64()).expect("a message id")
}

fn is_edit_of(call: &Call, id: i64) -> bool {
    call.method.starts_with("editMessage") && call.body["message_id"].as_i64() == Some(id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_shows_the_first_question_with_its_buttons() {
    let world = World::new().await;
    let bot = world.start();
    world.say("/start");
    let welcome = world.sent(WELCOME).await;
    assert_eq!(welcome.chat(), Some(ANN.id));
    assert_eq!(welcome.body["parse_mode"], "HTML");
    let labels: Vec<String> = welcome.buttons().into_iter().map(|(l, _)| l).collect();
    assert_eq!(labels, ["Begin", "Later"]);
    for (_, data) in welcome.buttons() {
        assert!(data.len() <= 64 && data.starts_with("g1:"), "{data}");
    }
    assert_eq!(bot.node(ANN.id).as_deref(), Some("welcome"));
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_menus_are_set_in_every_guide_language() {
    let world = World::new().await;
    let bot = world.start();
    let menus = world
        .api
        .wait_for("three setMyCommands calls", |calls| {
            let menus: Vec<Call> = calls.iter().filter(|c| c.method == "setMyCommands" && c.ok()).cloned().collect();
            (menus.len() == 3).then_some(menus)
        })
        .await;
    let of = |lang: Option<&str>| {
        menus
            .iter()
            .find(|c| c.body.get("language_code").and_then(Value::as_str) == lang)
            .unwrap_or_else(|| panic!("no menu for {lang:?}"))
            .body["commands"]
            .clone()
    };
    let describe = |menu: &Value, name: &str| {
        let commands = menu.as_array().expect("a list of commands");
        let command = commands.iter().find(|c| c["command"] == name).expect("the command is in the menu");
        command["description"].as_str().expect("a description").to_owned()
    };
    assert_eq!(describe(&of(Some("zh")), "start"), "开始或继续指南");
    assert_eq!(describe(&of(Some("en")), "start"), "Start or resume the guide");
    assert_eq!(describe(&of(None), "export"), "Get your case file as a document");
    assert!(of(Some("en")).as_array().expect("list").iter().any(|c| c["command"] == "lang"));
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chinese_client_gets_the_chinese_guide() {
    let world = World::new().await;
    let bot = world.start();
    let li = Person { id: 5151, first_name: "李", lang: "zh-hans" };
    world.api.push([fake_bot_api::text(world.update_id(), &li, "/start")]);
    let welcome = world.sent("李，你好！我们从哪里开始？").await;
    let labels: Vec<String> = welcome.buttons().into_iter().map(|(l, _)| l).collect();
    assert_eq!(labels, ["开始", "以后再说"]);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_choice_press_edits_the_question_and_asks_the_next() {
    let world = World::new().await;
    let bot = world.start();
    world.say("/start");
    let welcome = world.sent(WELCOME).await;
    let id = message_id(&welcome);
    world.press(&welcome, "Begin");
    world.sent(AMOUNT_Q).await;
    // The edit goes out beside the next question, not before it: wait for it too.
    world.api.wait_for("the edit", |calls| calls.iter().any(|c| is_edit_of(c, id)).then_some(())).await;

    let calls = world.api.calls();
    let edit = calls.iter().position(|c| is_edit_of(c, id)).expect("the question was edited");
    let edit = &calls[edit];
    assert_eq!(edit.method, "editMessageText");
    assert_eq!(edit.text(), Some(format!("{WELCOME}\n\n→ Begin").as_str()));
    assert!(edit.body.get("reply_markup").is_none(), "the answered question loses its buttons");
    assert!(
        calls.iter().any(|c| c.method == "answerCallbackQuery" && c.body["callback_query_id"].as_str().is_some()),
        "the press was answered"
    );
    assert_eq!(bot.node(ANN.id).as_deref(), Some("amount"));
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_then_a_good_typed_answer() {
    let world = World::new().await;
    let bot = world.start();
    world.begin().await;

    world.say("lots");
    world
        .api
        .wait_for("the question asked again", |calls| {
            let asked = calls.iter().filter(|c| c.method == "sendMessage" && c.ok() && c.text() == Some(AMOUNT_Q));
            (asked.count() == 2).then_some(())
        })
        .await;
    let texts = world.texts();
    let hint = &texts[texts.len() - 2];
    assert!(hint.starts_with("Please type an amount"), "a hint before the question: {texts:#?}");
    assert_eq!(bot.node(ANN.id).as_deref(), Some("amount"));

    world.say("3500");
    world.sent(DUE_Q).await;
    let state = bot.app.state(u(ANN.id)).expect("state");
    assert_eq!(state.node.as_deref(), Some("due"));
    assert!(state.answers.get("amount").is_some_and(|a| a.contains("3,500")), "{:?}", state.answers);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checklist_toggle_changes_the_button_in_place() {
    let world = World::new().await;
    let bot = world.start();
    let docs = world.walk_to_checklist().await;
    let id = message_id(&docs);
    let messages_before = world.count(|c| c.method == "sendMessage");

    world.press(&docs, "⬜ Payslip");
    let edit = world
        .api
        .wait_for("the checklist edited in place", |calls| calls.iter().find(|c| is_edit_of(c, id) && c.ok()).cloned())
        .await;
    let labels: Vec<String> = edit.buttons().into_iter().map(|(l, _)| l).collect();
    assert_eq!(labels, ["✅ Payslip", "⬜ Contract", "All done"]);
    assert_eq!(edit.text(), Some(DOCS_Q), "the text stays");

    world.settle().await;
    let messages_after = world.count(|c| c.method == "sendMessage");
    assert_eq!(messages_after, messages_before + 1, "only the /progress answer was sent:\n{}", world.api.summary());
    let state = bot.app.state(u(ANN.id)).expect("state");
    assert_eq!(state.node.as_deref(), Some("docs"));
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_button_gets_a_notice_and_the_current_step() {
    let world = World::new().await;
    let bot = world.start();
    world.begin().await;
    let welcome = world.sent(WELCOME).await;
    // The press on Begin edits the welcome beside the next question: count edits once it is out.
    let id = message_id(&welcome);
    world.api.wait_for("the welcome edited", |calls| calls.iter().any(|c| is_edit_of(c, id)).then_some(())).await;
    let edits_before = world.count(|c| c.method.starts_with("editMessage"));

    // A button of the question already answered.
    world.press(&welcome, "Later");
    world.sent("That button belongs to an earlier step").await;
    world.settle().await;
    let texts = world.texts();
    let notice = texts.iter().position(|t| t.contains("earlier step")).expect("notice");
    assert_eq!(texts.get(notice + 1).map(String::as_str), Some(AMOUNT_Q), "then the current step");
    assert_eq!(world.count(|c| c.method.starts_with("editMessage")), edits_before, "nothing edited");
    assert_eq!(bot.node(ANN.id).as_deref(), Some("amount"));
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_tap_is_answered_without_a_new_message() {
    let world = World::new().await;
    let bot = world.start();
    world.say("/start");
    let welcome = world.sent(WELCOME).await;
    // Two presses of the same button, as a person tapping twice while the reply is on its way.
    world.press(&welcome, "Begin");
    world.press(&welcome, "Begin");
    world.sent(AMOUNT_Q).await;
    world.settle().await;
    let texts = world.texts();
    assert_eq!(texts.iter().filter(|t| t.as_str() == AMOUNT_Q).count(), 1, "{texts:#?}");
    assert!(!texts.iter().any(|t| t.contains("earlier step")), "no notice for a double tap: {texts:#?}");
    assert_eq!(world.count(|c| c.method == "answerCallbackQuery"), 2, "both presses answered");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_buttons_get_one_notice_per_step() {
    let world = World::new().await;
    let bot = world.start();
    world.begin().await;
    let welcome = world.sent(WELCOME).await;
    for _ in 0..3 {
        world.press(&welcome, "Later");
    }
    world.settle().await;
    let texts = world.texts();
    assert_eq!(texts.iter().filter(|t| t.contains("earlier step")).count(), 1, "{texts:#?}");
    assert_eq!(world.count(|c| c.method == "answerCallbackQuery"), 4, "every press answered (Begin + 3)");
    // The next step may get its own notice.
    world.say("3500");
    world.sent(DUE_Q).await;
    world.press(&welcome, "Later");
    world.settle().await;
    assert_eq!(world.texts().iter().filter(|t| t.contains("earlier step")).count(), 2);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_chat_flooding_the_bot_is_slowed_alone() {
    let world = World::new().await;
    // Telegram's pacing: one message a second in a chat after a short burst.
    let paced = Settings {
        limits: Limits { per_chat_burst: 3, per_chat_per_second: 1, overall_per_second: 1000 },
        ..settings()
    };
    let bot = world.start_with(paced);
    world.say("/start");
    world.sent(WELCOME).await;
    let flood: Vec<Value> =
        (0..60).map(|i| fake_bot_api::text(world.update_id(), &ANN, &format!("/note n{i}"))).collect();
    world.api.push(flood);
    world.sent("That is a lot at once").await;

    let bob = Person { id: 5252, first_name: "Bob", lang: "en" };
    let asked = std::time::Instant::now();
    world.api.push([fake_bot_api::text(world.update_id(), &bob, "/start")]);
    world
        .api
        .wait_for("Bob's welcome", |calls| {
            calls
                .iter()
                .any(|c| c.chat() == Some(bob.id) && c.ok() && c.text() == Some("Hello Bob! Where do we start?"))
                .then_some(())
        })
        .await;
    let waited = asked.elapsed();
    assert!(waited < Duration::from_millis(1500), "Bob waited {waited:?} behind Ann's flood");
    let app = bot.stop().await;
    let notices = world.texts().iter().filter(|t| t.contains("That is a lot at once")).count();
    assert_eq!(notices, 1, "one polite notice");
    // What was set aside was not applied; what was applied was answered (now or at the next start).
    // The backlog that sets updates aside is 20 waiting replies, the one being sent included:
    // that one may still be the welcome's, so 19 notes can be enough.
    let notes = app.state(u(ANN.id)).expect("state").notes.len();
    assert!((19..60).contains(&notes), "{notes} notes applied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pacing_spaces_one_chats_messages_and_zero_switches_it_off() {
    // Five notes, then /notes of five long notes: several messages in a row.
    async fn spread(world: &World, limits: Limits) -> Duration {
        let bot = world.start_with(Settings { limits, ..settings() });
        world.say("/start");
        world.sent(WELCOME).await;
        let before = world.count(|c| c.method == "sendMessage");
        for i in 0..4 {
            world.say(&format!("/note {i} {}", "x".repeat(3900)));
        }
        world.say("/notes");
        world
            .api
            .wait_for("the notes", |calls| {
                (calls.iter().filter(|c| c.method == "sendMessage").count() >= before + 8).then_some(())
            })
            .await;
        let times: Vec<tokio::time::Instant> =
            world.api.calls_of("sendMessage").iter().skip(before).map(|c| c.at).collect();
        drop(bot.stop().await);
        times[times.len() - 1] - times[0]
    }
    let world = World::new().await;
    let paced = spread(&world, Limits { per_chat_burst: 3, per_chat_per_second: 2, overall_per_second: 0 }).await;
    // Eight messages, three at once, then one every half second: at least 2.5 s.
    assert!(paced >= Duration::from_millis(2400), "{paced:?}");
    let world = World::new().await;
    let free = spread(&world, Limits::off()).await;
    assert!(free < Duration::from_millis(1500), "{free:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_full_of_ampersands_split_by_what_telegram_counts() {
    let world = World::new().await;
    let bot = world.start();
    world.say("/start");
    world.sent(WELCOME).await;
    for i in 0..5 {
        world.say(&format!("/note {i}{}", "&".repeat(1000)));
    }
    world.settle().await;
    let before = world.count(|c| c.method == "sendMessage");
    world.say("/notes");
    world.settle().await;
    let calls = world.api.calls_of("sendMessage");
    let parts: Vec<&str> = calls[before..].iter().filter_map(|c| c.text()).filter(|t| t.contains("&amp;")).collect();
    // 5,000 visible characters: two messages (escaped, they would have taken seven).
    assert_eq!(parts.len(), 2, "{}", parts.len());
    for p in parts {
        let visible =
            p.replace("&amp;", "&").replace("<i>", "").replace("</i>", "").replace("<b>", "").replace("</b>", "");
        assert!(visible.encode_utf16().count() <= 4096, "{}", visible.len());
    }
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_callback_data_is_answered_and_changes_nothing() {
    let world = World::new().await;
    let bot = world.start();
    world.say("/start");
    let welcome = world.sent(WELCOME).await;
    let before = bot.app.state(u(ANN.id)).expect("state");
    let messages_before = world.count(|c| c.method == "sendMessage");

    world.press_data(&welcome, "not-made-by-the-bot");
    world.press_data(&welcome, "g1:1:zz:c0");
    world.settle().await;

    let answered = world.count(|c| c.method == "answerCallbackQuery" && c.ok());
    assert_eq!(answered, 2, "every press is answered");
    assert_eq!(world.count(|c| c.method.starts_with("editMessage")), 0);
    assert_eq!(world.count(|c| c.method == "sendMessage"), messages_before + 1, "only /progress was answered");
    let after = bot.app.state(u(ANN.id)).expect("state");
    assert_eq!((after.node, after.seq), (before.node, before.seq));
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sticker_gets_one_line_and_changes_nothing() {
    let world = World::new().await;
    let bot = world.start();
    world.say("/start");
    world.sent(WELCOME).await;
    let before = bot.app.state(u(ANN.id)).expect("state");

    world.api.push([fake_bot_api::sticker(world.update_id(), &ANN)]);
    world.sent("I can only read text messages").await;
    world.settle().await;
    let lines = world.texts().iter().filter(|t| t.contains("only read text")).count();
    assert_eq!(lines, 1);
    assert_eq!(bot.app.state(u(ANN.id)).expect("state"), before);
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_message_is_ignored() {
    let world = World::new().await;
    let bot = world.start();
    world.begin().await;
    let before = bot.app.state(u(ANN.id)).expect("state");
    let messages_before = world.count(|c| c.method == "sendMessage");

    world.api.push([fake_bot_api::edited_text(world.update_id(), &ANN, 10, "3500")]);
    world.settle().await;
    assert_eq!(world.count(|c| c.method == "sendMessage"), messages_before + 1, "only /progress was answered");
    assert_eq!(bot.app.state(u(ANN.id)).expect("state").answers, before.answers);
    assert_eq!(bot.node(ANN.id).as_deref(), Some("amount"));
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_record_gets_an_apology_and_others_go_on() {
    let world = World::new().await;
    let bot = world.start();
    let broken = Change { record: Some(b"not a state at all"), ..Change::default() };
    bot.app.store().commit(u(ANN.id), &broken).expect("save");
    world.say("/start");
    world.sent("Sorry, something went wrong").await;
    let stored = bot.app.store().load(u(ANN.id)).expect("load").map(|s| s.record);
    assert_eq!(stored.as_deref(), Some(&b"not a state at all"[..]), "left as is");

    let bob = Person { id: 5252, first_name: "Bob", lang: "en" };
    world.api.push([fake_bot_api::text(world.update_id(), &bob, "/start")]);
    world.sent("Hello Bob! Where do we start?").await;
    bot.stop().await;
}

/// A clock that panics once when armed: a stand-in for any bug in a handler.
struct Tripwire {
    armed: AtomicBool,
    clock: Arc<FixedClock>,
}

impl Clock for Tripwire {
    fn now(&self) -> jiff::Timestamp {
        if self.armed.swap(false, Ordering::SeqCst) {
            panic!("tripwire: a bug inside a handler");
        }
        self.clock.now()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_ends_only_its_update() {
    let world = World::new().await;
    let tripwire = Arc::new(Tripwire { armed: AtomicBool::new(false), clock: world.clock.clone() });
    let bot = world.launch(settings(), tripwire.clone());
    world.say("/start");
    let welcome = world.sent(WELCOME).await;

    tripwire.armed.store(true, Ordering::SeqCst);
    world.press(&welcome, "Begin");
    world.sent("Sorry, something went wrong").await;
    assert_eq!(bot.node(ANN.id).as_deref(), Some("welcome"), "the failed update changed nothing");

    // The same chat goes on: the button still works.
    world.press(&welcome, "Begin");
    world.sent(AMOUNT_Q).await;
    assert_eq!(bot.node(ANN.id).as_deref(), Some("amount"));
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_gets_one_pointer_to_a_private_chat_and_nothing_is_stored() {
    let world = World::new().await;
    let bot = world.start();
    let group = -100_123;
    let (first, second) = (world.update_id(), world.update_id());
    world.api.push([
        fake_bot_api::group_text(first, &ANN, group, "/start"),
        fake_bot_api::group_text(second, &ANN, group, "hello?"),
    ]);
    let pointer = world
        .api
        .wait_for("a reply in the group", |calls| {
            calls.iter().find(|c| c.method == "sendMessage" && c.chat() == Some(group) && c.ok()).cloned()
        })
        .await;
    assert!(pointer.text().is_some_and(|t| t.contains("private chats") && t.contains("t.me/guide_test_bot")));

    let app = bot.stop().await;
    let replies = world.count(|c| c.method == "sendMessage" && c.chat() == Some(group));
    assert_eq!(replies, 1, "at most one reply per group");
    assert_eq!(app.store().users().expect("users"), Vec::<UserId>::new(), "no record for anyone");
    assert!(app.store().first_delivery(EventId::telegram(first)).expect("store"), "not even the update id was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_then_notes_escapes_what_was_typed() {
    let world = World::new().await;
    let bot = world.start();
    world.say("/start");
    world.sent(WELCOME).await;
    world.say("/note call the <bank> & ask");
    world.sent("Note saved.").await;
    world.say("/notes");
    let notes = world.sent("Your notes").await;
    assert!(notes.text().is_some_and(|t| t.contains("call the &lt;bank&gt; &amp; ask")), "{:?}", notes.text());
    let state = bot.app.state(u(ANN.id)).expect("state");
    assert_eq!(state.notes.len(), 1);
    assert_eq!(state.notes[0].text, "call the <bank> & ask");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_sends_the_case_file_as_a_document() {
    let world = World::new().await;
    let bot = world.start();
    world.walk_to_checklist().await;
    world.say("/export");
    world.sent("Here is your case file").await;
    let document = world
        .api
        .wait_for("the case file", |calls| calls.iter().find(|c| c.method == "sendDocument" && c.ok()).cloned())
        .await;
    assert!(document.raw.contains("filename=\"debt-2026-12-01.md\""), "{}", document.raw);
    assert!(document.raw.contains("# Debt guide"), "{}", document.raw);
    assert!(document.raw.contains("Amount") && document.raw.contains("3,500"), "{}", document.raw);
    assert!(document.raw.contains(&format!("name=\"chat_id\"\r\n\r\n{}", ANN.id)));
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_erases_the_user() {
    let world = World::new().await;
    let bot = world.start();
    world.begin().await;
    world.say("/note private matter");
    world.sent("Note saved.").await;
    assert!(bot.app.store().load(u(ANN.id)).expect("load").is_some());

    world.say("/delete");
    let confirm = world.sent("Erase everything").await;
    world.press(&confirm, "Yes");
    world.sent("has been erased").await;
    assert_eq!(bot.app.store().load(u(ANN.id)).expect("load"), None);
    assert!(!bot.app.store().users().expect("users").contains(&u(ANN.id)));
    let app = bot.stop().await;
    assert_eq!(app.store().load(u(ANN.id)).expect("load"), None, "still gone after the stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_retried_after_the_wait_and_the_message_arrives() {
    let world = World::new().await;
    let bot = world.start();
    world.api.too_many_requests("sendMessage", 1);
    world.say("/start");
    world.sent(WELCOME).await;
    let tries: Vec<Call> =
        world.api.calls_of("sendMessage").into_iter().filter(|c| c.text() == Some(WELCOME)).collect();
    assert_eq!(tries.len(), 2, "{}", world.api.summary());
    assert_eq!(tries[0].status, Some(429));
    assert!(tries[1].ok());
    assert!(tries[1].at - tries[0].at >= Duration::from_millis(950), "retry_after is honoured");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_and_the_old_buttons_still_work() {
    let world = World::new().await;
    let bot = world.start();
    world.say("/start");
    let welcome = world.sent(WELCOME).await;
    drop(bot.stop().await);

    let bot = world.start();
    world.press(&welcome, "Begin");
    world.sent(AMOUNT_Q).await;
    assert!(world.api.calls().iter().any(|c| is_edit_of(c, message_id(&welcome)) && c.ok()));
    assert_eq!(bot.node(ANN.id).as_deref(), Some("amount"));
    drop(bot.stop().await);

    let bot = world.start();
    world.say("/start");
    world.sent("Welcome back").await;
    world.settle().await;
    let texts = world.texts();
    let back = texts.iter().position(|t| t.starts_with("Welcome back")).expect("welcomed back");
    assert_eq!(texts.get(back + 1).map(String::as_str), Some(AMOUNT_Q), "where Ann left off");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_update_delivered_twice_is_applied_once() {
    let world = World::new().await;
    let bot = world.start();
    world.begin().await;

    // In one batch, as after a crash before the offset was confirmed.
    let answer = fake_bot_api::text(world.update_id(), &ANN, "3500");
    world.api.push([answer.clone(), answer.clone()]);
    world.sent(DUE_Q).await;
    world.settle().await;
    drop(bot.stop().await);

    // Again after a restart: the new poller starts without an offset.
    let bot = world.start();
    world.api.push([answer]);
    world.settle().await;
    let texts = world.texts();
    // Applied once: "3500" was never taken as an answer to the date question. A repeat
    // sends only what of its reply was not delivered (here: nothing).
    assert_eq!(texts.iter().filter(|t| t.as_str() == DUE_Q).count(), 1, "{texts:#?}");
    assert!(!texts.iter().any(|t| t.contains("Please type a date")), "{texts:#?}");
    assert_eq!(bot.node(ANN.id).as_deref(), Some("due"));
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_while_updates_are_in_flight_finishes_them() {
    let world = World::new().await;
    let bot = world.start();
    // Wait until the bot polls, so that the three updates arrive in one batch.
    world.api.wait_for("polling", |calls| calls.iter().any(|c| c.method == "getUpdates").then_some(())).await;
    world.api.slow_down("sendMessage", Duration::from_millis(400));
    let people: Vec<Person> = (0..3).map(|i| Person { id: 9000 + i, first_name: "Ann", lang: "en" }).collect();
    let updates: Vec<Value> = people.iter().map(|p| fake_bot_api::text(world.update_id(), p, "/start")).collect();
    let last = updates.last().and_then(|u| u["update_id"].as_i64()).expect("an id");
    world.api.push(updates);
    world
        .api
        .wait_for("a reply on its way", |calls| calls.iter().any(|c| c.method == "sendMessage").then_some(()))
        .await;

    let app = bot.stop().await;
    for p in &people {
        let answered = world
            .api
            .calls_of("sendMessage")
            .iter()
            .any(|c| c.chat() == Some(p.id) && c.ok() && c.text() == Some(WELCOME));
        assert!(answered, "user {} got the reply:\n{}", p.id, world.api.summary());
        assert_eq!(app.state(u(p.id)).expect("state").node.as_deref(), Some("welcome"), "persisted");
    }
    let confirmed =
        world.api.calls_of("getUpdates").iter().filter_map(|c| c.body["offset"].as_i64()).max().expect("polled");
    assert_eq!(confirmed, last + 1, "the fetched updates were confirmed");
}

/// One round of the core's reminder service beside the running bot, through
/// a Telegram notifier of its own: how many users had reminders due.
async fn remind_now(world: &World, app: &Arc<App>) -> usize {
    let outbox = Outbox::new(world.bot(), Limits::default(), Retry::default());
    let sender = Sender::new(outbox.clone(), Arc::clone(app.store()));
    let notifier = TelegramNotifier::new(sender, outbox, Arc::new(Admins::default()));
    let (app, now) = (Arc::clone(app), world.clock.now());
    tokio::task::spawn_blocking(move || reminders::remind(&app, &notifier, now).users).await.expect("a round")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_are_sent_once_across_restarts() {
    let world = World::new().await;
    let bot = world.start();
    world.walk_to_checklist().await;
    let app = bot.stop().await;
    assert_eq!(app.store().due(i64::MAX - 1).expect("due"), vec![u(ANN.id)], "scheduled");
    drop(app);

    // The day before the payment, after the guide's reminder hour (09:00 in Shanghai).
    world.clock.set("2026-12-14T02:00:00Z".parse().expect("timestamp"));
    let often = Settings { reminder_every: Duration::from_millis(100), ..settings() };
    let bot = world.start_with(often.clone());
    world.sent("⏰ Your payment is due tomorrow (2026-12-15).").await;
    assert_eq!(remind_now(&world, &bot.app).await, 0, "already sent");
    drop(bot.stop().await);

    let bot = world.start_with(often);
    assert_eq!(remind_now(&world, &bot.app).await, 0, "not after a restart either");
    let app = bot.stop().await;
    let sent = world.texts().iter().filter(|t| t.starts_with('⏰')).count();
    assert_eq!(sent, 1);
    assert_eq!(app.store().due(i64::MAX - 1).expect("due"), Vec::<UserId>::new(), "nothing left to send");
    assert!(app.state(u(ANN.id)).expect("state").reminders["pay"].sent);
}

#[test]
fn without_a_token_the_binary_explains_how_to_get_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_guidebot"))
        .arg("--data")
        .arg(dir.path().join("data"))
        .arg("bot")
        .env_remove("TELOXIDE_TOKEN")
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("TELOXIDE_TOKEN") && stderr.contains("@BotFather") && stderr.contains("/newbot"),
        "{stderr}"
    );
    assert!(stderr.contains("guidebot chat"), "{stderr}");
    assert!(!dir.path().join("data").exists(), "nothing is created without a token");
}

/// The real binary: answers through TELOXIDE_API_URL, never logs the token,
/// and exits 0 on SIGTERM.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_answers_and_stops_cleanly_on_sigterm() {
    use std::io::Read;
    use std::process::{Command, Stdio};

    let world = World::new().await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_guidebot"))
        .arg("--dialogues")
        .arg(world.dir.path().join("dialogues"))
        .arg("--data")
        .arg(world.dir.path().join("data"))
        .arg("bot")
        .env("TELOXIDE_TOKEN", TOKEN)
        .env("TELOXIDE_API_URL", world.api.url())
        .env("RUST_LOG", "debug")
        .env_remove("TELOXIDE_PROXY")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut stderr = child.stderr.take().expect("stderr");
    let log = std::thread::spawn(move || {
        let mut text = String::new();
        stderr.read_to_string(&mut text).expect("read stderr");
        text
    });

    world.say("/start");
    world.sent(WELCOME).await;
    let killed = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().expect("kill runs");
    assert!(killed.success());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(tokio::time::Instant::now() < deadline, "the bot did not stop on SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let log = log.join().expect("stderr reader");
    assert!(status.success(), "{status:?}\n{log}");
    let secret = TOKEN.split(':').nth(1).expect("token secret");
    assert!(!log.contains(secret), "the token leaked into the log:\n{log}");
    assert!(log.contains("shutting down"), "{log}");
}

// ----- for dialogue authors: hot reload and admin commands -----------------

const ADMIN: Person = Person { id: 9001, first_name: "Root", lang: "en" };

impl World {
    fn guide_path(&self) -> std::path::PathBuf {
        self.dir.path().join("dialogues/debt.en.yaml")
    }

    /// A bot that watches its dialogues folder, with ADMIN as admin.
    fn start_watching(&self) -> Running {
        let settings =
            Settings { admins: vec![u(ADMIN.id)], dialogues: Some(self.dir.path().join("dialogues")), ..settings() };
        self.start_with(settings)
    }

    fn admin_says(&self, text: &str) {
        self.api.push([fake_bot_api::text(self.update_id(), &ADMIN, text)]);
    }

    /// Waits for a message to ADMIN containing `needle`.
    async fn told_admin(&self, needle: &str) -> String {
        self.api
            .wait_for(&format!("a message to the admin containing {needle:?}"), |calls| {
                calls
                    .iter()
                    .find(|c| {
                        c.method == "sendMessage"
                            && c.chat() == Some(ADMIN.id)
                            && c.text().is_some_and(|t| t.contains(needle))
                    })
                    .and_then(|c| c.text().map(str::to_owned))
            })
            .await
    }
}

impl Running {
    /// Waits until the app serves a library in which `check` holds.
    async fn until_library(&self, what: &str, check: impl Fn(&guidebot::domain::dialogue::Library) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !check(&self.app.library()) {
            assert!(tokio::time::Instant::now() < deadline, "the bot never reloaded: {what}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

fn say_of(lib: &guidebot::domain::dialogue::Library, node: &str) -> Option<String> {
    lib.get("debt", "en").and_then(|g| g.node(node)).and_then(|n| n.say.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_edit_is_seen_at_the_next_step_without_a_restart() {
    let world = World::new().await;
    let bot = world.start_watching();
    world.begin().await;

    std::fs::write(world.guide_path(), GUIDE_EN.replace(AMOUNT_Q, "What is the overdue amount?")).expect("edit");
    bot.until_library("new amount text", |lib| say_of(lib, "amount").as_deref() == Some("What is the overdue amount?"))
        .await;
    world.say("a lot");
    world.sent("What is the overdue amount?").await;
    assert_eq!(bot.node(ANN.id).as_deref(), Some("amount"), "the user kept their place");
    drop(bot.stop().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_edit_keeps_the_old_guide_and_tells_the_admin_where() {
    let world = World::new().await;
    let bot = world.start_watching();
    world.begin().await;

    std::fs::write(world.guide_path(), GUIDE_EN.replace("    goto: due\n", "    goto: duee\n")).expect("broken edit");
    let notice = world.told_admin("not reloaded").await;
    assert!(
        notice.contains("debt.en.yaml:23:11: node `amount` goes to `duee`, which does not exist; did you mean `due`?"),
        "{notice}"
    );
    // The old version keeps serving.
    world.say("3500");
    world.sent(DUE_Q).await;
    assert_eq!(world.count(|c| c.chat() == Some(ANN.id) && c.text().is_some_and(|t| t.contains("not reloaded"))), 0);
    drop(bot.stop().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_on_a_removed_node_moves_to_the_start_of_their_stage() {
    let world = World::new().await;
    let bot = world.start_watching();
    world.begin().await;
    world.say("3500");
    world.sent(DUE_Q).await;

    let without_due = GUIDE_EN.replace("    goto: due\n", "    goto: docs\n").replace(
        "  due:\n    stage: one\n    label: Due date\n    say: When is the payment due?\n    ask: { save: due, type: date }\n    goto: docs\n",
        "",
    ).replace("        on: due\n", "        on: today\n").replace("({{ due }})", "");
    let zh_without_due = GUIDE_ZH.replace("    goto: due\n", "    goto: docs\n").replace(
        "  due:\n    stage: one\n    label: 到期日\n    say: 什么时候到期？\n    ask: { save: due, type: date }\n    goto: docs\n",
        "",
    ).replace("        on: due\n", "        on: today\n").replace("（{{ due }}）", "");
    std::fs::write(world.dir.path().join("dialogues/debt.zh.yaml"), zh_without_due).expect("edit zh");
    std::fs::write(world.guide_path(), without_due).expect("edit en");
    bot.until_library("`due` removed", |lib| {
        lib.get("debt", "en").is_some_and(|g| g.node("due").is_none())
            && lib.get("debt", "zh").is_some_and(|g| g.node("due").is_none())
    })
    .await;

    world.say("2026-12-15");
    world.sent("This guide has been updated").await;
    world.sent(WELCOME).await;
    let st = bot.app.state(u(ANN.id)).expect("state");
    assert_eq!(st.node.as_deref(), Some("welcome"), "first node of stage `one`");
    assert_eq!(st.vars["debt"].display(), "3500", "answers kept");
    drop(bot.stop().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_and_reload_are_for_admins_only() {
    let world = World::new().await;
    let bot = world.start_watching();
    world.walk_to_checklist().await;

    world.admin_says("/stats");
    let stats = world.told_admin("Users:").await;
    assert!(stats.contains("debt (en): 1"), "{stats}");
    assert!(stats.contains("finished: 0"), "{stats}");
    assert!(stats.contains("1  docs"), "Ann stopped at the checklist: {stats}");

    world.admin_says("/reload");
    let reply = world.told_admin("Reloaded").await;
    assert!(reply.contains("1 guide(s), no problems"), "{reply}");

    world.say("/stats");
    world.sent("/back: previous question").await;
    assert_eq!(world.count(|c| c.chat() == Some(ANN.id) && c.text().is_some_and(|t| t.contains("Users:"))), 0);
    drop(bot.stop().await);
}

// ----- the Huabei guide's reminders ------------------------------------------

impl World {
    /// A world whose dialogues are the shipped ones.
    async fn shipped() -> World {
        let world = World::new().await;
        let dialogues = world.dir.path().join("dialogues");
        for f in ["debt.en.yaml", "debt.zh.yaml"] {
            std::fs::remove_file(dialogues.join(f)).expect("remove test guide");
        }
        let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dialogues");
        for f in ["huabei-overdue.zh.yaml", "huabei-overdue.en.yaml", "schema.json"] {
            std::fs::copy(shipped.join(f), dialogues.join(f)).expect("copy shipped guide");
        }
        world
    }

    /// Ann, as she is at the end of the agreement scenario (contact log, agreement, two installments paid).
    fn ann_after_the_agreement(&self) -> guidebot::domain::engine::UserState {
        let lib = guidebot::cli::load_dialogues(&self.dir.path().join("dialogues")).expect("shipped guides");
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/huabei-log-agreement.yaml");
        let text = std::fs::read_to_string(&path).expect("scenario");
        // The times below are set for a conversation held on 15 January 2026.
        let day = jiff::civil::date(2026, 1, 15);
        let (_, state) = guidebot::domain::scenario::replay_on(&lib, &path, &text, day).expect("the scenario passes");
        let store = SledStore::open(&self.dir.path().join("data")).expect("store");
        let app = App::new(lib, Arc::new(store));
        app.put_state(u(ANN.id), &state).expect("saved");
        state
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_huabei_guide_reminds_each_installment_once_across_restarts() {
    let world = World::shipped().await;
    let state = world.ann_after_the_agreement();
    let waiting: Vec<&String> = state.reminders.iter().filter(|(_, r)| !r.sent).map(|(id, _)| id).collect();
    assert_eq!(waiting, ["due-3", "due-4", "due-5", "followup-1"], "paid installments are not reminded");
    let often = Settings { reminder_every: Duration::from_millis(100), ..settings() };
    let reminders = || world.texts().into_iter().filter(|t| t.starts_with('⏰')).collect::<Vec<_>>();

    // 9 April, 10:00 in Shanghai: the follow-up (20 January) and installment 3 (due 10 April) are due.
    world.clock.set("2026-04-09T02:00:00Z".parse().expect("time"));
    let bot = world.start_with(often.clone());
    let third = world.sent("第 3 期").await;
    // Every reminder offers the way back to the menu, whatever step the person is at.
    let labels: Vec<String> = third.buttons().into_iter().map(|(l, _)| l).collect();
    assert_eq!(labels, ["回到菜单"]);
    world.sent("跟进日").await;
    drop(bot.stop().await);
    assert_eq!(reminders().len(), 2);

    // A restart a month later: only installment 4.
    world.clock.set("2026-05-09T02:00:00Z".parse().expect("time"));
    let bot = world.start_with(often.clone());
    world.sent("第 4 期").await;
    drop(bot.stop().await);
    assert_eq!(reminders().len(), 3);

    // Long after the last one: installment 5, then nothing more, even after another restart.
    world.clock.set("2026-07-01T02:00:00Z".parse().expect("time"));
    let bot = world.start_with(often.clone());
    world.sent("第 5 期").await;
    drop(bot.stop().await);
    let bot = world.start_with(often);
    assert_eq!(remind_now(&world, &bot.app).await, 0);
    let app = bot.stop().await;

    let sent = reminders();
    assert_eq!(sent.len(), 4, "{sent:#?}");
    for n in ["第 3 期", "第 4 期", "第 5 期", "跟进日"] {
        assert_eq!(sent.iter().filter(|t| t.contains(n)).count(), 1, "{n} exactly once: {sent:#?}");
    }
    assert!(!sent.iter().any(|t| t.contains("第 1 期") || t.contains("第 2 期")), "paid ones never: {sent:#?}");
    assert_eq!(app.store().due(i64::MAX - 1).expect("due"), Vec::<UserId>::new(), "nothing left to send");
}
