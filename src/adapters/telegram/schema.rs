//! The handler tree: [`schema`] sorts every update by kind, and each
//! endpoint turns its update into an engine [`Event`], lets the app apply it
//! (persisted before it returns), and shows the output. No dialogue logic
//! lives here: stale buttons, typed answers and commands are the engine's.
//!
//! ```text
//! update
//! ├─ edited message ──────────────────────── ignored
//! ├─ message or post outside a private chat ─ one pointer to a private chat per chat, nothing stored
//! ├─ private message or button press
//! │  ├─ button press ─────────────────────── answered; Press::decode → Event::Press, or nothing
//! │  └─ message
//! │     ├─ menu command ──────────────────── Event::Command
//! │     ├─ text ──────────────────────────── Event::Text
//! │     ├─ delivered before (same update_id) skipped (the store's update index)
//! │     └─ sticker, photo, voice, file… ──── "I read text and buttons", state unchanged
//!
//! Events that reach the app are applied once per update id by `App::handle_once`,
//! which saves the id with the state it changed: one write, so a crash can neither
//! lose an update nor apply it twice.
//! ├─ button press elsewhere ──────────────── answered only
//! └─ anything else ───────────────────────── ignored
//! ```

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use jiff::tz::TimeZone;
use teloxide::dispatching::{UpdateFilterExt, UpdateHandler};
use teloxide::types::{CallbackQuery, ChatId, Me, Message, MessageId, MessageKind, Update, UpdateKind};
use teloxide::{ApiError, RequestError, dptree};
use tracing::Instrument;

use super::admin::Admin;
use super::convert::{lang_hint, user_id};
use super::menu::MenuCommand;
use super::notices::{Notice, notice};
use super::outbox::Outbox;
use crate::adapters::store::UserId;
use crate::app::{App, Clock, Delivery, ctx_at};
use crate::domain::engine::{Event, Press};

/// What endpoints return; errors reach the dispatcher's logging error handler.
pub type HandlerResult = Result<(), RequestError>;

/// The whole handler tree.
pub fn schema() -> UpdateHandler<RequestError> {
    let message = Update::filter_message()
        .branch(teloxide::filter_command::<MenuCommand, _>().endpoint(on_command))
        .branch(dptree::filter_map(|m: Message| m.text().map(str::to_owned)).endpoint(on_text))
        .branch(dptree::filter_async(delivered_before).endpoint(ignore))
        .branch(dptree::endpoint(on_other_message));
    let private =
        dptree::filter(in_private_chat).branch(Update::filter_callback_query().endpoint(on_press)).branch(message);
    dptree::entry()
        .branch(Update::filter_edited_message().endpoint(ignore))
        .branch(dptree::filter_map(outside_private_chat).endpoint(point_to_private_chat))
        .branch(private)
        .branch(Update::filter_callback_query().endpoint(answer_only))
        .branch(dptree::endpoint(ignore))
}

/// Group and channel chats the bot has already pointed to a private chat,
/// in memory only (nothing about groups is stored).
#[derive(Debug, Default)]
pub struct ToldGroups(Mutex<HashSet<ChatId>>);

/// Groups remembered before the set starts over.
const MAX_TOLD: usize = 10_000;

impl ToldGroups {
    /// True the first time `chat` is seen.
    fn first_time(&self, chat: ChatId) -> bool {
        let mut told = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if told.len() >= MAX_TOLD {
            told.clear();
        }
        told.insert(chat)
    }
}

/// One thing a person did, ready for the engine.
struct Turn {
    update: u32,
    user: UserId,
    chat: ChatId,
    event: Event,
    first_name: Option<String>,
    lang: Option<String>,
    /// The message whose button was pressed.
    pressed: Option<MessageId>,
}

/// What every turn needs, injected by dptree.
struct Deps {
    app: Arc<App>,
    outbox: Outbox,
    clock: Arc<dyn Clock>,
    zone: TimeZone,
}

