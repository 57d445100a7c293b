//! The sled store's own tests; the checks every store passes are in the
//! parent's `conformance_tests!`.

use std::{fs, sync::Arc, thread};

use super::super::tests::{self as shared, e, u};
use super::*;

fn open(dir: &Path) -> SledStore {
    SledStore::open_with(dir, StoreOptions { min_free_bytes: 0, ..StoreOptions::default() }).expect("open store")
}

fn save(store: &SledStore, user: UserId, record: &[u8]) {
    store.commit(user, &Change { record: Some(record), ..Change::default() }).expect("save");
}

shared::conformance_tests!(|| {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = open(tmp.path());
    Some(shared::Fresh { store: Box::new(store), keep: Box::new(tmp) })
});

/// Every file under `dir`, recursively.
pub(crate) fn files_under(dir: &Path) -> Vec<PathBuf> {
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
fn nothing_of_a_user_reaches_the_disk_in_clear_and_erase_clears_their_slot() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let secret = b"SECRET-NOTE-4242";
    let user = u(0x1122_3344_5566_7788);
    {
        let store = open(tmp.path());
        shared::commit_secret(&store, user);
        assert_eq!(files_containing(tmp.path(), secret), Vec::<PathBuf>::new());
        // The user id never goes into sled: only into the key slot.
        let id = user.id.to_be_bytes();
        let holding_id = files_containing(tmp.path(), &id);
        assert!(holding_id.iter().all(|f| f.extension().is_some_and(|e| e == "slots")), "{holding_id:?}");
        assert_eq!(holding_id.len(), 1);

        store.erase(user, Some(e(2)), &[]).expect("erase");
        assert_eq!(store.load(user).expect("load"), None);
        assert_eq!(store.pending().expect("pending"), vec![]);
        assert_eq!(files_containing(tmp.path(), &id), Vec::<PathBuf>::new(), "the slot was cleared");
    }
    assert_eq!(files_containing(tmp.path(), secret), Vec::<PathBuf>::new());
    let due = 1_811_234_567_i64.to_be_bytes();
    assert_eq!(files_containing(tmp.path(), &due[1..]), Vec::<PathBuf>::new(), "no reminder time left");
    let store = open(tmp.path());
    assert_eq!(store.load(user).expect("load"), None);
    assert!(store.applied(e(1)).expect("applied") && store.applied(e(2)).expect("applied"));
}

