//! The store under many users: fills a `SledStore` in a temporary directory
//! with N users (default 100 000), each going through an 8-step dialogue via
//! `App::handle_once` with the Telegram front end's outbox items (delivered
//! and taken out as the bot does), then reports disk use per user, the
//! number of files, start-up time and the time of one step, each on the
//! filled store against an empty one.
//!
//! Targets: at most 2 KB on disk per user; start-up time that does not grow
//! with the number of users.
//!
//! Run: `cargo bench --bench store -- --users 10000` (options: `--users N`,
//! `--threads N` writers at once, default 64; `--keep DIR` fills DIR, which
//! must not exist, and leaves it for inspection).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use guidebot::adapters::store::{EventId, SledStore, Store, StoreError, UserId};
use guidebot::adapters::telegram::delivery::{Reply, encode, plan};
use guidebot::app::{App, Delivery, ctx_at};
use guidebot::domain::dialogue::{Library, load_library};
use guidebot::domain::engine::{Ctx, Event, Output, UserState};
use teloxide::types::{ChatId, MessageId};

// The same allocator as the guidebot binary, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Eight nodes, eight events from /start to the end: two choices, a money,
/// two dates, a number and a text answer; the end computes a schedule and
/// schedules a reminder.
const GUIDE: &str = r#"
guide: repay
lang: zh
title: 整理逾期账单，准备和客服协商
start: welcome
reminders: { days_before: 1, hour: 9, time_zone: Asia/Shanghai }
stages:
  - { id: facts, title: 账单情况 }
  - { id: plan, title: 还款计划 }
nodes:
  welcome:
    stage: facts
    label: 开始
    say: |
      你好{% if user.first_name %}，{{ user.first_name }}{% endif %}。我们一步一步整理账单情况，最后得到一份可以直接发给客服的还款计划。
    choices:
      - label: 好的，开始
        goto: amount
  amount:
    stage: facts
    label: 逾期金额
    say: 逾期金额是多少？（账单里能看到，例如 3500）
    ask: { save: debt, type: money, min: 0.01, invalid: "请输入金额，例如 3500 或 3,500.50。" }
    goto: due
  due:
    stage: facts
    label: 到期日
    say: 这笔账单哪天到期？（例如 2026-11-10 或 11-10）
    ask: { save: due, type: date, max: today }
    goto: reason
  reason:
    stage: facts
    label: 逾期原因
    compute:
      overdue_days: days_between(due, today)
    say: 已经逾期 {{ overdue_days }} 天。主要原因是？
    choices:
      - { label: 收入减少, set: { reason: 收入减少 } }
      - { label: 临时急用, set: { reason: 临时急用 } }
      - { label: 忘记还款, set: { reason: 忘记还款 } }
    goto: months
  months:
    stage: plan
    label: 分期期数
    say: 希望分几期还清？（1 到 24）
    ask: { save: months, type: number, whole: true, min: 1, max: 24 }
    goto: first_pay
  first_pay:
    stage: plan
    label: 首期还款日
    say: 第一期打算哪天还？
    ask: { save: first_pay, type: date, min: today }
    goto: phone
  phone:
    stage: plan
    label: 手机尾号
    say: 客服核对身份时常问手机号后四位。想写在材料里就输入，不想写可以跳过。
    ask: { save: phone, type: text, max: 20, optional: true }
    goto: summary
  summary:
    stage: plan
    compute:
      plan: installments(debt, months, first_pay)
    remind:
      - id: first
        on: first_pay
        say: 明天是你定的第一期还款日，金额 {{ plan[0].amount | money }}。
    say: |
      **你的还款计划**：共 {{ debt | money }}，分 {{ months }} 期，原因：{{ reason }}。
      {% for p in plan %}{{ p.n }}. {{ p.due | date }}：{{ p.amount | money }}
      {% endfor %}
      第一期前一天我会提醒你。
    end: true
"#;

struct Options {
    users: usize,
    threads: usize,
    keep: Option<PathBuf>,
}

