//! The shared store checks on PostgreSQL, and what only PostgreSQL has:
//! several stores (processes) on one database, advisory locks, claims,
//! lost connections.
//!
//! They need a database: `GUIDEBOT_TEST_POSTGRES` holds its URL (`.ci/run`
//! starts a throwaway server and sets it). Each test works in a schema of
//! its own, so they run in parallel and leave nothing behind. Without the
//! variable they say so and pass, except under CI, where they fail.

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};

use super::super::tests::{self as shared, e, u};
use super::*;

/// A schema of its own in the test database; dropped at the end.
pub(crate) struct TestSchema {
    base: String,
    name: String,
    /// A database of its own rather than a schema.
    own_database: bool,
    /// URL whose connections use this schema.
    pub url: String,
}

impl TestSchema {
    /// None (after saying why) when no test database is configured.
    pub(crate) fn new() -> Option<TestSchema> {
        let (base, name) = Self::base_and_name()?;
        let mut client = Self::connect_base(&base);
        client.batch_execute(&format!("CREATE SCHEMA {name}")).expect("create a schema");
        let sep = if base.contains('?') { '&' } else { '?' };
        // The schema's name as the application name too: a test finds its own sessions by it.
        let url = format!("{base}{sep}options=-c%20search_path%3D{name}&application_name={name}");
        Some(TestSchema { base, name, own_database: false, url })
    }

    /// A new database rather than a schema: for a test that needs no
    /// other test's sessions in its database (which PostgreSQL looks at
    /// before it drops a deleted row for good).
    pub(crate) fn own_database() -> Option<TestSchema> {
        let (base, name) = Self::base_and_name()?;
        Self::connect_base(&base).batch_execute(&format!("CREATE DATABASE {name}")).expect("create a database");
        // postgres://authority/DATABASE?query, with this database.
        let (head, query) = base.split_once('?').map_or((base.as_str(), ""), |(h, q)| (h, q));
        let authority_end = head.find("://").map_or(0, |i| i + 3);
        let server = match head[authority_end..].find('/') {
            Some(slash) => &head[..authority_end + slash],
            None => head,
        };
        let sep = if query.is_empty() { "" } else { "&" };
        let url = format!("{server}/{name}?{query}{sep}application_name={name}");
        Some(TestSchema { base, name, own_database: true, url })
    }

    fn connect_base(base: &str) -> Client {
        Client::connect(base, NoTls)
            .unwrap_or_else(|e| panic!("GUIDEBOT_TEST_POSTGRES is set, but {} cannot be reached: {e}", redact(base)))
    }

    fn base_and_name() -> Option<(String, String)> {
        let base = std::env::var("GUIDEBOT_TEST_POSTGRES").unwrap_or_default();
        if base.is_empty() {
            assert!(
                std::env::var("CI").ok().is_none_or(|v| v != "true"),
                "CI must run the PostgreSQL tests: set GUIDEBOT_TEST_POSTGRES (.ci/run does)"
            );
            eprintln!(
                "skipped: GUIDEBOT_TEST_POSTGRES is not set; set it to the URL of a throwaway PostgreSQL \
                 database (as .ci/run does) to run the PostgreSQL store tests"
            );
            return None;
        }
        let mut random = [0u8; 6];
        getrandom::getrandom(&mut random).expect("random");
        let name =
            format!("gbt_{}_{}", std::process::id(), random.iter().map(|b| format!("{b:02x}")).collect::<String>());
        Some((base, name))
    }

    /// A store on this schema (a small pool, as many tests run at once).
    pub(crate) fn open(&self) -> PostgresStore {
        PostgresStore::open_with(&self.url, PostgresOptions { pool_size: 3 }).expect("open the store")
    }

    /// A plain connection to this schema, to look at the tables.
    pub(crate) fn client(&self) -> Client {
        Client::connect(&self.url, NoTls).expect("connect")
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        if let Ok(mut client) = Client::connect(&self.base, NoTls) {
            let _ = if self.own_database {
                client.batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", self.name))
            } else {
                client.batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name))
            };
        }
    }
}

shared::conformance_tests!(|| {
    let schema = TestSchema::new()?;
    Some(shared::Fresh { store: Box::new(schema.open()), keep: Box::new(schema) })
});

fn save(store: &PostgresStore, user: UserId, record: &[u8]) {
    store.commit(user, &Change { record: Some(record), ..Change::default() }).expect("save");
}

/// Waits (up to 20 s) until `f` is true.
fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "gave up waiting: {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

