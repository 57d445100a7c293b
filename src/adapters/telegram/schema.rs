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
//! which saves the id, the state it changed and the reply's outbox items in one
//! write: a crash can neither lose an update, nor apply it twice, nor lose its
//! reply. The reply is then handed to the [`Sender`], which paces and delivers it
//! outside the handler. A chat with too many replies still waiting has its new
//! updates set aside, with one "please wait".
//! ├─ button press elsewhere ──────────────── answered only
//! └─ anything else ───────────────────────── ignored
//! ```

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::FutureExt;
use jiff::tz::TimeZone;
use teloxide::dispatching::UpdateHandler;
use teloxide::types::{ChatId, Me, Message, MessageId, MessageKind, Update, UpdateKind};
use teloxide::{ApiError, RequestError, dptree};
use tracing::Instrument;

use super::admin::Admin;
use super::convert::{chat_of, lang_hint, user_id};
use super::delivery::{FLOOD_BACKLOG, Reply, Sender, encode, encode_keeping, now_ms, plan};
use super::menu::MenuCommand;
use super::notices::{Notice, notice};
use super::outbox::Outbox;
use crate::adapters::store::{EventId, UserId};
use crate::app::{App, AppError, Clock, Delivery, ctx_at};
use crate::domain::engine::{Event, Press};

/// What endpoints return; errors reach the dispatcher's logging error handler.
pub type HandlerResult = Result<(), RequestError>;

/// The whole handler tree.
///
/// dptree hands every filter and endpoint its own clone of each value it
/// takes, so the update is shared as one `Arc<Update>` (cloned once, here)
/// and looked into by reference; a press reaches its endpoint without a copy.
pub fn schema() -> UpdateHandler<RequestError> {
    let message = dptree::filter_map(|update: Arc<Update>| match &update.kind {
        UpdateKind::Message(m) => Some(m.clone()),
        _ => None,
    })
    .branch(teloxide::filter_command::<MenuCommand, _>().endpoint(on_command))
    .branch(dptree::filter_map(|m: Message| m.text().map(str::to_owned)).endpoint(on_text))
    .branch(dptree::filter_async(delivered_before).endpoint(ignore))
    .branch(dptree::endpoint(on_other_message));
    let private = dptree::filter(in_private_chat).branch(dptree::filter(is_press).endpoint(on_press)).branch(message);
    dptree::map(|update: Update| Arc::new(update)).chain(
        dptree::entry()
            .branch(dptree::filter(|u: Arc<Update>| matches!(u.kind, UpdateKind::EditedMessage(_))).endpoint(ignore))
            .branch(dptree::filter_map(outside_private_chat).endpoint(point_to_private_chat))
            .branch(private)
            .branch(dptree::filter(is_press).endpoint(answer_only))
            .branch(dptree::endpoint(ignore)),
    )
}

fn is_press(update: Arc<Update>) -> bool {
    matches!(update.kind, UpdateKind::CallbackQuery(_))
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
    /// The press to answer, and when it arrived (unix ms).
    callback: Option<(String, i64)>,
}

/// What every turn needs, injected by dptree.
struct Deps {
    app: Arc<App>,
    outbox: Outbox,
    sender: Sender,
    clock: Arc<dyn Clock>,
    zone: TimeZone,
    admin: Arc<Admin>,
}

fn in_private_chat(update: Arc<Update>) -> bool {
    match &update.kind {
        UpdateKind::Message(m) => m.chat.is_private(),
        UpdateKind::CallbackQuery(q) => q.message.as_ref().is_none_or(|m| m.chat().is_private()),
        _ => false,
    }
}

fn outside_private_chat(update: Arc<Update>) -> Option<Message> {
    match &update.kind {
        UpdateKind::Message(m) | UpdateKind::ChannelPost(m) if !m.chat.is_private() => Some(m.clone()),
        _ => None,
    }
}

/// Telegram redelivers updates whose offset was not confirmed (a crash after
/// fetching). Messages the app never sees (stickers, photos…) are answered once
/// per update id through the store's index; a store failure lets them through.
async fn delivered_before(update: Arc<Update>, app: Arc<App>) -> bool {
    let id = EventId::telegram(i64::from(update.id.0));
    match tokio::task::spawn_blocking(move || app.store().first_delivery(id)).await {
        Ok(Ok(first)) => {
            if !first {
                tracing::info!(update = %id, "update delivered before; skipped");
            }
            !first
        }
        Ok(Err(err)) => {
            tracing::warn!(update = %id, error = %err, "could not check for a repeated update; handling it");
            false
        }
        Err(_) => false,
    }
}

