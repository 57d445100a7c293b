//! The Telegram front end (`guidebot bot`): teloxide long polling or a
//! webhook ([`webhook`]), the handler tree ([`schema`]), the conversion of
//! updates into engine events and of engine outputs into Bot API calls, the
//! command menu, and the Telegram side of the core's services (reminders,
//! admins, reload: [`TelegramNotifier`]).
//!
//! It holds no dialogue logic: every event goes through [`App::handle_once`],
//! which saves the new state, the update id and the reply's outbox items in
//! one write before it returns, and only then is anything sent. What the
//! adapter owns is the Telegram side: private chats only, each `update_id`
//! applied once, every press answered, replies delivered from the durable
//! outbox with pacing outside the handlers ([`delivery`]), calls retried
//! ([`Outbox`]), panics contained to their update, and a graceful stop that
//! finishes the updates in flight and the replies queued for them.
//!
//! Tests drive [`run_bot`] against a fake Bot API on loopback
//! (`tests/telegram.rs`).

mod admin;
mod convert;
pub mod delivery;
mod health;
mod limiter;
mod menu;
mod notices;
mod notifier;
mod outbox;
mod schema;
pub mod webhook;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use jiff::tz::TimeZone;
use teloxide::dispatching::Dispatcher;
use teloxide::dispatching::ShutdownToken;
use teloxide::error_handlers::ErrorHandler;
use teloxide::requests::Requester;
use teloxide::stop::StopToken;
use teloxide::types::Me;
use teloxide::update_listeners::{Polling, UpdateListener};
use teloxide::{ApiError, Bot, RequestError, dptree};
use tokio::sync::watch;

pub use delivery::Sender;
pub use health::bot_api_check;
pub use limiter::Limits;
pub use menu::MenuCommand;
pub use notifier::TelegramNotifier;
pub use outbox::{Outbox, Retry};
pub use webhook::{Secret, Webhook};

use crate::adapters::ops::Metrics;
use crate::app::admin::Admins;
use crate::app::notify::Notifier;
use crate::app::store::UserId;
use crate::app::{App, Clock, user_zone};
use schema::schema;

/// How the bot runs; the defaults suit production, tests shorten the waits.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long one getUpdates call waits for updates (long polling); keep
    /// it under teloxide's 17 s request timeout.
    pub poll_timeout: Duration,
    /// How often due reminders are looked for.
    pub reminder_every: Duration,
    /// The users' time zone (today and now for the engine).
    pub zone: TimeZone,
    pub limits: Limits,
    pub retry: Retry,
    /// Telegram users allowed to use `/stats` and `/reload` (GUIDEBOT_ADMINS).
    pub admins: Vec<UserId>,
    /// The dialogues folder: watched while the bot runs, and reloaded by `/reload`.
    pub dialogues: Option<std::path::PathBuf>,
    /// How long a stop waits for queued replies to go out.
    pub drain: Duration,
    /// Webhook mode instead of long polling (see [`webhook`]).
    pub webhook: Option<Webhook>,
    /// Where the process's counts go.
    pub metrics: Metrics,
}

/// Admin ids from GUIDEBOT_ADMINS (comma-separated Telegram user ids, bare
/// or as `telegram:ID`); anything else is logged and skipped.
pub fn admins_from_env() -> Vec<UserId> {
    let raw = std::env::var("GUIDEBOT_ADMINS").unwrap_or_default();
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .filter_map(|s| match s.parse::<UserId>() {
            Ok(id) if id.front == crate::app::store::Front::Telegram => Some(id),
            _ => {
                tracing::warn!(value = s, "GUIDEBOT_ADMINS holds something that is not a Telegram user id; skipped");
                None
            }
        })
        .collect()
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            poll_timeout: Duration::from_secs(10),
            reminder_every: Duration::from_secs(30),
            zone: user_zone(),
            limits: Limits::default(),
            retry: Retry::default(),
            admins: admins_from_env(),
            dialogues: None,
            drain: Duration::from_secs(10),
            webhook: None,
            metrics: Metrics::default(),
        }
    }
}

