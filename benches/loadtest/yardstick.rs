//! The yardsticks: the lost-card dialogue as a plain teloxide 0.17 bot
//! (dptree, teloxide's `dialogue` with `InMemStorage`), and the same bot
//! with a sled storage that flushes on every update. They make the same
//! calls for each step as guidebot (answer the press, edit the pressed
//! question, send the next one with HTML parse mode and its keyboard) and
//! show the same texts, but without pacing or retries: what a small
//! hand-written bot costs.
//!
//! Started by the bench as a child process: `loadtest --yardstick inmem|sled --data DIR`,
//! with TELOXIDE_TOKEN and TELOXIDE_API_URL in the environment.

use std::fmt::Debug;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use teloxide::dispatching::dialogue::{Dialogue, InMemStorage, Storage};
use teloxide::dispatching::{Dispatcher, HandlerExt, UpdateFilterExt};
use teloxide::error_handlers::LoggingErrorHandler;
use teloxide::payloads::{EditMessageTextSetters, SendMessageSetters};
use teloxide::prelude::Requester;
use teloxide::types::{CallbackQuery, ChatId, InlineKeyboardButton, InlineKeyboardMarkup, Message, ParseMode, Update};
use teloxide::update_listeners::Polling;
use teloxide::{Bot, dptree};

type HandlerResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// Where a chat is and what it answered (teloxide's dialogue state).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Chat {
    /// The question shown (an index of `users::QUESTIONS`); None before /start.
    at: Option<usize>,
    cause: Option<String>,
    kind: Option<String>,
    last_used: Option<String>,
    count: Option<u32>,
    total: Option<String>,
}

/// The buttons of each question (the end has three, the confirmation two).
const BUTTONS: [&[&str]; 8] = [
    &["I lost it", "It was stolen"],
    &["Debit card", "Credit card"],
    &[],
    &[],
    &[],
    &["Yes, it is blocked", "Not yet"],
    &["Start over", "Case file", "Notes"],
    &["Yes", "No"],
];

/// Question `at` in full, as guidebot shows it.
fn question(at: usize, chat: &Chat) -> String {
    match at {
        0 => "Lost your bank card? We will block it and get a new one in a few steps. What happened?".into(),
        1 => "Which card is it?".into(),
        2 => "When did you last use the card? (for example 2026-11-30)".into(),
        3 => "How many payments on your statement do you not recognise? Type 0 if there are none.".into(),
        4 => "What do those payments add up to? (for example 250)".into(),
        5 => "Have you blocked the card in your banking app?".into(),
        6 => format!(
            "All set. Your case file lists the date, the {} payments of ¥{} and what you have done.",
            chat.count.unwrap_or_default(),
            chat.total.as_deref().unwrap_or("0.00")
        ),
        _ => "Start the guide again? Your answers will be cleared; your notes stay.".into(),
    }
}

/// Choices one per row, the end's and the confirmation's buttons side by side (as guidebot lays them out).
fn keyboard(at: usize) -> Option<InlineKeyboardMarkup> {
    let buttons = BUTTONS.get(at).copied().unwrap_or_default();
    let button = |(i, label): (usize, &&str)| InlineKeyboardButton::callback(*label, format!("{at}:{i}"));
    match at {
        _ if buttons.is_empty() => None,
        6 | 7 => Some(InlineKeyboardMarkup::new([buttons.iter().enumerate().map(button).collect::<Vec<_>>()])),
        _ => Some(InlineKeyboardMarkup::new(buttons.iter().enumerate().map(|b| [button(b)]))),
    }
}

async fn say(bot: &Bot, chat: ChatId, text: &str) -> HandlerResult {
    bot.send_message(chat, text).parse_mode(ParseMode::Html).await?;
    Ok(())
}

async fn show(bot: &Bot, chat: ChatId, state: &Chat) -> HandlerResult {
    let Some(at) = state.at else {
        return say(bot, chat, "You have not started a guide yet. Send /start.").await;
    };
    let mut request = bot.send_message(chat, question(at, state)).parse_mode(ParseMode::Html);
    if let Some(kb) = keyboard(at) {
        request = request.reply_markup(kb);
    }
    request.await?;
    Ok(())
}

