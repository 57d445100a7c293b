//! Every Bot API call goes through the [`Outbox`]: it paces messages to a
//! chat ([`Limiter`]; calls to no chat are not paced), and retries what
//! Telegram or the network failed for a while (429 with its `retry_after`,
//! network errors, 5xx). Replies to steps are planned and delivered by
//! `delivery.rs` through it; the few notices the adapter sends on its own
//! go out directly with [`Outbox::say`].
//!
//! It never logs message texts, and error descriptions pass through
//! [`Outbox::describe`], which removes the token (reqwest puts the request
//! URL, token included, into its errors).

use std::sync::Arc;
use std::time::Duration;

use teloxide::payloads::SendMessageSetters;
use teloxide::requests::{Output as CallOutput, Payload, Request, Requester};
use teloxide::types::{CallbackQueryId, ChatId, ParseMode};
use teloxide::{ApiError, Bot, RequestError};

use super::convert::{keyboard, message_parts};
use super::limiter::{Limiter, Limits};
use crate::adapters::ops::Metrics;
use crate::domain::engine::Message;

/// How failed calls are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Tries per call, the first included.
    pub attempts: u32,
    /// Wait after the first transient failure; doubled after each further one.
    pub first_backoff: Duration,
    /// Longest wait between tries (a `retry_after` from Telegram is always honoured).
    pub max_backoff: Duration,
}

impl Default for Retry {
    fn default() -> Retry {
        Retry { attempts: 6, first_backoff: Duration::from_millis(500), max_backoff: Duration::from_secs(30) }
    }
}

