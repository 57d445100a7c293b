//! What operators look at: Prometheus metrics ([`Metrics`], counted where each
//! thing happens), the store's failures counted ([`Metered`]), and the small
//! HTTP server of `--metrics-listen` ([`server`]): `/healthz`, `/readyz`,
//! `/metrics`. Nothing here knows Telegram: readiness checks are handed in.

mod metered;
mod metrics;
pub mod server;

pub use metered::Metered;
pub use metrics::{CONTENT_TYPE, Metrics};
pub use server::{Check, Readiness, store_check};