fn in_private_chat(update: Update) -> bool {
    match &update.kind {
        UpdateKind::Message(m) => m.chat.is_private(),
        UpdateKind::CallbackQuery(q) => q.message.as_ref().is_none_or(|m| m.chat().is_private()),
        _ => false,
    }
}

fn outside_private_chat(update: Update) -> Option<Message> {
    match update.kind {
        UpdateKind::Message(m) | UpdateKind::ChannelPost(m) if !m.chat.is_private() => Some(m),
        _ => None,
    }
}

/// Telegram redelivers updates whose offset was not confirmed (a crash after
/// fetching). Messages the app never sees (stickers, photos…) are answered once
/// per update id through the store's index; a store failure lets them through.
async fn delivered_before(update: Update, app: Arc<App>) -> bool {
    let id = i64::from(update.id.0);
    match tokio::task::spawn_blocking(move || app.store().first_delivery(id)).await {
        Ok(Ok(first)) => {
            if !first {
                tracing::info!(update = id, "update delivered before; skipped");
            }
            !first
        }
        Ok(Err(err)) => {
            tracing::warn!(update = id, error = %err, "could not check for a repeated update; handling it");
            false
        }
        Err(_) => false,
    }
}

async fn ignore() -> HandlerResult {
    Ok(())
}

/// A press outside a private chat: answered, nothing else.
async fn answer_only(q: CallbackQuery, outbox: Outbox) -> HandlerResult {
    outbox.answer(q.id).await;
    Ok(())
}

async fn point_to_private_chat(msg: Message, me: Me, outbox: Outbox, told: Arc<ToldGroups>) -> HandlerResult {
    if !told.first_time(msg.chat.id) {
        return Ok(());
    }
    let lang = msg.from.as_ref().and_then(lang_hint);
    let bot = me.user.username.as_deref().unwrap_or_default();
    outbox.say(msg.chat.id, &notice(lang.as_deref(), Notice::PrivateOnly { bot })).await
}

// dptree injects each dependency by type; bundling them would hide what an endpoint uses.
#[allow(clippy::too_many_arguments)]
async fn on_command(
    update: Update,
    msg: Message,
    command: MenuCommand,
    app: Arc<App>,
    outbox: Outbox,
    clock: Arc<dyn Clock>,
    zone: TimeZone,
    admin: Arc<Admin>,
) -> HandlerResult {
    if let Some(user) = msg.from.as_ref().and_then(user_id)
        && admin.handle(&command, user, msg.chat.id, &app, &outbox).await
    {
        return Ok(());
    }
    let Some(turn) = message_turn(&update, &msg, Event::Command(command.into_engine())) else {
        return Ok(());
    };
    take_turn(turn, Deps { app, outbox, clock, zone }).await
}

async fn on_text(
    update: Update,
    msg: Message,
    text: String,
    app: Arc<App>,
    outbox: Outbox,
    clock: Arc<dyn Clock>,
    zone: TimeZone,
) -> HandlerResult {
    let Some(turn) = message_turn(&update, &msg, Event::Text(text)) else {
        return Ok(());
    };
    take_turn(turn, Deps { app, outbox, clock, zone }).await
}

/// Stickers, photos, voice notes, files, locations…: one line saying what the
/// bot reads. Service messages (a pin, a timer change) get nothing.
async fn on_other_message(msg: Message, outbox: Outbox) -> HandlerResult {
    if !matches!(msg.kind, MessageKind::Common(_)) {
        return Ok(());
    }
    let lang = msg.from.as_ref().and_then(lang_hint);
    outbox.say(msg.chat.id, &notice(lang.as_deref(), Notice::TextOnly)).await
}

