//! The Bot API's part of `/readyz`: a `getMe`, answered within the check's
//! time, no retries. Its result is kept for a few seconds, so that probes
//! from several load balancers do not each cost a call to Telegram.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::outbox::Outbox;
use crate::adapters::ops::Check;

/// How long one answer of the Bot API stands for the next probes.
const FRESH: Duration = Duration::from_secs(2);

/// The last answer and when it came.
type Last = Arc<Mutex<Option<(Instant, Result<(), String>)>>>;

/// A readiness check that the Bot API behind `outbox` answers.
pub fn bot_api_check(outbox: Outbox) -> Check {
    let last: Last = Arc::default();
    Arc::new(move || {
        let (outbox, last) = (outbox.clone(), Arc::clone(&last));
        Box::pin(async move {
            if let Some((at, result)) = last.lock().unwrap_or_else(PoisonError::into_inner).as_ref()
                && at.elapsed() < FRESH
            {
                return result.clone();
            }
            // Straight through the HTTP client: teloxide's request layer waits 10 s after a 5xx.
            let result = outbox.post_json("getMe", &serde_json::json!({})).await.map_err(|e| outbox.describe(&e));
            *last.lock().unwrap_or_else(PoisonError::into_inner) = Some((Instant::now(), result.clone()));
            result
        })
    })
}
