//! [`SledStore`]: the [`Store`] on disk, over sled 0.34.
//!
//! Owns the sled database under `<dir>/db` and, through [`Keyring`], the key
//! files under `<dir>/keys`. Every sled call of the application lives here
//! (sled 0.34 is unmaintained upstream, so it stays behind this one module).
//! The on-disk layout is documented in the parent module.

use std::{
    io,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
};

use sled::{Transactional, transaction::TransactionError};

use super::{
    Reminder, Store, StoreError, UserId, encoding,
    flusher::Flusher,
    keyring::{self, Keyring},
};

/// sled's page cache; its default of 1 GiB is far more than a bot needs.
const CACHE_CAPACITY: u64 = 64 * 1024 * 1024;
/// How many update ids `first_delivery` remembers. Telegram keeps an update
/// for at most 24 hours, far fewer than this for one bot.
const UPDATES_KEPT: usize = 10_000;
/// Prune the `updates` tree once every this many new ids: counting the tree
/// is a scan, too slow to do on each insert.
const PRUNE_EVERY: u64 = 1_000;

/// The store on disk. Cheap to share: put it in an `Arc`.
pub struct SledStore {
    dir: PathBuf,
    users: sled::Tree,
    reminders: sled::Tree,
    reminders_by_user: sled::Tree,
    updates: sled::Tree,
    keyring: Keyring,
    flusher: Flusher,
    new_updates: AtomicU64,
}

impl SledStore {
    /// Opens the store in `dir`, creating `dir` (mode 0700) and an empty
    /// store if needed.
    ///
    /// Fails with [`StoreError::InUse`] when another process has it open, and
    /// with [`StoreError::SchemaTooNew`] when a newer guidebot wrote it.
    pub fn open(dir: &Path) -> Result<SledStore, StoreError> {
        keyring::create_private_dir(dir)?;
        let db = sled::Config::new()
            .path(dir.join("db"))
            .cache_capacity(CACHE_CAPACITY)
            // We flush explicitly before acknowledging each change; a timer
            // would only add fsyncs.
            .flush_every_ms(None)
            .open()
            .map_err(|source| open_error(dir, source))?;
        check_schema(&db, dir)?;

        let tree = |name: &'static str| db.open_tree(name).map_err(StoreError::db(format!("opening tree `{name}`")));
        let store = SledStore {
            dir: dir.to_path_buf(),
            users: tree("users")?,
            reminders: tree("reminders")?,
            reminders_by_user: tree("reminders_by_user")?,
            updates: tree("updates")?,
            keyring: Keyring::open(dir.join("keys"))?,
            flusher: {
                let db = db.clone();
                Flusher::start(Box::new(move || db.flush()))?
            },
            new_updates: AtomicU64::new(0),
        };
        store.shred_orphan_keys()?;
        Ok(store)
    }

    /// The data directory this store was opened on.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Shreds key files without a record. They are left behind when the
    /// process died between an erase's flush and its shredding (the key
    /// would still open the erased record's bytes in sled's old log), or
    /// between creating a key and writing the first record.
    fn shred_orphan_keys(&self) -> Result<(), StoreError> {
        let mut shredded = 0usize;
        for user in self.keyring.users_with_key_file()? {
            let mut shard = self.keyring.lock(user);
            let has_record = self
                .users
                .contains_key(encoding::user_key(user))
                .map_err(StoreError::db(format!("reading the record of user {user}")))?;
            if !has_record {
                shard.shred(user)?;
                shredded += 1;
            }
        }
        if shredded > 0 {
            tracing::info!(shredded, "shredded key files of users without a record");
        }
        Ok(())
    }

    /// Drops the oldest update ids beyond `keep`.
    fn prune_updates(&self, keep: usize) -> Result<(), StoreError> {
        let excess = self.updates.len().saturating_sub(keep);
        for key in self.updates.iter().keys().take(excess) {
            let key = key.map_err(StoreError::db("pruning update ids"))?;
            self.updates.remove(key).map_err(StoreError::db("pruning update ids"))?;
        }
        Ok(())
    }
}

impl Store for SledStore {
    fn load(&self, user: UserId) -> Result<Option<Vec<u8>>, StoreError> {
        let mut shard = self.keyring.lock(user);
        let sealed = self
            .users
            .get(encoding::user_key(user))
            .map_err(StoreError::db(format!("loading the record of user {user}")))?;
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let Some(key) = shard.existing(user)? else {
            tracing::warn!(user, "record has no key file; treating it as absent");
            return Ok(None);
        };
        key.open(user, &sealed).map(Some)
    }

