//! Delivery: what a step will send, as durable outbox items, and the sender
//! that delivers them, paced per chat and overall, outside the handlers.
//!
//! A step's reply is planned ([`plan`]) into Bot API calls ([`Item`]) that
//! the app saves in the same store write as the new state and the update
//! id. Only then does [`Sender`] deliver them, and each delivered item is
//! taken out of the outbox. After a crash, [`Sender::resume`] sends what was
//! left, in order, before any new update of that chat is answered.
//!
//! Order: the messages that appear in a chat go out one after another, in
//! the chat's own lane; the answer to a button press and the edit of the
//! pressed message do not hold them back (they go out beside the lane).
//! Pacing waits happen in the lane, never in the update handler, so a busy
//! chat slows only itself. An `answerCallbackQuery` costs no pacing budget
//! (Telegram does not count it), and one older than Telegram accepts is
//! dropped rather than retried.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use teloxide::requests::Requester;
use teloxide::types::{ChatId, InputFile, MessageId};
use teloxide::{ApiError, RequestError};
use tokio::sync::Notify;

use super::convert::{html_parts, keyboard, message_parts};
use super::outbox::Outbox;
use crate::adapters::store::{Front, Queued, Store, UserId};
use crate::domain::engine::{Edit, Message, Output};

/// How old a button press may be for its answer to be worth sending;
/// Telegram refuses late answers ("query is too old").
const ANSWER_MAX_AGE_MS: i64 = 10_000;
/// Messages waiting in one chat beyond which that chat's new updates are set aside.
pub const FLOOD_BACKLOG: usize = 20;

/// One Bot API call, as saved in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "k")]
pub enum Item {
    /// `answerCallbackQuery`; `at` is when the press arrived (unix ms).
    Answer { id: String, at: i64 },
    /// `editMessageText` (with `text`) or `editMessageReplyMarkup` (without).
    Edit { chat: i64, message: i32, text: Option<String>, keys: Option<Keys> },
    /// `sendMessage`, HTML.
    Send { chat: i64, html: String, keys: Option<Keys> },
    /// `sendDocument`.
    Document { chat: i64, name: String, content: String },
}

/// An inline keyboard: rows of (label, callback data).
pub type Keys = Vec<Vec<(String, String)>>;

impl Item {
    fn chat(&self) -> Option<i64> {
        match self {
            Item::Answer { .. } => None,
            Item::Edit { chat, .. } | Item::Send { chat, .. } | Item::Document { chat, .. } => Some(*chat),
        }
    }

    /// Goes out in the chat's lane (it appears in the chat, in order).
    fn in_lane(&self) -> bool {
        matches!(self, Item::Send { .. } | Item::Document { .. })
    }
}

/// Where a reply goes.
#[derive(Debug, Clone, Copy)]
pub struct Reply<'a> {
    pub chat: ChatId,
    /// The message whose button was pressed.
    pub pressed: Option<MessageId>,
    /// The press to answer, and when it arrived (unix ms).
    pub callback: Option<(&'a str, i64)>,
}

/// The Bot API calls that show `out`: the press answered, the pressed
/// message edited, the new messages (split by what Telegram counts), the document.
pub fn plan(out: &Output, reply: &Reply<'_>) -> Vec<Item> {
    let chat = reply.chat.0;
    let mut items = Vec::new();
    if let Some((id, at)) = reply.callback {
        items.push(Item::Answer { id: id.to_owned(), at });
    }
    match (&out.edit, reply.pressed) {
        (Some(edit), Some(id)) => {
            let (text, keys) = match edit {
                Edit::Answered(text) => (text, None),
                Edit::Replace(message) => (&message.text, keys_of(message)),
            };
            let parts = html_parts(text);
            // A text that took several messages: only the keyboard (on the last one) changes.
            let text = match parts.as_slice() {
                [only] => Some(only.clone()),
                _ => None,
            };
            items.push(Item::Edit { chat, message: id.0, text, keys });
        }
        // Nothing to edit in place: a changed keyboard still has to be seen.
        (Some(Edit::Replace(message)), None) => send_items(&mut items, chat, message),
        _ => {}
    }
    for message in &out.messages {
        send_items(&mut items, chat, message);
    }
    if let Some(d) = &out.document {
        items.push(Item::Document { chat, name: d.filename.clone(), content: d.content.clone() });
    }
    items
}

