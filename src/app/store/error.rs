//! The one error type of the store.
//!
//! Each variant carries what an operator needs to act: the directory, the key
//! file path, the user id, or the tree. User-typed text never appears in an
//! error, since errors end up in logs. sled's own errors are kept as sources
//! so that `{:#}` at the edge shows the whole chain; the core does not know
//! their types (sled's, PostgreSQL's), only that they are errors.

use std::{io, path::PathBuf};

use super::{EventId, UserId};

/// The error of a database library under a store, kept as the source.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

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
        source: Cause,
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
        source: Cause,
    },

    /// The flush that should have made a change durable failed; the change
    /// may or may not survive a crash.
    #[error("flushing the database to disk failed, so the last change may be lost: {source}")]
    Flush {
        /// sled's error (each writer that waited on this flush gets a copy).
        source: Cause,
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

    /// A key file exists but does not hold what it should.
    #[error("key file {path} is malformed ({len} bytes); the data directory may be damaged")]
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
    #[error("a value of {len} bytes cannot be encrypted")]
    Encrypt {
        /// Its length in bytes.
        len: usize,
    },

    /// Free space on the data directory's filesystem is below the reserve:
    /// nothing is written, so nothing already saved is put at risk.
    #[error(
        "only {free_mb} MB are free on the filesystem of {dir}, below the reserve of {reserve_mb} MB; \
         nothing was written. Free some space (or lower --min-free-mb)"
    )]
    DiskFull {
        /// The data directory.
        dir: PathBuf,
        /// Free megabytes found.
        free_mb: u64,
        /// The reserve in megabytes.
        reserve_mb: u64,
    },

    /// Keys exist but the database beside them is missing or empty.
    #[error(
        "{dir} holds encryption keys but its database ({dir}/db) is missing or empty; \
         nothing was changed. Put the database back (or restore a backup with `guidebot restore`); \
         to start afresh on purpose, move the whole directory away"
    )]
    DatabaseMissing {
        /// The data directory.
        dir: PathBuf,
    },

    /// The database exists but the keys beside it are missing or belong to another database.
    #[error(
        "the database in {dir}/db does not match the keys in {dir}/keys ({detail}); \
         nothing was changed. Put back the keys directory that belongs to it, or restore a backup"
    )]
    KeysMismatch {
        /// The data directory.
        dir: PathBuf,
        /// What is wrong.
        detail: &'static str,
    },

    /// A user's key says a record was saved, but the database has none.
    #[error(
        "the record of user {user} is missing from the database although it was saved before; \
         the database may have been rolled back or damaged. It was not replaced; restore a backup"
    )]
    RecordMissing {
        /// Whose record.
        user: UserId,
    },

    /// A write would make one user's data larger than the store allows.
    #[error("the record of user {user} would take {len} bytes, more than the limit of {limit}; nothing was saved")]
    TooLarge {
        /// Whose record.
        user: UserId,
        /// Its size.
        len: usize,
        /// The limit.
        limit: usize,
    },

    /// `restore` into a directory that already holds something.
    #[error("{dir} is not empty; restore only into a new or empty directory, so that nothing is overwritten")]
    NotEmpty {
        /// The target.
        dir: PathBuf,
    },

    /// A backup could not be made or restored.
    #[error("{action} {path}: {source}")]
    Copy {
        /// What was attempted.
        action: &'static str,
        /// Where.
        path: PathBuf,
        /// The io error.
        source: io::Error,
    },

    /// A store URL that is neither `sled:DIR` nor `postgres://…`, or a
    /// PostgreSQL URL that does not parse. The URL is shown without its password.
    #[error(
        "{url} is not a store this guidebot can open ({detail}); pass sled:DIR for a data folder, \
         or postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE for PostgreSQL"
    )]
    BadUrl {
        /// The URL as given, password hidden.
        url: String,
        /// What is wrong with it.
        detail: String,
    },

    /// No connection to PostgreSQL could be made (or none came free in time).
    #[error(
        "cannot reach PostgreSQL at {url}: {detail}; check that the server is running, \
         that the host, port, user, password and database in the URL are right, and that this user may connect"
    )]
    Unreachable {
        /// The URL, password hidden.
        url: String,
        /// The connection error.
        detail: String,
    },

    /// A PostgreSQL statement failed, or the connection was lost during it.
    /// Nothing is acknowledged: a commit that failed this way was rolled
    /// back, or, if the connection went during `COMMIT` itself, may or may
    /// not have been saved (a repeated event is then refused as applied).
    #[error("{action} failed in PostgreSQL: {}", chain(&**source))]
    Postgres {
        /// What the store was doing, e.g. "saving the changes of user 42".
        action: String,
        /// The client's error (its SQLSTATE and message, or the lost connection).
        source: Cause,
    },

    /// The PostgreSQL server has no disk space left for the write (SQLSTATE
    /// 53100): it was rolled back, and nothing already saved is touched.
    #[error(
        "{action} failed: the PostgreSQL server has no disk space left, so nothing was written; \
         free space where the database keeps its files (guidebot goes on by itself once there is)"
    )]
    DatabaseFull {
        /// What the store was doing.
        action: String,
    },

    /// The PostgreSQL database was set up by a newer guidebot.
    #[error(
        "the PostgreSQL database at {url} uses storage schema version {found}, but this guidebot \
         understands only version {supported}; upgrade guidebot, or point --store at another database"
    )]
    DatabaseTooNew {
        /// The URL, password hidden.
        url: String,
        /// The version found in `guidebot_meta`.
        found: u32,
        /// The newest version this build understands.
        supported: u32,
    },

    /// A commit or erase for an event id that was applied before (by this
    /// process or another one sharing the store): nothing was written.
    #[error("event {event} was applied before; nothing was written")]
    AlreadyApplied {
        /// The event id.
        event: EventId,
    },

    /// A commit made from a copy of the user that another process sharing
    /// the store has changed since (see [`super::Change::versions`]):
    /// nothing was written; read the user again and redo the step.
    #[error("user {user} was changed by another process; nothing was written")]
    Stale {
        /// The user.
        user: UserId,
    },

    /// `guidebot migrate` into a store that already holds something.
    #[error("{target} is not empty ({detail}); migrate only into a new or empty store, so that nothing is overwritten")]
    TargetNotEmpty {
        /// The target store, password hidden.
        target: String,
        /// What it holds.
        detail: String,
    },

    /// The OS random number generator failed.
    #[error("the operating system's random number generator failed: {cause}")]
    Random {
        /// getrandom's error (it implements `std::error::Error` only with a
        /// feature we do not enable, hence not a `source`).
        cause: getrandom::Error,
    },
}