fn options() -> Options {
    let mut o = Options { users: 100_000, threads: 64, keep: None };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> usize {
            let v = args.next().unwrap_or_else(|| fail(&format!("{name} needs a number")));
            v.parse().unwrap_or_else(|_| fail(&format!("{name} needs a whole number, not {v:?}")))
        };
        match arg.as_str() {
            "--users" => o.users = number("--users").max(1),
            "--threads" => o.threads = number("--threads").max(1),
            "--keep" => o.keep = Some(args.next().unwrap_or_else(|| fail("--keep needs a directory")).into()),
            // `cargo bench` adds `--bench`; a name filter means nothing here.
            _ => {}
        }
    }
    o
}

fn fail(message: &str) -> ! {
    eprintln!("store bench: {message}");
    std::process::exit(2)
}

fn library() -> Library {
    load_library(&[(PathBuf::from("repay.zh.yaml"), GUIDE.to_owned())]).unwrap_or_else(|errors| {
        let text: Vec<String> = errors.iter().map(|e| format!("{e:?}")).collect();
        fail(&format!("the bench guide does not load:\n{}", text.join("\n")))
    })
}

fn ctx() -> Ctx {
    let zone = jiff::tz::TimeZone::get("Asia/Shanghai").unwrap_or(jiff::tz::TimeZone::UTC);
    let now: jiff::Timestamp = "2026-11-28T02:00:00Z".parse().unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    ctx_at(now, &zone, Some("小明".to_owned()), Some("zh".to_owned()))
}

/// Event ids, unique across the run (as Telegram's update ids are).
static EVENT: AtomicI64 = AtomicI64::new(1);

/// The user's `k`-th event (0..8), given what the previous one showed.
fn event(user: UserId, k: usize, last: &Output) -> Event {
    let u = user.id.unsigned_abs() as usize;
    let press = |i: usize| {
        let buttons: Vec<_> = last.last_keyboard().map(|m| m.buttons.concat()).unwrap_or_default();
        match buttons.get(i % buttons.len().max(1)) {
            Some(b) => Event::Press(b.press),
            None => fail(&format!("no button to press at step {k}: {:?}", last.texts())),
        }
    };
    match k {
        0 => Event::Start,
        1 => press(0),
        2 => Event::Text(format!("{}.{:02}", 800 + u % 40_000, u % 100)),
        3 => Event::Text(format!("11-{:02}", 1 + u % 27)),
        4 => press(u),
        5 => Event::Text(format!("{}", 1 + u % 24)),
        6 => Event::Text(format!("2026-12-{:02}", 1 + u % 28)),
        _ => Event::Text(format!("尾号{:04}", u % 10_000)),
    }
}

/// One event through the app as the Telegram front end sends it; the
/// outbox items are then delivered (taken out), as the sender does.
fn one_step(app: &App, user: UserId, ev: &Event, ctx: &Ctx) -> Output {
    let id = EVENT.fetch_add(1, Ordering::Relaxed);
    let pressed = matches!(ev, Event::Press(_));
    let callback = format!("{:x}", id.wrapping_mul(0x9E37_79B9));
    let reply = Reply {
        chat: ChatId(user.id),
        pressed: pressed.then_some(MessageId(1_000 + id as i32 % 1_000)),
        callback: pressed.then_some((callback.as_str(), 1_795_000_000_000)),
    };
    let planner = |out: &Output| encode(&plan(out, &reply));
    match app.handle_once(user, EventId::telegram(id), ev, ctx, &planner) {
        Ok(Delivery::Applied { out, queued }) => {
            for q in queued {
                if let Err(e) = app.store().delivered(user, q.seq) {
                    fail(&format!("marking delivered: {e}"));
                }
            }
            out
        }
        Ok(Delivery::Repeated) => fail("an event id was seen twice"),
        Err(e) => fail(&format!("step {ev:?} of user {user}: {e}")),
    }
}

/// Takes `user` through the whole dialogue; returns the time of each step.
fn dialogue(app: &App, user: UserId, ctx: &Ctx) -> [Duration; 8] {
    let mut times = [Duration::ZERO; 8];
    let mut last = Output::default();
    for (k, t) in times.iter_mut().enumerate() {
        let ev = event(user, k, &last);
        let start = Instant::now();
        last = one_step(app, user, &ev, ctx);
        *t = start.elapsed();
    }
    times
}