async fn ignore() -> HandlerResult {
    Ok(())
}

/// A press outside a private chat: answered, nothing else.
async fn answer_only(update: Arc<Update>, outbox: Outbox) -> HandlerResult {
    if let UpdateKind::CallbackQuery(q) = &update.kind {
        outbox.answer(q.id.clone()).await;
    }
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
    update: Arc<Update>,
    msg: Message,
    command: MenuCommand,
    app: Arc<App>,
    outbox: Outbox,
    sender: Sender,
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
    take_turn(turn, Deps { app, outbox, sender, clock, zone, admin }).await
}

#[allow(clippy::too_many_arguments)]
async fn on_text(
    update: Arc<Update>,
    msg: Message,
    text: String,
    app: Arc<App>,
    outbox: Outbox,
    sender: Sender,
    clock: Arc<dyn Clock>,
    zone: TimeZone,
    admin: Arc<Admin>,
) -> HandlerResult {
    let Some(turn) = message_turn(&update, &msg, Event::Text(text)) else {
        return Ok(());
    };
    take_turn(turn, Deps { app, outbox, sender, clock, zone, admin }).await
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

/// Every press is answered, so the button stops spinning whatever follows:
/// with the reply (saved with it) when it reaches the app, directly
/// otherwise. Data the bot did not make changes nothing.
#[allow(clippy::too_many_arguments)]
async fn on_press(
    update: Arc<Update>,
    app: Arc<App>,
    outbox: Outbox,
    sender: Sender,
    clock: Arc<dyn Clock>,
    zone: TimeZone,
    admin: Arc<Admin>,
) -> HandlerResult {
    let UpdateKind::CallbackQuery(q) = &update.kind else { return Ok(()) };
    let Some(press) = q.data.as_deref().and_then(Press::decode) else {
        tracing::debug!(update = update.id.0, "callback data the bot did not make; ignored");
        outbox.answer(q.id.clone()).await;
        return Ok(());
    };
    let Some(user) = user_id(&q.from) else {
        outbox.answer(q.id.clone()).await;
        return Ok(());
    };
    let turn = Turn {
        update: update.id.0,
        user,
        chat: q.message.as_ref().map_or(chat_of(user), |m| m.chat().id),
        event: Event::Press(press),
        first_name: Some(q.from.first_name.clone()),
        lang: lang_hint(&q.from),
        pressed: q.message.as_ref().map(|m| m.id()),
        callback: Some((q.id.0.clone(), now_ms())),
    };
    take_turn(turn, Deps { app, outbox, sender, clock, zone, admin }).await
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
        callback: None,
    })
}

/// Applies one turn and queues its reply. The app persists the new state
/// with the reply before it returns, so nothing is sent before it is safe.
/// A failure or a panic ends this update only: logged, and the person gets
/// a short apology. A panic anywhere in the turn is caught at its future, so
/// that it cannot end the chat's worker in the dispatcher (teloxide #1435);
/// the turn runs on the handler's own task (a task of its own per update cost
/// a spawn and a wake-up a step).
async fn take_turn(turn: Turn, deps: Deps) -> HandlerResult {
    let span = tracing::info_span!("update", id = turn.update, chat = turn.chat.0);
    let (chat, lang, outbox) = (turn.chat, turn.lang.clone(), deps.outbox.clone());
    // Unwind safety: as when the turn was a task of its own. What a turn shares
    // (the app's caches and locks, the sender's lanes) sits behind locks read
    // through poisoning, and the engine's step has its own catch_unwind.
    match AssertUnwindSafe(apply_and_queue(turn, deps).instrument(span)).catch_unwind().await {
        Ok(result) => result,
        Err(_) => {
            tracing::error!(chat = chat.0, panicked = true, "an update handler stopped");
            apologise(&outbox, chat, lang.as_deref(), Notice::Apology).await
        }
    }
}

