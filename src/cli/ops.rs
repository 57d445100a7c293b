//! The operators' flags of `guidebot bot`: webhook mode (`--webhook-url`,
//! `--listen`, `--webhook-secret`) and the metrics server
//! (`--metrics-listen`), each also read from the environment.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::adapters::ops::{Metrics, Readiness, server, store_check};
use crate::adapters::telegram::webhook::parse_url;
use crate::adapters::telegram::{Limits, Outbox, Retry, Secret, Webhook, bot_api_check};
use crate::app::App;

#[derive(Debug, clap::Args)]
pub struct OpsArgs {
    /// Take updates by webhook at this public https:// URL instead of long polling;
    /// setWebhook is called at start (and left in place at a stop). Needs --listen.
    #[arg(long, value_name = "URL", env = "GUIDEBOT_WEBHOOK_URL", requires = "listen", value_parser = parse_url)]
    pub webhook_url: Option<reqwest::Url>,
    /// Where to take webhook requests (plain HTTP, IP:PORT; TLS ends at the proxy in front),
    /// on the webhook URL's path.
    #[arg(long, value_name = "ADDR", env = "GUIDEBOT_LISTEN", requires = "webhook_url")]
    pub listen: Option<SocketAddr>,
    /// The secret Telegram sends with every webhook request (1-256 of A-Z a-z 0-9 _ -);
    /// a random one when not given. Replicas must share one.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "GUIDEBOT_WEBHOOK_SECRET",
        hide_env_values = true,
        requires = "webhook_url",
        value_parser = hidden
    )]
    pub webhook_secret: Option<Hidden>,
    /// Serve /healthz, /readyz and Prometheus /metrics on this address (IP:PORT).
    #[arg(long, value_name = "ADDR", env = "GUIDEBOT_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
}

/// A flag's value that is never shown (`Debug` included).
#[derive(Clone)]
pub struct Hidden(String);

impl std::fmt::Debug for Hidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hidden(..)")
    }
}

fn hidden(text: &str) -> Result<Hidden, std::convert::Infallible> {
    Ok(Hidden(text.to_owned()))
}

impl OpsArgs {
    /// Webhook mode, when `--webhook-url` is given.
    pub fn webhook(&self) -> Result<Option<Webhook>> {
        let (Some(url), Some(listen)) = (&self.webhook_url, self.listen) else {
            return Ok(None);
        };
        let secret = match &self.webhook_secret {
            // Checked here, not by clap, whose message would repeat the value.
            Some(Hidden(text)) => Secret::parse(text)?,
            None => {
                tracing::info!(
                    "no --webhook-secret: a random one for this process (replicas need one shared GUIDEBOT_WEBHOOK_SECRET)"
                );
                Secret::random().map_err(|e| anyhow::anyhow!("cannot make a webhook secret: {e}"))?
            }
        };
        Ok(Some(Webhook::new(url.clone(), listen, secret)))
    }

    /// Starts the metrics server when `--metrics-listen` is given: ready when the bot takes
    /// updates, `app`'s store answers, and the Bot API of `bot` answers.
    pub async fn serve_metrics(&self, app: &App, bot: &teloxide::Bot, metrics: &Metrics) -> Result<()> {
        let Some(addr) = self.metrics_listen else {
            return Ok(());
        };
        let outbox = Outbox::new(bot.clone(), Limits::default(), Retry::default());
        let readiness = Readiness {
            metrics: metrics.clone(),
            checks: vec![("store", store_check(Arc::clone(app.store()))), ("bot api", bot_api_check(outbox))],
        };
        server::serve(addr, readiness).await.with_context(|| format!("cannot serve metrics on {addr}"))?;
        Ok(())
    }
}
