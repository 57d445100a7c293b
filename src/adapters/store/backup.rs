//! `guidebot backup` and `guidebot restore`: a consistent copy of a data
//! directory (database and keys), made while the store is open.
//!
//! A backup pauses writers for the length of the copy (the store's pause
//! lock), so the copy holds no half-done event; it is written to a new
//! directory that is itself a data directory, and restoring is copying it
//! into an empty one and checking that it opens. A backup is as sensitive as
//! the data directory: it holds the keys.
//!
//! While a bot or chat has the store open, `guidebot backup` asks it over a
//! socket in the data directory (`backup.sock`, mode 0600) to make the copy.

use std::{
    fs,
    io::{BufRead, BufReader, Write},
    os::unix::net::{UnixListener, UnixStream},
    path::{Path, PathBuf},
    sync::{Arc, PoisonError, Weak},
    thread,
    time::Duration,
};

use super::{SledStore, StoreError, slots::create_private_dir};

const SOCKET: &str = "backup.sock";

impl SledStore {
    /// Copies the store into `dest`, which must not exist or be empty.
    pub fn backup(&self, dest: &Path) -> Result<(), StoreError> {
        refuse_non_empty(dest)?;
        let _alone = self.pause.write().unwrap_or_else(PoisonError::into_inner);
        self.flush_now()?;
        create_private_dir(dest)?;
        self.slots.copy_to(&dest.join("keys"))?;
        let out = sled::Config::new()
            .path(dest.join("db"))
            .open()
            .map_err(|source| StoreError::Open { dir: dest.to_path_buf(), source: source.into() })?;
        for name in ["meta", "records", "notes", "outbox", "updates"] {
            let from = self.db.open_tree(name).map_err(StoreError::db(format!("opening tree `{name}`")))?;
            let to = out.open_tree(name).map_err(StoreError::db(format!("opening tree `{name}` of the copy")))?;
            for entry in from.iter() {
                let (k, v) = entry.map_err(StoreError::db(format!("copying tree `{name}`")))?;
                to.insert(k, v).map_err(StoreError::db(format!("copying tree `{name}`")))?;
            }
        }
        out.flush().map_err(|source| StoreError::Flush { source: source.into() })?;
        drop(out);
        super::slots::tighten_tree(dest).map_err(|source| StoreError::Copy {
            action: "restricting",
            path: dest.to_path_buf(),
            source,
        })?;
        Ok(())
    }

    /// Serves `guidebot backup` requests from other processes while this
    /// store is open; stops when the store is dropped.
    pub fn serve_backups(self: &Arc<Self>) -> Result<(), StoreError> {
        let path = self.dir().join(SOCKET);
        let io = |action| {
            let path = path.clone();
            move |source| StoreError::Copy { action, path, source }
        };
        let _ = fs::remove_file(&path);
        let listener = UnixListener::bind(&path).map_err(io("listening on"))?;
        super::slots::tighten_tree(self.dir()).map_err(io("restricting"))?;
        listener.set_nonblocking(true).map_err(io("listening on"))?;
        let store: Weak<SledStore> = Arc::downgrade(self);
        thread::Builder::new()
            .name("backup-requests".to_owned())
            .spawn(move || {
                loop {
                    let Some(store) = store.upgrade() else { break };
                    match listener.accept() {
                        Ok((stream, _)) => answer(&store, stream),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            drop(store);
                            thread::sleep(Duration::from_millis(200));
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "backup socket failed; backups of the running process are off");
                            break;
                        }
                    }
                }
                let _ = fs::remove_file(&path);
            })
            .map_err(|source| StoreError::SpawnFlusher { source })?;
        Ok(())
    }
}

fn answer(store: &SledStore, stream: UnixStream) {
    let _ = stream.set_nonblocking(false);
    let mut line = String::new();
    let mut reader = BufReader::new(&stream);
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let reply = match store.backup(Path::new(line.trim_end())) {
        Ok(()) => "ok\n".to_owned(),
        Err(e) => format!("error: {e}\n"),
    };
    let _ = (&stream).write_all(reply.as_bytes());
}