#[test]
fn data_survives_a_reopen() {
    let tmp = tempfile::tempdir().expect("tempdir");
    {
        let store = open(tmp.path());
        save(&store, u(1), b"one");
        save(&store, u(-2), b"two");
        store.commit(u(1), &Change { next_due: Some(-3), outbox: &[b"hi".to_vec()], ..Change::default() }).expect("c");
        assert!(store.first_delivery(e(900)).expect("first"));
    }
    let store = open(tmp.path());
    assert_eq!(store.load(u(1)).expect("load").map(|s| s.record), Some(b"one".to_vec()));
    assert_eq!(store.load(u(-2)).expect("load").map(|s| s.record), Some(b"two".to_vec()));
    let mut users = store.users().expect("users");
    users.sort_unstable();
    assert_eq!(users, vec![u(-2), u(1)]);
    assert_eq!(store.due(0).expect("due"), vec![u(1)]);
    assert_eq!(store.pending().expect("pending").len(), 1);
    assert!(!store.first_delivery(e(900)).expect("seen before the reopen"));
    // New outbox items sort after the ones left from before.
    let seqs = store.commit(u(1), &Change { outbox: &[b"again".to_vec()], ..Change::default() }).expect("c");
    let pending = store.pending().expect("pending");
    assert_eq!(pending.last().map(|q| q.seq), Some(seqs[0]));
    assert_eq!(pending.last().map(|q| q.item.clone()), Some(b"again".to_vec()));
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

#[test]
fn open_makes_the_directory_tree_private_even_when_it_existed() {
    use std::os::unix::fs::PermissionsExt;

    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("a").join("b");
    let mode = |p: &Path| fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    {
        let store = open(&dir);
        save(&store, u(3), b"x");
        assert_eq!(store.dir(), dir);
    }
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).expect("chmod");
    for f in files_under(&dir) {
        fs::set_permissions(&f, fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    drop(open(&dir));
    assert_eq!(mode(&dir), 0o700);
    for f in files_under(&dir) {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
}

#[test]
fn schema_version_is_written_and_a_newer_one_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    drop(open(tmp.path()));
    {
        let db = sled::open(tmp.path().join("db")).expect("raw open");
        let meta = db.open_tree("meta").expect("meta");
        let version = meta.get("schema_version").expect("get").expect("written");
        assert_eq!(version.as_ref(), encoding::SCHEMA_VERSION.to_be_bytes());
        meta.insert("schema_version", &(encoding::SCHEMA_VERSION + 1).to_be_bytes()).expect("insert");
        db.flush().expect("flush");
    }
    let err = SledStore::open(tmp.path()).err().expect("newer schema");
    assert!(matches!(err, StoreError::SchemaTooNew { found: 8, supported: 7, .. }), "{err:?}");
    assert!(err.to_string().contains("upgrade guidebot"), "{err}");
}

#[test]
fn a_schema_5_outbox_is_rekeyed_by_sequence_and_still_delivered_in_order() {
    let tmp = tempfile::tempdir().expect("tempdir");
    {
        let store = open(tmp.path());
        for (user, texts) in [(u(3), vec![b"a1".to_vec(), b"a2".to_vec()]), (u(4), vec![b"b1".to_vec()])] {
            store.commit(user, &Change { record: Some(b"r"), outbox: &texts, ..Change::default() }).expect("commit");
        }
        // As schema 5 keyed them: bucket ‖ handle ‖ seq.
        let items: Vec<_> = store.outbox.iter().map(|e| e.expect("item")).collect();
        assert_eq!(items.len(), 3);
        for (key, value) in items {
            let (bucket, handle, seq) = encoding::decode_outbox_key(&key).expect("key");
            let old = [&bucket.to_be_bytes()[..], &handle[..], &seq.to_be_bytes()[..]].concat();
            store.outbox.remove(&key).expect("remove");
            store.outbox.insert(old, value).expect("insert");
        }
        store
            .db
            .open_tree("meta")
            .expect("meta")
            .insert(encoding::SCHEMA_VERSION_KEY, &5u32.to_be_bytes())
            .expect("v5");
        store.db.flush().expect("flush");
    }
    let store = open(tmp.path());
    let pending = store.pending().expect("pending");
    let seen: Vec<(UserId, &[u8])> = pending.iter().map(|q| (q.user, q.item.as_slice())).collect();
    assert_eq!(seen, [(u(3), &b"a1"[..]), (u(3), &b"a2"[..]), (u(4), &b"b1"[..])]);
    store.delivered(u(3), pending[0].seq).expect("delivered");
    assert_eq!(store.pending().expect("pending").len(), 2);
    let next = store.commit(u(4), &Change { outbox: &[b"b2".to_vec()], ..Change::default() }).expect("commit");
    assert!(next[0] > pending[2].seq, "sequence numbers go on after the migrated ones");
}

#[test]
fn a_schema_2_directory_opens_as_7_and_its_uncompressed_records_still_load() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let record = br#"{"node":"amount","answers":{"welcome":"OK"},"history":[]}"#.repeat(8);
    {
        let store = open(tmp.path());
        save(&store, u(7), &record);
        // As schema 2 wrote it: sealed whole, and the version 2.
        let slot = store.slots.lock_user(u(7)).expect("lock").find(u(7)).expect("slot").1.clone();
        let sealed = store.records.get(slot.handle).expect("get").expect("stored");
        assert!(sealed.len() < record.len() / 2, "stored compressed: {} of {}", sealed.len(), record.len());
        let old = slot.key.seal_as(&slot.handle, Kind::Record as u8, &record).expect("seal");
        store.records.insert(slot.handle, old).expect("insert");
        let meta = store.db.open_tree("meta").expect("meta");
        meta.insert(encoding::SCHEMA_VERSION_KEY, &2u32.to_be_bytes()).expect("insert");
        meta.remove(encoding::HEADED_FROM_KEY).expect("remove");
        store.db.flush().expect("flush");
    }
    let store = open(tmp.path());
    let meta = store.db.open_tree("meta").expect("meta");
    let version = meta.get(encoding::SCHEMA_VERSION_KEY).expect("get").expect("written");
    assert_eq!(version.as_ref(), encoding::SCHEMA_VERSION.to_be_bytes());
    assert_eq!(store.load(u(7)).expect("load").map(|s| s.record), Some(record.clone()));
    save(&store, u(7), &record);
    assert_eq!(store.load(u(7)).expect("load").map(|s| s.record), Some(record));
}

/// The writes of a step as far as a crash let them reach the disk: its
/// notes and outbox items, but not its record.
fn write_all_but_the_record(store: &SledStore, user: UserId, note_number: u32, item: &[u8]) -> u64 {
    let slot = store.slots.lock_user(user).expect("lock").find(user).expect("slot").1.clone();
    let bucket = store.slots.lock_user(user).expect("lock").number();
    let note = slot.key.seal(&slot.handle, Kind::Note, b"a note of the lost step").expect("seal");
    store.notes.insert(encoding::note_key(&slot.handle, note_number), note).expect("note");
    let seq = store.take_seqs(1).expect("seq");
    let sealed = slot.key.seal(&slot.handle, Kind::Outbox, item).expect("seal");
    store.outbox.insert(encoding::outbox_key(bucket, &slot.handle, seq), sealed).expect("item");
    store.db.flush().expect("flush");
    seq
}

#[test]
fn what_a_step_cut_off_before_its_record_wrote_is_neither_sent_nor_shown() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let notes = [b"kept note".to_vec()];
    {
        let store = open(tmp.path());
        let change = Change { record: Some(b"r1"), notes: &notes, outbox: &[b"sent".to_vec()], ..Change::default() };
        store.commit(u(8), &change).expect("commit");
        write_all_but_the_record(&store, u(8), 1, b"reply of a step never saved");
    }
    let store = open(tmp.path());
    let pending: Vec<Vec<u8>> = store.pending().expect("pending").into_iter().map(|q| q.item).collect();
    assert_eq!(pending, [b"sent".to_vec()], "the cut-off step's reply is not sent");
    assert_eq!(store.outbox.len(), 1, "and it is gone from the outbox");
    let stored = store.load(u(8)).expect("load").expect("stored");
    assert_eq!((stored.record.as_slice(), stored.notes), (&b"r1"[..], notes.to_vec()));
    // The step, applied again, writes the same note number over the lost one.
    let again = [b"typed again".to_vec()];
    let change = Change { record: Some(b"r2"), notes_from: 1, notes: &again, ..Change::default() };
    store.commit(u(8), &change).expect("commit");
    assert_eq!(store.load(u(8)).expect("load").expect("stored").notes, [notes[0].clone(), again[0].clone()]);
}

