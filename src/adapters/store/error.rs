//! The one error type of the store.
//!
//! Each variant carries what an operator needs to act: the directory, the key
//! file path, the user id, or the tree. User-typed text never appears in an
//! error, since errors end up in logs. sled's own errors are kept as sources
//! so that `{:#}` at the edge shows the whole chain.

use std::{io, path::PathBuf};

use super::UserId;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process (or another store in this process) holds sled's lock
    /// on the directory.
    #[error(
        "data directory {dir} is in use by another process; \
         is `guidebot bot` already running? stop it, or pass another --data DIR"
    )]
    InUse {
        /// The data directory passed to `open`.
        dir: PathBuf,
    },

    /// The data directory (or its `keys` subdirectory) could not be created.
    #[error("cannot create directory {dir}: {source}")]
    CreateDir {
        /// The directory that could not be created.
        dir: PathBuf,
        /// The underlying io error.
        source: io::Error,
    },

    /// sled refused to open the database for another reason than the lock.
    #[error("cannot open the database in {dir}: {source}")]
    Open {
        /// The data directory passed to `open`.
        dir: PathBuf,
        /// sled's error.
        source: sled::Error,
    },

    /// The directory was written by a newer guidebot.
    #[error(
        "data directory {dir} uses storage schema version {found}, but this guidebot \
         understands only version {supported}; upgrade guidebot, or pass another --data DIR"
    )]
    SchemaTooNew {
        /// The data directory passed to `open`.
        dir: PathBuf,
        /// The version found on disk.
        found: u32,
        /// The newest version this build understands.
        supported: u32,
    },

    /// Bytes in a tree do not follow the documented layout.
    #[error("tree `{tree}` holds a malformed entry ({detail}); the data directory may be damaged")]
    Corrupt {
        /// The sled tree.
        tree: &'static str,
        /// What is wrong, without user data.
        detail: String,
    },

    /// A sled read or write failed.
    #[error("{action} failed: {source}")]
    Db {
        /// What the store was doing, e.g. "saving the record of user 42".
        action: String,
        /// sled's error.
        source: sled::Error,
    },

    /// The flush that should have made a change durable failed; the change
    /// may or may not survive a crash.
    #[error("flushing the database to disk failed, so the last change may be lost: {source}")]
    Flush {
        /// sled's error, shared by every writer that waited on this flush.
        source: sled::Error,
    },

    /// The background flusher is gone, so nothing can be made durable.
    #[error("the store's flusher thread has stopped; restart guidebot")]
    FlusherStopped,

    /// The flusher thread could not be started.
    #[error("cannot start the store's flusher thread: {source}")]
    SpawnFlusher {
        /// The io error from the OS.
        source: io::Error,
    },

    /// A key file could not be read, written or removed.
    #[error("cannot {action} key file {path}: {source}")]
    KeyFile {
        /// What was attempted: "read", "create", "shred", ...
        action: &'static str,
        /// The key file (or the keys directory).
        path: PathBuf,
        /// The io error.
        source: io::Error,
    },

    /// A key file exists but does not hold a key.
    #[error("key file {path} holds {len} bytes instead of 32; the data directory may be damaged")]
    KeyFileLength {
        /// The key file.
        path: PathBuf,
        /// Its length.
        len: u64,
    },

    /// A record failed authentication: damaged bytes, or a key that does not
    /// belong to it.
    #[error("the record of user {user} cannot be decrypted; the data directory may be damaged")]
    Decrypt {
        /// Whose record.
        user: UserId,
    },

    /// Encryption failed (only possible for absurdly large records).
    #[error("the record of user {user} ({len} bytes) cannot be encrypted")]
    Encrypt {
        /// Whose record.
        user: UserId,
        /// Its length in bytes.
        len: usize,
    },

    /// The OS random number generator failed.
    #[error("the operating system's random number generator failed: {cause}")]
    Random {
        /// getrandom's error (it implements `std::error::Error` only with a
        /// feature we do not enable, hence not a `source`).
        cause: getrandom::Error,
    },
}

impl StoreError {
    /// A [`StoreError::Db`] for `action`.
    pub(super) fn db(action: impl Into<String>) -> impl FnOnce(sled::Error) -> Self {
        let action = action.into();
        move |source| StoreError::Db { action, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wording_says_what_to_do() {
        let in_use = StoreError::InUse { dir: PathBuf::from("/var/lib/guidebot") };
        assert_eq!(
            in_use.to_string(),
            "data directory /var/lib/guidebot is in use by another process; \
             is `guidebot bot` already running? stop it, or pass another --data DIR"
        );

        let too_new = StoreError::SchemaTooNew { dir: PathBuf::from("d"), found: 2, supported: 1 };
        assert_eq!(
            too_new.to_string(),
            "data directory d uses storage schema version 2, but this guidebot \
             understands only version 1; upgrade guidebot, or pass another --data DIR"
        );

        let db = StoreError::db("saving the record of user 42")(sled::Error::Unsupported("x".to_owned()));
        assert!(db.to_string().starts_with("saving the record of user 42 failed: "));

        let len = StoreError::KeyFileLength { path: PathBuf::from("k/1.key"), len: 3 };
        assert_eq!(len.to_string(), "key file k/1.key holds 3 bytes instead of 32; the data directory may be damaged");

        let decrypt = StoreError::Decrypt { user: -7 };
        assert_eq!(decrypt.to_string(), "the record of user -7 cannot be decrypted; the data directory may be damaged");
    }
}
