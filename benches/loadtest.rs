//! Load test of guidebot's Telegram delivery, through its process interface.
//!
//! `cargo bench --bench loadtest -- [FLAGS]` starts the release binary as
//! `guidebot --dialogues DIR --data DIR bot` against a fake Bot API on
//! 127.0.0.1 (`loadtest/fake_api.rs`), with simulated users walking an
//! eight-step "lost bank card" guide (`loadtest/lost-card.en.yaml`) again and
//! again (`loadtest/users.rs`). The same users then drive the yardstick, a
//! plain teloxide bot with the same dialogue (`loadtest/yardstick.rs`, run by
//! re-executing this binary with `--yardstick`), and one table compares them.
//!
//! A step is one update from a user (a text, or a press on the last keyboard
//! it got); it is answered when the bot's next question reaches that user's
//! chat. Latency runs from the update being queued for getUpdates (a waiting
//! long poll returns it at once) to the bot's sendMessage call carrying the
//! next question. CPU is the bot process's utime + stime from /proc over the
//! measured window (every incarnation when it is killed and restarted),
//! divided by the steps answered.
//!
//! Everything stays on 127.0.0.1; the run ends by itself and every child is
//! killed on the way out, on a panic or on Ctrl-C as well.

#[path = "loadtest/disk.rs"]
mod disk;
#[path = "loadtest/fake_api.rs"]
mod fake_api;
#[path = "loadtest/pg.rs"]
mod pg;
#[path = "loadtest/procs.rs"]
mod procs;
#[path = "loadtest/users.rs"]
mod users;
#[path = "loadtest/yardstick.rs"]
mod yardstick;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep, sleep_until};

use fake_api::{CHAT_BASE, FakeApi, TOKEN, splitmix};
use procs::{BotProcess, Launch};
use users::{Behaviour, UserStats};

const USAGE: &str = "\
Load test of guidebot's Telegram delivery, with a plain teloxide bot as yardstick.

usage: cargo bench --bench loadtest -- [FLAGS]

  --users N            simulated users (default 100)
  --seconds S          measured time per bot (default 20)
  --mode M             saturation: users answer at once (default);
                       offered: users pause about 2 s (1.5 to 2.5) between steps
  --kill-every MS      SIGKILL guidebot about every MS ms (jittered) and restart it at once on
                       the same data folder; users redeliver unanswered updates and retype
                       after 3 s of silence
  --fault-permille N   answer N of every 1000 sendMessage/editMessage*/answerCallbackQuery
                       calls with 429 (retry after 1 s) or 502; users retype after 3 s of silence
  --flood              also run each bot with one more user sending 100 messages at once,
                       and compare the other users' p99
  --only LIST          bots to run, comma-separated: guidebot, teloxide (teloxide + InMemStorage),
                       sled (teloxide + sled, flushed on every update); default guidebot,teloxide
  --bin-path PATH      the guidebot binary (default: the one cargo built for this bench)
  --store postgres://… run guidebot on this PostgreSQL server instead of sled: each run gets
                       a database of its own (created, and dropped after), so the URL's user
                       must be allowed to create databases
  --trace              print every update the users send and every message they get
  --help               this text";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Saturation,
    Offered,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Guidebot,
    Teloxide,
    Sled,
}

impl Kind {
    fn column(self) -> &'static str {
        match self {
            Kind::Guidebot => "guidebot",
            Kind::Teloxide => "teloxide+InMem",
            Kind::Sled => "teloxide+sled",
        }
    }
}

#[derive(Debug, Clone)]
struct Opts {
    users: usize,
    seconds: u64,
    mode: Mode,
    kill_every: Option<Duration>,
    fault_permille: u32,
    flood: bool,
    only: Vec<Kind>,
    bin_path: Option<PathBuf>,
    /// A PostgreSQL server for guidebot's store instead of sled.
    store: Option<String>,
    trace: bool,
}

