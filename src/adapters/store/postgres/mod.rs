//! [`PostgresStore`]: the [`Store`] in a PostgreSQL database, which several
//! guidebot processes may share. The tables are documented in the parent.
//!
//! The client is the synchronous `postgres` crate behind an `r2d2` pool.
//! It runs its own small runtime for each call, so it must be called from
//! ordinary threads (the Telegram adapter calls the store from
//! `spawn_blocking`), never from inside an async task.
//!
//! Every write is one SQL transaction. A user's commits and erases take a
//! transaction-level advisory lock on the user id first, so that the writes
//! of one user from several processes apply one at a time; an event id is
//! inserted into `guidebot_updates` in the same transaction, and a commit
//! whose id is already there writes nothing ([`StoreError::AlreadyApplied`]).
//!
//! A lost connection makes the call fail, with nothing acknowledged; the
//! pool checks a connection before handing it out, so the next call
//! connects again.

mod sql;
#[cfg(test)]
pub(crate) mod tests;

use std::{
    sync::{
        Mutex, PoisonError,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use postgres::{Client, Config};

use super::{
    Change, EventId, Front, Queued, Store, StoreError, Stored, UserId, chain,
    location::redact,
    sled_store::{MAX_RECORD, PRUNE_EVERY, UPDATES_KEPT},
    slots::{Handle, Kind, UserKey, random_handle},
    transfer::Transfer,
};
use sql::{Conn, Manager};

/// How long a process keeps the due users it was handed (see [`Store::due`])
/// before another process may take them: a process that stops while
/// sending delays those reminders by at most this.
const CLAIM_SECONDS: f64 = 300.0;
/// How long a call waits for a connection before it fails.
const WAIT_FOR_CONNECTION: Duration = Duration::from_secs(10);
/// Connect timeout when the URL sets none.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How a PostgreSQL store is opened.
#[derive(Debug, Clone, Copy)]
pub struct PostgresOptions {
    /// Most connections this process keeps open.
    pub pool_size: u32,
}

impl Default for PostgresOptions {
    fn default() -> PostgresOptions {
        PostgresOptions { pool_size: 8 }
    }
}

/// The store in PostgreSQL. Cheap to share: put it in an `Arc`.
pub struct PostgresStore {
    pool: r2d2::Pool<Manager>,
    /// The URL without its password, for messages.
    url: String,
    /// This store's id in reminder claims and as the owner of the outbox
    /// items it queues: random (1 to 2^31 - 1, the range of its liveness
    /// lock's key), new at each open.
    me: i64,
    /// The connection that holds this store's liveness lock
    /// ([`sql::LIVE_LOCK_CLASS`], `me`) for as long as the store lives.
    live: Mutex<Option<Client>>,
    /// To open `live` again should it be lost.
    config: Config,
    new_updates: AtomicU64,
    /// Set while the server refuses writes for want of disk space, so that
    /// the log is told once per episode.
    full: AtomicBool,
}

impl PostgresStore {
    /// Opens the store at `url` with the default options.
    pub fn open(url: &str) -> Result<PostgresStore, StoreError> {
        PostgresStore::open_with(url, PostgresOptions::default())
    }

    /// Connects to the database at `url`, creates the tables that are
    /// missing, and checks their schema version. Refuses a database set up
    /// by a newer guidebot ([`StoreError::DatabaseTooNew`]); a database it
    /// cannot reach is a [`StoreError::Unreachable`] that says what to check.
    pub fn open_with(url: &str, options: PostgresOptions) -> Result<PostgresStore, StoreError> {
        let shown = redact(url);
        let mut config: Config = url
            .parse()
            .map_err(|e: postgres::Error| StoreError::BadUrl { url: shown.clone(), detail: e.to_string() })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("guidebot");
        }
        let manager = Manager { config: config.clone() };
        let unreachable = |e: &dyn std::error::Error| StoreError::Unreachable { url: shown.clone(), detail: chain(e) };
        // One connection first: its error is the server's own words, and it
        // sets the tables up. It then holds this store's liveness lock.
        let mut client = manager.connect_bare().map_err(|e| unreachable(&e))?;
        set_up(&mut client, &shown)?;
        let pool = r2d2::Pool::builder()
            .max_size(options.pool_size.max(1))
            .min_idle(Some(1))
            .connection_timeout(WAIT_FOR_CONNECTION)
            .error_handler(Box::new(LogErrors))
            .build(manager)
            .map_err(|e| unreachable(&e))?;
        let mut me = [0u8; 4];
        getrandom::getrandom(&mut me).map_err(|cause| StoreError::Random { cause })?;
        let me = i64::from(u32::from_ne_bytes(me) % (i32::MAX as u32) + 1);
        hold_live_lock(&mut client, me).map_err(|e| unreachable(&e))?;
        Ok(PostgresStore {
            pool,
            url: shown,
            me,
            live: Mutex::new(Some(client)),
            config,
            new_updates: AtomicU64::new(0),
            full: AtomicBool::new(false),
        })
    }

    /// Makes sure this store's liveness lock is held, connecting again if
    /// its connection was lost (the database restarted, say). While it was
    /// lost, another process may have adopted this one's undelivered items.
    fn keep_alive(&self) -> Result<(), StoreError> {
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        if live.as_ref().is_some_and(|c| !c.is_closed()) {
            return Ok(());
        }
        *live = None;
        let unreachable = |e: postgres::Error| StoreError::Unreachable { url: self.url.clone(), detail: chain(&e) };
        let mut client = Manager { config: self.config.clone() }.connect_bare().map_err(unreachable)?;
        hold_live_lock(&mut client, self.me).map_err(unreachable)?;
        tracing::warn!("the connection holding this process's liveness lock was lost; connected again");
        *live = Some(client);
        Ok(())
    }

    /// Claims the outbox items of no live store (and this one's own when
    /// `mine`), in order.
    fn claim_outbox(&self, mine: bool) -> Result<Vec<Queued>, StoreError> {
        self.keep_alive()?;
        let mut conn = self.conn()?;
        let Conn { client, st } = &mut *conn;
        let rows =
            client.query(&st.adopt, &[&self.me, &sql::LIVE_LOCK_CLASS, &mine]).map_err(pg("reading the outbox"))?;
        rows.iter()
            .map(|row| {
                let user = user_of(row.get(1))?;
                let (handle, key) = decode_key(user, row.get(3), row.get(4))?;
                let item = key.open(&handle, Kind::Outbox, row.get(2), user)?;
                Ok(Queued { user, seq: row.get::<_, i64>(0).cast_unsigned(), item })
            })
            .collect()
    }

    /// The URL this store was opened on, without its password.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn conn(&self) -> Result<r2d2::PooledConnection<Manager>, StoreError> {
        self.pool.get().map_err(|e| StoreError::Unreachable { url: self.url.clone(), detail: chain(&e) })
    }

    /// Counts a new event id; now and then drops the ids of its front end
    /// more than [`UPDATES_KEPT`] below it (an index range, not a count).
    fn note_new_update(&self, conn: &mut Conn, event: EventId) {
        if self.new_updates.fetch_add(1, Ordering::Relaxed).is_multiple_of(PRUNE_EVERY) {
            let below = event.id.saturating_sub(UPDATES_KEPT);
            if let Err(e) = conn.client.execute(&conn.st.prune_updates, &[&below, &event.front.name()]) {
                tracing::warn!(error = %e, "could not prune old update ids; trying again later");
            }
        }
    }

    /// The user's key row (handle and key), made in `tx` when there is none.
    fn key_of(
        tx: &mut postgres::Transaction<'_>,
        st: &sql::Statements,
        user: UserId,
    ) -> Result<(Handle, UserKey), StoreError> {
        let action = || format!("finding the key of user {user}");
        let who = user.to_string();
        if let Some(row) = tx.query_opt(&st.find_key, &[&who]).map_err(pg(action()))? {
            return decode_key(user, row.get(0), row.get(1));
        }
        let handle = random_handle()?;
        let key = UserKey::random()?;
        tx.execute(&st.new_key, &[&&handle[..], &who, &false, &key.bytes()]).map_err(pg(action()))?;
        tx.execute(&st.new_user, &[&who, &&handle[..]]).map_err(pg(action()))?;
        Ok((handle, key))
    }

    /// Takes `user`'s lock in `tx`, then records `event` as applied; an
    /// event applied before is refused (dropping `tx` then rolls back).
    fn lock_and_record(
        tx: &mut postgres::Transaction<'_>,
        st: &sql::Statements,
        who: &str,
        event: Option<EventId>,
        action: &dyn Fn() -> String,
    ) -> Result<(), StoreError> {
        tx.execute(&st.lock_user, &[&who]).map_err(pg(action()))?;
        if let Some(id) = event
            && tx.execute(&st.add_event, &[&id.front.name(), &id.id]).map_err(pg(action()))? == 0
        {
            return Err(StoreError::AlreadyApplied { event: id });
        }
        Ok(())
    }

    /// Logs the first write refused for want of disk space on the server,
    /// and the first that goes through after that.
    fn note_space<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        match &result {
            Err(err @ StoreError::DatabaseFull { .. }) if !self.full.swap(true, Ordering::Relaxed) => {
                tracing::error!("{err}");
            }
            Ok(_) if self.full.swap(false, Ordering::Relaxed) => {
                tracing::warn!("the PostgreSQL server has disk space again; writing again");
            }
            _ => {}
        }
        result
    }

    fn write_commit(&self, user: UserId, change: &Change<'_>) -> Result<Vec<u64>, StoreError> {
        if let Some(record) = change.record
            && record.len() > MAX_RECORD
        {
            return Err(StoreError::TooLarge { user, len: record.len(), limit: MAX_RECORD });
        }
        let action = || format!("saving the changes of user {user}");
        let mut conn = self.conn()?;
        let Conn { client, st } = &mut *conn;
        let who = user.to_string();
        let mut tx = client.transaction().map_err(pg(action()))?;
        Self::lock_and_record(&mut tx, st, &who, change.event, &action)?;
        if let Some((base, _)) = change.versions {
            let stored = tx.query_opt(&st.version, &[&who]).map_err(pg(action()))?;
            if stored.map_or(0, |row| row.get::<_, i64>(0).cast_unsigned()) != base {
                return Err(StoreError::Stale { user });
            }
        }
        let (handle, key) = Self::key_of(&mut tx, st, user)?;
        let record = change.record.map(|r| key.seal(&handle, Kind::Record, r)).transpose()?;
        let next_version = change.versions.map(|(_, next)| next.cast_signed());
        tx.execute(&st.save_user, &[&who, &record, &change.next_due, &self.me, &next_version]).map_err(pg(action()))?;
        if !change.notes.is_empty() {
            let from = i32::try_from(change.notes_from).unwrap_or(i32::MAX);
            let notes = change.notes.iter().map(|n| key.seal(&handle, Kind::Note, n)).collect::<Result<Vec<_>, _>>()?;
            tx.execute(&st.add_notes, &[&who, &from, &notes]).map_err(pg(action()))?;
        }
        let seqs = if change.outbox.is_empty() {
            Vec::new()
        } else {
            let items =
                change.outbox.iter().map(|i| key.seal(&handle, Kind::Outbox, i)).collect::<Result<Vec<_>, _>>()?;
            let rows = tx.query(&st.add_outbox, &[&who, &&handle[..], &items, &self.me]).map_err(pg(action()))?;
            sorted_seqs(&rows)
        };
        tx.commit().map_err(pg(action()))?;
        if let Some(event) = change.event {
            self.note_new_update(&mut conn, event);
        }
        Ok(seqs)
    }

    fn write_erase(&self, user: UserId, event: Option<EventId>, farewell: &[Vec<u8>]) -> Result<Vec<u64>, StoreError> {
        let action = || format!("erasing user {user}");
        let mut conn = self.conn()?;
        let Conn { client, st } = &mut *conn;
        let who = user.to_string();
        let mut tx = client.transaction().map_err(pg(action()))?;
        Self::lock_and_record(&mut tx, st, &who, event, &action)?;
        let erased = tx.execute(&st.erase_user, &[&who]).map_err(pg(action()))?;
        let mut seqs = Vec::new();
        if !farewell.is_empty() {
            // A key of its own, dropped once the last of these is delivered.
            let handle = random_handle()?;
            let key = UserKey::random()?;
            tx.execute(&st.new_key, &[&&handle[..], &who, &true, &key.bytes()]).map_err(pg(action()))?;
            let items = farewell.iter().map(|i| key.seal(&handle, Kind::Outbox, i)).collect::<Result<Vec<_>, _>>()?;
            let rows = tx.query(&st.add_outbox, &[&who, &&handle[..], &items, &self.me]).map_err(pg(action()))?;
            seqs = sorted_seqs(&rows);
        }
        tx.commit().map_err(pg(action()))?;
        if erased > 0 {
            tracing::info!(%user, "erased user");
            shred_keys(&mut conn.client);
        }
        Ok(seqs)
    }
}