/// The lock-waiting sessions of this schema's stores waiting for the advisory lock of user `$1`
/// (written `telegram:123`: the lock's key is a hash of it, as the store takes it).
const WAITING: &str = "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory' AND NOT l.granted AND l.objsubid = 1
       AND l.classid::bigint = (hashtextextended($1, 0) >> 32) & 4294967295
       AND l.objid::bigint = hashtextextended($1, 0) & 4294967295
       AND a.application_name = $2";

fn waiting_for_lock(client: &mut Client, schema: &TestSchema, user: UserId) -> i64 {
    client
        .query_one(&format!("SELECT count(*) {WAITING}"), &[&user.to_string(), &schema.name])
        .expect("pg_locks")
        .get(0)
}

/// What the live `stores` have to deliver together (each its own items), in order.
fn pending_of_all(stores: &[Arc<PostgresStore>]) -> Vec<Queued> {
    let mut all: Vec<Queued> = stores.iter().flat_map(|s| s.pending().expect("pending")).collect();
    all.sort_by_key(|q| q.seq);
    let mut seqs: Vec<u64> = all.iter().map(|q| q.seq).collect();
    seqs.dedup();
    assert_eq!(seqs.len(), all.len(), "an item given to two live stores");
    all
}

#[test]
fn a_commit_made_from_a_copy_another_store_changed_is_refused_whole() {
    let Some(schema) = TestSchema::new() else { return };
    let (a, b) = (schema.open(), schema.open());
    let versioned = |record: &'static [u8], base: u64, next: u64| Change {
        record: Some(record),
        versions: Some((base, next)),
        ..Change::default()
    };
    // A new user: version 0 until a record is written.
    a.commit(u(7), &versioned(b"first", 0, 11)).expect("first write");
    let seen = b.load(u(7)).expect("load").expect("stored");
    assert_eq!((seen.record.as_slice(), seen.version), (&b"first"[..], 11));
    b.commit(u(7), &versioned(b"from b", 11, 12)).expect("b builds on what it read");
    // `a` still holds version 11: refused, with its event, messages and notes.
    let reply = [b"a's reply".to_vec()];
    let note = [b"a's note".to_vec()];
    let stale = Change { event: Some(e(77)), outbox: &reply, notes: &note, ..versioned(b"from a", 11, 13) };
    assert!(matches!(a.commit(u(7), &stale), Err(StoreError::Stale { user }) if user == u(7)));
    let now = a.load(u(7)).expect("load").expect("stored");
    assert_eq!((now.record.as_slice(), now.version, now.notes.len()), (&b"from b"[..], 12, 0));
    assert!(!a.applied(e(77)).expect("applied"), "the event of a refused commit is not applied");
    assert!(pending_of_all(&[Arc::new(a), Arc::new(b)]).is_empty(), "nor its messages queued");
    let (a, b) = (schema.open(), schema.open());
    // Read again, it goes through; a commit without a record keeps the version.
    a.commit(u(7), &Change { event: Some(e(77)), ..versioned(b"from a", 12, 13) }).expect("fresh copy");
    a.commit(u(7), &Change { next_due: Some(5), versions: Some((13, 14)), ..Change::default() }).expect("no record");
    assert_eq!(b.load(u(7)).expect("load").map(|s| s.version), Some(13));
    // A user erased meanwhile is a changed user too.
    b.erase(u(7), None, &[]).expect("erase");
    assert!(matches!(a.commit(u(7), &versioned(b"late", 13, 15)), Err(StoreError::Stale { .. })));
    // Without versions there is no check (imports, migrations).
    a.commit(u(7), &Change { record: Some(b"import"), ..Change::default() }).expect("unchecked");
}

