//! Adapters around the pure core: storage, the terminal, Telegram.

pub mod store;
pub mod terminal;