/// Rewrites `guidebot_keys` without the row versions of erased keys.
///
/// A deleted row stays in the table's pages (a dead row version), and
/// plain VACUUM only marks its space free: the key's bytes stay in the file
/// until that space is reused. `VACUUM FULL` writes the live rows into a new
/// file and drops the old one. It locks the table meanwhile (commits wait:
/// 20 to 50 ms with ten thousand users, about 0.2 s with a hundred
/// thousand, measured on a busy 2-core machine), so it gives up after a
/// moment if the table is busy; the next erase tries again.
fn shred_keys(client: &mut postgres::Client) {
    // One statement per call: several in one would run as one transaction, where VACUUM cannot.
    let done = client
        .batch_execute("SET lock_timeout = '2s'")
        .and_then(|()| client.batch_execute("VACUUM FULL guidebot_keys"));
    let _ = client.batch_execute("RESET lock_timeout");
    if let Err(e) = done {
        tracing::warn!(error = %e, "could not rewrite guidebot_keys after an erase; the next erase tries again");
    }
}

/// Sends the pool's connection errors to the log (callers get them too).
#[derive(Debug)]
struct LogErrors;

impl r2d2::HandleError<postgres::Error> for LogErrors {
    fn handle_error(&self, error: postgres::Error) {
        tracing::warn!(error = %error, "a connection to PostgreSQL failed");
    }
}

