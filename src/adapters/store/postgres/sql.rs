//! The PostgreSQL side of [`super::PostgresStore`]: the tables, the
//! statements (prepared once per connection), and the pool's connection
//! manager. The layout is documented in the parent of `postgres/`.

use std::time::Duration;

use postgres::{Client, Config, NoTls, Statement};

/// The layout this code reads and writes (`guidebot_meta.schema_version`).
/// 2 only adds records compressed with a dictionary, which 1 cannot read.
/// 3 names the front end in ids: user ids are text (`telegram:123`), and
/// update ids are (front end, number); see [`TO_3`].
pub(super) const SCHEMA_VERSION: u32 = 3;

/// Advisory lock (two-int form, so it never meets a user's one-bigint lock)
/// under which the tables are created: two processes starting at once
/// do not race.
pub(super) const SETUP_LOCK: (i32, i32) = (0x6775_6964, 1);

/// Class of the advisory lock (two-int form) that each open store holds on
/// a connection of its own for as long as it lives, keyed by its id: the
/// outbox items of an id whose lock is gone belong to a process that
/// stopped, and another one adopts them.
pub(super) const LIVE_LOCK_CLASS: i32 = 0x6775_6965;

/// A subquery giving the ids of the stores alive now (holding their liveness
/// lock); statement parameter `$class` is [`LIVE_LOCK_CLASS`].
fn live_stores(class: u8) -> String {
    format!(
        "SELECT objid::bigint FROM pg_locks
         WHERE locktype = 'advisory' AND objsubid = 2 AND granted AND classid = ${class}::integer::oid"
    )
}

