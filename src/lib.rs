//! guidebot: a step-by-step guide written as a YAML dialogue tree, run in
//! Telegram or in the terminal, with each person's progress kept in sled.
//! See ARCHITECTURE.md for the map.

pub mod adapters;
pub mod app;
pub mod cli;
pub mod domain;