/// Creates the missing tables under the setup lock and checks the schema version.
fn set_up(client: &mut postgres::Client, url: &str) -> Result<(), StoreError> {
    let action = "setting up the tables";
    let mut tx = client.transaction().map_err(pg(action))?;
    tx.execute("SELECT pg_advisory_xact_lock($1, $2)", &[&sql::SETUP_LOCK.0, &sql::SETUP_LOCK.1])
        .map_err(pg(action))?;
    tx.batch_execute(sql::CREATE).map_err(pg(action))?;
    let found = tx
        .query_opt("SELECT value FROM guidebot_meta WHERE name = 'schema_version'", &[])
        .map_err(pg(action))?
        .map(|row| row.get::<_, String>(0));
    match found {
        None => {
            tx.execute(
                "INSERT INTO guidebot_meta (name, value) VALUES ('schema_version', $1)",
                &[&sql::SCHEMA_VERSION.to_string()],
            )
            .map_err(pg(action))?;
        }
        Some(text) => match text.parse::<u32>() {
            Ok(found) if found == sql::SCHEMA_VERSION => {}
            Ok(found @ (1 | 2)) => {
                // 2 only added a way of packing records that 1 cannot read.
                tx.batch_execute(sql::TO_3).map_err(pg("moving the tables to storage schema 3"))?;
                tx.execute(
                    "UPDATE guidebot_meta SET value = $1 WHERE name = 'schema_version'",
                    &[&sql::SCHEMA_VERSION.to_string()],
                )
                .map_err(pg(action))?;
                tracing::info!(from = found, "database moved to storage schema 3 (ids name their front end)");
            }
            Ok(found) if found > sql::SCHEMA_VERSION => {
                return Err(StoreError::DatabaseTooNew { url: url.to_owned(), found, supported: sql::SCHEMA_VERSION });
            }
            _ => {
                return Err(StoreError::Corrupt {
                    tree: "guidebot_meta",
                    detail: format!("unknown schema version {text:?}"),
                });
            }
        },
    }
    tx.commit().map_err(pg(action))
}