#[test]
fn what_a_stopped_store_queued_is_adopted_by_one_other_store_in_order() {
    let Some(schema) = TestSchema::new() else { return };
    let (a, b) = (schema.open(), Arc::new(schema.open()));
    let items: Vec<Vec<u8>> = (0..3).map(|i| format!("from a {i}").into_bytes()).collect();
    a.commit(u(8), &Change { record: Some(b"r"), outbox: &items, ..Change::default() }).expect("commit");
    b.commit(u(9), &Change { record: Some(b"r"), outbox: &[b"b's own".to_vec()], ..Change::default() }).expect("c");
    // While `a` lives, its messages are its own to send.
    assert!(b.adopt().expect("adopt").is_empty());
    let texts =
        |q: Vec<Queued>| q.into_iter().map(|q| String::from_utf8_lossy(&q.item).into_owned()).collect::<Vec<_>>();
    assert_eq!(texts(b.pending().expect("pending")), vec!["b's own"]);
    drop(a);
    // Its connection gone, its liveness lock goes with it (the server sees it shortly).
    let mut adopted = Vec::new();
    wait_until("b adopts a's messages", || {
        adopted.extend(b.adopt().expect("adopt"));
        adopted.len() >= 3
    });
    assert_eq!(texts(adopted), vec!["from a 0", "from a 1", "from a 2"], "each once, in order");
    // Now b's: not adopted again, by b or by a newcomer.
    let c = schema.open();
    assert!(b.adopt().expect("adopt").is_empty());
    assert!(c.adopt().expect("adopt").is_empty());
    assert!(c.pending().expect("pending").is_empty());
    assert_eq!(b.pending().expect("pending").len(), 4, "b's own and the adopted ones");
}