fn open(dir: &Path) -> Arc<SledStore> {
    // sled's own threads may hold the directory's lock for a moment after
    // the store that used it is dropped.
    let mut tries = 0;
    loop {
        match SledStore::open(dir) {
            Ok(s) => return Arc::new(s),
            Err(StoreError::InUse { .. }) if tries < 200 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => fail(&format!("opening {}: {e}", dir.display())),
        }
    }
}

/// Opens the store and makes the app, as `guidebot bot` does at start; the
/// median of `runs` cold opens (each closed before the next).
fn startup(dir: &Path, runs: usize) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let lib = library();
            let start = Instant::now();
            let store = open(dir);
            let app = App::new(lib, store);
            let took = start.elapsed();
            drop(app);
            // Let sled's threads let go of the directory before the next open.
            std::thread::sleep(Duration::from_millis(300));
            took
        })
        .collect();
    median(&mut times)
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort_unstable();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

/// Users taken through the dialogue by `threads` writers at once.
fn fill(app: &Arc<App>, users: std::ops::Range<usize>, threads: usize, report: bool) {
    let next = Arc::new(AtomicUsize::new(users.start));
    let total = users.len();
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let (app, next) = (Arc::clone(app), Arc::clone(&next));
            let end = users.end;
            s.spawn(move || {
                let ctx = ctx();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= end {
                        break;
                    }
                    dialogue(&app, user_id(i), &ctx);
                    let done = i + 1 - (end - total);
                    if report && done.is_multiple_of((total / 10).max(1)) {
                        let secs = started.elapsed().as_secs_f64();
                        eprintln!("  {done} users in {secs:.0} s ({:.0} users/s)", done as f64 / secs);
                    }
                }
            });
        }
    });
}

/// Telegram-like user ids, spread over the id space.
fn user_id(i: usize) -> UserId {
    UserId::telegram(5_000_000_000 + (i as i64) * 7_919)
}

/// Median time of one step for `sample` new users, one at a time, and of a
/// note by `sample` existing users (loaded from disk, as after a restart).
fn step_times(app: &App, first_new: usize, sample: usize, existing: usize) -> (Duration, Duration) {
    let ctx = ctx();
    let mut steps: Vec<Duration> = (0..sample).flat_map(|i| dialogue(app, user_id(first_new + i), &ctx)).collect();
    let mut notes: Vec<Duration> = (0..sample.min(existing))
        .map(|i| {
            let user = user_id(i * (existing / sample.min(existing).max(1)));
            let start = Instant::now();
            one_step(app, user, &Event::Text("/note 客服说三个工作日内回电".to_owned()), &ctx);
            start.elapsed()
        })
        .collect();
    (median(&mut steps), median(&mut notes))
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| entries.flatten().map(|e| if e.path().is_dir() { count_files(&e.path()) } else { 1 }).sum())
        .unwrap_or(0)
}

fn du(dir: &Path) -> u64 {
    let store = open(dir);
    store.disk_bytes().unwrap_or_else(|e| fail(&format!("measuring {}: {e}", dir.display())))
}