fn parse(args: &[String]) -> Result<Option<Opts>, String> {
    let mut opts = Opts {
        users: 100,
        seconds: 20,
        mode: Mode::Saturation,
        kill_every: None,
        fault_permille: 0,
        flood: false,
        only: vec![Kind::Guidebot, Kind::Teloxide],
        bin_path: None,
        store: None,
        trace: false,
    };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            // cargo bench passes --bench to every bench target.
            "--bench" => {}
            "--help" | "-h" => return Ok(None),
            "--users" => opts.users = number(flag, value()?, 1, 10_000)? as usize,
            "--seconds" => opts.seconds = number(flag, value()?, 1, 3600)?,
            "--mode" => {
                opts.mode = match value()?.as_str() {
                    "saturation" => Mode::Saturation,
                    "offered" => Mode::Offered,
                    other => return Err(format!("--mode takes saturation or offered, not `{other}`")),
                }
            }
            "--kill-every" => opts.kill_every = Some(Duration::from_millis(number(flag, value()?, 100, 600_000)?)),
            "--fault-permille" => opts.fault_permille = number(flag, value()?, 0, 1000)? as u32,
            "--flood" => opts.flood = true,
            "--trace" => opts.trace = true,
            "--only" => {
                let mut kinds = BTreeSet::new();
                for name in value()?.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    kinds.insert(match name {
                        "guidebot" => Kind::Guidebot,
                        "teloxide" => Kind::Teloxide,
                        "sled" => Kind::Sled,
                        other => return Err(format!("--only takes guidebot, teloxide or sled, not `{other}`")),
                    });
                }
                if kinds.is_empty() {
                    return Err("--only needs at least one of guidebot, teloxide, sled".into());
                }
                opts.only = kinds.into_iter().collect();
            }
            "--bin-path" => opts.bin_path = Some(PathBuf::from(value()?)),
            "--store" => {
                let url = value()?;
                if !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
                    return Err(format!("--store takes a postgres:// URL, not `{url}` (sled is the default)"));
                }
                opts.store = Some(url.to_owned());
            }
            other => return Err(format!("unknown flag `{other}`")),
        }
    }
    Ok(Some(opts))
}

fn number(flag: &str, text: &str, min: u64, max: u64) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("{flag} takes a whole number from {min} to {max}, not `{text}`")),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--yardstick") {
        return yardstick::main(&args);
    }
    let opts = match parse(&args) {
        Ok(Some(opts)) => opts,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("loadtest: {err}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        procs::kill_all();
        default_hook(info);
    }));
    // Two threads for the fake API and the users: on one, they held the yardstick to about
    // 60% of its rate at 100 users. Their CPU is the table's last row.
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("loadtest: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        tokio::select! {
            outcome = run(&opts) => outcome,
            _ = tokio::signal::ctrl_c() => Err("interrupted".to_owned()),
        }
    });
    procs::kill_all();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("loadtest: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The guidebot binary: --bin-path, else the one cargo built for this bench.
fn guidebot_binary(opts: &Opts) -> Result<PathBuf, String> {
    let candidates: Vec<PathBuf> = match &opts.bin_path {
        Some(path) => vec![path.clone()],
        None => {
            let mut c = Vec::new();
            if let Some(built) = option_env!("CARGO_BIN_EXE_guidebot") {
                c.push(PathBuf::from(built));
            }
            if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
                c.push(Path::new(&dir).join("release/guidebot"));
            }
            c.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/guidebot"));
            c
        }
    };
    candidates.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
        format!(
            "no guidebot binary at {}; build it with `cargo build --release` or name it with --bin-path",
            candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" or ")
        )
    })
}

/// Whether `guidebot bot` can switch its pacing off (`--max-per-second` and `--per-chat-per-second`).
fn has_pacing_flags(bin: &Path) -> bool {
    let help = Command::new(bin).args(["bot", "--help"]).output();
    let text = help.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
    text.contains("--max-per-second") && text.contains("--per-chat-per-second")
}

