//! What admins (GUIDEBOT_ADMINS) get: `/stats`, `/reload`, and a message
//! when a saved dialogue fails its check while the bot runs. Everyone else
//! who sends those commands gets the ordinary help.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use teloxide::types::ChatId;

use super::menu::{self, MenuCommand};
use super::outbox::Outbox;
use crate::adapters::reload::{self, Reloaded, Watch};
use crate::adapters::store::UserId;
use crate::app::App;
use crate::domain::dialogue::report::report;

/// Who may use the admin commands, and where the dialogues live.
#[derive(Debug)]
pub struct Admin {
    ids: HashSet<i64>,
    dialogues: Option<PathBuf>,
    /// The admins were told that the disk is full, and it has not been saved to since.
    told_disk_full: AtomicBool,
}

impl Admin {
    pub fn new(ids: Vec<i64>, dialogues: Option<PathBuf>) -> Admin {
        Admin { ids: ids.into_iter().collect(), dialogues, told_disk_full: AtomicBool::new(false) }
    }

    /// Tells the admins once that nothing can be saved, until saving works again.
    pub(super) async fn disk_full(&self, outbox: &Outbox, detail: &str) {
        if !self.told_disk_full.swap(true, Ordering::Relaxed) {
            self.tell(outbox, &format!("guidebot cannot save anything: {}", crate::domain::markup::escape(detail)))
                .await;
        }
    }

    /// A save went through: a later full disk is news again.
    pub(super) fn disk_ok(&self) {
        self.told_disk_full.store(false, Ordering::Relaxed);
    }

    fn is_admin(&self, user: UserId) -> bool {
        self.ids.contains(&user)
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
        if !self.is_admin(user) {
            return false;
        }
        let text = match command {
            MenuCommand::Stats => {
                let app = Arc::clone(app);
                match tokio::task::spawn_blocking(move || app.stats_report()).await {
                    Ok(Ok(report)) => format!("```\n{}\n```", report.trim_end()),
                    Ok(Err(err)) => format!("Statistics failed: {err}"),
                    Err(_) => "Statistics failed.".to_owned(),
                }
            }
            MenuCommand::Reload => match &self.dialogues {
                None => "This bot was started without a dialogues folder to reload from.".to_owned(),
                Some(dir) => {
                    let (app2, dir2) = (Arc::clone(app), dir.clone());
                    match tokio::task::spawn_blocking(move || reload::reload(&app2, &dir2)).await {
                        Ok(Ok(n)) => {
                            menu::set_menus(outbox, &app.library()).await;
                            format!("Reloaded {}: {n} guide(s), no problems.", dir.display())
                        }
                        Ok(Err(diags)) => not_reloaded(&diags),
                        Err(_) => "Reload failed.".to_owned(),
                    }
                }
            },
            _ => return false,
        };
        if let Err(err) = outbox.say(chat, &text).await {
            tracing::warn!(user, error = %outbox.describe(&err), "admin reply not delivered");
        }
        true
    }

    /// Tells every admin (in their private chat with the bot).
    pub(super) async fn tell(&self, outbox: &Outbox, text: &str) {
        for id in &self.ids {
            if let Err(err) = outbox.say(ChatId(*id), text).await {
                tracing::warn!(admin = id, error = %outbox.describe(&err), "admin notice not delivered");
            }
        }
    }
}

fn not_reloaded(diags: &[crate::domain::dialogue::Diagnostic]) -> String {
    format!("Dialogues not reloaded; the previous version keeps serving.\n```\n{}\n```", report(diags))
}

/// Watches `dir` while the returned handle lives: a change that passes `check`
/// replaces the guides for every user at their next event; one that fails is
/// logged with file:line and sent to the admins, and the old guides keep serving.
pub fn watch_dialogues(dir: &Path, app: Arc<App>, outbox: Outbox, admin: Arc<Admin>) -> Option<Watch> {
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
            match result {
                Ok(library) => {
                    let for_install = Arc::clone(&app);
                    if tokio::task::spawn_blocking(move || reload::install(&for_install, library)).await.is_err() {
                        tracing::error!("installing the reloaded dialogues stopped");
                    }
                    menu::set_menus(&outbox, &app.library()).await;
                    tracing::info!("dialogues reloaded");
                }
                Err(diags) => {
                    for d in &diags {
                        tracing::error!("dialogue not reloaded: {d}");
                    }
                    admin.tell(&outbox, &not_reloaded(&diags)).await;
                }
            }
        }
    });
    Some(watch)
}
