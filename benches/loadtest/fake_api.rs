//! A fast fake Telegram Bot API on 127.0.0.1 for the load test.
//!
//! HTTP/1.1 with keep-alive, one task per connection, `POST /bot<TOKEN>/<method>`
//! answered the way Telegram does. `getUpdates` is real long polling: the
//! offset confirms every update below it, unconfirmed updates are served
//! again, `limit` and `timeout` are honoured, and a waiting poll is woken the
//! moment an update is queued. Every message the bot sends or edits is handed
//! to the simulated user of that chat with the time it arrived. Calls are
//! counted per method, and a share of the sending calls can be failed with
//! 429 (retry after 1 s) or 502.
//!
//! Unlike `tests/fake_bot_api`, it keeps no record of the calls (memory stays
//! flat however long the run) and never sleeps in a loop.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;

/// The token the bots are started with; requests with another one get 404.
pub const TOKEN: &str = "123456:LOADTEST-token-not-secret";
const BOT_ID: i64 = 777;
const BOT_USERNAME: &str = "lost_card_load_bot";
/// Date of every message (2026-12-01T01:00:00Z); teloxide needs one.
pub const DATE: i64 = 1_796_086_800;
/// Chat ids of the simulated users are CHAT_BASE + their index.
pub const CHAT_BASE: i64 = 1_000_000;
/// Longest long poll served, whatever the bot asks for.
const MAX_POLL: Duration = Duration::from_secs(50);
/// Largest request body read (a case file as sendDocument is far smaller).
const MAX_BODY: usize = 1 << 20;

/// What a bot call did, as a simulated user sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    Message,
    Edit,
    Document,
}

/// A message that reached a user's chat.
#[derive(Debug)]
pub struct Reply {
    pub sent: Sent,
    pub text: String,
    /// The message as Telegram would return it (what a button press carries).
    pub message: Value,
    pub has_buttons: bool,
    /// When the bot's call arrived.
    pub at: Instant,
}

/// The fake server.
pub struct FakeApi {
    addr: SocketAddr,
    queue: Mutex<BTreeMap<i64, Arc<str>>>,
    queued: Notify,
    users: Vec<mpsc::UnboundedSender<Reply>>,
    counts: Mutex<HashMap<String, u64>>,
    polls: AtomicU64,
    next_update: AtomicI64,
    next_message: AtomicI64,
    fault_permille: u64,
    rng: AtomicU64,
    accepting: Mutex<Option<tokio::task::AbortHandle>>,
    faults_429: AtomicU64,
    faults_502: AtomicU64,
}

