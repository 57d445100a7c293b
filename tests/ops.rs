//! What operators rely on, with the real binary against the fake Bot API on
//! loopback (`fake_bot_api`): webhook mode (setWebhook with the secret, the
//! secret-token header checked, replies through the same delivery, nothing
//! of a refused request applied or stored, the webhook left in place at a
//! stop), `/healthz`, `/readyz` and `/metrics` on `--metrics-listen`, and
//! `--version`.
//!
//! Both servers are started on port 0 and the tests read the addresses the
//! bot logs. Every wait polls for something seen (a call reaching the fake
//! API, an HTTP answer, a log line) with a deadline; a negative check
//! ("nothing more was sent") is made after a later update of the same chat
//! was answered, as one chat's updates are handled in order.

#[allow(dead_code)]
mod fake_bot_api;
mod util;

use std::time::{Duration, Instant};

use fake_bot_api::{Call, FakeBotApi, Person, TOKEN};
use serde_json::Value;
use util::Test;
use util::process::{Proc, bot_command};

const ANN: Person = Person { id: 4242, first_name: "Ann", lang: "en" };
const BOB: Person = Person { id: 5353, first_name: "Bob", lang: "en" };

/// How long a process may take to start, answer or stop.
const LIMIT: Duration = Duration::from_secs(30);
/// The secret the tests give; the header must carry exactly this.
const SECRET: &str = "test-Secret_0123456789";
const HOOK_URL: &str = "https://bot.example.org/tg/hook";

/// Words of the Huabei guide (en) and of the engine that the tests wait for.
const WELCOME: &str = "Take a breath";
const NOTE_SAVED: &str = "Note saved.";

/// `guidebot bot` on `t`'s data directory against the fake API, no pacing, with `extra` flags.
fn start_bot(t: &Test, api: &FakeBotApi, extra: &[&str], env: &[(&str, &str)]) -> Proc {
    let mut cmd = bot_command(t, &api.url(), TOKEN, extra);
    for (k, v) in env {
        cmd.env(k, v);
    }
    Proc::spawn(cmd)
}

/// The address the bot logged on the line saying `what` (`address=IP:PORT`).
fn logged_address(bot: &Proc, what: &str) -> String {
    bot.logged_address(what, LIMIT)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(20)).build().expect("an HTTP client")
}

/// Status and body of GET `url`.
async fn get(url: &str) -> (u16, String) {
    let response = client().get(url).send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status().as_u16();
    (status, response.text().await.expect("a body"))
}

