//! Pacing of outgoing messages so the bot stays within Telegram's limits:
//! about one message per second in a chat (short bursts allowed) and about
//! thirty per second overall. A message waits for its turn; nothing is
//! dropped. Only what Telegram limits is paced: messages sent and edited.
//! `answerCallbackQuery`, `getUpdates` and the like never wait here.
//!
//! Each bucket is a GCRA cell ("theoretical arrival time"): a call reserves
//! the next slot, so concurrent callers queue up fairly without holding a
//! lock while they sleep. The arithmetic is in [`Limiter::reserve`], which
//! takes the time as an argument so it can be tested without sleeping.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use teloxide::types::ChatId;
use tokio::time::Instant;

/// How fast the bot may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Messages to one chat that may go out back to back.
    pub per_chat_burst: u32,
    /// Steady rate in one chat once the burst is spent; 0: no per-chat pacing.
    pub per_chat_per_second: u32,
    /// Messages per second over all chats; 0: no overall pacing.
    pub overall_per_second: u32,
}

impl Default for Limits {
    /// Telegram's free limits: 1 message per second per chat (short bursts
    /// allowed), 30 per second overall.
    fn default() -> Limits {
        Limits { per_chat_burst: 3, per_chat_per_second: 1, overall_per_second: 30 }
    }
}

impl Limits {
    /// No pacing at all (a local Bot API server, tests).
    pub fn off() -> Limits {
        Limits { per_chat_burst: 1, per_chat_per_second: 0, overall_per_second: 0 }
    }
}

/// Chat buckets kept before idle ones are forgotten.
const MAX_CHATS: usize = 10_000;

/// Shared pacing state of one bot.
#[derive(Debug)]
pub struct Limiter {
    limits: Limits,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    overall: Cell,
    chats: HashMap<ChatId, Cell>,
}

/// One GCRA bucket: the time at which the bucket would be empty again.
#[derive(Debug, Default, Clone, Copy)]
struct Cell {
    tat: Option<Instant>,
}

impl Cell {
    /// Reserves a slot at or after `now`; returns when it may be used.
    fn reserve(&mut self, now: Instant, interval: Duration, burst: u32) -> Instant {
        let tat = self.tat.map_or(now, |t| t.max(now));
        let tolerance = interval.saturating_mul(burst.saturating_sub(1));
        let allowed = tat.checked_sub(tolerance).unwrap_or(now).max(now);
        self.tat = Some(tat + interval);
        allowed
    }

    fn idle_at(&self, now: Instant) -> bool {
        self.tat.is_none_or(|t| t <= now)
    }
}

impl Limiter {
    /// A limiter with nothing sent yet.
    pub fn new(limits: Limits) -> Limiter {
        Limiter { limits, state: Mutex::new(State::default()) }
    }

    /// Waits until a message to `chat` (None: to no chat in particular,
    /// counted only overall) may go out.
    pub async fn wait(&self, chat: Option<ChatId>) {
        if self.limits.per_chat_per_second == 0 && self.limits.overall_per_second == 0 {
            return;
        }
        let at = self.reserve(chat, Instant::now());
        if at > Instant::now() {
            tokio::time::sleep_until(at).await;
        }
    }

    /// Reserves the next slot for a call to `chat` made at `now`.
    pub fn reserve(&self, chat: Option<ChatId>, now: Instant) -> Instant {
        let limits = self.limits;
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let chat_at = match chat {
            Some(id) if limits.per_chat_per_second > 0 => {
                if state.chats.len() >= MAX_CHATS {
                    state.chats.retain(|_, c| !c.idle_at(now));
                }
                let interval = Duration::from_secs(1) / limits.per_chat_per_second;
                let cell = state.chats.entry(id).or_default();
                cell.reserve(now, interval, limits.per_chat_burst.max(1))
            }
            _ => now,
        };
        if limits.overall_per_second == 0 {
            return chat_at;
        }
        let per_second = limits.overall_per_second;
        let interval = Duration::from_secs(1) / per_second;
        let overall_at = state.overall.reserve(chat_at, interval, per_second);
        chat_at.max(overall_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> Limiter {
        Limiter::new(Limits { per_chat_burst: 3, per_chat_per_second: 1, overall_per_second: 30 })
    }

    #[test]
    fn a_chat_gets_its_burst_then_one_call_per_interval() {
        let l = limiter();
        let t0 = Instant::now();
        let chat = Some(ChatId(7));
        let waits: Vec<Duration> = (0..5).map(|_| l.reserve(chat, t0) - t0).collect();
        // Three at once, with the overall spacing of 1/30 s between them.
        assert!(waits[..3].iter().all(|w| *w < Duration::from_millis(100)), "{waits:?}");
        assert_eq!(waits[3], Duration::from_secs(1));
        assert_eq!(waits[4], Duration::from_secs(2));
    }

    #[test]
    fn chats_do_not_wait_for_each_other_beyond_the_overall_limit() {
        let l = limiter();
        let t0 = Instant::now();
        for _ in 0..3 {
            l.reserve(Some(ChatId(1)), t0);
        }
        let other = l.reserve(Some(ChatId(2)), t0) - t0;
        assert!(other < Duration::from_millis(200), "{other:?}");
    }

    #[test]
    fn the_overall_limit_spaces_calls_to_many_chats() {
        let l = limiter();
        let t0 = Instant::now();
        let last = (0..60).map(|i| l.reserve(Some(ChatId(i)), t0)).max().expect("60 calls");
        // 60 calls at 30/s with a burst of 30: the last waits about one second.
        let waited = last - t0;
        assert!(waited >= Duration::from_millis(900) && waited <= Duration::from_millis(1100), "{waited:?}");
    }

    #[test]
    fn zero_switches_pacing_off() {
        let l = Limiter::new(Limits::off());
        let t0 = Instant::now();
        assert!((0..1000).all(|i| l.reserve(Some(ChatId(i % 3)), t0) == t0));
        let overall_only = Limiter::new(Limits { per_chat_per_second: 0, ..Limits::default() });
        let last = (0..60).map(|_| overall_only.reserve(Some(ChatId(1)), t0)).max().expect("60");
        assert!(last - t0 >= Duration::from_millis(900), "the overall limit still holds");
    }

    #[test]
    fn a_quiet_chat_starts_a_new_burst() {
        let l = limiter();
        let t0 = Instant::now();
        for _ in 0..5 {
            l.reserve(Some(ChatId(3)), t0);
        }
        let later = t0 + Duration::from_secs(60);
        assert_eq!(l.reserve(Some(ChatId(3)), later), later);
    }
}