    fn save(&self, user: UserId, record: &[u8]) -> Result<(), StoreError> {
        {
            // The shard lock orders this save against an erase of the same
            // user; it is released before the flush wait so that other users
            // of the shard are not held up by the disk.
            let mut shard = self.keyring.lock(user);
            let key = shard.get_or_create(user)?;
            let sealed = key.seal(user, record)?;
            self.users
                .insert(encoding::user_key(user), sealed)
                .map_err(StoreError::db(format!("saving the record of user {user}")))?;
        }
        self.flusher.wait_durable()
    }

    fn erase(&self, user: UserId) -> Result<(), StoreError> {
        // Held to the end: a save of this user must not slip in between the
        // removal and the shredding, or it would write under a doomed key.
        let mut shard = self.keyring.lock(user);
        shard.forget(user);
        let action = || format!("erasing user {user}");
        let index_keys = self
            .reminders_by_user
            .scan_prefix(encoding::reminder_index_prefix(user))
            .keys()
            .collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::db(action()))?;
        let reminders =
            index_keys.iter().map(|k| encoding::decode_reminder_index_key(k)).collect::<Result<Vec<_>, _>>()?;
        (&self.users, &self.reminders, &self.reminders_by_user)
            .transaction(|(users, by_time, by_user)| {
                users.remove(&encoding::user_key(user))?;
                for r in &reminders {
                    by_time.remove(encoding::reminder_key(r.at, r.user, &r.id))?;
                    by_user.remove(encoding::reminder_index_key(r.at, r.user, &r.id))?;
                }
                Ok(())
            })
            .map_err(transaction_error(action()))?;
        self.flusher.wait_durable()?;
        // Only now that the removal is durable may the key go: shredding
        // first and crashing before the flush would leave an unreadable
        // record that still counts as present.
        shard.shred(user)?;
        tracing::info!(user, "erased user");
        Ok(())
    }

    fn users(&self) -> Result<Vec<UserId>, StoreError> {
        self.users
            .iter()
            .keys()
            .map(|key| {
                let key = key.map_err(StoreError::db("listing users"))?;
                encoding::decode_user_key(&key)
            })
            .collect()
    }

    fn first_delivery(&self, update_id: i64) -> Result<bool, StoreError> {
        let action = || format!("recording update {update_id}");
        let swapped = self
            .updates
            .compare_and_swap(encoding::update_key(update_id), None::<&[u8]>, Some(&[] as &[u8]))
            .map_err(StoreError::db(action()))?;
        if swapped.is_err() {
            return Ok(false);
        }
        if self.new_updates.fetch_add(1, Ordering::Relaxed).is_multiple_of(PRUNE_EVERY) {
            self.prune_updates(UPDATES_KEPT)?;
        }
        self.flusher.wait_durable()?;
        Ok(true)
    }

    fn schedule_reminder(&self, at: i64, user: UserId, id: &str) -> Result<(), StoreError> {
        let by_time_key = encoding::reminder_key(at, user, id);
        let by_user_key = encoding::reminder_index_key(at, user, id);
        (&self.reminders, &self.reminders_by_user)
            .transaction(|(by_time, by_user)| {
                by_time.insert(by_time_key.as_slice(), &[] as &[u8])?;
                by_user.insert(by_user_key.as_slice(), &[] as &[u8])?;
                Ok(())
            })
            .map_err(transaction_error(format!("scheduling reminder `{id}` of user {user}")))?;
        self.flusher.wait_durable()
    }

    fn due_reminders(&self, now: i64) -> Result<Vec<Reminder>, StoreError> {
        let scan = match encoding::reminders_after(now) {
            Some(end) => self.reminders.range(..end),
            None => self.reminders.iter(),
        };
        scan.keys()
            .map(|key| {
                let key = key.map_err(StoreError::db("listing due reminders"))?;
                encoding::decode_reminder_key(&key)
            })
            .collect()
    }

    fn reminders_of(&self, user: UserId) -> Result<Vec<Reminder>, StoreError> {
        self.reminders_by_user
            .scan_prefix(encoding::reminder_index_prefix(user))
            .keys()
            .map(|key| {
                let key = key.map_err(StoreError::db(format!("listing the reminders of user {user}")))?;
                encoding::decode_reminder_index_key(&key)
            })
            .collect()
    }

    fn remove_reminder(&self, r: &Reminder) -> Result<(), StoreError> {
        let by_time_key = encoding::reminder_key(r.at, r.user, &r.id);
        let by_user_key = encoding::reminder_index_key(r.at, r.user, &r.id);
        (&self.reminders, &self.reminders_by_user)
            .transaction(|(by_time, by_user)| {
                by_time.remove(by_time_key.as_slice())?;
                by_user.remove(by_user_key.as_slice())?;
                Ok(())
            })
            .map_err(transaction_error(format!("removing reminder `{}` of user {}", r.id, r.user)))?;
        self.flusher.wait_durable()
    }
}

