//! Byte encodings of sled keys and values (the layout is documented in the
//! parent module's `//!`).
//!
//! Pure functions only: no sled, no files. Signed numbers that take part in
//! ordering are stored big-endian with the sign bit flipped, so that sled's
//! lexicographic byte order equals numeric order (`-1` sorts before `0`).

use super::{EventId, Front, StoreError, slots::HANDLE_LEN, slots::Handle};

/// Length of an encoded i64.
const I64_LEN: usize = 8;

/// The schema this code reads and writes.
pub(super) const SCHEMA_VERSION: u32 = 7;

/// Key of the schema version in the `meta` tree.
pub(super) const SCHEMA_VERSION_KEY: &[u8] = b"schema_version";
/// Key of the data directory id in the `meta` tree (also in `keys/ring`).
pub(super) const DB_ID_KEY: &[u8] = b"db_id";
/// Key in `meta` (u64 BE): no outbox sequence number at or above it was
/// ever handed out. Raised ahead of use, so that numbers are never reused,
/// not even after a restart that found the outbox empty.
pub(super) const SEQ_FLOOR_KEY: &[u8] = b"seq_floor";
/// Key in `meta` (u64 BE): the first sequence number handed out by schema
/// 7. A record written before (without a [`Head`]) vouches for the items of
/// its user below this number.
pub(super) const HEADED_FROM_KEY: &[u8] = b"headed_from";

/// Decodes a u64 BE value of the `meta` tree.
pub(super) fn decode_meta_u64(value: &[u8], name: &str) -> Result<u64, StoreError> {
    let bytes: [u8; 8] = value
        .try_into()
        .map_err(|_| StoreError::Corrupt { tree: "meta", detail: format!("`{name}` has {} bytes", value.len()) })?;
    Ok(u64::from_be_bytes(bytes))
}

/// What a user's record says about the rest of their data: the commit it
/// was written by. Sealed with the record (schema 7), in front of it.
///
/// A step's writes (notes, outbox items, the record, the event id) go to
/// sled one key after another, the record after the notes and items and
/// before the event id, and sled recovers a prefix of its log: so after a
/// crash, notes and items the head does not count were never committed
/// (and are ignored), and an event the head names was applied even when
/// its id did not reach the `updates` tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Head {
    /// The event whose step wrote this record, if any.
    pub event: Option<[u8; UPDATE_KEY_LEN]>,
    /// The user's outbox items below this sequence number are committed.
    pub outbox_below: u64,
    /// The user's notes numbered below this are committed.
    pub notes: u32,
    /// A record follows; false when a step saved an event or messages of a
    /// user who has no record yet.
    pub has_record: bool,
}

/// Length of an encoded [`Head`].
pub(super) const HEAD_LEN: usize = 1 + UPDATE_KEY_LEN + 8 + 4;

/// `head ‖ record`: the plaintext of a schema-7 record value.
pub(super) fn encode_head(head: &Head, record: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEAD_LEN + record.len());
    out.push(u8::from(head.event.is_some()) | u8::from(head.has_record) << 1);
    out.extend_from_slice(&head.event.unwrap_or([0; UPDATE_KEY_LEN]));
    out.extend_from_slice(&head.outbox_below.to_be_bytes());
    out.extend_from_slice(&head.notes.to_be_bytes());
    out.extend_from_slice(record);
    out
}

/// Inverse of [`encode_head`]: the head, and where the record starts.
pub(super) fn decode_head(plain: &[u8]) -> Result<Head, StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt { tree: "records", detail };
    let Some((head, _)) = plain.split_first_chunk::<HEAD_LEN>() else {
        return Err(corrupt(format!("a record of {} bytes has no head", plain.len())));
    };
    let flags = head[0];
    if flags & !0b11 != 0 {
        return Err(corrupt(format!("unknown head flags {flags:#x}")));
    }
    let event: [u8; UPDATE_KEY_LEN] = head[1..1 + UPDATE_KEY_LEN].try_into().expect("length checked");
    let rest = &head[1 + UPDATE_KEY_LEN..];
    let (below, notes) = rest.split_at(8);
    Ok(Head {
        event: (flags & 1 != 0).then_some(event),
        outbox_below: u64::from_be_bytes(below.try_into().expect("length checked")),
        notes: u32::from_be_bytes(notes.try_into().expect("length checked")),
        has_record: flags & 2 != 0,
    })
}

