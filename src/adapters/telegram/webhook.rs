//! Webhook mode: Telegram POSTs each update to `--webhook-url`, and guidebot
//! takes it on `--listen` (plain HTTP; TLS ends at the load balancer or
//! reverse proxy in front). Long polling stays the default.
//!
//! - At start, `setWebhook` is called with the URL and the secret token; on
//!   shutdown the webhook is left in place, so that a replica stopping (or a
//!   deploy) does not take the updates away from the others: Telegram keeps
//!   what it could not deliver and tries again. `guidebot bot` without
//!   `--webhook-url` removes it (long polling needs that).
//! - Every request must carry Telegram's `X-Telegram-Bot-Api-Secret-Token`
//!   header with the secret (compared in constant time); without it, or with
//!   a wrong one, the answer is 401 and nothing is read, applied or stored.
//! - An update goes through the same dispatcher, handler tree
//!   (`schema.rs`) and delivery as one fetched by polling. The request is
//!   answered 200 only once its handler has finished, that is once the step
//!   and its reply are saved: a process killed before that leaves the update
//!   unacknowledged, and Telegram delivers it again (to this or another
//!   replica; the store's update ids make it apply once). While stopping, and
//!   when an update was not handled within [`Webhook::ack_within`], the answer
//!   is 503, which Telegram also retries.
//!
//! [`intake`] wraps the handler tree for both modes: it counts every update
//! and, in webhook mode, tells the waiting request that its update is done.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::routing::post;
use teloxide::RequestError;
use teloxide::dispatching::{DpHandlerDescription, UpdateHandler};
use teloxide::dptree::{self, HandlerDescription, di::DependencyMap, from_fn_with_description};
use teloxide::stop::{StopFlag, StopToken, mk_stop_token};
use teloxide::types::{Update, UpdateKind};
use teloxide::update_listeners::{AsUpdateStream, UpdateListener};
use tokio::sync::{mpsc, oneshot};

use super::outbox::Outbox;
use crate::adapters::ops::Metrics;

/// The header Telegram puts the secret token in.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// How the bot takes updates in webhook mode.
#[derive(Clone)]
pub struct Webhook {
    /// The public HTTPS address Telegram posts to (`--webhook-url`).
    pub url: reqwest::Url,
    /// Where this process listens (`--listen`); requests come on the URL's path.
    pub listen: SocketAddr,
    /// The secret token given to `setWebhook` and required on every request.
    pub secret: Secret,
    /// How long a request waits for its update to be handled before it is answered
    /// 503 (Telegram then delivers it again).
    pub ack_within: Duration,
}

impl Webhook {
    /// Webhook mode at `url`, listening on `listen`, with `secret`.
    pub fn new(url: reqwest::Url, listen: SocketAddr, secret: Secret) -> Webhook {
        Webhook { url, listen, secret, ack_within: Duration::from_secs(50) }
    }

    /// The path requests come on: the URL's.
    fn path(&self) -> String {
        match self.url.path() {
            "" => "/".to_owned(),
            path => path.to_owned(),
        }
    }
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook").field("url", &self.url.as_str()).field("listen", &self.listen).finish_non_exhaustive()
    }
}

/// Why a webhook URL or secret was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    #[error("the webhook URL `{0}` is not an https:// URL (Telegram posts only to HTTPS)")]
    Url(String),
    #[error("the webhook secret must be 1 to 256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)")]
    Secret,
}

/// Parses `--webhook-url`: an absolute https:// URL.
pub fn parse_url(text: &str) -> Result<reqwest::Url, WebhookError> {
    let url = reqwest::Url::parse(text.trim()).map_err(|_| WebhookError::Url(text.to_owned()))?;
    if url.scheme() != "https" || url.host_str().is_none_or(str::is_empty) {
        return Err(WebhookError::Url(text.to_owned()));
    }
    Ok(url)
}