#[test]
fn an_event_whose_record_landed_but_not_its_id_is_not_applied_again() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let event = e(4711);
    {
        let store = open(tmp.path());
        let change = Change { record: Some(b"after 4711"), event: Some(event), ..Change::default() };
        store.commit(u(9), &change).expect("commit");
        // The crash came between the record and the event id.
        store.updates.remove(encoding::update_key(event)).expect("remove");
        store.db.flush().expect("flush");
    }
    let store = open(tmp.path());
    assert!(!store.applied(event).expect("applied"), "the id itself is not there");
    let change = Change { record: Some(b"4711 twice"), event: Some(event), ..Change::default() };
    assert!(matches!(store.commit(u(9), &change), Err(StoreError::AlreadyApplied { .. })));
    assert_eq!(store.load(u(9)).expect("load").expect("stored").record, b"after 4711");
    // A change without a record keeps the record under its new head.
    let next = e(4712);
    store.commit(u(9), &Change { event: Some(next), outbox: &[b"x".to_vec()], ..Change::default() }).expect("commit");
    assert_eq!(store.load(u(9)).expect("load").expect("stored").record, b"after 4711");
    assert!(store.applied(next).expect("applied"));
}

#[test]
fn a_record_this_process_wrote_still_refuses_its_event_when_the_id_is_gone() {
    // The record is not read back after a write of this process; what its head
    // names is remembered instead, and must refuse the event all the same.
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = open(tmp.path());
    let event = e(815);
    store
        .commit(u(3), &Change { record: Some(b"after 815"), event: Some(event), ..Change::default() })
        .expect("commit");
    store.updates.remove(encoding::update_key(event)).expect("remove");
    let again = Change { record: Some(b"815 twice"), event: Some(event), ..Change::default() };
    assert!(matches!(store.commit(u(3), &again), Err(StoreError::AlreadyApplied { .. })));
    assert_eq!(store.load(u(3)).expect("load").expect("stored").record, b"after 815");
    // The next event goes through, and then it is the one remembered.
    let next = e(816);
    store.commit(u(3), &Change { record: Some(b"after 816"), event: Some(next), ..Change::default() }).expect("commit");
    store.updates.remove(encoding::update_key(next)).expect("remove");
    let again = Change { record: Some(b"816 twice"), event: Some(next), ..Change::default() };
    assert!(matches!(store.commit(u(3), &again), Err(StoreError::AlreadyApplied { .. })));
    store.commit(u(3), &Change { record: Some(b"after 815 again"), event: Some(event), ..Change::default() }).expect(
        "only the newest record's event is known without its id; an older one is the `updates` tree's to refuse",
    );
}

