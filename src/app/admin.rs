//! The operators' service: who the admins are, what `/stats` and `/reload`
//! answer, what a reload does with a library (or with the diagnostics that
//! kept one from loading), and telling the admins once that nothing can be
//! saved. Front ends parse the commands and send the texts; reading the
//! dialogues folder is the caller's (the core does no I/O of its own).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};

use super::App;
use super::notify::Notifier;
use super::store::UserId;
use crate::domain::dialogue::report::report;
use crate::domain::dialogue::{Diagnostic, Library};
use crate::domain::markup;

/// What loading the dialogues produced: a checked library, or what is wrong.
pub type Reloaded = Result<Library, Vec<Diagnostic>>;

/// The admins and what they were told.
#[derive(Debug, Default)]
pub struct Admins {
    ids: HashSet<UserId>,
    /// Told that the disk is full, and nothing was saved since.
    told_disk_full: AtomicBool,
}

impl Admins {
    pub fn new(ids: impl IntoIterator<Item = UserId>) -> Admins {
        Admins { ids: ids.into_iter().collect(), told_disk_full: AtomicBool::new(false) }
    }

    pub fn is_admin(&self, user: UserId) -> bool {
        self.ids.contains(&user)
    }

    /// The admins, in id order.
    pub fn ids(&self) -> Vec<UserId> {
        let mut ids: Vec<UserId> = self.ids.iter().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// The answer to `/stats` (reads every user: call from a blocking thread).
    pub fn stats(app: &App) -> String {
        match app.stats_report() {
            Ok(report) => format!("```\n{}\n```", report.trim_end()),
            Err(err) => format!("Statistics failed: {err}"),
        }
    }

    /// The answer to `/reload`, after putting `loaded` in force when it is good.
    pub fn reload(app: &App, notifier: &dyn Notifier, loaded: Reloaded, from: &str) -> String {
        match loaded {
            Ok(library) => {
                let n = library.guide_ids().len();
                install(app, notifier, library);
                format!("Reloaded {from}: {n} guide(s), no problems.")
            }
            Err(diags) => not_reloaded(&diags),
        }
    }

    /// A change to the dialogues seen while running: a good library is put
    /// in force; a broken one is logged with file:line and sent to the
    /// admins, and the old guides keep serving.
    pub fn reloaded(&self, app: &App, notifier: &dyn Notifier, loaded: Reloaded) {
        match loaded {
            Ok(library) => {
                install(app, notifier, library);
                tracing::info!("dialogues reloaded");
            }
            Err(diags) => {
                for d in &diags {
                    tracing::error!("dialogue not reloaded: {d}");
                }
                notifier.tell_admins(&not_reloaded(&diags));
            }
        }
    }

    /// Tells the admins once that nothing can be saved, until saving works again.
    pub fn disk_full(&self, notifier: &dyn Notifier, detail: &str) {
        if !self.told_disk_full.swap(true, Ordering::Relaxed) {
            notifier.tell_admins(&format!("guidebot cannot save anything: {}", markup::escape(detail)));
        }
    }

    /// A save went through: a later full disk is news again.
    pub fn disk_ok(&self) {
        self.told_disk_full.store(false, Ordering::Relaxed);
    }
}

/// Puts `library` in force (see [`App::install`]) and tells the front end.
fn install(app: &App, notifier: &dyn Notifier, library: Library) {
    app.install(library);
    notifier.guides_changed(app.library());
}

fn not_reloaded(diags: &[Diagnostic]) -> String {
    format!("Dialogues not reloaded; the previous version keeps serving.\n```\n{}\n```", report(diags))
}