/// `plan` as outbox bytes.
pub fn encode(items: &[Item]) -> Vec<Vec<u8>> {
    items.iter().filter_map(|i| serde_json::to_vec(i).ok()).collect()
}

/// The outbox bytes of `plan(out, reply)`, keeping the items themselves in
/// `keep` for [`Sender::enqueue_planned`] (so they need not be read back).
pub fn encode_keeping(out: &Output, reply: &Reply<'_>, keep: &Mutex<Vec<Item>>) -> Vec<Vec<u8>> {
    let items = plan(out, reply);
    let bytes = encode(&items);
    *keep.lock().unwrap_or_else(PoisonError::into_inner) = items;
    bytes
}

fn send_items(items: &mut Vec<Item>, chat: i64, message: &Message) {
    let parts = message_parts(message);
    let last = parts.len().saturating_sub(1);
    let mut keys = keys_of(message);
    for (i, html) in parts.into_iter().enumerate() {
        items.push(Item::Send { chat, html, keys: if i == last { keys.take() } else { None } });
    }
}

fn keys_of(message: &Message) -> Option<Keys> {
    keyboard(message).map(|kb| {
        kb.inline_keyboard
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .filter_map(|b| match b.kind {
                        teloxide::types::InlineKeyboardButtonKind::CallbackData(data) => Some((b.text, data)),
                        _ => None,
                    })
                    .collect()
            })
            .collect()
    })
}

/// The body of a `sendMessage`, `editMessageText` or `editMessageReplyMarkup`
/// call, serialized as it is (no JSON tree built first).
#[derive(Serialize)]
struct Body<'a> {
    chat_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parse_mode: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_markup: Option<Keyboard<'a>>,
}

/// An inline keyboard as the Bot API's JSON.
#[derive(Serialize)]
struct Keyboard<'a> {
    inline_keyboard: Vec<Vec<KeyJson<'a>>>,
}

#[derive(Serialize)]
struct KeyJson<'a> {
    text: &'a str,
    callback_data: &'a str,
}

fn keyboard_json(keys: &Keys) -> Keyboard<'_> {
    let rows =
        keys.iter().map(|row| row.iter().map(|(text, data)| KeyJson { text, callback_data: data }).collect()).collect();
    Keyboard { inline_keyboard: rows }
}

/// One outbox item on its way, and the entry it came from.
struct Job {
    user: UserId,
    seq: u64,
    item: Item,
}

#[derive(Default)]
struct Lane {
    queue: VecDeque<Job>,
    busy: bool,
    /// "Please wait" was said for the present backlog.
    told: bool,
    /// The last command whose reply is in this lane.
    command: Option<String>,
}

/// Delivers outbox items. Cheap to clone.
#[derive(Clone)]
pub struct Sender {
    inner: Arc<Inner>,
}

struct Inner {
    outbox: Outbox,
    store: Arc<dyn Store>,
    lanes: Mutex<HashMap<i64, Lane>>,
    /// Items taken but not finished (in lanes or beside them).
    in_flight: AtomicUsize,
    idle: Notify,
}

impl Sender {
    pub fn new(outbox: Outbox, store: Arc<dyn Store>) -> Sender {
        Sender {
            inner: Arc::new(Inner {
                outbox,
                store,
                lanes: Mutex::new(HashMap::new()),
                in_flight: AtomicUsize::new(0),
                idle: Notify::new(),
            }),
        }
    }

    /// Queues everything the outbox still holds (after a crash), in order.
    pub async fn resume(&self) -> usize {
        let store = Arc::clone(&self.inner.store);
        // A panic in the store is already logged by the panic hook; nothing was queued.
        let Ok(found) = tokio::task::spawn_blocking(move || store.pending()).await else { return 0 };
        match found {
            Ok(pending) => {
                // Another front end's items (none today) are its own to deliver.
                let items: Vec<Queued> = pending.into_iter().filter(|q| q.user.front == Front::Telegram).collect();
                let n = items.len();
                if n > 0 {
                    tracing::info!(items = n, "sending what was not delivered before the restart");
                }
                self.enqueue(items);
                n
            }
            Err(err) => {
                tracing::error!(error = %err, "could not read the outbox");
                0
            }
        }
    }

