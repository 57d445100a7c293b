//! A fake Telegram Bot API on loopback, for driving the real bot end to end.
//!
//! Plain HTTP/1.1 on a `tokio::net::TcpListener` bound to 127.0.0.1:0: it
//! answers `POST /bot<TOKEN>/<method>` the way Telegram does, records every
//! call (method, JSON body or raw multipart body, answer, time), serves
//! `getUpdates` from a queue with Telegram's offset rules (an offset
//! confirms every update below it; unconfirmed updates are served again),
//! and can be told to fail or slow down a method. Tests wait for conditions
//! on the recorded calls with [`FakeBotApi::wait_for`].
//!
//! The update builders at the bottom produce the JSON Telegram sends, and
//! check that teloxide reads it.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// The token the tests' bots use; requests with another one are refused.
pub const TOKEN: &str = "123456:TEST-token-not-secret";
pub const BOT_ID: i64 = 777;
pub const BOT_USERNAME: &str = "guide_test_bot";
/// Date of every message (2026-12-01T01:00:00Z); teloxide needs one.
const DATE: i64 = 1_796_086_800;
/// How long [`FakeBotApi::wait_for`] waits before failing the test.
const WAIT: Duration = Duration::from_secs(15);

/// One request the bot made.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// The JSON body; Null for a multipart body (sendDocument).
    pub body: Value,
    /// The raw body, decoded lossily (for multipart contents).
    pub raw: String,
    /// When it arrived.
    pub at: Instant,
    /// The HTTP status of the answer, once given.
    pub status: Option<u16>,
    /// The answer's `result`, once given successfully.
    pub result: Option<Value>,
}

impl Call {
    /// `chat_id` of the call, if it has one.
    pub fn chat(&self) -> Option<i64> {
        self.body.get("chat_id").and_then(Value::as_i64)
    }

    /// `text` of the call, if it has one.
    pub fn text(&self) -> Option<&str> {
        self.body.get("text").and_then(Value::as_str)
    }

    /// The labels and callback data of the call's inline keyboard, in order.
    pub fn buttons(&self) -> Vec<(String, String)> {
        let rows = self.body.pointer("/reply_markup/inline_keyboard").and_then(Value::as_array);
        rows.into_iter()
            .flatten()
            .filter_map(Value::as_array)
            .flatten()
            .map(|b| {
                let label = b["text"].as_str().unwrap_or_default().to_owned();
                let data = b["callback_data"].as_str().unwrap_or_default().to_owned();
                (label, data)
            })
            .collect()
    }

    /// Whether the answer was a success.
    pub fn ok(&self) -> bool {
        self.status == Some(200)
    }
}

#[derive(Default)]
struct Inner {
    /// Pending updates, by update_id.
    updates: VecDeque<Value>,
    calls: Vec<Call>,
    /// Answers to give to the next calls of a method instead of the normal one.
    failures: HashMap<String, VecDeque<(u16, Value)>>,
    delays: HashMap<String, Duration>,
    /// (chat, message id) → (text, reply_markup) as last sent or edited.
    messages: HashMap<(i64, i64), (Value, Value)>,
    next_message_id: i64,
    /// chat → sendMessage calls to it still answered; every later one is never answered.
    holds: HashMap<i64, usize>,
}