#[test]
fn two_stores_committing_the_same_update_apply_it_once() {
    let Some(schema) = TestSchema::new() else { return };
    let stores = [Arc::new(schema.open()), Arc::new(schema.open())];
    for round in 0..20i64 {
        let barrier = Arc::new(Barrier::new(2));
        let results: Vec<Result<Vec<u64>, StoreError>> = stores
            .iter()
            .enumerate()
            .map(|(i, store)| {
                let (store, barrier) = (Arc::clone(store), Arc::clone(&barrier));
                thread::spawn(move || {
                    let record = format!("from store {i}");
                    let reply = [format!("reply {round}").into_bytes()];
                    let change = Change {
                        record: Some(record.as_bytes()),
                        event: Some(e(5_000 + round)),
                        outbox: &reply,
                        ..Change::default()
                    };
                    barrier.wait();
                    store.commit(u(7), &change)
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect();
        let applied = results.iter().filter(|r| r.is_ok()).count();
        let refused = results
            .iter()
            .filter(|r| matches!(r, Err(StoreError::AlreadyApplied { event }) if *event == e(5_000 + round)))
            .count();
        assert_eq!((applied, refused), (1, 1), "round {round}: {results:?}");
        assert!(stores[1].applied(e(5_000 + round)).expect("applied"), "seen by the other store too");
    }
    let pending = pending_of_all(&stores);
    assert_eq!(pending.len(), 20, "one reply per update");
    let replies: Vec<String> = pending.iter().map(|q| String::from_utf8_lossy(&q.item).into_owned()).collect();
    assert_eq!(replies, (0..20).map(|r| format!("reply {r}")).collect::<Vec<_>>());
}

#[test]
fn a_users_commits_from_two_stores_apply_one_at_a_time() {
    let Some(schema) = TestSchema::new() else { return };
    let stores = [Arc::new(schema.open()), Arc::new(schema.open())];
    // Held by someone else, the user's lock makes a commit wait; another user goes on.
    let mut holder = schema.client();
    let mut tx = holder.transaction().expect("begin");
    tx.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &[&u(99).to_string()]).expect("lock");
    let blocked = {
        let store = Arc::clone(&stores[0]);
        thread::spawn(move || store.commit(u(99), &Change { record: Some(b"after the lock"), ..Change::default() }))
    };
    let mut watcher = schema.client();
    wait_until("the commit waits for the user's lock", || waiting_for_lock(&mut watcher, &schema, u(99)) == 1);
    save(&stores[1], u(100), b"another user is not held up");
    assert!(!blocked.is_finished(), "the commit went on while the user's lock was held");
    assert_eq!(stores[1].load(u(99)).expect("load"), None);
    tx.commit().expect("release");
    blocked.join().expect("thread").expect("the commit goes on once the lock is free");
    assert_eq!(stores[1].load(u(99)).expect("load").map(|s| s.record), Some(b"after the lock".to_vec()));

    // Many commits of one new user from both stores at once: none fails on
    // the user's row being made twice, and each commit's messages are
    // numbered together, never interleaved with another commit's.
    let (threads, commits) = (6, 15);
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (store, barrier) = (Arc::clone(&stores[t % 2]), Arc::clone(&barrier));
            thread::spawn(move || {
                barrier.wait();
                (0..commits)
                    .map(|c| {
                        let items: Vec<Vec<u8>> = (0..4).map(|i| format!("{t}/{c}/{i}").into_bytes()).collect();
                        let record = format!("{t}/{c}");
                        store
                            .commit(
                                u(500),
                                &Change { record: Some(record.as_bytes()), outbox: &items, ..Change::default() },
                            )
                            .expect("commit")
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for h in handles {
        for seqs in h.join().expect("thread") {
            assert_eq!(seqs.len(), 4);
            assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "interleaved: {seqs:?}");
        }
    }
    let mut raw = schema.client();
    let keys: i64 =
        raw.query_one("SELECT count(*) FROM guidebot_keys WHERE user_id = 'telegram:500'", &[]).expect("q").get(0);
    assert_eq!(keys, 1, "one key for the user");
    let pending: Vec<Queued> = pending_of_all(&stores).into_iter().filter(|q| q.user == u(500)).collect();
    assert_eq!(pending.len(), threads * commits * 4);
    // In the order of the outbox, each commit's four messages come together and in order.
    for chunk in pending.chunks(4) {
        let texts: Vec<String> = chunk.iter().map(|q| String::from_utf8_lossy(&q.item).into_owned()).collect();
        let prefix = texts[0].rsplit_once('/').expect("t/c/i").0.to_owned();
        assert_eq!(texts, (0..4).map(|i| format!("{prefix}/{i}")).collect::<Vec<_>>());
    }
}

#[test]
fn erase_leaves_no_row_with_the_users_id_or_key() {
    let Some(schema) = TestSchema::own_database() else { return };
    let store = schema.open();
    let user = u(0x1122_3344_5566_7788);
    shared::commit_secret(&store, user);
    save(&store, u(5), b"a neighbour");
    let mut raw = schema.client();
    let rows_of = |raw: &mut Client, user: UserId| -> i64 {
        raw.query_one(
            "SELECT (SELECT count(*) FROM guidebot_keys WHERE user_id = $1)
                  + (SELECT count(*) FROM guidebot_users WHERE user_id = $1)
                  + (SELECT count(*) FROM guidebot_notes WHERE user_id = $1)
                  + (SELECT count(*) FROM guidebot_outbox WHERE user_id = $1)",
            &[&user.to_string()],
        )
        .expect("count")
        .get(0)
    };
    // Nothing the user wrote is in any table in clear.
    let secret_hex: String = b"SECRET-NOTE".iter().map(|b| format!("{b:02x}")).collect();
    let dump: String = ["guidebot_keys", "guidebot_users", "guidebot_notes", "guidebot_outbox"]
        .iter()
        .flat_map(|t| raw.query(&format!("SELECT t::text FROM {t} t"), &[]).expect("dump"))
        .map(|r| r.get::<_, String>(0))
        .collect();
    assert!(!dump.contains(&secret_hex) && !dump.contains("SECRET-NOTE"), "{dump}");
    assert_eq!(rows_of(&mut raw, user), 4, "key, user, note, message");
    let key: Vec<u8> =
        raw.query_one("SELECT key FROM guidebot_keys WHERE user_id = $1", &[&user.to_string()]).expect("key").get(0);

    let farewell = store.erase(user, Some(e(2)), &[b"bye".to_vec()]).expect("erase");
    assert_eq!(rows_of(&mut raw, user), 2, "only the farewell's key and message");
    store.delivered(user, farewell[0]).expect("delivered");
    assert_eq!(rows_of(&mut raw, user), 0, "no row with the user's id");
    let with_key: i64 = raw.query_one("SELECT count(*) FROM guidebot_keys WHERE key = $1", &[&key]).expect("q").get(0);
    assert_eq!(with_key, 0, "the key is gone");
    // Nor is it in the table's file (reading the file takes a superuser, as in
    // CI). This test has a database of its own: a statement running in another
    // session of the same database would keep the deleted row through the rewrite.
    // The rewrite gives up after 2 s when the table is busy, and the next erase
    // tries again (see `shred_keys`). It also keeps a dead row that a session
    // still running elsewhere in the cluster might see (tests of other stores run
    // beside this one): so, until a deadline, each later erase (of a neighbour)
    // gets its chance, as it would in a running bot.
    let in_file = |raw: &mut Client| {
        raw.batch_execute("CHECKPOINT").and_then(|()| {
            raw.query_one("SELECT position($1 in pg_read_binary_file(pg_relation_filepath('guidebot_keys')))", &[&key])
                .map(|row| row.get::<_, i32>(0))
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut found = in_file(&mut raw);
    let mut neighbour = 100;
    while matches!(found, Ok(at) if at > 0) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(200));
        neighbour += 1;
        save(&store, u(neighbour), b"another neighbour");
        store.erase(u(neighbour), None, &[]).expect("erase a neighbour");
        found = in_file(&mut raw);
    }
    match found {
        Ok(at) => assert_eq!(at, 0, "the key's bytes are still in the table's file"),
        Err(e) => eprintln!("not checked: the key's bytes in the table's file ({e})"),
    }
    assert!(store.applied(e(1)).expect("applied") && store.applied(e(2)).expect("applied"), "event ids stay");
    assert_eq!(store.users().expect("users"), vec![u(5)]);
    assert_eq!(store.due(i64::MAX - 1).expect("due"), Vec::<UserId>::new());
}

#[test]
fn due_users_are_handed_to_one_store_at_a_time() {
    let Some(schema) = TestSchema::new() else { return };
    let (a, b) = (schema.open(), schema.open());
    for user in 1..=40 {
        a.commit(u(user), &Change { record: Some(b"r"), next_due: Some(100), ..Change::default() }).expect("c");
    }
    let sorted = |mut v: Vec<UserId>| {
        v.sort_unstable();
        v
    };
    assert_eq!(sorted(a.due(100).expect("due")), (1..=40).map(u).collect::<Vec<_>>());
    assert_eq!(b.due(100).expect("due"), Vec::<UserId>::new(), "all claimed by a");
    assert_eq!(sorted(a.due(100).expect("due")).len(), 40, "a is given its own again");
    // a's commit for a user ends its claim (the reminder is still due: b may take it now).
    a.commit(u(3), &Change { next_due: Some(100), ..Change::default() }).expect("c");
    assert_eq!(b.due(100).expect("due"), vec![u(3)]);
    assert!(!a.due(100).expect("due").contains(&u(3)), "now b's");
    // b's commit for a user a holds does not end a's claim.
    b.commit(u(4), &Change { next_due: Some(100), ..Change::default() }).expect("c");
    assert!(!b.due(100).expect("due").contains(&u(4)));
    // A claim whose time is up (its process stopped) is taken over.
    schema
        .client()
        .execute(
            "UPDATE guidebot_users SET claim_until = now() - interval '1 second' WHERE user_id = 'telegram:5'",
            &[],
        )
        .expect("age");
    assert_eq!(sorted(b.due(100).expect("due")), vec![u(3), u(5)]);

    // Asked at the same moment, two stores split the due users between them.
    let c = Arc::new(schema.open());
    let d = Arc::new(schema.open());
    for user in 100..300 {
        c.commit(u(user), &Change { record: Some(b"r"), next_due: Some(50), ..Change::default() }).expect("c");
    }
    let barrier = Arc::new(Barrier::new(2));
    let handles: Vec<_> = [Arc::clone(&c), Arc::clone(&d)]
        .into_iter()
        .map(|s| {
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                barrier.wait();
                s.due(50).expect("due")
            })
        })
        .collect();
    let got: Vec<Vec<UserId>> = handles.into_iter().map(|h| h.join().expect("thread")).collect();
    let mut all: Vec<UserId> = got.concat();
    all.sort_unstable();
    assert_eq!(all, (100..300).map(u).collect::<Vec<_>>(), "each due user to exactly one store");
}

#[test]
fn a_lost_connection_fails_the_call_saves_nothing_and_the_next_call_reconnects() {
    let Some(schema) = TestSchema::new() else { return };
    let store = Arc::new(schema.open());
    save(&store, u(8), b"before");
    // The commit waits on the user's lock; then its connection is cut.
    let mut holder = schema.client();
    let mut tx = holder.transaction().expect("begin");
    tx.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", &[&u(8).to_string()]).expect("lock");
    let cut = {
        let store = Arc::clone(&store);
        thread::spawn(move || {
            store.commit(
                u(8),
                &Change { record: Some(b"never"), event: Some(e(42)), outbox: &[b"x".to_vec()], ..Change::default() },
            )
        })
    };
    let mut admin = schema.client();
    wait_until("the commit waits for the user's lock", || waiting_for_lock(&mut admin, &schema, u(8)) == 1);
    let killed: bool = admin
        .query_one(&format!("SELECT pg_terminate_backend(l.pid) {WAITING}"), &[&u(8).to_string(), &schema.name])
        .expect("terminate")
        .get(0);
    assert!(killed);
    let err = cut.join().expect("thread").expect_err("the connection was cut");
    assert!(matches!(err, StoreError::Postgres { .. }), "{err:?}");
    assert!(err.to_string().contains("saving the changes of user telegram:8 failed in PostgreSQL"), "{err}");
    tx.commit().expect("release");
    // Nothing of it was saved; the store goes on with a new connection.
    assert_eq!(store.load(u(8)).expect("load").map(|s| s.record), Some(b"before".to_vec()));
    assert!(!store.applied(e(42)).expect("applied"));
    assert_eq!(store.pending().expect("pending"), vec![]);
    store
        .commit(u(8), &Change { record: Some(b"after"), event: Some(e(42)), ..Change::default() })
        .expect("commit again");
    assert_eq!(store.load(u(8)).expect("load").map(|s| s.record), Some(b"after".to_vec()));

    // Every connection of the pool cut while idle: the next calls reconnect.
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE pid <> pg_backend_pid() AND application_name = $1",
            &[&schema.name],
        )
        .expect("terminate");
    for _ in 0..5 {
        assert_eq!(store.load(u(8)).expect("load after the cut").map(|s| s.record), Some(b"after".to_vec()));
    }
}

#[test]
fn works_from_blocking_threads_of_an_async_runtime() {
    let Some(schema) = TestSchema::new() else { return };
    let store = Arc::new(schema.open());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let loaded = runtime.block_on(async {
        let tasks: Vec<_> = (0..8i64)
            .map(|user| {
                let store = Arc::clone(&store);
                tokio::task::spawn_blocking(move || {
                    save(&store, u(user), b"from a blocking thread");
                    store.load(u(user))
                })
            })
            .collect();
        let mut loaded = 0;
        for t in tasks {
            loaded += usize::from(t.await.expect("task").expect("load").is_some());
        }
        loaded
    });
    assert_eq!(loaded, 8);
}

#[test]
fn an_unreachable_server_and_a_newer_schema_are_refused_with_what_to_do() {
    // Port 1 on loopback: nothing listens there.
    let err = PostgresStore::open("postgres://guidebot:hunter2@127.0.0.1:1/guidebot").err().expect("refused");
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with("cannot reach PostgreSQL at postgres://guidebot:***@127.0.0.1:1/guidebot: "),
        "{message}"
    );
    assert!(message.contains("check that the server is running"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");

    let Some(schema) = TestSchema::new() else { return };
    // Schema 1 (no dictionary, ids plain numbers) is moved to 3. Its tables
    // are schema 2's (which only added a way of packing records): those of
    // the fixture, under the number 1.
    let version = |client: &mut Client| -> String {
        client.query_one("SELECT value FROM guidebot_meta WHERE name = 'schema_version'", &[]).expect("q").get(0)
    };
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/postgres-v2.sql");
    let dump = std::fs::read_to_string(fixture).expect("fixture");
    schema.client().batch_execute(&dump).expect("load the schema-2 tables");
    schema.client().execute("UPDATE guidebot_meta SET value = '1' WHERE name = 'schema_version'", &[]).expect("set");
    drop(schema.open());
    assert_eq!(version(&mut schema.client()), "3");
    schema.client().execute("UPDATE guidebot_meta SET value = '4' WHERE name = 'schema_version'", &[]).expect("bump");
    let err = PostgresStore::open(&schema.url).err().expect("refused");
    assert!(matches!(err, StoreError::DatabaseTooNew { found: 4, supported: 3, .. }), "{err:?}");
    assert!(err.to_string().contains("upgrade guidebot"), "{err}");
}

#[test]
fn opening_twice_at_once_sets_the_tables_up_once() {
    let Some(schema) = TestSchema::new() else { return };
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let url = schema.url.clone();
            thread::spawn(move || PostgresStore::open_with(&url, PostgresOptions { pool_size: 1 }).map(drop))
        })
        .collect();
    for h in handles {
        h.join().expect("thread").expect("open");
    }
    let versions: i64 = schema.client().query_one("SELECT count(*) FROM guidebot_meta", &[]).expect("meta").get(0);
    assert_eq!(versions, 1);
}

#[test]
fn old_update_ids_are_pruned_to_the_newest() {
    let Some(schema) = TestSchema::new() else { return };
    let store = schema.open();
    for id in -3..7 {
        assert!(store.first_delivery(e(id)).expect("first"));
    }
    let mut conn = store.conn().expect("conn");
    let Conn { client, st } = &mut *conn;
    client.execute(&st.prune_updates, &[&3i64, &"telegram"]).expect("prune below 3");
    drop(conn);
    let kept: Vec<i64> = schema
        .client()
        .query("SELECT id FROM guidebot_updates ORDER BY id", &[])
        .expect("ids")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(kept, vec![3, 4, 5, 6]);
    assert!(store.first_delivery(e(2)).expect("pruned, so new again"));
}