/// Every press is answered first, so the button stops spinning whatever
/// follows. Data the bot did not make changes nothing.
async fn on_press(
    update: Update,
    q: CallbackQuery,
    app: Arc<App>,
    outbox: Outbox,
    clock: Arc<dyn Clock>,
    zone: TimeZone,
) -> HandlerResult {
    outbox.answer(q.id.clone()).await;
    let Some(press) = q.data.as_deref().and_then(Press::decode) else {
        tracing::debug!(update = update.id.0, "callback data the bot did not make; ignored");
        return Ok(());
    };
    let Some(user) = user_id(&q.from) else {
        return Ok(());
    };
    let turn = Turn {
        update: update.id.0,
        user,
        chat: q.message.as_ref().map_or(ChatId(user), |m| m.chat().id),
        event: Event::Press(press),
        first_name: Some(q.from.first_name.clone()),
        lang: lang_hint(&q.from),
        pressed: q.message.as_ref().map(|m| m.id()),
    };
    take_turn(turn, Deps { app, outbox, clock, zone }).await
}

fn message_turn(update: &Update, msg: &Message, event: Event) -> Option<Turn> {
    let from = msg.from.as_ref()?;
    Some(Turn {
        update: update.id.0,
        user: user_id(from)?,
        chat: msg.chat.id,
        event,
        first_name: Some(from.first_name.clone()),
        lang: lang_hint(from),
        pressed: None,
    })
}

/// Applies one turn and shows the result. The app persists before it
/// returns, so nothing is sent before the state is safe. A failure or a
/// panic ends this update only: logged, and the person gets a short
/// apology. The turn runs as its own task so that a panic anywhere in it
/// cannot end the chat's worker in the dispatcher (teloxide #1435).
async fn take_turn(turn: Turn, deps: Deps) -> HandlerResult {
    let span = tracing::info_span!("update", id = turn.update, chat = turn.chat.0);
    let (chat, lang, outbox) = (turn.chat, turn.lang.clone(), deps.outbox.clone());
    match tokio::spawn(apply_and_show(turn, deps).instrument(span)).await {
        Ok(result) => result,
        Err(err) => {
            tracing::error!(chat = chat.0, panicked = err.is_panic(), "an update handler stopped");
            apologise(&outbox, chat, lang.as_deref()).await
        }
    }
}

async fn apply_and_show(turn: Turn, deps: Deps) -> HandlerResult {
    let Turn { update: turn_update, user, chat, event, first_name, lang, pressed } = turn;
    let Deps { app, outbox, clock, zone } = deps;
    let ctx = ctx_at(clock.now(), &zone, first_name, lang.clone());
    let id = i64::from(turn_update);
    let handled = tokio::task::spawn_blocking(move || app.handle_once(user, id, &event, &ctx)).await;
    let out = match handled {
        Ok(Ok(Delivery::Applied(out))) => out,
        Ok(Ok(Delivery::Repeated(out))) => {
            tracing::info!(update = id, "update delivered before; showing the current step again");
            out
        }
        Ok(Err(err)) => {
            tracing::error!(user, error = %err, "the update could not be applied");
            return apologise(&outbox, chat, lang.as_deref()).await;
        }
        Err(err) => {
            tracing::error!(user, panicked = err.is_panic(), "the engine stopped on this update");
            return apologise(&outbox, chat, lang.as_deref()).await;
        }
    };
    for problem in &out.problems {
        tracing::warn!(user, problem = %problem, "guide problem");
    }
    match outbox.show(chat, pressed, &out).await {
        Ok(()) => Ok(()),
        // Nobody to apologise to.
        Err(err @ RequestError::Api(ApiError::BotBlocked | ApiError::UserDeactivated | ApiError::ChatNotFound)) => {
            tracing::info!(user, error = %outbox.describe(&err), "the person cannot be reached");
            Ok(())
        }
        Err(err) => {
            tracing::error!(user, error = %outbox.describe(&err), "the reply could not be sent");
            apologise(&outbox, chat, lang.as_deref()).await
        }
    }
}

async fn apologise(outbox: &Outbox, chat: ChatId, lang: Option<&str>) -> HandlerResult {
    outbox.say(chat, &notice(lang, Notice::Apology)).await
}