/// GETs `url` until `check` accepts the answer; fails after a while with the last one.
async fn get_until(url: &str, what: &str, check: impl Fn(u16, &str) -> bool) -> (u16, String) {
    let deadline = Instant::now() + LIMIT;
    loop {
        let (status, body) = get(url).await;
        if check(status, &body) {
            return (status, body);
        }
        assert!(Instant::now() < deadline, "{url} never answered {what}; last: {status} {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// POSTs `update` to the webhook with `secret` in the header (None: no header); the status.
async fn post(hook: &str, update: &Value, secret: Option<&str>) -> u16 {
    let mut request = client().post(hook).json(update);
    if let Some(secret) = secret {
        request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
    }
    request.send().await.unwrap_or_else(|e| panic!("POST {hook}: {e}")).status().as_u16()
}

/// The value of an unlabelled metric in `/metrics` text.
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

/// Successful sendMessage calls to `chat` containing `needle`.
fn delivered_count(api: &FakeBotApi, chat: i64, needle: &str) -> usize {
    api.calls_of("sendMessage")
        .iter()
        .filter(|c| c.ok() && c.chat() == Some(chat) && c.text().is_some_and(|t| t.contains(needle)))
        .count()
}

/// Waits until `count` messages to `chat` containing `needle` were delivered.
async fn delivered(api: &FakeBotApi, chat: i64, needle: &str, count: usize) {
    api.wait_for(&format!("message {count} to {chat} containing {needle:?}"), |calls: &[Call]| {
        let found = calls
            .iter()
            .filter(|c| {
                c.method == "sendMessage"
                    && c.ok()
                    && c.chat() == Some(chat)
                    && c.text().is_some_and(|t| t.contains(needle))
            })
            .count();
        (found >= count).then_some(())
    })
    .await;
}

/// Stops the bot with SIGTERM; it must finish what it took and exit 0.
fn stop_bot(bot: &mut Proc) {
    let status = bot.terminate(LIMIT);
    assert!(status.success(), "the bot stops cleanly: {status:?}\n{}", bot.stderr());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_mode_takes_only_requests_with_the_secret_and_answers_through_the_outbox() {
    let t = Test::new();
    let api = FakeBotApi::start().await;
    let mut bot = start_bot(
        &t,
        &api,
        &["--webhook-url", HOOK_URL, "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"],
        &[("GUIDEBOT_WEBHOOK_SECRET", SECRET)],
    );
    let hook = format!("http://{}/tg/hook", logged_address(&bot, "listening for webhook updates"));
    let ops = format!("http://{}", logged_address(&bot, "serving /healthz"));

    // setWebhook with the URL and the secret; no polling, the webhook is not removed.
    let set = api.wait_for("setWebhook", |calls| calls.iter().find(|c| c.method == "setWebhook").cloned()).await;
    assert_eq!(set.body["url"], HOOK_URL, "{}", set.body);
    assert_eq!(set.body["secret_token"], SECRET, "{}", set.body);
    get_until(&format!("{ops}/readyz"), "200 ready", |s, _| s == 200).await;
    assert_eq!(get(&format!("{ops}/healthz")).await.0, 200);

    // Bob's /start without the header, then with a wrong one: refused, nothing applied.
    let bobs_start = fake_bot_api::text(2, &BOB, "/start");
    assert_eq!(post(&hook, &bobs_start, None).await, 401);
    assert_eq!(post(&hook, &bobs_start, Some("wrong-secret")).await, 401);
    assert_eq!(post(&hook, &bobs_start, Some(&SECRET[1..])).await, 401);
    // Elsewhere than the URL's path: not found.
    let elsewhere = hook.replace("/tg/hook", "/other");
    assert_eq!(post(&elsewhere, &bobs_start, Some(SECRET)).await, 404);

    // Ann's /start with the secret: 200 once saved, and the reply goes out through the outbox.
    assert_eq!(post(&hook, &fake_bot_api::text(1, &ANN, "/start"), Some(SECRET)).await, 200);
    delivered(&api, ANN.id, WELCOME, 1).await;

    // The same update id as Bob's refused requests, now with the secret: it is new to the
    // bot (had a refused one been applied, this would be a repeat and get no reply).
    assert_eq!(post(&hook, &bobs_start, Some(SECRET)).await, 200);
    delivered(&api, BOB.id, WELCOME, 1).await;

    // Telegram delivering Ann's update again: applied once. A later note shows it.
    assert_eq!(post(&hook, &fake_bot_api::text(1, &ANN, "/start"), Some(SECRET)).await, 200);
    assert_eq!(post(&hook, &fake_bot_api::text(3, &ANN, "/note webhook"), Some(SECRET)).await, 200);
    delivered(&api, ANN.id, NOTE_SAVED, 1).await;
    assert_eq!(delivered_count(&api, ANN.id, WELCOME), 1, "{}", api.summary());
    assert_eq!(delivered_count(&api, BOB.id, WELCOME), 1, "{}", api.summary());

    // The counts of a delivery move just after Telegram's answer: wait for the outbox to empty.
    let (_, text) = get_until(&format!("{ops}/metrics"), "an empty outbox", |s, text| {
        s == 200 && metric(text, "guidebot_outbox_depth") == 0.0
    })
    .await;
    assert_eq!(metric(&text, "guidebot_webhook_rejected_total"), 3.0);
    assert_eq!(metric(&text, "guidebot_updates_received_total"), 4.0, "refused requests are not updates");
    assert_eq!(metric(&text, "guidebot_steps_applied_total"), 3.0, "the repeat is not a step");
    assert_eq!(metric(&text, "guidebot_step_seconds_count"), 3.0);
    assert!(metric(&text, "guidebot_messages_sent_total") >= 3.0, "{text}");
    assert_eq!(metric(&text, "guidebot_store_errors_total"), 0.0);
    assert_eq!(metric(&text, "guidebot_serving"), 1.0);

    stop_bot(&mut bot);
    assert!(api.calls_of("getUpdates").is_empty(), "no polling in webhook mode:\n{}", api.summary());
    assert!(api.calls_of("deleteWebhook").is_empty(), "the webhook stays for the other replicas");
    assert!(!bot.stderr().contains(SECRET), "the secret is never logged:\n{}", bot.stderr());
}

/// 200 means saved: a webhook request answered 200 and the process killed at once,
/// before its reply got through, still gets its reply after the restart, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_update_answered_200_survives_a_kill() {
    let t = Test::new();
    let api = FakeBotApi::start().await;
    let webhook = ["--webhook-url", HOOK_URL, "--listen", "127.0.0.1:0", "--webhook-secret", SECRET];
    let mut bot = start_bot(&t, &api, &webhook, &[]);
    let hook = format!("http://{}/tg/hook", logged_address(&bot, "listening for webhook updates"));
    // Garbage without the header is refused for the header, before anything is read.
    let refused = client().post(&hook).body("not json").send().await.expect("POST").status().as_u16();
    assert_eq!(refused, 401);

    // Telegram stops answering Ann's messages: the reply is saved and never gets through.
    api.hold_messages_to(ANN.id, 0);
    assert_eq!(post(&hook, &fake_bot_api::text(1, &ANN, "/start"), Some(SECRET)).await, 200);
    bot.kill9();
    api.release(ANN.id);

    let mut bot = start_bot(&t, &api, &webhook, &[]);
    delivered(&api, ANN.id, WELCOME, 1).await;
    let hook = format!("http://{}/tg/hook", logged_address(&bot, "listening for webhook updates"));
    assert_eq!(post(&hook, &fake_bot_api::text(2, &ANN, "/note after"), Some(SECRET)).await, 200);
    delivered(&api, ANN.id, NOTE_SAVED, 1).await;
    assert_eq!(delivered_count(&api, ANN.id, WELCOME), 1, "{}", api.summary());
    stop_bot(&mut bot);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_readiness_and_metrics_follow_the_bot_in_polling_mode() {
    let t = Test::new();
    let api = FakeBotApi::start().await;
    let mut bot = start_bot(&t, &api, &["--metrics-listen", "127.0.0.1:0"], &[]);
    let ops = format!("http://{}", logged_address(&bot, "serving /healthz"));
    assert_eq!(get(&format!("{ops}/healthz")).await, (200, "ok\n".to_owned()));
    let (_, ready) = get_until(&format!("{ops}/readyz"), "200 ready", |s, _| s == 200).await;
    assert_eq!(ready, "ready\n");

    // A step, with one 429 on the way: counted where each happened.
    api.too_many_requests("sendMessage", 1);
    api.push([fake_bot_api::text(1, &ANN, "/start")]);
    delivered(&api, ANN.id, WELCOME, 1).await;
    let (_, text) = get_until(&format!("{ops}/metrics"), "an empty outbox", |s, text| {
        s == 200 && metric(text, "guidebot_outbox_depth") == 0.0
    })
    .await;
    assert_eq!(metric(&text, "guidebot_messages_sent_total"), 1.0);
    assert_eq!(metric(&text, "guidebot_updates_received_total"), 1.0);
    assert_eq!(metric(&text, "guidebot_steps_applied_total"), 1.0);
    assert_eq!(metric(&text, "guidebot_too_many_requests_total"), 1.0);
    assert_eq!(metric(&text, "guidebot_retries_total"), 1.0);
    assert_eq!(metric(&text, "guidebot_reminders_sent_total"), 0.0);
    assert!(text.contains(&format!("guidebot_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"))));

    // The Bot API failing: not ready, with the reason; then ready again.
    api.fail_next(
        "getMe",
        500,
        serde_json::json!({ "ok": false, "error_code": 500, "description": "Internal Server Error" }),
    );
    let (_, why) = get_until(&format!("{ops}/readyz"), "503 with the Bot API's failure", |s, body| {
        s == 503 && body.contains("bot api")
    })
    .await;
    assert!(why.contains("500"), "{why}");
    assert!(!why.contains(TOKEN.split(':').nth(1).expect("secret part")), "no token in {why}");
    get_until(&format!("{ops}/readyz"), "200 again", |s, _| s == 200).await;
    assert_eq!(get(&format!("{ops}/healthz")).await.0, 200, "alive all along");

    stop_bot(&mut bot);
}

#[test]
fn version_prints_the_crate_version() {
    let out = Test::new().cmd(&["--version"]).output().expect("runs");
    assert!(out.status.success());
    assert_eq!(util::stdout(&out), format!("guidebot {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn webhook_flags_are_checked_before_anything_starts() {
    let t = Test::new();
    let run = |args: &[&str]| {
        let out = t.cmd(args).env("TELOXIDE_TOKEN", TOKEN).env("TELOXIDE_API_URL", "http://127.0.0.1:9").output();
        out.expect("runs")
    };
    let alone = run(&["bot", "--webhook-url", HOOK_URL]);
    assert_eq!(alone.status.code(), Some(2));
    assert!(util::stderr(&alone).contains("--listen"), "{}", util::stderr(&alone));
    let plain = run(&["bot", "--webhook-url", "http://bot.example.org/hook", "--listen", "127.0.0.1:0"]);
    assert_eq!(plain.status.code(), Some(2));
    assert!(util::stderr(&plain).contains("https://"), "{}", util::stderr(&plain));
    let bad = run(&["bot", "--webhook-url", HOOK_URL, "--listen", "127.0.0.1:0", "--webhook-secret", "no spaces"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(util::stderr(&bad).contains("1 to 256 characters"), "{}", util::stderr(&bad));
    assert!(!util::stderr(&bad).contains("no spaces"), "the given secret is not echoed: {}", util::stderr(&bad));
}