/// An i64 as 8 bytes whose byte order is the numeric order.
pub(super) fn ordered(value: i64) -> [u8; I64_LEN] {
    (value.cast_unsigned() ^ (1 << 63)).to_be_bytes()
}

/// Inverse of [`ordered`].
pub(super) fn from_ordered(bytes: [u8; I64_LEN]) -> i64 {
    (u64::from_be_bytes(bytes) ^ (1 << 63)).cast_signed()
}

/// Length of a key of the `updates` tree.
pub(super) const UPDATE_KEY_LEN: usize = 1 + I64_LEN;

/// Key of an event id in the `updates` tree: the front end's tag, then the
/// number, ordered.
pub(super) fn update_key(event: EventId) -> [u8; UPDATE_KEY_LEN] {
    let mut key = [0u8; UPDATE_KEY_LEN];
    key[0] = event.front.tag();
    key[1..].copy_from_slice(&ordered(event.id));
    key
}

/// Inverse of [`update_key`].
pub(super) fn decode_update_key(key: &[u8]) -> Result<EventId, StoreError> {
    let corrupt = || StoreError::Corrupt { tree: "updates", detail: format!("key of {} bytes", key.len()) };
    let (tag, number) = key.split_first().ok_or_else(corrupt)?;
    let number: [u8; I64_LEN] = number.try_into().map_err(|_| corrupt())?;
    let front = Front::from_tag(*tag)
        .ok_or_else(|| StoreError::Corrupt { tree: "updates", detail: format!("unknown front end number {tag}") })?;
    Ok(EventId::new(front, from_ordered(number)))
}

/// The note number in a key made by [`note_key`].
pub(super) fn note_number(key: &[u8]) -> Result<u32, StoreError> {
    key.get(HANDLE_LEN..)
        .and_then(|n| <[u8; 4]>::try_from(n).ok())
        .map(u32::from_be_bytes)
        .ok_or_else(|| StoreError::Corrupt { tree: "notes", detail: format!("key of {} bytes", key.len()) })
}

/// Key of note number `n` of the user with `handle`.
pub(super) fn note_key(handle: &Handle, n: u32) -> Vec<u8> {
    let mut key = Vec::with_capacity(HANDLE_LEN + 4);
    key.extend_from_slice(handle);
    key.extend_from_slice(&n.to_be_bytes());
    key
}

/// Key of outbox item `seq`: `seq ‖ bucket ‖ handle`.
///
/// The sequence number comes first so that items are written and deleted at
/// the tree's right edge: the outbox churns (each item lives a few
/// milliseconds) and keyed by user it would touch a leaf anywhere in the
/// tree, leaving dead copies of many leaves in sled's log.
pub(super) fn outbox_key(bucket: u16, handle: &Handle, seq: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(OUTBOX_KEY_LEN);
    key.extend_from_slice(&seq.to_be_bytes());
    key.extend_from_slice(&bucket.to_be_bytes());
    key.extend_from_slice(handle);
    key
}

/// Length of a key of the `outbox` tree.
pub(super) const OUTBOX_KEY_LEN: usize = 8 + 2 + HANDLE_LEN;

/// Inverse of [`outbox_key`].
pub(super) fn decode_outbox_key(key: &[u8]) -> Result<(u16, Handle, u64), StoreError> {
    let corrupt = || StoreError::Corrupt { tree: "outbox", detail: format!("key of {} bytes", key.len()) };
    if key.len() != OUTBOX_KEY_LEN {
        return Err(corrupt());
    }
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&key[..8]);
    let bucket = u16::from_be_bytes([key[8], key[9]]);
    let mut handle = [0u8; HANDLE_LEN];
    handle.copy_from_slice(&key[10..]);
    Ok((bucket, handle, u64::from_be_bytes(seq)))
}

/// Schema 5: (bucket, handle, seq) from an outbox key `bucket ‖ handle ‖ seq`.
pub(super) fn decode_v5_outbox_key(key: &[u8]) -> Result<(u16, Handle, u64), StoreError> {
    let corrupt = || StoreError::Corrupt { tree: "outbox", detail: format!("key of {} bytes", key.len()) };
    let (bucket, rest) = key.split_first_chunk::<2>().ok_or_else(corrupt)?;
    let (handle, seq) = rest.split_first_chunk::<HANDLE_LEN>().ok_or_else(corrupt)?;
    let seq: [u8; 8] = seq.try_into().map_err(|_| corrupt())?;
    Ok((u16::from_be_bytes(*bucket), *handle, u64::from_be_bytes(seq)))
}

