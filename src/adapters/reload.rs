//! Hot reload, the file side: read the dialogues folder, and watch it,
//! handing every settled change to a callback as a freshly loaded and
//! checked library, or the diagnostics that kept it from loading. What
//! happens then is the core's (`app::admin`: put it in force, or tell the
//! admins) or the terminal's; a broken edit never replaces a working library.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

pub use crate::app::admin::Reloaded;
use crate::domain::dialogue::diagnostic::Kind;
use crate::domain::dialogue::{Diagnostic, load_library};

/// Wait this long after the last change before reloading: editors write in several steps.
const SETTLE: Duration = Duration::from_millis(250);

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
    use crate::app::App;
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
        use crate::app::admin::Admins;
        use crate::app::notify::Notifier;
        use crate::app::store::{Front, Queued, UserId};
        use std::sync::Mutex;

        /// Remembers what the admins were told and how often the guides changed.
        #[derive(Default)]
        struct Told(Mutex<(Vec<String>, usize)>);
        impl Notifier for Told {
            fn front(&self) -> Front {
                Front::Terminal
            }
            fn plan(&self, _: UserId, _: &crate::domain::engine::Output) -> Vec<Vec<u8>> {
                Vec::new()
            }
            fn deliver(&self, _: Vec<Queued>) {}
            fn tell_admins(&self, text: &str) {
                self.0.lock().expect("lock").0.push(text.to_owned());
            }
            fn guides_changed(&self, _: Arc<crate::domain::dialogue::Library>) {
                self.0.lock().expect("lock").1 += 1;
            }
        }

        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("w.en.yaml"), GOOD).expect("write");
        let app =
            App::new(load_dir(dir.path()).expect("loads"), Arc::new(crate::adapters::store::MemoryStore::default()));
        let told = Told::default();
        std::fs::write(dir.path().join("w.en.yaml"), "guide: [").expect("write");
        let answer = Admins::reload(&app, &told, load_dir(dir.path()), "d");
        assert!(answer.starts_with("Dialogues not reloaded; the previous version keeps serving."), "{answer}");
        assert_eq!(app.library().guides().len(), 1, "old library still serving");
        std::fs::write(dir.path().join("w.en.yaml"), GOOD.replace("one", "three")).expect("write");
        assert_eq!(Admins::reload(&app, &told, load_dir(dir.path()), "d"), "Reloaded d: 1 guide(s), no problems.");
        std::fs::remove_file(dir.path().join("w.en.yaml")).expect("remove");
        Admins::new([]).reloaded(&app, &told, load_dir(dir.path()));
        let (said, changed) = told.0.lock().expect("lock").clone();
        assert_eq!(said.len(), 1, "an empty folder is refused and the admins are told: {said:?}");
        assert!(said[0].contains("has no dialogue files"), "{said:?}");
        assert_eq!(changed, 1, "only the good reload changed the guides");
        assert_eq!(app.library().guides().len(), 1, "still serving");
        assert_eq!(app.library().guides()[0].file.nodes["a"].say.as_deref(), Some("three"));
    }
}
