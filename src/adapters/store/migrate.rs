//! Migration of a schema-1 data directory (one key file per user, records
//! keyed by user id in `users`, a plain reminder index) to the current schema.
//!
//! Each user gets a slot with a fresh key and handle; their record is opened
//! with the old key and sealed again; their next reminder time is taken from
//! the old index. Only when all of it is durable is the schema number
//! raised, then the old key files are shredded and the old trees dropped. A
//! crash part-way leaves schema 1 in place, and the next open starts again
//! (a user already given a slot keeps it). A schema-1 record without its key
//! file cannot be read: it is left in the `users` tree, and reported.
//!
//! Then from schema 4 to 5 ([`v4_to_v5`]): user and event ids gained their
//! front end. Schema 4's ids were numbers: 0 the terminal's local user, all
//! others Telegram's.
//!
//! Then from schema 5 to 6 ([`v5_to_v6`]): outbox keys begin with the
//! item's sequence number instead of the user's bucket and handle.

use std::{collections::HashMap, fs, path::Path};

use super::{
    EventId, StoreError, UserId, encoding,
    slots::{self, Kind, NEVER, Slots, flag},
};

/// True when `keys` holds schema-1 key files (`<id>.key`).
pub(super) fn has_v1_keys(keys: &Path) -> bool {
    fs::read_dir(keys).is_ok_and(|entries| entries.flatten().any(|e| e.file_name().to_string_lossy().ends_with(".key")))
}

/// Migrates `db` in place; `keys` holds the schema-1 key files.
pub(super) fn v1_to_v2(db: &sled::Db, slots: &Slots, keys: &Path) -> Result<(), StoreError> {
    let tree = |name: &'static str| db.open_tree(name).map_err(StoreError::db(format!("opening tree `{name}`")));
    let users = tree("users")?;
    let by_user = tree("reminders_by_user")?;
    let records = tree("records")?;
    let mut next_due: HashMap<i64, i64> = HashMap::new();
    for key in by_user.iter().keys() {
        let key = key.map_err(StoreError::db("reading the old reminder index"))?;
        let (user, at) = encoding::decode_v1_reminder_index_key(&key)?;
        let entry = next_due.entry(user).or_insert(NEVER);
        *entry = (*entry).min(at);
    }
    let mut migrated = Vec::new();
    let mut kept_aside = 0usize;
    for entry in users.iter() {
        let (key, sealed) = entry.map_err(StoreError::db("reading the old records"))?;
        let raw = encoding::decode_v1_user_key(&key)?;
        let user = UserId::from_unnamed(raw);
        let key_path = keys.join(format!("{raw}.key"));
        if !key_path.exists() {
            kept_aside += 1;
            continue;
        }
        let old_key = slots::read_v1_key(&key_path)?;
        let plain = old_key.open_v1(raw, &sealed)?;
        let mut guard = slots.lock_user(user)?;
        let (at, mut slot) = match guard.find(user) {
            Some((at, slot)) => (at, slot.clone()),
            None => guard.create(user, 0)?,
        };
        slot.next_due = next_due.get(&raw).copied().unwrap_or(NEVER);
        slot.flags |= flag::LIVE;
        guard.put(at, Some(&slot))?;
        records
            .insert(slot.handle, slot.key.seal(&slot.handle, Kind::Record, &plain)?)
            .map_err(StoreError::db("writing a migrated record"))?;
        migrated.push((key, key_path));
    }
    db.flush().map_err(|source| StoreError::Flush { source: source.into() })?;
    let meta = tree("meta")?;
    meta.insert(encoding::DB_ID_KEY, &slots.db_id).map_err(StoreError::db("writing the id"))?;
    // The layout of schema 4 (slots, handles); the caller goes on to 5.
    meta.insert(encoding::SCHEMA_VERSION_KEY, &4u32.to_be_bytes())
        .map_err(StoreError::db("writing the schema version"))?;
    db.flush().map_err(|source| StoreError::Flush { source: source.into() })?;
    // Schema 4 is durable: the old keys and index may go.
    for (key, path) in &migrated {
        users.remove(key).map_err(StoreError::db("removing a migrated record"))?;
        slots::shred_file(path)?;
    }
    for name in ["reminders", "reminders_by_user"] {
        db.drop_tree(name).map_err(StoreError::db(format!("dropping tree `{name}`")))?;
    }
    // Key files without a record (an erase the old layout had not finished).
    for entry in
        fs::read_dir(keys).map_err(|source| StoreError::KeyFile { action: "list", path: keys.to_path_buf(), source })?
    {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(id) = name.strip_suffix(".key").and_then(|n| n.parse::<i64>().ok())
            && !users.contains_key(id.to_be_bytes()).map_err(StoreError::db("reading the old records"))?
        {
            slots::shred_file(&entry.path())?;
        }
    }
    if users.is_empty() {
        db.drop_tree("users").map_err(StoreError::db("dropping tree `users`"))?;
    }
    db.flush().map_err(|source| StoreError::Flush { source: source.into() })?;
    slots::sync_dir(keys).map_err(|source| StoreError::KeyFile { action: "sync", path: keys.to_path_buf(), source })?;
    tracing::info!(users = migrated.len(), "data directory migrated from storage schema 1");
    if kept_aside > 0 {
        tracing::warn!(records = kept_aside, "records without a key file cannot be read; kept aside in tree `users`");
    }
    Ok(())
}

