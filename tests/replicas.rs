//! Two replicas of `guidebot bot` on one PostgreSQL database, in webhook
//! mode, the way a load balancer runs them: each update goes to one replica
//! or the other in turn, so one person's steps are applied by both. 200
//! people go through a three-step guide that ends with a reminder; midway
//! one replica is killed with SIGKILL and not restarted, and the updates it
//! no longer takes go to the other (as a load balancer, or Telegram's own
//! redelivery, would). At the end every person has finished with the answer
//! they gave, every reminder arrived exactly once, and nothing that either
//! replica had acknowledged was lost.
//!
//! Needs the test PostgreSQL server (`GUIDEBOT_TEST_POSTGRES`, see
//! `util::pg`).

#[allow(dead_code)]
mod fake_bot_api;
mod util;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use fake_bot_api::{Call, FakeBotApi, Person, TOKEN};
use serde_json::Value;
use util::Test;
use util::pg::TestSchema;
use util::process::{Proc, bot_command_with};

const SECRET: &str = "replica-Secret_0123456789";
const HOOK_URL: &str = "https://bot.example.org/tg/hook";
const USERS: i64 = 200;
/// How long one person may wait for one reply, all replicas busy.
const REPLY_WITHIN: Duration = Duration::from_secs(60);

const GUIDE: &str = "\
guide: r
lang: en
title: Replicas
start: a
reminders: { days_before: 1, hour: 0, time_zone: UTC }
nodes:
  a:
    say: Pick one to begin.
    choices:
      - label: Go
        goto: b
  b:
    say: Which day is the bill due?
    ask: { save: day, type: date }
    goto: c
  c:
    say: Saved {{ day }} for you.
    remind:
      - id: due
        date: day
        say: Reminder about {{ day }}.
    end: true
";

/// One replica: `guidebot bot` on the shared database, taking webhook requests.
fn start_replica(t: &Test, api: &FakeBotApi, url: &str) -> (Proc, String) {
    let webhook =
        ["--tick-seconds", "1", "--webhook-url", HOOK_URL, "--webhook-secret", SECRET, "--listen", "127.0.0.1:0"];
    let proc = Proc::spawn(bot_command_with(t, &api.url(), TOKEN, "replica-guide", &["--store", url], &webhook));
    let hook =
        format!("http://{}/tg/hook", proc.logged_address("listening for webhook updates", Duration::from_secs(30)));
    (proc, hook)
}

/// The load balancer: each update to the next live replica in turn; a
/// replica that does not answer 200 (it is gone) passes it to the other.
struct Balancer {
    hooks: Vec<String>,
    up: Vec<AtomicBool>,
    turn: AtomicUsize,
    next_update: AtomicI64,
    client: reqwest::Client,
    /// Requests that reached each replica and were answered 200.
    taken: Vec<AtomicUsize>,
}

impl Balancer {
    fn update_id(&self) -> i64 {
        self.next_update.fetch_add(1, Ordering::Relaxed)
    }