/// The webhook's secret token. Never printed: `Debug` shows no part of it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A secret given by the operator, checked against Telegram's rule.
    pub fn parse(text: &str) -> Result<Secret, WebhookError> {
        let ok = (1..=256).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok { Ok(Secret(text.to_owned())) } else { Err(WebhookError::Secret) }
    }

    /// 32 random bytes as 64 hex digits.
    pub fn random() -> Result<Secret, getrandom::Error> {
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes)?;
        Ok(Secret(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    /// The token as Telegram is given it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when `given` is the secret; takes as long for any `given` of the same length.
    pub fn matches(&self, given: &[u8]) -> bool {
        let ours = self.0.as_bytes();
        if given.len() != ours.len() {
            return false;
        }
        ours.iter().zip(given).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Requests waiting for their update to be handled, by update id.
#[derive(Clone, Default)]
pub struct Acks(Arc<Mutex<HashMap<u32, Vec<oneshot::Sender<()>>>>>);

impl Acks {
    /// Waits for update `id` to be handled.
    fn expect(&self, id: u32) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        let mut waiting = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let list = waiting.entry(id).or_default();
        // Requests that gave up waiting are forgotten here.
        list.retain(|t| !t.is_closed());
        list.push(tx);
        rx
    }

    /// Update `id` was handled: its requests are answered 200.
    fn done(&self, id: u32) {
        let waiting = self.0.lock().unwrap_or_else(PoisonError::into_inner).remove(&id);
        for tx in waiting.into_iter().flatten() {
            // The request may have given up already; nothing to tell then.
            let _ = tx.send(());
        }
    }

    /// Every waiting request is answered 503 (its update will not be handled here).
    fn abandon_all(&self) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

/// Marks an update handled when dropped: when its handler returns, and also
/// when it panics.
struct Handled {
    acks: Acks,
    id: u32,
}

impl Drop for Handled {
    fn drop(&mut self) {
        self.acks.done(self.id);
    }
}

/// `handler` with every update counted on its way in, and (webhook mode) its
/// request told once the handler has finished with it.
pub fn intake(handler: UpdateHandler<RequestError>, metrics: Metrics, acks: Acks) -> UpdateHandler<RequestError> {
    let entry = from_fn_with_description(
        DpHandlerDescription::entry(),
        move |deps: DependencyMap, cont| {
            let (metrics, acks) = (metrics.clone(), acks.clone());
            async move {
                let handled = deps.try_get::<Update>().map(|u| Handled { acks, id: u.id.0 });
                metrics.update_received();
                let flow = cont(deps).await;
                drop(handled);
                flow
            }
        },
        dptree::HandlerSignature::Entry,
    );
    entry.chain(handler)
}

/// The updates the webhook route received, as a teloxide update listener.
pub struct Listener {
    rx: mpsc::UnboundedReceiver<Update>,
    stop: StopFlag,
    token: StopToken,
}

impl UpdateListener for Listener {
    type Err = RequestError;

    fn stop_token(&mut self) -> StopToken {
        self.token.clone()
    }
}

impl<'a> AsUpdateStream<'a> for Listener {
    type StreamErr = RequestError;
    type Stream = Incoming<'a>;

    fn as_stream(&'a mut self) -> Incoming<'a> {
        Incoming(self)
    }
}

/// The listener's stream: ends once the listener is told to stop.
pub struct Incoming<'a>(&'a mut Listener);

impl tokio_stream::Stream for Incoming<'_> {
    type Item = Result<Update, RequestError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let listener = &mut *self.get_mut().0;
        if Pin::new(&mut listener.stop).poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        listener.rx.poll_recv(cx).map(|u| u.map(Ok))
    }
}

/// What the route needs.
struct Route {
    secret: Secret,
    updates: mpsc::UnboundedSender<Update>,
    acks: Acks,
    stopped: StopFlag,
    metrics: Metrics,
    ack_within: Duration,
}

/// The largest update body taken; Telegram's are a few KB.
const MAX_BODY: usize = 1024 * 1024;

/// One request from Telegram. The secret is checked before the body is read.
async fn receive(State(route): State<Arc<Route>>, request: Request) -> (StatusCode, &'static str) {
    let given = request.headers().get(SECRET_HEADER).map(|v| v.as_bytes());
    if !given.is_some_and(|g| route.secret.matches(g)) {
        route.metrics.webhook_rejected();
        tracing::info!(header = given.is_some(), "a webhook request without the right secret token; refused");
        return (StatusCode::UNAUTHORIZED, "missing or wrong secret token\n");
    }
    if route.stopped.is_stopped() {
        return (StatusCode::SERVICE_UNAVAILABLE, "stopping\n");
    }
    let Ok(body) = axum::body::to_bytes(request.into_body(), MAX_BODY).await else {
        return (StatusCode::BAD_REQUEST, "an unreadable or too large body\n");
    };
    let update: Update = match serde_json::from_slice(&body) {
        Ok(update) => update,
        Err(err) => {
            tracing::warn!(error = %err, "a webhook request that is not an update; refused");
            return (StatusCode::BAD_REQUEST, "not an update\n");
        }
    };
    if let UpdateKind::Error(_) = update.kind {
        // The dispatcher drops what teloxide cannot read; nothing would come of it.
        tracing::warn!(update = update.id.0, "an update of a kind teloxide cannot read; skipped");
        return (StatusCode::OK, "");
    }
    let done = route.acks.expect(update.id.0);
    if route.updates.send(update).is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "stopping\n");
    }
    match tokio::time::timeout(route.ack_within, done).await {
        Ok(Ok(())) => (StatusCode::OK, ""),
        Ok(Err(_)) => (StatusCode::SERVICE_UNAVAILABLE, "stopping\n"),
        Err(_) => {
            tracing::warn!("an update was not handled in time; Telegram will deliver it again");
            (StatusCode::SERVICE_UNAVAILABLE, "busy\n")
        }
    }
}