/// Takes this store's liveness lock on `client`, held until it disconnects.
fn hold_live_lock(client: &mut Client, me: i64) -> Result<(), postgres::Error> {
    let key = i32::try_from(me).unwrap_or(i32::MAX);
    client.execute("SELECT pg_advisory_lock($1, $2)", &[&sql::LIVE_LOCK_CLASS, &key]).map(drop)
}

/// A failed statement as a [`StoreError`]: the server's full disk as
/// [`StoreError::DatabaseFull`] (the person is told nothing was saved, the
/// admins once), anything else as [`StoreError::Postgres`].
fn pg(action: impl Into<String>) -> impl FnOnce(postgres::Error) -> StoreError {
    let action = action.into();
    move |source| {
        if source.code() == Some(&postgres::error::SqlState::DISK_FULL) {
            StoreError::DatabaseFull { action }
        } else {
            StoreError::Postgres { action, source: source.into() }
        }
    }
}

/// A user id as the tables hold it (`telegram:123`).
fn user_of(text: &str) -> Result<UserId, StoreError> {
    text.parse().map_err(|_| StoreError::Corrupt {
        tree: "guidebot_users",
        detail: format!("user id {text:?} names no front end"),
    })
}

/// The rows of `user_id`s, as ids.
fn users_of(rows: &[postgres::Row]) -> Result<Vec<UserId>, StoreError> {
    rows.iter().map(|r| user_of(r.get(0))).collect()
}