async fn on_message<S>(bot: Bot, dialogue: Dialogue<Chat, S>, state: Chat, msg: Message) -> HandlerResult
where
    S: Storage<Chat> + Send + Sync + 'static,
    S::Error: std::error::Error + Send + Sync + 'static,
{
    let Some(text) = msg.text().map(str::trim) else { return Ok(()) };
    let chat = msg.chat.id;
    if text.starts_with("/start") {
        if state.at.is_none() {
            let next = Chat { at: Some(0), ..Chat::default() };
            dialogue.update(next.clone()).await?;
            return show(&bot, chat, &next).await;
        }
        say(&bot, chat, "Welcome back. Here is where you left off:").await?;
        return show(&bot, chat, &state).await;
    }
    let mut next = state.clone();
    let hint = match state.at {
        Some(2) => match jiff::civil::Date::from_str(text) {
            Ok(date) => {
                next.last_used = Some(date.to_string());
                None
            }
            Err(_) => Some("Please type a date, for example 2026-12-15 or 12-15."),
        },
        Some(3) => match text.parse::<u32>() {
            Ok(n) if n <= 1000 => {
                next.count = Some(n);
                None
            }
            _ => Some("Please type a whole number, for example 6."),
        },
        Some(4) => match rust_decimal::Decimal::from_str(text) {
            Ok(total) if !total.is_sign_negative() => {
                next.total = Some(format!("{:.2}", total.round_dp(2)));
                None
            }
            _ => Some("Please type an amount, for example 3500 or 3,500.50."),
        },
        Some(_) => Some("Please pick one of the options below."),
        None => return show(&bot, chat, &state).await,
    };
    if let Some(hint) = hint {
        say(&bot, chat, hint).await?;
        return show(&bot, chat, &state).await;
    }
    next.at = state.at.map(|at| at + 1);
    dialogue.update(next.clone()).await?;
    show(&bot, chat, &next).await
}

async fn on_press<S>(bot: Bot, dialogue: Dialogue<Chat, S>, state: Chat, q: CallbackQuery) -> HandlerResult
where
    S: Storage<Chat> + Send + Sync + 'static,
    S::Error: std::error::Error + Send + Sync + 'static,
{
    bot.answer_callback_query(q.id.clone()).await?;
    let Some(message) = q.regular_message() else { return Ok(()) };
    let chat = message.chat.id;
    let pressed =
        q.data.as_deref().and_then(|d| d.split_once(':')).and_then(|(a, c)| Some((a.parse().ok()?, c.parse().ok()?)));
    let Some((at, choice)) = pressed.filter(|(at, _)| state.at == Some(*at)) else {
        say(&bot, chat, "That button belongs to an earlier step. Here is where you are now:").await?;
        return show(&bot, chat, &state).await;
    };
    let Some(label) = BUTTONS.get(at).and_then(|b| b.get(choice)) else { return Ok(()) };
    let mut next = state.clone();
    let mut before: Option<&str> = None;
    match (at, choice) {
        (0 | 1 | 5, _) => {
            // The answered question keeps its text and loses its keyboard.
            bot.edit_message_text(chat, message.id, format!("{}\n\n→ {label}", question(at, &state)))
                .parse_mode(ParseMode::Html)
                .await?;
            match at {
                0 => next.cause = Some(label.to_string()),
                1 => next.kind = Some(label.to_string()),
                _ if choice == 1 => {
                    before = Some("Please block it now in the app or by phone, then ask the bank for a new card.")
                }
                _ => {}
            }
            next.at = Some(at + 1);
        }
        (6, 0) => next.at = Some(7),
        (7, 0) => {
            next = Chat { at: Some(0), ..Chat::default() };
            before = Some("Starting again. Your notes are kept.");
        }
        (7, _) => {
            next.at = Some(6);
            before = Some("OK, we carry on where you were.");
        }
        _ => return show(&bot, chat, &state).await,
    }
    dialogue.update(next.clone()).await?;
    if let Some(text) = before {
        say(&bot, chat, text).await?;
    }
    show(&bot, chat, &next).await
}