impl FakeApi {
    /// Starts the server on a free loopback port; `users[i]` receives what is sent to chat CHAT_BASE + i.
    pub async fn start(users: Vec<mpsc::UnboundedSender<Reply>>, fault_permille: u32) -> std::io::Result<Arc<FakeApi>> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let api = Arc::new(FakeApi {
            addr: listener.local_addr()?,
            queue: Mutex::new(BTreeMap::new()),
            queued: Notify::new(),
            users,
            counts: Mutex::new(HashMap::new()),
            polls: AtomicU64::new(0),
            next_update: AtomicI64::new(1),
            next_message: AtomicI64::new(1),
            fault_permille: u64::from(fault_permille.min(1000)),
            rng: AtomicU64::new(0x5EED),
            faults_429: AtomicU64::new(0),
            faults_502: AtomicU64::new(0),
            accepting: Mutex::new(None),
        });
        // The accepting task holds a weak reference, so it never keeps the server alive by itself.
        let server = Arc::downgrade(&api);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let Some(server) = server.upgrade() else { return };
                // Answers go out in one write; without NODELAY a small answer can wait for an ACK.
                let _ = stream.set_nodelay(true);
                tokio::spawn(server.serve(stream));
            }
        });
        *lock(&api.accepting) = Some(task.abort_handle());
        Ok(api)
    }

    /// Stops taking connections (the port is closed; open connections end with their bot).
    pub fn close(&self) {
        if let Some(task) = lock(&self.accepting).take() {
            task.abort();
        }
    }

    /// The address to give the bot (TELOXIDE_API_URL).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A fresh update id.
    pub fn update_id(&self) -> i64 {
        self.next_update.fetch_add(1, Ordering::Relaxed)
    }

    /// Queues an update for getUpdates (again, if its id was served before
    /// and is not confirmed: the same id is never queued twice).
    pub fn push(&self, id: i64, update: Arc<str>) {
        lock(&self.queue).insert(id, update);
        self.queued.notify_waiters();
    }

    /// Queues several updates at once (one batch for the next poll).
    pub fn push_all(&self, updates: impl IntoIterator<Item = (i64, Arc<str>)>) {
        lock(&self.queue).extend(updates);
        self.queued.notify_waiters();
    }

    /// getUpdates calls so far.
    pub fn polls(&self) -> u64 {
        self.polls.load(Ordering::Relaxed)
    }

    /// Calls per method so far.
    pub fn counts(&self) -> HashMap<String, u64> {
        lock(&self.counts).clone()
    }

    /// Calls answered with 429 and with 502 so far.
    pub fn faults(&self) -> (u64, u64) {
        (self.faults_429.load(Ordering::Relaxed), self.faults_502.load(Ordering::Relaxed))
    }

    async fn serve(self: Arc<Self>, stream: TcpStream) {
        let (read, mut write) = stream.into_split();
        let mut read = BufReader::new(read);
        while let Some((path, body)) = read_request(&mut read).await {
            let (status, answer) = self.answer(&path, &body).await;
            let head = format!(
                "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                reason(status),
                answer.len()
            );
            let mut out = head.into_bytes();
            out.extend_from_slice(answer.as_bytes());
            if write.write_all(&out).await.is_err() {
                return;
            }
        }
    }

    async fn answer(&self, path: &str, raw: &[u8]) -> (u16, String) {
        let at = Instant::now();
        let Some(name) =
            path.strip_prefix("/bot").and_then(|p| p.strip_prefix(TOKEN)).and_then(|p| p.strip_prefix('/'))
        else {
            return (404, r#"{"ok":false,"error_code":404,"description":"Not Found"}"#.to_owned());
        };
        // Method names are case-insensitive; teloxide writes `SendMessage`.
        let mut chars = name.chars();
        let method: String = chars.next().map(|c| c.to_ascii_lowercase()).into_iter().chain(chars).collect();
        *lock(&self.counts).entry(method.clone()).or_default() += 1;
        if method == "getUpdates" {
            let body: Value = serde_json::from_slice(raw).unwrap_or(Value::Null);
            return (200, self.updates_for(&body).await);
        }
        if matches!(
            method.as_str(),
            "sendMessage" | "editMessageText" | "editMessageReplyMarkup" | "answerCallbackQuery"
        ) && let Some(failure) = self.fault()
        {
            return failure;
        }
        let body: Value = serde_json::from_slice(raw).unwrap_or(Value::Null);
        let result = match method.as_str() {
            "getMe" => json!({
                "id": BOT_ID, "is_bot": true, "first_name": "Card", "username": BOT_USERNAME,
                "can_join_groups": true, "can_read_all_group_messages": false,
                "supports_inline_queries": false, "can_connect_to_business": false, "has_main_web_app": false,
            }),
            "getWebhookInfo" => json!({ "url": "", "has_custom_certificate": false, "pending_update_count": 0 }),
            "sendMessage" | "editMessageText" | "editMessageReplyMarkup" => {
                let chat = body["chat_id"].as_i64().unwrap_or_default();
                let (sent, id) = if method == "sendMessage" {
                    (Sent::Message, self.next_message.fetch_add(1, Ordering::Relaxed))
                } else {
                    (Sent::Edit, body["message_id"].as_i64().unwrap_or_default())
                };
                let text = body["text"].as_str().unwrap_or_default().to_owned();
                let markup = body.get("reply_markup").cloned().unwrap_or(Value::Null);
                let message = message_json(chat, id, &text, &markup);
                let has_buttons = markup.pointer("/inline_keyboard/0/0").is_some();
                let answer = ok(&message);
                self.deliver(chat, Reply { sent, text, message, has_buttons, at });
                return (200, answer);
            }
            "sendDocument" => {
                let raw = String::from_utf8_lossy(raw);
                let chat = multipart_field(&raw, "chat_id").and_then(|c| c.parse().ok()).unwrap_or_default();
                let id = self.next_message.fetch_add(1, Ordering::Relaxed);
                let mut message = message_json(chat, id, "", &Value::Null);
                message["document"] = json!({ "file_id": "BQACAgIAAx0", "file_unique_id": "AgADx0", "file_size": 1 });
                let answer = ok(&message);
                self.deliver(
                    chat,
                    Reply { sent: Sent::Document, text: String::new(), message, has_buttons: false, at },
                );
                return (200, answer);
            }
            // answerCallbackQuery, setMyCommands, deleteWebhook, …
            _ => json!(true),
        };
        (200, ok(&result))
    }

    /// A 429 or a 502 for `fault_permille` of the calls.
    fn fault(&self) -> Option<(u16, String)> {
        if self.fault_permille == 0 {
            return None;
        }
        let draw = splitmix(self.rng.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed));
        if draw % 1000 >= self.fault_permille {
            return None;
        }
        if (draw / 1000).is_multiple_of(2) {
            self.faults_429.fetch_add(1, Ordering::Relaxed);
            let body = r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}"#;
            Some((429, body.to_owned()))
        } else {
            self.faults_502.fetch_add(1, Ordering::Relaxed);
            Some((502, r#"{"ok":false,"error_code":502,"description":"Bad Gateway"}"#.to_owned()))
        }
    }

    fn deliver(&self, chat: i64, reply: Reply) {
        let user = usize::try_from(chat - CHAT_BASE).ok().and_then(|i| self.users.get(i));
        if let Some(user) = user {
            // A user that has finished no longer listens; that is fine.
            let _ = user.send(reply);
        }
    }

    /// Long polling with Telegram's offset rules.
    async fn updates_for(&self, body: &Value) -> String {
        self.polls.fetch_add(1, Ordering::Relaxed);
        let offset = body["offset"].as_i64().unwrap_or(0);
        let limit = body["limit"].as_u64().map_or(100, |l| l.clamp(1, 100) as usize);
        let timeout = Duration::from_secs(body["timeout"].as_u64().unwrap_or(0)).min(MAX_POLL);
        let deadline = Instant::now() + timeout;
        // The offset confirms earlier updates when the request is made, as Telegram does.
        if offset > 0 {
            let mut queue = lock(&self.queue);
            let kept = queue.split_off(&offset);
            *queue = kept;
        }
        loop {
            let woken = self.queued.notified();
            tokio::pin!(woken);
            // Registered before looking, so an update queued in between still wakes this poll.
            woken.as_mut().enable();
            {
                let queue = lock(&self.queue);
                if !queue.is_empty() {
                    let mut out = String::from(r#"{"ok":true,"result":["#);
                    for (i, update) in queue.values().take(limit).enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        out.push_str(update);
                    }
                    out.push_str("]}");
                    return out;
                }
            }
            if tokio::time::timeout_at(deadline, woken).await.is_err() {
                return r#"{"ok":true,"result":[]}"#.to_owned();
            }
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn ok(result: &Value) -> String {
    format!(r#"{{"ok":true,"result":{result}}}"#)
}

/// A well-mixed 64-bit value from a counter (SplitMix64).
pub fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        404 => "Not Found",
        429 => "Too Many Requests",
        502 => "Bad Gateway",
        _ => "Status",
    }
}

/// The private chat of user `chat` (a user id equals its private chat id).
pub fn user_json(chat: i64) -> Value {
    json!({ "id": chat, "is_bot": false, "first_name": "Ann", "language_code": "en" })
}

fn chat_json(chat: i64) -> Value {
    json!({ "id": chat, "type": "private", "first_name": "Ann" })
}

fn message_json(chat: i64, id: i64, text: &str, markup: &Value) -> Value {
    let mut message = json!({
        "message_id": id,
        "date": DATE,
        "chat": chat_json(chat),
        "from": { "id": BOT_ID, "is_bot": true, "first_name": "Card", "username": BOT_USERNAME },
    });
    if !text.is_empty() {
        message["text"] = Value::from(text);
    }
    if !markup.is_null() {
        message["reply_markup"] = markup.clone();
    }
    message
}

/// A text message from user `chat` in its private chat (commands carry their entity).
pub fn text_update(update: i64, chat: i64, text: &str) -> Value {
    let mut message = json!({
        "message_id": update,
        "date": DATE,
        "chat": chat_json(chat),
        "from": user_json(chat),
        "text": text,
    });
    if text.starts_with('/') {
        let length = text.split_whitespace().next().unwrap_or(text).encode_utf16().count();
        message["entities"] = json!([{ "type": "bot_command", "offset": 0, "length": length }]);
    }
    json!({ "update_id": update, "message": message })
}

/// A press of the button with `data` on `message` (as the fake answered it) by user `chat`.
pub fn press_update(update: i64, chat: i64, message: &Value, data: &str) -> Value {
    json!({
        "update_id": update,
        "callback_query": {
            "id": format!("query-{update}"),
            "from": user_json(chat),
            "message": message,
            "chat_instance": "42",
            "data": data,
        },
    })
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
    // A bounded number of header lines.
    for _ in 0..100 {
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
        while body.len() <= MAX_BODY {
            let mut size = String::new();
            read.read_line(&mut size).await.ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            if size == 0 {
                read.read_line(&mut String::new()).await.ok()?;
                break;
            }
            let mut chunk = vec![0; size + 2];
            read.read_exact(&mut chunk).await.ok()?;
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        if length > MAX_BODY {
            return None;
        }
        body.resize(length, 0);
        read.read_exact(&mut body).await.ok()?;
    }
    Some((path, body))
}