async fn apply_and_queue(turn: Turn, deps: Deps) -> HandlerResult {
    let Turn { update: turn_update, user, chat, event, first_name, lang, pressed, callback } = turn;
    let Deps { app, outbox, sender, clock, zone, admin } = deps;
    if sender.backlog(chat) >= FLOOD_BACKLOG {
        // This chat is far ahead of what can be sent: set the update aside, say so once.
        tracing::info!(%user, update = turn_update, "too many replies waiting in this chat; update set aside");
        if let Some((id, _)) = callback {
            outbox.answer(teloxide::types::CallbackQueryId(id)).await;
        }
        if sender.first_flood_notice(chat) {
            // Beside the lane, so that it is read now, not after the backlog.
            let text = notice(lang.as_deref(), Notice::PleaseWait);
            tokio::spawn(async move {
                if let Err(err) = outbox.say(chat, &text).await {
                    tracing::debug!(error = %outbox.describe(&err), "the flood notice was not delivered");
                }
            });
        }
        return Ok(());
    }
    let command = match &event {
        Event::Command(c) => Some(format!("{c:?}")),
        Event::Text(t) if t.trim_start().starts_with('/') => Some(t.trim().to_owned()),
        _ => None,
    };
    if let Some(c) = &command
        && sender.is_resend(chat, c)
    {
        tracing::info!(%user, update = turn_update, "the same command again before its reply went out; answered once");
        return Ok(());
    }
    // Built where the store may be read (the person's guide decides their time
    // zone): on this task for a store that never blocks, else on a blocking thread.
    let now = clock.now();
    let ctx_for = {
        let lang = lang.clone();
        move |app: &App| ctx_at(now, &app.zone_for(user, &zone), first_name, lang)
    };
    let id = EventId::telegram(i64::from(turn_update));
    let for_press = callback.clone();
    let started = std::time::Instant::now();
    // The items of the reply as planned, beside their saved bytes.
    let planned = std::sync::Mutex::new(Vec::new());
    // Err(true): the engine panicked on this update.
    let handled: Result<Result<Delivery, AppError>, bool> = if app.store().defers_durability() {
        // The step and the store's write take microseconds and never wait on the
        // disk: run them here, then await the flush without holding a thread.
        let reply = Reply { chat, pressed, callback: callback.as_ref().map(|(id, at)| (id.as_str(), *at)) };
        let step = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let ctx = ctx_for(&app);
            app.handle_once_deferred(user, id, &event, &ctx, &|out| encode_keeping(out, &reply, &planned))
        }));
        match step {
            Ok(Ok((delivery, durable))) => Ok(app.settled(user, durable).await.map(|()| delivery)),
            Ok(Err(err)) => Ok(Err(err)),
            Err(_) => Err(true),
        }
    } else {
        tokio::task::spawn_blocking(move || {
            let reply = Reply { chat, pressed, callback: callback.as_ref().map(|(id, at)| (id.as_str(), *at)) };
            let ctx = ctx_for(&app);
            app.handle_once(user, id, &event, &ctx, &|out| encode(&plan(out, &reply)))
        })
        .await
        .map_err(|err| err.is_panic())
    };
    match handled {
        Ok(Ok(Delivery::Applied { out, queued })) => {
            outbox.metrics().step_applied(started.elapsed());
            for problem in &out.problems {
                tracing::warn!(%user, problem = %problem, "guide problem");
            }
            admin.disk_ok();
            sender.enqueue_planned(queued, planned.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner));
            if let Some(c) = command {
                sender.note_command(chat, c);
            }
            Ok(())
        }
        Ok(Ok(Delivery::Repeated)) => {
            // Applied before a restart: its reply is in the outbox already, and is
            // being sent. A press still wants its spinner stopped.
            tracing::info!(update = %id, "update delivered before; nothing new to send");
            if let Some((id, _)) = for_press {
                outbox.answer(teloxide::types::CallbackQueryId(id)).await;
            }
            Ok(())
        }
        Ok(Err(err)) if err.is_disk_full() => {
            tracing::warn!(%user, "not saved: the disk is nearly full");
            admin.disk_full(&err.to_string());
            answer_press(&outbox, for_press).await;
            apologise(&outbox, chat, lang.as_deref(), Notice::NothingSaved).await
        }
        Ok(Err(err)) => {
            tracing::error!(%user, error = %err, "the update could not be applied");
            answer_press(&outbox, for_press).await;
            apologise(&outbox, chat, lang.as_deref(), Notice::Apology).await
        }
        Err(panicked) => {
            tracing::error!(%user, panicked, "the engine stopped on this update");
            answer_press(&outbox, for_press).await;
            apologise(&outbox, chat, lang.as_deref(), Notice::Apology).await
        }
    }
}

async fn answer_press(outbox: &Outbox, press: Option<(String, i64)>) {
    if let Some((id, _)) = press {
        outbox.answer(teloxide::types::CallbackQueryId(id)).await;
    }
}

async fn apologise(outbox: &Outbox, chat: ChatId, lang: Option<&str>, what: Notice<'_>) -> HandlerResult {
    match outbox.say(chat, &notice(lang, what)).await {
        Err(RequestError::Api(ApiError::BotBlocked | ApiError::UserDeactivated | ApiError::ChatNotFound)) => Ok(()),
        other => other,
    }
}