/// Dialogue states in sled, flushed to disk on every change.
pub struct SledStorage {
    db: sled::Db,
}

#[derive(Debug, thiserror::Error)]
pub enum SledStorageError {
    #[error(transparent)]
    Sled(#[from] sled::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error("the flush stopped")]
    Flush,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl SledStorage {
    fn open(dir: &Path) -> sled::Result<SledStorage> {
        Ok(SledStorage { db: sled::Config::new().path(dir).cache_capacity(64 << 20).open()? })
    }

    async fn flush(&self) -> Result<(), SledStorageError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.flush()).await.map_err(|_| SledStorageError::Flush)??;
        Ok(())
    }
}

impl Storage<Chat> for SledStorage {
    type Error = SledStorageError;

    fn remove_dialogue(self: Arc<Self>, chat_id: ChatId) -> BoxFuture<Result<(), Self::Error>> {
        Box::pin(async move {
            self.db.remove(chat_id.0.to_be_bytes())?;
            self.flush().await
        })
    }

    fn update_dialogue(self: Arc<Self>, chat_id: ChatId, dialogue: Chat) -> BoxFuture<Result<(), Self::Error>> {
        Box::pin(async move {
            self.db.insert(chat_id.0.to_be_bytes(), serde_json::to_vec(&dialogue)?)?;
            self.flush().await
        })
    }

    fn get_dialogue(self: Arc<Self>, chat_id: ChatId) -> BoxFuture<Result<Option<Chat>, Self::Error>> {
        Box::pin(async move {
            match self.db.get(chat_id.0.to_be_bytes())? {
                Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
                None => Ok(None),
            }
        })
    }
}

async fn serve<S>(bot: Bot, storage: Arc<S>)
where
    S: Storage<Chat> + Send + Sync + 'static,
    S::Error: std::error::Error + Debug + Send + Sync + 'static,
{
    let handler = dptree::entry()
        .branch(Update::filter_message().enter_dialogue::<Message, S, Chat>().endpoint(on_message::<S>))
        .branch(Update::filter_callback_query().enter_dialogue::<CallbackQuery, S, Chat>().endpoint(on_press::<S>));
    let listener = Polling::builder(bot.clone()).timeout(Duration::from_secs(10)).delete_webhook().await.build();
    let mut dispatcher = Dispatcher::builder(bot, handler)
        .dependencies(dptree::deps![storage])
        .default_handler(|_| async {})
        .enable_ctrlc_handler()
        .build();
    // The bench stops its children with SIGTERM; finish the updates in flight, as on Ctrl-C.
    let token = dispatcher.shutdown_token();
    tokio::spawn(async move {
        if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            term.recv().await;
            // Bounded: the dispatcher may still be starting when the signal comes.
            for _ in 0..100 {
                match token.shutdown() {
                    Ok(done) => return done.await,
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        }
    });
    dispatcher.dispatch_with_listener(listener, LoggingErrorHandler::with_custom_text("getting updates failed")).await;
}

/// `--yardstick inmem|sled --data DIR`: runs a yardstick bot until it is stopped.
pub fn main(args: &[String]) -> ExitCode {
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let kind = value("--yardstick").unwrap_or_default();
    if std::env::var("TELOXIDE_TOKEN").is_err() || std::env::var("TELOXIDE_API_URL").is_err() {
        eprintln!("the yardstick bot needs TELOXIDE_TOKEN and TELOXIDE_API_URL");
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("cannot start the async runtime: {err}");
            return ExitCode::from(2);
        }
    };
    let bot = Bot::from_env();
    match kind.as_str() {
        "inmem" => runtime.block_on(serve(bot, InMemStorage::<Chat>::new())),
        "sled" => {
            let Some(data) = value("--data") else {
                eprintln!("--yardstick sled needs --data DIR");
                return ExitCode::from(2);
            };
            match SledStorage::open(Path::new(&data)) {
                Ok(storage) => runtime.block_on(serve(bot, Arc::new(storage))),
                Err(err) => {
                    eprintln!("cannot open {data}: {err}");
                    return ExitCode::from(2);
                }
            }
        }
        other => {
            eprintln!("--yardstick takes inmem or sled, not `{other}`");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
