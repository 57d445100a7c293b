//! Telegram as the core's services see it ([`Notifier`]): reminders are
//! planned as outbox items for the user's private chat and handed to the
//! [`Sender`]; the admins are told in their private chats; a reload
//! refreshes the command menus.

use std::sync::Arc;

use tokio::runtime::Handle;

use super::convert::chat_of;
use super::delivery::{Reply, Sender, encode, plan};
use super::menu;
use super::outbox::Outbox;
use crate::app::admin::Admins;
use crate::app::notify::Notifier;
use crate::app::store::{Front, Queued, UserId};
use crate::domain::dialogue::Library;
use crate::domain::engine::Output;

/// The Telegram front end's [`Notifier`]. Its calls may come from blocking
/// threads: what must be sent is spawned on the runtime it was made in.
pub struct TelegramNotifier {
    sender: Sender,
    outbox: Outbox,
    admins: Arc<Admins>,
    runtime: Handle,
}

impl TelegramNotifier {
    /// Made inside the bot's runtime.
    pub fn new(sender: Sender, outbox: Outbox, admins: Arc<Admins>) -> TelegramNotifier {
        TelegramNotifier { sender, outbox, admins, runtime: Handle::current() }
    }
}

impl Notifier for TelegramNotifier {
    fn front(&self) -> Front {
        Front::Telegram
    }

    fn plan(&self, user: UserId, out: &Output) -> Vec<Vec<u8>> {
        encode(&plan(out, &Reply { chat: chat_of(user), pressed: None, callback: None }))
    }

    fn deliver(&self, queued: Vec<Queued>) {
        debug_assert!(queued.iter().all(|q| q.user.front == Front::Telegram), "the services hand over our own");
        let _in_runtime = self.runtime.enter();
        self.sender.enqueue(queued);
    }

    fn tell_admins(&self, text: &str) {
        let (outbox, ids, text) = (self.outbox.clone(), self.admins.ids(), text.to_owned());
        self.runtime.spawn(async move {
            for id in ids.into_iter().filter(|id| id.front == Front::Telegram) {
                if let Err(err) = outbox.say(chat_of(id), &text).await {
                    tracing::warn!(admin = %id, error = %outbox.describe(&err), "admin notice not delivered");
                }
            }
        });
    }

    fn guides_changed(&self, library: Arc<Library>) {
        let outbox = self.outbox.clone();
        self.runtime.spawn(async move { menu::set_menus(&outbox, &library).await });
    }

    fn reminders_queued(&self, messages: usize) {
        self.sender.metrics().reminders_sent(messages);
    }
}