#[test]
fn sequence_numbers_are_not_reused_after_a_restart_found_the_outbox_empty() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let first = {
        let store = open(tmp.path());
        let seqs = store.commit(u(2), &Change { record: Some(b"r"), outbox: &[b"a".to_vec()], ..Change::default() });
        let seq = seqs.expect("commit")[0];
        store.delivered(u(2), seq).expect("delivered");
        seq
    };
    let store = open(tmp.path());
    assert!(store.outbox.is_empty());
    let next = store.commit(u(2), &Change { outbox: &[b"b".to_vec()], ..Change::default() }).expect("commit");
    assert!(next[0] > first, "{} after {first}", next[0]);
}

#[test]
fn a_schema_6_record_vouches_for_its_items_and_not_for_later_ones() {
    let tmp = tempfile::tempdir().expect("tempdir");
    {
        let store = open(tmp.path());
        let items = [b"old reply".to_vec()];
        store.commit(u(6), &Change { record: Some(b"r6"), outbox: &items, ..Change::default() }).expect("commit");
        // As schema 6 wrote it: the record without a head, and no `headed_from`.
        let slot = store.slots.lock_user(u(6)).expect("lock").find(u(6)).expect("slot").1.clone();
        let old = slot.key.seal(&slot.handle, Kind::Record, b"r6").expect("seal");
        store.records.insert(slot.handle, old).expect("insert");
        let meta = store.db.open_tree("meta").expect("meta");
        meta.insert(encoding::SCHEMA_VERSION_KEY, &6u32.to_be_bytes()).expect("v6");
        meta.remove(encoding::HEADED_FROM_KEY).expect("remove");
        meta.remove(encoding::SEQ_FLOOR_KEY).expect("remove");
        store.db.flush().expect("flush");
    }
    {
        let store = open(tmp.path());
        let pending: Vec<Vec<u8>> = store.pending().expect("pending").into_iter().map(|q| q.item).collect();
        assert_eq!(pending, [b"old reply".to_vec()]);
        assert_eq!(store.load(u(6)).expect("load").expect("stored").record, b"r6");
        // The first step under schema 7, cut off before its record.
        write_all_but_the_record(&store, u(6), 0, b"never committed");
    }
    let store = open(tmp.path());
    let pending: Vec<Vec<u8>> = store.pending().expect("pending").into_iter().map(|q| q.item).collect();
    assert_eq!(pending, [b"old reply".to_vec()]);
    // (Its note would show: a record without a head counts every note.)
}

#[test]
fn a_missing_database_is_refused_and_the_keys_are_left_alone() {
    let tmp = tempfile::tempdir().expect("tempdir");
    {
        let store = open(tmp.path());
        save(&store, u(5), b"x");
    }
    let keys_before: Vec<(PathBuf, Vec<u8>)> =
        files_under(&tmp.path().join("keys")).into_iter().map(|f| (f.clone(), fs::read(&f).expect("r"))).collect();
    let aside = tmp.path().join("db-aside");
    fs::rename(tmp.path().join("db"), &aside).expect("move db away");
    let err = SledStore::open(tmp.path()).err().expect("refused");
    assert!(matches!(err, StoreError::DatabaseMissing { .. }), "{err:?}");
    assert!(err.to_string().contains("restore"), "{err}");
    // An empty database in its place is refused too.
    fs::create_dir_all(tmp.path().join("db")).expect("mkdir");
    drop(sled::open(tmp.path().join("db")).expect("empty sled"));
    let err = SledStore::open(tmp.path()).err().expect("refused");
    assert!(matches!(err, StoreError::DatabaseMissing { .. }), "{err:?}");
    for (f, bytes) in &keys_before {
        assert_eq!(&fs::read(f).expect("read"), bytes, "{} unchanged", f.display());
    }
    fs::remove_dir_all(tmp.path().join("db")).expect("rm");
    fs::rename(&aside, tmp.path().join("db")).expect("move back");
    assert_eq!(open(tmp.path()).load(u(5)).expect("load").map(|s| s.record), Some(b"x".to_vec()));
}

#[test]
fn missing_keys_or_a_rolled_back_record_are_errors_not_new_users() {
    let tmp = tempfile::tempdir().expect("tempdir");
    {
        let store = open(tmp.path());
        save(&store, u(5), b"x");
        // As if the database lost the record (rolled back): the slot says it was saved.
        let handle = store.slots.lock_user(u(5)).expect("lock").find(u(5)).expect("slot").1.handle;
        store.records.remove(handle).expect("remove");
        let err = store.load(u(5)).expect_err("missing record");
        assert!(matches!(err, StoreError::RecordMissing { user } if user == u(5)), "{err:?}");
    }
    fs::rename(tmp.path().join("keys"), tmp.path().join("keys-aside")).expect("move keys away");
    let err = SledStore::open(tmp.path()).err().expect("refused");
    assert!(matches!(err, StoreError::KeysMismatch { .. }), "{err:?}");
}