/// Why the bot could not start. Never contains the token.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error("Telegram refused the token in TELOXIDE_TOKEN; check it with @BotFather (/mybots → your bot → API Token)")]
    Token,
    #[error("cannot reach the Telegram Bot API at {url}: {detail}")]
    Connect { url: String, detail: String },
    #[error("TELOXIDE_API_URL `{0}` is not an http(s) URL such as http://127.0.0.1:8081")]
    ApiUrl(String),
    #[error("TELOXIDE_PROXY is set but is not a proxy address such as socks5://127.0.0.1:1080")]
    Proxy,
    #[error("cannot listen for webhook updates on {addr}: {detail}")]
    Listen { addr: std::net::SocketAddr, detail: String },
    #[error("Telegram refused the webhook {url}: {detail}")]
    Webhook { url: String, detail: String },
}

/// A `Bot` for `token`, talking to `api_url` (TELOXIDE_API_URL) when given
/// instead of api.telegram.org, through TELOXIDE_PROXY when that is set.
pub fn bot_at(token: &str, api_url: Option<&str>) -> Result<Bot, BotError> {
    let client = std::panic::catch_unwind(teloxide::net::client_from_env).map_err(|_| BotError::Proxy)?;
    let bot = Bot::with_client(token, client);
    let Some(url) = api_url.map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(bot);
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(BotError::ApiUrl(url.to_owned()));
    }
    // `Url` is reqwest's, which guidebot does not name: parse by joining an
    // absolute URL onto the default one. teloxide wants no trailing slash.
    let base = bot.api_url().join(url.trim_end_matches('/')).map_err(|_| BotError::ApiUrl(url.to_owned()))?;
    Ok(bot.set_api_url(base))
}

/// Runs the bot until `shutdown` completes: long polling (or the webhook of
/// [`Settings::webhook`]), one handler tree, reminders every
/// [`Settings::reminder_every`]. On shutdown it stops polling (confirming the
/// updates fetched so far) or taking webhook requests, finishes every update
/// in flight, stops the reminders, and returns.
pub async fn run_bot<S>(
    app: Arc<App>,
    bot: Bot,
    clock: Arc<dyn Clock>,
    settings: Settings,
    shutdown: S,
) -> Result<(), BotError>
where
    S: Future<Output = ()> + Send + 'static,
{
    let outbox = Outbox::new(bot.clone(), settings.limits, settings.retry).with_metrics(settings.metrics.clone());
    let sender = Sender::new(outbox.clone(), Arc::clone(app.store()));
    let me = connect(&outbox).await?;
    tracing::info!(bot = me.user.username.as_deref().unwrap_or_default(), "connected to Telegram");
    // What a crash left undelivered goes first, before any new update of its chat.
    sender.resume().await;
    menu::set_menus(&outbox, &app.library()).await;

    let admins = Arc::new(Admins::new(settings.admins.iter().copied()));
    let notifier = Arc::new(TelegramNotifier::new(sender.clone(), outbox.clone(), Arc::clone(&admins)));
    let admin = Arc::new(admin::Admin::new(admins, Arc::clone(&notifier), settings.dialogues.clone()));
    let _watch = match &settings.dialogues {
        Some(dir) => admin::watch_dialogues(dir, Arc::clone(&app), Arc::clone(&admin)),
        None => None,
    };

    let acks = webhook::Acks::default();
    let webhook = match &settings.webhook {
        Some(hook) => Some(
            webhook::start(hook, &outbox, acks.clone(), settings.metrics.clone())
                .await
                .map_err(|err| webhook_error(&outbox, hook, err))?,
        ),
        None => None,
    };
    let handler = webhook::intake(schema(), settings.metrics.clone(), acks.clone());
    let mut dispatcher = Dispatcher::builder(bot.clone(), handler)
        .dependencies(dptree::deps![
            Arc::clone(&app),
            outbox.clone(),
            sender.clone(),
            Arc::clone(&clock),
            settings.zone.clone(),
            Arc::new(schema::ToldGroups::default()),
            admin
        ])
        .default_handler(|_| async {})
        .error_handler(LogErrors::new(&outbox, "an update could not be answered"))
        .build();
    let (stopping, stop_listener) = watch::channel(false);
    let stopper = tokio::spawn(stop_on(shutdown, dispatcher.shutdown_token(), stopping));
    let (stop_reminders, reminders_stopped) = watch::channel(false);
    let reminders = tokio::spawn(crate::app::reminders::remind_every(
        Arc::clone(&app),
        notifier as Arc<dyn Notifier>,
        clock,
        settings.reminder_every,
        reminders_stopped,
    ));

    let errors = LogErrors::new(&outbox, "getting updates failed");
    let dispatched = match webhook {
        None => {
            let mut listener = Polling::builder(bot).timeout(settings.poll_timeout).delete_webhook().await.build();
            let also = stop_listener_too(listener.stop_token(), stop_listener);
            settings.metrics.set_serving(true);
            let dispatched = dispatcher.try_dispatch_with_listener(listener, errors).await;
            also.abort();
            dispatched
        }
        Some((mut listener, server)) => {
            let also = stop_listener_too(listener.stop_token(), stop_listener);
            settings.metrics.set_serving(true);
            let dispatched = dispatcher.try_dispatch_with_listener(listener, errors).await;
            also.abort();
            server.stop().await;
            dispatched
        }
    };
    settings.metrics.set_serving(false);

    stopper.abort();
    // The receiver may be gone if the ticker stopped on its own; nothing to tell then.
    let _ = stop_reminders.send(true);
    if let Err(err) = reminders.await {
        tracing::error!(panicked = err.is_panic(), "the reminder ticker stopped");
    }
    // Replies already saved go out now if they can; what cannot stays in the
    // outbox for the next start.
    if !sender.drain(settings.drain).await {
        tracing::warn!("stopping with replies still queued; they are sent at the next start");
    }
    dispatched.map_err(|err| connect_error(&outbox, &err))?;
    tracing::info!("stopped");
    Ok(())
}