fn decode_key(user: UserId, handle: &[u8], key: &[u8]) -> Result<(Handle, UserKey), StoreError> {
    let corrupt = || StoreError::Corrupt { tree: "guidebot_keys", detail: format!("the key row of user {user}") };
    let handle = Handle::try_from(handle).map_err(|_| corrupt())?;
    let key = UserKey::from_bytes(key).ok_or_else(corrupt)?;
    Ok((handle, key))
}

impl Store for PostgresStore {
    fn load(&self, user: UserId) -> Result<Option<Stored>, StoreError> {
        let mut conn = self.conn()?;
        let Conn { client, st } = &mut *conn;
        let row = client.query_opt(&st.load, &[&user.to_string()]).map_err(pg(format!("loading user {user}")))?;
        let Some(row) = row else { return Ok(None) };
        let Some(sealed) = row.get::<_, Option<&[u8]>>(0) else { return Ok(None) };
        let (handle, key) = decode_key(user, row.get(1), row.get(2))?;
        let record = key.open(&handle, Kind::Record, sealed, user)?;
        let notes = row
            .get::<_, Vec<&[u8]>>(3)
            .into_iter()
            .map(|n| key.open(&handle, Kind::Note, n, user))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Stored { record, notes, version: row.get::<_, i64>(4).cast_unsigned() }))
    }

    fn applied(&self, event: EventId) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        let Conn { client, st } = &mut *conn;
        let row = client.query_one(&st.applied, &[&event.front.name(), &event.id]).map_err(pg("reading update ids"))?;
        Ok(row.get(0))
    }

    fn commit(&self, user: UserId, change: &Change<'_>) -> Result<Vec<u64>, StoreError> {
        self.note_space(self.write_commit(user, change))
    }

    fn erase(&self, user: UserId, event: Option<EventId>, farewell: &[Vec<u8>]) -> Result<Vec<u64>, StoreError> {
        self.note_space(self.write_erase(user, event, farewell))
    }

    fn users(&self) -> Result<Vec<UserId>, StoreError> {
        let mut conn = self.conn()?;
        let Conn { client, st } = &mut *conn;
        let rows = client.query(&st.users, &[]).map_err(pg("listing users"))?;
        users_of(&rows)
    }

    /// Claims the due users for this store (see the trait): another store on
    /// the same database is not given them until this one commits for them,
    /// or [`CLAIM_SECONDS`] pass.
    fn due(&self, now: i64) -> Result<Vec<UserId>, StoreError> {
        let mut conn = self.conn()?;
        let Conn { client, st } = &mut *conn;
        let rows = client
            .query(&st.claim_due, &[&now, &self.me, &CLAIM_SECONDS, &sql::LIVE_LOCK_CLASS])
            .map_err(pg("reading due reminders"))?;
        users_of(&rows)
    }

    fn pending(&self) -> Result<Vec<Queued>, StoreError> {
        self.claim_outbox(true)
    }

    fn adopt(&self) -> Result<Vec<Queued>, StoreError> {
        self.claim_outbox(false)
    }

    fn delivered(&self, user: UserId, seq: u64) -> Result<(), StoreError> {
        let action = || format!("marking message {seq} of user {user} sent");
        let mut conn = self.conn()?;
        let Conn { client, st } = &mut *conn;
        let seq = seq.cast_signed();
        let gone = client.query_opt(&st.delivered, &[&seq, &user.to_string()]).map_err(pg(action()))?;
        if let Some(row) = gone
            && row.get::<_, bool>(1)
        {
            // The farewell's key goes with its last message.
            let handle: &[u8] = row.get(0);
            client.execute(&st.drop_farewell_key, &[&handle]).map_err(pg(action()))?;
        }
        Ok(())
    }

    fn first_delivery(&self, event: EventId) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        let Conn { client, st } = &mut *conn;
        let added = client
            .execute(&st.add_event, &[&event.front.name(), &event.id])
            .map_err(pg(format!("recording update {event}")))?;
        if added == 1 {
            self.note_new_update(&mut conn, event);
        }
        Ok(added == 1)
    }
}

