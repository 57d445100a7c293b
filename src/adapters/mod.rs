//! Adapters around the pure core: storage, the terminal, Telegram.

pub mod reload;
pub mod store;
pub mod telegram;
pub mod terminal;
