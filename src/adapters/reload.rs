//! Hot reload: watch the dialogues folder and hand every settled change to
//! a callback as a freshly loaded and checked library, or the diagnostics
//! that kept it from loading. The caller decides what to do (replace the
//! app's library, tell the admins, print to the terminal); a broken edit
//! never replaces a working library.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

use crate::app::App;
use crate::domain::dialogue::diagnostic::Kind;
use crate::domain::dialogue::{Diagnostic, Library, load_library};

/// Wait this long after the last change before reloading: editors write in several steps.
const SETTLE: Duration = Duration::from_millis(250);

/// What a reload produced.
pub type Reloaded = Result<Library, Vec<Diagnostic>>;

/// Reads every `*.yaml` directly in `dir` and loads them.
pub fn load_dir(dir: &Path) -> Reloaded {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| vec![io_diag(dir, &e)])?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        // Mid-copy, or a mistake: an empty library would leave every user without a guide.
        return Err(vec![Diagnostic {
            file: dir.to_path_buf(),
            line: 1,
            col: 1,
            kind: Kind::Unreadable,
            message: "has no dialogue files (*.yaml); the guides loaded before keep serving".into(),
        }]);
    }
    for p in paths {
        match std::fs::read_to_string(&p) {
            Ok(text) => files.push((p, text)),
            Err(e) => return Err(vec![io_diag(&p, &e)]),
        }
    }
    load_library(&files)
}

fn io_diag(path: &Path, e: &std::io::Error) -> Diagnostic {
    Diagnostic {
        file: path.to_path_buf(),
        line: 1,
        col: 1,
        kind: Kind::Unreadable,
        message: format!("cannot be read: {e}"),
    }
}

/// Reloads `dir` into `app` now. Ok with the number of guides, or the problems (old library kept).
pub fn reload(app: &App, dir: &Path) -> Result<usize, Vec<Diagnostic>> {
    let lib = load_dir(dir)?;
    let n = lib.guide_ids().len();
    install(app, lib);
    Ok(n)
}

/// Puts `library` in force; when a guide's reminder hour or time zone changed,
/// also the stored time of every user's next reminder (this reads every user,
/// so call it from a blocking thread).
pub fn install(app: &App, library: Library) {
    if app.replace_library(library) {
        match app.refresh_reminder_times() {
            Ok(n) => tracing::info!(users = n, "reminder times follow the guides' new hour or time zone"),
            Err(err) => tracing::error!(error = %err, "reminder times could not all be refreshed"),
        }
    }
}

/// Keeps watching while alive.
pub struct Watch {
    _watcher: notify::RecommendedWatcher,
}

/// Watches `dir`; after each settled change, loads it and calls `on_change` (on a background thread).
pub fn watch(dir: &Path, on_change: impl Fn(Reloaded) + Send + 'static) -> notify::Result<Watch> {
    let (tx, rx) = mpsc::channel::<()>();
    let mut watcher = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
        if let Ok(ev) = ev {
            let relevant = ev.paths.iter().any(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"));
            if relevant && !ev.kind.is_access() {
                let _ = tx.send(());
            }
        }
    })?;
    watcher.watch(dir, RecursiveMode::NonRecursive)?;
    let dir = dir.to_path_buf();
    std::thread::Builder::new()
        .name("dialogue-watch".into())
        .spawn(move || {
            // Ends when the watcher (and so the sender) is dropped.
            while rx.recv().is_ok() {
                while rx.recv_timeout(SETTLE).is_ok() {}
                on_change(load_dir(&dir));
            }
        })
        .map_err(|e| notify::Error::generic(&e.to_string()))?;
    Ok(Watch { _watcher: watcher })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const GOOD: &str = "guide: w\nlang: en\ntitle: W\nstart: a\nnodes:\n  a:\n    say: one\n    end: true\n";

    #[test]
    fn a_change_is_loaded_and_a_broken_one_is_reported() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("w.en.yaml"), GOOD).expect("write");
        let (tx, rx) = mpsc::channel();
        let _w = watch(dir.path(), move |r| {
            let _ = tx.send(r.map(|lib| lib.guides()[0].file.nodes["a"].say.clone()).map_err(|d| d[0].to_string()));
        })
        .expect("watch");
        std::fs::write(dir.path().join("w.en.yaml"), GOOD.replace("one", "two")).expect("write");
        let got = rx.recv_timeout(Duration::from_secs(10)).expect("a reload");
        assert_eq!(got, Ok(Some("two".into())));
        std::fs::write(dir.path().join("w.en.yaml"), GOOD.replace("start: a", "start: b")).expect("write");
        let got = rx.recv_timeout(Duration::from_secs(10)).expect("a reload");
        let err = got.expect_err("broken");
        assert!(err.contains("w.en.yaml:4:8: `start` names `b`, which is not a node"), "{err}");
    }

    #[test]
    fn reload_keeps_the_old_library_when_the_new_one_is_broken() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("w.en.yaml"), GOOD).expect("write");
        let app =
            App::new(load_dir(dir.path()).expect("loads"), Arc::new(crate::adapters::store::MemoryStore::default()));
        std::fs::write(dir.path().join("w.en.yaml"), "guide: [").expect("write");
        assert!(reload(&app, dir.path()).is_err());
        assert_eq!(app.library().guides().len(), 1, "old library still serving");
        std::fs::write(dir.path().join("w.en.yaml"), GOOD.replace("one", "three")).expect("write");
        assert_eq!(reload(&app, dir.path()), Ok(1));
        std::fs::remove_file(dir.path().join("w.en.yaml")).expect("remove");
        let err = reload(&app, dir.path()).expect_err("an empty folder is refused");
        assert!(err[0].message.starts_with("has no dialogue files"), "{err:?}");
        assert_eq!(app.library().guides().len(), 1, "still serving");
        assert_eq!(app.library().guides()[0].file.nodes["a"].say.as_deref(), Some("three"));
    }
}