/// An error and its causes, as one line ("error connecting to server: Connection refused").
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let next = c.to_string();
        if !text.ends_with(&next) {
            text = format!("{text}: {next}");
        }
        cause = c.source();
    }
    text
}

impl StoreError {
    /// A [`StoreError::Db`] for `action`.
    pub fn db<E: std::error::Error + Send + Sync + 'static>(action: impl Into<String>) -> impl FnOnce(E) -> Self {
        let action = action.into();
        move |source| StoreError::Db { action, source: Box::new(source) }
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

        let db = StoreError::db("saving the record of user 42")(io::Error::other("x"));
        assert!(db.to_string().starts_with("saving the record of user 42 failed: "));

        let missing = StoreError::DatabaseMissing { dir: PathBuf::from("data") };
        assert!(missing.to_string().contains("data/db) is missing or empty; nothing was changed"), "{missing}");
        let full = StoreError::DiskFull { dir: PathBuf::from("data"), free_mb: 3, reserve_mb: 64 };
        assert!(full.to_string().contains("only 3 MB are free"), "{full}");

        let bad = StoreError::BadUrl { url: "mysql://h/db".into(), detail: "unknown kind `mysql`".into() };
        assert!(bad.to_string().contains("pass sled:DIR for a data folder, or postgres://"), "{bad}");
        let down = StoreError::Unreachable { url: "postgres://u:***@h/db".into(), detail: "refused".into() };
        assert!(down.to_string().contains("check that the server is running"), "{down}");

        let decrypt = StoreError::Decrypt { user: UserId::telegram(-7) };
        assert_eq!(
            decrypt.to_string(),
            "the record of user telegram:-7 cannot be decrypted; the data directory may be damaged"
        );
    }
}