    /// Starts delivering saved outbox items.
    pub fn enqueue(&self, queued: Vec<Queued>) {
        for q in queued {
            match serde_json::from_slice::<Item>(&q.item) {
                Ok(item) => self.start(Job { user: q.user, seq: q.seq, item }),
                Err(err) => {
                    tracing::error!(user = %q.user, error = %err, "an outbox item cannot be read; dropped");
                    let this = self.clone();
                    tokio::spawn(async move { this.mark(q.user, q.seq, true).await });
                }
            }
        }
    }

    /// Starts delivering saved outbox items, given the items they were encoded
    /// from, in the same order ([`encode_keeping`]); reads the saved bytes
    /// instead when the two do not match.
    pub fn enqueue_planned(&self, queued: Vec<Queued>, items: Vec<Item>) {
        if queued.len() != items.len() {
            return self.enqueue(queued);
        }
        for (q, item) in queued.into_iter().zip(items) {
            self.start(Job { user: q.user, seq: q.seq, item });
        }
    }

    /// Where deliveries are counted.
    pub fn metrics(&self) -> &crate::adapters::ops::Metrics {
        self.inner.outbox.metrics()
    }

    /// Messages waiting in `chat`'s lane.
    pub fn backlog(&self, chat: ChatId) -> usize {
        let lanes = self.inner.lanes.lock().unwrap_or_else(PoisonError::into_inner);
        lanes.get(&chat.0).map_or(0, |l| l.queue.len() + usize::from(l.busy))
    }

    /// True the first time it is asked while `chat`'s backlog lasts: say "please wait" once.
    pub fn first_flood_notice(&self, chat: ChatId) -> bool {
        let mut lanes = self.inner.lanes.lock().unwrap_or_else(PoisonError::into_inner);
        let lane = lanes.entry(chat.0).or_default();
        !std::mem::replace(&mut lane.told, true)
    }

    /// True when `command` is the command whose reply is still on its way to `chat`:
    /// the person sent it again because nothing came back yet, and gets one answer.
    pub fn is_resend(&self, chat: ChatId, command: &str) -> bool {
        let lanes = self.inner.lanes.lock().unwrap_or_else(PoisonError::into_inner);
        lanes.get(&chat.0).is_some_and(|l| l.command.as_deref() == Some(command))
    }

    /// Remembers that the reply to `command` was just queued in `chat`'s lane.
    pub fn note_command(&self, chat: ChatId, command: String) {
        let mut lanes = self.inner.lanes.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(lane) = lanes.get_mut(&chat.0) {
            lane.command = Some(command);
        }
    }