/// The webhook's HTTP server, running.
pub struct Server {
    acks: Acks,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Stops taking requests: those still waiting are answered 503, open
    /// connections get a moment to finish.
    pub async fn stop(self) {
        self.acks.abandon_all();
        let _ = self.stop.send(());
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(5), &mut task).await.is_err() {
            task.abort();
        }
    }
}

/// Why webhook mode could not start.
#[derive(Debug)]
pub enum StartError {
    /// `--listen` could not be bound.
    Listen(std::io::Error),
    /// `setWebhook` failed.
    SetWebhook(RequestError),
}

/// Binds `hook.listen`, serves the route there, and calls `setWebhook`.
/// Returns the listener for the dispatcher and the server to stop after it.
pub async fn start(
    hook: &Webhook,
    outbox: &Outbox,
    acks: Acks,
    metrics: Metrics,
) -> Result<(Listener, Server), StartError> {
    let tcp = tokio::net::TcpListener::bind(hook.listen).await.map_err(StartError::Listen)?;
    let address = tcp.local_addr().map_err(StartError::Listen)?;
    let (updates, rx) = mpsc::unbounded_channel();
    let (token, stopped) = mk_stop_token();
    let route = Arc::new(Route {
        secret: hook.secret.clone(),
        updates,
        acks: acks.clone(),
        stopped: stopped.clone(),
        metrics,
        ack_within: hook.ack_within,
    });
    let app = Router::new().route(&hook.path(), post(receive)).with_state(route);
    let (stop, stop_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let serving = axum::serve(tcp, app).with_graceful_shutdown(async move {
            let _ = stop_rx.await;
        });
        if let Err(err) = serving.await {
            tracing::error!(error = %err, "the webhook server stopped");
        }
    });
    tracing::info!(address = %address, path = %hook.path(), "listening for webhook updates");
    let server = Server { acks, stop, task };
    // Every kind Telegram sends by default (an empty list): the handler tree sorts them.
    // As JSON (teloxide would send a multipart form), retried like every call.
    let body = serde_json::json!({
        "url": hook.url.as_str(),
        "secret_token": hook.secret.expose(),
        "allowed_updates": [],
        "drop_pending_updates": false,
    });
    if let Err(err) = outbox.call_json(None, "setWebhook", &body).await {
        server.stop().await;
        return Err(StartError::SetWebhook(err));
    }
    tracing::info!(url = %hook.url, "webhook set");
    Ok((Listener { rx, stop: stopped, token }, server))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_urls_with_a_host_are_taken() {
        assert_eq!(parse_url("https://bot.example.org/tg/hook").map(|u| u.path().to_owned()), Ok("/tg/hook".into()));
        for bad in ["http://bot.example.org/hook", "bot.example.org/hook", "https://", "ftp://a/b", ""] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_follow_telegrams_rule_and_never_print() {
        assert!(Secret::parse("abc_DEF-123").is_ok());
        for bad in ["", "has space", "semi;colon", &"x".repeat(257)] {
            assert_eq!(Secret::parse(bad), Err(WebhookError::Secret), "{bad:?}");
        }
        let random = Secret::random().expect("random");
        assert_eq!(random.expose().len(), 64);
        assert!(Secret::parse(random.expose()).is_ok());
        assert_ne!(random, Secret::random().expect("random"));
        assert_eq!(format!("{random:?}"), "Secret(..)");
        assert!(random.matches(random.expose().as_bytes()));
        assert!(!random.matches(b"wrong"));
        assert!(!random.matches(&random.expose().as_bytes()[1..]));
    }

    #[test]
    fn a_handled_update_answers_all_its_requests_and_abandoned_ones_fail() {
        let acks = Acks::default();
        let mut first = acks.expect(7);
        let mut again = acks.expect(7);
        let mut other = acks.expect(8);
        acks.done(7);
        assert_eq!(first.try_recv(), Ok(()));
        assert_eq!(again.try_recv(), Ok(()));
        assert!(other.try_recv().is_err(), "not yet");
        acks.abandon_all();
        assert_eq!(other.try_recv(), Err(oneshot::error::TryRecvError::Closed));
    }
}