/// Maps sled's open error, recognising its lock failure.
///
/// sled 0.34 (`Config::try_lock`) turns fs2's `WouldBlock` into
/// `Error::Io(ErrorKind::Other, "could not acquire lock on ...")`, so the
/// message is the only reliable sign; `WouldBlock` is kept in case a build of
/// sled passes the io error through.
fn open_error(dir: &Path, source: sled::Error) -> StoreError {
    if let sled::Error::Io(e) = &source
        && (e.kind() == io::ErrorKind::WouldBlock || e.to_string().contains("could not acquire lock"))
    {
        return StoreError::InUse { dir: dir.to_path_buf() };
    }
    StoreError::Open { dir: dir.to_path_buf(), source }
}

/// Writes schema version 1 into a new store; refuses a store with another.
fn check_schema(db: &sled::Db, dir: &Path) -> Result<(), StoreError> {
    let meta = db.open_tree("meta").map_err(StoreError::db("opening tree `meta`"))?;
    let stored = meta.get(encoding::SCHEMA_VERSION_KEY).map_err(StoreError::db("reading the schema version"))?;
    let Some(stored) = stored else {
        meta.insert(encoding::SCHEMA_VERSION_KEY, &encoding::SCHEMA_VERSION.to_be_bytes())
            .map_err(StoreError::db("writing the schema version"))?;
        db.flush().map_err(|source| StoreError::Flush { source })?;
        return Ok(());
    };
    let found = encoding::decode_schema_version(&stored)?;
    if found > encoding::SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew { dir: dir.to_path_buf(), found, supported: encoding::SCHEMA_VERSION });
    }
    if found < encoding::SCHEMA_VERSION {
        // Version 1 is the first; anything lower was never written by us.
        return Err(StoreError::Corrupt { tree: "meta", detail: format!("unknown schema version {found}") });
    }
    Ok(())
}

