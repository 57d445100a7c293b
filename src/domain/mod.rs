//! The pure core: dialogue format, engine, scenarios and the small value
//! types they share. Nothing here does I/O, awaits, or reads the clock.
//!
//! Layers, each using only those before it: the values (`numerals`, `markup`,
//! `dates`, `money`, `value`); `answer` (typed answers); `dialogue` (files,
//! loading, checking, reports); `engine`; then `scenario`, `graph` and `stats`.

pub mod answer;
pub mod dates;
pub mod dialogue;
pub mod engine;
pub mod graph;
pub mod markup;
pub mod money;
pub mod numerals;
pub mod scenario;
pub mod stats;
pub mod value;