/// The fake server; clones share it.
#[derive(Clone)]
pub struct FakeBotApi {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl FakeBotApi {
    /// Starts the server on a free loopback port.
    pub async fn start() -> FakeBotApi {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let api = FakeBotApi {
            addr: listener.local_addr().expect("local address"),
            inner: Arc::new(Mutex::new(Inner { next_message_id: 100, ..Inner::default() })),
        };
        let server = api.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(server.clone().serve(stream));
            }
        });
        api
    }

    /// The address to give the bot (TELOXIDE_API_URL).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues updates for getUpdates, all visible at once (one batch).
    pub fn push(&self, updates: impl IntoIterator<Item = Value>) {
        let mut inner = self.lock();
        for update in updates {
            let id = update_id(&update);
            let at = inner.updates.iter().position(|u| update_id(u) > id).unwrap_or(inner.updates.len());
            inner.updates.insert(at, update);
        }
    }

    /// Every call so far, in order of arrival.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// Calls of one method so far.
    pub fn calls_of(&self, method: &str) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.method == method).collect()
    }

    /// The calls from the `start`-th on that have been answered, up to the
    /// first one still waiting for its answer: for a watcher that reads
    /// each call once, in order.
    #[allow(dead_code, reason = "only the replica test watches calls this way")]
    pub fn answered_from(&self, start: usize) -> Vec<Call> {
        self.lock().calls.iter().skip(start).take_while(|c| c.status.is_some()).cloned().collect()
    }

    /// Answers the next call of `method` with this status and body.
    pub fn fail_next(&self, method: &str, status: u16, body: Value) {
        self.lock().failures.entry(method.to_owned()).or_default().push_back((status, body));
    }

    /// Answers the next call of `method` with 429 Too Many Requests.
    pub fn too_many_requests(&self, method: &str, retry_after: u64) {
        let body = json!({
            "ok": false,
            "error_code": 429,
            "description": format!("Too Many Requests: retry after {retry_after}"),
            "parameters": { "retry_after": retry_after },
        });
        self.fail_next(method, 429, body);
    }

    /// Makes every call of `method` take `delay` before it is answered.
    pub fn slow_down(&self, method: &str, delay: Duration) {
        self.lock().delays.insert(method.to_owned(), delay);
    }

    /// Answers the next `answered` sendMessage calls to `chat` normally, then
    /// answers none of the following ones (they are recorded, and the
    /// connection is left waiting), as a Telegram that stopped responding,
    /// until [`FakeBotApi::release`].
    #[allow(dead_code, reason = "not every test file holds messages")]
    pub fn hold_messages_to(&self, chat: i64, answered: usize) {
        self.lock().holds.insert(chat, answered);
    }

    /// sendMessage calls to `chat` are answered again (those already held stay unanswered).
    #[allow(dead_code, reason = "not every test file holds messages")]
    pub fn release(&self, chat: i64) {
        self.lock().holds.remove(&chat);
    }

    /// Queues an update again, as Telegram does with one whose offset was never
    /// confirmed; an update with the same id still queued is replaced, not doubled.
    #[allow(dead_code, reason = "not every test file holds messages")]
    pub fn redeliver(&self, update: Value) {
        let id = update_id(&update);
        self.lock().updates.retain(|u| update_id(u) != id);
        self.push([update]);
    }

    /// Waits until `check` finds what it looks for in the calls, and returns
    /// it; fails the test with the calls so far after a while.
    pub async fn wait_for<T>(&self, what: &str, mut check: impl FnMut(&[Call]) -> Option<T>) -> T {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(found) = check(&self.calls()) {
                return found;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; the bot's calls:\n{}", self.summary());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The calls, one line each (getUpdates left out), for failure messages.
    pub fn summary(&self) -> String {
        self.calls()
            .iter()
            .filter(|c| c.method != "getUpdates")
            .map(|c| {
                let body = if c.body.is_null() { c.raw.chars().take(200).collect() } else { c.body.to_string() };
                format!("  {} {:?} {body}\n", c.method, c.status)
            })
            .collect()
    }

    async fn serve(self, stream: TcpStream) {
        let (read, mut write) = stream.into_split();
        let mut read = BufReader::new(read);
        while let Some((path, body)) = read_request(&mut read).await {
            let (status, answer) = self.answer(&path, &body).await;
            let text = answer.to_string();
            let head = format!(
                "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                reason(status),
                text.len()
            );
            if write.write_all(head.as_bytes()).await.is_err() || write.write_all(text.as_bytes()).await.is_err() {
                return;
            }
        }
    }

    async fn answer(&self, path: &str, raw: &[u8]) -> (u16, Value) {
        // Method names are case-insensitive; teloxide writes `SendMessage`.
        let name = path.rsplit('/').next().unwrap_or_default();
        let mut chars = name.chars();
        let method: String = chars.next().map(|c| c.to_ascii_lowercase()).into_iter().chain(chars).collect();
        if !path.starts_with(&format!("/bot{TOKEN}/")) {
            return (404, json!({ "ok": false, "error_code": 404, "description": "Not Found" }));
        }
        let body: Value = serde_json::from_slice(raw).unwrap_or(Value::Null);
        let index = {
            let mut inner = self.lock();
            inner.calls.push(Call {
                method: method.clone(),
                body: body.clone(),
                raw: String::from_utf8_lossy(raw).into_owned(),
                at: Instant::now(),
                status: None,
                result: None,
            });
            inner.calls.len() - 1
        };
        if method == "sendMessage" && self.held(&body) {
            std::future::pending::<()>().await;
        }
        let delay = self.lock().delays.get(&method).copied();
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        let failure = self.lock().failures.get_mut(&method).and_then(VecDeque::pop_front);
        let (status, answer) = match failure {
            Some(failure) => failure,
            None if method == "getUpdates" => self.updates_for(&body).await,
            None => self.respond(&method, &body, raw),
        };
        let mut inner = self.lock();
        inner.calls[index].status = Some(status);
        inner.calls[index].result = answer.get("result").cloned();
        (status, answer)
    }

    /// True when this sendMessage is not to be answered (see [`FakeBotApi::hold_messages_to`]).
    fn held(&self, body: &Value) -> bool {
        let Some(chat) = body["chat_id"].as_i64() else { return false };
        let mut inner = self.lock();
        match inner.holds.get_mut(&chat) {
            Some(0) => true,
            Some(left) => {
                *left -= 1;
                false
            }
            None => false,
        }
    }

    /// Long polling with Telegram's offset rules.
    async fn updates_for(&self, body: &Value) -> (u16, Value) {
        let offset = body["offset"].as_i64().unwrap_or(0);
        let limit = body["limit"].as_u64().map_or(100, |l| l as usize);
        let timeout = Duration::from_secs(body["timeout"].as_u64().unwrap_or(0));
        let deadline = Instant::now() + timeout;
        // The offset confirms earlier updates when the request is made, as Telegram does;
        // a long poll its client has abandoned must not go on dropping later arrivals.
        if offset > 0 {
            self.lock().updates.retain(|u| update_id(u) >= offset);
        }
        loop {
            {
                let inner = self.lock();
                let ready: Vec<Value> = inner.updates.iter().take(limit).cloned().collect();
                if !ready.is_empty() || Instant::now() >= deadline {
                    return (200, json!({ "ok": true, "result": ready }));
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn respond(&self, method: &str, body: &Value, raw: &[u8]) -> (u16, Value) {
        let mut inner = self.lock();
        let result = match method {
            "getMe" => json!({
                "id": BOT_ID, "is_bot": true, "first_name": "Guide", "username": BOT_USERNAME,
                "can_join_groups": true, "can_read_all_group_messages": false,
                "supports_inline_queries": false, "can_connect_to_business": false, "has_main_web_app": false,
            }),
            "getWebhookInfo" => json!({ "url": "", "has_custom_certificate": false, "pending_update_count": 0 }),
            "sendMessage" => {
                let chat = body["chat_id"].as_i64().unwrap_or_default();
                inner.next_message_id += 1;
                let id = inner.next_message_id;
                let markup = body.get("reply_markup").cloned().unwrap_or(Value::Null);
                inner.messages.insert((chat, id), (body["text"].clone(), markup.clone()));
                message_json(chat, id, &body["text"], &markup)
            }
            "editMessageText" | "editMessageReplyMarkup" => {
                let chat = body["chat_id"].as_i64().unwrap_or_default();
                let id = body["message_id"].as_i64().unwrap_or_default();
                let Some((old_text, old_markup)) = inner.messages.get(&(chat, id)).cloned() else {
                    return bad_request("Bad Request: message to edit not found");
                };
                let text = if method == "editMessageText" { body["text"].clone() } else { old_text.clone() };
                let markup = body.get("reply_markup").cloned().unwrap_or(Value::Null);
                if text == old_text && markup == old_markup {
                    return bad_request(
                        "Bad Request: message is not modified: specified new message content and reply markup are \
                         exactly the same as a current content and reply markup of the message",
                    );
                }
                inner.messages.insert((chat, id), (text.clone(), markup.clone()));
                message_json(chat, id, &text, &markup)
            }
            "sendDocument" => {
                let raw = String::from_utf8_lossy(raw);
                let chat = multipart_field(&raw, "chat_id").and_then(|c| c.parse().ok()).unwrap_or_default();
                inner.next_message_id += 1;
                let mut message = message_json(chat, inner.next_message_id, &Value::Null, &Value::Null);
                message["document"] =
                    json!({ "file_id": "BQACAgIAAx0", "file_unique_id": "AgADx0", "file_size": raw.len() });
                message
            }
            // answerCallbackQuery, setMyCommands, deleteWebhook, …
            _ => json!(true),
        };
        (200, json!({ "ok": true, "result": result }))
    }
}

fn bad_request(description: &str) -> (u16, Value) {
    (400, json!({ "ok": false, "error_code": 400, "description": description }))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        _ => "Status",
    }
}

fn update_id(update: &Value) -> i64 {
    update["update_id"].as_i64().expect("updates have an update_id")
}

/// The value of a form field in a multipart body.
fn multipart_field<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    let start = raw.find(&format!("name=\"{name}\""))?;
    let rest = &raw[start..];
    let value = &rest[rest.find("\r\n\r\n")? + 4..];
    Some(&value[..value.find("\r\n")?])
}

/// Reads one HTTP/1.1 request: the path and the body (Content-Length or chunked).
async fn read_request<R: AsyncRead + Unpin>(read: &mut BufReader<R>) -> Option<(String, Vec<u8>)> {
    let mut line = String::new();
    if read.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let path = line.split_whitespace().nth(1)?.to_owned();
    let mut length = 0;
    let mut chunked = false;
    loop {
        let mut header = String::new();
        if read.read_line(&mut header).await.ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().ok()?,
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            read.read_line(&mut size).await.ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            if size == 0 {
                read.read_line(&mut String::new()).await.ok()?;
                break;
            }
            read.read_exact(&mut chunk).await.ok()?;
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(length, 0);
        read.read_exact(&mut body).await.ok()?;
    }
    Some((path, body))
}

fn chat_json(id: i64) -> Value {
    if id < 0 {
        json!({ "id": id, "type": "group", "title": "Family" })
    } else {
        json!({ "id": id, "type": "private", "first_name": "Ann" })
    }
}

fn message_json(chat: i64, id: i64, text: &Value, markup: &Value) -> Value {
    let mut message = json!({
        "message_id": id,
        "date": DATE,
        "chat": chat_json(chat),
        "from": { "id": BOT_ID, "is_bot": true, "first_name": "Guide", "username": BOT_USERNAME },
    });
    if !text.is_null() {
        message["text"] = text.clone();
    }
    if !markup.is_null() {
        message["reply_markup"] = markup.clone();
    }
    message
}

// ----- updates, as Telegram sends them -------------------------------------

/// Someone talking to the bot.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: i64,
    pub first_name: &'static str,
    pub lang: &'static str,
}

impl Person {
    fn json(&self) -> Value {
        json!({ "id": self.id, "is_bot": false, "first_name": self.first_name, "language_code": self.lang })
    }
}

/// Checks that teloxide reads `update` as the kind it is meant to be.
fn checked(update: Value) -> Value {
    // From text, as teloxide reads it off the wire (its reader needs borrowed keys).
    let parsed: teloxide::types::Update = serde_json::from_str(&update.to_string()).expect("a valid update");
    if matches!(parsed.kind, teloxide::types::UpdateKind::Error(_)) {
        let why = match (update.get("message"), update.get("callback_query")) {
            (Some(m), _) => serde_json::from_value::<teloxide::types::Message>(m.clone()).err(),
            (_, Some(q)) => serde_json::from_value::<teloxide::types::CallbackQuery>(q.clone()).err(),
            _ => None,
        };
        panic!("teloxide cannot read {update}: {why:?}");
    }
    update
}

/// A message in `chat` from `from` with these extra fields.
fn message_update(update: i64, from: &Person, chat: Value, fields: Value) -> Value {
    let mut message = json!({
        "message_id": update * 10,
        "date": DATE,
        "chat": chat,
        "from": from.json(),
    });
    for (k, v) in fields.as_object().expect("fields are an object") {
        message[k] = v.clone();
    }
    checked(json!({ "update_id": update, "message": message }))
}

/// A text message in the person's private chat (commands carry their entity).
pub fn text(update: i64, from: &Person, text: &str) -> Value {
    let mut fields = json!({ "text": text });
    if text.starts_with('/') {
        let length = text.split_whitespace().next().unwrap_or(text).encode_utf16().count();
        fields["entities"] = json!([{ "type": "bot_command", "offset": 0, "length": length }]);
    }
    message_update(update, from, chat_json(from.id), fields)
}

/// An edit of an earlier text message in the person's private chat.
pub fn edited_text(update: i64, from: &Person, message_id: i64, text: &str) -> Value {
    checked(json!({
        "update_id": update,
        "edited_message": {
            "message_id": message_id,
            "date": DATE,
            "edit_date": DATE + 60,
            "chat": chat_json(from.id),
            "from": from.json(),
            "text": text,
        },
    }))
}

/// A sticker in the person's private chat.
pub fn sticker(update: i64, from: &Person) -> Value {
    let sticker = json!({
        "file_id": "CAACAgIAAxkBAAE", "file_unique_id": "AgADBgAD", "file_size": 3000,
        "width": 512, "height": 512, "type": "regular", "is_animated": false, "is_video": false, "emoji": "👍",
    });
    message_update(update, from, chat_json(from.id), json!({ "sticker": sticker }))
}

/// A text message in a group chat.
pub fn group_text(update: i64, from: &Person, group: i64, text: &str) -> Value {
    message_update(update, from, chat_json(group), json!({ "text": text }))
}

/// A press of a button with `data` on `message` (a message the bot sent, as
/// the fake answered it).
pub fn press(update: i64, from: &Person, message: &Value, data: &str) -> Value {
    checked(json!({
        "update_id": update,
        "callback_query": {
            "id": format!("query-{update}"),
            "from": from.json(),
            "message": message,
            "chat_instance": "42",
            "data": data,
        },
    }))
}