    /// Waits until everything queued was delivered, or `limit` passed.
    pub async fn drain(&self, limit: Duration) -> bool {
        let wait = async {
            loop {
                let notified = self.inner.idle.notified();
                if self.inner.in_flight.load(Ordering::SeqCst) == 0 {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(limit, wait).await.is_ok()
    }

    fn start(&self, job: Job) {
        self.inner.in_flight.fetch_add(1, Ordering::SeqCst);
        self.inner.outbox.metrics().outbox_taken();
        let Some(chat) = job.item.chat().filter(|_| job.item.in_lane()) else {
            // Answers and edits go beside the lane.
            let this = self.clone();
            tokio::spawn(async move { this.run(job).await });
            return;
        };
        let mut lanes = self.inner.lanes.lock().unwrap_or_else(PoisonError::into_inner);
        let lane = lanes.entry(chat).or_default();
        lane.queue.push_back(job);
        if !lane.busy {
            lane.busy = true;
            let this = self.clone();
            tokio::spawn(async move { this.drain_lane(chat).await });
        }
    }

    async fn drain_lane(&self, chat: i64) {
        loop {
            let job = {
                let mut lanes = self.inner.lanes.lock().unwrap_or_else(PoisonError::into_inner);
                let Some(lane) = lanes.get_mut(&chat) else { return };
                match lane.queue.pop_front() {
                    Some(job) => job,
                    None => {
                        lanes.remove(&chat);
                        return;
                    }
                }
            };
            self.run(job).await;
        }
    }

    async fn run(&self, job: Job) {
        let result = self.deliver(&job.item).await;
        if let Some(chat) = job.item.chat().filter(|_| job.item.in_lane()) {
            // The chat has seen everything queued for it: a command again is new, and
            // a flood notice is news again.
            let mut lanes = self.inner.lanes.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(lane) = lanes.get_mut(&chat)
                && lane.queue.is_empty()
            {
                lane.command = None;
                lane.told = false;
            }
        }
        match result {
            Ok(()) => {}
            Err(RequestError::Api(ApiError::BotBlocked | ApiError::UserDeactivated | ApiError::ChatNotFound)) => {
                tracing::info!(user = %job.user, "the person cannot be reached; message dropped");
            }
            Err(err) => {
                tracing::warn!(user = %job.user, error = %self.inner.outbox.describe(&err), "a message could not be delivered; dropped");
            }
        }
        self.mark(job.user, job.seq, job.item.in_lane()).await;
        self.inner.outbox.metrics().outbox_done();
        if self.inner.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.inner.idle.notify_waiters();
        }
    }

    /// Takes a finished item out of the outbox. A message that appeared in the
    /// chat (`seen`) is marked durably before its lane goes on, so that after a
    /// crash only a message in flight at that moment can be sent again. An
    /// answer or an edit, which the person would not notice twice, is marked
    /// without asking for a flush of its own (after a crash it may be made
    /// again: a late answer is dropped, an edit to the same text changes
    /// nothing). Without their own flushes, a step at ~500 steps/s offered cost
    /// 866 and 886 µs of CPU against 986 and 935 (alternating runs).
    async fn mark(&self, user: UserId, seq: u64, seen: bool) {
        let store = Arc::clone(&self.inner.store);
        // A store that defers durability is called here and its flush awaited;
        // any other from a blocking thread.
        let marked = if store.defers_durability() && !seen {
            store.delivered_unhurried(user, seq)
        } else if store.defers_durability() {
            match store.delivered_deferred(user, seq) {
                Ok(durable) => durable.settled().await,
                Err(err) => Err(err),
            }
        } else {
            match tokio::task::spawn_blocking(move || store.delivered(user, seq)).await {
                Ok(marked) => marked,
                Err(_) => return,
            }
        };
        if let Err(err) = marked {
            tracing::warn!(%user, error = %err, "could not mark a message delivered");
        }
    }

    async fn deliver(&self, item: &Item) -> Result<(), RequestError> {
        let outbox = &self.inner.outbox;
        let bot = outbox.bot();
        match item {
            Item::Answer { id, at } => {
                answer(outbox, id, *at).await;
                Ok(())
            }
            Item::Send { chat, html, keys } => {
                let body = Body {
                    chat_id: *chat,
                    message_id: None,
                    text: Some(html),
                    parse_mode: Some("HTML"),
                    reply_markup: keys.as_ref().map(keyboard_json),
                };
                outbox.call_json(Some(ChatId(*chat)), "sendMessage", &body).await
            }
            Item::Edit { chat, message, text, keys } => {
                // Without a reply_markup Telegram removes the keyboard, as an answered question wants.
                let method = if text.is_some() { "editMessageText" } else { "editMessageReplyMarkup" };
                let body = Body {
                    chat_id: *chat,
                    message_id: Some(*message),
                    text: text.as_deref(),
                    parse_mode: text.as_ref().map(|_| "HTML"),
                    reply_markup: keys.as_ref().map(keyboard_json),
                };
                match outbox.call_json(Some(ChatId(*chat)), method, &body).await {
                    Err(RequestError::Api(ApiError::MessageNotModified)) => Ok(()),
                    Err(err) => {
                        // The new messages matter more than the old one's look.
                        tracing::debug!(error = %outbox.describe(&err), "could not edit the pressed message");
                        Ok(())
                    }
                    ok => ok,
                }
            }
            Item::Document { chat, name, content } => {
                let file = InputFile::memory(content.clone().into_bytes()).file_name(name.clone());
                outbox.call(Some(ChatId(*chat)), bot.send_document(ChatId(*chat), file)).await.map(drop)
            }
        }
    }
}

/// Answers a press while Telegram still accepts it: retried only while young.
async fn answer(outbox: &Outbox, id: &str, at: i64) {
    let body = json!({ "callback_query_id": id });
    let mut attempt = 1;
    loop {
        let age = now_ms().saturating_sub(at);
        if age > ANSWER_MAX_AGE_MS {
            tracing::debug!(age_ms = age, "a button press is too old to answer; dropped");
            return;
        }
        let err = match outbox.post_json("answerCallbackQuery", &body).await {
            Ok(_) => return,
            Err(err) => err,
        };
        let wait = outbox.retry().delay(&err, attempt);
        let young = |w: &Duration| age + i64::try_from(w.as_millis()).unwrap_or(i64::MAX) <= ANSWER_MAX_AGE_MS;
        outbox.count_failure(&err, wait.as_ref().is_some_and(young));
        match wait {
            Some(wait) if young(&wait) => {
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            _ => {
                tracing::debug!(error = %outbox.describe(&err), "could not answer a button press");
                return;
            }
        }
    }
}

/// Unix time in milliseconds (the adapter's clock, for the age of presses).
pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::engine::{Action, Button, Press};

    fn question(text: &str) -> Message {
        let press = Press { seq: 1, node: 2, action: Action::Choice(0) };
        Message { text: text.into(), buttons: vec![vec![Button { label: "Go".into(), press }]], typed: false }
    }

    #[test]
    fn a_press_plans_answer_edit_then_the_next_question() {
        let out = Output {
            edit: Some(Edit::Answered("Q1 → **A**".into())),
            messages: vec![question("Q2 & more")],
            ..Output::default()
        };
        let reply = Reply { chat: ChatId(5), pressed: Some(MessageId(9)), callback: Some(("cb1", 1000)) };
        let items = plan(&out, &reply);
        assert_eq!(items[0], Item::Answer { id: "cb1".into(), at: 1000 });
        assert_eq!(items[1], Item::Edit { chat: 5, message: 9, text: Some("Q1 → <b>A</b>".into()), keys: None });
        let Item::Send { chat: 5, html, keys: Some(keys) } = &items[2] else { panic!("{:?}", items[2]) };
        assert_eq!(html, "Q2 &amp; more");
        assert_eq!(keys[0][0].0, "Go");
        assert_eq!(items.len(), 3);
        let bytes = encode(&items);
        let back: Vec<Item> = bytes.iter().map(|b| serde_json::from_slice(b).expect("item")).collect();
        assert_eq!(back, items);
    }

    #[test]
    fn call_bodies_are_the_bot_apis_json() {
        let keys: Keys = vec![vec![("Go".into(), "g1:2".into())]];
        let send = Body {
            chat_id: 5,
            message_id: None,
            text: Some("Q &amp; A"),
            parse_mode: Some("HTML"),
            reply_markup: Some(keyboard_json(&keys)),
        };
        assert_eq!(
            serde_json::to_value(&send).expect("json"),
            json!({ "chat_id": 5, "text": "Q &amp; A", "parse_mode": "HTML",
                    "reply_markup": { "inline_keyboard": [[{ "text": "Go", "callback_data": "g1:2" }]] } })
        );
        // The keyboard of an answered question goes: no reply_markup at all.
        let edit = Body { chat_id: 5, message_id: Some(9), text: None, parse_mode: None, reply_markup: None };
        assert_eq!(serde_json::to_value(&edit).expect("json"), json!({ "chat_id": 5, "message_id": 9 }));
    }

    #[test]
    fn the_items_kept_beside_the_bytes_are_the_ones_the_bytes_hold() {
        let out = Output { messages: vec![question("Next?")], ..Output::default() };
        let reply = Reply { chat: ChatId(3), pressed: None, callback: Some(("cb", 5)) };
        let kept = Mutex::new(Vec::new());
        let bytes = encode_keeping(&out, &reply, &kept);
        let read: Vec<Item> = bytes.iter().map(|b| serde_json::from_slice(b).expect("item")).collect();
        assert_eq!(read, kept.into_inner().expect("kept"));
        assert_eq!(read.len(), 2);
    }

    #[test]
    fn a_long_text_of_ampersands_splits_by_what_telegram_counts() {
        // 6,000 visible characters, 30,000 once escaped: two messages, not eight.
        let text = "&".repeat(3000) + "\n" + &"&".repeat(3000);
        let out = Output { messages: vec![Message { text, ..Message::default() }], ..Output::default() };
        let items = plan(&out, &Reply { chat: ChatId(1), pressed: None, callback: None });
        assert_eq!(items.len(), 2, "{}", items.len());
    }
}
