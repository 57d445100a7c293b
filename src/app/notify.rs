//! How the core's services reach people: a front end implements
//! [`Notifier`] and plugs it into the reminder service
//! ([`super::reminders`]) and the operator service ([`super::admin`]). The
//! core decides what is due, what is said and what is saved; the notifier
//! only turns it into its own messages and sends them.

use std::sync::Arc;

use super::store::{Front, Queued, UserId};
use crate::domain::dialogue::Library;
use crate::domain::engine::Output;

/// A front end, as the core's services see it.
pub trait Notifier: Send + Sync {
    /// The front end whose users this notifier reaches; the services hand it
    /// only those.
    fn front(&self) -> Front;

    /// The outbox items that show `out` to `user` (saved in the same write
    /// as what they report, then given to [`Notifier::deliver`]).
    fn plan(&self, user: UserId, out: &Output) -> Vec<Vec<u8>>;

    /// Outbox items now saved, to be delivered (and marked delivered in the
    /// store once they are). Called from a blocking thread; must not block
    /// for long.
    fn deliver(&self, queued: Vec<Queued>);

    /// Tells the operators (the admins) something; markup text.
    fn tell_admins(&self, text: &str);

    /// The guides changed (a reload): menus and the like may follow.
    fn guides_changed(&self, library: Arc<Library>) {
        let _ = library;
    }

    /// How many reminder messages a round queued (for the front end's counts).
    fn reminders_queued(&self, messages: usize) {
        let _ = messages;
    }
}
