//! Byte encodings of sled keys and values (the layout is documented in the
//! parent module's `//!`).
//!
//! Pure functions only: no sled, no files. Signed numbers that take part in
//! ordering are stored big-endian with the sign bit flipped, so that sled's
//! lexicographic byte order equals numeric order (`-1` sorts before `0`).

use super::{Reminder, StoreError, UserId};

/// Length of an encoded i64.
const I64_LEN: usize = 8;

/// The schema this code reads and writes.
pub(super) const SCHEMA_VERSION: u32 = 1;

/// Key of the schema version in the `meta` tree.
pub(super) const SCHEMA_VERSION_KEY: &[u8] = b"schema_version";

/// An i64 as 8 bytes whose byte order is the numeric order.
pub(super) fn ordered(value: i64) -> [u8; I64_LEN] {
    (value.cast_unsigned() ^ (1 << 63)).to_be_bytes()
}

/// Inverse of [`ordered`].
pub(super) fn from_ordered(bytes: [u8; I64_LEN]) -> i64 {
    (u64::from_be_bytes(bytes) ^ (1 << 63)).cast_signed()
}

/// Key of a record in the `users` tree: plain big-endian, as the layout says;
/// nothing ranges over users in order, so the sign bit is left alone.
pub(super) fn user_key(user: UserId) -> [u8; I64_LEN] {
    user.to_be_bytes()
}

/// Inverse of [`user_key`].
pub(super) fn decode_user_key(key: &[u8]) -> Result<UserId, StoreError> {
    let bytes: [u8; I64_LEN] = key.try_into().map_err(|_| StoreError::Corrupt {
        tree: "users",
        detail: format!("key of {} bytes, expected {I64_LEN}", key.len()),
    })?;
    Ok(UserId::from_be_bytes(bytes))
}

/// Key of a Telegram update id in the `updates` tree.
pub(super) fn update_key(update_id: i64) -> [u8; I64_LEN] {
    ordered(update_id)
}

/// Key in the `reminders` tree: `at || user || id`, so a range scan up to a
/// time yields every due reminder, oldest first.
pub(super) fn reminder_key(at: i64, user: UserId, id: &str) -> Vec<u8> {
    concat(ordered(at), ordered(user), id)
}

/// Key in the `reminders_by_user` index: `user || at || id`, so one user's
/// reminders are one prefix scan.
pub(super) fn reminder_index_key(at: i64, user: UserId, id: &str) -> Vec<u8> {
    concat(ordered(user), ordered(at), id)
}

/// Prefix of every `reminders_by_user` key of `user`.
pub(super) fn reminder_index_prefix(user: UserId) -> [u8; I64_LEN] {
    ordered(user)
}

/// The smallest `reminders` key that is due strictly after `now`, or `None`
/// when nothing can be later than `now` (`i64::MAX`).
pub(super) fn reminders_after(now: i64) -> Option<[u8; I64_LEN]> {
    now.checked_add(1).map(ordered)
}

/// Inverse of [`reminder_key`].
pub(super) fn decode_reminder_key(key: &[u8]) -> Result<Reminder, StoreError> {
    let (at, user, id) = split(key, "reminders")?;
    Ok(Reminder { at, user, id })
}

/// Inverse of [`reminder_index_key`].
pub(super) fn decode_reminder_index_key(key: &[u8]) -> Result<Reminder, StoreError> {
    let (user, at, id) = split(key, "reminders_by_user")?;
    Ok(Reminder { at, user, id })
}

/// Decodes the `meta` value of [`SCHEMA_VERSION_KEY`].
pub(super) fn decode_schema_version(value: &[u8]) -> Result<u32, StoreError> {
    let bytes: [u8; 4] = value.try_into().map_err(|_| StoreError::Corrupt {
        tree: "meta",
        detail: format!("schema_version of {} bytes, expected 4", value.len()),
    })?;
    Ok(u32::from_be_bytes(bytes))
}

fn concat(first: [u8; I64_LEN], second: [u8; I64_LEN], id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(2 * I64_LEN + id.len());
    key.extend_from_slice(&first);
    key.extend_from_slice(&second);
    key.extend_from_slice(id.as_bytes());
    key
}

fn split(key: &[u8], tree: &'static str) -> Result<(i64, i64, String), StoreError> {
    let corrupt = |detail: String| StoreError::Corrupt { tree, detail };
    let Some((first, rest)) = key.split_first_chunk::<I64_LEN>() else {
        return Err(corrupt(format!("key of {} bytes is too short", key.len())));
    };
    let Some((second, id)) = rest.split_first_chunk::<I64_LEN>() else {
        return Err(corrupt(format!("key of {} bytes is too short", key.len())));
    };
    let id = String::from_utf8(id.to_vec()).map_err(|_| corrupt("reminder id is not UTF-8".to_owned()))?;
    Ok((from_ordered(*first), from_ordered(*second), id))
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
    fn reminder_keys_round_trip() {
        let key = reminder_key(-5, -100_123, "daily-check");
        let r = decode_reminder_key(&key).expect("valid key");
        assert_eq!((r.at, r.user, r.id.as_str()), (-5, -100_123, "daily-check"));

        let key = reminder_index_key(7, 42, "");
        let r = decode_reminder_index_key(&key).expect("valid key");
        assert_eq!((r.at, r.user, r.id.as_str()), (7, 42, ""));
    }

    #[test]
    fn malformed_keys_are_errors_not_panics() {
        let err = decode_reminder_key(&[1, 2, 3]).expect_err("too short");
        assert_eq!(
            err.to_string(),
            "tree `reminders` holds a malformed entry (key of 3 bytes is too short); \
             the data directory may be damaged"
        );
        let mut key = reminder_key(1, 2, "");
        key.push(0xff);
        assert!(decode_reminder_key(&key).is_err());
        assert!(decode_user_key(&[0; 7]).is_err());
        assert!(decode_schema_version(&[0; 3]).is_err());
    }

    #[test]
    fn reminders_after_handles_the_end_of_time() {
        assert_eq!(reminders_after(i64::MAX), None);
        assert_eq!(reminders_after(-1), Some(ordered(0)));
    }

    #[test]
    fn user_key_is_plain_big_endian() {
        assert_eq!(user_key(1), [0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(decode_user_key(&user_key(-7)).expect("8 bytes"), -7);
    }
}