fn kb(bytes: f64) -> String {
    format!("{:.2} KB", bytes / 1024.0)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let o = options();
    let tmp = tempfile::tempdir().unwrap_or_else(|e| fail(&format!("a temporary directory: {e}")));
    let empty_dir = tmp.path().join("empty");
    let filled_dir = o.keep.clone().unwrap_or_else(|| tmp.path().join("filled"));
    if o.keep.is_some() && filled_dir.exists() {
        fail(&format!("{} exists; --keep needs a new directory", filled_dir.display()));
    }
    const SAMPLE: usize = 40;
    println!("store bench: {} users, 8 steps each, {} writers at once", o.users, o.threads);

    // The empty store: created, closed, then opened as at a start.
    drop(open(&empty_dir));
    let empty_bytes = du(&empty_dir);
    let empty_start = startup(&empty_dir, 5);
    let (empty_step, _) = {
        let app = App::new(library(), open(&empty_dir));
        step_times(&app, o.users, SAMPLE, 0)
    };

    // The filled store.
    let started = Instant::now();
    {
        let app = Arc::new(App::new(library(), open(&filled_dir)));
        fill(&app, 0..o.users, o.threads, true);
    }
    let fill_time = started.elapsed();
    let filled_bytes = du(&filled_dir);
    let files = count_files(&filled_dir);
    let filled_start = startup(&filled_dir, 5);
    let (filled_step, filled_note) = {
        let app = App::new(library(), open(&filled_dir));
        step_times(&app, o.users, SAMPLE, o.users)
    };

    // Where the bytes go: one user's state as stored (JSON), with its notes.
    let store = open(&filled_dir);
    let probe = user_id(o.users / 2);
    let stored = store.load(probe).ok().flatten().unwrap_or_else(|| fail("the probe user has no record"));
    let state: UserState = serde_json::from_slice(&stored.record).unwrap_or_else(|e| fail(&format!("record: {e}")));
    // The history as stored (changes from frame to frame), and as whole frames.
    let as_stored = serde_json::to_value(&state).unwrap_or_default();
    let history = serde_json::to_vec(&as_stored["history"]).map(|v| v.len()).unwrap_or(0);
    let whole = serde_json::to_vec(&state.history).map(|v| v.len()).unwrap_or(0);
    drop(store);

    // What sled holds live, tree by tree, against what it takes on disk.
    let live = {
        let db = sled::open(filled_dir.join("db")).unwrap_or_else(|e| fail(&format!("raw open: {e}")));
        let mut live = Vec::new();
        for name in db.tree_names() {
            let tree = db.open_tree(&name).unwrap_or_else(|e| fail(&format!("tree: {e}")));
            let (mut n, mut bytes) = (0usize, 0usize);
            for item in tree.iter() {
                let (k, v) = item.unwrap_or_else(|e| fail(&format!("reading the tree: {e}")));
                n += 1;
                bytes += k.len() + v.len();
            }
            if n > 0 {
                live.push((String::from_utf8_lossy(&name).into_owned(), n, bytes));
            }
        }
        live
    };

    let n = o.users as f64;
    println!();
    println!(
        "fill: {:.0} s ({:.0} users/s, {:.0} steps/s)",
        fill_time.as_secs_f64(),
        n / fill_time.as_secs_f64(),
        n * 8.0 / fill_time.as_secs_f64()
    );
    println!(
        "disk per user: {} = {:.0} B (disk_bytes / N; {} over the empty store's {:.1} MB; target <= 2 KB = 2048 B)",
        kb(filled_bytes as f64 / n),
        filled_bytes as f64 / n,
        kb(filled_bytes.saturating_sub(empty_bytes) as f64 / n),
        empty_bytes as f64 / 1e6
    );
    println!(
        "  of which the record of one user: {} B JSON ({history} B of it the /back history of {} frames, which as whole frames would take {whole} B), {} notes",
        stored.record.len(),
        state.history.len(),
        stored.notes.len()
    );
    let (_, records, record_bytes) = live.iter().find(|(name, ..)| name == "records").cloned().unwrap_or_default();
    println!(
        "  a record as stored (compressed and sealed, with its key), on average: {} B; key slot: 64 B",
        record_bytes / records.max(1)
    );
    let live_bytes: usize = live.iter().map(|(_, _, b)| b).sum();
    println!(
        "  live keys and values in sled: {} per user ({}), {:.1}x of that on disk",
        kb(live_bytes as f64 / n),
        live.iter()
            .map(|(name, k, b)| format!("{name}: {k} entries, {}", kb(*b as f64)))
            .collect::<Vec<_>>()
            .join("; "),
        filled_bytes as f64 / live_bytes.max(1) as f64
    );
    println!("files in the data dir: {files} (empty store: {})", count_files(&empty_dir));
    println!("start-up (open + App::new), median of 5: filled {} / empty {}", ms(filled_start), ms(empty_start));
    println!("one step of a new user, median of {}: filled {} / empty {}", SAMPLE * 8, ms(filled_step), ms(empty_step));
    println!("a note by an existing user (read from disk), median of {SAMPLE}: {}", ms(filled_note));
    if o.keep.is_some() {
        println!("kept: {}", filled_dir.display());
    }
}
