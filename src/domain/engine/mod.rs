//! The engine: `step(library, state, event, ctx) -> (state, output)`. Pure —
//! no Telegram, no disk, no clock: today and now arrive in [`Ctx`].

pub mod event;
pub mod output;
pub mod run;
pub mod state;
pub mod texts;

pub use event::{Action, Command, Ctx, Event, Press, node_hash};
pub use output::{Button, Document, Edit, Message, Output};
pub use run::{LIST_LIMIT, NOTES_LIMIT, reminder_message, step};
pub use state::{Frame, Note, Pending, Reminder, UserState};

#[cfg(test)]
mod tests;