/// Schema 1: a user's number from a key of the `users` tree (plain big-endian).
pub(super) fn decode_v1_user_key(key: &[u8]) -> Result<i64, StoreError> {
    let bytes: [u8; I64_LEN] = key.try_into().map_err(|_| StoreError::Corrupt {
        tree: "users",
        detail: format!("key of {} bytes, expected {I64_LEN}", key.len()),
    })?;
    Ok(i64::from_be_bytes(bytes))
}

/// Schema 1: (user's number, at) from a key of `reminders_by_user` (`user ‖ at ‖ id`, ordered).
pub(super) fn decode_v1_reminder_index_key(key: &[u8]) -> Result<(i64, i64), StoreError> {
    let corrupt = || StoreError::Corrupt { tree: "reminders_by_user", detail: format!("key of {} bytes", key.len()) };
    let (user, rest) = key.split_first_chunk::<I64_LEN>().ok_or_else(corrupt)?;
    let (at, _) = rest.split_first_chunk::<I64_LEN>().ok_or_else(corrupt)?;
    Ok((from_ordered(*user), from_ordered(*at)))
}

/// Decodes the `meta` value of [`SCHEMA_VERSION_KEY`].
pub(super) fn decode_schema_version(value: &[u8]) -> Result<u32, StoreError> {
    let bytes: [u8; 4] = value.try_into().map_err(|_| StoreError::Corrupt {
        tree: "meta",
        detail: format!("schema_version of {} bytes, expected 4", value.len()),
    })?;
    Ok(u32::from_be_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordered_bytes_sort_like_numbers() {
        let values = [i64::MIN, -1_000, -1, 0, 1, 1_000, i64::MAX];
        for pair in values.windows(2) {
            assert!(ordered(pair[0]) < ordered(pair[1]), "{pair:?}");
        }
        for v in values {
            assert_eq!(from_ordered(ordered(v)), v);
        }
    }

    #[test]
    fn update_keys_round_trip_and_keep_each_front_end_in_order() {
        let (a, b) = (EventId::telegram(-3), EventId::telegram(1_000));
        let c = EventId::new(Front::Terminal, -9);
        for e in [a, b, c] {
            assert_eq!(decode_update_key(&update_key(e)).expect("valid"), e);
        }
        assert!(update_key(a) < update_key(b));
        assert!(update_key(b) < update_key(c), "by front end first");
    }

    #[test]
    fn outbox_keys_round_trip_and_sort_by_seq_whoever_the_user() {
        let (h, other) = ([9u8; HANDLE_LEN], [1u8; HANDLE_LEN]);
        let key = outbox_key(1023, &h, 77);
        assert_eq!(decode_outbox_key(&key).expect("valid"), (1023, h, 77));
        assert!(outbox_key(5, &h, 2) < outbox_key(5, &h, 10));
        assert!(outbox_key(1023, &h, 2) < outbox_key(0, &other, 3), "by sequence first");
        assert!(outbox_key(0, &h, 256) > outbox_key(9, &other, 255));
    }

    #[test]
    fn a_schema_5_outbox_key_reads_as_the_same_item() {
        let h = [7u8; HANDLE_LEN];
        let old = [&300u16.to_be_bytes()[..], &h[..], &42u64.to_be_bytes()[..]].concat();
        assert_eq!(decode_v5_outbox_key(&old).expect("valid"), (300, h, 42));
        assert!(decode_v5_outbox_key(&old[1..]).is_err());
    }

    #[test]
    fn malformed_keys_are_errors_not_panics() {
        let err = decode_outbox_key(&[1, 2, 3]).expect_err("too short");
        assert_eq!(
            err.to_string(),
            "tree `outbox` holds a malformed entry (key of 3 bytes); the data directory may be damaged"
        );
        assert!(decode_v1_user_key(&[0; 7]).is_err());
        assert!(decode_update_key(&[0; 8]).is_err(), "a schema-4 key");
        assert!(decode_update_key(&[7; 9]).is_err(), "no such front end");
        assert!(decode_v1_reminder_index_key(&[0; 9]).is_err());
        assert!(decode_schema_version(&[0; 3]).is_err());
    }
}