/// The outbox sequence numbers of inserted rows, in the order the rows were
/// numbered (which is the order of the items).
fn sorted_seqs(rows: &[postgres::Row]) -> Vec<u64> {
    let mut seqs: Vec<u64> = rows.iter().map(|r| r.get::<_, i64>(0).cast_unsigned()).collect();
    seqs.sort_unstable();
    seqs
}

impl Transfer for PostgresStore {
    fn reminder_times(&self) -> Result<Vec<(UserId, i64)>, StoreError> {
        let mut conn = self.conn()?;
        let Conn { client, st } = &mut *conn;
        let rows = client.query(&st.reminder_times, &[]).map_err(pg("reading reminder times"))?;
        rows.iter().map(|r| Ok((user_of(r.get(0))?, r.get(1)))).collect()
    }

    fn applied_ids(&self) -> Result<Vec<EventId>, StoreError> {
        let mut conn = self.conn()?;
        let Conn { client, st } = &mut *conn;
        let rows = client.query(&st.applied_ids, &[]).map_err(pg("reading update ids"))?;
        rows.iter()
            .map(|r| {
                let front: &str = r.get(0);
                let front = Front::from_name(front).ok_or_else(|| StoreError::Corrupt {
                    tree: "guidebot_updates",
                    detail: format!("unknown front end {front:?}"),
                })?;
                Ok(EventId::new(front, r.get(1)))
            })
            .collect()
    }

    fn import_applied(&self, ids: &[EventId]) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let Conn { client, st } = &mut *conn;
        let fronts: Vec<&str> = ids.iter().map(|e| e.front.name()).collect();
        let numbers: Vec<i64> = ids.iter().map(|e| e.id).collect();
        client.execute(&st.import_applied, &[&fronts, &numbers]).map_err(pg("recording update ids")).map(drop)
    }

    fn contents(&self) -> Result<Option<String>, StoreError> {
        let mut conn = self.conn()?;
        let Conn { client, st } = &mut *conn;
        let row = client.query_one(&st.contents, &[]).map_err(pg("counting rows"))?;
        let (keys, outbox, updates): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        Ok((keys + outbox + updates > 0)
            .then(|| format!("guidebot_* tables hold {keys} keys, {outbox} messages to send and {updates} update ids")))
    }
}
