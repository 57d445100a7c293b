//! The process's Prometheus metrics: one small [`Metrics`] handle, cloned to
//! the few places where each counted thing happens, and the text that
//! `/metrics` serves (OpenMetrics, which Prometheus reads).
//!
//! | metric | counted where |
//! | --- | --- |
//! | `guidebot_updates_received_total` | the entry of the Telegram handler tree (polling and webhook alike) |
//! | `guidebot_webhook_rejected_total` | the webhook route, for a missing or wrong secret token |
//! | `guidebot_steps_applied_total`, `guidebot_step_seconds` | around `App::handle_once` in the handler tree |
//! | `guidebot_messages_sent_total` | the outbox, when Telegram accepted a message or document |
//! | `guidebot_retries_total`, `guidebot_too_many_requests_total` | the outbox's retry loop |
//! | `guidebot_outbox_depth` | the sender: outbox items taken and not yet delivered |
//! | `guidebot_reminders_sent_total` | the reminder tick, as reminders are queued |
//! | `guidebot_store_errors_total` | every store call that failed ([`super::Metered`]) |
//! | `guidebot_serving` | 1 while the bot takes updates |
//! | `guidebot_build_info` | the version, always 1 |

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

/// What `/metrics` answers with.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The counters of one process. Cheap to clone; every clone counts into the same figures.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    updates: Counter,
    webhook_rejected: Counter,
    steps: Counter,
    step_seconds: Histogram,
    sent: Counter,
    retries: Counter,
    too_many: Counter,
    outbox_depth: Gauge,
    reminders: Counter,
    store_errors: Counter,
    serving: Gauge,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("guidebot");
        let updates = Counter::default();
        let webhook_rejected = Counter::default();
        let steps = Counter::default();
        // 0.25 ms to about 8 s: a step is a commit, milliseconds when all is well.
        let step_seconds = Histogram::new(exponential_buckets(0.000_25, 2.0, 16));
        let sent = Counter::default();
        let retries = Counter::default();
        let too_many = Counter::default();
        let outbox_depth = Gauge::default();
        let reminders = Counter::default();
        let store_errors = Counter::default();
        let serving = Gauge::default();
        registry.register("updates_received", "Updates received from Telegram (polling or webhook)", updates.clone());
        registry.register(
            "webhook_rejected",
            "Webhook requests refused for a missing or wrong secret token",
            webhook_rejected.clone(),
        );
        registry.register("steps_applied", "Events applied to a user's state and saved", steps.clone());
        registry.register("step_seconds", "Time to apply and save one event", step_seconds.clone());
        registry.register("messages_sent", "Messages and documents Telegram accepted", sent.clone());
        registry.register("retries", "Bot API calls tried again after a transient failure", retries.clone());
        registry.register("too_many_requests", "429 answers from the Bot API", too_many.clone());
        registry.register(
            "outbox_depth",
            "Outbox items taken for delivery and not yet delivered",
            outbox_depth.clone(),
        );
        registry.register("reminders_sent", "Reminders queued for delivery", reminders.clone());
        registry.register("store_errors", "Store calls that failed", store_errors.clone());
        registry.register("serving", "1 while the bot takes updates", serving.clone());
        registry.register(
            "build",
            "The running version",
            Info::new(vec![("version".to_owned(), env!("CARGO_PKG_VERSION").to_owned())]),
        );
        Metrics {
            inner: Arc::new(Inner {
                registry,
                updates,
                webhook_rejected,
                steps,
                step_seconds,
                sent,
                retries,
                too_many,
                outbox_depth,
                reminders,
                store_errors,
                serving,
            }),
        }
    }

    /// An update came in.
    pub fn update_received(&self) {
        self.inner.updates.inc();
    }

    /// A webhook request was refused (no or wrong secret token).
    pub fn webhook_rejected(&self) {
        self.inner.webhook_rejected.inc();
    }

    /// An event was applied and saved in `took`.
    pub fn step_applied(&self, took: Duration) {
        self.inner.steps.inc();
        self.inner.step_seconds.observe(took.as_secs_f64());
    }

    /// Telegram accepted a message (or a document).
    pub fn message_sent(&self) {
        self.inner.sent.inc();
    }

    /// A Bot API call is tried again.
    pub fn retry(&self) {
        self.inner.retries.inc();
    }

    /// The Bot API answered 429 Too Many Requests.
    pub fn too_many_requests(&self) {
        self.inner.too_many.inc();
    }

    /// An outbox item was taken for delivery.
    pub fn outbox_taken(&self) {
        self.inner.outbox_depth.inc();
    }

    /// An outbox item was delivered (or given up).
    pub fn outbox_done(&self) {
        self.inner.outbox_depth.dec();
    }

    /// `n` reminders were queued.
    pub fn reminders_sent(&self, n: usize) {
        self.inner.reminders.inc_by(u64::try_from(n).unwrap_or(u64::MAX));
    }

    /// A store call failed.
    pub fn store_error(&self) {
        self.inner.store_errors.inc();
    }

    /// Whether the bot takes updates now.
    pub fn set_serving(&self, serving: bool) {
        self.inner.serving.set(i64::from(serving));
    }

    /// True while the bot takes updates.
    pub fn serving(&self) -> bool {
        self.inner.serving.get() == 1
    }

    /// Every metric in the OpenMetrics text format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.inner.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, name: &str) -> Option<f64> {
        text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn counters_move_and_render_under_their_names() {
        let m = Metrics::new();
        let clone = m.clone();
        clone.update_received();
        m.update_received();
        m.step_applied(Duration::from_millis(3));
        m.message_sent();
        m.retry();
        m.too_many_requests();
        m.outbox_taken();
        m.outbox_taken();
        m.outbox_done();
        m.reminders_sent(3);
        m.store_error();
        m.set_serving(true);
        let text = m.render();
        assert_eq!(value(&text, "guidebot_updates_received_total"), Some(2.0), "{text}");
        assert_eq!(value(&text, "guidebot_steps_applied_total"), Some(1.0));
        assert_eq!(value(&text, "guidebot_step_seconds_count"), Some(1.0));
        assert_eq!(value(&text, "guidebot_messages_sent_total"), Some(1.0));
        assert_eq!(value(&text, "guidebot_retries_total"), Some(1.0));
        assert_eq!(value(&text, "guidebot_too_many_requests_total"), Some(1.0));
        assert_eq!(value(&text, "guidebot_outbox_depth"), Some(1.0));
        assert_eq!(value(&text, "guidebot_reminders_sent_total"), Some(3.0));
        assert_eq!(value(&text, "guidebot_store_errors_total"), Some(1.0));
        assert_eq!(value(&text, "guidebot_serving"), Some(1.0));
        assert!(
            text.contains(&format!("guidebot_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"))),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
        assert!(m.serving());
    }
}