/// What one run of one bot measured.
struct RunResult {
    window: Duration,
    stats: UserStats,
    /// Bot CPU over the window, µs.
    cpu: u64,
    /// This harness's CPU over the window, µs.
    own_cpu: u64,
    counts: Vec<(String, u64)>,
    faults: (u64, u64),
    restarts: u64,
    crashes: u64,
    flood_replies: u64,
    clean_stop: Option<bool>,
    /// The disk under the bot's data during the window.
    disk: disk::DiskProbe,
}

impl RunResult {
    fn steps(&self) -> u64 {
        self.stats.latencies.len() as u64
    }

    fn throughput(&self) -> f64 {
        self.steps() as f64 / self.window.as_secs_f64()
    }

    /// Latency quantile `q` in ms (nearest rank); None without steps.
    fn latency(&self, q: f64) -> Option<f64> {
        let sorted = &self.stats.latencies;
        if sorted.is_empty() {
            return None;
        }
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        Some(sorted[rank - 1] as f64 / 1000.0)
    }

    fn cpu_per_step(&self) -> Option<f64> {
        (self.steps() > 0).then(|| self.cpu as f64 / self.steps() as f64)
    }

    fn calls_per_step(&self) -> Option<f64> {
        let calls: u64 = self.counts.iter().filter(|(m, _)| m != "getUpdates").map(|(_, n)| n).sum();
        (self.steps() > 0).then(|| calls as f64 / self.steps() as f64)
    }
}

async fn run(opts: &Opts) -> Result<(), String> {
    let guidebot = if opts.only.contains(&Kind::Guidebot) { Some(guidebot_binary(opts)?) } else { None };
    let pacing_off = guidebot.as_deref().is_some_and(has_pacing_flags);
    println!(
        "loadtest: {} users, {} s per bot, {} mode{}{}{}",
        opts.users,
        opts.seconds,
        match opts.mode {
            Mode::Saturation => "saturation",
            Mode::Offered => "offered (about 2 s between steps)",
        },
        opts.kill_every.map(|k| format!(", guidebot killed about every {} ms", k.as_millis())).unwrap_or_default(),
        if opts.fault_permille > 0 { format!(", {}‰ of sends failed", opts.fault_permille) } else { String::new() },
        if opts.flood { ", with a flood run" } else { "" },
    );
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load.split_whitespace().next().unwrap_or("?");
    println!("machine: {cores} cores, load average {load} (other work on the machine shifts every figure)");
    if let Some(bin) = &guidebot {
        println!("guidebot: {}", bin.display());
        if pacing_off {
            println!("guidebot: pacing switched off (--max-per-second 0 --per-chat-per-second 0)");
        } else {
            println!(
                "warning: this guidebot has no --max-per-second/--per-chat-per-second, so its pacing \
                 (about 1 message per second per chat, 30 overall) could not be switched off; \
                 its figures are those of a paced bot"
            );
        }
    }
    let mut results = Vec::new();
    for &kind in &opts.only {
        let plain = run_once(kind, opts, guidebot.as_deref(), pacing_off, false).await?;
        let flooded =
            if opts.flood { Some(run_once(kind, opts, guidebot.as_deref(), pacing_off, true).await?) } else { None };
        results.push((kind, plain, flooded));
    }
    println!();
    print!("{}", table(opts, &results));
    Ok(())
}

/// How to start `kind` against `api_url` with its data in `dir`.
fn launch(
    kind: Kind,
    dir: &Path,
    api_url: &str,
    guidebot: Option<&Path>,
    pacing_off: bool,
    store: Option<&str>,
) -> Result<Launch, String> {
    let env = vec![
        ("TELOXIDE_TOKEN".to_owned(), TOKEN.to_owned()),
        ("TELOXIDE_API_URL".to_owned(), api_url.to_owned()),
        // LOADTEST_BOT_LOG=guidebot=info (say) to see more of the bot's log.
        ("RUST_LOG".to_owned(), std::env::var("LOADTEST_BOT_LOG").unwrap_or_else(|_| "warn".to_owned())),
    ];
    let log = dir.join("bot.log");
    let data = dir.join("data").into_os_string();
    match kind {
        Kind::Guidebot => {
            let program = guidebot.ok_or("no guidebot binary")?.to_path_buf();
            let mut args: Vec<OsString> = vec!["--dialogues".into(), dir.join("dialogues").into_os_string()];
            match store {
                Some(url) => args.extend(["bot".into(), "--store".into(), url.into()]),
                None => args.extend(["--data".into(), data, "bot".into()]),
            }
            if pacing_off {
                args.extend(["--max-per-second", "0", "--per-chat-per-second", "0"].map(OsString::from));
            }
            Ok(Launch { program, args, env, log })
        }
        Kind::Teloxide | Kind::Sled => {
            let program = std::env::current_exe().map_err(|e| format!("cannot find this bench's binary: {e}"))?;
            let store = if kind == Kind::Sled { "sled" } else { "inmem" };
            let args = vec!["--yardstick".into(), store.into(), "--data".into(), data];
            Ok(Launch { program, args, env, log })
        }
    }
}