/// Checks the token and the connection (getMe, retried like any call).
async fn connect(outbox: &Outbox) -> Result<Me, BotError> {
    outbox.call(None, outbox.bot().get_me()).await.map_err(|err| connect_error(outbox, &err))
}

fn connect_error(outbox: &Outbox, err: &RequestError) -> BotError {
    match err {
        RequestError::Api(ApiError::InvalidToken) => BotError::Token,
        _ => BotError::Connect { url: outbox.bot().api_url().to_string(), detail: outbox.describe(err) },
    }
}

fn webhook_error(outbox: &Outbox, hook: &Webhook, err: webhook::StartError) -> BotError {
    match err {
        webhook::StartError::Listen(err) => BotError::Listen { addr: hook.listen, detail: err.to_string() },
        webhook::StartError::SetWebhook(RequestError::Api(ApiError::Unknown(detail))) => {
            BotError::Webhook { url: hook.url.to_string(), detail }
        }
        webhook::StartError::SetWebhook(err) => connect_error(outbox, &err),
    }
}

/// Waits for `shutdown`, then asks the dispatcher to stop (and tells
/// [`stop_listener_too`]). The dispatcher refuses until it has started, so it
/// is asked again until it accepts.
async fn stop_on<S: Future<Output = ()>>(shutdown: S, token: ShutdownToken, stopping: watch::Sender<bool>) {
    shutdown.await;
    tracing::info!("shutting down: finishing the updates in flight");
    stopping.send_replace(true);
    while token.shutdown().is_err() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Stops the update listener itself once the stop begins. teloxide's
/// dispatcher hears its shutdown token only while it waits for the next
/// update: if the token fires while it is handing an update to a busy chat's
/// queue (under load, often), it never hears it and goes on polling. Ending
/// the listener's stream ends the dispatcher's loop in every case; it then
/// finishes the updates in flight as usual.
fn stop_listener_too(listener: StopToken, mut stopping: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if stopping.wait_for(|stop| *stop).await.is_ok() {
            listener.stop();
        }
    })
}

/// The dispatcher's and the listener's error handler: logs through
/// tracing, token removed.
struct LogErrors {
    outbox: Outbox,
    what: &'static str,
}

impl LogErrors {
    fn new(outbox: &Outbox, what: &'static str) -> Arc<LogErrors> {
        Arc::new(LogErrors { outbox: outbox.clone(), what })
    }
}

impl ErrorHandler<RequestError> for LogErrors {
    fn handle_error(self: Arc<Self>, err: RequestError) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        let detail = match &err {
            RequestError::Api(ApiError::TerminatedByOtherGetUpdates) => {
                "another process is polling with this token (409 Conflict); run one bot per token".to_owned()
            }
            _ => self.outbox.describe(&err),
        };
        let what = self.what;
        Box::pin(async move {
            tracing::error!(error = %detail, "{what}");
        })
    }
}