/// Creates whatever table or index is missing; changes nothing that exists.
pub(super) const CREATE: &str = "
CREATE TABLE IF NOT EXISTS guidebot_meta (
    name text PRIMARY KEY,
    value text NOT NULL
);
CREATE TABLE IF NOT EXISTS guidebot_keys (
    handle bytea PRIMARY KEY,
    user_id text NOT NULL,
    farewell boolean NOT NULL,
    key bytea NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS guidebot_keys_user ON guidebot_keys (user_id) WHERE NOT farewell;
CREATE TABLE IF NOT EXISTS guidebot_users (
    user_id text PRIMARY KEY,
    handle bytea NOT NULL UNIQUE REFERENCES guidebot_keys (handle) ON DELETE CASCADE,
    record bytea,
    next_due bigint,
    claimed_by bigint,
    claim_until timestamptz
);
CREATE INDEX IF NOT EXISTS guidebot_users_next_due ON guidebot_users (next_due) WHERE next_due IS NOT NULL;
CREATE TABLE IF NOT EXISTS guidebot_notes (
    user_id text NOT NULL REFERENCES guidebot_users (user_id) ON DELETE CASCADE,
    n integer NOT NULL,
    value bytea NOT NULL,
    PRIMARY KEY (user_id, n)
);
CREATE TABLE IF NOT EXISTS guidebot_outbox (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id text NOT NULL,
    handle bytea NOT NULL REFERENCES guidebot_keys (handle) ON DELETE CASCADE,
    value bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS guidebot_outbox_handle ON guidebot_outbox (handle);
CREATE TABLE IF NOT EXISTS guidebot_updates (
    front text NOT NULL,
    id bigint NOT NULL,
    PRIMARY KEY (front, id)
);
ALTER TABLE guidebot_users ADD COLUMN IF NOT EXISTS version bigint NOT NULL DEFAULT 0;
ALTER TABLE guidebot_outbox ADD COLUMN IF NOT EXISTS owner bigint;
";

/// Schema 1 or 2 to 3, in the setup transaction: ids name their front end.
/// The numbers of schema 2 were Telegram's, but for 0, the terminal's
/// local user.
pub(super) const TO_3: &str = "
ALTER TABLE guidebot_notes DROP CONSTRAINT IF EXISTS guidebot_notes_user_id_fkey;
ALTER TABLE guidebot_keys ALTER COLUMN user_id TYPE text
    USING CASE WHEN user_id = 0 THEN 'terminal:0' ELSE 'telegram:' || user_id END;
ALTER TABLE guidebot_users ALTER COLUMN user_id TYPE text
    USING CASE WHEN user_id = 0 THEN 'terminal:0' ELSE 'telegram:' || user_id END;
ALTER TABLE guidebot_notes ALTER COLUMN user_id TYPE text
    USING CASE WHEN user_id = 0 THEN 'terminal:0' ELSE 'telegram:' || user_id END;
ALTER TABLE guidebot_outbox ALTER COLUMN user_id TYPE text
    USING CASE WHEN user_id = 0 THEN 'terminal:0' ELSE 'telegram:' || user_id END;
ALTER TABLE guidebot_notes ADD CONSTRAINT guidebot_notes_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES guidebot_users (user_id) ON DELETE CASCADE;
ALTER TABLE guidebot_updates ADD COLUMN front text NOT NULL DEFAULT 'telegram';
ALTER TABLE guidebot_updates ALTER COLUMN front DROP DEFAULT;
ALTER TABLE guidebot_updates DROP CONSTRAINT guidebot_updates_pkey;
ALTER TABLE guidebot_updates ADD PRIMARY KEY (front, id);
";

/// Every statement the store runs, prepared when a connection opens.
pub(super) struct Statements {
    pub load: Statement,
    pub version: Statement,
    pub applied: Statement,
    pub lock_user: Statement,
    pub add_event: Statement,
    pub find_key: Statement,
    pub new_key: Statement,
    pub new_user: Statement,
    pub save_user: Statement,
    pub add_notes: Statement,
    pub add_outbox: Statement,
    pub erase_user: Statement,
    pub users: Statement,
    pub claim_due: Statement,
    pub adopt: Statement,
    pub delivered: Statement,
    pub drop_farewell_key: Statement,
    pub prune_updates: Statement,
    pub reminder_times: Statement,
    pub applied_ids: Statement,
    pub import_applied: Statement,
    pub contents: Statement,
}

impl Statements {
    fn prepare(client: &mut Client) -> Result<Statements, postgres::Error> {
        let mut p = |sql: &str| client.prepare(sql);
        Ok(Statements {
            // Record, key and notes in one statement: one snapshot, one round trip.
            load: p("SELECT u.record, k.handle, k.key,
                        ARRAY(SELECT n.value FROM guidebot_notes n WHERE n.user_id = u.user_id ORDER BY n.n),
                        u.version
                     FROM guidebot_users u JOIN guidebot_keys k ON k.handle = u.handle
                     WHERE u.user_id = $1")?,
            // Under the user's lock: no other commit of the user runs meanwhile.
            version: p("SELECT version FROM guidebot_users WHERE user_id = $1")?,
            applied: p("SELECT EXISTS (SELECT 1 FROM guidebot_updates WHERE front = $1 AND id = $2)")?,
            // Keyed by a hash of the user id: two users whose hashes meet
            // only wait for each other.
            lock_user: p("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")?,
            add_event: p("INSERT INTO guidebot_updates (front, id) VALUES ($1, $2) ON CONFLICT DO NOTHING")?,
            find_key: p("SELECT handle, key FROM guidebot_keys WHERE user_id = $1 AND NOT farewell")?,
            new_key: p("INSERT INTO guidebot_keys (handle, user_id, farewell, key) VALUES ($1, $2, $3, $4)")?,
            new_user: p("INSERT INTO guidebot_users (user_id, handle) VALUES ($1, $2)")?,
            // A claim on the user's reminders (see `claim_due`) ends with the
            // claimer's next commit; another process's commit leaves it. The
            // version changes with the record (to $5, or else by one).
            save_user: p("UPDATE guidebot_users SET
                              version = CASE WHEN $2::bytea IS NULL THEN version ELSE COALESCE($5, version + 1) END,
                              record = COALESCE($2, record),
                              next_due = $3,
                              claimed_by = CASE WHEN claimed_by = $4 THEN NULL ELSE claimed_by END,
                              claim_until = CASE WHEN claimed_by = $4 THEN NULL ELSE claim_until END
                          WHERE user_id = $1")?,
            add_notes: p("INSERT INTO guidebot_notes (user_id, n, value)
                          SELECT $1, $2 + t.i::integer - 1, t.v FROM unnest($3::bytea[]) WITH ORDINALITY AS t(v, i)
                          ON CONFLICT (user_id, n) DO UPDATE SET value = excluded.value")?,
            // Rows are numbered in the order the SELECT gives them.
            add_outbox: p("INSERT INTO guidebot_outbox (user_id, handle, value, owner)
                           SELECT $1, $2, t.v, $4 FROM unnest($3::bytea[]) WITH ORDINALITY AS t(v, i) ORDER BY t.i
                           RETURNING seq")?,
            // The key row goes, and with it (ON DELETE CASCADE) the user's
            // row, notes and outbox items.
            erase_user: p("DELETE FROM guidebot_keys WHERE user_id = $1 AND NOT farewell")?,
            users: p("SELECT user_id FROM guidebot_users WHERE record IS NOT NULL ORDER BY user_id")?,
            // Each due user is handed to one process: rows another transaction
            // holds are skipped, and a claim by another live process is left
            // alone until its lease ends; that of a store whose liveness lock
            // is gone (it stopped) ends at once.
            claim_due: p(&format!(
                "UPDATE guidebot_users
                 SET claimed_by = $2, claim_until = clock_timestamp() + make_interval(secs => $3)
                 WHERE user_id IN (
                     SELECT user_id FROM guidebot_users
                     WHERE next_due <= $1
                       AND (claimed_by IS NULL OR claimed_by = $2 OR claim_until < clock_timestamp()
                            OR claimed_by NOT IN ({}))
                     FOR UPDATE SKIP LOCKED)
                 RETURNING user_id",
                live_stores(4)
            ))?,
            // Items of no live store (none queued them, or the one that did
            // lost its lock: it stopped) become $1's, with $1's own when $3.
            // Two stores adopting at once: the row lock makes the second see
            // the first's claim.
            adopt: p(&format!(
                "WITH claimed AS (
                     UPDATE guidebot_outbox o SET owner = $1
                     WHERE o.owner IS NULL
                        OR (o.owner = $1 AND $3)
                        OR (o.owner <> $1 AND o.owner NOT IN ({}))
                     RETURNING o.seq, o.user_id, o.value, o.handle)
                 SELECT c.seq, c.user_id, c.value, k.handle, k.key
                 FROM claimed c JOIN guidebot_keys k ON k.handle = c.handle
                 ORDER BY c.seq",
                live_stores(2)
            ))?,
            delivered: p("WITH gone AS (DELETE FROM guidebot_outbox WHERE seq = $1 AND user_id = $2 RETURNING handle)
                          SELECT k.handle, k.farewell FROM gone JOIN guidebot_keys k ON k.handle = gone.handle")?,
            drop_farewell_key: p("DELETE FROM guidebot_keys k WHERE k.handle = $1 AND k.farewell
                                  AND NOT EXISTS (SELECT 1 FROM guidebot_outbox o WHERE o.handle = k.handle)")?,
            prune_updates: p("DELETE FROM guidebot_updates WHERE front = $2 AND id < $1")?,
            reminder_times: p("SELECT user_id, next_due FROM guidebot_users WHERE next_due IS NOT NULL")?,
            applied_ids: p("SELECT front, id FROM guidebot_updates ORDER BY front, id")?,
            import_applied: p(
                "INSERT INTO guidebot_updates (front, id) SELECT * FROM unnest($1::text[], $2::bigint[])
                               ON CONFLICT DO NOTHING",
            )?,
            contents: p("SELECT (SELECT count(*) FROM guidebot_keys),
                                (SELECT count(*) FROM guidebot_outbox),
                                (SELECT count(*) FROM guidebot_updates)")?,
        })
    }
}

/// A pooled connection with its prepared statements.
pub(super) struct Conn {
    pub client: Client,
    pub st: Statements,
}

/// Makes and checks connections for the pool.
pub(super) struct Manager {
    pub config: Config,
}

impl Manager {
    /// A plain connection (no statements): for setting the tables up.
    pub(super) fn connect_bare(&self) -> Result<Client, postgres::Error> {
        // No TLS: the database is meant to be reached over loopback or a
        // private network. A URL with `sslmode=require` fails to connect and says so.
        self.config.connect(NoTls)
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Conn, postgres::Error> {
        let mut client = self.connect_bare()?;
        let st = Statements::prepare(&mut client)?;
        Ok(Conn { client, st })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), postgres::Error> {
        conn.client.is_valid(Duration::from_secs(5))
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.client.is_closed()
    }
}