/// Asks the process that has `data` open to back it up into `dest`.
pub fn request_backup(data: &Path, dest: &Path) -> Result<(), String> {
    let dest = if dest.is_absolute() {
        dest.to_path_buf()
    } else {
        std::env::current_dir().map_err(|e| e.to_string())?.join(dest)
    };
    let mut stream = UnixStream::connect(data.join(SOCKET))
        .map_err(|e| format!("{} is in use, and its process does not answer backup requests ({e})", data.display()))?;
    stream.write_all(format!("{}\n", dest.display()).as_bytes()).map_err(|e| e.to_string())?;
    let mut reply = String::new();
    BufReader::new(&stream).read_line(&mut reply).map_err(|e| e.to_string())?;
    match reply.trim_end().strip_prefix("error: ") {
        None if reply.trim_end() == "ok" => Ok(()),
        Some(e) => Err(e.to_owned()),
        None => Err(format!("unexpected answer from the running process: {reply:?}")),
    }
}

/// Copies the backup `src` into the new or empty data directory `dest` and
/// checks that it opens.
pub fn restore(src: &Path, dest: &Path) -> Result<(), StoreError> {
    if !src.join("db").join("conf").exists() || !src.join("keys").join("ring").exists() {
        return Err(StoreError::Copy {
            action: "a backup needs db/ and keys/ring in",
            path: src.to_path_buf(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        });
    }
    refuse_non_empty(dest)?;
    create_private_dir(dest)?;
    copy_tree(src, dest).map_err(|source| StoreError::Copy {
        action: "copying into",
        path: dest.to_path_buf(),
        source,
    })?;
    let _ = fs::remove_file(dest.join(SOCKET));
    SledStore::open(dest).map(drop)
}

fn refuse_non_empty(dir: &Path) -> Result<(), StoreError> {
    let non_empty = fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
    if non_empty { Err(StoreError::NotEmpty { dir: dir.to_path_buf() }) } else { Ok(()) }
}

/// Copies the files and folders under `src` into `dest` (private modes).
pub(super) fn copy_tree(src: &Path, dest: &Path) -> std::io::Result<()> {
    let mut pending: Vec<(PathBuf, PathBuf)> = vec![(src.to_path_buf(), dest.to_path_buf())];
    while let Some((from, to)) = pending.pop() {
        fs::create_dir_all(&to)?;
        for entry in fs::read_dir(&from)? {
            let entry = entry?;
            let target = to.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                pending.push((entry.path(), target));
            } else if entry.file_type()?.is_file() {
                fs::copy(entry.path(), &target)?;
            }
        }
    }
    super::slots::tighten_tree(dest).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::store::tests::u;
    use crate::adapters::store::{Change, Store, StoreOptions};

    fn open(dir: &Path) -> SledStore {
        SledStore::open_with(dir, StoreOptions { min_free_bytes: 0, ..StoreOptions::default() }).expect("open")
    }

    #[test]
    fn a_backup_made_while_open_restores_every_user_and_note() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(open(&tmp.path().join("data")));
        let notes = [b"n1".to_vec(), b"n2".to_vec()];
        store
            .commit(u(1), &Change { record: Some(b"one"), notes: &notes, next_due: Some(50), ..Change::default() })
            .expect("c");
        store.commit(u(2), &Change { record: Some(b"two"), ..Change::default() }).expect("c");
        store.serve_backups().expect("serve");
        // Through the socket, as `guidebot backup` does while the bot runs.
        request_backup(&tmp.path().join("data"), &tmp.path().join("copy")).expect("backup");
        let err = request_backup(&tmp.path().join("data"), &tmp.path().join("copy")).expect_err("not twice");
        assert!(err.contains("not empty"), "{err}");

        fs::create_dir_all(tmp.path().join("busy")).expect("mkdir");
        fs::write(tmp.path().join("busy/file"), "x").expect("write");
        let err = restore(&tmp.path().join("copy"), &tmp.path().join("busy")).expect_err("non-empty");
        assert!(matches!(err, StoreError::NotEmpty { .. }), "{err:?}");

        restore(&tmp.path().join("copy"), &tmp.path().join("restored")).expect("restore");
        let back = open(&tmp.path().join("restored"));
        let one = back.load(u(1)).expect("load").expect("user 1");
        assert_eq!((one.record, one.notes), (b"one".to_vec(), notes.to_vec()));
        assert_eq!(back.load(u(2)).expect("load").map(|s| s.record), Some(b"two".to_vec()));
        assert_eq!(back.due(50).expect("due"), vec![u(1)]);
    }
}