/// A random-looking factor from 0.5 to 1.5 (kill jitter).
fn jitter(n: u64) -> f64 {
    0.5 + (splitmix(n) % 1001) as f64 / 1000.0
}

async fn run_once(
    kind: Kind,
    opts: &Opts,
    guidebot: Option<&Path>,
    pacing_off: bool,
    flood: bool,
) -> Result<RunResult, String> {
    let label = format!("{}{}", kind.column(), if flood { " (flood)" } else { "" });
    println!("running {label} …");
    let dir = tempfile::tempdir().map_err(|e| format!("cannot make a temporary folder: {e}"))?;
    let dialogues = dir.path().join("dialogues");
    std::fs::create_dir(&dialogues).map_err(|e| format!("cannot make {}: {e}", dialogues.display()))?;
    let guide = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/loadtest");
    for file in ["lost-card.en.yaml", "lost-card.zh.yaml"] {
        std::fs::copy(guide.join(file), dialogues.join(file)).map_err(|e| format!("cannot copy {file}: {e}"))?;
    }

    let chats = opts.users + usize::from(flood);
    let (senders, mut receivers): (Vec<_>, Vec<_>) = (0..chats).map(|_| mpsc::unbounded_channel()).unzip();
    let api =
        FakeApi::start(senders, opts.fault_permille).await.map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?;
    // A database of its own for this run, when guidebot runs on PostgreSQL.
    let database = match (&opts.store, kind) {
        (Some(server), Kind::Guidebot) => Some(pg::Scratch::create(server)?),
        _ => None,
    };
    let mut bot = BotProcess::start(launch(
        kind,
        dir.path(),
        &api.url(),
        guidebot,
        pacing_off,
        database.as_ref().map(|d| d.url.as_str()),
    )?)
    .map_err(|e| format!("cannot start {label}: {e}"))?;

    // Ready when it polls for updates.
    let ready_by = Instant::now() + Duration::from_secs(60);
    while api.polls() == 0 {
        if let Some(status) = bot.exited() {
            return Err(format!("{label} ended ({status}) before polling; its output:\n{}", bot.log_tail(20)));
        }
        if Instant::now() > ready_by {
            return Err(format!("{label} did not poll for updates within 60 s; its output:\n{}", bot.log_tail(20)));
        }
        sleep(Duration::from_millis(10)).await;
    }
    let cpu_at_start = bot.cpu();
    let own_at_start = procs::own_cpu();
    let probe = disk::Probe::start(dir.path())?;
    let start = Instant::now();
    let window = Duration::from_secs(opts.seconds);
    let window_end = start + window;

    let (stop, stopped) = watch::channel(false);
    let (restarted, restarts) = watch::channel(0_u64);
    let killing = opts.kill_every.filter(|_| kind == Kind::Guidebot);
    let behaviour = Behaviour {
        paced: opts.mode == Mode::Offered,
        retry: opts.kill_every.is_some() || opts.fault_permille > 0,
        redeliver: killing.is_some(),
        trace: opts.trace,
    };
    let flooder = if flood {
        let replies = receivers.pop().ok_or("no flooding user")?;
        let chat = CHAT_BASE + opts.users as i64;
        Some(tokio::spawn(users::flooder(chat, Arc::clone(&api), replies, Duration::from_secs(1), stopped.clone())))
    } else {
        None
    };
    let users: Vec<_> = receivers
        .into_iter()
        .enumerate()
        .map(|(i, replies)| {
            tokio::spawn(users::user(
                i,
                CHAT_BASE + i as i64,
                Arc::clone(&api),
                replies,
                behaviour,
                window_end,
                users::Signals { stop: stopped.clone(), restarts: restarts.clone() },
            ))
        })
        .collect();

    // Watch the bot until the window ends: restart it if it ends on its own, kill it on schedule.
    let mut kills = 0_u64;
    let mut next_kill = killing.map(|k| start + k.mul_f64(jitter(0)));
    loop {
        let now = Instant::now();
        if now >= window_end {
            break;
        }
        let wake = next_kill.unwrap_or(window_end).min(window_end).min(now + Duration::from_millis(100));
        sleep_until(wake).await;
        if let Some(status) = bot.exited() {
            eprintln!("{label} ended by itself ({status}); restarting it. Its output:\n{}", bot.log_tail(10));
            if bot.crashes >= 20 {
                return Err(format!("{label} keeps ending by itself; giving up"));
            }
            bot.restart_after_crash().map_err(|e| format!("cannot restart {label}: {e}"))?;
            restarted.send_modify(|n| *n += 1);
        }
        if let (Some(at), Some(every)) = (next_kill, killing)
            && Instant::now() >= at
            && at < window_end
        {
            bot.kill_and_restart().await.map_err(|e| format!("cannot restart {label}: {e}"))?;
            kills += 1;
            if opts.trace {
                eprintln!("{label} killed and restarted ({kills})");
            }
            restarted.send_modify(|n| *n += 1);
            next_kill = Some(Instant::now() + every.mul_f64(jitter(kills)));
        }
    }
    let cpu = bot.cpu().saturating_sub(cpu_at_start);
    let own_cpu = procs::own_cpu().saturating_sub(own_at_start);
    let disk = probe.finish();
    let _ = stop.send(true);
    let mut stats = UserStats::default();
    for user in users {
        stats.merge(&user.await.map_err(|e| format!("a simulated user failed: {e}"))?);
    }
    stats.latencies.sort_unstable();
    let flood_replies = match flooder {
        Some(task) => task.await.map_err(|e| format!("the flooding user failed: {e}"))?,
        None => 0,
    };
    let mut counts: Vec<(String, u64)> = api.counts().into_iter().collect();
    counts.sort();
    let faults = api.faults();
    let clean_stop = bot.stop(Duration::from_secs(10)).await.map(|s| s.success());
    api.close();
    if clean_stop != Some(true) {
        eprintln!("note: {label} did not stop cleanly on SIGTERM within 10 s ({clean_stop:?})");
    }
    if std::env::var_os("LOADTEST_BOT_LOG").is_some() {
        // Asked for: the end of the bot's log, before its folder goes.
        let log = std::fs::read_to_string(dir.path().join("bot.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        eprintln!("--- the last lines of {label}'s log");
        for line in &lines[lines.len().saturating_sub(40)..] {
            eprintln!("{line}");
        }
    }
    Ok(RunResult {
        window,
        stats,
        cpu,
        own_cpu,
        counts,
        faults,
        restarts: kills,
        crashes: bot.crashes,
        flood_replies,
        clean_stop,
        disk,
    })
}

// ----- the table ------------------------------------------------------------

type Results = [(Kind, RunResult, Option<RunResult>)];

fn fmt_f(value: Option<f64>, digits: usize) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.digits$}"))
}