#[test]
fn a_full_disk_is_refused_before_sled_sees_a_write() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = open(tmp.path());
    save(&store, u(1), b"kept");
    let full = SledStore { space: Space::new(tmp.path(), u64::MAX), ..store };
    let err = full.commit(u(1), &Change { record: Some(b"new"), ..Change::default() }).expect_err("refused");
    assert!(matches!(err, StoreError::DiskFull { .. }), "{err:?}");
    assert_eq!(full.load(u(1)).expect("load").map(|s| s.record), Some(b"kept".to_vec()));
    drop(full);
    let err = SledStore::open_with(tmp.path(), StoreOptions { min_free_bytes: u64::MAX, ..StoreOptions::default() })
        .err()
        .expect("no open on a full disk");
    assert!(matches!(err, StoreError::DiskFull { .. }), "{err:?}");
}

#[test]
fn concurrent_commits_of_many_users_are_all_durable() {
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
                        let record = format!("record {user}");
                        store.commit(u(user), &Change { record: Some(record.as_bytes()), ..Change::default() })?;
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
            let record = store.load(u(user)).expect("load").map(|s| s.record);
            assert_eq!(record, Some(format!("record {user}").into_bytes()));
        }
    }
}

#[test]
fn pruning_keeps_the_newest_update_ids() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = open(tmp.path());
    for id in -3..7 {
        assert!(store.first_delivery(e(id)).expect("first"));
    }
    let other = EventId::new(crate::adapters::store::Front::Terminal, -10);
    assert!(store.first_delivery(other).expect("first"));
    store.prune_updates(e(6), 4).expect("prune");
    assert_eq!(store.updates.len(), 6, "2 to 6 of Telegram, and the other front end's");
    assert!(!store.first_delivery(e(6)).expect("kept"));
    assert!(!store.first_delivery(e(2)).expect("kept"));
    assert!(store.first_delivery(e(1)).expect("pruned, so new again"));
    assert!(!store.first_delivery(other).expect("another front end's ids are its own to prune"));
}

#[test]
fn a_store_written_by_schema_1_is_migrated_with_its_notes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v1");
    super::super::backup::copy_tree(&fixture, tmp.path()).expect("copy the fixture");
    let store = open(tmp.path());
    let mut users = store.users().expect("users");
    users.sort_unstable();
    assert_eq!(users, vec![u(123_456_789), UserId::LOCAL]);
    let record = store.load(u(123_456_789)).expect("load").expect("migrated").record;
    assert!(String::from_utf8_lossy(&record).contains("MARKER-V1B"), "the notes came along");
    assert!(!tmp.path().join("keys/0.key").exists(), "schema-1 key files are shredded");
    assert_eq!(files_containing(tmp.path(), b"MARKER-V1"), Vec::<PathBuf>::new());
    drop(store);
    // A second open finds the current schema and changes nothing.
    assert_eq!(open(tmp.path()).users().expect("users").len(), 2);
}

#[test]
fn an_unhurried_mark_asks_for_no_flush_and_rides_on_the_next() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = open(tmp.path());
    let items = [b"answer".to_vec(), b"question".to_vec()];
    let seqs = store.commit(u(5), &Change { record: Some(b"r"), outbox: &items, ..Change::default() }).expect("commit");
    let flushes = store.flusher.started();
    store.delivered_unhurried(u(5), seqs[0]).expect("mark");
    assert_eq!(store.flusher.started(), flushes, "no flush asked for");
    let left: Vec<Vec<u8>> = store.pending().expect("pending").into_iter().map(|q| q.item).collect();
    assert_eq!(left, [b"question".to_vec()], "gone from the outbox at once");
    // Somebody else's write is waited for: the mark is durable with it.
    store.commit(u(6), &Change { record: Some(b"other"), ..Change::default() }).expect("commit");
    assert!(store.flusher.started() > flushes);
    // What is on disk now, as a kill -9 would leave it.
    let crashed = tempfile::tempdir().expect("tempdir");
    copy_tree(tmp.path(), crashed.path());
    let reopened = SledStore::open(crashed.path()).expect("open the copy");
    let left: Vec<Vec<u8>> = reopened.pending().expect("pending").into_iter().map(|q| q.item).collect();
    assert_eq!(left, [b"question".to_vec()]);
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            fs::create_dir_all(&target).expect("mkdir");
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy");
        }
    }
}