impl Retry {
    /// How long to wait before trying again after `err` on try number
    /// `attempt` (1-based); None when the error is not worth retrying.
    pub fn delay(&self, err: &RequestError, attempt: u32) -> Option<Duration> {
        if attempt >= self.attempts {
            return None;
        }
        match err {
            RequestError::RetryAfter(after) => Some(after.duration()),
            RequestError::Network(_) | RequestError::Io(_) | RequestError::InvalidJson { .. } => {
                Some(self.backoff(attempt))
            }
            RequestError::Api(ApiError::Unknown(description)) if is_server_error(description) => {
                Some(self.backoff(attempt))
            }
            _ => None,
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1_u32 << attempt.saturating_sub(1).min(16);
        self.first_backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

/// Descriptions Telegram gives with 5xx answers (teloxide keeps the text, not the code).
fn is_server_error(description: &str) -> bool {
    ["Internal Server Error", "Bad Gateway", "Service Unavailable", "Gateway Timeout"]
        .iter()
        .any(|s| description.contains(s))
}

/// The bot's way out: paced, retried calls to the Bot API.
#[derive(Clone)]
pub struct Outbox {
    bot: Bot,
    limiter: Arc<Limiter>,
    retry: Retry,
    metrics: Metrics,
}

impl Outbox {
    /// Calls through `bot`, paced by `limits`, retried as `retry` says.
    pub fn new(bot: Bot, limits: Limits, retry: Retry) -> Outbox {
        Outbox { bot, limiter: Arc::new(Limiter::new(limits)), retry, metrics: Metrics::default() }
    }

    /// The same outbox, counting into `metrics`.
    pub fn with_metrics(self, metrics: Metrics) -> Outbox {
        Outbox { metrics, ..self }
    }

    /// Where sends, retries and 429s are counted.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Counts a failed call: a 429, and whether it is tried again.
    pub(super) fn count_failure(&self, err: &RequestError, again: bool) {
        if matches!(err, RequestError::RetryAfter(_)) {
            self.metrics.too_many_requests();
        }
        if again {
            self.metrics.retry();
        }
    }

    /// The bot the calls are made with.
    pub fn bot(&self) -> &Bot {
        &self.bot
    }

    /// How failed calls are retried.
    pub fn retry(&self) -> &Retry {
        &self.retry
    }

    /// Sends `request` (paced for `chat` when it goes to one), retrying transient failures.
    pub async fn call<R>(&self, chat: Option<ChatId>, request: R) -> Result<CallOutput<R>, RequestError>
    where
        R: Request<Err = RequestError> + Sync,
    {
        self.retrying(chat, <R::Payload as Payload>::NAME, || request.send_ref()).await
    }

    /// Runs `attempt` (paced for `chat` when it goes to one) until it succeeds or
    /// [`Retry`] says the failure is not worth another try.
    async fn retrying<T, F, Fut>(&self, chat: Option<ChatId>, method: &str, mut attempt: F) -> Result<T, RequestError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, RequestError>>,
    {
        let mut tries = 1;
        loop {
            if chat.is_some() {
                self.limiter.wait(chat).await;
            }
            let err = match attempt().await {
                Ok(out) => {
                    if ["sendMessage", "sendDocument"].iter().any(|m| m.eq_ignore_ascii_case(method)) {
                        self.metrics.message_sent();
                    }
                    return Ok(out);
                }
                Err(err) => err,
            };
            let wait = self.retry.delay(&err, tries);
            self.count_failure(&err, wait.is_some());
            let Some(wait) = wait else {
                return Err(err);
            };
            tracing::warn!(
                method,
                attempt = tries,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                error = %self.describe(&err),
                "Telegram call failed; retrying"
            );
            tokio::time::sleep(wait).await;
            tries += 1;
        }
    }

    /// Sends a markup text without buttons (split when long).
    pub async fn say(&self, chat: ChatId, text: &str) -> Result<(), RequestError> {
        let message = Message { text: text.to_owned(), ..Message::default() };
        self.send(chat, &message).await
    }

    /// Sends one engine message: its parts in order, the keyboard on the last.
    pub async fn send(&self, chat: ChatId, message: &Message) -> Result<(), RequestError> {
        let parts = message_parts(message);
        let last = parts.len().saturating_sub(1);
        let mut markup = keyboard(message);
        for (i, part) in parts.into_iter().enumerate() {
            let mut request = self.bot.send_message(chat, part).parse_mode(ParseMode::Html);
            if i == last
                && let Some(kb) = markup.take()
            {
                request = request.reply_markup(kb);
            }
            self.call(Some(chat), request).await?;
        }
        Ok(())
    }

    /// Answers a callback query (stops the button's spinner). Failures are
    /// logged only: an old query can no longer be answered, and that is fine.
    pub async fn answer(&self, id: CallbackQueryId) {
        if let Err(err) = self.call(None, self.bot.answer_callback_query(id)).await {
            tracing::debug!(error = %self.describe(&err), "could not answer a callback query");
        }
    }

    /// Calls `method` with a JSON `body` (paced for `chat` when it goes to one),
    /// retrying transient failures.
    ///
    /// This goes through the bot's HTTP client but not teloxide's request layer,
    /// which waits 10 s after every 5xx answer before reporting it
    /// (`DELAY_ON_SERVER_ERROR` in teloxide-core): a chat's lane would stand still
    /// that long for each 502. Replies to steps are sent this way.
    pub async fn call_json<B: serde::Serialize + Sync + ?Sized>(
        &self,
        chat: Option<ChatId>,
        method: &str,
        body: &B,
    ) -> Result<(), RequestError> {
        self.retrying(chat, method, || self.post_json(method, body)).await
    }

    /// One POST of `method`, its answer read as the Bot API defines it.
    pub async fn post_json<B: serde::Serialize + Sync + ?Sized>(
        &self,
        method: &str,
        body: &B,
    ) -> Result<(), RequestError> {
        let mut url = self.bot.api_url();
        url.path_segments_mut()
            .map_err(|()| RequestError::Api(ApiError::Unknown("the API URL cannot take a path".to_owned())))?
            .push(&format!("bot{}", self.bot.token()))
            .push(method);
        let response = self.bot.client().post(url).json(body).send().await.map_err(RequestError::from)?;
        let status = response.status();
        let text = response.text().await.map_err(RequestError::from)?;
        answer_of(status, &text)
    }

    /// `err` with its causes, the token removed.
    pub fn describe(&self, err: &RequestError) -> String {
        let mut text = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        redact(&text, self.bot.token())
    }
}

/// What the Bot API said, as teloxide's error type so that [`Retry`] reads it.
fn answer_of(status: reqwest::StatusCode, text: &str) -> Result<(), RequestError> {
    #[derive(serde::Deserialize)]
    struct Answer {
        ok: bool,
        description: Option<String>,
        parameters: Option<Parameters>,
    }
    #[derive(serde::Deserialize)]
    struct Parameters {
        retry_after: Option<u32>,
    }
    let server_error = || {
        let reason = status.canonical_reason().unwrap_or("Server Error");
        RequestError::Api(ApiError::Unknown(format!("{} {reason}", status.as_u16())))
    };
    let answer: Answer = match serde_json::from_str(text) {
        Ok(answer) => answer,
        Err(_) if status.is_server_error() => return Err(server_error()),
        Err(source) => return Err(RequestError::InvalidJson { source: Arc::new(source), raw: text.into() }),
    };
    if answer.ok {
        return Ok(());
    }
    if let Some(after) = answer.parameters.and_then(|p| p.retry_after) {
        return Err(RequestError::RetryAfter(teloxide::types::Seconds::from_seconds(after)));
    }
    if status.is_server_error() {
        return Err(server_error());
    }
    let description = answer.description.unwrap_or_default();
    let error = serde_json::from_value(serde_json::Value::String(description.clone()))
        .unwrap_or(ApiError::Unknown(description));
    Err(RequestError::Api(error))
}

/// `text` with every occurrence of `token` replaced.
fn redact(text: &str, token: &str) -> String {
    if token.is_empty() { text.to_owned() } else { text.replace(token, "<token>") }
}

#[cfg(test)]
mod tests {
    use teloxide::types::Seconds;

    use super::*;

    #[test]
    fn transient_failures_are_retried_with_growing_waits() {
        let retry =
            Retry { attempts: 4, first_backoff: Duration::from_millis(100), max_backoff: Duration::from_millis(250) };
        let server = RequestError::Api(ApiError::Unknown("Internal Server Error".into()));
        assert_eq!(retry.delay(&server, 1), Some(Duration::from_millis(100)));
        assert_eq!(retry.delay(&server, 2), Some(Duration::from_millis(200)));
        assert_eq!(retry.delay(&server, 3), Some(Duration::from_millis(250)));
        assert_eq!(retry.delay(&server, 4), None, "attempts are bounded");
        let flood = RequestError::RetryAfter(Seconds::from_seconds(7));
        assert_eq!(retry.delay(&flood, 1), Some(Duration::from_secs(7)));
    }

    #[test]
    fn refusals_are_not_retried() {
        let retry = Retry::default();
        assert_eq!(retry.delay(&RequestError::Api(ApiError::MessageNotModified), 1), None);
        assert_eq!(retry.delay(&RequestError::Api(ApiError::BotBlocked), 1), None);
        assert_eq!(retry.delay(&RequestError::Api(ApiError::Unknown("Bad Request: odd".into())), 1), None);
    }

    #[test]
    fn bot_api_answers_become_errors_retry_understands() {
        use reqwest::StatusCode;
        assert!(answer_of(StatusCode::OK, r#"{"ok":true,"result":true}"#).is_ok());
        let flood = answer_of(
            StatusCode::TOO_MANY_REQUESTS,
            r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 3","parameters":{"retry_after":3}}"#,
        );
        assert!(matches!(flood, Err(RequestError::RetryAfter(s)) if s.seconds() == 3), "{flood:?}");
        let retry = Retry::default();
        for (status, body) in [
            (StatusCode::BAD_GATEWAY, "<html>bad gateway</html>"),
            (StatusCode::BAD_GATEWAY, r#"{"ok":false,"error_code":502,"description":"Bad Gateway"}"#),
        ] {
            let err = answer_of(status, body).expect_err("an error");
            assert!(retry.delay(&err, 1).is_some(), "a 502 is retried: {err:?}");
        }
        let same = answer_of(
            StatusCode::BAD_REQUEST,
            r#"{"ok":false,"error_code":400,"description":"Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message"}"#,
        );
        assert!(matches!(same, Err(RequestError::Api(ApiError::MessageNotModified))), "{same:?}");
    }

    #[test]
    fn the_token_never_shows_in_descriptions() {
        let token = "123456:SECRET-token";
        let text = format!("error sending request for url (https://api.telegram.org/bot{token}/getMe)");
        let clean = redact(&text, token);
        assert!(!clean.contains("SECRET"), "{clean}");
        assert!(clean.contains("bot<token>/getMe"));
    }
}