fn percent(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| 100.0 * part as f64 / whole as f64)
}

/// One row: a figure for every bot, guidebot ÷ teloxide+InMem when both are numbers, and the target.
struct Row {
    figure: String,
    values: Vec<String>,
    ratio: String,
    target: String,
}

fn row(results: &Results, figure: &str, target: &str, value: impl Fn(&RunResult) -> Option<f64>, digits: usize) -> Row {
    let of = |k: Kind| results.iter().find(|r| r.0 == k).and_then(|r| value(&r.1));
    let ratio = match (of(Kind::Guidebot), of(Kind::Teloxide)) {
        (Some(g), Some(t)) if t > 0.0 => format!("{:.2}", g / t),
        _ => "-".to_owned(),
    };
    Row {
        figure: figure.to_owned(),
        values: results.iter().map(|r| fmt_f(value(&r.1), digits)).collect(),
        ratio,
        target: target.to_owned(),
    }
}

fn text_row(results: &Results, figure: &str, target: &str, value: impl Fn(&RunResult) -> String) -> Row {
    Row {
        figure: figure.to_owned(),
        values: results.iter().map(|r| value(&r.1)).collect(),
        ratio: "-".to_owned(),
        target: target.to_owned(),
    }
}

fn table(opts: &Opts, results: &Results) -> String {
    let saturation = opts.mode == Mode::Saturation;
    let offered_rate = format!("≈ {:.0}", opts.users as f64 / 2.0);
    let mut rows = vec![
        row(results, "steps answered", "", |r| Some(r.steps() as f64), 0),
        row(
            results,
            "throughput, steps/s",
            if saturation { "ratio ≥ 1.0" } else { &offered_rate },
            |r| Some(r.throughput()),
            1,
        ),
        // The delivery issue's targets: latency under offered load only.
        row(results, "latency p50, ms", if saturation { "" } else { "≤ 1.0, ratio ≤ 1" }, |r| r.latency(0.50), 1),
        row(results, "latency p95, ms", "", |r| r.latency(0.95), 1),
        row(results, "latency p99, ms", if saturation { "" } else { "≤ 2.5, ratio ≤ 1" }, |r| r.latency(0.99), 1),
        row(results, "CPU per step, µs", "ratio ≤ 1.2", RunResult::cpu_per_step, 0),
        row(results, "bot CPU, % of one core", "", |r| Some(100.0 * r.cpu as f64 / r.window.as_micros() as f64), 0),
        row(results, "Bot API calls per step", "", RunResult::calls_per_step, 2),
        row(
            results,
            "notices (not the expected step)",
            "0",
            |r| Some((r.stats.notices + r.stats.out_of_step) as f64),
            0,
        ),
        row(results, "questions received twice", "0", |r| Some(r.stats.repeats as f64), 0),
        // A durable bot's tail is its disk's: the probe shows when the disk stalled.
        text_row(results, "disk probe: slowest fdatasync, ms / over 100 ms", "", |r| {
            format!("{:.1} / {}", r.disk.slowest.as_secs_f64() * 1e3, r.disk.stalls)
        }),
    ];
    if opts.kill_every.is_some() {
        rows.push(row(results, "restarts (SIGKILL)", "", |r| Some(r.restarts as f64), 0));
        rows.push(row(results, "updates redelivered (same update_id)", "", |r| Some(r.stats.redelivered as f64), 0));
        rows.push(row(results, "replies lost (retyped after 3 s)", "0", |r| Some(r.stats.retyped_steps as f64), 0));
        rows.push(row(results, "users stuck (no reply for > 10 s)", "0", |r| Some(r.stats.stuck as f64), 0));
        rows.push(text_row(results, "answers applied twice (repeat / skip)", "0 / 0", |r| {
            format!("{} / {}", r.stats.repeats, r.stats.out_of_step)
        }));
    }
    if opts.fault_permille > 0 {
        rows.push(text_row(results, "faults injected (429 / 502)", "", |r| format!("{} / {}", r.faults.0, r.faults.1)));
        rows.push(row(
            results,
            "replies delivered once, %",
            "100",
            |r| {
                let bad = r.stats.retyped_steps + r.stats.repeats;
                percent(r.steps().saturating_sub(bad), r.steps())
            },
            1,
        ));
        rows.push(row(results, "steps answered within 3 s, %", "100", |r| percent(r.stats.within_retry, r.steps()), 1));
        rows.push(row(
            results,
            "earlier-step notices",
            "0",
            |r| Some((r.stats.notices + r.stats.out_of_step) as f64),
            0,
        ));
        if opts.kill_every.is_none() {
            rows.push(row(results, "users stuck (no reply for > 10 s)", "0", |r| Some(r.stats.stuck as f64), 0));
        }
    }
    if opts.flood {
        rows.push(row(results, "other users' p99 without flood, ms", "", |r| r.latency(0.99), 1));
        let with = |k: Kind| results.iter().find(|r| r.0 == k).and_then(|r| r.2.as_ref()).and_then(|f| f.latency(0.99));
        let ratio = match (with(Kind::Guidebot), with(Kind::Teloxide)) {
            (Some(g), Some(t)) if t > 0.0 => format!("{:.2}", g / t),
            _ => "-".to_owned(),
        };
        rows.push(Row {
            figure: "other users' p99 with flood, ms".to_owned(),
            values: results.iter().map(|r| fmt_f(r.2.as_ref().and_then(|f| f.latency(0.99)), 1)).collect(),
            ratio,
            target: "< without + 50".to_owned(),
        });
        rows.push(Row {
            figure: "replies to the flood".to_owned(),
            values: results
                .iter()
                .map(|r| r.2.as_ref().map_or("-".to_owned(), |f| f.flood_replies.to_string()))
                .collect(),
            ratio: "-".to_owned(),
            target: "".to_owned(),
        });
    }
    rows.push(text_row(results, "bot ended by itself", "0", |r| r.crashes.to_string()));
    rows.push(text_row(results, "stopped cleanly on SIGTERM", "yes", |r| {
        match r.clean_stop {
            Some(true) => "yes",
            Some(false) => "no (exit code)",
            None => "no (killed)",
        }
        .to_owned()
    }));
    rows.push(row(
        results,
        "harness CPU, % of one core",
        "",
        |r| Some(100.0 * r.own_cpu as f64 / r.window.as_micros() as f64),
        0,
    ));

    let mut header = vec!["figure".to_owned()];
    header.extend(results.iter().map(|r| r.0.column().to_owned()));
    header.extend(["ratio".to_owned(), "target".to_owned()]);
    let mut lines: Vec<Vec<String>> = vec![header];
    for r in rows {
        let mut line = vec![r.figure];
        line.extend(r.values);
        line.extend([r.ratio, r.target]);
        lines.push(line);
    }
    let mut out = layout(&lines);
    out.push_str("ratio: guidebot ÷ teloxide+InMem. Latency: update queued for getUpdates → next question sent.\n");
    out.push_str(
        "disk: a probe writing 4 KB and calling fdatasync every 20 ms beside the bot's data, during each run.\n",
    );

    // Calls per method, over the whole run of each bot (start-up included).
    let methods: BTreeSet<&str> = results.iter().flat_map(|r| r.1.counts.iter().map(|(m, _)| m.as_str())).collect();
    let mut calls = vec![{
        let mut h = vec!["Bot API calls".to_owned()];
        h.extend(results.iter().map(|r| r.0.column().to_owned()));
        h
    }];
    for method in methods {
        let mut line = vec![method.to_owned()];
        line.extend(
            results
                .iter()
                .map(|r| r.1.counts.iter().find(|(m, _)| m == method).map_or("0".to_owned(), |(_, n)| n.to_string())),
        );
        calls.push(line);
    }
    out.push('\n');
    out.push_str(&layout(&calls));
    out
}

/// Columns padded to their widest cell, separated by ` | `.
fn layout(lines: &[Vec<String>]) -> String {
    let columns = lines.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| lines.iter().filter_map(|l| l.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let cells: Vec<String> = line
            .iter()
            .enumerate()
            .map(|(c, s)| {
                let pad = widths[c].saturating_sub(s.chars().count());
                if c == 0 { format!("{s}{}", " ".repeat(pad)) } else { format!("{}{s}", " ".repeat(pad)) }
            })
            .collect();
        out.push_str(cells.join(" | ").trim_end());
        out.push('\n');
        if i == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            out.push_str(&rule.join("-|-"));
            out.push('\n');
        }
    }
    out
}