    async fn post(&self, update: &Value) {
        let deadline = Instant::now() + REPLY_WITHIN;
        let mut answers = Vec::new();
        loop {
            let first = self.turn.fetch_add(1, Ordering::Relaxed);
            for k in 0..self.hooks.len() {
                let i = (first + k) % self.hooks.len();
                if !self.up[i].load(Ordering::Relaxed) {
                    continue;
                }
                let sent = self
                    .client
                    .post(&self.hooks[i])
                    .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
                    .json(update)
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().as_u16() == 200 => {
                        self.taken[i].fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    Ok(r) => answers.push(format!("replica {i}: {}", r.status())),
                    Err(e) => answers.push(format!("replica {i}: {e}")),
                }
            }
            assert!(Instant::now() < deadline, "no replica took update {update}; answers: {answers:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Messages delivered to each chat, read from the fake API's calls once each.
#[derive(Default)]
struct Inbox {
    by_chat: Mutex<HashMap<i64, Vec<Call>>>,
}

impl Inbox {
    fn watch(self: &Arc<Self>, api: FakeBotApi) -> tokio::task::JoinHandle<()> {
        let inbox = Arc::clone(self);
        tokio::spawn(async move {
            let mut seen = 0;
            loop {
                let new = api.answered_from(seen);
                seen += new.len();
                {
                    let mut by_chat = inbox.by_chat.lock().unwrap_or_else(PoisonError::into_inner);
                    for call in new.into_iter().filter(|c| c.method == "sendMessage" && c.ok()) {
                        if let Some(chat) = call.chat() {
                            by_chat.entry(chat).or_default().push(call);
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    }

    fn to(&self, chat: i64) -> Vec<Call> {
        self.by_chat.lock().unwrap_or_else(PoisonError::into_inner).get(&chat).cloned().unwrap_or_default()
    }

    /// Waits for a message to `chat` containing `needle`; the first one.
    async fn arrived(&self, chat: i64, needle: &str) -> Call {
        let deadline = Instant::now() + REPLY_WITHIN;
        loop {
            if let Some(call) = self.to(chat).into_iter().find(|c| c.text().is_some_and(|t| t.contains(needle))) {
                return call;
            }
            assert!(
                Instant::now() < deadline,
                "{chat} never got {needle:?}; it got {:?}",
                self.to(chat).iter().map(|c| c.text().unwrap_or_default().to_owned()).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn count(&self, chat: i64, needle: &str) -> usize {
        self.to(chat).iter().filter(|c| c.text().is_some_and(|t| t.contains(needle))).count()
    }
}

/// One person through the guide: /start, the button, then (once `go_on`
/// says so) the date.
async fn walk(
    who: Person,
    day: String,
    lb: Arc<Balancer>,
    inbox: Arc<Inbox>,
    asked: Arc<AtomicUsize>,
    mut go_on: tokio::sync::watch::Receiver<bool>,
) {
    lb.post(&fake_bot_api::text(lb.update_id(), &who, "/start")).await;
    let pick = inbox.arrived(who.id, "Pick one").await;
    let data = pick.buttons().into_iter().find(|(l, _)| l == "Go").map(|(_, d)| d).expect("a Go button");
    let message = pick.result.clone().expect("the message was delivered");
    lb.post(&fake_bot_api::press(lb.update_id(), &who, &message, &data)).await;
    inbox.arrived(who.id, "Which day").await;
    asked.fetch_add(1, Ordering::Relaxed);
    go_on.wait_for(|go| *go).await.expect("the test goes on");
    lb.post(&fake_bot_api::text(lb.update_id(), &who, &day)).await;
    inbox.arrived(who.id, &format!("Saved {day}")).await;
    inbox.arrived(who.id, &format!("Reminder about {day}")).await;
}

#[test]
fn two_replicas_share_the_people_and_one_killed_midway_loses_nothing() {
    // The schema is made and dropped with blocking calls, outside the runtime.
    let Some(db) = TestSchema::new("replicas") else { return };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(two_replicas(&db.url));
}

async fn two_replicas(url: &str) {
    let t = Test::new();
    t.write("replica-guide/r.en.yaml", GUIDE);
    let api = FakeBotApi::start().await;
    let (a, hook_a) = start_replica(&t, &api, url);
    let (mut b, hook_b) = start_replica(&t, &api, url);
    let lb = Arc::new(Balancer {
        hooks: vec![hook_a, hook_b],
        up: vec![AtomicBool::new(true), AtomicBool::new(true)],
        turn: AtomicUsize::new(0),
        next_update: AtomicI64::new(1),
        client: reqwest::Client::builder().timeout(Duration::from_secs(20)).build().expect("client"),
        taken: vec![AtomicUsize::new(0), AtomicUsize::new(0)],
    });
    let inbox = Arc::new(Inbox::default());
    let watcher = inbox.watch(api.clone());

    // Each person answers a different date, so that an answer applied to the
    // wrong person, or a step applied on a stale copy, shows.
    let today = jiff::Zoned::now().with_time_zone(jiff::tz::TimeZone::UTC).date();
    let person = |i: i64| Person { id: 70_000 + i, first_name: "P", lang: "en" };
    let day = |i: i64| today.checked_sub(jiff::Span::new().days(i % 50)).expect("a date").to_string();
    let asked = Arc::new(AtomicUsize::new(0));
    let (release, go_on) = tokio::sync::watch::channel(false);
    let walks: Vec<_> = (0..USERS)
        .map(|i| {
            let (lb, inbox, asked) = (Arc::clone(&lb), Arc::clone(&inbox), Arc::clone(&asked));
            tokio::spawn(walk(person(i), day(i), lb, inbox, asked, go_on.clone()))
        })
        .collect();

    // Midway through the second step (half the people have its reply, the
    // rest are being answered), replica b dies at once, without a word; then
    // the balancer notices. The dates, and so the reminders, come after.
    let deadline = Instant::now() + REPLY_WITHIN;
    while asked.load(Ordering::Relaxed) < (USERS / 2) as usize {
        assert!(
            Instant::now() < deadline,
            "half the people never got past the button\n--- a:\n{}\n--- b:\n{}",
            a.stderr(),
            b.stderr()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    b.kill9();
    let b_took = lb.taken[1].load(Ordering::Relaxed);
    lb.up[1].store(false, Ordering::Relaxed);
    release.send(true).expect("people waiting");

    for w in walks {
        w.await.unwrap_or_else(|e| panic!("a person could not finish: {e}\n--- a:\n{}", a.stderr()));
    }
    // Every person: each reply at least once (one that b had sent but not yet
    // marked sent when it died may come twice), their own date, and the
    // reminder exactly once.
    let mut twice = Vec::new();
    for i in 0..USERS {
        let chat = person(i).id;
        for needle in ["Pick one", "Which day", "Saved"] {
            let n = inbox.count(chat, needle);
            assert!(n >= 1, "{chat} got {needle:?} {n} times");
            if n > 1 {
                twice.push((chat, needle, n));
            }
        }
        assert_eq!(inbox.count(chat, &format!("Saved {}", day(i))), 1.max(inbox.count(chat, "Saved")));
        assert_eq!(inbox.count(chat, "Reminder about"), 1, "{chat}: one reminder");
    }
    // A reply b had sent but not yet marked sent when it died goes out again
    // from a: at most one per person (one chat's replies go one at a time),
    // and never a reminder (all were sent after the kill).
    let mut per_chat: HashMap<i64, usize> = HashMap::new();
    for (chat, ..) in &twice {
        *per_chat.entry(*chat).or_default() += 1;
    }
    assert!(per_chat.values().all(|n| *n == 1) && twice.iter().all(|(_, _, n)| *n == 2), "repeated: {twice:?}");
    assert!(b_took > 50, "replica b took its share before it died: {b_took}");
    assert!(lb.taken[0].load(Ordering::Relaxed) > 50);
    watcher.abort();
    let mut a = a;
    let status = a.terminate(Duration::from_secs(30));
    assert!(status.success(), "replica a stops cleanly: {status:?}\n{}", a.stderr());
}
