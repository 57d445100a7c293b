//! The operators' HTTP server (`--metrics-listen ADDR`), plain HTTP:
//!
//! - `GET /healthz`: 200 while the process runs (liveness).
//! - `GET /readyz`: 200 when the bot takes updates and every readiness check
//!   passes (the store answers a read, the Bot API answers), else 503 with one
//!   line per reason (readiness: take the replica out of the load balancer).
//! - `GET /metrics`: the [`Metrics`] in the OpenMetrics text format.
//!
//! Bind it to a private address: it shows no user data, but counts are
//! nobody else's business.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use super::{CONTENT_TYPE, Metrics};
use crate::adapters::store::Store;

/// One readiness check: Ok, or why not (one line, no secrets).
pub type Check = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// How long one check may take before it counts as failed.
const CHECK_WITHIN: Duration = Duration::from_secs(5);

/// What `/readyz` asks, and the metrics `/metrics` shows.
#[derive(Clone)]
pub struct Readiness {
    pub metrics: Metrics,
    /// Named checks, asked together on every `/readyz`.
    pub checks: Vec<(&'static str, Check)>,
}

/// The store answers a read (an update id no update has).
pub fn store_check(store: Arc<dyn Store>) -> Check {
    Arc::new(move || {
        let store = Arc::clone(&store);
        Box::pin(async move {
            match tokio::task::spawn_blocking(move || {
                store.applied(crate::adapters::store::EventId::telegram(i64::MIN))
            })
            .await
            {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(err)) => Err(err.to_string()),
                Err(_) => Err("the store check stopped".to_owned()),
            }
        })
    })
}

/// Binds `addr` and serves the routes there until the runtime ends.
/// Returns the address bound (useful with port 0).
pub async fn serve(addr: SocketAddr, readiness: Readiness) -> std::io::Result<SocketAddr> {
    let tcp = tokio::net::TcpListener::bind(addr).await?;
    let bound = tcp.local_addr()?;
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(Arc::new(readiness));
    tokio::spawn(async move {
        if let Err(err) = axum::serve(tcp, app).await {
            tracing::error!(error = %err, "the metrics server stopped");
        }
    });
    tracing::info!(address = %bound, "serving /healthz, /readyz and /metrics");
    Ok(bound)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(ready): State<Arc<Readiness>>) -> (StatusCode, String) {
    let mut reasons = Vec::new();
    if !ready.metrics.serving() {
        reasons.push("bot: not taking updates (starting or stopping)".to_owned());
    }
    let runs = ready.checks.iter().map(|(name, check)| {
        let check = Arc::clone(check);
        let name = *name;
        tokio::spawn(async move {
            let result = match tokio::time::timeout(CHECK_WITHIN, check()).await {
                Ok(result) => result,
                Err(_) => Err(format!("no answer within {} s", CHECK_WITHIN.as_secs())),
            };
            (name, result)
        })
    });
    let runs: Vec<_> = runs.collect();
    for run in runs {
        match run.await {
            Ok((_, Ok(()))) => {}
            Ok((name, Err(why))) => reasons.push(format!("{name}: {why}")),
            Err(_) => reasons.push("a readiness check stopped".to_owned()),
        }
    }
    if reasons.is_empty() {
        (StatusCode::OK, "ready\n".to_owned())
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, reasons.iter().map(|r| format!("{r}\n")).collect())
    }
}

async fn metrics(State(ready): State<Arc<Readiness>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], ready.metrics.render())
}