fn transaction_error(action: String) -> impl FnOnce(TransactionError<()>) -> StoreError {
    move |e| match e {
        TransactionError::Storage(source) => StoreError::Db { action, source },
        // Our closures never abort.
        TransactionError::Abort(()) => {
            StoreError::Db { action, source: sled::Error::ReportableBug("transaction aborted".to_owned()) }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{fs, sync::Arc, thread};

    use super::super::tests as shared;
    use super::*;

    fn open(dir: &Path) -> SledStore {
        SledStore::open(dir).expect("open store")
    }

    #[test]
    fn passes_the_shared_behaviour_checks() {
        let tmp = tempfile::tempdir().expect("tempdir");
        shared::check_all(&open(tmp.path()));
    }

    /// Every file under `dir`, recursively.
    fn files_under(dir: &Path) -> Vec<PathBuf> {
        let mut files = Vec::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(d) = pending.pop() {
            for entry in fs::read_dir(&d).expect("read_dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    files.push(path);
                }
            }
        }
        files
    }

    fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
        files_under(dir)
            .into_iter()
            .filter(|f| {
                let bytes = fs::read(f).expect("read file");
                bytes.windows(needle.len()).any(|w| w == needle)
            })
            .collect()
    }

    #[test]
    fn records_never_reach_the_disk_in_clear_and_erase_shreds_the_key() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let secret = b"SECRET-NOTE-4242";
        let key_file = tmp.path().join("keys").join("77.key");
        {
            let store = open(tmp.path());
            store.save(77, b"{\"note\":\"SECRET-NOTE-4242\"}").expect("save");
            store.save(77, b"{\"note\":\"SECRET-NOTE-4242 v2\"}").expect("save");
            store.schedule_reminder(5, 77, "r1").expect("schedule");
            assert!(key_file.exists());
            assert_eq!(files_containing(tmp.path(), secret), Vec::<PathBuf>::new());

            store.erase(77).expect("erase");
            assert_eq!(store.load(77).expect("load"), None);
            assert_eq!(store.reminders_of(77).expect("reminders"), vec![]);
            assert_eq!(store.due_reminders(i64::MAX).expect("due"), vec![]);
            assert!(!key_file.exists(), "key file must be shredded");
            assert_eq!(files_containing(tmp.path(), secret), Vec::<PathBuf>::new());
        }
        assert!(!key_file.exists());
        assert_eq!(files_containing(tmp.path(), secret), Vec::<PathBuf>::new());
        assert_eq!(open(tmp.path()).load(77).expect("load"), None);
    }

    #[test]
    fn data_survives_a_reopen() {
        let tmp = tempfile::tempdir().expect("tempdir");
        {
            let store = open(tmp.path());
            store.save(1, b"one").expect("save");
            store.save(-2, b"two").expect("save");
            store.schedule_reminder(-3, 1, "a").expect("schedule");
            assert!(store.first_delivery(900).expect("first"));
        }
        let store = open(tmp.path());
        assert_eq!(store.load(1).expect("load"), Some(b"one".to_vec()));
        assert_eq!(store.load(-2).expect("load"), Some(b"two".to_vec()));
        let mut users = store.users().expect("users");
        users.sort_unstable();
        assert_eq!(users, vec![-2, 1]);
        assert_eq!(store.reminders_of(1).expect("reminders"), vec![Reminder { at: -3, user: 1, id: "a".to_owned() }]);
        assert!(!store.first_delivery(900).expect("seen before the reopen"));
        assert!(store.first_delivery(901).expect("new"));
    }

    #[test]
    fn a_second_open_of_a_live_dir_is_refused_by_name() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("data");
        let first = open(&dir);
        let err = SledStore::open(&dir).err().expect("second open must fail");
        assert!(matches!(&err, StoreError::InUse { dir: d } if *d == dir), "{err:?}");
        let message = err.to_string();
        assert!(message.contains(&dir.display().to_string()), "{message}");
        assert!(message.contains("is `guidebot bot` already running?"), "{message}");
        drop(first);
        open(&dir);
    }

    #[cfg(unix)]
    #[test]
    fn open_creates_a_private_directory_tree() {
        use std::os::unix::fs::PermissionsExt;

        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("a").join("b");
        let store = open(&dir);
        assert_eq!(store.dir(), dir);
        let mode = fs::metadata(&dir).expect("metadata").permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }

    #[test]
    fn schema_version_is_written_and_a_newer_one_refused() {
        let tmp = tempfile::tempdir().expect("tempdir");
        drop(open(tmp.path()));
        {
            let db = sled::open(tmp.path().join("db")).expect("raw open");
            let meta = db.open_tree("meta").expect("meta");
            let version = meta.get("schema_version").expect("get").expect("written");
            assert_eq!(version.as_ref(), 1u32.to_be_bytes());
            meta.insert("schema_version", &2u32.to_be_bytes()).expect("insert");
            db.flush().expect("flush");
        }
        let err = SledStore::open(tmp.path()).err().expect("newer schema");
        assert!(matches!(err, StoreError::SchemaTooNew { found: 2, supported: 1, .. }), "{err:?}");
        assert!(err.to_string().contains("upgrade guidebot"), "{err}");
    }

    #[test]
    fn a_record_without_its_key_file_reads_as_absent() {
        let tmp = tempfile::tempdir().expect("tempdir");
        {
            let store = open(tmp.path());
            store.save(5, b"x").expect("save");
        }
        fs::remove_file(tmp.path().join("keys").join("5.key")).expect("remove key");
        let store = open(tmp.path());
        assert_eq!(store.load(5).expect("no panic, no error"), None);
    }

    #[test]
    fn open_shreds_key_files_without_a_record() {
        let tmp = tempfile::tempdir().expect("tempdir");
        drop(open(tmp.path()));
        let orphan = tmp.path().join("keys").join("-9.key");
        let stranger = tmp.path().join("keys").join("README");
        fs::write(&orphan, [7u8; 32]).expect("write");
        fs::write(&stranger, "not a key").expect("write");
        drop(open(tmp.path()));
        assert!(!orphan.exists());
        assert!(stranger.exists(), "only <id>.key files are ours");
    }

    #[test]
    fn concurrent_saves_of_many_users_are_all_durable() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let threads = 8i64;
        let per_thread = 25i64;
        {
            let store = Arc::new(open(tmp.path()));
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let store = Arc::clone(&store);
                    thread::spawn(move || {
                        for i in 0..per_thread {
                            let user = t * 1_000 + i;
                            store.save(user, format!("record {user}").as_bytes())?;
                        }
                        Ok::<_, StoreError>(())
                    })
                })
                .collect();
            for h in handles {
                h.join().expect("thread").expect("saves");
            }
        }
        let store = open(tmp.path());
        assert_eq!(store.users().expect("users").len(), (threads * per_thread) as usize);
        for t in 0..threads {
            for i in 0..per_thread {
                let user = t * 1_000 + i;
                let record = store.load(user).expect("load");
                assert_eq!(record, Some(format!("record {user}").into_bytes()));
            }
        }
    }

    #[test]
    fn pruning_keeps_the_newest_update_ids() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = open(tmp.path());
        for id in -3..7 {
            assert!(store.first_delivery(id).expect("first"));
        }
        store.prune_updates(4).expect("prune");
        assert_eq!(store.updates.len(), 4);
        assert!(!store.first_delivery(6).expect("kept"));
        assert!(!store.first_delivery(3).expect("kept"));
        assert!(store.first_delivery(2).expect("pruned, so new again"));
    }
}