/// Schema 4 to 5: the `updates` tree is keyed by front end and number
/// (schema 4's keys were Telegram update ids), and the terminal's local user
/// (number 0) is marked as the terminal's in their slot. Safe to run again
/// after a crash part-way: only 8-byte keys and a Telegram slot numbered 0
/// are changed, and the schema number is raised last.
pub(super) fn v4_to_v5(db: &sled::Db, slots: &Slots) -> Result<(), StoreError> {
    let updates = db.open_tree("updates").map_err(StoreError::db("opening tree `updates`"))?;
    let mut rekeyed = 0usize;
    for key in updates.iter().keys() {
        let key = key.map_err(StoreError::db("reading update ids"))?;
        let Ok(old) = <[u8; 8]>::try_from(&key[..]) else { continue };
        let event = EventId::telegram(encoding::from_ordered(old));
        updates.insert(encoding::update_key(event), &[] as &[u8]).map_err(StoreError::db("rewriting an update id"))?;
        updates.remove(key).map_err(StoreError::db("rewriting an update id"))?;
        rekeyed += 1;
    }
    let old_local = UserId::telegram(0);
    let mut guard = slots.lock_user(old_local)?;
    // The local user's slot and any farewell slot of theirs.
    let theirs: Vec<_> =
        guard.slots().filter(|(_, slot)| slot.user == old_local).map(|(at, slot)| (at, slot.clone())).collect();
    let local = theirs.len();
    for (at, mut slot) in theirs {
        slot.user = UserId::LOCAL;
        guard.put(at, Some(&slot))?;
    }
    drop(guard);
    db.flush().map_err(|source| StoreError::Flush { source: source.into() })?;
    let meta = db.open_tree("meta").map_err(StoreError::db("opening tree `meta`"))?;
    meta.insert(encoding::SCHEMA_VERSION_KEY, &5u32.to_be_bytes())
        .map_err(StoreError::db("writing the schema version"))?;
    db.flush().map_err(|source| StoreError::Flush { source: source.into() })?;
    tracing::info!(
        update_ids = rekeyed,
        local_users = local,
        "data directory moved to storage schema 5 (ids name their front end)"
    );
    Ok(())
}

/// Schema 5 to 6: each outbox key `bucket ‖ handle ‖ seq` becomes
/// `seq ‖ bucket ‖ handle`. Both have the same length, so the keys are
/// rewritten and the schema number raised in one transaction: a crash leaves
/// either schema 5 with the old keys or schema 6 with the new ones.
pub(super) fn v5_to_v6(db: &sled::Db) -> Result<(), StoreError> {
    use sled::Transactional;
    let outbox = db.open_tree("outbox").map_err(StoreError::db("opening tree `outbox`"))?;
    let meta = db.open_tree("meta").map_err(StoreError::db("opening tree `meta`"))?;
    let mut moved = Vec::new();
    for entry in outbox.iter() {
        let (key, value) = entry.map_err(StoreError::db("reading the outbox"))?;
        let (bucket, handle, seq) = encoding::decode_v5_outbox_key(&key)?;
        moved.push((key, encoding::outbox_key(bucket, &handle, seq), value));
    }
    (&outbox, &meta)
        .transaction(|(outbox, meta)| {
            for (old, _, _) in &moved {
                outbox.remove(old)?;
            }
            for (_, new, value) in &moved {
                outbox.insert(new.as_slice(), value.clone())?;
            }
            meta.insert(encoding::SCHEMA_VERSION_KEY, &6u32.to_be_bytes())?;
            Ok(())
        })
        .map_err(super::sled_store::transaction_error("moving the outbox to schema 6".to_owned()))?;
    db.flush().map_err(|source| StoreError::Flush { source: source.into() })?;
    tracing::info!(items = moved.len(), "data directory moved to storage schema 6 (outbox ordered by sequence)");
    Ok(())
}
