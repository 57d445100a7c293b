//! Adapters around the pure core: storage, the terminal, Telegram, and what
//! operators watch (metrics, health).

pub mod ops;
pub mod reload;
pub mod store;
pub mod telegram;
pub mod terminal;
