//! The admins' commands on Telegram (GUIDEBOT_ADMINS): `/stats` and
//! `/reload` answered from the core's operator service ([`Admins`]), and the
//! dialogues folder watched while the bot runs. Everyone else who sends
//! those commands gets the ordinary help.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use teloxide::types::ChatId;

use super::menu::MenuCommand;
use super::notifier::TelegramNotifier;
use super::outbox::Outbox;
use crate::adapters::reload::{self, Reloaded, Watch};
use crate::adapters::store::UserId;
use crate::app::App;
use crate::app::admin::Admins;

/// The admins, the notifier that reaches them, and where the dialogues live.
pub struct Admin {
    pub admins: Arc<Admins>,
    pub notifier: Arc<TelegramNotifier>,
    dialogues: Option<PathBuf>,
}

impl Admin {
    pub fn new(admins: Arc<Admins>, notifier: Arc<TelegramNotifier>, dialogues: Option<PathBuf>) -> Admin {
        Admin { admins, notifier, dialogues }
    }

    /// Handles `/stats` and `/reload` from an admin; false when `command` is not for this module.
    pub async fn handle(
        &self,
        command: &MenuCommand,
        user: UserId,
        chat: ChatId,
        app: &Arc<App>,
        outbox: &Outbox,
    ) -> bool {
        if !self.admins.is_admin(user) {
            return false;
        }
        let app = Arc::clone(app);
        let work: Box<dyn FnOnce() -> String + Send> = match command {
            MenuCommand::Stats => Box::new(move || Admins::stats(&app)),
            MenuCommand::Reload => match &self.dialogues {
                None => Box::new(|| "This bot was started without a dialogues folder to reload from.".to_owned()),
                Some(dir) => {
                    let (dir, notifier) = (dir.clone(), Arc::clone(&self.notifier));
                    Box::new(move || {
                        Admins::reload(&app, notifier.as_ref(), reload::load_dir(&dir), &dir.display().to_string())
                    })
                }
            },
            _ => return false,
        };
        let text = tokio::task::spawn_blocking(work).await.unwrap_or_else(|_| "That command failed.".to_owned());
        if let Err(err) = outbox.say(chat, &text).await {
            tracing::warn!(%user, error = %outbox.describe(&err), "admin reply not delivered");
        }
        true
    }

    /// Tells the admins once that nothing can be saved, until saving works again.
    pub fn disk_full(&self, detail: &str) {
        self.admins.disk_full(self.notifier.as_ref(), detail);
    }

    /// A save went through: a later full disk is news again.
    pub fn disk_ok(&self) {
        self.admins.disk_ok();
    }
}

/// Watches `dir` while the returned handle lives; each settled change goes
/// to the core ([`Admins::reloaded`]).
pub fn watch_dialogues(dir: &Path, app: Arc<App>, admin: Arc<Admin>) -> Option<Watch> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Reloaded>();
    let watch = match reload::watch(dir, move |r| {
        let _ = tx.send(r);
    }) {
        Ok(w) => w,
        Err(err) => {
            tracing::warn!(dir = %dir.display(), error = %err, "cannot watch the dialogues; /reload still works");
            return None;
        }
    };
    tokio::spawn(async move {
        while let Some(result) = rx.recv().await {
            let (app, admin) = (Arc::clone(&app), Arc::clone(&admin));
            let done = tokio::task::spawn_blocking(move || {
                admin.admins.reloaded(&app, admin.notifier.as_ref(), result);
            });
            if done.await.is_err() {
                tracing::error!("installing the reloaded dialogues stopped");
            }
        }
    });
    Some(watch)
}
